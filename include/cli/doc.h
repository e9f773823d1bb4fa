/*
 * doc.h - documents generated from the command table (main.c) and the
 * option tables (cli/options.h), so that the manual page, the shell
 * completion and --help never disagree.  The Makefile runs the built
 * binary's hidden global options --man and --completion=bash to write
 * them at build time.
 */
#ifndef CACHEGC_DOC_H
#define CACHEGC_DOC_H

#include <stddef.h>
#include <stdio.h>

#include "cli/cmd.h"

/* What main.c has: the global options and the commands, in --help order. */
struct doc_src {
	const struct opt_parser *global;
	const struct cmd *const *cmds;
	size_t ncmds;
};

/* cachegc(1) in roff (man(7)).  The date in .TH is $SOURCE_DATE_EPOCH's
 * when set (reproducible builds), else today's. */
void doc_manpage(const struct doc_src *d, FILE *f);

/* A bash completion script for cachegc (sourced by bash-completion, or by
 * hand).  --cache completes the URLs `cachegc --db FILE --list-caches`
 * prints, with the --db of the command line when given. */
void doc_completion_bash(const struct doc_src *d, FILE *f);

#endif
