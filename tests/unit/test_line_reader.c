/*
 * test_line_reader.c - the bounded line reader and the capped stream read
 * (lib/linereader.h): CR LF, empty lines, a last line without a newline,
 * lines too long (in the middle, at EOF, far past the first chunk), an
 * empty stream, and the caps of read_stream_capped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lib/linereader.h"
#include "lib/util.h"

TEST(line_reader)
{
	const char text[] = "one\r\ntwo\n\n0123456789ABCDEF\nthree\nlast-no-newline";
	struct line_reader lr;
	const char *line;
	size_t n;
	FILE *f = fmemopen((void *)text, sizeof(text) - 1, "r");

	CHECK(f != NULL);
	if (!f)
		return;
	line_reader_init(&lr, f, 14);
	CHECK_INT(line_reader_next(&lr, &line, &n), LR_LINE);
	CHECK(n == 3 && !memcmp(line, "one", 3));
	CHECK_INT(line_reader_next(&lr, &line, &n), LR_LINE);
	CHECK(n == 3 && !memcmp(line, "two", 3));
	CHECK_INT(line_reader_next(&lr, &line, &n), LR_LINE);
	CHECK_INT(n, 0);
	CHECK_INT(line_reader_next(&lr, &line, &n), LR_TOO_LONG);
	CHECK_INT(lr.lineno, 4);
	CHECK_INT(line_reader_next(&lr, &line, &n), LR_LINE);
	CHECK(n == 5 && !memcmp(line, "three", 5));
	CHECK_INT(line_reader_next(&lr, &line, &n), LR_TOO_LONG);   /* 15 chars, at EOF */
	CHECK_INT(lr.lineno, 6);
	CHECK_INT(line_reader_next(&lr, &line, &n), LR_EOF);
	CHECK_INT(line_reader_next(&lr, &line, &n), LR_EOF);
	line_reader_release(&lr);
	fclose(f);
}

/* Before its first read the reader has no buffer: nothing may compute an
 * address from it (NULL + 0 is undefined; clang's UBSan stops there). */
TEST(line_reader_empty)
{
	struct line_reader lr;
	const char *line = NULL;
	size_t n = 7;
	FILE *f = tmpfile();

	CHECK(f != NULL);
	if (!f)
		return;
	line_reader_init(&lr, f, 14);
	CHECK(lr.buf == NULL);
	CHECK_INT(line_reader_next(&lr, &line, &n), LR_EOF);
	CHECK_INT(lr.lineno, 0);
	CHECK(line == NULL && n == 7);
	line_reader_release(&lr);
	/* Released at EOF: the buffer is gone again, and EOF stays EOF. */
	CHECK_INT(line_reader_next(&lr, &line, &n), LR_EOF);
	line_reader_release(&lr);
	fclose(f);
}

TEST(line_reader_big)
{
	/* lines far longer than the buffer's first chunk, and one too long */
	size_t big = 300000, max = 400000;
	struct strbuf sb = STRBUF_INIT;
	struct line_reader lr;
	const char *line;
	size_t n;
	FILE *f;

	for (size_t i = 0; i < big; i++)
		strbuf_addch(&sb, 'a');
	strbuf_addch(&sb, '\n');
	for (size_t i = 0; i < max + 1; i++)
		strbuf_addch(&sb, 'b');
	strbuf_addstr(&sb, "\nend\n");
	f = fmemopen(sb.buf, sb.len, "r");
	CHECK(f != NULL);
	if (!f) {
		strbuf_release(&sb);
		return;
	}
	line_reader_init(&lr, f, max);
	CHECK_INT(line_reader_next(&lr, &line, &n), LR_LINE);
	CHECK_INT(n, big);
	CHECK_INT(line_reader_next(&lr, &line, &n), LR_TOO_LONG);
	CHECK_INT(line_reader_next(&lr, &line, &n), LR_LINE);
	CHECK(n == 3 && !memcmp(line, "end", 3));
	CHECK_INT(lr.lineno, 3);
	CHECK_INT(line_reader_next(&lr, &line, &n), LR_EOF);
	CHECK(lr.alloc <= max + 2 * 65536);
	line_reader_release(&lr);
	fclose(f);
	strbuf_release(&sb);
}

TEST(stream_cap)
{
	char text[1000];
	char *out;
	size_t n;
	FILE *f;

	memset(text, 'x', sizeof(text));
	f = fmemopen(text, sizeof(text), "r");
	CHECK(read_stream_capped(f, 999, &out, &n) == -1);
	CHECK(out == NULL);
	fclose(f);
	f = fmemopen(text, sizeof(text), "r");
	CHECK(read_stream_capped(f, 1000, &out, &n) == 0);
	CHECK_INT(n, 1000);
	CHECK(out && out[1000] == '\0');
	free(out);
	fclose(f);
}

TEST(stream_cap_errno)
{
	/* the cap is reported as EFBIG, so callers can say "too large" */
	char text[200];
	char *out = (char *)text;
	size_t n = 5;
	FILE *f;

	memset(text, 'y', sizeof(text));
	f = fmemopen(text, sizeof(text), "r");
	errno = 0;
	CHECK(read_stream_capped(f, 10, &out, &n) == -1);
	CHECK_INT(errno, EFBIG);
	CHECK(out == NULL);
	CHECK_INT(n, 0);
	fclose(f);
	/* an empty stream is an empty string, not an error */
	f = tmpfile();
	CHECK(read_stream_capped(f, 10, &out, &n) == 0);
	CHECK(out && !*out);
	CHECK_INT(n, 0);
	free(out);
	fclose(f);
}

int main(void)
{
	RUN(line_reader);
	RUN(line_reader_empty);
	RUN(line_reader_big);
	RUN(stream_cap);
	RUN(stream_cap_errno);
	return test_summary();
}
