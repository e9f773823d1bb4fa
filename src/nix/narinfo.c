/*
 * narinfo.c - parse narinfo and nix-cache-info text, and write narinfo back.
 *
 * Both formats are "Key: value" lines.  The reader below walks them with
 * memchr over (pointer, length), never relying on a NUL terminator, and
 * refuses NUL bytes, invalid UTF-8, lines without ": " and repeated keys.
 * Values are checked the way Nix checks them (store path syntax, hash
 * encodings) plus what Nix 2.8 lets through but no writer produces: signs
 * on sizes, malformed Sig, duplicate keys.  Unlike Nix 2.8 a missing final
 * newline and trailing blank lines are tolerated.  Hashes are stored in the
 * normal form "<algo>:<nix32>" whatever encoding the file used.
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

/* Walks "Key: value" lines. */
struct kv_reader {
	const char *buf;
	size_t len;
	size_t pos;
	unsigned line;           /* number of the line last returned */
};

struct kv {
	const char *key;
	size_t klen;
	const char *val;
	size_t vlen;
};

static int kv_start(struct kv_reader *r, const char *buf, size_t len,
		    const char *what, struct narinfo_error *err)
{
	r->buf = buf;
	r->len = len;
	r->pos = 0;
	r->line = 0;
	if (len > NARINFO_MAX_BYTES)
		return fail(err, 0, "%s larger than %d bytes", what, NARINFO_MAX_BYTES);
	if (len && !buf)
		return fail(err, 0, "no buffer");
	return 0;
}

/*
 * Returns 1 with the next pair in *kv, 0 at the end of the input, -1 with
 * err filled on a malformed line.  Blank lines are allowed only at the end.
 */
static int kv_next(struct kv_reader *r, struct kv *kv, struct narinfo_error *err)
{
	const char *line, *nl, *colon;
	size_t llen, bad;

	if (r->pos >= r->len)
		return 0;
	line = r->buf + r->pos;
	nl = memchr(line, '\n', r->len - r->pos);
	llen = nl ? (size_t)(nl - line) : r->len - r->pos;
	r->pos += llen + (nl ? 1 : 0);
	r->line++;

	bad = utf8_valid_prefix((const unsigned char *)line, llen);
	if (bad < llen)
		return fail(err, r->line, line[bad] ? "invalid UTF-8 at column %zu"
			    : "NUL byte at column %zu", bad + 1);
	if (llen == 0) {
		for (size_t i = r->pos; i < r->len; i++)
			if (r->buf[i] != '\n')
				return fail(err, r->line, "empty line");
		r->pos = r->len;
		return 0;
	}
	if (line[llen - 1] == '\r')
		return fail(err, r->line, "carriage return at end of line");
	colon = memchr(line, ':', llen);
	if (!colon || (size_t)(colon - line) + 1 >= llen || colon[1] != ' ') {
		struct quoted q;
		return fail(err, r->line, "missing ': ' in line '%s'",
			    quote(&q, line, llen));
	}
	kv->key = line;
	kv->klen = (size_t)(colon - line);
	kv->val = colon + 2;
	kv->vlen = llen - kv->klen - 2;
	return 1;
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

/* Any encoding nixhash_parse() takes, into a malloc'd normal form. */
static int parse_hash(const char *s, size_t n, char **out)
{
	struct nixhash h;
	char buf[NIXHASH_FMT_MAX];
	size_t l;

	if (nixhash_parse(s, n, &h))
		return -1;
	l = nixhash_format(&h, buf, sizeof(buf));
	if (!l)
		return -1;
	*out = xstrndup(buf, l);
	return 0;
}

/* "keyname:base64", keyname non-empty.  Returns 1 when well-formed. */
static int sig_valid(const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	unsigned char *tmp;
	size_t blen, got;
	int ok;

	if (!colon || colon == s)
		return 0;
	blen = n - (size_t)(colon + 1 - s);
	if (blen == 0)
		return 0;
	tmp = xmalloc(blen);
	ok = !base64_decode(colon + 1, blen, tmp, blen, &got) && got > 0;
	free(tmp);
	return ok;
}

/*
 * Nix's content-address forms: "text:sha256:<hash>", "fixed:<algo>:<hash>"
 * and "fixed:r:<algo>:<hash>" (the hash in any encoding).
 */
static int ca_valid(const char *s, size_t n)
{
	struct nixhash h;

	if (n > 5 && !memcmp(s, "text:", 5))
		return !nixhash_parse(s + 5, n - 5, &h) && h.algo == HASH_SHA256;
	if (n > 6 && !memcmp(s, "fixed:", 6)) {
		s += 6;
		n -= 6;
		if (n > 2 && !memcmp(s, "r:", 2)) {
			s += 2;
			n -= 2;
		}
		return !nixhash_parse(s, n, &h);
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

enum ni_key {
	K_STOREPATH, K_URL, K_COMPRESSION, K_FILEHASH, K_FILESIZE, K_NARHASH,
	K_NARSIZE, K_REFERENCES, K_DERIVER, K_SIG, K_CA, K_SYSTEM, K_UNKNOWN
};

static const char *const ni_keys[] = {
	[K_STOREPATH] = "StorePath",
	[K_URL] = "URL",
	[K_COMPRESSION] = "Compression",
	[K_FILEHASH] = "FileHash",
	[K_FILESIZE] = "FileSize",
	[K_NARHASH] = "NarHash",
	[K_NARSIZE] = "NarSize",
	[K_REFERENCES] = "References",
	[K_DERIVER] = "Deriver",
	[K_SIG] = "Sig",
	[K_CA] = "CA",
	[K_SYSTEM] = "System",
};

static enum ni_key ni_key_of(const char *k, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(ni_keys); i++)
		if (strlen(ni_keys[i]) == n && !memcmp(ni_keys[i], k, n))
			return (enum ni_key)i;
	return K_UNKNOWN;
}

static int parse_store_path(const struct kv *kv, unsigned line, const char *store_dir,
			    const char *expect_hash, struct narinfo *out,
			    struct narinfo_error *err)
{
	size_t sdl = strlen(store_dir), blen;
	const char *base;
	struct quoted q, q2;

	if (kv->vlen <= sdl + 1 || memcmp(kv->val, store_dir, sdl) ||
	    kv->val[sdl] != '/')
		return fail(err, line, "StorePath '%s' is not in '%s'",
			    quote(&q, kv->val, kv->vlen), quote(&q2, store_dir, sdl));
	base = kv->val + sdl + 1;
	blen = kv->vlen - sdl - 1;
	if (memchr(base, '/', blen))
		return fail(err, line, "StorePath '%s' is not directly in '%s'",
			    quote(&q, kv->val, kv->vlen), quote(&q2, store_dir, sdl));
	if (blen <= STORE_HASH_LEN || base[STORE_HASH_LEN] != '-' ||
	    !store_hash_valid(base, STORE_HASH_LEN))
		return fail(err, line, "bad hash in StorePath '%s'",
			    quote(&q, kv->val, kv->vlen));
	if (!store_name_valid(base + STORE_HASH_LEN + 1, blen - STORE_HASH_LEN - 1))
		return fail(err, line, "bad name '%s' in StorePath",
			    quote(&q, base + STORE_HASH_LEN + 1,
				  blen - STORE_HASH_LEN - 1));
	if (expect_hash && (strlen(expect_hash) != STORE_HASH_LEN ||
			    memcmp(expect_hash, base, STORE_HASH_LEN)))
		return fail(err, line, "StorePath hash '%.*s' does not match expected '%s'",
			    STORE_HASH_LEN, base, quote(&q, expect_hash, strlen(expect_hash)));
	out->store_path = xstrndup(kv->val, kv->vlen);
	memcpy(out->hash, base, STORE_HASH_LEN);
	out->hash[STORE_HASH_LEN] = '\0';
	out->name = out->store_path + sdl + 1 + STORE_HASH_LEN + 1;
	return 0;
}

/*
 * References are kept sorted and without duplicates, which is how Nix
 * holds them (a set ordered by basename) and how it writes them.
 */
static int parse_refs(const struct kv *kv, unsigned line, struct narinfo *out,
		      struct narinfo_error *err)
{
	const char *p = kv->val, *end = kv->val + kv->vlen;
	size_t alloc = 0, n = 0;

	while (p < end) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		size_t tl = sp ? (size_t)(sp - p) : (size_t)(end - p);

		if (tl) {   /* Nix skips empty tokens between repeated spaces */
			if (!store_basename_valid(p, tl)) {
				struct quoted q;
				return fail(err, line, "bad reference '%s'", quote(&q, p, tl));
			}
			GROW(out->refs, alloc, out->nrefs + 1);
			out->refs[out->nrefs++] = xstrndup(p, tl);
		}
		p += tl + 1;
	}
	if (out->nrefs < 2)
		return 0;
	qsort(out->refs, out->nrefs, sizeof(*out->refs), cmp_str);
	for (size_t i = 1; i < out->nrefs; i++) {
		if (!strcmp(out->refs[i], out->refs[n]))
			free(out->refs[i]);
		else
			out->refs[++n] = out->refs[i];
	}
	out->nrefs = n + 1;
	return 0;
}

/* What narinfo_parse() carries from line to line. */
struct ni_parse {
	const char *store_dir;
	const char *expect_hash;
	struct narinfo *out;
	size_t sig_alloc;
	struct narinfo_error *err;
};

static int parse_field(struct ni_parse *ps, enum ni_key key, const struct kv *kv,
		       unsigned line)
{
	struct narinfo *out = ps->out;
	struct narinfo_error *err = ps->err;
	struct quoted q;
	const char *v = kv->val;
	size_t n = kv->vlen;

	switch (key) {
	case K_STOREPATH:
		return parse_store_path(kv, line, ps->store_dir, ps->expect_hash,
					out, err);
	case K_URL:
		if (!n)
			return fail(err, line, "empty URL");
		out->url = xstrndup(v, n);
		return 0;
	case K_COMPRESSION:
		/* empty means the default, as in Nix */
		if (n)
			out->compression = xstrndup(v, n);
		return 0;
	case K_FILEHASH:
		if (parse_hash(v, n, &out->file_hash))
			return fail(err, line, "bad FileHash '%s'", quote(&q, v, n));
		return 0;
	case K_FILESIZE:
		if (parse_dec(v, n, &out->file_size))
			return fail(err, line, "bad FileSize '%s'", quote(&q, v, n));
		return 0;
	case K_NARHASH:
		if (parse_hash(v, n, &out->nar_hash))
			return fail(err, line, "bad NarHash '%s'", quote(&q, v, n));
		return 0;
	case K_NARSIZE:
		if (parse_dec(v, n, &out->nar_size) || out->nar_size == 0)
			return fail(err, line, "bad NarSize '%s'", quote(&q, v, n));
		return 0;
	case K_REFERENCES:
		return parse_refs(kv, line, out, err);
	case K_DERIVER:
		if (n == 15 && !memcmp(v, "unknown-deriver", 15))
			return 0;
		if (n < 4 || memcmp(v + n - 4, ".drv", 4) || !store_basename_valid(v, n))
			return fail(err, line, "bad Deriver '%s'", quote(&q, v, n));
		out->deriver = xstrndup(v, n);
		return 0;
	case K_SIG:
		if (!sig_valid(v, n))
			return fail(err, line, "bad Sig '%s'", quote(&q, v, n));
		GROW(out->sigs, ps->sig_alloc, out->nsigs + 1);
		out->sigs[out->nsigs++] = xstrndup(v, n);
		return 0;
	case K_CA:
		/* empty means none, as in Nix */
		if (!n)
			return 0;
		if (!ca_valid(v, n))
			return fail(err, line, "bad CA '%s'", quote(&q, v, n));
		out->ca = xstrndup(v, n);
		return 0;
	case K_SYSTEM:
		out->system = xstrndup(v, n);
		return 0;
	case K_UNKNOWN:
		return 0;
	}
	return 0;
}

static void narinfo_init(struct narinfo *ni)
{
	memset(ni, 0, sizeof(*ni));
	ni->file_size = -1;
}

int narinfo_parse(const char *buf, size_t len, const char *store_dir,
		  const char *expect_hash, struct narinfo *out,
		  struct narinfo_error *err)
{
	static const enum ni_key required[] = {K_STOREPATH, K_URL, K_NARHASH, K_NARSIZE};
	struct ni_parse ps = {store_dir, expect_hash, out, 0, err};
	struct kv_reader r;
	struct kv kv = {0};
	unsigned seen = 0;
	int rc;

	narinfo_init(out);
	if (err) {
		err->line = 0;
		err->msg[0] = '\0';
	}
	if (!ps.store_dir)
		ps.store_dir = DEFAULT_STORE_DIR;
	if (kv_start(&r, buf, len, "narinfo", err))
		goto fail;
	while ((rc = kv_next(&r, &kv, err)) > 0) {
		enum ni_key key = ni_key_of(kv.key, kv.klen);

		if (key != K_UNKNOWN && key != K_SIG) {
			if (seen & (1u << key)) {
				fail(err, r.line, "duplicate key '%s'", ni_keys[key]);
				goto fail;
			}
			seen |= 1u << key;
		}
		if (parse_field(&ps, key, &kv, r.line))
			goto fail;
	}
	if (rc < 0)
		goto fail;
	for (size_t i = 0; i < ARRAY_SIZE(required); i++) {
		if (!(seen & (1u << required[i]))) {
			fail(err, 0, "missing required key '%s'", ni_keys[required[i]]);
			goto fail;
		}
	}
	if (!out->compression)
		out->compression = xstrdup("bzip2");
	return 0;

fail:
	narinfo_release(out);
	return -1;
}

void narinfo_release(struct narinfo *ni)
{
	if (!ni)
		return;
	free(ni->store_path);
	free(ni->url);
	free(ni->compression);
	free(ni->file_hash);
	free(ni->nar_hash);
	for (size_t i = 0; i < ni->nrefs; i++)
		free(ni->refs[i]);
	free(ni->refs);
	free(ni->deriver);
	for (size_t i = 0; i < ni->nsigs; i++)
		free(ni->sigs[i]);
	free(ni->sigs);
	free(ni->ca);
	free(ni->system);
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

static int cache_info_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
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
	struct kv_reader r;
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
	if (kv_start(&r, buf, len, "nix-cache-info", err))  /* the size cap */
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
		while (vlen && cache_info_space(*v))
			v++, vlen--;
		while (vlen && cache_info_space(v[vlen - 1]))
			vlen--;
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
