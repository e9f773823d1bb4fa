/*
 * gc_private.h - what the files of src/analysis/gc/ share and gc.h does
 * not export: the engine's state and the helpers more than one file
 * calls.  Include it instead of analysis/gc.h inside gc/ only.
 *
 * The files, bottom up:
 *   weights.c   the priority policy's value rules
 *   world.c     gc_world_load(): the world from the DB; sizes, the
 *               stored set, evaluation lookups and job orders
 *   engine.c    struct eng: the simulated cache (stored set, LRU list,
 *               priority roots list) and advancing it through the
 *               recorded history
 *   policies.c  the policy names, one pass per policy, gc_select()
 *   breaks.c    whole closures, gc_breaks()
 *   simulate.c  gc_simulate(): the free replay and the anchored
 *               comparison
 * Like gc.h: one thread at a time (traversal marks, qsort contexts).
 */
#ifndef CACHEGC_GC_PRIVATE_H
#define CACHEGC_GC_PRIVATE_H

#include <string.h>

#include "analysis/gc.h"

/* No index: an empty slot, an unseen group, the end of a chain. */
#define NONE UINT32_MAX

/* ---- world.c: read-only helpers over the world -------------------------- */

/* The index of the first of w->evals[0 .. nvis) later than t (nvis when
 * none is): the evaluations seen at t are [0, result). */
size_t gc_first_eval_after(const struct gc_world *w, size_t nvis, int64_t t);

/* Orders of job indices (into w->jobs) for gc_sort_jobs(). */
enum gc_jobs_order {
	GC_JOBS_VALUE_ASC,   /* by value, ascending (ties: later attr first) */
	GC_JOBS_VALUE_DESC,  /* priority order: value first, then the newer
	                        evaluation, then the index */
	GC_JOBS_NEWEST,      /* newest evaluation first, then the index */
};
/* Sort jobs[0 .. n) in place. */
void gc_sort_jobs(const struct gc_world *w, uint32_t *jobs, size_t n, enum gc_jobs_order order);

/* The world's references back from the priority numbering (when they
 * were dropped) and the numbering freed; gc_num_free only frees it
 * (gc_world_release).  engine.c. */
void gc_num_release(struct gc_world *w);
void gc_num_free(struct gc_world *w);

/* ---- breaks.c ----------------------------------------------------------- */

/*
 * Whether root's closure is wholly in stored, memoized in wstate for the
 * stamp wep of wstamp (fr: w->n frames of scratch).  See breaks.c.
 */
int gc_whole(struct gc_world *w, const uint8_t *stored, uint8_t *wstate, uint32_t *wstamp,
	     uint32_t wep, struct graph_frame *fr, uint32_t root);
/* The same over another numbering of the graph (off, adj: as struct
 * graph's; stored, wstate, wstamp and root by that numbering). */
int gc_whole_in(const uint32_t *off, const uint32_t *adj, const uint8_t *stored, uint8_t *wstate,
		uint32_t *wstamp, uint32_t wep, struct graph_frame *fr, uint32_t root);

/* ---- engine.c: the engine's state --------------------------------------- */

enum { LRU_NONE, LRU_ANY, LRU_NAR };

/* How the engine treats recorded pushes and evictions. */
enum {
	MODE_SNAPSHOT,   /* gc_select: a given stored set, nothing replayed */
	MODE_RECORDED,   /* replaying before the simulation starts: the
	                    recorded pushes and evictions happen as recorded */
	MODE_FREE,       /* simulating: pushes store whole closures, recorded
	                    evictions are only counted */
	MODE_ANCHORED,   /* predicting one crawl interval at a time from the
	                    recorded state (stored is reset per interval) */
};

struct eng {
	struct gc_world *w;
	enum gc_policy policy;
	uint64_t limit;          /* what the pass frees down to: limit0 less the
	                            world's rejected bytes at the pass's time
	                            (eng_run_pass), or as the anchored comparison
	                            sets it */
	uint64_t limit0;         /* params->limit */
	int64_t retention;
	int eval_access;
	int lru;
	int mode;
	uint32_t n;

	uint8_t *stored;
	uint64_t bytes, npaths;
	int64_t *push;           /* last push; only where a pass reads it
	                            (niks3, priority, and gc_select), else
	                            NULL */

	/* LRU list (cachix: key = last push or access; attic: last push or
	 * NAR access), sentinel 0; kept sorted by key because touches come in
	 * time order.  Outside MODE_ANCHORED it holds the stored paths.  The
	 * key is kept for every id, linked or not (no separate access
	 * times). */
	uint32_t *prev, *next;
	int64_t *key;
	uint8_t *linked;

	/* Evaluations seen: w->evals[0 .. nvis). */
	size_t nvis;
	uint32_t *latest;      /* per group: newest seen evaluation, NONE */
	uint8_t *reached;      /* niks3: reached by a seen evaluation's output */
	uint32_t *cur;         /* priority: jobs not known superseded */
	size_t ncur, acur;
	uint32_t *rprev, *rnext;   /* priority: output paths, newest
	                              evaluation first, then by value */
	uint8_t *rlinked;          /* RL_* */
	uint32_t *rkey, rclock;    /* list position: larger is nearer the front;
	                              one tick per job seen, so below 2^32 (job
	                              indices are 32-bit) */
	uint32_t *rback;           /* pruned roots stored again, to merge back */
	size_t nrback, arback;

	/* recorded presence, for MODE_ANCHORED */
	uint8_t *rec, *base;

	/* scratch */
	uint32_t *stamp;
	uint32_t epoch;
	uint32_t *stack;
	struct graph_frame *fr;
	uint32_t *order;
	/* The priority pass's walk runs on its own copy of the graph, the
	 * paths renumbered so that what it visits one after the other sits
	 * side by side in memory (see eng_prio_index): perm maps an id to
	 * its number there, inv back; pstored is stored by number (kept by
	 * store_one and unstore, copied again where stored is set whole);
	 * vmark the pass's marks, one byte a number, stamp vep.  The copy
	 * is the world's (w->num: perm, inv, poff and padj point into it);
	 * while it is there the world's g.off and g.adj are freed, and
	 * eng_release puts them back unless keep_num (gc_simulate's engines:
	 * the next one reuses the copy). */
	uint32_t *perm, *inv, *poff, *padj;
	uint8_t *pstored, *vmark, vep;
	int keep_num;
	uint8_t *wstate;
	uint32_t *wstamp, wepoch;
	uint32_t *tmp;
	size_t ntmp, atmp;
	uint32_t *seg;         /* eval touches: per evaluation of the step, the
	                          end of its part of tmp */
	size_t aseg;
	uint32_t *jtmp;        /* one evaluation's jobs, sorted */
	size_t ajtmp;
	uint8_t *cand;         /* take_upward's candidates */

	struct gc_victims *out;
	uint64_t pushed_paths, pushed_bytes;
};

/* Recorded history replayed so far: the next event of each list. */
struct cursor {
	size_t push, seen, gone, access, eval;
};

struct step_rec {
	uint32_t *gone;        /* recorded evictions met while advancing */
	size_t ngone, agone;
};

/*
 * The priority policy's roots list.  A root that is not stored is of no
 * use to a pass, so the free simulation prunes it from the list as it
 * walks (RL_PRUNED) and merges it back at its place (its key) when a push
 * stores it again: the walk then only meets stored roots, not every
 * output ever evaluated.
 */
enum { RL_NONE, RL_LINKED, RL_PRUNED, RL_BACK };

/* A fresh stamp for marks in stamp[0 .. n) (cleared when it wraps). */
static inline uint32_t next_epoch(uint32_t *stamp, uint32_t *epoch, uint32_t n)
{
	if (++*epoch == 0) {
		memset(stamp, 0, (size_t)n * sizeof(*stamp));
		*epoch = 1;
	}
	return *epoch;
}

static inline int has_narinfo(const struct eng *e, uint32_t id)
{
	return id && id < e->n && (e->w->g.flags[id] & GRAPH_NARINFO);
}

static inline void lru_unlink(struct eng *e, uint32_t id)
{
	e->next[e->prev[id]] = e->next[id];
	e->prev[e->next[id]] = e->prev[id];
	e->linked[id] = 0;
}

static inline void lru_append(struct eng *e, uint32_t id)
{
	uint32_t tail = e->prev[0];

	e->prev[id] = tail;
	e->next[id] = 0;
	e->next[tail] = id;
	e->prev[0] = id;
	e->linked[id] = 1;
}

static inline void root_unlink(struct eng *e, uint32_t id)
{
	e->rnext[e->rprev[id]] = e->rnext[id];
	e->rprev[e->rnext[id]] = e->rprev[id];
}

/* Set up e for policy p over w in mode (MODE_*), victims into out (may be
 * NULL; reset).  Release with eng_release(). */
void eng_init(struct eng *e, struct gc_world *w, enum gc_policy p,
	      const struct gc_params *params, int mode, struct gc_victims *out);
void eng_release(struct eng *e);
/* Take id with reason (enum gc_reason): into e->out, out of the stored set. */
void eng_victim(struct eng *e, uint32_t id, int reason);
/* Evaluation ei (the next in time order) becomes known. */
void eng_eval_seen(struct eng *e, size_t ei);
/* Drop jobs superseded at now from the priority policy's current list. */
void eng_cur_filter(struct eng *e, int64_t now);
/* The closures evaluations [a, b) access, into e->tmp and e->seg. */
void eng_eval_touch_collect(struct eng *e, size_t a, size_t b);
/* Touch at t the paths of the collect's i-th evaluation (a + i) of its
 * nseg = b - a; unlinked paths only get their access times. */
void eng_eval_touch(struct eng *e, size_t i, size_t nseg, int64_t t);
/* Put the roots stored again back in the roots list. */
void eng_roots_merge_back(struct eng *e);
/* Apply every recorded event up to t (sr, when not NULL, collects the
 * recorded evictions met). */
void eng_advance(struct eng *e, struct cursor *c, int64_t t, struct step_rec *sr);

/* ---- policies.c --------------------------------------------------------- */

/* One GC run of e's policy at now. */
void eng_run_pass(struct eng *e, int64_t now);

#endif
