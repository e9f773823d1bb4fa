/*
 * pathindex.h - an in-memory map from store-path hash to paths.id.
 *
 * Loaded once from the DB (one sequential scan), then used to resolve
 * References without a query per reference.  Ids are the DB's integer
 * primary keys, which are dense, so other modules size flat arrays by
 * path_index_max_id().  Id 0 means "none".
 */
#ifndef CACHEGC_PATHINDEX_H
#define CACHEGC_PATHINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "nixhash.h"

struct db;

struct path_index {
	uint32_t *slots;          /* open addressing, 0 = empty */
	size_t nslots;            /* power of two */
	size_t count;
	char (*hashes)[STORE_HASH_LEN]; /* hashes[id], not NUL-terminated */
	size_t hashes_alloc;
	uint32_t max_id;
};

/* Load every row of paths.  Returns 0 or -1 (reported). */
int path_index_load(struct path_index *pi, struct db *db);
void path_index_release(struct path_index *pi);

/* The id of the path with this 32-char hash, or 0. */
uint32_t path_index_find(const struct path_index *pi, const char *hash);

/* The id of basename "<hash>-<name>" (len bytes, already validated),
 * inserting it into the paths table (and the index) when new.  Must run
 * inside a write transaction.  Returns the id, or 0 on error (reported). */
uint32_t path_index_intern(struct path_index *pi, struct db *db, const char *basename,
			   size_t len);

static inline uint32_t path_index_max_id(const struct path_index *pi)
{
	return pi->max_id;
}

#endif
