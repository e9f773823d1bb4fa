/*
 * crawl.c - the crawl recorder and the file:// directory walker.
 *
 * Per-cache state lives in flat arrays indexed by path id (flags and the
 * open presence row), loaded with two scans at crawl_begin, so a re-crawl
 * of a known cache costs one UPDATE per present path and no narinfo reads.
 */
#include "ingest/crawl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/checkpointer.h"
#include "store/db.h"
#include "store/refs.h"
#include "store/stmt.h"
#include "lib/cachepath.h"
#include "lib/util.h"

#define CRAWL_F_NARINFO 1   /* narinfo recorded for this cache */
#define CRAWL_F_SEEN    2   /* seen by this crawl */
#define CRAWL_F_OURS    4   /* narinfo first recorded by this crawl (an
                               earlier run of the same shard) */
#define BATCH_WRITES    100000
#define CRAWL_READERS_MAX 4   /* crawl_dir's reader threads, at most */
#define REJECT_REPORT_MAX 20

/* A batched crawl (crawl_dir) writes its narinfos and presence rows this
 * many to a statement (see crawl_batch); SQL_ROWS32 spells the VALUES list.
 * Those statements are INSERT OR ROLLBACK: a failing row ends the whole
 * transaction (as it ends the crawl anyway), so SQLite keeps no statement
 * journal to undo only the rows before it. */
#define FLUSH_ROWS SQL_ROWS_BATCH
#define NARINFO_COLS(insert) \
	insert " INTO narinfos (cache_id, path_id, url, compression, file_hash, file_size, " \
	"nar_hash, nar_size, deriver, ca, system, refs, sigs, crawl_id, fetched_at) VALUES "
#define PRESENCE_COLS(insert) \
	insert " INTO presence (cache_id, path_id, push_time, first_seen, last_seen, " \
	"last_crawl_id) VALUES "

volatile int crawl_interrupted;

static const char nix32_chars[] = "0123456789abcdfghijklmnpqrsvwxyz";

unsigned crawl_shard_of(const char *hash, size_t len, unsigned n)
{
	uint32_t v = 0;

	if (len != STORE_HASH_LEN || n < 2 || !store_hash_valid(hash, len))
		return 1;
	for (int i = 0; i < CRAWL_SHARD_CHARS; i++) {
		const char *p = hash[i] ? strchr(nix32_chars, hash[i]) : NULL;
		if (!p)
			return 1;
		v = v << 5 | (uint32_t)(p - nix32_chars);
	}
	return (unsigned)((uint64_t)v * n / CRAWL_SHARD_SPAN) + 1;
}

int crawl_shard_has(const struct crawl_shard *sh, const char *hash, size_t len)
{
	return !sh || !sh->n || crawl_shard_of(hash, len, sh->n) == sh->k;
}

/* The first v of shard k (1..n+1): ceil((k - 1) * SPAN / n). */
static uint32_t shard_first(unsigned k, unsigned n)
{
	return (uint32_t)(((uint64_t)(k - 1) * CRAWL_SHARD_SPAN + n - 1) / n);
}

static void shard_encode(uint32_t v, char out[CRAWL_SHARD_CHARS + 1])
{
	for (int i = CRAWL_SHARD_CHARS - 1; i >= 0; i--, v >>= 5)
		out[i] = nix32_chars[v & 31];
	out[CRAWL_SHARD_CHARS] = '\0';
}

void crawl_shard_range(unsigned k, unsigned n, char lo[CRAWL_SHARD_CHARS + 1],
		       char hi[CRAWL_SHARD_CHARS + 1])
{
	if (k <= 1)
		lo[0] = '\0';
	else
		shard_encode(shard_first(k, n), lo);
	if (k >= n)
		strcpy(hi, "{");
	else
		shard_encode(shard_first(k + 1, n), hi);
}

int crawl_shard_parse(const char *s, unsigned *k, unsigned *n)
{
	uint64_t a = 0, b = 0;
	const char *p = s;
	size_t da = 0, db = 0;

	for (; *p >= '0' && *p <= '9' && da < 8; p++, da++)
		a = a * 10 + (uint64_t)(*p - '0');
	if (!da || *p++ != '/')
		return -1;
	for (; *p >= '0' && *p <= '9' && db < 8; p++, db++)
		b = b * 10 + (uint64_t)(*p - '0');
	if (!db || *p || a < 1 || b < 1 || a > b || b > CRAWL_SHARD_MAX)
		return -1;
	*k = (unsigned)a;
	*n = (unsigned)b;
	return 0;
}

enum {
	Q_STORE_DIR,
	Q_CACHE_GET,
	Q_CACHE_ADD,
	Q_CACHE_INFO,
	Q_STALE,
	Q_CRAWL_ADD,
	Q_LOAD_NARINFOS,
	Q_LOAD_OPEN,
	Q_PRES_TOUCH,
	Q_PRES_ADD,
	Q_NARINFO_ADD,
	Q_NARINFO_MANY,
	Q_PRES_MANY,
	Q_REJECT_ADD,
	Q_GONE,
	Q_GONE_ONE,
	Q_PATH_NAME,
	Q_CRAWL_END,
	Q_CRAWL_FAIL,
	Q_SCRAWL_GET,
	Q_SCRAWL_ADD,
	Q_SHARD_GET,
	Q_SHARD_ADD,
	Q_SHARD_RERUN,
	Q_SHARD_REJECTS,
	Q_SHARD_END,
	Q_SHARD_FAIL,
	Q_SHARD_SUMS,
	Q_GONE_RANGE,
	Q_N
};
static const char *const sql[Q_N] = {
	[Q_STORE_DIR] = "SELECT value FROM meta WHERE key = 'store_dir'",
	[Q_CACHE_GET] = "SELECT id, store_dir FROM caches WHERE url = ?1",
	[Q_CACHE_ADD] =
		"INSERT INTO caches (url, store_dir, want_mass_query, priority, added_at) "
		"VALUES (?1, ?2, ?3, ?4, ?5)",
	[Q_CACHE_INFO] =
		"UPDATE caches SET want_mass_query = ?2, priority = ?3 WHERE id = ?1",
	[Q_STALE] =
		"UPDATE crawls SET status = 'interrupted' WHERE cache_id = ?1 AND status = 'running'"
		" AND shards IS NULL",
	[Q_CRAWL_ADD] =
		"INSERT INTO crawls (cache_id, started_at, status) VALUES (?1, ?2, 'running')",
	[Q_LOAD_NARINFOS] = "SELECT path_id, crawl_id FROM narinfos WHERE cache_id = ?1",
	[Q_LOAD_OPEN] =
		"SELECT id, path_id FROM presence WHERE cache_id = ?1 AND gone_at IS NULL",
	[Q_PRES_TOUCH] =
		"UPDATE presence SET last_seen = ?1, last_crawl_id = ?2 WHERE id = ?3",
	[Q_PRES_ADD] =
		"INSERT INTO presence (cache_id, path_id, push_time, first_seen, last_seen, last_crawl_id) "
		"VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
	[Q_NARINFO_ADD] =
		NARINFO_COLS("INSERT") "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
	[Q_NARINFO_MANY] =
		NARINFO_COLS("INSERT OR ROLLBACK") SQL_ROWS32("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
	[Q_PRES_MANY] = PRESENCE_COLS("INSERT OR ROLLBACK") SQL_ROWS32("(?, ?, ?, ?, ?, ?)"),
	[Q_REJECT_ADD] =
		"INSERT INTO crawl_rejects (crawl_id, source, line, message, hash, bytes)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[Q_GONE] =
		"UPDATE presence SET gone_at = ?1, gone_crawl_id = ?2 "
		"WHERE cache_id = ?3 AND gone_at IS NULL AND last_crawl_id <> ?2",
	[Q_GONE_ONE] =
		"UPDATE presence SET gone_at = ?1, gone_crawl_id = ?2 WHERE id = ?3",
	[Q_PATH_NAME] = "SELECT name FROM paths WHERE id = ?1",
	[Q_CRAWL_END] =
		"UPDATE crawls SET status = ?2, finished_at = ?3, n_new = ?4, n_present = ?5, "
		"n_gone = ?6, n_rejected = ?7, n_absent = ?8, n_unknown = ?9 WHERE id = ?1",
	[Q_CRAWL_FAIL] =
		"UPDATE crawls SET status = 'failed', finished_at = ?2 WHERE id = ?1",
	[Q_SCRAWL_GET] =
		"SELECT id, started_at, shards, status FROM crawls WHERE cache_id = ?1 AND name = ?2",
	[Q_SCRAWL_ADD] =
		"INSERT INTO crawls (cache_id, started_at, status, name, shards)"
		" VALUES (?1, ?2, 'running', ?3, ?4)",
	[Q_SHARD_GET] = "SELECT status FROM crawl_shards WHERE crawl_id = ?1 AND shard = ?2",
	[Q_SHARD_ADD] =
		"INSERT INTO crawl_shards (crawl_id, shard, started_at, status)"
		" VALUES (?1, ?2, ?3, 'running')",
	[Q_SHARD_RERUN] =
		"UPDATE crawl_shards SET status = 'running', started_at = ?3, finished_at = NULL,"
		" runs = runs + 1 WHERE crawl_id = ?1 AND shard = ?2",
	/* A refused narinfo is refused again by every run: the rows of an
	 * earlier run of the shard go (NULL hash: a name that is none, in
	 * shard 1). */
	[Q_SHARD_REJECTS] =
		"DELETE FROM crawl_rejects WHERE crawl_id = ?1 AND"
		" (hash >= ?2 AND hash < ?3 OR hash IS NULL AND ?4 = 1)",
	[Q_SHARD_END] =
		"UPDATE crawl_shards SET status = ?3, finished_at = ?4, n_new = ?5, n_present = ?6,"
		" n_gone = ?7, n_rejected = ?8, n_absent = ?9, n_unknown = ?10"
		" WHERE crawl_id = ?1 AND shard = ?2",
	[Q_SHARD_FAIL] =
		"UPDATE crawl_shards SET status = 'failed', finished_at = ?3"
		" WHERE crawl_id = ?1 AND shard = ?2",
	[Q_SHARD_SUMS] =
		"SELECT count(*), total(n_new), total(n_present), total(n_gone), total(n_rejected),"
		" total(n_absent), total(n_unknown) FROM crawl_shards"
		" WHERE crawl_id = ?1 AND status = 'complete'",
	[Q_GONE_RANGE] =
		"UPDATE presence SET gone_at = ?1, gone_crawl_id = ?2 "
		"WHERE cache_id = ?3 AND gone_at IS NULL AND last_crawl_id <> ?2 AND path_id IN"
		" (SELECT id FROM paths WHERE hash >= ?4 AND hash < ?5)",
};
static struct stmt_table stmts = STMT_TABLE("crawl", sql);

/*
 * The rows a batched crawl has recorded and not yet written: a statement
 * per row costs a bind, a step and a reset of its own, worth about as much
 * as the B-tree insert, so crawl_dir queues narinfos and presence rows
 * (and path_index_intern_deferred the paths rows) and writes them
 * FLUSH_ROWS to a statement, in the order recorded.  paths ids are given
 * when the row is queued (by the path index); presence rows take SQLite's
 * next rowids, one after the other within a statement (no other writer
 * runs inside the transaction), as they would one statement each.  The
 * queues are written out before every commit and before anything reads
 * the tables they fill.
 */
struct pend_narinfo {
	struct narinfo ni;          /* owned */
	uint32_t id;
	unsigned owner;             /* the done list it goes to (keep_done) */
	size_t refs_at, refs_len;   /* its refs and sigs values in text */
	size_t sigs_at, sigs_len;
};

struct pend_presence {
	uint32_t path_id;
	int64_t push_time;
};

/* Narinfos written and no longer needed. */
struct ni_list {
	struct narinfo *v;
	size_t n, alloc;
};

static void ni_list_release(struct ni_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		narinfo_release(&l->v[i]);
	l->n = 0;
}

struct crawl_batch {
	struct pend_narinfo *ni;
	size_t nni, ni_alloc;
	struct pend_presence *pres;
	size_t npres, pres_alloc;
	struct strbuf text;
	/* keep_done: narinfos written go into done[their owner], for the
	 * thread that allocated them to free (crawl_dir's readers: glibc frees
	 * another thread's blocks slowly, under its arena's lock).  owner is
	 * the one of the narinfos added next. */
	int keep_done;
	unsigned owner;
	struct ni_list done[CRAWL_READERS_MAX];
	uint32_t frontier;          /* the greatest path id of a narinfo queued */
};

static void batch_discard(struct crawl_batch *b)
{
	for (size_t i = 0; i < b->nni; i++)
		narinfo_release(&b->ni[i].ni);
	b->nni = 0;
	b->npres = 0;
	strbuf_reset(&b->text);
}

static void narinfo_args(const struct crawl *c, const struct pend_narinfo *p,
			 struct sql_arg *a)
{
	const struct narinfo *ni = &p->ni;

	a[0] = SQL_ARG(c->cache_id);
	a[1] = SQL_ARG(p->id);
	a[2] = SQL_ARG(ni->url);
	a[3] = SQL_ARG(ni->compression);
	a[4] = SQL_ARG(ni->file_hash);
	a[5] = SQL_INT_OPT(ni->file_size);
	a[6] = SQL_ARG(ni->nar_hash);
	a[7] = SQL_ARG(ni->nar_size);
	a[8] = SQL_ARG(ni->deriver);
	a[9] = SQL_ARG(ni->ca);
	a[10] = SQL_ARG(ni->system);
	a[11] = SQL_TEXTN(c->batch->text.buf + p->refs_at, p->refs_len);
	a[12] = SQL_TEXTN(c->batch->text.buf + p->sigs_at, p->sigs_len);
	a[13] = SQL_ARG(c->crawl_id);
	a[14] = SQL_ARG(c->now);
}

static void presence_args(const struct crawl *c, const struct pend_presence *p,
			  struct sql_arg *a)
{
	a[0] = SQL_ARG(c->cache_id);
	a[1] = SQL_ARG(p->path_id);
	a[2] = SQL_INT_OPT(p->push_time);
	a[3] = SQL_ARG(c->now);
	a[4] = SQL_ARG(c->now);
	a[5] = SQL_ARG(c->crawl_id);
}

/* The rows pres[0..n) were just written by one statement: their ids. */
static void presence_ids(struct crawl *c, const struct pend_presence *pres, size_t n)
{
	int64_t last = db_last_id(c->db);

	for (size_t k = 0; k < n; k++)
		c->open_presence[pres[k].path_id] = last - (int64_t)(n - 1 - k);
}

/* Write the queued rows: all of them, or (all 0) the full statements'
 * worth, keeping the rest queued.  0 or -1 (reported; the queues are
 * dropped then: the transaction is to be rolled back). */
static int batch_write(struct crawl *c, int all)
{
	struct crawl_batch *b = c->batch;
	struct sql_arg args[FLUSH_ROWS * 15];
	size_t i, k, keep_ni, keep_pres;
	int rc = 0;

	if (!b)
		return 0;
	rc = path_index_flush(&c->pi, c->db, all ? UINT32_MAX : b->frontier);
	for (i = 0; !rc && i + FLUSH_ROWS <= b->nni; i += FLUSH_ROWS) {
		for (k = 0; k < FLUSH_ROWS; k++)
			narinfo_args(c, &b->ni[i + k], args + 15 * k);
		rc = stmt_exec(c->db, &stmts, Q_NARINFO_MANY, args, FLUSH_ROWS * 15);
	}
	for (; !rc && all && i < b->nni; i++) {
		narinfo_args(c, &b->ni[i], args);
		rc = stmt_exec(c->db, &stmts, Q_NARINFO_ADD, args, 15);
	}
	keep_ni = i;
	for (i = 0; !rc && i + FLUSH_ROWS <= b->npres; i += FLUSH_ROWS) {
		for (k = 0; k < FLUSH_ROWS; k++)
			presence_args(c, &b->pres[i + k], args + 6 * k);
		if (!(rc = stmt_exec(c->db, &stmts, Q_PRES_MANY, args, FLUSH_ROWS * 6)))
			presence_ids(c, b->pres + i, FLUSH_ROWS);
	}
	for (; !rc && all && i < b->npres; i++) {
		const struct pend_presence *p = &b->pres[i];
		if (!(rc = stmt_exec(c->db, &stmts, Q_PRES_ADD,
				     SQL_ARGS(c->cache_id, p->path_id, SQL_INT_OPT(p->push_time),
					      c->now, c->crawl_id))))
			presence_ids(c, b->pres + i, 1);
	}
	keep_pres = i;
	if (rc) {
		batch_discard(b);
		return -1;
	}
	for (i = 0; i < keep_ni; i++) {
		if (!b->keep_done) {
			narinfo_release(&b->ni[i].ni);
			continue;
		}
		struct ni_list *d = &b->done[b->ni[i].owner];
		GROW(d->v, d->alloc, d->n + 1);
		d->v[d->n++] = b->ni[i].ni;
	}
	/* (No memmove of nothing: the arrays may not be allocated yet.) */
	if (keep_ni < b->nni)
		memmove(b->ni, b->ni + keep_ni, (b->nni - keep_ni) * sizeof(*b->ni));
	b->nni -= keep_ni;
	if (keep_pres < b->npres)
		memmove(b->pres, b->pres + keep_pres, (b->npres - keep_pres) * sizeof(*b->pres));
	b->npres -= keep_pres;
	if (!b->nni)
		strbuf_reset(&b->text);
	return 0;
}

static void ensure_cap(struct crawl *c, uint32_t id)
{
	size_t old = c->nalloc;

	if (id < old)
		return;
	GROW(c->flags, c->nalloc, (size_t)id + 1);
	c->open_presence = xrealloc(c->open_presence, c->nalloc * sizeof(*c->open_presence));
	memset(c->flags + old, 0, c->nalloc - old);
	memset(c->open_presence + old, 0, (c->nalloc - old) * sizeof(*c->open_presence));
}

/* Every write transaction of a crawl starts here: another process may have
 * added paths since the last one (see path_index_sync). */
static int txn_begin(struct crawl *c)
{
	if (db_begin(c->db) || path_index_sync(&c->pi, c->db))
		return -1;
	ensure_cap(c, path_index_max_id(&c->pi));
	c->txn_started = mono_ms();
	return 0;
}

static int load_state(struct crawl *c)
{
	sqlite3_stmt *st;
	int rc;

	if (path_index_load(&c->pi, c->db))
		return -1;
	ensure_cap(c, path_index_max_id(&c->pi));
	if (!(st = stmt_query(c->db, &stmts, Q_LOAD_NARINFOS, SQL_ARGS(c->cache_id))))
		return -1;
	while ((rc = db_step(c->db, st)) == 1) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (id > 0 && (uint64_t)id < c->nalloc)
			c->flags[id] |= sqlite3_column_int64(st, 1) == c->crawl_id
						? CRAWL_F_NARINFO | CRAWL_F_OURS
						: CRAWL_F_NARINFO;
	}
	if (rc < 0)
		return -1;
	if (!(st = stmt_query(c->db, &stmts, Q_LOAD_OPEN, SQL_ARGS(c->cache_id))))
		return -1;
	while ((rc = db_step(c->db, st)) == 1) {
		int64_t id = sqlite3_column_int64(st, 1);
		c->open_loaded++;
		if (id > 0 && (uint64_t)id < c->nalloc)
			c->open_presence[id] = sqlite3_column_int64(st, 0);
	}
	c->data_version = c->pi.data_version;
	return rc < 0 ? -1 : 0;
}

/* Begin shard sh of the sharded crawl of cache c->cache_id (inside the
 * write transaction of crawl_begin_shard): find or create the crawl row
 * and the shard's row; c->now becomes the crawl's time.  0 or -1. */
static int shard_begin(struct crawl *c, const struct crawl_shard *sh)
{
	char lo[CRAWL_SHARD_CHARS + 1], hi[CRAWL_SHARD_CHARS + 1];
	char ta[40], tb[40];
	sqlite3_stmt *st;
	int rc;

	c->shard = *sh;
	c->shard_name = xstrdup(sh->name);
	c->shard.name = c->shard_name;
	c->shard_started = c->now;
	rc = stmt_row(c->db, &stmts, Q_SCRAWL_GET, &st, SQL_ARGS(c->cache_id, sh->name));
	if (rc < 0)
		return -1;
	if (rc == 1) {
		int64_t id = sqlite3_column_int64(st, 0), at = sqlite3_column_int64(st, 1);
		int64_t n = sqlite3_column_int64(st, 2);
		int complete = !strcmp(db_col_text(st, 3), "complete");
		stmt_done(st);
		if (n != sh->n)
			return error("crawl '%s' of '%s' has %lld shards, not %u: give every shard "
				     "the same N, or use another --crawl-id", sh->name, c->cache_url,
				     (long long)n, sh->n);
		if (complete)
			return error("crawl '%s' of '%s' is complete already (all its %u shards); "
				     "start the next crawl with a new --crawl-id", sh->name,
				     c->cache_url, sh->n);
		if (clock_is_set() && at != c->now)
			return error("crawl '%s' of '%s' is at %s (the time its first shard "
				     "began), but this run's --now is %s: give every shard the "
				     "same --now, or none", sh->name, c->cache_url,
				     format_time(at, ta, sizeof(ta)), format_time(c->now, tb, sizeof(tb)));
		c->crawl_id = id;
		c->now = at;
	} else {
		if (stmt_exec(c->db, &stmts, Q_SCRAWL_ADD,
			      SQL_ARGS(c->cache_id, c->now, sh->name, sh->n)))
			return -1;
		c->crawl_id = db_last_id(c->db);
	}
	rc = stmt_row(c->db, &stmts, Q_SHARD_GET, &st, SQL_ARGS(c->crawl_id, sh->k));
	if (rc < 0)
		return -1;
	if (rc == 1) {
		int complete = !strcmp(db_col_text(st, 0), "complete");
		stmt_done(st);
		if (complete)
			return error("shard %u/%u of crawl '%s' of '%s' is complete already; the "
				     "crawl is complete when every other shard is too", sh->k, sh->n,
				     sh->name, c->cache_url);
		/* A run that was killed or stopped: this one goes on from what
		 * it recorded. */
		crawl_shard_range(sh->k, sh->n, lo, hi);
		if (stmt_exec(c->db, &stmts, Q_SHARD_RERUN,
			      SQL_ARGS(c->crawl_id, sh->k, c->shard_started)) ||
		    stmt_exec(c->db, &stmts, Q_SHARD_REJECTS, SQL_ARGS(c->crawl_id, lo, hi, sh->k)))
			return -1;
		return 0;
	}
	return stmt_exec(c->db, &stmts, Q_SHARD_ADD, SQL_ARGS(c->crawl_id, sh->k, c->shard_started));
}

int crawl_begin(struct crawl *c, struct db *db, const char *url,
		const struct nix_cache_info *ci)
{
	return crawl_begin_shard(c, db, url, ci, NULL);
}

int crawl_begin_shard(struct crawl *c, struct db *db, const char *url,
		      const struct nix_cache_info *ci, const struct crawl_shard *sh)
{
	sqlite3_stmt *st;
	int rc;

	memset(c, 0, sizeof(*c));
	c->db = db;
	c->now = clock_now();
	c->cache_url = xstrdup(url);
	if (db_begin(db))
		goto fail;  /* e.g. the DB is locked: cache_url is ours to free */
	if (stmt_row(db, &stmts, Q_STORE_DIR, &st, SQL_NOARGS) != 1)
		goto fail;
	c->store_dir = xstrdup(db_col_text(st, 0));
	stmt_done(st);
	if (ci && strcmp(ci->store_dir, c->store_dir)) {
		error("cache '%s': its nix-cache-info says StoreDir %s, but this database "
		      "records paths of %s; use a separate --db for it", url, ci->store_dir,
		      c->store_dir);
		goto fail;
	}
	rc = stmt_row(db, &stmts, Q_CACHE_GET, &st, SQL_ARGS(url));
	if (rc < 0)
		goto fail;
	if (rc == 1) {
		c->cache_id = sqlite3_column_int64(st, 0);
		stmt_done(st);
	} else {
		if (stmt_exec(db, &stmts, Q_CACHE_ADD,
			      SQL_ARGS(url, c->store_dir,
				       SQL_INT_OPT(ci ? ci->want_mass_query : -1),
				       ci && ci->has_priority ? SQL_ARG(ci->priority) : SQL_NULL, c->now)))
			goto fail;
		c->cache_id = db_last_id(db);
	}
	if (ci && stmt_exec(db, &stmts, Q_CACHE_INFO,
			    SQL_ARGS(c->cache_id, SQL_INT_OPT(ci->want_mass_query),
				     ci->has_priority ? SQL_ARG(ci->priority) : SQL_NULL)))
		goto fail;
	if (stmt_exec(db, &stmts, Q_STALE, SQL_ARGS(c->cache_id)))
		goto fail;
	if (sh) {
		if (shard_begin(c, sh))
			goto fail;
	} else {
		if (stmt_exec(db, &stmts, Q_CRAWL_ADD, SQL_ARGS(c->cache_id, c->now)))
			goto fail;
		c->crawl_id = db_last_id(db);
	}
	if (db_commit(db))
		goto fail;
	c->shard_begun = sh != NULL;
	if (load_state(c) || txn_begin(c))
		goto fail;
	/* The crawl commits every BATCH_WRITES rows and never pauses: its
	 * commits need not wait for checkpoints and their fsyncs. */
	c->ckpt = ckpt_start(db);
	return 0;
fail:
	/* Leaves *c released (a crawl row already committed says 'failed'),
	 * so calling crawl_release() again is harmless. */
	crawl_release(c);
	return -1;
}

int crawl_known(struct crawl *c, const char *hash)
{
	uint32_t id = path_index_find(&c->pi, hash);

	return id && id < c->nalloc && (c->flags[id] & CRAWL_F_NARINFO);
}

int crawl_is_open(struct crawl *c, const char *hash)
{
	uint32_t id = path_index_find(&c->pi, hash);

	return id && id < c->nalloc && c->open_presence[id];
}

/* The push time to record for path id (name: its name, or NULL to look
 * it up): t, or the crawl's time when t is after it (see crawl.h). */
static int64_t push_time_clamp(struct crawl *c, uint32_t id, const char *name, int64_t t)
{
	char tt[40], tn[40];
	sqlite3_stmt *st = NULL;

	if (t <= c->now)
		return t;
	c->n.clamped++;
	if (c->clamp_reports < REJECT_REPORT_MAX) {
		if (!name && stmt_row(c->db, &stmts, Q_PATH_NAME, &st, SQL_ARGS(id)) == 1)
			name = db_col_text(st, 0);
		warning("'%s/%.*s-%s': %s %s is later than this crawl (%s); push time "
			"recorded as the crawl's", c->store_dir, STORE_HASH_LEN, c->pi.hashes[id],
			name ? name : "?", c->push_source ? c->push_source : "mtime",
			format_time(t, tt, sizeof(tt)), format_time(c->now, tn, sizeof(tn)));
		if (st)
			stmt_done(st);
	} else if (c->clamp_reports == REJECT_REPORT_MAX) {
		warning("more push times later than this crawl; the crawl summary counts "
			"them all (clamped)");
	}
	c->clamp_reports++;
	return c->now;
}

static int open_episode(struct crawl *c, uint32_t id, const char *name, int64_t push_time)
{
	/* A batched crawl names the path: its row may be queued still. */
	push_time = push_time_clamp(c, id, name, push_time);
	if (c->batch) {
		struct crawl_batch *b = c->batch;
		GROW(b->pres, b->pres_alloc, b->npres + 1);
		b->pres[b->npres].path_id = id;
		b->pres[b->npres++].push_time = push_time;
		c->open_presence[id] = -1;   /* open; its id once written */
		c->pending++;
		return 0;
	}
	if (stmt_exec(c->db, &stmts, Q_PRES_ADD,
		      SQL_ARGS(c->cache_id, id, SQL_INT_OPT(push_time), c->now, c->crawl_id)))
		return -1;
	c->open_presence[id] = db_last_id(c->db);
	c->pending++;
	return 0;
}

int crawl_seen(struct crawl *c, const char *hash, int64_t push_time)
{
	uint32_t id = path_index_find(&c->pi, hash);

	if (!id || id >= c->nalloc || !(c->flags[id] & CRAWL_F_NARINFO))
		return error("internal: crawl_seen on an unrecorded path");
	if (c->flags[id] & CRAWL_F_SEEN)
		return 0;
	c->flags[id] |= CRAWL_F_SEEN;
	if (c->flags[id] & CRAWL_F_OURS)
		c->n.new_++;
	else
		c->n.present++;
	if (!c->open_presence[id])
		return open_episode(c, id, NULL, push_time);
	c->pending++;
	c->open_touched++;
	return stmt_exec(c->db, &stmts, Q_PRES_TOUCH,
			 SQL_ARGS(c->now, c->crawl_id, c->open_presence[id]));
}

/* Append s as a JSON string literal: runs of characters that need no
 * escape in one copy. */
static void json_quote(struct strbuf *sb, const char *s)
{
	const char *run = s;

	strbuf_addch(sb, '"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch != '"' && ch != '\\' && ch >= 0x20)
			continue;
		strbuf_add(sb, run, (size_t)(s - run));
		run = s + 1;
		if (ch < 0x20) {
			strbuf_addf(sb, "\\u%04x", ch);
		} else {
			strbuf_addch(sb, '\\');
			strbuf_addch(sb, (char)ch);
		}
	}
	strbuf_add(sb, run, (size_t)(s - run));
	strbuf_addch(sb, '"');
}

/* Append the sigs value of ni: a JSON array of its Sig lines. */
static void sigs_encode(struct strbuf *sb, const struct narinfo *ni)
{
	strbuf_addch(sb, '[');
	for (size_t i = 0; i < ni->nsigs; i++) {
		if (i)
			strbuf_addch(sb, ',');
		json_quote(sb, ni->sigs[i]);
	}
	strbuf_addch(sb, ']');
}

/* "<hash>-<name>" of ni into base (STORE_HASH_LEN + 1 + STORE_NAME_MAX + 1
 * bytes); its length. */
static size_t narinfo_base(const struct narinfo *ni, char *base)
{
	size_t n = strlen(ni->name);

	if (n > STORE_NAME_MAX)
		n = STORE_NAME_MAX;   /* not for narinfo_parse's names */
	memcpy(base, ni->hash, STORE_HASH_LEN);
	base[STORE_HASH_LEN] = '-';
	memcpy(base + STORE_HASH_LEN + 1, ni->name, n);
	base[STORE_HASH_LEN + 1 + n] = '\0';
	return STORE_HASH_LEN + 1 + n;
}

int crawl_add_narinfo(struct crawl *c, const struct narinfo *ni, int64_t push_time)
{
	uint32_t id;
	char base[STORE_HASH_LEN + 1 + STORE_NAME_MAX + 1];
	size_t blen, nref = 0;

	blen = narinfo_base(ni, base);
	if (!(id = path_index_intern(&c->pi, c->db, base, blen)))
		return -1;
	ensure_cap(c, id);
	if (c->flags[id] & CRAWL_F_NARINFO)
		return crawl_seen(c, ni->hash, push_time);
	GROW(c->ref_ids, c->ref_alloc, ni->nrefs + 1);
	for (size_t i = 0; i < ni->nrefs; i++) {
		uint32_t rid = path_index_intern(&c->pi, c->db, ni->refs[i], strlen(ni->refs[i]));
		if (!rid)
			return -1;
		ensure_cap(c, rid);
		c->ref_ids[nref++] = rid;
	}
	refs_encode(&c->refs_json, c->ref_ids, nref);
	strbuf_reset(&c->sigs_json);
	sigs_encode(&c->sigs_json, ni);
	/* stmt_exec binds the strings without a copy: they outlive the step. */
	if (stmt_exec(c->db, &stmts, Q_NARINFO_ADD,
		      SQL_ARGS(c->cache_id, id, ni->url, ni->compression, ni->file_hash,
			       SQL_INT_OPT(ni->file_size), ni->nar_hash, ni->nar_size, ni->deriver,
			       ni->ca, ni->system, SQL_TEXTN(c->refs_json.buf, c->refs_json.len),
			       SQL_TEXTN(c->sigs_json.buf, c->sigs_json.len), c->crawl_id,
			       c->now)))
		return -1;
	c->flags[id] |= CRAWL_F_NARINFO | CRAWL_F_SEEN;
	c->n.new_++;
	c->pending += 2;
	/* A narinfo is recorded before its presence, so a path without one has
	 * no open episode; open one. */
	return open_episode(c, id, ni->name, push_time);
}

int crawl_add_narinfo_take(struct crawl *c, struct narinfo *ni, int64_t push_time)
{
	struct crawl_batch *b = c->batch;
	char base[STORE_HASH_LEN + 1 + STORE_NAME_MAX + 1];
	struct pend_narinfo *p;
	size_t nref = 0;
	uint32_t id;
	int rc;

	if (!b) {
		rc = crawl_add_narinfo(c, ni, push_time);
		narinfo_release(ni);
		return rc;
	}
	path_index_prefetch(&c->pi, ni->refs, ni->nrefs);
	if (!(id = path_index_intern_deferred(&c->pi, base, narinfo_base(ni, base))))
		goto fail;
	ensure_cap(c, id);
	if (c->flags[id] & CRAWL_F_NARINFO) {
		rc = crawl_seen(c, ni->hash, push_time);
		narinfo_release(ni);
		return rc;
	}
	GROW(c->ref_ids, c->ref_alloc, ni->nrefs + 1);
	for (size_t i = 0; i < ni->nrefs; i++) {
		uint32_t rid = path_index_intern_deferred(&c->pi, ni->refs[i], strlen(ni->refs[i]));
		if (!rid)
			goto fail;
		ensure_cap(c, rid);
		c->ref_ids[nref++] = rid;
	}
	GROW(b->ni, b->ni_alloc, b->nni + 1);
	p = &b->ni[b->nni++];
	p->id = id;
	p->owner = b->owner;
	if (id > b->frontier)
		b->frontier = id;
	refs_encode(&c->refs_json, c->ref_ids, nref);
	p->refs_at = b->text.len;
	p->refs_len = c->refs_json.len;
	strbuf_add(&b->text, c->refs_json.buf, c->refs_json.len);
	p->sigs_at = b->text.len;
	sigs_encode(&b->text, ni);
	p->sigs_len = b->text.len - p->sigs_at;
	p->ni = *ni;
	memset(ni, 0, sizeof(*ni));   /* now p's */
	c->flags[id] |= CRAWL_F_NARINFO | CRAWL_F_SEEN;
	c->n.new_++;
	c->pending += 2;
	if (open_episode(c, id, p->ni.name, push_time))
		return -1;
	return b->nni >= 4 * FLUSH_ROWS ? batch_write(c, 0) : 0;
fail:
	narinfo_release(ni);
	return -1;
}

int crawl_reject(struct crawl *c, const char *source, const char *hash, unsigned line,
		 const char *msg, int64_t bytes)
{
	c->n.rejected++;
	if (bytes > 0)
		c->n.rejected_bytes += (uint64_t)bytes;
	if (c->reject_reports < REJECT_REPORT_MAX) {
		if (line)
			error("%s:%u: %s (skipped)", source, line, msg);
		else
			error("%s: %s (skipped)", source, msg);
	} else if (c->reject_reports == REJECT_REPORT_MAX) {
		error("more rejected narinfos; see the crawl_rejects table for all of them");
	}
	c->reject_reports++;
	c->pending++;
	return stmt_exec(c->db, &stmts, Q_REJECT_ADD,
			 SQL_ARGS(c->crawl_id, source, line, msg, hash ? SQL_ARG(hash) : SQL_NULL,
				  SQL_INT_OPT(bytes)));
}

/* The value of the first line of buf starting with key, or NULL; *vlen
 * its length (to the newline, less a '\r' before it). */
static const char *scan_line(const char *buf, size_t len, const char *key, size_t *vlen)
{
	size_t klen = strlen(key);

	for (size_t i = 0; i < len;) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - buf) : len;
		if (end - i >= klen && !memcmp(buf + i, key, klen)) {
			*vlen = end - i - klen;
			if (*vlen && buf[end - 1] == '\r')
				(*vlen)--;
			return buf + i + klen;
		}
		i = end + 1;
	}
	return NULL;
}

void crawl_reject_scan(const char *buf, size_t len, char *url, size_t cap,
		       int64_t *file_size)
{
	const char *v;
	size_t n;

	if (url)
		url[0] = '\0';
	*file_size = -1;
	if (url && (v = scan_line(buf, len, "URL: ", &n)) && n < cap && !memchr(v, '\0', n)) {
		memcpy(url, v, n);
		url[n] = '\0';
	}
	if ((v = scan_line(buf, len, "FileSize: ", &n)) && n > 0 && n <= 13) {
		int64_t x = 0;
		size_t i;
		for (i = 0; i < n && v[i] >= '0' && v[i] <= '9'; i++)
			x = x * 10 + (v[i] - '0');
		if (i == n && x <= CRAWL_REJECT_FILESIZE_MAX)
			*file_size = x;
	}
}

void crawl_odd(struct crawl *c, const char *source, const struct narinfo *ni)
{
	struct strbuf sb = STRBUF_INIT;

	if (!ni->odd)
		return;
	if (c->odd_reports < REJECT_REPORT_MAX) {
		for (unsigned bit = 1; bit <= ni->odd; bit <<= 1) {
			if (!(ni->odd & bit) || !narinfo_odd_name(bit))
				continue;
			if (sb.len)
				strbuf_addstr(&sb, "; ");
			strbuf_addstr(&sb, narinfo_odd_name(bit));
		}
		warning("%s:%u: accepted as Nix accepts it, but odd: %s", source, ni->odd_line,
			sb.buf);
		strbuf_release(&sb);
	} else if (c->odd_reports == REJECT_REPORT_MAX) {
		warning("more odd narinfos accepted; not shown");
	}
	c->odd_reports++;
}

int crawl_gone(struct crawl *c, const char *hash)
{
	uint32_t id = path_index_find(&c->pi, hash);

	if (!id || id >= c->nalloc || !c->open_presence[id])
		return 0;
	if (batch_write(c, 1) || stmt_exec(c->db, &stmts, Q_GONE_ONE,
		      SQL_ARGS(c->now, c->crawl_id, c->open_presence[id])))
		return -1;
	c->open_presence[id] = 0;
	c->n.gone++;
	c->pending++;
	return 1;
}

void crawl_absent(struct crawl *c)
{
	c->n.absent++;
}

void crawl_unknown(struct crawl *c)
{
	c->n.unknown++;
}

int crawl_checkpoint(struct crawl *c)
{
	static unsigned batch;
	static unsigned pause_ms;

	if (!batch) {
		/* Tests shrink the batch to kill a crawl between commits, and
		 * pause between batches to let another writer in. */
		const char *e = getenv("CACHEGC_BATCH_WRITES");
		uint64_t v;
		batch = e && !parse_uint(e, &v) && v > 0 && v < BATCH_WRITES ? (unsigned)v
									      : BATCH_WRITES;
		e = getenv("CACHEGC_BATCH_PAUSE_MS");
		if (e && !parse_uint(e, &v) && v <= 10000)
			pause_ms = (unsigned)v;
	}
	/* A shard shares the database with the other shards: it commits
	 * at least every CRAWL_SHARD_TXN_MS and leaves a moment between its
	 * transactions for a writer waiting (db.c's busy handler looks every
	 * millisecond). */
	if (c->pending < batch &&
	    !(c->shard.n && c->pending && mono_ms() - c->txn_started >= CRAWL_SHARD_TXN_MS))
		return 0;
	c->pending = 0;
	if (batch_write(c, 1) || db_commit(c->db))
		return -1;
	sleep_ms(pause_ms ? pause_ms : c->shard.n ? 3 : 0, &crawl_interrupted);
	return txn_begin(c);
}

/* crawl_finish of a shard, inside the last write transaction: paths of
 * its range not seen are gone; the shard row gets its status and counts;
 * and when every shard is complete, so is the crawl, with their sums. */
static int shard_finish(struct crawl *c, int mark_gone, int end, const char *status)
{
	char lo[CRAWL_SHARD_CHARS + 1], hi[CRAWL_SHARD_CHARS + 1];
	sqlite3_stmt *st;
	int64_t v[7];

	if (mark_gone && end == CRAWL_END_COMPLETE) {
		crawl_shard_range(c->shard.k, c->shard.n, lo, hi);
		if (stmt_exec(c->db, &stmts, Q_GONE_RANGE,
			      SQL_ARGS(c->now, c->crawl_id, c->cache_id, lo, hi)))
			return -1;
		c->n.gone += (uint64_t)db_changes(c->db);
	}
	if (stmt_exec(c->db, &stmts, Q_SHARD_END,
		      SQL_ARGS(c->crawl_id, c->shard.k, status, clock_now(), (int64_t)c->n.new_,
			       (int64_t)c->n.present, (int64_t)c->n.gone, (int64_t)c->n.rejected,
			       (int64_t)c->n.absent, (int64_t)c->n.unknown)))
		return -1;
	if (stmt_row(c->db, &stmts, Q_SHARD_SUMS, &st, SQL_ARGS(c->crawl_id)) != 1)
		return -1;
	for (int i = 0; i < 7; i++)
		v[i] = sqlite3_column_int64(st, i);
	stmt_done(st);
	c->n.shards_complete = (unsigned)v[0];
	if (v[0] < c->shard.n)
		return 0;
	return stmt_exec(c->db, &stmts, Q_CRAWL_END,
			 SQL_ARGS(c->crawl_id, "complete", c->now, v[1], v[2], v[3], v[4], v[5], v[6]));
}

int crawl_finish(struct crawl *c, int mark_gone, int end)
{
	const char *status = end == CRAWL_END_INTERRUPTED ? "interrupted"
			     : end == CRAWL_END_FAILED    ? "failed"
							  : "complete";

	if (batch_write(c, 1))
		goto fail;
	/* Every episode open at the start was seen again and no other
	 * process wrote since (the index saw no change: a crawl of this cache
	 * elsewhere could have opened episodes): none can be gone, and the
	 * update need not scan them all to find so. */
	if (c->shard.n) {
		if (shard_finish(c, mark_gone, end, status) || db_commit(c->db))
			goto fail;
		c->pending = 0;
		c->finished = 1;
		return 0;
	}
	if (mark_gone && end == CRAWL_END_COMPLETE &&
	    (c->open_touched != c->open_loaded || c->pi.data_version != c->data_version)) {
		if (stmt_exec(c->db, &stmts, Q_GONE, SQL_ARGS(c->now, c->crawl_id, c->cache_id)))
			goto fail;
		c->n.gone = (uint64_t)db_changes(c->db);
	}
	if (stmt_exec(c->db, &stmts, Q_CRAWL_END,
		      SQL_ARGS(c->crawl_id, status, c->now, (int64_t)c->n.new_,
			       (int64_t)c->n.present, (int64_t)c->n.gone, (int64_t)c->n.rejected,
			       (int64_t)c->n.absent, (int64_t)c->n.unknown)) ||
	    db_commit(c->db))
		goto fail;
	c->pending = 0;
	c->finished = 1;
	return 0;
fail:
	db_rollback(c->db);
	return -1;
}

void crawl_release(struct crawl *c)
{
	if (!c->db)
		return;
	ckpt_stop(c->ckpt);
	c->ckpt = NULL;
	db_rollback(c->db);
	/* A crawl that stopped on an error says so; what it committed stays. */
	if (c->crawl_id && !c->finished && !c->shard.n)
		stmt_exec(c->db, &stmts, Q_CRAWL_FAIL, SQL_ARGS(c->crawl_id, c->now));
	else if (c->shard_begun && !c->finished)
		stmt_exec(c->db, &stmts, Q_SHARD_FAIL,
			  SQL_ARGS(c->crawl_id, c->shard.k, clock_now()));
	path_index_release(&c->pi);
	free(c->flags);
	free(c->open_presence);
	free(c->cache_url);
	free(c->store_dir);
	free(c->shard_name);
	free(c->ref_ids);
	strbuf_release(&c->refs_json);
	strbuf_release(&c->sigs_json);
	if (c->batch) {
		batch_discard(c->batch);
		for (unsigned k = 0; k < CRAWL_READERS_MAX; k++) {
			ni_list_release(&c->batch->done[k]);
			free(c->batch->done[k].v);
		}
		free(c->batch->ni);
		free(c->batch->pres);
		strbuf_release(&c->batch->text);
		free(c->batch);
	}
	memset(c, 0, sizeof(*c));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* List "<hash>.narinfo" entries of dir, sorted.  Returns 0 or -1. */
static int list_narinfos(DIR *d, const char *dir, char ***out, size_t *n)
{
	struct dirent *de;
	size_t alloc = 0;

	*out = NULL;
	*n = 0;
	errno = 0;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len != STORE_HASH_LEN + 8 || strcmp(de->d_name + STORE_HASH_LEN, ".narinfo"))
			continue;
		GROW(*out, alloc, *n + 1);
		(*out)[(*n)++] = xstrdup(de->d_name);
	}
	if (errno)
		return error("cannot list '%s': %s", dir, strerror(errno));
	if (*n)
		qsort(*out, *n, sizeof(**out), cmp_str);
	return 0;
}

static int read_cache_info(int dfd, const char *dir, struct nix_cache_info *ci, int *have)
{
	struct narinfo_error err;
	char *buf;
	size_t len;
	int fd;

	*have = 0;
	fd = openat(dfd, "nix-cache-info", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return error("cannot open '%s/nix-cache-info': %s", dir, strerror(errno));
	}
	if (read_fd_capped(fd, 64 * 1024, &buf, &len, NULL)) {
		int e = errno;
		close(fd);
		return error("cannot read '%s/nix-cache-info': %s", dir, strerror(e));
	}
	close(fd);
	if (nix_cache_info_parse(buf, len, ci, &err)) {
		free(buf);
		return error("%s/nix-cache-info:%u: %s", dir, err.line, err.msg);
	}
	free(buf);
	*have = 1;
	return 0;
}

/*
 * The directory walker reads and parses narinfos on reader threads while
 * this one writes to SQLite.  On a cache of 200,000 files one reader was
 * the slower half (about 3.5 s of CPU against the writer's 3.2, syscalls
 * most of it), so there is one reader per CPU (at most CRAWL_READERS_MAX):
 * reader k takes the files k, k + R, k + 2R... of the list and passes them
 * through its own bounded ring; the writer takes them round-robin, so they
 * are recorded in file-name order whatever the number of readers.
 */
struct dir_item {
	int state;                  /* ITEM_* */
	struct narinfo ni;          /* ITEM_OK: owned until consumed */
	int64_t mtime;
	int64_t bytes;              /* rejected: what its files occupy, or -1 */
	unsigned line;
	char msg[160];
};
enum { ITEM_OK, ITEM_READ_ERROR, ITEM_PARSE_ERROR };

#define RING_SIZE 4096

struct dir_reader {
	unsigned index;             /* its done list in the batch */
	int dfd;
	const char *store_dir;
	char **names;               /* to read, in order */
	size_t n;
	struct dir_item *ring;
	size_t produced, consumed;  /* guarded by mu */
	int stop, consumer_waiting; /* guarded by mu */
	size_t consumed_seen;       /* reader's copy of consumed */
	size_t produced_seen;       /* consumer's copy of produced */
	size_t consumed_local;      /* consumer's own count, published in steps */
	struct ni_list garbage;     /* guarded by mu: consumed, for the reader to free */
	struct ni_list *done;       /* the consumer's, handed over in steps */
	pthread_mutex_t mu;
	pthread_cond_t can_produce, can_consume;
};

/* The size of a regular file name in dfd (not following a symbolic
 * link), or -1. */
static int64_t file_bytes(int dfd, const char *name)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
		return -1;
	return (int64_t)st.st_size;
}

/* What a refused narinfo's files occupy in the cache directory dfd: its
 * own size plus the file its URL names when that URL is a name inside the
 * cache (lib/cachepath.h: never a path out of it, never through a
 * symbolic link) and can be checked, 0 when it is not there; else its
 * FileSize when readable. */
static int64_t reject_bytes(int dfd, const char *buf, size_t len, int64_t own)
{
	char url[4097];
	const char *why, *base;
	int64_t file_size, nar = -1;
	struct stat st;
	int pfd;

	crawl_reject_scan(buf, len, url, sizeof(url), &file_size);
	if (url[0] && !cache_url_check(url, strlen(url), &why)) {
		if ((pfd = cache_open_parent(dfd, url, &base)) >= 0) {
			if (!fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW))
				nar = S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1;
			else if (errno == ENOENT)
				nar = 0;
			close(pfd);
		} else if (errno == ENOENT) {
			nar = 0;
		}
	}
	if (nar < 0)
		nar = file_size > 0 ? file_size : 0;
	return own + nar;
}

static void read_one(struct dir_reader *r, const char *name, struct dir_item *it)
{
	struct narinfo_error err;
	struct stat st;
	char hash[STORE_HASH_LEN + 1];
	char *buf;
	size_t len;
	int fd, e;

	memset(it, 0, sizeof(*it));
	fd = openat(r->dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || read_fd_capped(fd, NARINFO_MAX_BYTES, &buf, &len, &st)) {
		e = errno;
		if (fd >= 0)
			close(fd);
		it->state = ITEM_READ_ERROR;
		/* Too large to read: still a file of the cache. */
		it->bytes = e == EFBIG ? file_bytes(r->dfd, name) : -1;
		if (e == ELOOP)
			snprintf(it->msg, sizeof(it->msg), "is a symbolic link; refusing to follow it");
		else if (e == EFBIG)
			snprintf(it->msg, sizeof(it->msg), "larger than %d bytes; not a narinfo",
				 NARINFO_MAX_BYTES);
		else if (e == EINVAL)
			snprintf(it->msg, sizeof(it->msg), "not a regular file");
		else
			snprintf(it->msg, sizeof(it->msg), "cannot read: %s", strerror(e));
		return;
	}
	close(fd);
	memcpy(hash, name, STORE_HASH_LEN);
	hash[STORE_HASH_LEN] = '\0';
	if (narinfo_parse(buf, len, r->store_dir, hash, &it->ni, &err)) {
		it->state = ITEM_PARSE_ERROR;
		it->bytes = reject_bytes(r->dfd, buf, len, (int64_t)st.st_size);
		it->line = err.line;
		snprintf(it->msg, sizeof(it->msg), "%s", err.msg);
	} else {
		it->state = ITEM_OK;
		it->mtime = (int64_t)st.st_mtime;
	}
	free(buf);
}

#define HANDOFF 64   /* items per wake-up: fewer futex calls */

static void *reader_main(void *arg)
{
	struct dir_reader *r = arg;
	size_t produced = 0;

	struct ni_list tofree = {NULL, 0, 0};

	for (size_t i = 0; i < r->n; i++) {
		struct dir_item it;
		if (tofree.n)
			ni_list_release(&tofree);
		read_one(r, r->names[i], &it);
		/* The ring slot is free once consumed passed it; check under the
		 * lock only when we might be a ring ahead. */
		if (i - r->consumed_seen >= RING_SIZE) {
			pthread_mutex_lock(&r->mu);
			r->produced = produced;
			pthread_cond_signal(&r->can_consume);
			while (!r->stop && i - r->consumed >= RING_SIZE)
				pthread_cond_wait(&r->can_produce, &r->mu);
			r->consumed_seen = r->consumed;
			if (r->stop) {
				pthread_mutex_unlock(&r->mu);
				if (it.state == ITEM_OK)
					narinfo_release(&it.ni);
				goto out;  /* tofree may hold a list the main thread handed over */
			}
			pthread_mutex_unlock(&r->mu);
		}
		r->ring[i % RING_SIZE] = it;
		produced = i + 1;
		if (produced % HANDOFF == 0 || produced == r->n) {
			pthread_mutex_lock(&r->mu);
			r->produced = produced;
			r->consumed_seen = r->consumed;
			if (r->consumer_waiting)
				pthread_cond_signal(&r->can_consume);
			if (r->garbage.n) {
				struct ni_list t = tofree;
				tofree = r->garbage;
				r->garbage = t;
			}
			pthread_mutex_unlock(&r->mu);
		}
	}
out:
	ni_list_release(&tofree);
	free(tofree.v);
	return NULL;
}

/* Wait for item i; returns it (owned by the caller until reader_done). */
static struct dir_item *reader_next(struct dir_reader *r, size_t i)
{
	if (i >= r->produced_seen) {
		pthread_mutex_lock(&r->mu);
		r->consumer_waiting = 1;
		while (r->produced <= i)
			pthread_cond_wait(&r->can_consume, &r->mu);
		r->consumer_waiting = 0;
		r->produced_seen = r->produced;
		pthread_mutex_unlock(&r->mu);
	}
	return &r->ring[i % RING_SIZE];
}

static void reader_done(struct dir_reader *r)
{
	r->consumed_local++;
	if (r->consumed_local % HANDOFF == 0 || r->consumed_local == r->n) {
		pthread_mutex_lock(&r->mu);
		r->consumed = r->consumed_local;
		if (r->done && r->done->n) {
			/* Hand the written narinfos over, or add them to those
			 * the reader has not taken yet. */
			if (!r->garbage.n) {
				struct ni_list t = r->garbage;
				r->garbage = *r->done;
				*r->done = t;
			} else {
				GROW(r->garbage.v, r->garbage.alloc, r->garbage.n + r->done->n);
				memcpy(r->garbage.v + r->garbage.n, r->done->v,
				       r->done->n * sizeof(*r->done->v));
				r->garbage.n += r->done->n;
				r->done->n = 0;
			}
		}
		pthread_cond_signal(&r->can_produce);
		pthread_mutex_unlock(&r->mu);
	}
}

/* How many reader threads for n files: one per online CPU, at most
 * CRAWL_READERS_MAX, and none idle. */
static unsigned reader_count(size_t n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned r = cpus < 1 ? 1 : cpus > CRAWL_READERS_MAX ? CRAWL_READERS_MAX : (unsigned)cpus;

	if (n < r)
		r = n ? (unsigned)n : 1;
	return r;
}

/* Stop the reader and free what it produced and nobody consumed. */
static void reader_stop(struct dir_reader *r, pthread_t th)
{
	pthread_mutex_lock(&r->mu);
	r->stop = 1;
	pthread_cond_broadcast(&r->can_produce);
	pthread_mutex_unlock(&r->mu);
	pthread_join(th, NULL);
	for (size_t i = r->consumed_local; i < r->produced; i++)
		if (r->ring[i % RING_SIZE].state == ITEM_OK)
			narinfo_release(&r->ring[i % RING_SIZE].ni);
	ni_list_release(&r->garbage);
}

/* A directory without nix-cache-info: 0 to crawl it all the same (force,
 * or a cache this DB already knows), else -1 after saying why not: a
 * mistyped directory must not become a second cache. */
static int no_cache_info(struct db *db, const char *dir, const char *url, int force)
{
	sqlite3_stmt *st;
	int rc;

	if (!force) {
		if ((rc = stmt_row(db, &stmts, Q_CACHE_GET, &st, SQL_ARGS(url))) < 0)
			return -1;
		if (!rc)
			return error("'%s' has no nix-cache-info, so it is not a binary cache (is "
				     "the directory name right?); nothing was recorded.  To crawl "
				     "it as one all the same (StoreDir /nix/store), pass --force",
				     dir);
		stmt_done(st);
	}
	warning("'%s' has no nix-cache-info; assuming StoreDir /nix/store", dir);
	return 0;
}

int crawl_dir(struct db *db, const char *dir, int force, struct crawl_counts *out,
	      int64_t *crawl_id, char **cache_url)
{
	return crawl_dir_shard(db, dir, force, NULL, out, crawl_id, cache_url);
}

int crawl_dir_shard(struct db *db, const char *dir, int force, const struct crawl_shard *sh,
		    struct crawl_counts *out, int64_t *crawl_id, char **cache_url)
{
	char real[PATH_MAX], hash[STORE_HASH_LEN + 1];
	struct nix_cache_info ci;
	struct progress prog;
	struct crawl c;
	struct dir_reader rd[CRAWL_READERS_MAX];
	pthread_t th[CRAWL_READERS_MAX];
	char **names = NULL, **toread = NULL, **known = NULL, **split = NULL;
	size_t n = 0, nread = 0, nknown = 0, i, done = 0, at;
	unsigned nr = 0, started = 0, k;
	int have_ci = 0, dfd = -1, ret = -1, begun = 0;
	DIR *d = NULL;
	struct strbuf url = STRBUF_INIT;

	memset(&ci, 0, sizeof(ci));
	memset(rd, 0, sizeof(rd));
	if (!realpath(dir, real)) {
		error("cannot open cache directory '%s': %s", dir, strerror(errno));
		goto out;
	}
	d = opendir(real);
	if (!d) {
		error("cannot open cache directory '%s': %s", dir, strerror(errno));
		goto out;
	}
	dfd = dirfd(d);
	if (read_cache_info(dfd, real, &ci, &have_ci))
		goto out;
	strbuf_addf(&url, "file://%s", real);
	if (!have_ci && no_cache_info(db, real, url.buf, force))
		goto out;
	if (list_narinfos(d, real, &names, &n))
		goto out;
	if (crawl_begin_shard(&c, db, url.buf, have_ci ? &ci : NULL, sh))
		goto out;
	begun = 1;
	*crawl_id = c.crawl_id;
	c.batch = xcalloc(1, sizeof(*c.batch));
	c.batch->keep_done = 1;

	/* Known narinfos need no reading: only their presence is updated. */
	toread = xmalloc((n ? n : 1) * sizeof(*toread));
	known = xmalloc((n ? n : 1) * sizeof(*known));
	for (i = 0; i < n; i++) {
		memcpy(hash, names[i], STORE_HASH_LEN);
		hash[STORE_HASH_LEN] = '\0';
		if (!crawl_shard_has(sh, hash, STORE_HASH_LEN))
			continue;   /* another shard's */
		c.n.listed++;
		if (!store_hash_valid(hash, STORE_HASH_LEN)) {
			if (crawl_reject(&c, names[i], NULL, 0,
					 "file name is not '<store hash>.narinfo'",
					 file_bytes(dfd, names[i])))
				goto out;
			done++;
		} else if (!crawl_known(&c, hash)) {
			toread[nread++] = names[i];
		} else {
			known[nknown++] = names[i];
		}
	}
	progress_start(&prog, "crawl", c.n.listed);
	progress_update(&prog, done);
	/* Reader k reads files k, k + nr, k + 2 nr... of toread. */
	nr = reader_count(nread);
	split = xmalloc((nread ? nread : 1) * sizeof(*split));
	for (k = 0, at = 0; k < nr; k++) {
		struct dir_reader *r = &rd[k];
		r->index = k;
		r->done = &c.batch->done[k];
		r->dfd = dfd;
		r->store_dir = c.store_dir;
		r->names = split + at;
		for (i = k; i < nread; i += nr)
			split[at++] = toread[i];
		r->n = (size_t)(split + at - r->names);
		r->ring = xmalloc(RING_SIZE * sizeof(*r->ring));
		pthread_mutex_init(&r->mu, NULL);
		pthread_cond_init(&r->can_produce, NULL);
		pthread_cond_init(&r->can_consume, NULL);
	}
	for (k = 0; k < nr && nread; k++) {
		int e = pthread_create(&th[k], NULL, reader_main, &rd[k]);
		if (e) {
			error("cannot start a thread: %s", strerror(e));
			goto out;
		}
		started++;
	}
	/* While the readers start: new narinfos are recorded in file order, so
	 * reserve their paths' ids in that order, and narinfos and presence
	 * rows are appended to their B-trees instead of landing all over them
	 * (a path first met as a reference would otherwise get an id long
	 * before its narinfo). */
	for (i = 0; i < nread; i++)
		path_index_reserve(&c.pi, toread[i]);
	ensure_cap(&c, path_index_max_id(&c.pi));
	for (i = 0; i < nknown && !crawl_interrupted; i++) {
		struct stat st;
		int64_t mtime = -1;
		memcpy(hash, known[i], STORE_HASH_LEN);
		hash[STORE_HASH_LEN] = '\0';
		/* The push time matters only when the path comes back. */
		if (!crawl_is_open(&c, hash) &&
		    fstatat(dfd, known[i], &st, AT_SYMLINK_NOFOLLOW) == 0)
			mtime = (int64_t)st.st_mtime;
		if (crawl_seen(&c, hash, mtime) || crawl_checkpoint(&c))
			goto out;
		progress_update(&prog, ++done);
	}
	for (i = 0; i < nread && !crawl_interrupted; i++) {
		struct dir_reader *r = &rd[i % nr];
		struct dir_item *it = reader_next(r, i / nr);
		int rc = 0;
		if (it->state == ITEM_OK) {
			crawl_odd(&c, toread[i], &it->ni);
			c.batch->owner = r->index;
			rc = crawl_add_narinfo_take(&c, &it->ni, it->mtime);
		} else {
			memcpy(hash, toread[i], STORE_HASH_LEN);
			hash[STORE_HASH_LEN] = '\0';
			rc = crawl_reject(&c, toread[i], hash, it->line, it->msg, it->bytes);
		}
		reader_done(r);
		if (rc || crawl_checkpoint(&c))
			goto out;
		progress_update(&prog, ++done);
	}
	for (; started; started--)
		reader_stop(&rd[started - 1], th[started - 1]);
	progress_finish(&prog);
	if (crawl_finish(&c, 1, crawl_interrupted ? CRAWL_END_INTERRUPTED : CRAWL_END_COMPLETE))
		goto out;
	ret = crawl_interrupted ? 1 : 0;
	*out = c.n;
	*cache_url = strbuf_detach(&url);
out:
	for (; started; started--)
		reader_stop(&rd[started - 1], th[started - 1]);
	for (k = 0; k < nr; k++) {
		free(rd[k].garbage.v);
		pthread_mutex_destroy(&rd[k].mu);
		pthread_cond_destroy(&rd[k].can_produce);
		pthread_cond_destroy(&rd[k].can_consume);
		free(rd[k].ring);
	}
	free(split);
	if (begun)
		crawl_release(&c);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(toread);
	free(known);
	if (d)
		closedir(d);
	if (have_ci)
		nix_cache_info_release(&ci);
	strbuf_release(&url);
	return ret;
}
