/*
 * ca.h - content addresses: the CA field of a narinfo ("text:sha256:...",
 * "fixed:[r:]ALGO:HASH") and the store path Nix makes from one, so a
 * content-addressed path can be trusted without a signature, as Nix does.
 *
 * Layer: nix (pure: buffers in, results out; SHA-256 from libcrypto).
 */
#ifndef CACHEGC_CA_H
#define CACHEGC_CA_H

#include <stddef.h>

#include "nix/nixhash.h"

enum ca_method {
	CA_TEXT,        /* "text:sha256:H": builtins.toFile, derivations */
	CA_FLAT,        /* "fixed:ALGO:H": a flat file's hash */
	CA_RECURSIVE,   /* "fixed:r:ALGO:H": a NAR's hash (builtins.path) */
};

struct content_address {
	enum ca_method method;
	struct nixhash hash;
};

/* Parse s[0..len) into *out.  0, or -1 for any form Nix 2.8 does not
 * make (an unknown method, a bad hash, text with another algorithm). */
int ca_parse(const char *s, size_t len, struct content_address *out);

/*
 * 1 when the CA field ca, for the path store_dir/base whose references
 * are refs[0..nrefs) (base names, any order, may include base itself),
 * names that same path: Nix's makeTextPath / makeFixedOutputPath give
 * base's hash.  0 otherwise, unknown or malformed forms included.
 */
int ca_path_matches(const char *store_dir, const char *base, const char *ca,
		    const char *const *refs, size_t nrefs);

#endif
