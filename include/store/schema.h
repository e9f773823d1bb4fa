/*
 * schema.h - the embedded SQL migrations (sql/NNN_name.sql), in order.
 * migrations[i].version is the user_version the DB has after applying it.
 */
#ifndef CACHEGC_SCHEMA_H
#define CACHEGC_SCHEMA_H

struct migration {
	unsigned version;
	const char *name;
	const char *sql;
};

extern const struct migration migrations[];
extern const unsigned n_migrations;

#endif
