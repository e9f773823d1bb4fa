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
#include "nix/nixhash.h"

enum json_format { FMT_NIX, FMT_NIX_2_8 };
static const char *const json_formats[] = {"nix", "nix-2.8", NULL};

struct closure_opts {
	const char *cache;
	int json, all, total, format;
};

static const struct option closure_options[] = {
	OPT_TEXT("options:\n"),
	OPT_STRING("cache", struct closure_opts, cache, "CACHE",
		   "the cache (URL, directory or id); default: the only one"),
	OPT_FLAG("all", 0, struct closure_opts, all, "every path present in the cache"),
	OPT_FLAG("json", 0, struct closure_opts, json,
		 "what `nix path-info --json -S` prints (Nix 2.19 and later):\n"
		 "an object keyed by store path, each value with narHash\n"
		 "(SRI), narSize, references, ca, deriver, registrationTime,\n"
		 "ultimate, signatures, storeDir, version, url, compression,\n"
		 "downloadHash, downloadSize, closureSize, closureDownloadSize,\n"
		 "plus missing and present"),
	OPT_ENUM("json-format", struct closure_opts, format, "FMT", json_formats,
		 "nix (the default, as above) or nix-2.8: an array of objects\n"
		 "with a path field, as Nix 2.8's `nix path-info --json -S`"),
	OPT_FLAG("total", 0, struct closure_opts, total,
		 "also the union closure of all the paths, each path counted\n"
		 "once (text: a last line 'total (N paths) DOWNLOAD CLOSURE';\n"
		 "JSON: one more member \"total\" beside the paths;\n"
		 "nix-2.8: {\"paths\":[...], \"total\":{...}})"),
	OPT_HELP("this text"),
	OPT_END(),
};

static const struct opt_parser closure_parser = {
	.name = "closure",
	.usage = "usage: cachegc closure [--cache CACHE] [--json [--json-format FMT]] [--total] PATH...\n"
		 "       cachegc closure [--cache CACHE] [--json [--json-format FMT]] --all\n"
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

/* Paths by name without the hash, then by hash: the builds of one package
 * (its versions, outputs, variants) come together, and their closures
 * overlap most, which graph_closure_sums() is fastest for. */
static const uint32_t *batch_ids;

static int cmp_batch(const void *a, const void *b)
{
	const char *x = base_of(sort_names, batch_ids[*(const size_t *)a]);
	const char *y = base_of(sort_names, batch_ids[*(const size_t *)b]);
	size_t hx = strcspn(x, "-"), hy = strcspn(y, "-");
	int c = strcmp(x + hx, y + hy);

	return c ? c : strcmp(x, y);
}

/* The closure sums of ids[0..n) into sums[0..n). */
static void closure_sums(struct graph *g, struct names *nm, const uint32_t *ids, size_t n,
			 struct closure_sum *sums)
{
	size_t *ix = xmalloc((n ? n : 1) * sizeof(*ix));
	uint32_t *order = xmalloc((n ? n : 1) * sizeof(*order));
	struct closure_sum *s = xmalloc((n ? n : 1) * sizeof(*s));

	for (size_t i = 0; i < n; i++)
		ix[i] = i;
	sort_names = nm;
	batch_ids = ids;
	if (n > 1)
		qsort(ix, n, sizeof(*ix), cmp_batch);
	for (size_t i = 0; i < n; i++)
		order[i] = ids[ix[i]];
	graph_closure_sums(g, order, n, s);
	for (size_t i = 0; i < n; i++)
		sums[ix[i]] = s[i];
	free(ix);
	free(order);
	free(s);
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

/* A narinfo hash ("sha256:<nix32>") as SRI, the way `nix path-info --json`
 * prints it; a hash that does not parse is passed on as recorded. */
static json_t *sri_json(const char *h)
{
	struct nixhash nh;
	char buf[NIXHASH_FMT_MAX];

	if (!nixhash_parse(h, strlen(h), &nh) && nixhash_format_sri(&nh, buf, sizeof(buf)))
		return json_string(buf);
	return json_string(h);
}

/* The signatures (the sigs column, a JSON array) as Nix prints them: a
 * sorted set.  Returns a new array. */
static json_t *sigs_json(const char *col)
{
	json_t *sigs = col ? json_loads(col, 0, NULL) : NULL, *sorted = json_array();
	size_t ns = json_is_array(sigs) ? json_array_size(sigs) : 0;
	const char **v = xcalloc(ns + 1, sizeof(*v));

	for (size_t i = 0; i < ns; i++)
		v[i] = json_string_value(json_array_get(sigs, i));
	qsort(v, ns, sizeof(*v), cmp_cstr);
	for (size_t i = 0; i < ns; i++)
		if (v[i] && (!i || !v[i - 1] || strcmp(v[i], v[i - 1])))
			json_array_append_new(sorted, json_string(v[i]));
	free(v);
	json_decref(sigs);
	return sorted;
}

/*
 * The `nix path-info --json -S` object for one path, in format fmt.
 * FMT_NIX follows Nix 2.19 and later (UnkeyedNarInfo::toJSON, JSON format
 * 1, the default of `nix path-info --json`): every member always there,
 * null for no ca / deriver / registrationTime (a binary cache has none),
 * ultimate false, SRI hashes, storeDir and version; downloadSize only when
 * the narinfo gave a non-zero FileSize, as Nix.  FMT_NIX_2_8 follows Nix
 * 2.8: a "path" member, absent rather than null, no storeDir/version.
 * Both add compression where Nix 2.8 did not, and missing and present.
 */
static json_t *path_json(struct db *db, int64_t cache_id, struct graph *g, struct names *nm,
			 uint32_t id, const struct closure_sum *cs, struct closure *c,
			 enum json_format fmt, uint32_t **scratch, size_t *scratch_alloc)
{
	struct strbuf sb = STRBUF_INIT;
	struct narinfo_record r;
	json_t *o = json_object(), *sigs = NULL, *deriver = json_null(), *ca = json_null();
	size_t nref = 0, nmiss = 0;

	if (fmt == FMT_NIX_2_8) {
		full_path(nm, id, &sb);
		json_object_set_new(o, "path", json_string(sb.buf));
	} else {
		json_object_set_new(o, "storeDir", json_string(nm->store_dir));
		json_object_set_new(o, "version", json_integer(1));
		json_object_set_new(o, "registrationTime", json_null());
		json_object_set_new(o, "ultimate", json_false());
	}
	if (narinfo_record_get(db, cache_id, id, &r) == 1) {
		json_object_set_new(o, "narHash", sri_json(r.nar_hash));
		json_object_set_new(o, "narSize", json_integer(r.nar_size));
		json_object_set_new(o, "url", json_string(r.url));
		json_object_set_new(o, "compression", json_string(r.compression));
		if (r.file_hash)
			json_object_set_new(o, "downloadHash", sri_json(r.file_hash));
		if (r.file_size > 0)
			json_object_set_new(o, "downloadSize", json_integer(r.file_size));
		if (r.deriver) {
			strbuf_reset(&sb);
			strbuf_addf(&sb, "%s/%s", nm->store_dir, r.deriver);
			json_decref(deriver);
			deriver = json_string(sb.buf);
		}
		if (r.ca) {
			json_decref(ca);
			ca = json_string(r.ca);
		}
		sigs = sigs_json(r.sigs);
		narinfo_record_release(&r);
	} else {
		sigs = json_array();
	}
	if (fmt == FMT_NIX || !json_is_null(deriver))
		json_object_set(o, "deriver", deriver);
	if (fmt == FMT_NIX || !json_is_null(ca))
		json_object_set(o, "ca", ca);
	json_decref(deriver);
	json_decref(ca);
	/* Nix 2.8 leaves out an empty list of signatures. */
	if (fmt == FMT_NIX || json_array_size(sigs))
		json_object_set(o, "signatures", sigs);
	json_decref(sigs);
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
	json_object_set_new(o, "closureSize", json_integer((json_int_t)cs->nar_bytes));
	json_object_set_new(o, "closureDownloadSize", json_integer((json_int_t)cs->file_bytes));
	/* c: the missing members (graph_closure_missing()) */
	for (size_t i = 0; i < c->n; i++) {
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
	int json = 0, all = 0, total = 0, legacy, ret = 1, nargs = 0;
	char *store_dir = NULL, *url = NULL;
	int64_t cache_id;
	struct graph g;
	struct names nm = {0};
	struct closure c = {0};
	uint32_t *ids = NULL, *scratch = NULL;
	struct closure_sum *sums = NULL;
	uint8_t *reach = NULL;
	size_t nids = 0, aids = 0, ascratch = 0, unknown = 0, incomplete = 0;
	struct strbuf sb = STRBUF_INIT;
	int graph_loaded = 0, reading = 0;
	struct closure_opts opt = {.format = -1};  /* -1: no --json-format */

	if ((nargs = parse_options(&closure_parser, argc, argv, &opt)) < 0)
		return parse_options_exit(nargs);
	cache_arg = opt.cache;
	json = opt.json;
	all = opt.all;
	total = opt.total;
	if (opt.format >= 0 && !json)
		return cmd_usage_error(&cmd_closure, "--json-format needs --json");
	if (opt.format < 0)
		opt.format = FMT_NIX;
	legacy = opt.format == FMT_NIX_2_8;
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

	/* FMT_NIX: {"PATH": {...}, ... [, "total": {...}]}, one path a line;
	 * FMT_NIX_2_8: [{"path": PATH, ...}, ...], wrapped in {"paths": [...],
	 * "total": {...}} with --total. */
	if (json && legacy && total)
		fputs("{\"paths\": ", stdout);
	if (json)
		fputs(legacy ? "[" : "{", stdout);
	/* All the sums at once (one walk per closure costs their total size,
	 * which grows faster than the cache); the missing members, for
	 * --json, by a walk over only what reaches one. */
	sums = xmalloc((nids ? nids : 1) * sizeof(*sums));
	closure_sums(&g, &nm, ids, nids, sums);
	if (json)
		reach = graph_reaches_missing(&g);
	for (size_t i = 0; i < nids; i++) {
		if (json) {
			json_t *o;
			graph_closure_missing(&g, ids[i], reach, &c);
			o = path_json(ctx->db, cache_id, &g, &nm, ids[i], &sums[i], &c, opt.format,
				      &scratch, &ascratch);
			fputs(i ? ",\n" : "\n", stdout);
			if (!legacy) {
				json_t *key;
				full_path(&nm, ids[i], &sb);
				key = json_string(sb.buf);
				json_dumpf(key, stdout, JSON_ENCODE_ANY);
				json_decref(key);
				fputc(':', stdout);
			}
			json_dumpf(o, stdout, JSON_COMPACT | (legacy ? 0 : JSON_SORT_KEYS));
			json_decref(o);
		} else {
			full_path(&nm, ids[i], &sb);
			printf("%s\t%lld\t%llu\n", sb.buf, (long long)g.nar_size[ids[i]],
			       (unsigned long long)sums[i].nar_bytes);
			if (sums[i].nmissing && !all)
				warning("closure of '%s' lacks %llu path%s in this cache (--json lists them)",
					sb.buf, (unsigned long long)sums[i].nmissing,
					sums[i].nmissing == 1 ? "" : "s");
			incomplete += sums[i].nmissing > 0;
		}
	}
	if (json && legacy)
		fputs(nids ? "\n]" : "]", stdout);
	if (all && incomplete)
		warning("%zu of %zu closures lack paths in this cache (--json lists them per path)",
			incomplete, nids);
	if (total) {
		graph_closure(&g, ids, nids, &c);
		if (json) {
			json_t *t = total_json(&g, &nm, &c, &scratch, &ascratch);
			fputs(legacy ? ", \"total\": " : nids ? ",\n\"total\":" : "\n\"total\":",
			      stdout);
			json_dumpf(t, stdout, JSON_COMPACT);
			json_decref(t);
			if (legacy)
				fputs("}", stdout);
		} else {
			printf("total (%zu paths)\t%llu\t%llu\n", c.n,
			       (unsigned long long)c.file_bytes, (unsigned long long)c.nar_bytes);
		}
	}
	if (json && !legacy)
		fputs(nids || total ? "\n}" : "}", stdout);
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
	free(sums);
	free(reach);
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
