/*
 * test_fetch.c - the fetch engine against tests/tools/faultserver: every
 * outcome, retries as the server saw them, limits, concurrency and stopping.
 *
 * The server runs as a child process (build/tests/faultserver, next to this
 * binary) on a free port, serving a temporary directory and logging each
 * request as "CONN METHOD PATH", which is how retries and connection reuse
 * are checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "ingest/fetch.h"
#include "harness.h"
#include "lib/util.h"

#define LM_TIME 1700000000
#define NFILES 200

static pid_t server_pid = -1;
static char tmpdir[] = "/tmp/cachegc-test-fetch-XXXXXX";
static char root[256], logpath[256], base[64];
static const char a_body[] =
	"StorePath: /nix/store/00000000000000000000000000000000-a\n"
	"URL: nar/a.nar.xz\n";

/* ---- fixtures ---------------------------------------------------------- */

static void write_file(const char *name, const char *data, size_t len)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	fp = fopen(path, "w");
	if (!fp || fwrite(data, 1, len, fp) != len || fclose(fp) != 0)
		die("unable to write '%s'", path);
}

static int start_server(const char *argv0)
{
	char *dir = xstrdup(argv0), server[512], line[32];
	struct timeval tv[2] = {{LM_TIME, 0}, {LM_TIME, 0}};
	struct pollfd pfd;
	int pipefd[2], i;
	ssize_t n;
	size_t got = 0;

	snprintf(server, sizeof(server), "%s/faultserver", dirname(dir));
	free(dir);
	if (!mkdtemp(tmpdir))
		return error("mkdtemp: %s", strerror(errno));
	snprintf(root, sizeof(root), "%s/root", tmpdir);
	snprintf(logpath, sizeof(logpath), "%s/log", tmpdir);
	if (mkdir(root, 0755) < 0)
		return error("mkdir: %s", strerror(errno));
	write_file("a.narinfo", a_body, strlen(a_body));
	{
		char p[512];
		snprintf(p, sizeof(p), "%s/a.narinfo", root);
		if (utimes(p, tv) < 0)
			return error("utimes: %s", strerror(errno));
	}
	for (i = 0; i < NFILES; i++) {
		char name[32], body[32];
		snprintf(name, sizeof(name), "f%03d.narinfo", i);
		snprintf(body, sizeof(body), "file %d\n", i);
		write_file(name, body, strlen(body));
	}

	if (pipe(pipefd) < 0)
		return error("pipe: %s", strerror(errno));
	server_pid = fork();
	if (server_pid < 0)
		return error("fork: %s", strerror(errno));
	if (server_pid == 0) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		close(pipefd[1]);
		execl(server, server, "--root", root, "--log", logpath, "--max-seconds",
		      "120", (char *)NULL);
		fprintf(stderr, "cannot run '%s': %s\n", server, strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	pfd.fd = pipefd[0];
	pfd.events = POLLIN;
	while (got < sizeof(line) - 1 && !memchr(line, '\n', got)) {
		if (poll(&pfd, 1, 5000) <= 0)
			break;
		n = read(pipefd[0], line + got, sizeof(line) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(pipefd[0]);
	line[got] = '\0';
	if (atoi(line) <= 0)
		return error("faultserver '%s' did not report a port", server);
	snprintf(base, sizeof(base), "http://127.0.0.1:%d/", atoi(line));
	return 0;
}

static void stop_server(void)
{
	char cmd[512];

	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, NULL, 0);
		server_pid = -1;
	}
	if (strchr(tmpdir, 'X') == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
}

/* Lines of the server's request log: "CONN METHOD PATH". */
struct logline {
	unsigned conn;
	char method[8];
	char path[256];
};

static size_t read_log(struct logline **out)
{
	FILE *fp = fopen(logpath, "r");
	struct logline *v = NULL, l;
	size_t n = 0, alloc = 0;

	*out = NULL;
	if (!fp)
		return 0;
	while (fscanf(fp, "%u %7s %255s", &l.conn, l.method, l.path) == 3) {
		GROW(v, alloc, n + 1);
		v[n++] = l;
	}
	fclose(fp);
	*out = v;
	return n;
}

static size_t log_mark(void)
{
	struct logline *v;
	size_t n = read_log(&v);

	free(v);
	return n;
}

/* Requests for method+path logged since line `from`. */
static int count_requests(const char *method, const char *path, size_t from)
{
	struct logline *v;
	size_t n = read_log(&v), i;
	int c = 0;

	for (i = from; i < n; i++)
		if (!strcmp(v[i].method, method) && !strcmp(v[i].path, path))
			c++;
	free(v);
	return c;
}

/* Distinct connections used by requests since line `from`. */
static int count_conns(size_t from)
{
	struct logline *v;
	size_t n = read_log(&v), i, j;
	int c = 0;

	for (i = from; i < n; i++) {
		for (j = from; j < i; j++)
			if (v[j].conn == v[i].conn)
				break;
		if (j == i)
			c++;
	}
	free(v);
	return c;
}

/* ---- collecting outcomes ----------------------------------------------- */

struct outcome {
	int calls;
	enum fetch_status status;
	long code;
	char *body;
	size_t len;
	int64_t lm, cl;
	int tries;
	char *error;
	int seq;             /* order of completion */
};

struct coll {
	struct outcome o[NFILES + 16];
	int seq;
	int abort_after;     /* return 1 from the n-th non-cancelled callback */
	int children;        /* enqueue this many f*.narinfo from id 0 */
	struct fetcher *f;
	uint64_t max_in_flight;
	int sample_in_flight;  /* also sample in_flight from c->f in on_done */
	int progress_calls;
};

static int on_done(const struct fetch_result *r, void *data)
{
	struct coll *c = data;
	struct outcome *o = &c->o[r->id];

	o->calls++;
	o->status = r->status;
	o->code = r->http_code;
	free(o->body);
	o->body = xmalloc(r->len + 1);
	memcpy(o->body, r->body, r->len + 1);
	o->len = r->len;
	o->lm = r->last_modified;
	o->cl = r->content_length;
	o->tries = r->tries;
	free(o->error);
	o->error = r->error ? xstrdup(r->error) : NULL;
	o->seq = c->seq++;
	if (c->sample_in_flight) {
		/* Sampled here as well as in on_progress: on a fast run the only
		 * progress call can come after the last transfer, when none is in
		 * flight.  The finishing transfer still holds its slot here. */
		struct fetch_stats st;
		fetcher_stats(c->f, &st);
		if (st.in_flight > c->max_in_flight)
			c->max_in_flight = st.in_flight;
	}
	if (r->id == 0 && c->children && r->status == FETCH_OK) {
		int i;
		for (i = 0; i < c->children; i++) {
			char p[32];
			snprintf(p, sizeof(p), "f%03d.narinfo", i);
			if (fetcher_enqueue(c->f, FETCH_GET, p, NULL, i + 1) < 0)
				return 1;
		}
	}
	if (r->status != FETCH_CANCELLED && c->abort_after && c->seq >= c->abort_after)
		return 1;
	return 0;
}

static void on_progress(const struct fetch_stats *st, void *data)
{
	struct coll *c = data;

	c->progress_calls++;
	if (st->in_flight > c->max_in_flight)
		c->max_in_flight = st->in_flight;
}

static void coll_release(struct coll *c)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(c->o); i++) {
		free(c->o[i].body);
		free(c->o[i].error);
	}
	memset(c, 0, sizeof(*c));
}

/* Fast retries and short timeouts, so failures end in well under a second
 * unless a test wants otherwise. */
static struct fetch_options test_opts(struct coll *c)
{
	struct fetch_options o;

	memset(&o, 0, sizeof(o));
	o.base_url = base;
	o.on_done = on_done;
	o.progress = on_progress;
	o.cb_data = c;
	o.jobs = 8;
	o.max_tries = 3;
	o.backoff_ms = 20;
	o.max_backoff_ms = 100;
	o.connect_timeout_ms = 2000;
	o.timeout_ms = 5000;
	o.low_speed_bytes = 1;
	o.low_speed_secs = 5;
	o.user_agent = "cachegc-test";
	return o;
}

/* Fetch one path; its outcome is c->o[0].  Returns fetcher_run's status. */
static int fetch_one(struct coll *c, const struct fetch_options *o,
		     enum fetch_method m, const char *path, struct fetch_stats *st)
{
	struct fetcher *f;
	int rc;

	if (fetcher_new(&f, o) < 0)
		return -100;
	c->f = f;
	if (fetcher_enqueue(f, m, path, NULL, 0) < 0) {
		fetcher_free(f);
		return -101;
	}
	rc = fetcher_run(f);
	if (st)
		fetcher_stats(f, st);
	fetcher_free(f);
	c->f = NULL;  /* on_done must not sample a freed fetcher later */
	return rc;
}

static int contains(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle) != NULL;
}

/* ---- tests ------------------------------------------------------------- */

TEST(test_get_ok)
{
	struct coll c = {0};
	struct fetch_options o = test_opts(&c);
	size_t mark = log_mark();

	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "a.narinfo", NULL), FETCH_RUN_DONE);
	CHECK_INT(c.o[0].calls, 1);
	CHECK_INT(c.o[0].status, FETCH_OK);
	CHECK_INT(c.o[0].code, 200);
	CHECK_STR(c.o[0].body, a_body);
	CHECK_INT(c.o[0].len, strlen(a_body));
	CHECK_INT(c.o[0].lm, LM_TIME);
	CHECK_INT(c.o[0].cl, strlen(a_body));
	CHECK_INT(c.o[0].tries, 1);
	CHECK(c.o[0].error == NULL);
	CHECK_INT(count_requests("GET", "/a.narinfo", mark), 1);
	coll_release(&c);
}

TEST(test_head)
{
	struct coll c = {0};
	struct fetch_options o = test_opts(&c);
	size_t mark = log_mark();

	CHECK_INT(fetch_one(&c, &o, FETCH_HEAD, "a.narinfo", NULL), FETCH_RUN_DONE);
	CHECK_INT(c.o[0].status, FETCH_OK);
	CHECK_INT(c.o[0].len, 0);
	CHECK_INT(c.o[0].cl, strlen(a_body));
	CHECK_INT(c.o[0].lm, LM_TIME);
	CHECK_INT(count_requests("HEAD", "/a.narinfo", mark), 1);
	CHECK_INT(count_requests("GET", "/a.narinfo", mark), 0);

	CHECK_INT(fetch_one(&c, &o, FETCH_HEAD, "nope.narinfo", NULL), FETCH_RUN_DONE);
	CHECK_INT(c.o[0].status, FETCH_NOT_FOUND);
	coll_release(&c);
}

TEST(test_not_found)
{
	struct coll c = {0};
	struct fetch_options o = test_opts(&c);
	size_t mark = log_mark();

	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "missing.narinfo", NULL), FETCH_RUN_DONE);
	CHECK_INT(c.o[0].status, FETCH_NOT_FOUND);
	CHECK_INT(c.o[0].code, 404);
	CHECK_INT(c.o[0].tries, 1);
	CHECK_INT(c.o[0].len, 0);
	CHECK(c.o[0].error == NULL);
	CHECK_INT(count_requests("GET", "/missing.narinfo", mark), 1);

	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "fault/410/all/a.narinfo", NULL),
		  FETCH_RUN_DONE);
	CHECK_INT(c.o[0].status, FETCH_NOT_FOUND);
	CHECK_INT(c.o[0].code, 410);
	coll_release(&c);
}

TEST(test_500_then_ok)
{
	struct coll c = {0};
	struct fetch_options o = test_opts(&c);
	struct fetch_stats st;
	size_t mark = log_mark();

	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "fault/500/2/a.narinfo", &st), FETCH_RUN_DONE);
	CHECK_INT(c.o[0].status, FETCH_OK);
	CHECK_STR(c.o[0].body, a_body);
	CHECK_INT(c.o[0].tries, 3);
	CHECK_INT(st.retries, 2);
	CHECK_INT(st.ok, 1);
	CHECK_INT(count_requests("GET", "/fault/500/2/a.narinfo", mark), 3);
	coll_release(&c);
}

TEST(test_503)
{
	struct coll c = {0};
	struct fetch_options o = test_opts(&c);
	size_t mark = log_mark();

	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "fault/503/1/a.narinfo", NULL), FETCH_RUN_DONE);
	CHECK_INT(c.o[0].status, FETCH_OK);
	CHECK_INT(c.o[0].tries, 2);
	CHECK_INT(count_requests("GET", "/fault/503/1/a.narinfo", mark), 2);

	/* Never recovers: exactly max_tries requests, then FAILED. */
	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "fault/503/all/a.narinfo", NULL),
		  FETCH_RUN_DONE);
	CHECK_INT(c.o[0].status, FETCH_FAILED);
	CHECK_INT(c.o[0].code, 503);
	CHECK_INT(c.o[0].tries, 3);
	CHECK_INT(c.o[0].len, 0);
	CHECK(contains(c.o[0].error, "HTTP 503"));
	CHECK(contains(c.o[0].error, "gave up after 3 tries"));
	CHECK(contains(c.o[0].error, base));
	CHECK_INT(count_requests("GET", "/fault/503/all/a.narinfo", mark), 3);
	coll_release(&c);
}

TEST(test_403_not_retried)
{
	struct coll c = {0};
	struct fetch_options o = test_opts(&c);
	size_t mark = log_mark();

	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "fault/403/all/a.narinfo", NULL),
		  FETCH_RUN_DONE);
	CHECK_INT(c.o[0].status, FETCH_FAILED);
	CHECK_INT(c.o[0].tries, 1);
	CHECK(contains(c.o[0].error, "HTTP 403"));
	CHECK(contains(c.o[0].error, "GET http://127.0.0.1:"));
	CHECK(!contains(c.o[0].error, "gave up"));
	CHECK_INT(count_requests("GET", "/fault/403/all/a.narinfo", mark), 1);
	coll_release(&c);
}

/* Headers libcurl refuses: one line of 1 MiB (libcurl 7.88 says "Out of
 * memory"), 400 KiB of lines.  A clear error naming the URL, no retry. */
TEST(test_headers_too_large)
{
	static const char *const kinds[] = {"bighead", "manyheads"};
	struct coll c = {0};
	struct fetch_options o = test_opts(&c);

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		char path[64];
		size_t mark = log_mark();

		snprintf(path, sizeof(path), "fault/%s/all/a.narinfo", kinds[i]);
		CHECK_INT(fetch_one(&c, &o, FETCH_GET, path, NULL), FETCH_RUN_DONE);
		CHECK_INT(c.o[0].status, FETCH_FAILED);
		CHECK_INT(c.o[0].tries, 1);
		CHECK(contains(c.o[0].error, "response headers too large for libcurl"));
		CHECK(contains(c.o[0].error, base));
		CHECK(contains(c.o[0].error, path));
		CHECK(!contains(c.o[0].error, "gave up"));
		snprintf(path, sizeof(path), "/fault/%s/all/a.narinfo", kinds[i]);
		CHECK_INT(count_requests("GET", path, mark), 1);
	}
	coll_release(&c);
}

/* Last-Modified is handed on as the server said it, even in 9999: the
 * crawl decides what to make of it. */
TEST(test_last_modified_far)
{
	struct coll c = {0};
	struct fetch_options o = test_opts(&c);

	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "fault/lastmod9999/all/a.narinfo", NULL),
		  FETCH_RUN_DONE);
	CHECK_INT(c.o[0].status, FETCH_OK);
	CHECK(c.o[0].lm == 253402300799LL);
	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "fault/lastmodjunk/all/a.narinfo", NULL),
		  FETCH_RUN_DONE);
	CHECK_INT(c.o[0].status, FETCH_OK);
	CHECK_INT(c.o[0].lm, -1);
	coll_release(&c);
}

TEST(test_429_retry_after)
{
	struct coll c = {0};
	struct fetch_options o = test_opts(&c);
	size_t mark = log_mark();
	int64_t t0;

	/* Backoff alone would retry after ~20 ms; Retry-After: 1 says 1 s. */
	t0 = mono_ms();
	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "fault/429/1/a.narinfo", NULL), FETCH_RUN_DONE);
	CHECK(mono_ms() - t0 >= 1000);
	CHECK_INT(c.o[0].status, FETCH_OK);
	CHECK_INT(c.o[0].tries, 2);
	CHECK_INT(count_requests("GET", "/fault/429/1/a.narinfo", mark), 2);

	/* Retry-After as an HTTP date two seconds ahead (whole seconds). */
	t0 = mono_ms();
	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "fault/429date/1/a.narinfo", NULL),
		  FETCH_RUN_DONE);
	CHECK(mono_ms() - t0 >= 1000);
	CHECK_INT(c.o[0].status, FETCH_OK);
	CHECK_INT(c.o[0].tries, 2);

	/* The cap wins over what the server asks. */
	o.retry_after_cap_ms = 100;
	t0 = mono_ms();
	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "fault/429/1/f000.narinfo", NULL),
		  FETCH_RUN_DONE);
	CHECK(mono_ms() - t0 < 900);
	CHECK_INT(c.o[0].status, FETCH_OK);
	CHECK_INT(c.o[0].tries, 2);
	coll_release(&c);
}

TEST(test_429_holds_new_requests)
{
	struct coll c = {0};
	struct fetch_options o = test_opts(&c);
	struct fetcher *f;
	struct logline *v;
	size_t mark = log_mark(), n;
	int64_t t0;
	int i, after = 1;

	/* A 429 says the server is overloaded: nothing new starts until its
	 * Retry-After (1 s) is over, though the one slot is free at once;
	 * then the retry goes first. */
	o.jobs = 1;
	CHECK(fetcher_new(&f, &o) == 0);
	CHECK(fetcher_enqueue(f, FETCH_GET, "fault/429/1/f100.narinfo", NULL, 0) == 0);
	for (i = 1; i <= 5; i++) {
		char p[32];
		snprintf(p, sizeof(p), "f%03d.narinfo", 100 + i);
		CHECK(fetcher_enqueue(f, FETCH_GET, p, NULL, i) == 0);
	}
	t0 = mono_ms();
	CHECK_INT(fetcher_run(f), FETCH_RUN_DONE);
	fetcher_free(f);
	CHECK(mono_ms() - t0 >= 1000);
	CHECK_INT(c.o[0].status, FETCH_OK);
	CHECK_INT(c.o[0].tries, 2);
	CHECK_INT(c.o[0].seq, 0);
	for (i = 1; i <= 5; i++)
		if (c.o[i].status != FETCH_OK || c.o[i].seq < c.o[0].seq)
			after = 0;
	CHECK(after);
	/* the server saw the 429'd path twice before anything else */
	n = read_log(&v);
	CHECK_INT(n - mark, 7);
	if (n - mark == 7) {
		CHECK_STR(v[mark].path, "/fault/429/1/f100.narinfo");
		CHECK_STR(v[mark + 1].path, "/fault/429/1/f100.narinfo");
	}
	free(v);
	coll_release(&c);
}

TEST(test_retry_after_parse)
{
	int64_t date = 1445412480; /* Wed, 21 Oct 2015 07:28:00 GMT */

	CHECK_INT(fetch_parse_retry_after("1", 1, 0), 1);
	CHECK_INT(fetch_parse_retry_after(" 120 \r\n", 7, 0), 120);
	CHECK_INT(fetch_parse_retry_after("0", 1, 0), 0);
	CHECK_INT(fetch_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 29, date - 10), 10);
	CHECK_INT(fetch_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 29, date + 10), 0);
	CHECK_INT(fetch_parse_retry_after("soon", 4, 0), -1);
	CHECK_INT(fetch_parse_retry_after("", 0, 0), -1);
	CHECK_INT(fetch_parse_retry_after("-5", 2, 0), -1);
	/* length-bounded: the 9 after the length is not part of it */
	CHECK_INT(fetch_parse_retry_after("19", 1, 0), 1);
}

/* Our reading of the one form servers send now agrees with libcurl's
 * parser, which still reads the others; what is no date is -1. */
TEST(test_http_date_parse)
{
	static const char *const dates[] = {
		"Sun, 06 Nov 1994 08:49:37 GMT", "Thu, 01 Jan 1970 00:00:00 GMT",
		"Tue, 29 Feb 2000 23:59:59 GMT", "Fri, 31 Dec 9999 23:59:59 GMT",
		"Mon, 04 Dec 2026 21:00:00 GMT", "Wed, 30 Jun 2027 12:34:56 GMT",
	};
	char buf[64];

	for (size_t i = 0; i < ARRAY_SIZE(dates); i++) {
		snprintf(buf, sizeof(buf), "%s", dates[i]);
		CHECK(fetch_parse_http_date(dates[i], strlen(dates[i])) ==
		      (int64_t)curl_getdate(buf, NULL));
	}
	CHECK(fetch_parse_http_date(dates[0], 29) == 784111777);
	CHECK(fetch_parse_http_date(dates[3], 29) == 253402300799LL);
	/* RFC 850 and asctime, through libcurl */
	CHECK(fetch_parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", 30) == 784111777);
	CHECK(fetch_parse_http_date("Sun Nov  6 08:49:37 1994", 24) == 784111777);
	/* Out of range in the fixed form: left to libcurl, as before. */
	CHECK(fetch_parse_http_date("Tue, 29 Feb 2001 00:00:00 GMT", 29) ==
	      (int64_t)curl_getdate("Tue, 29 Feb 2001 00:00:00 GMT", NULL));
	CHECK(fetch_parse_http_date("Sun, 06 Nov 1994 24:49:37 GMT", 29) ==
	      (int64_t)curl_getdate("Sun, 06 Nov 1994 24:49:37 GMT", NULL));
	CHECK(fetch_parse_http_date("\x1b[31mnot a date", 15) == -1);
	CHECK(fetch_parse_http_date("", 0) == -1);
	/* length-bounded */
	CHECK(fetch_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMTX", 29) == 784111777);
}

TEST(test_timeout)
{
	struct coll c = {0};
	struct fetch_options o = test_opts(&c);
	size_t mark = log_mark();
	int64_t t0 = mono_ms();

	o.timeout_ms = 500;
	o.max_tries = 2;
	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "fault/timeout/all/a.narinfo", NULL),
		  FETCH_RUN_DONE);
	CHECK(mono_ms() - t0 < 10000);
	CHECK_INT(c.o[0].status, FETCH_FAILED);
	CHECK_INT(c.o[0].tries, 2);
	CHECK(contains(c.o[0].error, "timed out"));
	CHECK(contains(c.o[0].error, "gave up after 2 tries"));
	CHECK_INT(count_requests("GET", "/fault/timeout/all/a.narinfo", mark), 2);
	coll_release(&c);
}

TEST(test_drip)
{
	struct coll c = {0};
	struct fetch_options o = test_opts(&c);
	size_t mark = log_mark();
	int64_t t0 = mono_ms();

	/* 1 byte/s against a floor of 10 bytes/s over 1 s; the total timeout
	 * alone would allow 30 s. */
	o.timeout_ms = 30000;
	o.low_speed_bytes = 10;
	o.low_speed_secs = 1;
	o.max_tries = 2;
	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "fault/drip/all/a.narinfo", NULL),
		  FETCH_RUN_DONE);
	CHECK(mono_ms() - t0 < 10000);
	CHECK_INT(c.o[0].status, FETCH_FAILED);
	CHECK_INT(c.o[0].tries, 2);
	CHECK(contains(c.o[0].error, "too slow"));
	CHECK_INT(count_requests("GET", "/fault/drip/all/a.narinfo", mark), 2);
	coll_release(&c);
}

TEST(test_truncated)
{
	struct coll c = {0};
	struct fetch_options o = test_opts(&c);
	size_t mark = log_mark();

	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "fault/truncated/all/a.narinfo", NULL),
		  FETCH_RUN_DONE);
	CHECK_INT(c.o[0].status, FETCH_FAILED);
	CHECK_INT(c.o[0].tries, 3);
	CHECK_INT(c.o[0].len, 0);
	CHECK(contains(c.o[0].error, "/fault/truncated/all/a.narinfo"));
	CHECK_INT(count_requests("GET", "/fault/truncated/all/a.narinfo", mark), 3);

	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "fault/truncated/1/a.narinfo", NULL),
		  FETCH_RUN_DONE);
	CHECK_INT(c.o[0].status, FETCH_OK);
	CHECK_STR(c.o[0].body, a_body);
	CHECK_INT(c.o[0].tries, 2);

	/* The connection closed without any answer. */
	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "fault/close/1/a.narinfo", NULL),
		  FETCH_RUN_DONE);
	CHECK_INT(c.o[0].status, FETCH_OK);
	CHECK_INT(c.o[0].tries, 2);
	coll_release(&c);
}

TEST(test_too_large)
{
	struct coll c = {0};
	struct fetch_options o = test_opts(&c);
	struct fetch_stats st;
	size_t mark = log_mark();

	/* Content-Length says 10 MiB: refused before reading the body. */
	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "fault/huge/all/a.narinfo", &st), FETCH_RUN_DONE);
	CHECK_INT(c.o[0].status, FETCH_TOO_LARGE);
	CHECK_INT(c.o[0].tries, 1);
	CHECK_INT(c.o[0].len, 0);
	CHECK(contains(c.o[0].error, "larger than 1048576"));
	CHECK(st.bytes < 2u * 1024 * 1024);
	CHECK_INT(st.errors, 1);

	/* No Content-Length: cut as soon as more than 1 MiB has arrived. */
	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "fault/hugestream/all/a.narinfo", &st),
		  FETCH_RUN_DONE);
	CHECK_INT(c.o[0].status, FETCH_TOO_LARGE);
	CHECK_INT(c.o[0].tries, 1);
	CHECK(st.bytes > 1024u * 1024);
	CHECK(st.bytes < 2u * 1024 * 1024);
	CHECK_INT(count_requests("GET", "/fault/hugestream/all/a.narinfo", mark), 1);

	/* A smaller limit applies to ordinary files too. */
	o.max_body = 10;
	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "a.narinfo", NULL), FETCH_RUN_DONE);
	CHECK_INT(c.o[0].status, FETCH_TOO_LARGE);
	coll_release(&c);
}

/* What Accept-Encoding each setting sends, as the server saw it. */
TEST(test_accept_encoding)
{
	struct coll c = {0};
	struct fetch_options o = test_opts(&c);

	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "accept-encoding", NULL), FETCH_RUN_DONE);
	CHECK_INT(c.o[0].status, FETCH_OK);
	CHECK(contains(c.o[0].body, "gzip"));
	CHECK(contains(c.o[0].body, "deflate"));
	o.identity = 1;
	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "accept-encoding", NULL), FETCH_RUN_DONE);
	CHECK_INT(c.o[0].status, FETCH_OK);
	CHECK_STR(c.o[0].body, "identity\n");
	coll_release(&c);
}

TEST(test_garbage_and_gzip)
{
	struct coll c = {0};
	struct fetch_options o = test_opts(&c);
	size_t i;
	int same = 1;

	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "fault/garbage/all/a.narinfo", NULL),
		  FETCH_RUN_DONE);
	CHECK_INT(c.o[0].status, FETCH_OK);
	CHECK_INT(c.o[0].len, 4096);
	for (i = 0; c.o[0].body && i < c.o[0].len && i < 4096; i++)
		if ((unsigned char)c.o[0].body[i] != (i * 7919 + 13) % 256)
			same = 0;
	CHECK(same);

	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "fault/gzip/all/a.narinfo", NULL),
		  FETCH_RUN_DONE);
	CHECK_INT(c.o[0].status, FETCH_OK);
	CHECK_STR(c.o[0].body, a_body);

	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "fault/badgzip/all/a.narinfo", NULL),
		  FETCH_RUN_DONE);
	CHECK_INT(c.o[0].status, FETCH_FAILED);
	CHECK_INT(c.o[0].tries, 1);

	/* Asking for no encoding, a gzip body sent anyway is still decoded. */
	o.identity = 1;
	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "fault/gzip/all/a.narinfo", NULL),
		  FETCH_RUN_DONE);
	CHECK_INT(c.o[0].status, FETCH_OK);
	CHECK_STR(c.o[0].body, a_body);
	coll_release(&c);
}

TEST(test_redirects)
{
	struct coll c = {0};
	struct fetch_options o = test_opts(&c);
	size_t mark = log_mark();

	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "fault/redirect/all/a.narinfo", NULL),
		  FETCH_RUN_DONE);
	CHECK_INT(c.o[0].status, FETCH_OK);
	CHECK_STR(c.o[0].body, a_body);
	CHECK_INT(count_requests("GET", "/a.narinfo", mark), 1);

	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "fault/redirect-file/all/a.narinfo", NULL),
		  FETCH_RUN_DONE);
	CHECK_INT(c.o[0].status, FETCH_FAILED);
	CHECK_INT(c.o[0].tries, 1);
	CHECK_INT(c.o[0].len, 0);
	CHECK(!contains(c.o[0].body, "root:"));
	CHECK(contains(c.o[0].error, "refused redirect to 'file:///etc/passwd'"));
	CHECK(!contains(c.o[0].error, "root:"));

	mark = log_mark();
	o.max_redirs = 2;
	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "fault/redirect-loop/all/a.narinfo", NULL),
		  FETCH_RUN_DONE);
	CHECK_INT(c.o[0].status, FETCH_FAILED);
	CHECK_INT(c.o[0].tries, 1);
	CHECK(contains(c.o[0].error, "redirect"));
	CHECK_INT(count_requests("GET", "/fault/redirect-loop/all/a.narinfo", mark), 3);
	coll_release(&c);
}

TEST(test_connection_refused)
{
	struct coll c = {0};
	struct fetch_options o = test_opts(&c);
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	char url[64];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	/* A port that was free a moment ago and has no listener now. */
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	      getsockname(fd, (struct sockaddr *)&sa, &salen) == 0);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(sa.sin_port));
	o.base_url = url;
	o.max_tries = 2;
	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "nix-cache-info", NULL), FETCH_RUN_DONE);
	CHECK_INT(c.o[0].status, FETCH_FAILED);
	CHECK_INT(c.o[0].tries, 2);
	CHECK_INT(c.o[0].code, 0);
	CHECK(contains(c.o[0].error, url));
	coll_release(&c);
}

TEST(test_many_concurrent)
{
	struct coll c = {0};
	struct fetch_options o = test_opts(&c);
	struct fetcher *f;
	struct fetch_stats st;
	size_t mark = log_mark();
	int i, all_ok = 1, once = 1;

	o.jobs = 8;
	o.progress_interval_ms = 1;
	CHECK(fetcher_new(&f, &o) == 0);
	c.f = f;
	c.sample_in_flight = 1;
	for (i = 0; i < NFILES; i++) {
		char p[32];
		snprintf(p, sizeof(p), "f%03d.narinfo", i);
		CHECK(fetcher_enqueue(f, FETCH_GET, p, NULL, i) == 0);
	}
	fetcher_stats(f, &st);
	CHECK_INT(st.queued, NFILES);
	CHECK_INT(fetcher_run(f), FETCH_RUN_DONE);
	fetcher_stats(f, &st);
	fetcher_free(f);
	for (i = 0; i < NFILES; i++) {
		char want[32], p[32];
		snprintf(want, sizeof(want), "file %d\n", i);
		snprintf(p, sizeof(p), "/f%03d.narinfo", i);
		if (c.o[i].calls != 1 || c.o[i].status != FETCH_OK || !c.o[i].body ||
		    strcmp(c.o[i].body, want))
			all_ok = 0;
		if (count_requests("GET", p, mark) != 1)
			once = 0;
	}
	CHECK(all_ok);
	CHECK(once);
	CHECK_INT(st.done, NFILES);
	CHECK_INT(st.ok, NFILES);
	CHECK_INT(st.queued, 0);
	CHECK_INT(st.in_flight, 0);
	CHECK(c.progress_calls >= 1);
	CHECK(c.max_in_flight >= 1 && c.max_in_flight <= 8);
	CHECK(count_conns(mark) <= 8);
	coll_release(&c);
}

TEST(test_keepalive_and_rerun)
{
	struct coll c = {0};
	struct fetch_options o = test_opts(&c);
	struct fetcher *f;
	size_t mark = log_mark();
	int i;

	/* One transfer at a time, found and missing mixed, two runs on one
	 * fetcher: all over a single kept-alive connection. */
	o.jobs = 1;
	CHECK(fetcher_new(&f, &o) == 0);
	for (i = 0; i < 10; i++) {
		char p[32];
		snprintf(p, sizeof(p), i % 2 ? "f%03d.narinfo" : "absent%d.narinfo", i);
		CHECK(fetcher_enqueue(f, FETCH_GET, p, NULL, i) == 0);
	}
	CHECK_INT(fetcher_run(f), FETCH_RUN_DONE);
	CHECK(fetcher_enqueue(f, FETCH_GET, "a.narinfo", NULL, 10) == 0);
	CHECK_INT(fetcher_run(f), FETCH_RUN_DONE);
	fetcher_free(f);
	CHECK_INT(c.o[1].status, FETCH_OK);
	CHECK_INT(c.o[2].status, FETCH_NOT_FOUND);
	CHECK_INT(c.o[10].status, FETCH_OK);
	CHECK_INT(log_mark() - mark, 11);
	CHECK_INT(count_conns(mark), 1);
	coll_release(&c);
}

TEST(test_retry_does_not_block)
{
	struct coll c = {0};
	struct fetch_options o = test_opts(&c);
	struct fetcher *f;
	int i, later = 1;

	/* A single slot: if a retry waited in it, nothing else could run. */
	o.jobs = 1;
	o.backoff_ms = 200;
	o.max_backoff_ms = 400;
	CHECK(fetcher_new(&f, &o) == 0);
	CHECK(fetcher_enqueue(f, FETCH_GET, "fault/503/all/a.narinfo", NULL, 0) == 0);
	for (i = 1; i <= 30; i++) {
		char p[32];
		snprintf(p, sizeof(p), "f%03d.narinfo", i);
		CHECK(fetcher_enqueue(f, FETCH_GET, p, NULL, i) == 0);
	}
	CHECK_INT(fetcher_run(f), FETCH_RUN_DONE);
	fetcher_free(f);
	CHECK_INT(c.o[0].status, FETCH_FAILED);
	CHECK_INT(c.o[0].tries, 3);
	for (i = 1; i <= 30; i++)
		if (c.o[i].status != FETCH_OK || c.o[i].seq > c.o[0].seq)
			later = 0;
	CHECK(later);
	CHECK_INT(c.o[0].seq, 30);
	coll_release(&c);
}

TEST(test_enqueue_from_callback)
{
	struct coll c = {0};
	struct fetch_options o = test_opts(&c);
	struct fetcher *f;
	int i, ok = 1;

	c.children = 20;
	CHECK(fetcher_new(&f, &o) == 0);
	c.f = f;
	CHECK(fetcher_enqueue(f, FETCH_GET, "a.narinfo", NULL, 0) == 0);
	CHECK_INT(fetcher_run(f), FETCH_RUN_DONE);
	fetcher_free(f);
	for (i = 0; i <= 20; i++)
		if (c.o[i].calls != 1 || c.o[i].status != FETCH_OK)
			ok = 0;
	CHECK(ok);
	coll_release(&c);
}

TEST(test_abort_from_callback)
{
	struct coll c = {0};
	struct fetch_options o = test_opts(&c);
	struct fetcher *f;
	struct fetch_stats st;
	int i, once = 1, cancelled = 0;

	o.jobs = 2;
	c.abort_after = 3;
	CHECK(fetcher_new(&f, &o) == 0);
	for (i = 0; i < 50; i++) {
		char p[32];
		snprintf(p, sizeof(p), "f%03d.narinfo", i);
		CHECK(fetcher_enqueue(f, FETCH_GET, p, NULL, i) == 0);
	}
	CHECK_INT(fetcher_run(f), FETCH_RUN_ABORTED);
	fetcher_stats(f, &st);
	fetcher_free(f);
	for (i = 0; i < 50; i++) {
		if (c.o[i].calls != 1)
			once = 0;
		if (c.o[i].status == FETCH_CANCELLED)
			cancelled++;
	}
	CHECK(once);
	CHECK_INT(st.done, 3);
	CHECK_INT(cancelled, 47);
	CHECK_INT(st.cancelled, 47);
	coll_release(&c);
}

static void on_alarm(int sig)
{
	(void)sig;
	fetch_stop = 1;
}

TEST(test_interrupt)
{
	struct coll c = {0};
	struct fetch_options o = test_opts(&c);
	struct fetcher *f;
	struct sigaction sa, old;
	struct itimerval it;
	int64_t t0;
	int i, cancelled = 0, once = 1;

	/* Slow transfers that would take a minute; a signal 300 ms in. */
	o.jobs = 4;
	o.timeout_ms = 60000;
	o.low_speed_bytes = 0;
	CHECK(fetcher_new(&f, &o) == 0);
	for (i = 0; i < 10; i++) {
		char p[64];
		snprintf(p, sizeof(p), "fault/drip/all/f%03d.narinfo", i);
		CHECK(fetcher_enqueue(f, FETCH_GET, p, NULL, i) == 0);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old);
	memset(&it, 0, sizeof(it));
	it.it_value.tv_usec = 300000;
	setitimer(ITIMER_REAL, &it, NULL);
	t0 = mono_ms();
	CHECK_INT(fetcher_run(f), FETCH_RUN_INTERRUPTED);
	CHECK(mono_ms() - t0 < 5000);
	sigaction(SIGALRM, &old, NULL);
	fetch_stop = 0;
	for (i = 0; i < 10; i++) {
		if (c.o[i].calls != 1)
			once = 0;
		if (c.o[i].status == FETCH_CANCELLED && contains(c.o[i].error, "interrupted"))
			cancelled++;
	}
	CHECK(once);
	CHECK_INT(cancelled, 10);
	/* The fetcher is still usable afterwards. */
	CHECK(fetcher_enqueue(f, FETCH_GET, "a.narinfo", NULL, 11) == 0);
	CHECK_INT(fetcher_run(f), FETCH_RUN_DONE);
	CHECK_INT(c.o[11].status, FETCH_OK);
	fetcher_free(f);
	coll_release(&c);
}

TEST(test_bad_options)
{
	struct coll c = {0};
	struct fetch_options o = test_opts(&c);
	struct fetcher *f = NULL;

	fprintf(stderr, "(expected errors follow)\n");
	o.base_url = "ftp://example.org/cache";
	CHECK(fetcher_new(&f, &o) < 0 && f == NULL);
	o.base_url = "file:///tmp/cache";
	CHECK(fetcher_new(&f, &o) < 0);
	o.base_url = "https://";
	CHECK(fetcher_new(&f, &o) < 0);
	o.base_url = "https://cache.example.org?priority=10";
	CHECK(fetcher_new(&f, &o) < 0);
	o.base_url = base;
	o.cacert = "/nonexistent/ca.pem";
	CHECK(fetcher_new(&f, &o) < 0);
	o.cacert = NULL;

	o.base_url = "HTTPS://cache.example.org//";
	CHECK(fetcher_new(&f, &o) == 0);
	CHECK_STR(fetcher_base_url(f), "HTTPS://cache.example.org/");
	CHECK(fetcher_enqueue(f, FETCH_GET, "/abs.narinfo", NULL, 0) < 0);
	CHECK(fetcher_enqueue(f, FETCH_GET, "a b.narinfo", NULL, 0) < 0);
	CHECK(fetcher_enqueue(f, FETCH_GET, "", NULL, 0) < 0);
	/* Enqueued but never run: freed without a callback. */
	CHECK(fetcher_enqueue(f, FETCH_GET, "x.narinfo", NULL, 0) == 0);
	fetcher_free(f);
	CHECK_INT(c.o[0].calls, 0);
	coll_release(&c);
}

/* ---- TLS and HTTP/2, against nginx (a test peer) ------------------------ */

static pid_t nginx_pid = -1;
static char nginx_dir[300];

static int free_port(void)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &salen) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int can_connect(int port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static int have_nginx(void)
{
	return system("command -v nginx >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1 "
		      "&& command -v timeout >/dev/null 2>&1") == 0;
}

/* Start nginx with a fresh self-signed certificate for 127.0.0.1, TLS and
 * HTTP/2, serving root.  Returns the port or -1. */
static int start_nginx(void)
{
	char cmd[1024], conf[600];
	FILE *fp;
	int port, i;

	snprintf(nginx_dir, sizeof(nginx_dir), "%s/nginx", tmpdir);
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p '%s/tmp' && cd '%s' && openssl req -x509 -newkey ec "
		 "-pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem -out cert.pem "
		 "-days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
		 ">/dev/null 2>&1",
		 nginx_dir, nginx_dir);
	if (system(cmd) != 0)
		return error("unable to make a test certificate");
	port = free_port();
	snprintf(conf, sizeof(conf), "%s/nginx.conf", nginx_dir);
	fp = fopen(conf, "w");
	if (!fp)
		return error("unable to write '%s'", conf);
	fprintf(fp,
		"daemon off; master_process off; worker_processes 1;\n"
		"pid %s/nginx.pid; error_log %s/error.log;\n"
		"events { worker_connections 512; }\n"
		"http {\n"
		"  log_format t '$connection $server_protocol $request_method $uri';\n"
		"  access_log %s/access.log t;\n"
		"  client_body_temp_path %s/tmp; proxy_temp_path %s/tmp;\n"
		"  fastcgi_temp_path %s/tmp; uwsgi_temp_path %s/tmp; scgi_temp_path %s/tmp;\n"
		"  server {\n"
		"    listen 127.0.0.1:%d ssl http2;\n"
		"    ssl_certificate %s/cert.pem; ssl_certificate_key %s/key.pem;\n"
		"    root %s;\n"
		"  }\n"
		"}\n",
		nginx_dir, nginx_dir, nginx_dir, nginx_dir, nginx_dir, nginx_dir, nginx_dir,
		nginx_dir, port, nginx_dir, nginx_dir, root);
	if (fclose(fp) != 0)
		return error("unable to write '%s'", conf);
	nginx_pid = fork();
	if (nginx_pid < 0)
		return error("fork: %s", strerror(errno));
	if (nginx_pid == 0) {
		/* timeout(1): nginx must never outlive the test. */
		execlp("timeout", "timeout", "60", "nginx", "-p", nginx_dir, "-c", conf,
		       "-e", "/dev/null", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 100 && !can_connect(port); i++)
		usleep(50000);
	if (i == 100)
		return error("nginx did not start (see %s/error.log)", nginx_dir);
	return port;
}

static void stop_nginx(void)
{
	if (nginx_pid > 0) {
		kill(nginx_pid, SIGTERM);
		waitpid(nginx_pid, NULL, 0);
		nginx_pid = -1;
	}
}

/* nginx's access log since line `from`: counts lines, HTTP/2.0 lines and
 * distinct connections. */
static void nginx_log(size_t from, int *lines, int *h2, int *conns)
{
	char path[400], proto[16], method[8], uri[256];
	unsigned long conn, seen[1024];
	size_t n = 0, i, nseen = 0;
	FILE *fp;

	*lines = *h2 = *conns = 0;
	snprintf(path, sizeof(path), "%s/access.log", nginx_dir);
	fp = fopen(path, "r");
	if (!fp)
		return;
	while (fscanf(fp, "%lu %15s %7s %255s", &conn, proto, method, uri) == 4) {
		if (n++ < from)
			continue;
		(*lines)++;
		if (!strcmp(proto, "HTTP/2.0"))
			(*h2)++;
		for (i = 0; i < nseen && seen[i] != conn; i++)
			;
		if (i == nseen && nseen < ARRAY_SIZE(seen))
			seen[nseen++] = conn;
	}
	fclose(fp);
	*conns = (int)nseen;
}

TEST(test_tls_http2)
{
	struct coll c = {0};
	struct fetch_options o = test_opts(&c);
	struct fetcher *f;
	char url[64], ca[400];
	int port, i, all_ok = 1, lines, h2, conns;

	port = start_nginx();
	CHECK(port > 0);
	if (port <= 0) {
		stop_nginx();
		return;
	}
	snprintf(url, sizeof(url), "https://127.0.0.1:%d", port);
	snprintf(ca, sizeof(ca), "%s/cert.pem", nginx_dir);
	o.base_url = url;

	/* A self-signed certificate is refused, and that is not retried. */
	CHECK_INT(fetch_one(&c, &o, FETCH_GET, "a.narinfo", NULL), FETCH_RUN_DONE);
	CHECK_INT(c.o[0].status, FETCH_FAILED);
	CHECK_INT(c.o[0].tries, 1);
	CHECK(contains(c.o[0].error, "certificate"));
	nginx_log(0, &lines, &h2, &conns);
	CHECK_INT(lines, 0);

	/* Trusted with --cacert: 200 requests multiplexed over one HTTP/2
	 * connection. */
	o.cacert = ca;
	o.jobs = 64;
	CHECK(fetcher_new(&f, &o) == 0);
	for (i = 0; i < NFILES; i++) {
		char p[32];
		snprintf(p, sizeof(p), "f%03d.narinfo", i);
		CHECK(fetcher_enqueue(f, FETCH_GET, p, NULL, i) == 0);
	}
	CHECK_INT(fetcher_run(f), FETCH_RUN_DONE);
	fetcher_free(f);
	for (i = 0; i < NFILES; i++) {
		char want[32];
		snprintf(want, sizeof(want), "file %d\n", i);
		if (c.o[i].status != FETCH_OK || !c.o[i].body || strcmp(c.o[i].body, want))
			all_ok = 0;
	}
	CHECK(all_ok);
	/* nginx logs a stream just after sending its last frame: give it a
	 * moment to catch up with what we received. */
	for (i = 0; i < 60; i++) {
		nginx_log(0, &lines, &h2, &conns);
		if (lines >= NFILES)
			break;
		usleep(50000);
	}
	CHECK_INT(lines, NFILES);
	CHECK_INT(h2, NFILES);
	CHECK_INT(conns, 1);
	stop_nginx();
	coll_release(&c);
}

int main(int argc, char **argv)
{
	(void)argc;
	if (start_server(argv[0]) < 0) {
		stop_server();
		printf("FAIL start_server\n");
		return 1;
	}
	RUN(test_retry_after_parse);
	RUN(test_http_date_parse);
	RUN(test_bad_options);
	RUN(test_get_ok);
	RUN(test_head);
	RUN(test_not_found);
	RUN(test_500_then_ok);
	RUN(test_503);
	RUN(test_403_not_retried);
	RUN(test_429_retry_after);
	RUN(test_headers_too_large);
	RUN(test_last_modified_far);
	RUN(test_429_holds_new_requests);
	RUN(test_timeout);
	RUN(test_drip);
	RUN(test_truncated);
	RUN(test_too_large);
	RUN(test_accept_encoding);
	RUN(test_garbage_and_gzip);
	RUN(test_redirects);
	RUN(test_connection_refused);
	RUN(test_many_concurrent);
	RUN(test_keepalive_and_rerun);
	RUN(test_retry_does_not_block);
	RUN(test_enqueue_from_callback);
	RUN(test_abort_from_callback);
	RUN(test_interrupt);
	if (have_nginx())
		RUN(test_tls_http2);
	else
		printf("SKIP test_tls_http2 (nginx or openssl not installed)\n");
	stop_server();
	return test_summary();
}
