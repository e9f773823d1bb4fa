/*
 * cmd_crawl.c - `cachegc crawl SOURCE`: record what a binary cache holds,
 * from a directory (crawl.h), over HTTP(S) (crawl_http.h) or from an S3
 * bucket (crawl_s3.h).
 */
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cmd.h"
#include "ingest/crawl.h"
#include "ingest/crawl_http.h"
#include "ingest/crawl_s3.h"
#include "store/db.h"
#include "ingest/fetch.h"
#include "store/lookup.h"
#include "store/meta.h"
#include "lib/util.h"

/* What the options give; run() hands them to crawl_http()/crawl_dir(). */
struct crawl_opts {
	int json, strict, force, uncompressed;
	const char **root_files;   /* --roots, in order; freed by run() */
	size_t nroot_files, aroot_files;
	uint64_t jobs, tries;      /* 0: not given */
	long timeout_ms;           /* 0: not given */
	const char *cacert;
	const char *endpoint, *region, *inventory;   /* S3 */
	uint64_t page_size;
	unsigned shard_k, shard_n; /* --shard K/N; 0: not given */
	const char *crawl_id;      /* --crawl-id */
};

static int add_roots(const struct option *opt, const char *arg, void *base)
{
	struct crawl_opts *o = base;

	(void)opt;
	GROW(o->root_files, o->aroot_files, o->nroot_files + 1);
	o->root_files[o->nroot_files++] = arg;
	return 0;
}

static int parse_secs(const struct option *opt, const char *s, void *base)
{
	struct crawl_opts *o = base;
	char *end;
	double v = strtod(s, &end);

	(void)opt;
	if (end == s || *end || !isfinite(v) || v < 0.001 || v > 86400)
		return -1;
	o->timeout_ms = (long)(v * 1000.0 + 0.5);
	return 0;
}

static int parse_shard(const struct option *opt, const char *s, void *base)
{
	struct crawl_opts *o = base;

	(void)opt;
	return crawl_shard_parse(s, &o->shard_k, &o->shard_n);
}

/* A crawl id: 1 to CRAWL_NAME_MAX letters, digits and . _ - : + @ (it
 * goes on command lines and into messages: nothing to quote). */
static int parse_crawl_id(const struct option *opt, const char *s, void *base)
{
	struct crawl_opts *o = base;
	size_t n = strlen(s);

	(void)opt;
	if (!n || n > CRAWL_NAME_MAX || strspn(s, "abcdefghijklmnopqrstuvwxyz"
					       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:+@") != n)
		return -1;
	o->crawl_id = s;
	return 0;
}

static const struct option crawl_options[] = {
	OPT_FLAG("json", 0, struct crawl_opts, json, "print the summary as a JSON object"),
	OPT_FLAG("strict", 0, struct crawl_opts, strict,
		 "exit 1 unless every path got an answer: a rejected\n"
		 "narinfo or an unknown path fails the run (the crawl is\n"
		 "recorded all the same)"),
	OPT_FLAG("force", 0, struct crawl_opts, force,
		 "crawl a directory that has no nix-cache-info (refused\n"
		 "otherwise, unless the database knows it as a cache)"),
	OPT_CALLBACK("shard", "K/N", parse_shard,
		 "K/N, shard K of N (1 <= K <= N <= 1024)",
		 "crawl only the narinfos whose store hash is in shard K\n"
		 "of N (by its first characters: even, stable ranges);\n"
		 "needs --crawl-id.  A directory or a bucket, not HTTP"),
	OPT_CALLBACK("crawl-id", "NAME", parse_crawl_id,
		 "a crawl id of 1 to 128 letters, digits and . _ - : + @",
		 "the crawl the shards record together: give all N shards\n"
		 "the same NAME (and the same --now, if any)"),
	OPT_HELP("this text"),
	OPT_TEXT("\n"
		 "Sharded crawls: N processes (--shard 1/N ... N/N, one --crawl-id), on one\n"
		 "machine or many, into one database, record one crawl between them, as\n"
		 "one unsharded crawl would: its time is the first shard's, each shard\n"
		 "marks gone only paths of its own shard, and the crawl is complete (and\n"
		 "read by the analyses) when all N shards are.  A shard killed or stopped\n"
		 "mid-way leaves the crawl incomplete; run the same --shard and --crawl-id\n"
		 "again to complete it.\n"
		 "\n"
		 "An HTTP cache cannot be listed.  With --roots, the crawl fetches the\n"
		 "narinfo of every path listed and walks References to the whole closure;\n"
		 "without, it re-checks every path the database knows for this cache.  A\n"
		 "narinfo already recorded is never fetched again: only its presence is\n"
		 "checked (HEAD).  Last-Modified is the push time.  404 means absent; a path\n"
		 "whose presence cannot be determined (time-outs, 5xx, 429, 403, TLS errors,\n"
		 "a redirect to another scheme, headers too large, after every try) is\n"
		 "unknown, never absent, and only paths checked and found absent are\n"
		 "recorded as gone.  A crawl in which every request failed is recorded\n"
		 "'failed' and exits 1.\n"
		 "\n"
		 "HTTP options:\n"),
	OPT_CALLBACK("roots", "FILE", add_roots, NULL,
		 "store paths to start from, one a line ('#' comments), or\n"
		 "nix-eval-jobs output (every output of every job); '-' is\n"
		 "standard input; may be repeated"),
	OPT_COUNT("jobs", struct crawl_opts, jobs, "N", 1, 1024, NULL,
		 "requests in flight, and connections at most (default 64)"),
	OPT_COUNT("tries", struct crawl_opts, tries, "N", 1, 100, NULL,
		 "tries per request, with exponential backoff (default 5)"),
	OPT_CALLBACK("timeout", "SECS", parse_secs, "seconds (0.001 to 86400)",
		 "time limit of one try (default 120)"),
	OPT_PATH("cacert", struct crawl_opts, cacert, "FILE",
		 "also trust the CAs in FILE (TLS is always verified)"),
	OPT_FLAG("uncompressed", 0, struct crawl_opts, uncompressed,
		 "ask for narinfos as stored (Accept-Encoding: identity),\n"
		 "not compressed: spares a server that compresses them on\n"
		 "the fly, on a fast link (default: offer gzip, deflate, br\n"
		 "and zstd)"),
	OPT_TEXT("\n"
		 "A bucket is listed (ListObjectsV2, signed with AWS Signature V4): every\n"
		 "<hash>.narinfo under the prefix is present, a path present before and\n"
		 "not listed now is gone, a new narinfo is fetched once, LastModified is\n"
		 "the push time, and a listed NAR's size fills in a missing FileSize.\n"
		 "Credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN),\n"
		 "else profile $AWS_PROFILE (default 'default') of ~/.aws/credentials\n"
		 "($AWS_SHARED_CREDENTIALS_FILE); never stored.  --jobs, --tries, --timeout\n"
		 "and --cacert apply to its GETs too.\n"
		 "\n"
		 "S3 options:\n"),
	OPT_STRING("endpoint", struct crawl_opts, endpoint, "URL",
		 "an S3-compatible server, http(s)://HOST[:PORT] (path-style\n"
		 "requests); default AWS, https://BUCKET.s3.REGION.amazonaws.com"),
	OPT_STRING("region", struct crawl_opts, region, "R",
		 "the region signed for (default $AWS_REGION,\n"
		 "$AWS_DEFAULT_REGION, else us-east-1)"),
	OPT_COUNT("page-size", struct crawl_opts, page_size, "N", 1, 1000, NULL,
		 "keys per listing page (default 1000, S3's most)"),
	OPT_PATH("inventory", struct crawl_opts, inventory, "MANIFEST",
		 "read the keys from an S3 Inventory report (CSV) instead\n"
		 "of listing: its manifest.json, the .csv.gz files beside\n"
		 "it or in ../data/ (as 'aws s3 sync' lays them out)"),
	OPT_TEXT("\n"
		 "Narinfos are read as Nix 2.8 reads them.  Those Nix refuses are reported\n"
		 "(file or URL, and line), skipped, counted and kept in the crawl_rejects\n"
		 "table with the bytes their files occupy (Nix cannot substitute such a\n"
		 "path, but its files are still stored: simulate, plan and report count\n"
		 "them); the crawl goes on.  Odd forms Nix accepts (a key given twice, a\n"
		 "malformed Sig) are recorded, with a warning.  A push time (mtime or\n"
		 "Last-Modified) later than the crawl's time is recorded as the crawl's\n"
		 "time, with a warning, and counted as clamped.  Ctrl-C stops cleanly:\n"
		 "what was recorded is kept and the next crawl goes on from there.\n"
		 "\n"
		 "exit status: 0 crawl complete, 1 failed (also: every HTTP request failed,\n"
		 "or with --strict a path rejected or unknown), 2 usage error, 130\n"
		 "interrupted\n"),
	OPT_END(),
};

static const struct opt_parser crawl_parser = {
	.name = "crawl",
	.usage = "usage: cachegc [--db FILE] [--now TIME] crawl [--json] [--strict] [--force]\n"
		 "               [--shard K/N --crawl-id NAME] SOURCE\n"
		 "       cachegc [--db FILE] [--now TIME] crawl [--json] [--strict] [--roots FILE]...\n"
		 "               [--jobs N] [--tries N] [--timeout SECS] [--cacert FILE]\n"
		 "               [--uncompressed] URL\n"
		 "       cachegc [--db FILE] [--now TIME] crawl [--json] [--strict] [--force]\n"
		 "               [--endpoint URL] [--region R] [--page-size N] [--jobs N] ...\n"
		 "               s3://BUCKET[/PREFIX]\n"
		 "\n"
		 "Record every narinfo of a binary cache in the database: sizes, references,\n"
		 "signatures, push time (the narinfo's mtime) and presence.  A narinfo is\n"
		 "immutable, so a re-crawl reads only new ones and updates presence; paths\n"
		 "present at the previous crawl and missing now are recorded as gone at\n"
		 "this crawl's time (--now).\n"
		 "\n"
		 "SOURCE   a cache directory, or file:///abs/dir\n"
		 "URL      an HTTP(S) cache, http(s)://HOST[:PORT][/PREFIX]\n"
		 "s3://BUCKET[/PREFIX]   a cache in an S3 bucket (nix copy --to s3://...)\n"
		 "\n"
		 "options:\n",
	.opts = crawl_options,
	.column = 18,
};

static void on_sigint(int sig)
{
	(void)sig;
	crawl_interrupted = 1;
	fetch_stop = 1;
}

static void print_summary(int json, int http, const char *url, int64_t crawl_id,
			  const char *status, const struct crawl_counts *n,
			  const struct crawl_shard *sh)
{
	if (json) {
		json_t *o = json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
				      "crawl", (json_int_t)crawl_id, "cache", url, "status", status,
				      "new", (json_int_t)n->new_, "present", (json_int_t)n->present,
				      "gone", (json_int_t)n->gone, "rejected", (json_int_t)n->rejected,
				      "rejectedBytes", (json_int_t)n->rejected_bytes,
				      "absent", (json_int_t)n->absent, "unknown", (json_int_t)n->unknown,
				      "clamped", (json_int_t)n->clamped,
				      "paths", (json_int_t)(n->new_ + n->present));
		if (sh) {
			char b[32];
			snprintf(b, sizeof(b), "%u/%u", sh->k, sh->n);
			json_object_set_new(o, "shard", json_string(b));
			json_object_set_new(o, "crawlId", json_string(sh->name));
			json_object_set_new(o, "shardsComplete", json_integer(n->shards_complete));
			json_object_set_new(o, "crawlStatus",
					    json_string(n->shards_complete == sh->n ? "complete"
										 : "running"));
		}
		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(o);
		return;
	}
	/* url is a directory name as given, or a URL: shown escaped. */
	fprintf_printable(stdout, "crawled %s: %llu new, %llu present, %llu gone, %llu rejected",
			  url, (unsigned long long)n->new_, (unsigned long long)n->present,
			  (unsigned long long)n->gone, (unsigned long long)n->rejected);
	if (n->rejected) {
		char b[32];
		printf(" (%s stored)", format_size(n->rejected_bytes, b, sizeof(b)));
	}
	if (http)
		printf(", %llu absent, %llu unknown", (unsigned long long)n->absent,
		       (unsigned long long)n->unknown);
	if (n->clamped)
		printf(", %llu clamped", (unsigned long long)n->clamped);
	if (sh)
		printf("; shard %u/%u of crawl '%s': %u of %u shard%s complete%s", sh->k, sh->n,
		       sh->name, n->shards_complete, sh->n, sh->n == 1 ? "" : "s",
		       n->shards_complete == sh->n ? ", the crawl is complete" : "");
	if (!strcmp(status, "interrupted"))
		fputs(sh ? " (interrupted: run this shard again to finish)"
			 : " (interrupted: run crawl again to finish)", stdout);
	else if (!strcmp(status, "failed"))
		fputs(" (failed: no request got an answer)", stdout);
	putchar('\n');
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	extern const struct cmd cmd_crawl;
	struct crawl_http_options ho;
	struct crawl_s3_options so;
	struct crawl_roots roots;
	struct crawl_opts o = {0};
	const char *source = NULL, **root_files = NULL;
	size_t nroot_files = 0;
	struct crawl_counts n;
	char *url = NULL, *store_dir = NULL;
	int64_t crawl_id = 0;
	int json = 0, strict = 0, http, s3, http_opts = 0, rc, ret = 1, k;
	struct sigaction sa;
	struct crawl_shard shard, *sh = NULL;

	memset(&ho, 0, sizeof(ho));
	memset(&so, 0, sizeof(so));
	memset(&roots, 0, sizeof(roots));
	k = parse_options(&crawl_parser, argc, argv, &o);
	root_files = o.root_files;
	nroot_files = o.nroot_files;
	if (k < 0) {
		ret = parse_options_exit(k);
		goto out;
	}
	json = o.json;
	strict = o.strict;
	ho.jobs = (int)o.jobs;
	ho.tries = (int)o.tries;
	ho.timeout_ms = o.timeout_ms;
	ho.cacert = o.cacert;
	ho.identity = o.uncompressed;
	http_opts = nroot_files || o.jobs || o.tries || o.timeout_ms || o.cacert ||
		    o.uncompressed;
	if (k > 1) {
		ret = cmd_usage_error(&cmd_crawl, "only one SOURCE per crawl");
		goto out;
	}
	if (k == 1)
		source = argv[0];
	if (!source) {
		ret = cmd_usage_error(&cmd_crawl, "missing SOURCE (a cache directory or URL)");
		goto out;
	}
	http = !strncasecmp(source, "http://", 7) || !strncasecmp(source, "https://", 8);
	s3 = !strncmp(source, "s3://", 5);
	if ((o.endpoint || o.region || o.page_size || o.inventory) && !s3) {
		ret = cmd_usage_error(&cmd_crawl, "--endpoint, --region, --page-size and "
				      "--inventory are for s3:// buckets");
		goto out;
	}
	if (s3 && nroot_files) {
		ret = cmd_usage_error(&cmd_crawl, "--roots is for HTTP(S) caches; a bucket is "
				      "listed whole");
		goto out;
	}
	if (!http && !s3) {
		if (!strncmp(source, "file://", 7)) {
			source += 7;
		} else if (strstr(source, "://")) {
			ret = cmd_usage_error(&cmd_crawl, "unsupported URL scheme in '%s'", source);
			goto out;
		}
		if (http_opts) {
			ret = cmd_usage_error(&cmd_crawl, "--roots, --jobs, --tries, --timeout, "
					      "--cacert and --uncompressed are for HTTP(S) caches; a "
					      "directory is read whole");
			goto out;
		}
	}
	if (o.crawl_id && !o.shard_n) {
		ret = cmd_usage_error(&cmd_crawl, "--crawl-id names a sharded crawl: give "
				      "--shard K/N too");
		goto out;
	}
	if (o.shard_n) {
		if (!o.crawl_id) {
			ret = cmd_usage_error(&cmd_crawl, "--shard %u/%u needs --crawl-id NAME, the "
					      "same for all %u shards of the crawl", o.shard_k,
					      o.shard_n, o.shard_n);
			goto out;
		}
		if (http) {
			ret = cmd_usage_error(&cmd_crawl, "--shard is for a directory or an s3:// "
					      "bucket: an HTTP cache cannot be listed, so there is no "
					      "shard of it to read (its crawl walks references, "
					      "across shards); crawl the directory or bucket behind it");
			goto out;
		}
		shard.k = o.shard_k;
		shard.n = o.shard_n;
		shard.name = o.crawl_id;
		sh = &shard;
	}
	if (http && o.force) {
		ret = cmd_usage_error(&cmd_crawl, "--force is for a cache directory without "
				      "nix-cache-info; an HTTP cache without one is a wrong URL");
		goto out;
	}
	if (http && nroot_files) {
		if (!(store_dir = db_store_dir(ctx->db)))
			goto out;
		for (size_t i = 0; i < nroot_files; i++)
			if (crawl_roots_read(&roots, root_files[i], store_dir) < 0)
				goto out;
		if (!roots.n) {
			error("no store paths in the roots file%s%s", nroot_files > 1 ? "s" : "",
			      roots.eval_errors ? " (only jobs that failed to evaluate)" : "");
			goto out;
		}
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	memset(&n, 0, sizeof(n));
	if (s3) {
		so.url = source;
		so.endpoint = o.endpoint;
		so.region = o.region;
		so.page_size = (unsigned)o.page_size;
		so.jobs = (int)o.jobs;
		so.tries = (int)o.tries;
		so.timeout_ms = o.timeout_ms;
		so.cacert = o.cacert;
		so.force = o.force;
		so.inventory = o.inventory;
		so.shard = sh;
		rc = crawl_s3(ctx->db, &so, &n, &crawl_id, &url);
	} else if (http) {
		ho.url = source;
		ho.roots = nroot_files ? &roots : NULL;
		rc = crawl_http(ctx->db, &ho, &n, &crawl_id, &url);
	} else {
		rc = crawl_dir_shard(ctx->db, source, o.force, sh, &n, &crawl_id, &url);
	}
	if (rc < 0)
		goto out;
	if (rc && !crawl_id) {
		error("interrupted before the crawl started; nothing was recorded");
		ret = 130;
		goto out;
	}
	if (rc == 2) {
		/* crawl_http: it ran, and no request got an answer. */
		error("every request to '%s' failed (%llu path%s unknown): the crawl is "
		      "recorded as failed, presence stays as the last crawl left it; see the "
		      "messages above, or the path_checks table", url,
		      (unsigned long long)n.unknown, n.unknown == 1 ? "" : "s");
		print_summary(json, http, url, crawl_id, "failed", &n, NULL);
		ret = 1;
		goto out;
	}
	if (n.unknown)
		warning("%llu path%s could not be checked and %s recorded as unknown; "
			"the next crawl asks again", (unsigned long long)n.unknown,
			n.unknown == 1 ? "" : "s", n.unknown == 1 ? "is" : "are");
	print_summary(json, http, url, crawl_id, rc ? "interrupted" : "complete", &n, sh);
	ret = rc ? 130 : 0;
	if (!rc && strict && (n.unknown || n.rejected)) {
		error("--strict: %llu narinfo%s rejected and %llu path%s unknown; the crawl is "
		      "recorded, but not every path got an answer",
		      (unsigned long long)n.rejected, n.rejected == 1 ? "" : "s",
		      (unsigned long long)n.unknown, n.unknown == 1 ? "" : "s");
		ret = 1;
	}
out:
	crawl_roots_release(&roots);
	free(root_files);
	free(store_dir);
	free(url);
	return ret;
}

const struct cmd cmd_crawl = {
	.name = "crawl",
	.summary = "record what a binary cache holds (narinfos, presence over time)",
	.options = &crawl_parser,
	.db = DB_WRITE,
	.run = run,
};
