/*
 * graph.h - the closure engine: one cache's reference graph in flat arrays.
 *
 * Nodes are path ids (dense DB keys), so every per-path array is indexed
 * by id directly; references are in CSR form (adj[off[id] .. off[id+1])).
 * A path the cache has no narinfo for has no outgoing edges and counts as
 * missing.  Traversals go through one helper, struct graph_walk: an
 * epoch-stamped visited array and an explicit stack, so a closure costs
 * only the size of the closure, never a clear of the whole graph.  A walk
 * that must visit a path after what it reaches (GC's pushes and losses)
 * uses struct graph_post.
 */
#ifndef CACHEGC_GRAPH_H
#define CACHEGC_GRAPH_H

#include <stddef.h>
#include <stdint.h>

struct db;

#define GRAPH_NARINFO 1   /* the cache has (or had) a narinfo for it */
#define GRAPH_PRESENT 2   /* present as of the last crawl */
#define GRAPH_SELFREF 4   /* its narinfo lists itself among References */

/*
 * A depth-first walk over ids below n, each id entered at most once per
 * walk.  The caller drives it and decides what to follow:
 *
 *	graph_walk_start(w);
 *	graph_walk_push(w, root);            (any number of roots)
 *	while (graph_walk_next(w, &v)) {
 *		... visit v ...
 *		graph_walk_push_refs(w, g, v);   (or push only some of them)
 *	}
 *
 * Ids come out last pushed first.  A walk's marks last until the next
 * graph_walk_start(), so graph_walk_marked() tells afterwards what it
 * reached.  Starting a walk costs nothing but an epoch increment.
 */
struct graph_walk {
	uint32_t n;
	uint32_t epoch;
	uint32_t *stamp;       /* stamp[id] == epoch: entered in this walk */
	uint32_t *stack;       /* n entries: each id is pushed once per walk */
	size_t sp;
};

/* A walker over ids below n; free with graph_walk_release(). */
void graph_walk_init(struct graph_walk *w, uint32_t n);
void graph_walk_release(struct graph_walk *w);
/* Begin a new walk: nothing marked, nothing on the stack. */
void graph_walk_start(struct graph_walk *w);

static inline int graph_walk_marked(const struct graph_walk *w, uint32_t v)
{
	return w->stamp[v] == w->epoch;
}

/* Mark and push v unless it was entered already in this walk (or is out
 * of range).  Returns 1 when pushed. */
static inline int graph_walk_push(struct graph_walk *w, uint32_t v)
{
	if (v >= w->n || w->stamp[v] == w->epoch)
		return 0;
	w->stamp[v] = w->epoch;
	w->stack[w->sp++] = v;
	return 1;
}

/* Pop the next id to visit into *v.  Returns 0 when the walk is over. */
static inline int graph_walk_next(struct graph_walk *w, uint32_t *v)
{
	if (!w->sp)
		return 0;
	*v = w->stack[--w->sp];
	return 1;
}

/*
 * A post-order depth-first walk over any CSR adjacency (adj[off[v] ..
 * off[v+1]): the forward references of a struct graph, or a reverse one).
 * Marking is the caller's (GC keeps its own epoch stamps), so the caller
 * decides which edge to follow and must mark a vertex when it pushes it;
 * then each vertex is pushed once and fr needs one frame per vertex.
 *
 *	graph_post_start(&p, fr, off, adj);
 *	mark(root); graph_post_push(&p, root);
 *	while ((k = graph_post_next(&p, &x)) >= 0) {
 *		if (k) {                             (x: an edge target)
 *			if (!marked(x)) { mark(x); graph_post_push(&p, x); }
 *			continue;
 *		}
 *		... visit x: all it reaches was visited first ...
 *	}
 */
struct graph_frame {
	uint32_t v, e;        /* a vertex and the next of its edges to follow */
};

struct graph_post {
	struct graph_frame *fr;
	size_t sp;
	const uint32_t *off, *adj;
};

static inline void graph_post_start(struct graph_post *p, struct graph_frame *fr,
				    const uint32_t *off, const uint32_t *adj)
{
	p->fr = fr;
	p->sp = 0;
	p->off = off;
	p->adj = adj;
}

static inline void graph_post_push(struct graph_post *p, uint32_t v)
{
	p->fr[p->sp].v = v;
	p->fr[p->sp++].e = p->off[v];
}

/* 1: *x is the next edge target of the vertex on top (push it to go
 * down).  0: *x has no edges left; it is popped, visit it now.  -1: the
 * walk is over. */
static inline int graph_post_next(struct graph_post *p, uint32_t *x)
{
	struct graph_frame *f;

	if (!p->sp)
		return -1;
	f = &p->fr[p->sp - 1];
	if (f->e < p->off[f->v + 1]) {
		*x = p->adj[f->e++];
		return 1;
	}
	*x = f->v;
	p->sp--;
	return 0;
}

struct graph {
	uint32_t n;            /* max path id + 1 */
	uint8_t *flags;        /* GRAPH_* per id */
	int64_t *nar_size;     /* per id, 0 when unknown */
	int64_t *file_size;    /* per id, -1 when the narinfo had no FileSize */
	uint32_t *off;         /* n + 1 offsets into adj */
	uint32_t *adj;         /* reference ids, self-references dropped */
	size_t nedges;
	struct graph_walk walk; /* graph_closure's; others may keep their own */
};

/* Push every reference of v (in adj order) that the walk has not entered.
 * w must be over at least g->n ids (graph_load keeps adj below g->n, so
 * no bounds check here: this is the inner loop of every closure). */
static inline void graph_walk_push_refs(struct graph_walk *w, const struct graph *g, uint32_t v)
{
	uint32_t *stamp = w->stamp, *stack = w->stack, ep = w->epoch;
	size_t sp = w->sp;

	for (uint32_t e = g->off[v], end = g->off[v + 1]; e < end; e++) {
		uint32_t x = g->adj[e];
		if (stamp[x] != ep) {
			stamp[x] = ep;
			stack[sp++] = x;
		}
	}
	w->sp = sp;
}

struct closure {
	uint32_t *ids;         /* members, roots included; owned, grows */
	size_t n, alloc;
	uint64_t nar_bytes;    /* sum of NarSize over members with a narinfo */
	uint64_t file_bytes;   /* sum of FileSize over members that have one */
	uint64_t stored_bytes; /* FileSize, or NarSize where FileSize is absent */
	size_t nmissing;       /* members not present in the cache */
	uint64_t missing_bytes;/* NarSize of missing members that had a narinfo */
};

/* Load cache_id's graph.  Returns 0 or -1 (reported); free with
 * graph_release(). */
int graph_load(struct graph *g, struct db *db, int64_t cache_id);
void graph_release(struct graph *g);

/* The closure of roots (ids < g->n) into *c, which is reset first and
 * reused across calls (free with closure_release()). */
void graph_closure(struct graph *g, const uint32_t *roots, size_t nroots, struct closure *c);
void closure_release(struct closure *c);

/* What graph_closure() sums over one root's closure. */
struct closure_sum {
	uint64_t nar_bytes;    /* as struct closure's */
	uint64_t file_bytes;
	uint64_t nmissing;
};

/*
 * The closure sums of each root on its own: sums[i] for roots[i] (ids <
 * g->n; a root may be given twice), the same as graph_closure(g,
 * &roots[i], 1, ...) gives, for much less than one walk per root when
 * the closures overlap (graph.c says how).  Allocates scratch of about
 * 16 bytes per id of g for the call; g->walk is used.
 */
void graph_closure_sums(struct graph *g, const uint32_t *roots, size_t nroots,
			struct closure_sum *sums);

/* reach[id] != 0 when id's closure holds a path that is not present (or
 * may: an id on a reference cycle counts as one).  An array of g->n
 * bytes; free() it. */
uint8_t *graph_reaches_missing(struct graph *g);

/* The members of root's closure that are not present, into c->ids
 * (c->n = c->nmissing of them, with missing_bytes; the other sums are
 * 0), walking only the ids reach (from graph_reaches_missing()) marks. */
void graph_closure_missing(struct graph *g, uint32_t root, const uint8_t *reach,
			   struct closure *c);

#endif
