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
#include "lib/jsonw.h"
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

/* The JSON is written to stdout once this much of it is buffered. */
#define OUT_BLOCK (1 << 16)

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

/*
 * The JSON is written directly into a buffer, byte for byte as jansson's
 * compact dump of the tree this command once built (a jansson tree per
 * path was most of the cost of --all at scale): members in the order
 * jansson wrote them (sorted keys for FMT_NIX, insertion order for
 * FMT_NIX_2_8), and text that is not UTF-8 left out as json_string()
 * did (it returned NULL, and the member or element was not added).
 */
struct jout {
	struct strbuf *sb;
	int first;           /* no member yet in the current object */
};

static void jkey(struct jout *j, const char *key)
{
	if (!j->first)
		strbuf_addch(j->sb, ',');
	j->first = 0;
	strbuf_addch(j->sb, '"');
	strbuf_addstr(j->sb, key);
	strbuf_add(j->sb, "\":", 2);
}

static void jmember_str(struct jout *j, const char *key, const char *s)
{
	if (!s || !jsonw_utf8_valid(s))
		return;
	jkey(j, key);
	jsonw_str(j->sb, s);
}

static void jmember_int(struct jout *j, const char *key, int64_t n)
{
	jkey(j, key);
	jsonw_int(j->sb, n);
}

static void jmember_lit(struct jout *j, const char *key, const char *lit)
{
	jkey(j, key);
	strbuf_addstr(j->sb, lit);
}

/* The full path of id as a JSON string into out; 0, or -1 (nothing
 * written) when it is not UTF-8. */
static int path_str(const struct names *nm, uint32_t id, struct strbuf *out)
{
	const char *base = base_of(nm, id);

	/* plain text (the common case) is UTF-8 and needs no escape */
	if (jsonw_plain(nm->store_dir) && jsonw_plain(base)) {
		strbuf_addch(out, '"');
		strbuf_addstr(out, nm->store_dir);
		strbuf_addch(out, '/');
		strbuf_addstr(out, base);
		strbuf_addch(out, '"');
	} else if (jsonw_utf8_valid(nm->store_dir) && jsonw_utf8_valid(base)) {
		struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "%s/%s", nm->store_dir, base);
		jsonw_str(out, sb.buf);
		strbuf_release(&sb);
	} else {
		return -1;
	}
	return 0;
}

/* ids[0..n), sorted by name, as a JSON array of full paths. */
static void paths_array(struct names *nm, uint32_t *ids, size_t n, struct strbuf *out)
{
	int first = 1;

	sort_ids(nm, ids, n);
	strbuf_addch(out, '[');
	for (size_t i = 0; i < n; i++) {
		if (!first)
			strbuf_addch(out, ',');
		if (path_str(nm, ids[i], out) == 0)
			first = 0;
		else if (!first)
			out->len--;  /* the comma */
	}
	strbuf_addch(out, ']');
	out->buf[out->len] = '\0';
}

/* A narinfo hash ("sha256:<nix32>") as SRI, the way `nix path-info --json`
 * prints it; a hash that does not parse is passed on as recorded. */
static void jmember_sri(struct jout *j, const char *key, const char *h)
{
	struct nixhash nh;
	char buf[NIXHASH_FMT_MAX];

	if (!nixhash_parse(h, strlen(h), &nh) && nixhash_format_sri(&nh, buf, sizeof(buf)))
		jmember_str(j, key, buf);
	else
		jmember_str(j, key, h);
}

/* The strings of the sigs column when it is what the crawl writes of
 * plain text: ["a","b",...] with no escapes and nothing but printable
 * ASCII.  Into *v (malloc'd, *n of them, pointing into *copy); 0, or -1
 * for anything else, which jansson then parses. */
static int sigs_plain(const char *col, char **copy, const char ***v, size_t *n)
{
	size_t len = strlen(col), cap = 0;
	char *p, *q;

	*v = NULL;
	*n = 0;
	if (len < 2 || col[0] != '[' || col[len - 1] != ']')
		return -1;
	*copy = p = xstrdup(col);
	p++;
	if (*p == ']')
		return 0;
	for (;;) {
		if (*p != '"')
			goto no;
		q = ++p;
		while (*q != '"') {
			if (!*q || *q == '\\' || (unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e)
				goto no;
			q++;
		}
		*q++ = '\0';
		GROW(*v, cap, *n + 1);
		(*v)[(*n)++] = p;
		if (*q == ']' && !q[1])
			return 0;
		if (*q != ',')
			goto no;
		p = q + 1;
	}
no:
	free(*copy);
	free(*v);
	*copy = NULL;
	*v = NULL;
	*n = 0;
	return -1;
}

/* The signatures (the sigs column, a JSON array) as Nix prints them: a
 * sorted set, as a JSON array; 0 when it is empty. */
static size_t sigs_array(const char *col, struct strbuf *out)
{
	json_t *sigs = NULL;
	char *copy = NULL;
	const char **v = NULL;
	size_t ns = 0, nout = 0;

	if (col && sigs_plain(col, &copy, &v, &ns)) {
		sigs = json_loads(col, 0, NULL);
		ns = json_is_array(sigs) ? json_array_size(sigs) : 0;
		v = xcalloc(ns + 1, sizeof(*v));
		for (size_t i = 0; i < ns; i++)
			v[i] = json_string_value(json_array_get(sigs, i));
	}
	if (ns > 1)
		qsort(v, ns, sizeof(*v), cmp_cstr);
	strbuf_addch(out, '[');
	for (size_t i = 0; i < ns; i++)
		if (v[i] && (!i || !v[i - 1] || strcmp(v[i], v[i - 1]))) {
			if (nout++)
				strbuf_addch(out, ',');
			jsonw_str(out, v[i]);
		}
	strbuf_addch(out, ']');
	free(v);
	free(copy);
	json_decref(sigs);
	return nout;
}

/* Buffers path_json() reuses from path to path. */
struct jbufs {
	struct strbuf sigs, refs, missing, deriver;
};

static void jbufs_release(struct jbufs *jb)
{
	strbuf_release(&jb->sigs);
	strbuf_release(&jb->refs);
	strbuf_release(&jb->missing);
	strbuf_release(&jb->deriver);
}

/*
 * The `nix path-info --json -S` object for one path, in format fmt,
 * appended to out.
 * FMT_NIX follows Nix 2.19 and later (UnkeyedNarInfo::toJSON, JSON format
 * 1, the default of `nix path-info --json`): every member always there,
 * null for no ca / deriver / registrationTime (a binary cache has none),
 * ultimate false, SRI hashes, storeDir and version; downloadSize only when
 * the narinfo gave a non-zero FileSize, as Nix.  FMT_NIX_2_8 follows Nix
 * 2.8: a "path" member, absent rather than null, no storeDir/version.
 * Both add compression where Nix 2.8 did not, and missing and present.
 * The members of FMT_NIX are written in sorted order (as jansson's
 * JSON_SORT_KEYS did), those of FMT_NIX_2_8 in the order Nix 2.8 has.
 */
static void path_json(struct db *db, int64_t cache_id, struct graph *g, struct names *nm,
		      uint32_t id, const struct closure_sum *cs, struct closure *c,
		      enum json_format fmt, uint32_t **scratch, size_t *scratch_alloc,
		      struct strbuf *out, struct jbufs *jb)
{
	struct narinfo_record r;
	struct jout j = {.sb = out, .first = 1};
	int have = narinfo_record_get(db, cache_id, id, &r) == 1;
	size_t nref = 0, nmiss = 0, nsigs = 0;
	int deriver_ok = 0;

	strbuf_reset(&jb->sigs);
	strbuf_reset(&jb->refs);
	strbuf_reset(&jb->missing);
	strbuf_reset(&jb->deriver);
	if (have) {
		nsigs = sigs_array(r.sigs, &jb->sigs);
		if (r.deriver) {
			strbuf_addf(&jb->deriver, "%s/%s", nm->store_dir, r.deriver);
			deriver_ok = jsonw_utf8_valid(jb->deriver.buf);
		}
	} else {
		strbuf_addstr(&jb->sigs, "[]");
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
	paths_array(nm, *scratch, nref, &jb->refs);
	/* c: the missing members (graph_closure_missing()) */
	for (size_t i = 0; i < c->n; i++) {
		GROW(*scratch, *scratch_alloc, nmiss + 1);
		(*scratch)[nmiss++] = c->ids[i];
	}
	paths_array(nm, *scratch, nmiss, &jb->missing);

	strbuf_addch(out, '{');
	if (fmt == FMT_NIX) {
		if (have && r.ca)
			jmember_str(&j, "ca", r.ca);
		else
			jmember_lit(&j, "ca", "null");
		jmember_int(&j, "closureDownloadSize", (int64_t)cs->file_bytes);
		jmember_int(&j, "closureSize", (int64_t)cs->nar_bytes);
		if (have)
			jmember_str(&j, "compression", r.compression);
		if (have && r.deriver) {
			if (deriver_ok)
				jmember_str(&j, "deriver", jb->deriver.buf);
		} else {
			jmember_lit(&j, "deriver", "null");
		}
		if (have && r.file_hash)
			jmember_sri(&j, "downloadHash", r.file_hash);
		if (have && r.file_size > 0)
			jmember_int(&j, "downloadSize", r.file_size);
		jmember_lit(&j, "missing", jb->missing.buf);
		if (have)
			jmember_sri(&j, "narHash", r.nar_hash);
		if (have)
			jmember_int(&j, "narSize", r.nar_size);
		jmember_lit(&j, "present", g->flags[id] & GRAPH_PRESENT ? "true" : "false");
		jmember_lit(&j, "references", jb->refs.buf);
		jmember_lit(&j, "registrationTime", "null");
		jmember_lit(&j, "signatures", jb->sigs.buf);
		jmember_str(&j, "storeDir", nm->store_dir);
		jmember_lit(&j, "ultimate", "false");
		if (have)
			jmember_str(&j, "url", r.url);
		jmember_lit(&j, "version", "1");
	} else {
		if (!jsonw_utf8_valid(nm->store_dir) || !jsonw_utf8_valid(base_of(nm, id))) {
			;  /* json_string() of the path was NULL: no "path" */
		} else {
			jkey(&j, "path");
			path_str(nm, id, out);
		}
		if (have) {
			jmember_sri(&j, "narHash", r.nar_hash);
			jmember_int(&j, "narSize", r.nar_size);
			jmember_str(&j, "url", r.url);
			jmember_str(&j, "compression", r.compression);
			if (r.file_hash)
				jmember_sri(&j, "downloadHash", r.file_hash);
			if (r.file_size > 0)
				jmember_int(&j, "downloadSize", r.file_size);
			if (r.deriver && deriver_ok)
				jmember_str(&j, "deriver", jb->deriver.buf);
			if (r.ca)
				jmember_str(&j, "ca", r.ca);
		}
		/* Nix 2.8 leaves out an empty list of signatures. */
		if (nsigs)
			jmember_lit(&j, "signatures", jb->sigs.buf);
		jmember_lit(&j, "references", jb->refs.buf);
		jmember_int(&j, "closureSize", (int64_t)cs->nar_bytes);
		jmember_int(&j, "closureDownloadSize", (int64_t)cs->file_bytes);
		jmember_lit(&j, "missing", jb->missing.buf);
		jmember_lit(&j, "present", g->flags[id] & GRAPH_PRESENT ? "true" : "false");
	}
	strbuf_addch(out, '}');
	if (have)
		narinfo_record_release(&r);
}

static void total_json(struct graph *g, struct names *nm, struct closure *c,
		       uint32_t **scratch, size_t *scratch_alloc, struct strbuf *out)
{
	size_t nmiss = 0;

	for (size_t i = 0; i < c->n; i++) {
		if (g->flags[c->ids[i]] & GRAPH_PRESENT)
			continue;
		GROW(*scratch, *scratch_alloc, nmiss + 1);
		(*scratch)[nmiss++] = c->ids[i];
	}
	strbuf_addstr(out, "{\"paths\":");
	jsonw_int(out, (int64_t)c->n);
	strbuf_addstr(out, ",\"closureSize\":");
	jsonw_int(out, (int64_t)c->nar_bytes);
	strbuf_addstr(out, ",\"closureDownloadSize\":");
	jsonw_int(out, (int64_t)c->file_bytes);
	strbuf_addstr(out, ",\"missing\":");
	paths_array(nm, *scratch, nmiss, out);
	strbuf_addch(out, '}');
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
	struct strbuf sb = STRBUF_INIT, out = STRBUF_INIT;
	struct jbufs jb = {STRBUF_INIT, STRBUF_INIT, STRBUF_INIT, STRBUF_INIT};
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
	 * "total": {...}} with --total.  The JSON goes out through out, in
	 * blocks. */
	if (json && legacy && total)
		strbuf_addstr(&out, "{\"paths\": ");
	if (json)
		strbuf_addstr(&out, legacy ? "[" : "{");
	/* All the sums at once (one walk per closure costs their total size,
	 * which grows faster than the cache); the missing members, for
	 * --json, by a walk over only what reaches one. */
	sums = xmalloc((nids ? nids : 1) * sizeof(*sums));
	closure_sums(&g, &nm, ids, nids, sums);
	if (json)
		reach = graph_reaches_missing(&g);
	for (size_t i = 0; i < nids; i++) {
		if (json) {
			graph_closure_missing(&g, ids[i], reach, &c);
			strbuf_addstr(&out, i ? ",\n" : "\n");
			if (!legacy) {
				/* a key not UTF-8 was written as nothing */
				path_str(&nm, ids[i], &out);
				strbuf_addch(&out, ':');
			}
			path_json(ctx->db, cache_id, &g, &nm, ids[i], &sums[i], &c, opt.format,
				  &scratch, &ascratch, &out, &jb);
			if (out.len >= OUT_BLOCK) {
				fwrite(out.buf, 1, out.len, stdout);
				strbuf_reset(&out);
			}
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
		strbuf_addstr(&out, nids ? "\n]" : "]");
	if (json) {
		fwrite(out.buf, 1, out.len, stdout);
		strbuf_reset(&out);
	}
	if (all && incomplete)
		warning("%zu of %zu closures lack paths in this cache (--json lists them per path)",
			incomplete, nids);
	if (total) {
		graph_closure(&g, ids, nids, &c);
		if (json) {
			strbuf_addstr(&out, legacy ? ", \"total\": " : nids ? ",\n\"total\":"
										: "\n\"total\":");
			total_json(&g, &nm, &c, &scratch, &ascratch, &out);
			if (legacy)
				strbuf_addch(&out, '}');
		} else {
			printf("total (%zu paths)\t%llu\t%llu\n", c.n,
			       (unsigned long long)c.file_bytes, (unsigned long long)c.nar_bytes);
		}
	}
	if (json && !legacy)
		strbuf_addstr(&out, nids || total ? "\n}" : "}");
	if (json) {
		strbuf_addch(&out, '\n');
		fwrite(out.buf, 1, out.len, stdout);
	}
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
	strbuf_release(&out);
	jbufs_release(&jb);
	return ret;
}

const struct cmd cmd_closure = {
	.name = "closure",
	.summary = "closures and their NAR / download sizes, and what they lack",
	.options = &closure_parser,
	.db = DB_READ,
	.run = run,
};
