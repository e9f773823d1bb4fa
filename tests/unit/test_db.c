/*
 * test_db.c - opening, migrating and refusing databases.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/db.h"
#include "store/stmt.h"
#include "harness.h"
#include "harness_sql.h"
#include "store/schema.h"
#include "lib/util.h"

static char dir[] = "/tmp/cachegc-test-db.XXXXXX";

static const char *tmp(const char *name)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

TEST(fresh_db_is_migrated_to_latest)
{
	struct db db;

	CHECK(db_open(&db, tmp("fresh.db"), 0) == 0);
	CHECK_INT(query_int(db.h, "PRAGMA user_version"), db_latest_version());
	CHECK_INT(query_int(db.h, "PRAGMA application_id"), CACHEGC_APP_ID);
	CHECK_INT(query_int(db.h, "SELECT count(*) FROM sqlite_master WHERE name = 'presence'"), 1);
	CHECK_INT(query_int(db.h, "SELECT count(*) FROM meta WHERE key = 'store_dir'"), 1);
	db_close(&db);
	/* Reopening is a no-op: nothing re-applied (the INSERT into meta in
	 * 001 would fail on a second run). */
	CHECK(db_open(&db, tmp("fresh.db"), 0) == 0);
	CHECK_INT(query_int(db.h, "SELECT count(*) FROM meta"), 1);
	db_close(&db);
	CHECK(db_open(&db, tmp("fresh.db"), 1) == 0);
	db_close(&db);
}

TEST(migrations_are_numbered_in_order)
{
	CHECK(n_migrations >= 1);
	for (unsigned i = 0; i < n_migrations; i++)
		CHECK_INT(migrations[i].version, i + 1);
}

TEST(old_db_is_migrated_step_by_step)
{
	struct db db;
	sqlite3 *h;
	char *err = NULL;

	/* A DB left at version 1 by an older cachegc. */
	CHECK(sqlite3_open(tmp("old.db"), &h) == SQLITE_OK);
	CHECK(sqlite3_exec(h, migrations[0].sql, NULL, NULL, &err) == SQLITE_OK);
	sqlite3_free(err);
	{
		char pragma[96];
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = 1; PRAGMA application_id = %d",
			 CACHEGC_APP_ID);
		CHECK(sqlite3_exec(h, pragma, NULL, NULL, NULL) == SQLITE_OK);
	}
	CHECK(sqlite3_exec(h, "INSERT INTO paths (hash, name) VALUES "
			      "('00000000000000000000000000000000', 'kept')", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(h);
	if (db_latest_version() > 1) {
		/* read-only opens refuse to migrate */
		CHECK(db_open(&db, tmp("old.db"), 1) == -1);
	}
	CHECK(db_open(&db, tmp("old.db"), 0) == 0);
	CHECK_INT(query_int(db.h, "PRAGMA user_version"), db_latest_version());
	CHECK_INT(query_int(db.h, "SELECT count(*) FROM paths WHERE name = 'kept'"), 1);
	db_close(&db);
}

TEST(newer_db_is_refused)
{
	struct db db;
	sqlite3 *h;
	char sql[128];

	CHECK(db_open(&db, tmp("newer.db"), 0) == 0);
	db_close(&db);
	CHECK(sqlite3_open(tmp("newer.db"), &h) == SQLITE_OK);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %u", db_latest_version() + 1);
	CHECK(sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(h);
	CHECK(db_open(&db, tmp("newer.db"), 0) == -1);
	CHECK(db_open(&db, tmp("newer.db"), 1) == -1);
	/* and it was not touched */
	CHECK(sqlite3_open(tmp("newer.db"), &h) == SQLITE_OK);
	CHECK_INT(query_int(h, "PRAGMA user_version"), db_latest_version() + 1);
	sqlite3_close(h);
}

TEST(foreign_sqlite_db_is_refused_untouched)
{
	struct db db;
	sqlite3 *h;

	CHECK(sqlite3_open(tmp("foreign.db"), &h) == SQLITE_OK);
	CHECK(sqlite3_exec(h, "CREATE TABLE mine (x); INSERT INTO mine VALUES (42)",
			   NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(h);
	CHECK(db_open(&db, tmp("foreign.db"), 0) == -1);
	CHECK(sqlite3_open(tmp("foreign.db"), &h) == SQLITE_OK);
	CHECK_INT(query_int(h, "SELECT count(*) FROM sqlite_master"), 1);
	CHECK_INT(query_int(h, "PRAGMA user_version"), 0);
	sqlite3_close(h);
}

TEST(non_sqlite_file_is_refused)
{
	struct db db;
	FILE *f = fopen(tmp("text.db"), "w");
	char *buf;
	size_t len;

	CHECK(f != NULL);
	if (!f)
		return;
	fputs("this is not a database, it is a long enough text file to have a header\n", f);
	fclose(f);
	CHECK(db_open(&db, tmp("text.db"), 0) == -1);
	CHECK(read_file_capped(tmp("text.db"), 4096, &buf, &len) == 0);
	CHECK(buf && !strncmp(buf, "this is not a database", 22));
	free(buf);
}

static void write_bytes(const char *path, const char *data, size_t n)
{
	FILE *f = fopen(path, "wb");

	CHECK(f != NULL);
	if (!f)
		return;
	CHECK(fwrite(data, 1, n, f) == n);
	fclose(f);
}

/* Files SQLite would take for an empty database (shorter than its header)
 * are refused unless empty, and left as they were. */
TEST(short_file_is_refused_untouched)
{
	static const char *const contents[] = {"x", "S", "\n", "SQLite format 3"};
	struct db db;
	char *buf;
	size_t len;

	for (size_t i = 0; i < ARRAY_SIZE(contents); i++) {
		size_t n = strlen(contents[i]);
		write_bytes(tmp("short.db"), contents[i], n);
		CHECK(db_open(&db, tmp("short.db"), 0) == -1);
		CHECK(db_open(&db, tmp("short.db"), 1) == -1);
		CHECK(read_file_capped(tmp("short.db"), 4096, &buf, &len) == 0);
		CHECK(len == n && buf && !memcmp(buf, contents[i], n));
		free(buf);
	}
}

TEST(empty_file_becomes_a_db)
{
	struct db db;

	write_bytes(tmp("empty.db"), "", 0);
	/* read-only: nothing to read yet, and it stays empty */
	CHECK(db_open(&db, tmp("empty.db"), 1) == -1);
	CHECK(db_open(&db, tmp("empty.db"), 0) == 0);
	CHECK_INT(query_int(db.h, "PRAGMA user_version"), db_latest_version());
	db_close(&db);
}

TEST(missing_db_read_only_is_refused_not_created)
{
	struct db db;

	CHECK(db_open(&db, tmp("absent.db"), 1) == -1);
	CHECK(access(tmp("absent.db"), F_OK) != 0);
}

TEST(statement_cache_reuses_statements)
{
	static const char sql[] = "SELECT ?1 + 1";
	struct db db;
	sqlite3_stmt *a, *b;

	CHECK(db_open(&db, tmp("stmt.db"), 0) == 0);
	a = db_stmt(&db, sql);
	CHECK(a != NULL);
	db_bind_int(a, 1, 41);
	CHECK(db_step(&db, a) == 1);
	CHECK_INT(sqlite3_column_int64(a, 0), 42);
	b = db_stmt(&db, sql);
	CHECK(a == b);
	/* bindings were cleared: NULL + 1 is NULL */
	CHECK(db_step(&db, b) == 1);
	CHECK(sqlite3_column_type(b, 0) == SQLITE_NULL);
	CHECK(db_stmt(&db, "SELECT nonsense FROM nowhere") == NULL);
	db_close(&db);
}

static int64_t count_paths(struct db *db)
{
	static const char sql[] = "SELECT count(*) FROM paths";
	sqlite3_stmt *st = db_stmt(db, sql);
	int64_t n = -1;

	if (st && db_step(db, st) == 1)
		n = sqlite3_column_int64(st, 0);
	if (st)
		sqlite3_reset(st);
	return n;
}

static int add_path(struct db *db, const char *hash)
{
	static const char sql[] = "INSERT INTO paths (hash, name) VALUES (?1, 'p')";
	sqlite3_stmt *st;

	if (db_begin(db) || !(st = db_stmt(db, sql)))
		return -1;
	db_bind_text(st, 1, hash);
	if (db_run(db, st) || db_commit(db)) {
		db_rollback(db);
		return -1;
	}
	return 0;
}

TEST(snapshot_sees_one_state_while_another_process_writes)
{
	struct db r, w;

	CHECK(db_open(&w, tmp("snap.db"), 0) == 0);
	CHECK(db_open(&r, tmp("snap.db"), 1) == 0);
	CHECK(add_path(&w, "00000000000000000000000000000001") == 0);
	CHECK(!db_reading(&r));
	CHECK(db_read_begin(&r) == 0);
	CHECK(db_reading(&r));
	/* A writer commits after the snapshot began: the reader does not see
	 * it, at any depth, until the outermost snapshot ends. */
	CHECK(add_path(&w, "00000000000000000000000000000002") == 0);
	CHECK_INT(count_paths(&r), 1);
	CHECK(db_read_begin(&r) == 0);
	CHECK(add_path(&w, "00000000000000000000000000000003") == 0);
	CHECK_INT(count_paths(&r), 1);
	/* db_rollback (an error path of a writer) leaves the snapshot be */
	db_rollback(&r);
	CHECK_INT(count_paths(&r), 1);
	db_read_end(&r);
	CHECK(db_reading(&r));
	CHECK_INT(count_paths(&r), 1);
	db_read_end(&r);
	CHECK(!db_reading(&r));
	CHECK_INT(count_paths(&w), 3);
	CHECK_INT(count_paths(&r), 3);
	/* Inside the writer's own transaction a snapshot is that transaction. */
	CHECK(db_begin(&w) == 0);
	CHECK(db_read_begin(&w) == 0);
	CHECK_INT(count_paths(&w), 3);
	db_read_end(&w);
	CHECK(db_commit(&w) == 0);
	db_close(&r);
	db_close(&w);
}

TEST(write_inside_snapshot_is_a_bug)
{
	struct db db;
	pid_t pid;
	int status = 0;
	char *msg = NULL;
	size_t len = 0;

	CHECK(db_open(&db, tmp("snapbug.db"), 0) == 0);
	CHECK(db_read_begin(&db) == 0);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		/* BUG(): a message naming db.c, then abort() */
		if (!freopen(tmp("snapbug.err"), "w", stderr))
			_exit(1);
		db_begin(&db);
		_exit(0);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	CHECK(read_file_capped(tmp("snapbug.err"), 1 << 16, &msg, &len) == 0);
	CHECK(msg && strstr(msg, ": BUG: src/store/db.c:") &&
	      strstr(msg, "a write transaction inside a read snapshot"));
	free(msg);
	db_read_end(&db);
	CHECK(db_begin(&db) == 0);
	db_rollback(&db);
	db_close(&db);
}

/* Make dir read-only for this process: chattr +i as root (who ignores
 * permissions), chmod otherwise.  0 or -1 (cannot here). */
static int dir_read_only(const char *d, int on)
{
	char cmd[400];

	if (geteuid() == 0) {
		snprintf(cmd, sizeof(cmd), "chattr %ci '%s' 2>/dev/null", on ? '+' : '-', d);
		return system(cmd) == 0 ? 0 : -1;
	}
	snprintf(cmd, sizeof(cmd), "chmod %s '%s'", on ? "555" : "755", d);
	return system(cmd) == 0 ? 0 : -1;
}

TEST(read_only_directory_is_read_immutable_and_a_writer_noticed)
{
	struct db r, w;
	char d[300], path[320];

	snprintf(d, sizeof(d), "%s/rodir", dir);
	snprintf(path, sizeof(path), "%s/c.db", d);
	CHECK(mkdir(d, 0755) == 0);
	CHECK(db_open(&w, path, DB_OPEN_WRITE) == 0);
	CHECK(add_path(&w, "00000000000000000000000000000001") == 0);
	db_close(&w);
	if (dir_read_only(d, 1)) {
		printf("# cannot make '%s' read-only here (chattr): skipped\n", d);
		return;
	}
	/* Writing is refused; keeping results falls back to reading. */
	CHECK(db_open(&w, path, DB_OPEN_WRITE) == -1);
	CHECK(db_open(&r, path, DB_OPEN_KEEP) == 0);
	CHECK(r.readonly && r.immutable);
	CHECK(r.ro_reason && strstr(r.ro_reason, "directory"));
	CHECK(db_need_write(&r, "the test") == -1);
	CHECK(db_read_begin(&r) == 0);
	CHECK_INT(count_paths(&r), 1);
	db_read_end(&r);
	CHECK(db_check_unchanged(&r) == 0);
	CHECK(access(tmp("rodir/c.db-wal"), F_OK) != 0);
	/* Someone who may write the directory starts a crawl meanwhile: the
	 * unlocked reader cannot trust what it read, and says so. */
	CHECK(dir_read_only(d, 0) == 0);
	CHECK(db_open(&w, path, DB_OPEN_WRITE) == 0);
	CHECK(add_path(&w, "00000000000000000000000000000002") == 0);
	CHECK(db_check_unchanged(&r) == -1);
	db_close(&w);
	CHECK(db_check_unchanged(&r) == -1);   /* checkpointed: the file changed */
	db_close(&r);
	/* a writable DB is never immutable */
	CHECK(db_open(&r, path, DB_OPEN_KEEP) == 0);
	CHECK(!r.readonly && !r.immutable && !r.ro_reason);
	CHECK(db_check_unchanged(&r) == 0);
	db_close(&r);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	RUN(fresh_db_is_migrated_to_latest);
	RUN(migrations_are_numbered_in_order);
	RUN(old_db_is_migrated_step_by_step);
	RUN(newer_db_is_refused);
	RUN(foreign_sqlite_db_is_refused_untouched);
	RUN(non_sqlite_file_is_refused);
	RUN(short_file_is_refused_untouched);
	RUN(empty_file_becomes_a_db);
	RUN(missing_db_read_only_is_refused_not_created);
	RUN(statement_cache_reuses_statements);
	RUN(snapshot_sees_one_state_while_another_process_writes);
	RUN(write_inside_snapshot_is_a_bug);
	RUN(read_only_directory_is_read_immutable_and_a_writer_noticed);
	{
		char cmd[300];
		/* a failed check may have left it read-only */
		snprintf(cmd, sizeof(cmd), "%s/rodir", dir);
		if (access(cmd, F_OK) == 0)
			dir_read_only(cmd, 0);
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return test_summary();
}
