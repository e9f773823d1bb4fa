/*
 * main.c - global options, the command table, DB set-up and teardown.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "store/db.h"
#include "lib/util.h"
#include "lib/version.h"

extern const struct cmd cmd_crawl, cmd_closure, cmd_gen, cmd_import_eval, cmd_import_builds,
	cmd_keys;
extern const struct cmd cmd_plan, cmd_evict;
extern const struct cmd cmd_coverage, cmd_verify;
extern const struct cmd cmd_simulate;
extern const struct cmd cmd_import_access;
extern const struct cmd cmd_why;
extern const struct cmd cmd_rebuild;
extern const struct cmd cmd_schedule;
extern const struct cmd cmd_report;
extern const struct cmd cmd_import_hydra;

static const struct cmd *commands[] = {
	&cmd_crawl,
	&cmd_closure,
	&cmd_gen,
	&cmd_import_eval,
	&cmd_import_builds,
	&cmd_import_access,
	&cmd_import_hydra,
	&cmd_keys,
	&cmd_plan,
	&cmd_evict,
	&cmd_coverage,
	&cmd_why,
	&cmd_rebuild,
	&cmd_schedule,
	&cmd_verify,
	&cmd_simulate,
	&cmd_report,
};



struct global_opts {
	const char *db;
	int64_t now;
	int quiet, help, version;
};

static const struct option global_options[] = {
	OPT_PATH("db", struct global_opts, db, "FILE",
		 "the SQLite database (default $CACHEGC_DB, else ./cachegc.db)"),
	OPT_TIME("now", struct global_opts, now, "TIME",
		 "the clock for everything this run records: 2024-05-01,\n"
		 "2024-05-01T12:00:00Z (UTC) or @EPOCH (default: real time)"),
	OPT_FLAG("quiet", 'q', struct global_opts, quiet, "no progress display"),
	OPT_FLAG("help", 'h', struct global_opts, help, "this text;  --version  the version"),
	OPT_FLAG("version", 0, struct global_opts, version, NULL),
	OPT_END(),
};

static const struct opt_parser global_parser = {
	.usage = "usage: cachegc [--db FILE] [--now TIME] [--quiet] COMMAND [options]\n"
		 "\n"
		 "Tells what a Nix binary cache really holds and what to do about it.\n"
		 "\n"
		 "global options:\n",
	.opts = global_options,
	.column = 16,
	.flags = PARSE_STOP_AT_ARG,
};

static void usage(FILE *f)
{
	print_options_help(&global_parser, f);
	fprintf(f, "\ncommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-14s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "\nRun 'cachegc COMMAND --help' for a command's options.\n");
}

static const struct cmd *find_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i]->name, name))
			return commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	struct global_opts g = {.db = getenv("CACHEGC_DB"), .now = INT64_MIN};
	const struct cmd *c;
	struct cmd_ctx ctx = {0};
	struct db db;
	int n, rc;

	if (!g.db || !*g.db)
		g.db = "cachegc.db";
	n = parse_options(&global_parser, argc, argv, &g);
	if (n < 0)
		return 2;
	if (g.help) {
		usage(stdout);
		return 0;
	}
	if (g.version) {
		printf("cachegc %s (schema %u)\n", CACHEGC_VERSION, db_latest_version());
		return 0;
	}
	if (g.now != INT64_MIN)
		clock_set(g.now);
	if (g.quiet)
		progress_disabled = 1;
	if (!n) {
		usage(stderr);
		return 2;
	}
	/* argv[0..n) is now the command and its arguments. */
	argc = n;
	c = find_command(argv[0]);
	if (!c) {
		error("unknown command '%s'; see 'cachegc --help'", argv[0]);
		return 2;
	}
	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--"))
			break;
		if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
			cmd_print_usage(c, stdout);
			return 0;
		}
	}
	ctx.db_path = g.db;
	if (c->db != DB_NONE) {
		if (db_open(&db, g.db, c->db == DB_READ ? DB_OPEN_READ
					  : c->db == DB_KEEP ? DB_OPEN_KEEP : DB_OPEN_WRITE))
			return 1;
		ctx.db = &db;
	}
	rc = c->run(&ctx, argc, argv);
	if (ctx.db) {
		if (db_check_unchanged(ctx.db) && !rc)
			rc = 1;
		db_close(ctx.db);
	}
	if (fflush(stdout) || ferror(stdout)) {
		if (errno != EPIPE)
			error("writing output failed: %s", strerror(errno));
		return rc ? rc : 1;
	}
	return rc;
}
