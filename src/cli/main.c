/*
 * main.c - global options, the command table, DB set-up and teardown.
 */
#include <errno.h>
#include <stdarg.h>
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

static const struct cmd *commands[] = {
	&cmd_crawl,
	&cmd_closure,
	&cmd_gen,
	&cmd_import_eval,
	&cmd_import_builds,
	&cmd_import_access,
	&cmd_keys,
	&cmd_plan,
	&cmd_evict,
	&cmd_coverage,
	&cmd_verify,
	&cmd_simulate,
};



static void usage(FILE *f)
{
	fprintf(f,
		"usage: cachegc [--db FILE] [--now TIME] [--quiet] COMMAND [options]\n"
		"\n"
		"Tells what a Nix binary cache really holds and what to do about it.\n"
		"\n"
		"global options:\n"
		"  --db FILE     the SQLite database (default $CACHEGC_DB, else ./cachegc.db)\n"
		"  --now TIME    the clock for everything this run records: 2024-05-01,\n"
		"                2024-05-01T12:00:00Z (UTC) or @EPOCH (default: real time)\n"
		"  --quiet       no progress display\n"
		"  --help        this text;  --version  the version\n"
		"\n"
		"commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-14s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "\nRun 'cachegc COMMAND --help' for a command's options.\n");
}

void cmd_print_usage(const struct cmd *c, FILE *f)
{
	fputs(c->usage, f);
}

int cmd_usage_error(const struct cmd *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s %s: %s\n", progname, c->name, msg);
	fprintf(stderr, "see 'cachegc %s --help'\n", c->name);
	return 2;
}

static const struct cmd *find_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i]->name, name))
			return commands[i];
	return NULL;
}

/* Take "--opt VALUE" or "--opt=VALUE" at argv[*i]. */
static const char *opt_value(int argc, char **argv, int *i, const char *opt)
{
	size_t n = strlen(opt);

	if (!strncmp(argv[*i], opt, n) && argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (!strcmp(argv[*i], opt)) {
		if (*i + 1 >= argc) {
			error("option '%s' needs a value", opt);
			exit(2);
		}
		return argv[++*i];
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *db_path = getenv("CACHEGC_DB");
	const struct cmd *c;
	struct cmd_ctx ctx = {0};
	struct db db;
	const char *v;
	int i, rc;

	if (!db_path || !*db_path)
		db_path = "cachegc.db";
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if ((v = opt_value(argc, argv, &i, "--db"))) {
			db_path = v;
		} else if ((v = opt_value(argc, argv, &i, "--now"))) {
			int64_t t;
			if (parse_time(v, &t)) {
				error("--now: cannot parse '%s' (want 2024-05-01, "
				      "2024-05-01T12:00:00Z or @EPOCH)", v);
				return 2;
			}
			clock_set(t);
		} else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
			progress_disabled = 1;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--version")) {
			printf("cachegc %s (schema %u)\n", CACHEGC_VERSION, db_latest_version());
			return 0;
		} else {
			error("unknown global option '%s'", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	c = find_command(argv[i]);
	if (!c) {
		error("unknown command '%s'; see 'cachegc --help'", argv[i]);
		return 2;
	}
	argc -= i;
	argv += i;
	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--"))
			break;
		if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
			cmd_print_usage(c, stdout);
			return 0;
		}
	}
	ctx.db_path = db_path;
	if (c->db != DB_NONE) {
		if (db_open(&db, db_path, c->db == DB_READ ? DB_OPEN_READ
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
