/*
 * cmd_gen.c - `cachegc gen`: options and the summary around gen_run()
 * (gen.c), which builds the synthetic CUDA CI world used by `make demo`,
 * the tests and the benchmarks.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cmd.h"
#include "gen/gen.h"
#include "lib/util.h"

struct gen_cli {
	struct gen_options g;
	double days;            /* 0: not given */
	int json;
};

/* A key name goes into file names and the narinfo Sig: lines. */
static int key_name(const struct option *opt, const char *v, void *base)
{
	struct gen_cli *o = base;

	(void)opt;
	if (!*v || strchr(v, ':') || strchr(v, '/') || strpbrk(v, " \t\n"))
		return -1;
	o->g.key_name = v;
	return 0;
}

static const struct option gen_options[] = {
	OPT_COUNT("paths", struct gen_cli, g.paths, "N", 1, GEN_MAX_PATHS, NULL,
		 "about N distinct store paths in the whole history\n"
		 "(default 20000, at most 20000000)"),
	OPT_COUNT("seed", struct gen_cli, g.seed, "S", 0, UINT64_MAX, NULL,
		 "the random seed, an unsigned integer (default 1)"),
	OPT_TIME("start", struct gen_cli, g.start, "DATE",
		 "the first day of the history (default " GEN_DEFAULT_START ")"),
	OPT_DAYS("days", struct gen_cli, days, "D", 1, GEN_MAX_DAYS, OPT_WHOLE,
		 "the history's length in days (default 28, at most 3650)"),
	OPT_TIME("as-of", struct gen_cli, g.as_of, "DATE",
		 "the moment DIR shows (default: the end of the history);\n"
		 "DATE is 2024-05-01, 2024-05-01T12:00:00Z or @EPOCH (UTC)"),
	OPT_CALLBACK("key-name", "NAME", key_name, "a name without ':', '/' or spaces",
		 "the signing key's name (default " GEN_DEFAULT_KEY_NAME ")"),
	OPT_FLAG("nar-stubs", 0, struct gen_cli, g.nar_stubs,
		 "also write a small placeholder file at every NAR URL"),
	OPT_FLAG("no-gc", 0, struct gen_cli, g.no_gc,
		 "the cache keeps every path ever pushed (for benchmarks\n"
		 "that want a cache of about --paths narinfos)"),
	OPT_FLAG("daily", 0, struct gen_cli, g.daily,
		 "instead of the CI's schedule, evaluate master,\n"
		 "nixpkgs-unstable and nixos-24.05 with each capability\n"
		 "set, in full, once a day (9 evaluations a day)"),
	OPT_FLAG("json", 0, struct gen_cli, json, "print the summary as a JSON object"),
	OPT_HELP(NULL),
	OPT_TEXT("\n"
		 "Exit status: 0 on success, 1 when DIR could not be written, 2 for a usage\n"
		 "error.\n"),
	OPT_END(),
};

static const struct opt_parser gen_parser = {
	.name = "gen",
	.usage = "usage: cachegc gen DIR [--paths N] [--seed S] [--start DATE] [--days D]\n"
		 "                   [--as-of DATE] [--key-name NAME] [--nar-stubs] [--no-gc]\n"
		 "                   [--daily] [--json]\n"
		 "\n"
		 "Write a synthetic but realistic world into DIR: a signed file:// binary\n"
		 "cache as a CUDA CI leaves it, the evaluations that filled it and their\n"
		 "build outcomes.  Branches (master, nixos-unstable, nixpkgs-unstable,\n"
		 "nixos-24.05) are evaluated with cudaCapabilities sets (8.6; 7.5,8.6;\n"
		 "8.0,8.6,8.9,9.0) on a schedule; CUDA packages get new store paths per\n"
		 "capability set and revision, the rest are shared; some builds fail; the\n"
		 "cache has a size limit and evicts the least recently used paths.\n"
		 "\n"
		 "The history depends only on the options below other than --as-of, which\n"
		 "picks the moment shown: running gen again on the same DIR with another\n"
		 "--as-of turns DIR into the state at that moment (narinfos added and\n"
		 "deleted, evaluations and builds up to then), so crawling after each run\n"
		 "records a presence history.  The same options give the same bytes.\n"
		 "\n"
		 "Written into DIR:\n"
		 "  cache/nix-cache-info, cache/<hash>.narinfo   the cache (mtime = push time)\n"
		 "  cache/nar/...        placeholder NAR files, with --nar-stubs\n"
		 "  keys/NAME.secret, keys/NAME.public           the signing key (Nix format)\n"
		 "  evals/<branch>-<rev>-<caps>.jsonl            nix-eval-jobs output\n"
		 "  evals/manifest.tsv   file, branch, rev, capabilities, system, time\n"
		 "                       (for 'cachegc import-eval --manifest')\n"
		 "  builds.jsonl         {\"drvPath\", \"status\", \"time\"} per built derivation\n"
		 "  gen-params           the options that made it\n"
		 "\n"
		 "options:\n",
	.opts = gen_options,
	.column = 19,
};

const struct cmd cmd_gen;

static void print_json(const struct gen_options *o, const struct gen_summary *s)
{
	char start[32], end[32], as_of[32];
	json_t *j = json_object();
	char *text;

	json_object_set_new(j, "dir", json_string(o->dir));
	json_object_set_new(j, "seed", json_integer((json_int_t)o->seed));
	json_object_set_new(j, "start", json_string(format_time(s->start, start, sizeof(start))));
	json_object_set_new(j, "end", json_string(format_time(s->end, end, sizeof(end))));
	json_object_set_new(j, "as_of", json_string(format_time(s->as_of, as_of, sizeof(as_of))));
	json_object_set_new(j, "packages", json_integer((json_int_t)s->packages));
	json_object_set_new(j, "derivations", json_integer((json_int_t)s->drvs));
	json_object_set_new(j, "failed_derivations", json_integer((json_int_t)s->failed_drvs));
	json_object_set_new(j, "paths", json_integer((json_int_t)s->paths));
	json_object_set_new(j, "pushes", json_integer((json_int_t)s->pushes));
	json_object_set_new(j, "evictions", json_integer((json_int_t)s->evictions));
	json_object_set_new(j, "gc_limit_bytes", json_integer((json_int_t)s->gc_limit_bytes));
	json_object_set_new(j, "present", json_integer((json_int_t)s->present));
	json_object_set_new(j, "present_file_bytes",
			    json_integer((json_int_t)s->present_file_bytes));
	json_object_set_new(j, "present_nar_bytes", json_integer((json_int_t)s->present_nar_bytes));
	json_object_set_new(j, "nar_files", json_integer((json_int_t)s->nar_files));
	json_object_set_new(j, "evaluations", json_integer((json_int_t)s->evaluations));
	json_object_set_new(j, "evaluations_total", json_integer((json_int_t)s->evaluations_total));
	json_object_set_new(j, "jobs", json_integer((json_int_t)s->jobs));
	json_object_set_new(j, "eval_errors", json_integer((json_int_t)s->eval_errors));
	json_object_set_new(j, "builds", json_integer((json_int_t)s->builds));
	json_object_set_new(j, "narinfos_written", json_integer((json_int_t)s->narinfos_written));
	json_object_set_new(j, "narinfos_kept", json_integer((json_int_t)s->narinfos_kept));
	json_object_set_new(j, "narinfos_deleted", json_integer((json_int_t)s->narinfos_deleted));
	json_object_set_new(j, "public_key", json_string(s->public_key));
	text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (text)
		printf("%s\n", text);
	free(text);
	json_decref(j);
}

static int gen_main(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct gen_cli a;
	struct gen_options o;
	struct gen_summary s;
	int json = 0, n;

	(void)ctx;
	memset(&a, 0, sizeof(a));
	gen_options_init(&a.g);
	if ((n = parse_options(&gen_parser, argc, argv, &a)) < 0)
		return parse_options_exit(n);
	o = a.g;
	json = a.json;
	if (a.days)
		o.days = (unsigned)a.days;
	if (n > 1)
		return cmd_usage_error(&cmd_gen, "more than one DIR ('%s', '%s')", argv[0], argv[1]);
	if (n == 1)
		o.dir = argv[0];
	if (!o.dir)
		return cmd_usage_error(&cmd_gen, "no DIR given");
	if (gen_run(&o, &s))
		return 1;
	if (json) {
		print_json(&o, &s);
	} else {
		char when[32], size[32];
		printf("generated %llu paths (%llu present as of %s, %s), %llu evaluations, into %s\n",
		       (unsigned long long)s.paths, (unsigned long long)s.present,
		       format_time(s.as_of, when, sizeof(when)),
		       format_size(s.present_file_bytes, size, sizeof(size)),
		       (unsigned long long)s.evaluations, o.dir);
	}
	return 0;
}

const struct cmd cmd_gen = {
	"gen",
	"write a synthetic CUDA CI world: a signed file:// cache, evaluations, builds",
	&gen_parser,
	DB_NONE,
	gen_main,
};
