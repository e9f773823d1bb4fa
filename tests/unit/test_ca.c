/*
 * test_ca.c - content addresses: parsing the CA field, and the store path
 * Nix makes from one, on paths real Nix 2.8 made.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "nix/ca.h"
#include "nix/nixhash.h"

#define SD "/nix/store"

TEST(parse_reads_each_method)
{
	struct content_address a;

	CHECK(ca_parse("text:sha256:00xyyr3fi8l6hb839bv3f7yb86yjv7xi1cgh1xnhipym4asvb4aq", 64, &a) == 0);
	CHECK_INT(a.method, CA_TEXT);
	CHECK_INT(a.hash.algo, HASH_SHA256);
	CHECK_INT(a.hash.len, 32);
	CHECK(ca_parse("fixed:sha1:5bzi22k1ijgrnwgfgxlq5vbrskxrvkvg", 43, &a) == 0);
	CHECK_INT(a.method, CA_FLAT);
	CHECK_INT(a.hash.algo, HASH_SHA1);
	CHECK(ca_parse("fixed:r:sha256:15ylf75mvc6yr9wb6799275l9m9giywz3cdrwmar1ss0gvy56450", 67, &a) == 0);
	CHECK_INT(a.method, CA_RECURSIVE);
	CHECK_INT(a.hash.algo, HASH_SHA256);
	/* base16 and SRI hashes are hashes too */
	CHECK(ca_parse("fixed:md5:d41d8cd98f00b204e9800998ecf8427e", 42, &a) == 0);
	CHECK_INT(a.hash.algo, HASH_MD5);
	CHECK(a.hash.bytes[0] == 0xd4 && a.hash.bytes[15] == 0x7e);
	/* the length given is the end: a longer buffer is not read */
	CHECK(ca_parse("fixed:md5:d41d8cd98f00b204e9800998ecf8427eXX", 42, &a) == 0);
}

TEST(parse_refuses_what_nix_does_not_make)
{
	struct content_address a;
	static const char *const bad[] = {
		"", "text:", "fixed:", "fixed:r:", "text:md5:d41d8cd98f00b204e9800998ecf8427e",
		"nar:sha256:00xyyr3fi8l6hb839bv3f7yb86yjv7xi1cgh1xnhipym4asvb4aq",
		"fixed:sha256:00", "fixed:rr:sha1:5bzi22k1ijgrnwgfgxlq5vbrskxrvkvg",
		"Text:sha256:00xyyr3fi8l6hb839bv3f7yb86yjv7xi1cgh1xnhipym4asvb4aq",
		"fixed:git:sha1:5bzi22k1ijgrnwgfgxlq5vbrskxrvkvg",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (ca_parse(bad[i], strlen(bad[i]), &a) != -1) {
			fprintf(stderr, "ca_parse accepted '%s'\n", bad[i]);
			CHECK(0);
		}
	}
}

/* Paths and CA fields as Nix 2.8 made them (builtins.toFile, builtins.path
 * recursive and flat, a flat sha1 fixed-output derivation). */
TEST(path_matches_what_nix_made)
{
	static const char *const t1 = "qyg7wzl33k4klhfypq1cxgaci84k5ijr-cachegc-ca-text";
	const char *refs[] = {t1};

	CHECK(ca_path_matches(SD, t1, "text:sha256:00xyyr3fi8l6hb839bv3f7yb86yjv7xi1cgh1xnhipym4asvb4aq",
			      NULL, 0));
	CHECK(ca_path_matches(SD, "dqcnrkk51lg8r2j40hsgykgqypli7zc1-cachegc-ca-text-refs",
			      "text:sha256:0d23vbfd7krchfqr5b1z0va4qvfm650ilvz7dh1fcczn3bvz9njj",
			      refs, 1));
	/* the same without its reference is another path */
	CHECK(!ca_path_matches(SD, "dqcnrkk51lg8r2j40hsgykgqypli7zc1-cachegc-ca-text-refs",
			       "text:sha256:0d23vbfd7krchfqr5b1z0va4qvfm650ilvz7dh1fcczn3bvz9njj",
			       NULL, 0));
	CHECK(ca_path_matches(SD, "y25mpnxrjfqy3c27fzimbryzpm6qkxds-cachegc-ca-source",
			      "fixed:r:sha256:15ylf75mvc6yr9wb6799275l9m9giywz3cdrwmar1ss0gvy56450",
			      NULL, 0));
	CHECK(ca_path_matches(SD, "kc6hk7mcsp3daa8z2b3rjmf2kzzypl1a-cachegc-ca-flat",
			      "fixed:sha256:1xk2hhjr0f2n4adj1h688wlz59xpl86y1r8bd2pjasg8gy16mikb",
			      NULL, 0));
	CHECK(ca_path_matches(SD, "7h0c57gax5dpxvbvgfr6b7bv6iagw4g7-cachegc-ca-sha1",
			      "fixed:sha1:5bzi22k1ijgrnwgfgxlq5vbrskxrvkvg", NULL, 0));
	/* another name, another store dir, another method: not this path */
	CHECK(!ca_path_matches(SD, "qyg7wzl33k4klhfypq1cxgaci84k5ijr-cachegc-ca-texu",
			       "text:sha256:00xyyr3fi8l6hb839bv3f7yb86yjv7xi1cgh1xnhipym4asvb4aq",
			       NULL, 0));
	CHECK(!ca_path_matches("/gnu/store", t1,
			       "text:sha256:00xyyr3fi8l6hb839bv3f7yb86yjv7xi1cgh1xnhipym4asvb4aq",
			       NULL, 0));
	CHECK(!ca_path_matches(SD, "kc6hk7mcsp3daa8z2b3rjmf2kzzypl1a-cachegc-ca-flat",
			       "fixed:r:sha256:1xk2hhjr0f2n4adj1h688wlz59xpl86y1r8bd2pjasg8gy16mikb",
			       NULL, 0));
	/* junk never matches, never crashes */
	CHECK(!ca_path_matches(SD, t1, "", NULL, 0));
	CHECK(!ca_path_matches(SD, t1, "text:", NULL, 0));
	CHECK(!ca_path_matches(SD, t1, "text:md5:00", NULL, 0));
	CHECK(!ca_path_matches(SD, t1, "fixed:r:", NULL, 0));
	CHECK(!ca_path_matches(SD, t1, "nar:sha256:00xyyr3fi8l6hb839bv3f7yb86yjv7xi1cgh1xnhipym4asvb4aq",
			       NULL, 0));
	CHECK(!ca_path_matches(SD, "short", "text:sha256:00", NULL, 0));
	/* a flat fixed output cannot have references */
	CHECK(!ca_path_matches(SD, "7h0c57gax5dpxvbvgfr6b7bv6iagw4g7-cachegc-ca-sha1",
			       "fixed:sha1:5bzi22k1ijgrnwgfgxlq5vbrskxrvkvg", refs, 1));
}

/* Self-references, with store hashes computed by an independent script
 * (Python's hashlib, Nix's makeStorePath with the type "text:self" and
 * "source:self"): a source path may refer to itself, a text path may not
 * (Nix refuses to make one), so the second never matches. */
TEST(self_reference_only_for_source_paths)
{
	static const char *const src = "p3d8kywdc0wpyj7s0wzi8avyc1hh1hx5-cachegc-ca-source-self";
	static const char *const txt = "7smgxk3gmn6fh9cl9f4d7zbs0nkbqvah-cachegc-ca-text-self";
	const char *sref[] = {src}, *tref[] = {txt};

	CHECK(ca_path_matches(SD, src,
			      "fixed:r:sha256:0wxv1a4v7b7i4k463mls9jzx27ydd4v71dgarhq8x20w8y8swp22",
			      sref, 1));
	/* without the self-reference it is another path */
	CHECK(!ca_path_matches(SD, src,
			       "fixed:r:sha256:0wxv1a4v7b7i4k463mls9jzx27ydd4v71dgarhq8x20w8y8swp22",
			       NULL, 0));
	CHECK(!ca_path_matches(SD, txt,
			       "text:sha256:0wh0sjrijg0x8rik418zv1gw1bg2ll15n2sqnrq8wk5wi3k4sy4z",
			       tref, 1));
}

int main(void)
{
	RUN(parse_reads_each_method);
	RUN(parse_refuses_what_nix_does_not_make);
	RUN(path_matches_what_nix_made);
	RUN(self_reference_only_for_source_paths);
	return test_summary();
}
