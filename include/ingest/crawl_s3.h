/*
 * crawl_s3.h - crawling a binary cache kept in an S3 bucket
 * (s3://BUCKET[/PREFIX]), as `nix copy --to s3://...` writes it.
 *
 * A bucket can be listed, so this is a full crawl, like a directory's:
 * every key <hash>.narinfo under the prefix is listed (ListObjectsV2, page
 * by page); a narinfo already recorded for this cache is not fetched again
 * (narinfos are immutable), a new one is fetched once (GET, many at a time
 * through the fetch engine, signed), and presence is recorded as a
 * directory crawl records it: a path listed is present, one present before
 * and not listed now is gone.  The listing's LastModified is the push time.
 * Where a narinfo has no FileSize, the size of the object its URL names, as
 * listed, fills it in.  nix-cache-info must be in the listing (or --force).
 *
 * With an inventory, the keys, sizes and LastModified come from an S3
 * Inventory report instead (its manifest.json and gzipped CSV files, read
 * locally: each file is looked for beside the manifest, then in ../data/,
 * as `aws s3 sync` of the report's destination lays them out); only the
 * new narinfos are fetched from the bucket.
 *
 * The whole listing is read before anything is recorded, so a bucket that
 * cannot be listed (wrong keys, wrong region, no such bucket) records
 * nothing.  It is kept in memory: about 100 bytes per key.
 */
#ifndef CACHEGC_CRAWL_S3_H
#define CACHEGC_CRAWL_S3_H

#include <stdint.h>

#include "ingest/crawl.h"

struct db;

struct crawl_s3_options {
	const char *url;          /* s3://BUCKET[/PREFIX] */
	const char *endpoint;     /* http(s)://HOST[:PORT] or NULL: AWS */
	const char *region;       /* or NULL: $AWS_REGION, ..., us-east-1 */
	unsigned page_size;       /* keys per listing page (0: 1000) */
	int jobs, tries;          /* narinfo GETs in flight, tries (0: 64, 5) */
	long timeout_ms;          /* per try (0: 120 s) */
	const char *cacert;       /* extra CA bundle, or NULL */
	int force;                /* no nix-cache-info: assume /nix/store */
	const char *inventory;    /* a local manifest.json of an S3 Inventory
	                             report (CSV) to read instead of listing,
	                             or NULL */
	const struct crawl_shard *shard; /* only this shard's narinfos, or
	                             NULL: all (ingest/crawl.h) */
};

/*
 * Crawl o->url into db.  Fills *out, *crawl_id (0 when nothing was
 * recorded) and *cache_url (malloc'd: "s3://bucket/prefix").  Returns 0
 * when the crawl completed, 1 when interrupted (SIGINT: crawl_interrupted
 * or fetch_stop; what was recorded is kept, nothing is marked gone), -1 on
 * failure (reported).
 */
int crawl_s3(struct db *db, const struct crawl_s3_options *o, struct crawl_counts *out,
	     int64_t *crawl_id, char **cache_url);

#endif
