/*
 * clickhouse.h - a ClickHouse server as the store: `--db
 * clickhouse://HOST:PORT/DATABASE`, spoken over ClickHouse's HTTP
 * interface with libcurl.
 *
 * A query is POSTed as the request body; an INSERT sends its query in the
 * URL and its rows (TabSeparated, lib/tsv.h) as the body.  Answers are
 * read as they arrive, one TabSeparated row at a time, never held whole.
 * Every failure is reported naming the server and the database: curl's
 * (cannot connect: is clickhouse-server listening there?) or ClickHouse's
 * own message ("Code: 81 ... Database x doesn't exist"), also when it
 * arrives in the middle of an answer that began well.
 *
 * Layer: store.  The tables and the crawl's protocol are in
 * store/clickhouse_sync.c (sql/clickhouse).
 */
#ifndef CACHEGC_STORE_CLICKHOUSE_H
#define CACHEGC_STORE_CLICKHOUSE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/tsv.h"
#include "lib/util.h"

struct ch {
	char *host;            /* as given (a name, an IPv4 or [IPv6] address) */
	unsigned port;
	char *database;        /* letters, digits and _ */
	char *base;            /* http://HOST:PORT/ */
	char *where;           /* "ClickHouse at HOST:PORT, database 'DB'" */
	void *curl;            /* one easy handle, reused (keep-alive) */
	struct curl_slist *headers;
};

/* 1 when s names a ClickHouse store (starts with "clickhouse://"). */
int ch_is_url(const char *s);

/* Parse clickhouse://HOST[:PORT]/DATABASE (PORT defaults to 8123, the
 * HTTP interface's) into ch.  Returns 0, or -1 after saying what is wrong
 * with the URL. */
int ch_open(struct ch *ch, const char *url);
void ch_close(struct ch *ch);

/* Run one statement that returns no rows (DDL, an INSERT ... VALUES).
 * 0 or -1 (reported). */
int ch_exec(struct ch *ch, const char *sql);

/* Called with each row of an answer: its fields (n of them, as the line
 * had; the caller checks the count it expects).  Nonzero stops the
 * query and is returned by ch_select(). */
typedef int (*ch_row_fn)(void *ctx, struct tsv_field *f, int n);

/* Run sql (it must not name a FORMAT: FORMAT TabSeparated is added) and
 * stream its rows to fn, each with ncols fields (another count is an
 * error).  Returns 0, -1 (reported) or what fn returned. */
int ch_select(struct ch *ch, const char *sql, int ncols, ch_row_fn fn, void *ctx);

/* INSERT INTO table (cols) the TabSeparated rows in rows[0..len) (each
 * ending in a newline).  Into a Distributed table the insert returns only
 * once every shard has its rows (insert_distributed_sync), so what is
 * written after it is never seen before it.  0 or -1 (reported). */
int ch_insert(struct ch *ch, const char *table, const char *cols, const char *rows,
	      size_t len);

/* Append s (NUL-terminated) as a quoted SQL string literal. */
void ch_quote(struct strbuf *sb, const char *s);

#endif
