/*
 * s3.h - talking to an S3 bucket: where it is (s3://BUCKET[/PREFIX] with
 * an endpoint and a region), whose keys sign the requests, and listing
 * its keys with ListObjectsV2, page by page.  Requests are signed with AWS
 * Signature V4 by libcurl (CURLOPT_AWS_SIGV4).
 *
 * Credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and
 * AWS_SESSION_TOKEN) when set, else from the profile AWS_PROFILE (default
 * "default") of ~/.aws/credentials (AWS_SHARED_CREDENTIALS_FILE names
 * another file).  They are kept in memory only: nothing here writes them
 * anywhere.
 *
 * Layer: ingest.  Errors are reported with error(), naming the bucket and
 * what to check.
 */
#ifndef CACHEGC_S3_H
#define CACHEGC_S3_H

#include <stdint.h>

#include "ingest/fetch.h"
#include "nix/s3list.h"

struct s3_target {
	char *bucket;
	char *prefix;      /* "" or ending in '/': "cache/" */
	char *endpoint;    /* scheme://host[:port], no trailing '/' */
	char *region;
	int path_style;    /* endpoint/bucket/key (--endpoint); else
	                      https://bucket.s3.region.amazonaws.com/key */
	char *url;         /* the cache as recorded: s3://bucket[/prefix] */
};

/*
 * Parse s3://BUCKET[/PREFIX] with endpoint (NULL: AWS's, for region) and
 * region (NULL: $AWS_REGION, $AWS_DEFAULT_REGION, else us-east-1).
 * Returns 0, or -1 (reported: what is wrong with the URL).  Release with
 * s3_target_release.
 */
int s3_target_init(struct s3_target *t, const char *url, const char *endpoint,
		   const char *region);
void s3_target_release(struct s3_target *t);

/* The URL objects under the prefix are fetched from (ends in '/');
 * malloc'd. */
char *s3_object_base(const struct s3_target *t);

struct s3_creds {
	struct aws_keys keys;
	char *from;          /* where they came from, for messages */
	char *provider;      /* "aws:amz:REGION:s3" */
	char *userpwd;       /* "KEY:SECRET" */
	struct fetch_sigv4 sigv4;   /* points into the above */
};

/* Load credentials as described above.  0, or -1 (reported: none found,
 * or the credentials file is malformed). */
int s3_creds_load(struct s3_creds *c, const struct s3_target *t);
void s3_creds_release(struct s3_creds *c);

/* Called with each page of the listing, in order; a nonzero return stops
 * the listing and is returned. */
typedef int s3_page_fn(const struct s3_list_page *page, void *ctx);

/*
 * List every key under t's prefix with ListObjectsV2, page_size keys a
 * page at most (1..1000; 0: 1000), following continuation tokens.
 * Transient failures (connection errors, time-outs, 5xx, 429) are tried
 * again, 4 times at most.  Returns 0 when the listing is complete, 1 when
 * stop became set, -1 on an error (reported, naming the bucket, S3's error
 * code and what to check: the secret key, the key id, the region, the
 * bucket or --endpoint), or what fn returned.
 */
int s3_list(const struct s3_target *t, const struct s3_creds *c, unsigned page_size,
	    const char *cacert, volatile int *stop, s3_page_fn *fn, void *ctx);

#endif
