/*
 * sig.h - Nix's Ed25519 narinfo signatures, on OpenSSL's libcrypto.
 *
 * Formats (Nix's own):
 *   public key  "name:base64(32-byte key)"
 *   secret key  "name:base64(64 bytes: 32-byte seed, then 32-byte public key)"
 *               (what `nix key generate-secret` writes)
 *   signature   "name:base64(64-byte signature)"  (a narinfo's Sig: value)
 * A signature covers the fingerprint built by sig_fingerprint().
 *
 * Keys own an OpenSSL key object, made once at parse time so signing and
 * verifying many narinfos does not rebuild it: release them with
 * sig_public_release() / sig_secret_release().  Parsers are pure over a
 * (pointer, length) buffer and write a one-line reason into err on failure.
 */
#ifndef CACHEGC_SIG_H
#define CACHEGC_SIG_H

#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

#define SIG_NAME_MAX 128        /* longest key name we accept */
#define SIG_BYTES 64            /* Ed25519 signature */
#define SIG_KEY_BYTES 32        /* Ed25519 public key or seed */
#define SIG_B64_LEN 88          /* base64 of a 64-byte signature */
#define SIG_ERR_MAX 160         /* size of an err buffer that always fits */

struct evp_pkey_st;             /* OpenSSL's EVP_PKEY */

struct sig_public_key {
	char name[SIG_NAME_MAX + 1];
	unsigned char key[SIG_KEY_BYTES];
	struct evp_pkey_st *pkey;
};

struct sig_secret_key {
	char name[SIG_NAME_MAX + 1];
	unsigned char seed[SIG_KEY_BYTES];
	unsigned char pub[SIG_KEY_BYTES];
	struct evp_pkey_st *pkey;
};

/*
 * Parse "name:base64(32 bytes)" (len bytes at s; surrounding whitespace,
 * such as the newline of a key file, is ignored).  Returns 0 and fills
 * *out (release with sig_public_release), or -1 with a reason in err.
 */
int sig_public_parse(const char *s, size_t len, struct sig_public_key *out,
		     char *err, size_t errsz);
void sig_public_release(struct sig_public_key *k);

/*
 * Parse Nix's secret key "name:base64(seed || public key)".  The public
 * half must match the seed.  Returns 0 and fills *out (release with
 * sig_secret_release), or -1 with a reason in err.
 */
int sig_secret_parse(const char *s, size_t len, struct sig_secret_key *out,
		     char *err, size_t errsz);
/*
 * Make a secret key from a 32-byte Ed25519 seed (deterministic; the
 * generator derives its seed from --seed).  name must be 1..SIG_NAME_MAX
 * characters without ':' or whitespace.  Returns 0, or -1 with err set.
 */
int sig_secret_from_seed(const char *name, const unsigned char seed[SIG_KEY_BYTES],
			 struct sig_secret_key *out, char *err, size_t errsz);
void sig_secret_release(struct sig_secret_key *k);

/* Append the key in Nix's text form (no newline) to sb. */
void sig_secret_format(const struct sig_secret_key *k, struct strbuf *sb);
void sig_public_format(const struct sig_public_key *k, struct strbuf *sb);
/* Append the public half of k in Nix's text form ("name:base64") to sb. */
void sig_secret_format_public(const struct sig_secret_key *k, struct strbuf *sb);

/*
 * Append to sb the fingerprint Nix signs:
 *   1;<store_path>;<nar_hash as sha256:nix32>;<nar_size>;<refs>
 * where refs are store_dir + "/" + each basename in refs[0..nrefs),
 * sorted and joined by ",".  store_path is the full path.  nar_hash may
 * be in any form nixhash_parse() takes but must be sha256.  Returns 0, or
 * -1 (sb unchanged) with a reason in err when nar_hash is not a sha256
 * hash or a reference is not a valid "<hash>-<name>".
 */
int sig_fingerprint(struct strbuf *sb, const char *store_dir, const char *store_path,
		    const char *nar_hash, uint64_t nar_size,
		    const char *const *refs, size_t nrefs, char *err, size_t errsz);

/*
 * Sign msg[0..len) and append "name:base64(signature)" to sb.  Returns 0,
 * or -1 when libcrypto fails (reported with error()).
 */
int sig_sign(const struct sig_secret_key *k, const void *msg, size_t len,
	     struct strbuf *sb);

enum sig_result {
	SIG_VERIFIED,           /* made by this key over this message */
	SIG_OTHER_KEY,          /* well-formed, names another key */
	SIG_BAD,                /* names this key but does not verify */
	SIG_MALFORMED,          /* no "name:", bad base64 or not 64 bytes */
};

/*
 * Check a "name:base64sig" string (siglen bytes at sig) against k over
 * msg[0..len).  Malformed is reported before the name is compared.
 */
enum sig_result sig_verify(const struct sig_public_key *k, const char *sig,
			   size_t siglen, const void *msg, size_t len);
/*
 * The same against several keys: SIG_VERIFIED when the key named by the
 * signature verifies it, SIG_BAD when that key exists but does not,
 * SIG_OTHER_KEY when no key has that name, SIG_MALFORMED.
 */
enum sig_result sig_verify_any(const struct sig_public_key *keys, size_t nkeys,
			       const char *sig, size_t siglen, const void *msg,
			       size_t len);
/* A static lowercase word for r: "verified", "other key", ... */
const char *sig_result_str(enum sig_result r);

#endif
