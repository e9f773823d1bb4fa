/*
 * main.c - global options, the command table, DB set-up and teardown.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "cli/doc.h"
#include "cli/store_ch.h"
#include "store/clickhouse.h"
#include "store/db.h"
#include "store/lookup.h"
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
extern const struct cmd cmd_export;

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
	&cmd_export,
};



struct global_opts {
	const char *db;
	int64_t now;
	int quiet, help, version;
	/* hidden, for the build and the shell completion (cli/doc.h) */
	int man, list_caches;
	const char *completion;
};

static const struct option global_options[] = {
	OPT_PATH("db", struct global_opts, db, "FILE",
		 "the SQLite database (default $CACHEGC_DB, else ./cachegc.db),\n"
		 "or a ClickHouse store: clickhouse://HOST:PORT/DATABASE"),
	OPT_TIME("now", struct global_opts, now, "TIME",
		 "the clock for everything this run records: 2024-05-01,\n"
		 "2024-05-01T12:00:00Z (UTC) or @EPOCH (default: real time)"),
	OPT_FLAG("quiet", 'q', struct global_opts, quiet, "no progress display"),
	OPT_FLAG("help", 'h', struct global_opts, help, "this text"),
	OPT_FLAG("version", 0, struct global_opts, version, "the version (and the schema's)"),
	OPT_FLAG("man", 0, struct global_opts, man, NULL),
	OPT_STRING("completion", struct global_opts, completion, "SHELL", NULL),
	OPT_FLAG("list-caches", 0, struct global_opts, list_caches, NULL),
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

/* Edits (insert, delete, substitute, swap two neighbours) from a to b;
 * anything past 31 characters counts as far. */
static unsigned edit_distance(const char *a, const char *b)
{
	unsigned d[33][33];
	size_t la = strlen(a), lb = strlen(b);

	if (la > 31 || lb > 31)
		return 99;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (unsigned)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			unsigned v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[la][lb];
}

/* An unknown command: name the commands the word begins ('import' for
 * the import-* ones), else the nearest within two edits. */
static void unknown_command(const char *name)
{
	struct strbuf sb = STRBUF_INIT;
	unsigned best = 3, n = 0;
	size_t len = strlen(name);

	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		unsigned e = edit_distance(name, commands[i]->name);
		if (len >= 2 && !strncmp(commands[i]->name, name, len))
			e = 0;   /* a beginning: 'import' for import-* */
		if (e < best && e < len)
			best = e;
	}
	for (size_t i = 0; best < 3 && i < ARRAY_SIZE(commands); i++) {
		const char *c = commands[i]->name;
		if (best == 0 ? len >= 2 && !strncmp(c, name, len)
			      : edit_distance(name, c) == best) {
			strbuf_addf(&sb, "%s'%s'", n ? ", " : "", c);
			n++;
		}
	}
	if (n)
		error("unknown command '%s'; did you mean %s%s?  See 'cachegc --help'", name,
		      n > 1 ? "one of " : "", sb.buf);
	else
		error("unknown command '%s'; see 'cachegc --help'", name);
	strbuf_release(&sb);
}

int main(int argc, char **argv)
{
	struct global_opts g = {.db = getenv("CACHEGC_DB"), .now = INT64_MIN};
	const struct cmd *c;
	struct cmd_ctx ctx = {0};
	struct db db;
	struct db_write_mark mark;
	int n, rc, created = 0;

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
	if (g.man || g.completion) {
		struct doc_src d = {&global_parser, commands, ARRAY_SIZE(commands)};

		if (g.man) {
			doc_manpage(&d, stdout);
		} else if (!strcmp(g.completion, "bash")) {
			doc_completion_bash(&d, stdout);
		} else {
			error("--completion: no completion for '%s' (there is one for bash)",
			      g.completion);
			return 2;
		}
		return fflush(stdout) || ferror(stdout) ? 1 : 0;
	}
	if (g.list_caches) {
		if (db_open(&db, g.db, DB_OPEN_READ))
			return 1;
		rc = cache_print_urls(&db, stdout);
		db_close(&db);
		return rc || fflush(stdout) ? 1 : 0;
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
		unknown_command(argv[0]);
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
	if (opt_misplaced_global(c->options, global_options, argc, argv))
		return 2;
	if (c->db != DB_NONE && ch_is_url(g.db)) {
		rc = ch_run_command(c, g.db, argc, argv);
		goto flush;
	}
	ctx.db_path = g.db;
	if (c->db != DB_NONE) {
		struct stat st;

		/* A DB this run creates and nothing writes to (a usage error,
		 * a read on no DB, a refused crawl) is taken back after it. */
		created = c->db != DB_READ && stat(g.db, &st) && errno == ENOENT;
		if (db_open(&db, g.db, c->db == DB_READ ? DB_OPEN_READ
					  : c->db == DB_KEEP ? DB_OPEN_KEEP : DB_OPEN_WRITE))
			return 1;
		ctx.db = &db;
		db_write_mark(&db, &mark);
	}
	rc = c->run(&ctx, argc, argv);
	if (ctx.db) {
		int discard = created && !db_written_since(ctx.db, &mark);
		if (db_check_unchanged(ctx.db) && !rc)
			rc = 1;
		db_close(ctx.db);
		if (discard)
			db_discard_new(g.db);
	}
flush:
	if (fflush(stdout) || ferror(stdout)) {
		if (errno != EPIPE)
			error("writing output failed: %s", strerror(errno));
		return rc ? rc : 1;
	}
	return rc;
}
