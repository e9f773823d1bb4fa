/*
 * report_history.c - the report's figures over time (stored bytes,
 * staleness, half-life), its closure tables, and the GC policies' match
 * with the recorded evictions, from what report.c loaded.
 *
 * "Whole" at a crawl: present as of its time (an episode with first_seen
 * <= t and not gone by t, as coverage replays presence), with a narinfo,
 * and every reference whole.  One post-order walk per crawl decides each
 * path once, so a crawl costs at most the size of the graph.
 */
#include <stdlib.h>
#include <string.h>

#include "analysis/report.h"
#include "lib/util.h"
#include "report_private.h"

int rctx_cmp_id(const void *a, const void *b, void *vr)
{
	const struct report *r = vr;
	int64_t x = r->evals[*(const uint32_t *)a].id, y = r->evals[*(const uint32_t *)b].id;

	return x < y ? -1 : x > y;
}

int rctx_cmp_day(const void *a, const void *b)
{
	int64_t x = ((const struct report_day *)a)->day, y = ((const struct report_day *)b)->day;

	return x < y ? -1 : x > y;
}

uint32_t rctx_eval_index(const struct report *r, const struct rctx *c, int64_t id)
{
	size_t lo = 0, hi = r->nevals;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int64_t v = r->evals[c->by_id[mid]].id;
		if (v == id)
			return c->by_id[mid];
		if (v < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return UINT32_MAX;
}

static int64_t stored_size(const struct graph *g, uint32_t v)
{
	return g->file_size[v] >= 0 ? g->file_size[v] : g->nar_size[v];
}

/* present[v] = 1 for paths present as of t. */
static void present_at(const struct rctx *c, int64_t t, uint8_t *present)
{
	memset(present, 0, c->g.n);
	for (size_t i = 0; i < c->neps; i++) {
		const struct rep_episode *e = &c->eps[i];
		if (e->first <= t && (e->gone < 0 || e->gone > t))
			present[e->path] = 1;
	}
}

#define W_UNKNOWN 0
#define W_WHOLE 1
#define W_BROKEN 2
#define W_OPEN 3       /* entered, not yet decided */

static int whole_of(const struct graph *g, const uint8_t *present, uint8_t *state,
		    struct graph_frame *fr, uint32_t v)
{
	struct graph_post p;
	uint32_t x;
	int k;

	if (!v || v >= g->n)
		return 0;
	if (state[v] != W_UNKNOWN)
		return state[v] == W_WHOLE;
	graph_post_start(&p, fr, g->off, g->adj);
	state[v] = W_OPEN;
	graph_post_push(&p, v);
	while ((k = graph_post_next(&p, &x)) >= 0) {
		int ok;
		if (k) {
			if (state[x] == W_UNKNOWN) {
				state[x] = W_OPEN;
				graph_post_push(&p, x);
			}
			continue;
		}
		ok = present[x] && (g->flags[x] & GRAPH_NARINFO);
		for (uint32_t e = g->off[x]; ok && e < g->off[x + 1]; e++)
			if (state[g->adj[e]] == W_BROKEN)
				ok = 0;
		state[x] = ok ? W_WHOLE : W_BROKEN;
	}
	return state[v] == W_WHOLE;
}

/* Jobs of evaluation e whole in state: a job is whole when it has
 * outputs and every one of them is. */
static size_t jobs_whole(const struct report *r, const struct rctx *c, size_t e,
			 const uint8_t *present, uint8_t *state, struct graph_frame *fr)
{
	size_t n = 0;

	(void)r;
	for (size_t j = c->job0[e]; j < c->job0[e + 1]; j++) {
		int ok = c->pend[j] > c->poff[j];
		for (size_t p = c->poff[j]; ok && p < c->pend[j]; p++)
			ok = whole_of(&c->g, present, state, fr, c->paths[p]);
		n += (size_t)ok;
	}
	return n;
}

static int served(size_t whole, size_t jobs)
{
	return jobs && (double)whole >= REPORT_SERVED_SHARE * (double)jobs;
}

void rctx_history(struct report *r, struct rctx *c)
{
	size_t n = c->g.n ? c->g.n : 1;
	uint8_t *present = xcalloc(n, 1), *state = xcalloc(n, 1);
	struct graph_frame *fr = xmalloc(n * sizeof(*fr));
	size_t *whole = xcalloc(r->nevals + 1, sizeof(*whole));

	for (size_t k = 0; k < r->ncrawls; k++) {
		struct report_crawl *cr = &r->crawls[k];
		int64_t t = cr->time;

		present_at(c, t, present);
		memset(state, 0, n);
		/* Refused narinfos' files are stored bytes too. */
		cr->rejected_bytes = rejected_bytes_at(&c->rej, t);
		cr->stored_bytes = cr->rejected_bytes;
		for (uint32_t v = 1; v < c->g.n; v++) {
			if (!present[v])
				continue;
			cr->stored_paths++;
			cr->stored_bytes += (uint64_t)stored_size(&c->g, v);
		}
		for (size_t e = 0; e < r->nevals; e++) {
			struct report_eval *ev = &r->evals[e];
			if (ev->time > t)
				continue;
			whole[e] = jobs_whole(r, c, e, present, state, fr);
			ev->whole_last = whole[e];
			if (served(whole[e], ev->jobs)) {
				if (ev->reached < 0)
					ev->reached = t;
			} else if (ev->reached >= 0 && ev->below < 0) {
				ev->below = t;
				ev->half_life = (double)(t - ev->time) / 86400.0;
			}
		}
		/* Staleness: evaluations are sorted by group, then time. */
		for (size_t e = r->nevals; e-- > 0;) {
			struct report_eval *ev = &r->evals[e];
			struct report_cell *cell = &r->cells[k * r->ngroups + ev->group];
			if (ev->time > t || cell->served_eval || !served(whole[e], ev->jobs))
				continue;
			cell->served_eval = ev->id;
			cell->stale = t - ev->time;
		}
	}
	free(whole);
	free(fr);
	free(state);
	free(present);
}

static int cmp_largest(const void *a, const void *b)
{
	const struct report_top *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->paths != y->paths)
		return x->paths > y->paths ? -1 : 1;
	return x->path < y->path ? -1 : x->path > y->path;
}

static int cmp_depended(const void *a, const void *b)
{
	const struct report_top *x = a, *y = b;

	if (x->paths != y->paths)
		return x->paths > y->paths ? -1 : 1;
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	return x->path < y->path ? -1 : x->path > y->path;
}

void rctx_closures(struct report *r, struct rctx *c)
{
	const struct coverage *cv = &r->now;
	size_t n = c->g.n ? c->g.n : 1, ntop = 0;
	uint8_t *seen = xcalloc(n, 1), *present = xcalloc(n, 1);
	uint32_t *dependants = xcalloc(n, sizeof(*dependants));
	struct report_top *tops = xmalloc((cv->nrows + 1) * sizeof(*tops));
	const char **attr_of = xcalloc(n, sizeof(*attr_of)), **out_of = xcalloc(n, sizeof(*out_of));
	struct closure cl = {0};

	present_at(c, r->to, present);
	for (size_t i = 0; i < cv->nrows; i++) {
		const struct cov_row *row = &cv->rows[i];
		uint32_t v = row->path_id;
		if (!v || v >= c->g.n || seen[v])
			continue;
		seen[v] = 1;
		attr_of[v] = row->attr;
		out_of[v] = row->output;
		tops[ntop].path = v;
		tops[ntop].attr = row->attr;
		tops[ntop].output = row->output;
		tops[ntop].bytes = row->closure_bytes;
		tops[ntop].paths = row->closure_paths;
		tops[ntop].present = present[v];
		ntop++;
		graph_closure(&c->g, &v, 1, &cl);
		for (size_t m = 0; m < cl.n; m++)
			if (cl.ids[m] != v)
				dependants[cl.ids[m]]++;
	}
	r->outputs = ntop;
	qsort(tops, ntop, sizeof(*tops), cmp_largest);
	r->nlargest = ntop < REPORT_TOP ? ntop : REPORT_TOP;
	memcpy(r->largest, tops, r->nlargest * sizeof(*tops));

	/* Most depended on: by outputs depending on it, then size. */
	free(tops);
	tops = xmalloc(n * sizeof(*tops));
	ntop = 0;
	for (uint32_t v = 1; v < c->g.n; v++) {
		if (!dependants[v])
			continue;
		tops[ntop].path = v;
		tops[ntop].attr = attr_of[v];
		tops[ntop].output = out_of[v];
		tops[ntop].bytes = (uint64_t)stored_size(&c->g, v);
		tops[ntop].paths = dependants[v];
		tops[ntop].present = present[v];
		ntop++;
	}
	qsort(tops, ntop, sizeof(*tops), cmp_depended);
	if (ntop > REPORT_TOP)
		ntop = REPORT_TOP;
	memcpy(r->depended, tops, ntop * sizeof(*tops));
	r->ndepended = ntop;
	closure_release(&cl);
	free(attr_of);
	free(out_of);
	free(tops);
	free(dependants);
	free(present);
	free(seen);
}

int report_policies(struct report *r, struct db *db, const struct report_opts *o)
{
	struct gc_world w;
	int64_t from, to = o->to;
	int ret = -1;

	r->npolicies = 0;
	if (gc_world_load(&w, db, o->cache_id, NULL, GC_LOAD_HISTORY))
		goto out;
	ret = 0;
	if (!w.npushes || r->ncrawls < 2)
		goto out;
	from = o->from != INT64_MIN ? o->from : w.pushes.time[0];
	if (from >= to)
		goto out;
	for (int p = 0; p < GC_NPOLICIES; p++) {
		struct gc_sim_opts so;
		struct gc_sim_result res;
		struct report_policy *rp = &r->policies[r->npolicies];

		memset(&so, 0, sizeof(so));
		so.policy = (enum gc_policy)p;
		/* The match asks limit-based policies for the bytes a crawl found
		 * gone, whatever the limit; the one replayed step needs one. */
		so.params.limit = o->limit ? o->limit : (uint64_t)INT64_MAX;
		so.params.retention = (int64_t)(p == GC_ATTIC ? GC_ATTIC_RETENTION_DAYS
						: GC_NIKS3_RETENTION_DAYS) * 86400;
		so.params.access_model = GC_ACCESS_AUTO;
		so.from = from;
		so.to = to;
		so.step = to - from;
		if (gc_simulate(&w, &so, NULL, NULL, &res)) {
			gc_sim_result_release(&res);
			ret = -1;
			goto out;
		}
		rp->policy = so.policy;
		rp->retention = p == GC_ATTIC || p == GC_NIKS3 ? so.params.retention : 0;
		rp->intervals = res.nmatch;
		rp->predicted = res.predicted;
		rp->recorded = res.recorded;
		rp->matched = res.matched;
		r->npolicies++;
		gc_sim_result_release(&res);
	}
out:
	gc_world_release(&w);
	return ret;
}

void rctx_release(struct rctx *c)
{
	graph_release(&c->g);
	free(c->eps);
	free(c->by_id);
	free(c->job0);
	free(c->poff);
	free(c->pend);
	free(c->paths);
	rejected_series_release(&c->rej);
	memset(c, 0, sizeof(*c));
}
