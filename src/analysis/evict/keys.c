/*
 * keys.c - the object keys a plan deletes, for a cache served over HTTP
 * (or any cache this tool cannot change): each planned path's narinfo,
 * .ls and NAR key, a NAR left out when a narinfo that stays uses it.
 * See evict.h.
 */
#include "evict_private.h"

#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/stmt.h"
#include "nix/nixhash.h"
#include "lib/util.h"

enum {
	Q_PRESENT_URLS,
	Q_N
};
static const char *const sql[Q_N] = {
	[Q_PRESENT_URLS] = "SELECT n.path_id, n.url FROM narinfos n JOIN presence p"
			   " ON p.cache_id = n.cache_id AND p.path_id = n.path_id"
			   " WHERE n.cache_id = ?1 AND p.gone_at IS NULL",
};
static struct stmt_table stmts = STMT_TABLE("evict-keys", sql);

int evict_keys(struct db *db, const struct evict_plan *plan, evict_event_fn fn, void *ctx)
{
	struct strmap kept = {0}, pending = {0};
	struct idmap ids;
	char *nar = NULL;
	struct strbuf obj = STRBUF_INIT, path = STRBUF_INIT, det = STRBUF_INIT;
	sqlite3_stmt *st;
	int rc, ret = -1;

	idmap_build(&ids, plan);
	if (!(st = stmt_query(db, &stmts, Q_PRESENT_URLS, SQL_ARGS(plan->cache_id))))
		goto out;
	while ((rc = db_step(db, st)) == 1) {
		const char *url = db_col_text(st, 1);
		int planned = idmap_find(&ids, (uint64_t)sqlite3_column_int64(st, 0)) >= 0;
		strmap_get(planned ? &pending : &kept, url, strlen(url), 1)->val++;
	}
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < plan->n; i++) {
		const struct evict_path *ep = &plan->paths[i];
		struct evict_event ev = {0};
		struct strmap_ent *e;
		const char *why;
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/%s", plan->store_dir, ep->base);
		ev.path = path.buf;
		ev.bytes = -1;
		free(nar);
		if (evict_nar_name(ep->url, strlen(ep->url), &nar, &why)) {
			/* Not a NAR: the URL names some other file.  As evict
			 * --apply does, the path is left whole. */
			strbuf_reset(&det);
			strbuf_addf(&det, "NAR URL '%s'%s%s; the path is left whole", ep->url,
				    strncmp(why, "names ", 6) ? ": " : " ", why);
			strbuf_reset(&obj);
			strbuf_addf(&obj, "%.*s.narinfo", STORE_HASH_LEN, ep->base);
			ev.action = EVICT_REFUSED;
			ev.kind = EVICT_NARINFO;
			ev.object = obj.buf;
			ev.detail = det.buf;
			fn(ctx, &ev);
			continue;
		}
		strbuf_reset(&obj);
		strbuf_addf(&obj, "%.*s.narinfo", STORE_HASH_LEN, ep->base);
		ev.action = EVICT_DELETE;
		ev.kind = EVICT_NARINFO;
		ev.object = obj.buf;
		fn(ctx, &ev);
		strbuf_reset(&obj);
		strbuf_addf(&obj, "%.*s.ls", STORE_HASH_LEN, ep->base);
		ev.kind = EVICT_LS;
		ev.detail = "if present";
		fn(ctx, &ev);
		ev.kind = EVICT_NAR;
		ev.object = nar;
		ev.detail = NULL;
		ev.bytes = ep->file_size;
		if ((e = strmap_get(&pending, ep->url, strlen(ep->url), 0)) && e->val > 0)
			e->val--;
		if (e && e->val > 0) {
			ev.action = EVICT_DEFERRED;
			ev.detail = "also named by a planned narinfo deleted later";
		} else if (strmap_get(&kept, ep->url, strlen(ep->url), 0)) {
			ev.action = EVICT_KEEP_SHARED;
			ev.detail = "used by a narinfo that stays";
		}
		fn(ctx, &ev);
	}
	ret = 0;
out:
	free(nar);
	free(ids.v);
	strmap_release(&kept);
	strmap_release(&pending);
	strbuf_release(&obj);
	strbuf_release(&det);
	strbuf_release(&path);
	return ret;
}
