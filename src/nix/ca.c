/*
 * ca.c - content addresses and the store paths Nix makes from them
 * (libstore's makeTextPath and makeFixedOutputPath, as of Nix 2.8).
 * See ca.h.
 */
#include "nix/ca.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "lib/util.h"

static void sha256(const void *data, size_t len, unsigned char out[32])
{
	unsigned int olen = 32;

	if (EVP_Digest(data, len, out, &olen, EVP_sha256(), NULL) != 1)
		die("libcrypto cannot compute SHA-256");
}

static void add_hex(struct strbuf *sb, const unsigned char *b, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		strbuf_addch(sb, hex[b[i] >> 4]);
		strbuf_addch(sb, hex[b[i] & 15]);
	}
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int ca_parse(const char *s, size_t len, struct content_address *out)
{
	if (len > 5 && !memcmp(s, "text:", 5)) {
		out->method = CA_TEXT;
		s += 5, len -= 5;
	} else if (len > 6 && !memcmp(s, "fixed:", 6)) {
		out->method = CA_FLAT;
		s += 6, len -= 6;
		if (len >= 2 && !memcmp(s, "r:", 2)) {
			out->method = CA_RECURSIVE;
			s += 2, len -= 2;
		}
	} else {
		return -1;
	}
	if (nixhash_parse(s, len, &out->hash))
		return -1;
	/* Nix makes text paths from SHA-256 only. */
	if (out->method == CA_TEXT && out->hash.algo != HASH_SHA256)
		return -1;
	return 0;
}

/*
 * Nix's makeStorePath: the store hash of "TYPE:sha256:HEX:STOREDIR:NAME",
 * SHA-256 folded to 20 bytes, in nix32.  inner is a sha256 digest.
 */
static void make_store_hash(const char *type, const unsigned char inner[32],
			    const char *store_dir, const char *name, char out[STORE_HASH_LEN])
{
	struct strbuf s = STRBUF_INIT;
	unsigned char h[32], c[20] = {0};

	strbuf_addstr(&s, type);
	strbuf_addstr(&s, ":sha256:");
	add_hex(&s, inner, 32);
	strbuf_addf(&s, ":%s:%s", store_dir, name);
	sha256(s.buf, s.len, h);
	for (size_t i = 0; i < 32; i++)
		c[i % 20] ^= h[i];
	nix32_encode(c, 20, out);
	strbuf_release(&s);
}

int ca_path_matches(const char *store_dir, const char *base, const char *ca,
		    const char *const *refs, size_t nrefs)
{
	struct strbuf type = STRBUF_INIT;
	struct content_address a;
	const char **others = NULL;
	size_t nothers = 0;
	int self = 0, ok = 0;
	unsigned char inner[32];
	char got[STORE_HASH_LEN];
	const char *name;

	if (strlen(base) < STORE_HASH_LEN + 2 || base[STORE_HASH_LEN] != '-')
		return 0;
	name = base + STORE_HASH_LEN + 1;
	if (ca_parse(ca, strlen(ca), &a))
		return 0;
	others = xmalloc((nrefs ? nrefs : 1) * sizeof(*others));
	for (size_t i = 0; i < nrefs; i++) {
		if (!strcmp(refs[i], base))
			self = 1;
		else
			others[nothers++] = refs[i];
	}
	qsort(others, nothers, sizeof(*others), cmp_cstr);

	if (a.method == CA_TEXT || (a.method == CA_RECURSIVE && a.hash.algo == HASH_SHA256)) {
		/* makeTextPath / makeFixedOutputPath("source"): the type
		 * lists the references; a text path cannot refer to itself. */
		if (a.method == CA_TEXT && self)
			goto out;
		strbuf_addstr(&type, a.method == CA_TEXT ? "text" : "source");
		for (size_t i = 0; i < nothers; i++)
			strbuf_addf(&type, ":%s/%s", store_dir, others[i]);
		if (self)
			strbuf_addstr(&type, ":self");
		memcpy(inner, a.hash.bytes, 32);
	} else {
		/* Any other fixed output: "output:out" over the hash of
		 * "fixed:out:[r:]ALGO:HEX:"; Nix allows no references. */
		if (nothers || self)
			goto out;
		strbuf_addf(&type, "fixed:out:%s%s:", a.method == CA_RECURSIVE ? "r:" : "",
			    nixhash_algo_name(a.hash.algo));
		add_hex(&type, a.hash.bytes, a.hash.len);
		strbuf_addch(&type, ':');
		sha256(type.buf, type.len, inner);
		strbuf_reset(&type);
		strbuf_addstr(&type, "output:out");
	}
	make_store_hash(type.buf, inner, store_dir, name, got);
	ok = !memcmp(got, base, STORE_HASH_LEN);
out:
	free(others);
	strbuf_release(&type);
	return ok;
}
