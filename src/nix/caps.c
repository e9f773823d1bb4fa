/*
 * caps.c - cudaCapabilities sets (nix/caps.h).
 */
#include "nix/caps.h"

#include <stdlib.h>
#include <string.h>

#include "lib/parse_error.h"
#include "lib/util.h"

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

struct cap {
	unsigned major, minor;
	char suffix;           /* 0, 'a' or 'f' */
};

static int cap_cmp(const void *a, const void *b)
{
	const struct cap *x = a, *y = b;

	if (x->major != y->major)
		return x->major < y->major ? -1 : 1;
	if (x->minor != y->minor)
		return x->minor < y->minor ? -1 : 1;
	return (x->suffix > y->suffix) - (x->suffix < y->suffix);
}

/* A decimal number of 1..3 digits without a leading zero. */
static int take_number(const char *s, size_t n, size_t *i, unsigned *out)
{
	size_t start = *i;
	unsigned v = 0;

	while (*i < n && is_digit(s[*i]) && *i - start < 4)
		v = v * 10 + (unsigned)(s[(*i)++] - '0');
	if (*i == start || *i - start > 3 || (s[start] == '0' && *i - start > 1))
		return -1;
	*out = v;
	return 0;
}

static int cap_parse(const char *s, size_t n, struct cap *c)
{
	size_t i = 0;

	c->suffix = 0;
	if (take_number(s, n, &i, &c->major) || i >= n || s[i++] != '.' ||
	    take_number(s, n, &i, &c->minor))
		return -1;
	if (i < n && (s[i] == 'a' || s[i] == 'f'))
		c->suffix = s[i++];
	return i == n ? 0 : -1;
}

int caps_normalize(const char *s, size_t len, char **out, struct parse_error *err)
{
	struct cap caps[CAPS_MAX];
	size_t ncaps = 0, i = 0;
	struct strbuf sb = STRBUF_INIT;
	char show[PARSE_SHOWN_MAX];

	*out = NULL;
	/* "none": a jobset built without CUDA, keyed like any other set. */
	{
		size_t b = 0, e = len;
		while (b < e && (s[b] == ',' || is_space(s[b])))
			b++;
		while (e > b && (s[e - 1] == ',' || is_space(s[e - 1])))
			e--;
		if (e - b == 4 && !memcmp(s + b, "none", 4)) {
			*out = xstrdup(CAPS_NONE);
			return 0;
		}
	}
	while (i < len) {
		size_t start;
		struct cap c;

		while (i < len && (s[i] == ',' || is_space(s[i])))
			i++;
		if (i >= len)
			break;
		start = i;
		while (i < len && s[i] != ',' && !is_space(s[i]))
			i++;
		if (cap_parse(s + start, i - start, &c))
			return parse_fail(err, 0, "'%s' is not a CUDA capability (want MAJOR.MINOR such "
				    "as 8.6, or 9.0a; or the list 'none')", parse_shown(show, sizeof(show), s + start, i - start));
		if (ncaps == CAPS_MAX)
			return parse_fail(err, 0, "more than %d capabilities", CAPS_MAX);
		caps[ncaps++] = c;
	}
	if (!ncaps)
		return parse_fail(err, 0, "no capabilities given (want a list such as 8.6,8.9, or 'none')");
	qsort(caps, ncaps, sizeof(caps[0]), cap_cmp);
	for (i = 0; i < ncaps; i++) {
		if (i && !cap_cmp(&caps[i - 1], &caps[i]))
			continue;
		if (sb.len)
			strbuf_addch(&sb, ',');
		strbuf_addf(&sb, "%u.%u", caps[i].major, caps[i].minor);
		if (caps[i].suffix)
			strbuf_addch(&sb, caps[i].suffix);
	}
	*out = strbuf_detach(&sb);
	return 0;
}
