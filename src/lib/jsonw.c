/*
 * jsonw.c - JSON text written directly, as jansson writes it (see jsonw.h).
 */
#include <string.h>

#include "lib/jsonw.h"

int jsonw_utf8_valid(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	while (*u) {
		unsigned c = *u, len, cp;
		if (c < 0x80) {
			u++;
			continue;
		}
		if (c < 0xc2)
			return 0;
		else if (c < 0xe0)
			len = 2, cp = c & 0x1f;
		else if (c < 0xf0)
			len = 3, cp = c & 0x0f;
		else if (c < 0xf5)
			len = 4, cp = c & 0x07;
		else
			return 0;
		for (unsigned i = 1; i < len; i++) {
			if ((u[i] & 0xc0) != 0x80)  /* the NUL ending s included */
				return 0;
			cp = (cp << 6) | (u[i] & 0x3f);
		}
		if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
		    (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000))
			return 0;
		u += len;
	}
	return 1;
}

int jsonw_plain(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e || *s == '"' || *s == '\\')
			return 0;
	return 1;
}

void jsonw_str(struct strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *run = s;

	strbuf_addch(sb, '"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		char esc[6] = {'\\', 0};
		size_t n = 2;
		if (ch != '"' && ch != '\\' && ch >= 0x20)
			continue;
		strbuf_add(sb, run, (size_t)(s - run));
		run = s + 1;
		switch (ch) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 15];
			n = 6;
		}
		strbuf_add(sb, esc, n);
	}
	strbuf_add(sb, run, (size_t)(s - run));
	strbuf_addch(sb, '"');
}

void jsonw_int(struct strbuf *sb, int64_t n)
{
	char buf[24], *e = buf + sizeof(buf), *d = e;
	uint64_t u = n < 0 ? 0 - (uint64_t)n : (uint64_t)n;

	do
		*--d = (char)('0' + u % 10);
	while (u /= 10);
	if (n < 0)
		*--d = '-';
	strbuf_add(sb, d, (size_t)(e - d));
}
