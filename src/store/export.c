/*
 * export.c - the exported tables (store/export.h): one SELECT each, the
 * columns named as the file's header says, store paths in full.
 *
 * The narinfos table's columns are those of narwal's narinfo record
 * (numtide/narwal, its parquet export of cache.nixos.org) where they
 * match, in its order and under its names, so a notebook written for one
 * reads the other: store_path, url, compression, file_hash, file_size,
 * nar_hash, nar_size, references (basenames, sorted, as a narinfo lists
 * them), deriver, system, ca, signatures, last_modified_at (the push time
 * in milliseconds since the epoch, narwal's unit; narwal also truncates it
 * to the week, we do not).  Then what only cachegc knows: the cache, the
 * crawl that recorded the narinfo and when.
 */
#include "store/export.h"

#include <string.h>

#include "store/db.h"
#include "store/stmt.h"
#include "lib/util.h"

#define SD "(SELECT value FROM meta WHERE key = 'store_dir')"
#define FULL(p) SD " || '/' || " p ".hash || '-' || " p ".name"

enum {
	Q_NARINFOS,
	Q_PRESENCE,
	Q_REFS,
	Q_SIGNATURES,
	Q_CACHES,
	Q_CRAWLS,
	Q_CRAWL_REJECTS,
	Q_PATH_CHECKS,
	Q_EVALUATIONS,
	Q_EVAL_JOBS,
	Q_BUILDS,
	Q_ACCESSES,
	Q_TRUSTED_KEYS,
	Q_N
};

static const char *const sql[Q_N] = {
	[Q_NARINFOS] =
		"SELECT " FULL("p") ", n.url, n.compression, n.file_hash, n.file_size,"
		" n.nar_hash, n.nar_size,"
		" (SELECT json_group_array(b) FROM (SELECT r.hash || '-' || r.name AS b"
		"   FROM json_each(n.refs) j JOIN paths r ON r.id = j.value ORDER BY b)),"
		" n.deriver, n.system, n.ca, json(n.sigs),"
		" (SELECT pr.push_time * 1000 FROM presence pr"
		"   WHERE pr.cache_id = n.cache_id AND pr.path_id = n.path_id"
		"   ORDER BY pr.id DESC LIMIT 1),"
		" c.url, n.crawl_id, n.fetched_at"
		" FROM narinfos n JOIN paths p ON p.id = n.path_id JOIN caches c ON c.id = n.cache_id"
		" ORDER BY n.cache_id, n.path_id",
	[Q_PRESENCE] =
		"SELECT pr.id, c.url, " FULL("p") ", pr.push_time, pr.first_seen, pr.last_seen,"
		" pr.last_crawl_id, pr.gone_at, pr.gone_crawl_id"
		" FROM presence pr JOIN paths p ON p.id = pr.path_id"
		" JOIN caches c ON c.id = pr.cache_id ORDER BY pr.id",
	[Q_REFS] =
		"SELECT c.url, " FULL("p") ", " FULL("r")
		" FROM narinfos n JOIN paths p ON p.id = n.path_id JOIN caches c ON c.id = n.cache_id,"
		" json_each(n.refs) j JOIN paths r ON r.id = j.value"
		" ORDER BY n.cache_id, n.path_id",
	[Q_SIGNATURES] =
		"SELECT c.url, " FULL("p") ","
		" CASE WHEN instr(s.value, ':') THEN substr(s.value, 1, instr(s.value, ':') - 1) END,"
		" CASE WHEN instr(s.value, ':') THEN substr(s.value, instr(s.value, ':') + 1)"
		"   ELSE s.value END"
		" FROM narinfos n JOIN paths p ON p.id = n.path_id JOIN caches c ON c.id = n.cache_id,"
		" json_each(n.sigs) s ORDER BY n.cache_id, n.path_id",
	[Q_CACHES] =
		"SELECT id, url, store_dir, want_mass_query, priority, added_at FROM caches ORDER BY id",
	[Q_CRAWLS] =
		"SELECT k.id, c.url, k.started_at, k.finished_at, k.status, k.n_new, k.n_present,"
		" k.n_gone, k.n_rejected, k.n_absent, k.n_unknown"
		" FROM crawls k JOIN caches c ON c.id = k.cache_id ORDER BY k.id",
	[Q_CRAWL_REJECTS] =
		"SELECT crawl_id, source, line, message, hash, bytes FROM crawl_rejects"
		" ORDER BY crawl_id, rowid",
	[Q_PATH_CHECKS] =
		"SELECT c.url, " FULL("p") ", k.status, k.since, k.checked_at, k.crawl_id,"
		" k.http_code, k.error"
		" FROM path_checks k JOIN paths p ON p.id = k.path_id JOIN caches c ON c.id = k.cache_id"
		" ORDER BY k.cache_id, k.path_id",
	[Q_EVALUATIONS] =
		"SELECT id, branch, rev, capabilities, system, time, jobset, source, imported_at,"
		" bad_lines FROM evaluations ORDER BY id",
	[Q_EVAL_JOBS] =
		"SELECT j.evaluation_id, j.attr, j.output,"
		" CASE WHEN o.id IS NOT NULL THEN " FULL("o") " END,"
		" CASE WHEN d.id IS NOT NULL THEN " FULL("d") " END,"
		" j.name, j.system, j.error, j.cache_status, j.needed_builds, j.needed_substitutes,"
		" j.line"
		" FROM eval_jobs j LEFT JOIN paths o ON o.id = j.path_id"
		" LEFT JOIN paths d ON d.id = j.drv_id"
		" ORDER BY j.evaluation_id, j.attr, j.output",
	[Q_BUILDS] =
		"SELECT b.id, " FULL("d") ", b.status, b.hydra_status, b.hydra_id, b.time, b.job,"
		" b.name, b.system, b.source, b.imported_at"
		" FROM builds b JOIN paths d ON d.id = b.drv_id ORDER BY b.id",
	[Q_ACCESSES] =
		"SELECT c.url, " FULL("p") ", a.day, a.narinfo_hits, a.nar_hits, a.narinfo_last,"
		" a.nar_last"
		" FROM accesses a JOIN paths p ON p.id = a.path_id JOIN caches c ON c.id = a.cache_id"
		" ORDER BY a.cache_id, a.path_id, a.day",
	[Q_TRUSTED_KEYS] =
		"SELECT name, public_key, added_at, revoked_at FROM trusted_keys ORDER BY name",
};
static struct stmt_table stmts = STMT_TABLE("export", sql);

#define T(n) {n, EXPORT_TEXT}
#define I(n) {n, EXPORT_INT}
#define L(n) {n, EXPORT_LIST}

static const struct export_column narinfo_cols[] = {
	T("store_path"), T("url"), T("compression"), T("file_hash"), I("file_size"),
	T("nar_hash"), I("nar_size"), L("references"), T("deriver"), T("system"), T("ca"),
	L("signatures"), I("last_modified_at"), T("cache"), I("crawl_id"), I("fetched_at"),
};
static const struct export_column presence_cols[] = {
	I("id"), T("cache"), T("store_path"), I("push_time"), I("first_seen"), I("last_seen"),
	I("last_crawl_id"), I("gone_at"), I("gone_crawl_id"),
};
static const struct export_column refs_cols[] = {
	T("cache"), T("store_path"), T("reference"),
};
static const struct export_column sig_cols[] = {
	T("cache"), T("store_path"), T("key_name"), T("sig"),
};
static const struct export_column cache_cols[] = {
	I("id"), T("url"), T("store_dir"), I("want_mass_query"), I("priority"), I("added_at"),
};
static const struct export_column crawl_cols[] = {
	I("id"), T("cache"), I("started_at"), I("finished_at"), T("status"), I("n_new"),
	I("n_present"), I("n_gone"), I("n_rejected"), I("n_absent"), I("n_unknown"),
};
static const struct export_column reject_cols[] = {
	I("crawl_id"), T("source"), I("line"), T("message"), T("hash"), I("bytes"),
};
static const struct export_column check_cols[] = {
	T("cache"), T("store_path"), T("status"), I("since"), I("checked_at"), I("crawl_id"),
	I("http_code"), T("error"),
};
static const struct export_column eval_cols[] = {
	I("id"), T("branch"), T("rev"), T("capabilities"), T("system"), I("time"), T("jobset"),
	T("source"), I("imported_at"), I("bad_lines"),
};
static const struct export_column job_cols[] = {
	I("evaluation_id"), T("attr"), T("output"), T("out_path"), T("drv_path"), T("name"),
	T("system"), T("error"), T("cache_status"), I("needed_builds"),
	I("needed_substitutes"), I("line"),
};
static const struct export_column build_cols[] = {
	I("id"), T("drv_path"), T("status"), I("hydra_status"), I("hydra_id"), I("time"),
	T("job"), T("name"), T("system"), T("source"), I("imported_at"),
};
static const struct export_column access_cols[] = {
	T("cache"), T("store_path"), I("day"), I("narinfo_hits"), I("nar_hits"),
	I("narinfo_last"), I("nar_last"),
};
static const struct export_column key_cols[] = {
	T("name"), T("public_key"), I("added_at"), I("revoked_at"),
};

#define TABLE(n, about, cols, q) {n, about, cols, (unsigned)ARRAY_SIZE(cols), q}

static const struct export_table tables[] = {
	TABLE("narinfos", "one row per narinfo recorded (narwal's narinfo record)",
	      narinfo_cols, Q_NARINFOS),
	TABLE("presence", "episodes of a path being in a cache", presence_cols, Q_PRESENCE),
	TABLE("refs", "one row per reference of a narinfo", refs_cols, Q_REFS),
	TABLE("signatures", "one row per Sig line of a narinfo", sig_cols, Q_SIGNATURES),
	TABLE("caches", "the caches crawled", cache_cols, Q_CACHES),
	TABLE("crawls", "each crawl and its counts", crawl_cols, Q_CRAWLS),
	TABLE("crawl_rejects", "narinfos a crawl refused, and why", reject_cols,
	      Q_CRAWL_REJECTS),
	TABLE("path_checks", "the last answer other than present (HTTP crawls)", check_cols,
	      Q_PATH_CHECKS),
	TABLE("evaluations", "evaluations imported", eval_cols, Q_EVALUATIONS),
	TABLE("eval_jobs", "their jobs, with output and .drv paths", job_cols, Q_EVAL_JOBS),
	TABLE("builds", "build outcomes imported", build_cols, Q_BUILDS),
	TABLE("accesses", "fetches per path and day, from access logs", access_cols,
	      Q_ACCESSES),
	TABLE("trusted_keys", "the signing keys trusted", key_cols, Q_TRUSTED_KEYS),
};

const struct export_table *export_tables(size_t *n)
{
	*n = ARRAY_SIZE(tables);
	return tables;
}

const struct export_table *export_table_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(tables); i++)
		if (!strcmp(tables[i].name, name))
			return &tables[i];
	return NULL;
}

const char *export_table_sql(const struct export_table *t)
{
	return sql[t->query];
}

int export_rows(struct db *db, const struct export_table *t, export_row_fn fn, void *ctx,
		uint64_t *rows)
{
	struct export_value v[32];
	sqlite3_stmt *st;
	int rc;

	if (t->ncols > ARRAY_SIZE(v))
		BUG("export table '%s' has %u columns", t->name, t->ncols);
	*rows = 0;
	if (!(st = stmt_query(db, &stmts, t->query, SQL_NOARGS)))
		return -1;
	if ((unsigned)sqlite3_column_count(st) != t->ncols)
		BUG("export table '%s': %d columns selected, %u named", t->name,
		    sqlite3_column_count(st), t->ncols);
	while ((rc = db_step(db, st)) == 1) {
		for (unsigned k = 0; k < t->ncols; k++) {
			int ty = sqlite3_column_type(st, (int)k);

			memset(&v[k], 0, sizeof(v[k]));
			if (ty == SQLITE_NULL) {
				v[k].null = 1;
			} else if (t->cols[k].kind == EXPORT_INT) {
				v[k].i = sqlite3_column_int64(st, (int)k);
			} else {
				v[k].s = (const char *)sqlite3_column_text(st, (int)k);
				v[k].len = (size_t)sqlite3_column_bytes(st, (int)k);
				if (!v[k].s)
					v[k].s = "";
			}
		}
		if ((rc = fn(ctx, v))) {
			stmt_done(st);
			return rc;
		}
		(*rows)++;
	}
	return rc < 0 ? -1 : 0;
}
