/*
 * test_graph.c - the crawl recorder and the closure engine on a small
 * hand-made cache: a diamond, a self-reference, a reference the cache
 * lacks, a path that goes and comes back; and the traversal helper
 * (struct graph_walk) and the post-order walker (struct graph_post) on
 * graphs built in memory.
 */
#include <stdlib.h>
#include <string.h>

#include "ingest/crawl.h"
#include "store/db.h"
#include "store/stmt.h"
#include "analysis/graph.h"
#include "harness.h"
#include "lib/util.h"

static char dir[] = "/tmp/cachegc-test-graph.XXXXXX";
static char dbpath[300];

/* Path "<c x 32>-<name>" for a letter c of the nix32 alphabet. */
static void base(char c, const char *name, char *out)
{
	memset(out, c, 32);
	sprintf(out + 32, "-%s", name);
}

static int add(struct crawl *cr, char c, const char *name, int64_t nar, int64_t file,
	       const char *refs)
{
	struct narinfo ni;
	char sp[300], b[256], *rl[8];
	size_t n = 0;
	int rc;

	memset(&ni, 0, sizeof(ni));
	base(c, name, b);
	snprintf(sp, sizeof(sp), "/nix/store/%s", b);
	ni.store_path = sp;
	memcpy(ni.hash, b, 32);
	ni.hash[32] = '\0';
	ni.name = sp + strlen("/nix/store/") + 33;
	ni.url = (char *)"nar/x.nar.xz";
	ni.compression = (char *)"xz";
	ni.nar_hash = (char *)"sha256:0000000000000000000000000000000000000000000000000000";
	ni.nar_size = nar;
	ni.file_size = file;
	for (const char *p = refs; *p; p += 2) {
		/* refs: pairs "<letter><name initial>" */
		rl[n] = xmalloc(64);
		char nm[2] = {p[1], 0};
		base(p[0], nm, rl[n]);
		n++;
	}
	ni.refs = rl;
	ni.nrefs = n;
	rc = crawl_add_narinfo(cr, &ni, 1000);
	for (size_t i = 0; i < n; i++)
		free(rl[i]);
	return rc;
}

static uint32_t id_of(struct db *db, char c)
{
	static const char sql[] = "SELECT id FROM paths WHERE hash = ?1";
	char h[33];
	sqlite3_stmt *st = db_stmt(db, sql);
	uint32_t id = 0;

	memset(h, c, 32);
	h[32] = 0;
	db_bind_text(st, 1, h);
	if (db_step(db, st) == 1)
		id = (uint32_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return id;
}

static int crawl_all(struct db *db, const char *skip, struct crawl_counts *n)
{
	struct crawl cr;
	static const struct {
		char c;
		const char *name, *refs;
		int64_t nar, file;
	} world[] = {
		{'a', "a", "", 100, 10},
		{'b', "b", "aa", 200, 20},
		{'c', "c", "bbaacc", 300, -1},
		{'d', "d", "aa", 400, 40},
		{'f', "f", "ccdd", 500, 50},
		{'g', "g", "xx", 600, 60},   /* x: never in the cache */
	};

	if (crawl_begin(&cr, db, "file:///test-cache", NULL))
		return -1;
	for (size_t i = 0; i < sizeof(world) / sizeof(world[0]); i++) {
		char h[33];
		if (strchr(skip, world[i].c))
			continue;
		memset(h, world[i].c, 32);
		h[32] = 0;
		if (crawl_known(&cr, h)) {
			if (crawl_seen(&cr, h, 2000))
				return -1;
		} else if (add(&cr, world[i].c, world[i].name, world[i].nar, world[i].file,
			       world[i].refs)) {
			return -1;
		}
	}
	if (crawl_finish(&cr, 1, 0))
		return -1;
	*n = cr.n;
	crawl_release(&cr);
	return 0;
}

static int64_t q(struct db *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static struct db db;

TEST(first_crawl_records_everything)
{
	struct crawl_counts n;

	clock_set(10000);
	CHECK(crawl_all(&db, "", &n) == 0);
	CHECK_INT(n.new_, 6);
	CHECK_INT(n.present, 0);
	CHECK_INT(n.gone, 0);
	CHECK_INT(q(&db, "SELECT count(*) FROM narinfos"), 6);
	CHECK_INT(q(&db, "SELECT count(*) FROM paths"), 7);   /* + x, only referenced */
	CHECK_INT(q(&db, "SELECT count(*) FROM refs"), 8);    /* c's self-ref kept */
	CHECK_INT(q(&db, "SELECT count(*) FROM presence WHERE gone_at IS NULL"), 6);
	CHECK_INT(q(&db, "SELECT min(push_time) FROM presence"), 1000);
	CHECK_INT(q(&db, "SELECT first_seen FROM presence LIMIT 1"), 10000);
}

TEST(closure_sizes_count_each_path_once)
{
	struct graph g;
	struct closure c = {0};
	uint32_t roots[2];

	CHECK(graph_load(&g, &db, 1) == 0);
	roots[0] = id_of(&db, 'f');
	graph_closure(&g, roots, 1, &c);
	CHECK_INT(c.n, 5);
	CHECK_INT(c.nar_bytes, 1500);
	CHECK_INT(c.file_bytes, 120);       /* c has no FileSize */
	CHECK_INT(c.stored_bytes, 420);     /* ... so its NarSize stands in */
	CHECK_INT(c.nmissing, 0);

	roots[0] = id_of(&db, 'c');
	roots[1] = id_of(&db, 'd');
	graph_closure(&g, roots, 2, &c);
	CHECK_INT(c.n, 4);
	CHECK_INT(c.nar_bytes, 1000);

	roots[0] = roots[1] = id_of(&db, 'a');   /* same root twice */
	graph_closure(&g, roots, 2, &c);
	CHECK_INT(c.n, 1);
	CHECK_INT(c.nar_bytes, 100);

	roots[0] = id_of(&db, 'g');
	graph_closure(&g, roots, 1, &c);
	CHECK_INT(c.n, 2);
	CHECK_INT(c.nmissing, 1);           /* x was never in the cache */
	CHECK_INT(c.nar_bytes, 600);
	closure_release(&c);
	graph_release(&g);
}

TEST(recrawl_marks_gone_and_closures_see_it)
{
	struct crawl_counts n;
	struct graph g;
	struct closure c = {0};
	uint32_t root;

	clock_set(20000);
	CHECK(crawl_all(&db, "b", &n) == 0);
	CHECK_INT(n.new_, 0);
	CHECK_INT(n.present, 5);
	CHECK_INT(n.gone, 1);
	CHECK_INT(q(&db, "SELECT gone_at FROM presence WHERE gone_at IS NOT NULL"), 20000);
	CHECK_INT(q(&db, "SELECT last_seen FROM presence WHERE gone_at IS NOT NULL"), 10000);
	CHECK_INT(q(&db, "SELECT count(*) FROM narinfos"), 6);  /* facts kept */

	CHECK(graph_load(&g, &db, 1) == 0);
	root = id_of(&db, 'f');
	graph_closure(&g, &root, 1, &c);
	CHECK_INT(c.n, 5);
	CHECK_INT(c.nmissing, 1);
	CHECK_INT(c.missing_bytes, 200);
	root = id_of(&db, 'b');             /* a gone path's closure, from history */
	graph_closure(&g, &root, 1, &c);
	CHECK_INT(c.n, 2);
	CHECK_INT(c.nar_bytes, 300);
	closure_release(&c);
	graph_release(&g);
}

TEST(path_that_comes_back_opens_a_new_episode)
{
	struct crawl_counts n;

	clock_set(30000);
	CHECK(crawl_all(&db, "", &n) == 0);
	CHECK_INT(n.present, 6);
	CHECK_INT(n.gone, 0);
	CHECK_INT(q(&db, "SELECT count(*) FROM presence WHERE path_id = "
			 "(SELECT id FROM paths WHERE name = 'b')"), 2);
	CHECK_INT(q(&db, "SELECT push_time FROM presence WHERE first_seen = 30000"), 2000);
	CHECK_INT(q(&db, "SELECT count(*) FROM presence WHERE gone_at IS NULL"), 6);
	CHECK_INT(q(&db, "SELECT count(*) FROM crawls WHERE status = 'complete'"), 3);
}

TEST(interrupted_crawl_marks_nothing_gone)
{
	struct crawl cr;

	clock_set(40000);
	CHECK(crawl_begin(&cr, &db, "file:///test-cache", NULL) == 0);
	CHECK(crawl_finish(&cr, 1, 1) == 0);
	crawl_release(&cr);
	CHECK_INT(q(&db, "SELECT count(*) FROM presence WHERE gone_at IS NULL"), 6);
	CHECK_INT(q(&db, "SELECT count(*) FROM crawls WHERE status = 'interrupted'"), 1);
}

/* ---- the traversal helper, on a graph built by hand ---- */

/* 0 -> 1, 2;  1 -> 3;  2 -> 3, 4;  3 -> 1 (a cycle);  4;  5 -> 0 (unreached
 * from 0);  6 isolated. */
static void hand_graph(struct graph *g)
{
	static uint32_t off[] = {0, 2, 3, 5, 6, 6, 7, 7};
	static uint32_t adj[] = {1, 2, 3, 3, 4, 1, 0};

	memset(g, 0, sizeof(*g));
	g->n = 7;
	g->off = off;
	g->adj = adj;
	g->nedges = ARRAY_SIZE(adj);
}

TEST(walk_visits_each_reached_id_once)
{
	struct graph g;
	struct graph_walk w;
	uint32_t v, order[16], n = 0;
	static const uint32_t want[] = {0, 2, 4, 3, 1};

	hand_graph(&g);
	graph_walk_init(&w, g.n);
	graph_walk_start(&w);
	CHECK_INT(graph_walk_push(&w, 0), 1);
	CHECK_INT(graph_walk_push(&w, 0), 0);   /* already entered */
	CHECK_INT(graph_walk_push(&w, 7), 0);   /* out of range */
	while (graph_walk_next(&w, &v) && n < ARRAY_SIZE(order)) {
		order[n++] = v;
		graph_walk_push_refs(&w, &g, v);
	}
	/* last pushed first: 0, then 2 (pushed after 1), its 4 then 3, then 1 */
	CHECK_INT(n, ARRAY_SIZE(want));
	for (uint32_t i = 0; i < n && i < ARRAY_SIZE(want); i++)
		CHECK_INT(order[i], want[i]);
	CHECK(graph_walk_marked(&w, 3));
	CHECK(!graph_walk_marked(&w, 5));
	CHECK(!graph_walk_marked(&w, 6));

	/* a new walk forgets the marks: from 5 everything but 6 is reached */
	graph_walk_start(&w);
	CHECK(!graph_walk_marked(&w, 0));
	graph_walk_push(&w, 5);
	n = 0;
	while (graph_walk_next(&w, &v)) {
		n++;
		graph_walk_push_refs(&w, &g, v);
	}
	CHECK_INT(n, 6);
	CHECK(!graph_walk_marked(&w, 6));
	graph_walk_release(&w);
}

TEST(walk_caller_filters_and_epoch_wraps)
{
	struct graph g;
	struct graph_walk w;
	uint32_t v, n = 0;

	hand_graph(&g);
	graph_walk_init(&w, g.n);
	/* the next start wraps the epoch: old marks must not leak through */
	w.epoch = UINT32_MAX - 1;
	graph_walk_start(&w);
	graph_walk_push(&w, 4);
	graph_walk_push(&w, 6);
	while (graph_walk_next(&w, &v))
		;
	CHECK(graph_walk_marked(&w, 4) && graph_walk_marked(&w, 6));
	graph_walk_start(&w);   /* epoch UINT32_MAX -> 0 -> cleared, 1 */
	CHECK_INT(w.epoch, 1);
	CHECK(!graph_walk_marked(&w, 4) && !graph_walk_marked(&w, 6));
	/* follow only even ids: from 0, 2 and 4 */
	graph_walk_push(&w, 0);
	while (graph_walk_next(&w, &v)) {
		n++;
		for (uint32_t e = g.off[v]; e < g.off[v + 1]; e++)
			if (g.adj[e] % 2 == 0)
				graph_walk_push(&w, g.adj[e]);
	}
	CHECK_INT(n, 3);
	CHECK(!graph_walk_marked(&w, 1) && !graph_walk_marked(&w, 3));
	graph_walk_release(&w);
	CHECK(!w.stamp && !w.stack);
}

/* graph_post on a CSR built by hand: 1 -> 2, 1 -> 3, 2 -> 4, 3 -> 4,
 * 4 -> 1 (a cycle back to the root), 3 -> 5.  Every reached vertex is
 * visited once, after every vertex it pushed (post-order); edge targets are
 * offered in CSR order; a vertex the caller does not push is not visited. */
TEST(post_order_visits_after_what_it_reaches)
{
	static const uint32_t off[] = {0, 0, 2, 3, 5, 6, 6};
	static const uint32_t adj[] = {2, 3, 4, 4, 5, 1};
	struct graph_frame fr[6];
	struct graph_post p;
	uint8_t mark[6] = {0};
	uint32_t x, order[6], offered[8];
	size_t n = 0, noff = 0;
	int k;

	graph_post_start(&p, fr, off, adj);
	mark[1] = 1;
	graph_post_push(&p, 1);
	while ((k = graph_post_next(&p, &x)) >= 0) {
		if (k) {
			CHECK(noff < 8);
			offered[noff++] = x;
			if (!mark[x] && x != 5) {     /* 5 is filtered out */
				mark[x] = 1;
				graph_post_push(&p, x);
			}
			continue;
		}
		CHECK(n < 6);
		order[n++] = x;
	}
	/* 1 offers 2; 2 offers 4; 4 offers 1 (marked); 4 done, 2 done; 1
	 * offers 3; 3 offers 4 (marked) and 5 (filtered); 3 done; 1 done. */
	CHECK_INT(n, 4);
	CHECK_INT(order[0], 4);
	CHECK_INT(order[1], 2);
	CHECK_INT(order[2], 3);
	CHECK_INT(order[3], 1);
	CHECK_INT(noff, 6);
	CHECK_INT(offered[0], 2);
	CHECK_INT(offered[1], 4);
	CHECK_INT(offered[2], 1);
	CHECK_INT(offered[3], 3);
	CHECK_INT(offered[4], 4);
	CHECK_INT(offered[5], 5);
	/* Over: the stack is empty and stays so. */
	CHECK_INT(graph_post_next(&p, &x), -1);
}

/*
 * A random graph in memory: n ids, each referencing a few lower ids (a
 * DAG, as Nix's), some paths absent, some without a narinfo or FileSize;
 * with back_edge, one reference from a low id to a higher one (a cycle).
 */
static void random_graph(struct graph *g, uint32_t n, uint64_t seed, int back_edge)
{
	size_t aedges = 0;

	memset(g, 0, sizeof(*g));
	g->n = n;
	g->flags = xcalloc(n, 1);
	g->nar_size = xcalloc(n, sizeof(*g->nar_size));
	g->file_size = xcalloc(n, sizeof(*g->file_size));
	g->off = xcalloc((size_t)n + 1, sizeof(*g->off));
	for (uint32_t v = 1; v < n; v++) {
		uint32_t deg;
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		deg = v > 1 ? (uint32_t)(seed >> 60) % 6 : 0;
		g->flags[v] = (seed >> 20) % 10 ? GRAPH_NARINFO : 0;
		if ((seed >> 24) % 7)
			g->flags[v] |= GRAPH_PRESENT;
		g->nar_size[v] = g->flags[v] & GRAPH_NARINFO ? (int64_t)(v * 1000 + 7) : 0;
		g->file_size[v] = (seed >> 28) % 5 ? (int64_t)(v * 10 + 3) : -1;
		g->off[v] = (uint32_t)g->nedges;
		for (uint32_t k = 0; k < deg; k++) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			GROW(g->adj, aedges, g->nedges + 1);
			/* most references near, some far, as hubs */
			g->adj[g->nedges++] = (seed >> 40) % 3 ? v - 1 - (uint32_t)((seed >> 33) % (v - 1 < 20 ? v - 1 : 20))
							      : 1 + (uint32_t)((seed >> 33) % (v - 1));
		}
		if (back_edge && v == n / 2) {
			GROW(g->adj, aedges, g->nedges + 1);
			g->adj[g->nedges++] = n - 1;
		}
	}
	g->off[n] = (uint32_t)g->nedges;
	g->off[0] = 0;
	graph_walk_init(&g->walk, n);
}

static void sums_match_one_walk_each(uint32_t n, uint64_t seed, int back_edge)
{
	struct graph g;
	struct closure c = {0}, m = {0};
	uint32_t nroots = n + n / 10, *roots = xmalloc(nroots * sizeof(*roots));
	struct closure_sum *sums = xmalloc(nroots * sizeof(*sums));
	uint8_t *reach;
	int bad = 0, badmiss = 0;

	random_graph(&g, n, seed, back_edge);
	/* every id but 0, shuffled, and some twice */
	for (uint32_t i = 0; i < nroots; i++)
		roots[i] = 1 + (uint32_t)(((uint64_t)i * 2654435761u) % (n - 1));
	graph_closure_sums(&g, roots, nroots, sums);
	reach = graph_reaches_missing(&g);
	for (uint32_t i = 0; i < nroots; i++) {
		size_t miss = 0;
		graph_closure(&g, &roots[i], 1, &c);
		if (sums[i].nar_bytes != c.nar_bytes || sums[i].file_bytes != c.file_bytes ||
		    sums[i].nmissing != c.nmissing)
			bad++;
		for (size_t k = 0; k < c.n; k++)
			miss += !(g.flags[c.ids[k]] & GRAPH_PRESENT);
		graph_closure_missing(&g, roots[i], reach, &m);
		if (m.n != miss || m.nmissing != c.nmissing || m.missing_bytes != c.missing_bytes)
			badmiss++;
		for (size_t k = 0; k < m.n; k++)
			if (g.flags[m.ids[k]] & GRAPH_PRESENT)
				badmiss++;
	}
	CHECK_INT(bad, 0);
	CHECK_INT(badmiss, 0);
	free(reach);
	free(roots);
	free(sums);
	closure_release(&c);
	closure_release(&m);
	graph_release(&g);
}

TEST(closure_sums_match_one_walk_each)
{
	sums_match_one_walk_each(3000, 1, 0);
	sums_match_one_walk_each(300, 2, 0);    /* fewer roots than a batch... twice */
	sums_match_one_walk_each(40, 3, 0);
	sums_match_one_walk_each(3000, 4, 1);   /* a cycle: its batches path by path */
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	snprintf(dbpath, sizeof(dbpath), "%s/g.db", dir);
	if (db_open(&db, dbpath, 0))
		return 1;
	RUN(first_crawl_records_everything);
	RUN(closure_sizes_count_each_path_once);
	RUN(recrawl_marks_gone_and_closures_see_it);
	RUN(path_that_comes_back_opens_a_new_episode);
	RUN(interrupted_crawl_marks_nothing_gone);
	RUN(walk_visits_each_reached_id_once);
	RUN(walk_caller_filters_and_epoch_wraps);
	RUN(post_order_visits_after_what_it_reaches);
	RUN(closure_sums_match_one_walk_each);
	db_close(&db);
	{
		char cmd[400];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return test_summary();
}
