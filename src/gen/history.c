/*
 * history.c - the sample world's history: two lines of commits (the
 * unstable line: master, with nixos-unstable and nixpkgs-unstable as
 * lagging channels; the release line, nixos-24.05), the packages each
 * commit bumps (now and then a hub: a mass rebuild), and the evaluations
 * the CI's schedule runs (branch x capability set x frequency).
 */
#include "gen_private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A channel (period > 0) moves every period to the commit of (that time - lag). */
const struct branch gen_branches[] = {
	{"master", 0, 0, 0},
	{"nixos-unstable", 0, 20 * HOUR, 36 * HOUR},
	{"nixpkgs-unstable", 0, 14 * HOUR, 24 * HOUR},
	{"nixos-24.05", 1, 0, 0},
};
_Static_assert(ARRAY_SIZE(gen_branches) == NBRANCHES, "a name for every branch");

const char *const gen_caps_sets[] = {"8.6", "7.5,8.6", "8.0,8.6,8.9,9.0"};
_Static_assert(ARRAY_SIZE(gen_caps_sets) == NCAPS, "NCAPS capability sets");

/* The CI's schedule (after Hercules CI's onSchedule for nixpkgs-cuda-ci):
 * master with 8.6 four times a day on the must-not-break subset and daily
 * in full, other combinations daily or weekly. */
static const struct sched {
	int branch, caps, full, every, offset, hour;
} schedule[] = {
	{B_MASTER, 0, 1, 1, 0, 4},
	{B_MASTER, 0, 0, 1, 0, 0},
	{B_MASTER, 0, 0, 1, 0, 2},
	{B_MASTER, 0, 0, 1, 0, 20},
	{B_MASTER, 0, 0, 1, 0, 22},
	{B_RELEASE, 1, 1, 1, 0, 8},
	{B_NIXOS_UNSTABLE, 0, 1, 7, 0, 6},
	{B_NIXPKGS_UNSTABLE, 0, 1, 7, 3, 6},
	{B_MASTER, 1, 1, 7, 1, 10},
	{B_NIXOS_UNSTABLE, 1, 1, 7, 2, 10},
	{B_NIXPKGS_UNSTABLE, 1, 1, 7, 4, 10},
	{B_MASTER, 2, 1, 7, 5, 12},
};

/* --daily: three branches (both lines) x the three capability sets, each
 * evaluated in full once a day (the simulate benchmark's history). */
static const struct sched daily_schedule[] = {
	{B_MASTER, 0, 1, 1, 0, 0},
	{B_MASTER, 1, 1, 1, 0, 1},
	{B_MASTER, 2, 1, 1, 0, 2},
	{B_NIXPKGS_UNSTABLE, 0, 1, 1, 0, 6},
	{B_NIXPKGS_UNSTABLE, 1, 1, 1, 0, 7},
	{B_NIXPKGS_UNSTABLE, 2, 1, 1, 0, 8},
	{B_RELEASE, 0, 1, 1, 0, 12},
	{B_RELEASE, 1, 1, 1, 0, 13},
	{B_RELEASE, 2, 1, 1, 0, 14},
};

/* Mass rebuilds: hubs bumped every period days from day first (in the
 * default 28 days: python on day 6, staging-next on day 14, the release's
 * security fix on day 17, a CUDA update on day 22). */
static const struct {
	int line;
	double first, period;
	const char *attrs;
} mass_bumps[] = {
	{0, 6.2, 30, "python3 python3Packages.numpy"},
	{0, 14, 14, "glibc gcc"},
	{0, 21.8, 42, "cudaPackages.cuda_cudart cudaPackages.libcublas cudaPackages.cudnn "
		       "cudaPackages.cuda_nvcc cudaPackages.libcufft cudaPackages.libcurand "
		       "cudaPackages.libcusparse cudaPackages.libcusolver cudaPackages.cuda_cupti"},
	{1, 16.8, 30, "libxml2 libjpeg"},
};

/* ---- commits and bumps --------------------------------------------- */

static uint32_t commit_at(const struct line *l, int64_t t)
{
	uint32_t lo = 0, hi = l->ncommits;   /* first commit with time > t */

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (l->time[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : 0;
}

/* (package, commit) pairs of one line's bumps, in the order made. */
struct bump_list {
	uint32_t *pkg, *commit;
	size_t n, pkg_alloc, commit_alloc;
};

static void add_bump(struct bump_list *bl, uint32_t p, uint32_t c)
{
	GROW(bl->pkg, bl->pkg_alloc, bl->n + 1);
	GROW(bl->commit, bl->commit_alloc, bl->n + 1);
	bl->pkg[bl->n] = p;
	bl->commit[bl->n++] = c;
}

/*
 * Each package but the hubs is bumped as a Poisson process whose rate
 * falls with its reach: leaves change often, what much depends on rarely
 * (nixpkgs' staging).  So the share of the world one commit rebuilds does
 * not depend on the world's size.
 */
#define BUMP_REACH 8.0
static void random_bumps(const struct world *w, int li, struct bump_list *bl)
{
	static const double rate[NLINES] = {0.003, 0.002};   /* per commit, leaves */
	const struct line *l = &w->lines[li];

	for (uint32_t p = w->nhubs; p < w->npkgs; p++) {
		double reach = w->pkgs[p].reach;
		double q = rate[li] * (reach > BUMP_REACH ? BUMP_REACH / reach : 1.0);
		double lq = log1p(-q);
		uint64_t c = 0;

		/* geometric gaps between bumps */
		for (uint32_t k = 0;; k++) {
			double u = unit(h4(w->seed, T_BUMP, (uint64_t)li << 32 | p, k));
			double gap = floor(log(u > 1e-300 ? u : 1e-300) / lq);
			if (!(gap < (double)l->ncommits) || c + (uint64_t)gap >= l->ncommits)
				break;
			c += (uint64_t)gap;
			add_bump(bl, p, (uint32_t)c);
			c++;
		}
	}
}

/* The hubs move only in the mass rebuilds of mass_bumps. */
static void mass_rebuilds(const struct world *w, int li, struct bump_list *bl)
{
	for (size_t m = 0; m < ARRAY_SIZE(mass_bumps); m++) {
		if (mass_bumps[m].line != li)
			continue;
		for (double day = mass_bumps[m].first; day < w->days; day += mass_bumps[m].period) {
			uint32_t c = commit_at(&w->lines[li], w->start + (int64_t)(day * DAY));
			const char *s = mass_bumps[m].attrs, *a;
			size_t len;

			while ((a = gen_next_word(&s, &len))) {
				uint32_t p = gen_find_attr(w, a, len);
				if (p == NONE)
					BUG("gen: unknown mass bump '%.*s'", (int)len, a);
				add_bump(bl, p, c);
			}
		}
	}
}

/* Each package's bumps on line li, sorted, into l->bumps: a counting sort
 * by package; commits stay ordered within one package because pairs come
 * in commit order, except the mass bumps, so sort each package's run
 * afterwards. */
static void index_bumps(struct world *w, int li, const struct bump_list *bl)
{
	struct line *l = &w->lines[li];
	uint32_t *count = xcalloc(w->npkgs + 1, sizeof(*count));

	for (size_t i = 0; i < bl->n; i++)
		count[bl->pkg[i] + 1]++;
	for (uint32_t p = 0; p < w->npkgs; p++) {
		count[p + 1] += count[p];
		w->pkgs[p].bump_off[li] = count[p];
		w->pkgs[p].nbump[li] = 0;
	}
	l->bumps = xmalloc((bl->n ? bl->n : 1) * sizeof(*l->bumps));
	l->nbumps = bl->n;
	for (size_t i = 0; i < bl->n; i++) {
		struct pkg *p = &w->pkgs[bl->pkg[i]];
		l->bumps[p->bump_off[li] + p->nbump[li]++] = bl->commit[i];
	}
	for (uint32_t p = 0; p < w->npkgs; p++) {
		uint32_t *b = l->bumps + w->pkgs[p].bump_off[li];
		uint32_t n = w->pkgs[p].nbump[li];
		for (uint32_t i = 1; i < n; i++)   /* insertion sort: tiny runs */
			for (uint32_t j = i; j > 0 && b[j - 1] > b[j]; j--) {
				uint32_t t = b[j];
				b[j] = b[j - 1];
				b[j - 1] = t;
			}
	}
	free(count);
}

/* Commits and what they change, for each line. */
void gen_build_lines(struct world *w)
{
	static const int64_t step[NLINES] = {3 * HOUR, 12 * HOUR};
	int64_t first = w->start - 3 * DAY;

	for (int li = 0; li < NLINES; li++) {
		struct line *l = &w->lines[li];
		struct bump_list bl = {0};

		l->ncommits = (uint32_t)(((int64_t)w->days + 4) * DAY / step[li]);
		l->time = xmalloc(l->ncommits * sizeof(*l->time));
		for (uint32_t c = 0; c < l->ncommits; c++) {
			uint64_t h = h4(w->seed, T_COMMIT, (uint64_t)li, c);
			l->time[c] = first + (int64_t)c * step[li] +
				     (int64_t)(unit(h2(h, 2)) * (double)(step[li] - 600));
		}
		random_bumps(w, li, &bl);
		mass_rebuilds(w, li, &bl);
		index_bumps(w, li, &bl);
		free(bl.pkg);
		free(bl.commit);
	}
}

/* How many times p was bumped on line li up to and including commit c. */
uint32_t gen_bumps_until(const struct world *w, uint32_t p, int li, uint32_t c)
{
	const uint32_t *b = w->lines[li].bumps + w->pkgs[p].bump_off[li];
	uint32_t lo = 0, hi = w->pkgs[p].nbump[li];

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (b[mid] <= c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* ---- the schedule -------------------------------------------------- */

static uint32_t branch_commit(const struct world *w, int b, int64_t t)
{
	const struct branch *br = &gen_branches[b];

	if (br->period) {
		int64_t k = (t - w->start) / br->period;
		t = w->start + k * br->period - br->lag;
	}
	return commit_at(&w->lines[br->line], t);
}

static int cmp_eval(const void *a, const void *b)
{
	const struct eval *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	if (x->branch != y->branch)
		return x->branch - y->branch;
	return x->caps - y->caps;
}

/* Evaluations in time order.  Two scheduled runs of the same branch,
 * revision and capabilities are one evaluation (the first), with the
 * union of their job sets: the files are named by that triple. */
void gen_build_evals(struct world *w)
{
	size_t alloc = 0, n = 0, last[NBRANCHES][NCAPS];
	struct eval *ev = NULL;
	const struct sched *sched = w->daily ? daily_schedule : schedule;
	size_t nsched = w->daily ? ARRAY_SIZE(daily_schedule) : ARRAY_SIZE(schedule);

	for (unsigned d = 0; d < w->days; d++) {
		for (size_t s = 0; s < nsched; s++) {
			const struct sched *sc = &sched[s];
			struct eval e;
			if (d < (unsigned)sc->offset || (d - (unsigned)sc->offset) % (unsigned)sc->every)
				continue;
			e.time = w->start + (int64_t)d * DAY + sc->hour * HOUR +
				 (int64_t)(h4(w->seed, T_EVAL, d, s) % (20 * 60));
			e.branch = (uint8_t)sc->branch;
			e.line = (uint8_t)gen_branches[sc->branch].line;
			e.caps = (uint8_t)sc->caps;
			e.full = (uint8_t)sc->full;
			e.commit = branch_commit(w, sc->branch, e.time);
			GROW(ev, alloc, n + 1);
			ev[n++] = e;
		}
	}
	qsort(ev, n, sizeof(*ev), cmp_eval);
	/* A branch's commit never goes back in time, so a repeat can only be
	 * the latest evaluation of the same branch and capability set. */
	for (size_t b = 0; b < NBRANCHES; b++)
		for (size_t c = 0; c < NCAPS; c++)
			last[b][c] = SIZE_MAX;
	w->nevals = 0;
	for (size_t i = 0; i < n; i++) {
		size_t *l = &last[ev[i].branch][ev[i].caps];
		if (*l != SIZE_MAX && ev[*l].commit == ev[i].commit) {
			ev[*l].full |= ev[i].full;
			continue;
		}
		*l = w->nevals;
		ev[w->nevals++] = ev[i];
	}
	w->evals = ev;
}
