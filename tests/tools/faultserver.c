/*
 * faultserver.c - a small HTTP/1.1 server for testing the fetch engine
 * against misbehaving caches.  Single-threaded, poll-based, 127.0.0.1 only.
 *
 *   faultserver --root DIR [--port-file FILE] [--log FILE] [--max-seconds N]
 *
 * Binds a free port and prints it on stdout (or writes it to FILE, via a
 * rename so a reader never sees half of it), then serves until killed or
 * for at most N seconds (default 120), so it never outlives a test.
 *
 * GET/HEAD /PATH serves DIR/PATH with Content-Length and Last-Modified
 * (the file's mtime), keep-alive unless asked to close; 404 if missing.
 *
 * GET /fault/KIND/N/PATH applies fault KIND to the first N requests for
 * this exact URL path (N may be "all"), then serves DIR/PATH normally:
 *
 *   500, 503, 403, 404, 410 ...  that status (any 3-digit number)
 *   429          429 with "Retry-After: 1"
 *   429date      429 with Retry-After as an HTTP date 2 s ahead
 *   timeout      read the request, never answer
 *   close        close the connection without answering
 *   drip         200 with the file's Content-Length, then 1 byte a second
 *   truncated    Content-Length 100 more than the file, the file, close
 *   garbage      200 with 4096 bytes of binary junk
 *   huge         200, Content-Length 10 MiB, then that many bytes
 *   hugestream   200 without Content-Length, 10 MiB, close
 *   gzip         the file gzip-compressed, Content-Encoding: gzip
 *   badgzip      Content-Encoding: gzip with a body that is not gzip
 *   redirect     302 to /PATH
 *   redirect-loop  302 to itself
 *   redirect-file  302 to file:///etc/passwd
 *   redirect-ctl   302 to a file: URL holding a C1 CSI and a bidi override
 *                (libcurl refuses C0 controls and DEL in a URL itself)
 *   bighead      200 with one 1 MiB header line before the file
 *   manyheads    200 with 2,000 header lines of 200 bytes (400 KiB) before
 *                the file
 *   lastmod9999  the file with "Last-Modified: Fri, 31 Dec 9999 23:59:59 GMT"
 *   lastmodjunk  the file with a Last-Modified that is not a date
 *
 * GET /accept-encoding answers the request's Accept-Encoding value, or
 * "(none)" when it sent none.
 *
 * GET /stats answers "COUNT PATH" lines, one per URL path seen.  With
 * --log, each request is appended (and flushed, before answering) as
 * "CONN METHOD PATH", CONN numbering the TCP connections from 1, so a test
 * can count requests and check connection reuse.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "lib/util.h"

#define MAX_HEADER 16384
#define HUGE_SIZE (10u * 1024 * 1024)

struct conn {
	int fd;
	unsigned id;
	char in[MAX_HEADER];
	size_t inlen;
	struct strbuf out;       /* response bytes not yet sent */
	size_t out_off;
	uint64_t fill_left;      /* filler bytes to send after out */
	struct strbuf drip;      /* body sent one byte per second */
	size_t drip_off;
	int64_t next_drip_ms;
	int busy;                /* answering; later requests wait */
	int hang;                /* never answer */
	int close_after;         /* close once everything is sent */
	int dead;
	char accept_encoding[128]; /* of the request being answered */
};

struct count {
	char *path;
	unsigned n;
};

static const char *root;
static FILE *reqlog;
static struct conn **conns;
static size_t nconns, conns_alloc;
static struct count *counts;
static size_t ncounts, counts_alloc;
static unsigned next_conn_id = 1;

static unsigned count_request(const char *path)
{
	size_t i;

	for (i = 0; i < ncounts; i++)
		if (!strcmp(counts[i].path, path))
			return ++counts[i].n;
	GROW(counts, counts_alloc, ncounts + 1);
	counts[ncounts].path = xstrdup(path);
	counts[ncounts].n = 1;
	return counts[ncounts++].n;
}

static const char *reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 302: return "Found";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 410: return "Gone";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Status";
	}
}

static void http_date(time_t t, char *buf, size_t sz)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, sz, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* Status line and common headers; the caller adds its own and "\r\n". */
static void head(struct conn *c, int code)
{
	strbuf_addf(&c->out, "HTTP/1.1 %d %s\r\nServer: faultserver\r\n", code,
		    reason(code));
	if (c->close_after)
		strbuf_addstr(&c->out, "Connection: close\r\n");
}

static void simple(struct conn *c, int is_head, int code, const char *extra)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%d %s\n", code, reason(code));

	head(c, code);
	strbuf_addf(&c->out, "Content-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n",
		    n, extra ? extra : "");
	if (!is_head)
		strbuf_add(&c->out, body, (size_t)n);
}

/* Read DIR/path; returns 0, or -1 if it is missing or unsafe. */
static int load(const char *path, char **data, size_t *len, time_t *mtime)
{
	struct strbuf full = STRBUF_INIT;
	struct stat st;
	int rc = -1;

	if (!*path || strstr(path, "..") || path[strlen(path) - 1] == '/')
		return -1;
	strbuf_addf(&full, "%s/%s", root, path);
	if (stat(full.buf, &st) < 0 || !S_ISREG(st.st_mode))
		goto out;
	if (read_file_capped(full.buf, 64u * 1024 * 1024, data, len) < 0)
		goto out;
	*mtime = st.st_mtime;
	rc = 0;
out:
	strbuf_release(&full);
	return rc;
}

static void serve_file(struct conn *c, int is_head, const char *path)
{
	char *data;
	size_t len;
	time_t mtime;
	char date[64];

	if (load(path, &data, &len, &mtime) < 0) {
		simple(c, is_head, 404, NULL);
		return;
	}
	http_date(mtime, date, sizeof(date));
	head(c, 200);
	strbuf_addf(&c->out, "Content-Length: %zu\r\nLast-Modified: %s\r\n\r\n", len, date);
	if (!is_head)
		strbuf_add(&c->out, data, len);
	free(data);
}

static int gzip_buf(const char *in, size_t len, struct strbuf *out)
{
	z_stream z;
	unsigned char buf[16384];
	int rc;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	z.next_in = (unsigned char *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	do {
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		rc = deflate(&z, Z_FINISH);
		strbuf_add(out, buf, sizeof(buf) - z.avail_out);
	} while (rc == Z_OK);
	deflateEnd(&z);
	return rc == Z_STREAM_END ? 0 : -1;
}

/* Apply fault kind to this request; file is the path it stands for. */
static void serve_fault(struct conn *c, int is_head, const char *kind,
			const char *file, const char *self)
{
	char *data = NULL, extra[4352], date[64];
	size_t len = 0, i;
	time_t mtime;

	if (!strcmp(kind, "timeout")) {
		c->hang = 1;
	} else if (!strcmp(kind, "close")) {
		c->dead = 1;
	} else if (!strcmp(kind, "429")) {
		simple(c, is_head, 429, "Retry-After: 1\r\n");
	} else if (!strcmp(kind, "429date")) {
		http_date(time(NULL) + 2, date, sizeof(date));
		snprintf(extra, sizeof(extra), "Retry-After: %s\r\n", date);
		simple(c, is_head, 429, extra);
	} else if (strlen(kind) == 3 && kind[0] >= '1' && kind[0] <= '5' &&
		   strspn(kind, "0123456789") == 3) {
		simple(c, is_head, atoi(kind), NULL);
	} else if (!strcmp(kind, "garbage")) {
		head(c, 200);
		strbuf_addstr(&c->out, "Content-Length: 4096\r\n\r\n");
		if (!is_head)
			for (i = 0; i < 4096; i++)
				strbuf_addch(&c->out, (char)((i * 7919 + 13) % 256));
	} else if (!strcmp(kind, "huge")) {
		head(c, 200);
		strbuf_addf(&c->out, "Content-Length: %u\r\n\r\n", HUGE_SIZE);
		if (!is_head)
			c->fill_left = HUGE_SIZE;
	} else if (!strcmp(kind, "hugestream")) {
		c->close_after = 1;
		head(c, 200);
		strbuf_addstr(&c->out, "\r\n");
		if (!is_head)
			c->fill_left = HUGE_SIZE;
	} else if (!strcmp(kind, "redirect") || !strcmp(kind, "redirect-loop") ||
		   !strcmp(kind, "redirect-file") || !strcmp(kind, "redirect-ctl")) {
		if (!strcmp(kind, "redirect"))
			snprintf(extra, sizeof(extra), "Location: /%s\r\n", file);
		else if (!strcmp(kind, "redirect-loop"))
			snprintf(extra, sizeof(extra), "Location: %s\r\n", self);
		else if (!strcmp(kind, "redirect-ctl"))
			snprintf(extra, sizeof(extra),
				 "Location: file:///\xc2\x9b" "31m\xe2\x80\xae" "dwssap/cte\r\n");
		else
			snprintf(extra, sizeof(extra), "Location: file:///etc/passwd\r\n");
		simple(c, is_head, 302, extra);
	} else if (!strcmp(kind, "badgzip")) {
		head(c, 200);
		strbuf_addstr(&c->out, "Content-Encoding: gzip\r\nContent-Length: 32\r\n\r\n");
		if (!is_head)
			strbuf_addstr(&c->out, "this is not gzip at all, sorry!\n");
	} else if (!strcmp(kind, "bighead") || !strcmp(kind, "manyheads") ||
		   !strcmp(kind, "lastmod9999") || !strcmp(kind, "lastmodjunk")) {
		if (load(file, &data, &len, &mtime) < 0) {
			simple(c, is_head, 404, NULL);
			return;
		}
		head(c, 200);
		if (!strcmp(kind, "bighead")) {
			strbuf_addstr(&c->out, "X-Filler: ");
			for (i = 0; i < 1024 * 1024; i++)
				strbuf_addch(&c->out, 'h');
			strbuf_addstr(&c->out, "\r\n");
		} else if (!strcmp(kind, "manyheads")) {
			for (i = 0; i < 2000; i++) {
				strbuf_addf(&c->out, "X-Filler-%05zu: ", i);
				for (size_t j = 0; j < 182; j++)
					strbuf_addch(&c->out, 'h');
				strbuf_addstr(&c->out, "\r\n");
			}
		}
		if (!strcmp(kind, "lastmod9999"))
			strbuf_addstr(&c->out, "Last-Modified: Fri, 31 Dec 9999 23:59:59 GMT\r\n");
		else if (!strcmp(kind, "lastmodjunk"))
			strbuf_addstr(&c->out, "Last-Modified: \x1b[31mnot a date\r\n");
		else {
			http_date(mtime, date, sizeof(date));
			strbuf_addf(&c->out, "Last-Modified: %s\r\n", date);
		}
		strbuf_addf(&c->out, "Content-Length: %zu\r\n\r\n", len);
		if (!is_head)
			strbuf_add(&c->out, data, len);
		free(data);
	} else if (!strcmp(kind, "drip") || !strcmp(kind, "truncated") ||
		   !strcmp(kind, "gzip")) {
		if (load(file, &data, &len, &mtime) < 0) {
			simple(c, is_head, 404, NULL);
			return;
		}
		if (!strcmp(kind, "drip")) {
			head(c, 200);
			strbuf_addf(&c->out, "Content-Length: %zu\r\n\r\n", len);
			if (!is_head) {
				strbuf_add(&c->drip, data, len);
				c->next_drip_ms = mono_ms() + 1000;
			}
		} else if (!strcmp(kind, "truncated")) {
			c->close_after = 1;
			head(c, 200);
			strbuf_addf(&c->out, "Content-Length: %zu\r\n\r\n", len + 100);
			if (!is_head)
				strbuf_add(&c->out, data, len);
		} else {
			struct strbuf z = STRBUF_INIT;
			if (gzip_buf(data, len, &z) < 0) {
				simple(c, is_head, 500, NULL);
			} else {
				head(c, 200);
				strbuf_addf(&c->out,
					    "Content-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
					    z.len);
				if (!is_head)
					strbuf_add(&c->out, z.buf, z.len);
			}
			strbuf_release(&z);
		}
		free(data);
	} else {
		simple(c, is_head, 400, NULL);
	}
}

static void serve_stats(struct conn *c, int is_head)
{
	struct strbuf body = STRBUF_INIT;
	size_t i;

	for (i = 0; i < ncounts; i++)
		strbuf_addf(&body, "%u %s\n", counts[i].n, counts[i].path);
	head(c, 200);
	strbuf_addf(&c->out, "Content-Type: text/plain\r\nContent-Length: %zu\r\n\r\n",
		    body.len);
	if (!is_head && body.len)
		strbuf_add(&c->out, body.buf, body.len);
	strbuf_release(&body);
}

static void serve_accept_encoding(struct conn *c, int is_head)
{
	const char *v = c->accept_encoding[0] ? c->accept_encoding : "(none)";

	head(c, 200);
	strbuf_addf(&c->out, "Content-Type: text/plain\r\nContent-Length: %zu\r\n\r\n",
		    strlen(v) + 1);
	if (!is_head)
		strbuf_addf(&c->out, "%s\n", v);
}

/* Route one request whose target (query stripped) is path. */
static void route(struct conn *c, int is_head, const char *path)
{
	if (!strcmp(path, "/stats")) {
		serve_stats(c, is_head);
		return;
	}
	if (!strcmp(path, "/accept-encoding")) {
		serve_accept_encoding(c, is_head);
		return;
	}
	if (!strncmp(path, "/fault/", 7)) {
		const char *k = path + 7, *n = strchr(k, '/'), *file;
		char kind[32], num[16];
		unsigned seen, limit;

		file = n ? strchr(n + 1, '/') : NULL;
		if (!n || !file || (size_t)(n - k) >= sizeof(kind) ||
		    (size_t)(file - n - 1) >= sizeof(num)) {
			simple(c, is_head, 400, NULL);
			return;
		}
		memcpy(kind, k, (size_t)(n - k));
		kind[n - k] = '\0';
		memcpy(num, n + 1, (size_t)(file - n - 1));
		num[file - n - 1] = '\0';
		file++;
		seen = count_request(path);
		limit = !strcmp(num, "all") ? ~0u : (unsigned)strtoul(num, NULL, 10);
		if (seen <= limit)
			serve_fault(c, is_head, kind, file, path);
		else
			serve_file(c, is_head, file);
		return;
	}
	count_request(path);
	serve_file(c, is_head, path + 1);
}

/* Handle the first complete request in c->in, if any. */
static void next_request(struct conn *c)
{
	char *end, *sp1, *sp2, *q, *h;
	char path[4096];
	size_t reqlen;
	int is_head, close_req = 0;

	if (c->busy || c->dead || c->hang)
		return;
	end = memmem(c->in, c->inlen, "\r\n\r\n", 4);
	if (!end) {
		if (c->inlen == sizeof(c->in))
			c->dead = 1;
		return;
	}
	*end = '\0';
	reqlen = (size_t)(end - c->in) + 4;
	sp1 = strchr(c->in, ' ');
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || (size_t)(sp2 - sp1 - 1) >= sizeof(path)) {
		c->close_after = 1;
		c->busy = 1;
		simple(c, 0, 400, NULL);
		return;
	}
	memcpy(path, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	path[sp2 - sp1 - 1] = '\0';
	q = strchr(path, '?');
	if (q)
		*q = '\0';
	is_head = (size_t)(sp1 - c->in) == 4 && !strncmp(c->in, "HEAD", 4);
	if (!strncmp(sp2 + 1, "HTTP/1.0", 8))
		close_req = 1;
	c->accept_encoding[0] = '\0';
	for (h = strstr(c->in, "\r\n"); h; h = strstr(h, "\r\n")) {
		char *eol;
		h += 2;
		eol = strstr(h, "\r\n");
		if (!strncasecmp(h, "Accept-Encoding:", 16)) {
			const char *v = h + 16;
			size_t vlen;
			while (*v == ' ' || *v == '\t')
				v++;
			vlen = eol ? (size_t)(eol - v) : strlen(v);
			if (vlen >= sizeof(c->accept_encoding))
				vlen = sizeof(c->accept_encoding) - 1;
			memcpy(c->accept_encoding, v, vlen);
			c->accept_encoding[vlen] = '\0';
		}
		if (!strncasecmp(h, "Connection:", 11)) {
			char *v = strcasestr(h, "close");
			if (v && (!eol || v < eol))
				close_req = 1;
		}
	}
	if (reqlog) {
		fprintf(reqlog, "%u %.*s %s\n", c->id, (int)(sp1 - c->in), c->in, path);
		fflush(reqlog);
	}
	c->close_after = close_req;
	c->busy = 1;
	memmove(c->in, c->in + reqlen, c->inlen - reqlen);
	c->inlen -= reqlen;
	if (path[0] != '/') {
		simple(c, is_head, 400, NULL);
		return;
	}
	route(c, is_head, path);
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	strbuf_release(&c->out);
	strbuf_release(&c->drip);
	free(c);
}

static int pending_out(const struct conn *c)
{
	return c->out_off < c->out.len || c->fill_left;
}

/* Send what can be sent now; marks the connection dead on error. */
static void conn_write(struct conn *c, int64_t now)
{
	static char filler[65536];
	ssize_t n;

	if (!filler[0])
		memset(filler, 'x', sizeof(filler));
	while (c->out_off < c->out.len) {
		n = send(c->fd, c->out.buf + c->out_off, c->out.len - c->out_off,
			 MSG_NOSIGNAL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				c->dead = 1;
			return;
		}
		c->out_off += (size_t)n;
	}
	strbuf_reset(&c->out);
	c->out_off = 0;
	while (c->fill_left) {
		size_t want = c->fill_left < sizeof(filler) ? (size_t)c->fill_left
							    : sizeof(filler);
		n = send(c->fd, filler, want, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				c->dead = 1;
			return;
		}
		c->fill_left -= (uint64_t)n;
	}
	if (c->drip_off < c->drip.len) {
		if (now < c->next_drip_ms)
			return;
		n = send(c->fd, c->drip.buf + c->drip_off, 1, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				c->dead = 1;
			return;
		}
		c->drip_off += (size_t)n;
		c->next_drip_ms = now + 1000;
		if (c->drip_off < c->drip.len)
			return;
		strbuf_reset(&c->drip);
		c->drip_off = 0;
	}
	if (!c->busy)
		return;
	/* The response is complete. */
	if (c->close_after) {
		shutdown(c->fd, SHUT_WR);
		c->dead = 1;
		return;
	}
	c->busy = 0;
	next_request(c);
}

static void conn_read(struct conn *c)
{
	ssize_t n;
	char discard[4096];

	if (c->inlen == sizeof(c->in) || c->hang) {
		/* Waiting to answer, or never will: watch only for the close. */
		n = recv(c->fd, discard, sizeof(discard), 0);
	} else {
		n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
		if (n > 0)
			c->inlen += (size_t)n;
	}
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		c->dead = 1;
		return;
	}
	next_request(c);
}

static int listen_on_free_port(int *port)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = 0;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 256) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &salen) < 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

static int write_port_file(const char *file, int port)
{
	struct strbuf tmp = STRBUF_INIT;
	FILE *fp;
	int rc = -1;

	strbuf_addf(&tmp, "%s.tmp", file);
	fp = fopen(tmp.buf, "w");
	if (!fp)
		goto out;
	fprintf(fp, "%d\n", port);
	if (fclose(fp) != 0 || rename(tmp.buf, file) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		error("unable to write '%s': %s", file, strerror(errno));
	strbuf_release(&tmp);
	return rc;
}

static void usage(void)
{
	fprintf(stderr, "usage: faultserver --root DIR [--port-file FILE] [--log FILE] "
			"[--max-seconds N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *port_file = NULL, *log_file = NULL;
	struct pollfd *pfd = NULL;
	size_t pfd_alloc = 0;
	long max_seconds = 120;
	int64_t deadline;
	int lfd, port, i;

	progname = "faultserver";
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--root") && i + 1 < argc)
			root = argv[++i];
		else if (!strcmp(argv[i], "--port-file") && i + 1 < argc)
			port_file = argv[++i];
		else if (!strcmp(argv[i], "--log") && i + 1 < argc)
			log_file = argv[++i];
		else if (!strcmp(argv[i], "--max-seconds") && i + 1 < argc)
			max_seconds = atol(argv[++i]);
		else
			usage();
	}
	if (!root || max_seconds <= 0)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (log_file && !(reqlog = fopen(log_file, "a")))
		die("unable to open '%s': %s", log_file, strerror(errno));
	lfd = listen_on_free_port(&port);
	if (lfd < 0)
		die("unable to listen on 127.0.0.1: %s", strerror(errno));
	if (port_file) {
		if (write_port_file(port_file, port) < 0)
			return 1;
	} else {
		printf("%d\n", port);
		fflush(stdout);
	}
	deadline = mono_ms() + max_seconds * 1000;

	for (;;) {
		int64_t now = mono_ms();
		int timeout = 1000;
		size_t k, live;

		if (now >= deadline)
			break;
		if (deadline - now < timeout)
			timeout = (int)(deadline - now);
		GROW(pfd, pfd_alloc, nconns + 1);
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		for (k = 0; k < nconns; k++) {
			struct conn *c = conns[k];
			pfd[k + 1].fd = c->fd;
			pfd[k + 1].events = POLLIN;
			if (pending_out(c))
				pfd[k + 1].events |= POLLOUT;
			if (c->drip_off < c->drip.len && !pending_out(c)) {
				int64_t d = c->next_drip_ms - now;
				if (d < 0)
					d = 0;
				if (d < timeout)
					timeout = (int)d;
			}
		}
		if (poll(pfd, nconns + 1, timeout) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		now = mono_ms();
		for (k = 0; k < nconns; k++) {
			struct conn *c = conns[k];
			if (pfd[k + 1].revents & (POLLIN | POLLHUP | POLLERR))
				conn_read(c);
			if (!c->dead && (pending_out(c) || c->drip_off < c->drip.len))
				conn_write(c, now);
		}
		if (pfd[0].revents & POLLIN) {
			int fd;
			while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
				struct conn *c = xcalloc(1, sizeof(*c));
				int one = 1;
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				c->fd = fd;
				c->id = next_conn_id++;
				GROW(conns, conns_alloc, nconns + 1);
				conns[nconns++] = c;
			}
		}
		for (k = live = 0; k < nconns; k++) {
			if (conns[k]->dead)
				conn_close(conns[k]);
			else
				conns[live++] = conns[k];
		}
		nconns = live;
	}
	return 0;
}
