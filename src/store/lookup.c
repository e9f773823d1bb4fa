/*
 * lookup.c - cache and store-path resolution for commands.
 */
#include "store/lookup.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/stmt.h"
#include "nix/nixhash.h"
#include "lib/util.h"

enum {
	Q_CACHES,
	Q_CACHES_TWO,
	Q_CACHE_URL,
	Q_CACHE_ID,
	Q_PATH_HASH,
	Q_N
};
static const char *const sql[Q_N] = {
	[Q_CACHES] = "SELECT id, url FROM caches ORDER BY id",
	[Q_CACHES_TWO] = "SELECT id, url FROM caches ORDER BY id LIMIT 2",
	[Q_CACHE_URL] = "SELECT id, url FROM caches WHERE url = ?1",
	[Q_CACHE_ID] = "SELECT id, url FROM caches WHERE id = ?1",
	[Q_PATH_HASH] = "SELECT id, name FROM paths WHERE hash = ?1",
};
static struct stmt_table stmts = STMT_TABLE("lookup", sql);

static void list_caches(struct db *db)
{
	sqlite3_stmt *st = stmt_query(db, &stmts, Q_CACHES, SQL_NOARGS);

	if (!st)
		return;
	fprintf(stderr, "known caches:\n");
	while (db_step(db, st) == 1)
		fprintf_printable(stderr, "  %lld  %s\n", (long long)sqlite3_column_int64(st, 0),
				  db_col_text(st, 1));  /* a directory's name: escaped */
	sqlite3_reset(st);
}

int cache_print_urls(struct db *db, FILE *f)
{
	sqlite3_stmt *st = stmt_query(db, &stmts, Q_CACHES, SQL_NOARGS);
	int rc;

	if (!st)
		return -1;
	while ((rc = db_step(db, st)) == 1)
		fprintf_printable(f, "%s\n", db_col_text(st, 1));
	sqlite3_reset(st);
	return rc < 0 ? -1 : 0;
}

int cache_resolve(struct db *db, const char *arg, int64_t *id, char **url)
{
	sqlite3_stmt *st;
	struct strbuf norm = STRBUF_INIT;
	uint64_t n;
	int rc, ret = -1;

	if (!arg) {
		if (!(st = stmt_query(db, &stmts, Q_CACHES_TWO, SQL_NOARGS)))
			return -1;
		rc = db_step(db, st);
		if (rc == 0) {
			sqlite3_reset(st);
			return error("database '%s' has no cache yet; run 'cachegc crawl CACHE' first",
				     db->path);
		}
		if (rc < 0)
			return -1;
		*id = sqlite3_column_int64(st, 0);
		if (url)
			*url = xstrdup(db_col_text(st, 1));
		rc = db_step(db, st);
		sqlite3_reset(st);
		if (rc == 1) {
			if (url) {
				free(*url);
				*url = NULL;  /* callers free it on failure too */
			}
			error("database '%s' holds several caches; choose one with --cache", db->path);
			list_caches(db);
			return -1;
		}
		return 0;
	}
	if (!parse_uint(arg, &n) && n <= INT64_MAX) {
		st = stmt_query(db, &stmts, Q_CACHE_ID, SQL_ARGS((int64_t)n));
		if (!st)
			return -1;
	} else {
		char real[PATH_MAX];
		const char *u = arg;
		if (!strstr(arg, "://") && realpath(arg, real)) {
			strbuf_addf(&norm, "file://%s", real);
			u = norm.buf;
		} else if (!strncmp(arg, "file://", 7) && realpath(arg + 7, real)) {
			strbuf_addf(&norm, "file://%s", real);
			u = norm.buf;
		} else {
			strbuf_addstr(&norm, arg);
			while (norm.len > 1 && norm.buf[norm.len - 1] == '/')
				norm.buf[--norm.len] = '\0';
			u = norm.buf;
		}
		st = stmt_query(db, &stmts, Q_CACHE_URL, SQL_ARGS(u));
		if (!st)
			goto out;
	}
	rc = db_step(db, st);
	if (rc == 1) {
		*id = sqlite3_column_int64(st, 0);
		if (url)
			*url = xstrdup(db_col_text(st, 1));
		ret = 0;
	} else if (rc == 0) {
		error("no cache '%s' in database '%s'", arg, db->path);
		list_caches(db);
	}
	sqlite3_reset(st);
out:
	strbuf_release(&norm);
	return ret;
}

int path_resolve(struct db *db, const char *store_dir, const char *arg, int64_t *path_id)
{
	size_t sdl = strlen(store_dir), len;
	const char *p = arg, *slash;
	sqlite3_stmt *st;
	int rc;

	if (!strncmp(p, store_dir, sdl) && p[sdl] == '/')
		p += sdl + 1;
	else if (p[0] == '/')
		return error("'%s' is not in the store %s", arg, store_dir);
	slash = strchr(p, '/');
	len = slash ? (size_t)(slash - p) : strlen(p);
	if (len < STORE_HASH_LEN || !store_hash_valid(p, STORE_HASH_LEN) ||
	    (len > STORE_HASH_LEN && !store_basename_valid(p, len)))
		return error("'%s' is not a store path, basename or 32-character store hash", arg);
	if (!(st = stmt_query(db, &stmts, Q_PATH_HASH, SQL_ARGS(SQL_TEXTN(p, STORE_HASH_LEN)))))
		return -1;
	rc = db_step(db, st);
	if (rc == 1) {
		const char *name = db_col_text(st, 1);
		/* A basename with the right hash but another name is not it. */
		if (len > STORE_HASH_LEN &&
		    (strlen(name) != len - STORE_HASH_LEN - 1 ||
		     memcmp(name, p + STORE_HASH_LEN + 1, len - STORE_HASH_LEN - 1)))
			rc = 0;
		else
			*path_id = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	return rc;
}
