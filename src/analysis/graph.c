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

void graph_closure(struct graph *g, const uint32_t *roots, size_t nroots, struct closure *c)
{
	struct graph_walk *w = &g->walk;
	uint32_t v;

	c->n = 0;
	c->nar_bytes = c->file_bytes = c->stored_bytes = c->missing_bytes = 0;
	c->nmissing = 0;
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
