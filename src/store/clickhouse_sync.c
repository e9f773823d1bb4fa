/*
 * clickhouse_sync.c - a ClickHouse store's crawl tables, pulled into and
 * pushed from a SQLite database (store/clickhouse_sync.h).
 */
#include "store/clickhouse_sync.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/clickhouse.h"
#include "store/db.h"
#include "store/pathindex.h"
#include "store/refs.h"
#include "store/schema.h"
#include "store/stmt.h"
#include "nix/nixhash.h"
#include "lib/util.h"

enum {
	Q_CACHE_ADD,
	Q_STORE_DIR,
	Q_CRAWL_ADD,
	Q_CRAWL_STUB,
	Q_NARINFO_ADD,
	Q_PRES_ADD,
	Q_LAST_CRAWL,
	Q_NEW_CRAWLS,
	Q_NEW_NARINFOS,
	Q_PRESENT,
	Q_N
};
static const char *const sql[Q_N] = {
	[Q_CACHE_ADD] =
		"INSERT INTO caches (url, store_dir, want_mass_query, priority, added_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5)",
	[Q_STORE_DIR] = "UPDATE meta SET value = ?1 WHERE key = 'store_dir'",
	[Q_CRAWL_ADD] =
		"INSERT INTO crawls (cache_id, started_at, finished_at, status, n_new, n_present,"
		" n_gone, n_rejected, n_absent, n_unknown)"
		" SELECT id, ?2, ?3, 'complete', ?4, ?5, ?6, ?7, ?8, ?9 FROM caches WHERE url = ?1",
	/* the crawl the narinfos of a cache without a complete crawl name */
	[Q_CRAWL_STUB] =
		"INSERT INTO crawls (cache_id, started_at, finished_at, status)"
		" SELECT c.id, c.added_at, c.added_at, 'interrupted' FROM caches c"
		" WHERE NOT EXISTS (SELECT 1 FROM crawls k WHERE k.cache_id = c.id)",
	[Q_NARINFO_ADD] =
		"INSERT INTO narinfos (cache_id, path_id, url, compression, file_hash, file_size,"
		" nar_hash, nar_size, deriver, ca, system, refs, sigs, crawl_id, fetched_at)"
		" SELECT c.id, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
		"  (SELECT max(k.id) FROM crawls k WHERE k.cache_id = c.id), ?14"
		" FROM caches c WHERE c.url = ?1",
	[Q_PRES_ADD] =
		"INSERT INTO presence (cache_id, path_id, push_time, first_seen, last_seen,"
		" last_crawl_id, gone_at, gone_crawl_id)"
		" SELECT c.id, ?2, ?3, ?4, ?5, k.id, ?6, CASE WHEN ?6 IS NOT NULL THEN k.id END"
		" FROM caches c, (SELECT max(id) AS id FROM crawls WHERE cache_id ="
		"  (SELECT id FROM caches WHERE url = ?1)) k WHERE c.url = ?1",
	[Q_LAST_CRAWL] = "SELECT coalesce(max(id), 0) FROM crawls",
	[Q_NEW_CRAWLS] =
		"SELECT k.id, c.id, c.url, c.store_dir, c.want_mass_query, c.priority, c.added_at,"
		" k.started_at, coalesce(k.finished_at, k.started_at), k.status, k.n_new, k.n_present,"
		" k.n_gone, k.n_rejected, k.n_absent, k.n_unknown"
		" FROM crawls k JOIN caches c ON c.id = k.cache_id WHERE k.id > ?1 ORDER BY k.id",
	[Q_NEW_NARINFOS] =
		"SELECT p.hash, p.name, n.url, n.compression, n.file_hash, n.file_size, n.nar_hash,"
		" n.nar_size, n.deriver, n.ca, n.system,"
		" (SELECT json_group_array(b) FROM (SELECT r.hash || '-' || r.name AS b"
		"   FROM json_each(n.refs) j JOIN paths r ON r.id = j.value ORDER BY b)),"
		" n.sigs, n.fetched_at"
		" FROM narinfos n JOIN paths p ON p.id = n.path_id WHERE n.crawl_id = ?1",
	/* the episodes crawl ?2 changed: it saw them, or found them gone */
	[Q_PRESENT] =
		"SELECT p.hash, pr.first_seen, pr.push_time, pr.last_seen, pr.gone_at FROM presence pr"
		" JOIN paths p ON p.id = pr.path_id WHERE pr.cache_id = ?1"
		" AND (pr.last_crawl_id = ?2 OR pr.gone_crawl_id = ?2)",
};
static struct stmt_table stmts = STMT_TABLE("clickhouse", sql);

/* ---- the tables ------------------------------------------------------------ */

static int count_row(void *ctx, struct tsv_field *f, int n)
{
	(void)n;
	return parse_uint(f[0].s, ctx) ? -1 : 0;
}

int ch_prepare(struct ch *ch, int create)
{
	struct strbuf q = STRBUF_INIT;
	uint64_t n = 0;
	int rc;

	strbuf_addstr(&q, "SELECT count() FROM system.databases WHERE name = ");
	ch_quote(&q, ch->database);
	rc = ch_select(ch, q.buf, 1, count_row, &n);
	if (!rc && !n)
		rc = error("%s: there is no database '%s' (CREATE DATABASE %s first, or check --db)",
			   ch->where, ch->database, ch->database);
	if (!rc && !create) {
		strbuf_reset(&q);
		strbuf_addstr(&q, "SELECT count() FROM system.tables WHERE name IN ('caches', 'crawls',"
			      " 'narinfos', 'presence') AND database = ");
		ch_quote(&q, ch->database);
		if (!(rc = ch_select(ch, q.buf, 1, count_row, &n)) && n < 4)
			rc = error("%s: the database holds no cachegc store (tables caches, crawls, "
				   "narinfos, presence): crawl into it first", ch->where);
	}
	for (unsigned m = 0; !rc && create && m < n_ch_schema; m++) {
		/* statements end in ';' at a line's end; "-- " comments */
		const char *s = ch_schema[m].sql;
		strbuf_reset(&q);
		while (*s && !rc) {
			const char *eol = strchr(s, '\n');
			size_t len = eol ? (size_t)(eol - s) : strlen(s);
			const char *dash = memmem(s, len, "--", 2);
			size_t keep = dash ? (size_t)(dash - s) : len;

			for (size_t i = 0; i < keep; i++) {
				if (s[i] == '{' && keep - i >= 4 && !memcmp(s + i, "{db}", 4)) {
					strbuf_addstr(&q, ch->database);
					i += 3;
				} else {
					strbuf_addch(&q, s[i]);
				}
			}
			strbuf_addch(&q, ' ');
			while (q.len && (q.buf[q.len - 1] == ' ' || q.buf[q.len - 1] == '\t'))
				q.len--;
			if (q.len && q.buf[q.len - 1] == ';') {
				q.buf[--q.len] = '\0';
				rc = ch_exec(ch, q.buf);
				strbuf_reset(&q);
			} else if (q.len) {
				strbuf_addch(&q, '\n');
			}
			s += len + (eol != NULL);
		}
	}
	strbuf_release(&q);
	return rc;
}

/* ---- pull ------------------------------------------------------------------- */

struct pull {
	struct ch *ch;
	struct db *db;
	struct path_index pi;
	struct strbuf refs, list;
	uint32_t *ids;
	size_t aids;
	uint64_t rows;
};

static int64_t field_int(const struct tsv_field *f, int *bad)
{
	char *end;
	long long v;

	if (f->null)
		return 0;
	v = strtoll(f->s, &end, 10);
	if (!f->len || *end)
		*bad = 1;
	return v;
}

static struct sql_arg opt_int(const struct tsv_field *f, int *bad)
{
	return f->null ? SQL_NULL : sql_arg_int(field_int(f, bad));
}

static struct sql_arg opt_text(const struct tsv_field *f)
{
	return f->null ? SQL_NULL : SQL_TEXTN(f->s, f->len);
}

static int malformed(struct pull *p, const char *table, const char *what)
{
	return error("%s: a row of %s.%s has %s; the store was not written by this cachegc",
		     p->ch->where, p->ch->database, table, what);
}

static int pull_cache(void *ctx, struct tsv_field *f, int n)
{
	struct pull *p = ctx;
	int bad = 0;
	struct sql_arg a[] = {SQL_TEXTN(f[0].s, f[0].len), SQL_TEXTN(f[1].s, f[1].len),
			      opt_int(&f[2], &bad), opt_int(&f[3], &bad),
			      sql_arg_int(field_int(&f[4], &bad))};

	(void)n;
	if (bad)
		return malformed(p, "caches", "a number that is not one");
	if (stmt_exec(p->db, &stmts, Q_CACHE_ADD, a, 5))
		return -1;
	return stmt_exec(p->db, &stmts, Q_STORE_DIR, SQL_ARGS(f[1].s));
}

static int pull_crawl(void *ctx, struct tsv_field *f, int n)
{
	struct pull *p = ctx;
	int bad = 0;
	uint64_t id;
	struct sql_arg a[9];

	(void)n;
	a[0] = SQL_TEXTN(f[0].s, f[0].len);
	for (int k = 2; k < 10; k++)
		a[k - 1] = sql_arg_int(field_int(&f[k], &bad));
	if (bad || parse_uint(f[1].s, &id))
		return malformed(p, "crawls", "a number that is not one");
	return stmt_exec(p->db, &stmts, Q_CRAWL_ADD, a, 9);
}

/* The id of basename s, interned. */
static uint32_t intern(struct pull *p, const char *s, size_t len)
{
	if (!store_basename_valid(s, len)) {
		struct strbuf m = STRBUF_INIT;
		strbuf_add_printable(&m, s, len > 200 ? 200 : len);
		malformed(p, "narinfos", "a path that is not a store path basename");
		error("the basename: '%s'", m.buf);
		strbuf_release(&m);
		return 0;
	}
	return path_index_intern(&p->pi, p->db, s, len);
}

static int pull_narinfo(void *ctx, struct tsv_field *f, int n)
{
	struct pull *p = ctx;
	struct strbuf base = STRBUF_INIT;
	size_t nids = 0;
	uint32_t id;
	int bad = 0, rc;
	json_t *sigs = json_array();
	char *sigtext;

	(void)n;
	strbuf_addf(&base, "%s-%s", f[1].s, f[2].s);
	id = intern(p, base.buf, base.len);
	strbuf_release(&base);
	if (!id)
		return -1;
	for (char *s = f[12].s, *e; !f[12].null && *s; s = *e ? e + 1 : e) {
		uint32_t r;
		e = strchr(s, '\n');
		if (!e)
			e = s + strlen(s);
		if (!(r = intern(p, s, (size_t)(e - s))))
			return -1;
		GROW(p->ids, p->aids, nids + 1);
		p->ids[nids++] = r;
	}
	refs_encode(&p->refs, p->ids, nids);
	for (char *s = f[13].s, *e; !f[13].null && *s; s = *e ? e + 1 : e) {
		e = strchr(s, '\n');
		if (!e)
			e = s + strlen(s);
		json_array_append_new(sigs, json_stringn(s, (size_t)(e - s)));
	}
	sigtext = json_dumps(sigs, JSON_COMPACT);
	json_decref(sigs);
	{
		struct sql_arg a[] = {
			SQL_TEXTN(f[0].s, f[0].len), sql_arg_int((int64_t)id), SQL_TEXTN(f[3].s, f[3].len),
			SQL_TEXTN(f[4].s, f[4].len), opt_text(&f[5]), opt_int(&f[6], &bad),
			SQL_TEXTN(f[7].s, f[7].len), sql_arg_int(field_int(&f[8], &bad)), opt_text(&f[9]),
			opt_text(&f[10]), opt_text(&f[11]), SQL_TEXTN(p->refs.buf, p->refs.len),
			sql_arg_text(sigtext ? sigtext : "[]"), sql_arg_int(field_int(&f[14], &bad)),
		};
		rc = bad ? malformed(p, "narinfos", "a number that is not one")
			 : stmt_exec(p->db, &stmts, Q_NARINFO_ADD, a, 14);
	}
	free(sigtext);
	p->rows++;
	return rc;
}

static int pull_present(void *ctx, struct tsv_field *f, int n)
{
	struct pull *p = ctx;
	uint32_t id;
	int bad = 0;

	(void)n;
	if (f[1].len != STORE_HASH_LEN || !(id = path_index_find(&p->pi, f[1].s)))
		return malformed(p, "presence", "a path without a narinfo");
	{
		/* push_time and gone_at come as -1 for NULL (see ch_pull) */
		int64_t push = field_int(&f[3], &bad), gone = field_int(&f[5], &bad);
		struct sql_arg a[] = {SQL_TEXTN(f[0].s, f[0].len), sql_arg_int((int64_t)id),
				      push < 0 ? SQL_NULL : sql_arg_int(push),
				      sql_arg_int(field_int(&f[2], &bad)),
				      sql_arg_int(field_int(&f[4], &bad)),
				      gone < 0 ? SQL_NULL : sql_arg_int(gone)};
		if (bad)
			return malformed(p, "presence", "a number that is not one");
		return stmt_exec(p->db, &stmts, Q_PRES_ADD, a, 6);
	}
}

int ch_pull(struct ch *ch, struct db *db)
{
	struct pull p = {.ch = ch, .db = db, .refs = STRBUF_INIT, .list = STRBUF_INIT};
	struct strbuf q = STRBUF_INIT;
	const char *d = ch->database;
	int rc;

	if (db_begin(db))
		return -1;
	if ((rc = path_index_load(&p.pi, db)))
		goto out;
	strbuf_addf(&q, "SELECT url, any(store_dir), any(want_mass_query), any(priority),"
		    " min(added_at) FROM %s.caches GROUP BY url ORDER BY url", d);
	if ((rc = ch_select(ch, q.buf, 5, pull_cache, &p)))
		goto out;
	/* each cache's latest complete crawl */
	strbuf_reset(&q);
	strbuf_addf(&q, "SELECT cache, crawl_id, started_at, finished_at, n_new, n_present, n_gone,"
		    " n_rejected, n_absent, n_unknown FROM %s.crawls WHERE status = 'complete'"
		    " ORDER BY cache, finished_at DESC, crawl_id DESC LIMIT 1 BY cache", d);
	if ((rc = ch_select(ch, q.buf, 10, pull_crawl, &p)) ||
	    (rc = stmt_exec(db, &stmts, Q_CRAWL_STUB, SQL_NOARGS)))
		goto out;
	strbuf_reset(&q);
	strbuf_addf(&q, "SELECT cache, hash, any(name), any(url), any(compression), any(file_hash),"
		    " any(file_size), any(nar_hash), any(nar_size), any(deriver), any(ca),"
		    " any(system), arrayStringConcat(any(refs), '\\n'),"
		    " arrayStringConcat(any(sigs), '\\n'), min(fetched_at)"
		    " FROM %s.narinfos GROUP BY cache, hash", d);
	if ((rc = ch_select(ch, q.buf, 15, pull_narinfo, &p)))
		goto out;
	/* Each episode as its latest valid row (sql/clickhouse): the latest
	 * is the one gone, else the one seen last.  An aggregate skips NULL
	 * arguments, so NULLs travel as -1. */
	strbuf_reset(&q);
	strbuf_addf(&q, "SELECT cache, hash, first_seen, argMax(ifNull(push_time, -1), v),"
		    " argMax(last_seen, v), argMax(ifNull(gone_at, -1), v) FROM"
		    " (SELECT cache, hash, first_seen, push_time, last_seen, gone_at,"
		    "  (isNotNull(gone_at), last_seen) AS v FROM %s.presence"
		    "  WHERE gone_at IS NULL OR crawl_id GLOBAL IN"
		    "   (SELECT crawl_id FROM %s.crawls WHERE status = 'complete'))"
		    " GROUP BY cache, hash, first_seen", d, d);
	if ((rc = ch_select(ch, q.buf, 6, pull_present, &p)))
		goto out;
	rc = db_commit(db);
out:
	if (rc)
		db_rollback(db);
	path_index_release(&p.pi);
	free(p.ids);
	strbuf_release(&p.refs);
	strbuf_release(&p.list);
	strbuf_release(&q);
	return rc ? -1 : 0;
}

/* ---- push ------------------------------------------------------------------- */

int ch_last_crawl(struct db *db, int64_t *id)
{
	return stmt_int(db, &stmts, Q_LAST_CRAWL, SQL_NOARGS, id);
}

/* Rows waiting to be inserted into one table, sent every batch rows. */
struct batch {
	struct ch *ch;
	const char *table, *cols;
	struct strbuf rows;
	size_t n, max;
};

static int batch_flush(struct batch *b)
{
	int rc = 0;

	if (b->n)
		rc = ch_insert(b->ch, b->table, b->cols, b->rows.buf, b->rows.len);
	strbuf_reset(&b->rows);
	b->n = 0;
	return rc;
}

static int batch_row_done(struct batch *b)
{
	strbuf_addch(&b->rows, '\n');
	return ++b->n >= b->max ? batch_flush(b) : 0;
}

/* The end of the rows of st: send what is left, or, when the loop stopped
 * on an error (rc), stop reading st.  0 or -1. */
static int rows_end(struct batch *b, sqlite3_stmt *st, int rc)
{
	if (rc) {
		stmt_done(st);
		return -1;
	}
	return batch_flush(b);
}

static void put_text(struct strbuf *sb, sqlite3_stmt *st, int col, int tab)
{
	if (tab)
		strbuf_addch(sb, '\t');
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		strbuf_addstr(sb, "\\N");
	else
		tsv_escape(sb, (const char *)sqlite3_column_text(st, col),
			   (size_t)sqlite3_column_bytes(st, col));
}

static void put_int(struct strbuf *sb, sqlite3_stmt *st, int col, int tab)
{
	if (tab)
		strbuf_addch(sb, '\t');
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		strbuf_addstr(sb, "\\N");
	else
		strbuf_addf(sb, "%lld", (long long)sqlite3_column_int64(st, col));
}

/* A JSON array of strings (SQLite's) as a ClickHouse Array(String). */
static int put_array(struct strbuf *sb, sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);
	json_t *a = json_loads(s ? s : "[]", 0, NULL);
	size_t k;
	json_t *it;

	if (!json_is_array(a)) {
		json_decref(a);
		return error("a list in the scratch database is not a JSON array");
	}
	strbuf_addstr(sb, "\t[");
	json_array_foreach(a, k, it) {
		strbuf_addstr(sb, k ? ",'" : "'");
		tsv_escape(sb, json_string_value(it) ? json_string_value(it) : "",
			   json_string_length(it));
		strbuf_addch(sb, '\'');
	}
	strbuf_addch(sb, ']');
	json_decref(a);
	return 0;
}

static uint64_t random_id(void)
{
	uint64_t v = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		v = (uint64_t)mono_ms() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid() << 32;
	if (fd >= 0)
		close(fd);
	v &= INT64_MAX;
	return v ? v : 1;
}

static size_t batch_rows(void)
{
	const char *e = getenv("CACHEGC_CH_BATCH_ROWS");
	uint64_t n;

	if (e && !parse_uint(e, &n) && n > 0 && n < 10000000)
		return (size_t)n;
	return 50000;
}

#define CRAWL_COLS "crawl_id, cache, started_at, finished_at, status, n_new, n_present," \
		   " n_gone, n_rejected, n_absent, n_unknown"

/* The crawls row of crawl k (st: a Q_NEW_CRAWLS row) with status. */
static int push_crawl_row(struct ch *ch, sqlite3_stmt *st, uint64_t id, const char *status)
{
	struct strbuf r = STRBUF_INIT;
	int rc;

	strbuf_addf(&r, "%llu", (unsigned long long)id);
	put_text(&r, st, 2, 1);
	put_int(&r, st, 7, 1);
	put_int(&r, st, 8, 1);
	strbuf_addch(&r, '\t');
	tsv_escape(&r, status, strlen(status));
	for (int c = 10; c < 16; c++)
		put_int(&r, st, c, 1);
	strbuf_addch(&r, '\n');
	rc = ch_insert(ch, "crawls", CRAWL_COLS, r.buf, r.len);
	strbuf_release(&r);
	return rc;
}

static int push_one(struct ch *ch, struct db *db, sqlite3_stmt *k)
{
	int64_t crawl = sqlite3_column_int64(k, 0), cache_id = sqlite3_column_int64(k, 1);
	uint64_t id = random_id();
	const char *status = (const char *)sqlite3_column_text(k, 9);
	struct batch b = {.ch = ch, .rows = STRBUF_INIT, .max = batch_rows()};
	struct strbuf url = STRBUF_INIT;
	sqlite3_stmt *st;
	int rc;

	tsv_escape(&url, (const char *)sqlite3_column_text(k, 2), (size_t)sqlite3_column_bytes(k, 2));
	/* the cache */
	b.table = "caches";
	b.cols = "url, store_dir, want_mass_query, priority, added_at";
	strbuf_add(&b.rows, url.buf, url.len);
	put_text(&b.rows, k, 3, 1);
	put_int(&b.rows, k, 4, 1);
	put_int(&b.rows, k, 5, 1);
	put_int(&b.rows, k, 6, 1);
	if ((rc = batch_row_done(&b)) || (rc = batch_flush(&b)))
		goto out;
	/* that it runs: rows of it may follow */
	if ((rc = push_crawl_row(ch, k, id, "running")))
		goto out;
	/* its new narinfos */
	b.table = "narinfos";
	b.cols = "cache, hash, name, url, compression, file_hash, file_size, nar_hash, nar_size,"
		 " deriver, ca, system, refs, sigs, crawl_id, fetched_at";
	if (!(st = stmt_query(db, &stmts, Q_NEW_NARINFOS, SQL_ARGS(crawl)))) {
		rc = -1;
		goto out;
	}
	while ((rc = db_step(db, st)) == 1) {
		strbuf_add(&b.rows, url.buf, url.len);
		for (int c = 0; c < 5; c++)
			put_text(&b.rows, st, c, 1);
		put_int(&b.rows, st, 5, 1);
		put_text(&b.rows, st, 6, 1);
		put_int(&b.rows, st, 7, 1);
		for (int c = 8; c < 11; c++)
			put_text(&b.rows, st, c, 1);
		if (put_array(&b.rows, st, 11) || put_array(&b.rows, st, 12)) {
			rc = -1;
			break;
		}
		strbuf_addf(&b.rows, "\t%llu", (unsigned long long)id);
		put_int(&b.rows, st, 13, 1);
		if ((rc = batch_row_done(&b)))
			break;
	}
	if ((rc = rows_end(&b, st, rc)))
		goto out;
	/* the episodes it changed */
	b.table = "presence";
	b.cols = "crawl_id, cache, hash, first_seen, push_time, last_seen, gone_at";
	if (!(st = stmt_query(db, &stmts, Q_PRESENT, SQL_ARGS(cache_id, crawl)))) {
		rc = -1;
		goto out;
	}
	while ((rc = db_step(db, st)) == 1) {
		strbuf_addf(&b.rows, "%llu\t", (unsigned long long)id);
		strbuf_add(&b.rows, url.buf, url.len);
		put_text(&b.rows, st, 0, 1);
		for (int c = 1; c < 5; c++)
			put_int(&b.rows, st, c, 1);
		if ((rc = batch_row_done(&b)))
			break;
	}
	if ((rc = rows_end(&b, st, rc)))
		goto out;
	/* last: how it ended; only now is a complete crawl read as one */
	rc = push_crawl_row(ch, k, id, status ? status : "failed");
out:
	strbuf_release(&b.rows);
	strbuf_release(&url);
	return rc;
}

int ch_push(struct ch *ch, struct db *db, int64_t after, unsigned *n)
{
	sqlite3_stmt *k;
	int rc;

	*n = 0;
	if (!(k = stmt_query(db, &stmts, Q_NEW_CRAWLS, SQL_ARGS(after))))
		return -1;
	while ((rc = db_step(db, k)) == 1) {
		if (push_one(ch, db, k)) {
			stmt_done(k);
			return -1;
		}
		(*n)++;
	}
	return rc < 0 ? -1 : 0;
}
