/*
 * lookup.h - resolving what a user names on the command line: a cache (URL,
 * directory or id) and a store path (full path, basename or hash).
 * For commands; the DB's store directory is store/meta.h's.
 */
#ifndef CACHEGC_LOOKUP_H
#define CACHEGC_LOOKUP_H

#include <stdint.h>
#include <stdio.h>

struct db;

/* Resolve --cache: NULL means "the only cache in the DB"; otherwise an id,
 * a URL as recorded, or a directory (made file://absolute).  Sets *id and,
 * when url is not NULL, *url (malloc'd).  Returns 0 or -1 (reported, with
 * the list of known caches when ambiguous). */
int cache_resolve(struct db *db, const char *arg, int64_t *id, char **url);

/* Print the URL of every cache, one a line, in id order (for the shell
 * completion of --cache).  0 or -1 (reported). */
int cache_print_urls(struct db *db, FILE *f);

/* Resolve a store path given as "/nix/store/<hash>-<name>[/sub/path]",
 * "<hash>-<name>" or "<hash>".  Returns 1 and sets *path_id when the DB
 * knows the path, 0 when it does not, -1 when arg is not a store path
 * (reported). */
int path_resolve(struct db *db, const char *store_dir, const char *arg, int64_t *path_id);

#endif
