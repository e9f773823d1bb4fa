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

int evict_plan_save(struct db *db, struct evict_plan *plan)
{
	static const char sql_plan[] =
		"INSERT INTO evict_plans (cache_id, crawl_id, created_at, policy, limit_bytes,"
		" size_before, size_after, paths_before, n_paths, n_jobs, limit_reached,"
		" weights, retention)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
	static const char sql_path[] =
		"INSERT INTO evict_plan_paths (plan_id, seq, path_id, reason, url, stored_size,"
		" file_size, nar_size, breaks) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
	static const char sql_job[] =
		"INSERT OR IGNORE INTO evict_plan_jobs (plan_id, evaluation_id, attr, output, path_id)"
		" VALUES (?1, ?2, ?3, ?4, ?5)";
	static const char sql_break[] =
		"INSERT OR IGNORE INTO evict_plan_breaks (plan_id, seq, evaluation_id, attr, output)"
		" VALUES (?1, ?2, ?3, ?4, ?5)";
	sqlite3_stmt *st;
	int64_t id;

	if (db_begin(db))
		return -1;
	if (!(st = db_stmt(db, sql_plan)))
		goto fail;
	db_bind_int(st, 1, plan->cache_id);
	db_bind_int_opt(st, 2, plan->crawl_id ? plan->crawl_id : -1);
	db_bind_int(st, 3, plan->created_at);
	db_bind_text(st, 4, plan->policy);
	db_bind_int(st, 5, (int64_t)plan->limit);
	db_bind_int(st, 6, (int64_t)plan->size_before);
	db_bind_int(st, 7, (int64_t)plan->size_after);
	db_bind_int(st, 8, (int64_t)plan->paths_before);
	db_bind_int(st, 9, (int64_t)plan->n);
	db_bind_int(st, 10, (int64_t)plan->njobs);
	db_bind_int(st, 11, plan->limit_reached);
	db_bind_text(st, 12, plan->weights);
	db_bind_int_opt(st, 13, plan->retention > 0 ? plan->retention : -1);
	if (db_run(db, st))
		goto fail;
	id = db_last_id(db);
	for (size_t i = 0; i < plan->n; i++) {
		const struct evict_path *ep = &plan->paths[i];
		if (!(st = db_stmt(db, sql_path)))
			goto fail;
		db_bind_int(st, 1, id);
		db_bind_int(st, 2, (int64_t)i + 1);
		db_bind_int(st, 3, ep->path_id);
		db_bind_text(st, 4, evict_reason_name(ep->reason));
		db_bind_text(st, 5, ep->url);
		db_bind_int(st, 6, ep->stored);
		db_bind_int_opt(st, 7, ep->file_size);
		db_bind_int(st, 8, ep->nar_size);
		db_bind_int(st, 9, ep->nbreaks);
		if (db_run(db, st))
			goto fail;
		for (unsigned b = 0; b < ep->nbreaks_kept; b++) {
			const struct evict_job *j = &plan->jobs[ep->breaks[b]];
			if (!(st = db_stmt(db, sql_break)))
				goto fail;
			db_bind_int(st, 1, id);
			db_bind_int(st, 2, (int64_t)i + 1);
			db_bind_int(st, 3, j->evaluation_id);
			db_bind_text(st, 4, j->attr);
			db_bind_text(st, 5, j->output);
			if (db_run(db, st))
				goto fail;
		}
	}
	for (size_t i = 0; i < plan->njobs; i++) {
		const struct evict_job *j = &plan->jobs[i];
		if (!(st = db_stmt(db, sql_job)))
			goto fail;
		db_bind_int(st, 1, id);
		db_bind_int(st, 2, j->evaluation_id);
		db_bind_text(st, 3, j->attr);
		db_bind_text(st, 4, j->output);
		db_bind_int(st, 5, j->root);
		if (db_run(db, st))
			goto fail;
	}
	if (db_commit(db))
		goto fail;
	plan->id = id;
	return 0;
fail:
	db_rollback(db);
	return -1;
}

int evict_plan_load(struct db *db, int64_t id, struct evict_plan *plan)
{
	static const char sql_plan[] =
		"SELECT p.cache_id, coalesce(p.crawl_id, 0), p.created_at, p.policy, p.limit_bytes,"
		" p.size_before, p.size_after, p.paths_before, p.limit_reached, c.url"
		" FROM evict_plans p JOIN caches c ON c.id = p.cache_id WHERE p.id = ?1";
	static const char sql_paths[] =
		"SELECT pp.path_id, pp.reason, pp.url, pp.stored_size, coalesce(pp.file_size, -1),"
		" pp.nar_size, pp.breaks, pa.hash || '-' || pa.name"
		" FROM evict_plan_paths pp JOIN paths pa ON pa.id = pp.path_id"
		" WHERE pp.plan_id = ?1 ORDER BY pp.seq";
	sqlite3_stmt *st;
	int rc;

	memset(plan, 0, sizeof(*plan));
	if (!(st = db_stmt(db, sql_plan)))
		return -1;
	db_bind_int(st, 1, id);
	rc = db_step(db, st);
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
	sqlite3_reset(st);
	if (!(plan->store_dir = db_store_dir(db)))
		return -1;
	if (!(st = db_stmt(db, sql_paths)))
		return -1;
	db_bind_int(st, 1, id);
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
