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

static void vreport(const char *prefix, const char *fmt, va_list ap)
{
	char msg[4096];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "%s: %s%s\n", progname, prefix, msg);
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
	char *end;
	double v;
	const char *u, *pos;
	uint64_t mult = 1, base = 1024;
	int exp;

	if (!s || !*s || *s == '-' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	u = end;
	while (*u == ' ')
		u++;
	if (!*u) {
		mult = 1;
	} else {
		pos = strchr(units, toupper((unsigned char)*u));
		if (!pos || !*pos)
			return -1;
		exp = (int)(pos - units);
		u++;
		if (exp > 0) {
			if (*u == 'i' && (u[1] == 'B' || u[1] == 'b') && !u[2])
				base = 1024;
			else if ((*u == 'B' || *u == 'b') && !u[1])
				base = 1000;
			else if (!*u)
				base = 1024;
			else
				return -1;
		} else if (*u) {
			return -1;
		}
		for (int i = 0; i < exp; i++)
			mult *= base;
	}
	if (v * (double)mult > 1.8e19)
		return -1;
	*out = (uint64_t)(v * (double)mult + 0.5);
	return 0;
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
