/*
 * nar_urls.c - the pure helpers of eviction: checking a narinfo's URL,
 * the NAR file name it may take with it, every reading of a URL value
 * (Nix's and lenient readers') and the scan of a narinfo's text for its
 * URL and references.  No database, no file system.  See evict.h.
 */
#include "analysis/evict.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nix/narinfo.h"
#include "nix/nixhash.h"
#include "lib/cachepath.h"
#include "lib/util.h"

int evict_url_check(const char *url, size_t len, const char **why)
{
	return cache_url_check(url, len, why);
}

/* The extensions Nix's BinaryCacheStore::addToStoreCommon gives a NAR
 * for its compression (2.8 and current Nix alike); other compressions
 * get none. */
static const char *const nar_exts[] = {"xz", "bz2", "zst", "lzip", "lz4", "br"};

/* Names of the top-level directories eviction leaves alone, with the
 * reason given when a URL points into one. */
static const struct {
	const char *dir;
	const char *why;
} kept_dirs[] = {
	{"log", "names a build log under log/, which eviction leaves alone"},
	{"realisations", "names a realisation under realisations/, which eviction leaves alone"},
	{"build-trace-v2", "names a realisation under build-trace-v2/, which eviction leaves alone"},
	{"debuginfo", "names a debuginfo link under debuginfo/, which eviction leaves alone"},
};

static int has_suffix(const char *s, size_t n, const char *suf)
{
	size_t k = strlen(suf);

	return n >= k && !memcmp(s + n - k, suf, k);
}

/* 1 when c may appear in the file-name part before ".nar": what Nix
 * (nix32 file hashes), harmonia (nix32 NAR hashes), nix-serve
 * ("<store hash>-<NAR hash>") and Attic (store hashes) write, and names
 * of that kind. */
static int nar_token_char(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '-' || c == '_';
}

int evict_nar_name(const char *url, size_t len, char **name, const char **why)
{
	const char *q = memchr(url, '?', len), *base, *dot;
	size_t plen = q ? (size_t)(q - url) : len, blen, tlen;

	*name = NULL;
	if (q) {
		/* harmonia: nar/<NAR hash>.nar?hash=<store hash>; its server
		 * (and any static server) takes the file from the path and the
		 * store path from the query */
		size_t qlen = len - plen - 1;
		if (qlen != 5 + STORE_HASH_LEN || memcmp(q + 1, "hash=", 5) ||
		    !store_hash_valid(q + 6, STORE_HASH_LEN)) {
			*why = "query string in URL (a web server drops it, file:// Nix does not; "
			       "only harmonia's ?hash=<store hash> is understood)";
			return -1;
		}
	}
	if (evict_url_check(url, plen, why))
		return -1;
	base = memrchr(url, '/', plen);
	base = base ? base + 1 : url;
	blen = plen - (size_t)(base - url);
	if (has_suffix(base, blen, ".narinfo")) {
		*why = "names a narinfo, not a NAR";
		return -1;
	}
	if (plen == 14 && !memcmp(url, "nix-cache-info", 14)) {
		*why = "names nix-cache-info, not a NAR";
		return -1;
	}
	if (has_suffix(base, blen, ".ls")) {
		*why = "names a file listing (.ls), not a NAR";
		return -1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(kept_dirs); i++) {
		size_t k = strlen(kept_dirs[i].dir);
		if (plen > k && !memcmp(url, kept_dirs[i].dir, k) && url[k] == '/') {
			*why = kept_dirs[i].why;
			return -1;
		}
	}
	*why = "not a NAR name: eviction deletes only nar/<hash>.nar, with .xz, .bz2, .zst, "
	       ".lzip, .lz4 or .br after it";
	if (plen < 5 || memcmp(url, "nar/", 4) || base != url + 4)
		return -1;
	/* <token>.nar or <token>.nar.<ext> */
	dot = memchr(base, '.', blen);
	if (!dot || dot == base)
		return -1;
	tlen = (size_t)(dot - base);
	for (size_t i = 0; i < tlen; i++)
		if (!nar_token_char((unsigned char)base[i]))
			return -1;
	if (blen - tlen < 4 || memcmp(dot, ".nar", 4))
		return -1;
	if (blen - tlen > 4) {
		const char *ext = dot + 5;
		size_t elen = blen - tlen - 5, i;
		if (dot[4] != '.')
			return -1;
		for (i = 0; i < ARRAY_SIZE(nar_exts); i++)
			if (strlen(nar_exts[i]) == elen && !memcmp(nar_exts[i], ext, elen))
				break;
		if (i == ARRAY_SIZE(nar_exts))
			return -1;
	}
	*why = NULL;
	*name = xstrndup(url, plen);
	return 0;
}

/*
 * Lexically normalise a path as nginx does after decoding (and as the
 * kernel does for a literal name when no symbolic link is on the way):
 * empty and "." components dropped, ".." takes the previous one, leading
 * slashes dropped (relative to the cache directory).  Appends to out.
 * Returns 0, or -1 when ".." climbs above the start (nginx answers 400).
 */
static int path_normalize(const char *p, size_t n, struct strbuf *out)
{
	size_t i = 0, base = out->len;

	while (i < n) {
		size_t j = i;
		while (j < n && p[j] != '/')
			j++;
		if (j - i == 0 || (j - i == 1 && p[i] == '.')) {
			/* skip */
		} else if (j - i == 2 && p[i] == '.' && p[i + 1] == '.') {
			char *slash;
			if (out->len == base)
				return -1;
			slash = memrchr(out->buf + base, '/', out->len - base);
			out->len = slash ? (size_t)(slash - out->buf) : base;
			out->buf[out->len] = '\0';
		} else {
			if (out->len > base)
				strbuf_addch(out, '/');
			strbuf_add(out, p + i, j - i);
		}
		i = j + 1;
	}
	return 0;
}

/* Percent-decode p[0..n) into out (reset first).  -1 on a malformed
 * escape or an encoded NUL, which nginx answers with 400. */
static int pct_decode(const char *p, size_t n, struct strbuf *out)
{
	strbuf_reset(out);
	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		if (p[i] != '%') {
			strbuf_addch(out, p[i]);
			continue;
		}
		if (i + 2 >= n)
			return -1;
		if ((hi = hex_value((unsigned char)p[i + 1])) < 0 ||
		    (lo = hex_value((unsigned char)p[i + 2])) < 0 || (!hi && !lo))
			return -1;
		strbuf_addch(out, (char)(hi * 16 + lo));
		i += 2;
	}
	return 0;
}

/* Length of a URL scheme with its ':' ("http:" -> 5), or 0. */
static size_t scheme_len(const char *p, size_t n)
{
	size_t i;

	if (!n || !((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z')))
		return 0;
	for (i = 1; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == ':')
			return i + 1;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '-' || c == '.'))
			return 0;
	}
	return 0;
}

struct readings {
	evict_reading_fn fn;
	void *ctx;
	struct strbuf a, b;
};

/* "nar/" + the last component of the normalised name in r->a. */
static void yield_basename(struct readings *r)
{
	const char *last;

	if (!r->a.len)
		return;
	last = memrchr(r->a.buf, '/', r->a.len);
	last = last ? last + 1 : r->a.buf;
	strbuf_reset(&r->b);
	strbuf_addstr(&r->b, "nar/");
	strbuf_addstr(&r->b, last);
	r->fn(r->ctx, EVICT_READ_BASENAME, r->b.buf, r->b.len);
}

/* The readings of one path: literally (file:// Nix) and as a server
 * maps it (nginx).  p has no NUL. */
static void readings_of_path(struct readings *r, const char *p, size_t n, int literal)
{
	struct strbuf dec = STRBUF_INIT;
	const char *cut;
	size_t sn = n;

	if (literal) {
		strbuf_reset(&r->a);
		if (!path_normalize(p, n, &r->a) && r->a.len) {
			r->fn(r->ctx, EVICT_READ_FILE, r->a.buf, r->a.len);
			yield_basename(r);
		}
	}
	/* A client drops the fragment, a server the query; then nginx
	 * decodes and normalises. */
	if ((cut = memchr(p, '#', sn)))
		sn = (size_t)(cut - p);
	if ((cut = memchr(p, '?', sn)))
		sn = (size_t)(cut - p);
	if (!pct_decode(p, sn, &dec)) {
		strbuf_reset(&r->a);
		if (!path_normalize(dec.buf ? dec.buf : "", dec.len, &r->a) && r->a.len) {
			r->fn(r->ctx, EVICT_READ_SERVER, r->a.buf, r->a.len);
			yield_basename(r);
		}
	}
	strbuf_release(&dec);
}

static void readings_of_value(struct readings *r, const char *v, size_t n)
{
	size_t sl = scheme_len(v, n);

	/* Every value is also read as a path relative to the cache: Nix 2.8
	 * appends anything but http://, https:// and file:// to the cache's
	 * URL, and file:// Nix to its directory. */
	readings_of_path(r, v, n, 1);
	if ((sl && n - sl >= 2 && v[sl] == '/' && v[sl + 1] == '/') ||
	    (!sl && n >= 2 && v[0] == '/' && v[1] == '/')) {
		/* scheme://authority/path or //authority/path: the path, wherever
		 * the authority is (it may be this cache under another name) */
		const char *p = v + sl + 2, *slash = memchr(p, '/', n - sl - 2);
		if (!slash)
			return;
		readings_of_path(r, slash, n - (size_t)(slash - v), 0);
		if (sl == 5 && !strncasecmp(v, "file:", 5)) {
			/* file://host/abs/path: a file on this machine, found by stat */
			struct strbuf dec = STRBUF_INIT;
			size_t pn = n - (size_t)(slash - v);
			strbuf_reset(&r->a);
			strbuf_add(&r->a, slash, pn);
			r->fn(r->ctx, EVICT_READ_ABSOLUTE, r->a.buf, r->a.len);
			if (!pct_decode(slash, pn, &dec) && (dec.len != pn || memcmp(dec.buf, slash, pn)))
				r->fn(r->ctx, EVICT_READ_ABSOLUTE, dec.buf, dec.len);
			strbuf_release(&dec);
		}
	} else if (sl) {
		/* scheme:path */
		readings_of_path(r, v + sl, n - sl, 0);
	}
}

void evict_url_readings(const char *val, size_t len, evict_reading_fn fn, void *ctx)
{
	struct readings r = {fn, ctx, STRBUF_INIT, STRBUF_INIT};
	const char *nul = memchr(val, '\0', len);
	size_t s = 0, e;

	/* open(2) and curl stop at a NUL: Nix 2.8 reads the name up to it */
	if (nul)
		len = (size_t)(nul - val);
	readings_of_value(&r, val, len);
	/* ... and a reader that trims the value */
	e = len;
	while (s < e && strchr(" \t\r\n\v\f", val[s]))
		s++;
	while (e > s && strchr(" \t\r\n\v\f", val[e - 1]))
		e--;
	if (s || e != len)
		readings_of_value(&r, val + s, e - s);
	strbuf_release(&r.a);
	strbuf_release(&r.b);
}

static int ascii_ieq(const char *a, size_t n, const char *b)
{
	size_t k = strlen(b);

	if (n != k)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return 0;
	}
	return 1;
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Pass the store hash of each reference in v[0..n) (split at any byte
 * in seps; "/nix/store/<hash>-<name>" counts by its basename) to ref. */
static void scan_refs(const char *v, size_t n, const char *seps,
		      void (*ref)(void *ctx, const char *hash), void *ctx)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i;
		const char *tok, *slash;
		while (j < n && !strchr(seps, v[j]))
			j++;
		tok = v + i;
		if ((slash = memrchr(tok, '/', j - i)))
			tok = slash + 1;
		if ((size_t)(v + j - tok) >= STORE_HASH_LEN && store_hash_valid(tok, STORE_HASH_LEN))
			ref(ctx, tok);
		i = j + 1;
	}
}

void evict_narinfo_scan(const char *buf, size_t len, struct evict_scan *s,
			void (*url)(void *ctx, const char *val, size_t n),
			void (*ref)(void *ctx, const char *hash), void *ctx)
{
	struct nix_lexer lx;
	struct nix_entry e;
	const char *p = buf, *end = buf + len;
	int rc;

	memset(s, 0, sizeof(*s));
	/* As Nix reads it: every URL entry (Nix keeps the last), every
	 * References entry. */
	nix_lex_init(&lx, buf, len);
	while ((rc = nix_lex_next(&lx, &e)) == NIX_LEX_ENTRY) {
		if (e.klen == 3 && !memcmp(e.key, "URL", 3)) {
			s->url = e.val;
			s->url_len = e.vlen;
			if (url)
				url(ctx, e.val, e.vlen);
		} else if (e.klen == 10 && !memcmp(e.key, "References", 10) && ref) {
			scan_refs(e.val, e.vlen, " ", ref, ctx);
		}
	}
	if (rc != NIX_LEX_END) {
		s->nix_refuses = rc;
		s->refused_line = lx.line;
		for (size_t i = lx.pos; i < len; i++)
			if (!is_ws(buf[i])) {
				s->incomplete = 1;
				break;
			}
	}
	/* As a reader that goes by lines, trims, and ignores case would. */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *k = p, *colon, *ke, *v, *ve;
		while (k < le && is_ws(*k))
			k++;
		colon = memchr(k, ':', (size_t)(le - k));
		if (colon) {
			ke = colon;
			while (ke > k && is_ws(ke[-1]))
				ke--;
			v = colon + 1;
			ve = le;
			while (v < ve && is_ws(*v))
				v++;
			while (ve > v && is_ws(ve[-1]))
				ve--;
			if (ascii_ieq(k, (size_t)(ke - k), "URL") && url)
				url(ctx, v, (size_t)(ve - v));
			else if (ascii_ieq(k, (size_t)(ke - k), "References") && ref)
				scan_refs(v, (size_t)(ve - v), " \t\r\n\v\f", ref, ctx);
		}
		if (!nl)
			break;
		p = nl + 1;
	}
}
