/*
 * narinfo.c - parse narinfo and nix-cache-info text, and write narinfo back.
 *
 * narinfo_parse() accepts what Nix 2.8's NarInfo::NarInfo() accepts (see
 * the block comment above it for each key and for the few deliberate
 * differences), framing included: it lexes with nix_lex_next(), Nix's own
 * lexer, so a missing final newline refuses the file and "URL:x" is a
 * value.  Odd forms Nix reads (a malformed Sig, a key given twice, base16
 * hashes) are kept and flagged in narinfo.odd.  Hashes are stored in the
 * normal form "<algo>:<nix32>" whatever encoding the file used.
 * nix-cache-info is read as BinaryCacheStore::init() reads it.
 */
#include "nix/narinfo.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

#define DEFAULT_STORE_DIR "/nix/store"

static int fail(struct narinfo_error *err, unsigned line, const char *fmt, ...)
	ATTR_PRINTF(3, 4);

static int fail(struct narinfo_error *err, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err)
		return -1;
	err->line = line;
	va_start(ap, fmt);
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(err->msg)) {
		/* cut short: drop a partial UTF-8 sequence at the end */
		size_t end = sizeof(err->msg) - 1, lead = end;
		unsigned char c;

		while (lead > 0 && ((unsigned char)err->msg[lead - 1] & 0xc0) == 0x80)
			lead--;
		if (lead > 0 && (c = (unsigned char)err->msg[lead - 1]) >= 0xc0 &&
		    end - lead < (c >= 0xf0 ? 3u : c >= 0xe0 ? 2u : 1u))
			err->msg[lead - 1] = '\0';
	}
	return -1;
}

/*
 * A value shown inside an error message: at most QUOTE_MAX bytes, cut on a
 * UTF-8 boundary and marked with "...", control characters replaced so a
 * hostile cache cannot put escape sequences on the user's terminal.
 */
#define QUOTE_MAX 120
struct quoted {
	char s[QUOTE_MAX + 4];
};

static size_t utf8_valid_prefix(const unsigned char *s, size_t n);

/* Quoted for a message: control bytes and bytes that are not UTF-8 are
 * shown as '?', and long text is cut at QUOTE_MAX bytes. */
static const char *quote(struct quoted *q, const char *p, size_t n)
{
	size_t cut = n, i;

	if (cut > QUOTE_MAX) {
		cut = QUOTE_MAX;
		while (cut > 0 && ((unsigned char)p[cut] & 0xc0) == 0x80)
			cut--;
	}
	for (i = 0; i < cut; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c >= 0x80) {
			size_t ok = utf8_valid_prefix((const unsigned char *)p + i, cut - i);

			if (ok == 0) {
				q->s[i] = '?';
				continue;
			}
			/* copy the whole sequence that starts here */
			size_t m = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
			memcpy(q->s + i, p + i, m);
			i += m - 1;
			continue;
		}
		q->s[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (cut < n) {
		memcpy(q->s + i, "...", 3);
		i += 3;
	}
	q->s[i] = '\0';
	return q->s;
}

/*
 * Length of the valid UTF-8 prefix of s[0..n) that holds no NUL byte; n
 * when all of it is fine.  Overlong forms, surrogates and code points past
 * U+10FFFF are invalid, as in RFC 3629.
 */
static size_t utf8_valid_prefix(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		unsigned char lo = 0x80, hi = 0xbf;
		size_t more, k;

		if (c >= 0x01 && c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			more = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			more = 2;
			if (c == 0xe0)
				lo = 0xa0;       /* overlong */
			else if (c == 0xed)
				hi = 0x9f;       /* surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3;
			if (c == 0xf0)
				lo = 0x90;       /* overlong */
			else if (c == 0xf4)
				hi = 0x8f;       /* > U+10FFFF */
		} else {
			return i;                /* NUL, stray continuation, 0xc0/0xc1, >= 0xf5 */
		}
		if (n - i <= more)
			return i;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return i;
		for (k = 2; k <= more; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
		i += more + 1;
	}
	return n;
}

/* Decimal without sign into [0, INT64_MAX].  Returns 0 or -1. */
static int parse_dec(const char *s, size_t n, int64_t *out)
{
	int64_t v = 0;

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = s[i] - '0';
		if (v > (INT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/*
 * ---- narinfo_parse: NarInfo::NarInfo() of Nix 2.8 ---------------------
 *
 * The text is lexed by nix_lex_next() (Nix's framing, see narinfo.h), and
 * each value is read as Nix 2.8 reads it (src/libstore/nar-info.cc,
 * path.cc, hash.cc, content-address.cc):
 *
 *   StorePath   canonPath() (absolute; "//", "." and ".." folded), then
 *               directly in the store dir, then a valid StorePath.  The
 *               last one counts; every one must be valid.
 *   URL         any bytes; the last one counts; empty at the end refuses.
 *   Compression any; the last counts; empty means bzip2.
 *   FileHash,   "algo:" + base16 (either case), nix32 or base64 by length,
 *   NarHash     or SRI "algo-base64"; base64 is Nix's decoder: it stops
 *               at the first '=', ignores leftover bits, and the bytes
 *               must be the digest's length.  The last one counts.
 *   FileSize,   boost::lexical_cast<uint64_t>: digits after an optional
 *   NarSize     '+', no '-', no spaces.  NarSize 0 at the end refuses.
 *   References  tokens split at ' ' (empty ones skipped), each a valid
 *               StorePath basename; a References line after one that
 *               named a path refuses.
 *   Deriver     "unknown-deriver" (changes nothing) or a valid basename.
 *   Sig         any value at all: a set (sorted, no duplicates).
 *   CA          empty means none; "text:sha256:H", "fixed:[r:]ALGO:H"
 *               with H base16, nix32 or base64 by length; a CA line after
 *               one that set a CA refuses.
 *   System      any; the last counts.
 *   other keys  ignored (a key may hold a colonless line before it).
 *
 * A StorePath basename (Nix's StorePath()): at least 33 bytes, 32 of
 * nix32, then a name of 1..211 bytes from [0-9a-zA-Z+-._?=].
 *
 * Where cachegc differs on purpose (README, crawl):
 *   - the 33rd byte of a basename must be '-' (Nix does not look at it;
 *     cachegc keeps paths as hash and name), and a name must not start
 *     with '.' (no Nix writes one; Nix 2.8 takes ".x", later Nix only
 *     refuses "." and ".." before a '-');
 *   - sizes over 2^63-1 are refused (SQLite's integers are signed);
 *   - a URL with a NUL byte or bytes that are not UTF-8 is refused; in
 *     Sig, Compression and System such bytes, and control characters,
 *     are kept as '?' (no hostile cache reaches a terminal through them);
 *   - "CA: fixed:git:ALGO:H" (git hashing, later Nix) is accepted.
 *
 * Forms Nix accepts but no Nix writes are kept and flagged (odd).
 */

static void mark_odd(struct narinfo *out, unsigned bit, unsigned line)
{
	if (!out->odd)
		out->odd_line = line;
	out->odd |= bit;
}

static const struct {
	const char *name;
	enum hash_algo algo;
	unsigned len;
} nix_algos[] = {
	{"md5", HASH_MD5, 16}, {"sha1", HASH_SHA1, 20},
	{"sha256", HASH_SHA256, 32}, {"sha512", HASH_SHA512, 64},
};

static int nix_algo(const char *s, size_t n, struct nixhash *h)
{
	for (size_t i = 0; i < ARRAY_SIZE(nix_algos); i++)
		if (strlen(nix_algos[i].name) == n && !memcmp(nix_algos[i].name, s, n)) {
			h->algo = nix_algos[i].algo;
			h->len = nix_algos[i].len;
			return 0;
		}
	return -1;
}

/* Hash::Hash(rest, type, isSRI) with h->algo and h->len set.  *normal is
 * cleared when the encoding is not nix32. */
static int nix_hash_body(const char *s, size_t n, int sri, struct nixhash *h, int *normal)
{
	size_t got;

	*normal = 0;
	if (!sri && n == h->len * 2u) {
		for (unsigned k = 0; k < h->len; k++) {
			int hi = hex_value((unsigned char)s[2 * k]);
			int lo = hex_value((unsigned char)s[2 * k + 1]);
			if (hi < 0 || lo < 0)
				return -1;
			h->bytes[k] = (unsigned char)(hi << 4 | lo);
		}
		return 0;
	}
	if (!sri && n == nix32_len(h->len)) {
		*normal = 1;
		return nix32_decode(s, n, h->bytes, h->len);
	}
	if (sri || n == base64_len(h->len))
		return nix_base64_decode(s, n, h->bytes, h->len, &got) || got != h->len ? -1 : 0;
	return -1;
}

/* Hash::parseAnyPrefixed(): "algo:..." or SRI "algo-...". */
static int nix_hash_any(const char *s, size_t n, struct nixhash *h, int *normal)
{
	const char *sep = memchr(s, ':', n);
	int sri = 0;

	if (!sep) {
		sep = memchr(s, '-', n);
		sri = 1;
	}
	if (!sep || nix_algo(s, (size_t)(sep - s), h))
		return -1;
	sep++;
	return nix_hash_body(sep, n - (size_t)(sep - s), sri, h, normal);
}

/*
 * A narinfo's strings and arrays live in blocks it owns (ni->mem), one per
 * narinfo as a rule: a crawl parses millions, and twenty malloc() and
 * free() calls each cost more than the parsing.  A value given twice
 * leaves its first copy in the block until narinfo_release().
 */
struct ni_mem {
	struct ni_mem *next;
	size_t used, size;
	char data[];
};

/* n bytes aligned for a pointer, from ni's blocks (a new one when the
 * last is full: twice its size, or n). */
static void *ni_alloc(struct narinfo *ni, size_t n)
{
	struct ni_mem *m = ni->mem;
	size_t at;

	if (m) {
		at = (m->used + sizeof(void *) - 1) & ~(sizeof(void *) - 1);
		if (at <= m->size && n <= m->size - at) {
			m->used = at + n;
			return m->data + at;
		}
	}
	{
		size_t size = m ? 2 * m->size : 1024;
		struct ni_mem *b;
		if (size < n)
			size = n;
		b = xmalloc(sizeof(*b) + size);
		b->next = m;
		b->size = size;
		b->used = n;
		ni->mem = b;
		return b->data;
	}
}

/* The first block: room for size bytes. */
static void ni_mem_start(struct narinfo *ni, size_t size)
{
	struct ni_mem *b = xmalloc(sizeof(*b) + size);

	b->next = NULL;
	b->size = size;
	b->used = 0;
	ni->mem = b;
}

static char *ni_strndup(struct narinfo *ni, const char *s, size_t n)
{
	char *c = ni_alloc(ni, n + 1);

	memcpy(c, s, n);
	c[n] = '\0';
	return c;
}

/* Room for need entries in the array *v of *alloc (moved within ni's
 * blocks when it grows). */
static void ni_grow(struct narinfo *ni, char ***v, size_t *alloc, size_t used, size_t need)
{
	char **nv;
	size_t a;

	if (need <= *alloc)
		return;
	a = *alloc ? 2 * *alloc : 8;
	if (a < need)
		a = need;
	nv = ni_alloc(ni, a * sizeof(*nv));
	if (used)
		memcpy(nv, *v, used * sizeof(*nv));
	*v = nv;
	*alloc = a;
}

static int hash_field(struct narinfo *ni, const char *s, size_t n, char **out, int *normal)
{
	struct nixhash h;
	char buf[NIXHASH_FMT_MAX];
	const char *name;
	size_t l;

	/* The usual form, checked without decoding: 52 nix32 digits whose
	 * first holds no bit past the 256 of the digest (what nix32_decode
	 * would refuse). */
	if (n == 7 + 52 && !memcmp(s, "sha256:", 7) && (s[7] == '0' || s[7] == '1') &&
	    nix32_digits_valid(s + 8, 51)) {
		*normal = 1;
		*out = ni_strndup(ni, s, n);
		return 0;
	}
	if (nix_hash_any(s, n, &h, normal))
		return -1;
	/* Already "algo:<nix32>": nix32 is one-to-one (nix32_decode refuses
	 * bits past the digest), so formatting would give s again. */
	name = nixhash_algo_name(h.algo);
	l = strlen(name);
	if (*normal && n == l + 1 + nix32_len(h.len) && !memcmp(s, name, l) && s[l] == ':') {
		*out = ni_strndup(ni, s, n);
		return 0;
	}
	if (!(l = nixhash_format(&h, buf, sizeof(buf))))
		return -1;
	*out = ni_strndup(ni, buf, l);
	return 0;
}

/* string2Int<uint64_t>, within int64_t.  *plain is cleared for '+' or a
 * leading zero. */
static int nix_uint(const char *s, size_t n, int64_t *out, int *plain)
{
	size_t i = 0;

	*plain = 1;
	if (n && s[0] == '+') {
		i = 1;
		*plain = 0;
	}
	if (n - i > 1 && s[i] == '0')
		*plain = 0;
	return parse_dec(s + i, n - i, out);
}

/* Nix 2.8's checkName(), plus: no leading '.' (see above). */
static int nix_name_valid(const char *s, size_t n)
{
	return store_name_valid(s, n);
}

/* StorePath(baseName): see above; the separator must be '-'. */
static int nix_basename_valid(const char *s, size_t n)
{
	return n > STORE_HASH_LEN + 1 && s[STORE_HASH_LEN] == '-' &&
	       store_hash_valid(s, STORE_HASH_LEN) &&
	       nix_name_valid(s + STORE_HASH_LEN + 1, n - STORE_HASH_LEN - 1);
}

/*
 * canonPath(p) without symlinks into a string in ni's blocks: "//" and "/."
 * vanish, "/.." drops the component before it (at the root, nothing), a
 * trailing '/' goes.  NULL when p is not absolute (Nix asserts on an
 * empty path and throws on a relative one).
 */
static char *nix_canon_path(struct narinfo *ni, const char *p, size_t n)
{
	char *s;
	size_t o = 0, i = 0;

	if (!n || p[0] != '/')
		return NULL;
	s = ni_alloc(ni, n + 2);
	while (1) {
		size_t c;

		while (i < n && p[i] == '/')
			i++;
		if (i >= n)
			break;
		for (c = i; c < n && p[c] != '/'; c++)
			;
		if (c - i == 1 && p[i] == '.') {
			/* nothing */
		} else if (c - i == 2 && p[i] == '.' && p[i + 1] == '.') {
			while (o > 0 && s[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else {
			s[o++] = '/';
			memcpy(s + o, p + i, c - i);
			o += c - i;
		}
		i = c;
	}
	if (!o)
		s[o++] = '/';
	s[o] = '\0';
	return s;
}

static int parse_store_path(const struct nix_entry *e, const char *store_dir,
			    struct narinfo *out, struct narinfo_error *err)
{
	size_t sdl = strlen(store_dir), blen, plen;
	const char *base;
	struct quoted q, q2;
	char *p = memchr(e->val, '\0', e->vlen) ? NULL : nix_canon_path(out, e->val, e->vlen);

	if (!p)
		return fail(err, e->line, "StorePath '%s' is not an absolute path",
			    quote(&q, e->val, e->vlen));
	plen = strlen(p);
	if (plen <= sdl + 1 || memcmp(p, store_dir, sdl) || p[sdl] != '/') {
		fail(err, e->line, "StorePath '%s' is not in '%s'",
		     quote(&q, e->val, e->vlen), quote(&q2, store_dir, sdl));
		return -1;
	}
	if (memchr(p + sdl + 1, '/', plen - sdl - 1)) {
		fail(err, e->line, "StorePath '%s' is not directly in '%s'",
		     quote(&q, e->val, e->vlen), quote(&q2, store_dir, sdl));
		return -1;
	}
	base = p + sdl + 1;
	blen = plen - sdl - 1;
	if (blen <= STORE_HASH_LEN || !store_hash_valid(base, STORE_HASH_LEN) ||
	    base[STORE_HASH_LEN] != '-')
		return fail(err, e->line, "bad hash in StorePath '%s'", quote(&q, e->val, e->vlen));
	if (!nix_name_valid(base + STORE_HASH_LEN + 1, blen - STORE_HASH_LEN - 1))
		return fail(err, e->line, "bad name '%s' in StorePath",
			    quote(&q, base + STORE_HASH_LEN + 1, blen - STORE_HASH_LEN - 1));
	if (plen != e->vlen || memcmp(p, e->val, plen))
		mark_odd(out, NARINFO_ODD_FORM, e->line);
	out->store_path = p;
	memcpy(out->hash, base, STORE_HASH_LEN);
	out->hash[STORE_HASH_LEN] = '\0';
	out->name = out->store_path + sdl + 1 + STORE_HASH_LEN + 1;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort and drop duplicates, as a std::set holds them (the strings stay
 * in the narinfo's blocks). */
static void sort_unique(char **v, size_t *n)
{
	size_t k = 0;

	if (*n < 2)
		return;
	/* Nix writes them sorted: then there is nothing to do. */
	for (k = 1; k < *n && strcmp(v[k - 1], v[k]) < 0; k++)
		;
	if (k == *n)
		return;
	k = 0;
	qsort(v, *n, sizeof(*v), cmp_str);
	for (size_t i = 1; i < *n; i++) {
		if (strcmp(v[i], v[k]))
			v[++k] = v[i];
	}
	*n = k + 1;
}

static int parse_refs(const struct nix_entry *e, struct narinfo *out, size_t *alloc,
		      struct narinfo_error *err)
{
	const char *p = e->val, *end = e->val + e->vlen;

	if (out->nrefs)
		return fail(err, e->line, "References again after References named paths "
			    "(Nix refuses that)");
	while (p < end) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		size_t tl = sp ? (size_t)(sp - p) : (size_t)(end - p);

		if (tl) {
			if (!nix_basename_valid(p, tl)) {
				struct quoted q;
				return fail(err, e->line, "bad reference '%s'", quote(&q, p, tl));
			}
			ni_grow(out, &out->refs, alloc, out->nrefs, out->nrefs + 1);
			out->refs[out->nrefs++] = ni_strndup(out, p, tl);
		}
		p += tl + 1;
	}
	sort_unique(out->refs, &out->nrefs);
	return 0;
}

/* A copy of s[0..n) with control characters (NUL, '\r', ESC...) and bytes
 * that are not UTF-8 as '?', so that no hostile cache reaches a terminal
 * through them; *normal is cleared when there were any. */
static char *printable_copy(struct narinfo *ni, const char *s, size_t n, int *normal)
{
	char *c = ni_alloc(ni, n + 1);
	size_t i = 0;

	/* Printable ASCII, the usual text, needs no UTF-8 decoding. */
	while (i < n && (unsigned char)s[i] - 0x20u < 0x5fu)
		i++;
	memcpy(c, s, i);
	while (i < n) {
		size_t ok = utf8_valid_prefix((const unsigned char *)s + i, n - i);

		for (size_t k = 0; k < ok; k++) {
			unsigned char b = (unsigned char)s[i + k];

			if (b < 0x20 || b == 0x7f) {
				c[i + k] = '?';
				*normal = 0;
			} else {
				c[i + k] = (char)b;
			}
		}
		i += ok;
		if (i < n) {
			c[i++] = '?';
			*normal = 0;
		}
	}
	c[n] = '\0';
	return c;
}

/* What Nix 2.8's verifyDetached() could check: "name:base64" with a name,
 * decoding (Nix's way) to the 64 bytes of an Ed25519 signature. */
static int sig_checkable(const char *s)
{
	const char *colon = strchr(s, ':');
	unsigned char raw[64];
	size_t got;

	return colon && colon != s &&
	       !nix_base64_decode(colon + 1, strlen(colon + 1), raw, sizeof(raw), &got) &&
	       got == sizeof(raw);
}

/* The signature as Nix writes it: 64 bytes in padded, canonical base64. */
static int sig_canonical(const char *s)
{
	const char *colon = strchr(s, ':');
	unsigned char raw[64];
	size_t got;

	return !base64_decode(colon + 1, strlen(colon + 1), raw, sizeof(raw), &got) &&
	       got == sizeof(raw);
}

/*
 * parseContentAddress() into the form Nix renders ("text:sha256:<nix32>",
 * "fixed:[r:]algo:<nix32>"), and "fixed:git:algo:<nix32>".
 */
static char *nix_ca(struct narinfo *ni, const char *s, size_t n, int *normal)
{
	const char *end = s + n, *c;
	const char *method;
	struct nixhash h;
	char buf[NIXHASH_FMT_MAX];
	size_t ml, bl;
	char *r;
	int text;

	if (n > 5 && !memcmp(s, "text:", 5)) {
		text = 1;
		method = "text:";
		s += 5;
	} else if (n > 6 && !memcmp(s, "fixed:", 6)) {
		text = 0;
		method = "fixed:";
		s += 6;
		if (end - s >= 2 && !memcmp(s, "r:", 2)) {
			method = "fixed:r:";
			s += 2;
		} else if (end - s >= 4 && !memcmp(s, "git:", 4)) {
			method = "fixed:git:";
			s += 4;
		}
	} else {
		return NULL;
	}
	c = memchr(s, ':', (size_t)(end - s));
	if (!c || nix_algo(s, (size_t)(c - s), &h) || (text && h.algo != HASH_SHA256))
		return NULL;
	if (!strcmp(method, "fixed:git:") && h.algo != HASH_SHA1 && h.algo != HASH_SHA256)
		return NULL;
	if (nix_hash_body(c + 1, (size_t)(end - c - 1), 0, &h, normal) ||
	    !(bl = nixhash_format(&h, buf, sizeof(buf))))
		return NULL;
	ml = strlen(method);
	r = ni_alloc(ni, ml + bl + 1);
	memcpy(r, method, ml);
	memcpy(r + ml, buf, bl + 1);
	return r;
}

enum ni_key {
	K_STOREPATH, K_URL, K_COMPRESSION, K_FILEHASH, K_FILESIZE, K_NARHASH,
	K_NARSIZE, K_REFERENCES, K_DERIVER, K_SIG, K_CA, K_SYSTEM, K_UNKNOWN
};

#define NI_KEY(k) {k, sizeof(k) - 1}
static const struct {
	const char *name;
	size_t len;
} ni_keys[] = {
	[K_STOREPATH] = NI_KEY("StorePath"),
	[K_URL] = NI_KEY("URL"),
	[K_COMPRESSION] = NI_KEY("Compression"),
	[K_FILEHASH] = NI_KEY("FileHash"),
	[K_FILESIZE] = NI_KEY("FileSize"),
	[K_NARHASH] = NI_KEY("NarHash"),
	[K_NARSIZE] = NI_KEY("NarSize"),
	[K_REFERENCES] = NI_KEY("References"),
	[K_DERIVER] = NI_KEY("Deriver"),
	[K_SIG] = NI_KEY("Sig"),
	[K_CA] = NI_KEY("CA"),
	[K_SYSTEM] = NI_KEY("System"),
};

static enum ni_key ni_key_of(const char *k, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(ni_keys); i++)
		if (ni_keys[i].len == n && !memcmp(ni_keys[i].name, k, n))
			return (enum ni_key)i;
	return K_UNKNOWN;
}

/* What narinfo_parse() carries from entry to entry. */
struct ni_parse {
	const char *store_dir;
	struct narinfo *out;
	size_t sig_alloc, ref_alloc;
	int have_path, have_nar_hash, have_ca;
	unsigned path_line;      /* of the StorePath that counts */
	unsigned url_line, size_line; /* of the URL and NarSize that count */
	struct narinfo_error *err;
};

static int parse_field(struct ni_parse *ps, enum ni_key key, const struct nix_entry *e)
{
	struct narinfo *out = ps->out;
	struct narinfo_error *err = ps->err;
	struct quoted q;
	const char *v = e->val;
	size_t n = e->vlen;
	int normal = 1;
	const char *c;
	char *s;

	switch (key) {
	case K_STOREPATH:
		if (parse_store_path(e, ps->store_dir, out, err))
			return -1;
		ps->have_path = 1;
		ps->path_line = e->line;
		return 0;
	case K_URL:
		if (utf8_valid_prefix((const unsigned char *)v, n) < n)
			return fail(err, e->line, "URL '%s' holds a NUL byte or bytes that "
				    "are not UTF-8", quote(&q, v, n));
		out->url = n ? ni_strndup(out, v, n) : NULL;
		ps->url_line = e->line;
		return 0;
	case K_COMPRESSION:
		out->compression = printable_copy(out, v, n, &normal);
		break;
	case K_FILEHASH:
		if (hash_field(out, v, n, &out->file_hash, &normal))
			return fail(err, e->line, "bad FileHash '%s'", quote(&q, v, n));
		break;
	case K_FILESIZE:
		if (nix_uint(v, n, &out->file_size, &normal))
			return fail(err, e->line, "bad FileSize '%s'", quote(&q, v, n));
		break;
	case K_NARHASH:
		if (hash_field(out, v, n, &out->nar_hash, &normal))
			return fail(err, e->line, "bad NarHash '%s'", quote(&q, v, n));
		ps->have_nar_hash = 1;
		break;
	case K_NARSIZE:
		if (nix_uint(v, n, &out->nar_size, &normal))
			return fail(err, e->line, "bad NarSize '%s'", quote(&q, v, n));
		ps->size_line = e->line;
		break;
	case K_REFERENCES:
		return parse_refs(e, out, &ps->ref_alloc, err);
	case K_DERIVER:
		if (n == 15 && !memcmp(v, "unknown-deriver", 15))
			return 0;
		if (!nix_basename_valid(v, n))
			return fail(err, e->line, "bad Deriver '%s'", quote(&q, v, n));
		out->deriver = ni_strndup(out, v, n);
		return 0;
	case K_SIG:
		s = printable_copy(out, v, n, &normal);
		/* Canonical base64 decodes Nix's way to the same bytes, so a
		 * named canonical signature is checkable: one decode for the
		 * usual case. */
		if ((c = strchr(s, ':')) && c != s && sig_canonical(s))
			;
		else if (!sig_checkable(s))
			mark_odd(out, NARINFO_ODD_SIG, e->line);
		else
			normal = 0;
		ni_grow(out, &out->sigs, &ps->sig_alloc, out->nsigs, out->nsigs + 1);
		out->sigs[out->nsigs++] = s;
		break;
	case K_CA:
		if (ps->have_ca)
			return fail(err, e->line, "CA again after a CA (Nix refuses that)");
		if (!n)
			return 0;
		if (!(s = nix_ca(out, v, n, &normal)))
			return fail(err, e->line, "bad CA '%s'", quote(&q, v, n));
		out->ca = s;
		ps->have_ca = 1;
		if (!strncmp(s, "fixed:git:", 10))
			mark_odd(out, NARINFO_ODD_FORM, e->line);
		break;
	case K_SYSTEM:
		out->system = printable_copy(out, v, n, &normal);
		break;
	case K_UNKNOWN:
		if (!e->klen || memchr(e->key, '\n', e->klen))
			mark_odd(out, NARINFO_ODD_JUNK, e->line);
		return 0;
	}
	if (!normal)
		mark_odd(out, NARINFO_ODD_FORM, e->line);
	return 0;
}

static void narinfo_init(struct narinfo *ni)
{
	memset(ni, 0, sizeof(*ni));
	ni->file_size = -1;
}

/* The size cap and a buffer for the text: 0, or -1 with err filled. */
static int input_check(const char *buf, size_t len, const char *what,
		       struct narinfo_error *err)
{
	if (len > NARINFO_MAX_BYTES)
		return fail(err, 0, "%s larger than %d bytes", what, NARINFO_MAX_BYTES);
	if (len && !buf)
		return fail(err, 0, "no buffer");
	return 0;
}

int narinfo_parse(const char *buf, size_t len, const char *store_dir,
		  const char *expect_hash, struct narinfo *out,
		  struct narinfo_error *err)
{
	struct ni_parse ps = {store_dir, out, 0, 0, 0, 0, 0, 0, 0, 0, err};
	struct nix_lexer lx;
	struct nix_entry e;
	struct quoted q;
	unsigned seen = 0;
	int rc;

	narinfo_init(out);
	if (err) {
		err->line = 0;
		err->msg[0] = '\0';
	}
	if (!ps.store_dir)
		ps.store_dir = DEFAULT_STORE_DIR;
	if (input_check(buf, len, "narinfo", err))
		goto fail;
	/* The values are copies of the text, normalized: a block of twice
	 * its size holds them and the arrays of all but odd narinfos. */
	ni_mem_start(out, 2 * len + 256);
	nix_lex_init(&lx, buf, len);
	while ((rc = nix_lex_next(&lx, &e)) == NIX_LEX_ENTRY) {
		enum ni_key key = ni_key_of(e.key, e.klen);

		if (e.val != e.key + e.klen + 2 || e.key[e.klen + 1] != ' ')
			mark_odd(out, NARINFO_ODD_SEPARATOR, e.line);
		if (key != K_UNKNOWN) {
			if (seen & (1u << key) && key != K_SIG)
				mark_odd(out, NARINFO_ODD_REPEATED, e.line);
			seen |= 1u << key;
		}
		if (parse_field(&ps, key, &e))
			goto fail;
	}
	if (rc == NIX_LEX_NO_COLON) {
		const char *rest = buf + lx.pos, *nl = memchr(rest, '\n', len - lx.pos);

		fail(err, lx.line, "'%s' has no ':' (Nix refuses the whole file: %s)",
		     quote(&q, rest, nl ? (size_t)(nl - rest) : len - lx.pos), nix_lex_strerror(rc));
		goto fail;
	}
	if (rc == NIX_LEX_NO_NEWLINE) {
		fail(err, lx.line, "no newline at the end (Nix refuses the whole file: %s)",
		     nix_lex_strerror(rc));
		goto fail;
	}
	if (!ps.have_path || !ps.have_nar_hash) {
		fail(err, 0, "missing required key '%s'", !ps.have_path ? "StorePath" : "NarHash");
		goto fail;
	}
	if (!out->url) {
		if (ps.url_line)
			fail(err, ps.url_line, "empty URL");
		else
			fail(err, 0, "missing required key 'URL'");
		goto fail;
	}
	if (!out->nar_size) {
		if (ps.size_line)
			fail(err, ps.size_line, "NarSize is 0");
		else
			fail(err, 0, "missing required key 'NarSize'");
		goto fail;
	}
	/* Nix's goodStorePath(): the hash asked for is the one given */
	if (expect_hash && (strlen(expect_hash) != STORE_HASH_LEN ||
			    memcmp(expect_hash, out->hash, STORE_HASH_LEN))) {
		fail(err, ps.path_line, "StorePath hash '%s' does not match expected '%s'", out->hash,
		     quote(&q, expect_hash, strlen(expect_hash)));
		goto fail;
	}
	if (!out->compression || !out->compression[0])
		out->compression = ni_strndup(out, "bzip2", 5);
	if (out->system && !out->system[0])
		out->system = NULL;
	sort_unique(out->sigs, &out->nsigs);
	return 0;

fail:
	narinfo_release(out);
	return -1;
}

const char *narinfo_odd_name(unsigned bit)
{
	switch (bit) {
	case NARINFO_ODD_SEPARATOR: return "a value not after ': ' (Nix skips the byte after the colon)";
	case NARINFO_ODD_REPEATED: return "a key given again (the last value counts)";
	case NARINFO_ODD_SIG: return "a signature no key can check (malformed-signature)";
	case NARINFO_ODD_FORM: return "a value in a form Nix reads but does not write";
	case NARINFO_ODD_JUNK: return "a line without a colon (Nix takes it into the next key)";
	}
	return NULL;
}

void narinfo_release(struct narinfo *ni)
{
	if (!ni)
		return;
	for (struct ni_mem *m = ni->mem, *next; m; m = next) {
		next = m->next;
		free(m);
	}
	narinfo_init(ni);
}

/* A store directory as Nix takes it: absolute, no trailing slash. */
static int store_dir_valid(const char *s, size_t n)
{
	return n > 1 && s[0] == '/' && s[n - 1] != '/';
}

/*
 * Nix's std::stoi on a trimmed value: an optional sign, then at least one
 * digit; what follows the digits is ignored ("40abc" is 40).  Returns -1
 * where stoi throws (no digits, or outside int).
 */
static int parse_stoi(const char *s, size_t n, int *out)
{
	size_t i = 0;
	int neg = 0;
	int64_t v = 0;

	if (i < n && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	if (i >= n || s[i] < '0' || s[i] > '9')
		return -1;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		v = v * 10 + (s[i] - '0');
		if (v > (int64_t)INT32_MAX + 1)
			return -1;
	}
	if (neg)
		v = -v;
	if (v > INT32_MAX || v < INT32_MIN)
		return -1;
	*out = (int)v;
	return 0;
}

/*
 * Read as BinaryCacheStore::init() reads it (the same from Nix 2.3 to
 * today): the text is split at '\n' (empty lines vanish), a line without
 * a colon is skipped, the key is everything before the first colon (not
 * trimmed: " StoreDir" is an unknown key), the value everything after it
 * with spaces, tabs, CRs trimmed at both ends; unknown keys are ignored,
 * and a key given twice takes its last value.  WantMassQuery is true only
 * for "1".  Nix refuses the cache where Priority is no integer (stoi
 * throws) and where StoreDir is not its own store directory; we refuse a
 * StoreDir that is no store directory at all and two StoreDirs that
 * disagree, and leave the comparison with the database's to the crawl.
 */
int nix_cache_info_parse(const char *buf, size_t len, struct nix_cache_info *out,
			 struct narinfo_error *err)
{
	struct quoted q, q2;
	size_t pos = 0;
	unsigned line = 0;

	out->store_dir = NULL;
	out->want_mass_query = -1;
	out->priority = -1;
	out->has_priority = 0;
	if (err) {
		err->line = 0;
		err->msg[0] = '\0';
	}
	if (input_check(buf, len, "nix-cache-info", err))
		goto fail;
	while (pos < len) {
		const char *l = buf + pos, *nl = memchr(l, '\n', len - pos), *colon, *v;
		size_t llen = nl ? (size_t)(nl - l) : len - pos, klen, vlen;

		pos += llen + (nl ? 1 : 0);
		line++;
		colon = memchr(l, ':', llen);
		if (!colon)
			continue;
		klen = (size_t)(colon - l);
		v = colon + 1;
		vlen = llen - klen - 1;
		trim_space(&v, &vlen);
		if (klen == 8 && !memcmp(l, "StoreDir", 8)) {
			if (!store_dir_valid(v, vlen) ||
			    utf8_valid_prefix((const unsigned char *)v, vlen) < vlen) {
				fail(err, line, "bad StoreDir '%s'", quote(&q, v, vlen));
				goto fail;
			}
			if (out->store_dir && (strlen(out->store_dir) != vlen ||
					       memcmp(out->store_dir, v, vlen))) {
				fail(err, line, "StoreDir '%s' contradicts StoreDir '%s' above",
				     quote(&q, v, vlen),
				     quote(&q2, out->store_dir, strlen(out->store_dir)));
				goto fail;
			}
			if (!out->store_dir)
				out->store_dir = xstrndup(v, vlen);
		} else if (klen == 13 && !memcmp(l, "WantMassQuery", 13)) {
			out->want_mass_query = vlen == 1 && v[0] == '1';
		} else if (klen == 8 && !memcmp(l, "Priority", 8)) {
			if (parse_stoi(v, vlen, &out->priority)) {
				fail(err, line, "bad Priority '%s' (Nix refuses a cache whose "
				     "Priority is no integer)", quote(&q, v, vlen));
				goto fail;
			}
			out->has_priority = 1;
		}
	}
	if (!out->store_dir)
		out->store_dir = xstrdup(DEFAULT_STORE_DIR);
	return 0;

fail:
	nix_cache_info_release(out);
	return -1;
}

void nix_cache_info_release(struct nix_cache_info *ci)
{
	if (!ci)
		return;
	free(ci->store_dir);
	ci->store_dir = NULL;
	ci->want_mass_query = -1;
	ci->priority = -1;
	ci->has_priority = 0;
}

/*
 * Keys in the order Nix 2.8 writes them (checked against `nix copy` output).
 * Nix always writes References, even empty ("References: " with the space);
 * System is Attic's and goes last.
 */
char *narinfo_format(const struct narinfo *ni)
{
	struct strbuf sb = STRBUF_INIT;

	if (ni->store_path)
		strbuf_addf(&sb, "StorePath: %s\n", ni->store_path);
	if (ni->url)
		strbuf_addf(&sb, "URL: %s\n", ni->url);
	if (ni->compression)
		strbuf_addf(&sb, "Compression: %s\n", ni->compression);
	if (ni->file_hash)
		strbuf_addf(&sb, "FileHash: %s\n", ni->file_hash);
	if (ni->file_size >= 0)
		strbuf_addf(&sb, "FileSize: %" PRId64 "\n", ni->file_size);
	if (ni->nar_hash)
		strbuf_addf(&sb, "NarHash: %s\n", ni->nar_hash);
	strbuf_addf(&sb, "NarSize: %" PRId64 "\n", ni->nar_size);
	strbuf_addstr(&sb, "References: ");
	for (size_t i = 0; i < ni->nrefs; i++) {
		if (i)
			strbuf_addch(&sb, ' ');
		strbuf_addstr(&sb, ni->refs[i]);
	}
	strbuf_addch(&sb, '\n');
	if (ni->deriver)
		strbuf_addf(&sb, "Deriver: %s\n", ni->deriver);
	for (size_t i = 0; i < ni->nsigs; i++)
		strbuf_addf(&sb, "Sig: %s\n", ni->sigs[i]);
	if (ni->ca)
		strbuf_addf(&sb, "CA: %s\n", ni->ca);
	if (ni->system)
		strbuf_addf(&sb, "System: %s\n", ni->system);
	return strbuf_detach(&sb);
}

/* ---- Nix's lexer (see narinfo.h) ---------------------------------------- */

void nix_lex_init(struct nix_lexer *lx, const char *buf, size_t len)
{
	lx->buf = len ? buf : "";
	lx->len = len;
	lx->pos = 0;
	lx->line = 1;
	lx->entry = 0;
}

static unsigned count_newlines(const char *p, size_t n)
{
	const char *end = p + n;
	unsigned k = 0;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p)))) {
		k++;
		p++;
	}
	return k;
}

int nix_lex_next(struct nix_lexer *lx, struct nix_entry *e)
{
	const char *s = lx->buf, *colon, *eol;
	size_t pos = lx->pos, vstart;

	if (pos >= lx->len)
		return NIX_LEX_END;
	colon = memchr(s + pos, ':', lx->len - pos);
	if (!colon)
		return NIX_LEX_NO_COLON;
	/* std::string::find('\n', colon + 2): npos when colon + 2 is at or
	 * past the end */
	vstart = (size_t)(colon - s) + 2;
	eol = vstart < lx->len ? memchr(s + vstart, '\n', lx->len - vstart) : NULL;
	if (!eol)
		return NIX_LEX_NO_NEWLINE;
	e->key = s + pos;
	e->klen = (size_t)(colon - s) - pos;
	e->val = s + vstart;
	e->vlen = (size_t)(eol - s) - vstart;
	e->line = lx->line;
	e->entry = ++lx->entry;
	lx->pos = (size_t)(eol - s) + 1;
	lx->line += count_newlines(s + pos, lx->pos - pos);
	return NIX_LEX_ENTRY;
}

const char *nix_lex_strerror(int rc)
{
	switch (rc) {
	case NIX_LEX_NO_COLON: return "expecting ':'";
	case NIX_LEX_NO_NEWLINE: return "expecting '\\n'";
	}
	return NULL;
}
