/*
 * records.h - reading what the crawls, imports and plans recorded, for
 * the commands that print it: path names, one narinfo, the paths present
 * in a cache, trusted keys, an eviction plan's cache.  Commands hold no
 * SQL (the layer rule of README's Layout): they call these.
 *
 * Layer: store.
 */
#ifndef CACHEGC_RECORDS_H
#define CACHEGC_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

struct db;

/* Base names ("<hash>-<name>") of every path, by id: one allocation. */
struct path_names {
	char *pool;
	uint32_t *at;          /* offset into pool per id; 0 = unknown ("") */
	uint32_t n;            /* ids 0 .. n-1 */
};
/* Load every row of paths with id < n.  Returns 0 or -1 (reported);
 * free with path_names_release() in either case. */
int path_names_load(struct path_names *pn, struct db *db, uint32_t n);
/* The base name of id, or "" when unknown.  Valid until release. */
const char *path_names_get(const struct path_names *pn, uint32_t id);
void path_names_release(struct path_names *pn);

/* Append the base name of path id to out.  1 found, 0 no such path, -1
 * error (reported). */
int path_base_name(struct db *db, int64_t id, struct strbuf *out);

/* One narinfo as recorded.  Strings are malloc'd (NULL for SQL NULL);
 * free with narinfo_record_release(). */
struct narinfo_record {
	char *nar_hash;
	int64_t nar_size;
	char *url, *compression;
	char *file_hash;       /* NULL: not recorded */
	int64_t file_size;     /* -1: not recorded */
	char *deriver;         /* a base name, or NULL */
	char *ca;
	char *sigs;            /* the sigs column: a JSON array of strings */
};
/* The narinfo of path_id in cache_id: 1 found (*r filled), 0 none, -1
 * error (reported). */
int narinfo_record_get(struct db *db, int64_t cache_id, int64_t path_id,
		       struct narinfo_record *r);
void narinfo_record_release(struct narinfo_record *r);

/* The ids of the paths present in cache_id (not gone), in the DB's
 * order, into *ids (malloc'd, the caller frees) and *n.  0 or -1. */
int cache_present_ids(struct db *db, int64_t cache_id, int64_t **ids, size_t *n);

/* The trusted keys, by name: fn is called per key; a non-zero return
 * from fn stops the walk and is returned.  -1 on a DB error (reported). */
struct trusted_key_row {
	const char *name;
	const char *public_key;    /* base64, without "name:" */
	int64_t added_at;
	int64_t revoked_at;        /* -1: not revoked */
};
int trusted_keys_each(struct db *db, int (*fn)(const struct trusted_key_row *k, void *ctx),
		      void *ctx);

/* The URL of the cache eviction plan plan_id is for, into *url
 * (malloc'd).  1 found, 0 no such plan, -1 error (reported). */
int evict_plan_cache_url(struct db *db, int64_t plan_id, char **url);

#endif
