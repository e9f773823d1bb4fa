/*
 * policies.c - the policies, as passes of the engine (engine.c): cachix
 * (least recently used, dependants lost with it), attic (expired by
 * retention, references ignored), niks3 (unreachable from the retention
 * window's outputs, after a grace period) and priority (whole closures of
 * the most valuable roots under the limit); and gc_select(), one pass on
 * a snapshot.  A pass takes victims in an order whose every prefix is
 * closure-safe (attic aside: see gc.h).
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

/* ---- passes --------------------------------------------------------------- */

/*
 * Cachix loses id: every stored path whose closure holds id goes with it
 * (it would not be served).  Upward depth-first, emitting a path after all
 * its stored referrers: referrers first.
 */
static void lose(struct eng *e, uint32_t id)
{
	const struct gc_world *w = e->w;
	uint32_t ep = next_epoch(e->stamp, &e->epoch, e->n), r;
	struct graph_post p;
	int k;

	graph_post_start(&p, e->fr, w->roff, w->radj);
	e->stamp[id] = ep;
	graph_post_push(&p, id);
	while ((k = graph_post_next(&p, &r)) >= 0) {
		if (k) {
			if (e->stored[r] && e->stamp[r] != ep) {
				e->stamp[r] = ep;
				graph_post_push(&p, r);
			}
			continue;
		}
		eng_victim(e, r, r == id ? GC_LRU : GC_DEPENDENCY_LOST);
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
			eng_victim(e, cur, GC_EXPIRED);
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
	struct graph_post p;
	uint32_t ep, r;
	size_t n = e->ntmp;
	int k;

	if (!n)
		return;
	sort_push = e->push;
	qsort(e->tmp, n, sizeof(*e->tmp), cmp_by_push);
	ep = next_epoch(e->stamp, &e->epoch, e->n);
	for (size_t i = 0; i < n; i++)
		e->cand[e->tmp[i]] = 1;
	for (size_t i = 0; i < n; i++) {
		uint32_t s = e->tmp[i];
		if (until_limit && e->bytes <= e->limit)
			break;
		if (e->stamp[s] == ep)
			continue;
		graph_post_start(&p, e->fr, w->roff, w->radj);
		e->stamp[s] = ep;
		graph_post_push(&p, s);
		while ((k = graph_post_next(&p, &r)) >= 0) {
			if (k) {
				if (e->cand[r] && e->stamp[r] != ep) {
					e->stamp[r] = ep;
					graph_post_push(&p, r);
				}
				continue;
			}
			/* Each victim is checked against the limit, not just
			 * each start: the walk from one old path can take
			 * many referrers, and any prefix of the emission
			 * order is closure-safe. */
			if (until_limit && e->bytes <= e->limit)
				goto done;
			if (e->stored[r])
				eng_victim(e, r, reason(e, r));
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

/* Mark (stamp ep) the stored paths root reaches through stored paths
 * (niks3). */
static void mark_stored(struct eng *e, uint32_t root, uint32_t ep)
{
	const struct graph *g = &e->w->g;
	struct graph_post p;
	uint32_t x;
	int k;

	graph_post_start(&p, e->fr, g->off, g->adj);
	e->stamp[root] = ep;
	graph_post_push(&p, root);
	while ((k = graph_post_next(&p, &x)) >= 0) {
		if (k && e->stored[x] && e->stamp[x] != ep) {
			e->stamp[x] = ep;
			graph_post_push(&p, x);
		}
	}
}

/*
 * The priority pass's walk, over the renumbered graph (e->poff, e->padj:
 * see eng_prio_index): append to e->order, in postorder (references
 * before referrers), the numbers root reaches through numbers not marked
 * ep in e->vmark, marking them.  The pass marks every path not stored
 * beforehand, so one byte a path answers "stored and not met yet".  When
 * a path is entered, the marks of its first references are prefetched:
 * they arrive together rather than one miss after another.
 */
static void mark_kept(struct eng *e, uint32_t root, uint8_t ep, size_t *nseq)
{
	const uint32_t *off = e->poff, *adj = e->padj;
	uint8_t *vm = e->vmark;
	uint32_t *order = e->order;
	struct graph_frame *fr = e->fr;
	size_t sp = 0, n = *nseq;

	vm[root] = ep;
	fr[sp].v = root;
	fr[sp++].e = off[root];
	for (uint32_t q = off[root], qe = off[root + 1]; q < qe && q < off[root] + 8; q++)
		__builtin_prefetch(&vm[adj[q]]);
	while (sp) {
		struct graph_frame *f = &fr[sp - 1];
		uint32_t end = off[f->v + 1], i = f->e;
		while (i < end && vm[adj[i]] == ep)
			i++;
		if (i < end) {
			uint32_t x = adj[i], xe;
			f->e = i + 1;
			vm[x] = ep;
			fr[sp].v = x;
			fr[sp++].e = off[x];
			xe = off[x + 1];
			for (uint32_t q = off[x]; q < xe && q < off[x] + 8; q++)
				__builtin_prefetch(&vm[adj[q]]);
			continue;
		}
		order[n++] = f->v;
		sp--;
	}
	*nseq = n;
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

	for (size_t k = gc_first_eval_after(w, e->nvis, now - e->retention); k < e->nvis; k++) {
		const struct gc_eval *ev = &w->evals[k];
		for (uint32_t j = ev->job0; j < ev->job0 + ev->njobs; j++) {
			uint32_t r = gc_job_path(w, j);
			if (e->stored[r] && e->stamp[r] != ep)
				mark_stored(e, r, ep);
		}
	}
	/* niks3 deletes what it marked unreachable only after a grace
	 * period: a closure pushed within it is a root not registered yet
	 * (its evaluation may not be seen yet). */
	for (uint32_t v = 1; v < e->n; v++)
		if (e->stored[v] && e->stamp[v] != ep && e->push[v] > now - GC_NIKS3_GRACE)
			mark_stored(e, v, ep);
	collect_unmarked(e, ep);
	take_upward(e, reason_niks3, 0);
}

/*
 * Keep the most valuable roots' closures: current jobs' outputs by value,
 * then the other outputs newest evaluation first (the roots list); take
 * what none of them reaches, then the kept order from its end.  The walk
 * runs on the renumbered graph (eng_prio_index): order holds numbers.
 */
static void pass_priority(struct eng *e, int64_t now)
{
	const struct gc_world *w = e->w;
	const uint32_t *perm = e->perm, *inv = e->inv;
	uint8_t ep, *vm = e->vmark;
	size_t nseq = 0, nlow;

	if (e->bytes <= e->limit)
		return;
	/* Only the replay stores and drops paths through store_one() and
	 * unstore() alone. */
	if (e->mode == MODE_SNAPSHOT || e->mode == MODE_ANCHORED)
		for (uint32_t v = 1; v < e->n; v++)
			e->pstored[perm[v]] = e->stored[v];
	if (++e->vep == 0) {
		memset(vm, 0, e->n);
		e->vep = 1;
	}
	ep = e->vep;
	/* Paths not stored are never walked: marked from the start. */
	for (uint32_t v = 0; v < e->n; v++)
		if (!e->pstored[v])
			vm[v] = ep;
	eng_cur_filter(e, now);
	gc_sort_jobs(w, e->cur, e->ncur, GC_JOBS_VALUE_DESC);
	for (size_t i = 0; i < e->ncur; i++) {
		uint32_t r = perm[gc_job_path(w, e->cur[i])];
		if (vm[r] != ep)
			mark_kept(e, r, ep, &nseq);
	}
	/* order[0 .. nlow) is what current jobs keep (low-value when
	 * taken), the rest what only superseded ones do. */
	nlow = nseq;
	eng_roots_merge_back(e);
	for (uint32_t r = e->rnext[0], nx; r; r = nx) {
		nx = e->rnext[r];
		if (!e->pstored[r]) {
			/* Only the free simulation stores paths through
			 * store_one() alone (anchored runs reset stored). */
			if (e->mode == MODE_FREE) {
				root_unlink(e, r);
				e->rlinked[r] = RL_PRUNED;
			}
			continue;
		}
		if (vm[r] != ep)
			mark_kept(e, r, ep, &nseq);
	}
	/* What no stored output reaches goes first; it is upward closed (a
	 * referrer of it is not reached either).  take_upward() orders it
	 * whole (push time, then id), so the collecting order is free. */
	e->ntmp = 0;
	for (uint32_t v = 1; v < e->n; v++) {
		if (vm[v] == ep)
			continue;
		GROW(e->tmp, e->atmp, e->ntmp + 1);
		e->tmp[e->ntmp++] = inv[v];
	}
	take_upward(e, reason_unreached, 1);
	/* Then the kept order backwards: the last root's paths first, each
	 * root's referrers before their references. */
	while (nseq && e->bytes > e->limit) {
		uint32_t v = inv[e->order[--nseq]];
		if (e->stored[v])
			eng_victim(e, v, nseq < nlow ? GC_LOW_VALUE : GC_SUPERSEDED);
	}
}

void eng_run_pass(struct eng *e, int64_t now)
{
	/* The files of refused narinfos take room no policy can free (our
	 * model does not know their paths): the paths get what is left. */
	if (e->mode != MODE_ANCHORED) {
		uint64_t r = gc_rejected_at(e->w, now);
		e->limit = e->limit0 > r ? e->limit0 - r : 0;
	}
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
	if (!w->push_time)
		return error("internal: gc_select needs a world loaded without GC_LOAD_HISTORY");
	eng_init(&e, w, p, params, MODE_SNAPSHOT, out);
	for (uint32_t v = 1; v < w->n; v++) {
		if (!stored[v] || !has_narinfo(&e, v))
			continue;
		e.stored[v] = 1;
		e.bytes += (uint64_t)gc_size(w, v);
		e.npaths++;
		e.push[v] = w->push_time[v] <= now ? w->push_time[v] : now;
		/* An access recorded after now is not known at now. */
		if (e.lru) {
			int64_t a = e.lru == LRU_ANY ? w->access[v] : w->nar_access[v];
			if (a > now)
				a = 0;
			e.key[v] = a > e.push[v] ? a : e.push[v];
		}
	}
	out->bytes_before = e.bytes;
	nvis = gc_first_eval_after(w, w->nevals, now);
	if (e.eval_access && e.lru && nvis) {
		eng_eval_touch_collect(&e, 0, nvis);
		/* The LRU list is built below: touches only set the times. */
		for (size_t i = 0; i < nvis; i++)
			eng_eval_touch(&e, i, nvis, w->evals[i].time);
	}
	for (size_t k = 0; k < nvis; k++)
		eng_eval_seen(&e, k);
	e.nvis = nvis;
	if (e.lru) {
		size_t n = 0;
		GROW(e.tmp, e.atmp, (size_t)w->n);
		for (uint32_t v = 1; v < w->n; v++) {
			if (!e.stored[v])
				continue;
			e.tmp[n++] = v;
		}
		sort_key = e.key;
		sort_push = e.push;
		if (n)
			qsort(e.tmp, n, sizeof(*e.tmp), cmp_by_key);
		for (size_t i = 0; i < n; i++)
			lru_append(&e, e.tmp[i]);
	}
	eng_run_pass(&e, now);
	eng_release(&e);
	return 0;
}

void gc_victims_release(struct gc_victims *v)
{
	free(v->v);
	memset(v, 0, sizeof(*v));
}
