/*
 * crawl_http.h - crawling a binary cache over HTTP(S): the closure of some
 * roots, or a presence re-check of every path already recorded.
 *
 * An HTTP cache cannot be listed, so a crawl asks for paths one by one:
 * `<hash>.narinfo` for each root, then for each reference of every narinfo
 * it gets, until the closure is done.  A narinfo is immutable: one already
 * recorded for this cache is never fetched again, only its presence is
 * checked (HEAD), and its references come from the DB.  Each path is asked
 * for at most once per crawl.
 *
 * Answers, recorded through the crawl recorder (crawl.h) and the
 * path_checks table (sql/002_http.sql):
 *   200 GET    a new narinfo: parsed (the StorePath must match the hash
 *              asked for), recorded with Last-Modified as its push time
 *   200 HEAD   a recorded narinfo is still there
 *   404, 410   absent; a path that was present is recorded gone (only the
 *              paths checked: unchecked ones are never taken for gone)
 *   anything else after every try (time-outs, 5xx, 429, 403, TLS, a
 *              redirect to another scheme) -> unknown: never absent, and a
 *              path present before stays present as of its last_seen
 *   a body that is not a narinfo, or over 1 MiB -> rejected (named)
 *
 * Knows nothing of argv or stdout; errors go to stderr through error().
 */
#ifndef CACHEGC_CRAWL_HTTP_H
#define CACHEGC_CRAWL_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "ingest/crawl.h"

struct db;

/* Store paths to crawl from, as basenames "<hash>-<name>", in file order
 * (duplicates are kept here and skipped by the crawl). */
struct crawl_roots {
	char **base;
	size_t n, alloc;
	unsigned eval_errors;    /* nix-eval-jobs lines of failed attrs */
	unsigned no_path;        /* outputs without a known path (floating CA) */
};

/*
 * Add the store paths listed in file ("-": standard input) to r.  Each
 * line is a store path directly in store_dir ("/nix/store/<hash>-<name>",
 * as `nix path-info` or a release's store-paths list prints them), or a
 * nix-eval-jobs JSON line, of which every output path is taken (jobs that
 * failed to evaluate are skipped and counted).  Blank lines and lines
 * starting with '#' are skipped.  Any other line fails the whole file:
 * reported with error() naming FILE:LINE, returns -1 (r keeps what earlier
 * files added).  Returns the number of paths added on success.  May
 * reallocate r->base; free with crawl_roots_release().
 */
int crawl_roots_read(struct crawl_roots *r, const char *file, const char *store_dir);
void crawl_roots_release(struct crawl_roots *r);

struct crawl_http_options {
	const char *url;             /* http(s)://host[:port][/prefix] */
	const struct crawl_roots *roots; /* NULL: re-check every path the DB
	                                 knows for this cache (its narinfos
	                                 and path_checks rows) */
	int jobs;                    /* transfers in flight, also the cap on
	                                connections to the host (0: 64) */
	int tries;                   /* per request (0: 5) */
	long timeout_ms;             /* per try, whole transfer (0: 120 s) */
	const char *cacert;          /* extra CA bundle, or NULL */
	int identity;                /* ask for bodies uncompressed
	                                (fetch_options.identity) */
};

/*
 * Normalise a cache URL the way caches.url records it: lower-case scheme
 * and host, no default port, no trailing '/'.  Returns a malloc'd string,
 * or NULL after reporting why the URL is unusable (not http(s), no host,
 * a query, a fragment, spaces).
 */
char *crawl_http_url(const char *url);

/*
 * Crawl o->url into db: nix-cache-info first (refused when missing, or
 * when its StoreDir is not the DB's), then the roots' closure or the
 * re-check.  Draws progress on stderr when it is a terminal (and
 * progress_disabled is 0).  Stops cleanly when fetch_stop is set (the
 * caller's SIGINT handler): what was fetched is committed, the crawl is
 * recorded 'interrupted', and the next crawl does not fetch it again.
 *
 * Fills *out with the counts, *crawl_id (0 when interrupted before the
 * crawl started) and *cache_url (normalised, malloc'd: the caller frees).
 * Returns 0 when the crawl completed (unknown paths included), 1 when it
 * was interrupted, 2 when it ran and every request failed (no path got an
 * answer: the crawl is recorded 'failed', the paths unknown; *out and
 * *cache_url are filled, nothing is reported), -1 on failure (reported).
 */
int crawl_http(struct db *db, const struct crawl_http_options *o, struct crawl_counts *out,
	       int64_t *crawl_id, char **cache_url);

#endif
