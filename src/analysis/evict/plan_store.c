/*
 * plan_store.c - eviction plans in the database: saving a built plan
 * (evict_plans, evict_plan_paths, evict_plan_jobs) and loading one back,
 * and the names reasons and object kinds are stored under.  See evict.h.
 */
#include "analysis/evict.h"

#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/stmt.h"
#include "store/meta.h"
#include "nix/nixhash.h"
#include "lib/util.h"

enum {
	Q_PLAN_ADD,
	Q_PLAN_PATH_ADD,
	Q_PLAN_JOB_ADD,
	Q_PLAN_BREAK_ADD,
	Q_PLAN_PATH_MANY,
	Q_PLAN_JOB_MANY,
	Q_PLAN_BREAK_MANY,
	Q_PLAN_GET,
	Q_PLAN_PATHS,
	Q_N
};
#define PLAN_PATH_COLS(insert) \
	insert " INTO evict_plan_paths (plan_id, seq, path_id, reason, url, stored_size," \
	" file_size, nar_size, breaks) VALUES "
#define PLAN_JOB_COLS \
	"INSERT OR IGNORE INTO evict_plan_jobs (plan_id, evaluation_id, attr, output, path_id) VALUES "
#define PLAN_BREAK_COLS \
	"INSERT OR IGNORE INTO evict_plan_breaks (plan_id, seq, evaluation_id, attr, output) VALUES "
static const char *const sql[Q_N] = {
	[Q_PLAN_ADD] =
		"INSERT INTO evict_plans (cache_id, crawl_id, created_at, policy, limit_bytes,"
		" size_before, size_after, paths_before, n_paths, n_jobs, limit_reached,"
		" weights, retention)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	[Q_PLAN_PATH_ADD] = PLAN_PATH_COLS("INSERT") "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[Q_PLAN_JOB_ADD] = PLAN_JOB_COLS "(?, ?, ?, ?, ?)",
	[Q_PLAN_BREAK_ADD] = PLAN_BREAK_COLS "(?, ?, ?, ?, ?)",
	/* The same, SQL_ROWS_BATCH rows at once (store/stmt.h): the paths
	 * OR ROLLBACK, as a failing row fails the whole plan anyway. */
	[Q_PLAN_PATH_MANY] =
		PLAN_PATH_COLS("INSERT OR ROLLBACK") SQL_ROWS32("(?, ?, ?, ?, ?, ?, ?, ?, ?)"),
	[Q_PLAN_JOB_MANY] = PLAN_JOB_COLS SQL_ROWS32("(?, ?, ?, ?, ?)"),
	[Q_PLAN_BREAK_MANY] = PLAN_BREAK_COLS SQL_ROWS32("(?, ?, ?, ?, ?)"),
	[Q_PLAN_GET] =
		"SELECT p.cache_id, coalesce(p.crawl_id, 0), p.created_at, p.policy, p.limit_bytes,"
		" p.size_before, p.size_after, p.paths_before, p.limit_reached, c.url"
		" FROM evict_plans p JOIN caches c ON c.id = p.cache_id WHERE p.id = ?1",
	[Q_PLAN_PATHS] =
		"SELECT pp.path_id, pp.reason, pp.url, pp.stored_size, coalesce(pp.file_size, -1),"
		" pp.nar_size, pp.breaks, pa.hash || '-' || pa.name"
		" FROM evict_plan_paths pp JOIN paths pa ON pa.id = pp.path_id"
		" WHERE pp.plan_id = ?1 ORDER BY pp.seq",
};
static struct stmt_table stmts = STMT_TABLE("evict-plan-store", sql);

const char *evict_reason_name(int reason)
{
	switch (reason) {
	case EVICT_UNREACHED: return "unreached";
	case EVICT_SUPERSEDED: return "superseded";
	case EVICT_LOW_VALUE: return "low-value";
	case EVICT_LRU: return "lru";
	case EVICT_EXPIRED: return "expired";
	case EVICT_DEPENDENCY_LOST: return "dependency-lost";
	}
	return "?";
}

static int reason_parse(const char *s)
{
	for (int r = 0; r < EVICT_NREASONS; r++)
		if (!strcmp(s, evict_reason_name(r)))
			return r;
	return -1;
}

const char *evict_kind_name(int kind)
{
	switch (kind) {
	case EVICT_NARINFO: return "narinfo";
	case EVICT_LS: return "ls";
	case EVICT_NAR: return "nar";
	}
	return "?";
}

static const struct evict_job *sort_jobs;

/* evict_plan_jobs' key order (evaluation_id, attr, output: SQLite's
 * BINARY collation compares text as memcmp, as strcmp does for text
 * without NULs). */
static int cmp_job_key(const void *a, const void *b)
{
	const struct evict_job *x = &sort_jobs[*(const uint32_t *)a];
	const struct evict_job *y = &sort_jobs[*(const uint32_t *)b];
	int c;

	if (x->evaluation_id != y->evaluation_id)
		return x->evaluation_id < y->evaluation_id ? -1 : 1;
	if (x->attr != y->attr && (c = strcmp(x->attr, y->attr)))
		return c;
	return x->output == y->output ? 0 : strcmp(x->output, y->output);
}

/* Rows of one table queued for a statement of SQL_ROWS_BATCH of them. */
#define PLAN_COLS_MAX 9
struct plan_rows {
	int one, many;              /* the statements for a row and for a batch */
	unsigned cols, n;
	struct sql_arg a[SQL_ROWS_BATCH * PLAN_COLS_MAX];
};

/* Queue a row (cols arguments; the strings must outlive the flush). */
static int rows_add(struct db *db, struct plan_rows *r, const struct sql_arg *row)
{
	memcpy(r->a + (size_t)r->n * r->cols, row, r->cols * sizeof(*row));
	if (++r->n < SQL_ROWS_BATCH)
		return 0;
	r->n = 0;
	return stmt_exec(db, &stmts, r->many, r->a, SQL_ROWS_BATCH * r->cols);
}

/* Write the rows still queued, one statement each. */
static int rows_flush(struct db *db, struct plan_rows *r)
{
	for (unsigned i = 0; i < r->n; i++)
		if (stmt_exec(db, &stmts, r->one, r->a + (size_t)i * r->cols, r->cols))
			return -1;
	r->n = 0;
	return 0;
}

int evict_plan_save(struct db *db, struct evict_plan *plan)
{
	struct plan_rows *paths = xcalloc(1, sizeof(*paths));
	struct plan_rows *breaks = xcalloc(1, sizeof(*breaks));
	struct plan_rows *jobs = xcalloc(1, sizeof(*jobs));
	uint32_t *order = NULL;
	int64_t id;

	*paths = (struct plan_rows){Q_PLAN_PATH_ADD, Q_PLAN_PATH_MANY, 9, 0, {{0}}};
	*breaks = (struct plan_rows){Q_PLAN_BREAK_ADD, Q_PLAN_BREAK_MANY, 5, 0, {{0}}};
	*jobs = (struct plan_rows){Q_PLAN_JOB_ADD, Q_PLAN_JOB_MANY, 5, 0, {{0}}};
	if (db_begin(db))
		goto fail_nobegin;
	if (stmt_exec(db, &stmts, Q_PLAN_ADD,
		      SQL_ARGS(plan->cache_id, SQL_INT_OPT(plan->crawl_id ? plan->crawl_id : -1),
			       plan->created_at, plan->policy, (int64_t)plan->limit,
			       (int64_t)plan->size_before, (int64_t)plan->size_after,
			       (int64_t)plan->paths_before, (int64_t)plan->n, (int64_t)plan->njobs,
			       plan->limit_reached, plan->weights,
			       SQL_INT_OPT(plan->retention > 0 ? plan->retention : -1))))
		goto fail;
	id = db_last_id(db);
	for (size_t i = 0; i < plan->n; i++) {
		const struct evict_path *ep = &plan->paths[i];
		if (rows_add(db, paths,
			     (const struct sql_arg[]){SQL_ARG(id), SQL_ARG((int64_t)i + 1),
						      SQL_ARG(ep->path_id),
						      SQL_ARG(evict_reason_name(ep->reason)),
						      SQL_ARG(ep->url), SQL_ARG(ep->stored),
						      SQL_INT_OPT(ep->file_size), SQL_ARG(ep->nar_size),
						      SQL_ARG(ep->nbreaks)}))
			goto fail;
		for (unsigned b = 0; b < ep->nbreaks_kept; b++) {
			const struct evict_job *j = &plan->jobs[ep->breaks[b]];
			if (rows_add(db, breaks,
				     (const struct sql_arg[]){SQL_ARG(id), SQL_ARG((int64_t)i + 1),
							      SQL_ARG(j->evaluation_id),
							      SQL_ARG(j->attr), SQL_ARG(j->output)}))
				goto fail;
		}
	}
	if (rows_flush(db, paths) || rows_flush(db, breaks))
		goto fail;
	/* In the table's key order: appends, not inserts all over the index
	 * (jobs come newest evaluation first, then by root). */
	order = xmalloc((plan->njobs ? plan->njobs : 1) * sizeof(*order));
	for (size_t i = 0; i < plan->njobs; i++)
		order[i] = (uint32_t)i;
	sort_jobs = plan->jobs;
	if (plan->njobs)
		qsort(order, plan->njobs, sizeof(*order), cmp_job_key);
	for (size_t i = 0; i < plan->njobs; i++) {
		const struct evict_job *j = &plan->jobs[order[i]];
		if (rows_add(db, jobs,
			     (const struct sql_arg[]){SQL_ARG(id), SQL_ARG(j->evaluation_id),
						      SQL_ARG(j->attr), SQL_ARG(j->output),
						      SQL_ARG(j->root)}))
			goto fail;
	}
	if (rows_flush(db, jobs) || db_commit(db))
		goto fail;
	free(order);
	free(paths);
	free(breaks);
	free(jobs);
	plan->id = id;
	return 0;
fail:
	db_rollback(db);
fail_nobegin:
	free(order);
	free(paths);
	free(breaks);
	free(jobs);
	return -1;
}

int evict_plan_load(struct db *db, int64_t id, struct evict_plan *plan)
{
	sqlite3_stmt *st;
	int rc;

	memset(plan, 0, sizeof(*plan));
	rc = stmt_row(db, &stmts, Q_PLAN_GET, &st, SQL_ARGS(id));
	if (rc <= 0)
		return rc < 0 ? -1 : 1;
	plan->id = id;
	plan->cache_id = sqlite3_column_int64(st, 0);
	plan->crawl_id = sqlite3_column_int64(st, 1);
	plan->created_at = sqlite3_column_int64(st, 2);
	plan->policy = xstrdup(db_col_text(st, 3));
	plan->limit = (uint64_t)sqlite3_column_int64(st, 4);
	plan->size_before = (uint64_t)sqlite3_column_int64(st, 5);
	plan->size_after = (uint64_t)sqlite3_column_int64(st, 6);
	plan->paths_before = (uint64_t)sqlite3_column_int64(st, 7);
	plan->limit_reached = sqlite3_column_int(st, 8);
	plan->cache_url = xstrdup(db_col_text(st, 9));
	stmt_done(st);
	if (!(plan->store_dir = db_store_dir(db)))
		return -1;
	if (!(st = stmt_query(db, &stmts, Q_PLAN_PATHS, SQL_ARGS(id))))
		return -1;
	while ((rc = db_step(db, st)) == 1) {
		struct evict_path *ep;
		int reason = reason_parse(db_col_text(st, 1));
		int64_t pid = sqlite3_column_int64(st, 0);
		if (reason < 0 || pid <= 0 || pid > UINT32_MAX) {
			sqlite3_reset(st);
			return error("plan %lld in '%s' is damaged (path %lld)", (long long)id,
				     db->path, (long long)pid);
		}
		GROW(plan->paths, plan->alloc, plan->n + 1);
		ep = &plan->paths[plan->n++];
		memset(ep, 0, sizeof(*ep));
		ep->path_id = (uint32_t)pid;
		ep->reason = reason;
		ep->url = xstrdup(db_col_text(st, 2));
		ep->stored = sqlite3_column_int64(st, 3);
		ep->file_size = sqlite3_column_int64(st, 4);
		ep->nar_size = sqlite3_column_int64(st, 5);
		ep->nbreaks = (uint32_t)sqlite3_column_int64(st, 6);
		ep->base = xstrdup(db_col_text(st, 7));
		if (strlen(ep->base) < STORE_HASH_LEN || !store_hash_valid(ep->base, STORE_HASH_LEN)) {
			sqlite3_reset(st);
			return error("plan %lld in '%s' names '%s', not a store path", (long long)id,
				     db->path, ep->base);
		}
	}
	return rc < 0 ? -1 : 0;
}
