/*
 * test_stmt.c - the statement tables of store/stmt.h: typed binding,
 * one preparation per connection, rows, and errors that name the SQL.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/db.h"
#include "store/stmt.h"
#include "harness.h"
#include "lib/util.h"

static char dir[] = "/tmp/cachegc-test-stmt.XXXXXX";

static const char *tmp(const char *name)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

enum {
	Q_CREATE,
	Q_PUT,
	Q_GET,
	Q_ALL,
	Q_COUNT,
	Q_N
};
static const char *const sql[Q_N] = {
	[Q_CREATE] = "CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER, opt INTEGER)",
	[Q_PUT] = "INSERT INTO t (k, n, opt) VALUES (?1, ?2, ?3)",
	[Q_GET] = "SELECT n, opt, opt IS NULL FROM t WHERE k = ?1",
	[Q_ALL] = "SELECT k FROM t WHERE n >= ?1 ORDER BY k",
	[Q_COUNT] = "SELECT count(*) FROM t",
};
static struct stmt_table stmts = STMT_TABLE("test", sql);

/* A second table, to see that slots do not mix. */
enum { Q2_ONE, Q2_BAD, Q2_N };
static const char *const sql2[Q2_N] = {
	[Q2_ONE] = "SELECT 1",
	[Q2_BAD] = "SELECT nosuchcolumn FROM nosuchtable",
};
static struct stmt_table stmts2 = STMT_TABLE("test2", sql2);

/* Run fn with stderr sent to a file; the text it wrote, to free. */
static char *capture_stderr(int (*fn)(struct db *), struct db *db, int *ret)
{
	char path[300], *out = xcalloc(1, 4096);
	int saved = dup(2), fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/stderr", dir);
	fflush(stderr);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	*ret = fn(db);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, out, 4095);
	if (n < 0)
		n = 0;
	out[n] = 0;
	close(fd);
	return out;
}

static int open_table(struct db *db, const char *name)
{
	if (db_open(db, tmp(name), 0))
		return -1;
	return stmt_exec(db, &stmts, Q_CREATE, SQL_NOARGS);
}

TEST(exec_then_row_round_trips_typed_values)
{
	struct db db;
	sqlite3_stmt *st;
	const char part[] = "abcdef";
	int64_t big = INT64_C(1) << 40;
	unsigned u = 7;

	CHECK(open_table(&db, "types.db") == 0);
	CHECK(stmt_exec(&db, &stmts, Q_PUT, SQL_ARGS("a", big, SQL_INT_OPT(-1))) == 0);
	CHECK(stmt_exec(&db, &stmts, Q_PUT, SQL_ARGS(SQL_TEXTN(part, 3), u, SQL_INT_OPT(5))) == 0);
	CHECK(stmt_exec(&db, &stmts, Q_PUT, SQL_ARGS((const char *)"c", 0, SQL_NULL)) == 0);

	CHECK_INT(stmt_row(&db, &stmts, Q_GET, &st, SQL_ARGS("a")), 1);
	CHECK_INT(sqlite3_column_int64(st, 0), big);
	CHECK_INT(sqlite3_column_int(st, 2), 1);     /* SQL_INT_OPT(-1): NULL */
	stmt_done(st);
	/* Only 3 bytes of "abcdef" were bound. */
	CHECK_INT(stmt_row(&db, &stmts, Q_GET, &st, SQL_ARGS("abc")), 1);
	CHECK_INT(sqlite3_column_int64(st, 0), 7);
	CHECK_INT(sqlite3_column_int64(st, 1), 5);
	CHECK_INT(sqlite3_column_int(st, 2), 0);
	stmt_done(st);
	CHECK_INT(stmt_row(&db, &stmts, Q_GET, &st, SQL_ARGS("abcdef")), 0);
	CHECK_INT(stmt_row(&db, &stmts, Q_GET, &st, SQL_ARGS("c")), 1);
	CHECK_INT(sqlite3_column_int(st, 2), 1);     /* SQL_NULL */
	stmt_done(st);
	/* A NULL char * binds SQL NULL, which equals nothing. */
	CHECK_INT(stmt_row(&db, &stmts, Q_GET, &st, SQL_ARGS((const char *)NULL)), 0);
	db_close(&db);
}

TEST(query_steps_rows_in_order)
{
	struct db db;
	sqlite3_stmt *st;
	const char *keys[] = {"m", "b", "x", "a"};
	char got[16] = "";
	int rc;

	CHECK(open_table(&db, "rows.db") == 0);
	for (int i = 0; i < 4; i++)
		CHECK(stmt_exec(&db, &stmts, Q_PUT, SQL_ARGS(keys[i], i, SQL_NULL)) == 0);
	CHECK((st = stmt_query(&db, &stmts, Q_ALL, SQL_ARGS(1))) != NULL);
	while (st && (rc = db_step(&db, st)) == 1)
		strcat(got, db_col_text(st, 0));
	CHECK_INT(rc, 0);
	CHECK_STR(got, "abx");
	db_close(&db);
}

TEST(int_reads_one_value_and_leaves_the_statement_free)
{
	struct db db;
	sqlite3_stmt *st;
	int64_t v = -1;

	CHECK(open_table(&db, "int.db") == 0);
	CHECK(stmt_int(&db, &stmts, Q_COUNT, SQL_NOARGS, &v) == 0);
	CHECK_INT(v, 0);
	CHECK(stmt_exec(&db, &stmts, Q_PUT, SQL_ARGS("a", 41, SQL_NULL)) == 0);
	CHECK(stmt_exec(&db, &stmts, Q_PUT, SQL_ARGS("b", 42, 9)) == 0);
	CHECK(stmt_int(&db, &stmts, Q_COUNT, SQL_NOARGS, &v) == 0);
	CHECK_INT(v, 2);
	/* The first column of the first row; no row and NULL give 0. */
	CHECK(stmt_int(&db, &stmts, Q_GET, SQL_ARGS("b"), &v) == 0);
	CHECK_INT(v, 42);
	v = -1;
	CHECK(stmt_int(&db, &stmts, Q_GET, SQL_ARGS("zz"), &v) == 0);
	CHECK_INT(v, 0);
	CHECK(stmt_int(&db, &stmts, Q_ALL, SQL_ARGS(42), &v) == 0);
	CHECK_INT(v, 0);   /* "b" is text: its integer value is 0 */
	/* Nothing is left running. */
	CHECK_INT(stmt_row(&db, &stmts, Q_GET, &st, SQL_ARGS("a")), 1);
	stmt_done(st);
	CHECK(!sqlite3_stmt_busy(st));
	db_close(&db);
}

TEST(each_statement_is_prepared_once_per_connection)
{
	struct db a, b;
	sqlite3_stmt *s1, *s2, *s3, *o1;

	CHECK(open_table(&a, "once-a.db") == 0);
	CHECK(open_table(&b, "once-b.db") == 0);
	s1 = stmt_query(&a, &stmts, Q_COUNT, SQL_NOARGS);
	s2 = stmt_query(&a, &stmts, Q_COUNT, SQL_NOARGS);
	s3 = stmt_query(&b, &stmts, Q_COUNT, SQL_NOARGS);
	o1 = stmt_query(&a, &stmts2, Q2_ONE, SQL_NOARGS);
	CHECK(s1 && s1 == s2);            /* the same prepared statement */
	CHECK(s3 && s3 != s1);            /* another connection, its own */
	CHECK(o1 && o1 != s1);            /* another table, its own slot */
	CHECK(stmts.slot != 0 && stmts2.slot != 0 && stmts.slot != stmts2.slot);
	CHECK_STR(sqlite3_sql(o1), "SELECT 1");
	CHECK_STR(sqlite3_sql(s3), sql[Q_COUNT]);
	db_close(&a);
	db_close(&b);
	CHECK(a.tables == NULL && a.ntables == 0);
}

TEST(read_end_resets_statements_left_on_a_row)
{
	struct db db;
	sqlite3_stmt *st;

	CHECK(open_table(&db, "snap.db") == 0);
	CHECK(stmt_exec(&db, &stmts, Q_PUT, SQL_ARGS("k", 1, 1)) == 0);
	CHECK(db_read_begin(&db) == 0);
	CHECK_INT(stmt_row(&db, &stmts, Q_GET, &st, SQL_ARGS("k")), 1);
	CHECK(sqlite3_stmt_busy(st));
	db_read_end(&db);
	CHECK(!sqlite3_stmt_busy(st));
	db_close(&db);
}

static int bad_prepare(struct db *db)
{
	return stmt_query(db, &stmts2, Q2_BAD, SQL_NOARGS) ? 0 : -1;
}

static int dup_key(struct db *db)
{
	return stmt_exec(db, &stmts, Q_PUT, SQL_ARGS("dup", 1, SQL_NULL));
}

TEST(errors_name_the_db_and_the_sql)
{
	struct db db;
	char *msg;
	int rc;

	CHECK(open_table(&db, "err.db") == 0);
	msg = capture_stderr(bad_prepare, &db, &rc);
	CHECK_INT(rc, -1);
	CHECK(strstr(msg, "err.db") != NULL);
	CHECK(strstr(msg, "no such table") != NULL);
	CHECK(strstr(msg, "SELECT nosuchcolumn FROM nosuchtable") != NULL);
	free(msg);
	/* Failing again fails the same way: nothing half-prepared was kept. */
	msg = capture_stderr(bad_prepare, &db, &rc);
	CHECK_INT(rc, -1);
	free(msg);

	CHECK(dup_key(&db) == 0);
	msg = capture_stderr(dup_key, &db, &rc);
	CHECK_INT(rc, -1);
	CHECK(strstr(msg, "UNIQUE constraint failed") != NULL);
	CHECK(strstr(msg, "INSERT INTO t (k, n, opt)") != NULL);
	free(msg);
	/* The statement is usable after its error. */
	CHECK(stmt_exec(&db, &stmts, Q_PUT, SQL_ARGS("other", 2, SQL_NULL)) == 0);
	db_close(&db);
}

TEST(wrong_argument_count_is_a_bug)
{
	pid_t pid = fork();
	int status = 0;

	if (pid == 0) {
		struct db db;

		if (!freopen("/dev/null", "w", stderr) || open_table(&db, "bug.db"))
			_exit(1);
		stmt_exec(&db, &stmts, Q_PUT, SQL_ARGS("a", 1));   /* 2 of 3 */
		_exit(0);
	}
	CHECK(pid > 0);
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(exec_then_row_round_trips_typed_values);
	RUN(query_steps_rows_in_order);
	RUN(int_reads_one_value_and_leaves_the_statement_free);
	RUN(each_statement_is_prepared_once_per_connection);
	RUN(read_end_resets_statements_left_on_a_row);
	RUN(errors_name_the_db_and_the_sql);
	RUN(wrong_argument_count_is_a_bug);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return test_summary();
}
