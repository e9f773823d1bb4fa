/*
 * narinfo.h - the narinfo and nix-cache-info parsers.
 *
 * Pure functions over a (pointer, length) buffer: no I/O, no globals, safe
 * on any bytes (fuzzed by tests/fuzz/fuzz_narinfo.c).  A successful parse
 * fills a struct narinfo whose strings are owned by it; narinfo_release()
 * frees them.  On failure the struct is left released and err says which
 * line and why.
 *
 * nix_lex_next() is Nix's own lexer, byte for byte, for code that must
 * read a narinfo exactly as Nix does (the eviction scan).
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
	unsigned odd;         /* NARINFO_ODD_* bits: forms Nix accepts, no Nix writes */
	unsigned odd_line;    /* physical line of the first of them */
	void *mem;            /* the blocks all the strings and arrays above
	                         live in: narinfo_release() frees them; never
	                         free or realloc a field on its own */
};

#define NARINFO_ODD_SEPARATOR 0x01  /* a value not after ": " */
#define NARINFO_ODD_REPEATED  0x02  /* a key (not Sig) given again */
#define NARINFO_ODD_SIG       0x04  /* a Sig no key can check: kept, malformed */
#define NARINFO_ODD_FORM      0x08  /* a hash not in nix32, a StorePath not
                                       canonical, "+5" or "05", fixed:git CA,
                                       bytes kept as '?' (control characters,
                                       NUL, not UTF-8: Sig, Compression,
                                       System) */
#define NARINFO_ODD_JUNK      0x10  /* a colonless line or an empty key */

/* A phrase for one NARINFO_ODD_* bit (static), or NULL. */
const char *narinfo_odd_name(unsigned bit);

struct narinfo_error {
	unsigned line;        /* 1-based line of the fault, 0 for the whole file */
	char msg[160];
};

/*
 * Parse a narinfo as Nix 2.8 does (NarInfo::NarInfo; narinfo.c says how
 * each key is read and where cachegc differs on purpose).  store_dir is
 * the cache's StoreDir ("/nix/store"); the StorePath, canonicalized, must
 * lie directly in it.  When expect_hash is non-NULL (the 32 chars of the
 * file name), a StorePath with another hash is refused, as Nix's
 * goodStorePath() does.  Returns 0 on success, -1 with *err filled.
 *
 * Accepted, as by Nix: unknown keys, keys given twice (the last value
 * counts; Sig accumulates), any Sig value (flagged NARINFO_ODD_SIG when
 * no key could check it), References empty or naming the path itself,
 * "unknown-deriver", an empty CA.  Refused, as by Nix: no final newline,
 * text after the last newline without a colon, a missing StorePath or
 * NarHash, an empty URL, NarSize 0, a bad hash, size, path or CA, a second
 * non-empty References or a second CA.
 */
int narinfo_parse(const char *buf, size_t len, const char *store_dir,
		  const char *expect_hash, struct narinfo *out,
		  struct narinfo_error *err);
void narinfo_release(struct narinfo *ni);

struct nix_cache_info {
	char *store_dir;      /* "/nix/store" when absent */
	int want_mass_query;  /* 1 for "1", 0 for any other value, -1 when absent */
	int has_priority;     /* 0 when absent */
	int priority;         /* any int, as Nix's stoi reads it (-1 when absent) */
};

/* Parse nix-cache-info as Nix does (see narinfo.c).  Returns 0 or -1 with
 * *err filled.  Free with nix_cache_info_release(). */
int nix_cache_info_parse(const char *buf, size_t len, struct nix_cache_info *out,
			 struct narinfo_error *err);
void nix_cache_info_release(struct nix_cache_info *ci);

/*
 * Nix's own narinfo lexer, the first half of NarInfo::NarInfo() in
 * src/libstore/nar-info.cc (the same in Nix 2.8 and current Nix), kept
 * apart from narinfo_parse() so that code that must read a narinfo
 * exactly as Nix does (eviction's protection scan, a strict parser) shares
 * it.  Nix does not read lines: from pos it finds the next ':' (anywhere,
 * past newlines too), takes the bytes before it as the key, skips exactly
 * one byte after the colon whatever it is (a space, a tab, a newline, the
 * first byte of the value), and takes the value up to the next '\n' found
 * from there.  So "URL:\tx\n" has the value "x", "URL:nar/x\n" the value
 * "ar/x", "URL:x\n" the value "", "Key:\nURL: x\n" the key "Key" with the
 * value "URL: x", and a line without ':' becomes part of the next key
 * ("junk\nURL").  Nothing is trimmed: a '\r' before the
 * newline stays in the value.  Keys may repeat; Nix's reader lets the last
 * URL win.  Nix refuses the whole file when no ':' follows (a trailing
 * blank line counts) or no '\n' ends the last value.
 *
 * Pure: no allocation, no I/O, any bytes (NUL too) are fine.
 */
struct nix_lexer {
	const char *buf;
	size_t len;
	size_t pos;           /* where the next entry starts; after a refusal,
	                         where the bytes Nix cannot lex start */
	unsigned line;        /* physical line (1-based) at pos */
	unsigned entry;       /* entries returned so far */
};

struct nix_entry {
	const char *key;      /* into the buffer; may hold '\n' */
	size_t klen;
	const char *val;      /* into the buffer */
	size_t vlen;
	unsigned line;        /* physical line where the key starts */
	unsigned entry;       /* 1-based; current Nix's "at line N" counts these */
};

#define NIX_LEX_END 0          /* every byte lexed: Nix accepts the framing */
#define NIX_LEX_ENTRY 1        /* *e holds the next entry */
#define NIX_LEX_NO_COLON (-1)  /* Nix: "expecting ':'" */
#define NIX_LEX_NO_NEWLINE (-2)/* Nix: "expecting '\n'" */

void nix_lex_init(struct nix_lexer *lx, const char *buf, size_t len);

/* The next entry (NIX_LEX_ENTRY), NIX_LEX_END, or one of the refusals,
 * after which it keeps returning the same refusal. */
int nix_lex_next(struct nix_lexer *lx, struct nix_entry *e);

/* Nix's words for a refusal ("expecting ':'", static), or NULL. */
const char *nix_lex_strerror(int rc);

/* Serialize ni back to narinfo text (keys in Nix's order) into sb-like
 * malloc'd buffer; the caller frees the result.  Used by the generator and
 * round-trip tests. */
char *narinfo_format(const struct narinfo *ni);

#endif
