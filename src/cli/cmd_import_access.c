/*
 * cmd_import_access.c - `cachegc import-access LOG...`: the last access per
 * path and day from web server (nginx/Apache combined) and S3 server
 * access logs, into the tables of sql/004_gc.sql that the GC models read.
 * Options and output only: the import itself is ingest/access_import.c.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "nix/accesslog.h"
#include "ingest/access_import.h"
#include "store/lookup.h"
#include "lib/util.h"

struct import_access_cli {
	const char *cache, *format, *prefix;
	int json;
};

static int check_format(const struct option *opt, const char *v, void *base)
{
	enum access_format f;

	(void)opt;
	if (access_format_parse(v, &f))
		return -1;
	((struct import_access_cli *)base)->format = v;
	return 0;
}

static int check_prefix(const struct option *opt, const char *v, void *base)
{
	char buf[ACCESS_MAX_PATH + 2];

	(void)opt;
	if (access_prefix_normalize(v, buf, sizeof(buf)))
		return -1;
	((struct import_access_cli *)base)->prefix = v;
	return 0;
}

static const struct option import_access_options[] = {
	OPT_STRING("cache", struct import_access_cli, cache, "CACHE",
		 "the cache (URL, directory or id); default: the only one"),
	OPT_CALLBACK_OF("format", "F", check_format, "combined, s3 or auto", access_format_names,
		 "combined, s3 or auto (default auto)"),
	OPT_CALLBACK("prefix", "PATH", check_prefix, "a URL path such as / or /cache/",
		 "the URL path of the cache root in the logs, e.g. /cache/\n"
		 "for a cache served at https://host/cache (default: the\n"
		 "path of the cache's http(s) URL, else /)"),
	OPT_FLAG("json", 0, struct import_access_cli, json,
		 "print an array with one object per log: file, status\n"
		 "(imported, already-imported, empty, failed), logId,\n"
		 "format, digest, lines, requests, matched, recorded,\n"
		 "unknown, ignored, malformed, paths, days, firstAt,\n"
		 "lastAt, problems [{line, message}], error,\n"
		 "suggestedPrefix"),
	OPT_HELP("this text"),
	OPT_TEXT("\n"
		 "Per log: lines = requests + ignored + malformed (blank lines are ignored);\n"
		 "requests = matched + unknown (matched: for paths the database knows);\n"
		 "recorded, paths, days, firstAt and lastAt say what this run wrote: all\n"
		 "zero or null unless the status is imported.\n"
		 "\n"
		 "A log from which nothing can be recorded fails and is not marked imported,\n"
		 "so a corrected run imports it: the message says why and, when the requests\n"
		 "name this cache's narinfos or NARs under another URL path, which --prefix\n"
		 "they suggest (suggestedPrefix in --json).\n"
		 "\n"
		 "Exit status: 0 when every log was imported (or already was, or empty), 1\n"
		 "when a log could not be read, held no usable line or nothing to record\n"
		 "(the others are still imported), 2 for a usage error.\n"),
	OPT_END(),
};

static const struct opt_parser import_access_parser = {
	.name = "import-access",
	.usage = "usage: cachegc import-access [--cache CACHE] [--format combined|s3|auto]\n"
		 "                             [--prefix PATH] [--json] LOG...\n"
		 "\n"
		 "Record when the cache's clients fetched each path, from its access logs:\n"
		 "per path and UTC day, the narinfo requests and NAR downloads that\n"
		 "succeeded, how many, and the last of each kind.  The GC models read them\n"
		 "('cachegc simulate' and 'cachegc plan evict' with --policy cachix, which\n"
		 "evicts the least recently accessed paths first, or attic, which keeps\n"
		 "paths downloaded within the retention).\n"
		 "\n"
		 "What counts as an access:\n"
		 "  - a GET or HEAD of PREFIX<hash>.narinfo, answered 2xx or 304: an access\n"
		 "    of the path with that hash;\n"
		 "  - a GET of a NAR, answered 2xx (206 partial content too) or 304: an\n"
		 "    access of every path whose narinfo's URL names that file (relative to\n"
		 "    PREFIX, e.g. nar/<hash>.nar.xz; a URL's query is not part of the file).\n"
		 "    A request that names a store hash, as harmonia's\n"
		 "    nar/<narhash>.nar?hash=<store hash> and nix-serve's\n"
		 "    nar/<store hash>-<narhash>.nar do, is an access of that path alone,\n"
		 "    when its narinfo names that file or NAR hash; a nar/<narhash>.nar\n"
		 "    no URL names is an access of every path with that NarHash.\n"
		 "Query strings are stripped and %XX decoded.  Failed requests (404, 5xx),\n"
		 "other methods, NAR HEADs and other files are ignored; requests for\n"
		 "narinfos or NARs the database does not know for this cache are counted\n"
		 "as unknown and not kept, so crawl the cache before importing its logs.\n"
		 "\n"
		 "Formats (--format; auto: the first line that parses decides, per log):\n"
		 "  combined  nginx's and Apache's combined or common log format:\n"
		 "            HOST IDENT USER [10/Oct/2024:13:55:36 +0200] \"GET /PATH HTTP/1.1\"\n"
		 "            STATUS BYTES [\"REFERER\" \"AGENT\" ...]; time zones are honoured\n"
		 "  s3        S3 server access logs: OWNER BUCKET [TIME] IP REQUESTER ID\n"
		 "            OPERATION KEY \"REQUEST-URI\" STATUS ...; REST.GET.OBJECT and\n"
		 "            REST.HEAD.OBJECT (and WEBSITE.*) count; the key is taken as\n"
		 "            the path \"/KEY\"\n"
		 "Lines that are not in the format (or longer than 64 KiB, or holding\n"
		 "control characters) are malformed: the first few are shown with\n"
		 "file:line, all are counted, and the rest of the log is imported.\n"
		 "\n"
		 "A LOG is a file, '-' for standard input, or gzip-compressed (detected by\n"
		 "its magic bytes); at most 4 GiB once decompressed, read as a stream.  Each\n"
		 "log is imported in one transaction and recorded in access_logs with the\n"
		 "SHA-256 of its (decompressed) content: the same content imported again,\n"
		 "under any name or compressed, is skipped ('already imported'), so hits\n"
		 "never count twice.  Import rotated logs (access.log.1, *.gz): a log that\n"
		 "is still being written has other content tomorrow and would count again.\n"
		 "\n"
		 "options:\n",
	.opts = import_access_options,
	.column = 19,
};

const struct cmd cmd_import_access;

/* ---- output ------------------------------------------------------------------ */

static void print_text(const struct access_log_result *r)
{
	char t1[32], t2[32];

	if (!strcmp(r->status, "empty")) {
		fprintf_printable(stdout, "'%s': no log lines; nothing imported\n", r->src);
		return;
	}
	if (!strcmp(r->status, "already-imported")) {
		fprintf_printable(stdout, "'%s': already imported as log %lld (from '%s' at %s); "
		       "nothing changed\n", r->src, (long long)r->log_id, r->prev_source,
		       format_time(r->prev_at, t1, sizeof(t1)));
		return;
	}
	fprintf_printable(stdout, "'%s': imported as log %lld (%s): %llu lines, %llu requests "
	       "(%llu recorded, %llu unknown), %llu ignored, %llu malformed", r->src, (long long)r->log_id,
	       access_format_name(r->format), (unsigned long long)r->lines,
	       (unsigned long long)r->requests, (unsigned long long)r->recorded,
	       (unsigned long long)r->unknown, (unsigned long long)r->ignored,
	       (unsigned long long)r->malformed);
	if (r->recorded)
		printf("; %zu path%s, %s to %s", r->paths, r->paths == 1 ? "" : "s", format_time(r->first_at, t1, sizeof(t1)),
		       format_time(r->last_at, t2, sizeof(t2)));
	putchar('\n');
}

static json_t *result_json(const struct access_log_result *r)
{
	json_t *o = json_object(), *probs = json_array();
	int wrote = !strcmp(r->status, "imported");
	char t[32];

	json_object_set_new(o, "file", json_string(r->src));
	json_object_set_new(o, "status", json_string(r->status));
	json_object_set_new(o, "logId", r->log_id ? json_integer(r->log_id) : json_null());
	json_object_set_new(o, "format", r->format == ACCESS_FMT_AUTO ? json_null()
				: json_string(access_format_name(r->format)));
	json_object_set_new(o, "digest", r->digest[0] ? json_string(r->digest) : json_null());
	json_object_set_new(o, "lines", json_integer((json_int_t)r->lines));
	json_object_set_new(o, "requests", json_integer((json_int_t)r->requests));
	json_object_set_new(o, "matched", json_integer((json_int_t)r->recorded));
	json_object_set_new(o, "recorded", json_integer(wrote ? (json_int_t)r->recorded : 0));
	json_object_set_new(o, "unknown", json_integer((json_int_t)r->unknown));
	json_object_set_new(o, "ignored", json_integer((json_int_t)r->ignored));
	json_object_set_new(o, "malformed", json_integer((json_int_t)r->malformed));
	json_object_set_new(o, "paths", json_integer(wrote ? (json_int_t)r->paths : 0));
	json_object_set_new(o, "days", json_integer(wrote ? (json_int_t)r->days : 0));
	json_object_set_new(o, "firstAt", wrote && r->first_at >= 0 ?
			    json_string(format_time(r->first_at, t, sizeof(t))) : json_null());
	json_object_set_new(o, "lastAt", wrote && r->last_at >= 0 ?
			    json_string(format_time(r->last_at, t, sizeof(t))) : json_null());
	for (size_t i = 0; i < r->nproblems; i++)
		json_array_append_new(probs, json_pack("{s:I, s:s}", "line",
						       (json_int_t)r->problems[i].line,
						       "message", r->problems[i].msg));
	json_object_set_new(o, "problems", probs);
	if (!strcmp(r->status, "already-imported")) {
		json_object_set_new(o, "importedFrom", json_string(r->prev_source));
		json_object_set_new(o, "importedAt",
				    json_string(format_time(r->prev_at, t, sizeof(t))));
	}
	if (!strcmp(r->status, "failed")) {
		json_object_set_new(o, "error", json_string(r->error[0] ? r->error
							    : "failed; see the messages above"));
		json_object_set_new(o, "suggestedPrefix", r->suggested[0] ?
				    json_string(r->suggested) : json_null());
	}
	return o;
}

/* The URL path of an http(s) cache URL ("http://h:1/a/b" -> "/a/b"); "/"
 * for any other cache. */
static const char *url_path(const char *url)
{
	const char *p;

	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		return "/";
	p = strstr(url, "://") + 3;
	p = strchr(p, '/');
	return p ? p : "/";
}

static int run(struct cmd_ctx *cctx, int argc, char **argv)
{
	const char *cache = NULL, *format = NULL, *prefix = NULL;
	const char **files = NULL;
	size_t nfiles = 0, afiles = 0;
	struct import_access_cli a = {0};
	int json = 0, rc = 0, n;
	struct access_import *c = NULL;
	json_t *arr = NULL;
	char *url = NULL;

	if ((n = parse_options(&import_access_parser, argc, argv, &a)) < 0)
		return parse_options_exit(n);
	cache = a.cache;
	format = a.format;
	prefix = a.prefix;
	json = a.json;
	for (int i = 0; i < n; i++) {
		GROW(files, afiles, nfiles + 1);
		files[nfiles++] = argv[i];
	}
	if (!nfiles) {
		rc = cmd_usage_error(&cmd_import_access, "no LOG given ('-' reads standard input)");
		goto out;
	}
	c = xcalloc(1, sizeof(*c));
	c->db = cctx->db;
	access_index_init(&c->ix);
	/* Both were checked by the option parser. */
	if (format)
		access_format_parse(format, &c->format);
	if (prefix)
		access_prefix_normalize(prefix, c->prefix, sizeof(c->prefix));
	/* cache_resolve may free *url on failure without clearing it */
	if (cache_resolve(c->db, cache, &c->cache_id, &url)) {
		rc = 1;
		goto out;
	}
	c->cache_url = url;
	if (!prefix && access_prefix_normalize(url_path(c->cache_url), c->prefix,
					       sizeof(c->prefix))) {
		error("the path of the cache URL '%s' is not usable as a prefix; give --prefix",
		      c->cache_url);
		rc = 1;
		goto out;
	}
	if (access_import_load_index(c)) {
		rc = 1;
		goto out;
	}
	if (json)
		arr = json_array();
	for (size_t i = 0; i < nfiles; i++) {
		struct access_log_result *r = xcalloc(1, sizeof(*r));
		if (access_import_one(c, files[i], r)) {
			rc = 1;
			if (r->error[0])
				error("%s", r->error);
		}
		if (arr)
			json_array_append_new(arr, result_json(r));
		else if (strcmp(r->status, "failed"))
			print_text(r);
		fflush(stdout);
		free(r);
	}
	if (arr) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
	}
out:
	json_decref(arr);
	if (c) {
		access_index_release(&c->ix);
		free(c->cache_url);
		free(c);
	}
	free(files);
	return rc;
}

const struct cmd cmd_import_access = {
	"import-access",
	"record the last access per path from nginx/Apache or S3 access logs",
	&import_access_parser,
	DB_WRITE,
	run,
};
