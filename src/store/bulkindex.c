/*
 * bulkindex.c - secondary indexes a bulk load builds at its end
 * (store/bulkindex.h).
 */
#include "store/bulkindex.h"

#include "store/db.h"
#include "store/stmt.h"
#include "lib/util.h"

/* The indexes, exactly as sql/003_evals.sql creates them: a rebuilt
 * database's schema reads as a fresh one's. */
static const struct {
	const char *name, *create;
} deferrable[] = {
	{ "eval_jobs_by_path", "CREATE INDEX eval_jobs_by_path ON eval_jobs (path_id)" },
	{ "eval_jobs_by_drv", "CREATE INDEX eval_jobs_by_drv ON eval_jobs (drv_id)" },
};

enum { Q_HAS_INDEX, Q_ANY_JOB, Q_N };
static const char *const sql[Q_N] = {
	[Q_HAS_INDEX] = "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?1",
	[Q_ANY_JOB] = "SELECT EXISTS (SELECT 1 FROM eval_jobs)",
};
static struct stmt_table stmts = STMT_TABLE("bulkindex", sql);

static int scalar(struct db *db, unsigned q, const char *arg, int64_t *out)
{
	sqlite3_stmt *st;
	int rc = arg ? stmt_row(db, &stmts, q, &st, SQL_ARGS(arg))
		     : stmt_row(db, &stmts, q, &st, SQL_NOARGS);

	if (rc < 0)
		return -1;
	*out = rc == 1 ? sqlite3_column_int64(st, 0) : 0;
	if (rc == 1)
		stmt_done(st);
	return 0;
}

int db_indexes_defer(struct db *db, int *deferred)
{
	int64_t any;

	*deferred = 0;
	if (scalar(db, Q_ANY_JOB, NULL, &any))
		return -1;
	if (any)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(deferrable); i++) {
		int64_t has;
		char drop[96];

		if (scalar(db, Q_HAS_INDEX, deferrable[i].name, &has))
			return -1;
		if (!has)
			continue;
		snprintf(drop, sizeof(drop), "DROP INDEX %s", deferrable[i].name);
		if (db_exec(db, drop))
			return -1;
	}
	*deferred = 1;
	return 0;
}

int db_indexes_restore(struct db *db, int *built)
{
	int n = 0, missing = 0;

	if (built)
		*built = 0;
	/* Read first: the usual case builds nothing and takes no lock. */
	for (size_t i = 0; i < ARRAY_SIZE(deferrable); i++) {
		int64_t has;

		if (scalar(db, Q_HAS_INDEX, deferrable[i].name, &has))
			return -1;
		missing += !has;
	}
	if (!missing)
		return 0;
	if (db_begin(db))
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(deferrable); i++) {
		int64_t has;

		if (scalar(db, Q_HAS_INDEX, deferrable[i].name, &has))
			goto fail;
		if (has)
			continue;
		if (db_exec(db, deferrable[i].create))
			goto fail;
		n++;
	}
	if (db_commit(db))
		goto fail;
	if (built)
		*built = n;
	return 0;
fail:
	db_rollback(db);
	return -1;
}
