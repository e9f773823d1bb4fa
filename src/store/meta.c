/*
 * meta.c - the DB's settings in the meta table (store/meta.h).
 */
#include "store/meta.h"

#include <stdlib.h>

#include "store/db.h"
#include "store/stmt.h"
#include "lib/util.h"

enum { Q_STORE_DIR, Q_N };
static const char *const sql[Q_N] = {
	[Q_STORE_DIR] = "SELECT value FROM meta WHERE key = 'store_dir'",
};
static struct stmt_table stmts = STMT_TABLE("meta", sql);

char *db_store_dir(struct db *db)
{
	sqlite3_stmt *st = stmt_query(db, &stmts, Q_STORE_DIR, SQL_NOARGS);
	char *s;

	if (!st || db_step(db, st) != 1) {
		error("database '%s' has no store_dir", db->path);
		return NULL;
	}
	s = xstrdup(db_col_text(st, 0));
	sqlite3_reset(st);
	return s;
}
