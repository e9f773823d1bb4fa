/*
 * tsv.h - ClickHouse's TabSeparated text: escaping a value to write it
 * (`cachegc export --format tsv`, INSERTs into a ClickHouse store) and
 * reading a row back (SELECTs from one).
 *
 * A value is written with \t \n \\ \r \b \f \0 \' escaped, as ClickHouse
 * writes them; NULL is \N.  Reading undoes those escapes and ClickHouse's
 * others (\a \v \e and \xHH), splitting a line at its tabs.
 *
 * Layer: lib.
 */
#ifndef CACHEGC_TSV_H
#define CACHEGC_TSV_H

#include <stddef.h>
#include <stdio.h>

#include "lib/util.h"

/* Append s[0..n) escaped to sb / write it to f. */
void tsv_escape(struct strbuf *sb, const char *s, size_t n);
void tsv_escape_file(FILE *f, const char *s, size_t n);

/* One field of a row: its unescaped text (NUL-terminated, in the line's
 * buffer) and length, or null for \N. */
struct tsv_field {
	char *s;
	size_t len;
	int null;
};

/* Split line[0..n) (no newline) at its tabs into at most max fields,
 * unescaping each in place (line[n] must be writable: it gets a NUL).
 * Returns how many fields (the line's count,
 * even past max), or -1 when an escape is malformed. */
int tsv_split(char *line, size_t n, struct tsv_field *f, int max);

#endif
