/*
 * test_gc.c - the GC model on a tiny hand-made history whose every
 * victim is worked out by hand below, weights files, broken jobs, and
 * random worlds for the promises gc.h makes (closure safety, referrers
 * first, the limit after every simulated step).
 *
 * The hand-made world (sizes are FileSize; day N is T0 + N days):
 *
 *   id  path      size  references   pushed   evaluation outputs
 *   1   glibc       10  -            day 0
 *   2   gcc-lib      5  1            day 0
 *   3   torch-a     20  1 2          day 1    E1 torch
 *   4   torch-b     20  1 2          day 3    E2 torch
 *   5   blender      8  1            day 1    E1 blender, E2 blender
 *   6   junk         7  -            day 0    (none)
 *   7   torch-rel   12  1            day 2    E3 torch
 *
 *   E1 master/8.6 at day 1, E3 nixos-24.05/7.5,8.6 at day 2, E2
 *   master/8.6 at day 3 (it supersedes E1's torch and blender).
 *   Access logs: torch-a's NAR at day 2, junk's narinfo at day 3.5.
 *   Total 82 bytes.
 *
 * Crawls at days 0, 2 and 4 recorded: junk gone at day 2, torch-a and
 * torch-rel gone at day 4 (what a Cachix with a 60-byte limit does, see
 * cachix_simulation).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/db.h"
#include "analysis/gc.h"
#include "harness.h"
#include "lib/util.h"

#define T0 1704067200LL   /* 2024-01-01 */
#define D 86400LL

static char dbpath[] = "/tmp/cachegc-test-gc.XXXXXX";

static int exec(struct db *db, const char *sql)
{
	int rc = db_exec(db, sql);
	CHECK(rc == 0);
	return rc;
}

static void hash_of(unsigned i, char out[33])
{
	static const char nix32[] = "0123456789abcdfghijklmnpqrsvwxyz";

	memset(out, 'a', 32);
	for (int k = 31; k >= 24; k--, i >>= 5)
		out[k] = nix32[i & 31];
	out[32] = '\0';
}

static void add_path(struct db *db, unsigned id, const char *name, int64_t size, const char *refs)
{
	char h[33], sql[1024];

	hash_of(id, h);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO paths (id, hash, name) VALUES (%u, '%s', '%s');"
		 "INSERT INTO narinfos (cache_id, path_id, url, compression, file_size, nar_hash,"
		 " nar_size, refs, sigs, crawl_id, fetched_at) VALUES (1, %u, 'nar/%s.nar.xz', 'xz',"
		 " %lld, 'sha256:x', %lld, '[%s]', '[]', 1, 0);",
		 id, h, name, id, h, (long long)size, (long long)size * 3, refs);
	exec(db, sql);
}

static void add_presence(struct db *db, unsigned id, int64_t push, int64_t seen, int64_t gone)
{
	char sql[512];

	if (gone >= 0)
		snprintf(sql, sizeof(sql),
			 "INSERT INTO presence (cache_id, path_id, push_time, first_seen, last_seen,"
			 " last_crawl_id, gone_at) VALUES (1, %u, %lld, %lld, %lld, 1, %lld)",
			 id, (long long)push, (long long)seen, (long long)seen, (long long)gone);
	else
		snprintf(sql, sizeof(sql),
			 "INSERT INTO presence (cache_id, path_id, push_time, first_seen, last_seen,"
			 " last_crawl_id) VALUES (1, %u, %lld, %lld, %lld, 1)",
			 id, (long long)push, (long long)seen, (long long)seen);
	exec(db, sql);
}

static void add_eval(struct db *db, int id, const char *branch, const char *caps, int64_t t)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
		 "INSERT INTO evaluations (id, branch, rev, capabilities, system, time, source,"
		 " imported_at) VALUES (%d, '%s', 'rev%d', '%s', 'x86_64-linux', %lld, 'test', 0)",
		 id, branch, id, caps, (long long)t);
	exec(db, sql);
}

static void add_job(struct db *db, int eval, const char *attr, unsigned path)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
		 "INSERT INTO eval_jobs (evaluation_id, attr, output, path_id, line)"
		 " VALUES (%d, '%s', 'out', %u, 1)", eval, attr, path);
	exec(db, sql);
}

static void build_world(struct db *db)
{
	exec(db, "INSERT INTO caches (id, url, added_at) VALUES (1, 'file:///test', 0)");
	{
		char sql[512];
		snprintf(sql, sizeof(sql),
			 "INSERT INTO crawls (id, cache_id, started_at, finished_at, status) VALUES"
			 " (1, 1, %lld, %lld, 'complete'), (2, 1, %lld, %lld, 'complete'),"
			 " (3, 1, %lld, %lld, 'complete')",
			 T0, T0, T0 + 2 * D, T0 + 2 * D, T0 + 4 * D, T0 + 4 * D);
		exec(db, sql);
	}
	add_path(db, 1, "glibc", 10, "");
	add_path(db, 2, "gcc-lib", 5, "1");
	add_path(db, 3, "torch-a", 20, "1,2");
	add_path(db, 4, "torch-b", 20, "1,2");
	add_path(db, 5, "blender", 8, "1");
	add_path(db, 6, "junk", 7, "");
	add_path(db, 7, "torch-rel", 12, "1");
	add_presence(db, 1, T0, T0, -1);
	add_presence(db, 2, T0, T0, -1);
	add_presence(db, 6, T0, T0, T0 + 2 * D);
	add_presence(db, 3, T0 + 1 * D, T0 + 2 * D, T0 + 4 * D);
	add_presence(db, 5, T0 + 1 * D, T0 + 2 * D, -1);
	add_presence(db, 7, T0 + 2 * D, T0 + 2 * D, T0 + 4 * D);
	add_presence(db, 4, T0 + 3 * D, T0 + 4 * D, -1);
	add_eval(db, 1, "master", "8.6", T0 + 1 * D);
	add_eval(db, 2, "master", "8.6", T0 + 3 * D);
	add_eval(db, 3, "nixos-24.05", "7.5,8.6", T0 + 2 * D);
	add_job(db, 1, "python3Packages.torch", 3);
	add_job(db, 1, "blender", 5);
	add_job(db, 2, "python3Packages.torch", 4);
	add_job(db, 2, "blender", 5);
	add_job(db, 3, "python3Packages.torch", 7);
	{
		char sql[512];
		snprintf(sql, sizeof(sql),
			 "INSERT INTO accesses (cache_id, path_id, day, nar_hits, nar_last) VALUES"
			 " (1, 3, %lld, 1, %lld);"
			 "INSERT INTO accesses (cache_id, path_id, day, narinfo_hits, narinfo_last) VALUES"
			 " (1, 6, %lld, 1, %lld);",
			 (T0 + 2 * D) / D, T0 + 2 * D, (T0 + 3 * D) / D, T0 + 3 * D + D / 2);
		exec(db, sql);
	}
}

static struct db db;
static int db_ready;

static struct db *world_db(void)
{
	if (!db_ready) {
		int fd = mkstemp(dbpath);
		CHECK(fd >= 0);
		close(fd);
		unlink(dbpath);
		if (db_open(&db, dbpath, 0))
			return NULL;
		build_world(&db);
		db_ready = 1;
	}
	return &db;
}

/* "3:lru 7:lru" for a victims list. */
static const char *victims_str(const struct gc_victims *v)
{
	static char buf[512];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < v->n && len < sizeof(buf) - 40; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%u:%s", i ? " " : "",
					v->v[i].path, gc_reason_name(v->v[i].reason));
	return buf;
}

/* Select with everything pushed by day 4 stored (all 7 paths). */
static const char *select_all(enum gc_policy p, uint64_t limit, int64_t retention_days,
			      int model, const struct gc_weights *wt)
{
	struct gc_world w;
	struct gc_victims v = {0};
	struct gc_params pa = {limit, retention_days * D, T0 + 4 * D, model};
	uint8_t stored[8] = {0, 1, 1, 1, 1, 1, 1, 1};
	static char res[512];

	res[0] = '\0';
	if (gc_world_load(&w, world_db(), 1, wt, 0) == 0 && gc_select(&w, p, &pa, stored, &v) == 0) {
		snprintf(res, sizeof(res), "%s", victims_str(&v));
		CHECK_INT(v.bytes_before, 82);
	} else {
		CHECK(0);
	}
	gc_victims_release(&v);
	gc_world_release(&w);
	return res;
}

TEST(names)
{
	enum gc_policy p;

	CHECK(gc_policy_parse("niks3", &p) == 0 && p == GC_NIKS3);
	CHECK(gc_policy_parse("lru", &p) < 0);
	CHECK_STR(gc_policy_name(GC_PRIORITY), "priority");
	CHECK_STR(gc_reason_name(GC_DEPENDENCY_LOST), "dependency-lost");
	CHECK_STR(gc_reason_name(99), "?");
}

TEST(world_loads)
{
	struct gc_world w;

	CHECK(gc_world_load(&w, world_db(), 1, NULL, GC_LOAD_HISTORY) == 0);
	CHECK_INT(w.nevals, 3);
	CHECK_INT(w.ngroups, 2);
	CHECK_INT(w.njobs, 5);
	/* Sorted by time: E1, E3, E2. */
	CHECK_INT(w.evals[1].id, 3);
	/* E1's jobs (blender, torch) are superseded by E2 at day 3. */
	CHECK_INT(gc_job_superseded_at(&w, 0), T0 + 3 * D);
	CHECK_INT(gc_job_superseded_at(&w, 1), T0 + 3 * D);
	CHECK(gc_job_superseded_at(&w, 2) == INT64_MAX);
	/* master 2 x caps 1 x attr 1; nixos-24.05 matches nixos-* (3). */
	CHECK(gc_job_value(&w, 0) == 2.0);
	CHECK(gc_job_value(&w, 2) == 3.0);
	/* Every job lies in its evaluation's range (E3 and E2 came in id
	 * order, not time order: their runs were reordered). */
	for (uint32_t j = 0; j < w.njobs; j++) {
		const struct gc_eval *ev = &w.evals[gc_job_eval(&w, j)];
		CHECK(ev->job0 <= j && j < ev->job0 + ev->njobs);
	}
	CHECK_INT(w.accessed_paths, 2);
	CHECK_INT(w.ncrawls, 3);
	CHECK_INT(w.npushes, 7);
	CHECK_INT(w.ngones, 3);
	for (size_t i = 1; i < w.npushes; i++)
		CHECK(w.pushes.time[i - 1] <= w.pushes.time[i]);
	CHECK_INT(w.naccesses, 2);
	CHECK(w.accesses.kind != NULL && w.pushes.kind == NULL);
	/* The history's world keeps no per-id times: its events hold them. */
	CHECK(w.push_time == NULL && w.access == NULL && w.nar_access == NULL);
	CHECK_INT(gc_size(&w, 4), 20);
	/* radj: glibc's referrers 2, 3, 4, 5, 7 */
	CHECK_INT(w.roff[2] - w.roff[1], 5);
	gc_world_release(&w);

	CHECK(gc_world_load(&w, world_db(), 1, NULL, 0) == 0);
	CHECK_INT(w.push_time[7], T0 + 2 * D);
	CHECK_INT(w.access[3], T0 + 2 * D);
	CHECK_INT(w.nar_access[6], 0);
	CHECK_INT(w.access[6], T0 + 3 * D + D / 2);
	CHECK_INT(w.accessed_paths, 2);
	CHECK_INT(w.npushes, 0);
	gc_world_release(&w);
}

TEST(cachix_select)
{
	/*
	 * Logs only: keys are max(push, last access): glibc and gcc-lib day 0,
	 * blender day 1, torch-a day 2 (its NAR), torch-rel day 2, torch-b day
	 * 3, junk day 3.5.  Over 60 bytes the least recent, glibc, goes, and
	 * every stored path referencing it is no longer served: its referrers
	 * go first (postorder upward), gcc-lib after its own referrers.
	 */
	CHECK_STR(select_all(GC_CACHIX, 60, 0, GC_ACCESS_LOGS, NULL),
		  "3:dependency-lost 4:dependency-lost 2:dependency-lost 5:dependency-lost "
		  "7:dependency-lost 1:lru");
	/*
	 * Evaluations count as accesses: E1 (day 1) touches 1 2 3 5, E3 (day
	 * 2) 1 7, E2 (day 3) 1 2 4 5.  Keys: torch-a day 2 (push day 1),
	 * torch-rel day 2 (push day 2), then glibc, gcc-lib, blender, torch-b
	 * at day 3, junk 3.5.  82 - 20 = 62 > 60, - 12 = 50.
	 */
	CHECK_STR(select_all(GC_CACHIX, 60, 0, GC_ACCESS_EVALS, NULL), "3:lru 7:lru");
	/* Under the limit: nothing. */
	CHECK_STR(select_all(GC_CACHIX, 82, 0, GC_ACCESS_EVALS, NULL), "");
}

TEST(attic_select)
{
	/*
	 * Retention 2 days at day 4: cut at day 2.  Keys are max(push, last
	 * NAR download): glibc, gcc-lib, junk day 0 (junk's narinfo GET does
	 * not count), blender day 1 go; torch-a (NAR at day 2), torch-rel
	 * (day 2), torch-b (day 3) stay, though they reference glibc.
	 */
	CHECK_STR(select_all(GC_ATTIC, 0, 2, GC_ACCESS_LOGS, NULL),
		  "1:expired 2:expired 6:expired 5:expired");
	/* 30 days by default: nothing is that old. */
	CHECK_STR(select_all(GC_ATTIC, 0, 0, GC_ACCESS_LOGS, NULL), "");
}

TEST(niks3_select)
{
	/*
	 * Retention 2 days at day 4: roots are outputs of evaluations after
	 * day 2: E2's torch-b and blender, reaching glibc and gcc-lib.  junk
	 * is reached by no evaluation; torch-a (E1) and torch-rel (E3, at day
	 * 2 exactly: outside) only by older ones.  Oldest push first.
	 */
	CHECK_STR(select_all(GC_NIKS3, 0, 2, GC_ACCESS_LOGS, NULL),
		  "6:unreached 3:expired 7:expired");
	/* 3 days: E3 is a root again. */
	CHECK_STR(select_all(GC_NIKS3, 0, 3, GC_ACCESS_LOGS, NULL), "6:unreached 3:expired");
}

TEST(priority_select)
{
	struct gc_weights wt;

	/*
	 * Default weights: nixos-24.05 (nixos-*) 3, master 2.  Current jobs
	 * at day 4: E3 torch-rel (3), E2 blender and torch-b (2, blender's
	 * job first).  Kept order: glibc torch-rel | blender | gcc-lib torch-b,
	 * then the superseded E1 torch-a; junk is reached by no output.
	 * Limit 50: junk (75), torch-a (55), torch-b (35).
	 */
	CHECK_STR(select_all(GC_PRIORITY, 50, 0, 0, NULL),
		  "6:unreached 3:superseded 4:low-value");
	CHECK_STR(select_all(GC_PRIORITY, 55, 0, 0, NULL), "6:unreached 3:superseded");
	/* master worth 5: the release's torch goes instead. */
	gc_weights_init(&wt);
	CHECK(gc_weights_parse(&wt, "branch master 5\n", 16, "test") == 0);
	CHECK_STR(select_all(GC_PRIORITY, 50, 0, 0, &wt),
		  "6:unreached 3:superseded 7:low-value");
	gc_weights_release(&wt);
}

TEST(priority_stops_at_limit)
{
	struct gc_world w;
	struct gc_victims v = {0};
	/* At day 2.5 only E1 and E3 are known; stored: glibc, gcc-lib,
	 * torch-b, blender (43 bytes).  E1's blender reaches glibc; gcc-lib
	 * and torch-b (pushed later, not reached by any evaluation seen) are
	 * unreached.  The oldest, gcc-lib, needs its referrer torch-b to go
	 * first; that alone brings the cache to 23 <= 30: gcc-lib stays. */
	struct gc_params pa = {30, 0, T0 + 2 * D + D / 2, 0};
	uint8_t stored[8] = {0, 1, 1, 0, 1, 1, 0, 0};

	CHECK(gc_world_load(&w, world_db(), 1, NULL, 0) == 0);
	CHECK(gc_select(&w, GC_PRIORITY, &pa, stored, &v) == 0);
	CHECK_STR(victims_str(&v), "4:unreached");
	CHECK_INT(v.bytes, 20);
	/* Without a limit the order goes on: gcc-lib, then the kept order
	 * backwards (blender, glibc). */
	pa.limit = 0;
	CHECK(gc_select(&w, GC_PRIORITY, &pa, stored, &v) == 0);
	CHECK_STR(victims_str(&v), "4:unreached 2:unreached 5:low-value 1:low-value");
	gc_victims_release(&v);
	gc_world_release(&w);
}

TEST(breaks)
{
	struct gc_world w;
	struct gc_victims v = {0};
	struct gc_breaks b;
	struct gc_params pa = {50, 0, T0 + 4 * D, 0};
	uint8_t stored[8] = {0, 1, 1, 1, 1, 1, 1, 1};

	CHECK(gc_world_load(&w, world_db(), 1, NULL, 0) == 0);
	CHECK(gc_select(&w, GC_PRIORITY, &pa, stored, &v) == 0);
	CHECK_INT(v.n, 3);
	/* Current jobs only: torch-b breaks E2's torch; junk and torch-a
	 * break no current job. */
	CHECK(gc_breaks(&w, stored, &v, pa.now, 1, 0, &b) == 0);
	CHECK_INT(b.count[0], 0);
	CHECK_INT(b.count[1], 0);
	CHECK_INT(b.count[2], 1);
	CHECK_INT(b.off[3] - b.off[2], 1);
	CHECK_STR(gc_job_attr(&w, b.jobs[b.off[2]]), "python3Packages.torch");
	CHECK_INT(w.evals[gc_job_eval(&w, b.jobs[b.off[2]])].id, 2);
	gc_breaks_release(&b);
	/* Every evaluation: torch-a breaks E1's torch too. */
	CHECK(gc_breaks(&w, stored, &v, pa.now, 0, 0, &b) == 0);
	CHECK_INT(b.count[1], 1);
	CHECK_INT(w.evals[gc_job_eval(&w, b.jobs[b.off[1]])].id, 1);
	gc_breaks_release(&b);
	/* glibc would break all five jobs, newest evaluation first; capped
	 * at 2 kept. */
	v.v[0].path = 1;
	CHECK(gc_breaks(&w, stored, &v, pa.now, 0, 2, &b) == 0);
	CHECK_INT(b.count[0], 5);
	CHECK_INT(b.off[1] - b.off[0], 2);
	CHECK_INT(w.evals[gc_job_eval(&w, b.jobs[0])].id, 2);
	CHECK_INT(w.evals[gc_job_eval(&w, b.jobs[1])].id, 2);
	gc_breaks_release(&b);
	/* Not whole before: no job breaks.  With gcc-lib gone, torch-b's
	 * closure is already cut. */
	stored[2] = 0;
	v.v[0].path = 4;
	v.n = 1;
	CHECK(gc_breaks(&w, stored, &v, pa.now, 0, 0, &b) == 0);
	CHECK_INT(b.count[0], 0);
	gc_breaks_release(&b);
	gc_victims_release(&v);
	gc_world_release(&w);
}

/* ---- simulation ---------------------------------------------------------- */

struct rec {
	char steps[8][160];
	unsigned n;
	uint64_t max_over;     /* stored bytes above the limit seen */
	uint64_t limit;
	const struct gc_world *w;
};

static int on_step(void *ctx, const struct gc_step *s)
{
	struct rec *r = ctx;
	char *b;
	size_t len;

	if (r->n >= 8)
		return 0;
	b = r->steps[r->n++];
	len = (size_t)snprintf(b, 160, "d%lld stored=%llu ev=%llu/%llu rec=%llu/%llu",
			       (long long)((s->time - T0) / D), (unsigned long long)s->stored_bytes,
			       (unsigned long long)s->evicted_paths, (unsigned long long)s->evicted_bytes,
			       (unsigned long long)s->matched_evictions,
			       (unsigned long long)s->recorded_evictions);
	for (size_t i = 0; i < s->ngroups && len < 140; i++)
		len += (size_t)snprintf(b + len, 160 - len, " %s=%u/%u",
					r->w->groups[s->groups[i].group].branch,
					s->groups[i].retained, s->groups[i].jobs);
	if (r->limit && s->stored_bytes > r->limit)
		r->max_over = s->stored_bytes;
	return 0;
}

static void sim(enum gc_policy p, uint64_t limit, int64_t ret_days, int model, struct rec *r,
		struct gc_sim_result *res)
{
	struct gc_world w;
	struct gc_sim_opts o;

	memset(r, 0, sizeof(*r));
	memset(&o, 0, sizeof(o));
	o.policy = p;
	o.params.limit = limit;
	o.params.retention = ret_days * D;
	o.params.access_model = model;
	o.from = T0;
	o.to = T0 + 4 * D;
	o.step = D;
	r->w = &w;
	r->limit = p == GC_CACHIX || p == GC_PRIORITY ? limit : 0;
	CHECK(gc_world_load(&w, world_db(), 1, NULL, GC_LOAD_HISTORY) == 0);
	CHECK(gc_simulate(&w, &o, on_step, r, res) == 0);
	gc_world_release(&w);
}

TEST(cachix_simulation)
{
	struct rec r;
	struct gc_sim_result res;

	/*
	 * Evaluations as accesses, limit 60.  Before day 0: glibc, gcc-lib,
	 * junk (22).  Day 1: torch-a and blender pushed (50).  Day 2: torch-rel
	 * (62); junk, last touched at day 0, goes (55), as recorded.  Day 3:
	 * torch-b (75); torch-rel and torch-a (touched day 2) go (43); the
	 * release's torch is not retained any more.
	 */
	sim(GC_CACHIX, 60, 0, GC_ACCESS_EVALS, &r, &res);
	CHECK_INT(r.n, 4);
	CHECK_STR(r.steps[0], "d1 stored=50 ev=0/0 rec=0/0 master=2/2");
	CHECK_STR(r.steps[1], "d2 stored=55 ev=1/7 rec=1/1 master=2/2 nixos-24.05=1/1");
	CHECK_STR(r.steps[2], "d3 stored=43 ev=2/32 rec=0/0 master=2/2 nixos-24.05=0/1");
	/* torch-a and torch-rel were recorded gone at day 4, a step later:
	 * the simulated cache does not hold them either. */
	CHECK_STR(r.steps[3], "d4 stored=43 ev=0/0 rec=2/2 master=2/2 nixos-24.05=0/1");
	CHECK_INT(r.max_over, 0);
	CHECK_INT(res.steps, 4);
	CHECK_INT(res.evicted_paths, 3);
	/*
	 * Anchored on the crawls: from day 0's cache to day 2 it predicts
	 * junk; from day 2's (65 bytes, plus torch-b) to day 4, torch-rel and
	 * torch-a: all three recorded evictions, nothing else.
	 */
	CHECK_INT(res.nmatch, 2);
	CHECK_INT(res.predicted, 3);
	CHECK_INT(res.recorded, 3);
	CHECK_INT(res.matched, 3);
	gc_sim_result_release(&res);
}

TEST(priority_simulation)
{
	struct rec r;
	struct gc_sim_result res;

	/*
	 * Day 2 (62): junk, reached by no output, goes.  Day 3 (75): E1 is
	 * superseded; its torch-a goes (55).  Everything current stays.
	 */
	sim(GC_PRIORITY, 60, 0, 0, &r, &res);
	CHECK_STR(r.steps[1], "d2 stored=55 ev=1/7 rec=1/1 master=2/2 nixos-24.05=1/1");
	CHECK_STR(r.steps[2], "d3 stored=55 ev=1/20 rec=0/0 master=2/2 nixos-24.05=1/1");
	CHECK_INT(r.max_over, 0);
	/*
	 * Anchored: junk from day 0 (matched); from day 2's 65 bytes plus
	 * torch-b: torch-a then torch-b (pushed after day 2: not counted);
	 * torch-rel was recorded gone but not predicted.
	 */
	CHECK_INT(res.predicted, 2);
	CHECK_INT(res.recorded, 3);
	CHECK_INT(res.matched, 2);
	gc_sim_result_release(&res);
}

TEST(niks3_simulation)
{
	struct rec r;
	struct gc_sim_result res;

	/*
	 * Retention 2 days.  Day 1: E1's outputs are roots; junk is reached by
	 * nothing (43).  Day 2: E1 and E3 in the window (55).  Day 3: E1 is
	 * out of it: torch-a expires (55 + 20 - 20).  Day 4: only E2: torch-rel
	 * expires (43).
	 */
	sim(GC_NIKS3, 0, 2, 0, &r, &res);
	CHECK_STR(r.steps[0], "d1 stored=43 ev=1/7 rec=0/0 master=2/2");
	CHECK_STR(r.steps[1], "d2 stored=55 ev=0/0 rec=1/1 master=2/2 nixos-24.05=1/1");
	CHECK_STR(r.steps[2], "d3 stored=55 ev=1/20 rec=0/0 master=2/2 nixos-24.05=1/1");
	CHECK_STR(r.steps[3], "d4 stored=43 ev=1/12 rec=2/2 master=2/2 nixos-24.05=0/1");
	gc_sim_result_release(&res);
}

TEST(attic_simulation)
{
	struct rec r;
	struct gc_sim_result res;

	/*
	 * Retention 2 days, logs only.  Day 3 (cut day 1): glibc, gcc-lib and
	 * junk (day 0) expire, though torch-b, blender and torch-rel need
	 * glibc: no master job is whole any more.  Day 4 (cut day 2): blender
	 * (day 1) expires; torch-a's NAR download at day 2 keeps it.
	 */
	sim(GC_ATTIC, 0, 2, GC_ACCESS_LOGS, &r, &res);
	CHECK_STR(r.steps[1], "d2 stored=62 ev=0/0 rec=0/1 master=2/2 nixos-24.05=1/1");
	CHECK_STR(r.steps[2], "d3 stored=60 ev=3/22 rec=0/0 master=0/2 nixos-24.05=0/1");
	CHECK_STR(r.steps[3], "d4 stored=52 ev=1/8 rec=0/2 master=0/2 nixos-24.05=0/1");
	gc_sim_result_release(&res);
}

/* ---- weights ---------------------------------------------------------------- */

TEST(weights)
{
	struct gc_weights wt;
	const char *good =
		"# our weights\n"
		"branch master 6   # CI's own\n"
		"capabilities 8.9 , 8.6 2\n"
		"capabilities 8.6,8.9 2.5\n"
		"attr python3Packages.* 1.5\n"
		"attr python3Packages.torch 9\n"
		"\n"
		"attr * 0.5\n";

	gc_weights_init(&wt);
	CHECK(gc_weight(&wt, GC_W_BRANCH, "nixos-unstable") == 4);
	CHECK(gc_weight(&wt, GC_W_BRANCH, "nixos-24.05") == 3);
	CHECK(gc_weight(&wt, GC_W_BRANCH, "staging") == 1);
	/* "8.9 , 8.6" has three fields: refused, nothing changes. */
	CHECK(gc_weights_parse(&wt, good, strlen(good), "w") < 0);
	CHECK(gc_weight(&wt, GC_W_BRANCH, "master") == 2);
	good = "# our weights\n"
	       "branch master 6   # CI's own\n"
	       "capabilities 8.9,8.6 2.5\n"
	       "attr python3Packages.* 1.5\n"
	       "attr python3Packages.torch 9\n"
	       "\n"
	       "attr * 0.5\n";
	CHECK(gc_weights_parse(&wt, good, strlen(good), "w") == 0);
	CHECK(gc_weight(&wt, GC_W_BRANCH, "master") == 6);
	CHECK(gc_weight(&wt, GC_W_BRANCH, "nixos-unstable") == 4);
	CHECK(gc_weight(&wt, GC_W_CAPS, "8.6,8.9") == 2.5);
	CHECK(gc_weight(&wt, GC_W_CAPS, "8.6") == 1);
	/* First match wins: the prefix rule comes before torch's. */
	CHECK(gc_weight(&wt, GC_W_ATTR, "python3Packages.torch") == 1.5);
	CHECK(gc_weight(&wt, GC_W_ATTR, "blender") == 0.5);
	/* reset: the defaults and the rules so far go. */
	CHECK(gc_weights_parse(&wt, "reset branch\nbranch * 7\n", 24, "w") == 0);
	CHECK(gc_weight(&wt, GC_W_BRANCH, "nixos-unstable") == 7);
	CHECK(gc_weights_parse(&wt, "reset all", 9, "w") == 0);
	CHECK(gc_weight(&wt, GC_W_ATTR, "blender") == 1);
	/* Errors name the line. */
	CHECK(gc_weights_parse(&wt, "\nbranch master\n", 15, "w") < 0);
	CHECK(gc_weights_parse(&wt, "branch master -1\n", 17, "w") < 0);
	CHECK(gc_weights_parse(&wt, "branch master nan\n", 18, "w") < 0);
	CHECK(gc_weights_parse(&wt, "branch ma*ster 1\n", 17, "w") < 0);
	CHECK(gc_weights_parse(&wt, "capabilities eight 1\n", 21, "w") < 0);
	CHECK(gc_weights_parse(&wt, "colour red 1\n", 13, "w") < 0);
	CHECK(gc_weights_parse(&wt, "reset colour\n", 13, "w") < 0);
	CHECK(gc_weights_parse(&wt, "branch a\0b 1\n", 13, "w") < 0);
	gc_weights_release(&wt);
}

/* ---- random worlds ------------------------------------------------------------ */

static uint64_t rng = 88172645463325252ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A random DAG of np paths (references to lower ids), pushed over 20
 * days, 3 groups evaluated every 2 days. */
static int random_world(struct db *rdb, unsigned np)
{
	struct strbuf sb = STRBUF_INIT;

	if (db_begin(rdb))
		return -1;
	exec(rdb, "INSERT INTO caches (id, url, added_at) VALUES (1, 'file:///r', 0);"
		  "INSERT INTO crawls (id, cache_id, started_at, status) VALUES (1, 1, 0, 'complete')");
	for (unsigned i = 1; i <= np; i++) {
		char refs[256] = "";
		size_t len = 0;
		unsigned nref = i > 1 ? (unsigned)(rnd() % 4) : 0;
		for (unsigned k = 0; k < nref; k++) {
			unsigned r = 1 + (unsigned)(rnd() % (i - 1));
			if (len == 0)
				len += (size_t)snprintf(refs + len, sizeof(refs) - len, "%u", r);
			else
				len += (size_t)snprintf(refs + len, sizeof(refs) - len, ",%u", r);
		}
		add_path(rdb, i, "p", 1 + (int64_t)(rnd() % 100), refs);
		add_presence(rdb, i, T0 + (int64_t)(i * 20 * D / np), T0 + (int64_t)(i * 20 * D / np), -1);
	}
	for (int e = 0; e < 30; e++) {
		static const char *const br[] = {"master", "nixos-unstable", "nixos-24.05"};
		int64_t t = T0 + (int64_t)(e / 3) * 2 * D + D;
		add_eval(rdb, e + 1, br[e % 3], "8.6", t);
		for (int j = 0; j < 8; j++) {
			/* outputs among the paths pushed by then */
			unsigned hi = (unsigned)((t - T0) * np / (20 * D));
			char attr[32];
			if (hi < 1)
				hi = 1;
			snprintf(attr, sizeof(attr), "pkg%d", j);
			add_job(rdb, e + 1, attr, 1 + (unsigned)(rnd() % hi));
		}
	}
	strbuf_release(&sb);
	return db_commit(rdb);
}

/* Every stored path that stays references no victim, and a victim's
 * stored referrers come before it. */
static int closure_safe(const struct gc_world *w, const uint8_t *stored, const struct gc_victims *v)
{
	uint32_t *pos = xcalloc(w->n, sizeof(*pos));
	int ok = 1;

	for (size_t i = 0; i < v->n; i++)
		pos[v->v[i].path] = (uint32_t)i + 1;
	for (size_t i = 0; i < v->n && ok; i++) {
		uint32_t x = v->v[i].path;
		for (uint32_t e = w->roff[x]; e < w->roff[x + 1]; e++) {
			uint32_t r = w->radj[e];
			if (!stored[r])
				continue;
			if (!pos[r] || pos[r] > i + 1)
				ok = 0;
		}
	}
	free(pos);
	return ok;
}

static int random_step(void *ctx, const struct gc_step *s)
{
	struct rec *r = ctx;

	if (s->stored_bytes > r->limit)
		r->max_over = s->stored_bytes;
	r->n++;
	return 0;
}

/* The world's references as they were (the priority engine frees them
 * while it runs and puts them back from its copy). */
static int graph_same(const struct gc_world *w, const uint32_t *off, const uint32_t *adj)
{
	return w->g.off && w->g.adj &&
	       !memcmp(w->g.off, off, ((size_t)w->n + 1) * sizeof(*off)) &&
	       !memcmp(w->g.adj, adj, (off[w->n] ? off[w->n] : 1) * sizeof(*adj));
}

static void graph_keep(const struct gc_world *w, uint32_t **off, uint32_t **adj)
{
	size_t na = w->g.off[w->n] ? w->g.off[w->n] : 1;

	*off = xmalloc(((size_t)w->n + 1) * sizeof(**off));
	*adj = xcalloc(na, sizeof(**adj));
	memcpy(*off, w->g.off, ((size_t)w->n + 1) * sizeof(**off));
	memcpy(*adj, w->g.adj, w->g.off[w->n] * sizeof(**adj));
}

TEST(random_properties)
{
	uint32_t *off0, *adj0;
	char path[] = "/tmp/cachegc-test-gc-rand.XXXXXX";
	struct db rdb;
	struct gc_world w;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	unlink(path);
	if (db_open(&rdb, path, 0))
		return;
	CHECK(random_world(&rdb, 300) == 0);
	/* gc_select on a snapshot world (per-id times), gc_simulate on one
	 * with the history (events). */
	CHECK(gc_world_load(&w, &rdb, 1, NULL, 0) == 0);
	graph_keep(&w, &off0, &adj0);
	for (int round = 0; round < 20; round++) {
		uint8_t *stored = xcalloc(w.n, 1);
		uint64_t total = 0;
		for (uint32_t i = 1; i < w.n; i++)
			if (rnd() % 4) {
				stored[i] = 1;
				total += (uint64_t)gc_size(&w, i);
			}
		for (int p = 0; p < GC_NPOLICIES; p++) {
			struct gc_victims v = {0};
			struct gc_params pa = {total / 2, 3 * D, T0 + (int64_t)(rnd() % 22) * D, 0};
			CHECK(gc_select(&w, (enum gc_policy)p, &pa, stored, &v) == 0);
			CHECK(graph_same(&w, off0, adj0));
			if (p != GC_ATTIC) {
				CHECK(closure_safe(&w, stored, &v));
			}
			if (p == GC_CACHIX || p == GC_PRIORITY) {
				CHECK(total - v.bytes <= pa.limit);
			}
			for (size_t i = 0; i < v.n; i++)
				CHECK(stored[v.v[i].path]);
			gc_victims_release(&v);
		}
		free(stored);
	}
	gc_world_release(&w);
	CHECK(gc_world_load(&w, &rdb, 1, NULL, GC_LOAD_HISTORY) == 0);
	CHECK(graph_same(&w, off0, adj0));
	for (int p = 0; p < GC_NPOLICIES; p++) {
		struct gc_sim_opts o;
		struct gc_sim_result res;
		struct rec r;
		memset(&o, 0, sizeof(o));
		memset(&r, 0, sizeof(r));
		o.policy = (enum gc_policy)p;
		o.params.limit = 2000;
		o.params.retention = 4 * D;
		o.from = T0;
		o.to = T0 + 22 * D;
		o.step = D / 2;
		r.limit = p == GC_CACHIX || p == GC_PRIORITY ? 2000 : UINT64_MAX;
		CHECK(gc_simulate(&w, &o, random_step, &r, &res) == 0);
		CHECK_INT(r.n, 44);
		CHECK_INT(r.max_over, 0);
		CHECK(graph_same(&w, off0, adj0));
		gc_sim_result_release(&res);
	}
	free(off0);
	free(adj0);
	gc_world_release(&w);
	db_close(&rdb);
	unlink(path);
}

int main(void)
{
	RUN(names);
	RUN(world_loads);
	RUN(cachix_select);
	RUN(attic_select);
	RUN(niks3_select);
	RUN(priority_select);
	RUN(priority_stops_at_limit);
	RUN(breaks);
	RUN(cachix_simulation);
	RUN(priority_simulation);
	RUN(niks3_simulation);
	RUN(attic_simulation);
	RUN(weights);
	RUN(random_properties);
	if (db_ready) {
		db_close(&db);
		unlink(dbpath);
	}
	return test_summary();
}
