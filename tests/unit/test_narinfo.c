/*
 * test_narinfo.c - unit tests for the narinfo and nix-cache-info parsers and
 * narinfo_format().  The fixtures in tests/fixtures/narinfo were written by
 * Nix 2.8 (`nix copy --to file://...`); the expected values below are what
 * `nix path-info --json --store file://DIR --all` printed for them.
 * Malformed inputs are built here from one valid narinfo, line by line, so
 * each case states the line its error must name.
 */
#include "harness.h"
#include "nix/narinfo.h"
#include "lib/util.h"

#include <stdarg.h>
#include <stdlib.h>

/* ---- fixture loading ---- */

static char *load_fixture(const char *name, size_t *len)
{
	const char *root = getenv("ROOT");
	char path[512];
	char *buf = NULL;

	snprintf(path, sizeof(path), "%s/tests/fixtures/narinfo/%s", root ? root : ".", name);
	if (read_file_capped(path, NARINFO_MAX_BYTES, &buf, len)) {
		fprintf(stderr, "cannot read fixture '%s' (run from the top directory "
			"or set ROOT)\n", path);
		return NULL;
	}
	return buf;
}

/* Parse with the result copied into an exact-size heap buffer, so ASan and
 * valgrind catch any read past len (the parser must not want a NUL). */
static int parse_exact(const char *text, size_t len, const char *store_dir,
		       const char *expect_hash, struct narinfo *ni,
		       struct narinfo_error *err)
{
	char *copy = xmalloc(len ? len : 1);
	int rc;

	memcpy(copy, text, len);
	rc = narinfo_parse(copy, len, store_dir, expect_hash, ni, err);
	free(copy);
	return rc;
}

static int parse_str(const char *text, struct narinfo *ni, struct narinfo_error *err)
{
	return parse_exact(text, strlen(text), "/nix/store", NULL, ni, err);
}

/* The normal form of a hash as `nix path-info --json` prints it (SRI). */
static const char *norm(const char *s, char *buf)
{
	struct nixhash h;

	if (nixhash_parse(s, strlen(s), &h) || !nixhash_format(&h, buf, NIXHASH_FMT_MAX))
		strcpy(buf, "(unparsable)");
	return buf;
}

static int is_released(const struct narinfo *ni)
{
	return !ni->store_path && !ni->name && !ni->url && !ni->compression &&
	       !ni->file_hash && !ni->nar_hash && !ni->refs && !ni->nrefs &&
	       !ni->deriver && !ni->sigs && !ni->nsigs && !ni->ca && !ni->system;
}

/*
 * Parse text (len bytes) and check that it fails on line `line` with
 * message `msg`, leaving the struct released.  `at` is the caller's line,
 * printed on a mismatch.
 */
static void check_fails(int at, const char *text, size_t len, const char *expect_hash,
			unsigned line, const char *msg)
{
	struct narinfo ni;
	struct narinfo_error err;
	int rc = parse_exact(text, len, "/nix/store", expect_hash, &ni, &err);

	if (rc != -1) {
		fprintf(stderr, "%s:%d: parse succeeded, want line %u '%s'\n",
			__FILE__, at, line, msg);
		harness_failed_now = 1;
		narinfo_release(&ni);
		return;
	}
	if (err.line != line || strcmp(err.msg, msg)) {
		fprintf(stderr, "%s:%d: error line %u '%s', want line %u '%s'\n",
			__FILE__, at, err.line, err.msg, line, msg);
		harness_failed_now = 1;
	}
	if (!is_released(&ni)) {
		fprintf(stderr, "%s:%d: struct not released after failure\n", __FILE__, at);
		harness_failed_now = 1;
	}
}

#define FAILS(text, line, msg) check_fails(__LINE__, (text), strlen(text), NULL, (line), (msg))
#define FAILS_N(text, len, line, msg) check_fails(__LINE__, (text), (len), NULL, (line), (msg))

/* ---- a valid narinfo to mutate: fixture b, one key per line ---- */

#define HASH_A "7v0dyy7ha6am2ha4rja8pm6ycn3c7lw4"
#define HASH_B "9r69fx38cabl08javb844cq67lpr14dh"
#define BASE_A HASH_A "-cachegc-fixture-a"
#define BASE_B HASH_B "-cachegc-fixture-b-1.0"
#define NH_B "0cggff606pzl437g3cy7yiynqnz276f87wqv57av6i76i9kgkxsv"
#define FH_B "0bg94adr0hdjj2zvrw9xrdbfcc180dmxq7195lzwmjmkh3xavw2k"
#define SIG1_B "test-1:gYJiROsV+ziQ/j0EeqpLAtEa/wdvWOVpqUqRg1sHas5D20ovLqK6xduYdFEnCAnkDjGjHHYGqPzQV5OB3gk9Bg=="
#define SIG2_B "test-2:j89Pglz7KMz8dDzGLrOhoTJYOIR3otV7TFbZ9Gj380dLhAQzwQqYZwsBKhLleXmEmoVh5agksGndd/0yvbFnAQ=="

#define L1_SP "StorePath: /nix/store/" BASE_B "\n"
#define L2_URL "URL: nar/" FH_B ".nar.xz\n"
#define L3_COMP "Compression: xz\n"
#define L4_FH "FileHash: sha256:" FH_B "\n"
#define L5_FS "FileSize: 272\n"
#define L6_NH "NarHash: sha256:" NH_B "\n"
#define L7_NS "NarSize: 600\n"
#define L8_REFS "References: " BASE_A " " BASE_B "\n"
#define L9_DRV "Deriver: 919mgg0cm6r92w7bmsz42x9rmx3m73ka-cachegc-fixture-b-1.0.drv\n"
#define L10_SIG "Sig: " SIG1_B "\n"
#define L11_SIG "Sig: " SIG2_B "\n"

#define FULL_B L1_SP L2_URL L3_COMP L4_FH L5_FS L6_NH L7_NS L8_REFS L9_DRV L10_SIG L11_SIG

/* The required keys only, for the defaults tests. */
#define MIN_B L1_SP L2_URL L6_NH L7_NS

/* ---- real Nix output ---- */

TEST(fixture_with_deriver_and_no_references)
{
	struct narinfo ni;
	struct narinfo_error err;
	char buf[NIXHASH_FMT_MAX];
	size_t len;
	char *text = load_fixture(HASH_A ".narinfo", &len);

	CHECK(text != NULL);
	if (!text)
		return;
	CHECK_INT(parse_exact(text, len, "/nix/store", HASH_A, &ni, &err), 0);
	CHECK_STR(ni.store_path, "/nix/store/" BASE_A);
	CHECK_STR(ni.hash, HASH_A);
	CHECK_STR(ni.name, "cachegc-fixture-a");
	CHECK_STR(ni.url, "nar/0w25jdlc0qnv8mizc64h30pzk9x3qyan3ahjgqq5yp0p1804mw26.nar.xz");
	CHECK_STR(ni.compression, "xz");
	/* path-info: "downloadHash": "sha256-RvBKAAoXXF8wfhKqYZXHo6f5LxiQGPZjRdtiwGiTRXA=" */
	CHECK_STR(ni.file_hash, norm("sha256-RvBKAAoXXF8wfhKqYZXHo6f5LxiQGPZjRdtiwGiTRXA=", buf));
	CHECK_STR(ni.file_hash, "sha256:0w25jdlc0qnv8mizc64h30pzk9x3qyan3ahjgqq5yp0p1804mw26");
	CHECK_INT(ni.file_size, 168);
	CHECK_STR(ni.nar_hash, norm("sha256-MyEwKR7frLkJXyCTAYmhACAemt2h4EszAo04ltEu78o=", buf));
	CHECK_STR(ni.nar_hash, "sha256:1jpg5v8rcf4d08rlpq51vnd1w800l64h34r0bw4vkb6z3qlk089k");
	CHECK_INT(ni.nar_size, 288);
	CHECK_INT(ni.nrefs, 0);
	CHECK_STR(ni.deriver, "94zfghnhm2110v4iajjbx0l7pm61r5sa-cachegc-fixture-a.drv");
	CHECK_INT(ni.nsigs, 1);
	if (ni.nsigs == 1)
		CHECK_STR(ni.sigs[0], "test-1:Zas/WHzYc2mP+VxryZVZis9ZX8WgC2aS81jh7OwAosxx8eHtsfPTOqz83Ajkw5v8Wb4q2p8RqPVgPjXR2rb+BQ==");
	CHECK(ni.ca == NULL);
	CHECK(ni.system == NULL);
	narinfo_release(&ni);
	CHECK(is_released(&ni));
	free(text);
}

TEST(fixture_with_self_reference_and_two_sigs)
{
	struct narinfo ni;
	struct narinfo_error err;
	char buf[NIXHASH_FMT_MAX];
	size_t len;
	char *text = load_fixture(HASH_B ".narinfo", &len);

	CHECK(text != NULL);
	if (!text)
		return;
	CHECK_INT(parse_exact(text, len, "/nix/store", HASH_B, &ni, &err), 0);
	CHECK_STR(ni.store_path, "/nix/store/" BASE_B);
	CHECK_STR(ni.hash, HASH_B);
	CHECK_STR(ni.name, "cachegc-fixture-b-1.0");
	CHECK_STR(ni.url, "nar/" FH_B ".nar.xz");
	CHECK_STR(ni.compression, "xz");
	CHECK_STR(ni.file_hash, norm("sha256-U/Ct+oCzyso/LSkc3GsDKDDmVss98by/kLJBkJsi6S0=", buf));
	CHECK_INT(ni.file_size, 272);
	CHECK_STR(ni.nar_hash, norm("sha256-W/f5ZormRLPVKRvzg5w54ltsffTHs/HOIPRfA4xz7zE=", buf));
	CHECK_STR(ni.nar_hash, "sha256:" NH_B);
	CHECK_INT(ni.nar_size, 600);
	CHECK_INT(ni.nrefs, 2);
	if (ni.nrefs == 2) {
		CHECK_STR(ni.refs[0], BASE_A);
		CHECK_STR(ni.refs[1], BASE_B);     /* itself */
	}
	CHECK_STR(ni.deriver, "919mgg0cm6r92w7bmsz42x9rmx3m73ka-cachegc-fixture-b-1.0.drv");
	CHECK_INT(ni.nsigs, 2);
	if (ni.nsigs == 2) {
		CHECK_STR(ni.sigs[0], SIG1_B);
		CHECK_STR(ni.sigs[1], SIG2_B);
	}
	CHECK(ni.ca == NULL);
	narinfo_release(&ni);
	free(text);
}

TEST(fixture_content_addressed)
{
	struct narinfo ni;
	struct narinfo_error err;
	char buf[NIXHASH_FMT_MAX];
	size_t len;
	char *text = load_fixture("ffjzg0j94p7zixkwdlr84kyh6ghxsdp7.narinfo", &len);

	CHECK(text != NULL);
	if (!text)
		return;
	CHECK_INT(parse_exact(text, len, "/nix/store", "ffjzg0j94p7zixkwdlr84kyh6ghxsdp7",
			      &ni, &err), 0);
	CHECK_STR(ni.store_path, "/nix/store/ffjzg0j94p7zixkwdlr84kyh6ghxsdp7-t.txt");
	CHECK_STR(ni.name, "t.txt");
	CHECK_STR(ni.url, "nar/19726syrfsf2w10lrc1051m1qy2dg97spsassg3lbpiwripi3zcq.nar.xz");
	CHECK_STR(ni.file_hash, norm("sha256-mP0Rb8w83kXH01rpq096TXgcaiggsExB4MJpl7024qQ=", buf));
	CHECK_INT(ni.file_size, 144);
	CHECK_STR(ni.nar_hash, norm("sha256-OxNkr84WGnFw336Wkku19ngh9NoTUHfG5luJtgNRSWo=", buf));
	CHECK_INT(ni.nar_size, 136);
	CHECK_INT(ni.nrefs, 0);
	CHECK(ni.deriver == NULL);
	CHECK_STR(ni.ca, "fixed:sha256:1414cq3ghhvmslyjm3wv40dz5wzwdx0lq6zwqrhsyj80y17lv7h2");
	CHECK_INT(ni.nsigs, 1);
	if (ni.nsigs == 1)
		CHECK_STR(ni.sigs[0], "test-1:+R1BKaRCl+JBgZv+sW8RA/wok6Y3xTi0W1BjG2VPlp1LvPnOCb/d3RXJrl2RAUl6j+1WsTxFm+rJC+7nIwqLCQ==");
	narinfo_release(&ni);
	free(text);
}

TEST(fixture_uncompressed_unsigned)
{
	struct narinfo ni;
	struct narinfo_error err;
	size_t len;
	char *text = load_fixture("uncompressed-unsigned.narinfo", &len);

	CHECK(text != NULL);
	if (!text)
		return;
	CHECK_INT(parse_exact(text, len, "/nix/store", HASH_A, &ni, &err), 0);
	CHECK_STR(ni.compression, "none");
	CHECK_STR(ni.url, "nar/1jpg5v8rcf4d08rlpq51vnd1w800l64h34r0bw4vkb6z3qlk089k.nar");
	CHECK_STR(ni.file_hash, ni.nar_hash);
	CHECK_INT(ni.file_size, ni.nar_size);
	CHECK_INT(ni.nsigs, 0);
	CHECK(ni.sigs == NULL);
	narinfo_release(&ni);
	free(text);
}

/* narinfo_format() writes exactly what Nix wrote: same keys, same order. */
TEST(format_reproduces_nix_output)
{
	static const char *const names[] = {
		HASH_A ".narinfo", HASH_B ".narinfo", "ffjzg0j94p7zixkwdlr84kyh6ghxsdp7.narinfo",
		"uncompressed-unsigned.narinfo",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct narinfo ni;
		struct narinfo_error err;
		size_t len;
		char *text = load_fixture(names[i], &len), *out;

		CHECK(text != NULL);
		if (!text)
			continue;
		CHECK_INT(parse_exact(text, len, "/nix/store", NULL, &ni, &err), 0);
		out = narinfo_format(&ni);
		if (strlen(out) != len || memcmp(out, text, len))
			fprintf(stderr, "%s formats as:\n%s", names[i], out);
		CHECK_INT(strlen(out), len);
		CHECK(!memcmp(out, text, len));
		free(out);
		narinfo_release(&ni);
		free(text);
	}
}

TEST(fixture_nix_cache_info)
{
	struct nix_cache_info ci;
	struct narinfo_error err;
	size_t len;
	char *text = load_fixture("nix-cache-info", &len);

	CHECK(text != NULL);
	if (!text)
		return;
	CHECK_INT(nix_cache_info_parse(text, len, &ci, &err), 0);
	CHECK_STR(ci.store_dir, "/nix/store");
	CHECK_INT(ci.want_mass_query, -1);
	CHECK_INT(ci.priority, -1);
	nix_cache_info_release(&ci);
	CHECK(ci.store_dir == NULL);
	free(text);
}

/* ---- valid variations ---- */

TEST(defaults_when_optional_keys_absent)
{
	struct narinfo ni;
	struct narinfo_error err;
	char *out;

	CHECK_INT(parse_str(MIN_B, &ni, &err), 0);
	CHECK_STR(ni.compression, "bzip2");
	CHECK(ni.file_hash == NULL);
	CHECK_INT(ni.file_size, -1);
	CHECK_INT(ni.nrefs, 0);
	CHECK(ni.refs == NULL);
	CHECK(ni.deriver == NULL);
	CHECK_INT(ni.nsigs, 0);
	CHECK(ni.ca == NULL);
	CHECK(ni.system == NULL);
	out = narinfo_format(&ni);
	CHECK_STR(out, L1_SP L2_URL "Compression: bzip2\n" L6_NH L7_NS "References: \n");
	free(out);
	narinfo_release(&ni);

	/* an empty Compression means the default too, as in Nix */
	CHECK_INT(parse_str(MIN_B "Compression: \n", &ni, &err), 0);
	CHECK_STR(ni.compression, "bzip2");
	narinfo_release(&ni);
}

TEST(hash_forms_normalize_alike)
{
	static const char *const forms[] = {
		("sha256:" NH_B),
		"sha256:5bf7f9668ae644b3d5291bf3839c39e25b6c7df4c7b3f1ce20f45f038c73ef31",
		"sha256:5BF7F9668AE644B3D5291BF3839C39E25B6C7DF4C7B3F1CE20F45F038C73EF31",
		"sha256-W/f5ZormRLPVKRvzg5w54ltsffTHs/HOIPRfA4xz7zE=",
		"sha256:W/f5ZormRLPVKRvzg5w54ltsffTHs/HOIPRfA4xz7zE=",
		/* Nix's base64 reader: no padding in SRI, bits left over, text
		 * after the '=' */
		"sha256-W/f5ZormRLPVKRvzg5w54ltsffTHs/HOIPRfA4xz7zE",
		"sha256:W/f5ZormRLPVKRvzg5w54ltsffTHs/HOIPRfA4xz7zF=",
		"sha256-W/f5ZormRLPVKRvzg5w54ltsffTHs/HOIPRfA4xz7zE=!junk",
	};

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct narinfo ni;
		struct narinfo_error err;
		char text[1024];

		snprintf(text, sizeof(text), L1_SP L2_URL "FileHash: %s\nNarHash: %s\n" L7_NS,
			 forms[i], forms[i]);
		CHECK_INT(parse_str(text, &ni, &err), 0);
		CHECK_STR(ni.nar_hash, "sha256:" NH_B);
		CHECK_STR(ni.file_hash, "sha256:" NH_B);
		CHECK_INT(ni.odd, i ? NARINFO_ODD_FORM : 0);
		narinfo_release(&ni);
	}
}

TEST(unknown_deriver_and_empty_ca)
{
	struct narinfo ni;
	struct narinfo_error err;

	CHECK_INT(parse_str(MIN_B "Deriver: unknown-deriver\nCA: \n", &ni, &err), 0);
	CHECK(ni.deriver == NULL);
	CHECK(ni.ca == NULL);
	narinfo_release(&ni);
}

TEST(ca_forms)
{
	static const char *const ok[] = {
		"fixed:sha256:1414cq3ghhvmslyjm3wv40dz5wzwdx0lq6zwqrhsyj80y17lv7h2",
		"fixed:r:sha256:1414cq3ghhvmslyjm3wv40dz5wzwdx0lq6zwqrhsyj80y17lv7h2",
		"fixed:r:sha1:kpcd173cq987hw957sx6m0868wv3x6d9",
		"text:sha256:1414cq3ghhvmslyjm3wv40dz5wzwdx0lq6zwqrhsyj80y17lv7h2",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct narinfo ni;
		struct narinfo_error err;
		char text[1024];

		snprintf(text, sizeof(text), MIN_B "CA: %s\n", ok[i]);
		CHECK_INT(parse_str(text, &ni, &err), 0);
		CHECK_STR(ni.ca, ok[i]);      /* Nix's rendering */
		narinfo_release(&ni);
	}
	/* other encodings are rendered as Nix renders them; git hashing is
	 * accepted (later Nix, not 2.8) and flagged */
	for (size_t i = 0; i < 3; i++) {
		static const char *const in[] = {
			"fixed:r:sha1:" "a8d3a7dff8d9d9df1a93c4d2d6d6a4c7a1e26b13",
			"text:sha256:W/f5ZormRLPVKRvzg5w54ltsffTHs/HOIPRfA4xz7zE=",
			"fixed:git:sha1:a8d3a7dff8d9d9df1a93c4d2d6d6a4c7a1e26b13",
		};
		struct narinfo ni;
		struct narinfo_error err;
		char text[1024], want[128];
		struct nixhash h;

		snprintf(text, sizeof(text), MIN_B "CA: %s\n", in[i]);
		CHECK_INT(parse_str(text, &ni, &err), 0);
		CHECK_INT(ni.odd, NARINFO_ODD_FORM);
		if (i == 1) {
			CHECK_STR(ni.ca, "text:sha256:" NH_B);
		} else {
			const char *hex = strrchr(in[i], ':') + 1;
			char nf[NIXHASH_FMT_MAX], spec[64];

			snprintf(spec, sizeof(spec), "sha1:%s", hex);
			CHECK_INT(nixhash_parse(spec, strlen(spec), &h), 0);
			nixhash_format(&h, nf, sizeof(nf));
			snprintf(want, sizeof(want), "%s%s", i ? "fixed:git:" : "fixed:r:", nf);
			CHECK_STR(ni.ca, want);
		}
		narinfo_release(&ni);
	}
}

TEST(unknown_keys_system_and_utf8)
{
	struct narinfo ni;
	struct narinfo_error err;
	char *out;

	CHECK_INT(parse_str("X-Comment: caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9d\x84\x9e\n"
			    MIN_B "System: x86_64-linux\nFoo: 1\nFoo: 2\n", &ni, &err), 0);
	CHECK_STR(ni.system, "x86_64-linux");
	out = narinfo_format(&ni);
	CHECK(strstr(out, "\nSystem: x86_64-linux\n") != NULL);
	CHECK(strstr(out, "Foo") == NULL);
	free(out);
	narinfo_release(&ni);
}

TEST(line_endings_and_blank_lines)
{
	struct narinfo ni;
	struct narinfo_error err;
	const char *text = MIN_B;
	size_t len = strlen(text);

	/* Nix refuses a file whose last value has no newline, and one with
	 * a blank line (or any colonless text) at the end */
	FAILS_N(text, len - 1, 4, "no newline at the end (Nix refuses the whole file: "
		"expecting '\\n')");
	FAILS(MIN_B "\n", 5, "'' has no ':' (Nix refuses the whole file: expecting ':')");
	FAILS(MIN_B "\n\n\n", 5, "'' has no ':' (Nix refuses the whole file: expecting ':')");
	FAILS(MIN_B "References: ", 5, "no newline at the end (Nix refuses the whole file: "
	      "expecting '\\n')");
	/* a '\r' stays in the value: a URL may end in one, a StorePath not */
	CHECK_INT(parse_str(L1_SP "URL: nar/x.nar\r\n" L6_NH L7_NS, &ni, &err), 0);
	CHECK_STR(ni.url, "nar/x.nar\r");
	narinfo_release(&ni);
	FAILS("StorePath: /nix/store/" BASE_B "\r\n" L2_URL L6_NH L7_NS, 1,
	      "bad name 'cachegc-fixture-b-1.0?' in StorePath");
	/* a blank line before a key makes it another key ("\nURL") */
	FAILS(L1_SP "\n" L2_URL L6_NH L7_NS, 0, "missing required key 'URL'");
	/* a blank line before an unknown key is harmless */
	CHECK_INT(parse_str(MIN_B "\nFoo: bar\n", &ni, &err), 0);
	CHECK_INT(ni.odd & NARINFO_ODD_JUNK, NARINFO_ODD_JUNK);
	CHECK_INT(ni.odd_line, 5);
	narinfo_release(&ni);
}

TEST(separators_as_nix_reads_them)
{
	struct narinfo ni;
	struct narinfo_error err;

	/* Nix skips one byte after the colon, whatever it is */
	CHECK_INT(parse_str(L1_SP "URL:\tnar/x.nar\n" L6_NH "NarSize:\t600\n", &ni, &err), 0);
	CHECK_STR(ni.url, "nar/x.nar");
	CHECK_INT(ni.nar_size, 600);
	CHECK_INT(ni.odd, NARINFO_ODD_SEPARATOR);
	CHECK_INT(ni.odd_line, 2);
	narinfo_release(&ni);
	CHECK_INT(parse_str(L1_SP "URL:nar/x.nar\n" L6_NH "NarSize:1600\n", &ni, &err), 0);
	CHECK_STR(ni.url, "ar/x.nar");
	CHECK_INT(ni.nar_size, 600);
	narinfo_release(&ni);
	/* two spaces: the second is part of the value */
	CHECK_INT(parse_str(L1_SP "URL:  nar/x.nar\n" L6_NH L7_NS, &ni, &err), 0);
	CHECK_STR(ni.url, " nar/x.nar");
	narinfo_release(&ni);
	FAILS(L1_SP L2_URL L6_NH "NarSize:  600\n", 4, "bad NarSize ' 600'");
	FAILS("StorePath:/nix/store/" BASE_B "\n" L2_URL L6_NH L7_NS, 1,
	      "StorePath 'nix/store/" BASE_B "' is not an absolute path");
	/* "URL:\n" takes the next line as its value */
	CHECK_INT(parse_str(L1_SP "URL:\nnar/x.nar\n" L6_NH L7_NS, &ni, &err), 0);
	CHECK_STR(ni.url, "nar/x.nar");
	narinfo_release(&ni);
	/* a colonless line joins the next key: "URL nar/x\nURL" is no key */
	FAILS(L1_SP "URL nar/x.nar.xz\n" L2_URL L6_NH L7_NS, 0, "missing required key 'URL'");
	/* a space before the colon makes another key */
	FAILS(L1_SP "URL : nar/x\n" L6_NH L7_NS, 0, "missing required key 'URL'");
	/* control characters are not echoed to the terminal */
	FAILS(MIN_B "\x1b[31m\n", 5, "'?[31m' has no ':' (Nix refuses the whole file: "
	      "expecting ':')");
}

TEST(repeated_keys_as_nix_reads_them)
{
	struct narinfo ni;
	struct narinfo_error err;

	/* the last value counts */
	CHECK_INT(parse_str(L1_SP L2_URL "URL: nar/other\n" L6_NH L7_NS "NarSize: 700\n"
			    L3_COMP "Compression: \n" L9_DRV "Deriver: unknown-deriver\n"
			    "System: a\nSystem: b\n", &ni, &err), 0);
	CHECK_STR(ni.url, "nar/other");
	CHECK_INT(ni.nar_size, 700);
	CHECK_STR(ni.compression, "bzip2");
	CHECK_STR(ni.deriver, "919mgg0cm6r92w7bmsz42x9rmx3m73ka-cachegc-fixture-b-1.0.drv");
	CHECK_STR(ni.system, "b");
	CHECK_INT(ni.odd, NARINFO_ODD_REPEATED);
	CHECK_INT(ni.odd_line, 3);
	narinfo_release(&ni);
	/* each StorePath must be valid; the last one counts */
	CHECK_INT(parse_str("StorePath: /nix/store/" BASE_A "\n" MIN_B, &ni, &err), 0);
	CHECK_STR(ni.hash, HASH_B);
	narinfo_release(&ni);
	FAILS("StorePath: /nix/store/x\n" MIN_B, 1, "bad hash in StorePath '/nix/store/x'");
	FAILS(L1_SP "URL: \n" L6_NH L7_NS, 2, "empty URL");
	FAILS(MIN_B "URL: \n", 5, "empty URL");
	CHECK_INT(parse_str(L1_SP "URL: \n" L2_URL L6_NH L7_NS, &ni, &err), 0);
	narinfo_release(&ni);
	FAILS(MIN_B "NarSize: 0\n", 5, "NarSize is 0");
	CHECK_INT(parse_str(L1_SP L2_URL L6_NH "NarSize: 0\n" L7_NS, &ni, &err), 0);
	narinfo_release(&ni);
	FAILS("NarHash: sha256:bad\n" MIN_B, 1, "bad NarHash 'sha256:bad'");
	/* References: only after an empty one */
	CHECK_INT(parse_str(MIN_B "References: \nReferences:  \n" L8_REFS, &ni, &err), 0);
	CHECK_INT(ni.nrefs, 2);
	narinfo_release(&ni);
	FAILS(MIN_B L8_REFS "References: \n", 6,
	      "References again after References named paths (Nix refuses that)");
	FAILS(MIN_B L8_REFS L8_REFS, 6,
	      "References again after References named paths (Nix refuses that)");
	/* CA: only after an empty one */
	CHECK_INT(parse_str(MIN_B "CA: \nCA: \nCA: text:sha256:" NH_B "\n", &ni, &err), 0);
	CHECK_STR(ni.ca, "text:sha256:" NH_B);
	narinfo_release(&ni);
	FAILS(MIN_B "CA: text:sha256:" NH_B "\nCA: \n", 6, "CA again after a CA (Nix refuses that)");
	/* Sig: a set, as in Nix */
	CHECK_INT(parse_str(MIN_B L11_SIG L10_SIG L11_SIG, &ni, &err), 0);
	CHECK_INT(ni.nsigs, 2);
	if (ni.nsigs == 2) {
		CHECK_STR(ni.sigs[0], SIG1_B);
		CHECK_STR(ni.sigs[1], SIG2_B);
	}
	CHECK_INT(ni.odd, 0);
	narinfo_release(&ni);
}

TEST(references_sorted_deduplicated)
{
	struct narinfo ni;
	struct narinfo_error err;

	CHECK_INT(parse_str(MIN_B "References: " BASE_B "  " BASE_A " " BASE_B " \n",
			    &ni, &err), 0);
	CHECK_INT(ni.nrefs, 2);
	if (ni.nrefs == 2) {
		CHECK_STR(ni.refs[0], BASE_A);
		CHECK_STR(ni.refs[1], BASE_B);
	}
	narinfo_release(&ni);
}

TEST(store_dir_and_expect_hash)
{
	struct narinfo ni;
	struct narinfo_error err;
	const char *gnu = "StorePath: /gnu/store/" BASE_B "\n" L2_URL L6_NH L7_NS;

	CHECK_INT(parse_exact(gnu, strlen(gnu), "/gnu/store", HASH_B, &ni, &err), 0);
	CHECK_STR(ni.store_path, "/gnu/store/" BASE_B);
	CHECK_STR(ni.name, "cachegc-fixture-b-1.0");
	narinfo_release(&ni);
	CHECK_INT(parse_exact(MIN_B, strlen(MIN_B), "/nix/store", HASH_B, &ni, &err), 0);
	narinfo_release(&ni);

	check_fails(__LINE__, MIN_B, strlen(MIN_B), HASH_A, 1,
		    "StorePath hash '" HASH_B "' does not match expected '" HASH_A "'");
	check_fails(__LINE__, MIN_B, strlen(MIN_B), "short", 1,
		    "StorePath hash '" HASH_B "' does not match expected 'short'");
	CHECK_INT(parse_exact(MIN_B, strlen(MIN_B), "/gnu/store", NULL, &ni, &err), -1);
	CHECK_INT(err.line, 1);
	CHECK_STR(err.msg, "StorePath '/nix/store/" BASE_B "' is not in '/gnu/store'");
	CHECK(is_released(&ni));
}

TEST(sizes_at_the_limits)
{
	struct narinfo ni;
	struct narinfo_error err;

	CHECK_INT(parse_str(L1_SP L2_URL L6_NH "NarSize: 9223372036854775807\nFileSize: 0\n",
			    &ni, &err), 0);
	CHECK_INT(ni.nar_size, INT64_MAX);
	CHECK_INT(ni.file_size, 0);
	CHECK_INT(ni.odd, 0);
	narinfo_release(&ni);
	/* boost::lexical_cast takes leading zeros and a '+' */
	CHECK_INT(parse_str(L1_SP L2_URL L6_NH "NarSize: 000600\n", &ni, &err), 0);
	CHECK_INT(ni.nar_size, 600);
	CHECK_INT(ni.odd, NARINFO_ODD_FORM);
	narinfo_release(&ni);
	CHECK_INT(parse_str(L1_SP L2_URL L6_NH "NarSize: +600\nFileSize: +0\n", &ni, &err), 0);
	CHECK_INT(ni.nar_size, 600);
	CHECK_INT(ni.file_size, 0);
	narinfo_release(&ni);
}

TEST(name_length_limit)
{
	struct narinfo ni;
	struct narinfo_error err;
	char text[1024], name[STORE_NAME_MAX + 2];

	memset(name, 'x', STORE_NAME_MAX);
	name[STORE_NAME_MAX] = '\0';
	snprintf(text, sizeof(text), "StorePath: /nix/store/" HASH_B "-%s\n" L2_URL L6_NH L7_NS,
		 name);
	CHECK_INT(parse_str(text, &ni, &err), 0);
	CHECK_INT(strlen(ni.name), STORE_NAME_MAX);
	narinfo_release(&ni);

	strcat(name, "x");
	snprintf(text, sizeof(text), "StorePath: /nix/store/" HASH_B "-%s\n" L2_URL L6_NH L7_NS,
		 name);
	CHECK_INT(parse_str(text, &ni, &err), -1);
	CHECK_INT(err.line, 1);
	CHECK(!strncmp(err.msg, "bad name 'xxxx", 14));
	CHECK(strstr(err.msg, "...' in StorePath") != NULL);   /* long value cut */
	CHECK(strlen(err.msg) < sizeof(err.msg));
}

/* 1 when s is whole UTF-8 (a simple decoder, enough for the test) */
static int utf8_whole(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int more = *p < 0x80 ? 0 : *p >= 0xf0 ? 3 : *p >= 0xe0 ? 2 : *p >= 0xc0 ? 1 : -1;
		if (more < 0)
			return 0;
		p++;
		for (int i = 0; i < more; i++, p++)
			if ((*p & 0xc0) != 0x80)
				return 0;
	}
	return 1;
}

/* Long values are cut in messages, never in the middle of a character. */
TEST(long_values_in_messages)
{
	struct strbuf sb = STRBUF_INIT, dir = STRBUF_INIT;
	struct narinfo ni;
	struct narinfo_error err;

	strbuf_addstr(&dir, "/st");
	for (int i = 0; i < 100; i++)
		strbuf_addstr(&dir, "\xc3\xa9");
	for (int pre = 0; pre < 4; pre++) {
		strbuf_reset(&sb);
		strbuf_addstr(&sb, "StorePath: /");
		for (int i = 0; i < pre; i++)
			strbuf_addch(&sb, 'a');
		for (int i = 0; i < 100; i++)
			strbuf_addstr(&sb, "\xe2\x9c\x93");
		strbuf_addstr(&sb, "\n");
		CHECK_INT(narinfo_parse(sb.buf, sb.len, dir.buf, NULL, &ni, &err), -1);
		CHECK_INT(err.line, 1);
		CHECK(!strncmp(err.msg, "StorePath '/", 12));
		CHECK(strlen(err.msg) < sizeof(err.msg));
		CHECK(utf8_whole(err.msg));
	}
	strbuf_release(&sb);
	strbuf_release(&dir);
}

/* ---- malformed input ---- */

TEST(missing_required_keys)
{
	FAILS(L2_URL L6_NH L7_NS, 0, "missing required key 'StorePath'");
	FAILS(L1_SP L6_NH L7_NS, 0, "missing required key 'URL'");
	FAILS(L1_SP L2_URL L7_NS, 0, "missing required key 'NarHash'");
	FAILS(L1_SP L2_URL L6_NH, 0, "missing required key 'NarSize'");
	FAILS("", 0, "missing required key 'StorePath'");
	FAILS("\n\n", 1, "'' has no ':' (Nix refuses the whole file: expecting ':')");
	FAILS(L1_SP "URL: \n" L6_NH L7_NS, 2, "empty URL");
}

TEST(bad_nar_size)
{
	FAILS(L1_SP L2_URL L6_NH "NarSize: 0\n", 4, "NarSize is 0");
	FAILS(L1_SP L2_URL L6_NH "NarSize: 00\n", 4, "NarSize is 0");
	FAILS(L1_SP L2_URL L6_NH "NarSize: -600\n", 4, "bad NarSize '-600'");
	FAILS(L1_SP L2_URL L6_NH "NarSize: -0\n", 4, "bad NarSize '-0'");
	FAILS(L1_SP L2_URL L6_NH "NarSize: +\n", 4, "bad NarSize '+'");
	FAILS(L1_SP L2_URL L6_NH "NarSize: ++6\n", 4, "bad NarSize '++6'");
	/* Nix takes up to 2^64-1; cachegc's integers stop at 2^63-1 */
	FAILS(L1_SP L2_URL L6_NH "NarSize: 9223372036854775808\n", 4,
	      "bad NarSize '9223372036854775808'");
	FAILS(L1_SP L2_URL L6_NH "NarSize: 18446744073709551616\n", 4,
	      "bad NarSize '18446744073709551616'");
	FAILS(L1_SP L2_URL L6_NH "NarSize: 99999999999999999999999999\n", 4,
	      "bad NarSize '99999999999999999999999999'");
	FAILS(L1_SP L2_URL L6_NH "NarSize: 12x\n", 4, "bad NarSize '12x'");
	FAILS(L1_SP L2_URL L6_NH "NarSize: 0x10\n", 4, "bad NarSize '0x10'");
	FAILS(L1_SP L2_URL L6_NH "NarSize: 1 2\n", 4, "bad NarSize '1 2'");
	FAILS(L1_SP L2_URL L6_NH "NarSize:  12\n", 4, "bad NarSize ' 12'");
	FAILS(L1_SP L2_URL L6_NH "NarSize: 12 \n", 4, "bad NarSize '12 '");
	FAILS(L1_SP L2_URL L6_NH "NarSize: \n", 4, "bad NarSize ''");
	FAILS(MIN_B "FileSize: -1\n", 5, "bad FileSize '-1'");
	FAILS(MIN_B "FileSize: 1e3\n", 5, "bad FileSize '1e3'");
	FAILS(MIN_B "FileSize: \n", 5, "bad FileSize ''");
}

TEST(store_paths_as_nix_reads_them)
{
	static const char *const same[] = {
		"/nix/store//" BASE_B, "/nix/store/./" BASE_B, "/nix/./store/" BASE_B,
		"/nix/store/../store/" BASE_B, "/../nix/store/" BASE_B, "//nix/store/" BASE_B,
		"/nix/store/" BASE_B "/", "/nix/store/" BASE_B "/.", "/nix/store/x/../" BASE_B,
	};

	/* canonPath(): the same path, and flagged */
	for (size_t i = 0; i < ARRAY_SIZE(same); i++) {
		struct narinfo ni;
		struct narinfo_error err;
		char text[1024];

		snprintf(text, sizeof(text), "StorePath: %s\n" L2_URL L6_NH L7_NS, same[i]);
		CHECK_INT(parse_exact(text, strlen(text), "/nix/store", HASH_B, &ni, &err), 0);
		CHECK_STR(ni.store_path, "/nix/store/" BASE_B);
		CHECK_STR(ni.name, "cachegc-fixture-b-1.0");
		CHECK_INT(ni.odd, NARINFO_ODD_FORM);
		narinfo_release(&ni);
	}
	FAILS("StorePath: /nix/store/" BASE_B "/..\n" L2_URL L6_NH L7_NS, 1,
	      "StorePath '/nix/store/" BASE_B "/..' is not in '/nix/store'");
	FAILS("StorePath: \n" L2_URL L6_NH L7_NS, 1, "StorePath '' is not an absolute path");
}

TEST(bad_store_path)
{
	/* hash characters outside nix32, wrong lengths */
	FAILS("StorePath: /nix/store/9r69fx38cabl08javb844cq67lpr14de-x\n" L2_URL L6_NH L7_NS,
	      1, "bad hash in StorePath '/nix/store/9r69fx38cabl08javb844cq67lpr14de-x'");
	FAILS("StorePath: /nix/store/9R69FX38CABL08JAVB844CQ67LPR14DH-x\n" L2_URL L6_NH L7_NS,
	      1, "bad hash in StorePath '/nix/store/9R69FX38CABL08JAVB844CQ67LPR14DH-x'");
	FAILS("StorePath: /nix/store/9r69fx38cabl08javb844cq67lpr14d-x\n" L2_URL L6_NH L7_NS,
	      1, "bad hash in StorePath '/nix/store/9r69fx38cabl08javb844cq67lpr14d-x'");
	FAILS("StorePath: /nix/store/" HASH_B "\n" L2_URL L6_NH L7_NS,
	      1, "bad hash in StorePath '/nix/store/" HASH_B "'");
	/* Nix does not look at the 33rd byte; cachegc wants the '-' */
	FAILS("StorePath: /nix/store/" HASH_B "_x\n" L2_URL L6_NH L7_NS,
	      1, "bad hash in StorePath '/nix/store/" HASH_B "_x'");
	/* names */
	FAILS("StorePath: /nix/store/" HASH_B "-a@b\n" L2_URL L6_NH L7_NS,
	      1, "bad name 'a@b' in StorePath");
	FAILS("StorePath: /nix/store/" HASH_B "-.hidden\n" L2_URL L6_NH L7_NS,
	      1, "bad name '.hidden' in StorePath");
	FAILS("StorePath: /nix/store/" HASH_B "-\n" L2_URL L6_NH L7_NS,
	      1, "bad name '' in StorePath");
	FAILS("StorePath: /nix/store/" HASH_B "-caf\xc3\xa9\n" L2_URL L6_NH L7_NS,
	      1, "bad name 'caf\xc3\xa9' in StorePath");
	FAILS("StorePath: /nix/store/" HASH_B "-a\tb\n" L2_URL L6_NH L7_NS,
	      1, "bad name 'a?b' in StorePath");
	/* outside the store */
	FAILS("StorePath: /gnu/store/" BASE_B "\n" L2_URL L6_NH L7_NS,
	      1, "StorePath '/gnu/store/" BASE_B "' is not in '/nix/store'");
	FAILS("StorePath: /nix/storex/" BASE_B "\n" L2_URL L6_NH L7_NS,
	      1, "StorePath '/nix/storex/" BASE_B "' is not in '/nix/store'");
	FAILS("StorePath: /nix/store/\n" L2_URL L6_NH L7_NS,
	      1, "StorePath '/nix/store/' is not in '/nix/store'");
	FAILS("StorePath: " BASE_B "\n" L2_URL L6_NH L7_NS,
	      1, "StorePath '" BASE_B "' is not an absolute path");
	FAILS("StorePath: /nix/store/sub/" BASE_B "\n" L2_URL L6_NH L7_NS,
	      1, "StorePath '/nix/store/sub/" BASE_B "' is not directly in '/nix/store'");
}

TEST(nul_byte)
{
	static const char url[] = L1_SP "URL: nar/x\0y.nar.xz\n" L6_NH L7_NS;
	static const char key[] = L1_SP L2_URL "Fo\0o: \0\n" L6_NH L7_NS;
	static const char sig[] = MIN_B "Sig: a\0b\n";
	struct narinfo ni;
	struct narinfo_error err;

	/* Nix takes NUL bytes; cachegc refuses them in a URL only */
	FAILS_N(url, sizeof(url) - 1, 2, "URL 'nar/x?y.nar.xz' holds a NUL byte or bytes that "
		"are not UTF-8");
	CHECK_INT(parse_exact(key, sizeof(key) - 1, "/nix/store", NULL, &ni, &err), 0);
	narinfo_release(&ni);
	CHECK_INT(parse_exact(sig, sizeof(sig) - 1, "/nix/store", NULL, &ni, &err), 0);
	CHECK_INT(ni.nsigs, 1);
	if (ni.nsigs == 1)
		CHECK_STR(ni.sigs[0], "a?b");
	CHECK_INT(ni.odd, NARINFO_ODD_SIG | NARINFO_ODD_FORM);
	narinfo_release(&ni);
}

TEST(invalid_utf8)
{
	struct narinfo ni;
	struct narinfo_error err;

	FAILS(L1_SP "URL: nar/\xff.nar\n" L6_NH L7_NS, 2,
	      "URL 'nar/?.nar' holds a NUL byte or bytes that are not UTF-8");
	FAILS(L1_SP "URL: nar/\xc0\xaf.nar\n" L6_NH L7_NS, 2,   /* overlong '/' */
	      "URL 'nar/??.nar' holds a NUL byte or bytes that are not UTF-8");
	/* elsewhere, as Nix: ignored in unknown keys, kept as '?' in Sig,
	 * Compression and System */
	CHECK_INT(parse_str(MIN_B "X: \xc0\xaf\nY: \xed\xa0\x80\n\xff: 1\n", &ni, &err), 0);
	CHECK_INT(ni.odd, 0);
	narinfo_release(&ni);
	CHECK_INT(parse_str(MIN_B "System: x\xe2\x82\nCompression: \xf4\x90\x80\x80xz\n",
			    &ni, &err), 0);
	CHECK_STR(ni.system, "x??");
	CHECK_STR(ni.compression, "????xz");
	CHECK_INT(ni.odd, NARINFO_ODD_FORM);
	narinfo_release(&ni);
	/* control characters too: no escape sequence reaches a terminal */
	CHECK_INT(parse_str(MIN_B "Sig: \x1b[31mk:x\x7f\nSystem: a\tb\r\n", &ni, &err), 0);
	CHECK_INT(ni.nsigs, 1);
	if (ni.nsigs == 1)
		CHECK_STR(ni.sigs[0], "?[31mk:x?");
	CHECK_STR(ni.system, "a?b?");
	CHECK_INT(ni.odd, NARINFO_ODD_SIG | NARINFO_ODD_FORM);
	narinfo_release(&ni);
	CHECK_INT(parse_str(MIN_B "System: caf\xc3\xa9\n", &ni, &err), 0);
	CHECK_STR(ni.system, "caf\xc3\xa9");
	CHECK_INT(ni.odd, 0);
	narinfo_release(&ni);
}

TEST(truncated_file)
{
	static const char full[] = FULL_B;
	struct narinfo ni;
	struct narinfo_error err;
	size_t at_nh = strlen(L1_SP L2_URL L3_COMP L4_FH L5_FS);
	size_t at_ns = at_nh + strlen(L6_NH);

	CHECK_INT(parse_exact(full, sizeof(full) - 1, "/nix/store", HASH_B, &ni, &err), 0);
	narinfo_release(&ni);
	/* cut inside a value: no final newline */
	FAILS_N(full, at_nh + 30, 6, "no newline at the end (Nix refuses the whole file: "
		"expecting '\\n')");
	FAILS_N(full, sizeof(full) - 1 - 20, 11, "no newline at the end (Nix refuses the "
		"whole file: expecting '\\n')");
	/* cut inside a key: no colon */
	FAILS_N(full, at_ns + 5, 7, "'NarSi' has no ':' (Nix refuses the whole file: "
		"expecting ':')");
	/* cut after a whole line: required keys are missing */
	FAILS_N(full, at_nh, 0, "missing required key 'NarHash'");
}

TEST(bad_references)
{
	FAILS(MIN_B "References: /nix/store/" BASE_A "\n", 5,
	      "bad reference '/nix/store/" BASE_A "'");
	FAILS(MIN_B "References: " BASE_A " foo\n", 5, "bad reference 'foo'");
	FAILS(MIN_B "References: 7v0dyy7ha6am2ha4rja8pm6ycn3c7le4-a\n", 5,
	      "bad reference '7v0dyy7ha6am2ha4rja8pm6ycn3c7le4-a'");
	FAILS(MIN_B "References: " HASH_A "-.a\n", 5, "bad reference '" HASH_A "-.a'");
	FAILS(MIN_B "References: " HASH_A "\n", 5, "bad reference '" HASH_A "'");
	FAILS(MIN_B "References: " BASE_A ",foo\n", 5, "bad reference '" BASE_A ",foo'");
	/* only ' ' separates */
	FAILS(MIN_B "References: " BASE_A "\t" BASE_B "\n", 5,
	      "bad reference '" BASE_A "?" BASE_B "'");
}

TEST(malformed_sigs_are_kept)
{
	static const char *const odd[] = {
		"nokey", ":Zm9vYmFy", "test-1:", "test-1:!!!!", "test-1:Zh==", "test-1:Zm9vYmF", "",
		"test-1: " "gYJiROsV+ziQ/j0EeqpLAtEa/wdvWOVpqUqRg1sHas5D20ovLqK6xduYdFEnCAnkDjGjHHYGqPzQV5OB3gk9Bg==",
	};
	/* what Nix's base64 reader takes: no padding, bits left over, text
	 * after the '=' */
	static const char *const lenient[] = {
		"test-1:gYJiROsV+ziQ/j0EeqpLAtEa/wdvWOVpqUqRg1sHas5D20ovLqK6xduYdFEnCAnkDjGjHHYGqPzQV5OB3gk9Bg",
		"test-1:gYJiROsV+ziQ/j0EeqpLAtEa/wdvWOVpqUqRg1sHas5D20ovLqK6xduYdFEnCAnkDjGjHHYGqPzQV5OB3gk9Bh==",
		"test-1:gYJiROsV+ziQ/j0EeqpLAtEa/wdvWOVpqUqRg1sHas5D20ovLqK6xduYdFEnCAnkDjGjHHYGqPzQV5OB3gk9Bg==!x",
	};

	for (size_t i = 0; i < ARRAY_SIZE(odd) + ARRAY_SIZE(lenient); i++) {
		const char *sig = i < ARRAY_SIZE(odd) ? odd[i] : lenient[i - ARRAY_SIZE(odd)];
		struct narinfo ni;
		struct narinfo_error err;
		char text[1024];

		snprintf(text, sizeof(text), MIN_B L10_SIG "Sig: %s\n", sig);
		CHECK_INT(parse_str(text, &ni, &err), 0);
		CHECK_INT(ni.nsigs, 2);
		if (ni.nsigs == 2)
			CHECK(!strcmp(ni.sigs[0], sig) || !strcmp(ni.sigs[1], sig));
		CHECK_INT(ni.odd, i < ARRAY_SIZE(odd) ? NARINFO_ODD_SIG : NARINFO_ODD_FORM);
		CHECK_INT(ni.odd_line, 6);
		narinfo_release(&ni);
	}
}

TEST(deriver_forms)
{
	struct narinfo ni;
	struct narinfo_error err;

	/* any store path basename, .drv or not, as Nix */
	CHECK_INT(parse_str(MIN_B "Deriver: " BASE_A "\n", &ni, &err), 0);
	CHECK_STR(ni.deriver, BASE_A);
	narinfo_release(&ni);
	FAILS(MIN_B "Deriver: /nix/store/" BASE_A ".drv\n", 5,
	      "bad Deriver '/nix/store/" BASE_A ".drv'");
	FAILS(MIN_B "Deriver: foo.drv\n", 5, "bad Deriver 'foo.drv'");
	FAILS(MIN_B "Deriver: \n", 5, "bad Deriver ''");
}

TEST(bad_hashes_ca)
{
	FAILS(L1_SP L2_URL "NarHash: " NH_B "\n" L7_NS, 3, "bad NarHash '" NH_B "'");
	FAILS(L1_SP L2_URL "NarHash: sha256:xyz\n" L7_NS, 3, "bad NarHash 'sha256:xyz'");
	FAILS(L1_SP L2_URL "NarHash: sha256:2cggff606pzl437g3cy7yiynqnz276f87wqv57av6i76i9kgkxsv\n"
	      L7_NS, 3, "bad NarHash 'sha256:2cggff606pzl437g3cy7yiynqnz276f87wqv57av6i76i9kgkxsv'");
	FAILS(L1_SP L2_URL "NarHash: \n" L7_NS, 3, "bad NarHash ''");
	FAILS(L1_SP L2_URL "NarHash: SHA256:" NH_B "\n" L7_NS, 3, "bad NarHash 'SHA256:" NH_B "'");
	FAILS(L1_SP L2_URL "NarHash: sha256:W/f5ZormRLPVKRvzg5w5=ltsffTHs/HOIPRfA4xz7zE=\n" L7_NS, 3,
	      "bad NarHash 'sha256:W/f5ZormRLPVKRvzg5w5=ltsffTHs/HOIPRfA4xz7zE='");
	FAILS(MIN_B "FileHash: sha256-" FH_B "\n", 5, "bad FileHash 'sha256-" FH_B "'");
	FAILS(MIN_B "CA: fixed:foo\n", 5, "bad CA 'fixed:foo'");
	FAILS(MIN_B "CA: sha256:" NH_B "\n", 5, "bad CA 'sha256:" NH_B "'");
	FAILS(MIN_B "CA: text:sha1:kpcd173cq987hw957sx6m0868wv3x6d9\n", 5,
	      "bad CA 'text:sha1:kpcd173cq987hw957sx6m0868wv3x6d9'");
	FAILS(MIN_B "CA: fixed:sha256-W/f5ZormRLPVKRvzg5w54ltsffTHs/HOIPRfA4xz7zE=\n", 5,
	      "bad CA 'fixed:sha256-W/f5ZormRLPVKRvzg5w54ltsffTHs/HOIPRfA4xz7zE='");
	FAILS(MIN_B "CA: fixed:git:md5:00000000000000000000000000000000\n", 5,
	      "bad CA 'fixed:git:md5:00000000000000000000000000000000'");
}

TEST(size_limit)
{
	size_t pad, len;
	char *big;
	struct narinfo ni;
	struct narinfo_error err;

	/* exactly NARINFO_MAX_BYTES, made of a valid narinfo and an unknown key */
	big = xmalloc(NARINFO_MAX_BYTES + 1);
	len = strlen(MIN_B);
	memcpy(big, MIN_B "Padding: ", len + 9);
	pad = NARINFO_MAX_BYTES - (len + 9) - 1;
	memset(big + len + 9, 'p', pad);
	big[NARINFO_MAX_BYTES - 1] = '\n';
	CHECK_INT(narinfo_parse(big, NARINFO_MAX_BYTES, "/nix/store", NULL, &ni, &err), 0);
	narinfo_release(&ni);
	/* one byte more */
	big[NARINFO_MAX_BYTES - 1] = 'p';
	big[NARINFO_MAX_BYTES] = '\n';
	CHECK_INT(narinfo_parse(big, NARINFO_MAX_BYTES + 1, "/nix/store", NULL, &ni, &err), -1);
	CHECK_INT(err.line, 0);
	CHECK_STR(err.msg, "narinfo larger than 1048576 bytes");
	CHECK(is_released(&ni));
	free(big);
}

TEST(many_references_and_sigs)
{
	struct strbuf sb = STRBUF_INIT;
	struct narinfo ni;
	struct narinfo_error err;
	char *out;

	strbuf_addstr(&sb, MIN_B "References:");
	for (int i = 0; i < 500; i++)
		strbuf_addf(&sb, " %032d-p%d", i, i);
	strbuf_addch(&sb, '\n');
	for (int i = 0; i < 100; i++)
		strbuf_addf(&sb, "Sig: k%d:Zm9vYmFy\n", i);
	CHECK_INT(narinfo_parse(sb.buf, sb.len, "/nix/store", NULL, &ni, &err), 0);
	CHECK_INT(ni.nrefs, 500);
	CHECK_INT(ni.nsigs, 100);
	/* a set, sorted as Nix holds them */
	for (size_t i = 1; i < ni.nsigs; i++)
		CHECK(strcmp(ni.sigs[i - 1], ni.sigs[i]) < 0);
	CHECK_INT(ni.odd, NARINFO_ODD_SIG);
	for (size_t i = 1; i < ni.nrefs; i++)
		CHECK(strcmp(ni.refs[i - 1], ni.refs[i]) < 0);
	out = narinfo_format(&ni);
	narinfo_release(&ni);
	/* what narinfo_format writes parses back to the same thing */
	CHECK_INT(narinfo_parse(out, strlen(out), "/nix/store", NULL, &ni, &err), 0);
	CHECK_INT(ni.nrefs, 500);
	CHECK_INT(ni.nsigs, 100);
	narinfo_release(&ni);
	free(out);
	strbuf_release(&sb);
}

TEST(error_struct_may_be_null)
{
	struct narinfo ni;
	struct nix_cache_info ci;

	CHECK_INT(narinfo_parse("junk", 4, "/nix/store", NULL, &ni, NULL), -1);
	CHECK(is_released(&ni));
	CHECK_INT(nix_cache_info_parse("StoreDir: x", 11, &ci, NULL), -1);
	CHECK(ci.store_dir == NULL);
}

/* ---- nix-cache-info ---- */

static int parse_ci(const char *text, struct nix_cache_info *ci, struct narinfo_error *err)
{
	size_t len = strlen(text);
	char *copy = xmalloc(len ? len : 1);
	int rc;

	memcpy(copy, text, len);
	rc = nix_cache_info_parse(copy, len, ci, err);
	free(copy);
	return rc;
}

static void check_ci_fails(int at, const char *text, unsigned line, const char *msg)
{
	struct nix_cache_info ci;
	struct narinfo_error err;

	if (parse_ci(text, &ci, &err) != -1) {
		fprintf(stderr, "%s:%d: parse succeeded\n", __FILE__, at);
		harness_failed_now = 1;
		nix_cache_info_release(&ci);
		return;
	}
	if (err.line != line || strcmp(err.msg, msg)) {
		fprintf(stderr, "%s:%d: error line %u '%s', want line %u '%s'\n",
			__FILE__, at, err.line, err.msg, line, msg);
		harness_failed_now = 1;
	}
	if (ci.store_dir) {
		fprintf(stderr, "%s:%d: not released\n", __FILE__, at);
		harness_failed_now = 1;
	}
}

#define CI_FAILS(text, line, msg) check_ci_fails(__LINE__, (text), (line), (msg))

TEST(cache_info_fields)
{
	struct nix_cache_info ci;
	struct narinfo_error err;

	CHECK_INT(parse_ci("StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\n", &ci, &err), 0);
	CHECK_STR(ci.store_dir, "/nix/store");
	CHECK_INT(ci.want_mass_query, 1);
	CHECK_INT(ci.priority, 40);
	nix_cache_info_release(&ci);

	CHECK_INT(parse_ci("Priority: 0\nWantMassQuery: 0\nStoreDir: /gnu/store\nFoo: bar", &ci,
			   &err), 0);
	CHECK_STR(ci.store_dir, "/gnu/store");
	CHECK_INT(ci.want_mass_query, 0);
	CHECK_INT(ci.priority, 0);
	nix_cache_info_release(&ci);

	CHECK_INT(parse_ci("", &ci, &err), 0);
	CHECK_STR(ci.store_dir, "/nix/store");
	CHECK_INT(ci.want_mass_query, -1);
	CHECK_INT(ci.priority, -1);
	nix_cache_info_release(&ci);
}

/* What Nix's BinaryCacheStore::init() takes that a strict reader would
 * not: values trimmed, lines without a colon skipped, unknown keys (and
 * keys with spaces around them) ignored, the last value of a key wins,
 * WantMassQuery true only for "1", Priority as stoi reads it. */
TEST(cache_info_as_nix_reads_it)
{
	struct nix_cache_info ci;
	struct narinfo_error err;

	CHECK_INT(parse_ci("StoreDir:/nix/store\nWantMassQuery:1\nPriority:30", &ci, &err), 0);
	CHECK_STR(ci.store_dir, "/nix/store");
	CHECK_INT(ci.want_mass_query, 1);
	CHECK_INT(ci.has_priority, 1);
	CHECK_INT(ci.priority, 30);
	nix_cache_info_release(&ci);

	CHECK_INT(parse_ci("StoreDir: /nix/store \r\n\n\nWantMassQuery:\t1\t\r\n"
			   "junk without colon\nPriority:  41  \n", &ci, &err), 0);
	CHECK_STR(ci.store_dir, "/nix/store");
	CHECK_INT(ci.want_mass_query, 1);
	CHECK_INT(ci.priority, 41);
	nix_cache_info_release(&ci);

	/* Anything but "1" is false; present-but-false is 0, not absent. */
	const char *falsy[] = {"WantMassQuery: 0\n", "WantMassQuery: true\n",
			       "WantMassQuery: 2\n", "WantMassQuery:\n", "WantMassQuery: 11\n",
			       "WantMassQuery: 1\nWantMassQuery: 0\n"};
	for (size_t i = 0; i < sizeof(falsy) / sizeof(falsy[0]); i++) {
		CHECK_INT(parse_ci(falsy[i], &ci, &err), 0);
		CHECK_INT(ci.want_mass_query, 0);
		nix_cache_info_release(&ci);
	}
	CHECK_INT(parse_ci("WantMassQuery: 0\nWantMassQuery: 1\n", &ci, &err), 0);
	CHECK_INT(ci.want_mass_query, 1);
	nix_cache_info_release(&ci);

	/* stoi: sign, digits, anything after them ignored; the last one wins. */
	CHECK_INT(parse_ci("Priority: 4x\n", &ci, &err), 0);
	CHECK_INT(ci.priority, 4);
	nix_cache_info_release(&ci);
	CHECK_INT(parse_ci("Priority: -1\n", &ci, &err), 0);
	CHECK_INT(ci.has_priority, 1);
	CHECK_INT(ci.priority, -1);
	nix_cache_info_release(&ci);
	CHECK_INT(parse_ci("Priority: +7\nPriority: 2147483647\n", &ci, &err), 0);
	CHECK_INT(ci.priority, 2147483647);
	nix_cache_info_release(&ci);
	CHECK_INT(parse_ci("Priority: -2147483648\n", &ci, &err), 0);
	CHECK_INT(ci.priority, INT32_MIN);
	nix_cache_info_release(&ci);

	/* Keys are not trimmed, and case matters: these are unknown keys. */
	CHECK_INT(parse_ci(" StoreDir: /gnu/store\nstoredir: /gnu/store\nStoreDir : x\n"
			   "Priority : junk\nFoo: bar\nPriority\n", &ci, &err), 0);
	CHECK_STR(ci.store_dir, "/nix/store");
	CHECK_INT(ci.want_mass_query, -1);
	CHECK_INT(ci.has_priority, 0);
	nix_cache_info_release(&ci);

	/* The same StoreDir twice is fine; bytes Nix does not look at are too. */
	CHECK_INT(parse_ci("StoreDir: /nix/store\nStoreDir:/nix/store\nX: \xc3\n", &ci, &err), 0);
	CHECK_STR(ci.store_dir, "/nix/store");
	nix_cache_info_release(&ci);
}

TEST(cache_info_malformed)
{
	CI_FAILS("StoreDir: nix/store\n", 1, "bad StoreDir 'nix/store'");
	CI_FAILS("StoreDir: /nix/store/\n", 1, "bad StoreDir '/nix/store/'");
	CI_FAILS("StoreDir: /\n", 1, "bad StoreDir '/'");
	CI_FAILS("StoreDir: \n", 1, "bad StoreDir ''");
	CI_FAILS("StoreDir:\n", 1, "bad StoreDir ''");
	CI_FAILS("\nStoreDir: /nix/st\xc3ore\n", 2, "bad StoreDir '/nix/st?ore'");
	CI_FAILS("StoreDir: /nix/store\nStoreDir: /gnu/store\n", 2,
		 "StoreDir '/gnu/store' contradicts StoreDir '/nix/store' above");
	CI_FAILS("Priority: x4\n", 1,
		 "bad Priority 'x4' (Nix refuses a cache whose Priority is no integer)");
	CI_FAILS("Priority:\n", 1,
		 "bad Priority '' (Nix refuses a cache whose Priority is no integer)");
	CI_FAILS("Priority: 2147483648\n", 1, "bad Priority '2147483648' (Nix refuses a "
		 "cache whose Priority is no integer)");
	CI_FAILS("Priority: 1\nPriority: -\n", 2,
		 "bad Priority '-' (Nix refuses a cache whose Priority is no integer)");
}


/* ---- Nix's lexer -------------------------------------------------------- */

/* Lex buf and render what Nix sees: "key=value|" per entry (with '\n'
 * shown as '~'), then "END" or the refusal's words. */
static void nix_lex_render(const char *buf, size_t len, char *out, size_t sz)
{
	struct nix_lexer lx;
	struct nix_entry e;
	size_t o = 0;
	int rc;

	nix_lex_init(&lx, buf, len);
	out[0] = '\0';
	while ((rc = nix_lex_next(&lx, &e)) == NIX_LEX_ENTRY) {
		for (size_t i = 0; i < e.klen && o + 2 < sz; i++)
			out[o++] = e.key[i] == '\n' ? '~' : e.key[i];
		if (o + 2 < sz)
			out[o++] = '=';
		for (size_t i = 0; i < e.vlen && o + 2 < sz; i++)
			out[o++] = e.val[i] == '\n' ? '~' : e.val[i] == '\r' ? '^' : e.val[i];
		if (o + 2 < sz)
			out[o++] = '|';
		out[o] = '\0';
	}
	snprintf(out + o, sz - o, "%s", rc == NIX_LEX_END ? "END" : nix_lex_strerror(rc));
}

#define LEXES(text, want)                                                    \
	do {                                                                 \
		char got_[512];                                              \
		nix_lex_render(text, sizeof(text) - 1, got_, sizeof(got_));  \
		CHECK_STR(got_, want);                                       \
	} while (0)

TEST(nix_lexer_reads_as_nix)
{
	/* the cases of nar-info.cc's loop (Nix 2.8.0 and current Nix) */
	LEXES("", "END");
	LEXES("URL: nar/x\n", "URL=nar/x|END");
	LEXES("URL:\tnar/x\n", "URL=nar/x|END");       /* one byte skipped */
	LEXES("URL:nar/x\n", "URL=ar/x|END");          /* even a value's */
	LEXES("URL:x\n", "URL=|END");
	LEXES("URL:  x\n", "URL= x|END");
	LEXES("Key:\nURL: x\n", "Key=URL: x|END");     /* the newline skipped */
	LEXES("junk\nURL: a\n", "junk~URL=a|END");     /* no colon: joins the key */
	LEXES("A: b\r\n", "A=b^|END");                 /* nothing trimmed */
	LEXES("URL: a\nURL: b\n", "URL=a|URL=b|END");  /* keys repeat */
	LEXES("A: b:c\n", "A=b:c|END");
	LEXES("A: b", "expecting '\\n'");
	LEXES("A: b\n\n", "A=b|expecting ':'");        /* trailing blank line */
	LEXES("A: b\nC", "A=b|expecting ':'");
	LEXES("A:", "expecting '\\n'");
	LEXES("A:\n", "expecting '\\n'");              /* colon + 2 is the end */
	LEXES("A: \n", "A=|END");
	LEXES(":: x\n", "= x|END");            /* the second colon skipped */
}

TEST(nix_lexer_positions_and_nul)
{
	static const char text[] = "A: 1\nB\nC: x\0y\nD: 2";
	struct nix_lexer lx;
	struct nix_entry e;

	nix_lex_init(&lx, text, sizeof(text) - 1);
	CHECK_INT(nix_lex_next(&lx, &e), NIX_LEX_ENTRY);
	CHECK_INT(e.line, 1);
	CHECK_INT(e.entry, 1);
	CHECK_INT(nix_lex_next(&lx, &e), NIX_LEX_ENTRY);
	CHECK_INT(e.line, 2);            /* "B\nC" starts on line 2 */
	CHECK_INT(e.entry, 2);
	CHECK(e.klen == 3 && !memcmp(e.key, "B\nC", 3));
	CHECK(e.vlen == 3 && !memcmp(e.val, "x\0y", 3));
	CHECK_INT(lx.line, 4);
	CHECK_INT(nix_lex_next(&lx, &e), NIX_LEX_NO_NEWLINE);
	CHECK_INT(lx.line, 4);           /* where it stopped */
	CHECK_INT(nix_lex_next(&lx, &e), NIX_LEX_NO_NEWLINE);  /* stays */
	CHECK(nix_lex_strerror(NIX_LEX_END) == NULL);
	nix_lex_init(&lx, NULL, 0);
	CHECK_INT(nix_lex_next(&lx, &e), NIX_LEX_END);
}

int main(void)
{
	RUN(fixture_with_deriver_and_no_references);
	RUN(fixture_with_self_reference_and_two_sigs);
	RUN(fixture_content_addressed);
	RUN(fixture_uncompressed_unsigned);
	RUN(format_reproduces_nix_output);
	RUN(fixture_nix_cache_info);
	RUN(defaults_when_optional_keys_absent);
	RUN(hash_forms_normalize_alike);
	RUN(unknown_deriver_and_empty_ca);
	RUN(ca_forms);
	RUN(unknown_keys_system_and_utf8);
	RUN(line_endings_and_blank_lines);
	RUN(separators_as_nix_reads_them);
	RUN(repeated_keys_as_nix_reads_them);
	RUN(references_sorted_deduplicated);
	RUN(store_dir_and_expect_hash);
	RUN(sizes_at_the_limits);
	RUN(name_length_limit);
	RUN(long_values_in_messages);
	RUN(missing_required_keys);
	RUN(bad_nar_size);
	RUN(store_paths_as_nix_reads_them);
	RUN(bad_store_path);
	RUN(nul_byte);
	RUN(invalid_utf8);
	RUN(truncated_file);
	RUN(bad_references);
	RUN(malformed_sigs_are_kept);
	RUN(deriver_forms);
	RUN(bad_hashes_ca);
	RUN(size_limit);
	RUN(many_references_and_sigs);
	RUN(error_struct_may_be_null);
	RUN(cache_info_fields);
	RUN(cache_info_as_nix_reads_it);
	RUN(cache_info_malformed);
	RUN(nix_lexer_reads_as_nix);
	RUN(nix_lexer_positions_and_nul);
	return test_summary();
}
