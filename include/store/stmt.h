/*
 * stmt.h - statement tables: every module that runs SQL keeps its
 * statements in one enum-indexed table at the top of its file, and runs
 * them through the helpers here, which prepare each statement once per
 * connection, bind typed arguments, step, and report an error with the
 * database's message and the SQL text.
 *
 * Layer: store.  Include this header (it brings <sqlite3.h>) only in a
 * module that owns a statement table; everything else includes
 * "store/db.h", which does not.
 *
 * The pattern, in a module's .c file:
 *
 *	enum {
 *		Q_CACHE_GET,          // one name per statement
 *		Q_CRAWL_ADD,
 *		Q_N
 *	};
 *	static const char *const sql[Q_N] = {
 *		[Q_CACHE_GET] = "SELECT id, store_dir FROM caches WHERE url = ?1",
 *		[Q_CRAWL_ADD] = "INSERT INTO crawls (cache_id, started_at, status) "
 *		                "VALUES (?1, ?2, 'running')",
 *	};
 *	static struct stmt_table stmts = STMT_TABLE("crawl", sql);
 *
 *	// no rows wanted: bind, step to the end, reset.  0 or -1.
 *	if (stmt_exec(db, &stmts, Q_CRAWL_ADD, SQL_ARGS(cache_id, now)))
 *		return -1;
 *
 *	// one row: 1 found (read the columns, then stmt_done), 0 none, -1.
 *	sqlite3_stmt *st;
 *	int rc = stmt_row(db, &stmts, Q_CACHE_GET, &st, SQL_ARGS(url));
 *	if (rc == 1) {
 *		id = sqlite3_column_int64(st, 0);
 *		stmt_done(st);
 *	}
 *
 *	// many rows: bind, then db_step() until it returns 0 (or -1).
 *	if (!(st = stmt_query(db, &stmts, Q_X, SQL_ARGS(cache_id))))
 *		return -1;
 *	while ((rc = db_step(db, st)) == 1)
 *		...;
 *
 * Arguments: SQL_ARGS(a, b, ...) takes up to 16 values and checks each
 * one's type when compiling (C11 _Generic): an integer of any width binds
 * as a 64-bit integer, a char * or const char * binds as text (a NULL
 * pointer as SQL NULL), and anything else does not compile.  For the
 * other cases wrap the value: SQL_INT_OPT(v) binds NULL when v < 0,
 * SQL_TEXTN(s, n) binds n bytes of s, SQL_NULL binds NULL.  A statement
 * with no parameters takes SQL_NOARGS.  The number of arguments must be
 * the statement's number of parameters (its highest ?N); a mismatch is a
 * bug and aborts on first use.  Text is never pasted into SQL: untrusted
 * text is always bound.
 *
 * Lifetimes: stmt_exec binds text without copying it (it steps before it
 * returns); stmt_row and stmt_query copy it, as the caller steps later.
 * Column text (sqlite3_column_text, db_col_text) is valid until the next
 * step or reset of that statement.  A statement is reset when it is
 * fetched again, when db_step returns -1, by stmt_done, and by
 * db_read_end; a statement left on a row keeps a read transaction open,
 * so call stmt_done when you stop reading early.  All statements are
 * finalized by db_close().
 *
 * Errors are reported (error()) naming the DB file, SQLite's message and
 * the SQL; the caller only returns -1.
 */
#ifndef CACHEGC_STMT_H
#define CACHEGC_STMT_H

#include <sqlite3.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"

/* One module's statements.  Define it with STMT_TABLE; never touch the
 * fields.  slot is given out on the table's first use (once per process)
 * and indexes each connection's prepared statements. */
struct stmt_table {
	const char *name;          /* the module, for messages */
	const char *const *sql;    /* sql[i]: the text of statement i */
	unsigned n;
	atomic_uint slot;          /* 0: not yet given; else index + 1 */
};

#define STMT_TABLE(name, sql_array) \
	{ (name), (sql_array), (unsigned)(sizeof(sql_array) / sizeof((sql_array)[0])), 0 }

/* ---- arguments ------------------------------------------------------- */

enum sql_arg_type { SQL_ARG_NULL = 1, SQL_ARG_INT, SQL_ARG_TEXT };

struct sql_arg {
	enum sql_arg_type type;
	int len;                   /* SQL_ARG_TEXT: bytes, or -1 up to the NUL */
	union {
		int64_t i;
		const char *s;
	} v;
};

static inline struct sql_arg sql_arg_int(int64_t v)
{
	struct sql_arg a = {SQL_ARG_INT, 0, {.i = v}};
	return a;
}

static inline struct sql_arg sql_arg_int_opt(int64_t v)
{
	struct sql_arg a = {v < 0 ? SQL_ARG_NULL : SQL_ARG_INT, 0, {.i = v}};
	return a;
}

static inline struct sql_arg sql_arg_text(const char *s)
{
	struct sql_arg a = {s ? SQL_ARG_TEXT : SQL_ARG_NULL, -1, {.s = s}};
	return a;
}

/* n must fit an int: SQLite refuses text over 1 GB anyway. */
static inline struct sql_arg sql_arg_textn(const char *s, size_t n)
{
	struct sql_arg a = {SQL_ARG_TEXT, n > INT32_MAX ? INT32_MAX : (int)n, {.s = s}};
	return a;
}

static inline struct sql_arg sql_arg_same(struct sql_arg a)
{
	return a;
}

#define SQL_INT_OPT(v) sql_arg_int_opt(v)
#define SQL_TEXTN(s, n) sql_arg_textn((s), (n))
#define SQL_NULL ((struct sql_arg){SQL_ARG_NULL, 0, {.i = 0}})

/* One value, by its type; a type not listed is a compile error. */
#define SQL_ARG(x) _Generic((x),                                               \
	_Bool: sql_arg_int, char: sql_arg_int, signed char: sql_arg_int,       \
	unsigned char: sql_arg_int, short: sql_arg_int,                        \
	unsigned short: sql_arg_int, int: sql_arg_int, unsigned: sql_arg_int,  \
	long: sql_arg_int, unsigned long: sql_arg_int,                         \
	long long: sql_arg_int, unsigned long long: sql_arg_int,               \
	char *: sql_arg_text, const char *: sql_arg_text,                      \
	struct sql_arg: sql_arg_same)(x)

/* SQL_ARGS(a, b, c) -> an array of 3 sql_args and its length, as two
 * function arguments. */
#define SQL_ARGS(...) \
	(const struct sql_arg[]){SQL_ARGS_MAP(SQL_ARGS_N(__VA_ARGS__), __VA_ARGS__)}, \
	(unsigned)SQL_ARGS_N(__VA_ARGS__)
#define SQL_NOARGS NULL, 0u

#define SQL_ARGS_N(...) SQL_ARGS_N_(__VA_ARGS__, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, \
				    6, 5, 4, 3, 2, 1, 0)
#define SQL_ARGS_N_(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, \
		    a16, n, ...) n
#define SQL_ARGS_MAP(n, ...) SQL_ARGS_CAT(SQL_ARGS_M, n)(__VA_ARGS__)
#define SQL_ARGS_CAT(a, b) SQL_ARGS_CAT_(a, b)
#define SQL_ARGS_CAT_(a, b) a##b
#define SQL_ARGS_M1(a) SQL_ARG(a)
#define SQL_ARGS_M2(a, ...) SQL_ARG(a), SQL_ARGS_M1(__VA_ARGS__)
#define SQL_ARGS_M3(a, ...) SQL_ARG(a), SQL_ARGS_M2(__VA_ARGS__)
#define SQL_ARGS_M4(a, ...) SQL_ARG(a), SQL_ARGS_M3(__VA_ARGS__)
#define SQL_ARGS_M5(a, ...) SQL_ARG(a), SQL_ARGS_M4(__VA_ARGS__)
#define SQL_ARGS_M6(a, ...) SQL_ARG(a), SQL_ARGS_M5(__VA_ARGS__)
#define SQL_ARGS_M7(a, ...) SQL_ARG(a), SQL_ARGS_M6(__VA_ARGS__)
#define SQL_ARGS_M8(a, ...) SQL_ARG(a), SQL_ARGS_M7(__VA_ARGS__)
#define SQL_ARGS_M9(a, ...) SQL_ARG(a), SQL_ARGS_M8(__VA_ARGS__)
#define SQL_ARGS_M10(a, ...) SQL_ARG(a), SQL_ARGS_M9(__VA_ARGS__)
#define SQL_ARGS_M11(a, ...) SQL_ARG(a), SQL_ARGS_M10(__VA_ARGS__)
#define SQL_ARGS_M12(a, ...) SQL_ARG(a), SQL_ARGS_M11(__VA_ARGS__)
#define SQL_ARGS_M13(a, ...) SQL_ARG(a), SQL_ARGS_M12(__VA_ARGS__)
#define SQL_ARGS_M14(a, ...) SQL_ARG(a), SQL_ARGS_M13(__VA_ARGS__)
#define SQL_ARGS_M15(a, ...) SQL_ARG(a), SQL_ARGS_M14(__VA_ARGS__)
#define SQL_ARGS_M16(a, ...) SQL_ARG(a), SQL_ARGS_M15(__VA_ARGS__)

/* SQL_ROWS32(r): r 32 times, comma-separated, for the VALUES list of a
 * statement that writes 32 rows at once (one bind, step and reset per 32
 * rows: each of those costs about as much as the insert itself).  Such
 * statements are INSERT OR ROLLBACK or OR IGNORE, so SQLite keeps no
 * statement journal to undo only the rows before a failing one. */
#define SQL_ROWS_BATCH 32
#define SQL_ROWS2(r) r "," r
#define SQL_ROWS4(r) SQL_ROWS2(r) "," SQL_ROWS2(r)
#define SQL_ROWS8(r) SQL_ROWS4(r) "," SQL_ROWS4(r)
#define SQL_ROWS16(r) SQL_ROWS8(r) "," SQL_ROWS8(r)
#define SQL_ROWS32(r) SQL_ROWS16(r) "," SQL_ROWS16(r)

/* ---- running --------------------------------------------------------- */

/* Run statement i of t with args and step it to the end (rows, if any, are
 * skipped), then reset it.  Returns 0, or -1 (reported). */
int stmt_exec(struct db *db, struct stmt_table *t, unsigned i,
	      const struct sql_arg *args, unsigned nargs);

/* Bind args to statement i of t and step once.  Returns 1 with *st on the
 * row (read it, then stmt_done(*st)), 0 when there is none, -1 on error
 * (reported); *st is set in every case. */
int stmt_row(struct db *db, struct stmt_table *t, unsigned i, sqlite3_stmt **st,
	     const struct sql_arg *args, unsigned nargs);

/* The first column of the first row of statement i as an integer into
 * *out (0 when there is no row or it is NULL): counts and single values.
 * 0, or -1 on error (reported). */
int stmt_int(struct db *db, struct stmt_table *t, unsigned i, const struct sql_arg *args,
	     unsigned nargs, int64_t *out);

/* Statement i of t with args bound, for the caller to db_step() through
 * its rows.  NULL on error (reported). */
sqlite3_stmt *stmt_query(struct db *db, struct stmt_table *t, unsigned i,
			 const struct sql_arg *args, unsigned nargs);

/* Done reading st before its end: reset it. */
static inline void stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
}

/* Step: SQLITE_ROW -> 1, SQLITE_DONE -> 0, error -> -1 (reported with the
 * SQL; the statement is reset). */
int db_step(struct db *db, sqlite3_stmt *st);

/* Column text as a C string ("" for NULL). */
const char *db_col_text(sqlite3_stmt *st, int i);

/* ---- legacy: a statement cache keyed by the SQL's address ------------
 * Modules not yet given a table still call these.  db_stmt(db, SQL_X)
 * returns SQL_X (a static string) prepared on first use, reset and with
 * bindings cleared; NULL on error (reported).  New code uses a table. */
sqlite3_stmt *db_stmt(struct db *db, const char *sql);
/* Step a statement that returns no rows, then reset it. 0 or -1. */
int db_run(struct db *db, sqlite3_stmt *st);
/* Bind helpers: text NULL binds SQL NULL; int64 < 0 with the _opt variant
 * binds NULL.  Text is bound SQLITE_TRANSIENT unless noted. */
void db_bind_text(sqlite3_stmt *st, int i, const char *s);
void db_bind_textn(sqlite3_stmt *st, int i, const char *s, size_t n);
/* Bind s (or NULL) without copying: s must stay valid until the statement
 * is stepped and reset. */
void db_bind_static(sqlite3_stmt *st, int i, const char *s);
void db_bind_int(sqlite3_stmt *st, int i, int64_t v);
void db_bind_int_opt(sqlite3_stmt *st, int i, int64_t v);

/* For db.c: reset (at the end of a read snapshot) or finalize (at close)
 * every table statement of db. */
void stmt_tables_reset(struct db *db);
void stmt_tables_free(struct db *db);

#endif
