/*
 * tsv.c - ClickHouse's TabSeparated escaping, both ways (lib/tsv.h).
 */
#include "lib/tsv.h"

#include <string.h>

#include "lib/util.h"

static const char *escape_of(char c)
{
	switch (c) {
	case '\t': return "\\t";
	case '\n': return "\\n";
	case '\\': return "\\\\";
	case '\r': return "\\r";
	case '\b': return "\\b";
	case '\f': return "\\f";
	case '\0': return "\\0";
	case '\'': return "\\'";
	default: return NULL;
	}
}

void tsv_escape(struct strbuf *sb, const char *s, size_t n)
{
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		const char *e = escape_of(s[i]);

		if (!e)
			continue;
		strbuf_add(sb, s + run, i - run);
		strbuf_addstr(sb, e);
		run = i + 1;
	}
	strbuf_add(sb, s + run, n - run);
}

void tsv_escape_file(FILE *f, const char *s, size_t n)
{
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		const char *e = escape_of(s[i]);

		if (!e)
			continue;
		fwrite(s + run, 1, i - run, f);
		fputs(e, f);
		run = i + 1;
	}
	fwrite(s + run, 1, n - run, f);
}

/* Unescape s[0..n) in place; returns the new length, or (size_t)-1. */
static size_t unescape(char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c != '\\') {
			s[o++] = c;
			continue;
		}
		if (++i >= n)
			return (size_t)-1;
		switch (s[i]) {
		case 't': c = '\t'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'a': c = '\a'; break;
		case 'v': c = '\v'; break;
		case 'e': c = 033; break;
		case '0': c = '\0'; break;
		case 'x': {
			int h, l;
			if (i + 2 >= n || (h = hex_value((unsigned char)s[i + 1])) < 0 ||
			    (l = hex_value((unsigned char)s[i + 2])) < 0)
				return (size_t)-1;
			c = (char)(h * 16 + l);
			i += 2;
			break;
		}
		default: c = s[i]; break;  /* \\ \' \" and any other: itself */
		}
		s[o++] = c;
	}
	return o;
}

int tsv_split(char *line, size_t n, struct tsv_field *f, int max)
{
	int k = 0;
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && line[i] != '\t')
			continue;
		if (k < max) {
			char *s = line + start;
			size_t len = i - start;

			f[k].null = len == 2 && s[0] == '\\' && s[1] == 'N';
			if (f[k].null) {
				len = 0;
			} else if ((len = unescape(s, len)) == (size_t)-1) {
				return -1;
			}
			s[len] = '\0';
			f[k].s = s;
			f[k].len = len;
		}
		k++;
		start = i + 1;
	}
	return k;
}
