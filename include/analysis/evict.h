/*
 * evict.h - closure-safe eviction plans and their journaled application
 * to a file:// cache (sql/005_evict.sql).
 *
 * Two halves, neither of which knows argv or stdout:
 *
 *  - Planning.  evict_plan_build() reads the recorded state of one cache
 *    (the last crawl, the evaluations) and chooses paths to evict until the
 *    stored size is at most a limit.  The kept set is always closed under
 *    references: a path goes only after every present path referencing it
 *    went first, so the plan's order (seq) is an order in which the cache
 *    can be cut at any point without leaving a kept path with a hole in its
 *    closure.  A policy proposes candidates in its order: one of the GC
 *    models of gc.h (priority, cachix, attic, niks3), or the built-in
 *    "reach" ranking (unreached, then superseded, then current outputs,
 *    oldest evaluation first).  The plan takes them in that order wherever
 *    closure safety allows, and never a path the policy does not propose.
 *    Each path carries its reason and the jobs it breaks.
 *    evict_plan_save() stores it with an id.
 *
 *  - Applying.  evict_apply() walks a plan against the real directory:
 *    it reads every narinfo there (to learn which NARs are still used and
 *    which kept paths reference planned ones), then deletes, in plan order,
 *    each planned narinfo, its <hash>.ls and, when no remaining narinfo
 *    uses it, its NAR.  Every unlink is journaled write-ahead, so a run
 *    killed at any instant and started again completes the plan and never
 *    deletes anything outside it.  No name is followed out of the cache
 *    directory: URLs are checked lexically and then resolved one component
 *    at a time with O_NOFOLLOW, and only regular files are unlinked.
 *    Without apply it only reports what it would do.
 *
 * Errors are reported once with error() and make functions return -1.
 */
#ifndef CACHEGC_EVICT_H
#define CACHEGC_EVICT_H

#include <stddef.h>
#include <stdint.h>

struct db;

/* Why a path goes: the same values, in the same order, as gc.h's
 * enum gc_reason. */
enum evict_reason {
	EVICT_UNREACHED,       /* reached by no evaluation output */
	EVICT_SUPERSEDED,      /* only by outputs of replaced evaluations */
	EVICT_LOW_VALUE,       /* by current outputs; the lowest valued go */
	EVICT_LRU,             /* least recently accessed (cachix) */
	EVICT_EXPIRED,         /* older than the retention (attic, niks3) */
	EVICT_DEPENDENCY_LOST, /* a path it references goes (cachix) */
};
#define EVICT_NREASONS 6
/* "unreached", "superseded", "low-value", "lru", "expired",
 * "dependency-lost" (static). */
const char *evict_reason_name(int reason);

/* At most this many broken jobs are kept (and stored) per evicted path;
 * evict_path.nbreaks counts them all. */
#define EVICT_BREAKS_KEPT 20

struct evict_job {
	int64_t evaluation_id;
	char *branch;          /* of the evaluation; all four texts point into
	                          evict_plan.strs */
	char *capabilities;
	int64_t eval_time;
	char *attr;
	char *output;
	uint32_t root;         /* the output's path id */
};

struct evict_path {
	uint32_t path_id;
	char *base;            /* "<hash>-<name>" */
	char *url;             /* NAR URL as recorded */
	int reason;            /* enum evict_reason */
	int64_t stored;        /* FileSize, else NarSize */
	int64_t file_size;     /* -1 when the narinfo had none */
	int64_t nar_size;
	uint32_t nbreaks;      /* broken jobs whose closure holds it */
	uint32_t *breaks;      /* the first EVICT_BREAKS_KEPT of them, as
	                          indices into plan->jobs; NULL when none */
	unsigned nbreaks_kept;
};

struct evict_plan {
	int64_t id;            /* 0 until saved / when loaded: the plan id */
	int64_t cache_id;
	char *cache_url;
	int64_t crawl_id;      /* latest crawl of the cache, 0 when none */
	int64_t created_at;
	char *policy;
	char *weights;         /* the weights file given, or NULL */
	int64_t retention;     /* seconds given, or 0 for the default */
	char *store_dir;
	uint64_t limit;
	uint64_t size_before, size_after;  /* both include rejected_bytes */
	uint64_t rejected_bytes;  /* refused narinfos' files at created_at
	                             (store/rejected.h): stored, but no plan
	                             frees them; not saved (0 when loaded) */
	uint64_t paths_before;
	int limit_reached;
	/* What the policy proposed (present paths only). */
	uint64_t proposed_paths, proposed_bytes;
	/* When the limit is not reached: proposed paths the plan could not
	 * take because paths that stay reference them.  When even all the
	 * proposed paths would leave the cache above the limit, the policy
	 * is what falls short (attic and niks3 choose by age, not size). */
	uint64_t blocked_bytes;
	uint64_t blocked_paths;
	size_t nevaluations;   /* evaluations known when planning */
	struct evict_path *paths;  /* in deletion order */
	size_t n, alloc;
	struct evict_job *jobs;    /* broken jobs, newest evaluation first */
	size_t njobs, ajobs;
	char **strs;           /* the jobs' text, each string once: jobs point
	                          into it (thousands of jobs share a branch,
	                          an attribute name, "out") */
	size_t nstrs, astrs;
};

/* Policy names evict_plan_build() accepts, NULL-terminated (static). */
extern const char *const evict_policies[];

struct evict_plan_opts {
	int64_t cache_id;
	uint64_t limit;        /* stored bytes to stay at or under */
	const char *policy;    /* NULL: "priority" */
	const char *weights;   /* priority's weights file (gc.h), or NULL */
	int64_t retention;     /* seconds, for attic and niks3; <= 0: their
	                          default */
};

/*
 * Build a plan for o->cache_id into *plan (which it initializes).  The
 * plan is in memory only until evict_plan_save().  A cache already under
 * the limit gets an empty plan.  When closure safety stops the plan above
 * the limit, plan->limit_reached is 0 and blocked_* say what stood in
 * the way; that is not an error.  Returns 0, or -1 (reported; an unknown
 * policy too).  Free with evict_plan_release() either way.
 */
int evict_plan_build(struct db *db, const struct evict_plan_opts *o, struct evict_plan *plan);

/* Store plan (one transaction) and set plan->id.  0 or -1 (reported). */
int evict_plan_save(struct db *db, struct evict_plan *plan);

/* Load plan id (paths, reasons, sizes; not the broken jobs) into *plan.
 * Returns 0, 1 when there is no such plan (nothing reported), -1 on a DB
 * error (reported).  Free with evict_plan_release(). */
int evict_plan_load(struct db *db, int64_t id, struct evict_plan *plan);

void evict_plan_release(struct evict_plan *plan);

/* ---- applying ------------------------------------------------------- */

/* What evict_apply() does (or would do) with one file. */
enum evict_action {
	EVICT_DELETE,          /* deleted (dry run: would delete) */
	EVICT_GONE,            /* planned but already missing */
	EVICT_KEEP_SHARED,     /* a NAR a narinfo that stays uses */
	EVICT_DEFERRED,        /* a NAR a planned narinfo later in the plan
	                          still uses: deleted with that one */
	EVICT_REFUSED,         /* unsafe name or not a regular file: the
	                          path's files are left alone */
	EVICT_HELD,            /* a kept narinfo references the path (pushed
	                          after the plan), or a narinfo in the
	                          directory cannot be read with certainty
	                          (then every path is held): the path is kept */
};

enum evict_kind { EVICT_NARINFO, EVICT_LS, EVICT_NAR };
/* "narinfo", "ls", "nar" (static). */
const char *evict_kind_name(int kind);

struct evict_event {
	int action;            /* enum evict_action */
	int kind;              /* enum evict_kind */
	const char *object;    /* relative to the cache directory */
	const char *path;      /* full store path of the planned path */
	int64_t bytes;         /* the file's size when known, else -1 */
	const char *detail;    /* why (refused, held, shared), or NULL */
};
typedef void (*evict_event_fn)(void *ctx, const struct evict_event *ev);

struct evict_apply_opts {
	int64_t plan_id;
	const char *dir;       /* NULL: the plan's own file:// cache; else a
	                          directory holding the cache (e.g. the one an
	                          HTTP cache serves) */
	int apply;             /* 0: dry run, nothing changes on disk */
	unsigned step_delay_ms;/* sleep before each unlink (tests) */
	evict_event_fn fn;     /* called for each file, in order; may be NULL */
	void *ctx;
};

struct evict_apply_result {
	int64_t run_id;
	char *dir;             /* the directory used (malloc'd; result owns) */
	uint64_t deleted;      /* files deleted (would be, in a dry run) */
	uint64_t deleted_bytes;
	uint64_t narinfos;     /* narinfos deleted (would be) */
	uint64_t nars;         /* NARs deleted (would be) */
	uint64_t shared;       /* NARs kept because another narinfo uses them */
	uint64_t gone;         /* planned files already missing */
	uint64_t refused;      /* paths refused */
	uint64_t held;         /* paths kept because kept narinfos need them */
	uint64_t scanned;      /* narinfo files read in the directory */
	int complete;          /* every planned path is evicted now */
	int interrupted;       /* stopped by evict_interrupted */
};
void evict_apply_result_release(struct evict_apply_result *r);

/*
 * Apply (or with !o->apply, preview) plan o->plan_id on its cache
 * directory.  Holds an exclusive flock on the directory for the run, so
 * two runs never interleave.  Files a run cannot handle safely are
 * reported through o->fn as REFUSED or HELD and counted; the run goes on
 * with the other paths.  Returns 0 when the run went through (see
 * r->complete, r->refused, r->held), 1 when the plan does not exist, -1
 * on failure (reported: DB errors, a directory that cannot be used, an
 * unlink that failed for a reason other than the file being missing).
 * The caller releases *r in every case.
 */
int evict_apply(struct db *db, const struct evict_apply_opts *o, struct evict_apply_result *r);

/* Set from a signal handler: evict_apply() stops between two files. */
extern volatile int evict_interrupted;

/*
 * For caches that cannot be changed from here (HTTP): the object keys a
 * plan deletes, from the recorded facts: for each planned path
 * "<hash>.narinfo", "<hash>.ls" (it may not exist) and its NAR URL unless
 * a narinfo recorded present outside the plan uses the same URL (then
 * reported as EVICT_KEEP_SHARED).  Returns 0 or -1 (reported).
 */
int evict_keys(struct db *db, const struct evict_plan *plan, evict_event_fn fn, void *ctx);

/* ---- pure helpers (exported for tests) --------------------------------- */

/*
 * Check a NAR URL's path: a relative name inside the cache directory that
 * every reader takes to the same file.  Refuses empty names, absolute
 * paths, URLs with a scheme, empty, "." and ".." components, control
 * characters, percent-escapes, queries and fragments.  Returns 0, or -1
 * with a reason (static text) in *why.
 */
int evict_url_check(const char *url, size_t len, const char **why);

/*
 * What a planned narinfo's URL may take with it: a NAR, and nothing else.
 * A NAR is "nar/<name>.nar" or "nar/<name>.nar.<ext>" with <ext> one of
 * the extensions Nix gives compressed NARs (xz, bz2, zst, lzip, lz4, br)
 * and <name> letters, digits, '-' and '_': the layouts Nix
 * (nar/<file hash>.nar.xz), nix-serve (nar/<store hash>-<NAR hash>.nar),
 * harmonia (nar/<NAR hash>.nar?hash=<store hash>: the file is the path,
 * the query names the store path) and Attic (nar/<store hash>.nar) write.
 * The URL must also pass evict_url_check() (but for harmonia's query).
 * Anything else (a narinfo, nix-cache-info, a .ls listing, a file under
 * log/, realisations/, build-trace-v2/ or debuginfo/, any other file) is
 * refused: the path is then left whole.  Returns 0 with *name the NAR's
 * name relative to the cache directory (malloc'd, the caller frees), or
 * -1 with *why (static) and *name NULL.
 */
int evict_nar_name(const char *url, size_t len, char **name, const char **why);

/* How evict_url_readings() reached a name. */
enum evict_reading {
	EVICT_READ_FILE,       /* as file:// Nix opens it: literal, normalised */
	EVICT_READ_SERVER,     /* as a web server maps it (nginx): fragment and
	                          query dropped, percent-escapes decoded, "//",
	                          "." and ".." resolved */
	EVICT_READ_BASENAME,   /* "nar/" + the last component of one of the
	                          above: where any server mapping of the same
	                          file name would land */
	EVICT_READ_ABSOLUTE,   /* a file:// URL's absolute path (to stat, not
	                          a name in the cache) */
};
typedef void (*evict_reading_fn)(void *ctx, int kind, const char *name, size_t len);

/*
 * Every name inside the cache directory (relative, normalised, never
 * empty) that a client might fetch for a narinfo whose URL value is
 * val[0..len), under any reading: as given and with surrounding
 * whitespace trimmed; up to a NUL (where open(2) stops); literally and as
 * a server maps it; for "scheme://host/path" and "//host/path" the path
 * too, wherever the host is.  Names may repeat.  fn gets each name
 * NUL-terminated, valid during the call.  Pure: no I/O.
 */
void evict_url_readings(const char *val, size_t len, evict_reading_fn fn, void *ctx);

/* The most of a narinfo the apply scan reads; a larger one is a narinfo
 * it cannot read (every NAR deletion of the run is blocked). */
#define EVICT_SCAN_MAX_BYTES (64u * 1024 * 1024)

struct evict_scan {
	const char *url;       /* the URL Nix takes (its last URL entry), into
	                          the buffer; NULL when it has none */
	size_t url_len;
	int nix_refuses;       /* 0, or the nix_lex_next() refusal */
	unsigned refused_line; /* where Nix's lexer stopped */
	int incomplete;        /* Nix refuses it and the bytes it cannot lex
	                          are not blank: a partial write, or not a
	                          narinfo; what it names cannot be known */
};

/*
 * Read what eviction needs from a narinfo, under every reading that
 * matters: as Nix lexes it (narinfo.h's nix_lex_next(): every URL entry,
 * of which Nix keeps the last, the References entries split at spaces)
 * and as a lenient reader would (by lines, keys trimmed and in any case,
 * values trimmed, references split at any white space).  url(ctx, v, n)
 * gets every URL value of either reading (into buf, raw), ref(ctx, hash)
 * the 32 characters of every reference's store hash (not
 * NUL-terminated); either may be NULL.  Fills *s.  Pure.
 */
void evict_narinfo_scan(const char *buf, size_t len, struct evict_scan *s,
			void (*url)(void *ctx, const char *val, size_t n),
			void (*ref)(void *ctx, const char *hash), void *ctx);

#endif
