/*
 * parse_error.c - filling the parsers' error type (lib/parse_error.h).
 */
#include "lib/parse_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int parse_fail(struct parse_error *err, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->line = line;
	return -1;
}

const char *parse_shown(char *dst, size_t dsz, const char *s, size_t n)
{
	size_t o = 0, lim = dsz < 64 ? dsz - 4 : 60;

	for (size_t i = 0; i < n && o < lim; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (n > o && o == lim) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
	return dst;
}
