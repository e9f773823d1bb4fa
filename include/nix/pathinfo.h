/*
 * pathinfo.h - the store paths in what `nix path-info --json` prints, so
 * its output can be handed on as it is (crawl --roots):
 *   Nix 2.8 - 2.18      [{"path": "/nix/store/<hash>-<name>", ...}, ...]
 *   Nix 2.19+, format 1 {"/nix/store/<hash>-<name>": {...} or null, ...}
 *   --json-format 2, 3  {"version": N, "storeDir": D,
 *                        "info": {"<hash>-<name>": {...} or null, ...}}
 * Pure over a buffer (jansson only); no I/O.
 */
#ifndef CACHEGC_PATHINFO_H
#define CACHEGC_PATHINFO_H

#include <stddef.h>

#include "lib/parse_error.h"

/*
 * If buf[0..len) is one JSON value of a shape above, call fn with the
 * basename ("<hash>-<name>", not NUL-terminated) of every path in it, in
 * the order given, and return 1 (also for an empty list).  0 when it is
 * not path-info JSON (other JSON, several values, or not JSON at all):
 * the caller reads it some other way.  -1 with *err filled when it is
 * path-info JSON naming something that is not a store path in store_dir
 * (or giving another storeDir), or when fn returns non-zero.
 */
int pathinfo_json_paths(const char *buf, size_t len, const char *store_dir,
			int (*fn)(const char *base, size_t blen, void *ctx), void *ctx,
			struct parse_error *err);

#endif
