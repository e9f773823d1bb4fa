/*
 * fetch.h - the HTTP(S) fetch engine used to crawl binary caches.
 *
 * Knows nothing of argv or the database: it takes relative paths
 * ("nix-cache-info", "<hash>.narinfo", "nar/<x>.nar.xz"), fetches them from
 * one base URL with a window of concurrent libcurl transfers, retries what
 * may succeed later, and reports one final outcome per request.
 *
 * Call order:
 *
 *   fetcher_new(&f, &opts)              validate options, set up libcurl
 *   fetcher_enqueue(f, ...)   (any number, also from inside on_done)
 *   fetcher_run(f)                      until the queue drains, the stop
 *                                       flag is set or on_done says stop
 *   ... enqueue and run again if wanted ...
 *   fetcher_free(f)
 *
 * Outcomes (struct fetch_result.status), one per enqueued request, given to
 * opts.on_done from inside fetcher_run:
 *
 *   FETCH_OK         2xx; body/len hold the body (GET), last_modified the
 *                    Last-Modified header as epoch seconds or -1
 *   FETCH_NOT_FOUND  404 or 410: definitively not in this cache
 *   FETCH_TOO_LARGE  the body is over opts.max_body; the transfer was cut
 *                    off as soon as that was known, nothing is kept
 *   FETCH_FAILED     gave up: tries exhausted on a transient error (time
 *                    out, connection error, truncated body, 5xx, 429) or a
 *                    permanent one (403 and other 4xx, TLS verification,
 *                    redirect to a non-http(s) URL, too many redirects);
 *                    error names the method, URL and cause
 *   FETCH_CANCELLED  the run stopped (stop flag or on_done returned
 *                    non-zero) before this request finished; the request
 *                    is dropped, not retried later
 *
 * Retries are scheduled for later (exponential backoff with jitter, at
 * least what a Retry-After header asks, capped) and never hold a slot of the
 * window, so other transfers keep running meanwhile.  A 429 also pauses the
 * start of new transfers for its Retry-After: the server asked us to slow
 * down, not just this request.
 *
 * Only http:// and https:// are ever used, also for redirects (at most
 * opts.max_redirs of them); TLS is always verified.  Responses that are not
 * 2xx have their bodies discarded.  HTTP/2 multiplexing is used when the
 * server offers it, otherwise HTTP/1.1 keep-alive.
 *
 * Threading: a fetcher is used from one thread, except fetcher_wakeup.
 * Work found by another thread (a parser of the bodies, say) is handed over
 * through opts.pull, which fetcher_run calls on its own thread.  libcurl's
 * global state is set up by the first fetcher_new and torn down by the last
 * fetcher_free; do not create fetchers from several threads at once.
 */
#ifndef CACHEGC_FETCH_H
#define CACHEGC_FETCH_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Set to non-zero (typically by the command's SIGINT/SIGTERM handler) to
 * make fetcher_run stop: no new transfers start, running ones are aborted,
 * every unfinished request is reported as FETCH_CANCELLED and run returns
 * FETCH_RUN_INTERRUPTED within about 100 ms.  fetch never clears it.
 */
extern volatile sig_atomic_t fetch_stop;

struct fetcher;

enum fetch_method {
	FETCH_GET,
	FETCH_HEAD,
};

enum fetch_status {
	FETCH_OK,
	FETCH_NOT_FOUND,
	FETCH_TOO_LARGE,
	FETCH_FAILED,
	FETCH_CANCELLED,
};

/* "ok", "not found", "too large", "failed", "cancelled". */
const char *fetch_status_name(enum fetch_status s);

/*
 * What on_done receives.  Every pointer is owned by the fetcher and valid
 * only until on_done returns: copy what you keep.
 */
struct fetch_result {
	enum fetch_status status;
	enum fetch_method method;
	const char *path;        /* as enqueued */
	const char *url;         /* base URL + path */
	void *user;              /* as enqueued */
	int64_t id;              /* as enqueued */
	long http_code;          /* last HTTP status seen, 0 if none */
	const char *body;        /* FETCH_OK and GET: the (decoded) body,  */
	size_t len;              /* NUL-terminated; else "" and 0          */
	int64_t last_modified;   /* epoch seconds, -1 when unknown */
	int64_t content_length;  /* Content-Length of the final response,
	                            -1 when unknown (useful with HEAD) */
	int tries;               /* transfers made for this request, >= 0 */
	const char *error;       /* FETCH_FAILED / FETCH_TOO_LARGE /
	                            FETCH_CANCELLED: "GET URL: cause";
	                            NULL otherwise */
};

/*
 * Called once per request from inside fetcher_run.  It may call
 * fetcher_enqueue (e.g. for the References of a narinfo) and
 * fetcher_stats, never fetcher_run or fetcher_free.  Return 0 to go on;
 * non-zero stops the run (the rest is cancelled, fetcher_run returns
 * FETCH_RUN_ABORTED) - e.g. when the database cannot be written.  The
 * return value of a FETCH_CANCELLED call is ignored.
 */
typedef int fetch_done_fn(const struct fetch_result *r, void *cb_data);

struct fetch_stats {
	uint64_t enqueued;   /* requests accepted, ever */
	uint64_t done;       /* finished with OK/NOT_FOUND/TOO_LARGE/FAILED */
	uint64_t ok;
	uint64_t not_found;
	uint64_t errors;     /* TOO_LARGE + FAILED */
	uint64_t cancelled;
	uint64_t retries;    /* transfers repeated after a transient error */
	uint64_t queued;     /* waiting to start, including scheduled retries */
	uint64_t delayed;    /* of which: retries waiting for their time */
	uint64_t in_flight;  /* transfers running now */
	uint64_t bytes;      /* body bytes received (decoded) */
};

/* Called from fetcher_run at most every progress_interval_ms, and once
 * when the run ends.  Must not call fetcher_run or fetcher_free. */
typedef void fetch_progress_fn(const struct fetch_stats *st, void *cb_data);

/* AWS Signature V4 on every request (an S3 bucket), signed by libcurl
 * (CURLOPT_AWS_SIGV4); the payload is sent as UNSIGNED-PAYLOAD. */
struct fetch_sigv4 {
	const char *provider;       /* "aws:amz:REGION:s3" */
	const char *userpwd;        /* "ACCESS_KEY_ID:SECRET_ACCESS_KEY" */
	const char *token;          /* session token (x-amz-security-token),
	                               or NULL */
};

/*
 * Called from fetcher_run at every turn of its loop: before it starts
 * transfers, after it handled the finished ones, and before it decides the
 * run is over.  It may call fetcher_enqueue (the work another thread found
 * meanwhile) and fetcher_stats.  Returns 1 while more work may still come
 * from elsewhere: the run then waits for it (in curl's poll, which
 * fetcher_wakeup cuts short) instead of ending when nothing is queued; 0
 * when nothing more will come; -1 to stop the run as a non-zero on_done
 * does (FETCH_RUN_ABORTED).
 */
typedef int fetch_pull_fn(struct fetcher *f, void *cb_data);

/* Zero means "default" for every numeric field. */
struct fetch_options {
	const char *base_url;       /* required: http:// or https://, no query
	                               or fragment; a trailing '/' is added */
	fetch_done_fn *on_done;     /* required */
	void *cb_data;              /* passed to on_done and progress */
	fetch_progress_fn *progress;/* optional */
	fetch_pull_fn *pull;        /* optional */

	int jobs;                   /* transfers in flight (64) */
	int per_host;               /* connections per host (0: no cap but
	                               jobs).  Below jobs on an HTTP/1.1 server,
	                               the excess transfers wait inside libcurl
	                               with their timeout already running */
	int max_tries;              /* transfers per request (5) */
	long backoff_ms;            /* first retry delay (500); doubles per try
	                               with jitter in [d/2, d] */
	long max_backoff_ms;        /* cap on the computed delay (30000) */
	long retry_after_cap_ms;    /* cap on an honoured Retry-After (60000) */
	long connect_timeout_ms;    /* per try (10000) */
	long timeout_ms;            /* whole transfer, per try (120000) */
	long low_speed_bytes;       /* abort a try slower than this many */
	long low_speed_secs;        /* bytes/s for this long (100 B/s, 30 s) */
	int max_redirs;             /* redirects followed per try (5) */
	size_t max_body;            /* largest body kept (1 MiB) */
	const char *cacert;         /* CA bundle file to trust in addition to
	                               the system's CA directory, or NULL */
	const char *user_agent;     /* NULL: "cachegc" */
	const char *accept;         /* an Accept header to send (e.g.
	                               "application/json" for an API), or
	                               NULL: libcurl's default */
	int identity;               /* 0: offer every encoding libcurl can
	                               decode (gzip, deflate, br, zstd), as
	                               Nix 2.34 on does; 1: send
	                               "Accept-Encoding: identity", asking for
	                               bodies as stored, as Nix up to 2.13
	                               (which sends no Accept-Encoding) gets
	                               them.  Either way a body the server
	                               encodes anyway is decoded */
	long progress_interval_ms;  /* (100) */
	int verbose;                /* libcurl's own debug output on stderr */
	const struct fetch_sigv4 *sigv4; /* NULL: unsigned; else not copied:
	                               it must outlive the fetcher */
};

struct fetcher;

/*
 * Create a fetcher.  Returns 0 and sets *out, or reports the problem with
 * error() (e.g. "unsupported cache URL 'ftp://x': only http:// and
 * https:// are supported") and returns -1.  opts is copied; its strings are
 * copied too.  Free with fetcher_free.
 */
int fetcher_new(struct fetcher **out, const struct fetch_options *opts);

/*
 * Queue a request for base URL + path.  path is relative (no leading '/'),
 * made of printable non-space ASCII; it is copied.  user and id are handed
 * back in the result, never dereferenced.  Returns 0, or -1 (reported)
 * for an invalid path or while the run is being stopped.
 */
int fetcher_enqueue(struct fetcher *f, enum fetch_method method,
		    const char *path, void *user, int64_t id);

enum fetch_run_status {
	FETCH_RUN_ERROR = -1,       /* libcurl failed (reported); the rest was
	                               cancelled */
	FETCH_RUN_DONE = 0,         /* every request got its final outcome */
	FETCH_RUN_INTERRUPTED = 1,  /* fetch_stop was set */
	FETCH_RUN_ABORTED = 2,      /* on_done returned non-zero */
};

/*
 * Run transfers until no request is left (queued, delayed or in flight),
 * calling on_done for each.  Returns one of enum fetch_run_status; in every
 * case the queue is empty afterwards and each request enqueued got exactly
 * one on_done call.  The fetcher can be given more work and run again.
 */
int fetcher_run(struct fetcher *f);

/* Make a fetcher_run waiting in curl's poll turn its loop now (so it
 * calls opts.pull).  The one function that may be called from any thread,
 * also while fetcher_run runs; a no-op when it does not. */
void fetcher_wakeup(struct fetcher *f);

/* Current counters (cumulative over runs, except the gauges). */
void fetcher_stats(const struct fetcher *f, struct fetch_stats *st);

/* The normalised base URL, ending in '/'.  Owned by the fetcher. */
const char *fetcher_base_url(const struct fetcher *f);

/* Free everything; requests still queued (only possible if fetcher_run was
 * never called after enqueueing) are dropped without a callback.  NULL is
 * fine. */
void fetcher_free(struct fetcher *f);

/*
 * Parse a Retry-After value (delta seconds or an HTTP date) relative to
 * now (epoch seconds).  Returns the delay in seconds (>= 0), or -1 when
 * the value is neither.  Pure apart from libcurl's date parser.
 */
long fetch_parse_retry_after(const char *s, size_t len, int64_t now);

/*
 * Parse an HTTP date (Last-Modified, Retry-After) as epoch seconds, or -1
 * when it is none.  The form every server sends now ("Sun, 06 Nov 1994
 * 08:49:37 GMT") is read here, at a small part of the cost of libcurl's
 * general date parser, which takes everything else (the obsolete RFC 850
 * and asctime forms).  Pure apart from that parser.
 */
int64_t fetch_parse_http_date(const char *s, size_t len);

#endif
