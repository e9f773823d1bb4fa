/*
 * access_import.h - importing access logs: each log streamed (plain or
 * gzip, capped, hashed), its lines parsed (nix/accesslog.h) and resolved
 * through an index of the cache's narinfos, the accesses summed per (path,
 * UTC day) and written in one transaction with the log's row in
 * access_logs; content imported before is skipped, so hits never count
 * twice.  The command (cli/cmd_import_access.c) parses options and prints.
 *
 * Layer: ingest.
 */
#ifndef CACHEGC_ACCESS_IMPORT_H
#define CACHEGC_ACCESS_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "nix/accesslog.h"

struct db;

/* What a log may hold once decompressed. */
#define ACCESS_MAX_INPUT (4ull << 30)
/* Malformed lines shown per log; the rest are counted. */
#define SHOWN_PROBLEMS 5

struct access_problem {
	uint64_t line;
	char msg[160];
};

/* While nothing is recorded: a prefix the log's requests suggest. */
struct access_hint {
	char prefix[256];
	uint64_t shaped;       /* successful narinfo/NAR-shaped requests under it */
	uint64_t known;        /* of which for paths the index has */
};

struct access_log_result {
	const char *src;       /* as named ("<stdin>" for -) */
	const char *status;    /* "imported", "already-imported", "empty", "failed" */
	enum access_format format;
	char digest[65];
	int64_t log_id;        /* the new row, or the one already there */
	char prev_source[256]; /* with already-imported: its source */
	int64_t prev_at;       /* and when */
	uint64_t lines, requests, unknown, ignored, malformed, parsed;
	uint64_t recorded;     /* requests for paths the index has (written
	                          only when status is "imported") */
	int64_t first_at, last_at;   /* -1 when nothing recorded */
	size_t paths, days;
	struct access_problem problems[SHOWN_PROBLEMS];
	size_t nproblems;
	struct access_hint hints[16];
	size_t nhints;
	char suggested[256];   /* with nothing recorded: the prefix to try, or "" */
	char error[800];
};

/* One import: the cache, how to read its logs, the narinfo index. */
struct access_import {
	struct db *db;
	int64_t cache_id;
	char *cache_url;       /* for messages; the caller owns it */
	char prefix[ACCESS_MAX_PATH + 2];
	enum access_format format;
	struct access_index ix;
	char path[ACCESS_MAX_PATH + 2];   /* decode buffer */
};

/* Build c->ix from the narinfos of c->cache_id (c->db, c->cache_id and
 * c->ix initialized by the caller).  0 or -1 (reported). */
int access_import_load_index(struct access_import *c);

/* Import one log (a file, or "-" for standard input) into r.  0, or -1
 * (r->error says why, or the DB layer reported it). */
int access_import_one(struct access_import *c, const char *file, struct access_log_result *r);

#endif
