/*
 * cmd_crawl.c - `cachegc crawl SOURCE`: record what a binary cache holds,
 * from a directory (crawl.h) or over HTTP(S) (crawl_http.h).
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
#include "store/db.h"
#include "ingest/fetch.h"
#include "store/lookup.h"
#include "store/meta.h"
#include "lib/util.h"

static const char usage[] =
	"usage: cachegc [--db FILE] [--now TIME] crawl [--json] [--strict] SOURCE\n"
	"       cachegc [--db FILE] [--now TIME] crawl [--json] [--strict] [--roots FILE]...\n"
	"               [--jobs N] [--tries N] [--timeout SECS] [--cacert FILE] URL\n"
	"\n"
	"Record every narinfo of a binary cache in the database: sizes, references,\n"
	"signatures, push time (the narinfo's mtime) and presence.  A narinfo is\n"
	"immutable, so a re-crawl reads only new ones and updates presence; paths\n"
	"present at the previous crawl and missing now are recorded as gone at\n"
	"this crawl's time (--now).\n"
	"\n"
	"SOURCE   a cache directory, or file:///abs/dir\n"
	"URL      an HTTP(S) cache, http(s)://HOST[:PORT][/PREFIX]\n"
	"\n"
	"options:\n"
	"  --json          print the summary as a JSON object\n"
	"  --strict        exit 1 unless every path got an answer: a rejected\n"
	"                  narinfo or an unknown path fails the run (the crawl is\n"
	"                  recorded all the same)\n"
	"  --help          this text\n"
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
	"HTTP options:\n"
	"  --roots FILE    store paths to start from, one a line ('#' comments), or\n"
	"                  nix-eval-jobs output (every output of every job); '-' is\n"
	"                  standard input; may be repeated\n"
	"  --jobs N        requests in flight, and connections at most (default 64)\n"
	"  --tries N       tries per request, with exponential backoff (default 5)\n"
	"  --timeout SECS  time limit of one try (default 120)\n"
	"  --cacert FILE   also trust the CAs in FILE (TLS is always verified)\n"
	"\n"
	"Corrupt narinfos are reported (file or URL, and line), skipped, counted and\n"
	"kept in the crawl_rejects table; the crawl goes on.  A push time (mtime or\n"
	"Last-Modified) later than the crawl's time is recorded as the crawl's\n"
	"time, with a warning, and counted as clamped.  Ctrl-C stops cleanly:\n"
	"what was recorded is kept and the next crawl goes on from there.\n"
	"\n"
	"exit status: 0 crawl complete, 1 failed (also: every HTTP request failed,\n"
	"or with --strict a path rejected or unknown), 2 usage error, 130\n"
	"interrupted\n";

static void on_sigint(int sig)
{
	(void)sig;
	crawl_interrupted = 1;
	fetch_stop = 1;
}

static void print_summary(int json, int http, const char *url, int64_t crawl_id,
			  const char *status, const struct crawl_counts *n)
{
	if (json) {
		json_t *o = json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
				      "crawl", (json_int_t)crawl_id, "cache", url, "status", status,
				      "new", (json_int_t)n->new_, "present", (json_int_t)n->present,
				      "gone", (json_int_t)n->gone, "rejected", (json_int_t)n->rejected,
				      "absent", (json_int_t)n->absent, "unknown", (json_int_t)n->unknown,
				      "clamped", (json_int_t)n->clamped,
				      "paths", (json_int_t)(n->new_ + n->present));
		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(o);
		return;
	}
	/* url is a directory name as given, or a URL: shown escaped. */
	fprintf_printable(stdout, "crawled %s: %llu new, %llu present, %llu gone, %llu rejected",
			  url, (unsigned long long)n->new_, (unsigned long long)n->present,
			  (unsigned long long)n->gone, (unsigned long long)n->rejected);
	if (http)
		printf(", %llu absent, %llu unknown", (unsigned long long)n->absent,
		       (unsigned long long)n->unknown);
	if (n->clamped)
		printf(", %llu clamped", (unsigned long long)n->clamped);
	if (!strcmp(status, "interrupted"))
		fputs(" (interrupted: run crawl again to finish)", stdout);
	else if (!strcmp(status, "failed"))
		fputs(" (failed: no request got an answer)", stdout);
	putchar('\n');
}

/* cmd_take_opt() as the value, or NULL when argv[*i] is another option;
 * *missing is set when the value is. */
static const char *opt_value(int argc, char **argv, int *i, const char *opt, int *missing)
{
	const char *v = NULL;
	int r = cmd_take_opt(argc, argv, i, opt, &v);

	if (r < 0)
		*missing = 1;
	return r > 0 ? v : NULL;
}

static int parse_count(const char *s, int max, int *out)
{
	uint64_t v;

	if (parse_uint(s, &v) || v < 1 || v > (uint64_t)max)
		return -1;
	*out = (int)v;
	return 0;
}

static int parse_secs(const char *s, long *ms)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !isfinite(v) || v < 0.001 || v > 86400)
		return -1;
	*ms = (long)(v * 1000.0 + 0.5);
	return 0;
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	extern const struct cmd cmd_crawl;
	struct crawl_http_options ho;
	struct crawl_roots roots;
	const char *source = NULL, *v, **root_files = NULL;
	size_t nroot_files = 0, aroot_files = 0;
	struct crawl_counts n;
	char *url = NULL, *store_dir = NULL;
	int64_t crawl_id = 0;
	int json = 0, strict = 0, http, http_opts = 0, rc, ret = 1;
	struct sigaction sa;

	memset(&ho, 0, sizeof(ho));
	memset(&roots, 0, sizeof(roots));
	for (int i = 1; i < argc; i++) {
		int missing = 0;

		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--strict")) {
			strict = 1;
		} else if ((v = opt_value(argc, argv, &i, "--roots", &missing))) {
			GROW(root_files, aroot_files, nroot_files + 1);
			root_files[nroot_files++] = v;
			http_opts = 1;
		} else if ((v = opt_value(argc, argv, &i, "--jobs", &missing))) {
			if (parse_count(v, 1024, &ho.jobs)) {
				ret = cmd_usage_error(&cmd_crawl, "--jobs wants 1 to 1024, not '%s'", v);
				goto out;
			}
			http_opts = 1;
		} else if ((v = opt_value(argc, argv, &i, "--tries", &missing))) {
			if (parse_count(v, 100, &ho.tries)) {
				ret = cmd_usage_error(&cmd_crawl, "--tries wants 1 to 100, not '%s'", v);
				goto out;
			}
			http_opts = 1;
		} else if ((v = opt_value(argc, argv, &i, "--timeout", &missing))) {
			if (parse_secs(v, &ho.timeout_ms)) {
				ret = cmd_usage_error(&cmd_crawl,
						      "--timeout wants seconds (0.001 to 86400), not '%s'", v);
				goto out;
			}
			http_opts = 1;
		} else if ((v = opt_value(argc, argv, &i, "--cacert", &missing))) {
			ho.cacert = v;
			http_opts = 1;
		} else if (missing) {
			ret = cmd_usage_error(&cmd_crawl, "option '%s' needs a value", argv[i]);
			goto out;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			ret = cmd_usage_error(&cmd_crawl, "unknown option '%s'", argv[i]);
			goto out;
		} else if (source) {
			ret = cmd_usage_error(&cmd_crawl, "only one SOURCE per crawl");
			goto out;
		} else {
			source = argv[i];
		}
	}
	if (!source) {
		ret = cmd_usage_error(&cmd_crawl, "missing SOURCE (a cache directory or URL)");
		goto out;
	}
	http = !strncasecmp(source, "http://", 7) || !strncasecmp(source, "https://", 8);
	if (!http) {
		if (!strncmp(source, "file://", 7)) {
			source += 7;
		} else if (strstr(source, "://")) {
			ret = cmd_usage_error(&cmd_crawl, "unsupported URL scheme in '%s'", source);
			goto out;
		}
		if (http_opts) {
			ret = cmd_usage_error(&cmd_crawl, "--roots, --jobs, --tries, --timeout and "
					      "--cacert are for HTTP(S) caches; a directory is read whole");
			goto out;
		}
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
	if (http) {
		ho.url = source;
		ho.roots = nroot_files ? &roots : NULL;
		rc = crawl_http(ctx->db, &ho, &n, &crawl_id, &url);
	} else {
		rc = crawl_dir(ctx->db, source, &n, &crawl_id, &url);
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
		print_summary(json, http, url, crawl_id, "failed", &n);
		ret = 1;
		goto out;
	}
	if (n.unknown)
		warning("%llu path%s could not be checked and %s recorded as unknown; "
			"the next crawl asks again", (unsigned long long)n.unknown,
			n.unknown == 1 ? "" : "s", n.unknown == 1 ? "is" : "are");
	print_summary(json, http, url, crawl_id, rc ? "interrupted" : "complete", &n);
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
	.usage = usage,
	.db = DB_WRITE,
	.run = run,
};
