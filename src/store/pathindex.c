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

enum {
	Q_DATA_VERSION,
	Q_LOAD,
	Q_INSERT,
	Q_INSERT_ID,
	Q_N
};
static const char *const sql[Q_N] = {
	[Q_DATA_VERSION] = "PRAGMA data_version",
	[Q_LOAD] = "SELECT id, hash FROM paths ORDER BY id",
	[Q_INSERT] = "INSERT INTO paths (hash, name) VALUES (?1, ?2)",
	[Q_INSERT_ID] = "INSERT INTO paths (hash, name, id) VALUES (?1, ?2, ?3)",
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
	memset(pi, 0, sizeof(*pi));
}

uint32_t path_index_find(const struct path_index *pi, const char *hash)
{
	uint32_t item = hashmap_find(&pi->map, key_of(hash), hash_eq, pi, hash);

	return item == HASHMAP_NONE ? 0 : item + 1;
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
