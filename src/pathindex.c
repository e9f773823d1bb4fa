/*
 * pathindex.c - hash -> id map over the paths table.
 *
 * Store-path hashes are uniformly random nix32, so the first characters
 * already make a good hash key; we mix 8 of them with a multiply.
 */
#include "pathindex.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "util.h"

static uint64_t key_of(const char *hash)
{
	uint64_t k;

	memcpy(&k, hash + 8, sizeof(k));
	k ^= k >> 29;
	k *= 0x9e3779b97f4a7c15ULL;
	return k ^ (k >> 32);
}

static void slots_insert(struct path_index *pi, uint32_t id)
{
	size_t mask = pi->nslots - 1, i = (size_t)key_of(pi->hashes[id]) & mask;

	while (pi->slots[i])
		i = (i + 1) & mask;
	pi->slots[i] = id;
}

static void rehash(struct path_index *pi, size_t nslots)
{
	free(pi->slots);
	pi->slots = xcalloc(nslots, sizeof(*pi->slots));
	pi->nslots = nslots;
	for (uint32_t id = 1; id <= pi->max_id; id++)
		if (pi->hashes[id][0])
			slots_insert(pi, id);
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
	pi->count++;
	if (pi->count * 2 > pi->nslots)
		rehash(pi, pi->nslots ? pi->nslots * 2 : 1024);
	else
		slots_insert(pi, id);
}

int path_index_load(struct path_index *pi, struct db *db)
{
	static const char sql[] = "SELECT id, hash FROM paths ORDER BY id";
	sqlite3_stmt *st;
	int rc;

	memset(pi, 0, sizeof(*pi));
	st = db_stmt(db, sql);
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
	if (!pi->nslots)
		rehash(pi, 1024);
	return rc < 0 ? -1 : 0;
}

void path_index_release(struct path_index *pi)
{
	free(pi->slots);
	free(pi->hashes);
	memset(pi, 0, sizeof(*pi));
}

uint32_t path_index_find(const struct path_index *pi, const char *hash)
{
	size_t mask, i;

	if (!pi->nslots)
		return 0;
	mask = pi->nslots - 1;
	for (i = (size_t)key_of(hash) & mask; pi->slots[i]; i = (i + 1) & mask)
		if (!memcmp(pi->hashes[pi->slots[i]], hash, STORE_HASH_LEN))
			return pi->slots[i];
	return 0;
}

uint32_t path_index_intern(struct path_index *pi, struct db *db, const char *basename,
			   size_t len)
{
	static const char sql[] = "INSERT INTO paths (hash, name) VALUES (?1, ?2)";
	sqlite3_stmt *st;
	uint32_t id = path_index_find(pi, basename);
	int64_t rowid;

	if (id)
		return id;
	st = db_stmt(db, sql);
	if (!st)
		return 0;
	db_bind_textn(st, 1, basename, STORE_HASH_LEN);
	db_bind_textn(st, 2, basename + STORE_HASH_LEN + 1, len - STORE_HASH_LEN - 1);
	if (db_run(db, st))
		return 0;
	rowid = db_last_id(db);
	if (rowid <= 0 || rowid > UINT32_MAX) {
		error("paths table id %lld out of range", (long long)rowid);
		return 0;
	}
	add(pi, (uint32_t)rowid, basename);
	return (uint32_t)rowid;
}
