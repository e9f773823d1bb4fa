/*
 * graph.c - load a cache's reference graph into CSR arrays; the one
 * traversal helper (struct graph_walk); closures.
 */
#include "analysis/graph.h"

#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/refs.h"
#include "store/stmt.h"
#include "lib/util.h"

enum {
	Q_MAX_ID,
	Q_NARINFOS,
	Q_PRESENT,
	Q_N
};
static const char *const sql[Q_N] = {
	[Q_MAX_ID] = "SELECT coalesce(max(id), 0) FROM paths",
	[Q_NARINFOS] = "SELECT path_id, nar_size, coalesce(file_size, -1), refs FROM narinfos "
		       "WHERE cache_id = ?1 ORDER BY path_id",
	[Q_PRESENT] = "SELECT path_id FROM presence WHERE cache_id = ?1 AND gone_at IS NULL",
};
static struct stmt_table stmts = STMT_TABLE("graph", sql);

int graph_load(struct graph *g, struct db *db, int64_t cache_id)
{
	sqlite3_stmt *st;
	size_t aedges = 0;
	int64_t max;
	int rc;

	memset(g, 0, sizeof(*g));
	if (stmt_row(db, &stmts, Q_MAX_ID, &st, SQL_NOARGS) != 1)
		return -1;
	max = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (max >= UINT32_MAX - 1)
		return error("too many paths in '%s'", db->path);
	g->n = (uint32_t)max + 1;
	g->flags = xcalloc(g->n, 1);
	g->nar_size = xcalloc(g->n, sizeof(*g->nar_size));
	g->file_size = xmalloc(g->n * sizeof(*g->file_size));
	for (uint32_t i = 0; i < g->n; i++)
		g->file_size[i] = -1;
	g->off = xcalloc((size_t)g->n + 1, sizeof(*g->off));
	graph_walk_init(&g->walk, g->n);

	/* Rows come in path_id order (the primary key), so the CSR is filled
	 * in one pass: count into off[id + 1], append targets to adj. */
	if (!(st = stmt_query(db, &stmts, Q_NARINFOS, SQL_ARGS(cache_id))))
		goto fail;
	while ((rc = db_step(db, st)) == 1) {
		int64_t id = sqlite3_column_int64(st, 0);
		const char *r = (const char *)sqlite3_column_text(st, 3);
		struct refs_iter it;
		uint32_t ref;
		int more;
		if (id <= 0 || id >= g->n)
			continue;
		g->flags[id] |= GRAPH_NARINFO;
		g->nar_size[id] = sqlite3_column_int64(st, 1);
		g->file_size[id] = sqlite3_column_int64(st, 2);
		refs_iter_init(&it, r);
		while ((more = refs_next(&it, &ref)) == 1) {
			if ((int64_t)ref == id)
				g->flags[id] |= GRAPH_SELFREF;
			if (ref == 0 || ref >= g->n || (int64_t)ref == id)
				continue;
			GROW(g->adj, aedges, g->nedges + 1);
			g->adj[g->nedges++] = ref;
			g->off[id + 1]++;
		}
		if (more < 0) {
			refs_malformed(db, id, r);
			sqlite3_reset(st);
			goto fail;
		}
	}
	if (rc < 0)
		goto fail;
	if (!(st = stmt_query(db, &stmts, Q_PRESENT, SQL_ARGS(cache_id))))
		goto fail;
	while ((rc = db_step(db, st)) == 1) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (id > 0 && id < g->n)
			g->flags[id] |= GRAPH_PRESENT;
	}
	if (rc < 0)
		goto fail;
	for (uint32_t i = 0; i < g->n; i++)
		g->off[i + 1] += g->off[i];
	return 0;
fail:
	graph_release(g);
	return -1;
}

void graph_release(struct graph *g)
{
	free(g->flags);
	free(g->nar_size);
	free(g->file_size);
	free(g->off);
	free(g->adj);
	graph_walk_release(&g->walk);
	memset(g, 0, sizeof(*g));
}

void graph_walk_init(struct graph_walk *w, uint32_t n)
{
	w->n = n;
	w->epoch = 0;
	w->sp = 0;
	w->stamp = xcalloc(n ? n : 1, sizeof(*w->stamp));
	w->stack = xmalloc((n ? n : 1) * sizeof(*w->stack));
}

void graph_walk_release(struct graph_walk *w)
{
	free(w->stamp);
	free(w->stack);
	memset(w, 0, sizeof(*w));
}

void graph_walk_start(struct graph_walk *w)
{
	w->sp = 0;
	if (++w->epoch == 0) {  /* wrapped: clear once every 2^32 walks */
		memset(w->stamp, 0, w->n * sizeof(*w->stamp));
		w->epoch = 1;
	}
}

static void closure_reset(struct closure *c)
{
	c->n = 0;
	c->nar_bytes = c->file_bytes = c->stored_bytes = c->missing_bytes = 0;
	c->nmissing = 0;
}

void graph_closure(struct graph *g, const uint32_t *roots, size_t nroots, struct closure *c)
{
	struct graph_walk *w = &g->walk;
	uint32_t v;

	closure_reset(c);
	graph_walk_start(w);
	for (size_t i = 0; i < nroots; i++)
		graph_walk_push(w, roots[i]);
	while (graph_walk_next(w, &v)) {
		GROW(c->ids, c->alloc, c->n + 1);
		c->ids[c->n++] = v;
		if (g->flags[v] & GRAPH_NARINFO) {
			c->nar_bytes += (uint64_t)g->nar_size[v];
			if (g->file_size[v] >= 0) {
				c->file_bytes += (uint64_t)g->file_size[v];
				c->stored_bytes += (uint64_t)g->file_size[v];
			} else {
				c->stored_bytes += (uint64_t)g->nar_size[v];
			}
		}
		if (!(g->flags[v] & GRAPH_PRESENT)) {
			c->nmissing++;
			c->missing_bytes += (uint64_t)g->nar_size[v];
		}
		graph_walk_push_refs(w, g, v);
	}
}

void closure_release(struct closure *c)
{
	free(c->ids);
	memset(c, 0, sizeof(*c));
}

/*
 * Closure sums of many roots at once (see graph.h).
 *
 * One walk per root costs the sum of the closure sizes, which grows
 * faster than the graph: in a generated year of daily CI the mean closure
 * is 28 paths at 3 x 10^4 paths, 53 at 10^5, 120 at 3 x 10^5 and 182 at
 * 10^6.  Here the roots are taken in batches of CS_BATCH, in the order
 * given (the caller puts roots whose closures overlap together); each
 * batch's union U is walked once (post-order, children first) into a
 * compact local graph, a bit per root is pushed from each root down to
 * everything it reaches (reverse post-order is topological), and each
 * member of U adds its sizes to the roots whose bits it carries.  The
 * graph walks then cost the size of the unions, not of every closure;
 * only the last step is per (root, member) pair, a bit scan over local
 * arrays.  The walks run over a compact copy of what the roots reach,
 * renumbered in a depth-first post-order from them, so a batch's union
 * lies close in memory (path ids follow crawl order, which scatters a
 * closure over the whole graph).  References never form a cycle in Nix,
 * but a database can hold one: a batch whose union has one is redone one
 * closure at a time with graph_closure().
 */
#define CS_WORDS 4
#define CS_BATCH (64 * CS_WORDS)

struct cs_mask {
	uint64_t w[CS_WORDS];
};

/* A member's part of the sums */
struct cs_weight {
	uint64_t nar, file;
	uint64_t missing;
};

struct cs_state {
	struct graph *g;
	/* the part of g the roots reach, renumbered in a depth-first
	 * post-order from them (so a batch's closures lie close in memory) */
	uint32_t n;
	uint32_t *off, *adj;
	struct cs_weight *wt;
	uint32_t *orig;           /* compact id -> id of g */
	uint32_t *stamp, epoch;   /* stamp[v] == epoch: entered in this batch */
	uint32_t *loc;            /* local index of a finished v (checked via ulist) */
	struct graph_frame *fr;   /* the depth-first stack, at most n frames */
	uint32_t *ulist;          /* local index -> v, in post-order (n of them) */
	uint32_t nu;
	uint32_t *loff, *ladj;    /* local CSR: children of local index i (n + 1 offsets) */
	size_t aladj, nladj;
	struct cs_mask *mask;
	size_t amask;
};

/*
 * Renumber what the roots reach in a depth-first post-order from them,
 * in their order, into s's compact graph; croots[i] = roots[i]'s new id.
 */
static void cs_compact(struct cs_state *s, const uint32_t *roots, size_t nroots,
		       uint32_t *croots)
{
	const struct graph *g = s->g;
	uint32_t *newid = xmalloc((size_t)g->n * sizeof(*newid)), m = 0;
	uint8_t *seen = xcalloc(g->n, 1);
	struct graph_frame *fr = s->fr;
	size_t nadj = 0;

	s->orig = xmalloc((size_t)g->n * sizeof(*s->orig));
	for (size_t r = 0; r < nroots; r++) {
		size_t sp = 0;
		if (seen[roots[r]])
			continue;
		seen[roots[r]] = 1;
		fr[sp].v = roots[r];
		fr[sp++].e = g->off[roots[r]];
		while (sp) {
			struct graph_frame *f = &fr[sp - 1];
			if (f->e < g->off[f->v + 1]) {
				uint32_t x = g->adj[f->e++];
				if (!seen[x]) {
					seen[x] = 1;
					fr[sp].v = x;
					fr[sp++].e = g->off[x];
				}
				continue;
			}
			sp--;
			newid[f->v] = m;
			s->orig[m++] = f->v;
			nadj += g->off[f->v + 1] - g->off[f->v];
		}
	}
	free(seen);
	s->n = m;
	s->off = xmalloc(((size_t)m + 1) * sizeof(*s->off));
	s->adj = xmalloc((nadj ? nadj : 1) * sizeof(*s->adj));
	s->wt = xmalloc((m ? m : 1) * sizeof(*s->wt));
	nadj = 0;
	for (uint32_t i = 0; i < m; i++) {
		uint32_t v = s->orig[i];
		uint8_t fl = g->flags[v];
		s->off[i] = (uint32_t)nadj;
		for (uint32_t e = g->off[v]; e < g->off[v + 1]; e++)
			s->adj[nadj++] = newid[g->adj[e]];
		s->wt[i].nar = s->wt[i].file = 0;
		if (fl & GRAPH_NARINFO) {
			s->wt[i].nar = (uint64_t)g->nar_size[v];
			if (g->file_size[v] >= 0)
				s->wt[i].file = (uint64_t)g->file_size[v];
		}
		s->wt[i].missing = !(fl & GRAPH_PRESENT);
	}
	s->off[m] = (uint32_t)nadj;
	for (size_t r = 0; r < nroots; r++)
		croots[r] = newid[roots[r]];
	free(newid);
}

static inline int cs_finished(const struct cs_state *s, uint32_t v)
{
	uint32_t l = s->loc[v];

	return l < s->nu && s->ulist[l] == v;
}

/* Walk the union of the batch's closures into the local CSR.  Returns 0,
 * or 1 when the union holds a cycle. */
static int cs_union(struct cs_state *s, const uint32_t *roots, size_t nroots)
{
	const uint32_t *off = s->off, *adj = s->adj;
	uint32_t *stamp = s->stamp, ep = s->epoch;
	struct graph_frame *fr = s->fr;
	int cyclic = 0;

	s->nu = 0;
	s->nladj = 0;
	for (size_t r = 0; r < nroots; r++) {
		size_t sp = 0;
		uint32_t root = roots[r];
		if (stamp[root] == ep)
			continue;
		stamp[root] = ep;
		fr[sp].v = root;
		fr[sp++].e = off[root];
		while (sp) {
			struct graph_frame *f = &fr[sp - 1];
			uint32_t v = f->v;
			if (f->e < off[v + 1]) {
				uint32_t x = adj[f->e++];
				if (stamp[x] != ep) {
					stamp[x] = ep;
					fr[sp].v = x;
					fr[sp++].e = off[x];
				}
				continue;
			}
			sp--;
			/* v is finished: so is all it reaches, unless in a cycle */
			if (s->nladj + (off[v + 1] - off[v]) > s->aladj)
				GROW(s->ladj, s->aladj, s->nladj + (off[v + 1] - off[v]));
			s->loff[s->nu] = (uint32_t)s->nladj;
			for (uint32_t e = off[v]; e < off[v + 1]; e++) {
				uint32_t x = adj[e];
				if (!cs_finished(s, x)) {
					cyclic = 1;
					continue;
				}
				s->ladj[s->nladj++] = s->loc[x];
			}
			s->loc[v] = s->nu;
			s->ulist[s->nu++] = v;
		}
	}
	s->loff[s->nu] = (uint32_t)s->nladj;
	return cyclic;
}

static void cs_batch(struct cs_state *s, const uint32_t *roots, size_t nroots,
		     struct closure_sum *out)
{
	struct cs_mask *mask;

	if (++s->epoch == 0) {
		memset(s->stamp, 0, s->n * sizeof(*s->stamp));
		s->epoch = 1;
	}
	memset(out, 0, nroots * sizeof(*out));
	if (cs_union(s, roots, nroots)) {
		struct closure c = {0};
		for (size_t r = 0; r < nroots; r++) {
			uint32_t v = s->orig[roots[r]];
			graph_closure(s->g, &v, 1, &c);
			out[r].nar_bytes = c.nar_bytes;
			out[r].file_bytes = c.file_bytes;
			out[r].nmissing = c.nmissing;
		}
		closure_release(&c);
		return;
	}
	if (s->nu > s->amask)
		GROW(s->mask, s->amask, s->nu);
	mask = s->mask;
	memset(mask, 0, s->nu * sizeof(*mask));
	for (size_t r = 0; r < nroots; r++)
		mask[s->loc[roots[r]]].w[r / 64] |= UINT64_C(1) << (r % 64);
	/* parents before children: children got the smaller indexes */
	for (uint32_t i = s->nu; i-- > 0;) {
		const struct cs_mask m = mask[i];
		for (uint32_t e = s->loff[i]; e < s->loff[i + 1]; e++) {
			struct cs_mask *c = &mask[s->ladj[e]];
			for (int k = 0; k < CS_WORDS; k++)
				c->w[k] |= m.w[k];
		}
	}
	for (uint32_t i = 0; i < s->nu; i++) {
		const struct cs_weight w = s->wt[s->ulist[i]];
		for (int k = 0; k < CS_WORDS; k++) {
			uint64_t b = mask[i].w[k];
			struct closure_sum *o = out + 64 * k;
			while (b) {
				int r = __builtin_ctzll(b);
				b &= b - 1;
				o[r].nar_bytes += w.nar;
				o[r].file_bytes += w.file;
				o[r].nmissing += w.missing;
			}
		}
	}
}

void graph_closure_sums(struct graph *g, const uint32_t *roots, size_t nroots,
			struct closure_sum *sums)
{
	struct cs_state s = {.g = g};
	uint32_t *croots;

	if (!nroots)
		return;
	s.fr = xmalloc((size_t)g->n * sizeof(*s.fr));
	croots = xmalloc(nroots * sizeof(*croots));
	cs_compact(&s, roots, nroots, croots);
	s.stamp = xcalloc(s.n ? s.n : 1, sizeof(*s.stamp));
	s.loc = xcalloc(s.n ? s.n : 1, sizeof(*s.loc));
	s.ulist = xmalloc((s.n ? s.n : 1) * sizeof(*s.ulist));
	s.loff = xmalloc(((size_t)s.n + 1) * sizeof(*s.loff));
	for (size_t b = 0; b < nroots; b += CS_BATCH) {
		size_t nb = nroots - b < CS_BATCH ? nroots - b : CS_BATCH;
		cs_batch(&s, croots + b, nb, sums + b);
	}
	free(croots);
	free(s.off);
	free(s.adj);
	free(s.wt);
	free(s.orig);
	free(s.stamp);
	free(s.loc);
	free(s.fr);
	free(s.ulist);
	free(s.loff);
	free(s.ladj);
	free(s.mask);
}

uint8_t *graph_reaches_missing(struct graph *g)
{
	uint8_t *reach = xcalloc(g->n ? g->n : 1, 1);
	uint8_t *done = xcalloc(g->n ? g->n : 1, 1);
	struct graph_frame *fr = xmalloc((g->n ? g->n : 1) * sizeof(*fr));
	struct graph_post p;
	uint32_t x;
	int k;

	/* Post-order: a path is visited after all it references.  In a cycle
	 * (never in Nix; a database may hold one) a reference still on the
	 * stack is taken to reach a missing path: more walking later, never
	 * a missing path left out. */
	for (uint32_t v = 1; v < g->n; v++) {
		if (done[v])
			continue;
		graph_post_start(&p, fr, g->off, g->adj);
		done[v] = 1;
		graph_post_push(&p, v);
		while ((k = graph_post_next(&p, &x)) >= 0) {
			if (k) {
				if (!done[x]) {
					done[x] = 1;
					graph_post_push(&p, x);
				} else if (done[x] == 1) {
					reach[p.fr[p.sp - 1].v] = 1;  /* on the stack: a cycle */
				} else if (reach[x]) {
					reach[p.fr[p.sp - 1].v] = 1;
				}
				continue;
			}
			done[x] = 2;
			if (!(g->flags[x] & GRAPH_PRESENT))
				reach[x] = 1;
			if (reach[x] && p.sp)
				reach[p.fr[p.sp - 1].v] = 1;
		}
	}
	free(done);
	free(fr);
	return reach;
}

void graph_closure_missing(struct graph *g, uint32_t root, const uint8_t *reach,
			   struct closure *c)
{
	struct graph_walk *w = &g->walk;
	uint32_t v;

	closure_reset(c);
	graph_walk_start(w);
	if (!reach[root])
		return;
	graph_walk_push(w, root);
	while (graph_walk_next(w, &v)) {
		if (!(g->flags[v] & GRAPH_PRESENT)) {
			GROW(c->ids, c->alloc, c->n + 1);
			c->ids[c->n++] = v;
			c->nmissing++;
			c->missing_bytes += (uint64_t)g->nar_size[v];
		}
		for (uint32_t e = g->off[v]; e < g->off[v + 1]; e++)
			if (reach[g->adj[e]])
				graph_walk_push(w, g->adj[e]);
	}
}
