/*
 * cmd_crawl.c - `cachegc crawl SOURCE`: record what a binary cache holds.
 */
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "crawl.h"
#include "db.h"
#include "util.h"

static const char usage[] =
	"usage: cachegc [--db FILE] [--now TIME] crawl [--json] SOURCE\n"
	"\n"
	"Record every narinfo of a binary cache in the database: sizes, references,\n"
	"signatures, push time (the narinfo's mtime) and presence.  A narinfo is\n"
	"immutable, so a re-crawl reads only new ones and updates presence; paths\n"
	"present at the previous crawl and missing now are recorded as gone at\n"
	"this crawl's time (--now).\n"
	"\n"
	"SOURCE   a cache directory, or file:///abs/dir\n"
	"\n"
	"options:\n"
	"  --json   print the summary as a JSON object\n"
	"  --help   this text\n"
	"\n"
	"Corrupt narinfos are reported (file and line), skipped, counted and kept in\n"
	"the crawl_rejects table; the crawl goes on.  Ctrl-C stops cleanly: what was\n"
	"recorded is kept and the next crawl goes on from there.\n"
	"\n"
	"exit status: 0 crawl complete, 1 failed, 2 usage error, 130 interrupted\n";

static void on_sigint(int sig)
{
	(void)sig;
	crawl_interrupted = 1;
}

static void print_summary(int json, const char *url, int64_t crawl_id, const char *status,
			  const struct crawl_counts *n)
{
	if (json) {
		json_t *o = json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
				      "crawl", (json_int_t)crawl_id, "cache", url, "status", status,
				      "new", (json_int_t)n->new_, "present", (json_int_t)n->present,
				      "gone", (json_int_t)n->gone, "rejected", (json_int_t)n->rejected,
				      "absent", (json_int_t)n->absent, "unknown", (json_int_t)n->unknown,
				      "paths", (json_int_t)(n->new_ + n->present));
		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(o);
		return;
	}
	printf("crawled %s: %llu new, %llu present, %llu gone, %llu rejected%s\n", url,
	       (unsigned long long)n->new_, (unsigned long long)n->present,
	       (unsigned long long)n->gone, (unsigned long long)n->rejected,
	       strcmp(status, "complete") ? " (interrupted: run crawl again to finish)" : "");
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	extern const struct cmd cmd_crawl;
	const char *source = NULL;
	struct crawl_counts n;
	char *url = NULL;
	int64_t crawl_id = 0;
	int json = 0, rc;
	struct sigaction sa;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (argv[i][0] == '-' && argv[i][1])
			return cmd_usage_error(&cmd_crawl, "unknown option '%s'", argv[i]);
		else if (source)
			return cmd_usage_error(&cmd_crawl, "only one SOURCE per crawl");
		else
			source = argv[i];
	}
	if (!source)
		return cmd_usage_error(&cmd_crawl, "missing SOURCE (a cache directory or URL)");
	if (!strncmp(source, "http://", 7) || !strncmp(source, "https://", 8)) {
		error("crawling over HTTP is not supported by this build yet; "
		      "crawl a local copy or file:// directory");
		return 1;
	}
	if (!strncmp(source, "file://", 7))
		source += 7;
	else if (strstr(source, "://"))
		return cmd_usage_error(&cmd_crawl, "unsupported URL scheme in '%s'", source);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	memset(&n, 0, sizeof(n));
	rc = crawl_dir(ctx->db, source, &n, &crawl_id, &url);
	if (rc < 0)
		return 1;
	print_summary(json, url, crawl_id, rc ? "interrupted" : "complete", &n);
	free(url);
	return rc ? 130 : 0;
}

const struct cmd cmd_crawl = {
	.name = "crawl",
	.summary = "record what a binary cache holds (narinfos, presence over time)",
	.usage = usage,
	.db = DB_WRITE,
	.run = run,
};
