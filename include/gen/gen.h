/*
 * gen.h - the synthetic world: a file:// binary cache as a CUDA CI would
 * leave it, with the evaluations and build results that filled it.
 *
 * Everything is a pure function of the options except --as-of, which only
 * chooses the moment shown: the history (packages, commits, evaluations,
 * builds, pushes and the cache's garbage collection) is the same for any
 * --as-of, and gen_run() makes DIR exactly its state at that moment, adding
 * and deleting files as needed, so runs at several dates on one DIR give a
 * crawler a consistent presence history.
 *
 * Layout written under opts->dir:
 *   cache/nix-cache-info, cache/<hash>.narinfo (mtime = push time),
 *   cache/nar/<filehash>.nar.<ext> with nar_stubs (placeholders)
 *   keys/<name>.secret, keys/<name>.public   (Nix's key format)
 *   evals/<branch>-<rev>-<caps>.jsonl         (nix-eval-jobs lines)
 *   evals/manifest.tsv   file branch rev capabilities system time
 *   builds.jsonl         {"drvPath","status","time"} per built derivation
 *   gen-params           the options that made the files (lets a re-run
 *                        with the same world skip unchanged narinfos)
 */
#ifndef CACHEGC_GEN_H
#define CACHEGC_GEN_H

#include <stdint.h>

#define GEN_DEFAULT_PATHS 20000
#define GEN_DEFAULT_DAYS 28
#define GEN_DEFAULT_START "2024-05-01"
#define GEN_DEFAULT_KEY_NAME "cachegc-gen-1"
#define GEN_MAX_PATHS 20000000ULL
#define GEN_MAX_DAYS 3650
#define GEN_AS_OF_END INT64_MIN   /* as_of: the end of the history */

struct gen_options {
	const char *dir;
	uint64_t paths;        /* about this many distinct store paths in all */
	uint64_t seed;
	int64_t start;         /* first day of the history, epoch seconds */
	unsigned days;
	int64_t as_of;         /* the moment shown, or GEN_AS_OF_END */
	const char *key_name;
	int nar_stubs;         /* write a placeholder at every NAR URL */
	int no_gc;             /* the cache never collects garbage: it keeps
	                          every path ever pushed */
	int daily;             /* evaluate master, nixpkgs-unstable and the
	                          release x every capability set in full once
	                          a day, instead of the CI's schedule */
};

/* Fill o with the defaults (dir NULL, seed 1). */
void gen_options_init(struct gen_options *o);

struct gen_summary {
	uint64_t packages;          /* attributes in the package set */
	uint64_t drvs;              /* distinct derivations ever instantiated */
	uint64_t paths;             /* distinct store paths ever pushed */
	uint64_t failed_drvs;       /* failed, timed out or dependency failed */
	uint64_t pushes;            /* pushes, counting re-pushes after eviction */
	uint64_t evictions;         /* derivations the cache GC evicted by as_of */
	uint64_t gc_limit_bytes;    /* the cache's size limit (FileSize bytes) */
	uint64_t present;           /* narinfos in cache/ as of as_of */
	uint64_t present_file_bytes; /* their FileSize sum, each NAR once */
	uint64_t present_nar_bytes; /* their NarSize sum */
	uint64_t nar_files;         /* distinct NAR URLs of present paths */
	uint64_t evaluations;       /* evaluations written (time <= as_of) */
	uint64_t evaluations_total; /* in the whole history */
	uint64_t jobs;              /* lines in the written eval files */
	uint64_t eval_errors;       /* of which error lines */
	uint64_t builds;            /* lines in builds.jsonl */
	uint64_t narinfos_written;  /* files (re)written by this run */
	uint64_t narinfos_kept;     /* already right, left alone */
	uint64_t narinfos_deleted;  /* stale files removed */
	int64_t start, end, as_of;
	char public_key[256];       /* "name:base64", as in keys/NAME.public */
};

/*
 * Generate (or move) the world in o->dir.  Reports errors with error()
 * and returns -1; returns 0 and fills *s on success.  Shows progress on a
 * terminal (util.h).  Memory grows linearly with o->paths.
 */
int gen_run(const struct gen_options *o, struct gen_summary *s);

#endif
