/*
 * export.h - the tables `cachegc export` writes, read row by row.
 *
 * Each exported table is a fixed list of columns over one SELECT of the
 * schema's tables (store/export.c), with store paths spelled out in full
 * (meta.store_dir + '/' + hash-name) so a file stands on its own in
 * DuckDB, ClickHouse or a notebook.  Rows are streamed from one prepared
 * statement: nothing is held but the current row, so a table of 10^7 rows
 * costs no more memory than one of ten.
 *
 * Layer: store.  Knows nothing of output formats: the caller gets typed
 * values and writes them.
 */
#ifndef CACHEGC_STORE_EXPORT_H
#define CACHEGC_STORE_EXPORT_H

#include <stddef.h>
#include <stdint.h>

struct db;

enum export_kind {
	EXPORT_TEXT,     /* a string */
	EXPORT_INT,      /* a 64-bit integer */
	EXPORT_LIST,     /* a list of strings: given as a JSON array of
	                    strings (written by SQLite, well-formed) */
};

struct export_column {
	const char *name;
	enum export_kind kind;
};

struct export_table {
	const char *name;
	const char *about;                  /* one line for --help */
	const struct export_column *cols;
	unsigned ncols;
	unsigned query;                     /* its statement (export.c) */
};

/* One value of a row.  null: SQL NULL (s, len, i unset).  s is valid
 * until the next row. */
struct export_value {
	int null;
	int64_t i;
	const char *s;
	size_t len;
};

/* The exportable tables, in --help order; *n gets how many. */
const struct export_table *export_tables(size_t *n);
/* The table named name, or NULL. */
const struct export_table *export_table_find(const char *name);

/* The SELECT that gives t's rows (for a query plan, or to read it). */
const char *export_table_sql(const struct export_table *t);

/* Called for each row with t->ncols values; a nonzero return stops the
 * export and is returned by export_rows. */
typedef int (*export_row_fn)(void *ctx, const struct export_value *v);

/* Stream every row of t through fn.  *rows gets how many were passed.
 * Returns 0, -1 on a database error (reported), or what fn returned. */
int export_rows(struct db *db, const struct export_table *t, export_row_fn fn, void *ctx,
		uint64_t *rows);

#endif
