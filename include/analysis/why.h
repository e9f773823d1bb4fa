/*
 * why.h - explain to a user why what they build is (not) in the cache: one
 * verdict per answer, with the evidence the database holds and what the
 * user can do.  Reads the DB only (trust.c may record signature
 * verdicts); knows nothing of argv or stdout: cmd_why.c prints.
 *
 * A query is an attr ("python3Packages.torch"), a store path (an output
 * or a .drv; full, "<hash>-<name>" or the 32-character hash).  An attr is
 * answered once per (branch, capability set, system) whose evaluations
 * have it, from the latest such evaluation as of `at` (or the one at
 * --rev); a path once, in the latest evaluation that produced it (or
 * from the cache alone when none did).
 *
 * Unlike `coverage`, nothing loads the whole cache: closures are walked
 * path by path through the narinfos' references, and only their members'
 * presence and signatures are read.  The statuses are coverage's (see
 * coverage.h), so both agree on every output: coverage's "missing" is
 * split here into not-pushed (a build succeeded) and not-built.
 */
#ifndef CACHEGC_WHY_H
#define CACHEGC_WHY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct db;

enum why_verdict {
	WHY_CACHED,
	WHY_PARTIAL,
	WHY_UNTRUSTED,
	WHY_EVICTED,
	WHY_FAILED,
	WHY_QUEUED,
	WHY_NOT_PUSHED,
	WHY_NOT_BUILT,
	WHY_NOT_EVALUATED,
	WHY_CAPS_NOT_BUILT,
	WHY_UNKNOWN,
	WHY_NVERDICTS
};

/* "cached", "partial", ..., "capabilities-not-built", "unknown" (static). */
const char *why_verdict_str(enum why_verdict v);

struct why_opts {
	int64_t cache_id;
	const char *cache_url;     /* for the nix.conf lines */
	const char *branch;        /* or NULL */
	const char *capabilities;  /* normalized (caps_normalize), or NULL */
	const char *rev;           /* a revision or a unique prefix of one
	                              (at least 7 characters), or NULL */
	const char *system;        /* or NULL */
	int64_t at;                /* the moment: evaluations, presence, builds, keys */
	unsigned threads;          /* for signature checks; 0: one per CPU */
};

/*
 * One piece of evidence: kind is a static word ("presence",
 * "missing-path", "untrusted-path", "gc-model", "build", "evaluation",
 * "substituter", ...), text one sentence or more (store paths in
 * `backticks`; names from imported files with control characters
 * escaped), facts a JSON object with the same facts for machines (paths
 * in full, times as ISO 8601 UTC).
 */
struct why_evidence {
	const char *kind;
	char *text;
	json_t *facts;             /* owned */
};

struct why_suggestion {
	int64_t evaluation_id;     /* 0: none */
	char *rev;
	char *out_path;            /* the attr's "out" (or first) output, in full */
	int64_t evaluated_at;
	int64_t age;               /* at - evaluated_at, seconds */
};

struct why_answer {
	enum why_verdict verdict;
	char *attr;                /* or NULL (a path no evaluation produced) */
	char *path;                /* full store path of the output (or the .drv
	                              asked for), or NULL */
	char *branch, *capabilities, *rev, *system;  /* of the evaluation, or NULL */
	int64_t evaluation_id;     /* 0: none */
	int64_t evaluated_at;      /* -1: none */
	struct why_evidence *ev;
	size_t nev, aev;
	char **advice;             /* what the user can do, one line each */
	size_t nadvice, aadvice;
	struct why_suggestion sugg;
};

struct why_result {
	char *query;
	int64_t at;
	int trust_checked;         /* 0: no trusted keys configured */
	struct why_answer *a;
	size_t n, alloc;
};

/*
 * Answer query as of o->at into *r.  Every outcome the data allows is an
 * answer (an unknown attr or path is verdict unknown), so -1 means the
 * database could not be read (reported).  Release with why_release() in
 * both cases.
 */
int why_run(struct why_result *r, struct db *db, const struct why_opts *o, const char *query);
void why_release(struct why_result *r);

#endif
