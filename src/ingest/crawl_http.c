/*
 * crawl_http.c - the HTTP(S) crawler: the closure walk over narinfos and
 * presence re-checks, on the fetch engine (fetch.h), recorded through the
 * crawl recorder (crawl.h).  See crawl_http.h for the contract.
 *
 * Every path a crawl asks about is interned in the paths table before it
 * is asked for, so the per-crawl state is one byte per path id (visited;
 * has a path_checks row) and a request carries its path id.  A path whose
 * narinfo is recorded is expanded at once from the refs table while its
 * HEAD runs; a new one is expanded when its narinfo arrives, from inside
 * on_done, which enqueues the references not visited yet.  The fetch
 * engine keeps the window full meanwhile, so the walk is as wide as the
 * graph allows.
 *
 * Two threads during the walk: the fetch engine's (libcurl and the
 * kernel's TCP, the larger half of the work) and a recorder that owns the
 * database and every per-crawl structure.  on_done only copies each answer
 * into a batch; the engine's pull hook hands the batch to the recorder,
 * which parses, records and expands it, and takes back the paths to ask
 * for next.  So the libcurl loop never waits on SQLite, and the parse of
 * one batch overlaps the transfers of the next.
 */
#include "ingest/crawl_http.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "store/db.h"
#include "store/stmt.h"
#include "nix/evaljobs.h"
#include "nix/pathinfo.h"
#include "lib/linereader.h"
#include "ingest/fetch.h"
#include "nix/narinfo.h"
#include "lib/util.h"
#include "lib/version.h"

#define S_VISITED  1   /* asked about by this crawl */
#define S_CHECKROW 2   /* has a path_checks row for this cache */

#define ERROR_REPORT_MAX 10
#define CACHE_INFO_ID (-1)
#define CACHE_INFO_MAX (64 * 1024)

enum {
	Q_KNOWN_ANY,
	Q_CHECKS_LOAD,
	Q_RECHECK,
	Q_REFS,
	Q_CHECK_SET,
	Q_CHECK_CLEAR,
	Q_N
};
static const char *const sql[Q_N] = {
	[Q_KNOWN_ANY] =
		"SELECT (SELECT count(*) FROM narinfos n WHERE n.cache_id = c.id) + "
		"(SELECT count(*) FROM path_checks k WHERE k.cache_id = c.id) "
		"FROM caches c WHERE c.url = ?1",
	[Q_CHECKS_LOAD] = "SELECT path_id FROM path_checks WHERE cache_id = ?1",
	[Q_RECHECK] =
		"SELECT path_id FROM narinfos WHERE cache_id = ?1 "
		"UNION SELECT path_id FROM path_checks WHERE cache_id = ?1",
	[Q_REFS] = "SELECT ref_id FROM refs WHERE cache_id = ?1 AND path_id = ?2",
	[Q_CHECK_SET] =
		"INSERT INTO path_checks (cache_id, path_id, status, since, checked_at, crawl_id, "
		"http_code, error) VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7) "
		"ON CONFLICT (cache_id, path_id) DO UPDATE SET "
		"since = CASE WHEN status = excluded.status THEN since ELSE excluded.since END, "
		"status = excluded.status, checked_at = excluded.checked_at, "
		"crawl_id = excluded.crawl_id, http_code = excluded.http_code, error = excluded.error",
	[Q_CHECK_CLEAR] = "DELETE FROM path_checks WHERE cache_id = ?1 AND path_id = ?2",
};
static struct stmt_table stmts = STMT_TABLE("crawl-http", sql);

/* An answer copied for the recorder: r's strings point into the block
 * after it (url, body, error). */
struct answer {
	struct answer *next;
	struct fetch_result r;
};

/* The answers handed to the recorder and not recorded yet are bounded:
 * past QUEUE_HIGH the fetch thread waits until they are down to
 * QUEUE_LOW, so a server faster than SQLite cannot fill memory. */
enum { QUEUE_HIGH = 16384, QUEUE_LOW = 4096 };

/* A path the recorder wants asked about. */
struct ask {
	uint32_t id;
	uint8_t head;                /* HEAD (known narinfo), else GET */
	char hash[STORE_HASH_LEN];
};

struct asks {
	struct ask *v;
	size_t n, alloc;
};

/* One crawl in progress. */
struct hcrawl {
	struct crawl c;
	struct fetcher *f;
	const char *url;
	uint8_t *state;           /* per path id: S_* */
	size_t nstate;
	uint32_t *stack;          /* paths waiting to be visited */
	size_t nstack, astack;
	uint32_t *refs;           /* scratch for a known path's references */
	size_t nrefs, arefs;
	unsigned errors_reported;
	int db_failed;

	/* nix-cache-info, fetched first on its own */
	int ci_done;
	enum fetch_status ci_status;
	long ci_code;
	char *ci_body;
	size_t ci_len;
	char *ci_error;

	/* the progress line */
	int progress;
	int drawn;
	int64_t start_ms;

	/* The recorder thread, while `threaded`.  Under mu: the answers
	 * handed over and not taken yet (queue), how many are handed over
	 * and not done (outstanding), the paths to ask for (asks), closing,
	 * failed.  The fetch thread alone touches batch and fasks, the
	 * recorder alone wasks and everything above that is the crawl's. */
	int threaded;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_cond_t room;          /* the queue is short again */
	pthread_mutex_t tty;          /* the progress line and messages */
	struct answer *queue, **queue_tail;
	size_t outstanding;
	struct asks asks;
	int closing, failed;
	int starving;                 /* the fetch thread has fewer requests
	                                 than its window, running or queued */
	int window;
	struct answer *batch, **batch_tail;
	size_t nbatch;
	struct asks fasks, wasks;
};

/* ---- roots -------------------------------------------------------------- */

static void roots_add(struct crawl_roots *r, const char *base, size_t len)
{
	GROW(r->base, r->alloc, r->n + 1);
	r->base[r->n++] = xstrndup(base, len);
}

/* The basename of a store path directly in store_dir, or NULL. */
static const char *store_basename(const char *s, size_t len, const char *store_dir,
				  size_t *blen)
{
	size_t dlen = strlen(store_dir);

	if (len <= dlen + 1 || memcmp(s, store_dir, dlen) || s[dlen] != '/')
		return NULL;
	s += dlen + 1;
	len -= dlen + 1;
	if (!store_basename_valid(s, len))
		return NULL;
	*blen = len;
	return s;
}

static int roots_add_cb(const char *base, size_t len, void *ctx)
{
	roots_add(ctx, base, len);
	return 0;
}

/* The first word of a line `nix path-info` printed: with -s, -S or
 * --sigs the sizes and signatures follow after white space. */
static size_t first_word(const char *line, size_t len)
{
	size_t n = 0;

	while (n < len && !isspace((unsigned char)line[n]))
		n++;
	return n;
}

/* Largest roots file read (nix path-info --json -r of a big closure is
 * tens of MiB). */
#define ROOTS_MAX_BYTES (512u * 1024 * 1024)

int crawl_roots_read(struct crawl_roots *r, const char *file, const char *store_dir)
{
	const char *name = strcmp(file, "-") ? file : "standard input";
	const char *line, *base, *p, *end, *nl;
	struct parse_error perr;
	char *buf = NULL;
	size_t len, wlen, blen, before = r->n;
	unsigned lineno = 0;
	FILE *f;
	int rc, ret = -1, added = 0;

	f = strcmp(file, "-") ? fopen(file, "r") : stdin;
	if (!f)
		return error("cannot open roots file '%s': %s", file, strerror(errno));
	if (read_stream_capped(f, ROOTS_MAX_BYTES, &buf, &len)) {
		if (errno == EFBIG)
			error("'%s' is larger than %u MiB; not a roots file", name,
			      ROOTS_MAX_BYTES >> 20);
		else
			error("cannot read '%s': %s", name, strerror(errno));
		goto out;
	}
	/* What `nix path-info --json` printed, whichever Nix. */
	rc = pathinfo_json_paths(buf, len, store_dir, roots_add_cb, r, &perr);
	if (rc < 0) {
		error("%s: %s", name, perr.msg);
		goto out;
	}
	if (rc > 0) {
		ret = (int)(r->n - before);
		goto out;
	}
	for (p = buf, end = buf + len; p < end; p = nl ? nl + 1 : end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		line = p;
		len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		lineno++;
		if (len > EVALS_MAX_LINE) {
			error("%s:%u: line longer than %d bytes; not a store path or "
			      "nix-eval-jobs line", name, lineno, EVALS_MAX_LINE);
			goto out;
		}
		while (len && isspace((unsigned char)*line)) {
			line++;
			len--;
		}
		while (len && isspace((unsigned char)line[len - 1]))
			len--;
		if (!len || *line == '#')
			continue;
		if (*line == '{') {
			struct eval_job job;
			struct parse_error err;

			if (eval_job_parse(line, len, store_dir, &job, &err)) {
				error("%s:%u: %s", name, lineno, err.msg);
				goto out;
			}
			if (job.error)
				r->eval_errors++;
			for (size_t i = 0; !job.error && i < job.noutputs; i++) {
				const char *o = job.outputs[i].path;
				if (!o) {
					r->no_path++;
					continue;
				}
				base = store_basename(o, strlen(o), store_dir, &blen);
				if (!base) {
					error("%s:%u: output '%s' is not a store path in %s", name,
					      lineno, o, store_dir);
					eval_job_release(&job);
					goto out;
				}
				roots_add(r, base, blen);
				added++;
			}
			eval_job_release(&job);
			continue;
		}
		/* A store path, or its basename, then whatever nix path-info
		 * -s/-S/--sigs put after it. */
		wlen = first_word(line, len);
		base = store_basename(line, wlen, store_dir, &blen);
		if (!base && store_basename_valid(line, wlen)) {
			base = line;
			blen = wlen;
		}
		if (!base) {
			error("%s:%u: '%.*s' is neither a store path in %s (or its basename) nor a "
			      "nix-eval-jobs JSON line", name, lineno, len > 80 ? 80 : (int)len,
			      line, store_dir);
			goto out;
		}
		roots_add(r, base, blen);
		added++;
	}
	ret = added;
out:
	free(buf);
	if (f != stdin)
		fclose(f);
	return ret;
}

void crawl_roots_release(struct crawl_roots *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->base[i]);
	free(r->base);
	memset(r, 0, sizeof(*r));
}

/* ---- the cache URL ------------------------------------------------------ */

char *crawl_http_url(const char *url)
{
	struct strbuf sb = STRBUF_INIT;
	const char *host, *end, *port, *p;
	size_t skip, len;
	int https;

	if (!strncasecmp(url, "http://", 7)) {
		skip = 7;
		https = 0;
	} else if (!strncasecmp(url, "https://", 8)) {
		skip = 8;
		https = 1;
	} else {
		error("unsupported cache URL '%s': only http:// and https:// are supported", url);
		return NULL;
	}
	for (p = url; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch <= ' ' || ch >= 0x7f) {
			error("cache URL '%s' contains a space or control character", url);
			return NULL;
		}
		if (ch == '?' || ch == '#') {
			error("cache URL '%s' has a query or fragment; give the plain cache URL",
			      url);
			return NULL;
		}
	}
	host = url + skip;
	end = host + strcspn(host, "/");
	if (memchr(host, '@', (size_t)(end - host))) {
		error("cache URL '%s' holds credentials; they would be stored in the "
		      "database: give the URL without them", url);
		return NULL;
	}
	if (end == host || *host == ':') {
		error("cache URL '%s' has no host", url);
		return NULL;
	}
	/* The port, unless the host is an IPv6 literal ending in ']'. */
	port = memrchr(host, ':', (size_t)(end - host));
	if (port && memchr(port, ']', (size_t)(end - port)))
		port = NULL;
	if (port && (port + 1 == end || strspn(port + 1, "0123456789") != (size_t)(end - port - 1))) {
		error("cache URL '%s' has a bad port", url);
		return NULL;
	}
	strbuf_addstr(&sb, https ? "https://" : "http://");
	for (p = host; p < (port ? port : end); p++)
		strbuf_addch(&sb, (char)tolower((unsigned char)*p));
	if (port) {
		len = (size_t)(end - port - 1);
		if (!((https && len == 3 && !memcmp(port + 1, "443", 3)) ||
		      (!https && len == 2 && !memcmp(port + 1, "80", 2))))
			strbuf_add(&sb, port, (size_t)(end - port));
	}
	len = strlen(end);
	while (len && end[len - 1] == '/')
		len--;
	strbuf_add(&sb, end, len);
	return strbuf_detach(&sb);
}

/* ---- per-path state ----------------------------------------------------- */

static void ensure_state(struct hcrawl *h, uint32_t id)
{
	size_t old = h->nstate;

	if (id < old)
		return;
	GROW(h->state, h->nstate, (size_t)id + 1);
	memset(h->state + old, 0, h->nstate - old);
}

static void push(struct hcrawl *h, uint32_t id)
{
	ensure_state(h, id);
	if (h->state[id] & S_VISITED)
		return;
	GROW(h->stack, h->astack, h->nstack + 1);
	h->stack[h->nstack++] = id;
}

static void clear_line(struct hcrawl *h)
{
	if (h->drawn) {
		fputs("\r\033[K", stderr);
		h->drawn = 0;
	}
}

static void draw_progress(const struct fetch_stats *st, void *data)
{
	struct hcrawl *h = data;
	double secs;

	if (!h->progress)
		return;
	secs = (double)(mono_ms() - h->start_ms) / 1000.0;
	if (h->threaded)
		pthread_mutex_lock(&h->tty);
	fprintf(stderr, "\rcrawl: %llu done, %llu queued, %llu running, %.0f/s, %llu errors\033[K",
		(unsigned long long)st->done, (unsigned long long)st->queued,
		(unsigned long long)st->in_flight, secs > 0 ? (double)st->done / secs : 0.0,
		(unsigned long long)st->errors);
	fflush(stderr);
	h->drawn = 1;
	if (h->threaded)
		pthread_mutex_unlock(&h->tty);
}

/* The references recorded for a known path, into h->refs. */
static int load_refs(struct hcrawl *h, uint32_t id)
{
	sqlite3_stmt *st = stmt_query(h->c.db, &stmts, Q_REFS, SQL_ARGS(h->c.cache_id, id));
	int rc;

	if (!st)
		return -1;
	h->nrefs = 0;
	while ((rc = db_step(h->c.db, st)) == 1) {
		int64_t r = sqlite3_column_int64(st, 0);
		if (r <= 0 || r > UINT32_MAX)
			continue;
		GROW(h->refs, h->arefs, h->nrefs + 1);
		h->refs[h->nrefs++] = (uint32_t)r;
	}
	stmt_done(st);
	return rc < 0 ? -1 : 0;
}

/* Ask about every path on the stack (and, for known ones, their recorded
 * references).  0, or -1 on a DB or enqueue failure. */
static int drain(struct hcrawl *h)
{
	char path[STORE_HASH_LEN + sizeof(".narinfo")];

	while (h->nstack) {
		uint32_t id = h->stack[--h->nstack];
		const char *hash;
		int known;

		if (h->state[id] & S_VISITED)
			continue;
		h->state[id] |= S_VISITED;
		hash = h->c.pi.hashes[id];
		memcpy(path, hash, STORE_HASH_LEN);
		memcpy(path + STORE_HASH_LEN, ".narinfo", sizeof(".narinfo"));
		h->c.n.listed++;
		known = crawl_known(&h->c, hash);
		if (h->threaded) {
			struct ask *a;
			GROW(h->wasks.v, h->wasks.alloc, h->wasks.n + 1);
			a = &h->wasks.v[h->wasks.n++];
			a->id = id;
			a->head = (uint8_t)known;
			memcpy(a->hash, hash, STORE_HASH_LEN);
		} else if (fetcher_enqueue(h->f, known ? FETCH_HEAD : FETCH_GET, path, NULL, id)) {
			return -1;
		}
		if (!known)
			continue;
		if (load_refs(h, id))
			return -1;
		for (size_t i = 0; i < h->nrefs; i++)
			push(h, h->refs[i]);
	}
	return 0;
}

/* ---- recording answers -------------------------------------------------- */

static int set_check(struct hcrawl *h, uint32_t id, const char *status, long code,
		     const char *why)
{
	if (stmt_exec(h->c.db, &stmts, Q_CHECK_SET,
		      SQL_ARGS(h->c.cache_id, id, status, h->c.now, h->c.crawl_id,
			       SQL_INT_OPT(code > 0 ? code : -1), why)))
		return -1;
	h->state[id] |= S_CHECKROW;
	h->c.pending++;
	return 0;
}

static int clear_check(struct hcrawl *h, uint32_t id)
{
	if (!(h->state[id] & S_CHECKROW))
		return 0;
	if (stmt_exec(h->c.db, &stmts, Q_CHECK_CLEAR, SQL_ARGS(h->c.cache_id, id)))
		return -1;
	h->state[id] &= (uint8_t)~S_CHECKROW;
	h->c.pending++;
	return 0;
}

/* A refused narinfo: its bytes are the body's length plus its FileSize
 * when readable (body: the whole body was read, else they are unknown). */
static int reject(struct hcrawl *h, uint32_t id, const struct fetch_result *r, int body,
		  unsigned line, const char *msg)
{
	char hash[STORE_HASH_LEN + 1];
	int64_t bytes = -1, file_size;

	memcpy(hash, h->c.pi.hashes[id], STORE_HASH_LEN);  /* not NUL-terminated there */
	hash[STORE_HASH_LEN] = '\0';
	if (body) {
		crawl_reject_scan(r->body, r->len, NULL, 0, &file_size);
		bytes = (int64_t)r->len + (file_size > 0 ? file_size : 0);
	}
	clear_line(h);
	if (crawl_reject(&h->c, r->url, hash, line, msg, bytes))
		return -1;
	return set_check(h, id, "rejected", r->http_code, msg);
}

static int got_narinfo(struct hcrawl *h, uint32_t id, const struct fetch_result *r)
{
	char hash[STORE_HASH_LEN + 1];
	struct narinfo ni;
	struct narinfo_error err;
	int ret = -1;

	memcpy(hash, h->c.pi.hashes[id], STORE_HASH_LEN);  /* not NUL-terminated there */
	hash[STORE_HASH_LEN] = '\0';
	if (narinfo_parse(r->body, r->len, h->c.store_dir, hash, &ni, &err))
		return reject(h, id, r, 1, err.line, err.msg);
	if (ni.odd) {
		clear_line(h);
		crawl_odd(&h->c, r->url, &ni);
	}
	if (crawl_add_narinfo(&h->c, &ni, r->last_modified) || clear_check(h, id))
		goto out;
	for (size_t i = 0; i < ni.nrefs; i++) {
		/* crawl_add_narinfo interned every reference. */
		uint32_t rid = path_index_find(&h->c.pi, ni.refs[i]);
		if (rid)
			push(h, rid);
	}
	ret = drain(h);
out:
	narinfo_release(&ni);
	return ret;
}

static int unknown(struct hcrawl *h, uint32_t id, const struct fetch_result *r)
{
	clear_line(h);
	if (h->errors_reported < ERROR_REPORT_MAX)
		error("%s; presence unknown", r->error);
	else if (h->errors_reported == ERROR_REPORT_MAX)
		error("more paths could not be checked; the path_checks table lists them all");
	h->errors_reported++;
	crawl_unknown(&h->c);
	return set_check(h, id, "unknown", r->http_code, r->error);
}

static int answer(struct hcrawl *h, const struct fetch_result *r)
{
	uint32_t id = (uint32_t)r->id;
	const char *hash = h->c.pi.hashes[id];
	char msg[96];
	int rc;

	switch (r->status) {
	case FETCH_OK:
		if (r->method == FETCH_GET)
			return got_narinfo(h, id, r);
		if (crawl_seen(&h->c, hash, r->last_modified))
			return -1;
		return clear_check(h, id);
	case FETCH_NOT_FOUND:
		rc = crawl_gone(&h->c, hash);
		if (rc < 0)
			return -1;
		if (!rc)
			crawl_absent(&h->c);
		return set_check(h, id, "absent", r->http_code, NULL);
	case FETCH_TOO_LARGE:
		snprintf(msg, sizeof(msg), "larger than %d bytes; not a narinfo",
			 NARINFO_MAX_BYTES);
		return reject(h, id, r, 0, 0, msg);
	case FETCH_FAILED:
		return unknown(h, id, r);
	case FETCH_CANCELLED:
		break;
	}
	return 0;
}

/* A copy of r that outlives on_done, in one block. */
static struct answer *answer_copy(const struct fetch_result *r)
{
	size_t ulen = strlen(r->url), elen = r->error ? strlen(r->error) + 1 : 0;
	struct answer *a = xmalloc(sizeof(*a) + ulen + 1 + r->len + 1 + elen);
	char *p = (char *)(a + 1);

	a->next = NULL;
	a->r = *r;
	a->r.path = "";
	memcpy(p, r->url, ulen + 1);
	a->r.url = p;
	p += ulen + 1;
	memcpy(p, r->body, r->len);
	p[r->len] = '\0';
	a->r.body = p;
	p += r->len + 1;
	if (r->error) {
		memcpy(p, r->error, elen);
		a->r.error = p;
	}
	return a;
}

static int on_done(const struct fetch_result *r, void *data)
{
	struct hcrawl *h = data;

	if (r->status == FETCH_CANCELLED)
		return 0;
	if (h->threaded && r->id != CACHE_INFO_ID) {
		struct answer *a = answer_copy(r);
		*h->batch_tail = a;
		h->batch_tail = &a->next;
		h->nbatch++;
		return 0;
	}
	if (r->id == CACHE_INFO_ID) {
		h->ci_done = 1;
		h->ci_status = r->status;
		h->ci_code = r->http_code;
		h->ci_body = xstrndup(r->body, r->len);
		h->ci_len = r->len;
		h->ci_error = r->error ? xstrdup(r->error) : NULL;
		return 0;
	}
	if (answer(h, r) || crawl_checkpoint(&h->c)) {
		h->db_failed = 1;
		return -1;
	}
	return 0;
}

/* ---- the recorder thread ------------------------------------------------- */

static void *recorder(void *data)
{
	struct hcrawl *h = data;
	struct answer *a, *next;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		size_t n = 0;
		int failed, wake;

		while (!h->queue && !h->closing)
			pthread_cond_wait(&h->cv, &h->mu);
		if (!h->queue)
			break;
		a = h->queue;
		h->queue = NULL;
		h->queue_tail = &h->queue;
		failed = h->failed;
		pthread_mutex_unlock(&h->mu);

		for (; a; a = next, n++) {
			next = a->next;
			if (!failed) {
				if (h->progress)
					pthread_mutex_lock(&h->tty);
				failed = answer(h, &a->r) || crawl_checkpoint(&h->c);
				if (h->progress)
					pthread_mutex_unlock(&h->tty);
			}
			free(a);
		}

		pthread_mutex_lock(&h->mu);
		if (failed) {
			h->failed = 1;
			h->wasks.n = 0;
		}
		if (h->wasks.n) {
			GROW(h->asks.v, h->asks.alloc, h->asks.n + h->wasks.n);
			memcpy(h->asks.v + h->asks.n, h->wasks.v, h->wasks.n * sizeof(*h->wasks.v));
			h->asks.n += h->wasks.n;
			h->wasks.n = 0;
		}
		h->outstanding -= n;
		if (h->outstanding <= QUEUE_LOW || h->failed)
			pthread_cond_signal(&h->room);
		/* Wake the fetch thread when it may be waiting for this: the
		 * end of the work, the news that it must stop, or paths to ask
		 * for when it has too few.  Otherwise it takes them at its next
		 * turn, which the transfers in flight bring soon, without the
		 * cost of a wake-up per batch. */
		wake = !h->outstanding || h->failed || (h->asks.n && h->starving);
		pthread_mutex_unlock(&h->mu);
		if (wake)
			fetcher_wakeup(h->f);
		pthread_mutex_lock(&h->mu);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

/* Hand the answers collected since the last call to the recorder.  Under
 * h->mu. */
static void hand_over(struct hcrawl *h)
{
	if (!h->batch)
		return;
	*h->queue_tail = h->batch;
	h->queue_tail = h->batch_tail;
	h->outstanding += h->nbatch;
	h->batch = NULL;
	h->batch_tail = &h->batch;
	h->nbatch = 0;
	pthread_cond_signal(&h->cv);
}

/* The fetch engine's pull hook, on its thread: answers to the recorder,
 * the paths it found back to the engine. */
static int pull(struct fetcher *f, void *data)
{
	struct hcrawl *h = data;
	struct fetch_stats st;
	struct asks t;
	int more, failed;
	char path[STORE_HASH_LEN + sizeof(".narinfo")];

	if (!h->threaded)
		return 0;  /* nix-cache-info, before the walk */
	fetcher_stats(f, &st);
	pthread_mutex_lock(&h->mu);
	h->starving = st.in_flight + st.queued < (uint64_t)h->window;
	hand_over(h);
	if (h->outstanding > QUEUE_HIGH)
		while (h->outstanding > QUEUE_LOW && !h->failed)
			pthread_cond_wait(&h->room, &h->mu);
	t = h->asks;
	h->asks = h->fasks;
	h->fasks = t;
	more = h->outstanding > 0;
	failed = h->failed;
	pthread_mutex_unlock(&h->mu);
	if (failed)
		return -1;
	memcpy(path + STORE_HASH_LEN, ".narinfo", sizeof(".narinfo"));
	for (size_t i = 0; i < h->fasks.n; i++) {
		const struct ask *a = &h->fasks.v[i];
		memcpy(path, a->hash, STORE_HASH_LEN);
		if (fetcher_enqueue(f, a->head ? FETCH_HEAD : FETCH_GET, path, NULL, a->id))
			return -1;
	}
	h->fasks.n = 0;
	return more;
}

static int recorder_start(struct hcrawl *h)
{
	sigset_t all, old;
	int rc;

	h->queue_tail = &h->queue;
	h->batch_tail = &h->batch;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	pthread_cond_init(&h->room, NULL);
	pthread_mutex_init(&h->tty, NULL);
	h->threaded = 1;
	/* Signals (Ctrl-C) go to the fetch thread, so they cut its poll
	 * short: the recorder starts with all of them blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&h->thread, NULL, recorder, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		h->threaded = 0;
		pthread_mutex_destroy(&h->mu);
		pthread_cond_destroy(&h->cv);
		pthread_cond_destroy(&h->room);
		pthread_mutex_destroy(&h->tty);
		return error("unable to start a thread: %s", strerror(rc));
	}
	return 0;
}

/* Let the recorder finish what it was handed (what was fetched is
 * recorded, also after an interrupt) and end it.  Returns -1 when it
 * could not record something (reported). */
static int recorder_stop(struct hcrawl *h)
{
	pthread_mutex_lock(&h->mu);
	hand_over(h);
	h->closing = 1;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->thread, NULL);
	h->threaded = 0;
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	pthread_cond_destroy(&h->room);
	pthread_mutex_destroy(&h->tty);
	free(h->asks.v);
	free(h->fasks.v);
	free(h->wasks.v);
	return h->failed ? -1 : 0;
}

/* ---- the crawl ---------------------------------------------------------- */

/* Refuse a re-check of a cache the DB knows nothing of: there is nothing
 * to check, and an HTTP cache cannot be listed. */
static int something_to_recheck(struct db *db, const char *url)
{
	sqlite3_stmt *st;
	int64_t n = 0;
	int rc = stmt_row(db, &stmts, Q_KNOWN_ANY, &st, SQL_ARGS(url));

	if (rc == 1) {
		n = sqlite3_column_int64(st, 0);
		stmt_done(st);
	}
	if (rc < 0)
		return -1;
	if (!n)
		return error("the database knows no path of '%s' to re-check, and an HTTP "
			     "cache cannot be listed: give the paths to start from with "
			     "--roots FILE (store paths, or nix-eval-jobs output)", url);
	return 0;
}

/* Fetch and parse nix-cache-info.  0, 1 when interrupted, -1 (reported). */
static int cache_info(struct hcrawl *h, struct nix_cache_info *ci)
{
	struct narinfo_error err;
	int rc;

	if (fetcher_enqueue(h->f, FETCH_GET, "nix-cache-info", NULL, CACHE_INFO_ID))
		return -1;
	rc = fetcher_run(h->f);
	clear_line(h);
	if (rc == FETCH_RUN_INTERRUPTED)
		return 1;
	if (rc != FETCH_RUN_DONE || !h->ci_done)
		return -1;
	switch (h->ci_status) {
	case FETCH_OK:
		break;
	case FETCH_NOT_FOUND:
		return error("'%s' is not a binary cache: %s/nix-cache-info answers HTTP %ld; "
			     "check the URL and its prefix", h->url, h->url, h->ci_code);
	default:
		return error("cannot read the cache's nix-cache-info: %s", h->ci_error);
	}
	if (h->ci_len > CACHE_INFO_MAX)
		return error("%s/nix-cache-info is larger than %d bytes; is '%s' a binary cache?",
			     h->url, CACHE_INFO_MAX, h->url);
	if (nix_cache_info_parse(h->ci_body, h->ci_len, ci, &err))
		return error("%s/nix-cache-info:%u: %s; is '%s' a binary cache?", h->url, err.line,
			     err.msg, h->url);
	return 0;
}

/* Queue the first paths: the roots, or everything known for the cache. */
static int seed(struct hcrawl *h, const struct crawl_roots *roots)
{
	sqlite3_stmt *st;
	int rc;

	if (!(st = stmt_query(h->c.db, &stmts, Q_CHECKS_LOAD, SQL_ARGS(h->c.cache_id))))
		return -1;
	while ((rc = db_step(h->c.db, st)) == 1) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (id > 0 && id <= UINT32_MAX) {
			ensure_state(h, (uint32_t)id);
			h->state[id] |= S_CHECKROW;
		}
	}
	stmt_done(st);
	if (rc < 0)
		return -1;
	if (roots) {
		/* Reversed onto the stack, so the first root is asked first. */
		for (size_t i = roots->n; i-- > 0;) {
			uint32_t id = path_index_intern(&h->c.pi, h->c.db, roots->base[i],
							strlen(roots->base[i]));
			if (!id)
				return -1;
			push(h, id);
		}
		return drain(h);
	}
	if (!(st = stmt_query(h->c.db, &stmts, Q_RECHECK, SQL_ARGS(h->c.cache_id))))
		return -1;
	while ((rc = db_step(h->c.db, st)) == 1) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (id > 0 && id <= UINT32_MAX)
			push(h, (uint32_t)id);
	}
	stmt_done(st);
	if (rc < 0)
		return -1;
	return drain(h);
}

int crawl_http(struct db *db, const struct crawl_http_options *o, struct crawl_counts *out,
	       int64_t *crawl_id, char **cache_url)
{
	struct fetch_options fo;
	struct nix_cache_info ci;
	struct hcrawl h;
	int have_ci = 0, begun = 0, ret = -1, rc, end = CRAWL_END_COMPLETE;
	char *url;

	memset(&h, 0, sizeof(h));
	memset(&ci, 0, sizeof(ci));
	*crawl_id = 0;
	url = crawl_http_url(o->url);
	if (!url)
		return -1;
	h.url = url;
	if (!o->roots && something_to_recheck(db, url))
		goto out;

	memset(&fo, 0, sizeof(fo));
	fo.base_url = url;
	fo.on_done = on_done;
	fo.pull = pull;
	fo.progress = draw_progress;
	fo.cb_data = &h;
	fo.jobs = o->jobs;
	/* One host: the window is the connection cap too, so a server
	 * without HTTP/2 sees at most `jobs` connections. */
	fo.per_host = o->jobs > 0 ? o->jobs : 64;
	h.window = fo.per_host;
	fo.max_tries = o->tries;
	fo.timeout_ms = o->timeout_ms;
	if (o->timeout_ms > 0 && o->timeout_ms < 10000)
		fo.connect_timeout_ms = o->timeout_ms;
	fo.max_body = NARINFO_MAX_BYTES;
	fo.cacert = o->cacert;
	fo.identity = o->identity;
	fo.user_agent = "cachegc/" CACHEGC_VERSION;
	if (fetcher_new(&h.f, &fo))
		goto out;
	h.progress = !progress_disabled && isatty(STDERR_FILENO);
	h.start_ms = mono_ms();

	rc = cache_info(&h, &ci);
	if (rc < 0)
		goto out;
	if (rc > 0) {
		ret = 1;
		memset(out, 0, sizeof(*out));
		*cache_url = url;
		url = NULL;
		goto out;
	}
	have_ci = 1;
	/* crawl_begin sets h.c up first thing, so release it even when it
	 * fails (a refused StoreDir): what it allocated is freed. */
	begun = 1;
	if (crawl_begin(&h.c, db, url, &ci))
		goto out;
	*crawl_id = h.c.crawl_id;
	h.c.push_source = "Last-Modified";
	if (seed(&h, o->roots))
		goto out;
	h.start_ms = mono_ms();
	if (recorder_start(&h))
		goto out;
	rc = fetcher_run(h.f);
	if (recorder_stop(&h))
		goto out;  /* reported by the DB layer */
	clear_line(&h);
	if (rc == FETCH_RUN_ERROR || rc == FETCH_RUN_ABORTED)
		goto out;  /* reported by fetch, or by the DB layer */
	/* Not one answer for any path: the cache is down or hostile, or
	 * something between us is.  That is no complete crawl (cron must
	 * notice), and its unknown rows say since when. */
	if (rc == FETCH_RUN_DONE && h.c.n.unknown && !h.c.n.new_ && !h.c.n.present &&
	    !h.c.n.gone && !h.c.n.absent && !h.c.n.rejected)
		end = CRAWL_END_FAILED;
	else if (rc == FETCH_RUN_INTERRUPTED)
		end = CRAWL_END_INTERRUPTED;
	if (crawl_finish(&h.c, 0, end))
		goto out;
	*out = h.c.n;
	*cache_url = url;
	url = NULL;
	ret = end == CRAWL_END_INTERRUPTED ? 1 : end == CRAWL_END_FAILED ? 2 : 0;
out:
	clear_line(&h);
	if (begun)
		crawl_release(&h.c);
	fetcher_free(h.f);
	if (have_ci)
		nix_cache_info_release(&ci);
	free(h.state);
	free(h.stack);
	free(h.refs);
	free(h.ci_body);
	free(h.ci_error);
	free(url);
	return ret;
}
