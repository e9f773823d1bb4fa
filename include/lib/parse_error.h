/*
 * parse_error.h - the one error type of the pure parsers.
 *
 * Layer: lib.  A parser over a buffer cannot print (it may run in a fuzzer
 * or on a line the caller will count and skip), so it says why it refused
 * its input here and the caller reports it once, with the file name.
 */
#ifndef CACHEGC_PARSE_ERROR_H
#define CACHEGC_PARSE_ERROR_H

#include <stddef.h>

#include "lib/util.h"

struct parse_error {
	char msg[256];         /* lowercase, no trailing period, names quoted */
	unsigned line;         /* 1-based line of the input, 0 when not known */
};

/* Fill *err (msg formatted, line as given).  Returns -1, so a parser can
 * `return parse_fail(err, 0, ...)`. */
int parse_fail(struct parse_error *err, unsigned line, const char *fmt, ...) ATTR_PRINTF(3, 4);

/* Untrusted text quoted in a message: s[0..n) with every byte that is not
 * printable ASCII as '?', cut to about 60 characters with "...".  Writes
 * into dst (dsz >= 8; PARSE_SHOWN_MAX holds the longest) and returns it. */
#define PARSE_SHOWN_MAX 68
const char *parse_shown(char *dst, size_t dsz, const char *s, size_t n);

#endif
