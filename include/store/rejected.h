/*
 * rejected.h - the bytes of the narinfos a cache's crawls refused.
 *
 * Where Nix refuses a narinfo the path is not substitutable, but its files
 * still occupy the cache (crawl_rejects.bytes, sql/008_rejected_bytes.sql).
 * A refused narinfo is refused again at every crawl, so the rejected bytes
 * of a cache at time T are those of its latest complete crawl at or before
 * T (0 before its first).  Analyses that report what a cache stores add
 * them; no GC policy in our model can free them (it does not know their
 * paths).
 */
#ifndef CACHEGC_REJECTED_H
#define CACHEGC_REJECTED_H

#include <stddef.h>
#include <stdint.h>

struct db;

/* Per complete crawl of one cache, ascending by start time: the crawl's
 * time and the bytes of its rejected narinfos. */
struct rejected_series {
	int64_t *time;
	uint64_t *bytes;
	size_t n;
};

/* Load cache_id's series.  0 or -1 (reported); release either way. */
int rejected_series_load(struct rejected_series *s, struct db *db, int64_t cache_id);
void rejected_series_release(struct rejected_series *s);

/* The rejected bytes of the latest complete crawl at or before t, 0 when
 * there is none. */
uint64_t rejected_bytes_at(const struct rejected_series *s, int64_t t);

#endif
