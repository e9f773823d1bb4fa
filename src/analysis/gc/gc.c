/*
 * gc.c - the GC engine that runs every policy (on a snapshot for
 * gc_select(), on the replayed history for gc_simulate()), broken jobs.
 * The weights are in weights.c, the world in world.c.  See gc.h.
 *
 * The engine keeps flat per-path arrays (stored, push time, last access,
 * LRU links) and is advanced in time: events (pushes, accesses,
 * evaluations, recorded evictions) are applied in time order, then a
 * policy pass runs at the step's time.  Nothing is reloaded or re-sorted
 * per step: the LRU list stays sorted because touches arrive in time
 * order, the priority policy's roots are a move-to-front list updated
 * when an evaluation appears, and traversals use epoch-stamped marks.
 */
#include "gc_private.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

/* ---- names ------------------------------------------------------------ */

const char *const gc_policy_names[] = {"cachix", "attic", "niks3", "priority", NULL};

const char *gc_policy_name(enum gc_policy p)
{
	return (unsigned)p < GC_NPOLICIES ? gc_policy_names[p] : "?";
}

int gc_policy_parse(const char *s, enum gc_policy *out)
{
	for (unsigned i = 0; i < GC_NPOLICIES; i++) {
		if (!strcmp(s, gc_policy_names[i])) {
			*out = (enum gc_policy)i;
			return 0;
		}
	}
	return -1;
}

static const char *const reason_names[GC_NREASONS] = {
	"unreached", "superseded", "low-value", "lru", "expired", "dependency-lost",
};

const char *gc_reason_name(int reason)
{
	return reason >= 0 && reason < GC_NREASONS ? reason_names[reason] : "?";
}

/* ---- the engine --------------------------------------------------------- */

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

struct frame {
	uint32_t v, e;
};

struct eng {
	struct gc_world *w;
	enum gc_policy policy;
	uint64_t limit;
	int64_t retention;
	int eval_access;
	int lru;
	int mode;
	uint32_t n;

	uint8_t *stored;
	uint64_t bytes, npaths;
	int64_t *push, *acc, *nacc;

	/* LRU list (cachix: key = last push or access; attic: last push or
	 * NAR access), sentinel 0; kept sorted by key because touches come in
	 * time order.  Outside MODE_ANCHORED it holds the stored paths. */
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
	uint64_t *rkey, rclock;    /* list position: larger is nearer the front */
	uint32_t *rback;           /* pruned roots stored again, to merge back */
	size_t nrback, arback;

	/* recorded presence, for MODE_ANCHORED */
	uint8_t *rec, *base;

	/* scratch */
	uint32_t *stamp;
	uint32_t epoch;
	uint32_t *stack;
	struct frame *fr;
	uint32_t *order;
	uint8_t *cls;
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
	uint32_t *evstep, stepno;
	uint64_t pushed_paths, pushed_bytes;
};

static uint32_t next_epoch(uint32_t *stamp, uint32_t *epoch, uint32_t n)
{
	if (++*epoch == 0) {
		memset(stamp, 0, (size_t)n * sizeof(*stamp));
		*epoch = 1;
	}
	return *epoch;
}

static void eng_release(struct eng *e)
{
	free(e->stored);
	free(e->push);
	free(e->acc);
	free(e->nacc);
	free(e->prev);
	free(e->next);
	free(e->key);
	free(e->linked);
	free(e->latest);
	free(e->reached);
	free(e->cur);
	free(e->rprev);
	free(e->rnext);
	free(e->rlinked);
	free(e->rkey);
	free(e->rback);
	free(e->rec);
	free(e->base);
	free(e->stamp);
	free(e->stack);
	free(e->fr);
	free(e->order);
	free(e->cls);
	free(e->wstate);
	free(e->wstamp);
	free(e->tmp);
	free(e->seg);
	free(e->jtmp);
	free(e->cand);
	free(e->evstep);
	memset(e, 0, sizeof(*e));
}

static void eng_init(struct eng *e, struct gc_world *w, enum gc_policy p,
		     const struct gc_params *params, int mode, struct gc_victims *out)
{
	size_t n = w->n ? w->n : 1;
	int model = params->access_model;

	memset(e, 0, sizeof(*e));
	e->w = w;
	e->policy = p;
	e->limit = params->limit;
	e->retention = params->retention;
	if (e->retention <= 0)
		e->retention = (int64_t)(p == GC_ATTIC ? GC_ATTIC_RETENTION_DAYS
					 : GC_NIKS3_RETENTION_DAYS) * 86400;
	if (model == GC_ACCESS_AUTO)
		model = w->accessed_paths ? GC_ACCESS_LOGS : GC_ACCESS_EVALS;
	e->eval_access = model == GC_ACCESS_EVALS;
	e->lru = p == GC_CACHIX ? LRU_ANY : p == GC_ATTIC ? LRU_NAR : LRU_NONE;
	e->mode = mode;
	e->n = w->n;
	e->out = out;
	e->stored = xcalloc(n, 1);
	e->push = xcalloc(n, sizeof(*e->push));
	e->acc = xcalloc(n, sizeof(*e->acc));
	e->nacc = xcalloc(n, sizeof(*e->nacc));
	if (e->lru) {
		e->prev = xcalloc(n, sizeof(*e->prev));
		e->next = xcalloc(n, sizeof(*e->next));
		e->key = xcalloc(n, sizeof(*e->key));
		e->linked = xcalloc(n, 1);
	}
	e->latest = xmalloc((w->ngroups ? w->ngroups : 1) * sizeof(*e->latest));
	for (size_t g = 0; g < w->ngroups; g++)
		e->latest[g] = NONE;
	if (p == GC_NIKS3)
		e->reached = xcalloc(n, 1);
	if (p == GC_PRIORITY) {
		e->rprev = xcalloc(n, sizeof(*e->rprev));
		e->rnext = xcalloc(n, sizeof(*e->rnext));
		e->rlinked = xcalloc(n, 1);
		e->rkey = xcalloc(n, sizeof(*e->rkey));
		e->order = xmalloc(n * sizeof(*e->order));
		e->cls = xcalloc(n, 1);
	}
	e->stamp = xcalloc(n, sizeof(*e->stamp));
	e->stack = xmalloc(n * sizeof(*e->stack));
	e->fr = xmalloc(n * sizeof(*e->fr));
	e->cand = xcalloc(n, 1);
	e->wstate = xcalloc(n, 1);
	e->wstamp = xcalloc(n, sizeof(*e->wstamp));
	e->evstep = xcalloc(n, sizeof(*e->evstep));
	if (out) {
		out->n = 0;
		out->bytes = out->bytes_before = 0;
	}
}

static int has_narinfo(const struct eng *e, uint32_t id)
{
	return id && id < e->n && (e->w->g.flags[id] & GRAPH_NARINFO);
}

static void lru_unlink(struct eng *e, uint32_t id)
{
	e->next[e->prev[id]] = e->next[id];
	e->prev[e->next[id]] = e->prev[id];
	e->linked[id] = 0;
}

static void lru_append(struct eng *e, uint32_t id)
{
	uint32_t tail = e->prev[0];

	e->prev[id] = tail;
	e->next[id] = 0;
	e->next[tail] = id;
	e->prev[0] = id;
	e->linked[id] = 1;
}

static int64_t lru_key(const struct eng *e, uint32_t id)
{
	int64_t a = e->lru == LRU_ANY ? e->acc[id] : e->nacc[id];

	return a > e->push[id] ? a : e->push[id];
}

/* Move id to the tail of the LRU list when its key grew, or link it
 * (link: it was just stored). */
static void lru_touch(struct eng *e, uint32_t id, int link)
{
	int64_t k;

	if (!e->lru)
		return;
	k = lru_key(e, id);
	if (e->linked[id]) {
		if (k <= e->key[id])
			return;
		lru_unlink(e, id);
	} else if (!link) {
		return;
	}
	e->key[id] = k;
	lru_append(e, id);
}

enum { T_NARINFO = GC_ACCESS_NARINFO, T_NAR = GC_ACCESS_NAR, T_EVAL };

static void touch(struct eng *e, uint32_t id, int64_t t, int kind)
{
	if (t > e->acc[id])
		e->acc[id] = t;
	if (kind != T_NARINFO && t > e->nacc[id])
		e->nacc[id] = t;
	lru_touch(e, id, 0);
}

static void root_restored(struct eng *e, uint32_t id);

static void store_one(struct eng *e, uint32_t id, int64_t t)
{
	e->stored[id] = 1;
	e->bytes += (uint64_t)gc_size(e->w, id);
	e->npaths++;
	e->push[id] = t;
	lru_touch(e, id, 1);
	root_restored(e, id);
}

static void unstore(struct eng *e, uint32_t id)
{
	e->stored[id] = 0;
	e->bytes -= (uint64_t)gc_size(e->w, id);
	e->npaths--;
	if (e->lru && e->linked[id] && e->mode != MODE_ANCHORED)
		lru_unlink(e, id);
}

/* A push of id as CI does it: the whole closure, what the cache lacks
 * uploaded dependencies first.  The walk stops at stored paths (their own
 * push brought their closure). */
static void push_closure(struct eng *e, uint32_t root, int64_t t)
{
	const struct graph *g = &e->w->g;
	uint32_t ep = next_epoch(e->stamp, &e->epoch, e->n);
	size_t sp = 0;

	if (e->stored[root] || !has_narinfo(e, root))
		return;
	e->stamp[root] = ep;
	e->fr[sp++] = (struct frame){root, g->off[root]};
	while (sp) {
		struct frame *f = &e->fr[sp - 1];
		if (f->e < g->off[f->v + 1]) {
			uint32_t x = g->adj[f->e++];
			if (e->stamp[x] != ep && !e->stored[x] && has_narinfo(e, x)) {
				e->stamp[x] = ep;
				e->fr[sp++] = (struct frame){x, g->off[x]};
			}
			continue;
		}
		store_one(e, f->v, t);
		e->pushed_paths++;
		e->pushed_bytes += (uint64_t)gc_size(e->w, f->v);
		sp--;
	}
}

static void victim(struct eng *e, uint32_t id, int reason)
{
	struct gc_victims *o = e->out;

	e->evstep[id] = e->stepno;
	if (o) {
		struct gc_victim *v;
		GROW(o->v, o->alloc, o->n + 1);
		v = &o->v[o->n++];
		v->path = id;
		v->reason = (uint8_t)reason;
		v->bytes = gc_size(e->w, id);
		o->bytes += (uint64_t)v->bytes;
	}
	unstore(e, id);
}

/* Job indices sorted by value, ascending (ties: later attr first). */
static const struct gc_world *sort_world;

static int cmp_job_value_asc(const void *a, const void *b)
{
	const struct gc_job *x = &sort_world->jobs[*(const uint32_t *)a];
	const struct gc_job *y = &sort_world->jobs[*(const uint32_t *)b];

	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	return *(const uint32_t *)a > *(const uint32_t *)b ? -1 : 1;
}

/* Roots in priority order: value first, then the newer evaluation. */
static int cmp_job_value_desc(const void *a, const void *b)
{
	uint32_t ia = *(const uint32_t *)a, ib = *(const uint32_t *)b;
	const struct gc_job *x = &sort_world->jobs[ia], *y = &sort_world->jobs[ib];

	if (x->value != y->value)
		return x->value > y->value ? -1 : 1;
	if (x->eval != y->eval)
		return x->eval > y->eval ? -1 : 1;
	return ia < ib ? -1 : ia > ib;
}

static int cmp_job_newest(const void *a, const void *b)
{
	uint32_t ia = *(const uint32_t *)a, ib = *(const uint32_t *)b;
	uint32_t ea = sort_world->jobs[ia].eval, eb = sort_world->jobs[ib].eval;

	if (ea != eb)
		return ea > eb ? -1 : 1;
	return ia < ib ? -1 : ia > ib;
}

/*
 * The priority policy's roots list.  A root that is not stored is of no
 * use to a pass, so the free simulation prunes it from the list as it
 * walks (RL_PRUNED) and merges it back at its place (its key) when a push
 * stores it again: the walk then only meets stored roots, not every
 * output ever evaluated.
 */
enum { RL_NONE, RL_LINKED, RL_PRUNED, RL_BACK };

static void root_unlink(struct eng *e, uint32_t id)
{
	e->rnext[e->rprev[id]] = e->rnext[id];
	e->rprev[e->rnext[id]] = e->rprev[id];
}

static void root_insert_after(struct eng *e, uint32_t at, uint32_t id)
{
	e->rprev[id] = at;
	e->rnext[id] = e->rnext[at];
	e->rprev[e->rnext[at]] = id;
	e->rnext[at] = id;
	e->rlinked[id] = RL_LINKED;
}

static void root_front(struct eng *e, uint32_t id)
{
	if (e->rlinked[id] == RL_LINKED)
		root_unlink(e, id);
	/* An RL_BACK entry left in rback is skipped when merged. */
	e->rkey[id] = ++e->rclock;
	root_insert_after(e, 0, id);
}

/* Stored again: due back in the list at the next pass. */
static void root_restored(struct eng *e, uint32_t id)
{
	if (e->rlinked && e->rlinked[id] == RL_PRUNED) {
		e->rlinked[id] = RL_BACK;
		GROW(e->rback, e->arback, e->nrback + 1);
		e->rback[e->nrback++] = id;
	}
}

static const uint64_t *sort_rkey;

static int cmp_rkey_desc(const void *a, const void *b)
{
	uint64_t x = sort_rkey[*(const uint32_t *)a], y = sort_rkey[*(const uint32_t *)b];

	return x > y ? -1 : x < y;
}

/* Put the roots stored again back at their places (one walk). */
static void roots_merge_back(struct eng *e)
{
	uint32_t at = 0;

	if (!e->nrback)
		return;
	sort_rkey = e->rkey;
	qsort(e->rback, e->nrback, sizeof(*e->rback), cmp_rkey_desc);
	for (size_t i = 0; i < e->nrback; i++) {
		uint32_t id = e->rback[i];
		if (e->rlinked[id] != RL_BACK)
			continue;    /* made a root again since: linked already */
		while (e->rnext[at] && e->rkey[e->rnext[at]] > e->rkey[id])
			at = e->rnext[at];
		root_insert_after(e, at, id);
		at = id;
	}
	e->nrback = 0;
}

/* Mark what the outputs of evaluation ei reach (niks3's reasons). */
static void mark_reached(struct eng *e, size_t ei)
{
	const struct graph *g = &e->w->g;
	const struct gc_eval *ev = &e->w->evals[ei];
	size_t sp = 0;

	for (uint32_t j = ev->job0; j < ev->job0 + ev->njobs; j++) {
		uint32_t r = e->w->jobs[j].path;
		if (e->reached[r])
			continue;
		e->reached[r] = 1;
		e->stack[sp++] = r;
		while (sp) {
			uint32_t v = e->stack[--sp];
			for (uint32_t k = g->off[v]; k < g->off[v + 1]; k++) {
				uint32_t x = g->adj[k];
				if (!e->reached[x]) {
					e->reached[x] = 1;
					e->stack[sp++] = x;
				}
			}
		}
	}
}

/* Evaluation ei (the next in time order) becomes known. */
static void eval_seen(struct eng *e, size_t ei)
{
	struct gc_world *w = e->w;
	const struct gc_eval *ev = &w->evals[ei];

	e->latest[ev->group] = (uint32_t)ei;
	if (e->policy == GC_NIKS3)
		mark_reached(e, ei);
	if (e->policy != GC_PRIORITY || !ev->njobs)
		return;
	GROW(e->cur, e->acur, e->ncur + ev->njobs);
	GROW(e->jtmp, e->ajtmp, ev->njobs);
	for (uint32_t j = 0; j < ev->njobs; j++) {
		e->cur[e->ncur++] = ev->job0 + j;
		e->jtmp[j] = ev->job0 + j;
	}
	sort_world = w;
	qsort(e->jtmp, ev->njobs, sizeof(*e->jtmp), cmp_job_value_asc);
	for (uint32_t j = 0; j < ev->njobs; j++)
		root_front(e, w->jobs[e->jtmp[j]].path);
}

/* Drop jobs superseded at now from the current list. */
static void cur_filter(struct eng *e, int64_t now)
{
	size_t k = 0;

	for (size_t i = 0; i < e->ncur; i++)
		if (e->w->jobs[e->cur[i]].superseded_at > now)
			e->cur[k++] = e->cur[i];
	e->ncur = k;
}

/*
 * The paths evaluations [a, b) access (their outputs' closures), each once,
 * with the newest of them that reaches it: into e->tmp, grouped by
 * evaluation; e->seg[i] ends evaluation a + i's group.
 */
static void eval_touch_collect(struct eng *e, size_t a, size_t b)
{
	const struct gc_world *w = e->w;
	const struct graph *g = &w->g;
	uint32_t ep = next_epoch(e->stamp, &e->epoch, e->n);

	e->ntmp = 0;
	GROW(e->seg, e->aseg, b - a + 1);
	for (size_t k = b; k-- > a;) {
		const struct gc_eval *ev = &w->evals[k];
		for (uint32_t j = ev->job0; j < ev->job0 + ev->njobs; j++) {
			uint32_t r = w->jobs[j].path;
			if (e->stamp[r] == ep)
				continue;
			e->stamp[r] = ep;
			GROW(e->tmp, e->atmp, e->ntmp + 1);
			e->tmp[e->ntmp++] = r;
			for (size_t q = e->ntmp - 1; q < e->ntmp; q++) {
				uint32_t v = e->tmp[q];
				for (uint32_t x = g->off[v]; x <= g->off[v + 1]; x++) {
					/* the references, then the next sibling
					 * output (the ring brings all of them) */
					uint32_t y = x < g->off[v + 1] ? g->adj[x] : w->sibling[v];
					if (e->stamp[y] != ep) {
						e->stamp[y] = ep;
						GROW(e->tmp, e->atmp, e->ntmp + 1);
						e->tmp[e->ntmp++] = y;
					}
				}
			}
		}
		e->seg[k - a] = (uint32_t)e->ntmp;
	}
}

/* ---- advancing through the recorded history ------------------------------- */

struct cursor {
	size_t push, seen, gone, access, eval;
};

struct step_rec {
	uint32_t *gone;        /* recorded evictions met while advancing */
	size_t ngone, agone;
};

/*
 * Apply every event up to t.  Same-time order: recorded evictions,
 * crawls seeing paths, pushes, accesses, evaluations' accesses.
 */
static void advance(struct eng *e, struct cursor *c, int64_t t, struct step_rec *sr)
{
	const struct gc_world *w = e->w;
	size_t a = c->eval, b = a, si = 0, nseg = 0;

	while (b < w->nevals && w->evals[b].time <= t)
		b++;
	if (e->eval_access && e->lru && b > a) {
		eval_touch_collect(e, a, b);
		nseg = b - a;
	}
	for (size_t k = a; k < b; k++)
		eval_seen(e, k);
	c->eval = b;
	e->nvis = b;
	if (e->policy == GC_PRIORITY)
		cur_filter(e, t);

	for (;;) {
		int64_t best = INT64_MAX;
		int which = -1;
		const struct gc_event *ev;
		/* Eval touches, oldest evaluation first: evaluation a + i's
		 * part of tmp is [seg[i + 1] (0 for the newest), seg[i]). */
		size_t ei = si;

		if (c->gone < w->ngones && w->gones[c->gone].time <= t && w->gones[c->gone].time < best)
			best = w->gones[c->gone].time, which = 0;
		if (c->seen < w->nseens && w->seens[c->seen].time <= t && w->seens[c->seen].time < best)
			best = w->seens[c->seen].time, which = 1;
		if (c->push < w->npushes && w->pushes[c->push].time <= t && w->pushes[c->push].time < best)
			best = w->pushes[c->push].time, which = 2;
		if (c->access < w->naccesses && w->accesses[c->access].time <= t &&
		    w->accesses[c->access].time < best)
			best = w->accesses[c->access].time, which = 3;
		if (si < nseg && w->evals[a + ei].time < best)
			best = w->evals[a + ei].time, which = 4;
		switch (which) {
		case -1:
			return;
		case 0:
			ev = &w->gones[c->gone++];
			if (e->mode == MODE_RECORDED && e->stored[ev->path])
				unstore(e, ev->path);
			else if (e->mode == MODE_ANCHORED && e->rec)
				e->rec[ev->path] = 0;
			if (sr && (e->mode == MODE_FREE || e->mode == MODE_ANCHORED)) {
				GROW(sr->gone, sr->agone, sr->ngone + 1);
				sr->gone[sr->ngone++] = ev->path;
			}
			break;
		case 1:
			ev = &w->seens[c->seen++];
			if (e->rec && has_narinfo(e, ev->path))
				e->rec[ev->path] = 1;
			break;
		case 2:
			ev = &w->pushes[c->push++];
			if (!has_narinfo(e, ev->path))
				break;
			if (e->mode == MODE_FREE) {
				push_closure(e, ev->path, ev->time);
			} else if (!e->stored[ev->path]) {
				store_one(e, ev->path, ev->time);
			} else {
				/* A recorded re-upload: a new episode. */
				e->push[ev->path] = ev->time;
				lru_touch(e, ev->path, 1);
			}
			break;
		case 3:
			ev = &w->accesses[c->access++];
			touch(e, ev->path, ev->time, (int)ev->kind);
			break;
		case 4: {
			uint32_t lo = ei + 1 < nseg ? e->seg[ei + 1] : 0, hi = e->seg[ei];
			for (uint32_t k = lo; k < hi; k++)
				touch(e, e->tmp[k], best, T_EVAL);
			si++;
			break;
		}
		}
	}
}

/* ---- passes --------------------------------------------------------------- */

/*
 * Cachix loses id: every stored path whose closure holds id goes with it
 * (it would not be served).  Upward depth-first, emitting a path after all
 * its stored referrers: referrers first.
 */
static void lose(struct eng *e, uint32_t id)
{
	const struct gc_world *w = e->w;
	uint32_t ep = next_epoch(e->stamp, &e->epoch, e->n);
	size_t sp = 0;

	e->stamp[id] = ep;
	e->fr[sp++] = (struct frame){id, w->roff[id]};
	while (sp) {
		struct frame *f = &e->fr[sp - 1];
		if (f->e < w->roff[f->v + 1]) {
			uint32_t r = w->radj[f->e++];
			if (e->stored[r] && e->stamp[r] != ep) {
				e->stamp[r] = ep;
				e->fr[sp++] = (struct frame){r, w->roff[r]};
			}
			continue;
		}
		victim(e, f->v, f->v == id ? GC_LRU : GC_DEPENDENCY_LOST);
		sp--;
	}
}

static void pass_cachix(struct eng *e)
{
	uint32_t cur = e->next[0];

	while (e->bytes > e->limit && cur) {
		uint32_t nx = e->next[cur];
		if (e->stored[cur])
			lose(e, cur);
		/* Outside MODE_ANCHORED lose() unlinked what it took, maybe nx
		 * too: start again from the head, which is the next stored. */
		cur = e->mode == MODE_ANCHORED ? nx : e->next[0];
	}
}

static void pass_attic(struct eng *e, int64_t now)
{
	int64_t cut = now - e->retention;
	uint32_t cur = e->next[0];

	while (cur && e->key[cur] < cut) {
		uint32_t nx = e->next[cur];
		if (e->stored[cur])
			victim(e, cur, GC_EXPIRED);
		cur = nx;
	}
}

static const int64_t *sort_push;

static int cmp_by_push(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	if (sort_push[x] != sort_push[y])
		return sort_push[x] < sort_push[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

/*
 * Take the paths in e->tmp[0 .. ntmp) (stored, and no stored path outside
 * the list references one of them), oldest push first but referrers
 * before what they reference; with until_limit, only until the stored
 * bytes are at most the limit.  reason(v) gives each one's reason.
 */
static void take_upward(struct eng *e, int (*reason)(struct eng *, uint32_t), int until_limit)
{
	const struct gc_world *w = e->w;
	uint32_t ep;
	size_t n = e->ntmp;

	if (!n)
		return;
	sort_push = e->push;
	qsort(e->tmp, n, sizeof(*e->tmp), cmp_by_push);
	ep = next_epoch(e->stamp, &e->epoch, e->n);
	for (size_t i = 0; i < n; i++)
		e->cand[e->tmp[i]] = 1;
	for (size_t i = 0; i < n; i++) {
		uint32_t s = e->tmp[i];
		size_t sp = 0;
		if (until_limit && e->bytes <= e->limit)
			break;
		if (e->stamp[s] == ep)
			continue;
		e->stamp[s] = ep;
		e->fr[sp++] = (struct frame){s, w->roff[s]};
		while (sp) {
			struct frame *f = &e->fr[sp - 1];
			if (f->e < w->roff[f->v + 1]) {
				uint32_t r = w->radj[f->e++];
				if (e->cand[r] && e->stamp[r] != ep) {
					e->stamp[r] = ep;
					e->fr[sp++] = (struct frame){r, w->roff[r]};
				}
				continue;
			}
			/* Each victim is checked against the limit, not just
			 * each start: the walk from one old path can take
			 * many referrers, and any prefix of the emission
			 * order is closure-safe. */
			if (until_limit && e->bytes <= e->limit)
				goto done;
			if (e->stored[f->v])
				victim(e, f->v, reason(e, f->v));
			sp--;
		}
	}
done:
	for (size_t i = 0; i < n; i++)
		e->cand[e->tmp[i]] = 0;
}

static int reason_niks3(struct eng *e, uint32_t v)
{
	return e->reached[v] ? GC_EXPIRED : GC_UNREACHED;
}

static int reason_unreached(struct eng *e, uint32_t v)
{
	(void)e;
	(void)v;
	return GC_UNREACHED;
}

/* Mark (stamp ep) the stored paths root reaches through stored paths;
 * with order, append them to e->order in postorder (references before
 * referrers) with class cls. */
static void mark_stored(struct eng *e, uint32_t root, uint32_t ep, size_t *nseq, uint8_t cls)
{
	const struct graph *g = &e->w->g;
	size_t sp = 0;

	e->stamp[root] = ep;
	e->fr[sp++] = (struct frame){root, g->off[root]};
	while (sp) {
		struct frame *f = &e->fr[sp - 1];
		if (f->e < g->off[f->v + 1]) {
			uint32_t x = g->adj[f->e++];
			if (e->stored[x] && e->stamp[x] != ep) {
				e->stamp[x] = ep;
				e->fr[sp++] = (struct frame){x, g->off[x]};
			}
			continue;
		}
		if (nseq) {
			e->order[(*nseq)++] = f->v;
			e->cls[f->v] = cls;
		}
		sp--;
	}
}

static size_t first_eval_after(const struct gc_world *w, size_t nvis, int64_t t)
{
	size_t lo = 0, hi = nvis;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (w->evals[mid].time <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The stored paths not stamped ep. */
static void collect_unmarked(struct eng *e, uint32_t ep)
{
	e->ntmp = 0;
	for (uint32_t v = 1; v < e->n; v++) {
		if (!e->stored[v] || e->stamp[v] == ep)
			continue;
		GROW(e->tmp, e->atmp, e->ntmp + 1);
		e->tmp[e->ntmp++] = v;
	}
}

static void pass_niks3(struct eng *e, int64_t now)
{
	const struct gc_world *w = e->w;
	uint32_t ep = next_epoch(e->stamp, &e->epoch, e->n);

	for (size_t k = first_eval_after(w, e->nvis, now - e->retention); k < e->nvis; k++) {
		const struct gc_eval *ev = &w->evals[k];
		for (uint32_t j = ev->job0; j < ev->job0 + ev->njobs; j++) {
			uint32_t r = w->jobs[j].path;
			if (e->stored[r] && e->stamp[r] != ep)
				mark_stored(e, r, ep, NULL, 0);
		}
	}
	/* niks3 deletes what it marked unreachable only after a grace
	 * period: a closure pushed within it is a root not registered yet
	 * (its evaluation may not be seen yet). */
	for (uint32_t v = 1; v < e->n; v++)
		if (e->stored[v] && e->stamp[v] != ep && e->push[v] > now - GC_NIKS3_GRACE)
			mark_stored(e, v, ep, NULL, 0);
	collect_unmarked(e, ep);
	take_upward(e, reason_niks3, 0);
}

static void pass_priority(struct eng *e, int64_t now)
{
	const struct gc_world *w = e->w;
	uint32_t ep;
	size_t nseq = 0;

	if (e->bytes <= e->limit)
		return;
	ep = next_epoch(e->stamp, &e->epoch, e->n);
	cur_filter(e, now);
	sort_world = w;
	if (e->ncur)
		qsort(e->cur, e->ncur, sizeof(*e->cur), cmp_job_value_desc);
	for (size_t i = 0; i < e->ncur; i++) {
		uint32_t r = w->jobs[e->cur[i]].path;
		if (e->stored[r] && e->stamp[r] != ep)
			mark_stored(e, r, ep, &nseq, GC_LOW_VALUE);
	}
	roots_merge_back(e);
	for (uint32_t r = e->rnext[0], nx; r; r = nx) {
		nx = e->rnext[r];
		if (!e->stored[r]) {
			/* Only the free simulation stores paths through
			 * store_one() alone (anchored runs reset stored). */
			if (e->mode == MODE_FREE) {
				root_unlink(e, r);
				e->rlinked[r] = RL_PRUNED;
			}
			continue;
		}
		if (e->stamp[r] != ep)
			mark_stored(e, r, ep, &nseq, GC_SUPERSEDED);
	}
	/* What no stored output reaches goes first; it is upward closed (a
	 * referrer of it is not reached either). */
	collect_unmarked(e, ep);
	take_upward(e, reason_unreached, 1);
	/* Then the kept order backwards: the last root's paths first, each
	 * root's referrers before their references. */
	while (nseq && e->bytes > e->limit) {
		uint32_t v = e->order[--nseq];
		if (e->stored[v])
			victim(e, v, e->cls[v]);
	}
}

static void run_pass(struct eng *e, int64_t now)
{
	switch (e->policy) {
	case GC_CACHIX:
		pass_cachix(e);
		break;
	case GC_ATTIC:
		pass_attic(e, now);
		break;
	case GC_NIKS3:
		pass_niks3(e, now);
		break;
	case GC_PRIORITY:
		pass_priority(e, now);
		break;
	}
}

/* ---- selection ------------------------------------------------------------ */

static const int64_t *sort_key;

static int cmp_by_key(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	if (sort_key[x] != sort_key[y])
		return sort_key[x] < sort_key[y] ? -1 : 1;
	if (sort_push[x] != sort_push[y])
		return sort_push[x] < sort_push[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

int gc_select(struct gc_world *w, enum gc_policy p, const struct gc_params *params,
	      const uint8_t *stored, struct gc_victims *out)
{
	struct eng e;
	int64_t now = params->now;
	size_t nvis;

	if ((unsigned)p >= GC_NPOLICIES)
		return error("unknown GC policy %d", (int)p);
	eng_init(&e, w, p, params, MODE_SNAPSHOT, out);
	for (uint32_t v = 1; v < w->n; v++) {
		if (!stored[v] || !has_narinfo(&e, v))
			continue;
		e.stored[v] = 1;
		e.bytes += (uint64_t)gc_size(w, v);
		e.npaths++;
		e.push[v] = w->push_time[v] <= now ? w->push_time[v] : now;
		/* An access recorded after now is not known at now. */
		e.acc[v] = w->access[v] <= now ? w->access[v] : 0;
		e.nacc[v] = w->nar_access[v] <= now ? w->nar_access[v] : 0;
	}
	out->bytes_before = e.bytes;
	nvis = first_eval_after(w, w->nevals, now);
	if (e.eval_access && e.lru && nvis) {
		eval_touch_collect(&e, 0, nvis);
		for (size_t i = 0; i < nvis; i++) {
			uint32_t lo = i + 1 < nvis ? e.seg[i + 1] : 0, hi = e.seg[i];
			int64_t t = w->evals[i].time;
			for (uint32_t k = lo; k < hi; k++) {
				uint32_t v = e.tmp[k];
				if (t > e.acc[v])
					e.acc[v] = t;
				if (t > e.nacc[v])
					e.nacc[v] = t;
			}
		}
	}
	for (size_t k = 0; k < nvis; k++)
		eval_seen(&e, k);
	e.nvis = nvis;
	if (e.lru) {
		size_t n = 0;
		GROW(e.tmp, e.atmp, (size_t)w->n);
		for (uint32_t v = 1; v < w->n; v++) {
			if (!e.stored[v])
				continue;
			e.key[v] = lru_key(&e, v);
			e.tmp[n++] = v;
		}
		sort_key = e.key;
		sort_push = e.push;
		if (n)
			qsort(e.tmp, n, sizeof(*e.tmp), cmp_by_key);
		for (size_t i = 0; i < n; i++)
			lru_append(&e, e.tmp[i]);
	}
	run_pass(&e, now);
	eng_release(&e);
	return 0;
}

void gc_victims_release(struct gc_victims *v)
{
	free(v->v);
	memset(v, 0, sizeof(*v));
}

/* ---- whole closures and broken jobs ---------------------------------------- */

/*
 * Whether root's closure is wholly in stored (every member stored; a
 * member without a narinfo never is), memoized for the current wepoch in
 * wstate: 1 on the stack, 2 whole, 3 not.  A cycle (only in a forged
 * cache) counts as whole.
 */
static int whole(struct gc_world *w, const uint8_t *stored, uint8_t *wstate, uint32_t *wstamp,
		 uint32_t wep, struct frame *fr, uint32_t root)
{
	const struct graph *g = &w->g;
	size_t sp = 0;

#define WST(v) (wstamp[v] == wep ? wstate[v] : 0)
	if (WST(root) >= 2)
		return WST(root) == 2;
	wstamp[root] = wep;
	wstate[root] = 1;
	fr[sp++] = (struct frame){root, g->off[root]};
	if (!stored[root])
		fr[0].e = g->off[root + 1] | 0x80000000u;
	while (sp) {
		struct frame *f = &fr[sp - 1];
		uint32_t end = g->off[f->v + 1];
		int bad = (f->e & 0x80000000u) != 0;
		uint32_t e = f->e & 0x7fffffffu;
		if (!bad && e < end) {
			uint32_t x = g->adj[e];
			f->e = e + 1;
			if (!WST(x)) {
				wstamp[x] = wep;
				wstate[x] = 1;
				fr[sp++] = (struct frame){x, g->off[x] | (stored[x] ? 0 : 0x80000000u)};
			} else if (WST(x) == 3) {
				f->e |= 0x80000000u;
			}
			continue;
		}
		wstate[f->v] = bad ? 3 : 2;
		sp--;
		if (sp && bad)
			fr[sp - 1].e |= 0x80000000u;
	}
#undef WST
	return wstate[root] == 2;
}

void gc_breaks_release(struct gc_breaks *b)
{
	free(b->count);
	free(b->off);
	free(b->jobs);
	memset(b, 0, sizeof(*b));
}

/* Keep job j for victim vi when it is among the newest: a full list
 * drops its oldest job for a newer one. */
static void keep_newest(const struct gc_world *w, struct gc_breaks *out, uint32_t *kept,
			size_t vi, uint32_t j)
{
	uint32_t *v = out->jobs + out->off[vi];
	size_t cap = out->off[vi + 1] - out->off[vi], old = 0;

	if (kept[vi] < cap) {
		v[kept[vi]++] = j;
		return;
	}
	for (size_t i = 1; i < cap; i++)
		if (w->jobs[v[i]].eval < w->jobs[v[old]].eval)
			old = i;
	if (cap && w->jobs[j].eval > w->jobs[v[old]].eval)
		v[old] = j;
}

int gc_breaks(struct gc_world *w, const uint8_t *stored, const struct gc_victims *vs,
	      int64_t now, int current_only, unsigned max_per_victim, struct gc_breaks *out)
{
	const struct graph *g = &w->g;
	size_t n = w->n ? w->n : 1, nv = vs->n, nvis = first_eval_after(w, w->nevals, now);
	uint32_t *vpos = xcalloc(n, sizeof(*vpos));      /* victim index + 1 */
	uint8_t *hasv = xcalloc(n, 1);                   /* 1 yes, 2 no, 0 unknown */
	uint8_t *wstate = xcalloc(n, 1);
	uint32_t *wstamp = xcalloc(n, sizeof(*wstamp));
	uint32_t *seen = xcalloc(n, sizeof(*seen));      /* root walk marks */
	struct frame *fr = xmalloc(n * sizeof(*fr));
	uint32_t *stack = xmalloc(n * sizeof(*stack));
	uint32_t *first = xmalloc(n * sizeof(*first));   /* root: first job, chain */
	uint32_t *nextj = xmalloc((w->njobs ? w->njobs : 1) * sizeof(*nextj));
	uint32_t *roots = NULL, *kept = NULL, *lastj = xmalloc(n * sizeof(*lastj));
	size_t nroots = 0, aroots = 0, cap = max_per_victim ? max_per_victim : 0;
	uint32_t walk = 0;

	memset(out, 0, sizeof(*out));
	out->nvictims = nv;
	out->count = xcalloc(nv ? nv : 1, sizeof(*out->count));
	out->off = xcalloc(nv + 1, sizeof(*out->off));
	for (size_t i = 0; i < nv; i++)
		if (vs->v[i].path < w->n)
			vpos[vs->v[i].path] = (uint32_t)i + 1;
	for (size_t i = 0; i < n; i++)
		first[i] = NONE;

	/* The candidate jobs, newest evaluation first, chained per root. */
	for (size_t k = nvis; k-- > 0;) {
		const struct gc_eval *ev = &w->evals[k];
		for (uint32_t j = ev->job0; j < ev->job0 + ev->njobs; j++) {
			const struct gc_job *jb = &w->jobs[j];
			uint32_t r = jb->path;
			if (current_only && jb->superseded_at <= now)
				continue;
			if (first[r] == NONE) {
				/* Whether r's closure holds a victim: depth-first,
				 * decided in postorder, memoized in hasv (0 unknown,
				 * 4 on the stack, 1 yes, 2 no). */
				if (!hasv[r]) {
					size_t sp = 0;
					fr[sp++] = (struct frame){r, g->off[r]};
					hasv[r] = 4;  /* on the stack */
					while (sp) {
						struct frame *f = &fr[sp - 1];
						if (f->e < g->off[f->v + 1]) {
							uint32_t x = g->adj[f->e++];
							if (!hasv[x]) {
								hasv[x] = 4;
								fr[sp++] = (struct frame){x, g->off[x]};
							}
							continue;
						}
						sp--;
						if (hasv[f->v] == 4) {
							uint8_t h = vpos[f->v] ? 1 : 2;
							for (uint32_t q = g->off[f->v]; q < g->off[f->v + 1]; q++)
								if (hasv[g->adj[q]] == 1)
									h = 1;
							hasv[f->v] = h;
						}
					}
				}
				if (hasv[r] != 1 || !whole(w, stored, wstate, wstamp, 1, fr, r))
					continue;
				first[r] = lastj[r] = j;
				nextj[j] = NONE;
				GROW(roots, aroots, nroots + 1);
				roots[nroots++] = r;
			} else {
				nextj[lastj[r]] = j;
				nextj[j] = NONE;
				lastj[r] = j;
			}
		}
	}

	/* Count per victim, then fill (two walks of each root's closure,
	 * restricted to the part that holds victims). */
	for (int fillpass = 0; fillpass < 2; fillpass++) {
		if (fillpass) {
			for (size_t i = 0; i < nv; i++) {
				uint32_t c = out->count[i];
				out->off[i + 1] = out->off[i] + (cap && c > cap ? cap : c);
			}
			out->njobs = out->off[nv];
			out->jobs = xmalloc((out->njobs ? out->njobs : 1) * sizeof(*out->jobs));
			kept = xcalloc(nv ? nv : 1, sizeof(*kept));
		}
		for (size_t ri = 0; ri < nroots; ri++) {
			uint32_t r = roots[ri];
			size_t sp = 0;
			if (++walk == 0) {
				memset(seen, 0, n * sizeof(*seen));
				walk = 1;
			}
			seen[r] = walk;
			stack[sp++] = r;
			while (sp) {
				uint32_t v = stack[--sp];
				if (vpos[v]) {
					size_t vi = vpos[v] - 1;
					for (uint32_t j = first[r]; j != NONE; j = nextj[j]) {
						if (!fillpass)
							out->count[vi]++;
						else
							keep_newest(w, out, kept, vi, j);
					}
				}
				for (uint32_t q = g->off[v]; q < g->off[v + 1]; q++) {
					uint32_t x = g->adj[q];
					if (hasv[x] == 1 && seen[x] != walk) {
						seen[x] = walk;
						stack[sp++] = x;
					}
				}
			}
		}
	}
	/* Roots were met newest job first, but a victim collects from several
	 * roots: order each victim's kept jobs by evaluation, newest first. */
	sort_world = w;
	for (size_t i = 0; i < nv; i++)
		if (out->off[i + 1] - out->off[i] > 1)
			qsort(out->jobs + out->off[i], out->off[i + 1] - out->off[i],
			      sizeof(*out->jobs), cmp_job_newest);
	free(vpos);
	free(hasv);
	free(wstate);
	free(wstamp);
	free(seen);
	free(fr);
	free(stack);
	free(first);
	free(nextj);
	free(roots);
	free(kept);
	free(lastj);
	return 0;
}

/* ---- simulation ------------------------------------------------------------ */

void gc_sim_result_release(struct gc_sim_result *res)
{
	free(res->match);
	memset(res, 0, sizeof(*res));
}

static void step_groups(struct eng *e, struct gc_step *s, struct gc_step_group **gs, size_t *ags)
{
	struct gc_world *w = e->w;
	uint32_t wep = next_epoch(e->wstamp, &e->wepoch, e->n);

	s->ngroups = 0;
	for (size_t gi = 0; gi < w->ngroups; gi++) {
		uint32_t ei = e->latest[gi];
		const struct gc_eval *ev;
		struct gc_step_group *sg;
		if (ei == NONE)
			continue;
		ev = &w->evals[ei];
		GROW(*gs, *ags, s->ngroups + 1);
		sg = &(*gs)[s->ngroups++];
		sg->group = (uint32_t)gi;
		sg->eval = ei;
		sg->jobs = ev->njobs;
		sg->retained = 0;
		for (uint32_t j = ev->job0; j < ev->job0 + ev->njobs; j++)
			if (whole(w, e->stored, e->wstate, e->wstamp, wep, e->fr, w->jobs[j].path))
				sg->retained++;
	}
	s->groups = *gs;
}

static int simulate_free(struct gc_world *w, const struct gc_sim_opts *o, gc_step_fn fn,
			 void *ctx, struct gc_sim_result *res)
{
	struct eng e;
	struct cursor c = {0};
	struct gc_victims out = {0};
	struct step_rec sr = {0};
	struct gc_step_group *gs = NULL;
	size_t ags = 0;
	int64_t t = o->from;
	int ret = 0;

	eng_init(&e, w, o->policy, &o->params, MODE_RECORDED, &out);
	advance(&e, &c, o->from, NULL);
	e.mode = MODE_FREE;
	while (t < o->to) {
		struct gc_step s;
		int64_t nt = o->to - t > o->step ? t + o->step : o->to;

		memset(&s, 0, sizeof(s));
		e.stepno++;
		e.pushed_paths = e.pushed_bytes = 0;
		sr.ngone = 0;
		out.n = 0;
		out.bytes = 0;
		advance(&e, &c, nt, &sr);
		out.bytes_before = e.bytes;
		run_pass(&e, nt);
		s.time = nt;
		s.pushed_paths = e.pushed_paths;
		s.pushed_bytes = e.pushed_bytes;
		s.evicted_paths = out.n;
		s.evicted_bytes = out.bytes;
		for (size_t i = 0; i < out.n; i++)
			s.evicted_by_reason[out.v[i].reason]++;
		s.stored_paths = e.npaths;
		s.stored_bytes = e.bytes;
		s.recorded_evictions = sr.ngone;
		/* A real cache deletes between crawls; the crawl records it
		 * later: a recorded eviction matches when the simulated cache
		 * does not hold the path either, whenever it let it go. */
		for (size_t i = 0; i < sr.ngone; i++)
			if (!e.stored[sr.gone[i]])
				s.matched_evictions++;
		step_groups(&e, &s, &gs, &ags);
		res->steps++;
		res->evicted_paths += s.evicted_paths;
		res->evicted_bytes += s.evicted_bytes;
		if (s.stored_bytes > res->max_stored_bytes)
			res->max_stored_bytes = s.stored_bytes;
		if (fn && fn(ctx, &s)) {
			ret = -1;
			break;
		}
		t = nt;
	}
	eng_release(&e);
	gc_victims_release(&out);
	free(sr.gone);
	free(gs);
	return ret;
}

/* The recorded comparison: one prediction per crawl interval. */
static void simulate_anchored(struct gc_world *w, const struct gc_sim_opts *o,
			      struct gc_sim_result *res)
{
	struct eng e;
	struct cursor c = {0};
	struct gc_victims out = {0};
	struct step_rec sr = {0};
	size_t n = w->n ? w->n : 1, amatch = 0;
	uint8_t *gone = xcalloc(n, 1);

	eng_init(&e, w, o->policy, &o->params, MODE_ANCHORED, &out);
	e.rec = xcalloc(n, 1);
	e.base = xcalloc(n, 1);
	for (size_t i = 0; i + 1 < w->ncrawls; i++) {
		int64_t t0 = w->crawl_times[i], t1 = w->crawl_times[i + 1];
		struct gc_match *m;

		if (i == 0)
			advance(&e, &c, t0, NULL);
		if (t1 <= o->from || t0 >= o->to)
			goto next;
		/* The cache as crawl i saw it. */
		memcpy(e.stored, e.rec, n);
		memcpy(e.base, e.rec, n);
		e.bytes = e.npaths = 0;
		for (uint32_t v = 1; v < w->n; v++) {
			if (!e.stored[v])
				continue;
			e.bytes += (uint64_t)gc_size(w, v);
			e.npaths++;
		}
		sr.ngone = 0;
		out.n = 0;
		out.bytes = 0;
		e.stepno++;
		advance(&e, &c, t1, &sr);
		if (o->policy == GC_CACHIX || o->policy == GC_PRIORITY) {
			uint64_t gone_bytes = 0;
			for (size_t k = 0; k < sr.ngone; k++)
				if (e.base[sr.gone[k]])
					gone_bytes += (uint64_t)gc_size(w, sr.gone[k]);
			e.limit = e.bytes > gone_bytes ? e.bytes - gone_bytes : 0;
		}
		run_pass(&e, t1);
		GROW(res->match, amatch, res->nmatch + 1);
		m = &res->match[res->nmatch++];
		memset(m, 0, sizeof(*m));
		m->from = t0;
		m->to = t1;
		for (size_t k = 0; k < sr.ngone; k++) {
			if (!e.base[sr.gone[k]] || gone[sr.gone[k]])
				continue;
			gone[sr.gone[k]] = 1;
			m->recorded++;
		}
		for (size_t k = 0; k < out.n; k++) {
			uint32_t v = out.v[k].path;
			if (!e.base[v])
				continue;
			m->predicted++;
			if (gone[v])
				m->matched++;
		}
		for (size_t k = 0; k < sr.ngone; k++)
			gone[sr.gone[k]] = 0;
		res->predicted += m->predicted;
		res->recorded += m->recorded;
		res->matched += m->matched;
		continue;
next:
		sr.ngone = 0;
		advance(&e, &c, t1, &sr);
	}
	eng_release(&e);
	gc_victims_release(&out);
	free(sr.gone);
	free(gone);
}

int gc_simulate(struct gc_world *w, const struct gc_sim_opts *o, gc_step_fn fn, void *ctx,
		struct gc_sim_result *res)
{
	memset(res, 0, sizeof(*res));
	if (!(w->flags & GC_LOAD_HISTORY))
		return error("internal: gc_simulate needs a world loaded with its history");
	if ((unsigned)o->policy >= GC_NPOLICIES)
		return error("unknown GC policy %d", (int)o->policy);
	if (o->step <= 0 || o->from >= o->to)
		return error("internal: gc_simulate needs from < to and a positive step");
	if (simulate_free(w, o, fn, ctx, res))
		return -1;
	simulate_anchored(w, o, res);
	return 0;
}
