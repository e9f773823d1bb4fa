/*
 * world.c - the world a GC sees, loaded from the DB: the reference graph
 * and its referrers, push times and presence episodes, accesses, sibling
 * outputs (narinfo Deriver), evaluations grouped by branch, capability
 * set and system, and their jobs with values and the time each was
 * superseded; with GC_LOAD_HISTORY also every event a replay needs.
 * Also the world's read-only helpers the other gc files share (sizes,
 * the stored set, evaluation lookups).
 *
 * Nothing here changes after gc_world_load(): the engine (engine.c)
 * keeps its own per-path state.
 */
#include "gc_private.h"

#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/stmt.h"
#include "lib/hash.h"
#include "lib/u64map.h"
#include "lib/util.h"

enum {
	Q_PRESENCE,
	Q_SIBLINGS,
	Q_ACCESS,
	Q_EVALS,
	Q_JOBS,
	Q_CRAWLS,
	Q_N
};
static const char *const sql[Q_N] = {
	[Q_PRESENCE] =
		"SELECT path_id, push_time, first_seen, gone_at FROM presence"
		" WHERE cache_id = ?1 ORDER BY id",
	[Q_SIBLINGS] =
		"SELECT path_id, deriver FROM narinfos WHERE cache_id = ?1 AND deriver IS NOT NULL",
	[Q_ACCESS] =
		"SELECT path_id, narinfo_last, nar_last FROM accesses WHERE cache_id = ?1",
	[Q_EVALS] =
		"SELECT id, branch, rev, capabilities, system, time FROM evaluations"
		" ORDER BY time, id",
	[Q_JOBS] =
		"SELECT evaluation_id, attr, output, path_id FROM eval_jobs"
		" WHERE path_id IS NOT NULL ORDER BY evaluation_id, attr, output",
	[Q_CRAWLS] =
		"SELECT started_at FROM crawls WHERE cache_id = ?1 AND status = 'complete'"
		" ORDER BY started_at, id",
};
static struct stmt_table stmts = STMT_TABLE("gc-world", sql);

/* ---- small maps --------------------------------------------------------- */

/* Interned strings, all in one arena (no heap block per string): string
 * i is arena.buf + off[i], NUL-terminated; tab holds index + 1. */
struct intern {
	struct strbuf arena;
	size_t *off;
	size_t n, alloc;
	uint32_t *tab;
	size_t cap;
};

static const char *intern_str(const struct intern *m, uint32_t i)
{
	return m->arena.buf + m->off[i];
}

static uint32_t intern(struct intern *m, const char *s, size_t len)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		uint32_t *tab = xcalloc(cap, sizeof(*tab));
		for (size_t k = 0; k < m->n; k++) {
			const char *x = intern_str(m, (uint32_t)k);
			for (i = hash_fnv1a(x, strlen(x)) & (cap - 1); tab[i]; i = (i + 1) & (cap - 1))
				;
			tab[i] = (uint32_t)k + 1;
		}
		free(m->tab);
		m->tab = tab;
		m->cap = cap;
	}
	for (i = hash_fnv1a(s, len) & (m->cap - 1); m->tab[i]; i = (i + 1) & (m->cap - 1)) {
		const char *x = intern_str(m, m->tab[i] - 1);
		if (!strncmp(x, s, len) && !x[len])
			return m->tab[i] - 1;
	}
	GROW(m->off, m->alloc, m->n + 1);
	m->off[m->n] = m->arena.len;
	strbuf_add(&m->arena, s, len);
	strbuf_addch(&m->arena, '\0');
	m->tab[i] = (uint32_t)++m->n;
	return (uint32_t)(m->n - 1);
}

/* The strings of m as an array of pointers into one block (freed with
 * free() of the array): m is left empty. */
static char **intern_take(struct intern *m)
{
	size_t len = m->arena.len;
	char **v = xmalloc((m->n ? m->n : 1) * sizeof(*v) + (len ? len : 1));
	char *blk = (char *)(v + (m->n ? m->n : 1));

	if (len)
		memcpy(blk, m->arena.buf, len);
	for (size_t i = 0; i < m->n; i++)
		v[i] = blk + m->off[i];
	return v;
}

static void intern_release(struct intern *m)
{
	strbuf_release(&m->arena);
	free(m->off);
	free(m->tab);
	memset(m, 0, sizeof(*m));
}

/* ---- the world ---------------------------------------------------------- */

int64_t gc_size(const struct gc_world *w, uint32_t id)
{
	if (id >= w->n || !(w->g.flags[id] & GRAPH_NARINFO))
		return 0;
	return w->g.file_size[id] >= 0 ? w->g.file_size[id] : w->g.nar_size[id];
}

uint64_t gc_rejected_at(const struct gc_world *w, int64_t t)
{
	return rejected_bytes_at(&w->rejected, t);
}

uint8_t *gc_stored_now(const struct gc_world *w)
{
	uint8_t *s = xcalloc(w->n ? w->n : 1, 1);

	for (uint32_t i = 0; i < w->n; i++)
		s[i] = (w->g.flags[i] & (GRAPH_NARINFO | GRAPH_PRESENT)) == (GRAPH_NARINFO | GRAPH_PRESENT);
	return s;
}

static void build_referrers(struct gc_world *w)
{
	const struct graph *g = &w->g;
	uint32_t *fill;

	w->roff = xcalloc((size_t)w->n + 1, sizeof(*w->roff));
	w->radj = xmalloc((g->nedges ? g->nedges : 1) * sizeof(*w->radj));
	for (size_t e = 0; e < g->nedges; e++)
		w->roff[g->adj[e] + 1]++;
	for (uint32_t i = 0; i < w->n; i++)
		w->roff[i + 1] += w->roff[i];
	fill = xmalloc(((size_t)w->n + 1) * sizeof(*fill));
	memcpy(fill, w->roff, ((size_t)w->n + 1) * sizeof(*fill));
	for (uint32_t v = 0; v < w->n; v++)
		for (uint32_t e = g->off[v]; e < g->off[v + 1]; e++)
			w->radj[fill[g->adj[e]]++] = v;
	free(fill);
}

/* An event while loading, before the sort. */
struct gc_event {
	int64_t time;
	uint32_t path;
	uint32_t kind;
};

static int cmp_event(const void *a, const void *b)
{
	const struct gc_event *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->path < y->path ? -1 : x->path > y->path;
}

static void event_add(struct gc_event **v, size_t *n, size_t *alloc, int64_t t, uint32_t path,
		      uint32_t kind)
{
	GROW(*v, *alloc, *n + 1);
	(*v)[*n].time = t;
	(*v)[*n].path = path;
	(*v)[*n].kind = kind;
	(*n)++;
}

/* Sort v[0 .. n) into out (the kinds too when with_kind), freeing v. */
static void events_finish(struct gc_event *v, size_t n, struct gc_events *out, int with_kind)
{
	if (n)
		qsort(v, n, sizeof(*v), cmp_event);
	out->time = xmalloc((n ? n : 1) * sizeof(*out->time));
	out->path = xmalloc((n ? n : 1) * sizeof(*out->path));
	out->kind = with_kind ? xmalloc(n ? n : 1) : NULL;
	for (size_t i = 0; i < n; i++) {
		out->time[i] = v[i].time;
		out->path[i] = v[i].path;
		if (with_kind)
			out->kind[i] = (uint8_t)v[i].kind;
	}
	free(v);
}

static void events_release(struct gc_events *e)
{
	free(e->time);
	free(e->path);
	free(e->kind);
}

static int load_presence(struct gc_world *w, struct db *db)
{
	sqlite3_stmt *st = stmt_query(db, &stmts, Q_PRESENCE, SQL_ARGS(w->cache_id));
	uint8_t *open = w->flags & GC_LOAD_HISTORY ? NULL : xcalloc(w->n ? w->n : 1, 1);
	struct gc_event *pushes = NULL, *seens = NULL, *gones = NULL;
	size_t ap = 0, as = 0, ag = 0;
	int hist = w->flags & GC_LOAD_HISTORY, rc;

	if (!st) {
		free(open);
		return -1;
	}
	while ((rc = db_step(db, st)) == 1) {
		int64_t id = sqlite3_column_int64(st, 0);
		int64_t seen = sqlite3_column_int64(st, 2), push = seen;
		int gone = sqlite3_column_type(st, 3) != SQLITE_NULL;
		if (id <= 0 || id >= w->n)
			continue;
		/* A narinfo's mtime later than the crawl that saw it is a
		 * clock gone wrong: the crawl's clock wins. */
		if (sqlite3_column_type(st, 1) != SQLITE_NULL) {
			int64_t p = sqlite3_column_int64(st, 1);
			if (p > 0 && p <= seen)
				push = p;
		}
		if (!hist) {
			if (!gone) {
				w->push_time[id] = push;
				open[id] = 1;
			} else if (!open[id]) {
				w->push_time[id] = push;
			}
		} else {
			event_add(&pushes, &w->npushes, &ap, push, (uint32_t)id, 0);
			event_add(&seens, &w->nseens, &as, seen, (uint32_t)id, 0);
			if (gone)
				event_add(&gones, &w->ngones, &ag, sqlite3_column_int64(st, 3),
					  (uint32_t)id, 0);
		}
	}
	free(open);
	if (rc < 0) {
		free(pushes);
		free(seens);
		free(gones);
		return -1;
	}
	if (hist) {
		events_finish(pushes, w->npushes, &w->pushes, 0);
		events_finish(seens, w->nseens, &w->seens, 0);
		events_finish(gones, w->ngones, &w->gones, 0);
	}
	return 0;
}

/* Outputs of one derivation, from the narinfos' Deriver. */
static int load_siblings(struct gc_world *w, struct db *db)
{
	sqlite3_stmt *st = stmt_query(db, &stmts, Q_SIBLINGS, SQL_ARGS(w->cache_id));
	struct intern drv = {0};
	uint32_t *last = NULL;
	size_t alast = 0;
	int rc;

	w->sibling = xmalloc((w->n ? w->n : 1) * sizeof(*w->sibling));
	for (uint32_t i = 0; i < w->n; i++)
		w->sibling[i] = i;
	if (!st)
		return -1;
	while ((rc = db_step(db, st)) == 1) {
		int64_t id = sqlite3_column_int64(st, 0);
		const char *d = (const char *)sqlite3_column_text(st, 1);
		uint32_t k;
		if (id <= 0 || id >= w->n || !d)
			continue;
		k = intern(&drv, d, (size_t)sqlite3_column_bytes(st, 1));
		if (k >= alast) {
			size_t old = alast;
			GROW(last, alast, (size_t)k + 1);
			for (size_t i = old; i < alast; i++)
				last[i] = NONE;
		}
		/* Insert id into the ring after the last one of its drv. */
		if (last[k] != NONE) {
			w->sibling[id] = w->sibling[last[k]];
			w->sibling[last[k]] = (uint32_t)id;
		}
		last[k] = (uint32_t)id;
	}
	intern_release(&drv);
	free(last);
	return rc < 0 ? -1 : 0;
}

static int load_access(struct gc_world *w, struct db *db)
{
	sqlite3_stmt *st = stmt_query(db, &stmts, Q_ACCESS, SQL_ARGS(w->cache_id));
	struct gc_event *acc = NULL;
	size_t aa = 0;
	int rc;
	/* With the history, no per-id access times: which paths were
	 * accessed, for accessed_paths, only while loading. */
	uint8_t *accessed = w->flags & GC_LOAD_HISTORY ? xcalloc(w->n ? w->n : 1, 1) : NULL;

	if (!st) {
		free(accessed);
		return -1;
	}
	while ((rc = db_step(db, st)) == 1) {
		int64_t id = sqlite3_column_int64(st, 0);
		int64_t ni = sqlite3_column_type(st, 1) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 1);
		int64_t nar = sqlite3_column_type(st, 2) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 2);
		if (id <= 0 || id >= w->n)
			continue;
		if (accessed) {
			if (!accessed[id] && (ni > 0 || nar > 0)) {
				accessed[id] = 1;
				w->accessed_paths++;
			}
		} else {
			if (!w->access[id] && (ni > 0 || nar > 0))
				w->accessed_paths++;
			if (ni > w->access[id])
				w->access[id] = ni;
			if (nar > w->access[id])
				w->access[id] = nar;
			if (nar > w->nar_access[id])
				w->nar_access[id] = nar;
		}
		if (w->flags & GC_LOAD_HISTORY) {
			if (ni > 0)
				event_add(&acc, &w->naccesses, &aa, ni, (uint32_t)id,
					  GC_ACCESS_NARINFO);
			if (nar > 0)
				event_add(&acc, &w->naccesses, &aa, nar, (uint32_t)id,
					  GC_ACCESS_NAR);
		}
	}
	free(accessed);
	if (rc < 0) {
		free(acc);
		return -1;
	}
	if (w->flags & GC_LOAD_HISTORY)
		events_finish(acc, w->naccesses, &w->accesses, 1);
	return 0;
}

/* The first job of an attr in the newest evaluation of a group that had
 * it, and that evaluation. */
struct lastrun {
	uint32_t job, eval;
};

/* A run of jobs of one evaluation in the SQL order (by evaluation id). */
struct jobrun {
	uint32_t eval;         /* index into w->evals */
	size_t start, n;
};

static int load_evals(struct gc_world *w, struct db *db)
{
	struct intern groups = {0}, attrs = {0}, outputs = {0};
	struct u64map byid = U64MAP_INIT, last = U64MAP_INIT, names = U64MAP_INIT;
	struct u64map keys = U64MAP_INIT;
	struct jobrun *runs = NULL;
	uint32_t *first_name = NULL, *last_key = NULL;  /* per attr, per name */
	struct lastrun *slot = NULL;  /* per (group, attr) met */
	size_t nslot = 0, aslot = 0;
	size_t afirst_name = 0, alast_key = 0;
	size_t ajobs = 0, anames = 0, akeys = 0, agroups = 0, aevals = 0, nruns = 0, aruns = 0;
	int sorted = 1;
	struct strbuf key = STRBUF_INIT;
	sqlite3_stmt *st;
	int rc, ret = -1;

	if (!(st = stmt_query(db, &stmts, Q_EVALS, SQL_NOARGS)))
		goto out;
	while ((rc = db_step(db, st)) == 1) {
		struct gc_eval *ev;
		const char *b = db_col_text(st, 1), *c = db_col_text(st, 3), *s = db_col_text(st, 4);
		uint32_t gi;

		strbuf_reset(&key);
		strbuf_add(&key, b, strlen(b) + 1);
		strbuf_add(&key, c, strlen(c) + 1);
		strbuf_addstr(&key, s);
		/* Branch names hold no NUL: the joined key is unique. */
		for (size_t i = 0; i < key.len; i++)
			if (!key.buf[i])
				key.buf[i] = '\x01';
		gi = intern(&groups, key.buf, key.len);
		if (gi == w->ngroups) {
			struct gc_group *g;
			GROW(w->groups, agroups, w->ngroups + 1);
			g = &w->groups[w->ngroups++];
			g->branch = xstrdup(b);
			g->capabilities = xstrdup(c);
			g->system = xstrdup(s);
			g->weight = gc_weight(&w->weights, GC_W_BRANCH, b) *
				    gc_weight(&w->weights, GC_W_CAPS, c);
		}
		GROW(w->evals, aevals, w->nevals + 1);
		ev = &w->evals[w->nevals];
		memset(ev, 0, sizeof(*ev));
		ev->id = sqlite3_column_int64(st, 0);
		ev->rev = xstrdup(db_col_text(st, 2));
		ev->time = sqlite3_column_int64(st, 5);
		ev->group = gi;
		*u64map_get(&byid, (uint64_t)ev->id) = (uint32_t)w->nevals;
		w->nevals++;
	}
	if (rc < 0)
		goto out;

	/* The jobs go straight into w->jobs (8 bytes each, no staging
	 * copy); the (attr, output) pair of each is interned as a name, the
	 * (name, path) pair as a key.  Rows come by evaluation id (the
	 * primary key): each evaluation's jobs are one run. */
	if (!(st = stmt_query(db, &stmts, Q_JOBS, SQL_NOARGS)))
		goto out;
	while ((rc = db_step(db, st)) == 1) {
		int64_t eid = sqlite3_column_int64(st, 0), pid = sqlite3_column_int64(st, 3);
		const char *a = (const char *)sqlite3_column_text(st, 1);
		int alen = sqlite3_column_bytes(st, 1);
		const char *o = (const char *)sqlite3_column_text(st, 2);
		int olen = sqlite3_column_bytes(st, 2);
		uint32_t *ei, *ni, *ki, ai, oi, name;
		struct gc_job *j;
		if (eid <= 0 || pid <= 0 || pid >= w->n || !a || !o)
			continue;
		ei = u64map_get(&byid, (uint64_t)eid);
		if (*ei == NONE)
			continue;
		if (!nruns || runs[nruns - 1].eval != *ei) {
			GROW(runs, aruns, nruns + 1);
			runs[nruns].eval = *ei;
			runs[nruns].start = w->njobs;
			runs[nruns++].n = 0;
		}
		runs[nruns - 1].n++;
		ai = intern(&attrs, a, (size_t)alen);
		oi = intern(&outputs, o, (size_t)olen);
		/* Evaluations repeat the one before: an attr's outputs were
		 * named one after the other (first_name: its first), and the
		 * key last seen with a name mostly holds the same path. */
		if (ai >= afirst_name) {
			size_t old = afirst_name;
			GROW(first_name, afirst_name, (size_t)ai + 1);
			for (size_t k = old; k < afirst_name; k++)
				first_name[k] = NONE;
		}
		name = NONE;
		for (uint32_t k = first_name[ai]; k != NONE && k < w->nnames && k - first_name[ai] < 8 &&
						  w->names[k].attr == ai; k++)
			if (w->names[k].output == oi) {
				name = k;
				break;
			}
		if (name == NONE) {
			ni = u64map_get(&names, ((uint64_t)ai << 32 | oi) + 1);
			if (*ni == U64MAP_NEW) {
				GROW(w->names, anames, w->nnames + 1);
				w->names[w->nnames].attr = ai;
				w->names[w->nnames].output = oi;
				*ni = (uint32_t)w->nnames++;
			}
			name = *ni;
			if (first_name[ai] == NONE)
				first_name[ai] = name;
		}
		if (name >= alast_key) {
			size_t old = alast_key;
			GROW(last_key, alast_key, (size_t)name + 1);
			for (size_t k = old; k < alast_key; k++)
				last_key[k] = NONE;
		}
		ki = &last_key[name];
		if (*ki == NONE || w->keys[*ki].path != (uint32_t)pid) {
			ki = u64map_get(&keys, ((uint64_t)name << 32 | (uint32_t)pid) + 1);
			if (*ki == U64MAP_NEW) {
				GROW(w->keys, akeys, w->nkeys + 1);
				w->keys[w->nkeys].name = name;
				w->keys[w->nkeys].path = (uint32_t)pid;
				*ki = (uint32_t)w->nkeys++;
			}
			last_key[name] = *ki;
		}
		GROW(w->jobs, ajobs, w->njobs + 1);
		j = &w->jobs[w->njobs++];
		j->key = last_key[name];
		j->next = NONE;
	}
	if (rc < 0)
		goto out;
	u64map_release(&keys);

	/* Group the jobs by evaluation (time order), keeping the SQL order
	 * (attr, output) within each: already so when the evaluations' ids
	 * grow with their times, else the runs are copied in time order. */
	for (size_t r = 0; r < nruns; r++) {
		w->evals[runs[r].eval].njobs += (uint32_t)runs[r].n;
		if (r && runs[r].eval < runs[r - 1].eval)
			sorted = 0;
	}
	for (size_t e = 0, off = 0; e < w->nevals; e++) {
		w->evals[e].job0 = (uint32_t)off;
		off += w->evals[e].njobs;
	}
	if (!sorted) {
		struct gc_job *jobs = xmalloc((w->njobs ? w->njobs : 1) * sizeof(*jobs));
		uint32_t *fill = xmalloc((w->nevals ? w->nevals : 1) * sizeof(*fill));
		for (size_t e = 0; e < w->nevals; e++)
			fill[e] = w->evals[e].job0;
		for (size_t r = 0; r < nruns; r++) {
			memcpy(jobs + fill[runs[r].eval], w->jobs + runs[r].start,
			       runs[r].n * sizeof(*jobs));
			fill[runs[r].eval] += (uint32_t)runs[r].n;
		}
		free(fill);
		free(w->jobs);
		w->jobs = jobs;
	}
	w->attr_weight = xmalloc((attrs.n ? attrs.n : 1) * sizeof(*w->attr_weight));
	for (size_t a = 0; a < attrs.n; a++)
		w->attr_weight[a] = gc_weight(&w->weights, GC_W_ATTR, intern_str(&attrs, (uint32_t)a));

	/* next: the next evaluation of the same group that has the attr.
	 * last maps (group, attr) to the first job of the attr in the newest
	 * evaluation seen so far and that evaluation (through a slot). */
	for (size_t e = 0; e < w->nevals; e++) {
		const struct gc_eval *ev = &w->evals[e];
		size_t j = ev->job0, end = (size_t)ev->job0 + ev->njobs;
		while (j < end) {
			uint32_t attr = gc_job_name(w, (uint32_t)j)->attr, *prev;
			struct lastrun *sl;
			size_t run = j;
			while (run < end && gc_job_name(w, (uint32_t)run)->attr == attr)
				run++;
			prev = u64map_get(&last, ((uint64_t)ev->group << 32 | attr) + 1);
			if (*prev == U64MAP_NEW) {
				GROW(slot, aslot, nslot + 1);
				slot[nslot].job = NONE;
				*prev = (uint32_t)nslot++;
			}
			sl = &slot[*prev];
			if (sl->job != NONE) {
				const struct gc_eval *pe = &w->evals[sl->eval];
				for (size_t k = sl->job; k < (size_t)pe->job0 + pe->njobs &&
							    gc_job_name(w, (uint32_t)k)->attr == attr; k++)
					w->jobs[k].next = (uint32_t)e;
			}
			sl->job = (uint32_t)j;
			sl->eval = (uint32_t)e;
			j = run;
		}
	}
	w->nattrs = attrs.n;
	w->attrs = intern_take(&attrs);
	w->noutputs = outputs.n;
	w->outputs = intern_take(&outputs);
	ret = 0;
out:
	intern_release(&groups);
	intern_release(&attrs);
	intern_release(&outputs);
	u64map_release(&byid);
	u64map_release(&last);
	u64map_release(&names);
	u64map_release(&keys);
	free(runs);
	free(first_name);
	free(last_key);
	free(slot);
	strbuf_release(&key);
	return ret;
}

static int load_crawls(struct gc_world *w, struct db *db)
{
	sqlite3_stmt *st = stmt_query(db, &stmts, Q_CRAWLS, SQL_ARGS(w->cache_id));
	size_t alloc = 0;
	int rc;

	if (!st)
		return -1;
	while ((rc = db_step(db, st)) == 1) {
		int64_t t = sqlite3_column_int64(st, 0);
		if (w->ncrawls && w->crawl_times[w->ncrawls - 1] == t)
			continue;
		GROW(w->crawl_times, alloc, w->ncrawls + 1);
		w->crawl_times[w->ncrawls++] = t;
	}
	return rc < 0 ? -1 : 0;
}

int gc_world_load(struct gc_world *w, struct db *db, int64_t cache_id,
		  const struct gc_weights *weights, unsigned flags)
{
	memset(w, 0, sizeof(*w));
	w->cache_id = cache_id;
	w->flags = flags;
	if (weights)
		gc_weights_copy(&w->weights, weights);
	else
		gc_weights_init(&w->weights);
	if (graph_load(&w->g, db, cache_id))
		return -1;
	w->n = w->g.n;
	build_referrers(w);
	if (!(flags & GC_LOAD_HISTORY)) {
		/* The history's events hold these times (gc_simulate). */
		w->push_time = xcalloc(w->n ? w->n : 1, sizeof(*w->push_time));
		w->access = xcalloc(w->n ? w->n : 1, sizeof(*w->access));
		w->nar_access = xcalloc(w->n ? w->n : 1, sizeof(*w->nar_access));
	}
	if (load_presence(w, db) || load_siblings(w, db) || load_access(w, db) ||
	    load_evals(w, db) || rejected_series_load(&w->rejected, db, cache_id))
		return -1;
	if ((flags & GC_LOAD_HISTORY) && load_crawls(w, db))
		return -1;
	return 0;
}

void gc_world_release(struct gc_world *w)
{
	gc_num_free(w);
	graph_release(&w->g);
	free(w->roff);
	free(w->radj);
	free(w->push_time);
	free(w->access);
	free(w->nar_access);
	free(w->sibling);
	for (size_t i = 0; i < w->ngroups; i++) {
		free(w->groups[i].branch);
		free(w->groups[i].capabilities);
		free(w->groups[i].system);
	}
	free(w->groups);
	for (size_t i = 0; i < w->nevals; i++)
		free(w->evals[i].rev);
	free(w->evals);
	free(w->jobs);
	free(w->keys);
	free(w->names);
	free(w->attr_weight);
	free(w->attrs);
	free(w->outputs);
	gc_weights_release(&w->weights);
	events_release(&w->pushes);
	events_release(&w->gones);
	events_release(&w->seens);
	events_release(&w->accesses);
	free(w->crawl_times);
	rejected_series_release(&w->rejected);
	memset(w, 0, sizeof(*w));
}

/* ---- reading the world -------------------------------------------------- */

size_t gc_first_eval_after(const struct gc_world *w, size_t nvis, int64_t t)
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

uint32_t gc_job_eval(const struct gc_world *w, uint32_t j)
{
	/* The last evaluation whose jobs start at or before j (evaluations
	 * without jobs share job0 with the next one). */
	size_t lo = 0, hi = w->nevals;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (w->evals[mid].job0 <= j)
			lo = mid;
		else
			hi = mid;
	}
	return (uint32_t)lo;
}

/* What the orders compare, computed once per job sorted; the sort moves
 * 4-byte positions into sort_v (the qsort context). */
struct sortjob {
	double value;
	uint32_t eval, job;
};
static const struct sortjob *sort_v;

/* By value, ascending (ties: later job first). */
static int cmp_job_value_asc(const void *a, const void *b)
{
	const struct sortjob *x = &sort_v[*(const uint32_t *)a], *y = &sort_v[*(const uint32_t *)b];

	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	return x->job > y->job ? -1 : 1;
}

/* Roots in priority order: value first, then the newer evaluation. */
static int cmp_job_value_desc(const void *a, const void *b)
{
	const struct sortjob *x = &sort_v[*(const uint32_t *)a], *y = &sort_v[*(const uint32_t *)b];

	if (x->value != y->value)
		return x->value > y->value ? -1 : 1;
	if (x->eval != y->eval)
		return x->eval > y->eval ? -1 : 1;
	return x->job < y->job ? -1 : x->job > y->job;
}

/* Newest evaluation first. */
static int cmp_job_newest(const void *a, const void *b)
{
	const struct sortjob *x = &sort_v[*(const uint32_t *)a], *y = &sort_v[*(const uint32_t *)b];

	if (x->eval != y->eval)
		return x->eval > y->eval ? -1 : 1;
	return x->job < y->job ? -1 : x->job > y->job;
}

void gc_sort_jobs(const struct gc_world *w, uint32_t *jobs, size_t n, enum gc_jobs_order order)
{
	static int (*const cmp[])(const void *, const void *) = {
		[GC_JOBS_VALUE_ASC] = cmp_job_value_asc,
		[GC_JOBS_VALUE_DESC] = cmp_job_value_desc,
		[GC_JOBS_NEWEST] = cmp_job_newest,
	};
	struct sortjob *v;

	if (n < 2)
		return;
	if (n > UINT32_MAX)
		BUG("gc_sort_jobs: %zu jobs", n);
	v = xmalloc(n * sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		/* Lists are mostly runs of one evaluation's jobs. */
		uint32_t j = jobs[i], ev;
		const struct gc_eval *pe = i ? &w->evals[v[i - 1].eval] : NULL;
		if (pe && j >= pe->job0 && j < pe->job0 + pe->njobs)
			ev = v[i - 1].eval;
		else
			ev = gc_job_eval(w, j);
		v[i].eval = ev;
		v[i].job = j;
		v[i].value = order == GC_JOBS_NEWEST ? 0 : gc_job_value_in(w, j, ev);
	}
	/* jobs[] becomes the positions, then the sorted jobs */
	for (size_t i = 0; i < n; i++)
		jobs[i] = (uint32_t)i;
	sort_v = v;
	qsort(jobs, n, sizeof(*jobs), cmp[order]);
	for (size_t i = 0; i < n; i++)
		jobs[i] = v[jobs[i]].job;
	free(v);
}
