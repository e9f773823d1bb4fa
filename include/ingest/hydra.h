/*
 * hydra.h - following a Hydra: import its jobsets' evaluations and builds
 * over HTTP(S), incrementally (`cachegc import-hydra`).
 *
 * Layer: ingest.  The responses are parsed by nix/hydra_api.h; requests go
 * through the fetch window (ingest/fetch.h: retries, backoff, 429, caps,
 * TLS).  What is recorded is what import-eval and import-builds record
 * (sql/003_evals.sql); sql/007_hydra.sql says which Hydra evaluations and
 * builds it came from.
 *
 * Per jobset: the jobset (/jobset/P/J), then its evaluations page by page
 * (/jobset/P/J/evals, following "next", newest first) down to the newest
 * one already recorded (or to --since), then the builds of each new one
 * (/eval/ID/builds; /build/ID for each id when a Hydra lacks that), the
 * requests in flight together.  Evaluations are recorded oldest first,
 * each in one transaction with its jobs and builds; the first that cannot
 * be recorded stops the jobset (the next run starts there again), so what
 * is recorded is always every listed evaluation up to the newest recorded.
 * Before that, every build of this Hydra recorded unfinished is asked for
 * again (/build/ID) and, when finished, its outcome replaces the queued
 * one.
 */
#ifndef CACHEGC_INGEST_HYDRA_H
#define CACHEGC_INGEST_HYDRA_H

#include <stddef.h>
#include <stdint.h>

#include "lib/parse_error.h"

struct db;

/* What a jobset stands for: --jobset PROJECT:JOBSET and its --map line.
 * NULL fields take the defaults (branch: the input's branch, else the
 * jobset's name; capabilities "none"; system: every system of the
 * builds, one evaluation each; input: "nixpkgs", else the jobset's
 * nixexprinput, else the only input with a revision). */
struct hydra_jobset_arg {
	char *project, *jobset;
	char *branch;
	char *capabilities;    /* normalized, or "none" */
	char *system;
	char *input;
};

/*
 * Parse a map file: one line per jobset, "PROJECT:JOBSET [KEY=VALUE]..."
 * with keys branch, capabilities, system and input; '#' comments and
 * blank lines.  Appends to *v / *n.  0, or -1 with err (err->line set).
 */
int hydra_map_parse(const char *buf, size_t len, struct hydra_jobset_arg **v, size_t *n,
		    struct parse_error *err);
/* Parse "PROJECT:JOBSET" into a (other fields NULL).  0 or -1 (err). */
int hydra_jobset_name_parse(const char *s, struct hydra_jobset_arg *a, struct parse_error *err);
void hydra_jobset_arg_release(struct hydra_jobset_arg *a);

struct hydra_import_options {
	const char *url;       /* the Hydra, http(s)://HOST[:PORT][/PREFIX] */
	const struct hydra_jobset_arg *jobsets;
	size_t njobsets;
	int64_t since;         /* evaluations older than this are left alone; -1 */
	int jobs, tries;       /* 0: defaults (16, 5) */
	long timeout_ms;       /* 0: default */
	const char *cacert;
};

struct hydra_jobset_result {
	const char *project, *jobset;
	const char *status;    /* "complete", "failed", "interrupted" */
	unsigned pages;        /* pages of evaluations read */
	unsigned evals_new;    /* Hydra evaluations recorded by this run */
	unsigned evals_pending;/* new ones not recorded (failed or stopped) */
	unsigned evaluations;  /* cachegc evaluations created */
	unsigned jobs;         /* (attr, output) rows recorded */
	unsigned builds;       /* build outcomes recorded */
	unsigned queued;       /* of which queued */
	unsigned skipped;      /* builds not recorded as jobs */
	int64_t newest;        /* newest Hydra evaluation recorded, -1 none */
	char error[1024];      /* why it failed, naming the URL */
};

struct hydra_import_result {
	char *url;             /* normalized base URL (malloc'd) */
	struct hydra_jobset_result *v;   /* one per jobset asked */
	size_t n;
	unsigned refreshed;    /* unfinished builds asked for again */
	unsigned finished;     /* of which finished since: outcome updated */
	unsigned refresh_errors;
	int interrupted;
	char error[1024];      /* a failure before any jobset, or of the refresh */
};

/* Returns 0 when every jobset is complete, 1 when one failed (each result
 * says why), 130 when interrupted (fetch_stop), -1 when nothing could be
 * started (reported).  release res in every case. */
int hydra_import(struct db *db, const struct hydra_import_options *o,
		 struct hydra_import_result *res);
void hydra_import_result_release(struct hydra_import_result *res);

#endif
