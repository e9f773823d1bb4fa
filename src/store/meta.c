/*
 * meta.c - the DB's settings in the meta table (store/meta.h).
 */
#include "store/meta.h"

#include <stdlib.h>

#include "store/db.h"
#include "lib/util.h"

char *db_store_dir(struct db *db)
{
	static const char sql[] = "SELECT value FROM meta WHERE key = 'store_dir'";
	sqlite3_stmt *st = db_stmt(db, sql);
	char *s;

	if (!st || db_step(db, st) != 1) {
		error("database '%s' has no store_dir", db->path);
		return NULL;
	}
	s = xstrdup(db_col_text(st, 0));
	sqlite3_reset(st);
	return s;
}
