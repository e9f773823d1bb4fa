/*
 * pathindex.h - an in-memory map from store-path hash to paths.id.
 *
 * Loaded once from the DB (one sequential scan), then used to resolve
 * References without a query per reference.  Ids are the DB's integer
 * primary keys, which are nearly dense (a reserved id that is never
 * interned leaves a gap), so other modules size flat arrays by
 * path_index_max_id().  Id 0 means "none".
 *
 * A crawl reserves ids for the narinfos it is about to record, in the
 * order it records them, so the rows keyed by path id (narinfos, the
 * presence index) are appended rather than scattered over the B-trees.
 */
#ifndef CACHEGC_PATHINDEX_H
#define CACHEGC_PATHINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "lib/hashmap.h"
#include "nix/nixhash.h"

struct db;

struct path_index {
	struct hashmap map;       /* hash -> id, items are id - 1 */
	char (*hashes)[STORE_HASH_LEN]; /* hashes[id], not NUL-terminated */
	size_t hashes_alloc;
	uint32_t max_id;
	int64_t data_version;     /* PRAGMA data_version when last in sync */
	unsigned char *reserved;  /* reserved[id]: reserved, no row yet */
	size_t reserved_alloc;
	size_t nreserved;
	/* Rows interned with path_index_intern_deferred(), not yet written,
	 * their basenames NUL-terminated in pend_names: those of new ids in
	 * order, pend_id[i] and pend_at[i] (where its basename starts); those
	 * of reserved ids by id, pend_res[id] (where it starts, plus 1; 0:
	 * none), all of them between res_lo and res_hi. */
	uint32_t *pend_id, *pend_at;
	size_t npend, pend_alloc;
	uint32_t *pend_res;
	size_t pend_res_alloc, nres_pend;
	uint32_t res_lo, res_hi;
	char *pend_names;
	size_t pend_len, pend_names_alloc;
};

/* Load every row of paths.  Returns 0 or -1 (reported). */
int path_index_load(struct path_index *pi, struct db *db);
void path_index_release(struct path_index *pi);

/* The id of the path with this 32-char hash, or 0. */
uint32_t path_index_find(const struct path_index *pi, const char *hash);

/* A hint: start loading what path_index_find() will read for each of the
 * n hashes (store hashes or basenames), so that the cache misses of
 * looking up a narinfo's references overlap instead of following one
 * another (in an index of 10^5 paths or more, nearly every lookup misses). */
void path_index_prefetch(const struct path_index *pi, char *const *hashes, size_t n);

/* The id of basename "<hash>-<name>" (len bytes, already validated),
 * inserting it into the paths table (and the index) when new or only
 * reserved.  Must run inside a write transaction.  Returns the id, or 0 on
 * error (reported). */
uint32_t path_index_intern(struct path_index *pi, struct db *db, const char *basename,
			   size_t len);

/* As path_index_intern(), but the paths row is only queued (in the
 * order of the calls, with the id it will have): path_index_flush()
 * writes the queue, and must before the transaction commits or anything
 * reads the paths table.  Needs no transaction.  Returns the id, or 0
 * when the id space is exhausted (reported). */
uint32_t path_index_intern_deferred(struct path_index *pi, const char *basename,
				    size_t len);

/* Write the queued paths rows (several to a statement, in id order),
 * inside a write transaction: with upto UINT32_MAX all of them, else
 * only whole statements' worth of those with ids up to upto, keeping the
 * rest queued.  A crawl recording narinfos in the order of their
 * reserved ids passes the last one's: a path named by a reference before
 * its own narinfo is then written in its turn, so the paths B-tree and
 * its hash index are appended to rather than split everywhere.  Returns
 * 0 or -1 (reported; the queue is then dropped: roll the transaction
 * back). */
int path_index_flush(struct path_index *pi, struct db *db, uint32_t upto);

/* Reserve the next id for a 32-char hash that is about to be interned
 * (ids follow the order of the calls), without writing to the DB.  A hash
 * already known keeps its id.  path_index_find() finds a reserved id; its
 * paths row exists only once path_index_intern() inserted it.  Returns the
 * id, or 0 when the id space is exhausted (the hash is then interned the
 * usual way). */
uint32_t path_index_reserve(struct path_index *pi, const char *hash);

/* Call at the start of every write transaction of a long-lived writer:
 * when another process has written the DB since this index last looked, load
 * the paths it added (their ids may be ones reserved here) and move each
 * reservation whose id was taken past them, in the same order; one whose
 * hash was added becomes that row.  Ids already interned never move.
 * Returns 0 or -1 (reported). */
int path_index_sync(struct path_index *pi, struct db *db);

static inline uint32_t path_index_max_id(const struct path_index *pi)
{
	return pi->max_id;
}

#endif
