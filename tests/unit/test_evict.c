/*
 * test_evict.c - eviction plans and their application on hand-made file://
 * caches: URL checks, closure safety of plans (random graphs, every prefix
 * of the plan), reasons and broken jobs, shared NARs, hostile URLs and
 * symbolic links, paths pushed after the plan, and a run killed with
 * SIGKILL at random points then resumed (compared with a clean run).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ingest/crawl.h"
#include "store/db.h"
#include "store/stmt.h"
#include "analysis/evict.h"
#include "analysis/gc.h"
#include "analysis/graph.h"
#include "harness.h"
#include "lib/util.h"

static char root[] = "/tmp/cachegc-test-evict.XXXXXX";
static unsigned seq;

/* ---- building caches ---------------------------------------------------- */

#define MAXP 80

struct spec {
	const char *refs;      /* indices it references, "1 2 3" */
	const char *url;       /* NULL: nar/<hash>.nar.xz of its own */
	int64_t size;          /* FileSize */
	int no_file_size;      /* leave FileSize out: NarSize counts */
};

static const char nix32[] = "0123456789abcdfghijklmnpqrsvwxyz";

/* A distinct store hash for each i. */
static void hash_of(unsigned i, char out[33])
{
	memset(out, 'z', 32);
	for (int k = 31; k >= 24; k--, i >>= 5)
		out[k] = nix32[i & 31];
	out[32] = '\0';
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

static void nar_url(unsigned i, const struct spec *s, char *out, size_t sz)
{
	char h[33];

	hash_of(i, h);
	if (s->url)
		snprintf(out, sz, "%s", s->url);
	else
		snprintf(out, sz, "nar/%s.nar.xz", h);
}

/* Write narinfo i of specs into dir (and its NAR unless skip_nar). */
static void write_narinfo(const char *dir, const struct spec *specs, unsigned i, int skip_nar)
{
	struct strbuf sb = STRBUF_INIT, p = STRBUF_INIT;
	char h[33], url[300];
	const char *r = specs[i].refs ? specs[i].refs : "";

	hash_of(i, h);
	nar_url(i, &specs[i], url, sizeof(url));
	strbuf_addf(&sb, "StorePath: /nix/store/%s-p%u\nURL: %s\nCompression: xz\n", h, i, url);
	if (!specs[i].no_file_size)
		strbuf_addf(&sb, "FileSize: %lld\n", (long long)specs[i].size);
	strbuf_addf(&sb, "NarHash: sha256:1%.31s%.20s\nNarSize: %lld\nReferences: ", h,
		    "00000000000000000000", (long long)specs[i].size * 2);
	while (*r) {
		char *end;
		unsigned long j = strtoul(r, &end, 10);
		char rh[33];
		if (end == r)
			break;
		hash_of((unsigned)j, rh);
		strbuf_addf(&sb, "%s%s-p%lu", sb.buf[sb.len - 1] == ' ' ? "" : " ", rh, j);
		r = end;
		while (*r == ' ')
			r++;
	}
	strbuf_addch(&sb, '\n');
	strbuf_addf(&p, "%s/%s.narinfo", dir, h);
	write_file(p.buf, sb.buf);
	if (!skip_nar && !strncmp(url, "nar/", 4) && !strchr(url + 4, '/')) {
		strbuf_reset(&p);
		strbuf_addf(&p, "%s/%s", dir, url);
		write_file(p.buf, "nar bytes\n");
	}
	strbuf_release(&sb);
	strbuf_release(&p);
}

struct world {
	char dir[256];
	char dbpath[256];
	struct db db;
	int open;
	int64_t cache_id;
};

/* A fresh cache directory with specs[0..n) and a DB that crawled it. */
static int world_make(struct world *w, const struct spec *specs, unsigned n)
{
	struct crawl_counts counts;
	int64_t crawl_id;
	char *url = NULL, p[300];

	memset(w, 0, sizeof(*w));
	seq++;
	snprintf(w->dir, sizeof(w->dir), "%s/cache%u", root, seq);
	snprintf(w->dbpath, sizeof(w->dbpath), "%s/db%u", root, seq);
	mkdir(w->dir, 0755);
	snprintf(p, sizeof(p), "%s/nar", w->dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/nix-cache-info", w->dir);
	write_file(p, "StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\n");
	for (unsigned i = 1; i < n; i++)
		if (specs[i].size >= 0)
			write_narinfo(w->dir, specs, i, 0);
	if (db_open(&w->db, w->dbpath, 0))
		return -1;
	w->open = 1;
	clock_set(1700000000);
	if (crawl_dir(&w->db, w->dir, &counts, &crawl_id, &url)) {
		free(url);
		return -1;
	}
	free(url);
	w->cache_id = 1;
	return 0;
}

static void world_close(struct world *w)
{
	if (w->open)
		db_close(&w->db);
	w->open = 0;
}

static int64_t path_id(struct world *w, unsigned i)
{
	static const char sql[] = "SELECT id FROM paths WHERE hash = ?1";
	sqlite3_stmt *st = db_stmt(&w->db, sql);
	char h[33];
	int64_t id = -1;

	hash_of(i, h);
	db_bind_text(st, 1, h);
	if (db_step(&w->db, st) == 1)
		id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return id;
}

/* An evaluation of branch at time t whose jobs' outputs are roots ("1 5"). */
static void add_eval(struct world *w, const char *branch, int64_t t, const char *roots)
{
	static const char sql_e[] =
		"INSERT INTO evaluations (branch, rev, capabilities, system, time, source, imported_at)"
		" VALUES (?1, 'r', '8.6', 'x86_64-linux', ?2, 'test', 0)";
	static const char sql_j[] =
		"INSERT INTO eval_jobs (evaluation_id, attr, output, path_id, line)"
		" VALUES (?1, ?2, 'out', ?3, 1)";
	sqlite3_stmt *st = db_stmt(&w->db, sql_e);
	int64_t eid;
	const char *r = roots;

	db_bind_text(st, 1, branch);
	db_bind_int(st, 2, t);
	db_run(&w->db, st);
	eid = db_last_id(&w->db);
	while (*r) {
		char *end, attr[32];
		unsigned long j = strtoul(r, &end, 10);
		if (end == r)
			break;
		snprintf(attr, sizeof(attr), "job%lu", j);
		st = db_stmt(&w->db, sql_j);
		db_bind_int(st, 1, eid);
		db_bind_text(st, 2, attr);
		db_bind_int(st, 3, path_id(w, (unsigned)j));
		db_run(&w->db, st);
		r = end;
		while (*r == ' ')
			r++;
	}
}

/* The policy make_plan() asks for. */
static const char *policy = "reach";

static int64_t make_plan(struct world *w, uint64_t limit, struct evict_plan *plan)
{
	struct evict_plan_opts o;

	memset(&o, 0, sizeof(o));
	o.cache_id = w->cache_id;
	o.limit = limit;
	o.policy = policy;

	if (evict_plan_build(&w->db, &o, plan) || evict_plan_save(&w->db, plan))
		return -1;
	return plan->id;
}

/* Index in specs of a planned path (from its name "p<i>"). */
static unsigned spec_of(const struct evict_path *ep)
{
	return (unsigned)atoi(ep->base + 34);
}

/* Every file under dir, relative, sorted, one per line (malloc'd). */
static void list_rec(const char *dir, const char *rel, struct strbuf *out, char ***v, size_t *n,
		     size_t *alloc)
{
	char p[1300];
	DIR *d;
	struct dirent *de;

	snprintf(p, sizeof(p), "%s%s%s", dir, *rel ? "/" : "", rel);
	if (!(d = opendir(p)))
		return;
	while ((de = readdir(d))) {
		char r[600];
		struct stat st;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(r, sizeof(r), "%s%s%s", rel, *rel ? "/" : "", de->d_name);
		snprintf(p, sizeof(p), "%s/%s", dir, r);
		if (!lstat(p, &st) && S_ISDIR(st.st_mode)) {
			list_rec(dir, r, out, v, n, alloc);
			continue;
		}
		GROW(*v, *alloc, *n + 1);
		(*v)[(*n)++] = xstrdup(r);
	}
	closedir(d);
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *listing(const char *dir)
{
	struct strbuf sb = STRBUF_INIT;
	char **v = NULL;
	size_t n = 0, alloc = 0;

	list_rec(dir, "", &sb, &v, &n, &alloc);
	if (n)
		qsort(v, n, sizeof(*v), cmp_strp);
	strbuf_addstr(&sb, "");
	for (size_t i = 0; i < n; i++) {
		strbuf_addf(&sb, "%s\n", v[i]);
		free(v[i]);
	}
	free(v);
	return strbuf_detach(&sb);
}

static int exists(const char *dir, const char *rel)
{
	char p[600];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return lstat(p, &st) == 0;
}

static int narinfo_exists(struct world *w, unsigned i)
{
	char h[33], rel[64];

	hash_of(i, h);
	snprintf(rel, sizeof(rel), "%s.narinfo", h);
	return exists(w->dir, rel);
}

struct events {
	unsigned n[6];
	char last_detail[300];
};

static void count_event(void *ctx, const struct evict_event *ev)
{
	struct events *e = ctx;

	e->n[ev->action]++;
	if (ev->detail)
		snprintf(e->last_detail, sizeof(e->last_detail), "%s", ev->detail);
}

static int apply(struct world *w, int64_t plan_id, int really, struct evict_apply_result *r,
		 struct events *ev)
{
	struct evict_apply_opts o;

	memset(&o, 0, sizeof(o));
	o.plan_id = plan_id;
	o.apply = really;
	o.fn = ev ? count_event : NULL;
	o.ctx = ev;
	if (ev)
		memset(ev, 0, sizeof(*ev));
	return evict_apply(&w->db, &o, r);
}

/* ---- pure helpers ----------------------------------------------------- */

TEST(url_checks)
{
	const char *good[] = {"nar/1abc.nar.xz", "x.nar", "nar/sub/x.nar.zst", "nar/a..b", "nar/.x"};
	const char *bad[] = {"", "/etc/passwd", "nar/../../outside", "../x", "nar/./x", "nar//x",
			     "nar/", "..", "http://example.org/nar/x", "file:x", "nar/x\n",
			     "nar/%2e%2e/x", "nar/x?y", "nar/.."};
	const char *why;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		why = NULL;
		if (evict_url_check(good[i], strlen(good[i]), &why)) {
			fprintf(stderr, "refused good URL '%s': %s\n", good[i], why);
			CHECK(0);
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		why = NULL;
		if (!evict_url_check(bad[i], strlen(bad[i]), &why)) {
			fprintf(stderr, "accepted bad URL '%s'\n", bad[i]);
			CHECK(0);
		}
		CHECK(why != NULL);
	}
}

struct refs_seen {
	char h[4][33];
	int n;
};

static void on_ref(void *ctx, const char *hash)
{
	struct refs_seen *r = ctx;

	if (r->n < 4) {
		memcpy(r->h[r->n], hash, 32);
		r->h[r->n++][32] = '\0';
	}
}

TEST(narinfo_scan)
{
	const char text[] = "StorePath: /nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x\r\n"
			    "URL: nar/abc.nar.xz\r\n"
			    "Junk line without colon\n"
			    "References: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-y short cccccccccccccccccccccccccccccccc-z\n"
			    "URL: nar/second\n";
	struct refs_seen r = {0};
	const char *url;
	size_t len;

	evict_narinfo_scan(text, sizeof(text) - 1, &url, &len, on_ref, &r);
	CHECK(url && len == strlen("nar/abc.nar.xz") && !memcmp(url, "nar/abc.nar.xz", len));
	CHECK_INT(r.n, 2);
	CHECK_STR(r.h[0], "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	CHECK_STR(r.h[1], "cccccccccccccccccccccccccccccccc");
	evict_narinfo_scan("References: \nURL:x", 18, &url, &len, on_ref, &r);
	CHECK(url == NULL);
	evict_narinfo_scan("", 0, &url, &len, NULL, NULL);
	CHECK(url == NULL);
}

/* ---- planning ------------------------------------------------------------ */

/* The plan never leaves a kept present path with an evicted reference,
 * and neither does any prefix of it; it stops as soon as it is under the
 * limit. */
static void check_plan(struct world *w, const struct evict_plan *plan)
{
	struct graph g;
	uint32_t *seq_of;
	uint64_t sum = 0;

	if (graph_load(&g, &w->db, w->cache_id)) {
		CHECK(0);
		return;
	}
	seq_of = xcalloc(g.n, sizeof(*seq_of));
	for (size_t i = 0; i < plan->n; i++) {
		seq_of[plan->paths[i].path_id] = (uint32_t)i + 1;
		sum += (uint64_t)plan->paths[i].stored;
	}
	for (uint32_t u = 1; u < g.n; u++) {
		if (!(g.flags[u] & GRAPH_PRESENT))
			continue;
		for (uint32_t e = g.off[u]; e < g.off[u + 1]; e++) {
			uint32_t v = g.adj[e];
			if (!(g.flags[v] & GRAPH_PRESENT) || !seq_of[v])
				continue;
			/* v is evicted: u must be too, and before it */
			if (!seq_of[u] || seq_of[u] > seq_of[v]) {
				fprintf(stderr, "path %u (seq %u) references evicted %u (seq %u)\n", u,
					seq_of[u], v, seq_of[v]);
				CHECK(0);
			}
		}
	}
	CHECK_INT(plan->size_before - sum, plan->size_after);
	if (plan->limit_reached) {
		CHECK(plan->size_after <= plan->limit);
		if (plan->n)
			CHECK(plan->size_after + (uint64_t)plan->paths[plan->n - 1].stored > plan->limit);
	}
	free(seq_of);
	graph_release(&g);
}

TEST(plan_closure_safe_random)
{
	unsigned rnd = 12345;

	for (int trial = 0; trial < 12; trial++) {
		struct spec specs[MAXP];
		char refs[MAXP][200];
		unsigned n = 30 + (unsigned)(trial * 4);
		struct world w;
		uint64_t total = 0;

		memset(specs, 0, sizeof(specs));
		for (unsigned i = 1; i < n; i++) {
			refs[i][0] = '\0';
			for (unsigned j = 1; j < i; j++) {
				rnd = rnd * 1103515245u + 12345u;
				if ((rnd >> 16) % 7 == 0) {
					size_t l = strlen(refs[i]);
					snprintf(refs[i] + l, sizeof(refs[i]) - l, "%u ", j);
				}
			}
			specs[i].refs = refs[i];
			rnd = rnd * 1103515245u + 12345u;
			specs[i].size = 100 + (rnd >> 16) % 5000;
			specs[i].no_file_size = (rnd >> 8) % 5 == 0;
			total += (uint64_t)(specs[i].no_file_size ? specs[i].size * 2 : specs[i].size);
		}
		if (world_make(&w, specs, n)) {
			CHECK(0);
			return;
		}
		/* an old and a new evaluation of one branch, and another branch */
		add_eval(&w, "master", 100, "5 9 13");
		add_eval(&w, "master", 200, "20 21 22");
		add_eval(&w, "release", 150, "25 3");
		for (int k = 0; k <= 4; k++) {
			struct evict_plan plan;
			uint64_t limit = total * (uint64_t)k / 4;
			if (make_plan(&w, limit, &plan) < 0) {
				CHECK(0);
			} else {
				CHECK_INT(plan.size_before, total);
				CHECK(plan.limit_reached);
				check_plan(&w, &plan);
				if (k == 4)
					CHECK_INT(plan.n, 0);
				if (k == 0)
					CHECK_INT(plan.n, n - 1);
				/* reasons only grow along the plan: what an
				 * evaluation reaches goes after what none does */
				for (size_t i = 1; i < plan.n; i++)
					CHECK(plan.paths[i].reason >= plan.paths[i - 1].reason ||
					      plan.paths[i].reason == EVICT_UNREACHED);
			}
			evict_plan_release(&plan);
		}
		world_close(&w);
	}
}

TEST(plan_reasons_and_breaks)
{
	/* 1 <- 2 <- 3 (root of the old master eval), 4 (root of the new one)
	 * references 1 too; 5 is reached by nothing; 6 <- 7 new root. */
	struct spec specs[8] = {
		{0}, {"", NULL, 1000, 0}, {"1", NULL, 1000, 0}, {"2", NULL, 1000, 0},
		{"1", NULL, 1000, 0}, {"", NULL, 1000, 0}, {"", NULL, 1000, 0}, {"6", NULL, 1000, 0},
	};
	struct world w;
	struct evict_plan plan;
	int reason[8];

	if (world_make(&w, specs, 8)) {
		CHECK(0);
		return;
	}
	add_eval(&w, "master", 100, "3");
	add_eval(&w, "master", 200, "4 7");
	/* 7000 stored; limit 4000 takes 5 (unreached), then 3 and 2
	 * (superseded: 1 stays, 4 references it) */
	CHECK(make_plan(&w, 4000, &plan) > 0);
	check_plan(&w, &plan);
	CHECK_INT(plan.n, 3);
	memset(reason, -1, sizeof(reason));
	for (size_t i = 0; i < plan.n; i++)
		reason[spec_of(&plan.paths[i])] = plan.paths[i].reason;
	CHECK_INT(reason[5], EVICT_UNREACHED);
	CHECK_INT(reason[3], EVICT_SUPERSEDED);
	CHECK_INT(reason[2], EVICT_SUPERSEDED);
	CHECK_INT(reason[1], -1);
	CHECK_INT(plan.size_after, 4000);
	/* the old evaluation's job is broken by 3 and by 2 */
	CHECK_INT(plan.njobs, 1);
	for (size_t i = 0; i < plan.n; i++) {
		unsigned s = spec_of(&plan.paths[i]);
		CHECK_INT(plan.paths[i].nbreaks, s == 5 ? 0 : 1);
		if (s != 5 && plan.paths[i].nbreaks_kept)
			CHECK_STR(plan.jobs[plan.paths[i].breaks[0]].attr, "job3");
	}
	evict_plan_release(&plan);

	/* down to 1000: everything but one path; current outputs go last
	 * and are low-value */
	CHECK(make_plan(&w, 1000, &plan) > 0);
	check_plan(&w, &plan);
	CHECK_INT(plan.n, 6);
	for (size_t i = 0; i < plan.n; i++)
		reason[spec_of(&plan.paths[i])] = plan.paths[i].reason;
	CHECK_INT(reason[4], EVICT_LOW_VALUE);
	CHECK_INT(reason[7], EVICT_LOW_VALUE);
	evict_plan_release(&plan);

	/* stored in the DB and loaded back the same */
	{
		struct evict_plan a, b;
		CHECK(make_plan(&w, 4000, &a) > 0);
		CHECK_INT(evict_plan_load(&w.db, a.id, &b), 0);
		CHECK_INT(b.n, a.n);
		for (size_t i = 0; i < a.n && i < b.n; i++) {
			CHECK_STR(b.paths[i].base, a.paths[i].base);
			CHECK_STR(b.paths[i].url, a.paths[i].url);
			CHECK_INT(b.paths[i].reason, a.paths[i].reason);
			CHECK_INT(b.paths[i].stored, a.paths[i].stored);
		}
		CHECK_INT(b.size_after, a.size_after);
		evict_plan_release(&a);
		evict_plan_release(&b);
		CHECK_INT(evict_plan_load(&w.db, 999, &b), 1);
		evict_plan_release(&b);
	}
	world_close(&w);
}

/* With a GC model as the policy: the plan takes only what the model
 * proposes, keeps its reasons, stays closure-safe, and for the models
 * that promise a closure-safe order (all but attic) is a prefix of it. */
TEST(plan_gc_policies)
{
	static const char *const names[] = {"priority", "cachix", "attic", "niks3"};
	unsigned rnd = 777;

	for (int trial = 0; trial < 4; trial++) {
		struct spec specs[MAXP];
		char refs[MAXP][200];
		unsigned n = 40 + (unsigned)trial * 8;
		struct world w;
		uint64_t total = 0;

		memset(specs, 0, sizeof(specs));
		for (unsigned i = 1; i < n; i++) {
			refs[i][0] = '\0';
			for (unsigned j = 1; j < i; j++) {
				rnd = rnd * 1103515245u + 12345u;
				if ((rnd >> 16) % 6 == 0) {
					size_t l = strlen(refs[i]);
					snprintf(refs[i] + l, sizeof(refs[i]) - l, "%u ", j);
				}
			}
			specs[i].refs = refs[i];
			rnd = rnd * 1103515245u + 12345u;
			specs[i].size = 100 + (rnd >> 16) % 3000;
			total += (uint64_t)specs[i].size;
		}
		if (world_make(&w, specs, n)) {
			CHECK(0);
			return;
		}
		add_eval(&w, "master", 1600000000, "5 9 13");
		add_eval(&w, "master", 1690000000, "20 21 22");
		add_eval(&w, "nixos-unstable", 1650000000, "25 3");
		for (size_t k = 0; k < ARRAY_SIZE(names); k++) {
			struct evict_plan plan;
			struct gc_world gw;
			struct gc_victims v = {0};
			struct gc_params params;
			enum gc_policy gp;
			uint8_t *stored;
			uint8_t *reason;
			int64_t *place;
			int prefix = 1;

			memset(&params, 0, sizeof(params));
			params.limit = total / 3;
			params.now = 1700000000;
			policy = names[k];
			if (make_plan(&w, total / 3, &plan) < 0) {
				CHECK(0);
				continue;
			}
			check_plan(&w, &plan);
			CHECK_STR(plan.policy, names[k]);
			/* what the model proposes, asked directly */
			CHECK_INT(gc_policy_parse(names[k], &gp), 0);
			CHECK_INT(gc_world_load(&gw, &w.db, w.cache_id, NULL, 0), 0);
			stored = gc_stored_now(&gw);
			CHECK_INT(gc_select(&gw, gp, &params, stored, &v), 0);
			place = xcalloc(gw.n, sizeof(*place));
			reason = xcalloc(gw.n, 1);
			for (size_t i = 0; i < v.n; i++) {
				place[v.v[i].path] = (int64_t)i + 1;
				reason[v.v[i].path] = v.v[i].reason;
			}
			for (size_t i = 0; i < plan.n; i++) {
				uint32_t id = plan.paths[i].path_id;
				if (!place[id]) {
					fprintf(stderr, "%s: plan takes %s, not proposed\n", names[k],
						plan.paths[i].base);
					CHECK(0);
					continue;
				}
				CHECK_INT(plan.paths[i].reason, reason[id]);
				prefix &= place[id] == (int64_t)i + 1;
			}
			if (gp != GC_ATTIC && !prefix) {
				fprintf(stderr, "%s: the plan is not a prefix of the model's order\n",
					names[k]);
				CHECK(0);
			}
			if (!plan.limit_reached)
				CHECK(plan.blocked_paths > 0 ||
				      plan.proposed_bytes + plan.limit < plan.size_before);
			free(place);
			free(reason);
			free(stored);
			gc_victims_release(&v);
			gc_world_release(&gw);
			evict_plan_release(&plan);
		}
		policy = "reach";
		world_close(&w);
	}
}

TEST(plan_cycle_cannot_reach_limit)
{
	/* A forged cache: 1 and 2 reference each other. */
	struct spec specs[4] = {{0}, {"2", NULL, 1000, 0}, {"1", NULL, 1000, 0}, {"", NULL, 1000, 0}};
	struct world w;
	struct evict_plan plan;

	if (world_make(&w, specs, 4)) {
		CHECK(0);
		return;
	}
	CHECK(make_plan(&w, 500, &plan) > 0);
	CHECK(!plan.limit_reached);
	CHECK_INT(plan.n, 1);
	CHECK_INT(plan.blocked_paths, 2);
	CHECK_INT(plan.blocked_bytes, 2000);
	check_plan(&w, &plan);
	evict_plan_release(&plan);
	world_close(&w);
}

/* ---- applying ------------------------------------------------------------ */

TEST(apply_shared_nar)
{
	/* 1 and 2 share one NAR; 3 has its own.  The eval keeps 2 and 3. */
	struct spec specs[4] = {{0}, {"", "nar/shared.nar.xz", 1000, 0},
				{"", "nar/shared.nar.xz", 1000, 0}, {"", NULL, 1000, 0}};
	struct world w;
	struct evict_plan plan;
	struct evict_apply_result r;
	struct events ev;
	char url3[300];

	if (world_make(&w, specs, 4)) {
		CHECK(0);
		return;
	}
	nar_url(3, &specs[3], url3, sizeof(url3));
	add_eval(&w, "master", 100, "2 3");
	CHECK(make_plan(&w, 2000, &plan) > 0);
	CHECK_INT(plan.n, 1);
	if (plan.n != 1)
		return;
	CHECK_INT(spec_of(&plan.paths[0]), 1);
	CHECK_INT(apply(&w, plan.id, 1, &r, &ev), 0);
	CHECK(r.complete);
	CHECK_INT(r.narinfos, 1);
	CHECK_INT(r.nars, 0);
	CHECK_INT(r.shared, 1);
	CHECK_INT(ev.n[EVICT_KEEP_SHARED], 1);
	CHECK(!narinfo_exists(&w, 1));
	CHECK(narinfo_exists(&w, 2));
	CHECK(exists(w.dir, "nar/shared.nar.xz"));
	evict_apply_result_release(&r);
	evict_plan_release(&plan);

	/* Now everything: the shared NAR goes with the last narinfo naming
	 * it, and only then. */
	CHECK(make_plan(&w, 0, &plan) > 0);
	CHECK_INT(apply(&w, plan.id, 0, &r, &ev), 0);   /* dry run first */
	CHECK(narinfo_exists(&w, 2));
	CHECK(exists(w.dir, url3));
	CHECK_INT(r.nars, 2);
	evict_apply_result_release(&r);
	CHECK_INT(apply(&w, plan.id, 1, &r, &ev), 0);
	CHECK(r.complete);
	CHECK(!exists(w.dir, "nar/shared.nar.xz"));
	CHECK(!exists(w.dir, url3));
	CHECK(!narinfo_exists(&w, 2) && !narinfo_exists(&w, 3));
	evict_apply_result_release(&r);
	evict_plan_release(&plan);
	world_close(&w);
}

TEST(apply_shared_nar_other_name)
{
	/* 2 stays and names 1's NAR through a symbolic link to the nar
	 * directory, and 3 stays and names it as "nar/./x": the file is kept
	 * either way. */
	struct spec specs[5] = {{0}, {"", "nar/x.nar.xz", 1000, 0}, {"", "alias/x.nar.xz", 1000, 0},
				{"", NULL, 1000, 0}, {"", "nar/y.nar.xz", 1000, 0}};
	struct world w;
	struct evict_plan plan;
	struct evict_apply_result r;
	char p[400];

	if (world_make(&w, specs, 5)) {
		CHECK(0);
		return;
	}
	snprintf(p, sizeof(p), "%s/nar/x.nar.xz", w.dir);
	write_file(p, "x\n");
	snprintf(p, sizeof(p), "%s/nar/y.nar.xz", w.dir);
	write_file(p, "y\n");
	snprintf(p, sizeof(p), "%s/alias", w.dir);
	CHECK(symlink("nar", p) == 0);
	add_eval(&w, "master", 100, "2 3");
	/* 3's narinfo is rewritten after the crawl to name y as nar/./y */
	CHECK(make_plan(&w, 2000, &plan) > 0);
	CHECK_INT(plan.n, 2);
	{
		struct spec s3 = {"", "nar/./y.nar.xz", 1000, 0};
		struct spec tmp[4] = {{0}, {0}, {0}, s3};
		write_narinfo(w.dir, tmp, 3, 1);
	}
	CHECK_INT(apply(&w, plan.id, 1, &r, NULL), 0);
	CHECK(r.complete);
	CHECK_INT(r.narinfos, 2);
	CHECK_INT(r.nars, 0);
	CHECK_INT(r.shared, 2);
	CHECK(exists(w.dir, "nar/x.nar.xz"));
	CHECK(exists(w.dir, "nar/y.nar.xz"));
	evict_apply_result_release(&r);
	evict_plan_release(&plan);
	world_close(&w);
}

TEST(apply_refuses_escapes)
{
	/* 1: URL nar/../../outside; 2: an absolute path; 3: through a
	 * symbolic link to a directory outside; 4: referenced by 1 only (it
	 * must stay with 1); 5: an ordinary path, evicted. */
	char outside[300], outdir[300], p[400], abs_url[400];
	struct spec specs[6] = {{0}, {"4", "nar/../../outside", 1000, 0},
				{"", NULL, 1000, 0}, {"", "evil/victim", 1000, 0},
				{"", NULL, 1000, 0}, {"", NULL, 1000, 0}};
	struct world w;
	struct evict_plan plan;
	struct evict_apply_result r;
	struct events ev;

	snprintf(outside, sizeof(outside), "%s/outside", root);
	write_file(outside, "sentinel\n");
	snprintf(outdir, sizeof(outdir), "%s/outdir", root);
	mkdir(outdir, 0755);
	snprintf(p, sizeof(p), "%s/victim", outdir);
	write_file(p, "victim\n");
	snprintf(abs_url, sizeof(abs_url), "%s/victim", outdir);
	specs[2].url = abs_url;
	/* the URL resolves to root/outside from root/cacheN/nar */
	if (world_make(&w, specs, 6)) {
		CHECK(0);
		return;
	}
	snprintf(p, sizeof(p), "%s/evil", w.dir);
	CHECK(symlink(outdir, p) == 0);
	CHECK(make_plan(&w, 0, &plan) > 0);
	CHECK_INT(plan.n, 5);
	CHECK_INT(apply(&w, plan.id, 1, &r, &ev), 0);
	CHECK(!r.complete);
	CHECK_INT(r.refused, 3);
	CHECK_INT(r.held, 1);
	CHECK_INT(ev.n[EVICT_REFUSED], 3);
	CHECK(exists(root, "outside"));
	CHECK(exists(root, "outdir/victim"));
	CHECK(narinfo_exists(&w, 1) && narinfo_exists(&w, 2) && narinfo_exists(&w, 3));
	CHECK(narinfo_exists(&w, 4));
	CHECK(!narinfo_exists(&w, 5));
	evict_apply_result_release(&r);
	/* a second run refuses the same and touches nothing more */
	CHECK_INT(apply(&w, plan.id, 1, &r, &ev), 0);
	CHECK_INT(r.refused, 3);
	CHECK_INT(r.deleted, 0);
	CHECK(exists(root, "outside"));
	evict_apply_result_release(&r);
	evict_plan_release(&plan);
	world_close(&w);
}

TEST(apply_holds_paths_pushed_later)
{
	/* The plan evicts 1 <- 2 <- 3; then 4, referencing 2, is pushed:
	 * 2 and 1 must stay, 3 may go. */
	struct spec specs[5] = {{0}, {"", NULL, 1000, 0}, {"1", NULL, 1000, 0},
				{"2", NULL, 1000, 0}, {"2", NULL, 1000, 0}};
	struct spec first[4];
	struct world w;
	struct evict_plan plan;
	struct evict_apply_result r;

	memcpy(first, specs, sizeof(first));
	if (world_make(&w, first, 4)) {
		CHECK(0);
		return;
	}
	CHECK(make_plan(&w, 0, &plan) > 0);
	CHECK_INT(plan.n, 3);
	write_narinfo(w.dir, specs, 4, 0);
	CHECK_INT(apply(&w, plan.id, 1, &r, NULL), 0);
	CHECK_INT(r.held, 2);
	CHECK(!r.complete);
	CHECK(narinfo_exists(&w, 1) && narinfo_exists(&w, 2) && narinfo_exists(&w, 4));
	CHECK(!narinfo_exists(&w, 3));
	evict_apply_result_release(&r);
	evict_plan_release(&plan);
	world_close(&w);
}

static int64_t count_intents(struct world *w, int64_t plan_id)
{
	static const char sql[] =
		"SELECT count(*) FROM evict_journal WHERE plan_id = ?1 AND state = 'intent'";
	sqlite3_stmt *st = db_stmt(&w->db, sql);
	int64_t n;

	db_bind_int(st, 1, plan_id);
	db_step(&w->db, st);
	n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

/* A cache for the resume tests: a chain, a diamond, shared NARs, .ls
 * files, paths kept by an evaluation. */
static unsigned resume_specs(struct spec *specs, char refs[][200])
{
	unsigned n = 40;

	memset(specs, 0, sizeof(*specs) * n);
	for (unsigned i = 1; i < n; i++) {
		refs[i][0] = '\0';
		if (i > 1)
			snprintf(refs[i], 200, "%u %u", i - 1, i / 2);
		specs[i].refs = i > 1 ? refs[i] : "";
		specs[i].size = 1000;
		specs[i].no_file_size = i == 33;
		if (i % 5 == 0 && i >= 25)   /* planned, all of them */
			specs[i].url = "nar/shared5.nar.xz";
		if (i == 10 || i == 31)      /* one kept, one planned */
			specs[i].url = "nar/shared10.nar.xz";
	}
	return n;
}

static void add_ls(struct world *w, unsigned n)
{
	char p[400], h[33];

	for (unsigned i = 1; i < n; i += 3) {
		hash_of(i, h);
		snprintf(p, sizeof(p), "%s/%s.ls", w->dir, h);
		write_file(p, "{}\n");
	}
}

TEST(apply_resume_after_crash_states)
{
	/* Each half-done state a kill can leave, made by hand: the run
	 * after it ends exactly where a clean run does. */
	struct spec specs[MAXP];
	char refs[MAXP][200];
	unsigned n = resume_specs(specs, refs);
	struct world clean, w;
	struct evict_plan plan;
	struct evict_apply_result r;
	char *want, *got;

	if (world_make(&clean, specs, n)) {
		CHECK(0);
		return;
	}
	add_ls(&clean, n);
	add_eval(&clean, "master", 100, "20");
	CHECK(make_plan(&clean, 20000, &plan) > 0);
	CHECK(plan.n > 5);
	CHECK_INT(apply(&clean, plan.id, 1, &r, NULL), 0);
	CHECK(r.complete);
	evict_apply_result_release(&r);
	evict_plan_release(&plan);
	want = listing(clean.dir);
	world_close(&clean);

	/* 0: narinfo intent, file there; 1: narinfo intent, file unlinked;
	 * 2: narinfo done; 3: and NAR intent, file there; 4: NAR intent,
	 * file unlinked; 5: NAR unlinked, nothing journaled. */
	for (int state = 0; state < 6; state++) {
		char p[400];
		if (world_make(&w, specs, n)) {
			CHECK(0);
			return;
		}
		add_ls(&w, n);
		add_eval(&w, "master", 100, "20");
		CHECK(make_plan(&w, 20000, &plan) > 0);
		/* Make the half-done state for the plan's first path. */
		{
			const struct evict_path *ep = &plan.paths[0];
			char name[64];
			static const char sql_run[] =
				"INSERT INTO evict_runs (plan_id, dir, started_at, status)"
				" VALUES (?1, 'x', 0, 'running')";
			static const char sql_j[] =
				"INSERT INTO evict_journal (plan_id, object, kind, path_id, url, state,"
				" run_id, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, 0)";
			sqlite3_stmt *st = db_stmt(&w.db, sql_run);
			db_bind_int(st, 1, plan.id);
			db_run(&w.db, st);
			snprintf(name, sizeof(name), "%.32s.narinfo", ep->base);
			st = db_stmt(&w.db, sql_j);
			db_bind_int(st, 1, plan.id);
			db_bind_text(st, 2, name);
			db_bind_text(st, 3, "narinfo");
			db_bind_int(st, 4, ep->path_id);
			db_bind_text(st, 5, ep->url);
			db_bind_text(st, 6, state <= 1 ? "intent" : "done");
			db_run(&w.db, st);
			snprintf(p, sizeof(p), "%s/%s", w.dir, name);
			if (state >= 1)
				unlink(p);
			if (state == 3 || state == 4) {
				st = db_stmt(&w.db, sql_j);
				db_bind_int(st, 1, plan.id);
				db_bind_text(st, 2, ep->url);
				db_bind_text(st, 3, "nar");
				db_bind_int(st, 4, ep->path_id);
				db_bind_text(st, 5, NULL);
				db_bind_text(st, 6, "intent");
				db_run(&w.db, st);
			}
			if (state >= 4) {
				snprintf(p, sizeof(p), "%s/%s", w.dir, ep->url);
				CHECK(unlink(p) == 0);
			}
		}
		CHECK_INT(apply(&w, plan.id, 1, &r, NULL), 0);
		CHECK(r.complete);
		CHECK_INT(count_intents(&w, plan.id), 0);
		got = listing(w.dir);
		if (strcmp(got, want)) {
			fprintf(stderr, "state %d: listing differs from a clean run\n--- got\n%s--- want\n%s",
				state, got, want);
			CHECK(0);
		}
		free(got);
		evict_apply_result_release(&r);
		evict_plan_release(&plan);
		world_close(&w);
	}
	free(want);
}

TEST(apply_resume_after_sigkill)
{
	/* A child applies the plan slowly and is killed with SIGKILL at a
	 * random point once it has started deleting; the parent runs the
	 * plan again.  The result must equal a clean run's, every time. */
	struct spec specs[MAXP];
	char refs[MAXP][200];
	unsigned n = resume_specs(specs, refs);
	struct world clean, w;
	struct evict_plan plan;
	struct evict_apply_result r;
	char *want, *before;
	unsigned rnd = (unsigned)getpid(), midway = 0;

	if (world_make(&clean, specs, n)) {
		CHECK(0);
		return;
	}
	add_ls(&clean, n);
	add_eval(&clean, "master", 100, "20");
	CHECK(make_plan(&clean, 20000, &plan) > 0);
	CHECK_INT(apply(&clean, plan.id, 1, &r, NULL), 0);
	evict_apply_result_release(&r);
	evict_plan_release(&plan);
	want = listing(clean.dir);
	world_close(&clean);

	for (int trial = 0; trial < 6; trial++) {
		int64_t plan_id;
		pid_t pid;
		int status;
		if (world_make(&w, specs, n)) {
			CHECK(0);
			return;
		}
		add_ls(&w, n);
		add_eval(&w, "master", 100, "20");
		plan_id = make_plan(&w, 20000, &plan);
		CHECK(plan_id > 0);
		evict_plan_release(&plan);
		before = listing(w.dir);
		world_close(&w);
		fflush(NULL);
		pid = fork();
		if (pid == 0) {
			struct evict_apply_opts o;
			struct db db;
			memset(&o, 0, sizeof(o));
			o.plan_id = plan_id;
			o.apply = 1;
			o.step_delay_ms = 3;
			if (db_open(&db, w.dbpath, 0))
				_exit(3);
			evict_apply(&db, &o, &r);
			_exit(0);
		}
		/* wait for the first deletion, then a random while more */
		int reaped = 0;
		for (int k = 0; k < 20000 && !reaped; k++) {
			char *now = listing(w.dir);
			int changed = strcmp(now, before) != 0;
			free(now);
			if (changed)
				break;
			reaped = waitpid(pid, &status, WNOHANG) == pid;
			usleep(500);
		}
		rnd = rnd * 1103515245u + 12345u;
		if (!reaped) {
			usleep((rnd >> 16) % 150000);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
		}
		if (WIFSIGNALED(status)) {
			char *now = listing(w.dir);
			midway += strcmp(now, want) != 0 && strcmp(now, before) != 0;
			free(now);
		}
		free(before);
		if (db_open(&w.db, w.dbpath, 0)) {
			CHECK(0);
			return;
		}
		w.open = 1;
		CHECK_INT(apply(&w, plan_id, 1, &r, NULL), 0);
		CHECK(r.complete);
		CHECK_INT(count_intents(&w, plan_id), 0);
		{
			char *got = listing(w.dir);
			if (strcmp(got, want)) {
				fprintf(stderr, "trial %d: listing differs from a clean run\n--- got\n%s"
					"--- want\n%s", trial, got, want);
				CHECK(0);
			}
			free(got);
		}
		evict_apply_result_release(&r);
		world_close(&w);
	}
	/* the kills must have hit half-way at least once */
	if (!midway)
		fprintf(stderr, "no kill landed half-way through a run\n");
	CHECK(midway > 0);
	free(want);
}

TEST(apply_missing_plan_and_not_a_cache)
{
	struct spec specs[2] = {{0}, {"", NULL, 1000, 0}};
	struct world w;
	struct evict_apply_result r;
	struct evict_apply_opts o;

	if (world_make(&w, specs, 2)) {
		CHECK(0);
		return;
	}
	CHECK_INT(apply(&w, 42, 1, &r, NULL), 1);
	evict_apply_result_release(&r);
	/* a directory that is not a cache is refused with --dir */
	{
		struct evict_plan plan;
		char p[300];
		CHECK(make_plan(&w, 0, &plan) > 0);
		snprintf(p, sizeof(p), "%s/empty", root);
		mkdir(p, 0755);
		memset(&o, 0, sizeof(o));
		o.plan_id = plan.id;
		o.dir = p;
		o.apply = 1;
		CHECK_INT(evict_apply(&w.db, &o, &r), -1);
		evict_apply_result_release(&r);
		CHECK(narinfo_exists(&w, 1));
		evict_plan_release(&plan);
	}
	world_close(&w);
}

struct keys_seen {
	struct strbuf deleted;
	unsigned deferred, shared, refused;
};

static void on_key(void *ctx, const struct evict_event *ev)
{
	struct keys_seen *k = ctx;

	if (ev->action == EVICT_DELETE)
		strbuf_addf(&k->deleted, "%s\n", ev->object);
	k->deferred += ev->action == EVICT_DEFERRED;
	k->shared += ev->action == EVICT_KEEP_SHARED;
	k->refused += ev->action == EVICT_REFUSED;
}

TEST(keys_for_http)
{
	/* 1 and 2 share a NAR and both go; 3 goes but shares its NAR with
	 * 4, which stays; 5 names a NAR outside. */
	struct spec specs[6] = {{0}, {"", "nar/s12.nar", 1000, 0}, {"", "nar/s12.nar", 1000, 0},
				{"", "nar/s34.nar", 1000, 0}, {"", "nar/s34.nar", 1000, 0},
				{"", "../x", 1000, 0}};
	struct world w;
	struct evict_plan plan, loaded;
	struct keys_seen k = {STRBUF_INIT, 0, 0, 0};
	char h[33], want[400];

	if (world_make(&w, specs, 6)) {
		CHECK(0);
		return;
	}
	add_eval(&w, "master", 100, "4");
	CHECK(make_plan(&w, 1000, &plan) > 0);
	CHECK_INT(plan.n, 4);
	CHECK_INT(evict_plan_load(&w.db, plan.id, &loaded), 0);
	CHECK_INT(evict_keys(&w.db, &loaded, on_key, &k), 0);
	CHECK_INT(k.deferred, 1);
	CHECK_INT(k.shared, 1);
	CHECK_INT(k.refused, 1);
	CHECK(strstr(k.deleted.buf, "nar/s12.nar\n") != NULL);
	CHECK(strstr(k.deleted.buf, "nar/s34.nar") == NULL);
	CHECK(strstr(k.deleted.buf, "../x") == NULL);
	hash_of(3, h);
	snprintf(want, sizeof(want), "%s.narinfo\n%s.ls\n", h, h);
	CHECK(strstr(k.deleted.buf, want) != NULL);
	strbuf_release(&k.deleted);
	evict_plan_release(&plan);
	evict_plan_release(&loaded);
	world_close(&w);
}

int main(void)
{
	char cmd[400];

	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	progress_disabled = 1;
	RUN(url_checks);
	RUN(narinfo_scan);
	RUN(plan_closure_safe_random);
	RUN(plan_reasons_and_breaks);
	RUN(plan_gc_policies);
	RUN(plan_cycle_cannot_reach_limit);
	RUN(apply_shared_nar);
	RUN(apply_shared_nar_other_name);
	RUN(apply_refuses_escapes);
	RUN(apply_holds_paths_pushed_later);
	RUN(apply_resume_after_crash_states);
	RUN(apply_resume_after_sigkill);
	RUN(apply_missing_plan_and_not_a_cache);
	RUN(keys_for_http);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", root);
	return test_summary();
}
