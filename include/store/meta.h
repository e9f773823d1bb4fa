/*
 * meta.h - the DB's own settings (the meta table): what every analysis
 * needs to know about the store the DB describes.
 *
 * Layer: store.  Analyses (trust, coverage, evict) take the store
 * directory from here; resolving what a user names on the command line is
 * lookup.h's, for commands.
 */
#ifndef CACHEGC_META_H
#define CACHEGC_META_H

struct db;

/* The DB's store directory ("/nix/store").  Returns a malloc'd string the
 * caller frees, or NULL (reported). */
char *db_store_dir(struct db *db);

#endif
