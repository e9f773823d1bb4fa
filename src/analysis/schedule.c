/*
 * schedule.c - rebuild intervals per group (see schedule.h): the
 * measurement of each group from the recorded evaluations, the synthetic
 * future written to a scratch SQLite DB and replayed by gc_simulate(),
 * the monotone search over one level, the limit bisection for the
 * shortfall, and the check of the model against a recorded history.
 */
#include "analysis/schedule.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/graph.h"
#include "store/db.h"
#include "store/stmt.h"
#include "lib/hash.h"
#include "lib/u64map.h"
#include "lib/util.h"

const double sched_ladder_days[SCHED_NRUNGS] = {0, 14, 7, 3, 2, 1, 0.5, 0.25};

#define DAY 86400
#define SIM_STEP (6 * 3600)
#define INIT_WINDOW (28 * DAY)   /* recorded evaluations the replay starts with */
#define SLOTS 4                  /* job outputs per synthetic evaluation */
#define NEVER_GAP (7.0 * DAY)    /* the gap assumed before a group's first
                                    recorded evaluation */

/* ---- statements: the recorded DB and the scratch one -------------------- */

enum {
	Q_GONE,
	Q_PUSHED,
	Q_EPISODES,
	Q_CRAWLS,
	/* scratch */
	S_DEL_JOBS,
	S_DEL_EVALS,
	S_DEL_PRESENCE,
	S_DEL_NARINFOS,
	S_DEL_PATHS,
	S_CACHE,
	S_CRAWL,
	S_PATH,
	S_NARINFO,
	S_PRESENCE,
	S_EVAL,
	S_JOB,
	Q_N
};
static const char *const sql[Q_N] = {
	[Q_GONE] =
		"SELECT path_id, coalesce(push_time, first_seen), first_seen, gone_at FROM presence"
		" WHERE cache_id = ?1 AND gone_at IS NOT NULL AND gone_at <= ?2 ORDER BY id",
	[Q_PUSHED] =
		"SELECT coalesce(sum(coalesce(n.file_size, n.nar_size)), 0) FROM presence p"
		" JOIN narinfos n ON n.cache_id = p.cache_id AND n.path_id = p.path_id"
		" WHERE p.cache_id = ?1 AND coalesce(p.push_time, p.first_seen) > ?2"
		" AND coalesce(p.push_time, p.first_seen) <= ?3",
	[Q_EPISODES] =
		"SELECT path_id, first_seen, gone_at FROM presence WHERE cache_id = ?1",
	[Q_CRAWLS] =
		"SELECT DISTINCT started_at FROM crawls WHERE cache_id = ?1 AND status = 'complete'"
		" AND started_at <= ?2 ORDER BY started_at",
	[S_DEL_JOBS] = "DELETE FROM eval_jobs",
	[S_DEL_EVALS] = "DELETE FROM evaluations",
	[S_DEL_PRESENCE] = "DELETE FROM presence",
	[S_DEL_NARINFOS] = "DELETE FROM narinfos",
	[S_DEL_PATHS] = "DELETE FROM paths",
	[S_CACHE] = "INSERT INTO caches (id, url, added_at) VALUES (1, 'schedule:scratch', ?1)",
	[S_CRAWL] = "INSERT INTO crawls (id, cache_id, started_at, finished_at, status)"
		    " VALUES (1, 1, ?1, ?1, 'complete')",
	[S_PATH] = "INSERT INTO paths (id, hash, name) VALUES (?1, ?2, ?3)",
	[S_NARINFO] =
		"INSERT INTO narinfos (cache_id, path_id, url, compression, file_size, nar_hash,"
		" nar_size, refs, sigs, crawl_id, fetched_at)"
		" VALUES (1, ?1, 'nar/synthetic.nar', 'none', ?2, 'sha256:synthetic', ?2, ?3, '[]', 1, ?4)",
	[S_PRESENCE] =
		"INSERT INTO presence (cache_id, path_id, push_time, first_seen, last_seen, last_crawl_id)"
		" VALUES (1, ?1, ?2, ?2, ?2, 1)",
	[S_EVAL] =
		"INSERT INTO evaluations (id, branch, rev, capabilities, system, time, source, imported_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'schedule', ?6)",
	[S_JOB] =
		"INSERT INTO eval_jobs (evaluation_id, attr, output, path_id, line)"
		" VALUES (?1, ?2, 'out', ?3, 0)",
};
static struct stmt_table stmts = STMT_TABLE("schedule", sql);

/* ---- the model ---------------------------------------------------------- */

struct mgroup {
	uint64_t closure, shared, churn;
	double interval;         /* measured seconds between evaluations, 0 */
	double rate;             /* churn growth per second; < 0: every
	                            evaluation is the whole closure */
	uint32_t *sigs;          /* shared parts it holds (into model.sig) */
	size_t nsigs, asigs;
	int64_t *times;          /* its recorded evaluation times, ascending */
	size_t ntimes, atimes;
	uint32_t wgroup;         /* index into the world's groups */
	int top;                 /* of the heaviest weight: must keep the target */
};

struct model {
	struct mgroup *g;
	size_t ng;
	uint64_t *sig;           /* bytes of each shared part */
	size_t nsig, asig;
};

static void model_release(struct model *m)
{
	for (size_t i = 0; i < m->ng; i++) {
		free(m->g[i].sigs);
		free(m->g[i].times);
	}
	free(m->g);
	free(m->sig);
	memset(m, 0, sizeof(*m));
}

/* Bytes a new evaluation pushes after a gap of secs. */
static uint64_t churn_at(const struct mgroup *g, double secs)
{
	double c;

	if (secs <= 0)
		return 0;
	if (g->rate < 0)
		return g->closure;
	c = (double)g->closure * -expm1(-g->rate * secs);
	return c < 0 ? 0 : (uint64_t)c;
}

static void fit_rate(struct mgroup *g)
{
	double frac;

	if (g->ntimes < 2 || g->interval <= 0 || !g->closure) {
		g->rate = -1;
		return;
	}
	frac = (double)g->churn / (double)g->closure;
	if (frac >= 0.999)
		g->rate = -1;
	else if (frac <= 0)
		g->rate = 0;
	else
		g->rate = -log1p(-frac) / g->interval;
}

static double push_per_week(const struct mgroup *g, double days)
{
	if (days <= 0)
		return 0;
	return (double)churn_at(g, days * DAY) * 7.0 / days;
}

/* ---- measuring the recorded history ------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The roots of evaluation e's jobs into *roots (reset). */
static void eval_roots(const struct gc_world *w, size_t e, uint32_t **roots, size_t *n,
		       size_t *alloc)
{
	const struct gc_eval *ev = &w->evals[e];

	*n = 0;
	for (uint32_t j = ev->job0; j < ev->job0 + ev->njobs; j++) {
		GROW(*roots, *alloc, *n + 1);
		(*roots)[(*n)++] = gc_job_path(w, j);
	}
}

/*
 * Measure every group with an evaluation at or before until into
 * out/nout (sched_group, measured fields) and m (parallel to out).
 * Reads the presence table for survival.  0 or -1 (reported).
 */
static int measure(struct gc_world *w, struct db *db, int64_t until, struct sched_group **out,
		   size_t *nout, struct model *m)
{
	size_t n = w->n ? w->n : 1, nroots = 0, aroots = 0, nvis = 0, ag = 0;
	uint8_t *held = xcalloc(n, 1);
	uint32_t *stack = xmalloc(n * sizeof(*stack)), *roots = NULL, *stamp = NULL;
	uint32_t *map = xmalloc((w->ngroups ? w->ngroups : 1) * sizeof(*map));
	size_t *newest = NULL;
	uint64_t *churn_sum = NULL;
	unsigned *churn_n = NULL;
	int64_t *gone_at = NULL, *gone_push = NULL;
	uint64_t *sighash = NULL;
	uint32_t *cnt = NULL;
	uint32_t **cls = NULL;
	size_t *ncls = NULL;
	struct closure c = {0};
	struct u64map sm = U64MAP_INIT;  /* group-set hash | 1 -> shared part */
	sqlite3_stmt *st;
	uint64_t fresh_after_first = 0;
	double scale = 1;
	int rc, ret = -1;

	*out = NULL;
	*nout = 0;
	memset(m, 0, sizeof(*m));
	for (size_t gi = 0; gi < w->ngroups; gi++)
		map[gi] = UINT32_MAX;
	while (nvis < w->nevals && w->evals[nvis].time <= until)
		nvis++;
	for (size_t e = 0; e < nvis; e++) {
		uint32_t gi = w->evals[e].group;
		if (map[gi] == UINT32_MAX) {
			struct sched_group *sg;
			GROW(*out, ag, *nout + 1);
			sg = &(*out)[*nout];
			memset(sg, 0, sizeof(*sg));
			sg->branch = xstrdup(w->groups[gi].branch);
			sg->capabilities = xstrdup(w->groups[gi].capabilities);
			sg->system = xstrdup(w->groups[gi].system);
			sg->weight = w->groups[gi].weight;
			map[gi] = (uint32_t)(*nout)++;
		}
	}
	m->ng = *nout;
	m->g = xcalloc(m->ng ? m->ng : 1, sizeof(*m->g));
	newest = xcalloc(m->ng ? m->ng : 1, sizeof(*newest));
	churn_sum = xcalloc(m->ng ? m->ng : 1, sizeof(*churn_sum));
	churn_n = xcalloc(m->ng ? m->ng : 1, sizeof(*churn_n));
	cls = xcalloc(m->ng ? m->ng : 1, sizeof(*cls));
	ncls = xcalloc(m->ng ? m->ng : 1, sizeof(*ncls));

	/* Times, newest evaluation, churn: every evaluation in time order;
	 * held = the union of the closures of the evaluations before. */
	for (size_t e = 0; e < nvis; e++) {
		uint32_t k = map[w->evals[e].group];
		struct mgroup *g = &m->g[k];
		uint64_t fresh = 0;
		size_t sp = 0;
		GROW(g->times, g->atimes, g->ntimes + 1);
		g->times[g->ntimes++] = w->evals[e].time;
		newest[k] = e;
		g->wgroup = w->evals[e].group;
		eval_roots(w, e, &roots, &nroots, &aroots);
		for (size_t i = 0; i < nroots; i++)
			if (roots[i] < w->n && !held[roots[i]]) {
				held[roots[i]] = 1;
				stack[sp++] = roots[i];
			}
		while (sp) {
			uint32_t v = stack[--sp];
			fresh += (uint64_t)gc_size(w, v);
			for (uint32_t x = w->g.off[v]; x < w->g.off[v + 1]; x++) {
				uint32_t y = w->g.adj[x];
				if (!held[y]) {
					held[y] = 1;
					stack[sp++] = y;
				}
			}
		}
		if (g->ntimes > 1) {
			churn_sum[k] += fresh;
			churn_n[k]++;
		}
		if (e > 0)
			fresh_after_first += fresh;
	}
	/* Each phase frees its per-id arrays before the next allocates. */
	free(held);
	held = NULL;
	free(stack);
	stack = NULL;

	/*
	 * What the cache really received over the same span: paths a first
	 * look counts once are pushed again after an eviction.  When the
	 * recorded pushes exceed the first-time bytes, every group's churn
	 * grows in proportion (pushes evicted before any crawl saw them are
	 * still missed).
	 */
	if (nvis > 1 && fresh_after_first) {
		int64_t pushed = 0;
		if (stmt_row(db, &stmts, Q_PUSHED, &st, SQL_ARGS(w->cache_id, w->evals[0].time,
								 until)) == 1) {
			pushed = sqlite3_column_int64(st, 0);
			stmt_done(st);
		}
		if (pushed > 0 && (uint64_t)pushed > fresh_after_first)
			scale = (double)pushed / (double)fresh_after_first;
	}

	/* The newest closures, and what they share: each path's set of
	 * groups hashed, bytes summed per set. */
	sighash = xcalloc(n, sizeof(*sighash));
	cnt = xcalloc(n, sizeof(*cnt));
	for (size_t k = 0; k < m->ng; k++) {
		struct mgroup *g = &m->g[k];
		struct sched_group *sg = &(*out)[k];
		eval_roots(w, newest[k], &roots, &nroots, &aroots);
		graph_closure(&w->g, roots, nroots, &c);
		cls[k] = xmalloc((c.n ? c.n : 1) * sizeof(**cls));
		memcpy(cls[k], c.ids, c.n * sizeof(**cls));
		ncls[k] = c.n;
		qsort(cls[k], c.n, sizeof(**cls), cmp_u32);
		g->closure = c.stored_bytes;
		for (size_t i = 0; i < c.n; i++) {
			sighash[c.ids[i]] = hash_mix64(sighash[c.ids[i]] ^ (0x9e3779b97f4a7c15ull * (k + 1)));
			cnt[c.ids[i]]++;
		}
		sg->nevals = (unsigned)g->ntimes;
		if (g->ntimes >= 2) {
			double span = (double)(g->times[g->ntimes - 1] - g->times[0]);
			g->interval = span / (double)(g->ntimes - 1);
			sg->evals_per_week = span > 0 ? (double)(g->ntimes - 1) * 7 * DAY / span : 0;
		}
		g->churn = churn_n[k] ? (uint64_t)((double)(churn_sum[k] / churn_n[k]) * scale) : g->closure;
		if (g->churn > g->closure)
			g->churn = g->closure;
		sg->closure_bytes = g->closure;
		sg->churn_bytes = g->churn;
	}
	{
		uint32_t *rep = NULL;
		size_t arep = 0;
		for (size_t k = 0; k < m->ng; k++)
			for (size_t i = 0; i < ncls[k]; i++) {
				uint32_t v = cls[k][i], *ix;
				if (cnt[v] < 2)
					continue;
				ix = u64map_get(&sm, sighash[v] | 1);
				if (*ix == UINT32_MAX) {
					*ix = (uint32_t)m->nsig;
					GROW(m->sig, m->asig, m->nsig + 1);
					GROW(rep, arep, m->nsig + 1);
					m->sig[m->nsig] = 0;
					rep[m->nsig++] = v;
				}
				/* each path counted once: by its first group */
				if (cnt[v] != UINT32_MAX) {
					m->sig[*ix] += (uint64_t)gc_size(w, v);
					cnt[v] = UINT32_MAX;
				}
			}
		for (size_t s = 0; s < m->nsig; s++)
			for (size_t k = 0; k < m->ng; k++)
				if (bsearch(&rep[s], cls[k], ncls[k], sizeof(**cls), cmp_u32)) {
					struct mgroup *g = &m->g[k];
					GROW(g->sigs, g->asigs, g->nsigs + 1);
					g->sigs[g->nsigs++] = (uint32_t)s;
					g->shared += m->sig[s];
				}
		free(rep);
	}
	for (size_t k = 0; k < m->ng; k++) {
		(*out)[k].shared_bytes = m->g[k].shared;
		fit_rate(&m->g[k]);
		free(cls[k]);
		cls[k] = NULL;
	}
	free(sighash);
	sighash = NULL;
	free(cnt);
	cnt = NULL;
	closure_release(&c);

	/* Survival of the outputs: pushed to the crawl that found them gone. */
	gone_at = xcalloc(n, sizeof(*gone_at));
	gone_push = xcalloc(n, sizeof(*gone_push));
	if (!(st = stmt_query(db, &stmts, Q_GONE, SQL_ARGS(w->cache_id, until))))
		goto out;
	while ((rc = db_step(db, st)) == 1) {
		int64_t id = sqlite3_column_int64(st, 0), p = sqlite3_column_int64(st, 1);
		int64_t seen = sqlite3_column_int64(st, 2), g = sqlite3_column_int64(st, 3);
		if (id <= 0 || id >= w->n)
			continue;
		if (p <= 0 || p > seen)
			p = seen;
		gone_at[id] = g;
		gone_push[id] = p;
	}
	if (rc < 0)
		goto out;
	stamp = xcalloc(n, sizeof(*stamp));
	/* group by group, so an output two groups share counts for each once */
	for (size_t k = 0; k < *nout; k++) {
		struct sched_group *sg = &(*out)[k];
		for (size_t e = 0; e < nvis; e++) {
			const struct gc_eval *ev = &w->evals[e];
			if (map[ev->group] != k)
				continue;
			for (uint32_t j = ev->job0; j < ev->job0 + ev->njobs; j++) {
				uint32_t p = gc_job_path(w, j);
				if (stamp[p] == k + 1)
					continue;
				stamp[p] = (uint32_t)k + 1;
				sg->outputs++;
				if (gone_at[p] > gone_push[p]) {
					sg->gone_outputs++;
					sg->survival_days += (double)(gone_at[p] - gone_push[p]) / DAY;
				}
			}
		}
		if (sg->gone_outputs)
			sg->survival_days /= sg->gone_outputs;
		else
			sg->survival_days = -1;
	}
	ret = 0;
out:
	for (size_t k = 0; k < m->ng; k++)
		free(cls[k]);
	free(cls);
	free(ncls);
	free(held);
	free(stack);
	free(roots);
	free(stamp);
	free(map);
	free(newest);
	free(churn_sum);
	free(churn_n);
	free(gone_at);
	free(gone_push);
	free(sighash);
	free(cnt);
	u64map_release(&sm);
	closure_release(&c);
	return ret;
}

/* ---- the synthetic future ------------------------------------------------ */

/* Evaluation times of one group in a replay: ninit before `from` (the
 * cache starts with them), the rest after it. */
struct gplan {
	int64_t *t;
	size_t n, alloc, ninit;
	double gap;              /* the typical gap between its future
	                            evaluations (seconds; 0 = none) */
};

struct sev {                 /* one synthetic evaluation */
	int64_t t;
	uint32_t p0, n;          /* its outputs: path ids p0 .. p0 + n */
};

struct scratch {
	struct db db;
	char *path;
	int open;
	/* the last world written */
	struct sev **ev;         /* per group */
	size_t *nev, *aev;
	uint32_t *stable;        /* per group: its stable part's path, 0 */
	uint32_t **gsig;         /* per group: the shared parts' paths */
	size_t *ngsig;
	uint64_t total_bytes;
	size_t ng;
};

static int scratch_open(struct scratch *s, size_t ng, int64_t now)
{
	const char *dir = getenv("TMPDIR");
	struct strbuf sb = STRBUF_INIT;
	int fd;

	memset(s, 0, sizeof(*s));
	strbuf_addf(&sb, "%s/cachegc-schedule-XXXXXX", dir && *dir ? dir : "/tmp");
	if ((fd = mkstemp(sb.buf)) < 0) {
		error("unable to create a scratch database '%s': %s (set TMPDIR to a writable "
		      "directory)", sb.buf, strerror(errno));
		strbuf_release(&sb);
		return -1;
	}
	close(fd);
	s->path = strbuf_detach(&sb);
	if (db_open(&s->db, s->path, DB_OPEN_WRITE)) {
		unlink(s->path);
		return -1;
	}
	s->open = 1;
	s->ng = ng;
	s->ev = xcalloc(ng ? ng : 1, sizeof(*s->ev));
	s->nev = xcalloc(ng ? ng : 1, sizeof(*s->nev));
	s->aev = xcalloc(ng ? ng : 1, sizeof(*s->aev));
	s->stable = xcalloc(ng ? ng : 1, sizeof(*s->stable));
	s->gsig = xcalloc(ng ? ng : 1, sizeof(*s->gsig));
	s->ngsig = xcalloc(ng ? ng : 1, sizeof(*s->ngsig));
	if (db_exec(&s->db, "PRAGMA synchronous = OFF") || db_begin(&s->db) ||
	    stmt_exec(&s->db, &stmts, S_CACHE, SQL_ARGS(now)) ||
	    stmt_exec(&s->db, &stmts, S_CRAWL, SQL_ARGS(now)) || db_commit(&s->db))
		return -1;
	return 0;
}

static void scratch_close(struct scratch *s)
{
	if (s->open) {
		struct strbuf sb = STRBUF_INIT;
		db_close(&s->db);
		unlink(s->path);
		strbuf_addf(&sb, "%s-wal", s->path);
		unlink(sb.buf);
		strbuf_reset(&sb);
		strbuf_addf(&sb, "%s-shm", s->path);
		unlink(sb.buf);
		strbuf_release(&sb);
	}
	for (size_t g = 0; s->ev && g < s->ng; g++) {
		free(s->ev[g]);
		free(s->gsig[g]);
	}
	free(s->ev);
	free(s->nev);
	free(s->aev);
	free(s->stable);
	free(s->gsig);
	free(s->ngsig);
	free(s->path);
	memset(s, 0, sizeof(*s));
}

static int add_path(struct scratch *s, uint32_t id, uint64_t bytes, int64_t t,
		    const uint32_t *refs, size_t nrefs, struct strbuf *sb)
{
	char hash[40];

	snprintf(hash, sizeof(hash), "%032u", (unsigned)id);
	if (!bytes)
		bytes = 1;
	s->total_bytes += bytes;
	strbuf_reset(sb);
	strbuf_addch(sb, '[');
	for (size_t i = 0; i < nrefs; i++)
		strbuf_addf(sb, "%s%u", i ? "," : "", (unsigned)refs[i]);
	strbuf_addch(sb, ']');
	if (stmt_exec(&s->db, &stmts, S_PATH, SQL_ARGS(id, hash, "synthetic")) ||
	    stmt_exec(&s->db, &stmts, S_NARINFO, SQL_ARGS(id, (int64_t)bytes, sb->buf, t)) ||
	    stmt_exec(&s->db, &stmts, S_PRESENCE, SQL_ARGS(id, t)))
		return -1;
	return 0;
}

/* Write the world of plans p (one per model group) into the scratch DB. */
static int scratch_write(struct scratch *s, const struct model *m, const struct sched_group *sg,
			 const struct gplan *p, int64_t from)
{
	struct strbuf sb = STRBUF_INIT;
	uint32_t id = 0, *refs = NULL;
	size_t arefs = 0;
	int64_t eid = 0, base_t = INT64_MAX;
	int ret = -1;

	s->total_bytes = 0;
	for (size_t g = 0; g < m->ng; g++)
		if (p[g].n && p[g].t[0] < base_t)
			base_t = p[g].t[0];
	if (base_t == INT64_MAX)
		base_t = from;
	base_t -= DAY;
	if (db_begin(&s->db) || stmt_exec(&s->db, &stmts, S_DEL_JOBS, SQL_NOARGS) ||
	    stmt_exec(&s->db, &stmts, S_DEL_EVALS, SQL_NOARGS) ||
	    stmt_exec(&s->db, &stmts, S_DEL_PRESENCE, SQL_NOARGS) ||
	    stmt_exec(&s->db, &stmts, S_DEL_NARINFOS, SQL_NOARGS) ||
	    stmt_exec(&s->db, &stmts, S_DEL_PATHS, SQL_NOARGS))
		goto out;
	/* The shared parts, then each group's stable part, pushed before
	 * everything else. */
	for (size_t k = 0; k < m->nsig; k++)
		if (add_path(s, ++id, m->sig[k], base_t, NULL, 0, &sb))
			goto out;
	for (size_t g = 0; g < m->ng; g++) {
		const struct mgroup *mg = &m->g[g];
		double gap = p[g].gap > 0 ? p[g].gap : mg->interval > 0 ? mg->interval : NEVER_GAP;
		uint64_t fresh = churn_at(mg, gap), rest = mg->closure > mg->shared ? mg->closure - mg->shared : 0;
		free(s->gsig[g]);
		s->gsig[g] = xmalloc((mg->nsigs ? mg->nsigs : 1) * sizeof(**s->gsig));
		for (size_t k = 0; k < mg->nsigs; k++)
			s->gsig[g][k] = mg->sigs[k] + 1;
		s->ngsig[g] = mg->nsigs;
		s->stable[g] = 0;
		if (rest > fresh) {
			s->stable[g] = ++id;
			if (add_path(s, id, rest - fresh, base_t, NULL, 0, &sb))
				goto out;
		}
	}
	/* The evaluations, each SLOTS outputs of fresh paths. */
	for (size_t g = 0; g < m->ng; g++) {
		const struct mgroup *mg = &m->g[g];
		int64_t prev = 0;
		size_t nr = 0;
		char rev[32];
		s->nev[g] = 0;
		if (s->stable[g]) {
			GROW(refs, arefs, nr + 1);
			refs[nr++] = s->stable[g];
		}
		for (size_t k = 0; k < mg->nsigs; k++) {
			GROW(refs, arefs, nr + 1);
			refs[nr++] = s->gsig[g][k];
		}
		qsort(refs, nr, sizeof(*refs), cmp_u32);
		for (size_t i = 0; i < p[g].n; i++) {
			int64_t t = p[g].t[i];
			double gap = i ? (double)(t - prev) : mg->interval > 0 ? mg->interval : NEVER_GAP;
			uint64_t fresh = churn_at(mg, gap);
			struct sev *ev;
			prev = t;
			GROW(s->ev[g], s->aev[g], s->nev[g] + 1);
			ev = &s->ev[g][s->nev[g]++];
			ev->t = t;
			ev->p0 = id + 1;
			ev->n = SLOTS;
			snprintf(rev, sizeof(rev), "synthetic-%zu", i);
			++eid;
			if (stmt_exec(&s->db, &stmts, S_EVAL, SQL_ARGS(eid, sg[g].branch, rev,
								     sg[g].capabilities, sg[g].system, t)))
				goto out;
			for (unsigned k = 0; k < SLOTS; k++) {
				uint64_t b = fresh / SLOTS + (k == 0 ? fresh % SLOTS : 0);
				char attr[16];
				snprintf(attr, sizeof(attr), "slot%u", k);
				if (add_path(s, ++id, b, t, refs, nr, &sb) ||
				    stmt_exec(&s->db, &stmts, S_JOB, SQL_ARGS(eid, attr, id)))
					goto out;
			}
		}
	}
	if (db_commit(&s->db))
		goto out;
	ret = 0;
out:
	if (ret)
		db_rollback(&s->db);
	free(refs);
	strbuf_release(&sb);
	return ret;
}

/* Per-step shares of each group's newest keep evaluations. */
struct simctx {
	const struct scratch *s;
	unsigned keep;
	size_t *cur;             /* per group: evaluations with t <= step */
	double *sum;             /* per group */
	unsigned steps;
	/* with record: every step's time and shares */
	int record;
	int64_t *times;
	double *shares;          /* steps x ng */
	size_t nsteps, atimes, ashares;
};

static int on_step(void *ctxp, const struct gc_step *st)
{
	struct simctx *x = ctxp;
	const struct scratch *s = x->s;

	if (x->record) {
		GROW(x->times, x->atimes, x->nsteps + 1);
		x->times[x->nsteps] = st->time;
		GROW(x->shares, x->ashares, (x->nsteps + 1) * (s->ng ? s->ng : 1));
	}
	for (size_t g = 0; g < s->ng; g++) {
		size_t c = x->cur[g], lo, whole = 0, jobs = 0;
		/* a lost stable or shared part breaks every job of the group */
		int base = !s->stable[g] || st->stored[s->stable[g]];
		double share;
		for (size_t k = 0; base && k < s->ngsig[g]; k++)
			base = st->stored[s->gsig[g][k]];
		while (c < s->nev[g] && s->ev[g][c].t <= st->time)
			c++;
		x->cur[g] = c;
		lo = c > x->keep ? c - x->keep : 0;
		for (size_t e = lo; e < c; e++)
			for (uint32_t i = 0; i < s->ev[g][e].n; i++) {
				jobs++;
				whole += base && st->stored[s->ev[g][e].p0 + i];
			}
		share = jobs ? (double)whole / (double)jobs : 0;
		if (x->record)
			x->shares[x->nsteps * s->ng + g] = share;
		x->sum[g] += share;
	}
	x->steps++;
	if (x->record)
		x->nsteps++;
	return 0;
}

/*
 * Replay plans p from `from` to `to` under o's policy and limit; the mean
 * share of each group into share[] (model order).  With rec, the
 * per-step shares are kept in *rec (its arrays owned by the caller).
 */
static int replay(struct scratch *s, const struct model *m, const struct sched_group *sg,
		  const struct gplan *p, const struct sched_opts *o, uint64_t limit, int64_t from,
		  int64_t to, double *share, struct simctx *rec, unsigned *nsims)
{
	struct gc_world w;
	struct gc_sim_opts so = {0};
	struct gc_sim_result res = {0};
	struct simctx x = {0};
	int ret = -1;

	if (scratch_write(s, m, sg, p, from))
		return -1;
	if (gc_world_load(&w, &s->db, 1, o->weights, GC_LOAD_HISTORY))
		goto out;
	x.s = s;
	x.keep = o->keep;
	x.cur = xcalloc(m->ng ? m->ng : 1, sizeof(*x.cur));
	x.sum = xcalloc(m->ng ? m->ng : 1, sizeof(*x.sum));
	x.record = rec != NULL;
	so.policy = o->policy;
	so.params.limit = limit;
	so.params.access_model = GC_ACCESS_AUTO;
	so.from = from;
	so.to = to;
	so.step = to - from < SIM_STEP ? to - from : SIM_STEP;
	so.drop_graph = 1;    /* the world is released after */
	if (gc_simulate(&w, &so, on_step, &x, &res))
		goto out;
	for (size_t g = 0; g < m->ng; g++)
		share[g] = x.steps ? x.sum[g] / x.steps : 0;
	(*nsims)++;
	ret = 0;
out:
	gc_sim_result_release(&res);
	gc_world_release(&w);
	free(x.cur);
	free(x.sum);
	if (rec) {
		rec->times = x.times;
		rec->shares = x.shares;
		rec->nsteps = x.nsteps;
	} else {
		free(x.times);
		free(x.shares);
	}
	return ret;
}

/*
 * The start of a plan: the group's recorded evaluations of the last
 * INIT_WINDOW before from (at least its newest keep), so the simulated
 * cache starts holding what a real one would still hold, older
 * evaluations included (under LRU they compete with the newest ones).
 */
static void plan_init(const struct mgroup *mg, unsigned keep, int64_t from, struct gplan *p)
{
	size_t first = mg->ntimes > keep ? mg->ntimes - keep : 0;

	while (first > 0 && mg->times[first - 1] >= from - INIT_WINDOW)
		first--;
	p->n = 0;
	for (size_t i = first; i < mg->ntimes; i++) {
		GROW(p->t, p->alloc, p->n + 1);
		p->t[p->n++] = mg->times[i] < from ? mg->times[i] : from - 1;
	}
	p->ninit = p->n;
}

/* Plans for rungs r: the newest keep recorded evaluations, then one every
 * interval from `from` to `to`.  Evaluations of group g come g minutes
 * before the step boundaries, so no two are at one time. */
static void plans_for(const struct model *m, const int *r, unsigned keep, int64_t from, int64_t to,
		      struct gplan *p)
{
	for (size_t g = 0; g < m->ng; g++) {
		const struct mgroup *mg = &m->g[g];
		double days = sched_ladder_days[r[g]];
		plan_init(mg, keep, from, &p[g]);
		p[g].gap = days * DAY;
		if (days <= 0)
			continue;
		for (int64_t k = 1;; k++) {
			int64_t t = from + (int64_t)(k * days * DAY) - 60 * (int64_t)(g + 1);
			if (t > to)
				break;
			if (t <= from)
				continue;
			GROW(p[g].t, p[g].alloc, p[g].n + 1);
			p[g].t[p[g].n++] = t;
		}
	}
}

static void plans_release(struct gplan *p, size_t n)
{
	for (size_t g = 0; p && g < n; g++)
		free(p[g].t);
	free(p);
}

struct search {
	struct scratch s;
	const struct model *m;
	const struct sched_group *sg;
	const struct sched_opts *o;
	struct gplan *plans;
	int64_t from, to;
	unsigned *nsims;
};

static int eval_rungs(struct search *x, const int *r, uint64_t limit, double *share)
{
	plans_for(x->m, r, x->o->keep, x->from, x->to, x->plans);
	return replay(&x->s, x->m, x->sg, x->plans, x->o, limit, x->from, x->to, share, NULL,
		      x->nsims);
}

/* The groups that matter most (the heaviest) keep the target share. */
static int feasible(const struct model *m, const double *share, double target)
{
	for (size_t g = 0; g < m->ng; g++)
		if (m->g[g].top && share[g] < target - 1e-9)
			return 0;
	return 1;
}

/* 1 when some schedule of sch is feasible at limit, 0 none, -1 error. */
static int any_feasible(struct search *x, const int *sch, size_t nsch, uint64_t limit,
			double *share)
{
	for (size_t i = nsch; i-- > 0;) {
		if (eval_rungs(x, sch + i * x->m->ng, limit, share))
			return -1;
		if (feasible(x->m, share, x->o->target))
			return 1;
	}
	return 0;
}

static void rungs_at(const struct sched_group *sg, size_t ng, double wmax, double t, int *r)
{
	for (size_t g = 0; g < ng; g++) {
		double v = wmax > 0 && sg[g].weight > 0 ? t * sg[g].weight / wmax * (SCHED_NRUNGS - 1) : 0;
		int k = (int)floor(v + 1e-9);
		r[g] = k < 0 ? 0 : k > SCHED_NRUNGS - 1 ? SCHED_NRUNGS - 1 : k;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void set_alt(struct sched_alt *a, const struct mgroup *mg, int rung, double share)
{
	a->valid = 1;
	a->interval_days = sched_ladder_days[rung];
	a->share = share;
	a->push_per_week = push_per_week(mg, a->interval_days);
}

void schedule_release(struct schedule *s)
{
	for (size_t i = 0; i < s->ngroups; i++) {
		free(s->groups[i].branch);
		free(s->groups[i].capabilities);
		free(s->groups[i].system);
	}
	free(s->groups);
	memset(s, 0, sizeof(*s));
}

int schedule_run(struct schedule *sc, struct db *db, const struct sched_opts *o)
{
	struct gc_world w;
	struct model m = {0};
	struct search x = {0};
	int *r = NULL, *best = NULL, *tmp = NULL, have_w = 0, ret = -1;
	double *share = NULL, *best_share = NULL, *levels = NULL, wmax = 0;
	size_t nlev = 0, alev = 0, ng, nsch = 0, asch = 0, pick = 0;
	int *sch = NULL;

	memset(sc, 0, sizeof(*sc));
	if (o->keep < 1 || o->horizon_days <= 0 || !o->limit || o->target <= 0 || o->target > 1)
		BUG("schedule_run: bad options");
	if (db_read_begin(db))
		return -1;
	have_w = 1;
	if (gc_world_load(&w, db, o->cache_id, o->weights, 0) ||
	    measure(&w, db, o->at, &sc->groups, &sc->ngroups, &m)) {
		db_read_end(db);
		goto out;
	}
	db_read_end(db);
	/* The model holds what the replays need: the world goes before
	 * they allocate theirs. */
	gc_world_release(&w);
	have_w = 0;
	ng = sc->ngroups;
	if (!ng) {
		ret = 0;
		goto out;
	}
	x.m = &m;
	x.sg = sc->groups;
	x.o = o;
	x.from = o->at;
	x.to = o->at + (int64_t)(o->horizon_days * DAY);
	x.nsims = &sc->simulations;
	x.plans = xcalloc(ng, sizeof(*x.plans));
	if (scratch_open(&x.s, ng, o->at))
		goto out;
	r = xcalloc(ng, sizeof(*r));
	best = xcalloc(ng, sizeof(*best));
	tmp = xcalloc(ng, sizeof(*tmp));
	share = xcalloc(ng, sizeof(*share));
	best_share = xcalloc(ng, sizeof(*best_share));

	/* The levels at which some group moves up a rung. */
	for (size_t g = 0; g < ng; g++)
		if (sc->groups[g].weight > wmax)
			wmax = sc->groups[g].weight;
	for (size_t g = 0; g < ng; g++)
		m.g[g].top = wmax > 0 && sc->groups[g].weight >= wmax;
	for (size_t g = 0; g < ng && wmax > 0; g++) {
		double ratio = sc->groups[g].weight / wmax;
		for (int k = 1; ratio > 0 && k < SCHED_NRUNGS; k++) {
			double t = k / (ratio * (SCHED_NRUNGS - 1));
			if (t < 1.0 / (SCHED_NRUNGS - 1) - 1e-12 || t > 1 + 1e-12)
				continue;
			GROW(levels, alev, nlev + 1);
			levels[nlev++] = t;
		}
	}
	qsort(levels, nlev, sizeof(*levels), cmp_double);

	/* The distinct schedules, lowest level first. */
	for (size_t i = 0; i < nlev; i++) {
		rungs_at(sc->groups, ng, wmax, levels[i], r);
		if (nsch && !memcmp(r, sch + (nsch - 1) * ng, ng * sizeof(*r)))
			continue;
		GROW(sch, asch, (nsch + 1) * ng);
		memcpy(sch + nsch * ng, r, ng * sizeof(*r));
		levels[nsch++] = levels[i];
	}

	/* The highest feasible level.  Feasibility need not be monotone in
	 * the level (rebuilding the heavy groups more often can save them),
	 * so every level is tried; under a larger limit every schedule keeps
	 * at least as much, so the highest feasible level only rises. */
	sc->feasible = 0;
	for (size_t i = 0; i < nsch; i++) {
		const int *ri = sch + i * ng;
		if (eval_rungs(&x, ri, o->limit, share))
			goto out;
		if (feasible(&m, share, o->target)) {
			sc->feasible = 1;
			pick = i;
		}
	}
	/* None feasible: the lowest level (the heaviest groups every 14
	 * days, nothing else), whatever the limit, so that the answer under
	 * a larger limit is never a longer interval either. */
	if (nsch) {
		memcpy(best, sch + pick * ng, ng * sizeof(*best));
		sc->level = levels[pick];
	}
	if (eval_rungs(&x, best, o->limit, best_share))
		goto out;
	if (!nsch)
		sc->feasible = 1;   /* every weight 0: nothing is worth rebuilding */

	/* Infeasible: how much more limit makes some level feasible. */
	if (!sc->feasible && (o->policy == GC_CACHIX || o->policy == GC_PRIORITY)) {
		uint64_t lo = o->limit, hi = x.s.total_bytes + o->limit;
		int ok;
		for (;;) {
			if ((ok = any_feasible(&x, sch, nsch, hi, share)) < 0)
				goto out;
			if (ok || hi >= (uint64_t)INT64_MAX / 4)
				break;
			lo = hi;
			hi *= 2;
		}
		while (hi - lo > hi / 200 + 1) {
			uint64_t mid = lo + (hi - lo) / 2;
			if ((ok = any_feasible(&x, sch, nsch, mid, share)) < 0)
				goto out;
			if (ok)
				hi = mid;
			else
				lo = mid;
		}
		sc->shortfall = hi - o->limit;
	}

	/* The answer and its neighbours on the ladder. */
	for (size_t g = 0; g < ng; g++) {
		struct sched_group *sg = &sc->groups[g];
		sg->rung = best[g];
		set_alt(&sg->chosen, &m.g[g], best[g], best_share[g]);
		for (int d = -1; d <= 1; d += 2) {
			int k = best[g] + d;
			if (k < 0 || k >= SCHED_NRUNGS)
				continue;
			memcpy(tmp, best, ng * sizeof(*tmp));
			tmp[g] = k;
			if (eval_rungs(&x, tmp, o->limit, share))
				goto out;
			set_alt(d < 0 ? &sg->longer : &sg->shorter, &m.g[g], k, share[g]);
		}
	}
	ret = 0;
out:
	scratch_close(&x.s);   /* also after a failed scratch_open */
	plans_release(x.plans, sc->ngroups);
	if (have_w)
		gc_world_release(&w);
	model_release(&m);
	free(r);
	free(best);
	free(tmp);
	free(share);
	free(best_share);
	free(levels);
	free(sch);
	return ret;
}

/* ---- the model against the recorded history ------------------------------ */

void schedule_validation_release(struct sched_validation *v)
{
	for (size_t i = 0; i < v->ngroups; i++) {
		free(v->groups[i].branch);
		free(v->groups[i].capabilities);
		free(v->groups[i].system);
	}
	free(v->groups);
	free(v->vg);
	memset(v, 0, sizeof(*v));
}

struct episode {
	int64_t time;
	uint32_t path;
	int delta;
};

static int cmp_episode(const void *a, const void *b)
{
	const struct episode *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->delta - y->delta;   /* gone before seen at one time */
}

/* Share of the jobs of group gi's newest keep evaluations (at or before
 * t, among w's) whose closures are all present in pres; -1 when it has
 * no evaluation by then. */
static double recorded_share(struct gc_world *w, uint32_t gi, int64_t t, unsigned keep,
			     const int32_t *pres, struct closure *c)
{
	size_t nvis = 0, jobs = 0, whole = 0;
	unsigned found = 0;

	while (nvis < w->nevals && w->evals[nvis].time <= t)
		nvis++;
	for (size_t e = nvis; e-- > 0 && found < keep;) {
		const struct gc_eval *ev = &w->evals[e];
		if (ev->group != gi)
			continue;
		found++;
		for (uint32_t j = ev->job0; j < ev->job0 + ev->njobs; j++) {
			int ok = 1;
			uint32_t root = gc_job_path(w, j);
			/* never pushed (failed, or not built): the model's
			 * jobs all build, so such jobs are left out */
			if (!(w->g.flags[root] & GRAPH_NARINFO))
				continue;
			graph_closure(&w->g, &root, 1, c);
			for (size_t i = 0; ok && i < c->n; i++)
				ok = (w->g.flags[c->ids[i]] & GRAPH_NARINFO) && pres[c->ids[i]] > 0;
			jobs++;
			whole += ok;
		}
	}
	if (!found)
		return -1;
	return jobs ? (double)whole / (double)jobs : 0;
}

int schedule_validate(struct sched_validation *v, struct db *db, const struct sched_opts *o)
{
	struct gc_world w;
	struct model m = {0};
	struct scratch s;
	struct simctx rec = {0};
	struct gplan *plans = NULL;
	struct episode *ep = NULL;
	size_t nep = 0, aep = 0, ncrawl = 0, acrawl = 0, next = 0;
	int64_t *crawls = NULL, first;
	int32_t *pres = NULL;
	double *share = NULL, *psum = NULL, *rsum = NULL;
	unsigned *cnt = NULL, nsims = 0;
	struct closure c = {0};
	sqlite3_stmt *st;
	int rc, ret = -1;

	memset(v, 0, sizeof(*v));
	memset(&s, 0, sizeof(s));
	if (db_read_begin(db))
		return -1;
	if (gc_world_load(&w, db, o->cache_id, o->weights, 0))
		goto out_read;
	if (!(st = stmt_query(db, &stmts, Q_CRAWLS, SQL_ARGS(o->cache_id, o->at))))
		goto out_read;
	while ((rc = db_step(db, st)) == 1) {
		GROW(crawls, acrawl, ncrawl + 1);
		crawls[ncrawl++] = sqlite3_column_int64(st, 0);
	}
	if (rc < 0)
		goto out_read;
	if (!w.nevals || !ncrawl) {
		error("--validate needs evaluations and complete crawls of the cache before and after "
		      "the middle of the history; see 'cachegc import-eval' and 'cachegc crawl'");
		goto out_read;
	}
	first = w.evals[0].time;
	v->end = crawls[ncrawl - 1];
	if (v->end <= first) {
		error("--validate needs complete crawls after the first evaluation; the last crawl "
		      "is before it");
		goto out_read;
	}
	v->split = first + (v->end - first) / 2;
	if (measure(&w, db, v->split, &v->groups, &v->ngroups, &m))
		goto out_read;
	if (!(st = stmt_query(db, &stmts, Q_EPISODES, SQL_ARGS(o->cache_id))))
		goto out_read;
	while ((rc = db_step(db, st)) == 1) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (id <= 0 || id >= w.n)
			continue;
		GROW(ep, aep, nep + 2);
		ep[nep++] = (struct episode){sqlite3_column_int64(st, 1), (uint32_t)id, 1};
		if (sqlite3_column_type(st, 2) != SQLITE_NULL)
			ep[nep++] = (struct episode){sqlite3_column_int64(st, 2), (uint32_t)id, -1};
	}
	if (rc < 0)
		goto out_read;
	db_read_end(db);
	qsort(ep, nep, sizeof(*ep), cmp_episode);

	for (size_t i = 0; i < ncrawl; i++)
		v->crawls += crawls[i] > v->split;
	if (!v->crawls || !v->ngroups) {
		char t[32];
		error("--validate needs complete crawls after the middle of the history (%s) and "
		      "evaluations before it; crawl again later, or see 'cachegc crawl'",
		      format_time(v->split, t, sizeof(t)));
		goto out;
	}

	/* The schedule that really ran: each group's recorded evaluations
	 * after the split. */
	plans = xcalloc(m.ng, sizeof(*plans));
	for (size_t g = 0; g < m.ng; g++) {
		const struct mgroup *mg = &m.g[g];
		size_t nfut = 0;
		int64_t t0 = 0, t1 = 0;
		plan_init(mg, o->keep, v->split, &plans[g]);
		for (size_t e = 0; e < w.nevals; e++) {
			const struct gc_eval *ev = &w.evals[e];
			if (ev->group != mg->wgroup || ev->time <= v->split || ev->time > v->end)
				continue;
			GROW(plans[g].t, plans[g].alloc, plans[g].n + 1);
			plans[g].t[plans[g].n++] = ev->time;
			if (!nfut++)
				t0 = ev->time;
			t1 = ev->time;
		}
		plans[g].gap = nfut >= 2 ? (double)(t1 - t0) / (double)(nfut - 1)
			       : nfut ? (double)(v->end - v->split) : 0;
	}
	if (scratch_open(&s, m.ng, v->split))
		goto out;
	share = xcalloc(m.ng, sizeof(*share));
	if (replay(&s, &m, v->groups, plans, o, o->limit, v->split, v->end, share, &rec, &nsims))
		goto out;

	/* Predicted (the first step at or after each crawl) against
	 * recorded (the presence at that crawl). */
	pres = xcalloc(w.n ? w.n : 1, sizeof(*pres));
	psum = xcalloc(m.ng, sizeof(*psum));
	rsum = xcalloc(m.ng, sizeof(*rsum));
	cnt = xcalloc(m.ng, sizeof(*cnt));
	for (size_t i = 0; i < ncrawl; i++) {
		size_t k = 0;
		while (next < nep && ep[next].time <= crawls[i]) {
			pres[ep[next].path] += ep[next].delta;
			next++;
		}
		if (crawls[i] <= v->split)
			continue;
		while (k + 1 < rec.nsteps && rec.times[k] < crawls[i])
			k++;
		for (size_t g = 0; g < m.ng; g++) {
			double r = recorded_share(&w, m.g[g].wgroup, crawls[i], o->keep, pres, &c);
			if (r < 0 || !rec.nsteps)
				continue;
			rsum[g] += r;
			psum[g] += rec.shares[k * m.ng + g];
			cnt[g]++;
		}
	}
	v->vg = xcalloc(m.ng, sizeof(*v->vg));
	for (size_t g = 0; g < m.ng; g++) {
		struct sched_val_group *vg;
		if (!cnt[g])
			continue;
		vg = &v->vg[v->nvg++];
		vg->group = g;
		vg->crawls = cnt[g];
		vg->predicted = psum[g] / cnt[g];
		vg->recorded = rsum[g] / cnt[g];
		v->mae += fabs(vg->predicted - vg->recorded);
	}
	if (v->nvg)
		v->mae /= (double)v->nvg;
	ret = 0;
	goto out;
out_read:
	db_read_end(db);
out:
	scratch_close(&s);
	plans_release(plans, m.ng);
	gc_world_release(&w);
	model_release(&m);
	free(rec.times);
	free(rec.shares);
	free(ep);
	free(crawls);
	free(pres);
	free(share);
	free(psum);
	free(rsum);
	free(cnt);
	closure_release(&c);
	return ret;
}
