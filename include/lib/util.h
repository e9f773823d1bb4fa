/*
 * util.h - allocation, error reporting, growable strings, time and size
 * parsing shared by every module.
 *
 * Allocation goes through x*() wrappers that abort on out-of-memory, so
 * callers never check for NULL.
 *
 * Error tiers, the same in every layer:
 *  - error(): anything input can cause (a file, a server, a DB, an option)
 *    is reported once, by the layer that can name what failed and what the
 *    user can do, and the function returns -1 up to the command;
 *  - warning(): reported, and the work goes on;
 *  - pure parsers (src/nix/, buffers in) never print: they return -1 with a
 *    struct parse_error (lib/parse_error.h) the caller reports;
 *  - die(): unrecoverable states no input of ours causes (out of memory,
 *    a libcrypto that cannot hash): prints and exits with status 128;
 *  - BUG(): a programming error (an API misused, a table inconsistent):
 *    names the file and line, then aborts, so there is a core to read.
 *
 * Return values mean one thing across the tree: an int function returns 0
 * on success and -1 on failure already reported; a function that answers
 * a question returns 1 (yes, found, a row), 0 (no, none) or -1 (failed,
 * reported); a function returning a pointer returns NULL on failure
 * (reported) unless its comment says NULL means "none".  Counts are
 * size_t or int64_t, never a negative error.
 */
#ifndef CACHEGC_UTIL_H
#define CACHEGC_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define ATTR_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define ATTR_NORETURN __attribute__((noreturn))
#else
#define ATTR_PRINTF(f, a)
#define ATTR_NORETURN
#endif

/* Never return NULL: they abort with a message on out-of-memory. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Grow *p (an array of elem-sized items, capacity *alloc) to hold at least
 * need items.  May reallocate *p. */
void xgrow(void **p, size_t *alloc, size_t need, size_t elem);
#define GROW(arr, alloc, need) xgrow((void **)&(arr), &(alloc), (need), sizeof(*(arr)))

/* Program name used as the message prefix ("cachegc"). */
extern const char *progname;

/* Messages.  Control characters in MSG (which often quotes input: a file
 * name, a narinfo line, an HTTP header) are shown escaped, as in
 * strbuf_add_printable(), so input never drives the terminal.
 *
 * "cachegc: error: MSG\n" on stderr; returns -1 so callers can
 * `return error(...)`. */
int error(const char *fmt, ...) ATTR_PRINTF(1, 2);
/* "cachegc: warning: MSG\n" on stderr. */
void warning(const char *fmt, ...) ATTR_PRINTF(1, 2);
/* "cachegc: fatal: MSG\n" on stderr, exit(128). */
void die(const char *fmt, ...) ATTR_PRINTF(1, 2) ATTR_NORETURN;
/* "cachegc: BUG: FILE:LINE: MSG\n" on stderr, then abort(). */
#define BUG(...) bug_at(__FILE__, __LINE__, __VA_ARGS__)
void bug_at(const char *file, int line, const char *fmt, ...) ATTR_PRINTF(3, 4) ATTR_NORETURN;

/* Growable NUL-terminated byte string.  buf is never NULL after the first
 * add; strbuf_release() frees it and resets to STRBUF_INIT. */
struct strbuf {
	char *buf;
	size_t len;
	size_t alloc;
};
#define STRBUF_INIT {NULL, 0, 0}
void strbuf_grow(struct strbuf *sb, size_t extra);   /* may reallocate */
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, char c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) ATTR_PRINTF(2, 3);
void strbuf_reset(struct strbuf *sb);
void strbuf_release(struct strbuf *sb);
/* Returns the buffer (caller frees) and resets sb. Never NULL. */
char *strbuf_detach(struct strbuf *sb);

/* Append n bytes of s (strbuf_addstr_printable: a string) to sb with what a
 * terminal would act on made visible: tab, CR and LF as \t, \r and \n;
 * other C0 controls, DEL, C1 controls (U+0080..U+009F), Unicode
 * bidirectional overrides and isolates, and bytes that are not valid UTF-8
 * as \xHH, one per byte.  Other text, UTF-8 included, is copied as it is
 * (backslashes too: the result is for reading, not for parsing back).
 * May reallocate sb. */
void strbuf_add_printable(struct strbuf *sb, const char *s, size_t n);
void strbuf_addstr_printable(struct strbuf *sb, const char *s);
/* fprintf() of one line of text output whose arguments may hold input:
 * the formatted text is escaped as by strbuf_add_printable(), except a
 * final newline.  Returns the bytes written, or -1. */
int fprintf_printable(FILE *f, const char *fmt, ...) ATTR_PRINTF(2, 3);

/* Read a whole file into *out (NUL-terminated; *len excludes the NUL).
 * Fails with errno set and returns -1 when the file is larger than max
 * bytes (errno = EFBIG) or cannot be read.  The caller frees *out. */
int read_file_capped(const char *path, size_t max, char **out, size_t *len);
/* The same for an open file descriptor (which must be a regular file);
 * when st is not NULL it receives the file's fstat (one call, not two). */
struct stat;
int read_fd_capped(int fd, size_t max, char **out, size_t *len, struct stat *st);

/* The clock for everything a run records: --now when given, else the real
 * time.  Seconds since the epoch, UTC. */
int64_t clock_now(void);
void clock_set(int64_t t);
/* 1 when clock_set() gave the clock (--now), else 0. */
int clock_is_set(void);

/* Parse "2024-05-01", "2024-05-01T12:00", "2024-05-01T12:00:00Z",
 * "2024-05-01 12:00:00" (UTC) or "@EPOCH".  Returns 0 or -1. */
int parse_time(const char *s, int64_t *out);
/* Days since 1970-01-01 of a proleptic Gregorian date (m 1-12, d 1-31). */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
/* Format as "2024-05-01T12:00:00Z" into buf (at least 21 bytes). */
char *format_time(int64_t t, char *buf, size_t bufsz);

/* Parse a size: decimal digits with an optional fraction ("1.5"), then
 * optionally spaces and a unit: B, K/M/G/T/P/E (binary, 1024-based),
 * "KiB"/"MiB"/... also binary, "KB"/"MB"/... decimal; case-insensitive.
 * Rounded to the nearest byte.  Anything else (signs, exponents, hex,
 * "nan", "inf", more than 2^64 - 1 bytes) is refused: returns -1, else 0.
 * Never converts a float that does not fit. */
int parse_size(const char *s, uint64_t *out);
/* A duration for people: "3d 4h", "5h 12m", "42m", "30s" (negative: 0s). */
void strbuf_add_age(struct strbuf *sb, int64_t seconds);
/* Human-readable binary size: "1.2 GiB", "512 B". */
char *format_size(uint64_t n, char *buf, size_t bufsz);

/* Narrow s[0..*n) to drop spaces, tabs, CRs and LFs at both ends: the set
 * Nix's trim() takes (a NUL byte is kept). */
void trim_space(const char **s, size_t *n);

/* Parse a non-negative decimal integer that fills the whole string. */
int parse_uint(const char *s, uint64_t *out);

/* Progress on stderr, only when stderr is a terminal and not disabled.
 * total may be 0 when unknown. */
struct progress {
	const char *label;
	uint64_t total;
	uint64_t done;
	int64_t last_draw_ms;
	int enabled;
};
void progress_start(struct progress *p, const char *label, uint64_t total);
void progress_update(struct progress *p, uint64_t done);
void progress_finish(struct progress *p);
/* Set by --quiet / non-tty detection: globally disable progress. */
extern int progress_disabled;

/* Milliseconds from a monotonic clock, for rates and progress. */
int64_t mono_ms(void);

/* The value of a hexadecimal digit (either case), or -1. */
int hex_value(unsigned char c);

/* Sleep ms milliseconds, going on after a signal unless *stop was set by it
 * (a test knob's pause must not outlast Ctrl-C). */
void sleep_ms(unsigned ms, const volatile int *stop);

#endif
