/*
 * clickhouse_sync.h - the crawl tables of a ClickHouse store
 * (sql/clickhouse) and how they meet the SQLite code paths.
 *
 * Every command on a ClickHouse store runs its normal SQLite code on a
 * scratch database: ch_pull() first copies the store's state into it (the
 * caches, every narinfo, each cache's latest complete crawl, the presence
 * history), the command runs, and for an ingest command ch_push() ships
 * what it added: for each new crawl a 'running' row, its new narinfos,
 * the presence episodes it changed, and last its row with the final
 * status and counts.  ClickHouse has no transactions; this order is the
 * protocol: a reader takes a crawl as done only by that last row, so a
 * crawler killed anywhere leaves no crawl read as complete, and the
 * narinfos it did ship are pulled by the next run, which does not fetch
 * them again (as a resumed SQLite crawl).
 *
 * Layer: store.
 */
#ifndef CACHEGC_STORE_CLICKHOUSE_SYNC_H
#define CACHEGC_STORE_CLICKHOUSE_SYNC_H

#include <stdint.h>

struct ch;
struct db;

/* Refuse a database the server does not have (clear error); with create,
 * then create the tables it lacks (CREATE TABLE IF NOT EXISTS: tables that
 * are already there, such as Distributed ones, are used as they are).
 * 0 or -1 (reported). */
int ch_prepare(struct ch *ch, int create);

/* Copy the store's state into db, a new, empty SQLite database.  0 or -1. */
int ch_pull(struct ch *ch, struct db *db);

/* The largest crawls.id of db (0: none): what ch_push() ships is above. */
int ch_last_crawl(struct db *db, int64_t *id);

/* Ship every crawl of db above after (see above).  *n gets how many.
 * 0 or -1 (reported). */
int ch_push(struct ch *ch, struct db *db, int64_t after, unsigned *n);

#endif
