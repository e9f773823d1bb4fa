/*
 * test_caps.c - cudaCapabilities sets (nix/caps.h): the canonical order
 * and the inputs that must be refused, with messages naming the item.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "nix/caps.h"
#include "lib/util.h"

static char *norm(const char *s)
{
	struct parse_error e;
	char *out = NULL;

	if (caps_normalize(s, strlen(s), &out, &e))
		return NULL;
	return out;
}

#define CHECK_CAPS(in, want)                                                     \
	do {                                                                     \
		char *got_ = norm(in);                                           \
		CHECK_STR(got_, want);                                           \
		free(got_);                                                      \
	} while (0)
#define CHECK_CAPS_BAD(in)                                                       \
	do {                                                                     \
		char *got_ = norm(in);                                           \
		if (got_)                                                        \
			fprintf(stderr, "%s:%d: '%s' normalized to '%s'\n",      \
				__FILE__, __LINE__, in, got_);                   \
		CHECK(got_ == NULL);                                             \
		free(got_);                                                      \
	} while (0)

TEST(caps_sets)
{
	CHECK_CAPS("8.6", "8.6");
	CHECK_CAPS("8.6,8.9", "8.6,8.9");
	CHECK_CAPS("8.9,8.6", "8.6,8.9");
	CHECK_CAPS(" 8.9, 8.6 ", "8.6,8.9");
	CHECK_CAPS("8.9 8.6\t8.6", "8.6,8.9");
	CHECK_CAPS("8.6,,8.9,", "8.6,8.9");
	/* numeric, not textual, order */
	CHECK_CAPS("10.0,9.0,8.6,7.5", "7.5,8.6,9.0,10.0");
	CHECK_CAPS("8.10,8.9", "8.9,8.10");
	CHECK_CAPS("10.0f,9.0a,9.0,10.0", "9.0,9.0a,10.0,10.0f");
	CHECK_CAPS("0.0", "0.0");
}

/* "none": a jobset built without CUDA (import-eval's default) */
TEST(caps_none)
{
	CHECK_CAPS("none", "none");
	CHECK_CAPS(" none ", "none");
	CHECK_CAPS("none,", "none");
	CHECK_CAPS_BAD("none,8.6");
	CHECK_CAPS_BAD("8.6 none");
	CHECK_CAPS_BAD("None");
	CHECK_CAPS_BAD("nonexistent");
}

TEST(caps_junk)
{
	struct parse_error e;
	char *out = NULL;
	struct strbuf many = STRBUF_INIT;

	CHECK_CAPS_BAD("");
	CHECK_CAPS_BAD(" , ,");
	CHECK_CAPS_BAD("8.x");
	CHECK_CAPS_BAD("8");
	CHECK_CAPS_BAD("8.");
	CHECK_CAPS_BAD(".6");
	CHECK_CAPS_BAD("08.6");
	CHECK_CAPS_BAD("8.06");
	CHECK_CAPS_BAD("8.6b");
	CHECK_CAPS_BAD("8.6aa");
	CHECK_CAPS_BAD("8.6.1");
	CHECK_CAPS_BAD("sm_86");
	CHECK_CAPS_BAD("1234.0");
	CHECK_CAPS_BAD("8.6;8.9");
	CHECK_CAPS_BAD("8.6,8.x");
	CHECK_CAPS_BAD("[\"8.6\"]");
	/* the message names the bad item */
	CHECK(caps_normalize("8.6,8.x", 7, &out, &e) == -1);
	CHECK(strstr(e.msg, "'8.x'") != NULL);
	CHECK(out == NULL);
	/* a length, not a NUL, ends the input */
	CHECK(caps_normalize("8.6,8.x", 3, &out, &e) == 0);
	CHECK_STR(out, "8.6");
	free(out);
	for (int i = 0; i < CAPS_MAX + 1; i++)
		strbuf_addf(&many, "%d.0,", i);
	CHECK(caps_normalize(many.buf, many.len, &out, &e) == -1);
	strbuf_release(&many);
}

TEST(caps_messages)
{
	struct parse_error e;
	char *out = NULL;
	char junk[200];

	/* control characters never reach the message; long items are cut */
	CHECK(caps_normalize("8.6,\x1b[2J", 8, &out, &e) == -1);
	CHECK(strstr(e.msg, "'?[2J'") != NULL);
	CHECK_INT(e.line, 0);
	memset(junk, 'x', sizeof(junk));
	CHECK(caps_normalize(junk, sizeof(junk), &out, &e) == -1);
	CHECK(strstr(e.msg, "...'") != NULL);
	CHECK(strlen(e.msg) < 160);
	CHECK(caps_normalize("", 0, &out, &e) == -1);
	CHECK(strstr(e.msg, "no capabilities") != NULL);
	CHECK(out == NULL);
}

int main(void)
{
	RUN(caps_sets);
	RUN(caps_none);
	RUN(caps_junk);
	RUN(caps_messages);
	return test_summary();
}
