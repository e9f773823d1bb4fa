/*
 * s3.c - S3 buckets: targets, credentials and ListObjectsV2 (ingest/s3.h).
 *
 * The listing is sequential (each page needs the previous page's
 * continuation token), on one libcurl easy handle kept alive between
 * pages.  Its error answers are read (S3's <Error><Code>), so a refusal
 * names its cause: a wrong secret key is SignatureDoesNotMatch, an unknown
 * key id InvalidAccessKeyId, a missing bucket NoSuchBucket.
 */
#include "ingest/s3.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

/* ---- targets ------------------------------------------------------------ */

/* Bucket names as S3 allows them (3-63 of [a-z0-9.-], also '_' and capitals,
 * which older buckets and other servers use). */
static int bucket_ok(const char *b, size_t n)
{
	if (n < 1 || n > 255)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = b[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

/* A prefix as it goes into a URL unencoded and into a signature the same
 * way: unreserved characters and '/' only. */
static int prefix_ok(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '_' || c == '~' || c == '/'))
			return 0;
	}
	return 1;
}

int s3_target_init(struct s3_target *t, const char *url, const char *endpoint,
		   const char *region)
{
	const char *b, *slash, *p;
	size_t bl, pl;
	struct strbuf sb = STRBUF_INIT;

	memset(t, 0, sizeof(*t));
	if (strncmp(url, "s3://", 5))
		return error("'%s' is not an s3://BUCKET[/PREFIX] URL", url);
	b = url + 5;
	slash = strchr(b, '/');
	bl = slash ? (size_t)(slash - b) : strlen(b);
	if (!bucket_ok(b, bl))
		return error("'%s': the bucket name must be letters, digits, '.', '-' or '_'",
			     url);
	p = slash ? slash + 1 : "";
	pl = strlen(p);
	while (pl && p[pl - 1] == '/')
		pl--;
	while (pl && *p == '/')
		p++, pl--;
	if (!prefix_ok(p, pl) || strstr(p, "//"))
		return error("'%s': a prefix of letters, digits, '.', '-', '_', '~' and single "
			     "'/' is supported", url);
	if (!region || !*region)
		region = getenv("AWS_REGION");
	if (!region || !*region)
		region = getenv("AWS_DEFAULT_REGION");
	if (!region || !*region)
		region = "us-east-1";
	for (const char *c = region; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
			return error("--region '%s': a region is lower-case letters, digits and "
				     "'-' (us-east-1)", region);
	if (endpoint) {
		size_t el = strlen(endpoint);
		const char *host;

		if (strncmp(endpoint, "http://", 7) && strncmp(endpoint, "https://", 8))
			return error("--endpoint '%s': give http(s)://HOST[:PORT]", endpoint);
		while (el && endpoint[el - 1] == '/')
			el--;
		host = strstr(endpoint, "://") + 3;
		if (host >= endpoint + el || memchr(host, '/', (size_t)(endpoint + el - host)) ||
		    strpbrk(endpoint, "?# \t"))
			return error("--endpoint '%s': give http(s)://HOST[:PORT], without a path",
				     endpoint);
		t->endpoint = xstrndup(endpoint, el);
		t->path_style = 1;
	} else {
		strbuf_addf(&sb, "https://s3.%s.amazonaws.com", region);
		t->endpoint = strbuf_detach(&sb);
	}
	t->bucket = xstrndup(b, bl);
	t->region = xstrdup(region);
	strbuf_addf(&sb, "%.*s%s", (int)pl, p, pl ? "/" : "");
	t->prefix = strbuf_detach(&sb);
	strbuf_addf(&sb, "s3://%s%s%.*s", t->bucket, pl ? "/" : "", (int)pl, p);
	t->url = strbuf_detach(&sb);
	return 0;
}

void s3_target_release(struct s3_target *t)
{
	free(t->bucket);
	free(t->prefix);
	free(t->endpoint);
	free(t->region);
	free(t->url);
	memset(t, 0, sizeof(*t));
}

/* endpoint + '/' up to the bucket: "http://h:p/bucket/" or
 * "https://bucket.s3.r.amazonaws.com/". */
static void bucket_base(const struct s3_target *t, struct strbuf *sb)
{
	if (t->path_style)
		strbuf_addf(sb, "%s/%s/", t->endpoint, t->bucket);
	else
		strbuf_addf(sb, "https://%s.s3.%s.amazonaws.com/", t->bucket, t->region);
}

char *s3_object_base(const struct s3_target *t)
{
	struct strbuf sb = STRBUF_INIT;

	bucket_base(t, &sb);
	strbuf_addstr(&sb, t->prefix);
	return strbuf_detach(&sb);
}

/* ---- credentials --------------------------------------------------------- */

int s3_creds_load(struct s3_creds *c, const struct s3_target *t)
{
	const char *id = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
	struct strbuf sb = STRBUF_INIT;

	memset(c, 0, sizeof(*c));
	if (id && *id && secret && *secret) {
		const char *tok = getenv("AWS_SESSION_TOKEN");

		c->keys.access_key = xstrdup(id);
		c->keys.secret_key = xstrdup(secret);
		c->keys.session_token = tok && *tok ? xstrdup(tok) : NULL;
		c->from = xstrdup("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment");
	} else {
		const char *file = getenv("AWS_SHARED_CREDENTIALS_FILE");
		const char *profile = getenv("AWS_PROFILE");
		const char *home = getenv("HOME");
		struct parse_error err;
		char *buf = NULL;
		size_t len;
		int rc;

		if (!profile || !*profile)
			profile = "default";
		if (file && *file)
			strbuf_addstr(&sb, file);
		else
			strbuf_addf(&sb, "%s/.aws/credentials", home ? home : "");
		if (read_file_capped(sb.buf, 1 << 20, &buf, &len)) {
			int e = errno;

			if (id && *id)
				error("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not; "
				      "set both (and AWS_SESSION_TOKEN for temporary keys)");
			else
				error("no AWS credentials for bucket '%s': set AWS_ACCESS_KEY_ID and "
				      "AWS_SECRET_ACCESS_KEY, or put profile [%s] in '%s' (%s)",
				      t->bucket, profile, sb.buf, strerror(e));
			strbuf_release(&sb);
			return -1;
		}
		rc = aws_credentials_parse(buf, len, profile, &c->keys, &err);
		free(buf);
		if (rc <= 0) {
			if (rc < 0)
				error("'%s':%u: %s", sb.buf, err.line, err.msg);
			else
				error("no AWS credentials for bucket '%s': '%s' has %s (AWS_PROFILE "
				      "picks the profile); or set AWS_ACCESS_KEY_ID and "
				      "AWS_SECRET_ACCESS_KEY", t->bucket, sb.buf, err.msg);
			strbuf_release(&sb);
			return -1;
		}
		strbuf_reset(&sb);
		strbuf_addf(&sb, "profile [%s] of %s",  profile,
			    file && *file ? file : "~/.aws/credentials");
		c->from = strbuf_detach(&sb);
	}
	strbuf_release(&sb);
	if (strchr(c->keys.access_key, ':')) {
		error("the AWS access key id (from %s) holds a ':'; it cannot be right", c->from);
		s3_creds_release(c);
		return -1;
	}
	strbuf_addf(&sb, "aws:amz:%s:s3", t->region);
	c->provider = strbuf_detach(&sb);
	strbuf_addf(&sb, "%s:%s", c->keys.access_key, c->keys.secret_key);
	c->userpwd = strbuf_detach(&sb);
	c->sigv4.provider = c->provider;
	c->sigv4.userpwd = c->userpwd;
	c->sigv4.token = c->keys.session_token;
	return 0;
}

void s3_creds_release(struct s3_creds *c)
{
	if (c->userpwd)
		memset(c->userpwd, 0, strlen(c->userpwd));
	aws_keys_release(&c->keys);
	free(c->from);
	free(c->provider);
	free(c->userpwd);
	memset(c, 0, sizeof(*c));
}

/* ---- listing ------------------------------------------------------------- */

/* AWS's URI encoding of a query value: all but unreserved characters. */
static void uri_encode(struct strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			strbuf_addch(sb, (char)c);
		} else {
			strbuf_addch(sb, '%');
			strbuf_addch(sb, hex[c >> 4]);
			strbuf_addch(sb, hex[c & 15]);
		}
	}
}

static size_t on_body(char *p, size_t sz, size_t n, void *data)
{
	struct strbuf *sb = data;

	if (sb->len + sz * n > S3_LIST_MAX_BODY)
		return 0;   /* too large: the transfer fails */
	strbuf_add(sb, p, sz * n);
	return sz * n;
}

/* What a refusal means for the user. */
static const char *hint(const char *code, const struct s3_creds *c, const struct s3_target *t)
{
	static char buf[512];

	if (!strcmp(code, "SignatureDoesNotMatch"))
		snprintf(buf, sizeof(buf), "check the secret access key (from %s) and the "
			 "region (%s)", c->from, t->region);
	else if (!strcmp(code, "InvalidAccessKeyId"))
		snprintf(buf, sizeof(buf), "check the access key id '%s' (from %s)",
			 c->keys.access_key, c->from);
	else if (!strcmp(code, "NoSuchBucket"))
		snprintf(buf, sizeof(buf), "check the bucket name%s", t->path_style ?
			 " and --endpoint" : ", and --endpoint for a server other than AWS");
	else if (!strcmp(code, "AccessDenied"))
		snprintf(buf, sizeof(buf), "the key (from %s) may not list the bucket: it needs "
			 "s3:ListBucket and s3:GetObject", c->from);
	else if (!strcmp(code, "AuthorizationHeaderMalformed") ||
		 !strcmp(code, "PermanentRedirect"))
		snprintf(buf, sizeof(buf), "check --region (%s is used)", t->region);
	else if (!strcmp(code, "ExpiredToken") || !strcmp(code, "InvalidToken"))
		snprintf(buf, sizeof(buf), "renew the session token (AWS_SESSION_TOKEN)");
	else
		snprintf(buf, sizeof(buf), "check the credentials (from %s), the bucket and "
			 "--endpoint", c->from);
	return buf;
}

#define LIST_TRIES 4

int s3_list(const struct s3_target *t, const struct s3_creds *c, unsigned page_size,
	    const char *cacert, volatile int *stop, s3_page_fn *fn, void *ctx)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	struct strbuf url = STRBUF_INIT, body = STRBUF_INIT, tok = STRBUF_INIT;
	char errbuf[CURL_ERROR_SIZE];
	char *token = NULL;
	unsigned pages = 0;
	int ret = -1;

	if (!h)
		return error("libcurl could not start a transfer");
	if (!page_size || page_size > 1000)
		page_size = 1000;
	hdrs = curl_slist_append(hdrs, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
	if (c->keys.session_token) {
		strbuf_addf(&tok, "x-amz-security-token: %s", c->keys.session_token);
		hdrs = curl_slist_append(hdrs, tok.buf);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_AWS_SIGV4, c->provider);
	curl_easy_setopt(h, CURLOPT_USERPWD, c->userpwd);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 120000L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "cachegc");
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	if (cacert)
		curl_easy_setopt(h, CURLOPT_CAINFO, cacert);
	for (;;) {
		struct s3_list_page page;
		struct parse_error perr;
		long code = 0;
		CURLcode rc = CURLE_OK;
		int tries = 0;

		/* Query parameters in the order a V4 signature sorts them. */
		strbuf_reset(&url);
		bucket_base(t, &url);
		strbuf_addch(&url, '?');
		if (token) {
			strbuf_addstr(&url, "continuation-token=");
			uri_encode(&url, token);
			strbuf_addch(&url, '&');
		}
		strbuf_addf(&url, "list-type=2&max-keys=%u", page_size);
		if (*t->prefix) {
			strbuf_addstr(&url, "&prefix=");
			uri_encode(&url, t->prefix);
		}
		curl_easy_setopt(h, CURLOPT_URL, url.buf);
		for (;;) {
			strbuf_reset(&body);
			errbuf[0] = '\0';
			rc = curl_easy_perform(h);
			code = 0;
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
			tries++;
			if (stop && *stop) {
				ret = 1;
				goto out;
			}
			if ((rc == CURLE_OK && code < 500 && code != 429) || tries == LIST_TRIES)
				break;
			sleep_ms(500u << tries, stop);
		}
		if (rc != CURLE_OK) {
			error("cannot list bucket '%s' at %s: %s; check --endpoint and the network",
			      t->bucket, t->endpoint, errbuf[0] ? errbuf : curl_easy_strerror(rc));
			goto out;
		}
		if (code != 200) {
			char *ecode = NULL, *emsg = NULL;

			if (!s3_error_parse(body.len ? body.buf : "", body.len, &ecode, &emsg) &&
			    *ecode) {
				error("S3 refused to list bucket '%s' at %s: HTTP %ld %s (%s); %s",
				      t->bucket, t->endpoint, code, ecode, emsg,
				      hint(ecode, c, t));
			} else {
				error("S3 refused to list bucket '%s' at %s: HTTP %ld; %s", t->bucket,
				      t->endpoint, code, hint("", c, t));
			}
			free(ecode);
			free(emsg);
			goto out;
		}
		if (s3_list_parse(body.len ? body.buf : "", body.len, &page, &perr)) {
			error("the listing of bucket '%s' (page %u) is not a ListObjectsV2 answer: "
			      "line %u: %s; is %s an S3 server?", t->bucket, pages + 1, perr.line,
			      perr.msg, t->endpoint);
			s3_list_page_release(&page);
			goto out;
		}
		pages++;
		if ((ret = fn(&page, ctx))) {
			s3_list_page_release(&page);
			goto out;
		}
		ret = -1;
		free(token);
		token = page.truncated ? xstrdup(page.next_token) : NULL;
		s3_list_page_release(&page);
		if (!token)
			break;
	}
	ret = 0;
out:
	free(token);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	if (tok.len)
		memset(tok.buf, 0, tok.len);
	strbuf_release(&tok);
	strbuf_release(&url);
	strbuf_release(&body);
	return ret;
}
