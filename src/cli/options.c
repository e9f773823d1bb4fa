/*
 * options.c - the option parser and the --help text generated from the
 * same table (see cli/options.h).  Every value is checked here, once, by
 * its type; the commands only check what ties options together.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"
#include "lib/util.h"

static const char time_want[] = "2024-05-01, 2024-05-01T12:00:00Z or @EPOCH";
static const char size_want[] = "e.g. 500G, 1.5TiB or a number of bytes";

int opt_usage_error(const char *name, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (name) {
		fprintf(stderr, "%s %s: %s\n", progname, name, msg);
		fprintf(stderr, "see 'cachegc %s --help'\n", name);
	} else {
		fprintf(stderr, "%s: %s\n", progname, msg);
		fprintf(stderr, "see 'cachegc --help'\n");
	}
	return 2;
}

static void *field(const struct option *o, void *base)
{
	return (char *)base + o->offset;
}

/* "a, b or c" for an enum's message. */
static void choices_text(const struct option *o, struct strbuf *sb)
{
	size_t n = 0;

	while (o->choices[n])
		n++;
	for (size_t k = 0; k < n; k++)
		strbuf_addf(sb, "%s%s", k == 0 ? "" : k + 1 == n ? " or " : ", ", o->choices[k]);
}

/* "--x wants WANT, not 'v'": WANT from o->want, else from the type. */
static int bad_value(const struct opt_parser *p, const struct option *o, const char *v)
{
	struct strbuf sb = STRBUF_INIT;

	if (o->want) {
		strbuf_addstr(&sb, o->want);
	} else if (o->type == OPT_ENUM_T) {
		choices_text(o, &sb);
	} else if (o->type == OPT_DAYS_T) {
		if (o->flags & OPT_WHOLE || o->dmin >= 1)
			strbuf_addf(&sb, "a number of days (%g to %g)", o->dmin, o->dmax);
		else
			strbuf_addf(&sb, "a positive number of days (at most %g)", o->dmax);
	} else if (o->type == OPT_COUNT_T) {
		if (o->max == UINT64_MAX && !o->min)
			strbuf_addstr(&sb, "an unsigned integer");
		else if (o->max == UINT64_MAX)
			strbuf_addf(&sb, "a number (at least %llu)", (unsigned long long)o->min);
		else
			strbuf_addf(&sb, "a number (%llu to %llu)", (unsigned long long)o->min,
				    (unsigned long long)o->max);
	} else if (o->type == OPT_PATH_T) {
		strbuf_addstr(&sb, "a file name");
	} else {
		strbuf_addstr(&sb, "another value");
	}
	opt_usage_error(p->name, "--%s wants %s, not '%s'", o->name, sb.buf, v);
	strbuf_release(&sb);
	return PARSE_ERROR;
}

/* Whole days as parse_uint() reads them; fractions as strtod() does
 * (decimal, finite). */
static int parse_days(const char *s, const struct option *o, double *out)
{
	char *end;
	uint64_t u;
	double d;

	if (o->flags & OPT_WHOLE) {
		if (parse_uint(s, &u))
			return -1;
		d = (double)u;
	} else {
		if (!*s || *s == ' ' || *s == '\t' || strpbrk(s, "xXpP"))
			return -1;
		d = strtod(s, &end);
		if (end == s || *end || !isfinite(d))
			return -1;
	}
	if (d < o->dmin || d > o->dmax)
		return -1;
	*out = d;
	return 0;
}

/* Store v for o; 0, or PARSE_ERROR after reporting. */
static int take_value(const struct opt_parser *p, const struct option *o, const char *v,
		      void *base)
{
	uint64_t u;
	int64_t t;
	double d;

	switch (o->type) {
	case OPT_STRING_T:
		*(const char **)field(o, base) = v;
		return 0;
	case OPT_PATH_T:
		if (!*v)
			return bad_value(p, o, v);
		*(const char **)field(o, base) = v;
		return 0;
	case OPT_SIZE_T:
		if (parse_size(v, &u) || u > INT64_MAX) {
			opt_usage_error(p->name, "--%s: cannot parse '%s' (want %s)", o->name, v,
					size_want);
			return PARSE_ERROR;
		}
		*(uint64_t *)field(o, base) = u;
		return 0;
	case OPT_TIME_T:
		if (parse_time(v, &t)) {
			opt_usage_error(p->name, "--%s: cannot parse '%s' (want %s)", o->name, v,
					time_want);
			return PARSE_ERROR;
		}
		*(int64_t *)field(o, base) = t;
		return 0;
	case OPT_DAYS_T:
		if (parse_days(v, o, &d))
			return bad_value(p, o, v);
		*(double *)field(o, base) = d;
		return 0;
	case OPT_COUNT_T:
		if (parse_uint(v, &u) || u < o->min || u > o->max)
			return bad_value(p, o, v);
		*(uint64_t *)field(o, base) = u;
		return 0;
	case OPT_ENUM_T:
		for (int k = 0; o->choices[k]; k++)
			if (!strcmp(o->choices[k], v)) {
				*(int *)field(o, base) = k;
				return 0;
			}
		return bad_value(p, o, v);
	case OPT_CALLBACK_T:
		if (o->cb(o, v, base))
			return bad_value(p, o, v);
		return 0;
	default:
		/* Only a table entry of a type without a value gets here. */
		BUG("option --%s: type %d takes no value",
		    o->name, (int)o->type);
	}
}

static const struct option *find_long(const struct option *opts, const char *name, size_t len)
{
	for (const struct option *o = opts; o->type != OPT_END_T; o++)
		if (o->name && strlen(o->name) == len && !strncmp(o->name, name, len))
			return o;
	return NULL;
}

static const struct option *find_short(const struct option *opts, char c)
{
	for (const struct option *o = opts; o->type != OPT_END_T; o++)
		if (o->name && o->short_name == c)
			return o;
	return NULL;
}

/* The option argv[i] names in opts (long, up to '=', or short), or NULL. */
static const struct option *find_arg(const struct option *opts, const char *arg)
{
	const char *eq = strchr(arg, '=');

	if (arg[1] == '-')
		return find_long(opts, arg + 2, eq ? (size_t)(eq - arg - 2) : strlen(arg + 2));
	return arg[2] ? NULL : find_short(opts, arg[1]);
}

int opt_misplaced_global(const struct opt_parser *p, const struct option *globals, int argc,
			 char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const struct option *o, *g;

		if (!strcmp(arg, "--"))
			return 0;
		if (arg[0] != '-' || !arg[1])
			continue;
		if ((o = find_arg(p->opts, arg))) {
			/* its value is not an option */
			if (o->type != OPT_FLAG_T && o->type != OPT_HELP_T && !strchr(arg, '='))
				i++;
			continue;
		}
		if (!(g = find_arg(globals, arg)))
			continue;
		if (g->argh && !strchr(arg, '=') && i + 1 < argc)
			opt_usage_error(p->name, "'%s' is a global option: put it before the command, "
					"as in 'cachegc %s %s %s ...'", arg, arg, argv[i + 1], p->name);
		else
			opt_usage_error(p->name, "'%s' is a global option: put it before the command, "
					"as in 'cachegc %s %s ...'", arg, arg, p->name);
		return 1;
	}
	return 0;
}

int parse_options(const struct opt_parser *p, int argc, char **argv, void *base)
{
	int npos = 0, i;

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *eq = NULL, *v;
		const struct option *o;

		if (!strcmp(arg, "--")) {
			i++;
			break;
		}
		if (arg[0] != '-' || !arg[1]) {
			if (p->flags & PARSE_STOP_AT_ARG)
				break;
			if (p->flags & PARSE_NO_ARGS) {
				opt_usage_error(p->name, "unexpected argument '%s'", arg);
				return PARSE_ERROR;
			}
			argv[npos++] = argv[i];
			continue;
		}
		if (arg[1] == '-') {
			eq = strchr(arg + 2, '=');
			o = find_long(p->opts, arg + 2, eq ? (size_t)(eq - arg - 2) : strlen(arg + 2));
		} else {
			o = arg[2] ? NULL : find_short(p->opts, arg[1]);
		}
		if (!o) {
			opt_usage_error(p->name, "unknown option '%s'", arg);
			return PARSE_ERROR;
		}
		if (o->type == OPT_HELP_T || o->type == OPT_FLAG_T) {
			if (eq) {
				opt_usage_error(p->name, "option '--%s' takes no value", o->name);
				return PARSE_ERROR;
			}
			if (o->type == OPT_HELP_T) {
				print_options_help(p, stdout);
				return PARSE_HELP;
			}
			*(int *)field(o, base) = 1;
			continue;
		}
		if (eq) {
			v = eq + 1;
		} else if (i + 1 < argc) {
			v = argv[++i];
		} else {
			opt_usage_error(p->name, "option '--%s' needs a value", o->name);
			return PARSE_ERROR;
		}
		if (take_value(p, o, v, base))
			return PARSE_ERROR;
	}
	for (; i < argc; i++) {
		if ((p->flags & PARSE_NO_ARGS) && !(p->flags & PARSE_STOP_AT_ARG)) {
			opt_usage_error(p->name, "unexpected argument '%s'", argv[i]);
			return PARSE_ERROR;
		}
		argv[npos++] = argv[i];
	}
	return npos;
}

/* "--name ARG" as the help shows it. */
static size_t spec_len(const struct option *o)
{
	return 2 + strlen(o->name) + (o->argh ? 1 + strlen(o->argh) : 0);
}

void print_options_help(const struct opt_parser *p, FILE *f)
{
	size_t column = p->column > 0 ? (size_t)p->column : 0;

	if (!column) {
		for (const struct option *o = p->opts; o->type != OPT_END_T; o++)
			if (o->name && o->help && 2 + spec_len(o) + 2 > column)
				column = 2 + spec_len(o) + 2;
	}
	if (p->usage)
		fputs(p->usage, f);
	for (const struct option *o = p->opts; o->type != OPT_END_T; o++) {
		const char *h = o->help, *nl;
		size_t at;

		if (o->type == OPT_TEXT_T) {
			fputs(h, f);
			continue;
		}
		if (!h)
			continue;
		at = o->flags & OPT_NESTED ? 4 : 2;
		fprintf(f, "%*s--%s%s%s", (int)at, "", o->name, o->argh ? " " : "",
			o->argh ? o->argh : "");
		at += spec_len(o);
		if (at >= column) {
			fputc('\n', f);
			at = 0;
		}
		fprintf(f, "%*s", (int)(column - at), "");
		while ((nl = strchr(h, '\n'))) {
			fprintf(f, "%.*s\n%*s", (int)(nl - h), h, (int)column, "");
			h = nl + 1;
		}
		fprintf(f, "%s\n", h);
	}
}
