/*
 * test_export.c - the exported tables (store/export.h): every table's
 * statement streams (no sort of the whole result: SQLite's plan uses no
 * temporary B-tree), names as many columns as it selects, and gives the
 * rows of a small database in order.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/db.h"
#include "store/export.h"
#include "store/stmt.h"
#include "lib/util.h"
#include "harness.h"

static char dir[] = "/tmp/cachegc-test-export.XXXXXX";
static char path[300];

TEST(plans_stream)
{
	struct db db;
	size_t n;
	const struct export_table *t = export_tables(&n);

	CHECK(db_open(&db, path, DB_OPEN_WRITE) == 0);
	CHECK(n >= 13);
	for (size_t i = 0; i < n; i++) {
		struct strbuf q = STRBUF_INIT;
		sqlite3_stmt *st;
		int sorts = 0, ok;

		strbuf_addf(&q, "EXPLAIN QUERY PLAN %s", export_table_sql(&t[i]));
		ok = sqlite3_prepare_v2(db.h, q.buf, -1, &st, NULL) == SQLITE_OK;
		CHECK(ok);
		/* rows: id, parent, notused, detail; a sort is fine only under a
		 * (per-row) subquery, e.g. a narinfo's references */
		{
			int ids[64], parents[64], sub[64], m = 0;

			while (ok && sqlite3_step(st) == SQLITE_ROW && m < 64) {
				const char *d = (const char *)sqlite3_column_text(st, 3);
				int par = sqlite3_column_int(st, 1), under = 0;

				for (int k = 0; k < m; k++)
					if (ids[k] == par)
						under = sub[k];
				ids[m] = sqlite3_column_int(st, 0);
				parents[m] = par;
				sub[m] = under || (d && strstr(d, "SUBQUERY"));
				if (d && strstr(d, "TEMP B-TREE") && !sub[m]) {
					fprintf(stderr, "%s: %s\n", t[i].name, d);
					sorts++;
				}
				m++;
			}
			(void)parents;
		}
		sqlite3_finalize(st);
		CHECK_INT(sorts, 0);
		/* as many names as columns */
		CHECK(sqlite3_prepare_v2(db.h, export_table_sql(&t[i]), -1, &st, NULL) == SQLITE_OK);
		CHECK_INT(sqlite3_column_count(st), t[i].ncols);
		sqlite3_finalize(st);
		CHECK(export_table_find(t[i].name) == &t[i]);
		strbuf_release(&q);
	}
	CHECK(export_table_find("paths") == NULL);
	db_close(&db);
}

struct seen {
	int rows;
	char first[64];
	int64_t ints[4];
};

static int count_row(void *ctx, const struct export_value *v)
{
	struct seen *s = ctx;

	if (!s->rows)
		snprintf(s->first, sizeof(s->first), "%.*s", (int)v[1].len, v[1].s);
	if (s->rows < 4)
		s->ints[s->rows] = v[0].i;
	s->rows++;
	return s->rows == 3 ? 7 : 0;   /* stop at the third row */
}

TEST(rows_in_order_and_stop)
{
	struct db db;
	struct seen s = {0};
	uint64_t rows;
	const struct export_table *t = export_table_find("caches");

	CHECK(db_open(&db, path, DB_OPEN_WRITE) == 0);
	CHECK(db_exec(&db, "INSERT INTO caches (id, url, added_at) VALUES (3, 'file:///c', 1),"
			   " (1, 'file:///a', 1), (2, 'file:///b', 1), (4, 'file:///d', 1)") == 0);
	CHECK_INT(export_rows(&db, t, count_row, &s, &rows), 7);
	CHECK_INT(rows, 2);
	CHECK_STR(s.first, "file:///a");
	CHECK_INT(s.ints[0], 1);
	CHECK_INT(s.ints[1], 2);
	CHECK_INT(s.ints[2], 3);
	db_close(&db);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/x.db", dir);
	RUN(plans_stream);
	RUN(rows_in_order_and_stop);
	unlink(path);
	{
		char p2[320];
		snprintf(p2, sizeof(p2), "%s-wal", path);
		unlink(p2);
		snprintf(p2, sizeof(p2), "%s-shm", path);
		unlink(p2);
	}
	rmdir(dir);
	return test_summary();
}
