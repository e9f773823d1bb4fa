/*
 * coverage.h - which CI builds a cache holds, whole and trusted: for the
 * latest evaluation of each (branch, capability set, system) as of a
 * moment, one row per job output with its status, and a summary per
 * evaluation.  Reads the DB only (trust.c may record signature verdicts);
 * knows nothing of argv or stdout: cmd_coverage.c prints.
 *
 * "Present" is as of `at`, from the presence episodes (first_seen <= at
 * and not gone by then), so an earlier `at` replays history.  Closures come
 * from the reference graph recorded for the cache (graph.h); an output is
 *   cached     present, its whole closure present and trusted
 *   partial    present, some closure members absent
 *   untrusted  complete, some member without a trusted signature
 *   evicted    not present, but was before `at` (and its last build, if
 *              any, is older than its eviction)
 *   failed     not present, its latest build (as of `at`) failed, or the
 *              attr failed to evaluate (reason "eval-error")
 *   queued     not present, its latest build is queued
 *   missing    never seen in the cache
 * The cache is asked before the build record: a build reported failed
 * (non-deterministic, say) whose output is cached counts as cached.
 */
#ifndef CACHEGC_COVERAGE_H
#define CACHEGC_COVERAGE_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/graph.h"
#include "analysis/trust.h"

struct db;

enum cov_status {
	COV_CACHED,
	COV_PARTIAL,
	COV_UNTRUSTED,
	COV_EVICTED,
	COV_MISSING,
	COV_FAILED,
	COV_QUEUED,
	COV_NSTATUS
};
/* "cached", "partial", ... (static). */
const char *cov_status_str(enum cov_status s);

struct coverage_opts {
	int64_t cache_id;
	const char *branch;        /* only this branch, or NULL */
	const char *capabilities;  /* only this set, normalized (caps_normalize), or NULL */
	const char *attr;          /* only attrs matching this glob (fnmatch), or NULL */
	int64_t at;                /* the moment: evaluations, presence, builds, keys */
	unsigned threads;          /* for signature checks; 0: one per CPU */
	int skip_signatures;       /* 1: check none (trust_checked 0, nothing is
	                              untrusted): for callers that need presence
	                              and closures only (rebuild) */
	int keep_graph;            /* 1: hand the cache's graph, GRAPH_PRESENT
	                              as of `at`, over in coverage.graph */
};

/* One column: the latest evaluation of a (branch, capabilities, system). */
struct cov_column {
	int64_t evaluation_id;
	char *branch, *rev, *capabilities, *system;
	int64_t time;
	size_t jobs;               /* attrs (an attr with several outputs is one job) */
	size_t jobs_cached;        /* attrs whose every output is cached */
	size_t outputs;            /* rows */
	size_t count[COV_NSTATUS]; /* rows per status */
	uint64_t cached_bytes;     /* NAR bytes of the union closure of cached outputs */
	uint64_t total_bytes;      /* the same over every output (known sizes only) */
};

struct cov_row {
	uint32_t column;           /* index into coverage.cols */
	char *attr;
	char *output;              /* "" when the attr failed to evaluate */
	uint32_t path_id, drv_id;  /* 0 when unknown */
	enum cov_status status;
	const char *reason;        /* static or NULL: failed/queued: the build
	                              status or "eval-error"; missing: "no-output-path"
	                              (the evaluator could not know it) or
	                              "built-not-pushed" (a build succeeded) */
	char *error;               /* evaluation error, ANSI codes removed, or NULL */
	const char *build_status;  /* latest build as of `at` (static), or NULL */
	int64_t build_time;        /* its time, -1 when none */
	int64_t since;             /* evicted: when it went; -1 otherwise */
	uint64_t closure_paths;    /* members of the output's closure (present
	                              outputs and evicted ones: as recorded) */
	uint64_t closure_bytes;    /* their NAR bytes (known sizes) */
	uint64_t missing_paths;    /* members absent as of `at` */
	uint64_t missing_bytes;    /* their NAR bytes, where known */
	uint64_t untrusted_paths;  /* present members with no trusted signature */
	uint32_t untrusted_path;   /* one of them (the output itself if it is one) */
	enum trust_verdict untrusted_verdict;  /* and why */
	char *signers;             /* who signed untrusted_path (trust_describe) */
	/* When not cached: the newest older evaluation of the same column
	 * whose same attr and output is cached (older_eval 0: none). */
	int64_t older_eval;
	char *older_rev;
	int64_t older_time;
	uint32_t older_path;
};

struct coverage {
	int64_t at;
	char *store_dir;
	int trust_checked;         /* 0: no trusted keys configured */
	size_t keys_active;        /* keys counting as of `at` */
	struct cov_column *cols;
	size_t ncols;
	struct cov_row *rows;      /* sorted by attr, output, column */
	size_t nrows;
	struct path_names names;   /* base names of every path, by id */
	struct trust_stats trust_stats;
	uint64_t closures;         /* distinct closures walked */
	struct graph *graph;       /* with keep_graph; owned, else NULL */
};

/*
 * Compute the coverage of cache o->cache_id as of o->at into *cv.  No
 * matching evaluation is not an error (cv->ncols == 0).  Returns 0 or -1
 * (reported); release with coverage_release() in both cases.
 */
int coverage_run(struct coverage *cv, struct db *db, const struct coverage_opts *o);
void coverage_release(struct coverage *cv);

/* The full store path of id into sb (reset first); "" when id is 0. */
void coverage_path(const struct coverage *cv, uint32_t id, struct strbuf *sb);

/*
 * Copy s[0..len) without terminal escape sequences (CSI "ESC [ ... final",
 * OSC "ESC ] ... BEL/ST", two-byte ESC sequences) and without other
 * control characters but newline and tab.  Returns a malloc'd string the
 * caller frees.  Pure.
 */
char *strip_ansi(const char *s, size_t len);

#endif
