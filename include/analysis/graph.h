/*
 * graph.h - the closure engine: one cache's reference graph in flat arrays.
 *
 * Nodes are path ids (dense DB keys), so every per-path array is indexed
 * by id directly; references are in CSR form (adj[off[id] .. off[id+1])).
 * A path the cache has no narinfo for has no outgoing edges and counts as
 * missing.  Traversals use an epoch-stamped visited array, so a closure
 * costs only the size of the closure, never a clear of the whole graph.
 */
#ifndef CACHEGC_GRAPH_H
#define CACHEGC_GRAPH_H

#include <stddef.h>
#include <stdint.h>

struct db;

#define GRAPH_NARINFO 1   /* the cache has (or had) a narinfo for it */
#define GRAPH_PRESENT 2   /* present as of the last crawl */
#define GRAPH_SELFREF 4   /* its narinfo lists itself among References */

struct graph {
	uint32_t n;            /* max path id + 1 */
	uint8_t *flags;        /* GRAPH_* per id */
	int64_t *nar_size;     /* per id, 0 when unknown */
	int64_t *file_size;    /* per id, -1 when the narinfo had no FileSize */
	uint32_t *off;         /* n + 1 offsets into adj */
	uint32_t *adj;         /* reference ids, self-references dropped */
	uint32_t *stamp;       /* visited marks */
	uint32_t epoch;
	uint32_t *stack;
	size_t nedges;
};

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

#endif
