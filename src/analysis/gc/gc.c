/*
 * gc.c - the GC model: weights, the world loaded from the DB, one engine
 * that runs every policy (on a snapshot for gc_select(), on the replayed
 * history for gc_simulate()), broken jobs.  See gc.h.
 *
 * The engine keeps flat per-path arrays (stored, push time, last access,
 * LRU links) and is advanced in time: events (pushes, accesses,
 * evaluations, recorded evictions) are applied in time order, then a
 * policy pass runs at the step's time.  Nothing is reloaded or re-sorted
 * per step: the LRU list stays sorted because touches arrive in time
 * order, the priority policy's roots are a move-to-front list updated
 * when an evaluation appears, and traversals use epoch-stamped marks.
 */
#include "analysis/gc.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/stmt.h"
#include "ingest/evals.h"
#include "lib/util.h"

#define NONE UINT32_MAX

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

/* ---- weights ---------------------------------------------------------- */

static const char *const kind_names[GC_W_NKINDS] = {"branch", "capabilities", "attr"};

static void rule_add(struct gc_weights *wt, int kind, const char *pat, size_t len, double weight)
{
	struct gc_weight_rule *r;

	GROW(wt->rules[kind], wt->alloc[kind], wt->n[kind] + 1);
	r = &wt->rules[kind][wt->n[kind]++];
	r->pattern = xstrndup(pat, len);
	r->weight = weight;
}

static void rules_clear(struct gc_weights *wt, int kind)
{
	for (size_t i = 0; i < wt->n[kind]; i++)
		free(wt->rules[kind][i].pattern);
	wt->n[kind] = 0;
}

void gc_weights_init(struct gc_weights *wt)
{
	memset(wt, 0, sizeof(*wt));
	/* Users substitute from channels; the release is what most of them
	 * run; master is CI's early warning more than anyone's daily pull. */
	rule_add(wt, GC_W_BRANCH, "nixos-unstable", 14, 4);
	rule_add(wt, GC_W_BRANCH, "nixpkgs-unstable", 16, 4);
	rule_add(wt, GC_W_BRANCH, "nixos-*", 7, 3);
	rule_add(wt, GC_W_BRANCH, "master", 6, 2);
}

void gc_weights_release(struct gc_weights *wt)
{
	for (int k = 0; k < GC_W_NKINDS; k++) {
		rules_clear(wt, k);
		free(wt->rules[k]);
	}
	memset(wt, 0, sizeof(*wt));
}

void gc_weights_copy(struct gc_weights *dst, const struct gc_weights *src)
{
	memset(dst, 0, sizeof(*dst));
	for (int k = 0; k < GC_W_NKINDS; k++)
		for (size_t i = 0; i < src->n[k]; i++)
			rule_add(dst, k, src->rules[k][i].pattern, strlen(src->rules[k][i].pattern),
				 src->rules[k][i].weight);
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

int gc_weights_parse(struct gc_weights *wt, const char *buf, size_t len, const char *name)
{
	struct gc_weights nw;
	int reset[GC_W_NKINDS] = {0};
	const char *p = buf, *end = buf + len;
	unsigned lineno = 0;
	int ret = -1;

	memset(&nw, 0, sizeof(nw));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *hash;
		const char *tok[4];
		size_t tlen[4], ntok = 0;
		int kind = -1;

		lineno++;
		if ((hash = memchr(p, '#', (size_t)(le - p))))
			le = hash;
		for (const char *q = p; q < le;) {
			if (is_blank(*q)) {
				q++;
				continue;
			}
			if (ntok == 4) {
				error("%s:%u: too many fields (want KIND PATTERN WEIGHT)", name, lineno);
				goto out;
			}
			tok[ntok] = q;
			while (q < le && !is_blank(*q))
				q++;
			tlen[ntok] = (size_t)(q - tok[ntok]);
			ntok++;
		}
		p = nl ? nl + 1 : end;
		if (!ntok)
			continue;
		for (int k = 0; k < GC_W_NKINDS; k++)
			if (tlen[0] == strlen(kind_names[k]) && !memcmp(tok[0], kind_names[k], tlen[0]))
				kind = k;
		if (tlen[0] == 5 && !memcmp(tok[0], "reset", 5)) {
			int all = ntok == 2 && tlen[1] == 3 && !memcmp(tok[1], "all", 3);
			int done = 0;
			for (int k = 0; k < GC_W_NKINDS && ntok == 2; k++) {
				if (all || (tlen[1] == strlen(kind_names[k]) &&
					    !memcmp(tok[1], kind_names[k], tlen[1]))) {
					rules_clear(&nw, k);
					reset[k] = done = 1;
				}
			}
			if (!done) {
				error("%s:%u: want 'reset branch|capabilities|attr|all'", name, lineno);
				goto out;
			}
			continue;
		}
		if (kind < 0) {
			error("%s:%u: unknown kind '%.*s' (want branch, capabilities, attr or reset)",
			      name, lineno, (int)(tlen[0] > 40 ? 40 : tlen[0]), tok[0]);
			goto out;
		}
		if (ntok != 3) {
			error("%s:%u: want KIND PATTERN WEIGHT", name, lineno);
			goto out;
		}
		{
			char num[64], *ep;
			double weight;
			char *pat = NULL;
			size_t plen = tlen[1];

			if (tlen[2] >= sizeof(num)) {
				error("%s:%u: weight is not a number", name, lineno);
				goto out;
			}
			memcpy(num, tok[2], tlen[2]);
			num[tlen[2]] = '\0';
			weight = strtod(num, &ep);
			if (ep == num || *ep || !isfinite(weight) || weight < 0) {
				error("%s:%u: weight '%s' is not a number >= 0", name, lineno, num);
				goto out;
			}
			if (plen > 256) {
				error("%s:%u: pattern longer than 256 characters", name, lineno);
				goto out;
			}
			for (size_t i = 0; i < plen; i++) {
				unsigned char c = (unsigned char)tok[1][i];
				if (c < 0x21 || c > 0x7e || (c == '*' && i + 1 != plen)) {
					error("%s:%u: bad pattern (printable characters, '*' only at the end)",
					      name, lineno);
					goto out;
				}
			}
			if (kind == GC_W_CAPS && tok[1][plen - 1] != '*') {
				struct evals_error err;
				if (caps_normalize(tok[1], plen, &pat, &err)) {
					error("%s:%u: %s", name, lineno, err.msg);
					goto out;
				}
				rule_add(&nw, kind, pat, strlen(pat), weight);
				free(pat);
			} else {
				rule_add(&nw, kind, tok[1], plen, weight);
			}
		}
	}
	/* The file's rules first, so they win over what was there. */
	for (int k = 0; k < GC_W_NKINDS; k++) {
		if (reset[k])
			rules_clear(wt, k);
		for (size_t i = 0; i < wt->n[k]; i++) {
			GROW(nw.rules[k], nw.alloc[k], nw.n[k] + 1);
			nw.rules[k][nw.n[k]++] = wt->rules[k][i];
		}
		wt->n[k] = 0;
		free(wt->rules[k]);
		wt->rules[k] = nw.rules[k];
		wt->n[k] = nw.n[k];
		wt->alloc[k] = nw.alloc[k];
		nw.rules[k] = NULL;
		nw.n[k] = nw.alloc[k] = 0;
	}
	ret = 0;
out:
	gc_weights_release(&nw);
	return ret;
}

int gc_weights_load(struct gc_weights *wt, const char *path)
{
	char *buf = NULL;
	size_t len;
	int ret;

	if (read_file_capped(path, 16u << 20, &buf, &len))
		return error("cannot read weights file '%s': %s", path, strerror(errno));
	ret = gc_weights_parse(wt, buf, len, path);
	free(buf);
	return ret;
}

static int pattern_match(const char *pat, const char *s)
{
	size_t n = strlen(pat);

	if (n && pat[n - 1] == '*')
		return !strncmp(pat, s, n - 1);
	return !strcmp(pat, s);
}

double gc_weight(const struct gc_weights *wt, enum gc_weight_kind kind, const char *s)
{
	for (size_t i = 0; i < wt->n[kind]; i++)
		if (pattern_match(wt->rules[kind][i].pattern, s))
			return wt->rules[kind][i].weight;
	return 1.0;
}

/* ---- small maps --------------------------------------------------------- */

static uint64_t fnv1a(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

/* Interned strings: v[i] owned, tab holds index + 1. */
struct intern {
	char **v;
	size_t n, alloc;
	uint32_t *tab;
	size_t cap;
};

static uint32_t intern(struct intern *m, const char *s, size_t len)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		uint32_t *tab = xcalloc(cap, sizeof(*tab));
		for (size_t k = 0; k < m->n; k++) {
			for (i = fnv1a(m->v[k], strlen(m->v[k])) & (cap - 1); tab[i]; i = (i + 1) & (cap - 1))
				;
			tab[i] = (uint32_t)k + 1;
		}
		free(m->tab);
		m->tab = tab;
		m->cap = cap;
	}
	for (i = fnv1a(s, len) & (m->cap - 1); m->tab[i]; i = (i + 1) & (m->cap - 1)) {
		const char *x = m->v[m->tab[i] - 1];
		if (!strncmp(x, s, len) && !x[len])
			return m->tab[i] - 1;
	}
	GROW(m->v, m->alloc, m->n + 1);
	m->v[m->n] = xstrndup(s, len);
	m->tab[i] = (uint32_t)++m->n;
	return (uint32_t)(m->n - 1);
}

/* uint64 keys to uint32 values; key 0 is not allowed. */
struct u64map {
	uint64_t *k;
	uint32_t *v;
	size_t n, cap;
};

static uint32_t *u64map_get(struct u64map *m, uint64_t key)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		uint64_t *k = xcalloc(cap, sizeof(*k));
		uint32_t *v = xmalloc(cap * sizeof(*v));
		for (size_t j = 0; j < m->cap; j++) {
			if (!m->k[j])
				continue;
			for (i = mix64(m->k[j]) & (cap - 1); k[i]; i = (i + 1) & (cap - 1))
				;
			k[i] = m->k[j];
			v[i] = m->v[j];
		}
		free(m->k);
		free(m->v);
		m->k = k;
		m->v = v;
		m->cap = cap;
	}
	for (i = mix64(key) & (m->cap - 1); m->k[i]; i = (i + 1) & (m->cap - 1))
		if (m->k[i] == key)
			return &m->v[i];
	m->k[i] = key;
	m->v[i] = NONE;
	m->n++;
	return &m->v[i];
}

static void u64map_release(struct u64map *m)
{
	free(m->k);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* ---- the world ---------------------------------------------------------- */

int64_t gc_size(const struct gc_world *w, uint32_t id)
{
	if (id >= w->n || !(w->g.flags[id] & GRAPH_NARINFO))
		return 0;
	return w->g.file_size[id] >= 0 ? w->g.file_size[id] : w->g.nar_size[id];
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

static int load_presence(struct gc_world *w, struct db *db)
{
	static const char sql[] =
		"SELECT path_id, push_time, first_seen, gone_at FROM presence"
		" WHERE cache_id = ?1 ORDER BY id";
	sqlite3_stmt *st = db_stmt(db, sql);
	uint8_t *open = xcalloc(w->n ? w->n : 1, 1);
	size_t ap = 0, as = 0, ag = 0;
	int hist = w->flags & GC_LOAD_HISTORY, rc;

	if (!st) {
		free(open);
		return -1;
	}
	db_bind_int(st, 1, w->cache_id);
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
		if (!gone) {
			w->push_time[id] = push;
			open[id] = 1;
		} else if (!open[id]) {
			w->push_time[id] = push;
		}
		if (hist) {
			event_add(&w->pushes, &w->npushes, &ap, push, (uint32_t)id, 0);
			event_add(&w->seens, &w->nseens, &as, seen, (uint32_t)id, 0);
			if (gone)
				event_add(&w->gones, &w->ngones, &ag, sqlite3_column_int64(st, 3),
					  (uint32_t)id, 0);
		}
	}
	free(open);
	if (rc < 0)
		return -1;
	if (w->npushes)
		qsort(w->pushes, w->npushes, sizeof(*w->pushes), cmp_event);
	if (w->nseens)
		qsort(w->seens, w->nseens, sizeof(*w->seens), cmp_event);
	if (w->ngones)
		qsort(w->gones, w->ngones, sizeof(*w->gones), cmp_event);
	return 0;
}

/* Outputs of one derivation, from the narinfos' Deriver. */
static int load_siblings(struct gc_world *w, struct db *db)
{
	static const char sql[] =
		"SELECT path_id, deriver FROM narinfos WHERE cache_id = ?1 AND deriver IS NOT NULL";
	sqlite3_stmt *st = db_stmt(db, sql);
	struct intern drv = {0};
	uint32_t *last = NULL;
	size_t alast = 0;
	int rc;

	w->sibling = xmalloc((w->n ? w->n : 1) * sizeof(*w->sibling));
	for (uint32_t i = 0; i < w->n; i++)
		w->sibling[i] = i;
	if (!st)
		return -1;
	db_bind_int(st, 1, w->cache_id);
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
	for (size_t i = 0; i < drv.n; i++)
		free(drv.v[i]);
	free(drv.v);
	free(drv.tab);
	free(last);
	return rc < 0 ? -1 : 0;
}

static int load_access(struct gc_world *w, struct db *db)
{
	static const char sql[] =
		"SELECT path_id, narinfo_last, nar_last FROM accesses WHERE cache_id = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);
	size_t aa = 0;
	int rc;

	if (!st)
		return -1;
	db_bind_int(st, 1, w->cache_id);
	while ((rc = db_step(db, st)) == 1) {
		int64_t id = sqlite3_column_int64(st, 0);
		int64_t ni = sqlite3_column_type(st, 1) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 1);
		int64_t nar = sqlite3_column_type(st, 2) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 2);
		if (id <= 0 || id >= w->n)
			continue;
		if (!w->access[id] && (ni > 0 || nar > 0))
			w->accessed_paths++;
		if (ni > w->access[id])
			w->access[id] = ni;
		if (nar > w->access[id])
			w->access[id] = nar;
		if (nar > w->nar_access[id])
			w->nar_access[id] = nar;
		if (w->flags & GC_LOAD_HISTORY) {
			if (ni > 0)
				event_add(&w->accesses, &w->naccesses, &aa, ni, (uint32_t)id,
					  GC_ACCESS_NARINFO);
			if (nar > 0)
				event_add(&w->accesses, &w->naccesses, &aa, nar, (uint32_t)id,
					  GC_ACCESS_NAR);
		}
	}
	if (rc < 0)
		return -1;
	if (w->naccesses)
		qsort(w->accesses, w->naccesses, sizeof(*w->accesses), cmp_event);
	return 0;
}

struct tmpjob {
	uint32_t eval, attr, output, path;
};

static int load_evals(struct gc_world *w, struct db *db)
{
	static const char sql_evals[] =
		"SELECT id, branch, rev, capabilities, system, time FROM evaluations"
		" ORDER BY time, id";
	static const char sql_jobs[] =
		"SELECT evaluation_id, attr, output, path_id FROM eval_jobs"
		" WHERE path_id IS NOT NULL ORDER BY evaluation_id, attr, output";
	struct intern groups = {0}, attrs = {0}, outputs = {0};
	struct u64map byid = {0}, last = {0};
	struct tmpjob *tj = NULL;
	size_t ntj = 0, atj = 0, agroups = 0, aevals = 0;
	uint32_t *fill = NULL;
	double *attr_w = NULL;
	struct strbuf key = STRBUF_INIT;
	sqlite3_stmt *st;
	int rc, ret = -1;

	if (!(st = db_stmt(db, sql_evals)))
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

	if (!(st = db_stmt(db, sql_jobs)))
		goto out;
	while ((rc = db_step(db, st)) == 1) {
		int64_t eid = sqlite3_column_int64(st, 0), pid = sqlite3_column_int64(st, 3);
		const char *a = (const char *)sqlite3_column_text(st, 1);
		int alen = sqlite3_column_bytes(st, 1);
		const char *o = (const char *)sqlite3_column_text(st, 2);
		int olen = sqlite3_column_bytes(st, 2);
		uint32_t *ei;
		if (eid <= 0 || pid <= 0 || pid >= w->n || !a || !o)
			continue;
		ei = u64map_get(&byid, (uint64_t)eid);
		if (*ei == NONE)
			continue;
		GROW(tj, atj, ntj + 1);
		tj[ntj].eval = *ei;
		tj[ntj].attr = intern(&attrs, a, (size_t)alen);
		tj[ntj].output = intern(&outputs, o, (size_t)olen);
		tj[ntj].path = (uint32_t)pid;
		ntj++;
	}
	if (rc < 0)
		goto out;

	/* Group the jobs by evaluation (time order), keeping the SQL order
	 * (attr, output) within each. */
	for (size_t i = 0; i < ntj; i++)
		w->evals[tj[i].eval].njobs++;
	fill = xmalloc((w->nevals ? w->nevals : 1) * sizeof(*fill));
	for (size_t e = 0, off = 0; e < w->nevals; e++) {
		w->evals[e].job0 = (uint32_t)off;
		fill[e] = (uint32_t)off;
		off += w->evals[e].njobs;
	}
	attr_w = xmalloc((attrs.n ? attrs.n : 1) * sizeof(*attr_w));
	for (size_t a = 0; a < attrs.n; a++)
		attr_w[a] = gc_weight(&w->weights, GC_W_ATTR, attrs.v[a]);
	w->jobs = xmalloc((ntj ? ntj : 1) * sizeof(*w->jobs));
	w->njobs = ntj;
	for (size_t i = 0; i < ntj; i++) {
		struct gc_job *j = &w->jobs[fill[tj[i].eval]++];
		j->eval = tj[i].eval;
		j->attr = tj[i].attr;
		j->output = tj[i].output;
		j->path = tj[i].path;
		j->superseded_at = INT64_MAX;
		j->value = w->groups[w->evals[j->eval].group].weight * attr_w[j->attr];
	}

	/* superseded_at: the time of the next evaluation of the same group
	 * that has the attr.  last maps (group, attr) to the first job of the
	 * attr in the newest evaluation seen so far. */
	for (size_t e = 0; e < w->nevals; e++) {
		const struct gc_eval *ev = &w->evals[e];
		size_t j = ev->job0, end = (size_t)ev->job0 + ev->njobs;
		while (j < end) {
			uint32_t attr = w->jobs[j].attr, *prev;
			size_t run = j;
			while (run < end && w->jobs[run].attr == attr)
				run++;
			prev = u64map_get(&last, ((uint64_t)ev->group << 32 | attr) + 1);
			if (*prev != NONE) {
				const struct gc_eval *pe = &w->evals[w->jobs[*prev].eval];
				for (size_t k = *prev; k < (size_t)pe->job0 + pe->njobs &&
							   w->jobs[k].attr == attr; k++)
					w->jobs[k].superseded_at = ev->time;
			}
			*prev = (uint32_t)j;
			j = run;
		}
	}
	w->attrs = attrs.v;
	w->nattrs = attrs.n;
	attrs.v = NULL;
	w->outputs = outputs.v;
	w->noutputs = outputs.n;
	outputs.v = NULL;
	ret = 0;
out:
	for (size_t i = 0; i < groups.n; i++)
		free(groups.v[i]);
	free(groups.v);
	free(groups.tab);
	for (size_t i = 0; attrs.v && i < attrs.n; i++)
		free(attrs.v[i]);
	free(attrs.v);
	free(attrs.tab);
	for (size_t i = 0; outputs.v && i < outputs.n; i++)
		free(outputs.v[i]);
	free(outputs.v);
	free(outputs.tab);
	u64map_release(&byid);
	u64map_release(&last);
	free(tj);
	free(fill);
	free(attr_w);
	strbuf_release(&key);
	return ret;
}

static int load_crawls(struct gc_world *w, struct db *db)
{
	static const char sql[] =
		"SELECT started_at FROM crawls WHERE cache_id = ?1 AND status = 'complete'"
		" ORDER BY started_at, id";
	sqlite3_stmt *st = db_stmt(db, sql);
	size_t alloc = 0;
	int rc;

	if (!st)
		return -1;
	db_bind_int(st, 1, w->cache_id);
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
	w->push_time = xcalloc(w->n ? w->n : 1, sizeof(*w->push_time));
	w->access = xcalloc(w->n ? w->n : 1, sizeof(*w->access));
	w->nar_access = xcalloc(w->n ? w->n : 1, sizeof(*w->nar_access));
	if (load_presence(w, db) || load_siblings(w, db) || load_access(w, db) ||
	    load_evals(w, db))
		return -1;
	if ((flags & GC_LOAD_HISTORY) && load_crawls(w, db))
		return -1;
	return 0;
}

void gc_world_release(struct gc_world *w)
{
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
	for (size_t i = 0; i < w->nattrs; i++)
		free(w->attrs[i]);
	free(w->attrs);
	for (size_t i = 0; i < w->noutputs; i++)
		free(w->outputs[i]);
	free(w->outputs);
	gc_weights_release(&w->weights);
	free(w->pushes);
	free(w->gones);
	free(w->seens);
	free(w->accesses);
	free(w->crawl_times);
	memset(w, 0, sizeof(*w));
}

/* ---- the engine --------------------------------------------------------- */

enum { LRU_NONE, LRU_ANY, LRU_NAR };

/* How the engine treats recorded pushes and evictions. */
enum {
	MODE_SNAPSHOT,   /* gc_select: a given stored set, nothing replayed */
	MODE_RECORDED,   /* replaying before the simulation starts: the
	                    recorded pushes and evictions happen as recorded */
	MODE_FREE,       /* simulating: pushes store whole closures, recorded
	                    evictions are only counted */
	MODE_ANCHORED,   /* predicting one crawl interval at a time from the
	                    recorded state (stored is reset per interval) */
};

struct frame {
	uint32_t v, e;
};

struct eng {
	struct gc_world *w;
	enum gc_policy policy;
	uint64_t limit;
	int64_t retention;
	int eval_access;
	int lru;
	int mode;
	uint32_t n;

	uint8_t *stored;
	uint64_t bytes, npaths;
	int64_t *push, *acc, *nacc;

	/* LRU list (cachix: key = last push or access; attic: last push or
	 * NAR access), sentinel 0; kept sorted by key because touches come in
	 * time order.  Outside MODE_ANCHORED it holds the stored paths. */
	uint32_t *prev, *next;
	int64_t *key;
	uint8_t *linked;

	/* Evaluations seen: w->evals[0 .. nvis). */
	size_t nvis;
	uint32_t *latest;      /* per group: newest seen evaluation, NONE */
	uint8_t *reached;      /* niks3: reached by a seen evaluation's output */
	uint32_t *cur;         /* priority: jobs not known superseded */
	size_t ncur, acur;
	uint32_t *rprev, *rnext;   /* priority: output paths, newest
	                              evaluation first, then by value */
	uint8_t *rlinked;          /* RL_* */
	uint64_t *rkey, rclock;    /* list position: larger is nearer the front */
	uint32_t *rback;           /* pruned roots stored again, to merge back */
	size_t nrback, arback;

	/* recorded presence, for MODE_ANCHORED */
	uint8_t *rec, *base;

	/* scratch */
	uint32_t *stamp;
	uint32_t epoch;
	uint32_t *stack;
	struct frame *fr;
	uint32_t *order;
	uint8_t *cls;
	uint8_t *wstate;
	uint32_t *wstamp, wepoch;
	uint32_t *tmp;
	size_t ntmp, atmp;
	uint32_t *seg;         /* eval touches: per evaluation of the step, the
	                          end of its part of tmp */
	size_t aseg;
	uint32_t *jtmp;        /* one evaluation's jobs, sorted */
	size_t ajtmp;
	uint8_t *cand;         /* take_upward's candidates */

	struct gc_victims *out;
	uint32_t *evstep, stepno;
	uint64_t pushed_paths, pushed_bytes;
};

static uint32_t next_epoch(uint32_t *stamp, uint32_t *epoch, uint32_t n)
{
	if (++*epoch == 0) {
		memset(stamp, 0, (size_t)n * sizeof(*stamp));
		*epoch = 1;
	}
	return *epoch;
}

static void eng_release(struct eng *e)
{
	free(e->stored);
	free(e->push);
	free(e->acc);
	free(e->nacc);
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
	free(e->cls);
	free(e->wstate);
	free(e->wstamp);
	free(e->tmp);
	free(e->seg);
	free(e->jtmp);
	free(e->cand);
	free(e->evstep);
	memset(e, 0, sizeof(*e));
}

static void eng_init(struct eng *e, struct gc_world *w, enum gc_policy p,
		     const struct gc_params *params, int mode, struct gc_victims *out)
{
	size_t n = w->n ? w->n : 1;
	int model = params->access_model;

	memset(e, 0, sizeof(*e));
	e->w = w;
	e->policy = p;
	e->limit = params->limit;
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
	e->stored = xcalloc(n, 1);
	e->push = xcalloc(n, sizeof(*e->push));
	e->acc = xcalloc(n, sizeof(*e->acc));
	e->nacc = xcalloc(n, sizeof(*e->nacc));
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
		e->cls = xcalloc(n, 1);
	}
	e->stamp = xcalloc(n, sizeof(*e->stamp));
	e->stack = xmalloc(n * sizeof(*e->stack));
	e->fr = xmalloc(n * sizeof(*e->fr));
	e->cand = xcalloc(n, 1);
	e->wstate = xcalloc(n, 1);
	e->wstamp = xcalloc(n, sizeof(*e->wstamp));
	e->evstep = xcalloc(n, sizeof(*e->evstep));
	if (out) {
		out->n = 0;
		out->bytes = out->bytes_before = 0;
	}
}

static int has_narinfo(const struct eng *e, uint32_t id)
{
	return id && id < e->n && (e->w->g.flags[id] & GRAPH_NARINFO);
}

static void lru_unlink(struct eng *e, uint32_t id)
{
	e->next[e->prev[id]] = e->next[id];
	e->prev[e->next[id]] = e->prev[id];
	e->linked[id] = 0;
}

static void lru_append(struct eng *e, uint32_t id)
{
	uint32_t tail = e->prev[0];

	e->prev[id] = tail;
	e->next[id] = 0;
	e->next[tail] = id;
	e->prev[0] = id;
	e->linked[id] = 1;
}

static int64_t lru_key(const struct eng *e, uint32_t id)
{
	int64_t a = e->lru == LRU_ANY ? e->acc[id] : e->nacc[id];

	return a > e->push[id] ? a : e->push[id];
}

/* Move id to the tail of the LRU list when its key grew, or link it
 * (link: it was just stored). */
static void lru_touch(struct eng *e, uint32_t id, int link)
{
	int64_t k;

	if (!e->lru)
		return;
	k = lru_key(e, id);
	if (e->linked[id]) {
		if (k <= e->key[id])
			return;
		lru_unlink(e, id);
	} else if (!link) {
		return;
	}
	e->key[id] = k;
	lru_append(e, id);
}

enum { T_NARINFO = GC_ACCESS_NARINFO, T_NAR = GC_ACCESS_NAR, T_EVAL };

static void touch(struct eng *e, uint32_t id, int64_t t, int kind)
{
	if (t > e->acc[id])
		e->acc[id] = t;
	if (kind != T_NARINFO && t > e->nacc[id])
		e->nacc[id] = t;
	lru_touch(e, id, 0);
}

static void root_restored(struct eng *e, uint32_t id);

static void store_one(struct eng *e, uint32_t id, int64_t t)
{
	e->stored[id] = 1;
	e->bytes += (uint64_t)gc_size(e->w, id);
	e->npaths++;
	e->push[id] = t;
	lru_touch(e, id, 1);
	root_restored(e, id);
}

static void unstore(struct eng *e, uint32_t id)
{
	e->stored[id] = 0;
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
	uint32_t ep = next_epoch(e->stamp, &e->epoch, e->n);
	size_t sp = 0;

	if (e->stored[root] || !has_narinfo(e, root))
		return;
	e->stamp[root] = ep;
	e->fr[sp++] = (struct frame){root, g->off[root]};
	while (sp) {
		struct frame *f = &e->fr[sp - 1];
		if (f->e < g->off[f->v + 1]) {
			uint32_t x = g->adj[f->e++];
			if (e->stamp[x] != ep && !e->stored[x] && has_narinfo(e, x)) {
				e->stamp[x] = ep;
				e->fr[sp++] = (struct frame){x, g->off[x]};
			}
			continue;
		}
		store_one(e, f->v, t);
		e->pushed_paths++;
		e->pushed_bytes += (uint64_t)gc_size(e->w, f->v);
		sp--;
	}
}

static void victim(struct eng *e, uint32_t id, int reason)
{
	struct gc_victims *o = e->out;

	e->evstep[id] = e->stepno;
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

/* Job indices sorted by value, ascending (ties: later attr first). */
static const struct gc_world *sort_world;

static int cmp_job_value_asc(const void *a, const void *b)
{
	const struct gc_job *x = &sort_world->jobs[*(const uint32_t *)a];
	const struct gc_job *y = &sort_world->jobs[*(const uint32_t *)b];

	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	return *(const uint32_t *)a > *(const uint32_t *)b ? -1 : 1;
}

/* Roots in priority order: value first, then the newer evaluation. */
static int cmp_job_value_desc(const void *a, const void *b)
{
	uint32_t ia = *(const uint32_t *)a, ib = *(const uint32_t *)b;
	const struct gc_job *x = &sort_world->jobs[ia], *y = &sort_world->jobs[ib];

	if (x->value != y->value)
		return x->value > y->value ? -1 : 1;
	if (x->eval != y->eval)
		return x->eval > y->eval ? -1 : 1;
	return ia < ib ? -1 : ia > ib;
}

static int cmp_job_newest(const void *a, const void *b)
{
	uint32_t ia = *(const uint32_t *)a, ib = *(const uint32_t *)b;
	uint32_t ea = sort_world->jobs[ia].eval, eb = sort_world->jobs[ib].eval;

	if (ea != eb)
		return ea > eb ? -1 : 1;
	return ia < ib ? -1 : ia > ib;
}

/*
 * The priority policy's roots list.  A root that is not stored is of no
 * use to a pass, so the free simulation prunes it from the list as it
 * walks (RL_PRUNED) and merges it back at its place (its key) when a push
 * stores it again: the walk then only meets stored roots, not every
 * output ever evaluated.
 */
enum { RL_NONE, RL_LINKED, RL_PRUNED, RL_BACK };

static void root_unlink(struct eng *e, uint32_t id)
{
	e->rnext[e->rprev[id]] = e->rnext[id];
	e->rprev[e->rnext[id]] = e->rprev[id];
}

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
static void root_restored(struct eng *e, uint32_t id)
{
	if (e->rlinked && e->rlinked[id] == RL_PRUNED) {
		e->rlinked[id] = RL_BACK;
		GROW(e->rback, e->arback, e->nrback + 1);
		e->rback[e->nrback++] = id;
	}
}

static const uint64_t *sort_rkey;

static int cmp_rkey_desc(const void *a, const void *b)
{
	uint64_t x = sort_rkey[*(const uint32_t *)a], y = sort_rkey[*(const uint32_t *)b];

	return x > y ? -1 : x < y;
}

/* Put the roots stored again back at their places (one walk). */
static void roots_merge_back(struct eng *e)
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

/* Mark what the outputs of evaluation ei reach (niks3's reasons). */
static void mark_reached(struct eng *e, size_t ei)
{
	const struct graph *g = &e->w->g;
	const struct gc_eval *ev = &e->w->evals[ei];
	size_t sp = 0;

	for (uint32_t j = ev->job0; j < ev->job0 + ev->njobs; j++) {
		uint32_t r = e->w->jobs[j].path;
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
static void eval_seen(struct eng *e, size_t ei)
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
	sort_world = w;
	qsort(e->jtmp, ev->njobs, sizeof(*e->jtmp), cmp_job_value_asc);
	for (uint32_t j = 0; j < ev->njobs; j++)
		root_front(e, w->jobs[e->jtmp[j]].path);
}

/* Drop jobs superseded at now from the current list. */
static void cur_filter(struct eng *e, int64_t now)
{
	size_t k = 0;

	for (size_t i = 0; i < e->ncur; i++)
		if (e->w->jobs[e->cur[i]].superseded_at > now)
			e->cur[k++] = e->cur[i];
	e->ncur = k;
}

/*
 * The paths evaluations [a, b) access (their outputs' closures), each once,
 * with the newest of them that reaches it: into e->tmp, grouped by
 * evaluation; e->seg[i] ends evaluation a + i's group.
 */
static void eval_touch_collect(struct eng *e, size_t a, size_t b)
{
	const struct gc_world *w = e->w;
	const struct graph *g = &w->g;
	uint32_t ep = next_epoch(e->stamp, &e->epoch, e->n);

	e->ntmp = 0;
	GROW(e->seg, e->aseg, b - a + 1);
	for (size_t k = b; k-- > a;) {
		const struct gc_eval *ev = &w->evals[k];
		for (uint32_t j = ev->job0; j < ev->job0 + ev->njobs; j++) {
			uint32_t r = w->jobs[j].path;
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

/* ---- advancing through the recorded history ------------------------------- */

struct cursor {
	size_t push, seen, gone, access, eval;
};

struct step_rec {
	uint32_t *gone;        /* recorded evictions met while advancing */
	size_t ngone, agone;
};

/*
 * Apply every event up to t.  Same-time order: recorded evictions,
 * crawls seeing paths, pushes, accesses, evaluations' accesses.
 */
static void advance(struct eng *e, struct cursor *c, int64_t t, struct step_rec *sr)
{
	const struct gc_world *w = e->w;
	size_t a = c->eval, b = a, si = 0, nseg = 0;

	while (b < w->nevals && w->evals[b].time <= t)
		b++;
	if (e->eval_access && e->lru && b > a) {
		eval_touch_collect(e, a, b);
		nseg = b - a;
	}
	for (size_t k = a; k < b; k++)
		eval_seen(e, k);
	c->eval = b;
	e->nvis = b;
	if (e->policy == GC_PRIORITY)
		cur_filter(e, t);

	for (;;) {
		int64_t best = INT64_MAX;
		int which = -1;
		const struct gc_event *ev;
		/* Eval touches, oldest evaluation first: evaluation a + i's
		 * part of tmp is [seg[i + 1] (0 for the newest), seg[i]). */
		size_t ei = si;

		if (c->gone < w->ngones && w->gones[c->gone].time <= t && w->gones[c->gone].time < best)
			best = w->gones[c->gone].time, which = 0;
		if (c->seen < w->nseens && w->seens[c->seen].time <= t && w->seens[c->seen].time < best)
			best = w->seens[c->seen].time, which = 1;
		if (c->push < w->npushes && w->pushes[c->push].time <= t && w->pushes[c->push].time < best)
			best = w->pushes[c->push].time, which = 2;
		if (c->access < w->naccesses && w->accesses[c->access].time <= t &&
		    w->accesses[c->access].time < best)
			best = w->accesses[c->access].time, which = 3;
		if (si < nseg && w->evals[a + ei].time < best)
			best = w->evals[a + ei].time, which = 4;
		switch (which) {
		case -1:
			return;
		case 0:
			ev = &w->gones[c->gone++];
			if (e->mode == MODE_RECORDED && e->stored[ev->path])
				unstore(e, ev->path);
			else if (e->mode == MODE_ANCHORED && e->rec)
				e->rec[ev->path] = 0;
			if (sr && (e->mode == MODE_FREE || e->mode == MODE_ANCHORED)) {
				GROW(sr->gone, sr->agone, sr->ngone + 1);
				sr->gone[sr->ngone++] = ev->path;
			}
			break;
		case 1:
			ev = &w->seens[c->seen++];
			if (e->rec && has_narinfo(e, ev->path))
				e->rec[ev->path] = 1;
			break;
		case 2:
			ev = &w->pushes[c->push++];
			if (!has_narinfo(e, ev->path))
				break;
			if (e->mode == MODE_FREE) {
				push_closure(e, ev->path, ev->time);
			} else if (!e->stored[ev->path]) {
				store_one(e, ev->path, ev->time);
			} else {
				/* A recorded re-upload: a new episode. */
				e->push[ev->path] = ev->time;
				lru_touch(e, ev->path, 1);
			}
			break;
		case 3:
			ev = &w->accesses[c->access++];
			touch(e, ev->path, ev->time, (int)ev->kind);
			break;
		case 4: {
			uint32_t lo = ei + 1 < nseg ? e->seg[ei + 1] : 0, hi = e->seg[ei];
			for (uint32_t k = lo; k < hi; k++)
				touch(e, e->tmp[k], best, T_EVAL);
			si++;
			break;
		}
		}
	}
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
	uint32_t ep = next_epoch(e->stamp, &e->epoch, e->n);
	size_t sp = 0;

	e->stamp[id] = ep;
	e->fr[sp++] = (struct frame){id, w->roff[id]};
	while (sp) {
		struct frame *f = &e->fr[sp - 1];
		if (f->e < w->roff[f->v + 1]) {
			uint32_t r = w->radj[f->e++];
			if (e->stored[r] && e->stamp[r] != ep) {
				e->stamp[r] = ep;
				e->fr[sp++] = (struct frame){r, w->roff[r]};
			}
			continue;
		}
		victim(e, f->v, f->v == id ? GC_LRU : GC_DEPENDENCY_LOST);
		sp--;
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
			victim(e, cur, GC_EXPIRED);
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
	uint32_t ep;
	size_t n = e->ntmp;

	if (!n)
		return;
	sort_push = e->push;
	qsort(e->tmp, n, sizeof(*e->tmp), cmp_by_push);
	ep = next_epoch(e->stamp, &e->epoch, e->n);
	for (size_t i = 0; i < n; i++)
		e->cand[e->tmp[i]] = 1;
	for (size_t i = 0; i < n; i++) {
		uint32_t s = e->tmp[i];
		size_t sp = 0;
		if (until_limit && e->bytes <= e->limit)
			break;
		if (e->stamp[s] == ep)
			continue;
		e->stamp[s] = ep;
		e->fr[sp++] = (struct frame){s, w->roff[s]};
		while (sp) {
			struct frame *f = &e->fr[sp - 1];
			if (f->e < w->roff[f->v + 1]) {
				uint32_t r = w->radj[f->e++];
				if (e->cand[r] && e->stamp[r] != ep) {
					e->stamp[r] = ep;
					e->fr[sp++] = (struct frame){r, w->roff[r]};
				}
				continue;
			}
			/* Each victim is checked against the limit, not just
			 * each start: the walk from one old path can take
			 * many referrers, and any prefix of the emission
			 * order is closure-safe. */
			if (until_limit && e->bytes <= e->limit)
				goto done;
			if (e->stored[f->v])
				victim(e, f->v, reason(e, f->v));
			sp--;
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

/* Mark (stamp ep) the stored paths root reaches through stored paths;
 * with order, append them to e->order in postorder (references before
 * referrers) with class cls. */
static void mark_stored(struct eng *e, uint32_t root, uint32_t ep, size_t *nseq, uint8_t cls)
{
	const struct graph *g = &e->w->g;
	size_t sp = 0;

	e->stamp[root] = ep;
	e->fr[sp++] = (struct frame){root, g->off[root]};
	while (sp) {
		struct frame *f = &e->fr[sp - 1];
		if (f->e < g->off[f->v + 1]) {
			uint32_t x = g->adj[f->e++];
			if (e->stored[x] && e->stamp[x] != ep) {
				e->stamp[x] = ep;
				e->fr[sp++] = (struct frame){x, g->off[x]};
			}
			continue;
		}
		if (nseq) {
			e->order[(*nseq)++] = f->v;
			e->cls[f->v] = cls;
		}
		sp--;
	}
}

static size_t first_eval_after(const struct gc_world *w, size_t nvis, int64_t t)
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

	for (size_t k = first_eval_after(w, e->nvis, now - e->retention); k < e->nvis; k++) {
		const struct gc_eval *ev = &w->evals[k];
		for (uint32_t j = ev->job0; j < ev->job0 + ev->njobs; j++) {
			uint32_t r = w->jobs[j].path;
			if (e->stored[r] && e->stamp[r] != ep)
				mark_stored(e, r, ep, NULL, 0);
		}
	}
	/* niks3 deletes what it marked unreachable only after a grace
	 * period: a closure pushed within it is a root not registered yet
	 * (its evaluation may not be seen yet). */
	for (uint32_t v = 1; v < e->n; v++)
		if (e->stored[v] && e->stamp[v] != ep && e->push[v] > now - GC_NIKS3_GRACE)
			mark_stored(e, v, ep, NULL, 0);
	collect_unmarked(e, ep);
	take_upward(e, reason_niks3, 0);
}

static void pass_priority(struct eng *e, int64_t now)
{
	const struct gc_world *w = e->w;
	uint32_t ep;
	size_t nseq = 0;

	if (e->bytes <= e->limit)
		return;
	ep = next_epoch(e->stamp, &e->epoch, e->n);
	cur_filter(e, now);
	sort_world = w;
	if (e->ncur)
		qsort(e->cur, e->ncur, sizeof(*e->cur), cmp_job_value_desc);
	for (size_t i = 0; i < e->ncur; i++) {
		uint32_t r = w->jobs[e->cur[i]].path;
		if (e->stored[r] && e->stamp[r] != ep)
			mark_stored(e, r, ep, &nseq, GC_LOW_VALUE);
	}
	roots_merge_back(e);
	for (uint32_t r = e->rnext[0], nx; r; r = nx) {
		nx = e->rnext[r];
		if (!e->stored[r]) {
			/* Only the free simulation stores paths through
			 * store_one() alone (anchored runs reset stored). */
			if (e->mode == MODE_FREE) {
				root_unlink(e, r);
				e->rlinked[r] = RL_PRUNED;
			}
			continue;
		}
		if (e->stamp[r] != ep)
			mark_stored(e, r, ep, &nseq, GC_SUPERSEDED);
	}
	/* What no stored output reaches goes first; it is upward closed (a
	 * referrer of it is not reached either). */
	collect_unmarked(e, ep);
	take_upward(e, reason_unreached, 1);
	/* Then the kept order backwards: the last root's paths first, each
	 * root's referrers before their references. */
	while (nseq && e->bytes > e->limit) {
		uint32_t v = e->order[--nseq];
		if (e->stored[v])
			victim(e, v, e->cls[v]);
	}
}

static void run_pass(struct eng *e, int64_t now)
{
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
	eng_init(&e, w, p, params, MODE_SNAPSHOT, out);
	for (uint32_t v = 1; v < w->n; v++) {
		if (!stored[v] || !has_narinfo(&e, v))
			continue;
		e.stored[v] = 1;
		e.bytes += (uint64_t)gc_size(w, v);
		e.npaths++;
		e.push[v] = w->push_time[v] <= now ? w->push_time[v] : now;
		/* An access recorded after now is not known at now. */
		e.acc[v] = w->access[v] <= now ? w->access[v] : 0;
		e.nacc[v] = w->nar_access[v] <= now ? w->nar_access[v] : 0;
	}
	out->bytes_before = e.bytes;
	nvis = first_eval_after(w, w->nevals, now);
	if (e.eval_access && e.lru && nvis) {
		eval_touch_collect(&e, 0, nvis);
		for (size_t i = 0; i < nvis; i++) {
			uint32_t lo = i + 1 < nvis ? e.seg[i + 1] : 0, hi = e.seg[i];
			int64_t t = w->evals[i].time;
			for (uint32_t k = lo; k < hi; k++) {
				uint32_t v = e.tmp[k];
				if (t > e.acc[v])
					e.acc[v] = t;
				if (t > e.nacc[v])
					e.nacc[v] = t;
			}
		}
	}
	for (size_t k = 0; k < nvis; k++)
		eval_seen(&e, k);
	e.nvis = nvis;
	if (e.lru) {
		size_t n = 0;
		GROW(e.tmp, e.atmp, (size_t)w->n);
		for (uint32_t v = 1; v < w->n; v++) {
			if (!e.stored[v])
				continue;
			e.key[v] = lru_key(&e, v);
			e.tmp[n++] = v;
		}
		sort_key = e.key;
		sort_push = e.push;
		if (n)
			qsort(e.tmp, n, sizeof(*e.tmp), cmp_by_key);
		for (size_t i = 0; i < n; i++)
			lru_append(&e, e.tmp[i]);
	}
	run_pass(&e, now);
	eng_release(&e);
	return 0;
}

void gc_victims_release(struct gc_victims *v)
{
	free(v->v);
	memset(v, 0, sizeof(*v));
}

/* ---- whole closures and broken jobs ---------------------------------------- */

/*
 * Whether root's closure is wholly in stored (every member stored; a
 * member without a narinfo never is), memoized for the current wepoch in
 * wstate: 1 on the stack, 2 whole, 3 not.  A cycle (only in a forged
 * cache) counts as whole.
 */
static int whole(struct gc_world *w, const uint8_t *stored, uint8_t *wstate, uint32_t *wstamp,
		 uint32_t wep, struct frame *fr, uint32_t root)
{
	const struct graph *g = &w->g;
	size_t sp = 0;

#define WST(v) (wstamp[v] == wep ? wstate[v] : 0)
	if (WST(root) >= 2)
		return WST(root) == 2;
	wstamp[root] = wep;
	wstate[root] = 1;
	fr[sp++] = (struct frame){root, g->off[root]};
	if (!stored[root])
		fr[0].e = g->off[root + 1] | 0x80000000u;
	while (sp) {
		struct frame *f = &fr[sp - 1];
		uint32_t end = g->off[f->v + 1];
		int bad = (f->e & 0x80000000u) != 0;
		uint32_t e = f->e & 0x7fffffffu;
		if (!bad && e < end) {
			uint32_t x = g->adj[e];
			f->e = e + 1;
			if (!WST(x)) {
				wstamp[x] = wep;
				wstate[x] = 1;
				fr[sp++] = (struct frame){x, g->off[x] | (stored[x] ? 0 : 0x80000000u)};
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
		if (w->jobs[v[i]].eval < w->jobs[v[old]].eval)
			old = i;
	if (cap && w->jobs[j].eval > w->jobs[v[old]].eval)
		v[old] = j;
}

int gc_breaks(struct gc_world *w, const uint8_t *stored, const struct gc_victims *vs,
	      int64_t now, int current_only, unsigned max_per_victim, struct gc_breaks *out)
{
	const struct graph *g = &w->g;
	size_t n = w->n ? w->n : 1, nv = vs->n, nvis = first_eval_after(w, w->nevals, now);
	uint32_t *vpos = xcalloc(n, sizeof(*vpos));      /* victim index + 1 */
	uint8_t *hasv = xcalloc(n, 1);                   /* 1 yes, 2 no, 0 unknown */
	uint8_t *wstate = xcalloc(n, 1);
	uint32_t *wstamp = xcalloc(n, sizeof(*wstamp));
	uint32_t *seen = xcalloc(n, sizeof(*seen));      /* root walk marks */
	struct frame *fr = xmalloc(n * sizeof(*fr));
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
			const struct gc_job *jb = &w->jobs[j];
			uint32_t r = jb->path;
			if (current_only && jb->superseded_at <= now)
				continue;
			if (first[r] == NONE) {
				/* Whether r's closure holds a victim: depth-first,
				 * decided in postorder, memoized in hasv (0 unknown,
				 * 4 on the stack, 1 yes, 2 no). */
				if (!hasv[r]) {
					size_t sp = 0;
					fr[sp++] = (struct frame){r, g->off[r]};
					hasv[r] = 4;  /* on the stack */
					while (sp) {
						struct frame *f = &fr[sp - 1];
						if (f->e < g->off[f->v + 1]) {
							uint32_t x = g->adj[f->e++];
							if (!hasv[x]) {
								hasv[x] = 4;
								fr[sp++] = (struct frame){x, g->off[x]};
							}
							continue;
						}
						sp--;
						if (hasv[f->v] == 4) {
							uint8_t h = vpos[f->v] ? 1 : 2;
							for (uint32_t q = g->off[f->v]; q < g->off[f->v + 1]; q++)
								if (hasv[g->adj[q]] == 1)
									h = 1;
							hasv[f->v] = h;
						}
					}
				}
				if (hasv[r] != 1 || !whole(w, stored, wstate, wstamp, 1, fr, r))
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
			if (++walk == 0) {
				memset(seen, 0, n * sizeof(*seen));
				walk = 1;
			}
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
	sort_world = w;
	for (size_t i = 0; i < nv; i++)
		if (out->off[i + 1] - out->off[i] > 1)
			qsort(out->jobs + out->off[i], out->off[i + 1] - out->off[i],
			      sizeof(*out->jobs), cmp_job_newest);
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
		for (uint32_t j = ev->job0; j < ev->job0 + ev->njobs; j++)
			if (whole(w, e->stored, e->wstate, e->wstamp, wep, e->fr, w->jobs[j].path))
				sg->retained++;
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
	advance(&e, &c, o->from, NULL);
	e.mode = MODE_FREE;
	while (t < o->to) {
		struct gc_step s;
		int64_t nt = o->to - t > o->step ? t + o->step : o->to;

		memset(&s, 0, sizeof(s));
		e.stepno++;
		e.pushed_paths = e.pushed_bytes = 0;
		sr.ngone = 0;
		out.n = 0;
		out.bytes = 0;
		advance(&e, &c, nt, &sr);
		out.bytes_before = e.bytes;
		run_pass(&e, nt);
		s.time = nt;
		s.pushed_paths = e.pushed_paths;
		s.pushed_bytes = e.pushed_bytes;
		s.evicted_paths = out.n;
		s.evicted_bytes = out.bytes;
		for (size_t i = 0; i < out.n; i++)
			s.evicted_by_reason[out.v[i].reason]++;
		s.stored_paths = e.npaths;
		s.stored_bytes = e.bytes;
		s.recorded_evictions = sr.ngone;
		/* A real cache deletes between crawls; the crawl records it
		 * later: a recorded eviction matches when the simulated cache
		 * does not hold the path either, whenever it let it go. */
		for (size_t i = 0; i < sr.ngone; i++)
			if (!e.stored[sr.gone[i]])
				s.matched_evictions++;
		step_groups(&e, &s, &gs, &ags);
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
	e.rec = xcalloc(n, 1);
	e.base = xcalloc(n, 1);
	for (size_t i = 0; i + 1 < w->ncrawls; i++) {
		int64_t t0 = w->crawl_times[i], t1 = w->crawl_times[i + 1];
		struct gc_match *m;

		if (i == 0)
			advance(&e, &c, t0, NULL);
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
		e.stepno++;
		advance(&e, &c, t1, &sr);
		if (o->policy == GC_CACHIX || o->policy == GC_PRIORITY) {
			uint64_t gone_bytes = 0;
			for (size_t k = 0; k < sr.ngone; k++)
				if (e.base[sr.gone[k]])
					gone_bytes += (uint64_t)gc_size(w, sr.gone[k]);
			e.limit = e.bytes > gone_bytes ? e.bytes - gone_bytes : 0;
		}
		run_pass(&e, t1);
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
		advance(&e, &c, t1, &sr);
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
	if (simulate_free(w, o, fn, ctx, res))
		return -1;
	simulate_anchored(w, o, res);
	return 0;
}
