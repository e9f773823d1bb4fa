/*
 * test_util.c - unit tests of util.c: size parsing (every form a user may
 * type, and the ones that must be refused without undefined behaviour),
 * and the escaping of control characters in messages and text output.
 */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "lib/util.h"

static int size_is(const char *s, uint64_t want)
{
	uint64_t v = 12345;

	if (parse_size(s, &v)) {
		fprintf(stderr, "parse_size('%s') refused, want %llu\n", s, (unsigned long long)want);
		return 0;
	}
	if (v != want)
		fprintf(stderr, "parse_size('%s') = %llu, want %llu\n", s, (unsigned long long)v,
			(unsigned long long)want);
	return v == want;
}

static int size_refused(const char *s)
{
	uint64_t v = 12345;

	if (!parse_size(s, &v)) {
		fprintf(stderr, "parse_size('%s') = %llu, want refused\n", s, (unsigned long long)v);
		return 0;
	}
	return v == 12345;  /* untouched */
}

TEST(size_forms)
{
	CHECK(size_is("0", 0));
	CHECK(size_is("60", 60));
	CHECK(size_is("60B", 60));
	CHECK(size_is("2K", 2048));
	CHECK(size_is("2k", 2048));
	CHECK(size_is("3KiB", 3072));
	CHECK(size_is("3kib", 3072));
	CHECK(size_is("3KB", 3000));
	CHECK(size_is("500M", 524288000));
	CHECK(size_is("500 MiB", 524288000));
	CHECK(size_is("1.5GiB", 1610612736));
	CHECK(size_is("1.5G", 1610612736));
	CHECK(size_is(".5K", 512));
	CHECK(size_is("2.", 2));
	CHECK(size_is("1T", 1099511627776ULL));
	CHECK(size_is("1TB", 1000000000000ULL));
	CHECK(size_is("1P", 1125899906842624ULL));
	CHECK(size_is("15E", 15ULL << 60));
	CHECK(size_is("1e", 1ULL << 60));  /* E is the exbibyte, not an exponent */
	CHECK(size_is("18446744073709551615", UINT64_MAX));
	CHECK(size_is("0.0000000000000000000000000001", 0));
	CHECK(size_is("1.5", 2));  /* rounded to the nearest byte */
	CHECK(size_is("1.25K", 1280));
	CHECK(size_is("0.1KB", 100));
}

static int age_is(int64_t s, const char *want)
{
	struct strbuf sb = STRBUF_INIT;
	int ok;

	strbuf_add_age(&sb, s);
	ok = !strcmp(sb.buf, want);
	if (!ok)
		fprintf(stderr, "age %lld: got '%s', want '%s'\n", (long long)s, sb.buf, want);
	strbuf_release(&sb);
	return ok;
}

TEST(age_forms)
{
	CHECK(age_is(0, "0s"));
	CHECK(age_is(-5, "0s"));
	CHECK(age_is(59, "59s"));
	CHECK(age_is(60, "1m"));
	CHECK(age_is(3599, "59m"));
	CHECK(age_is(3600, "1h 0m"));
	CHECK(age_is(5 * 3600 + 12 * 60 + 7, "5h 12m"));
	CHECK(age_is(86399, "23h 59m"));
	CHECK(age_is(86400, "1d 0h"));
	CHECK(age_is(3 * 86400 + 3600, "3d 1h"));
}

TEST(size_refusals)
{
	/* strtod() takes all of these; none is a size, and converting NaN or
	 * an out-of-range double to an integer is undefined behaviour. */
	static const char *const bad[] = {
		"", " ", "nan", "NaN", "nanG", "-nan", "inf", "INF", "infinity", "Infinity",
		"-inf", "1e3", "1E3", "1e400", "0x10", "0x1p4", "0X1P4G", "-5", "+5", " 5",
		"-0", ".", "..5", "1.5.5G", "12Q", "lots", "5KiBB", "5 K B", "5iB", "5Bi",
		"18446744073709551616", "99999999999999999999999", "16E", "16384P",
		"17179869184T", "15.99999999999999999999E", "1K ", "\t5", "5\n",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK(size_refused(bad[i]));
	CHECK(parse_size(NULL, &(uint64_t){0}) == -1);
}

static char *escaped(const char *s, size_t n)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_add_printable(&sb, s, n);
	return strbuf_detach(&sb);
}

#define CHECK_PRINTABLE(in, want)                                                \
	do {                                                                     \
		char *got_ = escaped((in), sizeof(in) - 1);                    \
		CHECK_STR(got_, (want));                                         \
		free(got_);                                                      \
	} while (0)

TEST(printable_escapes)
{
	CHECK_PRINTABLE("plain text, quotes ' \" and \\ stay", "plain text, quotes ' \" and \\ stay");
	CHECK_PRINTABLE("", "");
	CHECK_PRINTABLE("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m");
	CHECK_PRINTABLE("a\rb\tc\nd", "a\\rb\\tc\\nd");
	CHECK_PRINTABLE("bell\a back\b del\x7f nul\0end", "bell\\x07 back\\x08 del\\x7f nul\\x00end");
	/* UTF-8 text is kept; C1 controls (CSI as U+009B) and bidi overrides
	 * are not. */
	CHECK_PRINTABLE("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7");
	CHECK_PRINTABLE("\xc2\x9b" "31m", "\\xc2\\x9b31m");
	CHECK_PRINTABLE("abc\xe2\x80\xae" "fdp.exe", "abc\\xe2\\x80\\xaefdp.exe");
	CHECK_PRINTABLE("\xe2\x81\xa6x\xe2\x81\xa9", "\\xe2\\x81\\xa6x\\xe2\\x81\\xa9");
	CHECK_PRINTABLE("\xe2\x80\xa9", "\xe2\x80\xa9");  /* a paragraph separator is text */
	/* Not UTF-8: a Latin-1 byte, a lone continuation, an overlong '/', a
	 * surrogate, past U+10FFFF, a sequence cut short. */
	CHECK_PRINTABLE("caf\xe9", "caf\\xe9");
	CHECK_PRINTABLE("\x80", "\\x80");
	CHECK_PRINTABLE("\xc0\xaf", "\\xc0\\xaf");
	CHECK_PRINTABLE("\xed\xa0\x80", "\\xed\\xa0\\x80");
	CHECK_PRINTABLE("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");
	CHECK_PRINTABLE("\xe2\x82", "\\xe2\\x82");
}

/* What fn writes to stderr, as a string (caller frees). */
static char *capture_stderr(void (*fn)(void))
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	char *out = NULL;
	size_t len;

	if (!tmp || saved < 0)
		return xstrdup("(capture failed)");
	fflush(stderr);
	dup2(fileno(tmp), STDERR_FILENO);
	fn();
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	out = xmalloc(8192);
	len = fread(out, 1, 8191, tmp);
	out[len] = '\0';
	fclose(tmp);
	return out;
}

static void say_error(void)
{
	CHECK(error("cannot parse '%s': line %d", "evil\x1b]0;pwned\a\r\n.narinfo", 3) == -1);
}

static void say_warning(void)
{
	warning("file '%s\xc2\x9b" "2J' is odd", "tab\there");
}

static void say_line(void)
{
	CHECK(fprintf_printable(stderr, "'%s': imported\n", "a\nb\x1b[1m") == 24);
	fprintf_printable(stderr, "no newline %s", "\n");
}

TEST(trim_space_nix_set)
{
	const char *s = " \t\r\nkey: v \n\r\t ";
	size_t n = strlen(s);

	trim_space(&s, &n);
	CHECK_INT((int)n, 6);
	CHECK(!memcmp(s, "key: v", 6));
	s = "\f x\v";     /* form feed and vertical tab are not Nix's */
	n = strlen(s);
	trim_space(&s, &n);
	CHECK_INT((int)n, 4);
	s = "x\0 ";          /* a NUL is kept */
	n = 3;
	trim_space(&s, &n);
	CHECK_INT((int)n, 2);
	s = " \t ";
	n = 3;
	trim_space(&s, &n);
	CHECK_INT((int)n, 0);
}

TEST(messages_escaped)
{
	char *got = capture_stderr(say_error);
	CHECK_STR(got, "cachegc: error: cannot parse 'evil\\x1b]0;pwned\\x07\\r\\n.narinfo': line 3\n");
	free(got);
	got = capture_stderr(say_warning);
	CHECK_STR(got, "cachegc: warning: file 'tab\\there\\xc2\\x9b2J' is odd\n");
	free(got);
	/* The final newline of a text line is kept, an argument's is not. */
	got = capture_stderr(say_line);
	CHECK_STR(got, "'a\\nb\\x1b[1m': imported\nno newline \n");
	free(got);
}

int main(void)
{
	RUN(size_forms);
	RUN(size_refusals);
	RUN(age_forms);
	RUN(printable_escapes);
	RUN(messages_escaped);
	RUN(trim_space_nix_set);
	return test_summary();
}
