/*
 * cmd_import_hydra.c - `cachegc import-hydra URL --jobset PROJECT:JOBSET`:
 * follow a Hydra's jobsets, recording every new evaluation with its jobs
 * and builds.  The work is hydra_import() (ingest/hydra.c); this file reads
 * options and the map and prints the summary.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "ingest/fetch.h"
#include "ingest/hydra.h"
#include "store/db.h"
#include "lib/linereader.h"
#include "lib/util.h"

#define MAP_MAX (1024u * 1024)

struct import_hydra_cli {
	const char **jobsets;      /* --jobset, in order */
	size_t njobsets, ajobsets;
	const char *map;
	int64_t since;             /* INT64_MIN: not given */
	uint64_t jobs, tries;
	long timeout_ms;
	const char *cacert;
	int json;
};

static int add_jobset(const struct option *opt, const char *arg, void *base)
{
	struct import_hydra_cli *o = base;

	(void)opt;
	GROW(o->jobsets, o->ajobsets, o->njobsets + 1);
	o->jobsets[o->njobsets++] = arg;
	return 0;
}

static int parse_secs(const struct option *opt, const char *s, void *base)
{
	struct import_hydra_cli *o = base;
	char *end;
	double v = strtod(s, &end);

	(void)opt;
	if (end == s || *end || !isfinite(v) || v < 0.001 || v > 86400)
		return -1;
	o->timeout_ms = (long)(v * 1000.0 + 0.5);
	return 0;
}

static const struct option import_hydra_options[] = {
	OPT_CALLBACK("jobset", "PROJECT:JOBSET", add_jobset, NULL,
		 "a jobset to follow; may be repeated (default: every\n"
		 "jobset of --map)"),
	OPT_PATH("map", struct import_hydra_cli, map, "FILE",
		 "what each jobset stands for, one line per jobset:\n"
		 "  PROJECT:JOBSET [branch=B] [capabilities=C] [system=S]\n"
		 "                 [input=NAME]\n"
		 "'#' comments; defaults: branch from the input's branch\n"
		 "(else the jobset's name), capabilities 'none', system\n"
		 "from the builds (one evaluation per system), input\n"
		 "'nixpkgs' (else the jobset's expression input), whose\n"
		 "revision is the evaluation's rev"),
	OPT_TIME("since", struct import_hydra_cli, since, "TIME",
		 "leave evaluations older than TIME alone"),
	OPT_COUNT("jobs", struct import_hydra_cli, jobs, "N", 1, 1024, NULL,
		 "requests in flight (default 16)"),
	OPT_COUNT("tries", struct import_hydra_cli, tries, "N", 1, 100, NULL,
		 "tries per request, with exponential backoff (default 5)"),
	OPT_CALLBACK("timeout", "SECS", parse_secs, "seconds (0.001 to 86400)",
		 "time limit of one try (default 120)"),
	OPT_PATH("cacert", struct import_hydra_cli, cacert, "FILE",
		 "also trust the CAs in FILE (TLS is always verified)"),
	OPT_FLAG("json", 0, struct import_hydra_cli, json, "print the summary as JSON"),
	OPT_HELP(NULL),
	OPT_TEXT("  URL                 the Hydra, http(s)://HOST[:PORT][/PREFIX]\n"
		 "\n"
		 "Each run reads the jobset's evaluations newest first (page by page) down\n"
		 "to the newest one recorded, and records the new ones oldest first, each in\n"
		 "one transaction with its jobs (one per build: the job name without its\n"
		 "'.SYSTEM' as attr, buildoutputs as outputs) and build outcomes, as\n"
		 "import-eval and import-builds record them.  Builds that were queued are\n"
		 "asked for again; a finished one's outcome replaces the queued one.  An\n"
		 "evaluation that cannot be recorded (HTML instead of JSON, a 404, a page\n"
		 "or build that is not what Hydra's API gives, a build without outputs, HTTP\n"
		 "errors after every try) is named with its URL and stops its jobset; the\n"
		 "next run starts there again.  Ctrl-C keeps what was recorded.\n"
		 "\n"
		 "Exit status: 0 every jobset complete, 1 one failed, 2 usage error,\n"
		 "130 interrupted.\n"),
	OPT_END(),
};

static const struct opt_parser import_hydra_parser = {
	.name = "import-hydra",
	.usage = "usage: cachegc import-hydra URL --jobset PROJECT:JOBSET [--jobset ...]\n"
		 "                            [--map FILE] [--since TIME] [--jobs N] [--json]\n"
		 "\n"
		 "Follow a Hydra: record its jobsets' new evaluations, their jobs and their\n"
		 "builds from its JSON API, incrementally.\n"
		 "\n"
		 "options:\n",
	.opts = import_hydra_options,
	.column = 22,
};

const struct cmd cmd_import_hydra;

static void on_sigint(int sig)
{
	(void)sig;
	fetch_stop = 1;
}

static int read_map(const char *path, struct hydra_jobset_arg **v, size_t *n)
{
	struct parse_error e;
	char *buf = NULL;
	size_t len;
	int rc = strcmp(path, "-") ? read_file_capped(path, MAP_MAX, &buf, &len)
				   : read_stream_capped(stdin, MAP_MAX, &buf, &len);

	if (rc)
		return error("cannot read map '%s': %s", path,
			     errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
	rc = hydra_map_parse(buf, len, v, n, &e);
	free(buf);
	if (rc) {
		if (e.line)
			return error("%s:%u: %s", path, e.line, e.msg);
		return error("map '%s': %s", path, e.msg);
	}
	return 0;
}

static void print_json(const struct hydra_import_result *res, int rc)
{
	json_t *root = json_object(), *arr = json_array();

	json_object_set_new(root, "hydra", res->url ? json_string(res->url) : json_null());
	json_object_set_new(root, "status", json_string(rc == 130 ? "interrupted"
							: rc ? "failed" : "complete"));
	json_object_set_new(root, "refreshedBuilds", json_integer(res->refreshed));
	json_object_set_new(root, "finishedBuilds", json_integer(res->finished));
	json_object_set_new(root, "refreshErrors", json_integer(res->refresh_errors));
	for (size_t i = 0; i < res->n; i++) {
		const struct hydra_jobset_result *j = &res->v[i];
		json_t *o = json_object();
		json_object_set_new(o, "project", json_string(j->project));
		json_object_set_new(o, "jobset", json_string(j->jobset));
		json_object_set_new(o, "status", json_string(j->status));
		json_object_set_new(o, "pages", json_integer(j->pages));
		json_object_set_new(o, "newEvaluations", json_integer(j->evals_new));
		json_object_set_new(o, "pendingEvaluations", json_integer(j->evals_pending));
		json_object_set_new(o, "evaluations", json_integer(j->evaluations));
		json_object_set_new(o, "jobs", json_integer(j->jobs));
		json_object_set_new(o, "builds", json_integer(j->builds));
		json_object_set_new(o, "queued", json_integer(j->queued));
		json_object_set_new(o, "skipped", json_integer(j->skipped));
		json_object_set_new(o, "newestRecorded", j->newest >= 0 ? json_integer(j->newest)
								       : json_null());
		json_object_set_new(o, "error", j->error[0] ? json_string(j->error) : json_null());
		json_array_append_new(arr, o);
	}
	json_object_set_new(root, "jobsets", arr);
	json_dumpf(root, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(root);
}

static void print_text(const struct hydra_import_result *res)
{
	if (res->refreshed)
		fprintf_printable(stdout, "%s: %u unfinished build%s asked for again, %u finished "
				  "since\n", res->url, res->refreshed, res->refreshed == 1 ? "" : "s",
				  res->finished);
	for (size_t i = 0; i < res->n; i++) {
		const struct hydra_jobset_result *j = &res->v[i];
		if (!strcmp(j->status, "not-attempted"))
			continue;
		fprintf_printable(stdout, "%s:%s: %u new evaluation%s, %u cachegc evaluations, "
				  "%u jobs, %u build outcomes (%u queued)", j->project, j->jobset,
				  j->evals_new, j->evals_new == 1 ? "" : "s", j->evaluations, j->jobs,
				  j->builds, j->queued);
		if (j->skipped)
			printf(", %u builds not recorded as jobs", j->skipped);
		if (strcmp(j->status, "complete"))
			printf("; %s, %u evaluation%s not recorded (run again)", j->status,
			       j->evals_pending, j->evals_pending == 1 ? "" : "s");
		putchar('\n');
	}
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct import_hydra_cli a = {0};
	struct hydra_import_options o = {0};
	struct hydra_import_result res = {0};
	struct hydra_jobset_arg *map = NULL, *sel = NULL;
	size_t nmap = 0, nsel = 0;
	struct sigaction sa;
	int np, rc = 1;

	a.since = INT64_MIN;
	np = parse_options(&import_hydra_parser, argc, argv, &a);
	if (np < 0) {
		rc = parse_options_exit(np);
		goto out;
	}
	if (np != 1) {
		rc = cmd_usage_error(&cmd_import_hydra, np ? "one URL only" : "missing URL (the "
				     "Hydra, http(s)://HOST[:PORT][/PREFIX])");
		goto out;
	}
	if (!a.njobsets && !a.map) {
		rc = cmd_usage_error(&cmd_import_hydra, "no --jobset PROJECT:JOBSET given");
		goto out;
	}
	if (a.map && read_map(a.map, &map, &nmap))
		goto out;
	sel = xcalloc(a.njobsets + nmap + 1, sizeof(*sel));
	for (size_t i = 0; i < a.njobsets; i++) {
		struct hydra_jobset_arg j;
		struct parse_error e;
		size_t k;
		if (hydra_jobset_name_parse(a.jobsets[i], &j, &e)) {
			rc = cmd_usage_error(&cmd_import_hydra, "--jobset: %s", e.msg);
			goto out;
		}
		for (k = 0; k < nmap; k++)
			if (!strcmp(map[k].project, j.project) && !strcmp(map[k].jobset, j.jobset))
				break;
		if (k < nmap) {
			hydra_jobset_arg_release(&j);
			j = map[k];
			memset(&map[k], 0, sizeof(map[k]));
			map[k].project = xstrdup(j.project);
			map[k].jobset = xstrdup(j.jobset);
		}
		for (k = 0; k < nsel; k++)
			if (!strcmp(sel[k].project, j.project) && !strcmp(sel[k].jobset, j.jobset))
				break;
		if (k < nsel)
			hydra_jobset_arg_release(&j);
		else
			sel[nsel++] = j;
	}
	if (!a.njobsets) {
		for (size_t k = 0; k < nmap; k++) {
			sel[nsel++] = map[k];
			memset(&map[k], 0, sizeof(map[k]));
		}
		if (!nsel) {
			error("map '%s' names no jobset, and no --jobset was given", a.map);
			goto out;
		}
	}

	o.url = argv[0];
	o.jobsets = sel;
	o.njobsets = nsel;
	o.since = a.since == INT64_MIN ? -1 : a.since;
	o.jobs = (int)a.jobs;
	o.tries = (int)a.tries;
	o.timeout_ms = a.timeout_ms;
	o.cacert = a.cacert;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rc = hydra_import(ctx->db, &o, &res);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (rc < 0) {
		rc = 1;
		if (!a.json)
			goto out;
	}
	for (size_t i = 0; i < res.n; i++)
		if (res.v[i].error[0])
			error("%s:%s: %s", res.v[i].project, res.v[i].jobset, res.v[i].error);
	if (rc == 130)
		error("interrupted: what was recorded is kept; run the same command again to go on");
	if (a.json)
		print_json(&res, rc);
	else
		print_text(&res);
out:
	hydra_import_result_release(&res);
	for (size_t i = 0; i < nmap; i++)
		hydra_jobset_arg_release(&map[i]);
	free(map);
	for (size_t i = 0; i < nsel; i++)
		hydra_jobset_arg_release(&sel[i]);
	free(sel);
	free(a.jobsets);
	return rc;
}

const struct cmd cmd_import_hydra = {
	"import-hydra",
	"follow a Hydra: record its jobsets' new evaluations and builds",
	&import_hydra_parser,
	DB_WRITE,
	run,
};
