/*
 * jsonfield.h - reading members of the JSON objects Nix-side tools write
 * (nix-eval-jobs lines, Hydra's build JSON and API): each returns 1 when
 * the member is there, 0 when absent or null, -1 with err filled when it
 * is of another type or too long.
 */
#ifndef CACHEGC_JSONFIELD_H
#define CACHEGC_JSONFIELD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/parse_error.h"

/* Whether s[0..n) holds a C0 control or DEL. */
int json_field_has_control(const char *s, size_t n);

#define JSON_FIELD_NO_CONTROLS 1u  /* refuse a string holding controls */

/* A string member of at most max bytes into *out (malloc'd; NULL unless
 * 1 is returned). */
int json_field_string(json_t *o, const char *key, size_t max, unsigned flags, char **out,
		      struct parse_error *err);
/* An integer member into *out (left alone unless 1 is returned). */
int json_field_int(json_t *o, const char *key, int64_t *out, struct parse_error *err);

#endif
