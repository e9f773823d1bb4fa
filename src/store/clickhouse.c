/*
 * clickhouse.c - the HTTP interface of a ClickHouse server
 * (store/clickhouse.h).
 */
#include "store/clickhouse.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#define CH_DEFAULT_PORT 8123
/* An error message kept from an answer, at most. */
#define CH_ERR_MAX 2000
/* One row of an answer, at most (a narinfo row is a few kB). */
#define CH_LINE_MAX (64u << 20)

int ch_is_url(const char *s)
{
	return s && !strncmp(s, "clickhouse://", 13);
}

static int name_ok(const char *s, size_t n)
{
	if (!n || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return !(s[0] >= '0' && s[0] <= '9');
}

int ch_open(struct ch *ch, const char *url)
{
	const char *p = url + 13, *slash, *colon, *hend;
	struct strbuf sb = STRBUF_INIT;
	uint64_t port = CH_DEFAULT_PORT;

	memset(ch, 0, sizeof(*ch));
	if (!ch_is_url(url))
		return error("'%s' is not a clickhouse:// URL", url);
	if (!(slash = strchr(p, '/')))
		return error("--db '%s': no database; give clickhouse://HOST:PORT/DATABASE", url);
	hend = slash;
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(slash - p));
		if (!rb)
			return error("--db '%s': an IPv6 address lacks its ']'", url);
		colon = rb[1] == ':' ? rb + 1 : NULL;
		if (!colon && rb + 1 != slash)
			return error("--db '%s': give clickhouse://HOST:PORT/DATABASE", url);
	} else {
		colon = memchr(p, ':', (size_t)(slash - p));
	}
	if (colon) {
		char buf[16];
		size_t n = (size_t)(slash - colon - 1);
		hend = colon;
		if (!n || n >= sizeof(buf))
			return error("--db '%s': the port is not a number", url);
		memcpy(buf, colon + 1, n);
		buf[n] = '\0';
		if (parse_uint(buf, &port) || !port || port > 65535)
			return error("--db '%s': the port '%s' is not a number from 1 to 65535", url, buf);
	}
	if (hend == p)
		return error("--db '%s': no host; give clickhouse://HOST:PORT/DATABASE", url);
	for (const char *c = p; c < hend; c++)
		if (*c <= ' ' || *c == '@' || *c == '?' || *c == '#' || *c == '%' || (unsigned char)*c >= 0x7f)
			return error("--db '%s': the host is not a host name or address", url);
	if (!name_ok(slash + 1, strlen(slash + 1)))
		return error("--db '%s': the database '%s' is not a ClickHouse name (letters, digits, _)",
			     url, slash + 1);
	ch->host = xstrndup(p, (size_t)(hend - p));
	ch->port = (unsigned)port;
	ch->database = xstrdup(slash + 1);
	strbuf_addf(&sb, "http://%s:%u/", ch->host, ch->port);
	ch->base = strbuf_detach(&sb);
	strbuf_addf(&sb, "ClickHouse at %s:%u, database '%s'", ch->host, ch->port, ch->database);
	ch->where = strbuf_detach(&sb);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(ch->curl = curl_easy_init()) ||
	    !(ch->headers = curl_slist_append(NULL, "Expect:"))) {
		ch_close(ch);
		return error("unable to initialise libcurl");
	}
	return 0;
}

void ch_close(struct ch *ch)
{
	if (ch->curl) {
		curl_easy_cleanup(ch->curl);
		curl_global_cleanup();
	}
	curl_slist_free_all(ch->headers);
	free(ch->host);
	free(ch->database);
	free(ch->base);
	free(ch->where);
	memset(ch, 0, sizeof(*ch));
}

void ch_quote(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, '\'');
	for (; *s; s++) {
		if (*s == '\'' || *s == '\\')
			strbuf_addch(sb, '\\');
		strbuf_addch(sb, *s);
	}
	strbuf_addch(sb, '\'');
}

/* One request's answer, read as it comes. */
struct answer {
	struct ch *ch;
	long status;           /* HTTP status, once known */
	int ncols;             /* -1: no rows expected */
	ch_row_fn fn;
	void *ctx;
	int rc;                /* what fn returned, or -1 */
	struct strbuf line;    /* the row being read */
	struct strbuf err;     /* an error's text (status not 200) */
	struct tsv_field *f;
	int af;
};

/* A line that is not a row: ClickHouse's error, when the answer began
 * well and failed later (it then writes "Code: N, e.displayText() = ..."
 * where the next row would be). */
static int bad_row(struct answer *a, const char *why)
{
	struct strbuf m = STRBUF_INIT;

	strbuf_add_printable(&m, a->line.buf, a->line.len > CH_ERR_MAX ? CH_ERR_MAX : a->line.len);
	if (!strncmp(a->line.buf, "Code: ", 6))
		error("%s: %s", a->ch->where, m.buf);
	else
		error("%s: %s in the answer: '%s'", a->ch->where, why, m.buf);
	strbuf_release(&m);
	return -1;
}

static int take_line(struct answer *a)
{
	int n;

	if (a->ncols < 0)
		return 0;
	if (a->af < a->ncols + 1) {
		a->af = a->ncols + 1;
		a->f = xrealloc(a->f, (size_t)a->af * sizeof(*a->f));
	}
	strbuf_grow(&a->line, 1);
	if (!strncmp(a->line.buf, "Code: ", 6) && strstr(a->line.buf, "Exception"))
		return bad_row(a, "an error");
	n = tsv_split(a->line.buf, a->line.len, a->f, a->af);
	if (n < 0)
		return bad_row(a, "a malformed escape");
	if (n != a->ncols) {
		struct strbuf why = STRBUF_INIT;
		int rc;
		strbuf_addf(&why, "a row of %d fields, not %d", n, a->ncols);
		rc = bad_row(a, why.buf);
		strbuf_release(&why);
		return rc;
	}
	return a->fn(a->ctx, a->f, n);
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct answer *a = arg;
	size_t n = size * nmemb;

	if (!a->status)
		curl_easy_getinfo(a->ch->curl, CURLINFO_RESPONSE_CODE, &a->status);
	if (a->status != 200) {
		if (a->err.len < CH_ERR_MAX)
			strbuf_add(&a->err, p, n < CH_ERR_MAX ? n : CH_ERR_MAX);
		return n;
	}
	for (size_t i = 0; i < n;) {
		char *nl = memchr(p + i, '\n', n - i);
		size_t take = nl ? (size_t)(nl - (p + i)) : n - i;

		if (a->line.len + take > CH_LINE_MAX) {
			a->rc = error("%s: a row of the answer is longer than %u bytes", a->ch->where,
				      CH_LINE_MAX);
			return 0;
		}
		strbuf_add(&a->line, p + i, take);
		i += take;
		if (!nl)
			break;
		i++;
		if ((a->rc = take_line(a)))
			return 0;
		strbuf_reset(&a->line);
	}
	return n;
}

/* POST body to base?params; rows to fn.  0 or -1 / fn's value. */
static int request(struct ch *ch, const char *params, const char *body, size_t len, int ncols,
		   ch_row_fn fn, void *ctx, const char *what)
{
	CURL *h = ch->curl;
	struct answer a = {.ch = ch, .ncols = ncols, .fn = fn, .ctx = ctx,
			   .line = STRBUF_INIT, .err = STRBUF_INIT};
	struct strbuf url = STRBUF_INIT;
	char cerr[CURL_ERROR_SIZE] = "";
	CURLcode cc;
	int rc = 0;

	/* tables are named in full (DATABASE.TABLE): a missing database is
	 * reported by ch_prepare, not by every request */
	strbuf_addf(&url, "%s?%s", ch->base, params);
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url.buf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	/* no "Expect: 100-continue" wait before a large body */
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, ch->headers);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTP);
#endif
	cc = curl_easy_perform(h);
	if (!a.status)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a.status);
	if (a.rc) {
		rc = a.rc;
	} else if (cc != CURLE_OK) {
		rc = error("%s: %s failed: %s%s", ch->where, what, *cerr ? cerr : curl_easy_strerror(cc),
			   cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST
				   ? " (is clickhouse-server's HTTP interface there? check --db)" : "");
	} else if (a.status != 200) {
		struct strbuf m = STRBUF_INIT;
		while (a.err.len && (a.err.buf[a.err.len - 1] == '\n' || a.err.buf[a.err.len - 1] == ' '))
			a.err.len--;
		strbuf_add_printable(&m, a.err.buf ? a.err.buf : "", a.err.len);
		rc = error("%s: %s failed (HTTP %ld): %s%s", ch->where, what, a.status,
			   m.len ? m.buf : "no message",
			   strstr(m.buf ? m.buf : "", "Database") && strstr(m.buf, "doesn't exist")
				   ? " (create it with CREATE DATABASE, or check --db)" : "");
		strbuf_release(&m);
	} else if (a.line.len && ncols >= 0) {
		rc = take_line(&a);
	}
	strbuf_release(&a.line);
	strbuf_release(&a.err);
	strbuf_release(&url);
	free(a.f);
	return rc;
}

int ch_exec(struct ch *ch, const char *sql)
{
	return request(ch, "", sql, strlen(sql), -1, NULL, NULL, "a statement");
}

int ch_select(struct ch *ch, const char *sql, int ncols, ch_row_fn fn, void *ctx)
{
	struct strbuf q = STRBUF_INIT;
	int rc;

	strbuf_addf(&q, "%s FORMAT TabSeparated", sql);
	rc = request(ch, "", q.buf, q.len, ncols, fn, ctx, "a query");
	strbuf_release(&q);
	return rc;
}

int ch_insert(struct ch *ch, const char *table, const char *cols, const char *rows,
	      size_t len)
{
	struct strbuf q = STRBUF_INIT, p = STRBUF_INIT;
	char *e;
	int rc;

	strbuf_addf(&q, "INSERT INTO %s.%s (%s) FORMAT TabSeparated", ch->database, table, cols);
	e = curl_easy_escape(ch->curl, q.buf, (int)q.len);
	strbuf_addf(&p, "insert_distributed_sync=1&query=%s", e);
	curl_free(e);
	strbuf_reset(&q);
	strbuf_addf(&q, "an insert into %s", table);
	rc = request(ch, p.buf, rows, len, -1, NULL, NULL, q.buf);
	strbuf_release(&q);
	strbuf_release(&p);
	return rc;
}
