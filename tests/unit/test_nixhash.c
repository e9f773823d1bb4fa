/*
 * test_nixhash.c - unit tests for the nix32/base16/base64/SRI codecs and
 * the store-path syntax checks.  Expected strings were printed by Nix 2.8
 * (`nix hash to-base32`, `nix hash file --base32/--sri`).
 */
#include "harness.h"
#include "nix/nixhash.h"

#include <stdint.h>

/* sha256("") and sha256("abc") in every encoding Nix prints. */
#define EMPTY_HEX "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define EMPTY_N32 "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73"
#define EMPTY_SRI "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
#define ABC_HEX "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define ABC_N32 "1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s"
#define ABC_SRI "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="

static int unhex(const char *hex, unsigned char *out)
{
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return (int)n;
}

/* Normal form of s, or "" when nixhash_parse refuses it. */
static const char *normal(const char *s, char *buf, size_t bufsz)
{
	struct nixhash h;

	buf[0] = '\0';
	if (nixhash_parse(s, strlen(s), &h) || !nixhash_format(&h, buf, bufsz))
		buf[0] = '\0';
	return buf;
}

TEST(nix32_lengths)
{
	CHECK_INT(nix32_len(0), 0);
	CHECK_INT(nix32_len(16), 26);
	CHECK_INT(nix32_len(20), 32);
	CHECK_INT(nix32_len(32), 52);
	CHECK_INT(nix32_len(64), 103);
}

TEST(nix32_known_vectors)
{
	static const struct {
		const char *hex, *n32;
	} v[] = {
		{EMPTY_HEX, EMPTY_N32},
		{ABC_HEX, ABC_N32},
		{"900150983cd24fb0d6963f7d28e17f72", "3jgzhjhz9zjvbb0kyj7jc500ch"},
		{"a9993e364706816aba3e25717850c26c9cd0d89d", "kpcd173cq987hw957sx6m0868wv3x6d9"},
		{"ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
		 "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
		 "2gs8k559z4rlahfx0y688s49m2vvszylcikrfinm30ly9rak69236nkam5ydvly1"
		 "ai7xac99vxfc4ii84hawjbk876blyk1jfhkbbyx"},
		/* single bits: the digest is written from its last byte first */
		{"0000000000000000000000000000000000000000000000000000000000000080",
		 "1000000000000000000000000000000000000000000000000000"},
		{"ff00000000000000000000000000000000000000000000000000000000000000",
		 "000000000000000000000000000000000000000000000000007z"},
		{"00000000000000000000000000000000000000000000000000000000000000ff",
		 "1zq0000000000000000000000000000000000000000000000000"},
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		unsigned char bytes[64], back[64];
		char enc[128];
		int n = unhex(v[i].hex, bytes);

		CHECK(n > 0);
		nix32_encode(bytes, (size_t)n, enc);
		enc[nix32_len((size_t)n)] = '\0';
		CHECK_STR(enc, v[i].n32);
		CHECK_INT(nix32_decode(v[i].n32, strlen(v[i].n32), back, (size_t)n), 0);
		CHECK(!memcmp(back, bytes, (size_t)n));
	}
}

TEST(nix32_round_trip)
{
	uint32_t seed = 12345;

	for (size_t n = 1; n <= 64; n++) {
		unsigned char in[64], out[64];
		char enc[128];

		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			in[i] = (unsigned char)(seed >> 16);
		}
		nix32_encode(in, n, enc);
		for (size_t i = 0; i < nix32_len(n); i++)
			CHECK(strchr(NIX32_ALPHABET, enc[i]) != NULL);
		CHECK_INT(nix32_decode(enc, nix32_len(n), out, n), 0);
		CHECK(!memcmp(in, out, n));
	}
}

TEST(nix32_decode_rejects)
{
	unsigned char out[32];
	char s[53];

	/* a 52-char sha256 starts with 0 or 1: 2..z set bits past the digest */
	strcpy(s, EMPTY_N32);
	s[0] = '2';
	CHECK_INT(nix32_decode(s, 52, out, 32), -1);
	s[0] = 'z';
	CHECK_INT(nix32_decode(s, 52, out, 32), -1);
	s[0] = '1';
	CHECK_INT(nix32_decode(s, 52, out, 32), 0);
	/* letters outside the alphabet */
	for (const char *bad = "eotuAZ-+/=:\x80"; *bad; bad++) {
		strcpy(s, EMPTY_N32);
		s[10] = *bad;
		CHECK_INT(nix32_decode(s, 52, out, 32), -1);
	}
	/* wrong length */
	CHECK_INT(nix32_decode(EMPTY_N32, 51, out, 32), -1);
	CHECK_INT(nix32_decode(EMPTY_N32 "0", 53, out, 32), -1);
	/* NUL inside */
	strcpy(s, EMPTY_N32);
	s[5] = '\0';
	CHECK_INT(nix32_decode(s, 52, out, 32), -1);
}

TEST(base64_rfc4648_vectors)
{
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==",
					  "Zm9vYmE=", "Zm9vYmFy"};

	for (size_t i = 0; i < 7; i++) {
		char out[16];
		unsigned char dec[16];
		size_t n = strlen(plain[i]), got = 99;

		CHECK_INT(base64_len(n), strlen(enc[i]));
		base64_encode((const unsigned char *)plain[i], n, out);
		CHECK_STR(out, enc[i]);
		CHECK_INT(base64_decode(enc[i], strlen(enc[i]), dec, sizeof(dec), &got), 0);
		CHECK_INT(got, n);
		CHECK(!memcmp(dec, plain[i], n));
	}
}

TEST(base64_bad_padding_rejected)
{
	static const char *const bad[] = {
		"Zg=",       /* length not a multiple of 4 */
		"Zg",
		"Zh==",      /* non-zero bits in the padding */
		"Zm9=",
		"Z===",      /* too much padding */
		"====",
		"Zm=v",      /* padding inside */
		"=Zm9",
		"Zm9v=",
		"Zm9 ",      /* characters outside the alphabet */
		"Zm9-",
		"Zm9_",
	};
	unsigned char out[16];
	size_t got;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (base64_decode(bad[i], strlen(bad[i]), out, sizeof(out), &got) != -1)
			fprintf(stderr, "accepted '%s'\n", bad[i]);
		CHECK_INT(base64_decode(bad[i], strlen(bad[i]), out, sizeof(out), &got), -1);
	}
	/* output capacity is respected */
	CHECK_INT(base64_decode("Zm9vYmFy", 8, out, 5, &got), -1);
	CHECK_INT(base64_decode("Zm9vYmFy", 8, out, 6, &got), 0);
	CHECK_INT(got, 6);
}

TEST(nixhash_forms_normalize_alike)
{
	char buf[NIXHASH_FMT_MAX];

	CHECK_STR(normal("sha256:" EMPTY_N32, buf, sizeof(buf)), "sha256:" EMPTY_N32);
	CHECK_STR(normal("sha256:" EMPTY_HEX, buf, sizeof(buf)), "sha256:" EMPTY_N32);
	CHECK_STR(normal(EMPTY_SRI, buf, sizeof(buf)), "sha256:" EMPTY_N32);
	/* base64 after a colon, as Nix also accepts */
	CHECK_STR(normal("sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", buf,
			 sizeof(buf)), "sha256:" EMPTY_N32);
	/* base16 in capitals */
	CHECK_STR(normal("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
			 buf, sizeof(buf)), "sha256:" ABC_N32);
	CHECK_STR(normal(ABC_SRI, buf, sizeof(buf)), "sha256:" ABC_N32);
	CHECK_STR(normal("sha256:" ABC_HEX, buf, sizeof(buf)), "sha256:" ABC_N32);

	CHECK_STR(normal("md5-kAFQmDzST7DWlj99KOF/cg==", buf, sizeof(buf)),
		  "md5:3jgzhjhz9zjvbb0kyj7jc500ch");
	CHECK_STR(normal("md5:900150983cd24fb0d6963f7d28e17f72", buf, sizeof(buf)),
		  "md5:3jgzhjhz9zjvbb0kyj7jc500ch");
	CHECK_STR(normal("sha1-qZk+NkcGgWq6PiVxeFDCbJzQ2J0=", buf, sizeof(buf)),
		  "sha1:kpcd173cq987hw957sx6m0868wv3x6d9");
	CHECK_STR(normal("sha1:a9993e364706816aba3e25717850c26c9cd0d89d", buf, sizeof(buf)),
		  "sha1:kpcd173cq987hw957sx6m0868wv3x6d9");
	CHECK_STR(normal("sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6"
			 "PCOj/uu9RU1EI2Q86A4qmslPpUyknw==", buf, sizeof(buf)),
		  "sha512:2gs8k559z4rlahfx0y688s49m2vvszylcikrfinm30ly9rak69236nkam5ydvly1"
		  "ai7xac99vxfc4ii84hawjbk876blyk1jfhkbbyx");
}

TEST(nixhash_parse_rejects)
{
	static const char *const bad[] = {
		"",
		"sha256",
		EMPTY_N32,                           /* no algorithm */
		"sha257:" EMPTY_N32,
		"SHA256:" EMPTY_N32,
		"sha256:" EMPTY_N32 "0",             /* no length fits */
		"sha256:" EMPTY_HEX "0",
		"sha256:emdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73", /* e */
		"sha256:2mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73", /* pad */
		"sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"sha256-" EMPTY_N32,                 /* SRI takes base64 only */
		"sha256-" EMPTY_HEX,
		"sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=", /* bits in padding */
		"sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuF==",
		"md5:" EMPTY_N32,                    /* length of another algorithm */
		"sha256: " EMPTY_N32,
	};
	struct nixhash h;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!nixhash_parse(bad[i], strlen(bad[i]), &h))
			fprintf(stderr, "accepted '%s'\n", bad[i]);
		CHECK_INT(nixhash_parse(bad[i], strlen(bad[i]), &h), -1);
	}
}

TEST(nixhash_parse_reads_only_len_bytes)
{
	/* the buffer goes on past len: only the first len bytes count */
	const char *s = "sha256:" EMPTY_N32 "trailing junk";
	char buf[NIXHASH_FMT_MAX];
	struct nixhash h;

	CHECK_INT(nixhash_parse(s, 7 + 52, &h), 0);
	CHECK_INT(h.algo, HASH_SHA256);
	CHECK_INT(h.len, 32);
	CHECK_INT(nixhash_format(&h, buf, sizeof(buf)), 7 + 52);
	CHECK_STR(buf, "sha256:" EMPTY_N32);
	CHECK_INT(nixhash_parse(s, 7 + 51, &h), -1);
}

TEST(nixhash_format_buffer_size)
{
	struct nixhash h;
	char buf[NIXHASH_FMT_MAX];

	CHECK_INT(nixhash_parse(EMPTY_SRI, strlen(EMPTY_SRI), &h), 0);
	CHECK_INT(nixhash_format(&h, buf, 7 + 52), 0);      /* no room for NUL */
	CHECK_INT(nixhash_format(&h, buf, 7 + 52 + 1), 7 + 52);
	/* the longest normal form fits NIXHASH_FMT_MAX */
	memset(&h, 0, sizeof(h));
	h.algo = HASH_SHA512;
	h.len = 64;
	CHECK_INT(nixhash_format(&h, buf, sizeof(buf)), 7 + 103);
}

TEST(nixhash_sri_form)
{
	/* narHash of Nix's own path-info test data (json-1/impure.json),
	 * given as nix32 the way a narinfo writes it */
	const char *sri = "sha256-FePFYIlMuycIXPZbWi7LGEiMmZSX9FMbaQenWBzm1Sc=";
	char n32[NIXHASH_FMT_MAX], buf[NIXHASH_FMT_MAX];
	struct nixhash h;

	CHECK_INT(nixhash_parse(sri, strlen(sri), &h), 0);
	CHECK(nixhash_format(&h, n32, sizeof(n32)) > 0);
	CHECK_INT(nixhash_parse(n32, strlen(n32), &h), 0);
	CHECK_INT(nixhash_format_sri(&h, buf, sizeof(buf)), (long long)strlen(sri));
	CHECK_STR(buf, sri);
	CHECK_INT(nixhash_parse("sha256:" EMPTY_N32, 7 + 52, &h), 0);
	CHECK_INT(nixhash_format_sri(&h, buf, sizeof(buf)), 7 + 44);
	CHECK_STR(buf, EMPTY_SRI);
	CHECK_INT(nixhash_format_sri(&h, buf, 7 + 44), 0);   /* no room for NUL */
	/* the longest SRI form fits NIXHASH_FMT_MAX */
	memset(&h, 0, sizeof(h));
	h.algo = HASH_SHA512;
	h.len = 64;
	CHECK_INT(nixhash_format_sri(&h, buf, sizeof(buf)), 7 + 88);
}

TEST(store_hash_syntax)
{
	CHECK(store_hash_valid("7v0dyy7ha6am2ha4rja8pm6ycn3c7lw4", 32));
	CHECK(store_hash_valid("00000000000000000000000000000000", 32));
	CHECK(!store_hash_valid("7v0dyy7ha6am2ha4rja8pm6ycn3c7lw", 31));
	CHECK(!store_hash_valid("7v0dyy7ha6am2ha4rja8pm6ycn3c7lw4x", 33));
	CHECK(!store_hash_valid("7v0dyy7ha6am2ha4rja8pm6ycn3c7lwe", 32));
	CHECK(!store_hash_valid("7v0dyy7ha6am2ha4rja8pm6ycn3c7lwo", 32));
	CHECK(!store_hash_valid("7v0dyy7ha6am2ha4rja8pm6ycn3c7lwt", 32));
	CHECK(!store_hash_valid("7v0dyy7ha6am2ha4rja8pm6ycn3c7lwu", 32));
	CHECK(!store_hash_valid("7V0DYY7HA6AM2HA4RJA8PM6YCN3C7LW4", 32));
	CHECK(!store_hash_valid("7v0dyy7ha6am2ha4\0ja8pm6ycn3c7lw4", 32));
	/* exactly the 32 alphabet bytes are digits */
	for (int c = 0; c < 256; c++) {
		char h[32];
		int in_alphabet = c && strchr(NIX32_ALPHABET, c) != NULL;

		memset(h, '0', sizeof(h));
		h[7] = (char)c;
		if (store_hash_valid(h, 32) != in_alphabet)
			fprintf(stderr, "byte 0x%02x\n", c);
		CHECK_INT(store_hash_valid(h, 32), in_alphabet);
	}
}

TEST(store_name_syntax)
{
	char name[STORE_NAME_MAX + 2];

	CHECK(store_name_valid("hello-2.12.1", 12));
	CHECK(store_name_valid("a+b-c.d_e?f=g", 13));
	CHECK(store_name_valid("x", 1));
	CHECK(store_name_valid("foo.drv", 7));
	CHECK(!store_name_valid("", 0));
	CHECK(!store_name_valid(".hidden", 7));
	CHECK(!store_name_valid("a/b", 3));
	CHECK(!store_name_valid("a b", 3));
	CHECK(!store_name_valid("a@b", 3));
	CHECK(!store_name_valid("a\0b", 3));
	CHECK(!store_name_valid("caf\xc3\xa9", 5));
	memset(name, 'n', sizeof(name));
	CHECK(store_name_valid(name, STORE_NAME_MAX));
	CHECK(!store_name_valid(name, STORE_NAME_MAX + 1));
}

TEST(store_basename_syntax)
{
	const char *ok = "7v0dyy7ha6am2ha4rja8pm6ycn3c7lw4-cachegc-fixture-a";

	CHECK(store_basename_valid(ok, strlen(ok)));
	CHECK(!store_basename_valid(ok, 32));          /* hash only */
	CHECK(!store_basename_valid(ok, 33));          /* empty name */
	CHECK(!store_basename_valid("7v0dyy7ha6am2ha4rja8pm6ycn3c7lw4_cachegc", 40));
	CHECK(!store_basename_valid("7v0dyy7ha6am2ha4rja8pm6ycn3c7le4-cachegc", 40));
	CHECK(!store_basename_valid("7v0dyy7ha6am2ha4rja8pm6ycn3c7lw4-.cachegc", 41));
	CHECK(!store_basename_valid("/nix/store/7v0dyy7ha6am2ha4rja8pm6ycn3c7lw4-a", 45));
}

int main(void)
{
	RUN(nix32_lengths);
	RUN(nix32_known_vectors);
	RUN(nix32_round_trip);
	RUN(nix32_decode_rejects);
	RUN(base64_rfc4648_vectors);
	RUN(base64_bad_padding_rejected);
	RUN(nixhash_forms_normalize_alike);
	RUN(nixhash_parse_rejects);
	RUN(nixhash_parse_reads_only_len_bytes);
	RUN(nixhash_format_buffer_size);
	RUN(nixhash_sri_form);
	RUN(store_hash_syntax);
	RUN(store_name_syntax);
	RUN(store_basename_syntax);
	return test_summary();
}
