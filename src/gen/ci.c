/*
 * ci.c - the CI run of the sample world: every evaluation, in time order,
 * hashes each package like Nix does (own version, the capability set when
 * the package is compiled for it, its inputs' hashes), creates the
 * derivations and store paths not seen before, builds the closure of its
 * jobs and pushes what is new into a size-limited LRU cache that collects
 * garbage at each evaluation.  Also the world's lifetime (init, build,
 * release).
 *
 * Memory is flat arrays: per package, per derivation, per store path and
 * one reference array; no allocation per path.
 */
#include "gen_private.h"

#include <stdlib.h>
#include <string.h>

/* ---- derivations, store paths, the cache ---------------------------- */

static uint32_t lookup(const struct world *w, uint64_t ident)
{
	size_t mask = w->table_size - 1, i = (size_t)ident & mask;

	for (;;) {
		uint32_t d = w->table[i];
		if (d == NONE || w->drvs[d].ident == ident)
			return d;
		i = (i + 1) & mask;
	}
}

static void table_insert(struct world *w, uint32_t d)
{
	size_t mask = w->table_size - 1, i = (size_t)w->drvs[d].ident & mask;

	while (w->table[i] != NONE)
		i = (i + 1) & mask;
	w->table[i] = d;
}

static void table_grow(struct world *w)
{
	size_t n = w->table_size ? w->table_size * 2 : 1024;

	free(w->table);
	w->table = xmalloc(n * sizeof(*w->table));
	memset(w->table, 0xff, n * sizeof(*w->table));
	w->table_size = n;
	for (size_t d = 0; d < w->ndrvs; d++)
		table_insert(w, (uint32_t)d);
}

/* The store path other packages refer to of a built derivation x: its
 * lib output when it has one, else out (outputs are stored in O_ order
 * from x->path0). */
static uint32_t main_path(const struct world *w, const struct drv *x)
{
	unsigned outs = w->pkgs[x->pkg].outs, o = outs & OB_LIB ? O_LIB : O_OUT;

	return x->path0 + (uint32_t)__builtin_popcount(outs & ((1u << o) - 1));
}

static void lru_unlink(struct world *w, uint32_t d)
{
	struct drv *x = &w->drvs[d];

	if (x->prev != NONE)
		w->drvs[x->prev].next = x->next;
	else
		w->lru_head = x->next;
	if (x->next != NONE)
		w->drvs[x->next].prev = x->prev;
	else
		w->lru_tail = x->prev;
	x->prev = x->next = NONE;
}

static void lru_append(struct world *w, uint32_t d)
{
	struct drv *x = &w->drvs[d];

	x->prev = w->lru_tail;
	x->next = NONE;
	if (w->lru_tail != NONE)
		w->drvs[w->lru_tail].next = d;
	else
		w->lru_head = d;
	w->lru_tail = d;
}

/* Collect garbage at time t: evict least recently used derivations
 * (pushed by then) while the cache is over its limit. */
static void cache_gc(struct world *w, int64_t t)
{
	while (w->cache_bytes > w->limit && w->lru_head != NONE) {
		uint32_t d = w->lru_head;
		if (w->drvs[d].push > t)
			break;
		lru_unlink(w, d);
		w->drvs[d].state = C_OUT;
		w->cache_bytes -= w->drvs[d].bytes;
		w->evictions++;
	}
}

/* An evaluation at t used d: keep it fresh, or push it (again). */
static void cache_touch(struct world *w, uint32_t d, int64_t t)
{
	struct drv *x = &w->drvs[d];

	if (x->state == C_IN) {
		lru_unlink(w, d);
		lru_append(w, d);
		return;
	}
	if (x->state == C_NEVER)
		x->push = x->built;
	else   /* evicted and needed again: the CI pushes it once more */
		x->push = t + 300 + (int64_t)(h3(x->ident, T_REPUSH, (uint64_t)t) % 2400);
	x->state = C_IN;
	w->cache_bytes += x->bytes;
	w->pushes++;
	lru_append(w, d);
}

/* The hash of package p's own version (line li, vcount bumps): what its
 * derivation's identity starts from. */
static uint64_t own_hash(const struct world *w, uint32_t p, int li, uint32_t vcount)
{
	return h4(w->seed, T_OWN, p, (uint64_t)li << 32 | vcount);
}

/* x folded with the hashes of pk's inputs (in w->hash), as Nix's input
 * hashing takes every input's. */
static uint64_t hash_inputs(const struct world *w, const struct pkg *pk, uint64_t x)
{
	for (uint32_t j = 0; j < pk->ndeps; j++)
		x = h2(x, w->hash[dep_pkg(w, pk, j)]);
	return x;
}

/* The identity that decides a content-stable package's bytes: its hash
 * without the capability set. */
static uint64_t content_key(const struct world *w, uint32_t p, uint64_t own)
{
	return hash_inputs(w, &w->pkgs[p], h2(own, T_CONTENT));
}

static void add_ref(struct world *w, uint32_t path)
{
	GROW(w->refs, w->refs_alloc, w->nrefs + 1);
	w->refs[w->nrefs++] = path;
}

/* Create the derivation of package p in the evaluation ev (its inputs'
 * derivations are in w->drvidx).  Returns its index. */
static uint32_t drv_create(struct world *w, uint32_t p, uint64_t ident, uint64_t own,
			   uint32_t vcount, const struct eval *ev)
{
	const struct pkg *pk = &w->pkgs[p];
	uint32_t d = (uint32_t)w->ndrvs;
	struct drv *x;
	double minutes;
	uint64_t h = h2(ident, T_BUILD);
	int status = S_OK;

	if ((w->ndrvs + 1) * 2 > w->table_size)
		table_grow(w);
	GROW(w->drvs, w->drvs_alloc, w->ndrvs + 1);
	x = &w->drvs[w->ndrvs++];
	memset(x, 0, sizeof(*x));
	x->ident = ident;
	x->content = pk->flags & PF_CSTABLE ? content_key(w, p, own) : ident;
	x->pkg = p;
	x->vcount = (uint16_t)vcount;
	x->line = ev->line;
	x->prev = x->next = NONE;
	x->path0 = NONE;
	table_insert(w, d);

	for (uint32_t j = 0; j < pk->ndeps; j++) {
		uint32_t dd = w->drvidx[dep_pkg(w, pk, j)];
		if (w->drvs[dd].status != S_OK)
			status = S_DEPFAIL;
	}
	minutes = 3 + 3.0 * pk->depth + pk->build_min * (0.7 + 0.8 * unit(h));
	if (status == S_OK) {
		/* what many packages use is kept building: failures are
		 * mostly at the leaves */
		double pf = (pk->kind == K_CUDA ? 0.02 : pk->kind == K_BASE ? 0.008 : 0) *
			    3.0 / (2.0 + pk->reach);
		if (unit(h2(h, 1)) < pf)
			status = pk->build_min > 60 && unit(h2(h, 2)) < 0.4 ? S_TIMEOUT : S_FAILED;
	}
	switch (status) {
	case S_OK:
		break;
	case S_FAILED:
		minutes *= 0.5;
		break;
	case S_TIMEOUT:
		minutes = 600;
		break;
	default:
		minutes = 0;
	}
	x->built = ev->time + (int64_t)(minutes * 60) + (int64_t)(h2(h, 3) % 60);
	x->status = (uint8_t)status;
	GROW(w->builds, w->builds_alloc, w->nbuilds + 1);
	w->builds[w->nbuilds].time = x->built;
	w->builds[w->nbuilds++].drv = d;
	if (status != S_OK)
		return d;

	x->path0 = (uint32_t)w->npaths;
	for (unsigned o = 0; o < NOUTS; o++) {
		struct path *pa;
		uint64_t ck = h2(x->content, o), hs = h2(ck, T_SIZE);
		double share = o == O_DEV ? 0.03 : !(pk->outs & OB_LIB) ? 1.0
			       : o == O_LIB ? 0.65 : 0.35;
		double nar, u = unit(h2(ck, T_COMP));

		if (!(pk->outs & (1u << o)))
			continue;
		GROW(w->paths, w->paths_alloc, w->npaths + 1);
		pa = &w->paths[w->npaths++];
		memset(pa, 0, sizeof(*pa));
		pa->drv = d;
		pa->out = (uint8_t)o;
		nar = pk->size * share * (0.95 + 0.1 * unit(hs));
		if (nar < 120)
			nar = 120;
		pa->nar_size = ((uint64_t)nar + 7) & ~(uint64_t)7;  /* NARs pad to 8 */
		pa->comp = (uint8_t)(u < 0.88 ? Z_XZ : u < 0.93 ? Z_ZSTD : u < 0.95 ? Z_BZIP2
				     : Z_ABSENT);
		pa->file_size = (uint64_t)((double)pa->nar_size * pk->ratio *
					   (0.9 + 0.2 * unit(h2(hs, 1))) *
					   (pa->comp == Z_ZSTD ? 1.1 : pa->comp == Z_XZ ? 1.0 : 1.15));
		if (pa->file_size < 64)
			pa->file_size = 64;
		u = unit(h3(ident, T_DERIVER, o));
		pa->deriver = (uint8_t)(u < 0.80 ? 1 : u < 0.82 ? 2 : 0);
		x->bytes += pa->file_size;
		w->total_bytes += pa->file_size;

		pa->ref_off = (uint32_t)w->nrefs;
		for (uint32_t j = 0; j < pk->ndeps; j++) {
			uint32_t dep = w->deps[pk->dep_off + j];
			const struct drv *dx;
			if (!(dep & DEP_RUNTIME))
				continue;
			dx = &w->drvs[w->drvidx[dep & ~DEP_RUNTIME]];
			add_ref(w, main_path(w, dx));
		}
		if (o == O_DEV || (o == O_OUT && (pk->outs & OB_LIB)))
			add_ref(w, main_path(w, x));
		if (o != O_DEV && (pk->flags & PF_SELFREF))
			add_ref(w, (uint32_t)(w->npaths - 1));
		pa->nref = (uint16_t)(w->nrefs - pa->ref_off);
	}
	return d;
}

int gen_eval_error(const struct world *w, uint32_t p, int line, uint32_t vcount)
{
	return (w->pkgs[p].flags & PF_LEAF) && (w->pkgs[p].flags & PF_JOB) &&
	       unit(h4(w->seed, T_ERR, p, (uint64_t)line << 32 | vcount)) < 0.012;
}

/* ---- the simulation ---------------------------------------------- */

/*
 * Run every evaluation in time order.  Those at or before as_of use the
 * cache (GC, touch, push) and, when o is given, write their files; later
 * ones only create derivations, so the history's totals are known.
 * Returns 0 or -1 (reported).
 */
int gen_simulate(struct world *w, struct outputs *o, struct progress *pr)
{
	w->hash = xmalloc(w->npkgs * sizeof(*w->hash));
	w->drvidx = xmalloc(w->npkgs * sizeof(*w->drvidx));
	w->need = xmalloc(w->npkgs);
	w->lru_head = w->lru_tail = NONE;
	if (!w->table_size)
		table_grow(w);

	for (size_t e = 0; e < w->nevals; e++) {
		const struct eval *ev = &w->evals[e];
		int live = !w->simulate_only && ev->time <= w->as_of;
		unsigned mask = ev->full ? PF_JOB : PF_MNB;

		if (pr)
			progress_update(pr, e);
		if (live)
			cache_gc(w, ev->time);
		for (uint32_t p = 0; p < w->npkgs; p++) {
			const struct pkg *pk = &w->pkgs[p];
			uint32_t vc = gen_bumps_until(w, p, ev->line, ev->commit);
			uint64_t x = own_hash(w, p, ev->line, vc);

			if (pk->flags & PF_CAPS)
				x = h3(x, T_CAPS, ev->caps);
			w->hash[p] = hash_inputs(w, pk, x);
			w->need[p] = (pk->flags & mask) && !gen_eval_error(w, p, ev->line, vc);
		}
		for (uint32_t p = w->npkgs; p-- > 0;) {
			const struct pkg *pk = &w->pkgs[p];
			if (!w->need[p])
				continue;
			for (uint32_t j = 0; j < pk->ndeps; j++)
				w->need[dep_pkg(w, pk, j)] = 1;
		}
		for (uint32_t p = 0; p < w->npkgs; p++) {
			uint32_t d;
			if (!w->need[p])
				continue;
			d = lookup(w, w->hash[p]);
			if (d == NONE) {
				uint32_t vc = gen_bumps_until(w, p, ev->line, ev->commit);
				uint64_t own = own_hash(w, p, ev->line, vc);
				d = drv_create(w, p, w->hash[p], own, vc, ev);
			}
			w->drvidx[p] = d;
			if (live && w->drvs[d].status == S_OK)
				cache_touch(w, d, ev->time);
		}
		if (live && o && gen_write_eval(w, o, ev))
			return -1;
	}
	return 0;
}

void gen_world_init(struct world *w, const struct gen_options *opt, int64_t as_of)
{
	memset(w, 0, sizeof(*w));
	w->seed = mix64(opt->seed ^ 0xc0dec0dec0deULL);
	w->start = opt->start;
	w->days = opt->days;
	w->daily = opt->daily;
	w->end = opt->start + (int64_t)opt->days * DAY;
	w->as_of = as_of;
}

void gen_world_release(struct world *w)
{
	strbuf_release(&w->pool);
	free(w->pkgs);
	free(w->deps);
	for (int i = 0; i < NLINES; i++) {
		free(w->lines[i].time);
		free(w->lines[i].bumps);
	}
	free(w->evals);
	free(w->drvs);
	free(w->paths);
	free(w->refs);
	free(w->table);
	free(w->builds);
	free(w->hash);
	free(w->drvidx);
	free(w->need);
	memset(w, 0, sizeof(*w));
}

void gen_world_build(struct world *w, uint32_t npkgs)
{
	gen_build_packages(w, npkgs);
	gen_build_lines(w);
	gen_build_evals(w);
}
