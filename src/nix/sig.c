/*
 * sig.c - Nix narinfo signatures: key parsing, the fingerprint, Ed25519
 * sign and verify through libcrypto's EVP interface (no crypto of our own).
 */
#include "nix/sig.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "nix/nixhash.h"

#define B64_MAX 176             /* base64 of up to 128 bytes, plus NUL */

static int fail(char *err, size_t errsz, const char *fmt, ...) ATTR_PRINTF(3, 4);

/* Write a reason into err (when given); returns -1. */
static int fail(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err && errsz) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/*
 * Split "name:base64" and decode the payload into out (exactly want
 * bytes).  what names the thing in messages ("public key", ...).
 */
static int split_decode(const char *s, size_t len, char name[SIG_NAME_MAX + 1],
			unsigned char *out, size_t want, const char *what,
			char *err, size_t errsz)
{
	const char *colon = memchr(s, ':', len);
	unsigned char buf[128];
	size_t nlen, got;

	if (!colon)
		return fail(err, errsz, "%s has no 'name:' prefix", what);
	nlen = (size_t)(colon - s);
	if (!nlen)
		return fail(err, errsz, "%s has an empty name", what);
	if (nlen > SIG_NAME_MAX)
		return fail(err, errsz, "%s name is too long", what);
	for (size_t i = 0; i < nlen; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return fail(err, errsz, "%s name contains whitespace or control characters",
				    what);
	if (base64_decode(colon + 1, len - nlen - 1, buf, sizeof(buf), &got))
		return fail(err, errsz, "%s is not valid base64", what);
	if (got != want)
		return fail(err, errsz, "%s is %zu bytes, want %zu", what, got, want);
	memcpy(name, s, nlen);
	name[nlen] = '\0';
	memcpy(out, buf, want);
	return 0;
}

static void crypto_error(char *err, size_t errsz, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[120];

	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	if (err && errsz)
		snprintf(err, errsz, "%s: %s", what, e ? buf : "libcrypto failed");
}

int sig_public_parse(const char *s, size_t len, struct sig_public_key *out,
		     char *err, size_t errsz)
{
	memset(out, 0, sizeof(*out));
	trim_space(&s, &len);
	if (split_decode(s, len, out->name, out->key, SIG_KEY_BYTES, "public key", err, errsz))
		return -1;
	out->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, out->key,
						SIG_KEY_BYTES);
	if (!out->pkey) {
		crypto_error(err, errsz, "public key rejected");
		return -1;
	}
	return 0;
}

void sig_public_release(struct sig_public_key *k)
{
	EVP_PKEY_free(k->pkey);
	memset(k, 0, sizeof(*k));
}

/* Load the seed into an EVP_PKEY and read back its public half. */
static int secret_load(struct sig_secret_key *k, char *err, size_t errsz)
{
	size_t publen = SIG_KEY_BYTES;

	k->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, k->seed,
					       SIG_KEY_BYTES);
	if (!k->pkey) {
		crypto_error(err, errsz, "secret key rejected");
		return -1;
	}
	if (EVP_PKEY_get_raw_public_key(k->pkey, k->pub, &publen) != 1 ||
	    publen != SIG_KEY_BYTES) {
		crypto_error(err, errsz, "cannot derive the public key");
		EVP_PKEY_free(k->pkey);
		k->pkey = NULL;
		return -1;
	}
	return 0;
}

int sig_secret_parse(const char *s, size_t len, struct sig_secret_key *out,
		     char *err, size_t errsz)
{
	unsigned char raw[2 * SIG_KEY_BYTES];

	memset(out, 0, sizeof(*out));
	trim_space(&s, &len);
	if (split_decode(s, len, out->name, raw, sizeof(raw), "secret key", err, errsz))
		return -1;
	memcpy(out->seed, raw, SIG_KEY_BYTES);
	if (secret_load(out, err, errsz))
		goto fail;
	if (memcmp(out->pub, raw + SIG_KEY_BYTES, SIG_KEY_BYTES)) {
		fail(err, errsz, "%s", "secret key: its public half does not match its seed");
		goto fail;
	}
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
fail:
	OPENSSL_cleanse(raw, sizeof(raw));
	sig_secret_release(out);
	return -1;
}

int sig_secret_from_seed(const char *name, const unsigned char seed[SIG_KEY_BYTES],
			 struct sig_secret_key *out, char *err, size_t errsz)
{
	size_t n = strlen(name);

	memset(out, 0, sizeof(*out));
	if (!n || n > SIG_NAME_MAX)
		return fail(err, errsz, "key name '%s' must have 1 to 128 characters", name);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] <= ' ' || name[i] == ':' || name[i] == 0x7f)
			return fail(err, errsz,
				    "key name '%s' must not contain ':', spaces or control characters",
				    name);
	memcpy(out->name, name, n + 1);
	memcpy(out->seed, seed, SIG_KEY_BYTES);
	if (secret_load(out, err, errsz)) {
		sig_secret_release(out);
		return -1;
	}
	return 0;
}

void sig_secret_release(struct sig_secret_key *k)
{
	EVP_PKEY_free(k->pkey);
	OPENSSL_cleanse(k, sizeof(*k));
}

static void add_named_b64(struct strbuf *sb, const char *name, const unsigned char *b,
			  size_t n)
{
	char out[B64_MAX];

	strbuf_addstr(sb, name);
	strbuf_addch(sb, ':');
	base64_encode(b, n, out);
	strbuf_addstr(sb, out);
}

void sig_secret_format(const struct sig_secret_key *k, struct strbuf *sb)
{
	unsigned char raw[2 * SIG_KEY_BYTES];

	memcpy(raw, k->seed, SIG_KEY_BYTES);
	memcpy(raw + SIG_KEY_BYTES, k->pub, SIG_KEY_BYTES);
	add_named_b64(sb, k->name, raw, sizeof(raw));
	OPENSSL_cleanse(raw, sizeof(raw));
}

void sig_public_format(const struct sig_public_key *k, struct strbuf *sb)
{
	add_named_b64(sb, k->name, k->key, SIG_KEY_BYTES);
}

void sig_secret_format_public(const struct sig_secret_key *k, struct strbuf *sb)
{
	add_named_b64(sb, k->name, k->pub, SIG_KEY_BYTES);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int sig_fingerprint(struct strbuf *sb, const char *store_dir, const char *store_path,
		    const char *nar_hash, uint64_t nar_size,
		    const char *const *refs, size_t nrefs, char *err, size_t errsz)
{
	char hbuf[NIXHASH_FMT_MAX];
	struct nixhash h;
	const char **sorted = NULL;
	int rc = -1;

	if (nixhash_parse(nar_hash, strlen(nar_hash), &h) || h.algo != HASH_SHA256) {
		fail(err, errsz, "NarHash '%s' is not a sha256 hash", nar_hash);
		goto out;
	}
	nixhash_format(&h, hbuf, sizeof(hbuf));
	for (size_t i = 0; i < nrefs; i++) {
		if (!store_basename_valid(refs[i], strlen(refs[i]))) {
			fail(err, errsz, "reference '%s' is not a store path basename", refs[i]);
			goto out;
		}
	}
	/* All references share the store dir, so sorting basenames sorts
	 * the full paths the way Nix does. */
	sorted = xmalloc((nrefs ? nrefs : 1) * sizeof(*sorted));
	if (nrefs)
		memcpy(sorted, refs, nrefs * sizeof(*sorted));
	qsort(sorted, nrefs, sizeof(*sorted), cmp_str);
	strbuf_addf(sb, "1;%s;%s;%llu;", store_path, hbuf, (unsigned long long)nar_size);
	for (size_t i = 0; i < nrefs; i++) {
		if (i)
			strbuf_addch(sb, ',');
		strbuf_addstr(sb, store_dir);
		strbuf_addch(sb, '/');
		strbuf_addstr(sb, sorted[i]);
	}
	rc = 0;
out:
	free(sorted);
	return rc;
}

int sig_sign(const struct sig_secret_key *k, const void *msg, size_t len,
	     struct strbuf *sb)
{
	unsigned char sig[SIG_BYTES];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char msgbuf[SIG_ERR_MAX];
	int rc = -1;

	if (!ctx) {
		crypto_error(msgbuf, sizeof(msgbuf), "signing");
		error("%s", msgbuf);
		goto out;
	}
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, msg, len) != 1 || siglen != SIG_BYTES) {
		crypto_error(msgbuf, sizeof(msgbuf), "signing");
		error("%s", msgbuf);
		goto out;
	}
	add_named_b64(sb, k->name, sig, sizeof(sig));
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* Split a signature string; 0 with the name span and the 64 bytes, or -1. */
static int sig_split(const char *s, size_t len, const char **name, size_t *nlen,
		     unsigned char out[SIG_BYTES])
{
	const char *colon = memchr(s, ':', len);
	unsigned char buf[96];
	size_t got;

	if (!colon || colon == s)
		return -1;
	*name = s;
	*nlen = (size_t)(colon - s);
	/* read as Nix reads a signature (base64Decode: up to the first '=') */
	if (nix_base64_decode(colon + 1, len - *nlen - 1, buf, sizeof(buf), &got) ||
	    got != SIG_BYTES)
		return -1;
	memcpy(out, buf, SIG_BYTES);
	return 0;
}

static int ed25519_verify(EVP_PKEY *pkey, const unsigned char sig[SIG_BYTES],
			  const void *msg, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = 0;

	if (ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1)
		ok = EVP_DigestVerify(ctx, sig, SIG_BYTES, msg, len) == 1;
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	return ok;
}

static int name_is(const char *name, size_t nlen, const char *want)
{
	return strlen(want) == nlen && !memcmp(name, want, nlen);
}

enum sig_result sig_verify(const struct sig_public_key *k, const char *sig,
			   size_t siglen, const void *msg, size_t len)
{
	return sig_verify_any(k, 1, sig, siglen, msg, len);
}

enum sig_result sig_verify_any(const struct sig_public_key *keys, size_t nkeys,
			       const char *sig, size_t siglen, const void *msg,
			       size_t len)
{
	unsigned char raw[SIG_BYTES];
	const char *name;
	size_t nlen;
	enum sig_result r = SIG_OTHER_KEY;

	if (sig_split(sig, siglen, &name, &nlen, raw))
		return SIG_MALFORMED;
	for (size_t i = 0; i < nkeys; i++) {
		if (!name_is(name, nlen, keys[i].name))
			continue;
		if (ed25519_verify(keys[i].pkey, raw, msg, len))
			return SIG_VERIFIED;
		r = SIG_BAD;
	}
	return r;
}

const char *sig_result_str(enum sig_result r)
{
	switch (r) {
	case SIG_VERIFIED:
		return "verified";
	case SIG_OTHER_KEY:
		return "other key";
	case SIG_BAD:
		return "bad signature";
	case SIG_MALFORMED:
		return "malformed";
	}
	return "unknown";
}
