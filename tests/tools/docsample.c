/*
 * docsample.c - the man page or the bash completion (cli/doc.h) of a small
 * made-up command table whose help text holds what roff and the shell
 * must not see raw: lines starting with '.' and '\'', backslashes ("\fB",
 * "\\"), '-' and "--" everywhere, an option hidden from --help, choices,
 * a subcommand, a nested option, headings, term lists and indented blocks.
 * For tests/cli/test_install_roff.sh, which checks what mandoc, man and bash
 * make of it.
 *
 *   docsample man|bash|help
 */
#include <stdio.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/doc.h"

struct sample_opts {
	const char *mode, *where, *hidden;
	int flag, json;
};

static const char *const modes[] = {"fast-mode", "slow", "x.y", NULL};

static const struct option global_opts[] = {
	OPT_PATH("db", struct sample_opts, where, "FILE", "the database\\file (a backslash)"),
	OPT_FLAG("quiet", 'q', struct sample_opts, flag, "-q alone, or --quiet"),
	OPT_HELP("this text"),
	OPT_END(),
};

static const struct opt_parser global_parser = {
	.usage = "usage: cachegc [--db FILE] [--quiet] COMMAND [options]\n"
		 "\n"
		 ".A line that starts with a dot, and one with a quote:\n"
		 "'quoted' -- and \\fB is not bold, \\\\ two backslashes.\n"
		 "\n"
		 "global options:\n",
	.opts = global_opts,
	.flags = PARSE_STOP_AT_ARG,
};

static const struct option tricky_opts[] = {
	OPT_STRING_OF("mode", struct sample_opts, mode, "M", modes,
		      "how: fast-mode, slow or x.y\n"
		      ".dot at the start of a continuation line\n"
		      "  an indented -x line\n"
		      "back to filled text"),
	{ .type = OPT_PATH_T, .name = "under", .offset = offsetof(struct sample_opts, where),
	  .argh = "DIR", .flags = OPT_NESTED, .help = "nested under the one above" },
	OPT_STRING("secret-option", struct sample_opts, hidden, "S", NULL),
	OPT_FLAG("json", 'j', struct sample_opts, json, "'JSON' out"),
	OPT_HELP("this text"),
	OPT_TEXT("\n"
		 "More options:\n"),
	OPT_FLAG("flag-two", 0, struct sample_opts, flag, "a flag with a \\ backslash"),
	OPT_TEXT("\n"
		 "ITEM-ONE      a term item, with a continuation\n"
		 "              indented to the description\n"
		 "'ITEM-TWO'    a quoted term\n"
		 "\n"
		 "Exit status: 0 fine, 1 not, 2 usage.\n"),
	OPT_END(),
};

static const struct opt_parser tricky_parser = {
	.name = "tricky-cmd",
	.usage = "usage: cachegc tricky-cmd go [--mode M] [--json] FILE...\n"
		 "       cachegc tricky-cmd stop\n"
		 "\n"
		 "A paragraph of prose that ends a sentence.  Then another, with\n"
		 "a formula laid out by hand:\n"
		 "  a = b - c\n"
		 "      \\ d\n"
		 "and the sentence goes on.\n"
		 "\n"
		 "options:\n",
	.opts = tricky_opts,
	.column = 20,
};

static const struct option plain_opts[] = {
	OPT_FLAG("json", 0, struct sample_opts, json, "JSON"),
	OPT_HELP("this text"),
	OPT_END(),
};

static const struct opt_parser plain_parser = {
	.name = "plain",
	.usage = "usage: cachegc plain [--json]\n"
		 "\n"
		 "Takes no argument.\n"
		 "\n",
	.opts = plain_opts,
	.flags = PARSE_NO_ARGS,
};

static int run_none(struct cmd_ctx *ctx, int argc, char **argv)
{
	(void)ctx, (void)argc, (void)argv;
	return 0;
}

static const struct cmd tricky = {"tricky-cmd", ".dot-led summary with a \\ backslash",
				  &tricky_parser, DB_NONE, run_none};
static const struct cmd plain = {"plain", "'quote-led' summary", &plain_parser, DB_NONE, run_none};
static const struct cmd *cmds[] = {&tricky, &plain};

int main(int argc, char **argv)
{
	struct doc_src d = {&global_parser, cmds, 2};

	if (argc == 2 && !strcmp(argv[1], "man"))
		doc_manpage(&d, stdout);
	else if (argc == 2 && !strcmp(argv[1], "bash"))
		doc_completion_bash(&d, stdout);
	else if (argc == 3 && !strcmp(argv[1], "help") && !strcmp(argv[2], "tricky-cmd"))
		print_options_help(&tricky_parser, stdout);
	else if (argc == 2 && !strcmp(argv[1], "help"))
		print_options_help(&global_parser, stdout);
	else {
		fprintf(stderr, "usage: docsample man|bash|help [tricky-cmd]\n");
		return 2;
	}
	return fflush(stdout) ? 1 : 0;
}
