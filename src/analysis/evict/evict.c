/*
 * evict.c - eviction plans (closure-safe selection, reasons, broken jobs)
 * and their journaled application to a cache directory.  See evict.h.
 */
#include "analysis/evict.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/db.h"
#include "store/refs.h"
#include "store/stmt.h"
#include "analysis/gc.h"
#include "analysis/graph.h"
#include "store/meta.h"
#include "nix/narinfo.h"
#include "nix/nixhash.h"
#include "lib/util.h"

volatile int evict_interrupted;

/* The GC models first, the default first of all. */
const char *const evict_policies[] = {"priority", "cachix", "attic", "niks3", "reach", NULL};

/* A victim's gc_reason is stored as is. */
_Static_assert((int)GC_UNREACHED == EVICT_UNREACHED && (int)GC_SUPERSEDED == EVICT_SUPERSEDED &&
	       (int)GC_LOW_VALUE == EVICT_LOW_VALUE && (int)GC_LRU == EVICT_LRU &&
	       (int)GC_EXPIRED == EVICT_EXPIRED &&
	       (int)GC_DEPENDENCY_LOST == EVICT_DEPENDENCY_LOST && GC_NREASONS == EVICT_NREASONS,
	       "enum evict_reason follows enum gc_reason");

const char *evict_reason_name(int reason)
{
	switch (reason) {
	case EVICT_UNREACHED: return "unreached";
	case EVICT_SUPERSEDED: return "superseded";
	case EVICT_LOW_VALUE: return "low-value";
	case EVICT_LRU: return "lru";
	case EVICT_EXPIRED: return "expired";
	case EVICT_DEPENDENCY_LOST: return "dependency-lost";
	}
	return "?";
}

static int reason_parse(const char *s)
{
	for (int r = 0; r < EVICT_NREASONS; r++)
		if (!strcmp(s, evict_reason_name(r)))
			return r;
	return -1;
}

const char *evict_kind_name(int kind)
{
	switch (kind) {
	case EVICT_NARINFO: return "narinfo";
	case EVICT_LS: return "ls";
	case EVICT_NAR: return "nar";
	}
	return "?";
}

/* ---- small hash tables ------------------------------------------------ */

/* Strings to an int64, open addressing; keys are copied. */
struct strmap_ent {
	char *key;
	size_t len;
	uint64_t hash;
	int64_t val;
};
struct strmap {
	struct strmap_ent *v;
	size_t n, cap;
};

static uint64_t fnv1a(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ull;
	return h;
}

static void strmap_rehash(struct strmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	struct strmap_ent *v = xcalloc(cap, sizeof(*v));

	for (size_t i = 0; i < m->cap; i++) {
		size_t j;
		if (!m->v[i].key)
			continue;
		for (j = m->v[i].hash & (cap - 1); v[j].key; j = (j + 1) & (cap - 1))
			;
		v[j] = m->v[i];
	}
	free(m->v);
	m->v = v;
	m->cap = cap;
}

/* The entry for key[0..len), created with val 0 when create is set;
 * NULL when absent and !create.  May reallocate the table. */
static struct strmap_ent *strmap_get(struct strmap *m, const char *key, size_t len, int create)
{
	uint64_t h = fnv1a(key, len);
	size_t i;

	if (create && (m->n + 1) * 2 > m->cap)
		strmap_rehash(m);
	if (!m->cap)
		return NULL;
	for (i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct strmap_ent *e = &m->v[i];
		if (!e->key) {
			if (!create)
				return NULL;
			e->key = xstrndup(key, len);
			e->len = len;
			e->hash = h;
			e->val = 0;
			m->n++;
			return e;
		}
		if (e->hash == h && e->len == len && !memcmp(e->key, key, len))
			return e;
	}
}

static void strmap_release(struct strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->v[i].key);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* A set of files by (device, inode). */
struct inoset {
	uint64_t *v;           /* pairs; dev ino, ino 0 = free */
	size_t n, cap;
};

static int inoset_op(struct inoset *s, uint64_t dev, uint64_t ino, int add)
{
	size_t i;

	if (!ino)
		ino = UINT64_MAX;  /* 0 marks a free slot */
	if (add && (s->n + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		uint64_t *v = xcalloc(cap * 2, sizeof(*v));
		for (size_t k = 0; k < s->cap; k++) {
			size_t j;
			if (!s->v[2 * k + 1])
				continue;
			for (j = fnv1a(&s->v[2 * k], 16) & (cap - 1); v[2 * j + 1]; j = (j + 1) & (cap - 1))
				;
			v[2 * j] = s->v[2 * k];
			v[2 * j + 1] = s->v[2 * k + 1];
		}
		free(s->v);
		s->v = v;
		s->cap = cap;
	}
	if (!s->cap)
		return 0;
	{
		uint64_t key[2] = {dev, ino};
		i = fnv1a(key, 16) & (s->cap - 1);
	}
	for (;; i = (i + 1) & (s->cap - 1)) {
		if (!s->v[2 * i + 1]) {
			if (!add)
				return 0;
			s->v[2 * i] = dev;
			s->v[2 * i + 1] = ino;
			s->n++;
			return 1;
		}
		if (s->v[2 * i] == dev && s->v[2 * i + 1] == ino)
			return 1;
	}
}

/* path id -> index, by binary search over (id, index) pairs. */
struct idmap {
	uint64_t *v;           /* id << 32 | index, sorted */
	size_t n;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void idmap_build(struct idmap *m, const struct evict_plan *plan)
{
	m->n = plan->n;
	m->v = xmalloc((plan->n ? plan->n : 1) * sizeof(*m->v));
	for (size_t i = 0; i < plan->n; i++)
		m->v[i] = (uint64_t)plan->paths[i].path_id << 32 | (uint32_t)i;
	qsort(m->v, m->n, sizeof(*m->v), cmp_u64);
}

/* The index of path id, or -1. */
static int64_t idmap_find(const struct idmap *m, uint64_t id)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t k = m->v[mid] >> 32;
		if (k == id)
			return (int64_t)(m->v[mid] & 0xffffffffu);
		if (k < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* ---- pure helpers --------------------------------------------------- */

int evict_url_check(const char *url, size_t len, const char **why)
{
	size_t i, start = 0;

	if (!len) {
		*why = "empty URL";
		return -1;
	}
	if (len > 4096) {
		*why = "URL too long";
		return -1;
	}
	if (url[0] == '/') {
		*why = "absolute path, outside the cache directory";
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)url[i];
		if (c < 0x20 || c == 0x7f) {
			*why = "control character in URL";
			return -1;
		}
		/* Each of these makes a web server and file:// Nix read the
		 * URL as two different files. */
		if (c == '%') {
			*why = "percent-escape in URL (a web server decodes it, file:// Nix "
			       "does not: two different files)";
			return -1;
		}
		if (c == '?') {
			*why = "query string in URL (a web server drops it, file:// Nix does not; "
			       "only harmonia's ?hash=<store hash> is understood)";
			return -1;
		}
		if (c == '#') {
			*why = "fragment in URL (an HTTP client drops it, file:// Nix does not)";
			return -1;
		}
	}
	for (i = 0; i <= len; i++) {
		size_t n;
		if (i < len && url[i] != '/')
			continue;
		n = i - start;
		if (n == 0) {
			*why = "empty path component";
			return -1;
		}
		if (n == 1 && url[start] == '.') {
			*why = "'.' path component";
			return -1;
		}
		if (n == 2 && url[start] == '.' && url[start + 1] == '.') {
			*why = "'..' leaves the cache directory";
			return -1;
		}
		if (n > NAME_MAX) {
			*why = "path component too long";
			return -1;
		}
		if (start == 0 && memchr(url, ':', n)) {
			*why = "URL with a scheme, not a name inside the cache";
			return -1;
		}
		start = i + 1;
	}
	return 0;
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

/* ---- plans in memory ---------------------------------------------------- */

void evict_plan_release(struct evict_plan *plan)
{
	for (size_t i = 0; i < plan->n; i++) {
		free(plan->paths[i].base);
		free(plan->paths[i].url);
		free(plan->paths[i].breaks);
	}
	free(plan->paths);
	for (size_t i = 0; i < plan->njobs; i++) {
		free(plan->jobs[i].branch);
		free(plan->jobs[i].capabilities);
		free(plan->jobs[i].attr);
		free(plan->jobs[i].output);
	}
	free(plan->jobs);
	free(plan->cache_url);
	free(plan->policy);
	free(plan->weights);
	free(plan->store_dir);
	memset(plan, 0, sizeof(*plan));
}

/* ---- planning ------------------------------------------------------------ */

/*
 * Classes of present paths, from the evaluations: a path reached by the
 * closure of a current evaluation's output (the newest of its branch,
 * capabilities and system) is CURRENT; else one reached by an older
 * evaluation's output is SUPERSEDED; else UNREACHED.  Lower goes first.
 */
enum { CLS_UNREACHED, CLS_SUPERSEDED, CLS_CURRENT };

struct eval_row {
	int64_t id;
	int64_t time;
	int current;
	char *branch;
	char *caps;
};

struct root {
	int64_t key;           /* what the root is worth: higher stays longer */
	uint32_t id;           /* path id */
	uint32_t eval;         /* index into the evaluations */
};

static int cmp_root_desc(const void *a, const void *b)
{
	const struct root *x = a, *y = b;

	if (x->key != y->key)
		return x->key > y->key ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

struct heap_item {
	int64_t key;
	int64_t tie;
	uint32_t id;
	uint8_t cls;
};

static int heap_less(const struct heap_item *a, const struct heap_item *b)
{
	if (a->cls != b->cls)
		return a->cls < b->cls;
	if (a->key != b->key)
		return a->key < b->key;
	if (a->tie != b->tie)
		return a->tie < b->tie;
	return a->id < b->id;
}

struct heap {
	struct heap_item *v;
	size_t n, alloc;
};

static void heap_push(struct heap *h, struct heap_item it)
{
	size_t i;

	GROW(h->v, h->alloc, h->n + 1);
	i = h->n++;
	while (i && heap_less(&it, &h->v[(i - 1) / 2])) {
		h->v[i] = h->v[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->v[i] = it;
}

static struct heap_item heap_pop(struct heap *h)
{
	struct heap_item top = h->v[0], last = h->v[--h->n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && heap_less(&h->v[c + 1], &h->v[c]))
			c++;
		if (!heap_less(&h->v[c], &last))
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n)
		h->v[i] = last;
	return top;
}

struct planner {
	struct db *db;
	struct evict_plan *plan;
	struct graph *g;       /* own, or the GC world's */
	struct graph own;
	int own_loaded;
	struct gc_world world;
	int world_loaded;
	int reach;             /* the built-in ranking, else the GC world's */
	int64_t *rank;         /* per id: 1 + the victim's place, 0 = not
	                          proposed (GC policies) */
	uint8_t *vreason;      /* per id: the victim's gc_reason */
	uint8_t *cls;          /* per id: CLS_* (present or not) */
	uint8_t *marked;       /* per id: class assigned */
	int64_t *key;          /* per id: the class key */
	int64_t *push_time;    /* per id */
	uint32_t *pos;         /* per id: index in plan->paths + 1, 0 = kept */
	uint32_t *stack;
	struct eval_row *evals;
	size_t nevals, aevals;
	struct root *roots;
	size_t nroots, aroots;
};

static int64_t stored_of(const struct graph *g, uint32_t id)
{
	return g->file_size[id] >= 0 ? g->file_size[id] : g->nar_size[id];
}

static int present(const struct graph *g, uint32_t id)
{
	return (g->flags[id] & (GRAPH_PRESENT | GRAPH_NARINFO)) == (GRAPH_PRESENT | GRAPH_NARINFO);
}

static int load_evals(struct planner *p)
{
	static const char sql_evals[] =
		"SELECT e.id, e.time, e.branch, e.capabilities, NOT EXISTS ("
		" SELECT 1 FROM evaluations f WHERE f.branch = e.branch"
		" AND f.capabilities = e.capabilities AND f.system = e.system AND f.time <= ?1"
		" AND (f.time > e.time OR (f.time = e.time AND f.id > e.id)))"
		" FROM evaluations e WHERE e.time <= ?1 ORDER BY e.id";
	static const char sql_jobs[] =
		"SELECT evaluation_id, path_id FROM eval_jobs WHERE path_id IS NOT NULL";
	sqlite3_stmt *st;
	int rc;

	/* Like the GC models, the plan sees what happened up to its clock. */
	if (!(st = db_stmt(p->db, sql_evals)))
		return -1;
	db_bind_int(st, 1, p->plan->created_at);
	while ((rc = db_step(p->db, st)) == 1) {
		struct eval_row *e;
		GROW(p->evals, p->aevals, p->nevals + 1);
		e = &p->evals[p->nevals++];
		e->id = sqlite3_column_int64(st, 0);
		e->time = sqlite3_column_int64(st, 1);
		e->branch = xstrdup(db_col_text(st, 2));
		e->caps = xstrdup(db_col_text(st, 3));
		e->current = sqlite3_column_int(st, 4);
	}
	if (rc < 0)
		return -1;
	if (!(st = db_stmt(p->db, sql_jobs)))
		return -1;
	while ((rc = db_step(p->db, st)) == 1) {
		int64_t eid = sqlite3_column_int64(st, 0), pid = sqlite3_column_int64(st, 1);
		size_t lo = 0, hi = p->nevals;
		if (pid <= 0 || pid >= p->g->n)
			continue;
		while (lo < hi) {  /* evals are sorted by id */
			size_t mid = lo + (hi - lo) / 2;
			if (p->evals[mid].id < eid)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo >= p->nevals || p->evals[lo].id != eid)
			continue;
		GROW(p->roots, p->aroots, p->nroots + 1);
		p->roots[p->nroots].id = (uint32_t)pid;
		p->roots[p->nroots].eval = (uint32_t)lo;
		/* "reach" values a root by its evaluation's time: the newest
		 * evaluations are worth most. */
		p->roots[p->nroots].key = p->evals[lo].time;
		p->nroots++;
	}
	return rc < 0 ? -1 : 0;
}

/*
 * Mark what roots of one kind reach, highest key first: a path takes the
 * key of the best root reaching it.  A walk stops at paths already marked,
 * whose closure was marked before with a key at least as high, so every
 * path is visited once.
 */
static void mark_reach(struct planner *p, int current, uint8_t cls)
{
	struct graph *g = p->g;

	for (size_t r = 0; r < p->nroots; r++) {
		size_t sp = 0;
		uint32_t id = p->roots[r].id;
		if (p->evals[p->roots[r].eval].current != current || p->marked[id])
			continue;
		p->marked[id] = 1;
		p->cls[id] = cls;
		p->key[id] = p->roots[r].key;
		p->stack[sp++] = id;
		while (sp) {
			uint32_t v = p->stack[--sp];
			for (uint32_t e = g->off[v]; e < g->off[v + 1]; e++) {
				uint32_t w = g->adj[e];
				if (p->marked[w])
					continue;
				p->marked[w] = 1;
				p->cls[w] = cls;
				p->key[w] = p->roots[r].key;
				p->stack[sp++] = w;
			}
		}
	}
}

static int load_push_times(struct planner *p)
{
	static const char sql[] =
		"SELECT path_id, coalesce(push_time, first_seen) FROM presence"
		" WHERE cache_id = ?1 AND gone_at IS NULL";
	sqlite3_stmt *st = db_stmt(p->db, sql);
	int rc;

	if (!st)
		return -1;
	db_bind_int(st, 1, p->plan->cache_id);
	while ((rc = db_step(p->db, st)) == 1) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (id > 0 && id < p->g->n)
			p->push_time[id] = sqlite3_column_int64(st, 1);
	}
	return rc < 0 ? -1 : 0;
}

/*
 * Whether each path's closure is wholly present, memoized in state
 * (0 unknown, 1 on the stack, 2 whole, 3 not), for the paths reachable
 * from root.  A cycle (impossible in Nix, possible in a forged cache)
 * counts as whole.
 */
struct dfs_frame {
	uint32_t v;
	uint32_t e;
	uint8_t bad;
};

static int closure_whole(struct planner *p, uint8_t *state, struct dfs_frame *fr, uint32_t root)
{
	struct graph *g = p->g;
	size_t sp = 0;

	if (state[root] >= 2)
		return state[root] == 2;
	state[root] = 1;
	fr[sp++] = (struct dfs_frame){root, g->off[root], !present(g, root)};
	while (sp) {
		struct dfs_frame *f = &fr[sp - 1];
		if (!f->bad && f->e < g->off[f->v + 1]) {
			uint32_t w = g->adj[f->e++];
			if (state[w] == 0) {
				state[w] = 1;
				fr[sp++] = (struct dfs_frame){w, g->off[w], !present(g, w)};
			} else if (state[w] == 3) {
				f->bad = 1;
			}
			continue;
		}
		state[f->v] = f->bad ? 3 : 2;
		sp--;
		if (sp && f->bad)
			fr[sp - 1].bad = 1;
	}
	return state[root] == 2;
}

struct broken_pair {
	int64_t time;
	int64_t eval_id;
	uint32_t eval;
	uint32_t root;
};

static int cmp_pair(const void *a, const void *b)
{
	const struct broken_pair *x = a, *y = b;

	if (x->time != y->time)
		return x->time > y->time ? -1 : 1;
	if (x->eval_id != y->eval_id)
		return x->eval_id > y->eval_id ? -1 : 1;
	return x->root < y->root ? -1 : x->root > y->root;
}

/* The jobs the plan breaks, and for each evicted path the jobs whose
 * closure holds it. */
static int find_broken(struct planner *p)
{
	static const char sql[] =
		"SELECT attr, output FROM eval_jobs WHERE evaluation_id = ?1 AND path_id = ?2"
		" ORDER BY attr, output";
	struct graph *g = p->g;
	struct evict_plan *plan = p->plan;
	struct broken_pair *pairs = NULL;
	size_t npairs = 0, apairs = 0, k;
	uint8_t *state = xcalloc(g->n, 1);
	uint32_t *stamp = xcalloc(g->n, sizeof(*stamp));
	struct dfs_frame *fr = xmalloc(g->n * sizeof(*fr));
	int ret = -1;

	for (size_t r = 0; r < p->nroots; r++) {
		uint32_t id = p->roots[r].id;
		if (!p->pos[id] || !closure_whole(p, state, fr, id))
			continue;
		GROW(pairs, apairs, npairs + 1);
		pairs[npairs].time = p->evals[p->roots[r].eval].time;
		pairs[npairs].eval_id = p->evals[p->roots[r].eval].id;
		pairs[npairs].eval = p->roots[r].eval;
		pairs[npairs].root = id;
		npairs++;
	}
	if (npairs)
		qsort(pairs, npairs, sizeof(*pairs), cmp_pair);
	for (k = 0; k < npairs; k++) {
		sqlite3_stmt *st;
		size_t first = plan->njobs, sp = 0;
		int rc;
		if (k && !cmp_pair(&pairs[k], &pairs[k - 1]))
			continue;
		if (!(st = db_stmt(p->db, sql)))
			goto out;
		db_bind_int(st, 1, pairs[k].eval_id);
		db_bind_int(st, 2, pairs[k].root);
		while ((rc = db_step(p->db, st)) == 1) {
			struct evict_job *j;
			GROW(plan->jobs, plan->ajobs, plan->njobs + 1);
			j = &plan->jobs[plan->njobs++];
			j->evaluation_id = pairs[k].eval_id;
			j->branch = xstrdup(p->evals[pairs[k].eval].branch);
			j->capabilities = xstrdup(p->evals[pairs[k].eval].caps);
			j->eval_time = pairs[k].time;
			j->attr = xstrdup(db_col_text(st, 0));
			j->output = xstrdup(db_col_text(st, 1));
			j->root = pairs[k].root;
		}
		if (rc < 0)
			goto out;
		/* Every evicted path of the root's closure loses these jobs.
		 * Kept paths end the walk: all they reference is kept. */
		stamp[pairs[k].root] = (uint32_t)k + 1;
		p->stack[sp++] = pairs[k].root;
		while (sp) {
			uint32_t v = p->stack[--sp];
			struct evict_path *ep = &plan->paths[p->pos[v] - 1];
			for (size_t j = first; j < plan->njobs; j++) {
				ep->nbreaks++;
				if (ep->nbreaks_kept < EVICT_BREAKS_KEPT) {
					if (!ep->breaks)
						ep->breaks = xmalloc(EVICT_BREAKS_KEPT * sizeof(*ep->breaks));
					ep->breaks[ep->nbreaks_kept++] = (uint32_t)j;
				}
			}
			for (uint32_t e = g->off[v]; e < g->off[v + 1]; e++) {
				uint32_t w = g->adj[e];
				if (!p->pos[w] || stamp[w] == (uint32_t)k + 1)
					continue;
				stamp[w] = (uint32_t)k + 1;
				p->stack[sp++] = w;
			}
		}
	}
	ret = 0;
out:
	free(pairs);
	free(state);
	free(stamp);
	free(fr);
	return ret;
}

static int fill_paths(struct planner *p)
{
	static const char sql_path[] = "SELECT hash || '-' || name FROM paths WHERE id = ?1";
	static const char sql_url[] = "SELECT url FROM narinfos WHERE cache_id = ?1 AND path_id = ?2";
	struct evict_plan *plan = p->plan;

	for (size_t i = 0; i < plan->n; i++) {
		struct evict_path *ep = &plan->paths[i];
		sqlite3_stmt *st = db_stmt(p->db, sql_path);
		if (!st)
			return -1;
		db_bind_int(st, 1, ep->path_id);
		if (db_step(p->db, st) != 1)
			return error("path %u of the plan is not in '%s'", ep->path_id, p->db->path);
		ep->base = xstrdup(db_col_text(st, 0));
		sqlite3_reset(st);
		if (!(st = db_stmt(p->db, sql_url)))
			return -1;
		db_bind_int(st, 1, plan->cache_id);
		db_bind_int(st, 2, ep->path_id);
		if (db_step(p->db, st) != 1)
			return error("no narinfo recorded for '%s'", ep->base);
		ep->url = xstrdup(db_col_text(st, 0));
		sqlite3_reset(st);
	}
	return 0;
}

static int plan_header(struct db *db, struct evict_plan *plan)
{
	static const char sql_cache[] = "SELECT url FROM caches WHERE id = ?1";
	static const char sql_crawl[] =
		"SELECT id, status FROM crawls WHERE cache_id = ?1 ORDER BY id DESC LIMIT 1";
	sqlite3_stmt *st;
	int rc;

	if (!(plan->store_dir = db_store_dir(db)))
		return -1;
	if (!(st = db_stmt(db, sql_cache)))
		return -1;
	db_bind_int(st, 1, plan->cache_id);
	if ((rc = db_step(db, st)) != 1) {
		if (rc == 0)
			error("no cache %lld in '%s'", (long long)plan->cache_id, db->path);
		return -1;
	}
	plan->cache_url = xstrdup(db_col_text(st, 0));
	sqlite3_reset(st);
	if (!(st = db_stmt(db, sql_crawl)))
		return -1;
	db_bind_int(st, 1, plan->cache_id);
	rc = db_step(db, st);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		return error("cache '%s' was never crawled; run 'cachegc crawl %s' first",
			     plan->cache_url, plan->cache_url);
	}
	plan->crawl_id = sqlite3_column_int64(st, 0);
	if (strcmp(db_col_text(st, 1), "complete"))
		warning("the last crawl of '%s' did not complete: the plan sees the cache as "
			"that crawl left it", plan->cache_url);
	sqlite3_reset(st);
	return 0;
}

/* Ask the GC model for its victims: their order and reasons. */
static int gc_propose(struct planner *p, const struct evict_plan_opts *o, enum gc_policy gp)
{
	struct gc_weights wt;
	struct gc_victims v = {0};
	struct gc_params params;
	uint8_t *stored = NULL;
	int ret = -1;

	gc_weights_init(&wt);
	if (o->weights && gc_weights_load(&wt, o->weights))
		goto out;
	p->world_loaded = 1;
	if (gc_world_load(&p->world, p->db, o->cache_id, &wt, 0))
		goto out;
	p->g = &p->world.g;
	memset(&params, 0, sizeof(params));
	params.limit = o->limit;
	params.retention = o->retention;
	params.now = p->plan->created_at;
	stored = gc_stored_now(&p->world);
	if (gc_select(&p->world, gp, &params, stored, &v))
		goto out;
	p->rank = xcalloc(p->g->n, sizeof(*p->rank));
	p->vreason = xcalloc(p->g->n, 1);
	for (size_t i = 0; i < v.n; i++) {
		uint32_t id = v.v[i].path;
		if (id >= p->g->n || p->rank[id])
			continue;
		p->rank[id] = (int64_t)i + 1;
		p->vreason[id] = v.v[i].reason < EVICT_NREASONS ? v.v[i].reason : EVICT_LOW_VALUE;
	}
	ret = 0;
out:
	gc_victims_release(&v);
	gc_weights_release(&wt);
	free(stored);
	return ret;
}

/* Whether the policy proposes present path v, and its place in the heap. */
static int proposed(const struct planner *p, uint32_t v)
{
	return p->reach || p->rank[v];
}

static struct heap_item candidate(const struct planner *p, uint32_t v)
{
	struct heap_item it = {0, 0, v, 0};

	if (!p->reach) {
		it.key = p->rank[v];
		return it;
	}
	it.cls = p->cls[v];
	it.key = p->cls[v] == CLS_UNREACHED ? p->push_time[v] : p->key[v];
	it.tie = -stored_of(p->g, v);
	return it;
}

static int reason_of(const struct planner *p, uint32_t v)
{
	if (!p->reach)
		return p->vreason[v];
	return p->cls[v] == CLS_CURRENT ? EVICT_LOW_VALUE
	     : p->cls[v] == CLS_SUPERSEDED ? EVICT_SUPERSEDED : EVICT_UNREACHED;
}

int evict_plan_build(struct db *db, const struct evict_plan_opts *o, struct evict_plan *plan)
{
	struct planner p;
	struct graph *g;
	struct heap h = {0};
	uint32_t *cnt = NULL;
	uint64_t size;
	const char *policy = o->policy ? o->policy : "priority";
	enum gc_policy gp = GC_PRIORITY;
	int ret = -1;

	memset(plan, 0, sizeof(*plan));
	memset(&p, 0, sizeof(p));
	p.db = db;
	p.plan = plan;
	plan->cache_id = o->cache_id;
	plan->limit = o->limit;
	plan->created_at = clock_now();
	p.reach = !strcmp(policy, "reach");
	if (!p.reach && gc_policy_parse(policy, &gp))
		return error("unknown policy '%s' (known: priority, cachix, attic, niks3, reach)",
			     policy);
	plan->policy = xstrdup(policy);
	plan->weights = o->weights ? xstrdup(o->weights) : NULL;
	plan->retention = o->retention > 0 ? o->retention : 0;
	if (plan_header(db, plan))
		return -1;
	if (p.reach) {
		if (graph_load(&p.own, db, o->cache_id))
			goto out;
		p.own_loaded = 1;
		p.g = &p.own;
	} else if (gc_propose(&p, o, gp)) {
		goto out;
	}
	g = p.g;
	p.cls = xcalloc(g->n, 1);
	p.marked = xcalloc(g->n, 1);
	p.key = xcalloc(g->n, sizeof(*p.key));
	p.push_time = xcalloc(g->n, sizeof(*p.push_time));
	p.pos = xcalloc(g->n, sizeof(*p.pos));
	p.stack = xmalloc((g->n ? g->n : 1) * sizeof(*p.stack));
	if (load_push_times(&p) || load_evals(&p))
		goto out;
	plan->nevaluations = p.nevals;
	if (p.nroots)
		qsort(p.roots, p.nroots, sizeof(*p.roots), cmp_root_desc);
	mark_reach(&p, 1, CLS_CURRENT);
	mark_reach(&p, 0, CLS_SUPERSEDED);

	for (uint32_t v = 1; v < g->n; v++) {
		if (!present(g, v))
			continue;
		plan->paths_before++;
		plan->size_before += (uint64_t)stored_of(g, v);
		if (proposed(&p, v)) {
			plan->proposed_paths++;
			plan->proposed_bytes += (uint64_t)stored_of(g, v);
		}
	}
	size = plan->size_before;

	/*
	 * Peel the graph from the top: a proposed path becomes a candidate
	 * once no kept present path references it, and the candidate the
	 * policy ranks first goes next.  With "reach", classes and keys only
	 * grow down the references (what a root reaches, its references
	 * reach too); the GC models list referrers first (but attic, which
	 * ignores references).  So this is the policy's order wherever
	 * closure safety allows it, every prefix of the plan is
	 * closure-safe, and a path the policy does not propose never goes.
	 */
	cnt = xcalloc(g->n, sizeof(*cnt));
	for (uint32_t u = 1; u < g->n; u++) {
		if (!present(g, u))
			continue;
		for (uint32_t e = g->off[u]; e < g->off[u + 1]; e++)
			if (present(g, g->adj[e]))
				cnt[g->adj[e]]++;
	}
	for (uint32_t v = 1; v < g->n; v++)
		if (present(g, v) && !cnt[v] && proposed(&p, v))
			heap_push(&h, candidate(&p, v));
	while (size > plan->limit && h.n) {
		struct heap_item it = heap_pop(&h);
		uint32_t v = it.id;
		struct evict_path *ep;
		GROW(plan->paths, plan->alloc, plan->n + 1);
		ep = &plan->paths[plan->n++];
		memset(ep, 0, sizeof(*ep));
		ep->path_id = v;
		ep->reason = reason_of(&p, v);
		ep->stored = stored_of(g, v);
		ep->file_size = g->file_size[v];
		ep->nar_size = g->nar_size[v];
		p.pos[v] = (uint32_t)plan->n;
		size -= (uint64_t)ep->stored;
		for (uint32_t e = g->off[v]; e < g->off[v + 1]; e++) {
			uint32_t w = g->adj[e];
			if (!present(g, w) || --cnt[w] || !proposed(&p, w))
				continue;
			heap_push(&h, candidate(&p, w));
		}
	}
	plan->size_after = size;
	plan->limit_reached = size <= plan->limit;
	if (!plan->limit_reached) {
		for (uint32_t v = 1; v < g->n; v++) {
			if (!present(g, v) || p.pos[v] || !proposed(&p, v))
				continue;
			plan->blocked_paths++;
			plan->blocked_bytes += (uint64_t)stored_of(g, v);
		}
	}
	if (fill_paths(&p) || find_broken(&p))
		goto out;
	ret = 0;
out:
	if (p.own_loaded)
		graph_release(&p.own);
	if (p.world_loaded)
		gc_world_release(&p.world);
	for (size_t i = 0; i < p.nevals; i++) {
		free(p.evals[i].branch);
		free(p.evals[i].caps);
	}
	free(p.evals);
	free(p.roots);
	free(p.cls);
	free(p.marked);
	free(p.key);
	free(p.push_time);
	free(p.pos);
	free(p.stack);
	free(p.rank);
	free(p.vreason);
	free(cnt);
	free(h.v);
	return ret;
}

/* ---- storing and loading plans ------------------------------------------ */

int evict_plan_save(struct db *db, struct evict_plan *plan)
{
	static const char sql_plan[] =
		"INSERT INTO evict_plans (cache_id, crawl_id, created_at, policy, limit_bytes,"
		" size_before, size_after, paths_before, n_paths, n_jobs, limit_reached,"
		" weights, retention)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
	static const char sql_path[] =
		"INSERT INTO evict_plan_paths (plan_id, seq, path_id, reason, url, stored_size,"
		" file_size, nar_size, breaks) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
	static const char sql_job[] =
		"INSERT OR IGNORE INTO evict_plan_jobs (plan_id, evaluation_id, attr, output, path_id)"
		" VALUES (?1, ?2, ?3, ?4, ?5)";
	static const char sql_break[] =
		"INSERT OR IGNORE INTO evict_plan_breaks (plan_id, seq, evaluation_id, attr, output)"
		" VALUES (?1, ?2, ?3, ?4, ?5)";
	sqlite3_stmt *st;
	int64_t id;

	if (db_begin(db))
		return -1;
	if (!(st = db_stmt(db, sql_plan)))
		goto fail;
	db_bind_int(st, 1, plan->cache_id);
	db_bind_int_opt(st, 2, plan->crawl_id ? plan->crawl_id : -1);
	db_bind_int(st, 3, plan->created_at);
	db_bind_text(st, 4, plan->policy);
	db_bind_int(st, 5, (int64_t)plan->limit);
	db_bind_int(st, 6, (int64_t)plan->size_before);
	db_bind_int(st, 7, (int64_t)plan->size_after);
	db_bind_int(st, 8, (int64_t)plan->paths_before);
	db_bind_int(st, 9, (int64_t)plan->n);
	db_bind_int(st, 10, (int64_t)plan->njobs);
	db_bind_int(st, 11, plan->limit_reached);
	db_bind_text(st, 12, plan->weights);
	db_bind_int_opt(st, 13, plan->retention > 0 ? plan->retention : -1);
	if (db_run(db, st))
		goto fail;
	id = db_last_id(db);
	for (size_t i = 0; i < plan->n; i++) {
		const struct evict_path *ep = &plan->paths[i];
		if (!(st = db_stmt(db, sql_path)))
			goto fail;
		db_bind_int(st, 1, id);
		db_bind_int(st, 2, (int64_t)i + 1);
		db_bind_int(st, 3, ep->path_id);
		db_bind_text(st, 4, evict_reason_name(ep->reason));
		db_bind_text(st, 5, ep->url);
		db_bind_int(st, 6, ep->stored);
		db_bind_int_opt(st, 7, ep->file_size);
		db_bind_int(st, 8, ep->nar_size);
		db_bind_int(st, 9, ep->nbreaks);
		if (db_run(db, st))
			goto fail;
		for (unsigned b = 0; b < ep->nbreaks_kept; b++) {
			const struct evict_job *j = &plan->jobs[ep->breaks[b]];
			if (!(st = db_stmt(db, sql_break)))
				goto fail;
			db_bind_int(st, 1, id);
			db_bind_int(st, 2, (int64_t)i + 1);
			db_bind_int(st, 3, j->evaluation_id);
			db_bind_text(st, 4, j->attr);
			db_bind_text(st, 5, j->output);
			if (db_run(db, st))
				goto fail;
		}
	}
	for (size_t i = 0; i < plan->njobs; i++) {
		const struct evict_job *j = &plan->jobs[i];
		if (!(st = db_stmt(db, sql_job)))
			goto fail;
		db_bind_int(st, 1, id);
		db_bind_int(st, 2, j->evaluation_id);
		db_bind_text(st, 3, j->attr);
		db_bind_text(st, 4, j->output);
		db_bind_int(st, 5, j->root);
		if (db_run(db, st))
			goto fail;
	}
	if (db_commit(db))
		goto fail;
	plan->id = id;
	return 0;
fail:
	db_rollback(db);
	return -1;
}

int evict_plan_load(struct db *db, int64_t id, struct evict_plan *plan)
{
	static const char sql_plan[] =
		"SELECT p.cache_id, coalesce(p.crawl_id, 0), p.created_at, p.policy, p.limit_bytes,"
		" p.size_before, p.size_after, p.paths_before, p.limit_reached, c.url"
		" FROM evict_plans p JOIN caches c ON c.id = p.cache_id WHERE p.id = ?1";
	static const char sql_paths[] =
		"SELECT pp.path_id, pp.reason, pp.url, pp.stored_size, coalesce(pp.file_size, -1),"
		" pp.nar_size, pp.breaks, pa.hash || '-' || pa.name"
		" FROM evict_plan_paths pp JOIN paths pa ON pa.id = pp.path_id"
		" WHERE pp.plan_id = ?1 ORDER BY pp.seq";
	sqlite3_stmt *st;
	int rc;

	memset(plan, 0, sizeof(*plan));
	if (!(st = db_stmt(db, sql_plan)))
		return -1;
	db_bind_int(st, 1, id);
	rc = db_step(db, st);
	if (rc <= 0)
		return rc < 0 ? -1 : 1;
	plan->id = id;
	plan->cache_id = sqlite3_column_int64(st, 0);
	plan->crawl_id = sqlite3_column_int64(st, 1);
	plan->created_at = sqlite3_column_int64(st, 2);
	plan->policy = xstrdup(db_col_text(st, 3));
	plan->limit = (uint64_t)sqlite3_column_int64(st, 4);
	plan->size_before = (uint64_t)sqlite3_column_int64(st, 5);
	plan->size_after = (uint64_t)sqlite3_column_int64(st, 6);
	plan->paths_before = (uint64_t)sqlite3_column_int64(st, 7);
	plan->limit_reached = sqlite3_column_int(st, 8);
	plan->cache_url = xstrdup(db_col_text(st, 9));
	sqlite3_reset(st);
	if (!(plan->store_dir = db_store_dir(db)))
		return -1;
	if (!(st = db_stmt(db, sql_paths)))
		return -1;
	db_bind_int(st, 1, id);
	while ((rc = db_step(db, st)) == 1) {
		struct evict_path *ep;
		int reason = reason_parse(db_col_text(st, 1));
		int64_t pid = sqlite3_column_int64(st, 0);
		if (reason < 0 || pid <= 0 || pid > UINT32_MAX) {
			sqlite3_reset(st);
			return error("plan %lld in '%s' is damaged (path %lld)", (long long)id,
				     db->path, (long long)pid);
		}
		GROW(plan->paths, plan->alloc, plan->n + 1);
		ep = &plan->paths[plan->n++];
		memset(ep, 0, sizeof(*ep));
		ep->path_id = (uint32_t)pid;
		ep->reason = reason;
		ep->url = xstrdup(db_col_text(st, 2));
		ep->stored = sqlite3_column_int64(st, 3);
		ep->file_size = sqlite3_column_int64(st, 4);
		ep->nar_size = sqlite3_column_int64(st, 5);
		ep->nbreaks = (uint32_t)sqlite3_column_int64(st, 6);
		ep->base = xstrdup(db_col_text(st, 7));
		if (strlen(ep->base) < STORE_HASH_LEN || !store_hash_valid(ep->base, STORE_HASH_LEN)) {
			sqlite3_reset(st);
			return error("plan %lld in '%s' names '%s', not a store path", (long long)id,
				     db->path, ep->base);
		}
	}
	return rc < 0 ? -1 : 0;
}

/* ---- applying ------------------------------------------------------------ */

struct apply_path {
	int present;           /* its narinfo file is there */
	int ls_present;        /* <hash>.ls is there */
	int refused;           /* leave all its files alone */
	int held;              /* a kept narinfo needs it */
	int nar_ok;            /* url passed the checks */
	char *url;             /* the NAR URL to consider (Nix's reading) */
	char *nar;             /* the NAR file it may take with it
	                          (evict_nar_name()), or NULL */
	char *why;             /* refused / held: the reason */
	struct url_val *urls;  /* every URL value of every reading of its
	                          narinfo, protected when the path stays */
	size_t nurls, aurls;
	int64_t narinfo_bytes, ls_bytes;
	uint32_t *refs;        /* planned indices it references */
	size_t nrefs, arefs;
};

struct url_val {
	char *s;               /* may hold NUL */
	size_t n;
};

struct applier {
	struct db *db;
	const struct evict_apply_opts *o;
	struct evict_apply_result *r;
	struct evict_plan plan;
	struct apply_path *ap;
	struct strmap planned;     /* hash -> plan index */
	struct strmap kept_urls;   /* NAR URLs of kept narinfos (normalized) */
	struct strmap pending;     /* NAR URL -> planned narinfos still there */
	struct strmap intents;     /* objects journaled 'intent' by a killed run */
	struct inoset kept_inodes; /* NAR files of kept narinfos */
	struct idmap ids;
	int dfd;
	int64_t now;
	/* the narinfo being scanned */
	int64_t scan_index;        /* planned index, or -1 for a kept one */
	const char *scan_name;
	size_t scan_urls;          /* URL values it gave, under any reading */
	/* set when a narinfo in the directory cannot be read with certainty:
	 * what it names and references is unknown, so nothing is deleted */
	char *uncertain;
};

static void emit(struct applier *a, size_t i, int action, int kind, const char *object,
		 int64_t bytes, const char *detail)
{
	struct evict_event ev;
	struct strbuf path = STRBUF_INIT;

	if (!a->o->fn)
		return;
	strbuf_addf(&path, "%s/%s", a->plan.store_dir, a->plan.paths[i].base);
	ev.action = action;
	ev.kind = kind;
	ev.object = object;
	ev.path = path.buf;
	ev.bytes = bytes;
	ev.detail = detail;
	a->o->fn(a->o->ctx, &ev);
	strbuf_release(&path);
}

static void scan_ref(void *ctx, const char *hash)
{
	struct applier *a = ctx;
	struct strmap_ent *e;

	if (!store_hash_valid(hash, STORE_HASH_LEN) ||
	    !(e = strmap_get(&a->planned, hash, STORE_HASH_LEN, 0)))
		return;
	if (a->scan_index < 0) {
		struct apply_path *t = &a->ap[e->val];
		if (!t->held) {
			struct strbuf sb = STRBUF_INIT;
			t->held = 1;
			strbuf_addf(&sb, "referenced by '%s', which is not in the plan", a->scan_name);
			t->why = strbuf_detach(&sb);
		}
	} else if (e->val != a->scan_index) {
		struct apply_path *s = &a->ap[a->scan_index];
		GROW(s->refs, s->arefs, s->nrefs + 1);
		s->refs[s->nrefs++] = (uint32_t)e->val;
	}
}

/* One name a reading of a narinfo that stays gives: that file (by name,
 * and by the file it ends at, so a hard or symbolic link to a planned NAR
 * counts) is never deleted. */
static void protect_name(void *ctx, int kind, const char *name, size_t len)
{
	struct applier *a = ctx;
	struct stat st;

	/* Following symbolic links is right here: only a stat, and what
	 * matters is the file the name ends at. */
	if (kind == EVICT_READ_ABSOLUTE) {
		if (stat(name, &st) == 0 && S_ISREG(st.st_mode))
			inoset_op(&a->kept_inodes, (uint64_t)st.st_dev, (uint64_t)st.st_ino, 1);
		return;
	}
	strmap_get(&a->kept_urls, name, len, 1);
	if (fstatat(a->dfd, name, &st, 0) == 0 && S_ISREG(st.st_mode))
		inoset_op(&a->kept_inodes, (uint64_t)st.st_dev, (uint64_t)st.st_ino, 1);
}

/* Protect every file a URL value of a narinfo that stays may name. */
static void protect_value(struct applier *a, const char *val, size_t n)
{
	evict_url_readings(val, n, protect_name, a);
}

/* evict_narinfo_scan()'s URL callback: a kept narinfo's values are
 * protected at once, a planned one's remembered (protected if it stays). */
static void scan_url(void *ctx, const char *val, size_t n)
{
	struct applier *a = ctx;
	struct apply_path *t;

	a->scan_urls++;
	if (a->scan_index < 0) {
		protect_value(a, val, n);
		return;
	}
	t = &a->ap[a->scan_index];
	GROW(t->urls, t->aurls, t->nurls + 1);
	t->urls[t->nurls].s = xmalloc(n + 1);
	memcpy(t->urls[t->nurls].s, val, n);
	t->urls[t->nurls].s[n] = '\0';
	t->urls[t->nurls].n = n;
	t->nurls++;
}

static void set_refused(struct apply_path *t, const char *fmt, const char *arg)
{
	struct strbuf sb = STRBUF_INIT;

	if (t->refused)
		return;
	t->refused = 1;
	strbuf_addf(&sb, fmt, arg);
	free(t->why);
	t->why = strbuf_detach(&sb);
}

/*
 * The names the scan reads: "<hash>.narinfo", and the temporary files
 * Nix's file:// store writes a narinfo to before renaming it
 * ("<hash>.narinfo.tmp.<pid>.<n>"): a push under way.  Returns 1 for an
 * exact narinfo name, 2 for a temporary one, 0 otherwise.
 */
static int narinfo_name_kind(const char *name)
{
	size_t len = strlen(name);

	if (len < STORE_HASH_LEN + 8 || memcmp(name + STORE_HASH_LEN, ".narinfo", 8) ||
	    !store_hash_valid(name, STORE_HASH_LEN))
		return 0;
	if (len == STORE_HASH_LEN + 8)
		return 1;
	return name[STORE_HASH_LEN + 8] == '.' ? 2 : 0;
}

/* A narinfo the scan cannot read with certainty: nothing is deleted in
 * this run (the first reason is kept for the report). */
static void set_uncertain(struct applier *a, const char *dir, const char *name,
			  const char *what)
{
	struct strbuf sb = STRBUF_INIT;

	warning("cannot read '%s/%s' with certainty (%s): nothing is deleted in this run; "
		"fix or remove it (or let the push writing it finish), then run evict again",
		dir, name, what);
	if (a->uncertain)
		return;
	strbuf_addf(&sb, "'%s' cannot be read with certainty (%s): nothing is deleted "
		    "while it may name a planned NAR or reference a planned path", name, what);
	a->uncertain = strbuf_detach(&sb);
}

/* A planned narinfo's URL: the one Nix takes, when every reading agrees
 * on it; else the path stays whole. */
static void planned_url(struct apply_path *t, const char *name, const struct evict_scan *s)
{
	const char *why = NULL;

	free(t->url);
	t->url = NULL;
	if (s->nix_refuses)
		why = nix_lex_strerror(s->nix_refuses);
	else if (!s->url && !t->nurls)
		why = "it has no URL line";
	else if (!s->url)
		why = "Nix reads no URL entry in it, a lenient reader does";
	else if (memchr(s->url, '\0', s->url_len))
		why = "its URL holds a NUL byte";
	for (size_t k = 0; !why && k < t->nurls; k++)
		if (t->urls[k].n != s->url_len || memcmp(t->urls[k].s, s->url, s->url_len))
			why = "it names its NAR in more than one way (several URL lines, or "
			      "a reading other than Nix's sees another URL)";
	if (s->url && !memchr(s->url, '\0', s->url_len))
		t->url = xstrndup(s->url, s->url_len);
	if (why) {
		if (s->nix_refuses) {
			struct strbuf sb = STRBUF_INIT;
			strbuf_addf(&sb, "Nix cannot read '%s' (%s at line %u); the path is left whole",
				    name, why, s->refused_line);
			set_refused(t, "%s", sb.buf);
			strbuf_release(&sb);
		} else {
			struct strbuf sb = STRBUF_INIT;
			strbuf_addf(&sb, "'%s': %s; the path is left whole", name, why);
			set_refused(t, "%s", sb.buf);
			strbuf_release(&sb);
		}
	}
}

/* Read every narinfo of the directory: planned ones for their URL and
 * references, kept ones (and narinfos being pushed) for every NAR any
 * reading of them names and the planned paths they reference. */
static int scan_dir(struct applier *a, const char *dir)
{
	struct progress prog;
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, alloc = 0, i;
	int fd, ret = -1;

	if ((fd = fcntl(a->dfd, F_DUPFD_CLOEXEC, 0)) < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return error("cannot list '%s': %s", dir, strerror(errno));
	}
	errno = 0;
	while ((de = readdir(d))) {
		if (!narinfo_name_kind(de->d_name))
			continue;
		GROW(names, alloc, n + 1);
		names[n++] = xstrdup(de->d_name);
		errno = 0;
	}
	if (errno) {
		error("cannot list '%s': %s", dir, strerror(errno));
		closedir(d);
		goto out;
	}
	closedir(d);
	progress_start(&prog, "scan", n);
	for (i = 0; i < n && !evict_interrupted; i++) {
		struct strmap_ent *e = narinfo_name_kind(names[i]) == 1
			? strmap_get(&a->planned, names[i], STORE_HASH_LEN, 0) : NULL;
		struct apply_path *t = e ? &a->ap[e->val] : NULL;
		struct evict_scan s;
		struct stat st, lst;
		char *buf;
		size_t len;
		int rfd, rc, err;

		progress_update(&prog, i + 1);
		a->r->scanned++;
		/* Read through a symbolic link (Nix and a web server do); a
		 * planned one is then refused, as it is not a file to delete. */
		rfd = openat(a->dfd, names[i], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (rfd < 0 && errno == ENOENT && fstatat(a->dfd, names[i], &lst, AT_SYMLINK_NOFOLLOW))
			continue;  /* gone since the listing */
		rc = rfd < 0 ? -1 : read_fd_capped(rfd, EVICT_SCAN_MAX_BYTES, &buf, &len, &st);
		err = errno;
		if (rfd >= 0)
			close(rfd);
		if (t) {
			t->present = 1;
			if (fstatat(a->dfd, names[i], &lst, AT_SYMLINK_NOFOLLOW) || !S_ISREG(lst.st_mode))
				set_refused(t, "'%s' is a symbolic link or not a regular file", names[i]);
		}
		if (rc) {
			struct strbuf sb = STRBUF_INIT;
			if (err == EFBIG)
				strbuf_addf(&sb, "larger than the %u MiB the scan reads",
					    (unsigned)(EVICT_SCAN_MAX_BYTES >> 20));
			else
				strbuf_addf(&sb, "%s", strerror(err));
			set_uncertain(a, dir, names[i], sb.buf);
			if (t)
				set_refused(t, "'%s' cannot be read; the path is left whole", names[i]);
			strbuf_release(&sb);
			continue;
		}
		a->scan_index = t ? e->val : -1;
		a->scan_name = names[i];
		a->scan_urls = 0;
		evict_narinfo_scan(buf, len, &s, scan_url, scan_ref, a);
		if (s.incomplete) {
			struct strbuf sb = STRBUF_INIT;
			strbuf_addf(&sb, "cut short or not a narinfo: Nix stops at line %u, %s",
				    s.refused_line, nix_lex_strerror(s.nix_refuses));
			set_uncertain(a, dir, names[i], sb.buf);
			strbuf_release(&sb);
		} else if (!t && !a->scan_urls) {
			/* A kept narinfo without a URL names no NAR Nix could
			 * fetch, but an empty or URL-less file may be one being
			 * written by a pusher that does not rename into place. */
			set_uncertain(a, dir, names[i], len ? "it has no URL line" : "it is empty");
		} else if (s.nix_refuses && !t) {
			warning("Nix cannot read '%s/%s' (%s at line %u); every NAR it may name "
				"stays", dir, names[i], nix_lex_strerror(s.nix_refuses),
				s.refused_line);
		}
		if (t) {
			t->narinfo_bytes = (int64_t)st.st_size;
			planned_url(t, names[i], &s);
			if (s.incomplete)
				set_refused(t, "'%s' is cut short or not a narinfo; the path is left "
					    "whole", names[i]);
		}
		free(buf);
	}
	progress_finish(&prog);
	ret = evict_interrupted ? 1 : 0;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return ret;
}

/*
 * Open the directory that holds url's last component, walking from dfd
 * one component at a time without following symbolic links.  url has
 * passed evict_url_check().  Returns a new fd (the caller closes it) and
 * *base, or -1 with errno (ELOOP or ENOTDIR: a component is a symbolic
 * link or not a directory; ENOENT: missing).
 */
static int open_parent(int dfd, const char *url, const char **base)
{
	const char *p = url, *slash;
	int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);

	while (fd >= 0 && (slash = strchr(p, '/'))) {
		char comp[NAME_MAX + 1];
		size_t n = (size_t)(slash - p);
		int nfd, e;
		memcpy(comp, p, n);
		comp[n] = '\0';
		nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		e = errno;
		close(fd);
		errno = e;
		fd = nfd;
		p = slash + 1;
	}
	*base = p;
	return fd;
}

/* Say why a path's NAR is left alone (the first reason given stays). */
static void set_why(struct apply_path *t, const char *why)
{
	if (!t->why)
		t->why = xstrdup(why);
}

/* Check one planned path's files before anything is deleted.  A present
 * path with anything unsafe is refused whole (its narinfo, .ls and the
 * file its URL names all stay); for one whose narinfo is gone already
 * only its NAR is left alone (nar_ok stays 0). */
static void precheck(struct applier *a, size_t i)
{
	struct apply_path *t = &a->ap[i];
	const char *base, *why;
	char name[STORE_HASH_LEN + 4];
	struct stat st;
	int pfd;

	if (!t->url && !t->present)  /* narinfo gone and nothing journaled */
		t->url = xstrdup(a->plan.paths[i].url);
	memcpy(name, a->plan.paths[i].base, STORE_HASH_LEN);
	memcpy(name + STORE_HASH_LEN, ".ls", 4);
	if (fstatat(a->dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISREG(st.st_mode)) {
			t->ls_present = 1;
			t->ls_bytes = (int64_t)st.st_size;
		} else if (t->present) {
			set_refused(t, "'%s' is not a regular file", name);
		}
	}
	if (!t->url)  /* present, refused by the scan */
		return;
	/* A NAR is the only file a narinfo's URL may take with it. */
	if (evict_nar_name(t->url, strlen(t->url), &t->nar, &why)) {
		struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "NAR URL '%s'%s%s", t->url,
			    strncmp(why, "names ", 6) ? ": " : " ", why);
		if (t->present) {
			strbuf_addstr(&sb, "; the path is left whole");
			set_refused(t, "%s", sb.buf);
		} else {
			set_why(t, sb.buf);
		}
		strbuf_release(&sb);
		return;
	}
	pfd = open_parent(a->dfd, t->nar, &base);
	if (pfd < 0) {
		if (errno == ENOENT)
			t->nar_ok = 1;
		else if (t->present)
			set_refused(t, "a directory on the way to NAR '%s' is a symbolic link or "
				    "not a directory", t->nar);
		else
			set_why(t, "a directory on the way to the NAR is a symbolic link or "
				"not a directory");
		return;
	}
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode)) {
		if (t->present)
			set_refused(t, "NAR '%s' is a symbolic link or not a regular file", t->nar);
		else
			set_why(t, "the NAR is a symbolic link or not a regular file");
	} else {
		t->nar_ok = 1;
	}
	close(pfd);
}

/* A refused or held path stays, and so must all it references. */
static void propagate_held(struct applier *a)
{
	uint32_t *stack = xmalloc((a->plan.n ? a->plan.n : 1) * sizeof(*stack));
	uint8_t *seen = xcalloc(a->plan.n ? a->plan.n : 1, 1);

	for (size_t i = 0; i < a->plan.n; i++) {
		size_t sp = 0;
		if (!a->ap[i].present || !(a->ap[i].held || a->ap[i].refused) || seen[i])
			continue;
		seen[i] = 1;
		stack[sp++] = (uint32_t)i;
		while (sp) {
			uint32_t v = stack[--sp];
			for (size_t k = 0; k < a->ap[v].nrefs; k++) {
				uint32_t w = a->ap[v].refs[k];
				struct apply_path *t = &a->ap[w];
				if (seen[w])
					continue;
				seen[w] = 1;
				stack[sp++] = w;
				if (!t->held && !t->refused) {
					struct strbuf sb = STRBUF_INIT;
					t->held = 1;
					strbuf_addf(&sb, "referenced by '%s', which stays",
						    a->plan.paths[v].base);
					free(t->why);
					t->why = strbuf_detach(&sb);
				}
			}
		}
	}
	free(stack);
	free(seen);
}

/* References of planned paths as recorded, for narinfos the scan could
 * not read (a refused path still keeps what it references). */
static int db_refs(struct applier *a)
{
	static const char sql[] = "SELECT refs FROM narinfos WHERE cache_id = ?1 AND path_id = ?2";

	for (size_t i = 0; i < a->plan.n; i++) {
		struct apply_path *t = &a->ap[i];
		sqlite3_stmt *st;
		const char *r;
		if (!t->present || t->nrefs)
			continue;
		if (!(st = db_stmt(a->db, sql)))
			return -1;
		db_bind_int(st, 1, a->plan.cache_id);
		db_bind_int(st, 2, a->plan.paths[i].path_id);
		if (db_step(a->db, st) == 1) {
			struct refs_iter it;
			uint32_t id;
			int more;
			refs_iter_init(&it, r = db_col_text(st, 0));
			while ((more = refs_next(&it, &id)) == 1) {
				int64_t k = idmap_find(&a->ids, id);
				if (k >= 0 && (size_t)k != i) {
					GROW(t->refs, t->arefs, t->nrefs + 1);
					t->refs[t->nrefs++] = (uint32_t)k;
				}
			}
			if (more < 0) {
				refs_malformed(a->db, a->plan.paths[i].path_id, r);
				sqlite3_reset(st);
				return -1;
			}
		}
		sqlite3_reset(st);
	}
	return 0;
}

/* What earlier runs of the plan journaled: the NAR URL each deleted
 * narinfo named, and the objects a killed run was about to delete. */
static int journal_load(struct applier *a)
{
	static const char sql[] =
		"SELECT path_id, url, object, state FROM evict_journal WHERE plan_id = ?1"
		" AND ((kind = 'narinfo' AND url IS NOT NULL) OR state = 'intent')";
	sqlite3_stmt *st = db_stmt(a->db, sql);
	int rc;

	if (!st)
		return -1;
	db_bind_int(st, 1, a->plan.id);
	while ((rc = db_step(a->db, st)) == 1) {
		int64_t k = idmap_find(&a->ids, (uint64_t)sqlite3_column_int64(st, 0));
		const char *object = db_col_text(st, 2);
		if (!strcmp(db_col_text(st, 3), "intent"))
			strmap_get(&a->intents, object, strlen(object), 1);
		if (k < 0 || sqlite3_column_type(st, 1) == SQLITE_NULL)
			continue;
		free(a->ap[k].url);
		a->ap[k].url = xstrdup(db_col_text(st, 1));
	}
	return rc < 0 ? -1 : 0;
}

static int journal(struct applier *a, const char *object, int kind, uint32_t path_id,
		   const char *url, const char *state, const char *detail)
{
	static const char sql[] =
		"INSERT INTO evict_journal (plan_id, object, kind, path_id, url, state, detail,"
		" run_id, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
		" ON CONFLICT (plan_id, object) DO UPDATE SET state = excluded.state,"
		" url = coalesce(excluded.url, url), detail = excluded.detail,"
		" run_id = excluded.run_id, at = excluded.at";
	sqlite3_stmt *st = db_stmt(a->db, sql);

	if (!st)
		return -1;
	db_bind_int(st, 1, a->plan.id);
	db_bind_text(st, 2, object);
	db_bind_text(st, 3, evict_kind_name(kind));
	db_bind_int(st, 4, path_id);
	db_bind_text(st, 5, url);
	db_bind_text(st, 6, state);
	db_bind_text(st, 7, detail);
	db_bind_int(st, 8, a->r->run_id);
	db_bind_int(st, 9, a->now);
	/* Outside a transaction each statement commits on its own: the
	 * intent is in the WAL before the unlink happens. */
	return db_run(a->db, st);
}

/*
 * Delete object (name in parent fd pfd) write-ahead: intent, unlink, done.
 * A file already missing counts as done.  Returns 0 or -1 (reported).
 */
static int remove_file(struct applier *a, size_t i, int pfd, const char *name,
		       const char *object, int kind, const char *url, int64_t bytes)
{
	uint32_t pid = a->plan.paths[i].path_id;
	int missing = 0;

	if (a->o->apply) {
		if (journal(a, object, kind, pid, url, "intent", NULL))
			return -1;
		sleep_ms(a->o->step_delay_ms, &evict_interrupted);
		if (unlinkat(pfd, name, 0)) {
			if (errno != ENOENT)
				return error("cannot delete '%s/%s': %s; the plan is not finished, "
					     "run it again once this is fixed", a->r->dir, object,
					     strerror(errno));
			missing = 1;
		}
		if (journal(a, object, kind, pid, url, "done", missing ? "already missing" : NULL))
			return -1;
	}
	emit(a, i, missing ? EVICT_GONE : EVICT_DELETE, kind, object, bytes, NULL);
	if (missing) {
		a->r->gone++;
		return 0;
	}
	a->r->deleted++;
	if (bytes > 0)
		a->r->deleted_bytes += (uint64_t)bytes;
	if (kind == EVICT_NARINFO)
		a->r->narinfos++;
	else if (kind == EVICT_NAR)
		a->r->nars++;
	return 0;
}

/*
 * A planned file found missing: report it, and when a killed run had
 * journaled its intent (and was killed after the unlink), record it done.
 */
static int settle(struct applier *a, size_t i, const char *object, int kind, int report)
{
	struct strmap_ent *e = strmap_get(&a->intents, object, strlen(object), 0);

	if (report) {
		emit(a, i, EVICT_GONE, kind, object, -1, NULL);
		a->r->gone++;
	}
	if (!e || !a->o->apply)
		return 0;
	return journal(a, object, kind, a->plan.paths[i].path_id, NULL, "done", "already missing");
}

static int process(struct applier *a, size_t i)
{
	struct apply_path *t = &a->ap[i];
	const char *hash = a->plan.paths[i].base, *base;
	char name[STORE_HASH_LEN + 9];
	struct strmap_ent *e;
	struct stat st;
	int pfd, rc;

	if (t->held || t->refused) {
		emit(a, i, t->held ? EVICT_HELD : EVICT_REFUSED, EVICT_NARINFO, NULL, -1, t->why);
		if (t->held)
			a->r->held++;
		else
			a->r->refused++;
		if (t->refused && a->o->apply) {
			memcpy(name, hash, STORE_HASH_LEN);
			memcpy(name + STORE_HASH_LEN, ".narinfo", 9);
			return journal(a, name, EVICT_NARINFO, a->plan.paths[i].path_id, NULL,
				       "refused", t->why);
		}
		return 0;
	}
	memcpy(name, hash, STORE_HASH_LEN);
	memcpy(name + STORE_HASH_LEN, ".narinfo", 9);
	if (t->present) {
		if (remove_file(a, i, a->dfd, name, name, EVICT_NARINFO, t->url, t->narinfo_bytes))
			return -1;
		if (t->nar && (e = strmap_get(&a->pending, t->nar, strlen(t->nar), 0)))
			e->val--;
	} else if (settle(a, i, name, EVICT_NARINFO, 1)) {
		return -1;
	}
	memcpy(name + STORE_HASH_LEN, ".ls", 4);
	if (t->ls_present) {
		if (remove_file(a, i, a->dfd, name, name, EVICT_LS, NULL, t->ls_bytes))
			return -1;
	} else if (settle(a, i, name, EVICT_LS, 0)) {
		return -1;
	}
	if (!t->nar_ok) {
		/* The narinfo was gone before and its NAR URL is unusable. */
		emit(a, i, EVICT_REFUSED, EVICT_NAR, t->url, -1, t->why);
		return 0;
	}
	if (a->uncertain) {
		emit(a, i, EVICT_REFUSED, EVICT_NAR, t->nar, -1, a->uncertain);
		return 0;
	}
	if ((e = strmap_get(&a->pending, t->nar, strlen(t->nar), 0)) && e->val > 0) {
		emit(a, i, EVICT_DEFERRED, EVICT_NAR, t->nar, -1,
		     "also named by a planned narinfo deleted later");
		return 0;
	}
	if (strmap_get(&a->kept_urls, t->nar, strlen(t->nar), 0)) {
		emit(a, i, EVICT_KEEP_SHARED, EVICT_NAR, t->nar, -1,
		     "used by a narinfo that stays");
		a->r->shared++;
		return 0;
	}
	pfd = open_parent(a->dfd, t->nar, &base);
	if (pfd < 0) {
		if (errno == ENOENT)
			return settle(a, i, t->nar, EVICT_NAR, 1);
		emit(a, i, EVICT_REFUSED, EVICT_NAR, t->nar, -1,
		     "a directory on the way is a symbolic link or not a directory");
		return 0;
	}
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW)) {
		rc = settle(a, i, t->nar, EVICT_NAR, 1);
	} else if (!S_ISREG(st.st_mode)) {
		emit(a, i, EVICT_REFUSED, EVICT_NAR, t->nar, -1,
		     "a symbolic link or not a regular file");
		rc = 0;
	} else if (inoset_op(&a->kept_inodes, (uint64_t)st.st_dev, (uint64_t)st.st_ino, 0)) {
		emit(a, i, EVICT_KEEP_SHARED, EVICT_NAR, t->nar, -1,
		     "the same file as a NAR that stays");
		a->r->shared++;
		rc = 0;
	} else {
		rc = remove_file(a, i, pfd, base, t->nar, EVICT_NAR, NULL, (int64_t)st.st_size);
	}
	close(pfd);
	return rc;
}

static int check_cache_info(struct applier *a, const char *dir)
{
	struct nix_cache_info ci;
	struct narinfo_error err;
	char *buf;
	size_t len;
	int fd, ret;

	fd = openat(a->dfd, "nix-cache-info", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if (a->o->dir)
			return error("'%s' has no nix-cache-info: not a binary cache directory", dir);
		warning("'%s' has no nix-cache-info", dir);
		return 0;
	}
	if (fd < 0 || read_fd_capped(fd, 64 * 1024, &buf, &len, NULL)) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return error("cannot read '%s/nix-cache-info': %s", dir, strerror(e));
	}
	close(fd);
	if (nix_cache_info_parse(buf, len, &ci, &err)) {
		free(buf);
		return error("%s/nix-cache-info:%u: %s", dir, err.line, err.msg);
	}
	free(buf);
	ret = 0;
	if (strcmp(ci.store_dir, a->plan.store_dir))
		ret = error("'%s' is a cache for the store %s, not %s", dir, ci.store_dir,
			    a->plan.store_dir);
	nix_cache_info_release(&ci);
	return ret;
}

static int run_begin(struct applier *a)
{
	/* This run holds the directory's exclusive lock (flock, taken before):
	 * a run of it still 'running' was killed, as a crawl marks the
	 * crawls of its cache a killed crawl left 'running'. */
	static const char sql_stale[] =
		"UPDATE evict_runs SET status = 'interrupted' WHERE dir = ?1 AND status = 'running'";
	static const char sql_run[] =
		"INSERT INTO evict_runs (plan_id, dir, started_at, status) VALUES (?1, ?2, ?3, 'running')";
	static const char sql_plan[] =
		"UPDATE evict_plans SET status = 'applying' WHERE id = ?1 AND status = 'planned'";
	sqlite3_stmt *st;

	if (db_begin(a->db))
		return -1;
	if (!(st = db_stmt(a->db, sql_stale)))
		goto fail;
	db_bind_text(st, 1, a->r->dir);
	if (db_run(a->db, st))
		goto fail;
	if (!(st = db_stmt(a->db, sql_run)))
		goto fail;
	db_bind_int(st, 1, a->plan.id);
	db_bind_text(st, 2, a->r->dir);
	db_bind_int(st, 3, a->now);
	if (db_run(a->db, st))
		goto fail;
	a->r->run_id = db_last_id(a->db);
	if (!(st = db_stmt(a->db, sql_plan)))
		goto fail;
	db_bind_int(st, 1, a->plan.id);
	if (db_run(a->db, st) || db_commit(a->db))
		goto fail;
	return 0;
fail:
	db_rollback(a->db);
	return -1;
}

static int run_end(struct applier *a, const char *status)
{
	static const char sql_run[] =
		"UPDATE evict_runs SET finished_at = ?2, status = ?3, n_deleted = ?4,"
		" n_refused = ?5, n_held = ?6 WHERE id = ?1";
	static const char sql_plan[] =
		"UPDATE evict_plans SET status = 'applied', applied_at = ?2 WHERE id = ?1";
	sqlite3_stmt *st;

	if (db_begin(a->db))
		return -1;
	if (!(st = db_stmt(a->db, sql_run)))
		goto fail;
	db_bind_int(st, 1, a->r->run_id);
	db_bind_int(st, 2, clock_now());
	db_bind_text(st, 3, status);
	db_bind_int(st, 4, (int64_t)a->r->deleted);
	db_bind_int(st, 5, (int64_t)a->r->refused);
	db_bind_int(st, 6, (int64_t)a->r->held);
	if (db_run(a->db, st))
		goto fail;
	if (!strcmp(status, "complete")) {
		if (!(st = db_stmt(a->db, sql_plan)))
			goto fail;
		db_bind_int(st, 1, a->plan.id);
		db_bind_int(st, 2, clock_now());
		if (db_run(a->db, st))
			goto fail;
	}
	return db_commit(a->db);
fail:
	db_rollback(a->db);
	return -1;
}

void evict_apply_result_release(struct evict_apply_result *r)
{
	free(r->dir);
	memset(r, 0, sizeof(*r));
}

int evict_apply(struct db *db, const struct evict_apply_opts *o, struct evict_apply_result *r)
{
	struct applier a;
	char real[PATH_MAX];
	const char *dir;
	int ret = -1, rc, begun = 0;
	size_t i;

	memset(r, 0, sizeof(*r));
	memset(&a, 0, sizeof(a));
	a.db = db;
	a.o = o;
	a.r = r;
	a.dfd = -1;
	a.now = clock_now();
	rc = evict_plan_load(db, o->plan_id, &a.plan);
	if (rc) {
		evict_plan_release(&a.plan);
		return rc;
	}
	if (o->dir) {
		dir = o->dir;
	} else if (!strncmp(a.plan.cache_url, "file://", 7)) {
		dir = a.plan.cache_url + 7;
	} else {
		error("plan %lld is for '%s', which is not a directory: cachegc can only list "
		      "the objects to delete there, or apply the plan to the directory behind "
		      "it (--dir)", (long long)o->plan_id, a.plan.cache_url);
		goto out;
	}
	if (!realpath(dir, real) ||
	    (a.dfd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		error("cannot open cache directory '%s': %s", dir, strerror(errno));
		goto out;
	}
	r->dir = xstrdup(real);
	if (flock(a.dfd, (o->apply ? LOCK_EX : LOCK_SH) | LOCK_NB)) {
		if (errno == EWOULDBLOCK)
			error("another 'cachegc evict' is working on '%s'; wait for it to end", real);
		else
			error("cannot lock '%s': %s", real, strerror(errno));
		goto out;
	}
	if (check_cache_info(&a, real))
		goto out;

	a.ap = xcalloc(a.plan.n ? a.plan.n : 1, sizeof(*a.ap));
	idmap_build(&a.ids, &a.plan);
	for (i = 0; i < a.plan.n; i++)
		strmap_get(&a.planned, a.plan.paths[i].base, STORE_HASH_LEN, 1)->val = (int64_t)i;
	if (journal_load(&a))
		goto out;
	if (o->apply) {
		if (run_begin(&a))
			goto out;
		begun = 1;
	}
	rc = scan_dir(&a, real);
	if (rc < 0)
		goto out;
	if (rc > 0) {
		r->interrupted = 1;
		ret = 0;
		goto out;
	}
	if (db_refs(&a))
		goto out;
	for (i = 0; i < a.plan.n; i++)
		precheck(&a, i);
	propagate_held(&a);
	for (i = 0; i < a.plan.n; i++) {
		struct apply_path *t = &a.ap[i];
		if (!t->present)
			continue;
		if (a.uncertain && !t->held && !t->refused) {
			t->held = 1;
			free(t->why);
			t->why = xstrdup(a.uncertain);
		}
		if (t->held || t->refused) {
			/* it stays: every file any reading of it names stays */
			for (size_t k = 0; k < t->nurls; k++)
				protect_value(&a, t->urls[k].s, t->urls[k].n);
		} else if (t->nar) {
			strmap_get(&a.pending, t->nar, strlen(t->nar), 1)->val++;
		}
	}
	for (i = 0; i < a.plan.n; i++) {
		if (evict_interrupted) {
			r->interrupted = 1;
			break;
		}
		if (process(&a, i))
			goto out;
	}
	r->complete = !r->interrupted && !r->refused && !r->held;
	ret = 0;
out:
	if (begun) {
		const char *status = ret ? "failed" : r->interrupted ? "interrupted"
				   : r->complete ? "complete" : "incomplete";
		if (run_end(&a, status))
			ret = -1;
	}
	if (a.dfd >= 0)
		close(a.dfd);
	for (i = 0; a.ap && i < a.plan.n; i++) {
		free(a.ap[i].url);
		free(a.ap[i].nar);
		free(a.ap[i].why);
		for (size_t k = 0; k < a.ap[i].nurls; k++)
			free(a.ap[i].urls[k].s);
		free(a.ap[i].urls);
		free(a.ap[i].refs);
	}
	free(a.ap);
	free(a.ids.v);
	strmap_release(&a.planned);
	strmap_release(&a.kept_urls);
	strmap_release(&a.pending);
	strmap_release(&a.intents);
	free(a.kept_inodes.v);
	free(a.uncertain);
	evict_plan_release(&a.plan);
	return ret;
}

/* ---- object keys for caches that cannot be changed from here ---------- */

int evict_keys(struct db *db, const struct evict_plan *plan, evict_event_fn fn, void *ctx)
{
	static const char sql[] =
		"SELECT n.path_id, n.url FROM narinfos n JOIN presence p"
		" ON p.cache_id = n.cache_id AND p.path_id = n.path_id"
		" WHERE n.cache_id = ?1 AND p.gone_at IS NULL";
	struct strmap kept = {0}, pending = {0};
	struct idmap ids;
	char *nar = NULL;
	struct strbuf obj = STRBUF_INIT, path = STRBUF_INIT, det = STRBUF_INIT;
	sqlite3_stmt *st;
	int rc, ret = -1;

	idmap_build(&ids, plan);
	if (!(st = db_stmt(db, sql)))
		goto out;
	db_bind_int(st, 1, plan->cache_id);
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
