/*
 * cmd_import_builds.c - `cachegc import-builds`: record build outcomes per
 * derivation from Hydra's build JSON, its RunCommand plugin's $HYDRA_JSON
 * or JSON lines.  The work is
 * builds_import() (evals.c).
 */
#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <stdlib.h>

#include "cli/cmd.h"
#include "store/db.h"
#include "ingest/evals.h"
#include "lib/linereader.h"
#include "lib/util.h"

struct import_builds_cli {
	int json;
};

static const struct option import_builds_options[] = {
	OPT_FLAG("json", 0, struct import_builds_cli, json, "print the summary as JSON"),
	OPT_HELP(NULL),
	OPT_TEXT("  FILE|-      the build results ('-': standard input)\n"
		 "\n"
		 "Exit status: 0 when imported, 1 when nothing could be (nothing recorded),\n"
		 "2 for a usage error.\n"),
	OPT_END(),
};

static const struct opt_parser import_builds_parser = {
	.name = "import-builds",
	.usage = "usage: cachegc import-builds [--json] FILE|-\n"
		 "\n"
		 "Record build outcomes per derivation, from any of:\n"
		 "  - Hydra's build JSON: one build object, an array of them (a jobset\n"
		 "    evaluation's builds), or one per line; \"buildstatus\" 0 succeeded,\n"
		 "    1 failed, 2 dependency failed, 3 aborted, 4 cancelled, 6 failed with\n"
		 "    output, 7 timed out, 8 cached failure, 9 unsupported system, 10 log\n"
		 "    limit exceeded, 11 output limit exceeded, 12 non-deterministic;\n"
		 "    \"finished\": 0 means queued; \"drvpath\", \"stoptime\", \"timestamp\",\n"
		 "    \"job\", \"nixname\", \"system\" and \"id\" are kept;\n"
		 "  - the file Hydra's RunCommand plugin names in $HYDRA_JSON after each\n"
		 "    build (\"drvPath\", \"buildStatus\", \"finished\", \"stopTime\",\n"
		 "    \"timestamp\", \"job\", \"nixName\", \"system\", \"build\"), so a Hydra\n"
		 "    can feed its builds one by one: in hydra.conf,\n"
		 "      <runcommand>\n"
		 "        job = PROJECT:JOBSET:*\n"
		 "        command = cachegc --db DB import-builds \"$HYDRA_JSON\"\n"
		 "      </runcommand>\n"
		 "  - JSON lines {\"drvPath\": \"/nix/store/...drv\", \"status\": S, \"time\": T}\n"
		 "    with S one of succeeded, failed, dependency-failed, aborted, cancelled,\n"
		 "    failed-with-output, timed-out, cached-failure, unsupported,\n"
		 "    log-limit-exceeded, output-limit-exceeded, non-deterministic, queued,\n"
		 "    and T epoch seconds or a date such as 2024-05-01T12:00:00Z (optional);\n"
		 "    \"attr\" (or \"job\"), \"name\" and \"system\" are kept when given.\n"
		 "\n"
		 "Lines that are not JSON and records with an unknown status are reported\n"
		 "(file:line) and skipped; the rest is imported in one transaction.  An\n"
		 "outcome already recorded (same derivation, status and time) is not\n"
		 "recorded twice.  The input may be at most 256 MiB.\n"
		 "\n"
		 "options:\n",
	.opts = import_builds_options,
	.column = 14,
};

const struct cmd cmd_import_builds;

static void where(char *buf, size_t sz, const char *src, const struct import_problem *p)
{
	if (p->item)
		snprintf(buf, sz, "%s:%u: item %u", src, p->line, p->item);
	else
		snprintf(buf, sz, "%s:%u", src, p->line);
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct builds_import_result res;
	const char *file = NULL, *src;
	struct import_builds_cli a = {0};
	int json = 0, rc;
	char *buf = NULL;
	size_t len;

	if ((rc = parse_options(&import_builds_parser, argc, argv, &a)) < 0)
		return parse_options_exit(rc);
	json = a.json;
	if (rc > 1)
		return cmd_usage_error(&cmd_import_builds, "one FILE only; got '%s' and '%s'",
				       argv[0], argv[1]);
	if (rc == 1)
		file = argv[0];
	if (!file)
		return cmd_usage_error(&cmd_import_builds, "no FILE given ('-' reads standard input)");

	src = strcmp(file, "-") ? file : "<stdin>";
	rc = strcmp(file, "-") ? read_file_capped(file, BUILDS_MAX_INPUT, &buf, &len)
			       : read_stream_capped(stdin, BUILDS_MAX_INPUT, &buf, &len);
	if (rc) {
		if (errno == EFBIG)
			error("'%s' is larger than 256 MiB; split it and import the parts", src);
		else
			error("cannot read '%s': %s", src, strerror(errno));
		return 1;
	}
	rc = builds_import(ctx->db, buf, len, src, &res);
	free(buf);

	for (size_t i = 0; i < res.problems.n; i++) {
		char w[600];
		where(w, sizeof(w), src, &res.problems.v[i]);
		warning("%s: %s", w, res.problems.v[i].msg);
	}
	if (res.problems.total > res.problems.n)
		warning("%s: %zu more problems not shown", src, res.problems.total - res.problems.n);
	if (rc && res.failure[0])
		error("%s", res.failure);

	if (json) {
		json_t *probs = json_array();
		json_t *o;
		for (size_t i = 0; i < res.problems.n; i++) {
			const struct import_problem *p = &res.problems.v[i];
			json_t *e = json_pack("{s:i, s:s}", "line", (json_int_t)p->line,
					      "message", p->msg);
			if (p->item)
				json_object_set_new(e, "item", json_integer(p->item));
			json_array_append_new(probs, e);
		}
		o = json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:o}", "file", src,
			      "status", rc ? "failed" : "imported",
			      "records", (json_int_t)res.records,
			      "imported", (json_int_t)(rc ? 0 : res.imported),
			      "alreadyKnown", (json_int_t)(rc ? 0 : res.known),
			      "skipped", (json_int_t)res.bad,
			      "problemsTotal", (json_int_t)res.problems.total,
			      "problems", probs);
		if (rc)
			json_object_set_new(o, "error", json_string(res.failure[0] ? res.failure
							  : "failed; see the messages above"));
		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
	} else if (!rc) {
		fprintf_printable(stdout, "'%s': %u build outcome%s: %u new, %u already recorded",
				  src, res.records,
		       res.records == 1 ? "" : "s", res.imported, res.known);
		if (res.bad)
			printf("; %u records skipped", res.bad);
		putchar('\n');
	}
	import_problems_release(&res.problems);
	return rc ? 1 : 0;
}

const struct cmd cmd_import_builds = {
	"import-builds",
	"record build outcomes (Hydra build JSON or JSON lines) per derivation",
	&import_builds_parser,
	DB_WRITE,
	run,
};
