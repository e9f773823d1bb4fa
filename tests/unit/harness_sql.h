/*
 * harness_sql.h - what unit tests of the database ask SQLite directly.
 */
#ifndef CACHEGC_HARNESS_SQL_H
#define CACHEGC_HARNESS_SQL_H

#include <sqlite3.h>
#include <stdint.h>

/* The first column of the first row of sql on h, or -1. */
static inline int64_t query_int(sqlite3 *h, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

#endif
