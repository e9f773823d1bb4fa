/*
 * paths.c - the path cache of `why`: each path one question touches is
 * read once (its narinfo's references and size, its presence episodes as
 * of `at`), closures are walked over those nodes, and their present
 * members get signature verdicts from trust.c.  Nothing is read for paths
 * outside the closures asked about.
 */
#include "why_private.h"

#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"
#include "store/db.h"
#include "store/meta.h"
#include "store/records.h"
#include "store/refs.h"
#include "store/stmt.h"

enum {
	Q_NARINFO,
	Q_PRESENCE,
	Q_N
};
static const char *const sql[Q_N] = {
	[Q_NARINFO] = "SELECT refs, nar_size FROM narinfos WHERE cache_id = ?1 AND path_id = ?2",
	[Q_PRESENCE] = "SELECT first_seen, last_seen, gone_at, gone_crawl_id, push_time "
		       "FROM presence WHERE cache_id = ?1 AND path_id = ?2 AND first_seen <= ?3 "
		       "ORDER BY first_seen, id",
};
static struct stmt_table stmts = STMT_TABLE("why-paths", sql);

int wpaths_init(struct wpaths *wp, struct db *db, int64_t cache_id, int64_t at,
		unsigned threads)
{
	memset(wp, 0, sizeof(*wp));
	wp->db = db;
	wp->cache_id = cache_id;
	wp->at = at;
	if (!(wp->store_dir = db_store_dir(db)))
		return -1;
	if (trust_init(&wp->tr, db, cache_id, at, 0, threads))
		return -1;
	wp->trust_inited = 1;
	return 0;
}

void wpaths_release(struct wpaths *wp)
{
	if (wp->trust_inited)
		trust_release(&wp->tr);
	hashmap_release(&wp->map);
	free(wp->nodes);
	free(wp->refs);
	free(wp->stack);
	free(wp->want);
	free(wp->store_dir);
	memset(wp, 0, sizeof(*wp));
}

static uint64_t id_hash(uint32_t id)
{
	return hash_fnv1a(&id, sizeof(id));
}

static int node_eq(const void *ctx, uint32_t item, const void *key)
{
	return ((const struct wpaths *)ctx)->nodes[item].id == *(const uint32_t *)key;
}

/* Read id's narinfo and presence into node ni. */
static int node_read(struct wpaths *wp, size_t ni)
{
	sqlite3_stmt *st;
	uint32_t id = wp->nodes[ni].id;
	int rc;

	if ((rc = stmt_row(wp->db, &stmts, Q_NARINFO, &st, SQL_ARGS(wp->cache_id, id))) < 0)
		return -1;
	if (rc == 1) {
		struct refs_iter it;
		uint32_t ref;
		size_t off = wp->nrefs;
		int r;

		wp->nodes[ni].narinfo = 1;
		wp->nodes[ni].nar_size = sqlite3_column_int64(st, 1);
		refs_iter_init(&it, db_col_text(st, 0));
		while ((r = refs_next(&it, &ref)) == 1) {
			if (ref == id || !ref)
				continue;   /* a self-reference is no edge */
			GROW(wp->refs, wp->arefs, wp->nrefs + 1);
			wp->refs[wp->nrefs++] = ref;
		}
		if (r < 0) {
			char *text = xstrdup(db_col_text(st, 0));
			stmt_done(st);
			refs_malformed(wp->db, id, text);
			free(text);
			return -1;
		}
		wp->nodes[ni].refs_off = (uint32_t)off;
		wp->nodes[ni].nrefs = (uint32_t)(wp->nrefs - off);
		stmt_done(st);
	}
	if (!(st = stmt_query(wp->db, &stmts, Q_PRESENCE, SQL_ARGS(wp->cache_id, id, wp->at))))
		return -1;
	while ((rc = db_step(wp->db, st)) == 1) {
		struct wnode *n = &wp->nodes[ni];
		int open = sqlite3_column_type(st, 2) == SQLITE_NULL ||
			   sqlite3_column_int64(st, 2) > wp->at;

		if (n->first_seen < 0)
			n->first_seen = sqlite3_column_int64(st, 0);
		n->last_seen = sqlite3_column_int64(st, 1);
		n->push_time = sqlite3_column_type(st, 4) == SQLITE_NULL
			? -1 : sqlite3_column_int64(st, 4);
		if (open) {
			n->present = 1;
		} else if (sqlite3_column_int64(st, 2) >= n->gone) {
			n->gone = sqlite3_column_int64(st, 2);
			n->gone_crawl = sqlite3_column_int64(st, 3);
		}
	}
	return rc < 0 ? -1 : 0;
}

int64_t wpaths_get(struct wpaths *wp, uint32_t id)
{
	uint32_t i = hashmap_find(&wp->map, id_hash(id), node_eq, wp, &id);
	struct wnode *n;

	if (i != HASHMAP_NONE)
		return i;
	GROW(wp->nodes, wp->alloc, wp->n + 1);
	n = &wp->nodes[wp->n];
	memset(n, 0, sizeof(*n));
	n->id = id;
	n->first_seen = n->last_seen = n->push_time = -1;
	i = (uint32_t)wp->n++;
	hashmap_add(&wp->map, id_hash(id), i);
	if (node_read(wp, i))
		return -1;
	return i;
}

int wpaths_closure(struct wpaths *wp, uint32_t id, struct wclosure *c)
{
	size_t sp = 0, nwant = 0;
	int64_t root;

	c->n = c->nmissing = c->nuntrusted = 0;
	c->bytes = c->missing_bytes = 0;
	if ((root = wpaths_get(wp, id)) < 0)
		return -1;
	wp->epoch++;
	GROW(wp->stack, wp->astack, 1);
	wp->stack[sp++] = (uint32_t)root;
	wp->nodes[root].stamp = wp->epoch;
	while (sp) {
		uint32_t ni = wp->stack[--sp];
		struct wnode *n = &wp->nodes[ni];

		GROW(c->m, c->alloc, c->n + 1);
		c->m[c->n++] = ni;
		c->bytes += (uint64_t)n->nar_size;
		if (!n->present) {
			c->nmissing++;
			c->missing_bytes += (uint64_t)n->nar_size;
		} else if (n->id < wp->tr.n && !trust_verdict(&wp->tr, n->id)) {
			GROW(wp->want, wp->awant, nwant + 1);
			wp->want[nwant++] = n->id;
		}
		for (uint32_t e = 0; e < wp->nodes[ni].nrefs; e++) {
			int64_t x = wpaths_get(wp, wp->refs[wp->nodes[ni].refs_off + e]);
			if (x < 0)
				return -1;
			if (wp->nodes[x].stamp == wp->epoch)
				continue;
			wp->nodes[x].stamp = wp->epoch;
			GROW(wp->stack, wp->astack, sp + 1);
			wp->stack[sp++] = (uint32_t)x;
		}
	}
	if (nwant && trust_check_ids(&wp->tr, wp->want, nwant))
		return -1;
	for (size_t i = 0; i < c->n; i++) {
		const struct wnode *n = &wp->nodes[c->m[i]];
		if (n->present && trust_bad(trust_verdict(&wp->tr, n->id)))
			c->nuntrusted++;
	}
	return 0;
}

void wclosure_release(struct wclosure *c)
{
	free(c->m);
	memset(c, 0, sizeof(*c));
}

char *wpaths_full(struct wpaths *wp, uint32_t id)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "%s/", wp->store_dir);
	if (path_base_name(wp->db, id, &sb) != 1) {
		strbuf_release(&sb);
		return xstrdup("");
	}
	return strbuf_detach(&sb);
}
