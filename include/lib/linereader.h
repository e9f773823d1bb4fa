/*
 * linereader.h - reading a stream line by line with a bounded buffer, and
 * reading a whole stream with a cap.
 *
 * Layer: lib (libc only).  Input limits are results (LR_TOO_LONG, EFBIG)
 * for the caller to report, never a die.
 */
#ifndef CACHEGC_LINEREADER_H
#define CACHEGC_LINEREADER_H

#include <stddef.h>
#include <stdio.h>

/* Reads a stream line by line with a bounded buffer: a line longer than
 * max is skipped whole and reported, never held in memory. */
struct line_reader {
	FILE *f;
	size_t max;
	char *buf;
	size_t alloc, start, end;
	int eof;
	unsigned lineno;       /* of the line last returned */
};
enum { LR_ERROR = -1, LR_EOF = 0, LR_LINE = 1, LR_TOO_LONG = 2 };
void line_reader_init(struct line_reader *lr, FILE *f, size_t max);
/* Next line without its "\n" (and "\r"): LR_LINE with *line valid until
 * the next call, LR_TOO_LONG (line skipped), LR_EOF, or LR_ERROR (errno
 * set by the read).  May reallocate lr->buf (at most max + 128 KiB). */
int line_reader_next(struct line_reader *lr, const char **line, size_t *len);
/* Free the buffer; the reader may be released again (it reads EOF). */
void line_reader_release(struct line_reader *lr);

/* Read all of f into *out (NUL-terminated; *len excludes the NUL).  Fails
 * with errno = EFBIG past max bytes, or the read's errno.  0 or -1; the
 * caller frees *out. */
int read_stream_capped(FILE *f, size_t max, char **out, size_t *len);

#endif
