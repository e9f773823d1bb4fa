/*
 * test_checkpointer.c - WAL checkpoints on a thread: the log is copied
 * into the DB file while the writer goes on, it stays bounded under a
 * writer that never pauses, and nothing written is lost.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/checkpointer.h"
#include "store/db.h"
#include "store/stmt.h"
#include "harness.h"
#include "harness_sql.h"
#include "lib/util.h"

static char dir[] = "/tmp/cachegc-test-ckpt.XXXXXX";

static const char *tmp(const char *name)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

static int64_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : (int64_t)st.st_size;
}

/* One transaction of n rows of 1000 bytes each (about a quarter of a
 * page each); begun right after the last commit, as a crawl does. */
static int write_rows(struct db *db, int first, int n)
{
	char sql[160];

	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE k(i) AS (SELECT %d UNION ALL SELECT i + 1 FROM k WHERE i < %d) "
		 "INSERT INTO t SELECT i, randomblob(1000) FROM k", first, first + n - 1);
	return db_begin(db) || db_exec(db, sql) || db_commit(db) ? -1 : 0;
}

TEST(log_is_checkpointed_by_the_thread_and_stays_bounded)
{
	struct db db;
	struct ckpt *ck;
	char wal[300];
	int64_t most = 0, start_size;
	const int per_txn = 400;   /* about 100 pages a transaction */

	snprintf(wal, sizeof(wal), "%s-wal", tmp("bounded.db"));
	CHECK(db_open(&db, tmp("bounded.db"), DB_OPEN_WRITE) == 0);
	CHECK(db_exec(&db, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)") == 0);
	/* Start with the log empty, so what follows is the thread's doing. */
	CHECK(db_exec(&db, "PRAGMA wal_checkpoint(TRUNCATE)") == 0);
	start_size = file_size(tmp("bounded.db"));
	CHECK((ck = ckpt_start_at(&db, 64, 256)) != NULL);
	for (int t = 0; t < 40; t++) {
		int64_t w;
		CHECK(write_rows(&db, t * per_txn, per_txn) == 0);
		w = file_size(wal);
		if (w > most)
			most = w;
	}
	ckpt_stop(ck);
	/* The writer's own checkpoints were off: the rows reached the DB
	 * file through the thread. */
	CHECK(file_size(tmp("bounded.db")) > start_size + 2 * 1000 * 1000);
	/* 40 transactions of ~100 pages never paused: without the wait at
	 * 256 pages the log would hold all ~4000 pages (16 MB).  It restarts
	 * after at most the wait size plus a transaction or two. */
	CHECK(most > 0);
	CHECK(most < (int64_t)(256 + 3 * 110) * 4096 + 32 * 1024);
	CHECK_INT(query_int(db.h, "SELECT count(*) FROM t"), 40 * per_txn);
	db_close(&db);
	CHECK(db_open(&db, tmp("bounded.db"), DB_OPEN_READ) == 0);
	CHECK_INT(query_int(db.h, "SELECT count(*) FROM t"), 40 * per_txn);
	CHECK_INT(query_int(db.h, "SELECT count(*) FROM pragma_integrity_check "
			    "WHERE integrity_check = 'ok'"), 1);
	db_close(&db);
}

TEST(stop_gives_checkpoints_back_to_commits)
{
	struct db db;
	char wal[300];

	snprintf(wal, sizeof(wal), "%s-wal", tmp("back.db"));
	CHECK(db_open(&db, tmp("back.db"), DB_OPEN_WRITE) == 0);
	CHECK(db_exec(&db, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)") == 0);
	ckpt_stop(ckpt_start_at(&db, 64, 256));
	CHECK(db_exec(&db, "PRAGMA wal_autocheckpoint = 100") == 0);
	/* After stop, SQLite's hook is back: a commit past 100 pages
	 * checkpoints, and the next transaction restarts the log. */
	for (int t = 0; t < 20; t++)
		CHECK(write_rows(&db, t * 400, 400) == 0);
	CHECK(file_size(wal) < (int64_t)(100 + 2 * 110) * 4096 + 32 * 1024);
	CHECK(file_size(tmp("back.db")) > 4 * 1000 * 1000);
	db_close(&db);
}

TEST(read_only_db_gets_no_checkpointer)
{
	struct db db;

	CHECK(db_open(&db, tmp("ro.db"), DB_OPEN_WRITE) == 0);
	db_close(&db);
	CHECK(db_open(&db, tmp("ro.db"), DB_OPEN_READ) == 0);
	CHECK(ckpt_start(&db) == NULL);
	ckpt_stop(NULL);
	db_close(&db);
}

int main(void)
{
	char cmd[300];

	if (!mkdtemp(dir))
		return 1;
	RUN(log_is_checkpointed_by_the_thread_and_stays_bounded);
	RUN(stop_gives_checkpoints_back_to_commits);
	RUN(read_only_db_gets_no_checkpointer);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return test_summary();
}
