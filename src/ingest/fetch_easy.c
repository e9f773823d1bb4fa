/*
 * fetch_easy.c - one transfer's HTTP side for the fetch engine: the
 * Retry-After parser, the header and body callbacks of an easy handle,
 * the check of the base URL and the options every easy handle keeps.
 * The window that runs the handles is fetch.c's; see fetch_private.h.
 */
#include "fetch_private.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- Retry-After and header parsing ---------------------------------- */

static int two_digits(const char *p)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return -1;
	return (p[0] - '0') * 10 + (p[1] - '0');
}

/* IMF-fixdate, exactly: "Sun, 06 Nov 1994 08:49:37 GMT".  -1 otherwise. */
static int64_t parse_imf_fixdate(const char *s, size_t len)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	static const char days[] = "SunMonTueWedThuFriSat";
	static const unsigned char mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int d, mo = -1, y1, y2, hh, mm, ss, y, i;

	if (len != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
	    s[16] != ' ' || s[19] != ':' || s[22] != ':' || memcmp(s + 25, " GMT", 4))
		return -1;
	for (i = 0; i < 7 && memcmp(s, days + 3 * i, 3); i++)
		;
	for (int m = 0; m < 12; m++)
		if (!memcmp(s + 8, months + 3 * m, 3))
			mo = m;
	d = two_digits(s + 5);
	y1 = two_digits(s + 12);
	y2 = two_digits(s + 14);
	hh = two_digits(s + 17);
	mm = two_digits(s + 20);
	ss = two_digits(s + 23);
	if (i == 7 || mo < 0 || d < 1 || y1 < 0 || y2 < 0 || hh < 0 || hh > 23 || mm < 0 ||
	    mm > 59 || ss < 0 || ss > 60 || d > mdays[mo])
		return -1;
	y = y1 * 100 + y2;
	if (mo == 1 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return -1;
	return days_from_civil(y, (unsigned)mo + 1, (unsigned)d) * 86400 + hh * 3600 +
	       mm * 60 + ss;
}

int64_t fetch_parse_http_date(const char *s, size_t len)
{
	char buf[80];
	int64_t t = parse_imf_fixdate(s, len);
	time_t ct;

	if (t >= 0 || len >= sizeof(buf))
		return t;
	memcpy(buf, s, len);
	buf[len] = '\0';
	ct = curl_getdate(buf, NULL);
	return ct < 0 ? -1 : (int64_t)ct;
}

long fetch_parse_retry_after(const char *s, size_t len, int64_t now)
{
	size_t i;

	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	if (!len || len >= 80)
		return -1;
	for (i = 0; i < len && isdigit((unsigned char)s[i]); i++)
		;
	if (i == len) {
		long v = 0;
		for (i = 0; i < len; i++) {
			if (v > (LONG_MAX - 9) / 10)
				return LONG_MAX;
			v = v * 10 + (s[i] - '0');
		}
		return v;
	}
	{
		int64_t t = fetch_parse_http_date(s, len);
		if (t == -1)
			return -1;
		if (t <= now)
			return 0;
		if (t - now > LONG_MAX)
			return LONG_MAX;
		return (long)(t - now);
	}
}

/* Does the header line [p, p+len) have name `name` (with colon)?  Sets
 * val and vlen to the value. */
static int header_is(const char *p, size_t len, const char *name,
		     const char **val, size_t *vlen)
{
	size_t n = strlen(name);

	if (len <= n || p[n] != ':' || strncasecmp(p, name, n))
		return 0;
	p += n + 1;
	len -= n + 1;
	while (len && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	while (len && (p[len - 1] == '\r' || p[len - 1] == '\n' ||
		       p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	*val = p;
	*vlen = len;
	return 1;
}

/* Headers of every response of a transfer, redirects included, one line
 * per call; a status line starts a new response. */
static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct slot *s = ud;
	size_t len = size * nmemb;
	const char *v;
	size_t vlen;

	if (len >= 5 && !memcmp(p, "HTTP/", 5)) {
		s->retry_after = -1;
		s->last_modified = -1;
		free(s->location);
		s->location = NULL;
	} else if (header_is(p, len, "Last-Modified", &v, &vlen)) {
		/* Read here rather than with CURLOPT_FILETIME: libcurl's
		 * general date parser was a tenth of the fetch thread's time. */
		s->last_modified = fetch_parse_http_date(v, vlen);
	} else if (header_is(p, len, "Retry-After", &v, &vlen)) {
		s->retry_after = fetch_parse_retry_after(v, vlen, (int64_t)time(NULL));
	} else if (header_is(p, len, "Location", &v, &vlen)) {
		free(s->location);
		s->location = xstrndup(v, vlen);
	}
	return len;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct slot *s = ud;
	struct fetcher *f = s->f;
	size_t len = size * nmemb;
	long code = 0;

	f->st.bytes += len;
	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200 || code > 299) {
		/* An error page: not wanted, but reading it keeps the
		 * connection reusable (404s are common in a crawl). */
		s->discarded += len;
		if (s->discarded > f->max_body) {
			s->discard_abort = 1;
			return 0;
		}
		return len;
	}
	if (len > f->max_body - s->body.len) {
		/* Stop now rather than buffer the rest. */
		s->too_large = 1;
		return 0;
	}
	strbuf_add(&s->body, p, len);
	return len;
}

/* ---- setup ------------------------------------------------------------- */

int fetch_base_normalise(const char *url, char **out)
{
	size_t skip, len, i;

	if (!url || !*url)
		return error("no cache URL given");
	if (!strncasecmp(url, "http://", 7))
		skip = 7;
	else if (!strncasecmp(url, "https://", 8))
		skip = 8;
	else
		return error("unsupported cache URL '%s': only http:// and https:// are supported",
			     url);
	if (!url[skip] || url[skip] == '/')
		return error("cache URL '%s' has no host", url);
	for (i = 0; url[i]; i++) {
		unsigned char c = (unsigned char)url[i];
		if (c <= ' ' || c >= 0x7f)
			return error("cache URL '%s' contains a space or control character",
				     url);
		if (c == '?' || c == '#')
			return error("cache URL '%s' has a query or fragment; give the plain cache URL",
				     url);
	}
	len = strlen(url);
	while (len > skip && url[len - 1] == '/')
		len--;
	*out = xmalloc(len + 2);
	memcpy(*out, url, len);
	(*out)[len] = '/';
	(*out)[len + 1] = '\0';
	return 0;
}

#define SETOPT(h, opt, val)                                                   \
	do {                                                                  \
		CURLcode rc_ = curl_easy_setopt((h), (opt), (val));           \
		if (rc_ != CURLE_OK)                                          \
			return error("libcurl refused %s: %s", #opt,          \
				     curl_easy_strerror(rc_));                \
	} while (0)

/* Options that stay the same for every transfer of a slot. */
int fetch_easy_setup(struct fetcher *f, struct slot *s)
{
	CURL *h = s->easy;

	SETOPT(h, CURLOPT_PRIVATE, (void *)s);
	SETOPT(h, CURLOPT_ERRORBUFFER, s->errbuf);
	SETOPT(h, CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(h, CURLOPT_WRITEDATA, (void *)s);
	SETOPT(h, CURLOPT_HEADERFUNCTION, on_header);
	SETOPT(h, CURLOPT_HEADERDATA, (void *)s);
	SETOPT(h, CURLOPT_NOSIGNAL, 1L);
	SETOPT(h, CURLOPT_NOPROGRESS, 1L);
	/* Never anything but http(s), also after a redirect: a cache must not
	 * be able to make us read file:///etc/passwd. */
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
	SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	SETOPT(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	SETOPT(h, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SETOPT(h, CURLOPT_FOLLOWLOCATION, 1L);
	SETOPT(h, CURLOPT_MAXREDIRS, (long)f->max_redirs);
	SETOPT(h, CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (f->cacert)
		SETOPT(h, CURLOPT_CAINFO, f->cacert);
	SETOPT(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	/* Wait for a connection that may multiplex rather than open many. */
	SETOPT(h, CURLOPT_PIPEWAIT, 1L);
	/* "" offers what libcurl can decode; "identity" asks for none.  Set
	 * either way, so that libcurl decodes a Content-Encoding the server
	 * sends unasked. */
	SETOPT(h, CURLOPT_ACCEPT_ENCODING, f->identity ? "identity" : "");
	SETOPT(h, CURLOPT_USERAGENT, f->ua);
	if (f->headers)
		SETOPT(h, CURLOPT_HTTPHEADER, f->headers);
	if (f->sigv4) {
		SETOPT(h, CURLOPT_AWS_SIGV4, f->sigv4->provider);
		SETOPT(h, CURLOPT_USERPWD, f->sigv4->userpwd);
	}
	SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, f->connect_timeout_ms);
	SETOPT(h, CURLOPT_TIMEOUT_MS, f->timeout_ms);
	SETOPT(h, CURLOPT_LOW_SPEED_LIMIT, f->low_speed_bytes);
	SETOPT(h, CURLOPT_LOW_SPEED_TIME, f->low_speed_secs);
	/* Rejects a too-long Content-Length before reading the body; bodies
	 * of unknown length are cut in on_body. */
	SETOPT(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->max_body);
	SETOPT(h, CURLOPT_TCP_KEEPALIVE, 1L);
	if (f->verbose)
		SETOPT(h, CURLOPT_VERBOSE, 1L);
	return 0;
}
