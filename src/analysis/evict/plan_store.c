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
	Q_PLAN_GET,
	Q_PLAN_PATHS,
	Q_N
};
static const char *const sql[Q_N] = {
	[Q_PLAN_ADD] =
		"INSERT INTO evict_plans (cache_id, crawl_id, created_at, policy, limit_bytes,"
		" size_before, size_after, paths_before, n_paths, n_jobs, limit_reached,"
		" weights, retention)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	[Q_PLAN_PATH_ADD] =
		"INSERT INTO evict_plan_paths (plan_id, seq, path_id, reason, url, stored_size,"
		" file_size, nar_size, breaks) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[Q_PLAN_JOB_ADD] =
		"INSERT OR IGNORE INTO evict_plan_jobs (plan_id, evaluation_id, attr, output, path_id)"
		" VALUES (?1, ?2, ?3, ?4, ?5)",
	[Q_PLAN_BREAK_ADD] =
		"INSERT OR IGNORE INTO evict_plan_breaks (plan_id, seq, evaluation_id, attr, output)"
		" VALUES (?1, ?2, ?3, ?4, ?5)",
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

int evict_plan_save(struct db *db, struct evict_plan *plan)
{
	uint32_t *order = NULL;
	int64_t id;

	if (db_begin(db))
		return -1;
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
		if (stmt_exec(db, &stmts, Q_PLAN_PATH_ADD,
			      SQL_ARGS(id, (int64_t)i + 1, ep->path_id, evict_reason_name(ep->reason),
				       ep->url, ep->stored, SQL_INT_OPT(ep->file_size), ep->nar_size,
				       ep->nbreaks)))
			goto fail;
		for (unsigned b = 0; b < ep->nbreaks_kept; b++) {
			const struct evict_job *j = &plan->jobs[ep->breaks[b]];
			if (stmt_exec(db, &stmts, Q_PLAN_BREAK_ADD,
				      SQL_ARGS(id, (int64_t)i + 1, j->evaluation_id, j->attr,
					       j->output)))
				goto fail;
		}
	}
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
		if (stmt_exec(db, &stmts, Q_PLAN_JOB_ADD,
			      SQL_ARGS(id, j->evaluation_id, j->attr, j->output, j->root)))
			goto fail;
	}
	if (db_commit(db))
		goto fail;
	free(order);
	plan->id = id;
	return 0;
fail:
	free(order);
	db_rollback(db);
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
