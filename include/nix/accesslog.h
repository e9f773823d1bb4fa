/*
 * accesslog.h - web server and S3 access logs: the pure parts of `cachegc
 * import-access` (src/cmd_import_access.c does the reading and the DB).
 *
 * Everything here works on (pointer, length) buffers, does no I/O, keeps
 * no globals and is safe on any bytes, so it can be fuzzed:
 *
 *  - access_parse_line(): one log line, nginx/Apache combined or common
 *    format, or S3 server access log format, into a struct access_request
 *    (time in UTC, method, status, the raw request target or S3 key);
 *  - access_target_path(): that target as a decoded URL path (query string
 *    stripped, %XX decoded, control characters, NULs and dot segments
 *    refused);
 *  - access_classify(): what the path names relative to the cache root
 *    (the URL path prefix): a narinfo "<hash>.narinfo", or another file
 *    (a NAR when a narinfo's URL names it);
 *  - access_target_query(), access_query_store_hash(): the query string of
 *    a target and the store-path hash harmonia's "?hash=" names in it;
 *  - access_counts(): whether a request with this method and status is an
 *    access (2xx or 304; GET and HEAD for narinfos, GET only for NARs);
 *  - struct access_index: hash -> path id, NAR URL -> path ids and NAR
 *    hash -> path ids, built once per cache from the DB rows and probed
 *    per line (access_index_resolve_nar() says which paths a NAR request
 *    downloads, for the URL forms of Nix, nix-serve and harmonia);
 *  - struct access_agg: hits and last times per (path, UTC day).
 */
#ifndef CACHEGC_ACCESSLOG_H
#define CACHEGC_ACCESSLOG_H

#include <stddef.h>
#include <stdint.h>

#include "lib/hashmap.h"
#include "nix/nixhash.h"

/* A line longer than this is malformed (and never held whole). */
#define ACCESS_MAX_LINE (64 * 1024)
/* A decoded request path longer than this names no cache object. */
#define ACCESS_MAX_PATH 4096

enum access_format {
	ACCESS_FMT_AUTO = 0,   /* the first line that parses decides */
	ACCESS_FMT_COMBINED,   /* nginx/Apache combined (or common) */
	ACCESS_FMT_S3,         /* S3 server access log */
};
/* "combined", "s3" or "auto" (static). */
const char *access_format_name(enum access_format f);
/* The names by enum access_format, NULL-terminated. */
extern const char *const access_format_names[];
/* Parse a --format value.  0 or -1. */
int access_format_parse(const char *s, enum access_format *out);

enum access_method {
	ACCESS_OTHER = 0,      /* any other method or S3 operation, or none */
	ACCESS_GET,            /* GET, or S3 REST.GET.OBJECT / WEBSITE.GET.OBJECT */
	ACCESS_HEAD,           /* HEAD, or S3 REST.HEAD.OBJECT / WEBSITE.HEAD.OBJECT */
};

struct access_request {
	enum access_format format; /* the format the line was parsed as */
	int64_t time;          /* UTC, seconds since the epoch (>= 0) */
	enum access_method method;
	int status;            /* HTTP status, 100..599 */
	const char *target;    /* raw request target (combined: as in the
	                          request line, possibly "http://host/..."; S3:
	                          the key field, URL-encoded, no leading '/');
	                          points into the line; NULL when the line has
	                          no usable request (nginx logs "-" or binary
	                          junk for broken requests) */
	size_t target_len;
};

/*
 * Parse one log line (without its newline) in format fmt; with
 * ACCESS_FMT_AUTO either format is accepted (a line is never both:
 * combined has its [time] as the 4th field, S3 as the 3rd).
 *
 * combined: HOST IDENT USER [DD/Mon/YYYY:HH:MM:SS +ZZZZ] "REQUEST" STATUS
 *           BYTES, then anything ("referer" "agent" ... or nothing: the
 *           common format).  REQUEST is "METHOD TARGET[ PROTOCOL]"; one
 *           that is not ("-", escaped binary junk) parses with target NULL.
 * s3:       OWNER BUCKET [TIME] IP REQUESTER REQUEST-ID OPERATION KEY
 *           "REQUEST-URI" STATUS ..., fields quoted "..." (with spaces
 *           inside) or [...], "-" for none.
 *
 * Quoted fields may hold backslash escapes (\" and \\, as Apache and
 * nginx write them).  The time zone offset is applied: the result is UTC.
 * A line with control characters, over ACCESS_MAX_LINE, with an impossible
 * date or without the fields is malformed.
 * Returns 0 with *req filled, or -1 with a short reason in why (at least
 * 64 bytes recommended; truncated to whysz).
 */
int access_parse_line(const char *line, size_t len, enum access_format fmt,
		      struct access_request *req, char *why, size_t whysz);

/*
 * The URL path a request target names, decoded into out (NUL-terminated,
 * *outlen excludes the NUL): for combined targets, "scheme://host" is
 * dropped from an absolute URL; the query string ("?...") is stripped;
 * %XX is decoded; runs of '/' are merged (as nginx does).  An S3 key
 * (s3 != 0) becomes "/" + key.  Refused (-1): an empty target or one not
 * starting with '/', a bad % escape, a decoded NUL or control character,
 * a "." or ".." segment, or a result longer than ACCESS_MAX_PATH or
 * outsz - 1.  Returns 0 or -1.
 */
int access_target_path(const char *target, size_t len, int s3, char *out, size_t outsz,
		       size_t *outlen);

/*
 * The raw query string of a request target: the bytes after its first
 * '?' (*qlen of them, possibly 0), or NULL when it has none.  An S3 key
 * (s3 != 0) has none: a '?' in it is part of the key.  Points into target.
 */
const char *access_target_query(const char *target, size_t len, int s3, size_t *qlen);

/*
 * Whether a raw query string names a store path the way harmonia's NAR
 * URLs do ("nar/<narhash>.nar?hash=<store hash>"): a parameter "hash"
 * whose value is a 32-character nix32 store-path hash, as is (harmonia
 * writes it unescaped).  Parameters are separated by '&'; the first "hash"
 * decides.  Returns 1 with the hash and a NUL in out[0..32], else 0.
 */
int access_query_store_hash(const char *q, size_t qlen, char out[STORE_HASH_LEN + 1]);

/*
 * Normalize a cache URL path prefix into out: it starts and ends with '/'
 * ("" and "/" give "/", "cache" and "/cache/" give "/cache/").  Runs of
 * '/' are merged.  Returns 0, or -1 when it holds control characters,
 * '?', '%', "." or ".." segments, or does not fit in outsz.
 */
int access_prefix_normalize(const char *s, char *out, size_t outsz);

enum access_kind {
	ACCESS_KIND_NONE = 0,  /* outside the cache root, or the root itself */
	ACCESS_KIND_NARINFO,   /* "<prefix><32-char nix32 hash>.narinfo" */
	ACCESS_KIND_FILE,      /* any other file under the prefix: a NAR when
	                          a narinfo's URL equals *rel */
};

/*
 * Classify a decoded path against a normalized prefix.  For NARINFO, *rel
 * is the 32-char hash; for FILE, *rel is the path relative to the cache
 * root (as a narinfo's URL field gives it, e.g. "nar/<hash>.nar.xz").
 * *rel points into path.
 */
enum access_kind access_classify(const char *path, size_t len, const char *prefix,
				 const char **rel, size_t *rellen);

/* 1 when rel (relative to the cache root) is in the "nar/" directory. */
int access_is_nar_dir(const char *rel, size_t len);

/*
 * Whether a request of this kind, method and status is an access: the
 * status is 2xx (206 partial content included) or 304; a narinfo counts
 * for GET and HEAD, a file (NAR) for GET only.
 */
int access_counts(enum access_kind kind, enum access_method method, int status);

/* ---- the cache's index: what the log's keys mean --------------------- */

struct access_index {
	/* narinfos: hash -> path id; ni_map's items index ni */
	struct ai_narinfo *ni;
	size_t ni_count, ni_alloc;
	struct hashmap ni_map;
	/* NAR URLs (without their query) -> chains of path ids; url_map's
	 * items index urls */
	struct ai_url *urls;
	size_t url_count, urls_alloc;
	struct hashmap url_map;
	char *text;            /* URL bytes, back to back */
	size_t text_len, text_alloc;
	/* SHA-256 NAR hashes -> chains of path ids; nar_map's items index nars */
	struct ai_nar *nars;
	size_t nar_count, nars_alloc;
	struct hashmap nar_map;
	struct ai_link *links; /* the chains: path ids naming a URL or NAR hash */
	size_t nlinks, links_alloc;
};

void access_index_init(struct access_index *ix);
/*
 * Add one narinfo of the cache: its path's 32-char hash, id, URL field
 * (url_len bytes) and NarHash (NUL-terminated, any form nixhash_parse()
 * takes, e.g. "sha256:<nix32>"; NULL or another algorithm: not indexed by
 * NAR hash).  The URL is indexed without its query string: harmonia's
 * "nar/<narhash>.nar?hash=<store hash>" names the file "nar/<narhash>.nar".
 * May reallocate.  A hash added twice keeps the first id.  Returns 0, or
 * -1 when hash is not 32 characters or id <= 0.
 */
int access_index_add(struct access_index *ix, const char *hash, int64_t path_id,
		     const char *url, size_t url_len, const char *nar_hash);
/* The path id of a narinfo hash (32 chars), or 0. */
int64_t access_index_narinfo(const struct access_index *ix, const char *hash);
/* The path ids of the narinfos whose URL, without its query, is
 * url[0..len): stores up to max of them in ids and returns how many there
 * are (0: none). */
size_t access_index_nar(const struct access_index *ix, const char *url, size_t len,
			int64_t *ids, size_t max);

/* How access_index_resolve_nar() found the paths of a NAR request. */
enum access_nar_match {
	ACCESS_NAR_NONE = 0,   /* no path of the index */
	ACCESS_NAR_STORE_HASH, /* the store hash the request names (harmonia's
	                          ?hash=, nix-serve's nar/<hash>-<narhash>.nar) */
	ACCESS_NAR_URL,        /* the narinfos whose URL names the file */
	ACCESS_NAR_NAR_HASH,   /* the narinfos whose NarHash the file name is
	                          (nar/<52-char nix32 NAR hash>.nar) */
};

/*
 * The paths a successful GET of the NAR file rel[0..rellen) (relative to
 * the cache root, query stripped) downloads; store_hash is the hash the
 * request's query names (access_query_store_hash()) or NULL.  In order:
 *  1. with store_hash, or a rel of nix-serve's form
 *     "nar/<store hash>-<narhash>.nar": that path alone, when the index
 *     has it and its narinfo names this file (its URL without the query
 *     is rel, or its NarHash is the one in rel), as harmonia and nix-serve
 *     check before serving; else none (the server served a path the
 *     database does not know);
 *  2. every narinfo whose URL (without its query) is rel;
 *  3. for "nar/<narhash>.nar" (harmonia's file without its query, or
 *     Nix's for an uncompressed NAR), every narinfo with that NarHash.
 * Stores up to max ids and returns how many there are; *how (may be NULL)
 * says which rule matched.
 */
size_t access_index_resolve_nar(const struct access_index *ix, const char *rel, size_t rellen,
				const char *store_hash, int64_t *ids, size_t max,
				enum access_nar_match *how);
void access_index_release(struct access_index *ix);

/* ---- aggregation per (path, day) -------------------------------------- */

struct access_day {
	int64_t path_id;
	int64_t day;           /* time / 86400 */
	int64_t narinfo_hits, nar_hits;
	int64_t narinfo_last, nar_last;   /* -1 when none */
};

struct access_agg {
	struct access_day *v;  /* in insertion order */
	size_t n, alloc;
	struct hashmap map;    /* (path_id, day) -> index into v */
};

void access_agg_init(struct access_agg *a);
/* Count one access of path_id at time t (>= 0); nar: a NAR download, else
 * a narinfo request.  May reallocate. */
void access_agg_add(struct access_agg *a, int64_t path_id, int64_t t, int nar);
void access_agg_release(struct access_agg *a);

#endif
