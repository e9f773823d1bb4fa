/*
 * jsonw.h - writing JSON text directly, byte for byte as jansson's
 * json_dumpf() writes it (no JSON_ENSURE_ASCII, no JSON_ESCAPE_SLASH), for
 * output too large to build as a jansson tree first.
 */
#ifndef CACHEGC_LIB_JSONW_H
#define CACHEGC_LIB_JSONW_H

#include <stdint.h>

#include "lib/util.h"

/* Whether s is UTF-8 as json_string() accepts it (no overlong forms, no
 * surrogates, nothing above U+10FFFF); json_string() returns NULL for
 * anything else, so a member or array element made of it is left out. */
int jsonw_utf8_valid(const char *s);
/* Whether jansson writes s as is: printable ASCII, no quote or backslash. */
int jsonw_plain(const char *s);
/* Append s (valid UTF-8) as a JSON string literal: '"' '\\' and the
 * control characters escaped (\b \f \n \r \t, else \u00XX, upper-case
 * hex), everything else, '/' and U+007F included, as is. */
void jsonw_str(struct strbuf *sb, const char *s);
/* Append n in decimal, as jansson writes an integer. */
void jsonw_int(struct strbuf *sb, int64_t n);

#endif
