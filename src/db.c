/*
 * db.c - SQLite connection, migrations and the prepared-statement cache.
 */
#include "db.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "schema.h"
#include "util.h"

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

static int migrate(struct db *db, unsigned from)
{
	char buf[64];

	for (unsigned i = 0; i < n_migrations; i++) {
		const struct migration *m = &migrations[i];
		if (m->version != i + 1)
			die("embedded migrations are not numbered 1..n (%s)", m->name);
		if (m->version <= from)
			continue;
		if (db_begin(db))
			return -1;
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

int db_open(struct db *db, const char *path, int readonly)
{
	int64_t appid = 0, version = 0, nobjects = 0;
	struct stat st;
	int exists, flags;

	memset(db, 0, sizeof(*db));
	db->path = xstrdup(path);
	db->readonly = readonly;
	exists = stat(path, &st) == 0;
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
	flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &db->h, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
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
		sqlite3_busy_timeout(db->h, ms > 600000 ? 600000 : (int)ms);
	}
	/* Reading the header tells a foreign file ("file is not a database")
	 * apart before we write anything. */
	if (pragma_int(db, "PRAGMA application_id", &appid) ||
	    pragma_int(db, "PRAGMA user_version", &version) ||
	    pragma_int(db, "SELECT count(*) FROM sqlite_master", &nobjects)) {
		const char *msg = sqlite3_errmsg(db->h);
		error("'%s' is not a cachegc database (%s)", path, msg);
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
	if (readonly && version < (int64_t)db_latest_version()) {
		error("'%s' has schema version %lld, older than %u; run a writing command "
		      "(e.g. crawl) to migrate it", path, (long long)version, db_latest_version());
		goto fail;
	}
	if (!readonly) {
		if (db_exec(db, "PRAGMA journal_mode = WAL") ||
		    db_exec(db, "PRAGMA synchronous = NORMAL"))
			goto fail;
		if (version == 0) {
			char buf[64];
			snprintf(buf, sizeof(buf), "PRAGMA application_id = %d", CACHEGC_APP_ID);
			if (db_exec(db, buf))
				goto fail;
		}
		if (migrate(db, (unsigned)version))
			goto fail;
	}
	db_exec(db, "PRAGMA foreign_keys = OFF");
	db_exec(db, "PRAGMA cache_size = -65536");
	/* Fewer, larger checkpoints: a crawl writes ~500 bytes per path. */
	db_exec(db, "PRAGMA wal_autocheckpoint = 16384");
	db_exec(db, "PRAGMA temp_store = MEMORY");
	return 0;
fail:
	db_close(db);
	return -1;
}

void db_close(struct db *db)
{
	for (unsigned i = 0; i < db->nslots; i++)
		sqlite3_finalize(db->slots[i].st);
	free(db->slots);
	if (db->h)
		sqlite3_close(db->h);
	free(db->path);
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
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED || (rc & 0xff) == SQLITE_BUSY)
		error("database '%s' is locked by another process; try again when it is done",
		      db->path);
	else
		error("database '%s': %s (in: %.120s)", db->path, sqlite3_errmsg(db->h),
		      sqlite3_sql(st));
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
		die("BUG: a write transaction inside a read snapshot of '%s'", db->path);
	rc = sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		return 0;
	if ((rc & 0xff) == SQLITE_BUSY)
		return error("database '%s' is locked by another process; try again when it is done",
			     db->path);
	if ((rc & 0xff) == SQLITE_READONLY)
		return error("database '%s' is read-only: %s", db->path, sqlite3_errmsg(db->h));
	return db_fail(db, "cannot start a transaction on");
}

int db_commit(struct db *db)
{
	int rc = sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL);

	if (rc == SQLITE_OK)
		return 0;
	if ((rc & 0xff) == SQLITE_BUSY)
		return error("database '%s' is locked by another process; commit failed", db->path);
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
		die("BUG: db_read_end without db_read_begin on '%s'", db->path);
	if (--db->read_depth)
		return;
	if (db->read_owned) {
		/* A statement left mid-rows would keep the snapshot alive. */
		for (unsigned i = 0; i < db->nslots; i++)
			sqlite3_reset(db->slots[i].st);
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
