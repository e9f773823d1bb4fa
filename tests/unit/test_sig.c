/*
 * test_sig.c - signatures against real Nix: the fixtures under
 * tests/fixtures/sig/ were made by Nix 2.8 (`nix key generate-secret`,
 * `nix copy --to file://...?secret-key=...`, see README there), so these
 * tests check our fingerprint, verify and sign against Nix's own bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "nix/nixhash.h"
#include "nix/sig.h"
#include "lib/util.h"

static char *fixture(const char *name)
{
	const char *root = getenv("ROOT");
	struct strbuf path = STRBUF_INIT;
	char *buf = NULL;
	size_t len;

	strbuf_addf(&path, "%s/tests/fixtures/sig/%s", root && *root ? root : ".", name);
	if (read_file_capped(path.buf, 1 << 20, &buf, &len)) {
		fprintf(stderr, "cannot read fixture '%s' (run from the source root or set ROOT)\n",
			path.buf);
		buf = xstrdup("");
	}
	strbuf_release(&path);
	return buf;
}

/* The fields of a narinfo the fingerprint needs, parsed naively here so
 * this test does not depend on the narinfo parser. */
struct ni {
	char *text;
	char store_path[256];
	char nar_hash[128];
	unsigned long long nar_size;
	char refs_line[1024];
	const char *refs[8];
	size_t nrefs;
	char sig[256];
};

static void field(const char *text, const char *key, char *out, size_t outsz)
{
	size_t kl = strlen(key);
	const char *p = text;

	out[0] = '\0';
	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t ll = eol ? (size_t)(eol - p) : strlen(p);
		if (ll >= kl + 2 && !memcmp(p, key, kl) && !memcmp(p + kl, ": ", 2)) {
			size_t vl = ll - kl - 2;
			if (vl >= outsz)
				vl = outsz - 1;
			memcpy(out, p + kl + 2, vl);
			out[vl] = '\0';
			return;
		}
		p = eol ? eol + 1 : NULL;
	}
}

static void load_ni(struct ni *ni, const char *name)
{
	char num[64], *s;

	memset(ni, 0, sizeof(*ni));
	ni->text = fixture(name);
	field(ni->text, "StorePath", ni->store_path, sizeof(ni->store_path));
	field(ni->text, "NarHash", ni->nar_hash, sizeof(ni->nar_hash));
	field(ni->text, "NarSize", num, sizeof(num));
	ni->nar_size = strtoull(num, NULL, 10);
	field(ni->text, "Sig", ni->sig, sizeof(ni->sig));
	field(ni->text, "References", ni->refs_line, sizeof(ni->refs_line));
	for (s = ni->refs_line; *s && ni->nrefs < 8;) {
		ni->refs[ni->nrefs++] = s;
		s = strchr(s, ' ');
		if (!s)
			break;
		*s++ = '\0';
	}
}

static struct sig_public_key load_public(const char *name)
{
	struct sig_public_key k;
	char err[SIG_ERR_MAX];
	char *text = fixture(name);

	if (sig_public_parse(text, strlen(text), &k, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", name, err);
		memset(&k, 0, sizeof(k));
	}
	free(text);
	return k;
}

static char *fingerprint(const struct ni *ni, unsigned long long nar_size)
{
	struct strbuf sb = STRBUF_INIT;
	char err[SIG_ERR_MAX];

	if (sig_fingerprint(&sb, "/nix/store", ni->store_path, ni->nar_hash, nar_size,
			    ni->refs, ni->nrefs, err, sizeof(err)))
		fprintf(stderr, "fingerprint: %s\n", err);
	return strbuf_detach(&sb);
}

TEST(fingerprint_format)
{
	struct ni ni;
	char *fp;

	load_ni(&ni, "fixture.narinfo");
	CHECK_INT(ni.nrefs, 2);
	fp = fingerprint(&ni, ni.nar_size);
	CHECK_STR(fp, "1;/nix/store/vzna96354hxh1ivwnm6ay9lzkpj05wmk-cachegc-sig-fixture;"
		      "sha256:057xrdy8iwkyqqr974qnhni7mbvpwms28vf110cw8y2a7pmsnk38;592;"
		      "/nix/store/b6i721jzc91a1l65zbwbzd06c2kk60zi-cachegc-sig-dep,"
		      "/nix/store/vzna96354hxh1ivwnm6ay9lzkpj05wmk-cachegc-sig-fixture");
	free(fp);
	free(ni.text);
}

TEST(fingerprint_sorts_and_normalizes)
{
	struct strbuf sb = STRBUF_INIT;
	char err[SIG_ERR_MAX];
	const char *refs[] = {
		"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz-b",
		"00000000000000000000000000000000-a",
	};
	/* sha256 of "" in hex, and the same in nix32. */
	const char *hex = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

	CHECK_INT(sig_fingerprint(&sb, "/nix/store", "/nix/store/p", hex, 8, refs, 2, err,
				  sizeof(err)), 0);
	CHECK_STR(sb.buf, "1;/nix/store/p;sha256:0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73;8;"
			  "/nix/store/00000000000000000000000000000000-a,"
			  "/nix/store/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz-b");
	strbuf_reset(&sb);
	CHECK_INT(sig_fingerprint(&sb, "/nix/store", "/nix/store/p", hex, 8, NULL, 0, err,
				  sizeof(err)), 0);
	CHECK_STR(sb.buf, "1;/nix/store/p;sha256:0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73;8;");
	strbuf_reset(&sb);
	CHECK_INT(sig_fingerprint(&sb, "/nix/store", "/nix/store/p",
				  "sha1:0000000000000000000000000000000000000000", 8, NULL, 0,
				  err, sizeof(err)), -1);
	CHECK(strstr(err, "sha256") != NULL);
	CHECK_INT(sb.len, 0);
	refs[0] = "not-a-basename";
	CHECK_INT(sig_fingerprint(&sb, "/nix/store", "/nix/store/p", hex, 8, refs, 2, err,
				  sizeof(err)), -1);
	CHECK(strstr(err, "not-a-basename") != NULL);
	strbuf_release(&sb);
}

TEST(verify_nix_signatures)
{
	struct sig_public_key pub = load_public("test.public");
	static const char *const files[] = {"fixture.narinfo", "dep.narinfo"};

	CHECK_STR(pub.name, "cachegc-test-1");
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		struct ni ni;
		char *fp;

		load_ni(&ni, files[i]);
		fp = fingerprint(&ni, ni.nar_size);
		CHECK_INT(sig_verify(&pub, ni.sig, strlen(ni.sig), fp, strlen(fp)), SIG_VERIFIED);
		free(fp);
		/* One byte of NarSize changed: 592 -> 593, 288 -> 289. */
		fp = fingerprint(&ni, ni.nar_size + 1);
		CHECK_INT(sig_verify(&pub, ni.sig, strlen(ni.sig), fp, strlen(fp)), SIG_BAD);
		free(fp);
		free(ni.text);
	}
	sig_public_release(&pub);
}

TEST(verify_rejects_other_keys)
{
	struct sig_public_key other = load_public("other.public");
	struct sig_public_key pub = load_public("test.public");
	struct sig_public_key impostor, keys[2];
	struct strbuf sb = STRBUF_INIT;
	char err[SIG_ERR_MAX];
	char *text = fixture("other.public");
	struct ni ni;
	char *fp;

	load_ni(&ni, "fixture.narinfo");
	fp = fingerprint(&ni, ni.nar_size);
	CHECK_STR(other.name, "cachegc-other-1");
	CHECK_INT(sig_verify(&other, ni.sig, strlen(ni.sig), fp, strlen(fp)), SIG_OTHER_KEY);

	/* Another key under the signer's name: a bad signature. */
	strbuf_addstr(&sb, "cachegc-test-1");
	strbuf_addstr(&sb, strchr(text, ':'));
	CHECK_INT(sig_public_parse(sb.buf, sb.len, &impostor, err, sizeof(err)), 0);
	CHECK_INT(sig_verify(&impostor, ni.sig, strlen(ni.sig), fp, strlen(fp)), SIG_BAD);

	/* Several trusted keys: the named one decides. */
	keys[0] = other;
	keys[1] = pub;
	CHECK_INT(sig_verify_any(keys, 2, ni.sig, strlen(ni.sig), fp, strlen(fp)), SIG_VERIFIED);
	keys[1] = impostor;
	CHECK_INT(sig_verify_any(keys, 2, ni.sig, strlen(ni.sig), fp, strlen(fp)), SIG_BAD);
	CHECK_INT(sig_verify_any(keys, 1, ni.sig, strlen(ni.sig), fp, strlen(fp)), SIG_OTHER_KEY);
	CHECK_STR(sig_result_str(SIG_BAD), "bad signature");

	free(fp);
	free(ni.text);
	free(text);
	strbuf_release(&sb);
	sig_public_release(&impostor);
	sig_public_release(&pub);
	sig_public_release(&other);
}

TEST(verify_malformed)
{
	struct sig_public_key pub = load_public("test.public");
	static const char *const bad[] = {
		"",
		"no-colon-here",
		":Zy1qcM/GtykwUO2sqUqoidvCeHIwaetCLcY9yRNPhjJNqM58M1glGM5OuZwnYSeboArmzHKAbeMfP8NaDhUUBw==",
		"cachegc-test-1:not base64!",
		/* 63 bytes */
		"cachegc-test-1:Zy1qcM/GtykwUO2sqUqoidvCeHIwaetCLcY9yRNPhjJNqM58M1glGM5OuZwnYSeboArmzHKAbeMfP8NaDhUU",
		/* 48 bytes */
		"cachegc-test-1:Zy1qcM/GtykwUO2sqUqoidvCeHIwaetCLcY9yRNPhjJNqM58M1glGM5OuZwnYSeb",
		/* 66 bytes */
		"cachegc-test-1:Zy1qcM/GtykwUO2sqUqoidvCeHIwaetCLcY9yRNPhjJNqM58M1glGM5OuZwnYSeboArmzHKAbeMfP8NaDhUUBwAA",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		enum sig_result r = sig_verify(&pub, bad[i], strlen(bad[i]), "x", 1);
		if (r != SIG_MALFORMED)
			fprintf(stderr, "case %zu: %s\n", i, sig_result_str(r));
		CHECK_INT(r, SIG_MALFORMED);
	}
	sig_public_release(&pub);
}

TEST(sign_matches_nix)
{
	struct sig_secret_key sec;
	struct sig_public_key pub = load_public("test.public");
	struct strbuf sb = STRBUF_INIT;
	char err[SIG_ERR_MAX];
	char *text = fixture("test.secret");
	static const char *const files[] = {"fixture.narinfo", "dep.narinfo"};

	CHECK_INT(sig_secret_parse(text, strlen(text), &sec, err, sizeof(err)), 0);
	CHECK_STR(sec.name, "cachegc-test-1");
	CHECK(!memcmp(sec.pub, pub.key, SIG_KEY_BYTES));
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		struct ni ni;
		char *fp;

		load_ni(&ni, files[i]);
		fp = fingerprint(&ni, ni.nar_size);
		strbuf_reset(&sb);
		CHECK_INT(sig_sign(&sec, fp, strlen(fp), &sb), 0);
		/* Ed25519 is deterministic: byte for byte what nix copy wrote. */
		CHECK_STR(sb.buf, ni.sig);
		CHECK_INT(sig_verify(&pub, sb.buf, sb.len, fp, strlen(fp)), SIG_VERIFIED);
		free(fp);
		free(ni.text);
	}
	/* The key prints back exactly as Nix wrote it. */
	strbuf_reset(&sb);
	sig_secret_format(&sec, &sb);
	CHECK_STR(sb.buf, text);
	free(text);
	text = fixture("test.public");
	strbuf_reset(&sb);
	sig_secret_format_public(&sec, &sb);
	CHECK_STR(sb.buf, text);
	strbuf_reset(&sb);
	sig_public_format(&pub, &sb);
	CHECK_STR(sb.buf, text);
	free(text);
	strbuf_release(&sb);
	sig_secret_release(&sec);
	sig_public_release(&pub);
}

TEST(key_parse_errors)
{
	struct sig_public_key pub;
	struct sig_secret_key sec;
	char err[SIG_ERR_MAX];
	char *secret = fixture("test.secret");
	char *bad;

	CHECK_INT(sig_public_parse("byKfKsBzH+cjzUg62JQNMo4M2YJH9EgZZNTAAY9qTM0=", 44, &pub, err,
				   sizeof(err)), -1);
	CHECK_STR(err, "public key has no 'name:' prefix");
	CHECK_INT(sig_public_parse(":byKfKsBzH+cjzUg62JQNMo4M2YJH9EgZZNTAAY9qTM0=", 45, &pub, err,
				   sizeof(err)), -1);
	CHECK_STR(err, "public key has an empty name");
	CHECK_INT(sig_public_parse("k:byKfKsBzH+cjzUg62JQNMo4M2YJH9EgZZNTAAY9qTM0", 45, &pub, err,
				   sizeof(err)), -1);
	CHECK_STR(err, "public key is not valid base64");
	CHECK_INT(sig_public_parse("k:AAAA", 6, &pub, err, sizeof(err)), -1);
	CHECK_STR(err, "public key is 3 bytes, want 32");
	/* A secret key where a public key is wanted: wrong length. */
	CHECK_INT(sig_public_parse(secret, strlen(secret), &pub, err, sizeof(err)), -1);
	CHECK_STR(err, "public key is 64 bytes, want 32");
	CHECK_INT(sig_secret_parse("k:byKfKsBzH+cjzUg62JQNMo4M2YJH9EgZZNTAAY9qTM0=", 46, &sec, err,
				   sizeof(err)), -1);
	CHECK_STR(err, "secret key is 32 bytes, want 64");
	/* Whitespace around a key (a file's newline) is fine. */
	CHECK_INT(sig_public_parse(" k:byKfKsBzH+cjzUg62JQNMo4M2YJH9EgZZNTAAY9qTM0=\n", 48, &pub,
				   err, sizeof(err)), 0);
	CHECK_STR(pub.name, "k");
	sig_public_release(&pub);
	/* A secret key whose public half was tampered with. */
	bad = xstrdup(secret);
	bad[strlen(bad) - 4] = bad[strlen(bad) - 4] == 'A' ? 'B' : 'A';
	CHECK_INT(sig_secret_parse(bad, strlen(bad), &sec, err, sizeof(err)), -1);
	CHECK(strstr(err, "does not match") != NULL);
	free(bad);
	free(secret);
}

TEST(key_from_seed)
{
	unsigned char seed[SIG_KEY_BYTES];
	struct sig_secret_key a, b;
	struct sig_public_key pub;
	struct strbuf sb = STRBUF_INIT, sig = STRBUF_INIT;
	char err[SIG_ERR_MAX];

	for (size_t i = 0; i < sizeof(seed); i++)
		seed[i] = (unsigned char)(i * 7 + 1);
	CHECK_INT(sig_secret_from_seed("bad:name", seed, &a, err, sizeof(err)), -1);
	CHECK(strstr(err, "':'") != NULL);
	CHECK_INT(sig_secret_from_seed("", seed, &a, err, sizeof(err)), -1);
	CHECK_INT(sig_secret_from_seed("gen-1", seed, &a, err, sizeof(err)), 0);
	sig_secret_format(&a, &sb);
	CHECK_INT(sig_secret_parse(sb.buf, sb.len, &b, err, sizeof(err)), 0);
	CHECK(!memcmp(a.pub, b.pub, SIG_KEY_BYTES));
	strbuf_reset(&sb);
	sig_secret_format_public(&a, &sb);
	CHECK_INT(sig_public_parse(sb.buf, sb.len, &pub, err, sizeof(err)), 0);
	CHECK_INT(sig_sign(&b, "msg", 3, &sig), 0);
	CHECK_INT(sig.len, strlen("gen-1:") + SIG_B64_LEN);
	CHECK_INT(sig_verify(&pub, sig.buf, sig.len, "msg", 3), SIG_VERIFIED);
	CHECK_INT(sig_verify(&pub, sig.buf, sig.len, "msh", 3), SIG_BAD);
	strbuf_release(&sb);
	strbuf_release(&sig);
	sig_public_release(&pub);
	sig_secret_release(&a);
	sig_secret_release(&b);
}

int main(void)
{
	RUN(fingerprint_format);
	RUN(fingerprint_sorts_and_normalizes);
	RUN(verify_nix_signatures);
	RUN(verify_rejects_other_keys);
	RUN(verify_malformed);
	RUN(sign_matches_nix);
	RUN(key_parse_errors);
	RUN(key_from_seed);
	return test_summary();
}
