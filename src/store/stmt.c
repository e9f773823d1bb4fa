/*
 * stmt.c - statement tables (see store/stmt.h): each module's statements
 * prepared once per connection on first use, bound from typed arguments,
 * stepped, and reported with the SQL text when they fail.
 *
 * A table gets a process-wide slot number on its first use; each
 * connection keeps, per slot, an array of the table's prepared
 * statements.  So a lookup is two array indexings, with no search by SQL
 * text or address (the legacy db_stmt cache searches linearly).
 */
#include "store/stmt.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

static atomic_uint next_slot;

/* The slot of t, 1-based, given on first use; tables used from several
 * threads at once get one slot all the same. */
static unsigned table_slot(struct stmt_table *t)
{
	unsigned s = atomic_load(&t->slot);

	if (s)
		return s;
	unsigned mine = atomic_fetch_add(&next_slot, 1) + 1, zero = 0;
	if (atomic_compare_exchange_strong(&t->slot, &zero, mine))
		return mine;
	return zero;    /* another thread gave it first: its number */
}

static sqlite3_stmt *prepared(struct db *db, struct stmt_table *t, unsigned i)
{
	unsigned s = table_slot(t);
	struct db_stmt_row *row;
	sqlite3_stmt *st;

	if (i >= t->n || !t->sql[i])
		BUG("statement %u of table '%s' has no SQL",
		    i, t->name);
	if (s > db->ntables) {
		db->tables = xrealloc(db->tables, s * sizeof(*db->tables));
		memset(db->tables + db->ntables, 0, (s - db->ntables) * sizeof(*db->tables));
		db->ntables = s;
	}
	row = &db->tables[s - 1];
	if (!row->st) {
		row->st = xcalloc(t->n, sizeof(*row->st));
		row->n = t->n;
	}
	if ((st = row->st[i])) {
		/* No sqlite3_clear_bindings: bound() binds every parameter. */
		sqlite3_reset(st);
		return st;
	}
	if (sqlite3_prepare_v3(db->h, t->sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) !=
	    SQLITE_OK) {
		error("database '%s': %s (preparing: %.120s)", db->path, sqlite3_errmsg(db->h),
		      t->sql[i]);
		sqlite3_finalize(st);
		return NULL;
	}
	row->st[i] = st;
	return st;
}

/* Statement i of t, reset, with args bound (text copied unless borrow).
 * NULL on error (reported). */
static sqlite3_stmt *bound(struct db *db, struct stmt_table *t, unsigned i,
			   const struct sql_arg *args, unsigned nargs, int borrow)
{
	sqlite3_stmt *st = prepared(db, t, i);
	int rc = SQLITE_OK;

	if (!st)
		return NULL;
	/* A count that differs from the SQL's is the caller's bug, not input. */
	if ((int)nargs != sqlite3_bind_parameter_count(st))
		BUG("statement %u of table '%s' takes %d arguments, given %u "
		    "(%.80s)", i, t->name, sqlite3_bind_parameter_count(st),
		    nargs, t->sql[i]);
	for (unsigned k = 0; k < nargs && rc == SQLITE_OK; k++) {
		const struct sql_arg *a = &args[k];
		int col = (int)k + 1;

		switch (a->type) {
		case SQL_ARG_INT:
			rc = sqlite3_bind_int64(st, col, a->v.i);
			break;
		case SQL_ARG_TEXT:
			rc = sqlite3_bind_text(st, col, a->v.s, a->len,
					       borrow ? SQLITE_STATIC : SQLITE_TRANSIENT);
			break;
		case SQL_ARG_NULL:
			rc = sqlite3_bind_null(st, col);
			break;
		default:
			BUG("argument %u of statement %u of table '%s' has no type",
			    k + 1, i, t->name);
		}
	}
	if (rc != SQLITE_OK) {
		error("database '%s': %s (binding: %.120s)", db->path, sqlite3_errmsg(db->h),
		      t->sql[i]);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return NULL;
	}
	return st;
}

int stmt_exec(struct db *db, struct stmt_table *t, unsigned i,
	      const struct sql_arg *args, unsigned nargs)
{
	sqlite3_stmt *st = bound(db, t, i, args, nargs, 1);
	int rc;

	if (!st)
		return -1;
	while ((rc = db_step(db, st)) == 1)
		;
	/* Borrowed text must not outlive the call: drop it with the reset. */
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc < 0 ? -1 : 0;
}

int stmt_row(struct db *db, struct stmt_table *t, unsigned i, sqlite3_stmt **stp,
	     const struct sql_arg *args, unsigned nargs)
{
	sqlite3_stmt *st = bound(db, t, i, args, nargs, 0);
	int rc;

	*stp = st;
	if (!st)
		return -1;
	rc = db_step(db, st);
	if (rc == 0)
		sqlite3_reset(st);
	return rc;
}

int stmt_int(struct db *db, struct stmt_table *t, unsigned i, const struct sql_arg *args,
	     unsigned nargs, int64_t *out)
{
	sqlite3_stmt *st;
	int rc = stmt_row(db, t, i, &st, args, nargs);

	*out = 0;
	if (rc == 1) {
		*out = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	return rc < 0 ? -1 : 0;
}

sqlite3_stmt *stmt_query(struct db *db, struct stmt_table *t, unsigned i,
			 const struct sql_arg *args, unsigned nargs)
{
	return bound(db, t, i, args, nargs, 0);
}

void stmt_tables_reset(struct db *db)
{
	for (unsigned s = 0; s < db->ntables; s++)
		for (unsigned i = 0; i < db->tables[s].n; i++)
			if (db->tables[s].st[i])
				sqlite3_reset(db->tables[s].st[i]);
}

void stmt_tables_free(struct db *db)
{
	for (unsigned s = 0; s < db->ntables; s++) {
		for (unsigned i = 0; i < db->tables[s].n; i++)
			sqlite3_finalize(db->tables[s].st[i]);
		free(db->tables[s].st);
	}
	free(db->tables);
	db->tables = NULL;
	db->ntables = 0;
}
