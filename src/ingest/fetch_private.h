/*
 * fetch_private.h - what the files of the fetch engine share (not a public
 * interface: include/ingest/fetch.h is that).
 *
 *   fetch.c       the window: queues, retries and their scheduling, the
 *                 verdict on a finished transfer, the run loop
 *   fetch_easy.c  one transfer's HTTP side: Retry-After, the header and
 *                 body callbacks, the base URL check and the options every
 *                 easy handle keeps
 *
 * Layer: ingest.  Uses lib and libcurl.
 */
#ifndef CACHEGC_FETCH_PRIVATE_H
#define CACHEGC_FETCH_PRIVATE_H

#include <stdint.h>

#include <curl/curl.h>

#include "ingest/fetch.h"
#include "lib/heap.h"
#include "lib/util.h"

/* A request, from fetcher_enqueue to its on_done call. */
struct xfer {
	struct xfer *next;       /* in the ready FIFO */
	char *path;
	char *url;
	enum fetch_method method;
	void *user;
	int64_t id;
	int tries;
	int64_t due_ms;          /* when a delayed retry may start */
	long http_code;
	char *why;               /* cause of the last failed try */
};

/* One transfer slot of the window; owns an easy handle for good. */
struct slot {
	struct fetcher *f;
	CURL *easy;
	struct xfer *x;          /* NULL when idle */
	struct strbuf body;
	size_t discarded;        /* bytes of a non-2xx body thrown away */
	int too_large;
	int discard_abort;       /* cut a non-2xx body that was too long */
	long retry_after;        /* seconds from Retry-After, -1 if none */
	int64_t last_modified;   /* of the current response, -1 if none */
	char *location;          /* Location of the current response */
	char errbuf[CURL_ERROR_SIZE];
};

struct fetcher {
	char *base;
	char *cacert;
	char *ua;
	struct curl_slist *headers;  /* extra request headers, or NULL */
	const struct fetch_sigv4 *sigv4;   /* opts.sigv4 (not owned) */
	fetch_done_fn *on_done;
	fetch_progress_fn *progress;
	fetch_pull_fn *pull;
	void *cb_data;
	int jobs, per_host, max_tries, max_redirs, verbose, identity;
	long backoff_ms, max_backoff_ms, retry_after_cap_ms;
	long connect_timeout_ms, timeout_ms, low_speed_bytes, low_speed_secs;
	long progress_interval_ms;
	size_t max_body;

	CURLM *multi;
	struct slot *slots;      /* jobs of them */
	int *idle;               /* stack of idle slot indexes */
	int nidle;

	struct xfer *ready_head, *ready_tail;
	size_t nready;
	struct heap delayed;     /* of struct xfer *, least due_ms first */

	int64_t hold_until_ms;   /* no new starts before (after a 429) */
	int64_t last_progress_ms;
	int stopping;            /* cancelling: refuse new work */
	int abort;               /* on_done asked to stop */
	int curl_inited;         /* holds a curl_users reference */
	uint64_t rng;
	struct fetch_stats st;
};

/* Check a cache URL (http or https, a host, no query or fragment, no
 * spaces) and set *out to it with exactly one trailing '/' (malloc'd, the
 * caller frees).  Returns 0, or -1 (reported). */
int fetch_base_normalise(const char *url, char **out);
/* Set the options that stay the same for every transfer of slot s.
 * Returns 0, or -1 (reported). */
int fetch_easy_setup(struct fetcher *f, struct slot *s);

#endif
