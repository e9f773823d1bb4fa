/*
 * narinfo.h - the narinfo and nix-cache-info parsers.
 *
 * Pure functions over a (pointer, length) buffer: no I/O, no globals, safe
 * on any bytes (fuzzed by tests/fuzz/fuzz_narinfo.c).  A successful parse
 * fills a struct narinfo whose strings are owned by it; narinfo_release()
 * frees them.  On failure the struct is left released and err says which
 * line and why.
 */
#ifndef CACHEGC_NARINFO_H
#define CACHEGC_NARINFO_H

#include <stddef.h>
#include <stdint.h>

#include "nix/nixhash.h"

/* Inputs larger than this are refused before parsing. */
#define NARINFO_MAX_BYTES (1024 * 1024)

struct narinfo {
	char *store_path;     /* full path, "/nix/store/<hash>-<name>" */
	char hash[STORE_HASH_LEN + 1]; /* the 32-char store-path hash */
	const char *name;     /* points into store_path after "<hash>-" */
	char *url;            /* relative URL of the NAR file */
	char *compression;    /* "bzip2" when the key is absent */
	char *file_hash;      /* normal form "sha256:<nix32>", or NULL */
	int64_t file_size;    /* -1 when absent */
	char *nar_hash;       /* normal form "sha256:<nix32>" (required) */
	int64_t nar_size;     /* > 0 (required) */
	char **refs;          /* basenames "<hash>-<name>", may include self */
	size_t nrefs;
	char *deriver;        /* basename of the .drv; NULL when absent or
	                         "unknown-deriver" */
	char **sigs;          /* "keyname:base64sig" in file order */
	size_t nsigs;
	char *ca;             /* content address, or NULL */
	char *system;         /* Attic's System:, or NULL */
};

struct narinfo_error {
	unsigned line;        /* 1-based line of the fault, 0 for the whole file */
	char msg[160];
};

/*
 * Parse a narinfo.  store_dir is the cache's StoreDir ("/nix/store"); the
 * StorePath must lie directly in it.  When expect_hash is non-NULL (the
 * 32 chars of the file name), a StorePath with another hash is refused.
 * Returns 0 on success, -1 with *err filled.
 *
 * Rules (Nix's): unknown keys are ignored; Compression defaults to bzip2;
 * References may be empty and may name the path itself; Deriver may be
 * "unknown-deriver"; Sig may repeat.  StorePath, URL, NarHash and
 * NarSize > 0 are required.  A key other than Sig given twice, a line
 * without ": ", a NUL byte or bytes that are not UTF-8 are errors.
 */
int narinfo_parse(const char *buf, size_t len, const char *store_dir,
		  const char *expect_hash, struct narinfo *out,
		  struct narinfo_error *err);
void narinfo_release(struct narinfo *ni);

struct nix_cache_info {
	char *store_dir;      /* "/nix/store" when absent */
	int want_mass_query;  /* -1 when absent */
	int priority;         /* -1 when absent */
};

/* Parse nix-cache-info.  Returns 0 or -1 with *err filled.  Free with
 * nix_cache_info_release(). */
int nix_cache_info_parse(const char *buf, size_t len, struct nix_cache_info *out,
			 struct narinfo_error *err);
void nix_cache_info_release(struct nix_cache_info *ci);

/* Serialize ni back to narinfo text (keys in Nix's order) into sb-like
 * malloc'd buffer; the caller frees the result.  Used by the generator and
 * round-trip tests. */
char *narinfo_format(const struct narinfo *ni);

#endif
