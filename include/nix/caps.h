/*
 * caps.h - cudaCapabilities sets: the canonical string of a set of CUDA
 * compute capabilities ("8.6,8.9"), as evaluations are keyed by and GC
 * weight rules match.
 *
 * Layer: nix (a pure parser: buffer in, string out; uses lib only).
 */
#ifndef CACHEGC_CAPS_H
#define CACHEGC_CAPS_H

#include <stddef.h>

#include "lib/parse_error.h"

/* At most this many capabilities in one set. */
#define CAPS_MAX 64
/* The canonical string of the empty set. */
#define CAPS_NONE "none"

/*
 * Normalize a capability list such as "8.9, 8.6" or "8.6 8.9 8.6" to the
 * canonical set string "8.6,8.9": items are split on commas and white
 * space, deduplicated and sorted numerically by major, minor, then suffix
 * ("9.0" < "9.0a" < "9.0f" < "10.0").  An item is MAJOR.MINOR in decimal
 * without leading zeros, optionally followed by the architecture suffix
 * 'a' or 'f' (nixpkgs' "9.0a", "10.0f").  An empty list, "8", "8.x" or
 * any other junk is refused.  The list "none" (alone) is the empty set,
 * a jobset built without CUDA: CAPS_NONE.
 * Returns 0 and *out (malloc'd, the caller frees), or -1 with *err filled
 * (err->line 0).
 */
int caps_normalize(const char *s, size_t len, char **out, struct parse_error *err);

#endif
