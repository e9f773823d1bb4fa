/*
 * test_options.c - the option parser (src/cli/options.c): every type, "--",
 * "--opt=value" and "--opt value", missing values, unknown options, repeated
 * options, bounds, and the help text generated from the table.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "cli/options.h"
#include "harness.h"

struct t_opts {
	int json, verbose;
	const char *name, *file;
	uint64_t size, count;
	int64_t at;
	double days, whole;
	int mode;
	int calls;
	const char *last_cb;
};

static const char *const modes[] = {"auto", "logs", "evals", NULL};

static int even_cb(const struct option *o, const char *arg, void *base)
{
	struct t_opts *t = base;

	(void)o;
	if (strlen(arg) % 2)
		return -1;
	t->calls++;
	t->last_cb = arg;
	return 0;
}

static const struct option table[] = {
	OPT_TEXT("options:\n"),
	OPT_FLAG("json", 0, struct t_opts, json, "JSON"),
	OPT_FLAG("verbose", 'v', struct t_opts, verbose, "more"),
	OPT_STRING("name", struct t_opts, name, "NAME", "a name\nsecond line"),
	OPT_PATH("file", struct t_opts, file, "FILE", "a file"),
	OPT_SIZE("limit", struct t_opts, size, "SIZE", "a size"),
	OPT_TIME("at", struct t_opts, at, "TIME", "a time"),
	OPT_DAYS("step", struct t_opts, days, "DAYS", 1.0 / 86400, 3650, 0, "fractional days"),
	OPT_DAYS("retention", struct t_opts, whole, "DAYS", 1, 36500, OPT_WHOLE, "whole days"),
	OPT_COUNT("jobs", struct t_opts, count, "N", 1, 1024, NULL, "a count"),
	OPT_ENUM("access", struct t_opts, mode, "A", modes, "an enum"),
	OPT_CALLBACK("even", "S", even_cb, "an even-length word", "a callback"),
	OPT_FLAG("hidden", 0, struct t_opts, json, NULL),
	OPT_HELP("this text"),
	OPT_TEXT("\nthe end\n"),
	OPT_END(),
};

static const struct opt_parser parser = {.name = "t", .usage = "usage: t [options] ARG...\n\n",
					 .opts = table};

/* Run the parser on a NULL-terminated list of words; stderr into err. */
static char err[4096];
static char *args[32];

static int run_words(const struct opt_parser *p, struct t_opts *t, const char **words)
{
	int argc = 0, n, fd, saved;
	FILE *f = tmpfile();

	memset(t, 0, sizeof(*t));
	t->at = -1;
	args[argc++] = (char *)"t";
	while (*words)
		args[argc++] = (char *)*words++;
	args[argc] = NULL;
	fflush(stderr);
	saved = dup(2);
	fd = fileno(f);
	dup2(fd, 2);
	n = parse_options(p, argc, args, t);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	err[fread(err, 1, sizeof(err) - 1, f)] = '\0';
	fclose(f);
	return n;
}

#define WORDS(...) ((const char *[]){__VA_ARGS__, NULL})

TEST(flags_and_positionals)
{
	struct t_opts t;
	int n = run_words(&parser, &t, WORDS("a", "--json", "b", "-v", "-"));

	CHECK_INT(n, 3);
	CHECK_STR(args[0], "a");
	CHECK_STR(args[1], "b");
	CHECK_STR(args[2], "-");
	CHECK_INT(t.json, 1);
	CHECK_INT(t.verbose, 1);
	CHECK_STR(err, "");
}

TEST(equals_and_separate_value)
{
	struct t_opts t;

	CHECK_INT(run_words(&parser, &t, WORDS("--name=x", "--file", "f")), 0);
	CHECK_STR(t.name, "x");
	CHECK_STR(t.file, "f");
	CHECK_INT(run_words(&parser, &t, WORDS("--name", "--json")), 0);
	CHECK_STR(t.name, "--json"); /* a value is taken as it is */
	CHECK_INT(t.json, 0);
	CHECK_INT(run_words(&parser, &t, WORDS("--name=")), 0);
	CHECK_STR(t.name, "");
	CHECK_INT(run_words(&parser, &t, WORDS("--name=a=b")), 0);
	CHECK_STR(t.name, "a=b");
}

TEST(double_dash_ends_options)
{
	struct t_opts t;
	int n = run_words(&parser, &t, WORDS("--json", "--", "--verbose", "-x", "--"));

	CHECK_INT(n, 3);
	CHECK_STR(args[0], "--verbose");
	CHECK_STR(args[1], "-x");
	CHECK_STR(args[2], "--");
	CHECK_INT(t.json, 1);
	CHECK_INT(t.verbose, 0);
}

TEST(unknown_option)
{
	struct t_opts t;

	CHECK_INT(run_words(&parser, &t, WORDS("--frob")), PARSE_ERROR);
	CHECK(strstr(err, "cachegc t: unknown option '--frob'\n"));
	CHECK(strstr(err, "see 'cachegc t --help'\n"));
	CHECK_INT(run_words(&parser, &t, WORDS("-x")), PARSE_ERROR);
	CHECK(strstr(err, "unknown option '-x'"));
	CHECK_INT(run_words(&parser, &t, WORDS("-vv")), PARSE_ERROR); /* no bundling */
	/* no abbreviations: --verb is not --verbose */
	CHECK_INT(run_words(&parser, &t, WORDS("--verb")), PARSE_ERROR);
	CHECK(strstr(err, "unknown option '--verb'"));
	/* a hidden option is parsed all the same */
	CHECK_INT(run_words(&parser, &t, WORDS("--hidden")), 0);
	CHECK_INT(t.json, 1);
}

TEST(missing_value_and_flag_value)
{
	struct t_opts t;

	CHECK_INT(run_words(&parser, &t, WORDS("--name")), PARSE_ERROR);
	CHECK(strstr(err, "cachegc t: option '--name' needs a value"));
	CHECK_INT(run_words(&parser, &t, WORDS("a", "--limit")), PARSE_ERROR);
	CHECK(strstr(err, "option '--limit' needs a value"));
	CHECK_INT(run_words(&parser, &t, WORDS("--json=1")), PARSE_ERROR);
	CHECK(strstr(err, "option '--json' takes no value"));
}

TEST(repeated_last_wins)
{
	struct t_opts t;

	CHECK_INT(run_words(&parser, &t, WORDS("--name", "a", "--name=b", "--jobs", "3",
					      "--jobs", "4")), 0);
	CHECK_STR(t.name, "b");
	CHECK_INT(t.count, 4);
	/* callbacks see every value */
	CHECK_INT(run_words(&parser, &t, WORDS("--even", "ab", "--even=cdef")), 0);
	CHECK_INT(t.calls, 2);
	CHECK_STR(t.last_cb, "cdef");
}

TEST(type_path)
{
	struct t_opts t;

	CHECK_INT(run_words(&parser, &t, WORDS("--file", "")), PARSE_ERROR);
	CHECK(strstr(err, "--file wants a file name, not ''"));
	CHECK_INT(run_words(&parser, &t, WORDS("--file=-")), 0);
	CHECK_STR(t.file, "-");
}

TEST(type_size)
{
	struct t_opts t;

	CHECK_INT(run_words(&parser, &t, WORDS("--limit", "500G")), 0);
	CHECK(t.size == 500ull << 30);
	CHECK_INT(run_words(&parser, &t, WORDS("--limit=1.5K")), 0);
	CHECK_INT(t.size, 1536);
	CHECK_INT(run_words(&parser, &t, WORDS("--limit", "0")), 0);
	CHECK_INT(t.size, 0);
	CHECK_INT(run_words(&parser, &t, WORDS("--limit", "nan")), PARSE_ERROR);
	CHECK(strstr(err, "--limit: cannot parse 'nan' (want e.g. 500G, 1.5TiB or a number "
		      "of bytes)"));
	/* more than INT64_MAX bytes fits no column of the DB */
	CHECK_INT(run_words(&parser, &t, WORDS("--limit", "9223372036854775808")), PARSE_ERROR);
	CHECK_INT(run_words(&parser, &t, WORDS("--limit", "9223372036854775807")), 0);
	CHECK(t.size == INT64_MAX);
	CHECK_INT(run_words(&parser, &t, WORDS("--limit", "-1G")), PARSE_ERROR);
}

TEST(type_time)
{
	struct t_opts t;

	CHECK_INT(run_words(&parser, &t, WORDS("--at", "2024-05-01")), 0);
	CHECK_INT(t.at, 1714521600);
	CHECK_INT(run_words(&parser, &t, WORDS("--at=@5")), 0);
	CHECK_INT(t.at, 5);
	CHECK_INT(run_words(&parser, &t, WORDS("--at", "2024-05-01T12:00:00Z")), 0);
	CHECK_INT(t.at, 1714521600 + 12 * 3600);
	CHECK_INT(run_words(&parser, &t, WORDS("--at", "yesterday")), PARSE_ERROR);
	CHECK(strstr(err, "cachegc t: --at: cannot parse 'yesterday' (want 2024-05-01, "
		      "2024-05-01T12:00:00Z or @EPOCH)"));
	CHECK_INT(t.at, -1); /* untouched */
}

TEST(type_days)
{
	struct t_opts t;

	CHECK_INT(run_words(&parser, &t, WORDS("--step", "0.5", "--retention", "30")), 0);
	CHECK(t.days == 0.5);
	CHECK(t.whole == 30);
	CHECK_INT(run_words(&parser, &t, WORDS("--step", "3650")), 0);
	CHECK_INT(run_words(&parser, &t, WORDS("--step", "3650.5")), PARSE_ERROR);
	CHECK(strstr(err, "--step wants a positive number of days (at most 3650), not '3650.5'"));
	CHECK_INT(run_words(&parser, &t, WORDS("--step", "0")), PARSE_ERROR);
	CHECK_INT(run_words(&parser, &t, WORDS("--step", "-1")), PARSE_ERROR);
	CHECK_INT(run_words(&parser, &t, WORDS("--step", "inf")), PARSE_ERROR);
	CHECK_INT(run_words(&parser, &t, WORDS("--step", "nan")), PARSE_ERROR);
	CHECK_INT(run_words(&parser, &t, WORDS("--step", "")), PARSE_ERROR);
	CHECK_INT(run_words(&parser, &t, WORDS("--step", "1x")), PARSE_ERROR);
	CHECK_INT(run_words(&parser, &t, WORDS("--retention", "1.5")), PARSE_ERROR);
	CHECK(strstr(err, "--retention wants a number of days (1 to 36500), not '1.5'"));
	CHECK_INT(run_words(&parser, &t, WORDS("--retention", "0")), PARSE_ERROR);
	CHECK_INT(run_words(&parser, &t, WORDS("--retention", "36501")), PARSE_ERROR);
	CHECK_INT(run_words(&parser, &t, WORDS("--retention", "36500")), 0);
	CHECK_INT(run_words(&parser, &t, WORDS("--retention", "1")), 0);
}

TEST(type_count)
{
	struct t_opts t;

	CHECK_INT(run_words(&parser, &t, WORDS("--jobs", "1")), 0);
	CHECK_INT(t.count, 1);
	CHECK_INT(run_words(&parser, &t, WORDS("--jobs=1024")), 0);
	CHECK_INT(t.count, 1024);
	CHECK_INT(run_words(&parser, &t, WORDS("--jobs", "0")), PARSE_ERROR);
	CHECK(strstr(err, "--jobs wants a number (1 to 1024), not '0'"));
	CHECK_INT(run_words(&parser, &t, WORDS("--jobs", "1025")), PARSE_ERROR);
	CHECK_INT(run_words(&parser, &t, WORDS("--jobs", "-1")), PARSE_ERROR);
	CHECK_INT(run_words(&parser, &t, WORDS("--jobs", "+1")), PARSE_ERROR);
	CHECK_INT(run_words(&parser, &t, WORDS("--jobs", "1.0")), PARSE_ERROR);
	CHECK_INT(run_words(&parser, &t, WORDS("--jobs", "99999999999999999999")), PARSE_ERROR);
}

TEST(type_enum)
{
	struct t_opts t;

	CHECK_INT(run_words(&parser, &t, WORDS("--access", "evals")), 0);
	CHECK_INT(t.mode, 2);
	CHECK_INT(run_words(&parser, &t, WORDS("--access=auto")), 0);
	CHECK_INT(t.mode, 0);
	CHECK_INT(run_words(&parser, &t, WORDS("--access", "Logs")), PARSE_ERROR);
	CHECK(strstr(err, "--access wants auto, logs or evals, not 'Logs'"));
}

TEST(type_callback)
{
	struct t_opts t;

	CHECK_INT(run_words(&parser, &t, WORDS("--even", "abc")), PARSE_ERROR);
	CHECK(strstr(err, "--even wants an even-length word, not 'abc'"));
	CHECK_INT(t.calls, 0);
}

TEST(no_args_and_stop_at_arg)
{
	static const struct opt_parser none = {.name = "t", .opts = table,
					       .flags = PARSE_NO_ARGS};
	static const struct opt_parser global = {.opts = table, .flags = PARSE_STOP_AT_ARG};
	struct t_opts t;
	int n;

	CHECK_INT(run_words(&none, &t, WORDS("--json", "x")), PARSE_ERROR);
	CHECK(strstr(err, "cachegc t: unexpected argument 'x'"));
	CHECK_INT(run_words(&none, &t, WORDS("--", "x")), PARSE_ERROR);
	n = run_words(&global, &t, WORDS("--json", "cmd", "--frob", "--", "y"));
	CHECK_INT(n, 4);
	CHECK_STR(args[0], "cmd");
	CHECK_STR(args[1], "--frob");
	CHECK_STR(args[2], "--");
	CHECK_INT(t.json, 1);
	n = run_words(&global, &t, WORDS("--", "--json"));
	CHECK_INT(n, 1);
	CHECK_STR(args[0], "--json");
	CHECK_INT(t.json, 0);
	CHECK_INT(run_words(&global, &t, WORDS("--frob")), PARSE_ERROR);
	CHECK(strstr(err, "cachegc: unknown option '--frob'\nsee 'cachegc --help'\n"));
}

TEST(help_text)
{
	static const struct option col[] = {
		OPT_FLAG("a", 0, struct t_opts, json, "x"),
		OPT_STRING("long-name", struct t_opts, name, "ARG", "y"),
		OPT_STRING("at", struct t_opts, name, "T", "nested"),
		OPT_END(),
	};
	static const struct option nested[] = {
		OPT_TEXT("  sub\n"),
		{.type = OPT_STRING_T, .name = "at", .argh = "T", .help = "nested",
		 .flags = OPT_NESTED},
		OPT_END(),
	};
	static const struct opt_parser narrow = {.opts = col, .column = 10};
	static const struct opt_parser sub = {.opts = nested, .column = 12};
	char buf[2048];
	FILE *f = tmpfile();
	size_t n;

	print_options_help(&parser, f);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	CHECK_STR(buf, "usage: t [options] ARG...\n\n"
		       "options:\n"
		       "  --json            JSON\n"
		       "  --verbose         more\n"
		       "  --name NAME       a name\n"
		       "                    second line\n"
		       "  --file FILE       a file\n"
		       "  --limit SIZE      a size\n"
		       "  --at TIME         a time\n"
		       "  --step DAYS       fractional days\n"
		       "  --retention DAYS  whole days\n"
		       "  --jobs N          a count\n"
		       "  --access A        an enum\n"
		       "  --even S          a callback\n"
		       "  --help            this text\n"
		       "\nthe end\n");
	fclose(f);

	/* a fixed column: a longer option goes on its own line */
	f = tmpfile();
	print_options_help(&narrow, f);
	print_options_help(&sub, f);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	CHECK_STR(buf, "  --a     x\n"
		       "  --long-name ARG\n"
		       "          y\n"
		       "  --at T  nested\n"
		       "  sub\n"
		       "    --at T  nested\n");
	fclose(f);
}

TEST(help_option)
{
	struct t_opts t;
	int n;

	fflush(stdout);
	{
		int saved = dup(1), fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		n = run_words(&parser, &t, WORDS("--json", "--help", "--frob"));
		fflush(stdout);
		dup2(saved, 1);
		close(saved);
		close(fd);
	}
	CHECK_INT(n, PARSE_HELP);
	CHECK_INT(parse_options_exit(PARSE_HELP), 0);
	CHECK_INT(parse_options_exit(PARSE_ERROR), 2);
	CHECK_INT(run_words(&parser, &t, WORDS("--help=x")), PARSE_ERROR);
}

int main(void)
{
	RUN(flags_and_positionals);
	RUN(equals_and_separate_value);
	RUN(double_dash_ends_options);
	RUN(unknown_option);
	RUN(missing_value_and_flag_value);
	RUN(repeated_last_wins);
	RUN(type_path);
	RUN(type_size);
	RUN(type_time);
	RUN(type_days);
	RUN(type_count);
	RUN(type_enum);
	RUN(type_callback);
	RUN(no_args_and_stop_at_arg);
	RUN(help_text);
	RUN(help_option);
	return test_summary();
}
