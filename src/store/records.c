/*
 * records.c - reading recorded rows for the commands (see
 * store/records.h).
 */
#include "store/records.h"

#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/stmt.h"

enum {
	Q_NAMES,
	Q_BASE,
	Q_NARINFO,
	Q_PRESENT,
	Q_KEYS,
	Q_PLAN_URL,
	Q_N
};
static const char *const sql[Q_N] = {
	[Q_NAMES] = "SELECT id, hash, name FROM paths WHERE id < ?1",
	[Q_BASE] = "SELECT hash || '-' || name FROM paths WHERE id = ?1",
	[Q_NARINFO] = "SELECT nar_hash, nar_size, url, compression, file_hash, file_size, "
		      "deriver, ca, sigs FROM narinfos WHERE cache_id = ?1 AND path_id = ?2",
	[Q_PRESENT] = "SELECT path_id FROM presence WHERE cache_id = ?1 AND gone_at IS NULL",
	[Q_KEYS] = "SELECT name, public_key, added_at, revoked_at FROM trusted_keys "
		   "ORDER BY name",
	[Q_PLAN_URL] = "SELECT c.url FROM evict_plans p JOIN caches c ON c.id = p.cache_id "
		       "WHERE p.id = ?1",
};
static struct stmt_table stmts = STMT_TABLE("records", sql);

/* ---- path names ------------------------------------------------------ */

int path_names_load(struct path_names *pn, struct db *db, uint32_t n)
{
	struct strbuf sb = STRBUF_INIT;
	sqlite3_stmt *st;
	int rc;

	pn->n = n;
	pn->at = xcalloc(n ? n : 1, sizeof(*pn->at));
	strbuf_addch(&sb, '\0');
	pn->pool = NULL;
	if (!(st = stmt_query(db, &stmts, Q_NAMES, SQL_ARGS(n)))) {
		pn->pool = strbuf_detach(&sb);
		return -1;
	}
	while ((rc = db_step(db, st)) == 1) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (id <= 0 || id >= n)
			continue;
		pn->at[id] = (uint32_t)sb.len;
		strbuf_addstr(&sb, db_col_text(st, 1));
		strbuf_addch(&sb, '-');
		strbuf_addstr(&sb, db_col_text(st, 2));
		strbuf_addch(&sb, '\0');
	}
	pn->pool = strbuf_detach(&sb);
	return rc < 0 ? -1 : 0;
}

const char *path_names_get(const struct path_names *pn, uint32_t id)
{
	return id < pn->n ? pn->pool + pn->at[id] : "";
}

void path_names_release(struct path_names *pn)
{
	free(pn->pool);
	free(pn->at);
	memset(pn, 0, sizeof(*pn));
}

int path_base_name(struct db *db, int64_t id, struct strbuf *out)
{
	sqlite3_stmt *st;
	int rc = stmt_row(db, &stmts, Q_BASE, &st, SQL_ARGS(id));

	if (rc == 1) {
		strbuf_addstr(out, db_col_text(st, 0));
		stmt_done(st);
	}
	return rc;
}

/* ---- narinfos and presence ------------------------------------------- */

static char *dup_col(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? NULL : xstrdup(db_col_text(st, i));
}

int narinfo_record_get(struct db *db, int64_t cache_id, int64_t path_id,
		       struct narinfo_record *r)
{
	sqlite3_stmt *st;
	int rc = stmt_row(db, &stmts, Q_NARINFO, &st, SQL_ARGS(cache_id, path_id));

	memset(r, 0, sizeof(*r));
	r->file_size = -1;
	if (rc != 1)
		return rc;
	r->nar_hash = xstrdup(db_col_text(st, 0));
	r->nar_size = sqlite3_column_int64(st, 1);
	r->url = xstrdup(db_col_text(st, 2));
	r->compression = xstrdup(db_col_text(st, 3));
	r->file_hash = dup_col(st, 4);
	if (sqlite3_column_type(st, 5) != SQLITE_NULL)
		r->file_size = sqlite3_column_int64(st, 5);
	r->deriver = dup_col(st, 6);
	r->ca = dup_col(st, 7);
	r->sigs = xstrdup(db_col_text(st, 8));
	stmt_done(st);
	return 1;
}

void narinfo_record_release(struct narinfo_record *r)
{
	free(r->nar_hash);
	free(r->url);
	free(r->compression);
	free(r->file_hash);
	free(r->deriver);
	free(r->ca);
	free(r->sigs);
	memset(r, 0, sizeof(*r));
}

int cache_present_ids(struct db *db, int64_t cache_id, int64_t **ids, size_t *n)
{
	sqlite3_stmt *st = stmt_query(db, &stmts, Q_PRESENT, SQL_ARGS(cache_id));
	size_t alloc = 0;
	int rc;

	*ids = NULL;
	*n = 0;
	if (!st)
		return -1;
	while ((rc = db_step(db, st)) == 1) {
		GROW(*ids, alloc, *n + 1);
		(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	return rc < 0 ? -1 : 0;
}

/* ---- keys and plans --------------------------------------------------- */

int trusted_keys_each(struct db *db, int (*fn)(const struct trusted_key_row *k, void *ctx),
		      void *ctx)
{
	sqlite3_stmt *st = stmt_query(db, &stmts, Q_KEYS, SQL_NOARGS);
	int rc;

	if (!st)
		return -1;
	while ((rc = db_step(db, st)) == 1) {
		struct trusted_key_row k = {
			db_col_text(st, 0), db_col_text(st, 1), sqlite3_column_int64(st, 2),
			sqlite3_column_type(st, 3) == SQLITE_NULL ? -1
				: sqlite3_column_int64(st, 3),
		};
		int r = fn(&k, ctx);
		if (r) {
			stmt_done(st);
			return r;
		}
	}
	return rc < 0 ? -1 : 0;
}

int evict_plan_cache_url(struct db *db, int64_t plan_id, char **url)
{
	sqlite3_stmt *st;
	int rc = stmt_row(db, &stmts, Q_PLAN_URL, &st, SQL_ARGS(plan_id));

	*url = NULL;
	if (rc == 1) {
		*url = xstrdup(db_col_text(st, 0));
		stmt_done(st);
	}
	return rc;
}
