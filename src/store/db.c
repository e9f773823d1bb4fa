/*
 * db.c - SQLite connection, migrations, transactions and the statement
 * tables of stmt.h (and the legacy statement cache keyed by SQL address).
 */
#include "store/db.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/bulkindex.h"
#include "store/schema.h"
#include "store/stmt.h"
#include "lib/util.h"

struct db_stmt_slot {
	const char *sql;       /* key: address of the caller's static text */
	sqlite3_stmt *st;
};

unsigned db_latest_version(void)
{
	return n_migrations ? migrations[n_migrations - 1].version : 0;
}

static int db_fail(struct db *db, const char *what)
{
	return error("%s '%s': %s", what, db->path, db->h ? sqlite3_errmsg(db->h) : "out of memory");
}

int db_exec(struct db *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		error("database '%s': %s (in: %.80s)", db->path, msg ? msg : "?", sql);
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int pragma_int(struct db *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* application_id, user_version and the number of schema objects of db,
 * read by one statement.  0, or -1 (SQLite's error code left for the
 * caller to word). */
static int header_read(struct db *db, int64_t *appid, int64_t *version, int64_t *nobjects)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db->h,
			       "SELECT (SELECT application_id FROM pragma_application_id),"
			       " (SELECT user_version FROM pragma_user_version),"
			       " (SELECT count(*) FROM sqlite_master)", -1, &st, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*appid = sqlite3_column_int64(st, 0);
		*version = sqlite3_column_int64(st, 1);
		*nobjects = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* PRAGMA journal_mode = WAL, waiting out another process that holds the
 * file (two processes opening one new DB: the switch needs the file to
 * itself, and SQLite does not call the busy handler for it).  0 or -1. */
static int wal_mode(struct db *db)
{
	int64_t start = mono_ms();
	int stop = 0, rc;

	while ((rc = sqlite3_exec(db->h, "PRAGMA journal_mode = WAL", NULL, NULL, NULL)) != SQLITE_OK &&
	       ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) &&
	       mono_ms() - start < db->busy_ms)
		sleep_ms(1, &stop);
	return rc == SQLITE_OK ? 0 : db_exec(db, "PRAGMA journal_mode = WAL");
}

static int migrate(struct db *db, unsigned from)
{
	char buf[64];
	int64_t now;

	for (unsigned i = 0; i < n_migrations; i++) {
		const struct migration *m = &migrations[i];
		if (m->version != i + 1)
			BUG("embedded migrations are not numbered 1..n (%s)", m->name);
		if (m->version <= from)
			continue;
		if (db_begin(db))
			return -1;
		/* Another process opening the same new DB (the shards of a
		 * crawl, started at once) may have migrated it while we waited
		 * for the write lock: read the version again under it. */
		if (pragma_int(db, "PRAGMA user_version", &now)) {
			db_rollback(db);
			return error("cannot read the schema version of '%s'", db->path);
		}
		if (now >= m->version) {
			if (db_commit(db))
				return -1;
			continue;
		}
		/* A new DB's application_id is committed with its first tables,
		 * so no other process sees tables without it (header_read). */
		if (m->version == 1) {
			snprintf(buf, sizeof(buf), "PRAGMA application_id = %d", CACHEGC_APP_ID);
			if (db_exec(db, buf)) {
				db_rollback(db);
				return -1;
			}
		}
		if (db_exec(db, m->sql)) {
			db_rollback(db);
			return error("migration %s failed; '%s' is unchanged", m->name, db->path);
		}
		snprintf(buf, sizeof(buf), "PRAGMA user_version = %u", m->version);
		if (db_exec(db, buf) || db_commit(db)) {
			db_rollback(db);
			return -1;
		}
	}
	return 0;
}

/* The directory a DB's -wal and -shm files go into.  Caller frees. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* Why the existing DB at path cannot be written, or NULL: the file, or
 * its directory (SQLite needs to create the -wal and -shm files there)
 * refuses writes, for this user (EACCES), as a read-only mount (EROFS) or
 * as an immutable file (EPERM).  *dir_ro: the directory does.  Caller
 * frees. */
static char *why_read_only(const char *path, int *dir_ro)
{
	struct strbuf sb = STRBUF_INIT;
	char *dir = dir_of(path);

	*dir_ro = 0;
	if (faccessat(AT_FDCWD, path, W_OK, AT_EACCESS))
		strbuf_addf(&sb, "the file is not writable: %s", strerror(errno));
	if (faccessat(AT_FDCWD, dir, W_OK, AT_EACCESS)) {
		*dir_ro = 1;
		if (!sb.len)
			strbuf_addf(&sb, "its directory '%s' is not writable: %s", dir,
				    strerror(errno));
	}
	free(dir);
	return sb.len ? strbuf_detach(&sb) : NULL;
}

/* 0 when the file starts with SQLite's magic, else -1 (reported). */
static int check_magic(const char *path)
{
	static const char magic[16] = "SQLite format 3";   /* and its NUL */
	char head[16];
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return error("cannot read database '%s': %s", path, strerror(errno));
	got = read(fd, head, sizeof(head));
	close(fd);
	if (got < 0)
		return error("cannot read database '%s': %s", path, strerror(errno));
	if (got < (ssize_t)sizeof(head) || memcmp(head, magic, sizeof(magic)))
		return error("'%s' is not a cachegc database (not an SQLite file); refusing "
			     "to touch it", path);
	return 0;
}

/* "file:PATH?immutable=1" with PATH percent-encoded as RFC 3986 wants. */
static char *immutable_uri(const char *path)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, "file:");
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("/._~-", *p))
			strbuf_addch(&sb, (char)*p);
		else
			strbuf_addf(&sb, "%%%02X", *p);
	}
	strbuf_addstr(&sb, "?immutable=1");
	return strbuf_detach(&sb);
}

static void read_only_hint(void)
{
	fprintf(stderr, "hint: closure, coverage, verify, simulate, plan evict, evict (without "
		"--apply) and keys list work on a read-only database; to write, run where it "
		"is writable or copy it (and any -wal file beside it) somewhere writable\n");
}

/* SQLite's busy handler: try again every millisecond until busy_ms have
 * passed.  (sqlite3_busy_timeout's waits grow to 100 ms, so a writer that
 * commits and begins again a few milliseconds later, as the shards of a
 * crawl do, would keep the others out until they gave up.) */
static int busy_wait(void *arg, int count)
{
	struct db *db = arg;
	int64_t now = mono_ms();
	int stop = 0;

	if (count == 0)
		db->busy_since = now;
	if (now - db->busy_since >= db->busy_ms)
		return 0;
	sleep_ms(1, &stop);
	return 1;
}

int db_open(struct db *db, const char *path, int mode)
{
	int64_t appid = 0, version = 0, nobjects = 0;
	struct stat st;
	char *uri = NULL;
	int exists, flags, dir_ro = 0, readonly = mode == DB_OPEN_READ;

	memset(db, 0, sizeof(*db));
	db->path = xstrdup(path);
	exists = stat(path, &st) == 0;
	if (!exists && errno != ENOENT) {
		error("cannot open database '%s': %s", path, strerror(errno));
		goto fail;
	}
	if (readonly && !exists) {
		error("no database at '%s'", path);
		fprintf(stderr, "hint: run 'cachegc --db %s crawl CACHE' first, or pass --db\n", path);
		goto fail;
	}
	if (exists && !S_ISREG(st.st_mode)) {
		error("'%s' is not a regular file", path);
		goto fail;
	}
	/* SQLite takes a file shorter than its header for an empty database
	 * and would write over it: only a missing or empty file is new. */
	if (exists && st.st_size > 0 && check_magic(path))
		goto fail;
	if (exists) {
		db->ro_reason = why_read_only(path, &dir_ro);
	} else {
		char *dir = dir_of(path);
		if (faccessat(AT_FDCWD, dir, W_OK, AT_EACCESS) && errno != ENOENT) {
			error("cannot create database '%s': its directory '%s' is not writable: %s",
			      path, dir, strerror(errno));
			free(dir);
			goto fail;
		}
		free(dir);
	}
	if (db->ro_reason && mode == DB_OPEN_WRITE) {
		error("database '%s' is read-only (%s); this command writes to it", path,
		      db->ro_reason);
		read_only_hint();
		goto fail;
	}
	if (db->ro_reason)
		readonly = 1;
	db->readonly = readonly;
	flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	if (readonly && dir_ro) {
		/* WAL mode needs a -shm file beside the DB.  With no -wal
		 * there, every committed transaction is in the file and no
		 * writer can be at work (it would need to create the -wal), so
		 * read the file as it is; with one, read through it: SQLite
		 * can when the -shm exists too. */
		struct strbuf wal = STRBUF_INIT;
		struct stat wst;
		strbuf_addf(&wal, "%s-wal", path);
		if (stat(wal.buf, &wst) && errno == ENOENT) {
			uri = immutable_uri(path);
			flags |= SQLITE_OPEN_URI;
			db->immutable = 1;
			db->imm_size = (int64_t)st.st_size;
			db->imm_mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
			db->imm_ino = (uint64_t)st.st_ino;
		}
		strbuf_release(&wal);
	}
	if (sqlite3_open_v2(uri ? uri : path, &db->h, flags | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		db_fail(db, "cannot open database");
		goto fail;
	}
	sqlite3_extended_result_codes(db->h, 1);
	{
		/* Wait out another writer for a while; tests shorten it. */
		const char *t = getenv("CACHEGC_BUSY_TIMEOUT_MS");
		uint64_t ms = 10000;
		if (t && parse_uint(t, &ms))
			ms = 10000;
		db->busy_ms = ms > 600000 ? 600000 : (int64_t)ms;
		sqlite3_busy_handler(db->h, busy_wait, db);
	}
	/* Reading the header tells a foreign file ("file is not a database")
	 * apart before we write anything. */
	/* One statement, so one state of the file: another process creating
	 * the same new DB commits its first tables and application_id at once
	 * (see migrate), never between two of these reads. */
	if (header_read(db, &appid, &version, &nobjects)) {
		int rc = sqlite3_extended_errcode(db->h);
		const char *msg = sqlite3_errmsg(db->h);
		if ((rc & 0xff) == SQLITE_NOTADB) {
			error("'%s' is not a cachegc database (%s)", path, msg);
		} else if (db->ro_reason && ((rc & 0xff) == SQLITE_CANTOPEN ||
					     (rc & 0xff) == SQLITE_READONLY)) {
			error("cannot read database '%s': it is read-only (%s) and SQLite cannot "
			      "read its write-ahead log '%s-wal' without a '%s-shm' file beside it",
			      path, db->ro_reason, path, path);
			fprintf(stderr, "hint: open it once where it is writable (any cachegc "
				"command), or copy it with its -wal file somewhere writable\n");
		} else if ((rc & 0xff) == SQLITE_BUSY) {
			db->locked = 1;
			error("database '%s' is locked by another process; try again when it is done",
			      path);
		} else {
			error("cannot read database '%s': %s", path, msg);
		}
		goto fail;
	}
	if (appid != CACHEGC_APP_ID && !(appid == 0 && nobjects == 0 && version == 0)) {
		error("'%s' is an SQLite database but not a cachegc one "
		      "(application_id %lld); refusing to touch it", path, (long long)appid);
		goto fail;
	}
	if (version > (int64_t)db_latest_version()) {
		error("'%s' has schema version %lld, newer than this cachegc knows (%u); "
		      "use a newer cachegc", path, (long long)version, db_latest_version());
		goto fail;
	}
	if (readonly && nobjects == 0 && version == 0) {
		error("'%s' is an empty database%s%s%s", path, db->ro_reason ? " and read-only (" : "",
		      db->ro_reason ? db->ro_reason : "", db->ro_reason ? ")" : "");
		fprintf(stderr, "hint: run 'cachegc --db %s crawl CACHE' first\n", path);
		goto fail;
	}
	if (readonly && version < (int64_t)db_latest_version()) {
		if (db->ro_reason)
			error("'%s' has schema version %lld, older than %u, and is read-only (%s): "
			      "run a writing command (e.g. crawl) where it is writable to migrate it",
			      path, (long long)version, db_latest_version(), db->ro_reason);
		else
			error("'%s' has schema version %lld, older than %u; run a writing command "
			      "(e.g. crawl) to migrate it", path, (long long)version,
			      db_latest_version());
		goto fail;
	}
	if (!readonly) {
		if (wal_mode(db) || db_exec(db, "PRAGMA synchronous = NORMAL"))
			goto fail;
		if (migrate(db, (unsigned)version))
			goto fail;
		/* A first import killed before it built the indexes it left
		 * out (store/bulkindex.h): build them now. */
		if (db_indexes_restore(db, NULL))
			warning("database '%s': the indexes of eval_jobs are missing and could "
				"not be built; queries of jobs by path will be slow", path);
	}
	db_exec(db, "PRAGMA foreign_keys = OFF");
	db_exec(db, "PRAGMA cache_size = -65536");
	/* Fewer, larger checkpoints: a crawl writes ~500 bytes per path. */
	db_exec(db, "PRAGMA wal_autocheckpoint = 16384");
	db_exec(db, "PRAGMA temp_store = MEMORY");
	free(uri);
	return 0;
fail:
	free(uri);
	db_close(db);
	return -1;
}

int db_check_unchanged(struct db *db)
{
	struct stat st, wst;
	struct strbuf wal = STRBUF_INIT;
	int changed;

	if (!db->immutable)
		return 0;
	/* Without locks nothing stops a user who may write the directory
	 * from starting a crawl meanwhile: its -wal file, or a checkpoint
	 * into the DB file, shows it. */
	strbuf_addf(&wal, "%s-wal", db->path);
	changed = stat(db->path, &st) || (uint64_t)st.st_ino != db->imm_ino ||
		  (int64_t)st.st_size != db->imm_size ||
		  (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec != db->imm_mtime_ns ||
		  !stat(wal.buf, &wst);
	strbuf_release(&wal);
	if (!changed)
		return 0;
	return error("database '%s' was written by another process while it was read without "
		     "locks (its directory is read-only here): the answer may be wrong; run again",
		     db->path);
}

int db_need_write(struct db *db, const char *what)
{
	if (!db->readonly)
		return 0;
	error("database '%s' is read-only (%s): %s needs to write it", db->path,
	      db->ro_reason ? db->ro_reason : "opened read-only", what);
	read_only_hint();
	return -1;
}

void db_close(struct db *db)
{
	/* An error path may leave a snapshot open: close ends it. */
	for (unsigned i = 0; i < db->nslots; i++)
		sqlite3_finalize(db->slots[i].st);
	free(db->slots);
	stmt_tables_free(db);
	if (db->h)
		sqlite3_close(db->h);
	free(db->path);
	free(db->ro_reason);
	memset(db, 0, sizeof(*db));
}

sqlite3_stmt *db_stmt(struct db *db, const char *sql)
{
	sqlite3_stmt *st;

	for (unsigned i = 0; i < db->nslots; i++) {
		if (db->slots[i].sql == sql) {
			st = db->slots[i].st;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return st;
		}
	}
	if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		error("database '%s': %s (preparing: %.120s)", db->path, sqlite3_errmsg(db->h), sql);
		return NULL;
	}
	if (db->nslots == db->aslots) {
		size_t a = db->aslots;
		GROW(db->slots, a, db->nslots + 1);
		db->aslots = (unsigned)a;
	}
	db->slots[db->nslots].sql = sql;
	db->slots[db->nslots].st = st;
	db->nslots++;
	return st;
}

int db_step(struct db *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED || (rc & 0xff) == SQLITE_BUSY) {
		db->locked = 1;
		error("database '%s' is locked by another process; try again when it is done",
		      db->path);
	} else {
		error("database '%s': %s (in: %.120s)", db->path, sqlite3_errmsg(db->h),
		      sqlite3_sql(st));
	}
	sqlite3_reset(st);
	return -1;
}

int db_run(struct db *db, sqlite3_stmt *st)
{
	int rc = db_step(db, st);

	sqlite3_reset(st);
	return rc < 0 ? -1 : 0;
}

int db_begin(struct db *db)
{
	int rc;

	if (db->read_depth)
		BUG("a write transaction inside a read snapshot of '%s'", db->path);
	rc = sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		return 0;
	if ((rc & 0xff) == SQLITE_BUSY) {
		db->locked = 1;
		return error("database '%s' is locked by another process; try again when it is done",
			     db->path);
	}
	if ((rc & 0xff) == SQLITE_READONLY)
		return error("database '%s' is read-only: %s", db->path, sqlite3_errmsg(db->h));
	return db_fail(db, "cannot start a transaction on");
}

int db_commit(struct db *db)
{
	int rc = sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL);

	if (rc == SQLITE_OK)
		return 0;
	if ((rc & 0xff) == SQLITE_BUSY) {
		db->locked = 1;
		return error("database '%s' is locked by another process; commit failed", db->path);
	}
	return db_fail(db, "cannot commit to");
}

int db_read_begin(struct db *db)
{
	int64_t n;

	if (db->read_depth++)
		return 0;
	db->read_owned = 0;
	if (!sqlite3_get_autocommit(db->h))
		return 0;     /* a write transaction: one state already */
	if (sqlite3_exec(db->h, "BEGIN DEFERRED", NULL, NULL, NULL) != SQLITE_OK) {
		db->read_depth = 0;
		return db_fail(db, "cannot start a read transaction on");
	}
	db->read_owned = 1;
	/* A deferred transaction takes its snapshot at the first read: read
	 * now, so the state is the one committed when the analysis began. */
	if (pragma_int(db, "SELECT count(*) FROM sqlite_master", &n)) {
		if ((sqlite3_errcode(db->h) & 0xff) == SQLITE_BUSY)
			db->locked = 1;
		db_fail(db, "cannot read");
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
		db->read_depth = 0;
		db->read_owned = 0;
		return -1;
	}
	return 0;
}

void db_read_end(struct db *db)
{
	if (!db->read_depth)
		BUG("db_read_end without db_read_begin on '%s'", db->path);
	if (--db->read_depth)
		return;
	if (db->read_owned) {
		/* A statement left mid-rows would keep the snapshot alive. */
		for (unsigned i = 0; i < db->nslots; i++)
			sqlite3_reset(db->slots[i].st);
		stmt_tables_reset(db);
		if (sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
	}
	db->read_owned = 0;
}

void db_rollback(struct db *db)
{
	/* Inside a snapshot no write transaction can be open (db_begin
	 * refuses): the open transaction is the snapshot, not ours to end. */
	if (db->h && !db->read_depth && !sqlite3_get_autocommit(db->h))
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

void db_write_mark(struct db *db, struct db_write_mark *m)
{
	m->changes = sqlite3_total_changes(db->h);
	if (pragma_int(db, "PRAGMA data_version", &m->data_version))
		m->data_version = -1;
}

int db_written_since(struct db *db, const struct db_write_mark *m)
{
	struct db_write_mark now;

	db_write_mark(db, &now);
	return m->data_version < 0 || now.data_version < 0 || now.changes != m->changes ||
	       now.data_version != m->data_version;
}

void db_discard_new(const char *path)
{
	static const char *const suffix[] = {"-wal", "-shm", "-journal"};
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < ARRAY_SIZE(suffix); i++) {
		strbuf_reset(&sb);
		strbuf_addf(&sb, "%s%s", path, suffix[i]);
		unlink(sb.buf);
	}
	unlink(path);
	strbuf_release(&sb);
}

int64_t db_last_id(struct db *db)
{
	return sqlite3_last_insert_rowid(db->h);
}

int db_changes(struct db *db)
{
	return sqlite3_changes(db->h);
}

void db_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

void db_bind_static(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

void db_bind_textn(sqlite3_stmt *st, int i, const char *s, size_t n)
{
	sqlite3_bind_text(st, i, s, (int)n, SQLITE_TRANSIENT);
}

void db_bind_int(sqlite3_stmt *st, int i, int64_t v)
{
	sqlite3_bind_int64(st, i, v);
}

void db_bind_int_opt(sqlite3_stmt *st, int i, int64_t v)
{
	if (v < 0)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_int64(st, i, v);
}

const char *db_col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s ? (const char *)s : "";
}
