/*
 * options.h - the one option parser every command (and main.c's global
 * options) uses.  A command describes its options in a table of `struct
 * option` (in the manner of git's parse-options.h), each naming a field of
 * the command's own options struct by offset; parse_options() walks argv,
 * validates each value once by its type and stores it, and the same table
 * prints the --help text.
 *
 * What the parser accepts, for every command alike:
 *   --name VALUE and --name=VALUE; -x for the few short names; "--" ends
 *   the options (what follows is positional, even "-x"); "-" alone is
 *   positional (standard input); a repeated option: the last value wins
 *   (callbacks see every value).
 * One wording per error, all through opt_usage_error():
 *   unknown option '--x'             option '--x' needs a value
 *   '--x' is a global option: put it before the command, as in '...'
 *   option '--x' takes no value      unexpected argument 'x'
 *   --x: cannot parse 'v' (want ...)        (sizes, times)
 *   --x wants WANT, not 'v'                  (counts, days, enums, callbacks)
 *
 * Uses lib only; no SQLite, no Nix.
 */
#ifndef CACHEGC_OPTIONS_H
#define CACHEGC_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum opt_type {
	OPT_END_T,      /* ends the table */
	OPT_TEXT_T,     /* help only: `help` printed verbatim (prose, headings) */
	OPT_HELP_T,     /* --help: prints the help to stdout, PARSE_HELP */
	OPT_FLAG_T,     /* int: set to 1; takes no value */
	OPT_STRING_T,   /* const char *: any text, also empty */
	OPT_PATH_T,     /* const char *: a file name, not empty */
	OPT_SIZE_T,     /* uint64_t: parse_size(), at most INT64_MAX bytes */
	OPT_TIME_T,     /* int64_t: parse_time(), seconds since the epoch */
	OPT_DAYS_T,     /* double: days, dmin..dmax; whole numbers with OPT_WHOLE */
	OPT_COUNT_T,    /* uint64_t: a decimal integer, min..max */
	OPT_ENUM_T,     /* int: the index of the value in choices[] */
	OPT_CALLBACK_T, /* cb(opt, value, base): 0 taken, -1 refused (the parser
	                   then reports "--x wants WANT, not 'v'") */
};

/* option.flags */
#define OPT_WHOLE 1u    /* OPT_DAYS_T: whole days only */
#define OPT_NESTED 2u   /* help: indented under the line above (a
                           subcommand's own option) */

struct option;
typedef int (*opt_cb)(const struct option *opt, const char *arg, void *base);

struct option {
	enum opt_type type;
	const char *name;           /* long name without "--"; NULL for text */
	char short_name;            /* '\0' for none */
	size_t offset;              /* of the value in the base struct */
	const char *argh;           /* "SIZE" in "--limit SIZE"; NULL for flags */
	const char *help;           /* one line, or lines separated by '\n'
	                               (continuations are indented to the help
	                               column); NULL hides the option */
	uint64_t min, max;          /* OPT_COUNT_T bounds, inclusive */
	double dmin, dmax;          /* OPT_DAYS_T bounds, inclusive */
	const char *const *choices; /* OPT_ENUM_T: NULL-terminated; on an
	                               OPT_STRING_T or OPT_CALLBACK_T (the
	                               _OF macros): the values the man page
	                               and the shell completion offer (the
	                               command checks them) */
	opt_cb cb;                  /* OPT_CALLBACK_T */
	const char *want;           /* what a refused value should have been
	                               ("a number of paths (1 to 1000000)");
	                               NULL: worded from the type and bounds */
	unsigned flags;
};

#define OPT_VAL_(T, f) offsetof(T, f)
#define OPT_END() { .type = OPT_END_T }
#define OPT_TEXT(text) { .type = OPT_TEXT_T, .help = (text) }
#define OPT_HELP(h) { .type = OPT_HELP_T, .name = "help", .short_name = 'h', .help = (h) }
#define OPT_FLAG(n, s, T, f, h) \
	{ .type = OPT_FLAG_T, .name = (n), .short_name = (s), .offset = OPT_VAL_(T, f), .help = (h) }
#define OPT_STRING(n, T, f, a, h) \
	{ .type = OPT_STRING_T, .name = (n), .offset = OPT_VAL_(T, f), .argh = (a), .help = (h) }
#define OPT_STRING_OF(n, T, f, a, ch, h) \
	{ .type = OPT_STRING_T, .name = (n), .offset = OPT_VAL_(T, f), .argh = (a), .help = (h), \
	  .choices = (ch) }
#define OPT_PATH(n, T, f, a, h) \
	{ .type = OPT_PATH_T, .name = (n), .offset = OPT_VAL_(T, f), .argh = (a), .help = (h) }
#define OPT_SIZE(n, T, f, a, h) \
	{ .type = OPT_SIZE_T, .name = (n), .offset = OPT_VAL_(T, f), .argh = (a), .help = (h) }
#define OPT_TIME(n, T, f, a, h) \
	{ .type = OPT_TIME_T, .name = (n), .offset = OPT_VAL_(T, f), .argh = (a), .help = (h) }
#define OPT_DAYS(n, T, f, a, lo, hi, fl, h) \
	{ .type = OPT_DAYS_T, .name = (n), .offset = OPT_VAL_(T, f), .argh = (a), .help = (h), \
	  .dmin = (lo), .dmax = (hi), .flags = (fl) }
#define OPT_COUNT(n, T, f, a, lo, hi, w, h) \
	{ .type = OPT_COUNT_T, .name = (n), .offset = OPT_VAL_(T, f), .argh = (a), .help = (h), \
	  .min = (lo), .max = (hi), .want = (w) }
#define OPT_ENUM(n, T, f, a, ch, h) \
	{ .type = OPT_ENUM_T, .name = (n), .offset = OPT_VAL_(T, f), .argh = (a), .help = (h), \
	  .choices = (ch) }
#define OPT_CALLBACK(n, a, fn, w, h) \
	{ .type = OPT_CALLBACK_T, .name = (n), .argh = (a), .help = (h), .cb = (fn), .want = (w) }
#define OPT_CALLBACK_OF(n, a, fn, w, ch, h) \
	{ .type = OPT_CALLBACK_T, .name = (n), .argh = (a), .help = (h), .cb = (fn), .want = (w), \
	  .choices = (ch) }

/* parser.flags */
#define PARSE_STOP_AT_ARG 1u  /* the first positional and all after it are
                                 left as they are (global options) */
#define PARSE_NO_ARGS     2u  /* a positional is an error */

struct opt_parser {
	const char *name;           /* the command, for messages; NULL: global */
	const char *usage;          /* printed before the table by --help */
	const struct option *opts;
	int column;                 /* where option help starts; 0: two spaces
	                               after the longest "--name ARG" */
	unsigned flags;
};

#define PARSE_ERROR (-1)        /* reported; the usage exit status is 2 */
#define PARSE_HELP  (-2)        /* --help printed; exit 0 */

/*
 * Parse argv[1..argc) (argv[0] is the command's name) by p->opts into the
 * struct at base.  The positional arguments are moved, in order, to
 * argv[0..n): returns n, or PARSE_ERROR after reporting the error, or
 * PARSE_HELP after printing the help to stdout.  Fields of options not
 * given keep what the caller put there (its defaults, or a sentinel to tell
 * "not given").
 */
int parse_options(const struct opt_parser *p, int argc, char **argv, void *base);

/* The exit status for a negative parse_options() result: 2 or 0. */
static inline int parse_options_exit(int n) { return n == PARSE_HELP ? 0 : 2; }

/*
 * Before a command runs: 1 after reporting the first of argv[1..argc) that
 * is an option of `globals` (main.c's) but not of the command p, as a
 * global option to put before the command, with the user's own words
 * ("cachegc closure --db x.db" -> "as in 'cachegc --db x.db closure ...'");
 * 0 when there is none.  Values of p's own options are skipped as
 * parse_options() would take them.
 */
int opt_misplaced_global(const struct opt_parser *p, const struct option *globals, int argc,
			 char **argv);

/* Print p->usage and the table's help to f. */
void print_options_help(const struct opt_parser *p, FILE *f);

/* Report a usage error: "cachegc NAME: MSG" (or "cachegc: MSG" for a NULL
 * name) and "see 'cachegc [NAME ]--help'" on stderr.  Returns 2, the usage
 * exit status. */
int opt_usage_error(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
