/*
 * breaks.c - what deleting victims breaks: whether a closure is wholly
 * stored (also used by the simulation's per-step retained counts), and
 * gc_breaks(), the jobs each victim breaks.  Reads the world only; no
 * engine state.
 */
#include "gc_private.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

/* ---- whole closures and broken jobs ---------------------------------------- */

/*
 * Whether root's closure is wholly in stored (every member stored; a
 * member without a narinfo never is), memoized for the current wepoch in
 * wstate: 1 on the stack, 2 whole, 3 not.  A cycle (only in a forged
 * cache) counts as whole.
 */
int gc_whole(struct gc_world *w, const uint8_t *stored, uint8_t *wstate, uint32_t *wstamp,
	     uint32_t wep, struct graph_frame *fr, uint32_t root)
{
	return gc_whole_in(w->g.off, w->g.adj, stored, wstate, wstamp, wep, fr, root);
}

int gc_whole_in(const uint32_t *off, const uint32_t *adj, const uint8_t *stored, uint8_t *wstate,
		uint32_t *wstamp, uint32_t wep, struct graph_frame *fr, uint32_t root)
{
	size_t sp = 0;

#define WST(v) (wstamp[v] == wep ? wstate[v] : 0)
	if (WST(root) >= 2)
		return WST(root) == 2;
	wstamp[root] = wep;
	wstate[root] = 1;
	fr[sp++] = (struct graph_frame){root, off[root]};
	if (!stored[root])
		fr[0].e = off[root + 1] | 0x80000000u;
	while (sp) {
		struct graph_frame *f = &fr[sp - 1];
		uint32_t end = off[f->v + 1];
		int bad = (f->e & 0x80000000u) != 0;
		uint32_t e = f->e & 0x7fffffffu;
		if (!bad && e < end) {
			uint32_t x = adj[e];
			f->e = e + 1;
			if (!WST(x)) {
				wstamp[x] = wep;
				wstate[x] = 1;
				fr[sp++] = (struct graph_frame){x, off[x] | (stored[x] ? 0 : 0x80000000u)};
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
		if (gc_job_eval(w, v[i]) < gc_job_eval(w, v[old]))
			old = i;
	if (cap && gc_job_eval(w, j) > gc_job_eval(w, v[old]))
		v[old] = j;
}

int gc_breaks(struct gc_world *w, const uint8_t *stored, const struct gc_victims *vs,
	      int64_t now, int current_only, unsigned max_per_victim, struct gc_breaks *out)
{
	const struct graph *g = &w->g;
	size_t n = w->n ? w->n : 1, nv = vs->n, nvis = gc_first_eval_after(w, w->nevals, now);
	uint32_t *vpos = xcalloc(n, sizeof(*vpos));      /* victim index + 1 */
	uint8_t *hasv = xcalloc(n, 1);                   /* 1 yes, 2 no, 0 unknown */
	uint8_t *wstate = xcalloc(n, 1);
	uint32_t *wstamp = xcalloc(n, sizeof(*wstamp));
	uint32_t *seen = xcalloc(n, sizeof(*seen));      /* root walk marks */
	struct graph_frame *fr = xmalloc(n * sizeof(*fr));
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
			uint32_t r = gc_job_path(w, j);
			if (current_only && gc_job_superseded_at(w, j) <= now)
				continue;
			if (first[r] == NONE) {
				/* Whether r's closure holds a victim: depth-first,
				 * decided in postorder, memoized in hasv (0 unknown,
				 * 4 on the stack, 1 yes, 2 no). */
				if (!hasv[r]) {
					struct graph_post p;
					uint32_t x;
					int more;
					graph_post_start(&p, fr, g->off, g->adj);
					hasv[r] = 4;  /* on the stack */
					graph_post_push(&p, r);
					while ((more = graph_post_next(&p, &x)) >= 0) {
						if (more) {
							if (!hasv[x]) {
								hasv[x] = 4;
								graph_post_push(&p, x);
							}
							continue;
						}
						if (hasv[x] == 4) {
							uint8_t h = vpos[x] ? 1 : 2;
							for (uint32_t q = g->off[x]; q < g->off[x + 1]; q++)
								if (hasv[g->adj[q]] == 1)
									h = 1;
							hasv[x] = h;
						}
					}
				}
				if (hasv[r] != 1 || !gc_whole(w, stored, wstate, wstamp, 1, fr, r))
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
			next_epoch(seen, &walk, (uint32_t)n);
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
	for (size_t i = 0; i < nv; i++)
		if (out->off[i + 1] - out->off[i] > 1)
			gc_sort_jobs(w, out->jobs + out->off[i], out->off[i + 1] - out->off[i],
				     GC_JOBS_NEWEST);
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
