/*
 * cmd.h - the command table.  Each src/cmd_X.c defines one `const struct
 * cmd cmd_X`; main.c lists them, parses the global options, opens the DB
 * the way the command asks, runs it, and flushes stdout.
 *
 * A command returns its exit status: 0 success, 1 when it could not do its
 * job (the error already reported), 2 for a usage error.
 */
#ifndef CACHEGC_CMD_H
#define CACHEGC_CMD_H

#include <stdio.h>

#include "cli/options.h"

struct db;

enum db_need {
	DB_NONE,      /* the command does not touch the DB */
	DB_READ,      /* open an existing DB read-only */
	DB_WRITE,     /* open or create, migrate, read-write */
	DB_KEEP,      /* as DB_WRITE where the DB is writable, else read-only
	                 (db->readonly): for commands that read and only keep
	                 results (verdicts, plans) or write in some modes,
	                 which then call db_need_write() */
};

struct cmd_ctx {
	const char *db_path;
	struct db *db;         /* NULL for DB_NONE commands */
};

struct cmd {
	const char *name;
	const char *summary;   /* one line for `cachegc --help` */
	const struct opt_parser *options; /* its options; `cachegc NAME --help`
	                                     prints options->usage and the table */
	enum db_need db;
	int (*run)(struct cmd_ctx *ctx, int argc, char **argv);
};

/* Print c's help to f (stdout for --help, stderr for a usage error). */
void cmd_print_usage(const struct cmd *c, FILE *f);
/* Report a usage error for c ("MSG; see 'cachegc NAME --help'") and return
 * 2, the usage exit status. */
int cmd_usage_error(const struct cmd *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
