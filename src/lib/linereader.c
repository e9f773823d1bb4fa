/*
 * linereader.c - the bounded line reader and the capped whole-stream read
 * (lib/linereader.h).
 */
#include "lib/linereader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

#define LR_CHUNK 65536

void line_reader_init(struct line_reader *lr, FILE *f, size_t max)
{
	memset(lr, 0, sizeof(*lr));
	lr->f = f;
	lr->max = max;
}

void line_reader_release(struct line_reader *lr)
{
	free(lr->buf);
	lr->buf = NULL;
	lr->alloc = lr->start = lr->end = 0;
}

static int lr_give(struct line_reader *lr, char *p, size_t n, int skipping,
		   const char **line, size_t *len)
{
	lr->lineno++;
	if (skipping || n > lr->max)
		return LR_TOO_LONG;
	if (n && p[n - 1] == '\r')
		n--;
	*line = p;
	*len = n;
	return LR_LINE;
}

int line_reader_next(struct line_reader *lr, const char **line, size_t *len)
{
	int skipping = 0;

	for (;;) {
		size_t have = lr->end - lr->start;
		/* Before the first read buf is NULL, and NULL + 0 is undefined
		 * (clang's UBSan says so): no pointer until there is a buffer. */
		char *p = lr->buf ? lr->buf + lr->start : NULL;
		char *nl = have ? memchr(p, '\n', have) : NULL;
		size_t got;

		if (nl) {
			lr->start += (size_t)(nl - p) + 1;
			return lr_give(lr, p, (size_t)(nl - p), skipping, line, len);
		}
		if (lr->eof) {
			if (!have && !skipping)
				return LR_EOF;
			lr->start = lr->end;
			return lr_give(lr, p, have, skipping, line, len);
		}
		if (skipping || have > lr->max) {
			/* Too long: forget it and read on to its end. */
			skipping = 1;
			lr->start = lr->end = 0;
		} else if (lr->start) {
			memmove(lr->buf, p, have);
			lr->start = 0;
			lr->end = have;
		}
		if (lr->alloc - lr->end < LR_CHUNK / 4) {
			size_t want = lr->alloc ? lr->alloc * 2 : LR_CHUNK;
			if (want > lr->max + 2 * LR_CHUNK)
				want = lr->max + 2 * LR_CHUNK;
			if (want > lr->alloc)
				lr->buf = xrealloc(lr->buf, lr->alloc = want);
		}
		got = fread(lr->buf + lr->end, 1, lr->alloc - lr->end, lr->f);
		if (got == 0) {
			if (ferror(lr->f))
				return LR_ERROR;
			lr->eof = 1;
		}
		lr->end += got;
	}
}

int read_stream_capped(FILE *f, size_t max, char **out, size_t *len)
{
	size_t n = 0, alloc = LR_CHUNK;
	char *buf = xmalloc(alloc + 1);

	*out = NULL;
	*len = 0;
	for (;;) {
		size_t got;
		if (n == alloc) {
			if (alloc > max) {
				free(buf);
				errno = EFBIG;
				return -1;
			}
			alloc *= 2;
			buf = xrealloc(buf, alloc + 1);
		}
		got = fread(buf + n, 1, alloc - n, f);
		n += got;
		if (got == 0) {
			if (ferror(f)) {
				int e = errno ? errno : EIO;
				free(buf);
				errno = e;
				return -1;
			}
			break;
		}
	}
	if (n > max) {
		free(buf);
		errno = EFBIG;
		return -1;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}
