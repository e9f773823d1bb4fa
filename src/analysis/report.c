/*
 * report.c - the figures of `cachegc report` (report.h): crawls in the
 * span, coverage_run() now and at each crawl, stored bytes and the day's
 * pushes and evictions, staleness and half-life from the presence episodes
 * and the reference graph, the policies' match with the recorded
 * evictions (report_gc.c), the largest closures and most depended-on paths.
 */
#include "analysis/report.h"

#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/stmt.h"
#include "lib/util.h"
#include "report_private.h"

enum {
	Q_CRAWLS,
	Q_EVALS,
	Q_JOBS,
	Q_PRESENCE,
	Q_PUSHED,
	Q_EVICTED,
	Q_N
};
static const char *const sql[Q_N] = {
	[Q_CRAWLS] =
		"SELECT DISTINCT started_at FROM crawls WHERE cache_id = ?1 AND status = 'complete' "
		"AND started_at >= ?2 AND started_at <= ?3 ORDER BY started_at",
	[Q_EVALS] =
		"SELECT id, branch, capabilities, system, rev, time FROM evaluations "
		"WHERE time <= ?1 ORDER BY branch, capabilities, system, time, id",
	/* One row per (evaluation, attr, output): a job is an attr; a failed
	 * attr has one row without a path. */
	[Q_JOBS] =
		"SELECT j.evaluation_id, j.attr, coalesce(j.path_id, 0) FROM eval_jobs j "
		"JOIN evaluations e ON e.id = j.evaluation_id WHERE e.time <= ?1 "
		"ORDER BY j.evaluation_id, j.attr, j.output",
	[Q_PRESENCE] =
		"SELECT path_id, first_seen, coalesce(gone_at, -1) FROM presence WHERE cache_id = ?1",
	[Q_PUSHED] =
		"SELECT coalesce(p.push_time, p.first_seen) / 86400 * 86400 AS day, count(*), "
		"coalesce(sum(coalesce(n.file_size, n.nar_size)), 0) "
		"FROM presence p JOIN narinfos n ON n.cache_id = p.cache_id AND n.path_id = p.path_id "
		"WHERE p.cache_id = ?1 AND coalesce(p.push_time, p.first_seen) >= ?2 "
		"AND coalesce(p.push_time, p.first_seen) <= ?3 GROUP BY day ORDER BY day",
	[Q_EVICTED] =
		"SELECT p.gone_at / 86400 * 86400 AS day, count(*), "
		"coalesce(sum(coalesce(n.file_size, n.nar_size)), 0) "
		"FROM presence p JOIN narinfos n ON n.cache_id = p.cache_id AND n.path_id = p.path_id "
		"WHERE p.cache_id = ?1 AND p.gone_at IS NOT NULL AND p.gone_at >= ?2 "
		"AND p.gone_at <= ?3 GROUP BY day ORDER BY day",
};
static struct stmt_table stmts = STMT_TABLE("report", sql);

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return xstrdup(s ? (const char *)s : "");
}

static int load_crawls(struct report *r, struct db *db, const struct report_opts *o)
{
	sqlite3_stmt *st;
	size_t alloc = 0;
	int rc;

	if (!(st = stmt_query(db, &stmts, Q_CRAWLS, SQL_ARGS(o->cache_id, o->from, o->to))))
		return -1;
	while ((rc = db_step(db, st)) == 1) {
		GROW(r->crawls, alloc, r->ncrawls + 1);
		memset(&r->crawls[r->ncrawls], 0, sizeof(r->crawls[0]));
		r->crawls[r->ncrawls++].time = sqlite3_column_int64(st, 0);
	}
	return rc;
}

/* Evaluations (sorted by group, then time) and the groups they make. */
static int load_evals(struct report *r, struct rctx *c, struct db *db, const struct report_opts *o)
{
	sqlite3_stmt *st;
	size_t aev = 0, agr = 0, apaths = 0;
	int rc;

	if (!(st = stmt_query(db, &stmts, Q_EVALS, SQL_ARGS(o->to))))
		return -1;
	while ((rc = db_step(db, st)) == 1) {
		const char *b = (const char *)sqlite3_column_text(st, 1);
		const char *k = (const char *)sqlite3_column_text(st, 2);
		const char *s = (const char *)sqlite3_column_text(st, 3);
		struct report_eval *e;

		b = b ? b : "";
		k = k ? k : "";
		s = s ? s : "";
		if (!r->ngroups || strcmp(r->groups[r->ngroups - 1].branch, b) ||
		    strcmp(r->groups[r->ngroups - 1].capabilities, k) ||
		    strcmp(r->groups[r->ngroups - 1].system, s)) {
			GROW(r->groups, agr, r->ngroups + 1);
			r->groups[r->ngroups].branch = xstrdup(b);
			r->groups[r->ngroups].capabilities = xstrdup(k);
			r->groups[r->ngroups].system = xstrdup(s);
			r->ngroups++;
		}
		GROW(r->evals, aev, r->nevals + 1);
		e = &r->evals[r->nevals++];
		memset(e, 0, sizeof(*e));
		e->id = sqlite3_column_int64(st, 0);
		e->group = (uint32_t)(r->ngroups - 1);
		e->rev = col_dup(st, 4);
		e->time = sqlite3_column_int64(st, 5);
		e->reached = e->below = -1;
		e->half_life = -1;
	}
	if (rc)
		return -1;

	/* Jobs: per evaluation a run of jobs, per job a run of paths. */
	c->by_id = xmalloc((r->nevals ? r->nevals : 1) * sizeof(*c->by_id));
	for (size_t i = 0; i < r->nevals; i++)
		c->by_id[i] = (uint32_t)i;
	qsort_r(c->by_id, r->nevals, sizeof(*c->by_id), rctx_cmp_id, r);
	c->job0 = xcalloc(r->nevals + 1, sizeof(*c->job0));
	if (!(st = stmt_query(db, &stmts, Q_JOBS, SQL_ARGS(o->to))))
		return -1;
	{
		int64_t last_eval = -1;
		char *last_attr = NULL;
		uint32_t cur = UINT32_MAX;
		size_t *count = xcalloc(r->nevals + 1, sizeof(*count));
		/* Jobs arrive grouped by evaluation id; lay them out per
		 * evaluation index afterwards. */
		struct { uint32_t eval; size_t p0; } *tmp = NULL;
		size_t ntmp = 0, atmp = 0;

		while ((rc = db_step(db, st)) == 1) {
			int64_t eid = sqlite3_column_int64(st, 0);
			const char *attr = (const char *)sqlite3_column_text(st, 1);
			int64_t pid = sqlite3_column_int64(st, 2);

			attr = attr ? attr : "";
			if (eid != last_eval) {
				cur = rctx_eval_index(r, c, eid);
				last_eval = eid;
				free(last_attr);
				last_attr = NULL;
			}
			if (cur == UINT32_MAX)
				continue;
			if (!last_attr || strcmp(last_attr, attr)) {
				free(last_attr);
				last_attr = xstrdup(attr);
				GROW(tmp, atmp, ntmp + 1);
				tmp[ntmp].eval = cur;
				tmp[ntmp].p0 = c->npaths;
				ntmp++;
				count[cur]++;
			}
			GROW(c->paths, apaths, c->npaths + 1);
			c->paths[c->npaths++] = pid > 0 && pid < UINT32_MAX ? (uint32_t)pid : 0;
		}
		free(last_attr);
		if (!rc) {
			/* job0 by evaluation index; jobs' path runs copied in order */
			size_t *fill;
			for (size_t i = 0; i < r->nevals; i++)
				c->job0[i + 1] = c->job0[i] + count[i];
			c->njobs = c->job0[r->nevals];
			c->poff = xmalloc((c->njobs + 1) * sizeof(*c->poff));
			c->pend = xmalloc((c->njobs + 1) * sizeof(*c->pend));
			fill = xcalloc(r->nevals + 1, sizeof(*fill));
			for (size_t k = 0; k < ntmp; k++) {
				size_t j = c->job0[tmp[k].eval] + fill[tmp[k].eval]++;
				c->poff[j] = tmp[k].p0;
				c->pend[j] = k + 1 < ntmp ? tmp[k + 1].p0 : c->npaths;
			}
			for (size_t i = 0; i < r->nevals; i++)
				r->evals[i].jobs = count[i];
			free(fill);
		}
		free(tmp);
		free(count);
	}
	return rc ? -1 : 0;
}

static int load_presence(struct rctx *c, struct db *db, int64_t cache_id)
{
	sqlite3_stmt *st;
	size_t alloc = 0;
	int rc;

	if (!(st = stmt_query(db, &stmts, Q_PRESENCE, SQL_ARGS(cache_id))))
		return -1;
	while ((rc = db_step(db, st)) == 1) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (id <= 0 || id >= c->g.n)
			continue;
		GROW(c->eps, alloc, c->neps + 1);
		c->eps[c->neps].path = (uint32_t)id;
		c->eps[c->neps].first = sqlite3_column_int64(st, 1);
		c->eps[c->neps].gone = sqlite3_column_int64(st, 2);
		c->neps++;
	}
	return rc;
}

/* Per UTC day: pushes and evictions within the span. */
static int load_days(struct report *r, struct db *db, const struct report_opts *o)
{
	size_t alloc = 0;

	for (int q = Q_PUSHED; q <= Q_EVICTED; q++) {
		sqlite3_stmt *st = stmt_query(db, &stmts, q, SQL_ARGS(o->cache_id, o->from, o->to));
		int rc;

		if (!st)
			return -1;
		while ((rc = db_step(db, st)) == 1) {
			int64_t day = sqlite3_column_int64(st, 0);
			uint64_t n = (uint64_t)sqlite3_column_int64(st, 1);
			uint64_t b = (uint64_t)sqlite3_column_int64(st, 2);
			size_t i = 0;

			while (i < r->ndays && r->days[i].day != day)
				i++;
			if (i == r->ndays) {
				GROW(r->days, alloc, r->ndays + 1);
				memset(&r->days[i], 0, sizeof(r->days[i]));
				r->days[i].day = day;
				r->ndays++;
			}
			if (q == Q_PUSHED) {
				r->days[i].pushed_paths += n;
				r->days[i].pushed_bytes += b;
			} else {
				r->days[i].evicted_paths += n;
				r->days[i].evicted_bytes += b;
			}
		}
		if (rc)
			return -1;
	}
	if (r->ndays)
		qsort(r->days, r->ndays, sizeof(*r->days), rctx_cmp_day);
	return 0;
}

/* Coverage as of each crawl, into the cells. */
static int coverage_cells(struct report *r, struct rctx *c, struct db *db,
			  const struct report_opts *o)
{
	for (size_t k = 0; k < r->ncrawls; k++) {
		struct coverage cv = {0};
		struct coverage_opts co = {.cache_id = o->cache_id, .at = r->crawls[k].time};
		int ret = coverage_run(&cv, db, &co);

		for (size_t ci = 0; !ret && ci < cv.ncols; ci++) {
			uint32_t e = rctx_eval_index(r, c, cv.cols[ci].evaluation_id);
			struct report_cell *cell;
			if (e == UINT32_MAX)
				continue;
			cell = &r->cells[k * r->ngroups + r->evals[e].group];
			cell->evaluation_id = cv.cols[ci].evaluation_id;
			cell->jobs = cv.cols[ci].jobs;
			cell->jobs_cached = cv.cols[ci].jobs_cached;
		}
		coverage_release(&cv);
		if (ret)
			return -1;
	}
	return 0;
}

int report_run(struct report *r, struct db *db, const struct report_opts *o)
{
	struct rctx c;
	int ret = -1;

	memset(r, 0, sizeof(*r));
	memset(&c, 0, sizeof(c));
	r->from = o->from;
	r->to = o->to;
	{
		struct coverage_opts co = {.cache_id = o->cache_id, .at = o->to};
		if (coverage_run(&r->now, db, &co))
			goto out;
	}
	if (db_read_begin(db))
		goto out;
	if (load_crawls(r, db, o) || load_evals(r, &c, db, o) || graph_load(&c.g, db, o->cache_id) ||
	    load_presence(&c, db, o->cache_id) || load_days(r, db, o) ||
	    rejected_series_load(&c.rej, db, o->cache_id)) {
		db_read_end(db);
		goto out;
	}
	db_read_end(db);
	r->cells = xcalloc(r->ncrawls * r->ngroups + 1, sizeof(*r->cells));
	for (size_t i = 0; i < r->ncrawls * r->ngroups; i++)
		r->cells[i].stale = -1;
	if (coverage_cells(r, &c, db, o))
		goto out;
	rctx_history(r, &c);
	rctx_closures(r, &c);
	if (report_policies(r, db, o))
		goto out;
	ret = 0;
out:
	rctx_release(&c);
	return ret;
}

void report_release(struct report *r)
{
	coverage_release(&r->now);
	for (size_t i = 0; i < r->ngroups; i++) {
		free(r->groups[i].branch);
		free(r->groups[i].capabilities);
		free(r->groups[i].system);
	}
	free(r->groups);
	for (size_t i = 0; i < r->nevals; i++)
		free(r->evals[i].rev);
	free(r->evals);
	free(r->crawls);
	free(r->cells);
	free(r->days);
	memset(r, 0, sizeof(*r));
}

uint32_t report_group_of(const struct report *r, const struct cov_column *col)
{
	for (size_t g = 0; g < r->ngroups; g++)
		if (!strcmp(r->groups[g].branch, col->branch) &&
		    !strcmp(r->groups[g].capabilities, col->capabilities) &&
		    !strcmp(r->groups[g].system, col->system))
			return (uint32_t)g;
	return UINT32_MAX;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double report_median_half_life(const struct report *r, uint32_t g, size_t *n_half,
			       size_t *n_above, size_t *n_never)
{
	double *v = xmalloc((r->nevals + 1) * sizeof(*v)), m = -1;
	size_t n = 0;

	*n_half = *n_above = *n_never = 0;
	for (size_t i = 0; i < r->nevals; i++) {
		const struct report_eval *e = &r->evals[i];
		if (e->group != g)
			continue;
		if (e->half_life >= 0)
			v[n++] = e->half_life;
		else if (e->reached >= 0)
			(*n_above)++;
		else
			(*n_never)++;
	}
	*n_half = n;
	if (n) {
		qsort(v, n, sizeof(*v), cmp_double);
		m = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	}
	free(v);
	return m;
}
