/*
 * plan.c - building an eviction plan: the classes of present paths from
 * the evaluations, the GC model's proposal, closure-safe selection down
 * to the limit, reasons and the jobs a plan breaks.  Reads the database,
 * changes nothing (plan_store.c stores plans).  See evict.h.
 */
#include "analysis/evict.h"

#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/stmt.h"
#include "analysis/gc.h"
#include "analysis/graph.h"
#include "store/meta.h"
#include "store/rejected.h"
#include "nix/nixhash.h"
#include "lib/util.h"
#include "lib/hash.h"
#include "lib/hashmap.h"

enum {
	Q_EVALS,
	Q_JOB_ROOTS,
	Q_PUSH_TIMES,
	Q_BROKEN_JOBS,
	Q_PATH_BASE,
	Q_PATH_URL,
	Q_CACHE_URL,
	Q_LAST_CRAWL,
	Q_N
};
static const char *const sql[Q_N] = {
	[Q_EVALS] =
		"SELECT e.id, e.time, e.branch, e.capabilities, NOT EXISTS ("
		" SELECT 1 FROM evaluations f WHERE f.branch = e.branch"
		" AND f.capabilities = e.capabilities AND f.system = e.system AND f.time <= ?1"
		" AND (f.time > e.time OR (f.time = e.time AND f.id > e.id)))"
		" FROM evaluations e WHERE e.time <= ?1 ORDER BY e.id",
	[Q_JOB_ROOTS] =
		"SELECT evaluation_id, path_id FROM eval_jobs WHERE path_id IS NOT NULL",
	[Q_PUSH_TIMES] =
		"SELECT path_id, coalesce(push_time, first_seen) FROM presence"
		" WHERE cache_id = ?1 AND gone_at IS NULL",
	[Q_BROKEN_JOBS] =
		"SELECT evaluation_id, attr, output FROM eval_jobs WHERE path_id = ?1"
		" ORDER BY evaluation_id, attr, output",
	[Q_PATH_BASE] = "SELECT hash || '-' || name FROM paths WHERE id = ?1",
	[Q_PATH_URL] = "SELECT url FROM narinfos WHERE cache_id = ?1 AND path_id = ?2",
	[Q_CACHE_URL] = "SELECT url FROM caches WHERE id = ?1",
	[Q_LAST_CRAWL] =
		"SELECT id, status FROM crawls WHERE cache_id = ?1 ORDER BY id DESC LIMIT 1",
};
static struct stmt_table stmts = STMT_TABLE("evict-plan", sql);

/* The GC models first, the default first of all. */
const char *const evict_policies[] = {"priority", "cachix", "attic", "niks3", "reach", NULL};

/* A victim's gc_reason is stored as is. */
_Static_assert((int)GC_UNREACHED == EVICT_UNREACHED && (int)GC_SUPERSEDED == EVICT_SUPERSEDED &&
	       (int)GC_LOW_VALUE == EVICT_LOW_VALUE && (int)GC_LRU == EVICT_LRU &&
	       (int)GC_EXPIRED == EVICT_EXPIRED &&
	       (int)GC_DEPENDENCY_LOST == EVICT_DEPENDENCY_LOST && GC_NREASONS == EVICT_NREASONS,
	       "enum evict_reason follows enum gc_reason");

void evict_plan_release(struct evict_plan *plan)
{
	for (size_t i = 0; i < plan->n; i++) {
		free(plan->paths[i].base);
		free(plan->paths[i].url);
		free(plan->paths[i].breaks);
	}
	free(plan->paths);
	free(plan->jobs);
	for (size_t i = 0; i < plan->nstrs; i++)
		free(plan->strs[i]);
	free(plan->strs);
	free(plan->cache_url);
	free(plan->policy);
	free(plan->weights);
	free(plan->store_dir);
	memset(plan, 0, sizeof(*plan));
}

/* ---- planning ------------------------------------------------------------ */

/*
 * Classes of present paths, from the evaluations: a path reached by the
 * closure of a current evaluation's output (the newest of its branch,
 * capabilities and system) is CURRENT; else one reached by an older
 * evaluation's output is SUPERSEDED; else UNREACHED.  Lower goes first.
 */
enum { CLS_UNREACHED, CLS_SUPERSEDED, CLS_CURRENT };

struct eval_row {
	int64_t id;
	int64_t time;
	int current;
	char *branch;
	char *caps;
};

struct root {
	int64_t key;           /* what the root is worth: higher stays longer */
	uint32_t id;           /* path id */
	uint32_t eval;         /* index into the evaluations */
};

static int cmp_root_desc(const void *a, const void *b)
{
	const struct root *x = a, *y = b;

	if (x->key != y->key)
		return x->key > y->key ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

struct heap_item {
	int64_t key;
	int64_t tie;
	uint32_t id;
	uint8_t cls;
};

static int heap_less(const struct heap_item *a, const struct heap_item *b)
{
	if (a->cls != b->cls)
		return a->cls < b->cls;
	if (a->key != b->key)
		return a->key < b->key;
	if (a->tie != b->tie)
		return a->tie < b->tie;
	return a->id < b->id;
}

struct heap {
	struct heap_item *v;
	size_t n, alloc;
};

static void heap_push(struct heap *h, struct heap_item it)
{
	size_t i;

	GROW(h->v, h->alloc, h->n + 1);
	i = h->n++;
	while (i && heap_less(&it, &h->v[(i - 1) / 2])) {
		h->v[i] = h->v[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->v[i] = it;
}

static struct heap_item heap_pop(struct heap *h)
{
	struct heap_item top = h->v[0], last = h->v[--h->n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && heap_less(&h->v[c + 1], &h->v[c]))
			c++;
		if (!heap_less(&h->v[c], &last))
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n)
		h->v[i] = last;
	return top;
}

struct planner {
	struct db *db;
	struct evict_plan *plan;
	struct graph *g;       /* own, or the GC world's */
	struct graph own;
	int own_loaded;
	struct gc_world world;
	int world_loaded;
	int reach;             /* the built-in ranking, else the GC world's */
	int64_t *rank;         /* per id: 1 + the victim's place, 0 = not
	                          proposed (GC policies) */
	uint8_t *vreason;      /* per id: the victim's gc_reason */
	uint8_t *cls;          /* per id: CLS_* (present or not) */
	uint8_t *marked;       /* per id: class assigned */
	int64_t *key;          /* per id: the class key */
	int64_t *push_time;    /* per id */
	uint32_t *pos;         /* per id: index in plan->paths + 1, 0 = kept */
	uint32_t *stack;
	struct eval_row *evals;
	size_t nevals, aevals;
	struct root *roots;
	size_t nroots, aroots;
};

static int64_t stored_of(const struct graph *g, uint32_t id)
{
	return g->file_size[id] >= 0 ? g->file_size[id] : g->nar_size[id];
}

static int present(const struct graph *g, uint32_t id)
{
	return (g->flags[id] & (GRAPH_PRESENT | GRAPH_NARINFO)) == (GRAPH_PRESENT | GRAPH_NARINFO);
}

static int load_evals(struct planner *p)
{
	sqlite3_stmt *st;
	int rc;

	/* Like the GC models, the plan sees what happened up to its clock. */
	if (!(st = stmt_query(p->db, &stmts, Q_EVALS, SQL_ARGS(p->plan->created_at))))
		return -1;
	while ((rc = db_step(p->db, st)) == 1) {
		struct eval_row *e;
		GROW(p->evals, p->aevals, p->nevals + 1);
		e = &p->evals[p->nevals++];
		e->id = sqlite3_column_int64(st, 0);
		e->time = sqlite3_column_int64(st, 1);
		e->branch = xstrdup(db_col_text(st, 2));
		e->caps = xstrdup(db_col_text(st, 3));
		e->current = sqlite3_column_int(st, 4);
	}
	if (rc < 0)
		return -1;
	if (!(st = stmt_query(p->db, &stmts, Q_JOB_ROOTS, SQL_NOARGS)))
		return -1;
	while ((rc = db_step(p->db, st)) == 1) {
		int64_t eid = sqlite3_column_int64(st, 0), pid = sqlite3_column_int64(st, 1);
		size_t lo = 0, hi = p->nevals;
		if (pid <= 0 || pid >= p->g->n)
			continue;
		while (lo < hi) {  /* evals are sorted by id */
			size_t mid = lo + (hi - lo) / 2;
			if (p->evals[mid].id < eid)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo >= p->nevals || p->evals[lo].id != eid)
			continue;
		GROW(p->roots, p->aroots, p->nroots + 1);
		p->roots[p->nroots].id = (uint32_t)pid;
		p->roots[p->nroots].eval = (uint32_t)lo;
		/* "reach" values a root by its evaluation's time: the newest
		 * evaluations are worth most. */
		p->roots[p->nroots].key = p->evals[lo].time;
		p->nroots++;
	}
	return rc < 0 ? -1 : 0;
}

/*
 * Mark what roots of one kind reach, highest key first: a path takes the
 * key of the best root reaching it.  A walk stops at paths already marked,
 * whose closure was marked before with a key at least as high, so every
 * path is visited once.
 */
static void mark_reach(struct planner *p, int current, uint8_t cls)
{
	struct graph *g = p->g;

	for (size_t r = 0; r < p->nroots; r++) {
		size_t sp = 0;
		uint32_t id = p->roots[r].id;
		if (p->evals[p->roots[r].eval].current != current || p->marked[id])
			continue;
		p->marked[id] = 1;
		p->cls[id] = cls;
		p->key[id] = p->roots[r].key;
		p->stack[sp++] = id;
		while (sp) {
			uint32_t v = p->stack[--sp];
			for (uint32_t e = g->off[v]; e < g->off[v + 1]; e++) {
				uint32_t w = g->adj[e];
				if (p->marked[w])
					continue;
				p->marked[w] = 1;
				p->cls[w] = cls;
				p->key[w] = p->roots[r].key;
				p->stack[sp++] = w;
			}
		}
	}
}

static int load_push_times(struct planner *p)
{
	sqlite3_stmt *st = stmt_query(p->db, &stmts, Q_PUSH_TIMES, SQL_ARGS(p->plan->cache_id));
	int rc;

	if (!st)
		return -1;
	while ((rc = db_step(p->db, st)) == 1) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (id > 0 && id < p->g->n)
			p->push_time[id] = sqlite3_column_int64(st, 1);
	}
	return rc < 0 ? -1 : 0;
}

/*
 * Whether each path's closure is wholly present, memoized in state
 * (0 unknown, 1 on the stack, 2 whole, 3 not), for the paths reachable
 * from root.  A cycle (impossible in Nix, possible in a forged cache)
 * counts as whole.
 */
struct dfs_frame {
	uint32_t v;
	uint32_t e;
	uint8_t bad;
};

static int closure_whole(struct planner *p, uint8_t *state, struct dfs_frame *fr, uint32_t root)
{
	struct graph *g = p->g;
	size_t sp = 0;

	if (state[root] >= 2)
		return state[root] == 2;
	state[root] = 1;
	fr[sp++] = (struct dfs_frame){root, g->off[root], !present(g, root)};
	while (sp) {
		struct dfs_frame *f = &fr[sp - 1];
		if (!f->bad && f->e < g->off[f->v + 1]) {
			uint32_t w = g->adj[f->e++];
			if (state[w] == 0) {
				state[w] = 1;
				fr[sp++] = (struct dfs_frame){w, g->off[w], !present(g, w)};
			} else if (state[w] == 3) {
				f->bad = 1;
			}
			continue;
		}
		state[f->v] = f->bad ? 3 : 2;
		sp--;
		if (sp && f->bad)
			fr[sp - 1].bad = 1;
	}
	return state[root] == 2;
}

struct broken_pair {
	int64_t time;
	int64_t eval_id;
	uint32_t eval;
	uint32_t root;
};

static int cmp_pair(const void *a, const void *b)
{
	const struct broken_pair *x = a, *y = b;

	if (x->time != y->time)
		return x->time > y->time ? -1 : 1;
	if (x->eval_id != y->eval_id)
		return x->eval_id > y->eval_id ? -1 : 1;
	return x->root < y->root ? -1 : x->root > y->root;
}

/* Pairs by root, then by their place in the order of the jobs. */
static const struct broken_pair *sort_pairs;

static int cmp_by_root(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	if (sort_pairs[x].root != sort_pairs[y].root)
		return sort_pairs[x].root < sort_pairs[y].root ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int cmp_by_eval(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	if (sort_pairs[x].root != sort_pairs[y].root)
		return sort_pairs[x].root < sort_pairs[y].root ? -1 : 1;
	if (sort_pairs[x].eval_id != sort_pairs[y].eval_id)
		return sort_pairs[x].eval_id < sort_pairs[y].eval_id ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* Roots (groups of pairs in order, by root) by their first job. */
static const uint32_t *sort_order;

static int cmp_group(const void *a, const void *b)
{
	uint32_t x = sort_order[*(const uint32_t *)a], y = sort_order[*(const uint32_t *)b];

	return x < y ? -1 : x > y;
}

/*
 * Merge a root's jobs into evicted path ep's: keep the first
 * EVICT_BREAKS_KEPT of ep's jobs in job order (jobs are numbered in the
 * order of their pairs, so these are the ones a walk per pair in that
 * order would have kept).  some holds the root's first nsome jobs, in order.
 */
static void add_breaks(struct evict_path *ep, const uint32_t *some, size_t nsome)
{
	uint32_t merged[EVICT_BREAKS_KEPT];
	size_t a = 0, b = 0, n = 0;

	if (!ep->breaks)
		ep->breaks = xmalloc(EVICT_BREAKS_KEPT * sizeof(*ep->breaks));
	while (n < EVICT_BREAKS_KEPT && (a < ep->nbreaks_kept || b < nsome)) {
		if (b >= nsome || (a < ep->nbreaks_kept && ep->breaks[a] < some[b]))
			merged[n++] = ep->breaks[a++];
		else
			merged[n++] = some[b++];
	}
	memcpy(ep->breaks, merged, n * sizeof(*merged));
	ep->nbreaks_kept = (unsigned)n;
}

static int str_eq(const void *ctx, uint32_t item, const void *key)
{
	const struct evict_plan *plan = ctx;

	return !strcmp(plan->strs[item], key);
}

/* s, once in plan->strs. */
static char *intern_str(struct evict_plan *plan, struct hashmap *m, const char *s)
{
	uint32_t i = hashmap_put(m, hash_fnv1a(s, strlen(s)), str_eq, plan, s,
				 (uint32_t)plan->nstrs);

	if (i == plan->nstrs) {
		GROW(plan->strs, plan->astrs, plan->nstrs + 1);
		plan->strs[plan->nstrs++] = xstrdup(s);
	}
	return plan->strs[i];
}

/* The jobs the plan breaks, and for each evicted path the jobs whose
 * closure holds it. */
static int find_broken(struct planner *p)
{
	struct graph *g = p->g;
	struct evict_plan *plan = p->plan;
	struct broken_pair *pairs = NULL;
	size_t npairs = 0, apairs = 0, ndistinct = 0, k;
	uint8_t *state = xcalloc(g->n, 1);
	uint32_t *stamp = xcalloc(g->n, sizeof(*stamp));
	struct dfs_frame *fr = xmalloc(g->n * sizeof(*fr));
	uint32_t *job0 = NULL, *order = NULL, *fill = NULL, walk = 0;
	uint32_t *eoff = NULL, *eadj = NULL, *nb = NULL, *cut = NULL, *groups = NULL;
	size_t n, ngroups = 0;
	struct hashmap strs = HASHMAP_INIT;
	int ret = -1;

	for (size_t r = 0; r < p->nroots; r++) {
		uint32_t id = p->roots[r].id;
		if (!p->pos[id] || !closure_whole(p, state, fr, id))
			continue;
		GROW(pairs, apairs, npairs + 1);
		pairs[npairs].time = p->evals[p->roots[r].eval].time;
		pairs[npairs].eval_id = p->evals[p->roots[r].eval].id;
		pairs[npairs].eval = p->roots[r].eval;
		pairs[npairs].root = id;
		npairs++;
	}
	if (npairs)
		qsort(pairs, npairs, sizeof(*pairs), cmp_pair);
	/* The jobs, pair by pair (duplicates dropped): pair k's are
	 * plan->jobs[job0[k] .. job0[k + 1]). */
	for (k = 0; k < npairs; k++) {
		if (!k || cmp_pair(&pairs[k], &pairs[k - 1]))
			pairs[ndistinct++] = pairs[k];
	}
	npairs = ndistinct;
	/* One query per root for the jobs of all its evaluations (those of
	 * pairs), laid out pair by pair: count, then place. */
	job0 = xcalloc(npairs + 1, sizeof(*job0));
	order = xmalloc((npairs ? npairs : 1) * sizeof(*order));
	for (k = 0; k < npairs; k++)
		order[k] = (uint32_t)k;
	sort_pairs = pairs;
	if (npairs)
		qsort(order, npairs, sizeof(*order), cmp_by_eval);
	for (int pass = 0; pass < 2; pass++) {
		if (pass) {
			size_t at = 0;
			for (k = 0; k <= npairs; k++) {
				uint32_t c = job0[k];
				job0[k] = (uint32_t)at;
				at += c;
			}
			plan->njobs = plan->ajobs = at;
			plan->jobs = xcalloc(at ? at : 1, sizeof(*plan->jobs));
			fill = xcalloc(npairs + 1, sizeof(*fill));
		}
		for (k = 0; k < npairs;) {
			uint32_t root = pairs[order[k]].root;
			size_t q = k;
			sqlite3_stmt *st;
			int rc;
			while (k < npairs && pairs[order[k]].root == root)
				k++;
			if (!(st = stmt_query(p->db, &stmts, Q_BROKEN_JOBS, SQL_ARGS(root))))
				goto out;
			while ((rc = db_step(p->db, st)) == 1) {
				int64_t eid = sqlite3_column_int64(st, 0);
				uint32_t kk;
				struct evict_job *j;
				/* rows and the root's pairs both by evaluation id */
				while (q < k && pairs[order[q]].eval_id < eid)
					q++;
				if (q >= k || pairs[order[q]].eval_id != eid)
					continue;
				kk = order[q];
				if (!pass) {
					job0[kk]++;
					continue;
				}
				j = &plan->jobs[job0[kk] + fill[kk]++];
				j->evaluation_id = eid;
				j->branch = intern_str(plan, &strs, p->evals[pairs[kk].eval].branch);
				j->capabilities = intern_str(plan, &strs, p->evals[pairs[kk].eval].caps);
				j->eval_time = pairs[kk].time;
				j->attr = intern_str(plan, &strs, db_col_text(st, 1));
				j->output = intern_str(plan, &strs, db_col_text(st, 2));
				j->root = root;
			}
			if (rc < 0)
				goto out;
		}
	}
	job0[npairs] = (uint32_t)plan->njobs;
	/*
	 * Every evicted path of a root's closure loses the root's jobs (of
	 * all its evaluations): one walk per root, not per pair.  Kept paths
	 * end the walk: all they reference is kept, so the walks run on the
	 * evicted paths alone, numbered by their place in the plan (eoff,
	 * eadj: their references that are evicted too).  Roots go in the
	 * order of their first job, so a path's kept jobs fill up early and
	 * most later roots need no merge (cut[i]: the last kept job of a
	 * full list, else none).
	 */
	n = plan->n;
	eoff = xmalloc((n + 1) * sizeof(*eoff));
	for (size_t i = 0, m = 0; i <= n; i++) {
		eoff[i] = (uint32_t)m;
		if (i == n)
			break;
		for (uint32_t e = g->off[plan->paths[i].path_id];
		     e < g->off[plan->paths[i].path_id + 1]; e++)
			m += p->pos[g->adj[e]] != 0;
	}
	eadj = xmalloc((eoff[n] ? eoff[n] : 1) * sizeof(*eadj));
	for (size_t i = 0, m = 0; i < n; i++)
		for (uint32_t e = g->off[plan->paths[i].path_id];
		     e < g->off[plan->paths[i].path_id + 1]; e++)
			if (p->pos[g->adj[e]])
				eadj[m++] = p->pos[g->adj[e]] - 1;
	nb = xcalloc(n ? n : 1, sizeof(*nb));
	cut = xmalloc((n ? n : 1) * sizeof(*cut));
	for (size_t i = 0; i < n; i++)
		cut[i] = UINT32_MAX;
	memset(stamp, 0, g->n * sizeof(*stamp));
	for (k = 0; k < npairs; k++)
		order[k] = (uint32_t)k;
	if (npairs)
		qsort(order, npairs, sizeof(*order), cmp_by_root);
	groups = xmalloc((npairs ? npairs : 1) * sizeof(*groups));
	for (k = 0; k < npairs; k++)
		if (!k || pairs[order[k]].root != pairs[order[k - 1]].root)
			groups[ngroups++] = (uint32_t)k;
	sort_order = order;
	if (ngroups)
		qsort(groups, ngroups, sizeof(*groups), cmp_group);
	for (size_t gi = 0; gi < ngroups; gi++) {
		uint32_t root = pairs[order[groups[gi]]].root, total = 0, some[EVICT_BREAKS_KEPT];
		size_t nsome = 0, sp = 0;
		for (k = groups[gi]; k < npairs && pairs[order[k]].root == root; k++) {
			uint32_t kk = order[k];
			total += job0[kk + 1] - job0[kk];
			for (uint32_t j = job0[kk]; j < job0[kk + 1] && nsome < EVICT_BREAKS_KEPT; j++)
				some[nsome++] = j;
		}
		stamp[p->pos[root] - 1] = ++walk;
		p->stack[sp++] = p->pos[root] - 1;
		while (sp) {
			uint32_t i = p->stack[--sp];
			nb[i] += total;
			if (nsome && some[0] < cut[i]) {
				struct evict_path *ep = &plan->paths[i];
				add_breaks(ep, some, nsome);
				if (ep->nbreaks_kept == EVICT_BREAKS_KEPT)
					cut[i] = ep->breaks[EVICT_BREAKS_KEPT - 1];
			}
			for (uint32_t e = eoff[i]; e < eoff[i + 1]; e++) {
				uint32_t x = eadj[e];
				if (stamp[x] == walk)
					continue;
				stamp[x] = walk;
				p->stack[sp++] = x;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		plan->paths[i].nbreaks = nb[i];
	ret = 0;
out:
	free(pairs);
	free(state);
	free(stamp);
	free(fr);
	free(job0);
	free(order);
	free(fill);
	free(eoff);
	free(eadj);
	free(nb);
	free(cut);
	free(groups);
	hashmap_release(&strs);
	return ret;
}

static const struct evict_path *sort_paths;

static int cmp_path_id(const void *a, const void *b)
{
	uint32_t x = sort_paths[*(const uint32_t *)a].path_id;
	uint32_t y = sort_paths[*(const uint32_t *)b].path_id;

	return x < y ? -1 : x > y;
}

/* Names and URLs, looked up in path id order: neighbouring rows share
 * pages, where the plan's order would jump about the tables. */
static int fill_paths(struct planner *p)
{
	struct evict_plan *plan = p->plan;
	uint32_t *order = xmalloc((plan->n ? plan->n : 1) * sizeof(*order));
	int ret = -1;

	for (size_t i = 0; i < plan->n; i++)
		order[i] = (uint32_t)i;
	sort_paths = plan->paths;
	if (plan->n)
		qsort(order, plan->n, sizeof(*order), cmp_path_id);
	for (size_t i = 0; i < plan->n; i++) {
		struct evict_path *ep = &plan->paths[order[i]];
		sqlite3_stmt *st = stmt_query(p->db, &stmts, Q_PATH_BASE, SQL_ARGS(ep->path_id));
		if (!st)
			goto out;
		if (db_step(p->db, st) != 1) {
			error("path %u of the plan is not in '%s'", ep->path_id, p->db->path);
			goto out;
		}
		ep->base = xstrdup(db_col_text(st, 0));
		stmt_done(st);
		if (!(st = stmt_query(p->db, &stmts, Q_PATH_URL,
				      SQL_ARGS(plan->cache_id, ep->path_id))))
			goto out;
		if (db_step(p->db, st) != 1) {
			error("no narinfo recorded for '%s'", ep->base);
			goto out;
		}
		ep->url = xstrdup(db_col_text(st, 0));
		stmt_done(st);
	}
	ret = 0;
out:
	free(order);
	return ret;
}

static int plan_header(struct db *db, struct evict_plan *plan)
{
	sqlite3_stmt *st;
	int rc;

	if (!(plan->store_dir = db_store_dir(db)))
		return -1;
	if ((rc = stmt_row(db, &stmts, Q_CACHE_URL, &st, SQL_ARGS(plan->cache_id))) != 1) {
		if (rc == 0)
			error("no cache %lld in '%s'", (long long)plan->cache_id, db->path);
		return -1;
	}
	plan->cache_url = xstrdup(db_col_text(st, 0));
	stmt_done(st);
	rc = stmt_row(db, &stmts, Q_LAST_CRAWL, &st, SQL_ARGS(plan->cache_id));
	if (rc < 0)
		return -1;
	if (rc == 0) {
		return error("cache '%s' was never crawled; run 'cachegc crawl %s' first",
			     plan->cache_url, plan->cache_url);
	}
	plan->crawl_id = sqlite3_column_int64(st, 0);
	if (strcmp(db_col_text(st, 1), "complete"))
		warning("the last crawl of '%s' did not complete: the plan sees the cache as "
			"that crawl left it", plan->cache_url);
	stmt_done(st);
	return 0;
}

/* Ask the GC model for its victims: their order and reasons. */
static int gc_propose(struct planner *p, const struct evict_plan_opts *o, enum gc_policy gp)
{
	struct gc_weights wt;
	struct gc_victims v = {0};
	struct gc_params params;
	uint8_t *stored = NULL;
	int ret = -1;

	gc_weights_init(&wt);
	if (o->weights && gc_weights_load(&wt, o->weights))
		goto out;
	p->world_loaded = 1;
	if (gc_world_load(&p->world, p->db, o->cache_id, &wt, 0))
		goto out;
	p->g = &p->world.g;
	memset(&params, 0, sizeof(params));
	params.limit = o->limit;
	params.retention = o->retention;
	params.now = p->plan->created_at;
	stored = gc_stored_now(&p->world);
	if (gc_select(&p->world, gp, &params, stored, &v))
		goto out;
	p->rank = xcalloc(p->g->n, sizeof(*p->rank));
	p->vreason = xcalloc(p->g->n, 1);
	for (size_t i = 0; i < v.n; i++) {
		uint32_t id = v.v[i].path;
		if (id >= p->g->n || p->rank[id])
			continue;
		p->rank[id] = (int64_t)i + 1;
		p->vreason[id] = v.v[i].reason < EVICT_NREASONS ? v.v[i].reason : EVICT_LOW_VALUE;
	}
	/* The plan needs the graph alone from here on: the rest of the world
	 * (its jobs, referrers, access times) goes before the plan's own
	 * arrays grow. */
	p->own = p->world.g;
	memset(&p->world.g, 0, sizeof(p->world.g));
	p->own_loaded = 1;
	p->g = &p->own;
	gc_world_release(&p->world);
	p->world_loaded = 0;
	ret = 0;
out:
	gc_victims_release(&v);
	gc_weights_release(&wt);
	free(stored);
	return ret;
}

/* Whether the policy proposes present path v, and its place in the heap. */
static int proposed(const struct planner *p, uint32_t v)
{
	return p->reach || p->rank[v];
}

static struct heap_item candidate(const struct planner *p, uint32_t v)
{
	struct heap_item it = {0, 0, v, 0};

	if (!p->reach) {
		it.key = p->rank[v];
		return it;
	}
	it.cls = p->cls[v];
	it.key = p->cls[v] == CLS_UNREACHED ? p->push_time[v] : p->key[v];
	it.tie = -stored_of(p->g, v);
	return it;
}

static int reason_of(const struct planner *p, uint32_t v)
{
	if (!p->reach)
		return p->vreason[v];
	return p->cls[v] == CLS_CURRENT ? EVICT_LOW_VALUE
	     : p->cls[v] == CLS_SUPERSEDED ? EVICT_SUPERSEDED : EVICT_UNREACHED;
}

int evict_plan_build(struct db *db, const struct evict_plan_opts *o, struct evict_plan *plan)
{
	struct planner p;
	struct graph *g;
	struct heap h = {0};
	uint32_t *cnt = NULL;
	uint64_t size;
	struct rejected_series rej = {0};
	const char *policy = o->policy ? o->policy : "priority";
	enum gc_policy gp = GC_PRIORITY;
	int ret = -1;

	memset(plan, 0, sizeof(*plan));
	memset(&p, 0, sizeof(p));
	p.db = db;
	p.plan = plan;
	plan->cache_id = o->cache_id;
	plan->limit = o->limit;
	plan->created_at = clock_now();
	p.reach = !strcmp(policy, "reach");
	if (!p.reach && gc_policy_parse(policy, &gp))
		return error("unknown policy '%s' (known: priority, cachix, attic, niks3, reach)",
			     policy);
	plan->policy = xstrdup(policy);
	plan->weights = o->weights ? xstrdup(o->weights) : NULL;
	plan->retention = o->retention > 0 ? o->retention : 0;
	if (plan_header(db, plan))
		return -1;
	if (p.reach) {
		if (graph_load(&p.own, db, o->cache_id))
			goto out;
		p.own_loaded = 1;
		p.g = &p.own;
	} else if (gc_propose(&p, o, gp)) {
		goto out;
	}
	g = p.g;
	p.cls = xcalloc(g->n, 1);
	p.marked = xcalloc(g->n, 1);
	p.key = xcalloc(g->n, sizeof(*p.key));
	p.push_time = xcalloc(g->n, sizeof(*p.push_time));
	p.pos = xcalloc(g->n, sizeof(*p.pos));
	p.stack = xmalloc((g->n ? g->n : 1) * sizeof(*p.stack));
	if (load_push_times(&p) || load_evals(&p))
		goto out;
	plan->nevaluations = p.nevals;
	if (p.nroots)
		qsort(p.roots, p.nroots, sizeof(*p.roots), cmp_root_desc);
	mark_reach(&p, 1, CLS_CURRENT);
	mark_reach(&p, 0, CLS_SUPERSEDED);
	/* Refused narinfos' files are stored bytes too (the GC model frees
	 * the paths down to the limit less them: see gc_rejected_at). */
	if (rejected_series_load(&rej, db, o->cache_id))
		goto out;
	plan->rejected_bytes = rejected_bytes_at(&rej, plan->created_at);
	plan->size_before = plan->rejected_bytes;

	for (uint32_t v = 1; v < g->n; v++) {
		if (!present(g, v))
			continue;
		plan->paths_before++;
		plan->size_before += (uint64_t)stored_of(g, v);
		if (proposed(&p, v)) {
			plan->proposed_paths++;
			plan->proposed_bytes += (uint64_t)stored_of(g, v);
		}
	}
	size = plan->size_before;

	/*
	 * Peel the graph from the top: a proposed path becomes a candidate
	 * once no kept present path references it, and the candidate the
	 * policy ranks first goes next.  With "reach", classes and keys only
	 * grow down the references (what a root reaches, its references
	 * reach too); the GC models list referrers first (but attic, which
	 * ignores references).  So this is the policy's order wherever
	 * closure safety allows it, every prefix of the plan is
	 * closure-safe, and a path the policy does not propose never goes.
	 */
	cnt = xcalloc(g->n, sizeof(*cnt));
	for (uint32_t u = 1; u < g->n; u++) {
		if (!present(g, u))
			continue;
		for (uint32_t e = g->off[u]; e < g->off[u + 1]; e++)
			if (present(g, g->adj[e]))
				cnt[g->adj[e]]++;
	}
	for (uint32_t v = 1; v < g->n; v++)
		if (present(g, v) && !cnt[v] && proposed(&p, v))
			heap_push(&h, candidate(&p, v));
	while (size > plan->limit && h.n) {
		struct heap_item it = heap_pop(&h);
		uint32_t v = it.id;
		struct evict_path *ep;
		GROW(plan->paths, plan->alloc, plan->n + 1);
		ep = &plan->paths[plan->n++];
		memset(ep, 0, sizeof(*ep));
		ep->path_id = v;
		ep->reason = reason_of(&p, v);
		ep->stored = stored_of(g, v);
		ep->file_size = g->file_size[v];
		ep->nar_size = g->nar_size[v];
		p.pos[v] = (uint32_t)plan->n;
		size -= (uint64_t)ep->stored;
		for (uint32_t e = g->off[v]; e < g->off[v + 1]; e++) {
			uint32_t w = g->adj[e];
			if (!present(g, w) || --cnt[w] || !proposed(&p, w))
				continue;
			heap_push(&h, candidate(&p, w));
		}
	}
	plan->size_after = size;
	plan->limit_reached = size <= plan->limit;
	if (!plan->limit_reached) {
		for (uint32_t v = 1; v < g->n; v++) {
			if (!present(g, v) || p.pos[v] || !proposed(&p, v))
				continue;
			plan->blocked_paths++;
			plan->blocked_bytes += (uint64_t)stored_of(g, v);
		}
	}
	if (fill_paths(&p))
		goto out;
	if (find_broken(&p))
		goto out;
	ret = 0;
out:
	rejected_series_release(&rej);
	if (p.own_loaded)
		graph_release(&p.own);
	if (p.world_loaded)
		gc_world_release(&p.world);
	for (size_t i = 0; i < p.nevals; i++) {
		free(p.evals[i].branch);
		free(p.evals[i].caps);
	}
	free(p.evals);
	free(p.roots);
	free(p.cls);
	free(p.marked);
	free(p.key);
	free(p.push_time);
	free(p.pos);
	free(p.stack);
	free(p.rank);
	free(p.vreason);
	free(cnt);
	free(h.v);
	return ret;
}
