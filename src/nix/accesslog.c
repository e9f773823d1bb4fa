/*
 * accesslog.c - parsing access log lines (nginx/Apache combined and
 * common, S3 server access logs), decoding and classifying request paths,
 * and the in-memory index and per-day aggregation import-access uses.
 * Pure: no I/O, no DB.  See accesslog.h for the contracts.
 */
#include "nix/accesslog.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nix/nixhash.h"
#include "lib/hash.h"
#include "lib/hashmap.h"
#include "lib/util.h"

static int why_set(char *why, size_t whysz, const char *fmt, ...) ATTR_PRINTF(3, 4);
static int why_set(char *why, size_t whysz, const char *fmt, ...)
{
	va_list ap;

	if (why && whysz) {
		va_start(ap, fmt);
		vsnprintf(why, whysz, fmt, ap);
		va_end(ap);
	}
	return -1;
}

const char *access_format_name(enum access_format f)
{
	switch (f) {
	case ACCESS_FMT_COMBINED:
		return "combined";
	case ACCESS_FMT_S3:
		return "s3";
	default:
		return "auto";
	}
}

const char *const access_format_names[] = {
	[ACCESS_FMT_AUTO] = "auto",
	[ACCESS_FMT_COMBINED] = "combined",
	[ACCESS_FMT_S3] = "s3",
	NULL,
};

int access_format_parse(const char *s, enum access_format *out)
{
	for (int k = 0; access_format_names[k]; k++)
		if (!strcmp(s, access_format_names[k])) {
			*out = (enum access_format)k;
			return 0;
		}
	return -1;
}

/* ---- fields ------------------------------------------------------------ */

enum { F_TOKEN = 't', F_QUOTED = 'q', F_BRACKET = 'b' };

struct field {
	const char *p;         /* the content, without quotes or brackets */
	size_t n;
	char kind;
};

/*
 * The next field of s[0..len) from *i: "quoted" (a backslash escapes the
 * next byte; it ends at a '"' followed by a space or the end), [bracketed]
 * or a bare token up to the next space.  Returns 1 with *f, 0 at the end
 * of the line, -1 for an unterminated field.
 */
static int next_field(const char *s, size_t len, size_t *i, struct field *f)
{
	size_t k = *i, start;

	while (k < len && s[k] == ' ')
		k++;
	if (k >= len) {
		*i = k;
		return 0;
	}
	if (s[k] == '"') {
		start = ++k;
		for (;;) {
			if (k >= len)
				return -1;
			if (s[k] == '\\' && k + 1 < len) {
				k += 2;
				continue;
			}
			if (s[k] == '"' && (k + 1 == len || s[k + 1] == ' '))
				break;
			k++;
		}
		f->kind = F_QUOTED;
		f->p = s + start;
		f->n = k - start;
		*i = k + 1;
		return 1;
	}
	if (s[k] == '[') {
		const char *end = memchr(s + k + 1, ']', len - k - 1);
		if (!end || (end + 1 < s + len && end[1] != ' '))
			return -1;
		f->kind = F_BRACKET;
		f->p = s + k + 1;
		f->n = (size_t)(end - (s + k + 1));
		*i = (size_t)(end - s) + 1;
		return 1;
	}
	start = k;
	while (k < len && s[k] != ' ')
		k++;
	f->kind = F_TOKEN;
	f->p = s + start;
	f->n = k - start;
	*i = k;
	return 1;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int digits(const char *s, size_t n, int *out)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* "10/Oct/2024:13:55:36 +0200" -> UTC epoch seconds.  0 or -1. */
static int parse_clf_time(const char *s, size_t n, int64_t *out)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int d, y, h, mi, se, oh, om, mo = -1;
	int64_t t;

	if (n != 26 || s[2] != '/' || s[6] != '/' || s[11] != ':' || s[14] != ':' ||
	    s[17] != ':' || s[20] != ' ' || (s[21] != '+' && s[21] != '-'))
		return -1;
	if (digits(s, 2, &d) || digits(s + 7, 4, &y) || digits(s + 12, 2, &h) ||
	    digits(s + 15, 2, &mi) || digits(s + 18, 2, &se) || digits(s + 22, 2, &oh) ||
	    digits(s + 24, 2, &om))
		return -1;
	for (int k = 0; k < 12; k++)
		if (!memcmp(s + 3, months + 3 * k, 3))
			mo = k + 1;
	if (mo < 0 || d < 1 || d > mdays[mo - 1] || y < 1970 || h > 23 || mi > 59 || se > 60 ||
	    oh > 23 || om > 59)
		return -1;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return -1;
	t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se;
	/* local = UTC + offset */
	t -= (s[21] == '-' ? -1 : 1) * (int64_t)(oh * 3600 + om * 60);
	if (t < 0)
		return -1;
	*out = t;
	return 0;
}

static int parse_status(const struct field *f, int *out)
{
	int v;

	if (f->kind != F_TOKEN || f->n != 3 || digits(f->p, 3, &v) || v < 100 || v > 599)
		return -1;
	*out = v;
	return 0;
}

/* 1..18 decimal digits */
static int is_number(const char *s, size_t n)
{
	if (!n || n > 18)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return 0;
	return 1;
}

static int is_dash(const struct field *f)
{
	return f->n == 1 && f->p[0] == '-';
}

static int is_upper_word(const char *s, size_t n)
{
	if (!n || n > 32)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-' || s[i] == '_'))
			return 0;
	return 1;
}

/* "METHOD TARGET[ PROTOCOL]" from a combined log's request field.  A
 * request that is not one ("-", escaped junk) leaves target NULL. */
static void parse_request(const struct field *f, struct access_request *req)
{
	const char *s = f->p, *sp1, *sp2;
	size_t n = f->n;

	req->method = ACCESS_OTHER;
	req->target = NULL;
	req->target_len = 0;
	sp1 = memchr(s, ' ', n);
	if (!sp1 || !is_upper_word(s, (size_t)(sp1 - s)))
		return;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(s + n - sp1 - 1));
	if (sp2) {
		size_t pl = (size_t)(s + n - sp2 - 1);
		/* the protocol: "HTTP/1.1", "HTTP/2.0"; nothing may follow it */
		if (pl < 5 || memcmp(sp2 + 1, "HTTP/", 5) || memchr(sp2 + 1, ' ', pl))
			return;
	} else {
		sp2 = s + n;   /* HTTP/0.9: no protocol */
	}
	if (sp2 == sp1 + 1)
		return;
	if ((size_t)(sp1 - s) == 3 && !memcmp(s, "GET", 3))
		req->method = ACCESS_GET;
	else if ((size_t)(sp1 - s) == 4 && !memcmp(s, "HEAD", 4))
		req->method = ACCESS_HEAD;
	req->target = sp1 + 1;
	req->target_len = (size_t)(sp2 - sp1 - 1);
}

static int parse_combined(const char *line, size_t len, struct access_request *req,
			  char *why, size_t whysz)
{
	struct field f[7];
	size_t i = 0;
	int r;

	for (int k = 0; k < 7; k++) {
		if ((r = next_field(line, len, &i, &f[k])) < 0)
			return why_set(why, whysz, "unterminated quoted or bracketed field");
		if (!r)
			return why_set(why, whysz, "only %d field%s (combined format has at least 7)",
				       k, k == 1 ? "" : "s");
	}
	if (f[0].kind != F_TOKEN || f[1].kind != F_TOKEN || f[2].kind != F_TOKEN)
		return why_set(why, whysz, "not in combined format (want HOST IDENT USER [TIME] "
			       "\"REQUEST\" STATUS BYTES)");
	if (f[3].kind != F_BRACKET)
		return why_set(why, whysz, "no [time] as the 4th field");
	if (parse_clf_time(f[3].p, f[3].n, &req->time))
		return why_set(why, whysz, "bad time (want [10/Oct/2024:13:55:36 +0200])");
	if (f[4].kind != F_QUOTED)
		return why_set(why, whysz, "no quoted \"request\" as the 5th field");
	if (parse_status(&f[5], &req->status))
		return why_set(why, whysz, "bad HTTP status");
	if (f[6].kind != F_TOKEN || !(is_dash(&f[6]) || is_number(f[6].p, f[6].n)))
		return why_set(why, whysz, "bad byte count");
	parse_request(&f[4], req);
	req->format = ACCESS_FMT_COMBINED;
	return 0;
}

static int parse_s3(const char *line, size_t len, struct access_request *req, char *why,
		    size_t whysz)
{
	struct field f[10];
	size_t i = 0;
	int r;

	for (int k = 0; k < 10; k++) {
		if ((r = next_field(line, len, &i, &f[k])) < 0)
			return why_set(why, whysz, "unterminated quoted or bracketed field");
		if (!r)
			return why_set(why, whysz, "only %d field%s (S3 access logs have at least 10)",
				       k, k == 1 ? "" : "s");
	}
	if (f[0].kind != F_TOKEN || f[1].kind != F_TOKEN || f[2].kind != F_BRACKET)
		return why_set(why, whysz, "not in S3 access log format (want OWNER BUCKET [TIME] "
			       "IP REQUESTER ID OPERATION KEY \"URI\" STATUS ...)");
	if (parse_clf_time(f[2].p, f[2].n, &req->time))
		return why_set(why, whysz, "bad time (want [06/Feb/2019:00:00:38 +0000])");
	for (int k = 3; k < 8; k++)
		if (f[k].kind != F_TOKEN)
			return why_set(why, whysz, "field %d is not a plain token", k + 1);
	if (f[8].kind != F_QUOTED && !is_dash(&f[8]))
		return why_set(why, whysz, "no quoted \"request-URI\" as the 9th field");
	if (is_dash(&f[9]))
		req->status = 0;   /* lifecycle operations have none */
	else if (parse_status(&f[9], &req->status))
		return why_set(why, whysz, "bad HTTP status");

	req->method = ACCESS_OTHER;
	{
		const char *op = f[6].p;
		size_t n = f[6].n;
		if ((n == 15 && !memcmp(op, "REST.GET.OBJECT", 15)) ||
		    (n == 18 && !memcmp(op, "WEBSITE.GET.OBJECT", 18)))
			req->method = ACCESS_GET;
		else if ((n == 16 && !memcmp(op, "REST.HEAD.OBJECT", 16)) ||
			 (n == 19 && !memcmp(op, "WEBSITE.HEAD.OBJECT", 19)))
			req->method = ACCESS_HEAD;
	}
	if (is_dash(&f[7])) {
		req->target = NULL;
		req->target_len = 0;
	} else {
		req->target = f[7].p;
		req->target_len = f[7].n;
	}
	req->format = ACCESS_FMT_S3;
	return 0;
}

int access_parse_line(const char *line, size_t len, enum access_format fmt,
		      struct access_request *req, char *why, size_t whysz)
{
	struct field f;
	size_t i = 0;
	int r, k;

	memset(req, 0, sizeof(*req));
	if (len > ACCESS_MAX_LINE)
		return why_set(why, whysz, "line longer than %d bytes", ACCESS_MAX_LINE);
	for (size_t j = 0; j < len; j++)
		if ((unsigned char)line[j] < 0x20 || line[j] == 0x7f)
			return why_set(why, whysz, "control character (byte 0x%02x) at column %zu",
				       (unsigned)(unsigned char)line[j], j + 1);
	if (fmt == ACCESS_FMT_COMBINED)
		return parse_combined(line, len, req, why, whysz);
	if (fmt == ACCESS_FMT_S3)
		return parse_s3(line, len, req, why, whysz);
	/* auto: the first bracketed field says which */
	for (k = 0; k < 4; k++) {
		if ((r = next_field(line, len, &i, &f)) <= 0)
			break;
		if (f.kind == F_BRACKET)
			break;
	}
	if (k == 2 && r > 0)
		return parse_s3(line, len, req, why, whysz);
	if (k == 3 && r > 0)
		return parse_combined(line, len, req, why, whysz);
	return why_set(why, whysz, "neither combined nor S3 access log format (no [time] as "
		       "the 3rd or 4th field)");
}

/* ---- paths --------------------------------------------------------------- */

/* Append a byte to out[0..*o), merging slashes.  -1 when it is refused or
 * does not fit. */
static int put(char *out, size_t outsz, size_t *o, unsigned char c)
{
	if (c < 0x20 || c == 0x7f || c == '\\')
		return -1;
	if (c == '/' && *o && out[*o - 1] == '/')
		return 0;
	if (*o + 1 >= outsz || *o >= ACCESS_MAX_PATH)
		return -1;
	out[(*o)++] = (char)c;
	return 0;
}

/* 1 when out[0..n) (starting with '/') has a "." or ".." segment. */
static int has_dot_segment(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t start = ++i, k;   /* s[i - 1] == '/' */
		for (k = start; k < n && s[k] != '/'; k++)
			;
		if ((k - start == 1 && s[start] == '.') ||
		    (k - start == 2 && s[start] == '.' && s[start + 1] == '.'))
			return 1;
		i = k;
	}
	return 0;
}

int access_target_path(const char *target, size_t len, int s3, char *out, size_t outsz,
		       size_t *outlen)
{
	size_t i = 0, o = 0, end = len;

	if (!target || !len || outsz < 2)
		return -1;
	if (!s3) {
		const char *q;
		if ((len > 7 && !strncasecmp(target, "http://", 7)) ||
		    (len > 8 && !strncasecmp(target, "https://", 8))) {
			const char *p = memchr(target, ':', len);
			const char *slash;
			i = (size_t)(p - target) + 3;
			slash = i < len ? memchr(target + i, '/', len - i) : NULL;
			if (!slash)
				return -1;
			i = (size_t)(slash - target);
		}
		if (i >= len || target[i] != '/')
			return -1;
		if ((q = memchr(target + i, '?', len - i)))
			end = (size_t)(q - target);
	} else {
		out[o++] = '/';
	}
	for (; i < end; i++) {
		unsigned char c = (unsigned char)target[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= end)
				return -1;
			hi = hex_value((unsigned char)target[i + 1]);
			lo = hex_value((unsigned char)target[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
			if (c == 0)
				return -1;
		}
		if (put(out, outsz, &o, c))
			return -1;
	}
	if (o == 0 || out[0] != '/' || has_dot_segment(out, o))
		return -1;
	out[o] = '\0';
	*outlen = o;
	return 0;
}

const char *access_target_query(const char *target, size_t len, int s3, size_t *qlen)
{
	const char *q;

	*qlen = 0;
	if (s3 || !target || !(q = memchr(target, '?', len)))
		return NULL;
	q++;
	*qlen = (size_t)(target + len - q);
	return q;
}

int access_query_store_hash(const char *q, size_t qlen, char out[STORE_HASH_LEN + 1])
{
	size_t i = 0;

	while (q && i < qlen) {
		const char *amp = memchr(q + i, '&', qlen - i);
		size_t end = amp ? (size_t)(amp - q) : qlen;
		if (end - i >= 5 && !memcmp(q + i, "hash=", 5)) {
			const char *v = q + i + 5;
			size_t vl = end - i - 5;
			if (vl != STORE_HASH_LEN || !store_hash_valid(v, vl))
				return 0;
			memcpy(out, v, STORE_HASH_LEN);
			out[STORE_HASH_LEN] = '\0';
			return 1;
		}
		i = end + 1;
	}
	return 0;
}

int access_prefix_normalize(const char *s, char *out, size_t outsz)
{
	size_t o = 0, n = strlen(s);

	if (outsz < 2)
		return -1;
	out[o++] = '/';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || c == '?' || c == '%' || c == '\\')
			return -1;
		if (c == '/' && out[o - 1] == '/')
			continue;
		if (o + 2 >= outsz)
			return -1;
		out[o++] = (char)c;
	}
	if (out[o - 1] != '/')
		out[o++] = '/';
	out[o] = '\0';
	return has_dot_segment(out, o - 1) ? -1 : 0;
}

enum access_kind access_classify(const char *path, size_t len, const char *prefix,
				 const char **rel, size_t *rellen)
{
	size_t pl = strlen(prefix);
	const char *r;
	size_t rl;

	*rel = NULL;
	*rellen = 0;
	if (len <= pl || memcmp(path, prefix, pl))
		return ACCESS_KIND_NONE;
	r = path + pl;
	rl = len - pl;
	if (rl == STORE_HASH_LEN + 8 && !memcmp(r + STORE_HASH_LEN, ".narinfo", 8) &&
	    store_hash_valid(r, STORE_HASH_LEN)) {
		*rel = r;
		*rellen = STORE_HASH_LEN;
		return ACCESS_KIND_NARINFO;
	}
	*rel = r;
	*rellen = rl;
	return ACCESS_KIND_FILE;
}

int access_is_nar_dir(const char *rel, size_t len)
{
	return len > 4 && !memcmp(rel, "nar/", 4);
}

int access_counts(enum access_kind kind, enum access_method method, int status)
{
	if (!((status >= 200 && status <= 299) || status == 304))
		return 0;
	if (kind == ACCESS_KIND_NARINFO)
		return method == ACCESS_GET || method == ACCESS_HEAD;
	if (kind == ACCESS_KIND_FILE)
		return method == ACCESS_GET;
	return 0;
}

/* ---- the index ------------------------------------------------------------- */

struct ai_narinfo {
	char hash[STORE_HASH_LEN];
	int has_nar;           /* nar holds a SHA-256 NAR hash */
	uint32_t url;          /* its URL in urls, or HASHMAP_NONE */
	unsigned char nar[32];
	int64_t id;
};

struct ai_nar {
	unsigned char d[32];
	size_t first;          /* links index + 1 */
};

struct ai_url {
	size_t off;            /* into text */
	size_t len;
	size_t first;          /* links index + 1 */
};

struct ai_link {
	int64_t id;
	size_t next;           /* links index + 1, 0 = end */
};

void access_index_init(struct access_index *ix)
{
	memset(ix, 0, sizeof(*ix));
}

void access_index_release(struct access_index *ix)
{
	free(ix->ni);
	hashmap_release(&ix->ni_map);
	free(ix->urls);
	hashmap_release(&ix->url_map);
	free(ix->text);
	free(ix->nars);
	hashmap_release(&ix->nar_map);
	free(ix->links);
	memset(ix, 0, sizeof(*ix));
}

static int ni_eq(const void *ctx, uint32_t item, const void *key)
{
	const struct access_index *ix = ctx;

	return !memcmp(ix->ni[item].hash, key, STORE_HASH_LEN);
}

struct url_key {
	const char *s;
	size_t len;
};

static int url_eq(const void *ctx, uint32_t item, const void *key)
{
	const struct access_index *ix = ctx;
	const struct url_key *k = key;
	const struct ai_url *u = &ix->urls[item];

	return u->len == k->len && !memcmp(ix->text + u->off, k->s, k->len);
}

static int nar_eq(const void *ctx, uint32_t item, const void *key)
{
	const struct access_index *ix = ctx;

	return !memcmp(ix->nars[item].d, key, 32);
}

/* Link path_id into the chain at *first. */
static void link_id(struct access_index *ix, size_t *first, int64_t path_id)
{
	GROW(ix->links, ix->links_alloc, ix->nlinks + 1);
	ix->links[ix->nlinks].id = path_id;
	ix->links[ix->nlinks].next = *first;
	*first = ++ix->nlinks;
}

int access_index_add(struct access_index *ix, const char *hash, int64_t path_id,
		     const char *url, size_t url_len, const char *nar_hash)
{
	struct ai_narinfo *ni;
	struct nixhash h;
	const char *q;
	uint32_t i, n;

	if (strlen(hash) != STORE_HASH_LEN || path_id <= 0)
		return -1;
	n = (uint32_t)ix->ni_count;
	if (hashmap_put(&ix->ni_map, hash_fnv1a(hash, STORE_HASH_LEN), ni_eq, ix, hash, n) != n)
		return 0;      /* the first one stays */
	GROW(ix->ni, ix->ni_alloc, ix->ni_count + 1);
	ni = &ix->ni[ix->ni_count++];
	memcpy(ni->hash, hash, STORE_HASH_LEN);
	ni->id = path_id;
	ni->url = HASHMAP_NONE;
	ni->has_nar = nar_hash && !nixhash_parse(nar_hash, strlen(nar_hash), &h) &&
		      h.algo == HASH_SHA256;
	if (ni->has_nar)
		memcpy(ni->nar, h.bytes, 32);

	/* the file a URL names is its path: harmonia adds "?hash=..." */
	if (url && (q = memchr(url, '?', url_len)))
		url_len = (size_t)(q - url);
	if (url_len) {
		struct url_key key = {url, url_len};
		n = (uint32_t)ix->url_count;
		i = hashmap_put(&ix->url_map, hash_fnv1a(url, url_len), url_eq, ix, &key, n);
		if (i == n) {
			struct ai_url *u;
			xgrow((void **)&ix->text, &ix->text_alloc, ix->text_len + url_len, 1);
			memcpy(ix->text + ix->text_len, url, url_len);
			GROW(ix->urls, ix->urls_alloc, ix->url_count + 1);
			u = &ix->urls[ix->url_count];
			u->off = ix->text_len;
			u->len = url_len;
			u->first = 0;
			ix->text_len += url_len;
			ix->url_count++;
		}
		link_id(ix, &ix->urls[i].first, path_id);
		ix->ni[ix->ni_count - 1].url = i;
	}
	if (ix->ni[ix->ni_count - 1].has_nar) {
		const unsigned char *d = ix->ni[ix->ni_count - 1].nar;
		n = (uint32_t)ix->nar_count;
		i = hashmap_put(&ix->nar_map, hash_fnv1a(d, 32), nar_eq, ix, d, n);
		if (i == n) {
			GROW(ix->nars, ix->nars_alloc, ix->nar_count + 1);
			memcpy(ix->nars[n].d, d, 32);
			ix->nars[n].first = 0;
			ix->nar_count++;
		}
		link_id(ix, &ix->nars[i].first, path_id);
	}
	return 0;
}

static uint32_t narinfo_item(const struct access_index *ix, const char *hash)
{
	return hashmap_find(&ix->ni_map, hash_fnv1a(hash, STORE_HASH_LEN), ni_eq, ix, hash);
}

int64_t access_index_narinfo(const struct access_index *ix, const char *hash)
{
	uint32_t i = narinfo_item(ix, hash);

	return i == HASHMAP_NONE ? 0 : ix->ni[i].id;
}

/* Store the ids of the chain at first: up to max, counting them all. */
static size_t chain(const struct access_index *ix, size_t first, int64_t *ids, size_t max)
{
	size_t n = 0;

	for (size_t l = first; l; l = ix->links[l - 1].next) {
		if (n < max)
			ids[n] = ix->links[l - 1].id;
		n++;
	}
	return n;
}

static uint32_t url_item(const struct access_index *ix, const char *url, size_t len)
{
	struct url_key key = {url, len};

	if (!len)
		return HASHMAP_NONE;
	return hashmap_find(&ix->url_map, hash_fnv1a(url, len), url_eq, ix, &key);
}

size_t access_index_nar(const struct access_index *ix, const char *url, size_t len,
			int64_t *ids, size_t max)
{
	uint32_t i = url_item(ix, url, len);

	return i == HASHMAP_NONE ? 0 : chain(ix, ix->urls[i].first, ids, max);
}

#define NAR_HASH_NIX32 52      /* nix32 characters of a SHA-256 */

/*
 * The hashes a NAR file name carries: "nar/<narhash>.nar" (harmonia's
 * file, Nix's for an uncompressed NAR) gives the NAR hash;
 * "nar/<store hash>-<narhash>.nar" (nix-serve's) both.  *store is NULL
 * when there is none.  Returns 1 with nar[32], 0 for any other name.
 */
static int nar_name_hashes(const char *rel, size_t len, const char **store,
			   unsigned char nar[32])
{
	const char *h;

	*store = NULL;
	if (len < 4 + NAR_HASH_NIX32 + 4 || memcmp(rel, "nar/", 4) ||
	    memcmp(rel + len - 4, ".nar", 4))
		return 0;
	h = rel + 4;
	if (len == 4 + STORE_HASH_LEN + 1 + NAR_HASH_NIX32 + 4) {
		if (h[STORE_HASH_LEN] != '-' || !store_hash_valid(h, STORE_HASH_LEN))
			return 0;
		*store = h;
		h += STORE_HASH_LEN + 1;
	} else if (len != 4 + NAR_HASH_NIX32 + 4) {
		return 0;
	}
	return !nix32_decode(h, NAR_HASH_NIX32, nar, 32);
}

size_t access_index_resolve_nar(const struct access_index *ix, const char *rel, size_t rellen,
				const char *store_hash, int64_t *ids, size_t max,
				enum access_nar_match *how)
{
	enum access_nar_match dummy;
	unsigned char nar[32];
	const char *named;
	int has_nar = nar_name_hashes(rel, rellen, &named, nar);
	uint32_t i;
	size_t n;

	if (!how)
		how = &dummy;
	*how = ACCESS_NAR_NONE;
	if (store_hash || named) {
		char h[STORE_HASH_LEN + 1];
		const struct ai_narinfo *ni;
		memcpy(h, store_hash ? store_hash : named, STORE_HASH_LEN);
		h[STORE_HASH_LEN] = '\0';
		if ((i = narinfo_item(ix, h)) == HASHMAP_NONE)
			return 0;
		ni = &ix->ni[i];
		if (!((ni->url != HASHMAP_NONE && ni->url == url_item(ix, rel, rellen)) ||
		      (has_nar && ni->has_nar && !memcmp(ni->nar, nar, 32))))
			return 0;
		if (max)
			ids[0] = ni->id;
		*how = ACCESS_NAR_STORE_HASH;
		return 1;
	}
	if ((n = access_index_nar(ix, rel, rellen, ids, max))) {
		*how = ACCESS_NAR_URL;
		return n;
	}
	if (has_nar &&
	    (i = hashmap_find(&ix->nar_map, hash_fnv1a(nar, 32), nar_eq, ix, nar)) != HASHMAP_NONE) {
		*how = ACCESS_NAR_NAR_HASH;
		return chain(ix, ix->nars[i].first, ids, max);
	}
	return 0;
}

/* ---- aggregation -------------------------------------------------------------- */

/* The hash of a (path, day) key. */
static uint64_t agg_hash(int64_t id, int64_t day)
{
	return hash_mix64((uint64_t)id * 0x9e3779b97f4a7c15ull ^ (uint64_t)day);
}

struct agg_key {
	int64_t id, day;
};

static int agg_eq(const void *ctx, uint32_t item, const void *key)
{
	const struct access_day *d = &((const struct access_agg *)ctx)->v[item];
	const struct agg_key *k = key;

	return d->path_id == k->id && d->day == k->day;
}

void access_agg_init(struct access_agg *a)
{
	memset(a, 0, sizeof(*a));
}

void access_agg_release(struct access_agg *a)
{
	free(a->v);
	hashmap_release(&a->map);
	memset(a, 0, sizeof(*a));
}

void access_agg_add(struct access_agg *a, int64_t path_id, int64_t t, int nar)
{
	struct agg_key key = {path_id, t / 86400};
	struct access_day *d;
	uint32_t n = (uint32_t)a->n, i;

	i = hashmap_put(&a->map, agg_hash(key.id, key.day), agg_eq, a, &key, n);
	if (i == n) {
		GROW(a->v, a->alloc, a->n + 1);
		d = &a->v[a->n++];
		d->path_id = path_id;
		d->day = key.day;
		d->narinfo_hits = d->nar_hits = 0;
		d->narinfo_last = d->nar_last = -1;
	}
	d = &a->v[i];
	if (nar) {
		d->nar_hits++;
		if (t > d->nar_last)
			d->nar_last = t;
	} else {
		d->narinfo_hits++;
		if (t > d->narinfo_last)
			d->narinfo_last = t;
	}
}
