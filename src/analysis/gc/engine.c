/*
 * engine.c - the engine every policy runs on: a simulated cache (flat
 * per-path arrays: stored, push time, last access, LRU links, the
 * priority policy's roots list) advanced in time.  gc_select() sets it up
 * from a snapshot (policies.c); gc_simulate() replays the recorded
 * history through eng_advance() (simulate.c).  The state is struct eng in
 * gc_private.h.
 *
 * Events (pushes, accesses, evaluations, recorded evictions) are applied
 * in time order, then a policy pass (policies.c) runs at the step's time.
 * Nothing is reloaded or re-sorted per step: the LRU list stays sorted
 * because touches arrive in time order, the priority policy's roots are a
 * move-to-front list updated when an evaluation appears, and traversals
 * use epoch-stamped marks.
 */
#include "gc_private.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

/* ---- set-up ------------------------------------------------------------- */

void eng_release(struct eng *e)
{
	free(e->stored);
	free(e->push);
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
	free(e->pstored);
	free(e->vmark);
	free(e->wstate);
	free(e->wstamp);
	free(e->tmp);
	free(e->seg);
	free(e->jtmp);
	free(e->cand);
	/* Last, with everything else freed: the world's graph back from the
	 * copy, and the copy freed (the copy is the world's). */
	if (e->perm && !e->keep_num)
		gc_num_release(e->w);
	memset(e, 0, sizeof(*e));
}

/*
 * The priority pass walks every stored path reachable from a root at each
 * pass, in postorder from the roots in priority order.  Path ids follow
 * the crawl (hash order), so over the world's arrays that walk is one
 * cache miss after another once they outgrow the caches (10^6 paths and
 * up).  Number the paths instead in the postorder of one such walk over
 * the whole graph (every evaluation's outputs, newest evaluation first,
 * then every other path): a path's references mostly get the numbers
 * just before its own, and a pass's walk goes through the numbers mostly
 * in order.  The copy keeps each path's references in their order, so the
 * walk meets them as over the world's graph.
 */
static void eng_prio_index(struct eng *e)
{
	struct gc_world *w = e->w;
	const struct graph *g = &w->g;
	size_t n = w->n ? w->n : 1;
	uint32_t next = 1, ep, *perm, *inv, *poff, *padj;
	struct graph_post p;

	e->pstored = xcalloc(n, 1);
	e->vmark = xcalloc(n, 1);
	if (w->num.perm)
		goto have;    /* an earlier engine's (gc_simulate's second) */
	ep = next_epoch(e->stamp, &e->epoch, e->n);
	perm = w->num.perm = xcalloc(n, sizeof(*perm));
	inv = w->num.inv = xcalloc(n, sizeof(*inv));
	poff = w->num.off = xmalloc((n + 1) * sizeof(*poff));
	padj = w->num.adj = xmalloc((g->off[w->n] ? g->off[w->n] : 1) * sizeof(*padj));
	for (size_t k = w->nevals + (size_t)w->n; k-- > 0;) {
		/* k >= n: evaluation k - n's outputs; else path k */
		uint32_t j0 = 0, j1 = 1;
		if (k >= w->n) {
			j0 = w->evals[k - w->n].job0;
			j1 = j0 + w->evals[k - w->n].njobs;
		}
		for (uint32_t j = j0; j < j1; j++) {
			uint32_t root = k >= w->n ? gc_job_path(w, j) : (uint32_t)(w->n - 1 - k), x;
			int r;
			if (!root || e->stamp[root] == ep)
				continue;
			graph_post_start(&p, e->fr, g->off, g->adj);
			e->stamp[root] = ep;
			graph_post_push(&p, root);
			while ((r = graph_post_next(&p, &x)) >= 0) {
				if (!r) {
					perm[x] = next;
					inv[next++] = x;
				} else if (e->stamp[x] != ep) {
					e->stamp[x] = ep;
					graph_post_push(&p, x);
				}
			}
		}
	}
	poff[0] = poff[1] = 0;
	for (uint32_t v = 1, m = 0; v < w->n; v++) {
		uint32_t old = inv[v];
		for (uint32_t a = g->off[old]; a < g->off[old + 1]; a++)
			padj[m++] = perm[g->adj[a]];
		poff[v + 1] = m;
	}
	/* With the copy built, the world's own references are not read
	 * until gc_num_release() (every walk of the priority engine runs on
	 * the copy: its pass, push_closure, the whole-job checks), so they
	 * are freed: one graph in memory rather than two (about 38 bytes a
	 * path in the generated worlds).  Only when path 0 has no
	 * references, as graph_load() leaves it: the copy has none for it. */
	if (w->n > 1 && g->off[1] == 0) {
		free(w->g.adj);
		free(w->g.off);
		w->g.adj = NULL;
		w->g.off = NULL;
		w->num.dropped = 1;
	}
have:
	e->perm = w->num.perm;
	e->inv = w->num.inv;
	e->poff = w->num.off;
	e->padj = w->num.adj;
}

void gc_num_release(struct gc_world *w)
{
	struct graph *g = &w->g;
	uint32_t n = w->n, m = 0;

	if (w->num.dropped) {
		/* Row by row in id order, each in its order (the copy kept
		 * it), mapped back to ids. */
		g->off = xmalloc(((size_t)n + 1) * sizeof(*g->off));
		g->adj = xmalloc((w->num.off[n] ? w->num.off[n] : 1) * sizeof(*g->adj));
		g->off[0] = 0;
		for (uint32_t v = 1; v < n; v++) {
			uint32_t p = w->num.perm[v];
			g->off[v] = m;
			for (uint32_t a = w->num.off[p]; a < w->num.off[p + 1]; a++)
				g->adj[m++] = w->num.inv[w->num.adj[a]];
		}
		g->off[n] = m;
	}
	gc_num_free(w);
}

void gc_num_free(struct gc_world *w)
{
	free(w->num.perm);
	free(w->num.inv);
	free(w->num.off);
	free(w->num.adj);
	memset(&w->num, 0, sizeof(w->num));
}

void eng_init(struct eng *e, struct gc_world *w, enum gc_policy p,
	      const struct gc_params *params, int mode, struct gc_victims *out)
{
	size_t n = w->n ? w->n : 1;
	int model = params->access_model;

	memset(e, 0, sizeof(*e));
	e->w = w;
	e->policy = p;
	e->limit = e->limit0 = params->limit;
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
	e->stamp = xcalloc(n, sizeof(*e->stamp));
	e->fr = xmalloc(n * sizeof(*e->fr));
	/* The priority engine's copy of the graph first, so that the world's
	 * is freed before the rest is allocated (eng_prio_index). */
	if (p == GC_PRIORITY)
		eng_prio_index(e);
	e->stored = xcalloc(n, 1);
	if (p == GC_NIKS3 || p == GC_PRIORITY || mode == MODE_SNAPSHOT)
		e->push = xcalloc(n, sizeof(*e->push));
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
	}
	e->stack = xmalloc(n * sizeof(*e->stack));
	e->cand = xcalloc(n, 1);
	e->wstate = xcalloc(n, 1);
	e->wstamp = xcalloc(n, sizeof(*e->wstamp));
	if (out) {
		out->n = 0;
		out->bytes = out->bytes_before = 0;
	}
}

/* ---- the stored set and the LRU list ------------------------------------ */

/* A push or a counted access of id at t: its key grows to t (pushes come
 * in time order, so the key, the latest of both, only grows); move id to
 * the tail of the LRU list when its key grew, or link it (link: it was
 * just stored). */
static void lru_touch(struct eng *e, uint32_t id, int64_t t, int link)
{
	int grew;

	if (!e->lru)
		return;
	grew = t > e->key[id];
	if (grew)
		e->key[id] = t;
	if (e->linked[id]) {
		if (!grew)
			return;
		lru_unlink(e, id);
	} else if (!link) {
		return;
	}
	lru_append(e, id);
}

enum { T_NARINFO = GC_ACCESS_NARINFO, T_NAR = GC_ACCESS_NAR, T_EVAL };

/* Only the accesses the LRU key counts are kept: any kind for cachix,
 * NAR downloads (and evaluations) for attic; none without an LRU list. */
static void touch(struct eng *e, uint32_t id, int64_t t, int kind)
{
	if (!e->lru || (e->lru == LRU_NAR && kind == T_NARINFO))
		return;
	lru_touch(e, id, t, 0);
}

static void root_restored(struct eng *e, uint32_t id);

static void store_one(struct eng *e, uint32_t id, int64_t t)
{
	e->stored[id] = 1;
	if (e->pstored)
		e->pstored[e->perm[id]] = 1;
	e->bytes += (uint64_t)gc_size(e->w, id);
	e->npaths++;
	if (e->push)
		e->push[id] = t;
	lru_touch(e, id, t, 1);
	root_restored(e, id);
}

static void unstore(struct eng *e, uint32_t id)
{
	e->stored[id] = 0;
	if (e->pstored)
		e->pstored[e->perm[id]] = 0;
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
	/* The priority engine walks its copy (same reference order, so the
	 * same pushes in the same order); the stamps are by number there. */
	const uint32_t *off = e->perm ? e->poff : g->off, *adj = e->perm ? e->padj : g->adj;
	uint32_t ep = next_epoch(e->stamp, &e->epoch, e->n), x;
	struct graph_post p;
	int k;

	if (e->stored[root] || !has_narinfo(e, root))
		return;
	graph_post_start(&p, e->fr, off, adj);
	if (e->perm)
		root = e->perm[root];
	e->stamp[root] = ep;
	graph_post_push(&p, root);
	while ((k = graph_post_next(&p, &x)) >= 0) {
		uint32_t id = e->perm ? e->inv[x] : x;
		if (k) {
			if (e->stamp[x] != ep && !e->stored[id] && has_narinfo(e, id)) {
				e->stamp[x] = ep;
				graph_post_push(&p, x);
			}
			continue;
		}
		store_one(e, id, t);
		e->pushed_paths++;
		e->pushed_bytes += (uint64_t)gc_size(e->w, id);
	}
}

void eng_victim(struct eng *e, uint32_t id, int reason)
{
	struct gc_victims *o = e->out;

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

/* ---- the priority policy's roots list (see RL_* in gc_private.h) -------- */

/* The list links the paths by their numbers (eng_prio_index), not their
 * ids: walked newest evaluation first, it goes through the numbers mostly
 * in order. */

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
static void root_restored(struct eng *e, uint32_t path)
{
	uint32_t id = e->perm ? e->perm[path] : path;

	if (e->rlinked && e->rlinked[id] == RL_PRUNED) {
		e->rlinked[id] = RL_BACK;
		GROW(e->rback, e->arback, e->nrback + 1);
		e->rback[e->nrback++] = id;
	}
}

static const uint32_t *sort_rkey;

static int cmp_rkey_desc(const void *a, const void *b)
{
	uint32_t x = sort_rkey[*(const uint32_t *)a], y = sort_rkey[*(const uint32_t *)b];

	return x > y ? -1 : x < y;
}

/* Put the roots stored again back at their places (one walk). */
void eng_roots_merge_back(struct eng *e)
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

/* ---- evaluations -------------------------------------------------------- */

/* Mark what the outputs of evaluation ei reach (niks3's reasons). */
static void mark_reached(struct eng *e, size_t ei)
{
	const struct graph *g = &e->w->g;
	const struct gc_eval *ev = &e->w->evals[ei];
	size_t sp = 0;

	for (uint32_t j = ev->job0; j < ev->job0 + ev->njobs; j++) {
		uint32_t r = gc_job_path(e->w, j);
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
void eng_eval_seen(struct eng *e, size_t ei)
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
	gc_sort_jobs(w, e->jtmp, ev->njobs, GC_JOBS_VALUE_ASC);
	for (uint32_t j = 0; j < ev->njobs; j++)
		root_front(e, e->perm[gc_job_path(w, e->jtmp[j])]);
}

/* Drop jobs superseded at now from the current list. */
void eng_cur_filter(struct eng *e, int64_t now)
{
	size_t k = 0;

	for (size_t i = 0; i < e->ncur; i++)
		if (gc_job_superseded_at(e->w, e->cur[i]) > now)
			e->cur[k++] = e->cur[i];
	e->ncur = k;
}

/*
 * The paths evaluations [a, b) access (their outputs' closures), each once,
 * with the newest of them that reaches it: into e->tmp, grouped by
 * evaluation; e->seg[i] ends evaluation a + i's group.
 */
void eng_eval_touch_collect(struct eng *e, size_t a, size_t b)
{
	const struct gc_world *w = e->w;
	const struct graph *g = &w->g;
	uint32_t ep = next_epoch(e->stamp, &e->epoch, e->n);

	e->ntmp = 0;
	GROW(e->seg, e->aseg, b - a + 1);
	for (size_t k = b; k-- > a;) {
		const struct gc_eval *ev = &w->evals[k];
		for (uint32_t j = ev->job0; j < ev->job0 + ev->njobs; j++) {
			uint32_t r = gc_job_path(w, j);
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

void eng_eval_touch(struct eng *e, size_t i, size_t nseg, int64_t t)
{
	uint32_t lo = i + 1 < nseg ? e->seg[i + 1] : 0, hi = e->seg[i];

	for (uint32_t k = lo; k < hi; k++)
		touch(e, e->tmp[k], t, T_EVAL);
}

/* ---- advancing through the recorded history ----------------------------- */

/*
 * Apply every event up to t.  Same-time order: recorded evictions,
 * crawls seeing paths, pushes, accesses, evaluations' accesses.
 */
void eng_advance(struct eng *e, struct cursor *c, int64_t t, struct step_rec *sr)
{
	const struct gc_world *w = e->w;
	size_t a = c->eval, b = a, si = 0, nseg = 0;

	while (b < w->nevals && w->evals[b].time <= t)
		b++;
	if (e->eval_access && e->lru && b > a) {
		eng_eval_touch_collect(e, a, b);
		nseg = b - a;
	}
	for (size_t k = a; k < b; k++)
		eng_eval_seen(e, k);
	c->eval = b;
	e->nvis = b;
	if (e->policy == GC_PRIORITY)
		eng_cur_filter(e, t);

	for (;;) {
		int64_t best = INT64_MAX;
		int which = -1;
		size_t i;
		uint32_t path;
		/* Eval touches, oldest evaluation first: evaluation a + i's
		 * part of tmp is [seg[i + 1] (0 for the newest), seg[i]). */
		size_t ei = si;

		if (c->gone < w->ngones && w->gones.time[c->gone] <= t && w->gones.time[c->gone] < best)
			best = w->gones.time[c->gone], which = 0;
		if (c->seen < w->nseens && w->seens.time[c->seen] <= t && w->seens.time[c->seen] < best)
			best = w->seens.time[c->seen], which = 1;
		if (c->push < w->npushes && w->pushes.time[c->push] <= t &&
		    w->pushes.time[c->push] < best)
			best = w->pushes.time[c->push], which = 2;
		if (c->access < w->naccesses && w->accesses.time[c->access] <= t &&
		    w->accesses.time[c->access] < best)
			best = w->accesses.time[c->access], which = 3;
		if (si < nseg && w->evals[a + ei].time < best)
			best = w->evals[a + ei].time, which = 4;
		switch (which) {
		case -1:
			return;
		case 0:
			path = w->gones.path[c->gone++];
			if (e->mode == MODE_RECORDED && e->stored[path])
				unstore(e, path);
			else if (e->mode == MODE_ANCHORED && e->rec)
				e->rec[path] = 0;
			if (sr && (e->mode == MODE_FREE || e->mode == MODE_ANCHORED)) {
				GROW(sr->gone, sr->agone, sr->ngone + 1);
				sr->gone[sr->ngone++] = path;
			}
			break;
		case 1:
			path = w->seens.path[c->seen++];
			if (e->rec && has_narinfo(e, path))
				e->rec[path] = 1;
			break;
		case 2:
			i = c->push++;
			path = w->pushes.path[i];
			if (!has_narinfo(e, path))
				break;
			if (e->mode == MODE_FREE) {
				push_closure(e, path, w->pushes.time[i]);
			} else if (!e->stored[path]) {
				store_one(e, path, w->pushes.time[i]);
			} else {
				/* A recorded re-upload: a new episode. */
				if (e->push)
					e->push[path] = w->pushes.time[i];
				lru_touch(e, path, w->pushes.time[i], 1);
			}
			break;
		case 3:
			i = c->access++;
			touch(e, w->accesses.path[i], w->accesses.time[i], (int)w->accesses.kind[i]);
			break;
		case 4:
			eng_eval_touch(e, ei, nseg, best);
			si++;
			break;
		}
	}
}
