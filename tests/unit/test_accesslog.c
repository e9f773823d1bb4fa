/*
 * test_accesslog.c - the pure parts of import-access (accesslog.c): log
 * lines in combined, common and S3 format, time zones, request targets
 * (query strings, %XX, junk), classification against a prefix, what
 * counts as an access, the hash/URL index and the per-day aggregation.
 */
#include <stdlib.h>
#include <string.h>

#include "nix/accesslog.h"
#include "harness.h"
#include "lib/util.h"

#define H1 "0c5mm8ka4jnlgpc9ld6xnrsz8xjpgqbn"
#define H2 "1b9p7w4aqr1mxrcnbfp2pizy9hp8m0vf"
#define H3 "2b9p7w4aqr1mxrcnbfp2pizy9hp8m0vf"

/* 2024-10-10T11:55:36Z */
#define T_UTC 1728561336

static int parse(const char *line, enum access_format f, struct access_request *q, char *why)
{
	return access_parse_line(line, strlen(line), f, q, why, 160);
}

/* The target of q as a string (static buffer). */
static const char *target(const struct access_request *q)
{
	static char buf[512];

	if (!q->target)
		return "(none)";
	snprintf(buf, sizeof(buf), "%.*s", (int)q->target_len, q->target);
	return buf;
}

TEST(combined_basic)
{
	struct access_request q;
	char why[160];

	CHECK_INT(parse("203.0.113.9 - - [10/Oct/2024:13:55:36 +0200] \"GET /" H1 ".narinfo HTTP/1.1\" "
			"200 512 \"-\" \"Nix/2.18.1 curl/8.4.0\"", ACCESS_FMT_COMBINED, &q, why), 0);
	CHECK_INT(q.format, ACCESS_FMT_COMBINED);
	CHECK_INT(q.time, T_UTC);
	CHECK_INT(q.method, ACCESS_GET);
	CHECK_INT(q.status, 200);
	CHECK_STR(target(&q), "/" H1 ".narinfo");

	/* the same in auto mode, with HEAD, a user and a -0700 zone */
	CHECK_INT(parse("::1 - alice [10/Oct/2024:04:55:36 -0700] \"HEAD /x?y=1 HTTP/2.0\" 304 - "
			"\"https://r/\" \"a b c\"", ACCESS_FMT_AUTO, &q, why), 0);
	CHECK_INT(q.format, ACCESS_FMT_COMBINED);
	CHECK_INT(q.time, T_UTC);
	CHECK_INT(q.method, ACCESS_HEAD);
	CHECK_INT(q.status, 304);
	CHECK_STR(target(&q), "/x?y=1");

	/* common format: no referer and agent */
	CHECK_INT(parse("h i u [10/Oct/2024:11:55:36 +0000] \"GET /a HTTP/1.0\" 404 0",
			ACCESS_FMT_AUTO, &q, why), 0);
	CHECK_INT(q.time, T_UTC);
	CHECK_INT(q.status, 404);
	/* trailing fields of custom formats are fine */
	CHECK_INT(parse("h - - [10/Oct/2024:11:55:36 +0000] \"GET /a HTTP/1.1\" 500 10 \"-\" \"-\" "
			"\"10.0.0.1\" rt=0.003", ACCESS_FMT_COMBINED, &q, why), 0);
	CHECK_INT(q.status, 500);
	/* time zones at the extremes, and a day change */
	CHECK_INT(parse("h - - [01/Jan/2024:00:30:00 +1400] \"GET /a HTTP/1.1\" 200 1",
			ACCESS_FMT_AUTO, &q, why), 0);
	CHECK_INT(q.time, 1704067200 + 1800 - 14 * 3600);
	CHECK_INT(parse("h - - [31/Dec/2023:23:30:00 -0930] \"GET /a HTTP/1.1\" 200 1",
			ACCESS_FMT_AUTO, &q, why), 0);
	CHECK_INT(q.time, 1704067200 - 1800 + 9 * 3600 + 1800);
	/* 29 February of a leap year */
	CHECK_INT(parse("h - - [29/Feb/2024:00:00:00 +0000] \"GET /a HTTP/1.1\" 200 1",
			ACCESS_FMT_AUTO, &q, why), 0);
	CHECK_INT(q.time, 1709164800);
}

TEST(combined_requests)
{
	struct access_request q;
	char why[160];

	/* escaped quotes inside the agent (Apache) and the request (nginx \x22) */
	CHECK_INT(parse("h - - [10/Oct/2024:11:55:36 +0000] \"GET /a\\x22b HTTP/1.1\" 200 1 "
			"\"-\" \"say \\\"hi\\\" \\\\o/\"", ACCESS_FMT_COMBINED, &q, why), 0);
	CHECK_STR(target(&q), "/a\\x22b");
	/* an absolute-form target */
	CHECK_INT(parse("h - - [10/Oct/2024:11:55:36 +0000] \"GET http://cache.example/" H1
			".narinfo HTTP/1.1\" 200 1", ACCESS_FMT_COMBINED, &q, why), 0);
	CHECK_STR(target(&q), "http://cache.example/" H1 ".narinfo");
	/* HTTP/0.9 has no protocol */
	CHECK_INT(parse("h - - [10/Oct/2024:11:55:36 +0000] \"GET /a\" 200 1", ACCESS_FMT_COMBINED,
			&q, why), 0);
	CHECK_STR(target(&q), "/a");
	/* nginx logs "-" or escaped binary for requests it could not read:
	 * the line parses, the request names nothing */
	CHECK_INT(parse("h - - [10/Oct/2024:11:55:36 +0000] \"-\" 400 0 \"-\" \"-\"",
			ACCESS_FMT_COMBINED, &q, why), 0);
	CHECK(q.target == NULL);
	CHECK_INT(q.status, 400);
	CHECK_INT(parse("h - - [10/Oct/2024:11:55:36 +0000] \"\\x16\\x03\\x01\\x02\\x00\" 400 157 "
			"\"-\" \"-\"", ACCESS_FMT_COMBINED, &q, why), 0);
	CHECK(q.target == NULL);
	CHECK_INT(q.method, ACCESS_OTHER);
	/* other methods parse, as OTHER */
	CHECK_INT(parse("h - - [10/Oct/2024:11:55:36 +0000] \"PUT /" H1 ".narinfo HTTP/1.1\" 200 1",
			ACCESS_FMT_COMBINED, &q, why), 0);
	CHECK_INT(q.method, ACCESS_OTHER);
	CHECK_STR(target(&q), "/" H1 ".narinfo");
	CHECK_INT(parse("h - - [10/Oct/2024:11:55:36 +0000] \"get /a HTTP/1.1\" 200 1",
			ACCESS_FMT_COMBINED, &q, why), 0);
	CHECK(q.target == NULL);
	/* junk after the protocol: not a request line */
	CHECK_INT(parse("h - - [10/Oct/2024:11:55:36 +0000] \"GET /a HTTP/1.1 x\" 200 1",
			ACCESS_FMT_COMBINED, &q, why), 0);
	CHECK(q.target == NULL);
}

#define CHECK_MALFORMED(line, fmt)                                               \
	do {                                                                     \
		struct access_request q_;                                        \
		char w_[160] = "";                                               \
		if (!parse(line, fmt, &q_, w_))                                  \
			fprintf(stderr, "%s:%d: parsed: %s\n", __FILE__, __LINE__, \
				line);                                           \
		else                                                             \
			CHECK(w_[0] != '\0');                                    \
	} while (0)

TEST(malformed)
{
	static const char *const combined_bad[] = {
		"",
		"garbage",
		"h - - [10/Oct/2024:11:55:36 +0000] \"GET /a HTTP/1.1\" 200",      /* truncated */
		"h - - [10/Oct/2024:11:55:36 +0000] \"GET /a HTTP/1.1",            /* unterminated */
		"h - - [10/Oct/2024:11:55:36 +0000 \"GET /a HTTP/1.1\" 200 1",     /* no ] */
		"h - - [10/Oct/2024:11:55:36] \"GET /a HTTP/1.1\" 200 1",          /* no zone */
		"h - - [10/Okt/2024:11:55:36 +0000] \"GET /a HTTP/1.1\" 200 1",    /* month */
		"h - - [31/Apr/2024:11:55:36 +0000] \"GET /a HTTP/1.1\" 200 1",    /* no 31 April */
		"h - - [29/Feb/2023:11:55:36 +0000] \"GET /a HTTP/1.1\" 200 1",    /* not a leap year */
		"h - - [10/Oct/2024:24:00:00 +0000] \"GET /a HTTP/1.1\" 200 1",    /* hour */
		"h - - [10/Oct/2024:11:55:36 +2460] \"GET /a HTTP/1.1\" 200 1",    /* zone minutes */
		"h - - [10/Oct/1969:11:55:36 +0000] \"GET /a HTTP/1.1\" 200 1",    /* before 1970 */
		"h - - [01/Jan/1970:00:00:00 +0100] \"GET /a HTTP/1.1\" 200 1",    /* before the epoch */
		"h - - [10/Oct/2024:11:55:36 +0000] \"GET /a HTTP/1.1\" 2000 1",   /* status */
		"h - - [10/Oct/2024:11:55:36 +0000] \"GET /a HTTP/1.1\" 099 1",
		"h - - [10/Oct/2024:11:55:36 +0000] \"GET /a HTTP/1.1\" abc 1",
		"h - - [10/Oct/2024:11:55:36 +0000] \"GET /a HTTP/1.1\" 200 12x",  /* bytes */
		"h - - [10/Oct/2024:11:55:36 +0000] \"GET /a HTTP/1.1\" 200 1234567890123456789",
		"h - - [10/Oct/2024:11:55:36 +0000] GET /a HTTP/1.1 200 1",        /* unquoted */
		"h - [10/Oct/2024:11:55:36 +0000] \"GET /a HTTP/1.1\" 200 1",      /* 3rd field */
		"\"h\" - - [10/Oct/2024:11:55:36 +0000] \"GET /a HTTP/1.1\" 200 1",
		"h - - [10/Oct/2024:11:55:36 +0000] \"GET /a\tHTTP/1.1\" 200 1",   /* control char */
		"h - - [10/Oct/2024:11:55:36 +0000] \"GET /a\x1b[31m HTTP/1.1\" 200 1",
		"h - - [10/Oct/2024:11:55:36 +0000] \"GET /a HTTP/1.1\"x 200 1",   /* quote not ended */
	};
	struct access_request q;
	char why[160];
	char *nul_line;
	struct strbuf big = STRBUF_INIT;
	static const char ok[] = "h - - [10/Oct/2024:11:55:36 +0000] \"GET /a HTTP/1.1\" 200 1";

	for (size_t i = 0; i < ARRAY_SIZE(combined_bad); i++) {
		CHECK_MALFORMED(combined_bad[i], ACCESS_FMT_COMBINED);
		CHECK_MALFORMED(combined_bad[i], ACCESS_FMT_AUTO);
	}
	/* a NUL inside the line */
	nul_line = xstrdup(ok);
	nul_line[40] = '\0';
	CHECK(access_parse_line(nul_line, strlen(ok), ACCESS_FMT_AUTO, &q, why, sizeof(why)) < 0);
	CHECK(strstr(why, "control character") != NULL);
	free(nul_line);
	/* a line over the cap, even a well-formed one */
	strbuf_addstr(&big, "h - - [10/Oct/2024:11:55:36 +0000] \"GET /");
	while (big.len < ACCESS_MAX_LINE)
		strbuf_addstr(&big, "aaaaaaaaaaaaaaaa");
	strbuf_addstr(&big, " HTTP/1.1\" 200 1");
	CHECK(access_parse_line(big.buf, big.len, ACCESS_FMT_AUTO, &q, why, sizeof(why)) < 0);
	CHECK(strstr(why, "longer than") != NULL);
	strbuf_release(&big);
	/* a short why buffer is not overrun */
	CHECK(access_parse_line("garbage", 7, ACCESS_FMT_AUTO, &q, why, 4) < 0);
	CHECK_INT(strlen(why), 3);
	/* an S3 line is malformed when combined is forced, and the other way */
	CHECK_MALFORMED("o b [10/Oct/2024:11:55:36 +0000] 1.2.3.4 r ID REST.GET.OBJECT k \"GET /k "
			"HTTP/1.1\" 200 - 1 1 1 1 \"-\" \"-\" -", ACCESS_FMT_COMBINED);
	CHECK_MALFORMED(ok, ACCESS_FMT_S3);
}

#define S3_OWNER "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"

TEST(s3_lines)
{
	struct access_request q;
	char why[160];

	CHECK_INT(parse(S3_OWNER " nix-cache [10/Oct/2024:11:55:36 +0000] 192.0.2.3 " S3_OWNER
			" 3E57427F3EXAMPLE REST.GET.OBJECT " H1 ".narinfo \"GET /nix-cache/" H1
			".narinfo HTTP/1.1\" 200 - 513 513 7 6 \"-\" \"curl/8.4.0 Nix/2.18.1\" - "
			"s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= "
			"SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader nix-cache.s3.amazonaws.com TLSv1.2 "
			"- -", ACCESS_FMT_S3, &q, why), 0);
	CHECK_INT(q.format, ACCESS_FMT_S3);
	CHECK_INT(q.time, T_UTC);
	CHECK_INT(q.method, ACCESS_GET);
	CHECK_INT(q.status, 200);
	CHECK_STR(target(&q), H1 ".narinfo");

	/* auto-detected; HEAD; a zone; a requester "-" (anonymous); an agent
	 * with spaces and quotes */
	CHECK_INT(parse("owner bucket [10/Oct/2024:13:55:36 +0200] 192.0.2.3 - ID REST.HEAD.OBJECT "
			"cache/nar/abc.nar.xz \"HEAD /cache/nar/abc.nar.xz HTTP/1.1\" 304 - - 100 1 - "
			"\"https://x/\" \"aws-cli/2.0 Python/3.11 \\\"q\\\"\" -", ACCESS_FMT_AUTO, &q, why),
		  0);
	CHECK_INT(q.format, ACCESS_FMT_S3);
	CHECK_INT(q.time, T_UTC);
	CHECK_INT(q.method, ACCESS_HEAD);
	CHECK_INT(q.status, 304);
	CHECK_STR(target(&q), "cache/nar/abc.nar.xz");

	/* website endpoint, partial content */
	CHECK_INT(parse("o b [10/Oct/2024:11:55:36 +0000] 1.2.3.4 - ID WEBSITE.GET.OBJECT nar/x.nar "
			"\"GET /nar/x.nar HTTP/1.1\" 206 - 10 100 1 1 \"-\" \"-\"", ACCESS_FMT_AUTO, &q,
			why), 0);
	CHECK_INT(q.method, ACCESS_GET);
	CHECK_INT(q.status, 206);
	/* other operations: PUT, a bucket listing without a key, lifecycle
	 * expiry with "-" for URI and status */
	CHECK_INT(parse("o b [10/Oct/2024:11:55:36 +0000] 1.2.3.4 r ID REST.PUT.OBJECT " H1
			".narinfo \"PUT /" H1 ".narinfo HTTP/1.1\" 200 - - 513 1 1 \"-\" \"-\"",
			ACCESS_FMT_S3, &q, why), 0);
	CHECK_INT(q.method, ACCESS_OTHER);
	CHECK_INT(parse("o b [10/Oct/2024:11:55:36 +0000] 1.2.3.4 r ID REST.GET.BUCKET - "
			"\"GET /?list-type=2 HTTP/1.1\" 200 - 1000 - 20 19 \"-\" \"-\" -",
			ACCESS_FMT_S3, &q, why), 0);
	CHECK(q.target == NULL);
	CHECK_INT(parse("o b [10/Oct/2024:11:55:36 +0000] AmazonS3 AmazonS3 ID S3.EXPIRE.OBJECT " H1
			".narinfo - - - - 513 - - - - -", ACCESS_FMT_S3, &q, why), 0);
	CHECK_INT(q.status, 0);
	CHECK_INT(q.method, ACCESS_OTHER);
	/* a key with %-escapes is passed on raw */
	CHECK_INT(parse("o b [10/Oct/2024:11:55:36 +0000] 1.2.3.4 - ID REST.GET.OBJECT a%20b "
			"\"GET /a%20b HTTP/1.1\" 200 - 1 1 1 1 \"-\" \"-\"", ACCESS_FMT_S3, &q, why), 0);
	CHECK_STR(target(&q), "a%20b");

	/* truncated and broken S3 lines */
	CHECK_MALFORMED("o b [10/Oct/2024:11:55:36 +0000] 1.2.3.4 - ID REST.GET.OBJECT k \"GET /k "
			"HTTP/1.1\"", ACCESS_FMT_S3);
	CHECK_MALFORMED("o b [10/Oct/2024:11:55:36 +0000] 1.2.3.4 - ID REST.GET.OBJECT k \"GET /k",
			ACCESS_FMT_AUTO);
	CHECK_MALFORMED("o b [10/Oct/2024:11:55:36 +0000] 1.2.3.4 - ID REST.GET.OBJECT k \"GET /k "
			"HTTP/1.1\" OK - 1 1 1 1", ACCESS_FMT_S3);
	CHECK_MALFORMED("o b [bad time] 1.2.3.4 - ID REST.GET.OBJECT k \"GET /k HTTP/1.1\" 200 - 1",
			ACCESS_FMT_AUTO);
	CHECK_MALFORMED("o b [10/Oct/2024:11:55:36 +0000] 1.2.3.4 - ID \"REST.GET.OBJECT\" k "
			"\"GET /k HTTP/1.1\" 200 - 1", ACCESS_FMT_S3);
}

/* access_target_path as a string, or "(refused)". */
static const char *path_of(const char *t, int s3)
{
	static char out[ACCESS_MAX_PATH + 2];
	size_t n = 0;

	if (access_target_path(t, strlen(t), s3, out, sizeof(out), &n))
		return "(refused)";
	if (strlen(out) != n)
		return "(length mismatch)";
	return out;
}

TEST(target_paths)
{
	char small[8];
	size_t n;
	struct strbuf long_t = STRBUF_INIT;

	CHECK_STR(path_of("/" H1 ".narinfo", 0), "/" H1 ".narinfo");
	CHECK_STR(path_of("/" H1 ".narinfo?foo=bar&x", 0), "/" H1 ".narinfo");
	CHECK_STR(path_of("/a?", 0), "/a");
	/* %XX decoded, upper and lower case; a %3F is a literal '?', not a query */
	CHECK_STR(path_of("/%6E%61r/a%2eb%3fc", 0), "/nar/a.b?c");
	CHECK_STR(path_of("/cache/%30c5mm8ka4jnlgpc9ld6xnrsz8xjpgqbn.narinfo", 0),
		  "/cache/" H1 ".narinfo");
	/* the query is cut before decoding: %3F?x keeps the '?' */
	CHECK_STR(path_of("/a%3F?b=%00", 0), "/a?");
	/* slashes merged (also decoded ones) */
	CHECK_STR(path_of("//cache///nar//x", 0), "/cache/nar/x");
	CHECK_STR(path_of("/cache%2F%2Fx", 0), "/cache/x");
	/* absolute form */
	CHECK_STR(path_of("http://cache.example:8080/cache/x?y", 0), "/cache/x");
	CHECK_STR(path_of("HTTPS://cache.example/x", 0), "/x");
	CHECK_STR(path_of("http://cache.example", 0), "(refused)");
	/* refused */
	CHECK_STR(path_of("", 0), "(refused)");
	CHECK_STR(path_of("*", 0), "(refused)");
	CHECK_STR(path_of("a/b", 0), "(refused)");
	CHECK_STR(path_of("/a%00b", 0), "(refused)");
	CHECK_STR(path_of("/a%0ab", 0), "(refused)");
	CHECK_STR(path_of("/a%7f", 0), "(refused)");
	CHECK_STR(path_of("/a%zz", 0), "(refused)");
	CHECK_STR(path_of("/a%4", 0), "(refused)");
	CHECK_STR(path_of("/a%", 0), "(refused)");
	CHECK_STR(path_of("/a%4?x", 0), "(refused)");
	CHECK_STR(path_of("/a\\x22b", 0), "(refused)");
	CHECK_STR(path_of("/a/../b.narinfo", 0), "(refused)");
	CHECK_STR(path_of("/a/%2e%2E/b", 0), "(refused)");
	CHECK_STR(path_of("/./b", 0), "(refused)");
	CHECK_STR(path_of("/..", 0), "(refused)");
	CHECK_STR(path_of("/a..b/.c/", 0), "/a..b/.c/");
	/* S3 keys: "/" + key, decoded, '?' is part of the key */
	CHECK_STR(path_of(H1 ".narinfo", 1), "/" H1 ".narinfo");
	CHECK_STR(path_of("nar/a%20b?c", 1), "/nar/a b?c");
	CHECK_STR(path_of("nar/%00", 1), "(refused)");
	/* non-ASCII bytes pass (they match nothing a narinfo names) */
	CHECK_STR(path_of("/%C3%A9", 0), "/\xc3\xa9");
	/* too long for the buffer or the cap */
	CHECK(access_target_path("/abcdefghij", 11, 0, small, sizeof(small), &n) < 0);
	CHECK(access_target_path("/abcdef", 7, 0, small, sizeof(small), &n) == 0);
	strbuf_addch(&long_t, '/');
	while (long_t.len <= ACCESS_MAX_PATH)
		strbuf_addch(&long_t, 'a');
	CHECK_STR(path_of(long_t.buf, 0), "(refused)");
	strbuf_release(&long_t);
}

TEST(prefixes)
{
	char out[64];

	CHECK_INT(access_prefix_normalize("", out, sizeof(out)), 0);
	CHECK_STR(out, "/");
	CHECK_INT(access_prefix_normalize("/", out, sizeof(out)), 0);
	CHECK_STR(out, "/");
	CHECK_INT(access_prefix_normalize("cache", out, sizeof(out)), 0);
	CHECK_STR(out, "/cache/");
	CHECK_INT(access_prefix_normalize("//cache//sub/", out, sizeof(out)), 0);
	CHECK_STR(out, "/cache/sub/");
	CHECK(access_prefix_normalize("/a/../b", out, sizeof(out)) < 0);
	CHECK(access_prefix_normalize("/a?b", out, sizeof(out)) < 0);
	CHECK(access_prefix_normalize("/a%20b", out, sizeof(out)) < 0);
	CHECK(access_prefix_normalize("/a\nb", out, sizeof(out)) < 0);
	CHECK(access_prefix_normalize("/0123456789", out, 8) < 0);
}

TEST(classify)
{
	const char *rel;
	size_t n;

#define CL(p, pre) access_classify(p, strlen(p), pre, &rel, &n)
	CHECK_INT(CL("/" H1 ".narinfo", "/"), ACCESS_KIND_NARINFO);
	CHECK_INT(n, 32);
	CHECK(!memcmp(rel, H1, 32));
	CHECK_INT(CL("/cache/" H1 ".narinfo", "/cache/"), ACCESS_KIND_NARINFO);
	/* outside the prefix or at another depth */
	CHECK_INT(CL("/" H1 ".narinfo", "/cache/"), ACCESS_KIND_NONE);
	CHECK_INT(CL("/cache", "/cache/"), ACCESS_KIND_NONE);
	CHECK_INT(CL("/cache/", "/cache/"), ACCESS_KIND_NONE);
	CHECK_INT(CL("/cachex/" H1 ".narinfo", "/cache/"), ACCESS_KIND_NONE);
	CHECK_INT(CL("/cache/" H1 ".narinfo", "/"), ACCESS_KIND_FILE);
	/* not a narinfo name: bad nix32 ('e'), wrong length, upper case */
	CHECK_INT(CL("/ec5mm8ka4jnlgpc9ld6xnrsz8xjpgqbn.narinfo", "/"), ACCESS_KIND_FILE);
	CHECK_INT(CL("/c5mm8ka4jnlgpc9ld6xnrsz8xjpgqbn.narinfo", "/"), ACCESS_KIND_FILE);
	CHECK_INT(CL("/0C5MM8KA4JNLGPC9LD6XNRSZ8XJPGQBN.narinfo", "/"), ACCESS_KIND_FILE);
	CHECK_INT(CL("/" H1 ".narinfo.bak", "/"), ACCESS_KIND_FILE);
	/* files: rel is relative to the root */
	CHECK_INT(CL("/cache/nar/abc.nar.xz", "/cache/"), ACCESS_KIND_FILE);
	CHECK_INT(n, 14);
	CHECK(!memcmp(rel, "nar/abc.nar.xz", 14));
	CHECK(access_is_nar_dir(rel, n));
	CHECK(!access_is_nar_dir("nix-cache-info", 14));
	CHECK(!access_is_nar_dir("nar/", 4));
	CHECK(!access_is_nar_dir("narx/a", 6));
#undef CL
}

TEST(what_counts)
{
	static const int ok[] = {200, 203, 206, 299, 304};
	static const int no[] = {100, 301, 302, 303, 400, 403, 404, 410, 416, 499, 500, 503, 0};

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		CHECK(access_counts(ACCESS_KIND_NARINFO, ACCESS_GET, ok[i]));
		CHECK(access_counts(ACCESS_KIND_NARINFO, ACCESS_HEAD, ok[i]));
		CHECK(access_counts(ACCESS_KIND_FILE, ACCESS_GET, ok[i]));
		CHECK(!access_counts(ACCESS_KIND_FILE, ACCESS_HEAD, ok[i]));
		CHECK(!access_counts(ACCESS_KIND_NARINFO, ACCESS_OTHER, ok[i]));
		CHECK(!access_counts(ACCESS_KIND_NONE, ACCESS_GET, ok[i]));
	}
	for (size_t i = 0; i < ARRAY_SIZE(no); i++) {
		CHECK(!access_counts(ACCESS_KIND_NARINFO, ACCESS_GET, no[i]));
		CHECK(!access_counts(ACCESS_KIND_NARINFO, ACCESS_HEAD, no[i]));
		CHECK(!access_counts(ACCESS_KIND_FILE, ACCESS_GET, no[i]));
	}
}

TEST(index_lookups)
{
	struct access_index ix;
	int64_t ids[4];
	char hash[33];
	static const char alphabet[] = "0123456789abcdfghijklmnpqrsvwxyz";

	access_index_init(&ix);
	CHECK_INT(access_index_narinfo(&ix, H1), 0);
	CHECK_INT(access_index_nar(&ix, "nar/a", 5, ids, 4), 0);
	CHECK_INT(access_index_add(&ix, H1, 10, "nar/a.nar.xz", 12, NULL), 0);
	CHECK_INT(access_index_add(&ix, H2, 20, "nar/a.nar.xz", 12, NULL), 0);   /* a shared NAR */
	CHECK_INT(access_index_add(&ix, H3, 30, "nar/b.nar.xz", 12, NULL), 0);
	CHECK_INT(access_index_add(&ix, H1, 99, "nar/c.nar.xz", 12, NULL), 0);   /* first id stays */
	CHECK(access_index_add(&ix, "short", 5, "x", 1, NULL) < 0);
	CHECK(access_index_add(&ix, H1, 0, "x", 1, NULL) < 0);
	CHECK_INT(access_index_narinfo(&ix, H1), 10);
	CHECK_INT(access_index_narinfo(&ix, H2), 20);
	CHECK_INT(access_index_narinfo(&ix, H3), 30);
	CHECK_INT(access_index_narinfo(&ix, "3b9p7w4aqr1mxrcnbfp2pizy9hp8m0vf"), 0);
	CHECK_INT(access_index_nar(&ix, "nar/a.nar.xz", 12, ids, 4), 2);
	CHECK((ids[0] == 10 && ids[1] == 20) || (ids[0] == 20 && ids[1] == 10));
	CHECK_INT(access_index_nar(&ix, "nar/a.nar.xz", 12, ids, 1), 2);   /* counts past max */
	CHECK_INT(access_index_nar(&ix, "nar/b.nar.xz", 12, ids, 4), 1);
	CHECK_INT(ids[0], 30);
	CHECK_INT(access_index_nar(&ix, "nar/c.nar.xz", 12, ids, 4), 0);
	CHECK_INT(access_index_nar(&ix, "nar/a.nar.x", 11, ids, 4), 0);
	CHECK_INT(access_index_nar(&ix, "", 0, ids, 4), 0);

	/* many entries: the tables grow and keep everything */
	hash[32] = '\0';
	for (int i = 0; i < 20000; i++) {
		char url[64];
		snprintf(hash, sizeof(hash), "%c%031d", alphabet[i % 32], i);
		snprintf(url, sizeof(url), "nar/%d.nar", i / 2);
		CHECK_INT(access_index_add(&ix, hash, 1000 + i, url, strlen(url), NULL), 0);
	}
	for (int i = 0; i < 20000; i += 997) {
		char url[64];
		snprintf(hash, sizeof(hash), "%c%031d", alphabet[i % 32], i);
		CHECK_INT(access_index_narinfo(&ix, hash), 1000 + i);
		snprintf(url, sizeof(url), "nar/%d.nar", i / 2);
		CHECK_INT(access_index_nar(&ix, url, strlen(url), ids, 4), 2);
	}
	CHECK_INT(access_index_narinfo(&ix, H2), 20);
	access_index_release(&ix);
}

/* Two SHA-256 NAR hashes in nix32 (52 characters) and a third store hash. */
#define N1 "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73"
#define N2 "1b9p7w4aqr1mxrcnbfp2pizy9hp8m0vf0mdqa9w1p6cmli6976v4"
#define H4 "4b9p7w4aqr1mxrcnbfp2pizy9hp8m0vf"

TEST(queries)
{
	char h[33];
	size_t n;
	const char *q;

	q = access_target_query("/nar/" N1 ".nar?hash=" H1, strlen("/nar/" N1 ".nar?hash=" H1), 0, &n);
	CHECK(q != NULL);
	CHECK_INT(n, 5 + 32);
	CHECK_INT(access_query_store_hash(q, n, h), 1);
	CHECK_STR(h, H1);
	CHECK(access_target_query("/nar/x.nar", 10, 0, &n) == NULL);
	CHECK_INT(n, 0);
	q = access_target_query("/x?", 3, 0, &n);
	CHECK(q != NULL);
	CHECK_INT(n, 0);
	CHECK(access_target_query("nar/a?b", 7, 1, &n) == NULL);   /* an S3 key has no query */

	/* among other parameters, first "hash" decides */
	CHECK_INT(access_query_store_hash("a=1&hash=" H2 "&b", strlen("a=1&hash=" H2 "&b"), h), 1);
	CHECK_STR(h, H2);
	CHECK_INT(access_query_store_hash("hash=" H2 "&hash=" H1, 5 + 32 + 6 + 32, h), 1);
	CHECK_STR(h, H2);
	/* not a store hash: too short, too long, a letter nix32 lacks, escaped, other keys */
	CHECK_INT(access_query_store_hash("hash=abc", 8, h), 0);
	CHECK_INT(access_query_store_hash("hash=" H1 "0", 5 + 33, h), 0);
	CHECK_INT(access_query_store_hash("hash=0c5mm8ka4jnlgpc9ld6xnrsz8xjpgqbe", 37, h), 0);
	CHECK_INT(access_query_store_hash("hash=%30c5mm8ka4jnlgpc9ld6xnrsz8xjpgqb", 39, h), 0);
	CHECK_INT(access_query_store_hash("xhash=" H1, 6 + 32, h), 0);
	CHECK_INT(access_query_store_hash("hash" H1, 4 + 32, h), 0);
	CHECK_INT(access_query_store_hash("", 0, h), 0);
	CHECK_INT(access_query_store_hash(NULL, 0, h), 0);
	/* a query longer than the buffer the caller gives is read by length */
	CHECK_INT(access_query_store_hash("hash=" H1 "XYZ", 5 + 32, h), 1);
}

/* The NAR URL forms of harmonia, nix-serve and Nix, resolved. */
TEST(resolve_nar)
{
	struct access_index ix;
	enum access_nar_match how;
	int64_t ids[4];
	const char *r;

	access_index_init(&ix);
	/* harmonia: two paths with the same NAR (and so the same file), a third */
	CHECK_INT(access_index_add(&ix, H1, 10, "nar/" N1 ".nar?hash=" H1, 4 + 52 + 4 + 6 + 32,
				   "sha256:" N1), 0);
	CHECK_INT(access_index_add(&ix, H2, 20, "nar/" N1 ".nar?hash=" H2, 4 + 52 + 4 + 6 + 32,
				   "sha256:" N1), 0);
	/* nix-serve's URL for H3 */
	CHECK_INT(access_index_add(&ix, H3, 30, "nar/" H3 "-" N2 ".nar", 4 + 32 + 1 + 52 + 4,
				   "sha256:" N2), 0);
	/* Nix's: compressed, by file hash; its NarHash is N1's, in base16 */
	CHECK_INT(access_index_add(&ix, H4, 40, "nar/" N2 ".nar.xz", 4 + 52 + 7,
				   "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), 0);

	/* the query names the path */
	r = "nar/" N1 ".nar";
	CHECK_INT(access_index_resolve_nar(&ix, r, strlen(r), H2, ids, 4, &how), 1);
	CHECK_INT(ids[0], 20);
	CHECK_INT(how, ACCESS_NAR_STORE_HASH);
	CHECK_INT(access_index_resolve_nar(&ix, r, strlen(r), H1, ids, 4, &how), 1);
	CHECK_INT(ids[0], 10);
	/* ... but not a path whose narinfo names another file or NAR */
	CHECK_INT(access_index_resolve_nar(&ix, r, strlen(r), H3, ids, 4, &how), 0);
	CHECK_INT(how, ACCESS_NAR_NONE);
	/* ... nor one the index lacks: no fallback to the others with that NAR */
	CHECK_INT(access_index_resolve_nar(&ix, r, strlen(r), "5b9p7w4aqr1mxrcnbfp2pizy9hp8m0vf",
					   ids, 4, &how), 0);
	/* without the query: every narinfo naming the file */
	CHECK_INT(access_index_resolve_nar(&ix, r, strlen(r), NULL, ids, 4, &how), 2);
	CHECK((ids[0] == 10 && ids[1] == 20) || (ids[0] == 20 && ids[1] == 10));
	CHECK_INT(how, ACCESS_NAR_URL);
	CHECK_INT(access_index_nar(&ix, r, strlen(r), ids, 4), 2);
	/* the whole URL with its query is no file name */
	r = "nar/" N1 ".nar?hash=" H1;
	CHECK_INT(access_index_nar(&ix, r, strlen(r), ids, 4), 0);

	/* nix-serve's form: the store hash in the name, checked against the NarHash */
	r = "nar/" H3 "-" N2 ".nar";
	CHECK_INT(access_index_resolve_nar(&ix, r, strlen(r), NULL, ids, 4, &how), 1);
	CHECK_INT(ids[0], 30);
	CHECK_INT(how, ACCESS_NAR_STORE_HASH);
	/* harmonia serves it too: for H1, whose URL is harmonia's, by its NarHash */
	r = "nar/" H1 "-" N1 ".nar";
	CHECK_INT(access_index_resolve_nar(&ix, r, strlen(r), NULL, ids, 4, &how), 1);
	CHECK_INT(ids[0], 10);
	r = "nar/" H1 "-" N2 ".nar";   /* the wrong NAR hash */
	CHECK_INT(access_index_resolve_nar(&ix, r, strlen(r), NULL, ids, 4, &how), 0);

	/* harmonia's request for a path whose narinfo has Nix's URL (a cache
	 * served by harmonia since the crawl): by its NarHash */
	r = "nar/" N1 ".nar";
	CHECK_INT(access_index_resolve_nar(&ix, r, strlen(r), H4, ids, 4, &how), 1);
	CHECK_INT(ids[0], 40);
	CHECK_INT(how, ACCESS_NAR_STORE_HASH);
	r = "nar/" H4 "-" N1 ".nar";
	CHECK_INT(access_index_resolve_nar(&ix, r, strlen(r), NULL, ids, 4, &how), 1);
	CHECK_INT(ids[0], 40);
	/* without the query, the narinfos naming the file come first */
	r = "nar/" N1 ".nar";
	CHECK_INT(access_index_resolve_nar(&ix, r, strlen(r), NULL, ids, 4, &how), 2);
	CHECK_INT(how, ACCESS_NAR_URL);

	/* nar/<narhash>.nar that no URL names: the paths with that NarHash */
	r = "nar/" N2 ".nar";
	CHECK_INT(access_index_resolve_nar(&ix, r, strlen(r), NULL, ids, 4, &how), 1);
	CHECK_INT(ids[0], 30);
	CHECK_INT(how, ACCESS_NAR_NAR_HASH);
	/* Nix's compressed file: by URL only (its name is the file hash) */
	r = "nar/" N2 ".nar.xz";
	CHECK_INT(access_index_resolve_nar(&ix, r, strlen(r), NULL, ids, 4, &how), 1);
	CHECK_INT(ids[0], 40);
	CHECK_INT(how, ACCESS_NAR_URL);
	/* with a query hash that is its own: fine; someone else's: not */
	CHECK_INT(access_index_resolve_nar(&ix, r, strlen(r), H4, ids, 4, &how), 1);
	CHECK_INT(access_index_resolve_nar(&ix, r, strlen(r), H1, ids, 4, &how), 0);
	/* names that are no NAR hash */
	r = "nar/" N2 "x.nar";
	CHECK_INT(access_index_resolve_nar(&ix, r, strlen(r), NULL, ids, 4, &how), 0);
	r = "nar/0000000000000000000000000000000000000000000000000000.nar";
	CHECK_INT(access_index_resolve_nar(&ix, r, strlen(r), NULL, ids, 4, &how), 0);
	r = "nar/zmdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73.nar";   /* > 256 bits */
	CHECK_INT(access_index_resolve_nar(&ix, r, strlen(r), NULL, ids, 4, &how), 0);
	CHECK_INT(access_index_resolve_nar(&ix, "", 0, NULL, ids, 4, &how), 0);
	/* max 0 counts without storing */
	r = "nar/" N1 ".nar";
	CHECK_INT(access_index_resolve_nar(&ix, r, strlen(r), NULL, NULL, 0, NULL), 2);
	access_index_release(&ix);
}

TEST(aggregation)
{
	struct access_agg a;
	const struct access_day *d;
	int64_t day0 = 19000;

	access_agg_init(&a);
	access_agg_add(&a, 7, day0 * 86400 + 100, 0);
	access_agg_add(&a, 7, day0 * 86400 + 50, 0);       /* earlier, same day */
	access_agg_add(&a, 7, day0 * 86400 + 86399, 1);    /* last second of the day */
	access_agg_add(&a, 7, (day0 + 1) * 86400, 1);      /* next day */
	access_agg_add(&a, 8, day0 * 86400 + 10, 1);
	CHECK_INT(a.n, 3);
	d = &a.v[0];
	CHECK_INT(d->path_id, 7);
	CHECK_INT(d->day, day0);
	CHECK_INT(d->narinfo_hits, 2);
	CHECK_INT(d->narinfo_last, day0 * 86400 + 100);
	CHECK_INT(d->nar_hits, 1);
	CHECK_INT(d->nar_last, day0 * 86400 + 86399);
	d = &a.v[1];
	CHECK_INT(d->day, day0 + 1);
	CHECK_INT(d->narinfo_hits, 0);
	CHECK_INT(d->narinfo_last, -1);
	CHECK_INT(d->nar_hits, 1);
	d = &a.v[2];
	CHECK_INT(d->path_id, 8);
	CHECK_INT(d->narinfo_last, -1);
	CHECK_INT(d->nar_last, day0 * 86400 + 10);
	/* growth keeps every pair */
	for (int i = 0; i < 5000; i++)
		for (int k = 0; k < 3; k++)
			access_agg_add(&a, 100 + i, (day0 + k) * 86400 + i, i & 1);
	CHECK_INT(a.n, 3 + 5000 * 3);
	for (int i = 0; i < 5000; i++)
		access_agg_add(&a, 100 + i, (day0 + 1) * 86400 + 86000, i & 1);
	CHECK_INT(a.n, 3 + 5000 * 3);
	d = &a.v[3 + 4999 * 3 + 1];
	CHECK_INT(d->path_id, 100 + 4999);
	CHECK_INT(d->day, day0 + 1);
	CHECK_INT(d->nar_hits, 2);
	CHECK_INT(d->nar_last, (day0 + 1) * 86400 + 86000);
	access_agg_release(&a);
}

TEST(formats)
{
	enum access_format f;

	CHECK_INT(access_format_parse("combined", &f), 0);
	CHECK_INT(f, ACCESS_FMT_COMBINED);
	CHECK_INT(access_format_parse("s3", &f), 0);
	CHECK_INT(f, ACCESS_FMT_S3);
	CHECK_INT(access_format_parse("auto", &f), 0);
	CHECK_INT(f, ACCESS_FMT_AUTO);
	CHECK(access_format_parse("S3", &f) < 0);
	CHECK(access_format_parse("", &f) < 0);
	CHECK_STR(access_format_name(ACCESS_FMT_S3), "s3");
	CHECK_STR(access_format_name(ACCESS_FMT_COMBINED), "combined");
}

int main(void)
{
	RUN(combined_basic);
	RUN(combined_requests);
	RUN(malformed);
	RUN(s3_lines);
	RUN(target_paths);
	RUN(prefixes);
	RUN(classify);
	RUN(what_counts);
	RUN(index_lookups);
	RUN(queries);
	RUN(resolve_nar);
	RUN(aggregation);
	RUN(formats);
	return test_summary();
}
