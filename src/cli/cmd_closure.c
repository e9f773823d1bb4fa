/*
 * cmd_closure.c - `cachegc closure`: closures and their sizes, as recorded.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "store/db.h"
#include "store/records.h"
#include "analysis/graph.h"
#include "store/lookup.h"
#include "store/meta.h"
#include "lib/util.h"

struct closure_opts {
	const char *cache;
	int json, all, total;
};

static const struct option closure_options[] = {
	OPT_TEXT("options:\n"),
	OPT_STRING("cache", struct closure_opts, cache, "CACHE",
		   "the cache (URL, directory or id); default: the only one"),
	OPT_FLAG("all", 0, struct closure_opts, all, "every path present in the cache"),
	OPT_FLAG("json", 0, struct closure_opts, json,
		 "an array of objects with `nix path-info --json` field names\n"
		 "(path, narHash, narSize, references, deriver, signatures,\n"
		 "url, compression, downloadHash, downloadSize, closureSize,\n"
		 "closureDownloadSize) plus missing and present"),
	OPT_FLAG("total", 0, struct closure_opts, total,
		 "also the union closure of all the paths, each path counted\n"
		 "once (text: a last line 'total (N paths) DOWNLOAD CLOSURE';\n"
		 "JSON: {\"paths\":[...],\n"
		 "\"total\":{...}})"),
	OPT_HELP("this text"),
	OPT_END(),
};

static const struct opt_parser closure_parser = {
	.name = "closure",
	.usage = "usage: cachegc closure [--cache CACHE] [--json] [--total] PATH...\n"
		 "       cachegc closure [--cache CACHE] [--json] --all\n"
		 "\n"
		 "Print each path's NAR size and closure size as recorded by the last crawl,\n"
		 "shaped like `nix path-info -sS` (path, NAR size, closure size).  The\n"
		 "closure is walked over the references recorded for the cache; members\n"
		 "absent from the cache are counted and, with --json, listed as `missing`.\n"
		 "\n"
		 "PATH     a store path (/nix/store/<hash>-<name>), a basename or a 32-char hash\n"
		 "\n",
	.opts = closure_options,
	.column = 17,
};

struct names {
	struct path_names pn;
	const char *store_dir;
};

static int names_load(struct names *nm, struct db *db, uint32_t n, const char *store_dir)
{
	nm->store_dir = store_dir;
	return path_names_load(&nm->pn, db, n);
}

static const char *base_of(const struct names *nm, uint32_t id)
{
	return path_names_get(&nm->pn, id);
}

static void full_path(const struct names *nm, uint32_t id, struct strbuf *sb)
{
	strbuf_reset(sb);
	strbuf_addf(sb, "%s/%s", nm->store_dir, base_of(nm, id));
}

static struct names *sort_names;

static int cmp_ids(const void *a, const void *b)
{
	return strcmp(base_of(sort_names, *(const uint32_t *)a),
		      base_of(sort_names, *(const uint32_t *)b));
}

static void sort_ids(struct names *nm, uint32_t *ids, size_t n)
{
	sort_names = nm;
	if (n > 1)  /* ids may be NULL when n == 0 */
		qsort(ids, n, sizeof(*ids), cmp_ids);
}

static int cmp_cstr(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;

	if (!x || !y)
		return !x - !y;
	return strcmp(x, y);
}

static json_t *paths_array(struct names *nm, uint32_t *ids, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	json_t *a = json_array();

	sort_ids(nm, ids, n);
	for (size_t i = 0; i < n; i++) {
		full_path(nm, ids[i], &sb);
		json_array_append_new(a, json_string(sb.buf));
	}
	strbuf_release(&sb);
	return a;
}

/* The nix path-info --json object for one path. */
static json_t *path_json(struct db *db, int64_t cache_id, struct graph *g, struct names *nm,
			 uint32_t id, struct closure *c, uint32_t **scratch, size_t *scratch_alloc)
{
	struct strbuf sb = STRBUF_INIT;
	struct narinfo_record r;
	json_t *o = json_object(), *sigs = NULL;
	size_t nref = 0, nmiss = 0;

	full_path(nm, id, &sb);
	json_object_set_new(o, "path", json_string(sb.buf));
	if (narinfo_record_get(db, cache_id, id, &r) == 1) {
		json_object_set_new(o, "narHash", json_string(r.nar_hash));
		json_object_set_new(o, "narSize", json_integer(r.nar_size));
		json_object_set_new(o, "url", json_string(r.url));
		json_object_set_new(o, "compression", json_string(r.compression));
		if (r.file_hash)
			json_object_set_new(o, "downloadHash", json_string(r.file_hash));
		if (r.file_size >= 0)
			json_object_set_new(o, "downloadSize", json_integer(r.file_size));
		if (r.deriver) {
			strbuf_reset(&sb);
			strbuf_addf(&sb, "%s/%s", nm->store_dir, r.deriver);
			json_object_set_new(o, "deriver", json_string(sb.buf));
		}
		if (r.ca)
			json_object_set_new(o, "ca", json_string(r.ca));
		sigs = json_loads(r.sigs, 0, NULL);
		narinfo_record_release(&r);
	}
	/* The graph holds the references without the self-reference. */
	for (uint32_t e = g->off[id]; e < g->off[id + 1]; e++) {
		GROW(*scratch, *scratch_alloc, nref + 1);
		(*scratch)[nref++] = g->adj[e];
	}
	if (g->flags[id] & GRAPH_SELFREF) {
		GROW(*scratch, *scratch_alloc, nref + 1);
		(*scratch)[nref++] = id;
	}
	json_object_set_new(o, "references", paths_array(nm, *scratch, nref));
	if (!json_is_array(sigs)) {
		json_decref(sigs);
		sigs = json_array();
	}
	/* Nix prints signatures as a sorted set. */
	{
		size_t ns = json_array_size(sigs);
		const char **v = xcalloc(ns + 1, sizeof(*v));
		json_t *sorted = json_array();
		for (size_t i = 0; i < ns; i++)
			v[i] = json_string_value(json_array_get(sigs, i));
		qsort(v, ns, sizeof(*v), cmp_cstr);
		for (size_t i = 0; i < ns; i++)
			if (v[i] && (!i || !v[i - 1] || strcmp(v[i], v[i - 1])))
				json_array_append_new(sorted, json_string(v[i]));
		free(v);
		json_decref(sigs);
		json_object_set_new(o, "signatures", sorted);
	}
	json_object_set_new(o, "closureSize", json_integer((json_int_t)c->nar_bytes));
	json_object_set_new(o, "closureDownloadSize", json_integer((json_int_t)c->file_bytes));
	for (size_t i = 0; i < c->n; i++) {
		if (g->flags[c->ids[i]] & GRAPH_PRESENT)
			continue;
		GROW(*scratch, *scratch_alloc, nmiss + 1);
		(*scratch)[nmiss++] = c->ids[i];
	}
	json_object_set_new(o, "missing", paths_array(nm, *scratch, nmiss));
	json_object_set_new(o, "present", json_boolean(g->flags[id] & GRAPH_PRESENT));
	strbuf_release(&sb);
	return o;
}

static json_t *total_json(struct graph *g, struct names *nm, struct closure *c,
			  uint32_t **scratch, size_t *scratch_alloc)
{
	size_t nmiss = 0;

	for (size_t i = 0; i < c->n; i++) {
		if (g->flags[c->ids[i]] & GRAPH_PRESENT)
			continue;
		GROW(*scratch, *scratch_alloc, nmiss + 1);
		(*scratch)[nmiss++] = c->ids[i];
	}
	return json_pack("{s:I, s:I, s:I, s:o}", "paths", (json_int_t)c->n,
			 "closureSize", (json_int_t)c->nar_bytes,
			 "closureDownloadSize", (json_int_t)c->file_bytes,
			 "missing", paths_array(nm, *scratch, nmiss));
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	extern const struct cmd cmd_closure;
	const char *cache_arg = NULL;
	int json = 0, all = 0, total = 0, ret = 1, nargs = 0;
	char *store_dir = NULL, *url = NULL;
	int64_t cache_id;
	struct graph g;
	struct names nm = {0};
	struct closure c = {0};
	uint32_t *ids = NULL, *scratch = NULL;
	size_t nids = 0, aids = 0, ascratch = 0, unknown = 0, incomplete = 0;
	struct strbuf sb = STRBUF_INIT;
	int graph_loaded = 0, reading = 0;
	struct closure_opts opt = {0};

	if ((nargs = parse_options(&closure_parser, argc, argv, &opt)) < 0)
		return parse_options_exit(nargs);
	cache_arg = opt.cache;
	json = opt.json;
	all = opt.all;
	total = opt.total;
	if (all == (nargs > 0))
		return cmd_usage_error(&cmd_closure, all ? "--all takes no PATH"
							 : "name at least one PATH, or --all");
	/* The graph, the names and the list from one state of the DB. */
	if (db_read_begin(ctx->db))
		goto out;
	reading = 1;
	if (!(store_dir = db_store_dir(ctx->db)) ||
	    cache_resolve(ctx->db, cache_arg, &cache_id, &url))
		goto out;
	if (graph_load(&g, ctx->db, cache_id))
		goto out;
	graph_loaded = 1;
	if (names_load(&nm, ctx->db, g.n, store_dir))
		goto out;

	if (all) {
		int64_t *present;
		size_t npresent;
		if (cache_present_ids(ctx->db, cache_id, &present, &npresent))
			goto out;
		for (size_t k = 0; k < npresent; k++) {
			int64_t id = present[k];
			if (id <= 0 || id >= g.n)
				continue;
			GROW(ids, aids, nids + 1);
			ids[nids++] = (uint32_t)id;
		}
		free(present);
	} else {
		for (int i = 0; i < nargs; i++) {
			int64_t id;
			int rc;
			rc = path_resolve(ctx->db, store_dir, argv[i], &id);
			if (rc < 0)
				goto out;
			if (rc == 0 || id >= g.n || !(g.flags[id] & GRAPH_NARINFO)) {
				error("'%s' was never seen in %s (no narinfo recorded)", argv[i], url);
				unknown++;
				continue;
			}
			GROW(ids, aids, nids + 1);
			ids[nids++] = (uint32_t)id;
		}
	}
	sort_ids(&nm, ids, nids);
	{
		/* drop duplicates (the same path named twice) */
		size_t k = 0;
		for (size_t i = 0; i < nids; i++)
			if (!k || ids[k - 1] != ids[i])
				ids[k++] = ids[i];
		nids = k;
	}

	if (json && total)
		fputs("{\"paths\": ", stdout);
	if (json)
		fputs("[", stdout);
	for (size_t i = 0; i < nids; i++) {
		graph_closure(&g, &ids[i], 1, &c);
		if (json) {
			json_t *o = path_json(ctx->db, cache_id, &g, &nm, ids[i], &c, &scratch,
					      &ascratch);
			fputs(i ? ",\n" : "\n", stdout);
			json_dumpf(o, stdout, JSON_COMPACT);
			json_decref(o);
		} else {
			full_path(&nm, ids[i], &sb);
			printf("%s\t%lld\t%llu\n", sb.buf, (long long)g.nar_size[ids[i]],
			       (unsigned long long)c.nar_bytes);
			if (c.nmissing && !all)
				warning("closure of '%s' lacks %zu path%s in this cache (--json lists them)",
					sb.buf, c.nmissing, c.nmissing == 1 ? "" : "s");
			incomplete += c.nmissing > 0;
		}
	}
	if (json)
		fputs(nids ? "\n]" : "]", stdout);
	if (all && incomplete)
		warning("%zu of %zu closures lack paths in this cache (--json lists them per path)",
			incomplete, nids);
	if (total) {
		graph_closure(&g, ids, nids, &c);
		if (json) {
			json_t *t = total_json(&g, &nm, &c, &scratch, &ascratch);
			fputs(", \"total\": ", stdout);
			json_dumpf(t, stdout, JSON_COMPACT);
			json_decref(t);
			fputs("}", stdout);
		} else {
			printf("total (%zu paths)\t%llu\t%llu\n", c.n,
			       (unsigned long long)c.file_bytes, (unsigned long long)c.nar_bytes);
		}
	}
	if (json)
		fputc('\n', stdout);
	ret = unknown ? 1 : 0;
out:
	if (reading)
		db_read_end(ctx->db);
	if (graph_loaded)
		graph_release(&g);
	closure_release(&c);
	path_names_release(&nm.pn);
	free(ids);
	free(scratch);
	free(store_dir);
	free(url);
	strbuf_release(&sb);
	return ret;
}

const struct cmd cmd_closure = {
	.name = "closure",
	.summary = "closures and their NAR / download sizes, and what they lack",
	.options = &closure_parser,
	.db = DB_READ,
	.run = run,
};
