/*
 * util.c - allocation wrappers, messages, strbuf, time/size parsing and the
 * terminal progress line.
 */
#include "lib/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *progname = "cachegc";
int progress_disabled;

static void oom(size_t n)
{
	fprintf(stderr, "%s: fatal: out of memory allocating %zu bytes\n", progname, n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (!p)
		oom(nmemb * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void xgrow(void **p, size_t *alloc, size_t need, size_t elem)
{
	size_t n;

	if (need <= *alloc)
		return;
	n = *alloc ? *alloc : 16;
	while (n < need) {
		if (n > SIZE_MAX / 2 / elem)
			oom(SIZE_MAX);
		n *= 2;
	}
	*p = xrealloc(*p, n * elem);
	*alloc = n;
}

/* Length of the valid UTF-8 sequence at s (n > 0 bytes left), or 0 when
 * the byte there starts none: overlong forms, surrogates and code points
 * past U+10FFFF are invalid, as in RFC 3629. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Is the valid sequence of len bytes at s one a terminal acts on or that
 * reorders text: a C1 control (U+0080..U+009F; some terminals take
 * U+009B as CSI) or a bidirectional override or isolate (U+202A..U+202E,
 * U+2066..U+2069), which can make a message read as something else. */
static int utf8_hidden(const unsigned char *s, size_t len)
{
	if (len == 2)
		return s[0] == 0xc2 && s[1] <= 0x9f;
	if (len == 3 && s[0] == 0xe2)
		return (s[1] == 0x80 && s[2] >= 0xaa && s[2] <= 0xae) ||
		       (s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9);
	return 0;
}

static void add_printable(struct strbuf *sb, const char *str, size_t n, int keep_final_nl)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, start = 0, len;

	strbuf_grow(sb, n);
	while (i < n) {
		unsigned char ch = s[i];

		if (ch >= 0x20 && ch < 0x7f) {
			i++;
			continue;
		}
		len = ch < 0x80 ? 1 : utf8_seq(s + i, n - i);
		if (ch >= 0x80 && len && !utf8_hidden(s + i, len)) {
			i += len;
			continue;
		}
		if (ch == '\n' && keep_final_nl && i == n - 1) {
			i++;
			continue;
		}
		/* Something to show escaped: flush the plain run first. */
		strbuf_add(sb, s + start, i - start);
		if (!len)
			len = 1;
		for (size_t k = 0; k < len; k++) {
			ch = s[i + k];
			if (ch == '\t')
				strbuf_addstr(sb, "\\t");
			else if (ch == '\r')
				strbuf_addstr(sb, "\\r");
			else if (ch == '\n')
				strbuf_addstr(sb, "\\n");
			else
				strbuf_addf(sb, "\\x%02x", ch);
		}
		i += len;
		start = i;
	}
	strbuf_add(sb, s + start, n - start);
}

void strbuf_add_printable(struct strbuf *sb, const char *s, size_t n)
{
	add_printable(sb, s, n, 0);
}

void strbuf_addstr_printable(struct strbuf *sb, const char *s)
{
	add_printable(sb, s, strlen(s), 0);
}

int fprintf_printable(FILE *f, const char *fmt, ...)
{
	struct strbuf raw = STRBUF_INIT, out = STRBUF_INIT;
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	strbuf_grow(&raw, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(raw.buf, (size_t)n + 1, fmt, ap);
	va_end(ap);
	raw.len = (size_t)n;
	add_printable(&out, raw.buf, raw.len, 1);
	rc = fwrite(out.buf, 1, out.len, f) == out.len ? (int)out.len : -1;
	strbuf_release(&raw);
	strbuf_release(&out);
	return rc;
}

/* Every message goes through here, so text from input files (a narinfo, a
 * roots file, a file name, a header) never reaches the terminal as escape
 * sequences, carriage returns or fake extra lines: they are shown escaped. */
static void vreport(const char *prefix, const char *fmt, va_list ap)
{
	char msg[4096];
	struct strbuf sb = STRBUF_INIT;
	int n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	strbuf_addstr(&sb, progname);
	strbuf_addstr(&sb, ": ");
	strbuf_addstr(&sb, prefix);
	add_printable(&sb, msg, (size_t)n, 0);
	strbuf_addch(&sb, '\n');
	fwrite(sb.buf, 1, sb.len, stderr);
	strbuf_release(&sb);
}

int error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("error: ", fmt, ap);
	va_end(ap);
	return -1;
}

void warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("warning: ", fmt, ap);
	va_end(ap);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("fatal: ", fmt, ap);
	va_end(ap);
	exit(128);
}

void bug_at(const char *file, int line, const char *fmt, ...)
{
	char where[256];
	va_list ap;

	snprintf(where, sizeof(where), "BUG: %s:%d: ", file, line);
	va_start(ap, fmt);
	vreport(where, fmt, ap);
	va_end(ap);
	fflush(NULL);
	abort();
}

void strbuf_grow(struct strbuf *sb, size_t extra)
{
	size_t need = sb->len + extra + 1;

	if (need < sb->len)
		oom(SIZE_MAX);
	if (need > sb->alloc) {
		size_t n = sb->alloc ? sb->alloc : 64;
		while (n < need)
			n *= 2;
		sb->buf = xrealloc(sb->buf, n);
		sb->alloc = n;
	}
}

void strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
	strbuf_grow(sb, len);
	if (len)
		memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

void strbuf_addstr(struct strbuf *sb, const char *s)
{
	strbuf_add(sb, s, strlen(s));
}

void strbuf_addch(struct strbuf *sb, char c)
{
	strbuf_add(sb, &c, 1);
}

void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	strbuf_grow(sb, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

void strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
}

void strbuf_release(struct strbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->alloc = 0;
}

char *strbuf_detach(struct strbuf *sb)
{
	char *p;

	if (!sb->buf)
		strbuf_grow(sb, 0), sb->buf[0] = '\0';
	p = sb->buf;
	sb->buf = NULL;
	sb->len = sb->alloc = 0;
	return p;
}

int read_fd_capped(int fd, size_t max, char **out, size_t *len, struct stat *stp)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0, alloc, want;
	ssize_t r;
	int saved;

	*out = NULL;
	*len = 0;
	if (fstat(fd, &st) < 0)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		return -1;
	}
	if ((uint64_t)st.st_size > max) {
		errno = EFBIG;
		return -1;
	}
	/* Room for one byte more than fstat said: a read that stops short of
	 * what we asked for is the end of a regular file, so a file that did
	 * not grow is read with a single read(). */
	alloc = (size_t)st.st_size + 2;
	buf = xmalloc(alloc);
	for (;;) {
		if (n + 1 >= alloc) {
			if (n > max) {
				errno = EFBIG;
				goto fail;
			}
			alloc = alloc * 2 > max + 2 ? max + 2 : alloc * 2;
			buf = xrealloc(buf, alloc);
		}
		want = alloc - 1 - n;
		r = read(fd, buf + n, want);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		n += (size_t)r;
		if (n > max) {
			errno = EFBIG;
			goto fail;
		}
		if (r == 0 || (size_t)r < want)
			break;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	if (stp)
		*stp = st;
	return 0;
fail:
	saved = errno;
	free(buf);
	errno = saved;
	return -1;
}

int read_file_capped(const char *path, size_t max, char **out, size_t *len)
{
	int fd, rc, saved;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	rc = read_fd_capped(fd, max, out, len, NULL);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

static int64_t clock_override = INT64_MIN;

int64_t clock_now(void)
{
	if (clock_override != INT64_MIN)
		return clock_override;
	return (int64_t)time(NULL);
}

void clock_set(int64_t t)
{
	clock_override = t;
}

int clock_is_set(void)
{
	return clock_override != INT64_MIN;
}

void sleep_ms(unsigned ms, const volatile int *stop)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

	if (ms)
		while (nanosleep(&ts, &ts) && errno == EINTR && !*stop)
			;
}

int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's
 * well-known civil-date arithmetic). */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int take_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int parse_time(const char *s, int64_t *out)
{
	int y, mo, d, h = 0, mi = 0, se = 0;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const char *p = s;

	if (!s || !*s)
		return -1;
	if (*s == '@') {
		char *end;
		long long v;
		errno = 0;
		v = strtoll(s + 1, &end, 10);
		if (errno || end == s + 1 || *end)
			return -1;
		*out = v;
		return 0;
	}
	if (take_digits(&p, 4, &y) || *p++ != '-' || take_digits(&p, 2, &mo) ||
	    *p++ != '-' || take_digits(&p, 2, &d))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1])
		return -1;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return -1;
	if (*p == 'T' || *p == ' ') {
		p++;
		if (take_digits(&p, 2, &h) || *p++ != ':' || take_digits(&p, 2, &mi))
			return -1;
		if (*p == ':') {
			p++;
			if (take_digits(&p, 2, &se))
				return -1;
		}
		if (h > 23 || mi > 59 || se > 60)
			return -1;
	}
	if (*p == 'Z')
		p++;
	else if (!strcmp(p, "+00:00"))
		p += 6;
	if (*p)
		return -1;
	*out = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se;
	return 0;
}

char *format_time(int64_t t, char *buf, size_t bufsz)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm)) {
		snprintf(buf, bufsz, "@%lld", (long long)t);
		return buf;
	}
	strftime(buf, bufsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

static int trim_char(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void trim_space(const char **s, size_t *n)
{
	while (*n && trim_char((*s)[0]))
		(*s)++, (*n)--;
	while (*n && trim_char((*s)[*n - 1]))
		(*n)--;
}

int parse_uint(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

int parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "BKMGTPE";
	uint64_t whole = 0, mult = 1, base = 1024, frac_bytes;
	double frac = 0, scale = 1;
	const char *p = s, *u, *pos;
	int digits = 0, exp;

	/* Digits by hand, not strtod(): it takes "nan", "inf", "0x1p4",
	 * "1e30" and leading signs, none of which is a size, and a double
	 * out of range of uint64_t must never be converted. */
	if (!s)
		return -1;
	for (; *p >= '0' && *p <= '9'; p++, digits++) {
		if (whole > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -1;
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		/* Digits past the 19th cannot change the rounded result. */
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (scale > 1e-19) {
				scale /= 10;
				frac += (*p - '0') * scale;
			}
	}
	if (!digits)
		return -1;
	u = p;
	while (*u == ' ')
		u++;
	if (*u) {
		pos = strchr(units, toupper((unsigned char)*u));
		if (!pos || !*pos)
			return -1;
		exp = (int)(pos - units);
		u++;
		if (exp > 0) {
			if ((*u == 'i' || *u == 'I') && (u[1] == 'B' || u[1] == 'b') && !u[2])
				base = 1024;
			else if ((*u == 'B' || *u == 'b') && !u[1])
				base = 1000;
			else if (*u)
				return -1;
		} else if (*u) {
			return -1;
		}
		for (int i = 0; i < exp; i++)
			mult *= base;  /* at most 1024^6 = 2^60 */
	}
	if (whole > UINT64_MAX / mult)
		return -1;
	whole *= mult;
	/* frac < 1 and mult <= 2^60, so this is below 2^60 + 1: it fits. */
	frac_bytes = (uint64_t)(frac * (double)mult + 0.5);
	if (frac_bytes > UINT64_MAX - whole)
		return -1;
	*out = whole + frac_bytes;
	return 0;
}

void strbuf_add_age(struct strbuf *sb, int64_t s)
{
	if (s < 0)
		s = 0;
	if (s >= 86400)
		strbuf_addf(sb, "%lldd %lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		strbuf_addf(sb, "%lldh %lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else if (s >= 60)
		strbuf_addf(sb, "%lldm", (long long)(s / 60));
	else
		strbuf_addf(sb, "%llds", (long long)s);
}

char *format_size(uint64_t n, char *buf, size_t bufsz)
{
	static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double v = (double)n;
	int i = 0;

	while (v >= 1024 && i < 6) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, bufsz, "%llu B", (unsigned long long)n);
	else
		snprintf(buf, bufsz, "%.1f %s", v, units[i]);
	return buf;
}

void progress_start(struct progress *p, const char *label, uint64_t total)
{
	p->label = label;
	p->total = total;
	p->done = 0;
	p->last_draw_ms = 0;
	p->enabled = !progress_disabled && isatty(STDERR_FILENO);
}

static void progress_draw(struct progress *p)
{
	if (p->total) {
		int width = 30, fill = (int)((double)p->done / (double)p->total * width);
		char bar[31];
		if (fill > width)
			fill = width;
		memset(bar, '#', (size_t)fill);
		memset(bar + fill, '.', (size_t)(width - fill));
		bar[width] = '\0';
		fprintf(stderr, "\r%s [%s] %llu/%llu", p->label, bar,
			(unsigned long long)p->done, (unsigned long long)p->total);
	} else {
		fprintf(stderr, "\r%s %llu", p->label, (unsigned long long)p->done);
	}
	fflush(stderr);
}

void progress_update(struct progress *p, uint64_t done)
{
	int64_t now;

	p->done = done;
	if (!p->enabled)
		return;
	now = mono_ms();
	if (now - p->last_draw_ms < 100)
		return;
	p->last_draw_ms = now;
	progress_draw(p);
}

void progress_finish(struct progress *p)
{
	if (!p->enabled)
		return;
	progress_draw(p);
	fprintf(stderr, "\r\033[K");
	fflush(stderr);
}

int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
