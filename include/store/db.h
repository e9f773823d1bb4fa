/*
 * db.h - the SQLite database: open, migrate, transactions.
 *
 * Layer: store.  This header does not bring <sqlite3.h>: a module that
 * runs SQL owns a statement table and includes "store/stmt.h" (which
 * explains the pattern); callers that only open a DB, begin and commit
 * need only this.
 *
 * Every function that fails reports the error itself (naming the DB file
 * and, for statements, the SQL) and returns -1 (or NULL).
 *
 * Snapshots: several processes may use one DB at once (WAL mode), so an
 * analysis that answers one question with several statements reads them
 * all between db_read_begin() and db_read_end(): one read transaction, one
 * committed state of the DB, whatever other processes commit meanwhile.
 * No write transaction may start inside a snapshot (that is a bug: die());
 * what an analysis keeps (signature verdicts, a plan) is written after
 * db_read_end().
 */
#ifndef CACHEGC_DB_H
#define CACHEGC_DB_H

#include <stddef.h>
#include <stdint.h>

/* application_id stamped into every cachegc DB ("CGC1"). */
#define CACHEGC_APP_ID 0x43474331

struct sqlite3;
struct sqlite3_stmt;
struct db_stmt_slot;

struct db {
	struct sqlite3 *h;
	char *path;
	int readonly;          /* opened read-only (asked for, or the file is) */
	char *ro_reason;       /* why the DB cannot be written ("its directory
	                          '/x' is not writable"), or NULL */
	int locked;            /* set when an operation failed because another
	                          process held the DB; the caller may clear it */
	int immutable;         /* read without locks (see db_open) */
	int64_t imm_size, imm_mtime_ns;   /* the file then, to tell a change */
	uint64_t imm_ino;
	unsigned read_depth;   /* nested db_read_begin() calls */
	int read_owned;        /* the outermost one began a transaction */
	/* tables[slot - 1].st[i]: statement i of the stmt_table given that
	 * slot, prepared on first use (see stmt.h); NULL until then. */
	struct db_stmt_row {
		struct sqlite3_stmt **st;
		unsigned n;
	} *tables;
	unsigned ntables;
	struct db_stmt_slot *slots;    /* legacy db_stmt() cache */
	unsigned nslots, aslots;
	int64_t busy_ms;       /* how long to wait out another writer */
	int64_t busy_since;    /* mono_ms() when the current wait began */
};

/* How db_open() opens (the values 0 and 1 are the old readonly flag). */
enum {
	DB_OPEN_WRITE = 0,     /* create when missing or empty, migrate, write;
	                          a read-only DB is refused, saying why */
	DB_OPEN_READ = 1,      /* an existing DB, read-only */
	DB_OPEN_KEEP = 2,      /* like WRITE where the DB can be written, else
	                          read-only with ro_reason set: for commands that
	                          only keep results (verdicts, plans) */
};

/* Open path (mode: DB_OPEN_*).  Only a missing or 0-byte file becomes a
 * new DB; any other file must be a cachegc DB of a version this build
 * knows (older ones are migrated only when writing, so a read-only open
 * of an older DB is refused with a hint).  Refuses foreign files and newer
 * versions without touching them.  A DB that cannot be written (read-only
 * file, directory or mount) is opened read-only, immutable when its
 * directory holds no write-ahead log and cannot get one.  Sets a busy
 * timeout so a short lock by another process is waited out.
 * Returns 0 or -1 (reported). */
int db_open(struct db *db, const char *path, int mode);
void db_close(struct db *db);

/* 0 unless the DB was opened immutable and since written by another
 * process (its file changed, or it has a write-ahead log now): then -1,
 * reported, for what was read may be torn.  main.c asks after every
 * command. */
int db_check_unchanged(struct db *db);

/* Schema version this build writes. */
unsigned db_latest_version(void);

/* Run SQL text with no parameters (may hold several statements; for
 * migrations and PRAGMAs: anything run more than once belongs in a
 * statement table). */
int db_exec(struct db *db, const char *sql);

/* BEGIN IMMEDIATE (waits for the write lock up to the busy timeout).
 * Calling it inside a snapshot is a bug (dies). */
int db_begin(struct db *db);
int db_commit(struct db *db);
/* Rolls back if a write transaction is open (never a snapshot); never
 * fails loudly. */
void db_rollback(struct db *db);

/* Start a snapshot: a read transaction, its state taken at once.  Nests
 * (only the outermost call begins; inside a write transaction it is a
 * no-op, that being one state already).  0 or -1 (reported). */
int db_read_begin(struct db *db);
/* End the snapshot of the matching db_read_begin().  Never fails. */
void db_read_end(struct db *db);
/* 1 inside a snapshot. */
static inline int db_reading(const struct db *db)
{
	return db->read_depth > 0;
}
/* For a command about to write a DB opened DB_OPEN_KEEP: 0 when it can,
 * else -1 after saying that the DB is read-only, why, and that 'what'
 * needs to write it. */
int db_need_write(struct db *db, const char *what);

/* Whether anything was written to the DB, by this connection or any
 * other: take a mark, and later ask db_written_since() (1 written, 0 not;
 * 1 too when it cannot tell).  main.c uses it to take back a DB file the
 * run created and left empty (a usage error, a refused crawl). */
struct db_write_mark {
	int64_t changes;       /* sqlite3_total_changes of this connection */
	int64_t data_version;  /* PRAGMA data_version: other connections */
};
void db_write_mark(struct db *db, struct db_write_mark *m);
int db_written_since(struct db *db, const struct db_write_mark *m);
/* Remove the files of a DB at path (the file, its -wal, -shm and
 * -journal), after db_close(): only for a DB this process created and
 * nothing wrote to.  Never fails loudly. */
void db_discard_new(const char *path);

/* sqlite3_last_insert_rowid */
int64_t db_last_id(struct db *db);
/* sqlite3_changes */
int db_changes(struct db *db);

#endif
