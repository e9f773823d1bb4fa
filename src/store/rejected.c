/*
 * rejected.c - the bytes of refused narinfos per crawl (store/rejected.h).
 */
#include "store/rejected.h"

#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/stmt.h"
#include "lib/util.h"

enum { Q_SERIES, Q_N };
static const char *const sql[Q_N] = {
	[Q_SERIES] =
		"SELECT c.started_at, (SELECT coalesce(sum(r.bytes), 0) FROM crawl_rejects r"
		" WHERE r.crawl_id = c.id) FROM crawls c"
		" WHERE c.cache_id = ?1 AND c.status = 'complete' ORDER BY c.started_at, c.id",
};
static struct stmt_table stmts = STMT_TABLE("rejected", sql);

int rejected_series_load(struct rejected_series *s, struct db *db, int64_t cache_id)
{
	sqlite3_stmt *st;
	size_t alloc = 0, balloc = 0;
	int rc;

	memset(s, 0, sizeof(*s));
	if (!(st = stmt_query(db, &stmts, Q_SERIES, SQL_ARGS(cache_id))))
		return -1;
	while ((rc = db_step(db, st)) == 1) {
		int64_t b = sqlite3_column_int64(st, 1);
		GROW(s->time, alloc, s->n + 1);
		GROW(s->bytes, balloc, s->n + 1);
		s->time[s->n] = sqlite3_column_int64(st, 0);
		s->bytes[s->n++] = b > 0 ? (uint64_t)b : 0;
	}
	return rc < 0 ? -1 : 0;
}

void rejected_series_release(struct rejected_series *s)
{
	free(s->time);
	free(s->bytes);
	memset(s, 0, sizeof(*s));
}

uint64_t rejected_bytes_at(const struct rejected_series *s, int64_t t)
{
	size_t lo = 0, hi = s->n;

	/* The first crawl after t; the one before it is the latest at or
	 * before t (of crawls started at the same time, the last). */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->time[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? s->bytes[lo - 1] : 0;
}
