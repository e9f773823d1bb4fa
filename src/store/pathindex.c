/*
 * pathindex.c - hash -> id map over the paths table.
 *
 * Store-path hashes are uniformly random nix32, so the first characters
 * already make a good hash key; we mix 8 of them with a multiply.
 */
#include "store/pathindex.h"

#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/stmt.h"
#include "lib/util.h"

static uint64_t key_of(const char *hash)
{
	uint64_t k;

	memcpy(&k, hash + 8, sizeof(k));
	k ^= k >> 29;
	k *= 0x9e3779b97f4a7c15ULL;
	return k ^ (k >> 32);
}

/* Whether id item + 1 has the 32-char hash key. */
static int hash_eq(const void *ctx, uint32_t item, const void *key)
{
	const struct path_index *pi = ctx;

	return !memcmp(pi->hashes[(size_t)item + 1], key, STORE_HASH_LEN);
}

static void add(struct path_index *pi, uint32_t id, const char *hash)
{
	if ((size_t)id + 1 > pi->hashes_alloc) {
		size_t old = pi->hashes_alloc;
		GROW(pi->hashes, pi->hashes_alloc, (size_t)id + 1);
		memset(pi->hashes + old, 0, (pi->hashes_alloc - old) * sizeof(*pi->hashes));
	}
	memcpy(pi->hashes[id], hash, STORE_HASH_LEN);
	if (id > pi->max_id)
		pi->max_id = id;
	hashmap_add(&pi->map, key_of(hash), id - 1);
}

/* Queued rows are written this many to a statement: one statement per
 * row costs its own bind, step and reset, and each of those is worth
 * about as much as the insert itself. */
#define FLUSH_ROWS SQL_ROWS_BATCH

enum {
	Q_DATA_VERSION,
	Q_LOAD,
	Q_INSERT,
	Q_INSERT_ID,
	Q_INSERT_MANY,
	Q_N
};
static const char *const sql[Q_N] = {
	[Q_DATA_VERSION] = "PRAGMA data_version",
	[Q_LOAD] = "SELECT id, hash FROM paths ORDER BY id",
	[Q_INSERT] = "INSERT INTO paths (hash, name) VALUES (?1, ?2)",
	[Q_INSERT_ID] = "INSERT INTO paths (hash, name, id) VALUES (?1, ?2, ?3)",
	/* OR ROLLBACK: no statement journal (see crawl.c's FLUSH_ROWS). */
	[Q_INSERT_MANY] =
		"INSERT OR ROLLBACK INTO paths (hash, name, id) VALUES " SQL_ROWS32("(?, ?, ?)"),
};
static struct stmt_table stmts = STMT_TABLE("pathindex", sql);

/* SQLite's count of commits by other connections: it changes exactly when
 * another process (or connection) has written the DB since we last looked. */
static int data_version(struct db *db, int64_t *out)
{
	sqlite3_stmt *st;

	if (stmt_row(db, &stmts, Q_DATA_VERSION, &st, SQL_NOARGS) != 1)
		return -1;
	*out = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}

int path_index_load(struct path_index *pi, struct db *db)
{
	sqlite3_stmt *st;
	int rc;

	memset(pi, 0, sizeof(*pi));
	st = stmt_query(db, &stmts, Q_LOAD, SQL_NOARGS);
	if (!st)
		return -1;
	while ((rc = db_step(db, st)) == 1) {
		int64_t id = sqlite3_column_int64(st, 0);
		const char *h = (const char *)sqlite3_column_text(st, 1);
		if (id <= 0 || id > UINT32_MAX || !h || strlen(h) != STORE_HASH_LEN)
			continue;  /* not ours to fix; never matched */
		add(pi, (uint32_t)id, h);
	}
	sqlite3_reset(st);
	if (rc < 0)
		return -1;
	return data_version(db, &pi->data_version);
}

void path_index_release(struct path_index *pi)
{
	hashmap_release(&pi->map);
	free(pi->hashes);
	free(pi->reserved);
	free(pi->pend_id);
	free(pi->pend_at);
	free(pi->pend_res);
	free(pi->pend_names);
	memset(pi, 0, sizeof(*pi));
}

uint32_t path_index_find(const struct path_index *pi, const char *hash)
{
	uint32_t item = hashmap_find(&pi->map, key_of(hash), hash_eq, pi, hash);

	return item == HASHMAP_NONE ? 0 : item + 1;
}

void path_index_prefetch(const struct path_index *pi, char *const *hashes, size_t n)
{
	if (!pi->map.nslots)
		return;
	for (size_t i = 0; i < n; i++)
		__builtin_prefetch(&pi->map.slots[hashmap_home_(&pi->map, key_of(hashes[i]))]);
	/* The first slot of each probe is the likely one: its item's hash. */
	for (size_t i = 0; i < n; i++) {
		uint32_t item = pi->map.slots[hashmap_home_(&pi->map, key_of(hashes[i]))].item;
		if (item)
			__builtin_prefetch(pi->hashes[item]);
	}
}

static int is_reserved(const struct path_index *pi, uint32_t id)
{
	return id < pi->reserved_alloc && pi->reserved[id];
}

uint32_t path_index_intern(struct path_index *pi, struct db *db, const char *basename,
			   size_t len)
{
	struct sql_arg hash = SQL_TEXTN(basename, STORE_HASH_LEN);
	struct sql_arg name = SQL_TEXTN(basename + STORE_HASH_LEN + 1, len - STORE_HASH_LEN - 1);
	uint32_t id = path_index_find(pi, basename);
	int64_t rowid;

	if (id && !is_reserved(pi, id))
		return id;
	if (!id && pi->nreserved && pi->max_id == UINT32_MAX) {
		error("paths table ids exhausted");
		return 0;
	}
	/* With reservations outstanding the DB's next rowid may be one of
	 * them: give the id explicitly, the reserved one or one past all. */
	if (id || pi->nreserved ? stmt_exec(db, &stmts, Q_INSERT_ID,
					    SQL_ARGS(hash, name, id ? id : pi->max_id + 1))
				: stmt_exec(db, &stmts, Q_INSERT, SQL_ARGS(hash, name)))
		return 0;
	if (id) {
		pi->reserved[id] = 0;
		pi->nreserved--;
		return id;
	}
	rowid = db_last_id(db);
	if (rowid <= 0 || rowid > UINT32_MAX) {
		error("paths table id %lld out of range", (long long)rowid);
		return 0;
	}
	add(pi, (uint32_t)rowid, basename);
	return (uint32_t)rowid;
}

uint32_t path_index_intern_deferred(struct path_index *pi, const char *basename,
				    size_t len)
{
	uint32_t id = path_index_find(pi, basename), at;
	int was_reserved = 0;

	if (id && !is_reserved(pi, id))
		return id;
	if (id) {
		pi->reserved[id] = 0;
		pi->nreserved--;
		was_reserved = 1;
	} else {
		/* The id path_index_intern() would give: with reservations
		 * outstanding it gives it explicitly, without them SQLite's
		 * next rowid, which is the same one past every row. */
		if (pi->max_id == UINT32_MAX) {
			error("paths table ids exhausted");
			return 0;
		}
		id = pi->max_id + 1;
		add(pi, id, basename);
	}
	if (pi->pend_len + len + 1 > pi->pend_names_alloc)
		GROW(pi->pend_names, pi->pend_names_alloc, pi->pend_len + len + 1);
	at = (uint32_t)pi->pend_len;
	memcpy(pi->pend_names + pi->pend_len, basename, len);
	pi->pend_names[pi->pend_len + len] = '\0';
	pi->pend_len += len + 1;
	if (was_reserved) {
		if ((size_t)id + 1 > pi->pend_res_alloc) {
			size_t old = pi->pend_res_alloc;
			GROW(pi->pend_res, pi->pend_res_alloc, (size_t)id + 1);
			memset(pi->pend_res + old, 0,
			       (pi->pend_res_alloc - old) * sizeof(*pi->pend_res));
		}
		pi->pend_res[id] = at + 1;
		if (!pi->nres_pend++ || id < pi->res_lo)
			pi->res_lo = id;
		if (pi->nres_pend == 1 || id > pi->res_hi)
			pi->res_hi = id;
		return id;
	}
	if (pi->npend == pi->pend_alloc) {
		GROW(pi->pend_id, pi->pend_alloc, pi->npend + 1);
		pi->pend_at = xrealloc(pi->pend_at, pi->pend_alloc * sizeof(*pi->pend_at));
	}
	pi->pend_id[pi->npend] = id;
	pi->pend_at[pi->npend++] = at;
	return id;
}

/* The three arguments of a row: hash, name, id. */
static void row_args(const struct path_index *pi, uint32_t at, uint32_t id, struct sql_arg *a)
{
	const char *b = pi->pend_names + at;

	a[0] = SQL_TEXTN(b, STORE_HASH_LEN);
	a[1] = SQL_ARG(b + STORE_HASH_LEN + 1);
	a[2] = SQL_ARG(id);
}

/* Write the reserved ids' rows from res_lo up to upto (all: every one). */
static int flush_reserved(struct path_index *pi, struct db *db, uint32_t upto, int all)
{
	struct sql_arg args[FLUSH_ROWS * 3];
	uint32_t ids[FLUSH_ROWS], hi = pi->res_hi < upto ? pi->res_hi : upto;
	size_t k = 0;
	int rc = 0;

	if (!pi->nres_pend)
		return 0;
	for (uint64_t id = pi->res_lo; id <= hi && !rc; id++) {
		if (!pi->pend_res[id])
			continue;
		ids[k] = (uint32_t)id;
		row_args(pi, pi->pend_res[id] - 1, (uint32_t)id, args + 3 * k);
		if (++k < FLUSH_ROWS)
			continue;
		rc = stmt_exec(db, &stmts, Q_INSERT_MANY, args, FLUSH_ROWS * 3);
		for (size_t j = 0; j < k; j++)
			pi->pend_res[ids[j]] = 0;
		pi->nres_pend -= k;
		k = 0;
	}
	for (size_t j = 0; j < k && !rc && all; j++)
		rc = stmt_exec(db, &stmts, Q_INSERT_ID, args + 3 * j, 3);
	if (all || rc) {
		for (uint64_t id = pi->res_lo; id <= pi->res_hi; id++)
			pi->pend_res[id] = 0;
		pi->nres_pend = 0;
		return rc;
	}
	/* Kept: the last k rows (fewer than a statement's worth), and any
	 * past upto. */
	if (k)
		pi->res_lo = ids[0];
	else if (pi->nres_pend)
		pi->res_lo = hi + 1;
	return 0;
}

int path_index_flush(struct path_index *pi, struct db *db, uint32_t upto)
{
	struct sql_arg args[FLUSH_ROWS * 3];
	int all = upto == UINT32_MAX;
	size_t i = 0;
	int rc = flush_reserved(pi, db, upto, all);

	for (; rc == 0 && i + FLUSH_ROWS <= pi->npend; i += FLUSH_ROWS) {
		for (size_t k = 0; k < FLUSH_ROWS; k++)
			row_args(pi, pi->pend_at[i + k], pi->pend_id[i + k], args + 3 * k);
		rc = stmt_exec(db, &stmts, Q_INSERT_MANY, args, FLUSH_ROWS * 3);
	}
	for (; rc == 0 && all && i < pi->npend; i++) {
		row_args(pi, pi->pend_at[i], pi->pend_id[i], args);
		rc = stmt_exec(db, &stmts, Q_INSERT_ID, args, 3);
	}
	if (rc || i == pi->npend) {
		pi->npend = 0;
	} else {
		memmove(pi->pend_id, pi->pend_id + i, (pi->npend - i) * sizeof(*pi->pend_id));
		memmove(pi->pend_at, pi->pend_at + i, (pi->npend - i) * sizeof(*pi->pend_at));
		pi->npend -= i;
	}
	if (rc && pi->nres_pend) {
		for (uint64_t id = pi->res_lo; id <= pi->res_hi; id++)
			pi->pend_res[id] = 0;
		pi->nres_pend = 0;
	}
	/* The names are kept until every row is written. */
	if (!pi->npend && !pi->nres_pend)
		pi->pend_len = 0;
	return rc;
}

/* Reserve id for hash (not yet in the index). */
static void mark_reserved(struct path_index *pi, uint32_t id, const char *hash)
{
	if ((size_t)id + 1 > pi->reserved_alloc) {
		size_t old = pi->reserved_alloc;
		GROW(pi->reserved, pi->reserved_alloc, (size_t)id + 1);
		memset(pi->reserved + old, 0, pi->reserved_alloc - old);
	}
	add(pi, id, hash);
	pi->reserved[id] = 1;
	pi->nreserved++;
}

uint32_t path_index_reserve(struct path_index *pi, const char *hash)
{
	uint32_t id = path_index_find(pi, hash);

	if (id)
		return id;
	if (pi->max_id == UINT32_MAX)
		return 0;
	mark_reserved(pi, pi->max_id + 1, hash);
	return pi->max_id;
}

int path_index_sync(struct path_index *pi, struct db *db)
{
	struct path_index fresh;
	char (*res)[STORE_HASH_LEN] = NULL;
	uint32_t *res_id = NULL;
	size_t nres = 0, nmoved = 0, i;
	int64_t v;

	if (pi->npend || pi->nres_pend)
		BUG("path_index_sync with %zu paths rows not written", pi->npend + pi->nres_pend);
	if (data_version(db, &v))
		return -1;
	if (v == pi->data_version)
		return 0;
	/* Another process wrote: reload the paths it may have added (anywhere:
	 * another crawl writes the ids it reserved), then put back the
	 * reservations, each at its id unless a row took the id (then past
	 * everything, in the same order) or its hash (then it is that row). */
	if (pi->nreserved) {
		res = xmalloc(pi->nreserved * sizeof(*res));
		res_id = xmalloc(pi->nreserved * sizeof(*res_id));
		for (uint32_t id = 1; id <= pi->max_id; id++) {
			if (!is_reserved(pi, id))
				continue;
			memcpy(res[nres], pi->hashes[id], STORE_HASH_LEN);
			res_id[nres++] = id;
		}
	}
	if (path_index_load(&fresh, db)) {
		path_index_release(&fresh);
		free(res);
		free(res_id);
		return -1;
	}
	/* Those that must move are compacted to the front of res, in order. */
	for (i = 0; i < nres; i++) {
		uint32_t id = res_id[i];
		if (path_index_find(&fresh, res[i]))
			continue;
		if (id < fresh.hashes_alloc && fresh.hashes[id][0])
			memmove(res[nmoved++], res[i], STORE_HASH_LEN);
		else
			mark_reserved(&fresh, id, res[i]);
	}
	for (i = 0; i < nmoved; i++)
		path_index_reserve(&fresh, res[i]);
	path_index_release(pi);
	*pi = fresh;
	free(res);
	free(res_id);
	return 0;
}
