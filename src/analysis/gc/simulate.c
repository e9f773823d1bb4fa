/*
 * simulate.c - gc_simulate(): the free replay (the recorded pushes of
 * whole closures and the accesses, one GC run per step, per-step figures
 * to a callback) and the anchored comparison (one prediction per crawl
 * interval, from what the earlier crawl saw, against what the later one
 * found gone).  Both drive the engine (engine.c) through eng_advance()
 * and eng_run_pass().
 */
#include "gc_private.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

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
		for (uint32_t j = ev->job0; j < ev->job0 + ev->njobs; j++) {
			/* The priority policy's numbering is kinder to the
			 * caches (see eng_prio_index); same answers. */
			int whole = e->perm
				? gc_whole_in(e->poff, e->padj, e->pstored, e->wstate, e->wstamp, wep,
					      e->fr, e->perm[gc_job_path(w, j)])
				: gc_whole(w, e->stored, e->wstate, e->wstamp, wep, e->fr,
					   gc_job_path(w, j));
			sg->retained += whole != 0;
		}
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
	e.keep_num = 1;    /* gc_simulate() ends with it */
	eng_advance(&e, &c, o->from, NULL);
	e.mode = MODE_FREE;
	while (t < o->to) {
		struct gc_step s;
		int64_t nt = o->to - t > o->step ? t + o->step : o->to;

		memset(&s, 0, sizeof(s));
		e.pushed_paths = e.pushed_bytes = 0;
		sr.ngone = 0;
		out.n = 0;
		out.bytes = 0;
		eng_advance(&e, &c, nt, &sr);
		out.bytes_before = e.bytes;
		eng_run_pass(&e, nt);
		s.time = nt;
		s.pushed_paths = e.pushed_paths;
		s.pushed_bytes = e.pushed_bytes;
		s.evicted_paths = out.n;
		s.evicted_bytes = out.bytes;
		for (size_t i = 0; i < out.n; i++)
			s.evicted_by_reason[out.v[i].reason]++;
		s.stored_paths = e.npaths;
		s.rejected_bytes = gc_rejected_at(w, nt);
		s.stored_bytes = e.bytes + s.rejected_bytes;
		s.recorded_evictions = sr.ngone;
		/* A real cache deletes between crawls; the crawl records it
		 * later: a recorded eviction matches when the simulated cache
		 * does not hold the path either, whenever it let it go. */
		for (size_t i = 0; i < sr.ngone; i++)
			if (!e.stored[sr.gone[i]])
				s.matched_evictions++;
		step_groups(&e, &s, &gs, &ags);
		s.stored = e.stored;
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
	e.keep_num = 1;    /* gc_simulate() ends with it */
	e.rec = xcalloc(n, 1);
	e.base = xcalloc(n, 1);
	for (size_t i = 0; i + 1 < w->ncrawls; i++) {
		int64_t t0 = w->crawl_times[i], t1 = w->crawl_times[i + 1];
		struct gc_match *m;

		if (i == 0)
			eng_advance(&e, &c, t0, NULL);
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
		eng_advance(&e, &c, t1, &sr);
		if (o->policy == GC_CACHIX || o->policy == GC_PRIORITY) {
			uint64_t gone_bytes = 0;
			for (size_t k = 0; k < sr.ngone; k++)
				if (e.base[sr.gone[k]])
					gone_bytes += (uint64_t)gc_size(w, sr.gone[k]);
			e.limit = e.bytes > gone_bytes ? e.bytes - gone_bytes : 0;
		}
		eng_run_pass(&e, t1);
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
		eng_advance(&e, &c, t1, &sr);
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
	/* The two engines share the priority numbering (w->num); the
	 * world's references come back from it unless drop_graph. */
	if (simulate_free(w, o, fn, ctx, res)) {
		if (!o->drop_graph)
			gc_num_release(w);
		return -1;
	}
	simulate_anchored(w, o, res);
	if (!o->drop_graph)
		gc_num_release(w);
	return 0;
}
