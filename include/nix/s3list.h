/*
 * s3list.h - the answers of S3's ListObjectsV2 and its error documents,
 * read by a small, strict XML reader of our own, and the AWS shared
 * credentials file.  Pure parsers over a buffer (no I/O, no allocation
 * but the results), so they can be fuzzed.
 *
 * Layer: nix (pure parsers); uses lib only.
 *
 * The XML accepted is what S3 and S3-compatible servers write: an optional
 * <?xml ...?> declaration, one root element, elements with attributes,
 * text with the five predefined entities and character references
 * (&#38; &#x26;).  Comments, CDATA, DOCTYPE and processing instructions
 * after the declaration are refused, as is anything unbalanced; so are
 * documents over S3_LIST_MAX_BODY, nesting deeper than 16, a key over
 * S3_KEY_MAX bytes and more than S3_LIST_MAX_OBJECTS objects in one page.
 */
#ifndef CACHEGC_S3LIST_H
#define CACHEGC_S3LIST_H

#include <stddef.h>
#include <stdint.h>

#include "lib/parse_error.h"

#define S3_LIST_MAX_BODY (16u << 20)   /* a page of 1000 keys is ~300 KiB */
#define S3_KEY_MAX 1024                /* S3's own limit on a key */
#define S3_LIST_MAX_OBJECTS 10000      /* S3 gives at most 1000 a page */

struct s3_object {
	char *key;                 /* entities decoded, NUL-terminated; no NUL inside */
	int64_t size;              /* bytes */
	int64_t last_modified;     /* epoch seconds */
	char *etag;                /* as given, quotes included; "" when absent */
};

/* One page of a listing. */
struct s3_list_page {
	struct s3_object *obj;
	size_t n, alloc;
	int truncated;             /* IsTruncated: more pages follow */
	char *next_token;          /* NextContinuationToken, or NULL */
};

/*
 * Parse a ListObjectsV2 answer (<ListBucketResult>) into *page (zeroed
 * first).  Every <Contents> needs a Key, a Size and a LastModified;
 * IsTruncated true needs a NextContinuationToken.  Returns 0, or -1 with
 * *err filled; release *page either way.
 */
int s3_list_parse(const char *buf, size_t len, struct s3_list_page *page,
		  struct parse_error *err);
void s3_list_page_release(struct s3_list_page *page);

/*
 * An S3 error document (<Error><Code>..</Code><Message>..</Message>):
 * 0 with *code and *message (malloc'd, "" when absent; free both), or -1
 * when buf is not one (nothing allocated).
 */
int s3_error_parse(const char *buf, size_t len, char **code, char **message);

/* An S3 timestamp, "2024-05-01T12:00:00.000Z" (the fraction optional,
 * UTC only): 0 with *out in epoch seconds, or -1. */
int s3_parse_time(const char *s, size_t n, int64_t *out);

/* Keys of one profile of the AWS shared credentials file. */
struct aws_keys {
	char *access_key;          /* aws_access_key_id */
	char *secret_key;          /* aws_secret_access_key */
	char *session_token;       /* aws_session_token, or NULL */
};

/*
 * Find [profile] in the text of ~/.aws/credentials (INI: "[name]"
 * sections, "key = value" lines, '#' and ';' comments; keys compared
 * without case, values trimmed).  Returns 1 with *k filled (both keys
 * present; free with aws_keys_release), 0 when the profile is not there
 * or lacks a key (*err says which), -1 on a malformed line (*err).
 */
int aws_credentials_parse(const char *buf, size_t len, const char *profile,
			  struct aws_keys *k, struct parse_error *err);
void aws_keys_release(struct aws_keys *k);

#endif
