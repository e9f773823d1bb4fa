/*
 * s3list.c - ListObjectsV2 pages, S3 error documents and the AWS shared
 * credentials file (nix/s3list.h).
 *
 * The XML reader is a pull tokenizer over (pointer, length): start tags
 * (attributes checked and skipped), end tags (must match), text (entities
 * decoded on demand).  The document readers keep a stack of element names
 * and pick the few leaves they want by their depth and parent; everything
 * else is checked for well-formedness and skipped.
 */
#include "nix/s3list.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

#define XML_DEPTH 16

enum xev { XEV_EOF, XEV_START, XEV_END, XEV_TEXT };

struct xp {
	const char *p, *end;
	unsigned line;
	struct parse_error *err;
	/* the current event */
	const char *name, *text;
	size_t name_len, text_len;
	int empty;                 /* <x/>: an END follows at once */
	int pending_end;
	/* open elements */
	const char *stack[XML_DEPTH];
	size_t stack_len[XML_DEPTH];
	unsigned depth;
	int root_done;
};

static int is_name_start(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':';
}

static int is_name_char(unsigned char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void count_lines(struct xp *x, const char *from, const char *to)
{
	for (; from < to; from++)
		if (*from == '\n')
			x->line++;
}

static int xfail(struct xp *x, const char *what)
{
	return parse_fail(x->err, x->line, "XML: %s", what);
}

/* Skip whitespace in a tag. */
static void skip_ws(struct xp *x)
{
	while (x->p < x->end && is_space(*x->p)) {
		if (*x->p == '\n')
			x->line++;
		x->p++;
	}
}

static int read_name(struct xp *x, const char **name, size_t *len)
{
	const char *s = x->p;

	if (x->p >= x->end || !is_name_start((unsigned char)*x->p))
		return xfail(x, "a tag without a valid name");
	while (x->p < x->end && is_name_char((unsigned char)*x->p))
		x->p++;
	*name = s;
	*len = (size_t)(x->p - s);
	return 0;
}

/* Attributes up to '>' or "/>" (checked, not kept). */
static int skip_attrs(struct xp *x, int *empty)
{
	for (;;) {
		const char *n;
		size_t nl;
		char q;
		int had_space = x->p < x->end && is_space(*x->p);

		skip_ws(x);
		if (x->p >= x->end)
			return xfail(x, "the document ends inside a tag");
		if (*x->p == '>') {
			x->p++;
			*empty = 0;
			return 0;
		}
		if (*x->p == '/') {
			if (x->p + 1 >= x->end || x->p[1] != '>')
				return xfail(x, "'/' not followed by '>' in a tag");
			x->p += 2;
			*empty = 1;
			return 0;
		}
		if (!had_space)
			return xfail(x, "an attribute not separated by a space");
		if (read_name(x, &n, &nl))
			return -1;
		skip_ws(x);
		if (x->p >= x->end || *x->p != '=')
			return xfail(x, "an attribute without '='");
		x->p++;
		skip_ws(x);
		if (x->p >= x->end || (*x->p != '"' && *x->p != '\''))
			return xfail(x, "an attribute value without quotes");
		q = *x->p++;
		while (x->p < x->end && *x->p != q) {
			if (*x->p == '<')
				return xfail(x, "'<' in an attribute value");
			if (*x->p == '\n')
				x->line++;
			x->p++;
		}
		if (x->p >= x->end)
			return xfail(x, "the document ends inside an attribute value");
		x->p++;
	}
}

/* The next event; -1 on malformed input (err set). */
static int xml_next(struct xp *x)
{
	if (x->pending_end) {
		x->pending_end = 0;
		x->depth--;
		if (!x->depth)
			x->root_done = 1;
		return XEV_END;
	}
	if (x->p >= x->end) {
		if (x->depth)
			return xfail(x, "the document ends before its elements are closed");
		if (!x->root_done)
			return xfail(x, "no element");
		return XEV_EOF;
	}
	if (*x->p != '<') {
		const char *s = x->p, *lt = memchr(x->p, '<', (size_t)(x->end - x->p));

		x->p = lt ? lt : x->end;
		count_lines(x, s, x->p);
		x->text = s;
		x->text_len = (size_t)(x->p - s);
		if (!x->depth) {
			for (const char *c = s; c < x->p; c++)
				if (!is_space(*c))
					return xfail(x, "text outside the root element");
			return xml_next(x);
		}
		return XEV_TEXT;
	}
	if (x->p + 1 < x->end && (x->p[1] == '!' || x->p[1] == '?'))
		return xfail(x, x->p[1] == '?' ? "a processing instruction"
					       : "a comment, CDATA section or DOCTYPE");
	if (x->p + 1 < x->end && x->p[1] == '/') {
		const char *n;
		size_t nl;

		x->p += 2;
		if (read_name(x, &n, &nl))
			return -1;
		skip_ws(x);
		if (x->p >= x->end || *x->p != '>')
			return xfail(x, "an end tag without '>'");
		x->p++;
		if (!x->depth || x->stack_len[x->depth - 1] != nl ||
		    memcmp(x->stack[x->depth - 1], n, nl))
			return xfail(x, "an end tag that does not match its start tag");
		x->depth--;
		if (!x->depth)
			x->root_done = 1;
		x->name = n;
		x->name_len = nl;
		return XEV_END;
	}
	x->p++;
	if (x->root_done)
		return xfail(x, "a second root element");
	if (read_name(x, &x->name, &x->name_len) || skip_attrs(x, &x->empty))
		return -1;
	if (x->depth == XML_DEPTH)
		return xfail(x, "elements nested too deep");
	x->stack[x->depth] = x->name;
	x->stack_len[x->depth] = x->name_len;
	x->depth++;
	x->pending_end = x->empty;
	return XEV_START;
}

static int xp_init(struct xp *x, const char *buf, size_t len, struct parse_error *err)
{
	memset(x, 0, sizeof(*x));
	x->p = buf;
	x->end = buf + len;
	x->line = 1;
	x->err = err;
	if (len > S3_LIST_MAX_BODY)
		return parse_fail(err, 0, "XML: the document is over %u MiB",
				  S3_LIST_MAX_BODY >> 20);
	if (memchr(buf, '\0', len))
		return parse_fail(err, 0, "XML: a NUL byte in the document");
	/* The declaration, only first. */
	if (len >= 5 && !memcmp(buf, "<?xml", 5) && (len == 5 || is_space(buf[5]))) {
		const char *e = NULL;

		for (const char *c = buf; c + 1 < x->end; c++)
			if (c[0] == '?' && c[1] == '>') {
				e = c + 2;
				break;
			}
		if (!e)
			return parse_fail(err, 1, "XML: an unterminated declaration");
		count_lines(x, buf, e);
		x->p = e;
	}
	return 0;
}

static int name_is(const char *n, size_t nl, const char *want)
{
	return strlen(want) == nl && !memcmp(n, want, nl);
}

static void put_utf8(struct strbuf *sb, unsigned long cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp, n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6), b[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12), b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
	} else {
		b[0] = (char)(0xf0 | cp >> 18), b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	strbuf_add(sb, b, n);
}

/* Append text s[0..n) to sb with its entities decoded; at most cap bytes
 * in sb.  0 or -1 (err). */
static int add_text(struct xp *x, struct strbuf *sb, const char *s, size_t n, size_t cap)
{
	size_t i = 0;

	while (i < n) {
		const char *amp = memchr(s + i, '&', n - i);
		size_t run = amp ? (size_t)(amp - (s + i)) : n - i;

		strbuf_add(sb, s + i, run);
		i += run;
		if (i < n) {
			const char *semi = memchr(s + i, ';', n - i < 12 ? n - i : 12);
			size_t el;
			const char *e = s + i + 1;

			if (!semi)
				return xfail(x, "'&' that starts no entity");
			el = (size_t)(semi - e);
			if (name_is(e, el, "amp"))
				strbuf_addch(sb, '&');
			else if (name_is(e, el, "lt"))
				strbuf_addch(sb, '<');
			else if (name_is(e, el, "gt"))
				strbuf_addch(sb, '>');
			else if (name_is(e, el, "quot"))
				strbuf_addch(sb, '"');
			else if (name_is(e, el, "apos"))
				strbuf_addch(sb, '\'');
			else if (el >= 2 && e[0] == '#') {
				unsigned long cp = 0;
				int hex = e[1] == 'x';
				size_t k = hex ? 2 : 1;

				if (k >= el)
					return xfail(x, "an empty character reference");
				for (; k < el; k++) {
					char c = e[k];
					int d = c >= '0' && c <= '9' ? c - '0'
						: hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
						: hex && c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
					if (d < 0)
						return xfail(x, "a malformed character reference");
					cp = cp * (hex ? 16 : 10) + (unsigned long)d;
					if (cp > 0x10ffff)
						return xfail(x, "a character reference past U+10FFFF");
				}
				if (!cp || (cp >= 0xd800 && cp <= 0xdfff))
					return xfail(x, "a character reference to NUL or a surrogate");
				put_utf8(sb, cp);
			} else {
				return xfail(x, "an unknown entity");
			}
			i = (size_t)(semi - s) + 1;
		}
		if (sb->len > cap)
			return xfail(x, "a value too long");
	}
	return 0;
}

static int parse_int64(const char *s, size_t n, int64_t *out)
{
	int64_t v = 0;

	if (!n || n > 19)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (INT64_MAX - (s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int digits(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int s3_parse_time(const char *s, size_t n, int64_t *out)
{
	unsigned y, mo, d, h, mi, se;
	static const unsigned char mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	size_t i = 19;

	if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':' || digits(s, 4, &y) || digits(s + 5, 2, &mo) ||
	    digits(s + 8, 2, &d) || digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) ||
	    digits(s + 17, 2, &se))
		return -1;
	if (s[i] == '.') {
		size_t f = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == f)
			return -1;
	}
	if (i + 1 != n || s[i] != 'Z')
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60 ||
	    (mo == 2 && d == 29 && (y % 4 || (y % 100 == 0 && y % 400))))
		return -1;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	return 0;
}

/* ---- ListObjectsV2 ---------------------------------------------------- */

enum leaf { L_NONE, L_TRUNC, L_TOKEN, L_KEY, L_SIZE, L_MTIME, L_ETAG };

int s3_list_parse(const char *buf, size_t len, struct s3_list_page *page,
		  struct parse_error *err)
{
	struct xp x;
	struct strbuf text = STRBUF_INIT;
	enum leaf leaf = L_NONE;
	int ev, in_contents = 0, have_key = 0, have_size = 0, have_mtime = 0, ret = -1;
	int have_trunc = 0;
	struct s3_object *o = NULL;

	memset(page, 0, sizeof(*page));
	if (xp_init(&x, buf, len, err))
		return -1;
	while ((ev = xml_next(&x)) > 0) {
		if (ev == XEV_START) {
			if (x.depth == 1) {
				if (!name_is(x.name, x.name_len, "ListBucketResult")) {
					if (name_is(x.name, x.name_len, "Error"))
						xfail(&x, "an S3 error document, not a listing");
					else
						xfail(&x, "the root is not <ListBucketResult>");
					goto out;
				}
			} else if (x.depth == 2) {
				leaf = name_is(x.name, x.name_len, "IsTruncated") ? L_TRUNC
				       : name_is(x.name, x.name_len, "NextContinuationToken") ? L_TOKEN
				       : L_NONE;
				if (name_is(x.name, x.name_len, "Contents")) {
					if (page->n == S3_LIST_MAX_OBJECTS) {
						xfail(&x, "more than 10000 objects in one page");
						goto out;
					}
					GROW(page->obj, page->alloc, page->n + 1);
					o = &page->obj[page->n++];
					memset(o, 0, sizeof(*o));
					o->size = -1;
					in_contents = 1;
					have_key = have_size = have_mtime = 0;
				}
			} else if (x.depth == 3 && in_contents) {
				leaf = name_is(x.name, x.name_len, "Key") ? L_KEY
				       : name_is(x.name, x.name_len, "Size") ? L_SIZE
				       : name_is(x.name, x.name_len, "LastModified") ? L_MTIME
				       : name_is(x.name, x.name_len, "ETag") ? L_ETAG
				       : L_NONE;
			} else {
				leaf = L_NONE;
			}
			strbuf_reset(&text);
			continue;
		}
		if (ev == XEV_TEXT) {
			if (leaf != L_NONE) {
				if (add_text(&x, &text, x.text, x.text_len,
					     leaf == L_KEY ? S3_KEY_MAX : 4096))
					goto out;
			} else {
				/* no text in the containers read (ignored elements
				 * may hold any) */
				int container = x.depth == 1 || (in_contents && x.depth == 2);

				for (size_t i = 0; container && i < x.text_len; i++)
					if (!is_space(x.text[i])) {
						xfail(&x, "text between elements");
						goto out;
					}
			}
			continue;
		}
		/* XEV_END */
		if (x.depth == 1 && in_contents) {
			in_contents = 0;
			if (!have_key || !have_size || !have_mtime) {
				xfail(&x, !have_key ? "a <Contents> without <Key>"
					  : !have_size ? "a <Contents> without <Size>"
						       : "a <Contents> without <LastModified>");
				goto out;
			}
			if (!o->etag)
				o->etag = xstrdup("");
		}
		switch (leaf) {
		case L_TRUNC:
			if (!strcmp(text.len ? text.buf : "", "true"))
				page->truncated = 1;
			else if (strcmp(text.len ? text.buf : "", "false")) {
				xfail(&x, "<IsTruncated> is neither true nor false");
				goto out;
			}
			have_trunc = 1;
			break;
		case L_TOKEN:
			free(page->next_token);
			page->next_token = xstrndup(text.len ? text.buf : "", text.len);
			break;
		case L_KEY:
			if (!text.len || memchr(text.buf, '\0', text.len)) {
				xfail(&x, "an empty <Key> or one with NUL");
				goto out;
			}
			free(o->key);
			o->key = xstrndup(text.buf, text.len);
			have_key = 1;
			break;
		case L_SIZE:
			if (parse_int64(text.buf, text.len, &o->size)) {
				xfail(&x, "a <Size> that is not a byte count");
				goto out;
			}
			have_size = 1;
			break;
		case L_MTIME:
			if (s3_parse_time(text.buf, text.len, &o->last_modified)) {
				xfail(&x, "a <LastModified> that is not an S3 timestamp");
				goto out;
			}
			have_mtime = 1;
			break;
		case L_ETAG:
			free(o->etag);
			o->etag = xstrndup(text.len ? text.buf : "", text.len);
			break;
		case L_NONE:
			break;
		}
		leaf = L_NONE;
	}
	if (ev < 0)
		goto out;
	if (!have_trunc) {
		parse_fail(err, 0, "XML: a listing without <IsTruncated>");
		goto out;
	}
	if (page->truncated && (!page->next_token || !*page->next_token)) {
		parse_fail(err, 0, "XML: a truncated listing without <NextContinuationToken>");
		goto out;
	}
	ret = 0;
out:
	strbuf_release(&text);
	return ret;
}

void s3_list_page_release(struct s3_list_page *page)
{
	for (size_t i = 0; i < page->n; i++) {
		free(page->obj[i].key);
		free(page->obj[i].etag);
	}
	free(page->obj);
	free(page->next_token);
	memset(page, 0, sizeof(*page));
}

int s3_error_parse(const char *buf, size_t len, char **code, char **message)
{
	struct parse_error err;
	struct xp x;
	struct strbuf c = STRBUF_INIT, m = STRBUF_INIT;
	struct strbuf *into = NULL;
	int ev;

	*code = *message = NULL;
	if (xp_init(&x, buf, len, &err))
		return -1;
	while ((ev = xml_next(&x)) > 0) {
		if (ev == XEV_START) {
			if (x.depth == 1 && !name_is(x.name, x.name_len, "Error"))
				break;
			into = x.depth != 2 ? NULL
			       : name_is(x.name, x.name_len, "Code") ? &c
			       : name_is(x.name, x.name_len, "Message") ? &m : NULL;
			if (into)
				strbuf_reset(into);
		} else if (ev == XEV_TEXT && into) {
			if (add_text(&x, into, x.text, x.text_len, 4096)) {
				ev = -1;
				break;
			}
		} else if (ev == XEV_END) {
			into = NULL;
		}
	}
	if (ev != XEV_EOF) {
		strbuf_release(&c);
		strbuf_release(&m);
		return -1;
	}
	*code = xstrndup(c.len ? c.buf : "", c.len);
	*message = xstrndup(m.len ? m.buf : "", m.len);
	strbuf_release(&c);
	strbuf_release(&m);
	return 0;
}

/* ---- ~/.aws/credentials ------------------------------------------------ */

static int key_is(const char *s, size_t n, const char *want)
{
	if (strlen(want) != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char a = s[i];
		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (a != want[i])
			return 0;
	}
	return 1;
}

int aws_credentials_parse(const char *buf, size_t len, const char *profile,
			  struct aws_keys *k, struct parse_error *err)
{
	const char *p = buf, *end = buf + len;
	unsigned line = 0;
	int in = 0, found = 0;

	memset(k, 0, sizeof(*k));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *s = p, *eq;
		size_t n = (size_t)((nl ? nl : end) - p);

		p = nl ? nl + 1 : end;
		line++;
		trim_space(&s, &n);
		if (!n || s[0] == '#' || s[0] == ';')
			continue;
		if (s[0] == '[') {
			const char *name = s + 1;
			size_t nn;

			if (s[n - 1] != ']') {
				aws_keys_release(k);
				return parse_fail(err, line, "a section line without ']'");
			}
			nn = n - 2;
			trim_space(&name, &nn);
			in = strlen(profile) == nn && !memcmp(name, profile, nn);
			found |= in;
			continue;
		}
		if (!(eq = memchr(s, '=', n))) {
			aws_keys_release(k);
			return parse_fail(err, line, "a line that is neither [profile] nor key = value");
		}
		if (in) {
			const char *key = s, *val = eq + 1;
			size_t kl = (size_t)(eq - s), vl = n - kl - 1;
			char **slot = NULL;

			trim_space(&key, &kl);
			trim_space(&val, &vl);
			if (key_is(key, kl, "aws_access_key_id"))
				slot = &k->access_key;
			else if (key_is(key, kl, "aws_secret_access_key"))
				slot = &k->secret_key;
			else if (key_is(key, kl, "aws_session_token"))
				slot = &k->session_token;
			if (slot) {
				free(*slot);
				*slot = xstrndup(val, vl);
			}
		}
	}
	if (!found) {
		parse_fail(err, 0, "no profile [%s]", profile);
		aws_keys_release(k);
		return 0;
	}
	if (!k->access_key || !*k->access_key || !k->secret_key || !*k->secret_key) {
		parse_fail(err, 0, "profile [%s] has no %s", profile,
			   !k->access_key || !*k->access_key ? "aws_access_key_id"
							     : "aws_secret_access_key");
		aws_keys_release(k);
		return 0;
	}
	return 1;
}

void aws_keys_release(struct aws_keys *k)
{
	free(k->access_key);
	free(k->secret_key);
	free(k->session_token);
	memset(k, 0, sizeof(*k));
}
