/*
 * nixhash.h - Nix's hash encodings (nix32, base16, base64, SRI) and
 * store-path syntax checks.  Pure functions over buffers, no allocation.
 *
 * The normal form cachegc stores is "<algo>:<nix32>", which is what
 * `nix path-info --json` prints for narHash and what the signature
 * fingerprint uses.
 */
#ifndef CACHEGC_NIXHASH_H
#define CACHEGC_NIXHASH_H

#include <stddef.h>

enum hash_algo { HASH_MD5, HASH_SHA1, HASH_SHA256, HASH_SHA512 };

struct nixhash {
	enum hash_algo algo;
	unsigned len;              /* digest size in bytes */
	unsigned char bytes[64];
};

#define NIX32_ALPHABET "0123456789abcdfghijklmnpqrsvwxyz"
#define STORE_HASH_LEN 32      /* nix32 characters in a store-path hash */
#define STORE_NAME_MAX 211

/* Number of nix32 characters that encode n bytes. */
size_t nix32_len(size_t nbytes);
/* Encode n bytes as nix32 into out (nix32_len(n) chars, no NUL). */
void nix32_encode(const unsigned char *in, size_t n, char *out);
/* Decode exactly nix32_len(n) chars into n bytes.  Returns 0, or -1 on a
 * bad character or non-zero padding bits. */
int nix32_decode(const char *in, size_t len, unsigned char *out, size_t n);

/* Standard base64 with padding.  encode writes base64_len(n) chars and a
 * NUL; decode returns 0 and sets *outlen, or -1 on bad input or when the
 * output would exceed outcap. */
size_t base64_len(size_t n);
void base64_encode(const unsigned char *in, size_t n, char *out);
int base64_decode(const char *in, size_t len, unsigned char *out, size_t outcap,
		  size_t *outlen);

/* Nix's own base64Decode(), as it reads signatures and base64 hashes:
 * it stops at the first '=', skips '\n', ignores leftover bits (no
 * padding needed, non-canonical bits fine) and refuses any other byte
 * outside the alphabet.  0 with *outlen, or -1 on a bad byte or more than
 * outcap bytes. */
int nix_base64_decode(const char *in, size_t len, unsigned char *out, size_t outcap,
		      size_t *outlen);
/* Parse "algo:nix32", "algo:base16", "algo:base64" or SRI "algo-base64"
 * (len bytes at s, no NUL needed).  Returns 0 or -1. */
int nixhash_parse(const char *s, size_t len, struct nixhash *out);
/* Write the normal form "algo:nix32" plus NUL into buf.  Returns its
 * length, or 0 when bufsz is too small (NIXHASH_FMT_MAX always fits). */
#define NIXHASH_FMT_MAX 112
size_t nixhash_format(const struct nixhash *h, char *buf, size_t bufsz);
/* Write SRI "algo-base64" plus NUL into buf, the form `nix path-info
 * --json` prints since Nix 2.19 (and 2.8 too).  Returns its length, or 0
 * when bufsz is too small (NIXHASH_FMT_MAX always fits). */
size_t nixhash_format_sri(const struct nixhash *h, char *buf, size_t bufsz);

/* 1 when every one of the len bytes of s is a nix32 digit. */
int nix32_digits_valid(const char *s, size_t len);

/* 1 when s[0..len) is a valid 32-char nix32 store-path hash. */
int store_hash_valid(const char *s, size_t len);
/* 1 when s[0..len) is a valid store-path name (letters, digits, "+-._?=",
 * not starting with '.', 1..211 chars). */
int store_name_valid(const char *s, size_t len);
/* 1 when s[0..len) is "<hash>-<name>" with both parts valid. */
int store_basename_valid(const char *s, size_t len);

/* "md5", "sha1", "sha256", "sha512" ("?" for no algorithm). */
const char *nixhash_algo_name(enum hash_algo a);

#endif
