/*
 * rebuild.c - the rebuild queue (see rebuild.h): candidates and their
 * missing paths from coverage, an index from each missing path to the
 * candidates that lack it, the static score, the walk in rank order that
 * charges shared bytes once and counts what each push completes, and the
 * survival replay through the GC model.
 */
#include "analysis/rebuild.h"

#include <stdlib.h>
#include <string.h>

#include "analysis/graph.h"
#include "lib/util.h"

#define GIB (1024.0 * 1024.0 * 1024.0)
#define MAX_DROP_ROUNDS 64   /* GC replays when dropping items */

struct cand {
	size_t row;
	uint32_t root;
	uint32_t m0, nm;       /* missing paths: miss[m0 .. m0 + nm) */
	uint64_t bytes;        /* their stored bytes */
	double value, score;
	int estimated;
};

struct ctx {
	struct rebuild *rb;
	const struct rebuild_opts *o;
	struct graph *g;
	struct gc_weights wt;
	struct cand *c;
	size_t nc, ac;
	uint32_t *miss;        /* missing paths of every candidate */
	size_t nmiss, amiss;
	uint32_t *ioff, *iadj; /* path -> candidates lacking it (CSR over g->n) */
	size_t *order;         /* candidates in rank order */
	size_t *queued_as;     /* per candidate: its item index + 1 when queued */
	size_t afailed;
};

static uint64_t stored_size(const struct graph *g, uint32_t id)
{
	if (!(g->flags[id] & GRAPH_NARINFO))
		return 0;
	return (uint64_t)(g->file_size[id] >= 0 ? g->file_size[id] : g->nar_size[id]);
}

static double row_value(struct ctx *x, const struct cov_row *r)
{
	const struct cov_column *col = &x->rb->cv.cols[r->column];

	return gc_weight(&x->wt, GC_W_BRANCH, col->branch) *
	       gc_weight(&x->wt, GC_W_CAPS, col->capabilities) *
	       gc_weight(&x->wt, GC_W_ATTR, r->attr);
}

/* Candidates and failures from coverage's rows. */
static void collect(struct ctx *x)
{
	struct coverage *cv = &x->rb->cv;
	struct graph *g = x->g;
	struct graph_walk *w = &g->walk;

	for (size_t i = 0; i < cv->nrows; i++) {
		const struct cov_row *r = &cv->rows[i];
		struct cand *k;
		uint32_t v;

		if (r->status == COV_FAILED || r->status == COV_QUEUED) {
			GROW(x->rb->failed, x->afailed, x->rb->nfailed + 1);
			x->rb->failed[x->rb->nfailed++] = i;
			continue;
		}
		if (r->status != COV_MISSING && r->status != COV_EVICTED &&
		    r->status != COV_PARTIAL)
			continue;
		GROW(x->c, x->ac, x->nc + 1);
		k = &x->c[x->nc++];
		memset(k, 0, sizeof(*k));
		k->row = i;
		k->root = r->path_id;
		k->m0 = (uint32_t)x->nmiss;
		k->value = row_value(x, r);
		if (!r->path_id)
			continue;   /* no output path known: nothing to count */
		if (!(g->flags[r->path_id] & GRAPH_NARINFO)) {
			/* Never in the cache: its closure is not known; its
			 * size is guessed from an older build of the same. */
			GROW(x->miss, x->amiss, x->nmiss + 1);
			x->miss[x->nmiss++] = r->path_id;
			k->nm = 1;
			if (r->older_path && r->older_path < g->n) {
				k->bytes = stored_size(g, r->older_path);
				k->estimated = 1;
			}
			continue;
		}
		graph_walk_start(w);
		graph_walk_push(w, r->path_id);
		while (graph_walk_next(w, &v)) {
			if (!(g->flags[v] & GRAPH_PRESENT)) {
				GROW(x->miss, x->amiss, x->nmiss + 1);
				x->miss[x->nmiss++] = v;
				k->nm++;
				k->bytes += stored_size(g, v);
			}
			graph_walk_push_refs(w, g, v);
		}
	}
}

/* The index from a missing path to the candidates that lack it. */
static void build_index(struct ctx *x)
{
	uint32_t n = x->g->n;
	uint32_t *fill;

	x->ioff = xcalloc((size_t)n + 1, sizeof(*x->ioff));
	x->iadj = xmalloc((x->nmiss ? x->nmiss : 1) * sizeof(*x->iadj));
	for (size_t i = 0; i < x->nmiss; i++)
		x->ioff[x->miss[i] + 1]++;
	for (uint32_t v = 0; v < n; v++)
		x->ioff[v + 1] += x->ioff[v];
	fill = xmalloc(((size_t)n + 1) * sizeof(*fill));
	memcpy(fill, x->ioff, ((size_t)n + 1) * sizeof(*fill));
	for (size_t k = 0; k < x->nc; k++)
		for (uint32_t j = 0; j < x->c[k].nm; j++)
			x->iadj[fill[x->miss[x->c[k].m0 + j]]++] = (uint32_t)k;
	free(fill);
}

/* score = (own value + value of the candidates its push completes) /
 * (1 + GiB pushed). */
static void score(struct ctx *x)
{
	uint32_t *stamp = xcalloc(x->nc ? x->nc : 1, sizeof(*stamp));
	uint32_t *hits = xcalloc(x->nc ? x->nc : 1, sizeof(*hits));

	for (size_t k = 0; k < x->nc; k++) {
		struct cand *c = &x->c[k];
		double completes = 0;
		uint32_t ep = (uint32_t)k + 1;

		for (uint32_t j = 0; j < c->nm; j++) {
			uint32_t p = x->miss[c->m0 + j];
			for (uint32_t e = x->ioff[p]; e < x->ioff[p + 1]; e++) {
				uint32_t o = x->iadj[e];
				if (stamp[o] != ep) {
					stamp[o] = ep;
					hits[o] = 0;
				}
				if (++hits[o] == x->c[o].nm && o != k)
					completes += x->c[o].value;
			}
		}
		c->score = (c->value + completes) / (1.0 + (double)c->bytes / GIB);
	}
	free(stamp);
	free(hits);
}

static const struct cand *sort_base;
static const struct coverage *sort_cv;

static int cmp_rank(const void *a, const void *b)
{
	const struct cand *x = &sort_base[*(const size_t *)a], *y = &sort_base[*(const size_t *)b];
	const struct cov_row *rx = &sort_cv->rows[x->row], *ry = &sort_cv->rows[y->row];
	int c;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	if (x->value != y->value)
		return x->value > y->value ? -1 : 1;
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? -1 : 1;
	if ((c = strcmp(rx->attr, ry->attr)))
		return c;
	if ((c = strcmp(rx->output, ry->output)))
		return c;
	return (rx->column > ry->column) - (rx->column < ry->column);
}

/* The walk in rank order: charged bytes, completions, unlocks. */
static void walk(struct ctx *x)
{
	struct rebuild *rb = x->rb;
	uint8_t *pushed = xcalloc(x->g->n ? x->g->n : 1, 1);
	uint32_t *rem = xmalloc((x->nc ? x->nc : 1) * sizeof(*rem));
	size_t *item_of = xcalloc(x->nc ? x->nc : 1, sizeof(*item_of));

	x->order = xmalloc((x->nc ? x->nc : 1) * sizeof(*x->order));
	x->queued_as = xcalloc(x->nc ? x->nc : 1, sizeof(*x->queued_as));
	for (size_t k = 0; k < x->nc; k++) {
		x->order[k] = k;
		rem[k] = x->c[k].nm;
	}
	sort_base = x->c;
	sort_cv = &rb->cv;
	qsort(x->order, x->nc, sizeof(*x->order), cmp_rank);
	rb->items = xcalloc(x->nc ? x->nc : 1, sizeof(*rb->items));
	for (size_t i = 0; i < x->nc; i++) {
		size_t k = x->order[i];
		struct cand *c = &x->c[k];
		struct rebuild_item *it;

		if (c->nm && !rem[k])
			continue;   /* completed by an item before it */
		it = &rb->items[rb->nqueued++];
		item_of[k] = rb->nqueued;
		x->queued_as[k] = rb->nqueued;
		it->row = c->row;
		it->rank = (unsigned)rb->nqueued;
		it->score = c->score;
		it->value = c->value;
		it->missing_bytes = c->bytes;
		it->missing_paths = c->nm;
		it->bytes_estimated = c->estimated;
		it->survives = -1;
		if (c->estimated)
			it->push_bytes = c->bytes;
		for (uint32_t j = 0; j < c->nm; j++) {
			uint32_t p = x->miss[c->m0 + j];
			if (pushed[p])
				continue;
			pushed[p] = 1;
			if (!c->estimated)
				it->push_bytes += stored_size(x->g, p);
			for (uint32_t e = x->ioff[p]; e < x->ioff[p + 1]; e++) {
				uint32_t o = x->iadj[e];
				if (--rem[o] == 0 && o != k && !item_of[o]) {
					item_of[o] = rb->nqueued;   /* completed by it */
					it->unlocks++;
				}
			}
		}
	}
	/* The completed ones after the queue, in rank order. */
	rb->nitems = rb->nqueued;
	for (size_t i = 0; i < x->nc; i++) {
		size_t k = x->order[i];
		struct rebuild_item *it;
		if (x->queued_as[k])
			continue;   /* queued itself */
		it = &rb->items[rb->nitems++];
		it->row = x->c[k].row;
		it->score = x->c[k].score;
		it->value = x->c[k].value;
		it->missing_bytes = x->c[k].bytes;
		it->missing_paths = x->c[k].nm;
		it->completed_by = item_of[k];
		it->survives = -1;
	}
	free(pushed);
	free(rem);
	free(item_of);
}

/* ---- survival ---------------------------------------------------------- */

struct replay {
	struct gc_world w;
	uint8_t *base;         /* stored as of the last crawl */
	uint8_t *stored;
	uint8_t *victim;       /* per id, of the last selection */
	uint8_t *broken0;      /* per job: broken without the queue */
	struct gc_victims v;
	struct graph_walk walk;
};

/* stored = what the cache holds + the missing paths of the items still
 * queued, pushed (and fetched by CI) now. */
static void replay_stored(struct ctx *x, struct replay *rp)
{
	struct rebuild *rb = x->rb;

	memcpy(rp->stored, rp->base, rp->w.n);
	for (size_t i = 0; i < x->nc; i++) {
		const struct cand *c = &x->c[i];
		if (!x->queued_as[i] || rb->items[x->queued_as[i] - 1].dropped)
			continue;
		for (uint32_t j = 0; j < c->nm; j++) {
			uint32_t p = x->miss[c->m0 + j];
			if (p >= rp->w.n)
				continue;
			rp->stored[p] = 1;
			rp->w.push_time[p] = x->o->at;
			rp->w.access[p] = rp->w.nar_access[p] = x->o->at;
		}
	}
}

static int replay_select(struct ctx *x, struct replay *rp)
{
	struct gc_params gp = {.limit = x->o->limit, .now = x->o->at};

	if (gc_select(&rp->w, x->o->policy, &gp, rp->stored, &rp->v))
		return -1;
	memset(rp->victim, 0, rp->w.n);
	for (size_t i = 0; i < rp->v.n; i++)
		rp->victim[rp->v.v[i].path] = 1;
	return 0;
}

/* Does the whole closure of root stay? */
static int stays(struct replay *rp, uint32_t root)
{
	struct graph_walk *w = &rp->walk;
	uint32_t v;

	if (!root || root >= rp->w.n)
		return 1;
	graph_walk_start(w);
	graph_walk_push(w, root);
	while (graph_walk_next(w, &v)) {
		if (rp->victim[v])
			return 0;
		graph_walk_push_refs(w, &rp->w.g, v);
	}
	return 1;
}

/* The most valuable current job the selection breaks that it did not
 * break without the queue; 0 when none. */
static int caused_breaks(struct replay *rp, int64_t now, double *max_value)
{
	struct gc_breaks b = {0};

	*max_value = 0;
	if (gc_breaks(&rp->w, rp->stored, &rp->v, now, 1, 0, &b)) {
		gc_breaks_release(&b);
		return -1;
	}
	for (size_t i = 0; i < b.njobs; i++) {
		uint32_t j = b.jobs[i];
		if (!rp->broken0[j] && gc_job_value(&rp->w, j) > *max_value)
			*max_value = gc_job_value(&rp->w, j);
	}
	gc_breaks_release(&b);
	return 0;
}

static int survival(struct ctx *x, struct db *db)
{
	struct rebuild *rb = x->rb;
	struct replay rp = {0};
	int ret = -1;

	if (gc_world_load(&rp.w, db, x->o->cache_id, &x->wt, 0))
		goto out;
	rp.base = gc_stored_now(&rp.w);
	rp.stored = xmalloc(rp.w.n ? rp.w.n : 1);
	rp.victim = xcalloc(rp.w.n ? rp.w.n : 1, 1);
	rp.broken0 = xcalloc(rp.w.njobs ? rp.w.njobs : 1, 1);
	graph_walk_init(&rp.walk, rp.w.n);
	for (uint32_t id = 0; id < rp.w.n; id++)
		if (rp.base[id])
			rb->stored_bytes += (uint64_t)gc_size(&rp.w, id);

	/* Without the queue: what the GC takes anyway, and whom it breaks. */
	{
		struct gc_params gp = {.limit = x->o->limit, .now = x->o->at};
		struct gc_breaks b = {0};
		memcpy(rp.stored, rp.base, rp.w.n);
		if (gc_select(&rp.w, x->o->policy, &gp, rp.stored, &rp.v) ||
		    gc_breaks(&rp.w, rp.stored, &rp.v, x->o->at, 1, 0, &b)) {
			gc_breaks_release(&b);
			goto out;
		}
		for (size_t i = 0; i < b.njobs; i++)
			rp.broken0[b.jobs[i]] = 1;
		gc_breaks_release(&b);
	}

	for (int round = 0; round < MAX_DROP_ROUNDS; round++) {
		size_t dropped = 0, least = SIZE_MAX;
		double broken;

		replay_stored(x, &rp);
		if (replay_select(x, &rp))
			goto out;
		for (size_t i = 0; i < rb->nqueued; i++) {
			struct rebuild_item *it = &rb->items[i];
			uint32_t root = rb->cv.rows[it->row].path_id;
			if (it->dropped)
				continue;
			if (!root || root >= rp.w.n || !(rp.w.g.flags[root] & GRAPH_NARINFO)) {
				/* Never in the cache: the model knows neither
				 * its size nor its closure. */
				it->survives = -1;
				continue;
			}
			it->survives = stays(&rp, root);
			if (!it->survives) {
				it->dropped = "gc-takes-it";
				dropped++;
			}
		}
		if (dropped)
			continue;
		if (caused_breaks(&rp, x->o->at, &broken))
			goto out;
		for (size_t i = 0; i < rb->nqueued; i++)
			if (!rb->items[i].dropped &&
			    (least == SIZE_MAX || rb->items[i].value < rb->items[least].value ||
			     (rb->items[i].value == rb->items[least].value && i > least)))
				least = i;
		if (least == SIZE_MAX || broken <= rb->items[least].value)
			break;
		rb->items[least].dropped = "pushes-out-more-valuable";
		rb->items[least].survives = 1;
	}
	rb->victim_bytes = rp.v.bytes;
	ret = 0;
out:
	gc_victims_release(&rp.v);
	graph_walk_release(&rp.walk);
	free(rp.base);
	free(rp.stored);
	free(rp.victim);
	free(rp.broken0);
	gc_world_release(&rp.w);
	return ret;
}

/* Renumber the queue after drops: dropped items keep their place in the
 * list, ranks go to the rest, in order. */
static void rerank(struct rebuild *rb)
{
	unsigned rank = 0;

	for (size_t i = 0; i < rb->nqueued; i++)
		rb->items[i].rank = rb->items[i].dropped ? 0 : ++rank;
	/* What a dropped item would have completed is not pushed either. */
	for (size_t i = rb->nqueued; i < rb->nitems; i++) {
		struct rebuild_item *it = &rb->items[i];
		if (it->completed_by && rb->items[it->completed_by - 1].dropped)
			it->dropped = "completer-dropped";
	}
}

int rebuild_run(struct rebuild *rb, struct db *db, const struct rebuild_opts *o)
{
	struct ctx x = {0};
	struct coverage_opts co = {0};
	int ret = -1;

	memset(rb, 0, sizeof(*rb));
	x.rb = rb;
	x.o = o;
	if (o->weights)
		gc_weights_copy(&x.wt, o->weights);
	else
		gc_weights_init(&x.wt);
	co.cache_id = o->cache_id;
	co.branch = o->branch;
	co.capabilities = o->capabilities;
	co.at = o->at;
	co.skip_signatures = 1;
	co.keep_graph = 1;
	if (coverage_run(&rb->cv, db, &co))
		goto out;
	x.g = rb->cv.graph;
	collect(&x);
	build_index(&x);
	score(&x);
	walk(&x);
	if (o->limit) {
		if (survival(&x, db))
			goto out;
		rerank(rb);
	}
	ret = 0;
out:
	gc_weights_release(&x.wt);
	free(x.c);
	free(x.miss);
	free(x.ioff);
	free(x.iadj);
	free(x.order);
	free(x.queued_as);
	return ret;
}

void rebuild_release(struct rebuild *rb)
{
	coverage_release(&rb->cv);
	free(rb->items);
	free(rb->failed);
	memset(rb, 0, sizeof(*rb));
}
