/*
 * test_jsonw.c - unit tests of lib/jsonw.h against jansson itself: for
 * every string, jsonw_utf8_valid() must say what json_string() accepts,
 * and jsonw_str() must write what json_dumpf() writes of it (the flags
 * closure --json used: JSON_COMPACT, JSON_ENCODE_ANY); every byte value,
 * hand-picked UTF-8 edge cases, and random byte strings.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "lib/jsonw.h"
#include "lib/util.h"

/* 1 when jsonw agrees with jansson on s, else 0 (and says how). */
static int agrees(const char *s)
{
	json_t *j = json_string(s);
	struct strbuf sb = STRBUF_INIT;
	char *want;
	int ok;

	if (!j) {
		ok = !jsonw_utf8_valid(s);
		if (!ok)
			fprintf(stderr, "jsonw_utf8_valid accepts what json_string refuses\n");
		return ok;
	}
	if (!jsonw_utf8_valid(s)) {
		fprintf(stderr, "jsonw_utf8_valid refuses what json_string accepts\n");
		json_decref(j);
		return 0;
	}
	want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	jsonw_str(&sb, s);
	ok = want && !strcmp(want, sb.buf);
	if (!ok)
		fprintf(stderr, "jsonw_str wrote %s, jansson %s\n", sb.buf, want ? want : "(null)");
	free(want);
	strbuf_release(&sb);
	json_decref(j);
	return ok;
}

TEST(jsonw_every_byte)
{
	char s[4];

	for (int c = 1; c < 256; c++) {
		s[0] = 'a';
		s[1] = (char)c;
		s[2] = 'z';
		s[3] = '\0';
		CHECK(agrees(s));
		CHECK_INT(jsonw_plain(s), c >= 0x20 && c <= 0x7e && c != '"' && c != '\\');
	}
}

TEST(jsonw_utf8_edges)
{
	static const char *const cases[] = {
		"", "/nix/store/x-y", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
		"\xc0\xaf", "\xc1\xbf", "\xc2\x80", "\xdf\xbf", "\xe0\x9f\xbf", "\xe0\xa0\x80",
		"\xed\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf", "\xee\x80\x80", "\xef\xbf\xbf",
		"\xf0\x8f\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "\xf4\x90\x80\x80",
		"\xf5\x80\x80\x80", "\xff", "\xe2\x82", "a\xe2", "\x80", "\xc3\xa9\x80",
		"\"\\\b\f\n\r\t\x01\x1f\x7f", "x\xf0\x9f\x98",
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		if (!agrees(cases[i]))
			fprintf(stderr, "  case %zu\n", i);
		CHECK(agrees(cases[i]));
	}
}

TEST(jsonw_random_against_jansson)
{
	/* bytes weighted to where the escapes and the UTF-8 rules are */
	static const unsigned char pick[] = {
		'a', '/', '"', '\\', 0x01, 0x08, 0x0a, 0x1f, 0x7f, 0x80, 0x9f, 0xa0, 0xbf,
		0xc2, 0xc3, 0xdf, 0xe0, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff,
	};
	uint64_t x = 0x9e3779b97f4a7c15u;
	int bad = 0;
	char s[16];

	for (int n = 0; n < 200000; n++) {
		size_t len;
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		len = (size_t)(x % (sizeof(s) - 1));
		for (size_t i = 0; i < len; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			s[i] = (char)pick[x % sizeof(pick)];
		}
		s[len] = '\0';
		bad += !agrees(s);
		if (bad > 5)
			break;
	}
	CHECK_INT(bad, 0);
}

TEST(jsonw_integers)
{
	static const int64_t ns[] = {0, 1, -1, 9, 10, 1234567890123, INT64_MAX, INT64_MIN};
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < ARRAY_SIZE(ns); i++) {
		char want[32];
		snprintf(want, sizeof(want), "%lld", (long long)ns[i]);
		strbuf_reset(&sb);
		jsonw_int(&sb, ns[i]);
		CHECK_STR(sb.buf, want);
	}
	strbuf_release(&sb);
}

int main(void)
{
	RUN(jsonw_every_byte);
	RUN(jsonw_utf8_edges);
	RUN(jsonw_random_against_jansson);
	RUN(jsonw_integers);
	return test_summary();
}
