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

/* The tables of a ClickHouse store (sql/clickhouse/NNN_name.sql), each
 * CREATE TABLE IF NOT EXISTS with {db} for the database; run in order
 * (store/clickhouse_sync.c). */
extern const struct migration ch_schema[];
extern const unsigned n_ch_schema;

/* Each CREATE TABLE and CREATE VIEW of the migrations, in order: kind
 * "table" or "view", its name, the migration's file name, and the first
 * paragraph (up to a bare "--" line) of the "-- " comment right above it,
 * one comment line a line, without the "-- " ("" when none).  For the
 * manual page; the strings last only for the call. */
typedef void (*schema_object_fn)(void *arg, const char *kind, const char *name,
				 const char *migration, const char *doc);
void schema_each_object(schema_object_fn fn, void *arg);

#endif
