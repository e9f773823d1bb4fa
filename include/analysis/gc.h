/*
 * gc.h - models of binary-cache garbage collection: the world a GC sees
 * (one cache's reference graph, push and access times, the evaluations and
 * their jobs, value weights), the policies real caches run (cachix,
 * attic, niks3) and ours (priority), and a step-by-step replay of the
 * recorded history under a policy (simulate).
 *
 * Nothing here knows argv or stdout.  Errors are reported once with
 * error() and make functions return -1.
 *
 * Call order:
 *   gc_weights_init(&wt);  [gc_weights_load(&wt, FILE);]
 *   gc_world_load(&w, db, cache_id, &wt, flags);   -- copies the weights
 *   stored = gc_stored_now(&w);                    -- or your own set
 *   gc_select(&w, policy, &params, stored, &victims);
 *   gc_breaks(&w, stored, &victims, ..., &breaks);
 *   gc_breaks_release(); gc_victims_release(); free(stored);
 *   gc_world_release(&w); gc_weights_release(&wt);
 *
 * Ids are the DB's path ids (dense), so every per-path array is indexed
 * by id directly, as in graph.h.  Sizes are what the cache stores:
 * FileSize, NarSize where the narinfo had none (gc_size()).
 *
 * gc_select(), gc_breaks() and gc_simulate() leave the world as it was
 * but use the graph's traversal marks: one thread at a time.
 */
#ifndef CACHEGC_GC_H
#define CACHEGC_GC_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/graph.h"
#include "store/rejected.h"

struct db;

/* ---- policies and reasons ------------------------------------------- */

enum gc_policy {
	GC_CACHIX,     /* least recently accessed first until under the limit;
	                  dependants of a lost path are lost too */
	GC_ATTIC,      /* pushed and last accessed (NAR downloads) before
	                  now - retention: gone; references ignored */
	GC_NIKS3,      /* evaluation outputs of the retention window are roots;
	                  what they do not reach goes, after a grace period */
	GC_PRIORITY,   /* whole closures of the most valuable roots are kept
	                  under the limit; the rest goes, least valuable first */
};
#define GC_NPOLICIES 4

/* "cachix", "attic", "niks3", "priority" (static). */
const char *gc_policy_name(enum gc_policy p);
/* 0 and *out, or -1 for an unknown name (nothing reported). */
int gc_policy_parse(const char *s, enum gc_policy *out);
/* The names, NULL-terminated, for usage text and messages. */
extern const char *const gc_policy_names[];

/* Default retention (days) for the policies that use one. */
#define GC_ATTIC_RETENTION_DAYS 30
#define GC_NIKS3_RETENTION_DAYS 30
/* niks3's grace period (seconds): a path pushed more recently is a root
 * with its closure (its evaluation may not be seen yet). */
#define GC_NIKS3_GRACE 86400

enum gc_reason {
	GC_UNREACHED,        /* reached by no evaluation output */
	GC_SUPERSEDED,       /* reached only by outputs of evaluations that a
	                        newer evaluation of the same branch,
	                        capabilities and system replaced (for the attr) */
	GC_LOW_VALUE,        /* reached by current outputs, the least valuable */
	GC_LRU,              /* least recently accessed (cachix) */
	GC_EXPIRED,          /* older than the retention (attic; niks3: its
	                        roots left the retention window) */
	GC_DEPENDENCY_LOST,  /* a path it references went: no longer served */
};
#define GC_NREASONS 6

/* "unreached", "superseded", "low-value", "lru", "expired",
 * "dependency-lost" (static; "?" when out of range). */
const char *gc_reason_name(int reason);

/* ---- weights (the priority policy's value) ---------------------------- */

/*
 * Value of a root = weight(branch) x weight(capability set) x weight(attr).
 * Each kind has rules tried in order; the first whose pattern matches
 * wins.  A pattern is an exact name, or a prefix ending in '*' ("nixos-*",
 * "python3Packages.*", "*").  A capability-set pattern is normalized as a
 * set first ("8.9 8.6" = "8.6,8.9").  No rule matching: weight 1.
 *
 * File format (gc_weights_load): one rule a line,
 *     KIND PATTERN WEIGHT
 * KIND is "branch", "capabilities" or "attr"; WEIGHT a decimal number
 * >= 0 (0: never worth keeping).  Blank lines and '#' comments are
 * ignored.  A file's rules come before the defaults, so they override
 * them; "reset KIND" (or "reset all") drops the rules of that kind known
 * so far, defaults included.
 *
 * Defaults: branch nixos-unstable 4, nixpkgs-unstable 4, nixos-* 3
 * (releases), master 2; capabilities and attr 1.
 */
enum gc_weight_kind { GC_W_BRANCH, GC_W_CAPS, GC_W_ATTR };
#define GC_W_NKINDS 3

struct gc_weight_rule {
	char *pattern;         /* owned; a trailing '*' is a prefix match */
	double weight;
};

struct gc_weights {
	struct gc_weight_rule *rules[GC_W_NKINDS];
	size_t n[GC_W_NKINDS], alloc[GC_W_NKINDS];
};

/* The defaults above. */
void gc_weights_init(struct gc_weights *wt);
/* Parse rules from buf[0..len) (name for messages: "FILE:LINE: ...") and
 * put them before the rules already there.  0 or -1 (reported). */
int gc_weights_parse(struct gc_weights *wt, const char *buf, size_t len, const char *name);
/* gc_weights_parse() on a file's contents.  0 or -1 (reported). */
int gc_weights_load(struct gc_weights *wt, const char *path);
/* The weight of s for kind (1 when no rule matches). */
double gc_weight(const struct gc_weights *wt, enum gc_weight_kind kind, const char *s);
void gc_weights_copy(struct gc_weights *dst, const struct gc_weights *src);
void gc_weights_release(struct gc_weights *wt);

/* ---- the world ------------------------------------------------------ */

/* Branch, capability set and system: evaluations of one group replace
 * each other. */
struct gc_group {
	char *branch;
	char *capabilities;    /* normalized set, "8.6,8.9" */
	char *system;
	double weight;         /* weight(branch) x weight(capabilities) */
};

struct gc_eval {
	int64_t id;            /* evaluations.id */
	char *rev;
	int64_t time;
	uint32_t group;        /* index into w->groups */
	uint32_t job0, njobs;  /* its jobs: w->jobs[job0 .. job0 + njobs) */
};

/* The name of a job: an attr and one of its outputs (interned, so the
 * jobs of many evaluations share it). */
struct gc_name {
	uint32_t attr;         /* index into w->attrs */
	uint32_t output;       /* index into w->outputs */
};

/* What a job is, as the evaluations of many days repeat it: a name and
 * its output path (interned: most evaluations repeat the jobs of the one
 * before). */
struct gc_jobkey {
	uint32_t name;         /* index into w->names */
	uint32_t path;         /* the output path id */
};

/* A job with an output path (failed attrs and unknown paths are left
 * out).  Jobs are grouped by evaluation, evaluations sorted by time, so
 * a job's evaluation is the one whose [job0, job0 + njobs) holds its
 * index (gc_job_eval()).  8 bytes: the rest is derived (gc_job_*()). */
struct gc_job {
	uint32_t key;          /* index into w->keys */
	uint32_t next;         /* the next evaluation of the same group with
	                          this attr (index into w->evals), or
	                          UINT32_MAX when none */
};

/* Things that happened to one path at one time (gc_world_load with
 * GC_LOAD_HISTORY), sorted by time (then kind, then path): event i is
 * time[i], path[i] (12 bytes, not a padded struct of 16). */
struct gc_events {
	int64_t *time;
	uint32_t *path;
	uint8_t *kind;         /* accesses: GC_ACCESS_*; NULL for the others */
};
#define GC_ACCESS_NARINFO 1
#define GC_ACCESS_NAR 2

#define GC_LOAD_HISTORY 1  /* also load pushes, recorded evictions, crawls
                              and every access (for gc_simulate), but not
                              the per-id push_time, access and nar_access
                              (gc_select needs a world without it) */

struct gc_world {
	int64_t cache_id;
	struct graph g;        /* graph_load(): sizes, references, GRAPH_PRESENT
	                          = present as of the last crawl */
	uint32_t n;            /* g.n: path ids are < n */
	uint32_t *roff, *radj; /* referrers in CSR form: radj[roff[id] ..
	                          roff[id + 1]) reference id */
	/* Without GC_LOAD_HISTORY only (NULL with it: its events hold them): */
	int64_t *push_time;    /* per id: push time of the current presence
	                          episode (of the last one when gone), falling
	                          back to first_seen; 0 when never present */
	int64_t *access;       /* per id: last access of any kind, 0 = never */
	int64_t *nar_access;   /* per id: last NAR download, 0 = never */
	uint64_t accessed_paths; /* paths with a recorded access */
	uint32_t *sibling;     /* per id: the next output of the same derivation
	                          (narinfo Deriver), circular; id itself when
	                          it has none or is alone */

	struct gc_group *groups;
	size_t ngroups;
	struct gc_eval *evals; /* sorted by time, then id */
	size_t nevals;
	struct gc_job *jobs;
	size_t njobs;
	struct gc_jobkey *keys;    /* the jobs' (name, path) pairs */
	size_t nkeys;
	struct gc_name *names;     /* the keys' (attr, output) pairs */
	size_t nnames;
	char **attrs, **outputs;   /* interned strings (one block each) */
	size_t nattrs, noutputs;
	double *attr_weight;       /* per attr: weight(attr) */
	struct gc_weights weights;

	/* With GC_LOAD_HISTORY: */
	struct gc_events pushes;   /* the start of every presence episode */
	size_t npushes;
	struct gc_events gones;    /* recorded evictions: gone_at of episodes */
	size_t ngones;
	struct gc_events accesses; /* every recorded access (per day, the last) */
	size_t naccesses;
	struct gc_events seens;    /* first_seen of every presence episode */
	size_t nseens;
	int64_t *crawl_times;      /* complete crawls of the cache, ascending */
	size_t ncrawls;
	unsigned flags;            /* as loaded (GC_LOAD_*) */
	struct rejected_series rejected; /* bytes of refused narinfos per
	                              complete crawl (store/rejected.h) */
	/* The references renumbered for the priority policy (its engine
	 * builds them: see eng_prio_index): perm maps an id to its number,
	 * inv back, off/adj the references by number.  While they are here
	 * g.off and g.adj may be NULL (dropped: one graph in memory, not
	 * two); the engine's release puts them back unless a simulation
	 * was told not to (gc_sim_opts.drop_graph). */
	struct {
		uint32_t *perm, *inv, *off, *adj;
		int dropped;
	} num;
};

/*
 * Load cache_id's world from db.  weights may be NULL (the defaults); it
 * is copied.  Returns 0 or -1 (reported); release with gc_world_release()
 * either way.
 */
int gc_world_load(struct gc_world *w, struct db *db, int64_t cache_id,
		  const struct gc_weights *weights, unsigned flags);
void gc_world_release(struct gc_world *w);

/* The evaluation of job j (index into w->evals): a binary search. */
uint32_t gc_job_eval(const struct gc_world *w, uint32_t j);

static inline uint32_t gc_job_path(const struct gc_world *w, uint32_t j)
{
	return w->keys[w->jobs[j].key].path;
}

static inline const struct gc_name *gc_job_name(const struct gc_world *w, uint32_t j)
{
	return &w->names[w->keys[w->jobs[j].key].name];
}

/* Job j's value, j of evaluation ev: its group's weight x weight(attr). */
static inline double gc_job_value_in(const struct gc_world *w, uint32_t j, uint32_t ev)
{
	return w->groups[w->evals[ev].group].weight * w->attr_weight[gc_job_name(w, j)->attr];
}

static inline double gc_job_value(const struct gc_world *w, uint32_t j)
{
	return gc_job_value_in(w, j, gc_job_eval(w, j));
}

/* The time of the next evaluation of job j's group with its attr;
 * INT64_MAX when none. */
static inline int64_t gc_job_superseded_at(const struct gc_world *w, uint32_t j)
{
	uint32_t nx = w->jobs[j].next;

	return nx == UINT32_MAX ? INT64_MAX : w->evals[nx].time;
}

static inline const char *gc_job_attr(const struct gc_world *w, uint32_t j)
{
	return w->attrs[gc_job_name(w, j)->attr];
}

static inline const char *gc_job_output(const struct gc_world *w, uint32_t j)
{
	return w->outputs[gc_job_name(w, j)->output];
}

/* Stored size of a path: FileSize, NarSize where it had none; 0 for a
 * path without a narinfo. */
int64_t gc_size(const struct gc_world *w, uint32_t id);

/* The bytes of refused narinfos' files in the cache at time t (those of
 * the latest complete crawl at or before t): stored bytes that no policy
 * in our model can free, as it does not know their paths.  Limit-based
 * policies free the paths down to the limit less these. */
uint64_t gc_rejected_at(const struct gc_world *w, int64_t t);

/* A per-id array (w->n bytes, 1 = stored) of the paths present as of the
 * last crawl.  The caller frees it. */
uint8_t *gc_stored_now(const struct gc_world *w);

/* ---- selection ------------------------------------------------------ */

struct gc_params {
	uint64_t limit;        /* bytes to stay at or under (cachix, priority);
	                          ignored by attic and niks3 */
	int64_t retention;     /* seconds (attic, niks3); <= 0: the policy's
	                          default */
	int64_t now;           /* the GC's clock: evaluations, pushes and
	                          accesses after it are not seen */
	int access_model;      /* GC_ACCESS_* below; 0 is AUTO */
};

/*
 * What counts as an access for cachix and attic.  Logs: only accesses
 * recorded by `cachegc import-access`.  Evals: also, at each
 * evaluation's time, every path of its outputs' closures and the other
 * outputs of their derivations (CI builders substituting what they build
 * on: a dependency's -dev output is no runtime reference, but building
 * needs it).  Auto: evals when the cache has no recorded access, else
 * logs.
 */
#define GC_ACCESS_AUTO 0
#define GC_ACCESS_LOGS 1
#define GC_ACCESS_EVALS 2

struct gc_victim {
	uint32_t path;
	uint8_t reason;        /* enum gc_reason */
	int64_t bytes;         /* gc_size() */
};

struct gc_victims {
	struct gc_victim *v;
	size_t n, alloc;
	uint64_t bytes_before; /* stored bytes before */
	uint64_t bytes;        /* sum of v[].bytes */
};

/*
 * The paths policy p takes from the stored set (a per-id array, 1 =
 * stored; entries for paths without a narinfo are ignored) at
 * params->now, in the order the policy takes them, into *out (reset
 * first; reused across calls).  Reasons:
 *   cachix     lru, and dependency-lost for stored paths whose closure
 *              the lru victim cuts (listed before it)
 *   attic      expired
 *   niks3      unreached (no evaluation output reaches it), expired
 *              (only outputs of evaluations older than the window do)
 *   priority   unreached, superseded, low-value
 * Order: for cachix, niks3 and priority no victim is referenced by a
 * stored path that stays, and victims come referrers first, so any
 * prefix of the list can be deleted without cutting a kept closure.
 * attic ignores references (as Attic does): it gives no such promise.
 * Returns 0 or -1 (reported).
 */
int gc_select(struct gc_world *w, enum gc_policy p, const struct gc_params *params,
	      const uint8_t *stored, struct gc_victims *out);
void gc_victims_release(struct gc_victims *v);

/*
 * The jobs each victim breaks: jobs of evaluations seen at now (only the
 * newest evaluation of each group when current_only) whose output's
 * closure is whole in stored and holds the victim.  For victim i,
 * out->count[i] is how many, and out->jobs[out->off[i] .. out->off[i+1])
 * lists max_per_victim of them (0: all), those of the newest evaluations,
 * as indices into w->jobs, newest evaluation first.  Returns 0; release
 * with gc_breaks_release().
 */
struct gc_breaks {
	uint32_t *count;       /* per victim */
	size_t *off;           /* victims + 1 offsets into jobs */
	uint32_t *jobs;
	size_t njobs;
	size_t nvictims;
};
int gc_breaks(struct gc_world *w, const uint8_t *stored, const struct gc_victims *v,
	      int64_t now, int current_only, unsigned max_per_victim, struct gc_breaks *out);
void gc_breaks_release(struct gc_breaks *b);

/* ---- simulation ----------------------------------------------------- */

struct gc_sim_opts {
	enum gc_policy policy;
	struct gc_params params;   /* params.now is ignored */
	int64_t from, to;          /* the replayed span; from <= to */
	int64_t step;              /* seconds between GC runs (> 0) */
	int drop_graph;            /* the caller reads no references of the
	                              world after gc_simulate() (it only
	                              releases it): leave them in the priority
	                              policy's numbering (w->num) rather than
	                              rebuild g.off and g.adj */
};

/* The newest evaluation of one group at a step, and how much of it the
 * simulated cache holds. */
struct gc_step_group {
	uint32_t group;        /* index into w->groups */
	uint32_t eval;         /* index into w->evals */
	uint32_t jobs;         /* its jobs (with output paths) */
	uint32_t retained;     /* of which the output's closure is all stored */
};

struct gc_step {
	int64_t time;          /* the GC ran at this time (end of the step) */
	uint64_t pushed_paths, pushed_bytes;   /* since the previous step */
	uint64_t evicted_paths, evicted_bytes; /* by this step's GC */
	uint64_t evicted_by_reason[GC_NREASONS];
	uint64_t stored_paths, stored_bytes;   /* after the GC; stored_bytes
	                                          includes rejected_bytes */
	uint64_t rejected_bytes;  /* refused narinfos' files (gc_rejected_at) */
	/* Recorded evictions (presence.gone_at) in (previous step, time],
	 * and how many of those paths the simulated cache does not hold
	 * either after this step's GC (whichever step evicted them: a crawl
	 * records an eviction at the crawl, not when it happened). */
	uint64_t recorded_evictions, matched_evictions;
	struct gc_step_group *groups;  /* groups evaluated by then */
	size_t ngroups;
	const uint8_t *stored;         /* per path id (w->n): 1 = the simulated
	                                  cache holds it after this step's GC */
};

/*
 * How well the policy predicts the recorded evictions, anchored on the
 * recorded state: for each pair of consecutive complete crawls, the
 * policy runs (at the later crawl's time) on what the earlier crawl saw
 * plus what was pushed between them, and its victims are compared with
 * the paths the later crawl found gone (both counted among the paths the
 * earlier crawl saw).  Limit-based policies (cachix, priority) are asked
 * for as many bytes as the crawl found gone, not for the limit: a real
 * cache runs its GC at its own moments and overshoots its limit between
 * them, so the comparison measures the order a policy takes paths in.
 */
struct gc_match {
	int64_t from, to;      /* the two crawls' times */
	uint64_t predicted, recorded, matched;
};

struct gc_sim_result {
	uint64_t steps;
	uint64_t evicted_paths, evicted_bytes;
	uint64_t max_stored_bytes;
	struct gc_match *match;        /* one per crawl interval */
	size_t nmatch;
	uint64_t predicted, recorded, matched;  /* summed over match[] */
};

/* Called after each step; the step and its arrays are valid only during
 * the call.  Return 0 to go on, -1 to stop (gc_simulate returns -1
 * without reporting anything itself). */
typedef int (*gc_step_fn)(void *ctx, const struct gc_step *s);

/*
 * Replay w's history (loaded with GC_LOAD_HISTORY) under o: every step,
 * the pushes (of whole closures, as CI pushes them) and accesses up to
 * its time, then one GC run at its time.  The simulated cache starts
 * with what was present at o->from.  fn may be NULL.  Then the anchored
 * comparison with the recorded evictions.  Returns 0 or -1 (reported);
 * release *res with gc_sim_result_release() either way.
 */
int gc_simulate(struct gc_world *w, const struct gc_sim_opts *o, gc_step_fn fn, void *ctx,
		struct gc_sim_result *res);
void gc_sim_result_release(struct gc_sim_result *res);

#endif
