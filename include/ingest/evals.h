/*
 * evals.h - the import of what CI evaluated and built into the DB
 * (sql/003_evals.sql), and the trusted keys.
 *
 * Layer: ingest.  The pure parsers of those inputs (nix-eval-jobs lines,
 * build outcomes, labels) are nix/evaljobs.h's.  The importers take an
 * open DB and an input and record it, one transaction per evaluation (or
 * a savepoint in a batch's transaction) or per build file, so an input is
 * either wholly recorded or not at all.
 * They know nothing of argv or stdout: problems with single lines are
 * collected in a struct import_problems for the caller to print; failures
 * that stop an import are reported once with error() (naming the file)
 * and make the function return -1.
 *
 * Untrusted text (attrs, error messages, branch names) is only ever bound
 * to SQL parameters, never spliced into SQL.
 */
#ifndef CACHEGC_EVALS_H
#define CACHEGC_EVALS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The parsers, the line reader and capability sets lived here; those who
 * took them from this header still find them through it until they
 * include their own. */
#include "lib/linereader.h"
#include "lib/parse_error.h"
#include "nix/caps.h"
#include "nix/evaljobs.h"

struct db;

/* The parsers' error type (lib/parse_error.h), under its old name here
 * until its callers say struct parse_error. */
#define evals_error parse_error

/* ---- importing ------------------------------------------------------ */

/* Problems with single lines of an input, kept for the caller to print.
 * Only the first IMPORT_PROBLEMS_KEPT are kept; total counts them all. */
#define IMPORT_PROBLEMS_KEPT 200
struct import_problem {
	unsigned line;         /* 1-based, 0 when unknown */
	unsigned item;         /* 1-based index in a top-level array, or 0 */
	char *msg;
};
struct import_problems {
	struct import_problem *v;
	size_t n, alloc;
	size_t total;
};
void import_problems_release(struct import_problems *p);

struct eval_meta {
	const char *branch;
	const char *rev;
	const char *capabilities;  /* normalized (caps_normalize) */
	const char *system;        /* "x86_64-linux", or NULL: the one the jobs
	                              name (see evals_import) */
	const char *jobset;        /* or NULL */
	const char *source;        /* file name for messages and the DB, "-" for stdin */
	int64_t time;              /* when it was evaluated */
	int time_given;            /* 0: time is the clock's; see evals_import */
	int strict;                /* any bad line fails the whole evaluation */
};

struct eval_import_result {
	int64_t evaluation_id;     /* the new one, or the one already there */
	int already;               /* 1: identical evaluation already imported */
	int64_t existing_time;     /* with already: its time */
	int64_t imported_at;       /* with already: when it was imported */
	unsigned lines;            /* non-blank lines read */
	unsigned jobs;             /* jobs recorded (with eval_errors) */
	unsigned outputs;          /* (attr, output) rows recorded */
	unsigned eval_errors;      /* jobs that failed to evaluate */
	unsigned bad_lines;        /* malformed lines skipped */
	unsigned duplicates;       /* lines repeating an attr, skipped */
	char system[256];          /* the evaluation's system, as given or
	                              found in its lines ('' when it failed
	                              before that) */
	struct import_problems problems;
	char failure[512];         /* why it failed, when the input was at fault
	                              (empty when the error was reported already,
	                              e.g. by the DB layer) */
};

/* An evaluation's system when neither the user nor its jobs name one. */
#define EVALS_DEFAULT_SYSTEM "x86_64-linux"

/*
 * Import one nix-eval-jobs output read from in as the evaluation m, in one
 * transaction (a batch of one).  Lines that are not usable jobs are counted, kept in
 * res->problems and skipped (with m->strict they fail the import).  An
 * evaluation that yields no jobs fails.  The same evaluation imported
 * again (same key, same jobs) changes nothing and sets res->already; the
 * same key with other jobs fails (evaluations are immutable).  When
 * m->time_given is 0, the evaluation also counts as already imported when
 * the newest one of the same branch, rev, capabilities and system has the
 * same jobs, so re-running an import without --time is idempotent too.
 * With m->system NULL, the evaluation's system is the one its jobs name
 * ("system" of each line); several fail the import, none gives
 * EVALS_DEFAULT_SYSTEM; res->system says which it is.
 * Returns 0, or -1 with nothing recorded: the reason is in res->failure
 * when the input was at fault, else already reported.  The caller
 * releases res->problems in both cases.
 */
int evals_import(struct db *db, FILE *in, const struct eval_meta *m,
		 struct eval_import_result *res);

/*
 * A batch: many evaluations in one write transaction, each still atomic
 * (a savepoint), so a manifest's evaluations cost one commit a batch, not
 * one each.  Nothing of a batch is durable, so nothing of it may be
 * reported as imported, until evals_batch_commit() returns 0.  The batch
 * also keeps the paths it interned in memory (checked against the DB's
 * data_version at each begin).
 *
 *	evals_batch_init(&b, db);
 *	for each evaluation:
 *		if (evals_batch_begin(&b)) ...       (no-op when one is open)
 *		rc = evals_batch_import(&b, in, &m, &res);
 *		if (!b.open) ...                     (the DB ended the batch: lost)
 *		when it is time: evals_batch_commit(&b), then report
 *	evals_batch_commit(&b); evals_batch_release(&b);
 */
struct evals_path_cache;
struct evals_batch {
	struct db *db;
	char *store_dir;
	int open;                  /* a transaction is open */
	unsigned evaluations;      /* recorded in it */
	int64_t data_version;      /* the DB's when it began */
	struct evals_path_cache *paths;
};
void evals_batch_init(struct evals_batch *b, struct db *db);
/* Open the batch's transaction unless it is open.  0, or -1 (reported;
 * db->locked when another process holds the DB). */
int evals_batch_begin(struct evals_batch *b);
/* evals_import's work for one evaluation, inside the open transaction:
 * on failure (-1) nothing of it stays in the transaction, which goes on
 * unless the DB itself ended it (then b->open is 0 and everything of the
 * batch is gone). */
int evals_batch_import(struct evals_batch *b, FILE *in, const struct eval_meta *m,
		       struct eval_import_result *res);
/* Commit the open transaction, if any.  0, or -1 (reported): everything
 * recorded since evals_batch_begin() is lost. */
int evals_batch_commit(struct evals_batch *b);
void evals_batch_rollback(struct evals_batch *b);
/* Rolls an open transaction back. */
void evals_batch_release(struct evals_batch *b);

struct builds_import_result {
	unsigned records;          /* usable records read */
	unsigned imported;         /* new rows */
	unsigned known;            /* records already in the DB */
	unsigned bad;              /* records skipped */
	struct import_problems problems;
	char failure[512];         /* as in struct eval_import_result */
};

/*
 * Import a build-results document (see builds_parse) in one transaction.
 * An outcome already recorded (same derivation, status and time) is
 * counted as known.  An empty document imports nothing and succeeds; one
 * whose records are all unusable fails.  Returns 0, or -1 with nothing
 * recorded (reason as for evals_import).
 */
int builds_import(struct db *db, const char *buf, size_t len, const char *source,
		  struct builds_import_result *res);

/* ---- trusted keys --------------------------------------------------- */

struct trusted_key_arg {
	char name[128 + 1];        /* SIG_NAME_MAX + 1 */
	char key_b64[64];          /* canonical base64 of the 32 bytes */
};
/* Parse "NAME:BASE64" (a Nix public key).  The key must decode to exactly
 * 32 bytes.  0, or -1 with *err filled. */
int trusted_key_parse(const char *s, struct trusted_key_arg *out, struct parse_error *err);

/* Trust key k from now on.  Returns 0 when added, 1 when the same key was
 * already trusted under that name, -1 (reported) when the name is taken
 * by another key or was revoked (a revoked key stays revoked). */
int keys_add(struct db *db, const struct trusted_key_arg *k, int64_t now);
/* Revoke the key called name as of at.  Returns 0 when revoked (*when =
 * at), 1 when it already was (*when = then), -1 (reported) when there is
 * no such key or on a DB error. */
int keys_revoke(struct db *db, const char *name, int64_t at, int64_t *when);

#endif
