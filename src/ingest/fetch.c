/*
 * fetch.c - the HTTP(S) fetch engine: a window of libcurl transfers in one
 * multi handle, with retries scheduled for later.  See fetch.h for the
 * contract.
 *
 * Shape (after curl's 10-at-a-time example and tool_operate.c): requests
 * wait in a FIFO ("ready") or, when a retry is due later, in a min-heap by
 * due time ("delayed").  The run loop moves due retries to the front of
 * the FIFO, starts transfers while fewer than `jobs` run, lets libcurl
 * work, and handles finished transfers from curl_multi_info_read.  Each of
 * the `jobs` slots keeps its easy handle for the whole life of the fetcher,
 * so per-handle state (TLS session ids, DNS cache, options) is set once and
 * connections are reused from the multi handle's pool.
 */
#include "fetch_private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

volatile sig_atomic_t fetch_stop;

static int curl_users;

const char *fetch_status_name(enum fetch_status s)
{
	switch (s) {
	case FETCH_OK: return "ok";
	case FETCH_NOT_FOUND: return "not found";
	case FETCH_TOO_LARGE: return "too large";
	case FETCH_FAILED: return "failed";
	case FETCH_CANCELLED: return "cancelled";
	}
	return "?";
}

static const char *method_name(enum fetch_method m)
{
	return m == FETCH_HEAD ? "HEAD" : "GET";
}

/* xorshift64*: jitter only, no need for quality or secrecy. */
static uint64_t rng_next(struct fetcher *f)
{
	uint64_t x = f->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	f->rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}


#define DEFAULT(field, val)                                                    \
	do {                                                                   \
		if ((field) <= 0)                                              \
			(field) = (val);                                       \
	} while (0)

static int due_less(const void *a, const void *b);

int fetcher_new(struct fetcher **out, const struct fetch_options *o)
{
	struct fetcher *f;
	CURLMcode mc;
	int i;

	*out = NULL;
	if (!o->on_done)
		return error("fetcher_new: no on_done callback");
	f = xcalloc(1, sizeof(*f));
	f->delayed = (struct heap)HEAP_INIT(sizeof(struct xfer *), due_less);
	if (fetch_base_normalise(o->base_url, &f->base) < 0) {
		free(f);
		return -1;
	}
	if (o->cacert && access(o->cacert, R_OK) < 0) {
		error("unable to read CA file '%s': %s", o->cacert, strerror(errno));
		free(f->base);
		free(f);
		return -1;
	}
	f->cacert = o->cacert ? xstrdup(o->cacert) : NULL;
	f->ua = xstrdup(o->user_agent ? o->user_agent : "cachegc");
	if (o->accept) {
		struct strbuf h = STRBUF_INIT;
		strbuf_addf(&h, "Accept: %s", o->accept);
		f->headers = curl_slist_append(NULL, h.buf);
		strbuf_release(&h);
	}
	if ((f->sigv4 = o->sigv4)) {
		/* S3 wants the payload's hash in a header: a GET has none. */
		f->headers = curl_slist_append(f->headers, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
		if (o->sigv4->token) {
			struct strbuf h = STRBUF_INIT;
			strbuf_addf(&h, "x-amz-security-token: %s", o->sigv4->token);
			f->headers = curl_slist_append(f->headers, h.buf);
			strbuf_release(&h);
		}
	}
	f->on_done = o->on_done;
	f->progress = o->progress;
	f->pull = o->pull;
	f->cb_data = o->cb_data;
	f->jobs = o->jobs;
	f->per_host = o->per_host;
	f->max_tries = o->max_tries;
	f->max_redirs = o->max_redirs;
	f->verbose = o->verbose;
	f->identity = o->identity;
	f->backoff_ms = o->backoff_ms;
	f->max_backoff_ms = o->max_backoff_ms;
	f->retry_after_cap_ms = o->retry_after_cap_ms;
	f->connect_timeout_ms = o->connect_timeout_ms;
	f->timeout_ms = o->timeout_ms;
	f->low_speed_bytes = o->low_speed_bytes;
	f->low_speed_secs = o->low_speed_secs;
	f->progress_interval_ms = o->progress_interval_ms;
	f->max_body = o->max_body;
	DEFAULT(f->jobs, 64);
	DEFAULT(f->max_tries, 5);
	DEFAULT(f->max_redirs, 5);
	DEFAULT(f->backoff_ms, 500);
	DEFAULT(f->max_backoff_ms, 30000);
	DEFAULT(f->retry_after_cap_ms, 60000);
	DEFAULT(f->connect_timeout_ms, 10000);
	DEFAULT(f->timeout_ms, 120000);
	DEFAULT(f->low_speed_bytes, 100);
	DEFAULT(f->low_speed_secs, 30);
	DEFAULT(f->progress_interval_ms, 100);
	if (!f->max_body)
		f->max_body = 1024 * 1024;
	if (f->max_backoff_ms < f->backoff_ms)
		f->max_backoff_ms = f->backoff_ms;
	f->rng = (uint64_t)mono_ms() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid() ^
		 (uint64_t)(uintptr_t)f;
	if (!f->rng)
		f->rng = 1;

	if (curl_users == 0) {
		CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
		if (rc != CURLE_OK) {
			error("unable to initialise libcurl: %s", curl_easy_strerror(rc));
			goto fail;
		}
	}
	curl_users++;
	f->curl_inited = 1;
	f->multi = curl_multi_init();
	if (!f->multi) {
		error("unable to initialise libcurl's multi interface");
		goto fail;
	}
	mc = curl_multi_setopt(f->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	if (mc == CURLM_OK && f->per_host > 0)
		mc = curl_multi_setopt(f->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
				       (long)f->per_host);
	if (mc != CURLM_OK) {
		error("libcurl multi setup failed: %s", curl_multi_strerror(mc));
		goto fail;
	}

	f->slots = xcalloc((size_t)f->jobs, sizeof(*f->slots));
	f->idle = xmalloc((size_t)f->jobs * sizeof(*f->idle));
	for (i = f->jobs - 1; i >= 0; i--) {
		f->slots[i].f = f;
		f->slots[i].retry_after = -1;
		f->idle[f->nidle++] = i;
	}
	/* Set up one handle now so that a libcurl refusing an option (say, a
	 * protocol restriction) is an error here, not on every transfer. */
	f->slots[0].easy = curl_easy_init();
	if (!f->slots[0].easy) {
		error("unable to create a libcurl handle");
		goto fail;
	}
	if (fetch_easy_setup(f, &f->slots[0]) < 0)
		goto fail;
	*out = f;
	return 0;
fail:
	fetcher_free(f);
	return -1;
}

const char *fetcher_base_url(const struct fetcher *f)
{
	return f->base;
}

/* ---- queues ------------------------------------------------------------ */

static void ready_push_back(struct fetcher *f, struct xfer *x)
{
	x->next = NULL;
	if (f->ready_tail)
		f->ready_tail->next = x;
	else
		f->ready_head = x;
	f->ready_tail = x;
	f->nready++;
}

static void ready_push_front(struct fetcher *f, struct xfer *x)
{
	x->next = f->ready_head;
	f->ready_head = x;
	if (!f->ready_tail)
		f->ready_tail = x;
	f->nready++;
}

static struct xfer *ready_pop(struct fetcher *f)
{
	struct xfer *x = f->ready_head;

	if (!x)
		return NULL;
	f->ready_head = x->next;
	if (!f->ready_head)
		f->ready_tail = NULL;
	x->next = NULL;
	f->nready--;
	return x;
}

static int due_less(const void *a, const void *b)
{
	return (*(struct xfer *const *)a)->due_ms < (*(struct xfer *const *)b)->due_ms;
}

static void delayed_push(struct fetcher *f, struct xfer *x)
{
	heap_push(&f->delayed, &x);
}

/* The delayed transfer due first, or NULL. */
static struct xfer *delayed_pop(struct fetcher *f)
{
	struct xfer *x = NULL;

	heap_pop(&f->delayed, &x);
	return x;
}

/* The due time of the delayed transfer due first; only when there is one. */
static int64_t delayed_due(const struct fetcher *f)
{
	return (*(struct xfer *const *)heap_top(&f->delayed))->due_ms;
}

int fetcher_enqueue(struct fetcher *f, enum fetch_method method,
		    const char *path, void *user, int64_t id)
{
	struct xfer *x;
	size_t i, blen, plen;

	if (f->stopping)
		return -1;
	if (!path || !*path || *path == '/')
		return error("invalid cache path '%s': must be relative", path ? path : "");
	for (i = 0; path[i]; i++) {
		unsigned char c = (unsigned char)path[i];
		if (c <= ' ' || c >= 0x7f || c == '#')
			return error("invalid cache path '%s'", path);
	}
	plen = i;
	blen = strlen(f->base);
	x = xcalloc(1, sizeof(*x));
	x->path = xstrdup(path);
	x->url = xmalloc(blen + plen + 1);
	memcpy(x->url, f->base, blen);
	memcpy(x->url + blen, path, plen + 1);
	x->method = method;
	x->user = user;
	x->id = id;
	ready_push_back(f, x);
	f->st.enqueued++;
	return 0;
}

static void xfer_free(struct xfer *x)
{
	free(x->path);
	free(x->url);
	free(x->why);
	free(x);
}

/* ---- outcomes ---------------------------------------------------------- */

static void deliver(struct fetcher *f, struct xfer *x, enum fetch_status status,
		    const struct slot *s, const char *err)
{
	struct fetch_result r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.status = status;
	r.method = x->method;
	r.path = x->path;
	r.url = x->url;
	r.user = x->user;
	r.id = x->id;
	r.http_code = x->http_code;
	r.body = "";
	r.len = 0;
	r.last_modified = -1;
	r.content_length = -1;
	r.tries = x->tries;
	r.error = err;
	if (s) {
		curl_off_t cl = -1;
		r.last_modified = s->last_modified;
		if (curl_easy_getinfo(s->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
				      &cl) == CURLE_OK)
			r.content_length = cl;
		if (status == FETCH_OK && s->body.buf) {
			r.body = s->body.buf;
			r.len = s->body.len;
		}
	}
	switch (status) {
	case FETCH_OK: f->st.ok++; f->st.done++; break;
	case FETCH_NOT_FOUND: f->st.not_found++; f->st.done++; break;
	case FETCH_TOO_LARGE:
	case FETCH_FAILED: f->st.errors++; f->st.done++; break;
	case FETCH_CANCELLED: f->st.cancelled++; break;
	}
	rc = f->on_done(&r, f->cb_data);
	if (rc && status != FETCH_CANCELLED)
		f->abort = 1;
	xfer_free(x);
}

static void slot_release(struct fetcher *f, struct slot *s)
{
	s->x = NULL;
	/* Keep a small buffer for the next body, not a megabyte. */
	if (s->body.alloc > 64 * 1024)
		strbuf_release(&s->body);
	else
		strbuf_reset(&s->body);
	free(s->location);
	s->location = NULL;
	f->idle[f->nidle++] = (int)(s - f->slots);
}

static int is_transient(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_HTTP3:
	case CURLE_AGAIN:
		return 1;
	default:
		return 0;
	}
}

static int is_transient_http(long code)
{
	return code == 408 || code == 425 || code == 429 || (code >= 500 && code <= 599);
}

/* The delay before try number x->tries + 1, in ms. */
static long retry_delay(struct fetcher *f, const struct xfer *x, long retry_after_s,
			int64_t now)
{
	long d = f->backoff_ms;
	int i;

	for (i = 1; i < x->tries && d < f->max_backoff_ms; i++)
		d = d > f->max_backoff_ms / 2 ? f->max_backoff_ms : d * 2;
	if (d > f->max_backoff_ms)
		d = f->max_backoff_ms;
	/* Jitter in [d/2, d] spreads retries of a burst of failures. */
	d = d / 2 + (long)(rng_next(f) % (uint64_t)(d / 2 + 1));
	if (retry_after_s >= 0) {
		long ra = retry_after_s > f->retry_after_cap_ms / 1000
				  ? f->retry_after_cap_ms
				  : retry_after_s * 1000;
		if (ra > d)
			d = ra;
	}
	if (x->http_code == 429 && now + d > f->hold_until_ms)
		f->hold_until_ms = now + d;
	return d;
}

enum verdict { V_OK, V_NOT_FOUND, V_TOO_LARGE, V_RETRY, V_FAIL };

/* Did libcurl give up on the response headers for their size?  It says so
 * in different ways: a header line over CURL_MAX_HTTP_HEADER (100 KiB)
 * overflows its header buffer, which 7.88 reports as CURLE_OUT_OF_MEMORY
 * with no message ("Out of memory", although nothing ran out); headers
 * over about 300 KiB in all are CURLE_RECV_ERROR with "Too large response
 * headers" (7.88 with the fix of CVE-2023-38039, 8.3 on); newer ones have
 * CURLE_TOO_LARGE.  Our own allocations abort on OOM, and a body is
 * handed to on_body in pieces, so OUT_OF_MEMORY here is the header. */
static int headers_too_large(const struct slot *s, CURLcode rc)
{
	if (rc == CURLE_OUT_OF_MEMORY)
		return 1;
#if LIBCURL_VERSION_NUM >= 0x080600 /* 8.6.0 */
	if (rc == CURLE_TOO_LARGE)
		return 1;
#endif
	return rc == CURLE_RECV_ERROR && strstr(s->errbuf, "response headers") != NULL;
}

static enum verdict classify(struct fetcher *f, const struct slot *s, CURLcode rc,
			     long code, struct strbuf *why)
{
	if (s->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
		strbuf_addf(why, "body larger than %zu bytes", f->max_body);
		return V_TOO_LARGE;
	}
	if (rc == CURLE_WRITE_ERROR && s->discard_abort)
		rc = CURLE_OK; /* a long error page: judge by its status */
	if (rc != CURLE_OK) {
		const char *msg = s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc);
		if (rc == CURLE_UNSUPPORTED_PROTOCOL && s->location) {
			strbuf_addf(why, "refused redirect to '%s' (only http and https are followed)",
				    s->location);
			return V_FAIL;
		}
		if (headers_too_large(s, rc)) {
			/* Not a cache's answer, and asking again gets the same. */
			strbuf_addf(why, "response headers too large for libcurl (%d KiB a line, "
				    "about 300 KiB in all; it said '%s')", CURL_MAX_HTTP_HEADER / 1024,
				    msg);
			return V_FAIL;
		}
		strbuf_addstr(why, msg);
		return is_transient(rc) ? V_RETRY : V_FAIL;
	}
	if (code >= 200 && code <= 299)
		return V_OK;
	if (code == 404 || code == 410)
		return V_NOT_FOUND;
	strbuf_addf(why, "HTTP %ld", code);
	if (code >= 300 && code <= 399 && s->location)
		strbuf_addf(why, " (redirect to '%s' not followed)", s->location);
	return is_transient_http(code) ? V_RETRY : V_FAIL;
}

static void finish(struct fetcher *f, struct slot *s, CURLcode rc)
{
	struct xfer *x = s->x;
	struct strbuf why = STRBUF_INIT, msg = STRBUF_INIT;
	long code = 0;
	enum verdict v;

	curl_multi_remove_handle(f->multi, s->easy);
	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
	x->http_code = code;
	v = classify(f, s, rc, code, &why);

	if (v == V_RETRY && x->tries < f->max_tries) {
		int64_t now = mono_ms();
		x->due_ms = now + retry_delay(f, x, s->retry_after, now);
		free(x->why);
		x->why = strbuf_detach(&why);
		slot_release(f, s);
		delayed_push(f, x);
		f->st.retries++;
		return;
	}
	switch (v) {
	case V_OK:
		deliver(f, x, FETCH_OK, s, NULL);
		break;
	case V_NOT_FOUND:
		deliver(f, x, FETCH_NOT_FOUND, s, NULL);
		break;
	case V_TOO_LARGE:
	case V_FAIL:
	case V_RETRY:
		strbuf_addf(&msg, "%s %s: %s", method_name(x->method), x->url,
			    why.len ? why.buf : "unknown error");
		if (v == V_RETRY)
			strbuf_addf(&msg, " (gave up after %d tr%s)", x->tries,
				    x->tries == 1 ? "y" : "ies");
		deliver(f, x, v == V_TOO_LARGE ? FETCH_TOO_LARGE : FETCH_FAILED, s, msg.buf);
		break;
	}
	strbuf_release(&why);
	strbuf_release(&msg);
	slot_release(f, s);
}

/* ---- the run loop ------------------------------------------------------ */

static int start(struct fetcher *f, struct xfer *x)
{
	struct slot *s = &f->slots[f->idle[--f->nidle]];
	CURLMcode mc;

	if (!s->easy) {
		s->easy = curl_easy_init();
		if (!s->easy) {
			f->nidle++;
			return error("unable to create a libcurl handle");
		}
		if (fetch_easy_setup(f, s) < 0) {
			f->nidle++;
			return -1;
		}
	}
	s->x = x;
	s->errbuf[0] = '\0';
	s->too_large = 0;
	s->discard_abort = 0;
	s->discarded = 0;
	s->retry_after = -1;
	s->last_modified = -1;
	strbuf_reset(&s->body);
	free(s->location);
	s->location = NULL;
	curl_easy_setopt(s->easy, CURLOPT_URL, x->url);
	if (x->method == FETCH_HEAD)
		curl_easy_setopt(s->easy, CURLOPT_NOBODY, 1L);
	else
		curl_easy_setopt(s->easy, CURLOPT_HTTPGET, 1L);
	x->tries++;
	mc = curl_multi_add_handle(f->multi, s->easy);
	if (mc != CURLM_OK) {
		s->x = NULL;
		f->nidle++;
		x->tries--;
		return error("libcurl cannot start a transfer: %s", curl_multi_strerror(mc));
	}
	return 0;
}

static int in_flight(const struct fetcher *f)
{
	return f->jobs - f->nidle;
}

static void promote_due(struct fetcher *f, int64_t now)
{
	/* Retries go first: they have waited already. */
	while (f->delayed.n && delayed_due(f) <= now)
		ready_push_front(f, delayed_pop(f));
}

static int can_start(const struct fetcher *f, int64_t now)
{
	return f->nidle > 0 && f->ready_head && now >= f->hold_until_ms;
}

static int fill_window(struct fetcher *f, int64_t now)
{
	while (can_start(f, now)) {
		struct xfer *x = ready_pop(f);
		if (start(f, x) < 0) {
			ready_push_front(f, x);
			return -1;
		}
	}
	return 0;
}

static void fill_stats(const struct fetcher *f, struct fetch_stats *st)
{
	*st = f->st;
	st->delayed = f->delayed.n;
	st->queued = f->nready + f->delayed.n;
	st->in_flight = (uint64_t)in_flight(f);
}

void fetcher_stats(const struct fetcher *f, struct fetch_stats *st)
{
	fill_stats(f, st);
}

static void maybe_progress(struct fetcher *f, int force)
{
	struct fetch_stats st;
	int64_t now;

	if (!f->progress)
		return;
	now = mono_ms();
	if (!force && now - f->last_progress_ms < f->progress_interval_ms)
		return;
	f->last_progress_ms = now;
	fill_stats(f, &st);
	f->progress(&st, f->cb_data);
}

/* Report every unfinished request as cancelled; afterwards nothing is
 * queued or in flight. */
static void cancel_all(struct fetcher *f, const char *why)
{
	struct strbuf msg = STRBUF_INIT;
	struct xfer *x;
	int i;

	f->stopping = 1;
	for (i = 0; i < f->jobs; i++) {
		struct slot *s = &f->slots[i];
		if (!s->x)
			continue;
		curl_multi_remove_handle(f->multi, s->easy);
		x = s->x;
		strbuf_reset(&msg);
		strbuf_addf(&msg, "%s %s: %s", method_name(x->method), x->url, why);
		deliver(f, x, FETCH_CANCELLED, NULL, msg.buf);
		slot_release(f, s);
	}
	while ((x = ready_pop(f)) || (x = delayed_pop(f))) {
		strbuf_reset(&msg);
		strbuf_addf(&msg, "%s %s: %s", method_name(x->method), x->url, why);
		deliver(f, x, FETCH_CANCELLED, NULL, msg.buf);
	}
	strbuf_release(&msg);
	f->hold_until_ms = 0;
	f->stopping = 0;
}

static int idle_all(const struct fetcher *f)
{
	return !in_flight(f) && !f->ready_head && !f->delayed.n;
}

/* opts.pull: 1 while more work may come.  A -1 from it stops the run. */
static int pull(struct fetcher *f)
{
	int rc;

	if (!f->pull || f->abort)
		return 0;
	rc = f->pull(f, f->cb_data);
	if (rc < 0) {
		f->abort = 1;
		return 0;
	}
	return rc > 0;
}

void fetcher_wakeup(struct fetcher *f)
{
	curl_multi_wakeup(f->multi);
}

int fetcher_run(struct fetcher *f)
{
	int ret = FETCH_RUN_DONE;

	f->abort = 0;
	f->last_progress_ms = mono_ms();
	for (;;) {
		int64_t now = mono_ms(), wait;
		CURLMsg *m;
		CURLMcode mc;
		int running, left, more;

		if (fetch_stop) {
			ret = FETCH_RUN_INTERRUPTED;
			break;
		}
		more = pull(f);
		if (f->abort) {
			ret = FETCH_RUN_ABORTED;
			break;
		}
		promote_due(f, now);
		if (fill_window(f, now) < 0) {
			ret = FETCH_RUN_ERROR;
			break;
		}
		if (idle_all(f) && !more)
			break;

		mc = curl_multi_perform(f->multi, &running);
		if (mc != CURLM_OK) {
			ret = error("libcurl failed: %s", curl_multi_strerror(mc));
			break;
		}
		while (!fetch_stop && !f->abort &&
		       (m = curl_multi_info_read(f->multi, &left))) {
			char *priv = NULL;
			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
			finish(f, (struct slot *)(void *)priv, m->data.result);
		}
		maybe_progress(f, 0);
		if (fetch_stop || f->abort)
			continue;
		more = pull(f);
		if (f->abort)
			continue;
		now = mono_ms();
		promote_due(f, now);
		if (can_start(f, now))
			continue;
		if (idle_all(f) && !more)
			break;

		/* Short enough to notice fetch_stop soon even when no signal
		 * interrupts the poll. */
		wait = 100;
		if (f->delayed.n && delayed_due(f) - now < wait)
			wait = delayed_due(f) - now;
		if (f->ready_head && f->nidle && f->hold_until_ms - now < wait)
			wait = f->hold_until_ms - now;
		if (wait < 0)
			wait = 0;
		mc = curl_multi_poll(f->multi, NULL, 0, (int)wait, NULL);
		if (mc != CURLM_OK) {
			ret = error("libcurl failed: %s", curl_multi_strerror(mc));
			break;
		}
	}
	if (!idle_all(f))
		cancel_all(f, ret == FETCH_RUN_INTERRUPTED ? "interrupted"
			      : ret == FETCH_RUN_ABORTED   ? "run stopped"
							   : "libcurl failed");
	maybe_progress(f, 1);
	return ret;
}

void fetcher_free(struct fetcher *f)
{
	struct xfer *x;
	int i;

	if (!f)
		return;
	/* libcurl's order: detach easy handles, close the multi handle (and
	 * its connection pool), then the easy handles. */
	for (i = 0; f->slots && i < f->jobs; i++) {
		struct slot *s = &f->slots[i];
		if (s->x) {
			curl_multi_remove_handle(f->multi, s->easy);
			xfer_free(s->x);
			s->x = NULL;
		}
	}
	if (f->multi)
		curl_multi_cleanup(f->multi);
	for (i = 0; f->slots && i < f->jobs; i++) {
		struct slot *s = &f->slots[i];
		if (s->easy)
			curl_easy_cleanup(s->easy);
		strbuf_release(&s->body);
		free(s->location);
	}
	if (f->curl_inited && --curl_users == 0)
		curl_global_cleanup();
	while ((x = ready_pop(f)) || (x = delayed_pop(f)))
		xfer_free(x);
	heap_release(&f->delayed);
	free(f->slots);
	free(f->idle);
	free(f->base);
	free(f->cacert);
	free(f->ua);
	curl_slist_free_all(f->headers);
	free(f);
}
