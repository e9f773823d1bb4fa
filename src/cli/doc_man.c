/*
 * doc_man.c - cachegc(1), written from the same tables as --help (see
 * cli/doc.h): the global usage and options, each command's usage, prose
 * and option table, and the schema's comments for the database tables.
 *
 * The help text is plain text laid out for a terminal; it becomes roff by
 * paragraphs (blank lines apart):
 *   - a lone line ending in ':' ("HTTP options:") is a bold heading;
 *   - a paragraph whose lines are "TERM  description" items (with
 *     continuation lines indented to the description) becomes .TP items;
 *   - anything else is filled text, except runs of indented lines (a
 *     formula, a list inside a sentence), which are kept as they are (.nf).
 * Every text byte goes through put_text(): '\' and '-' are escaped, and a
 * line never starts with a control character ('.' or '\'').
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/doc.h"
#include "store/schema.h"
#include "lib/util.h"
#include "lib/version.h"

struct span {
	const char *p;
	size_t n;
};

/* Text for roff, with s[0] at the start of an output line when bol. */
static void put_text(FILE *f, const char *s, size_t n, int bol)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (bol && i == 0 && (c == '.' || c == '\''))
			fputs("\\&", f);
		if (c == '\\')
			fputs("\\e", f);
		else if (c == '-')
			fputs("\\-", f);
		else if (c == '\t')
			fputs("        ", f);
		else if (c < 0x20 || c == 0x7f)
			continue;
		else
			fputc(c, f);
	}
}

static void put_str(FILE *f, const char *s, int bol)
{
	put_text(f, s, strlen(s), bol);
}

static size_t indent_of(struct span l)
{
	size_t i = 0;

	while (i < l.n && l.p[i] == ' ')
		i++;
	return i;
}

static struct span trim(struct span l)
{
	size_t i = indent_of(l);

	l.p += i;
	l.n -= i;
	while (l.n && (l.p[l.n - 1] == ' ' || l.p[l.n - 1] == '\t'))
		l.n--;
	return l;
}

/* Split text into lines (without their '\n'); *n lines, malloc'd. */
static struct span *split_lines(const char *text, size_t *n)
{
	struct span *v = NULL;
	size_t cap = 0;
	const char *p = text;

	*n = 0;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[(*n)++] = (struct span){p, len};
		p += len + (nl ? 1 : 0);
	}
	return v;
}

static int blank(struct span l)
{
	return trim(l).n == 0;
}

/* "TERM  description": the term's span and the description's column, or 0
 * when the line is not one (prose has one space between words, or two
 * after a full stop). */
static int term_line(struct span l, struct span *term, size_t *col)
{
	size_t i = indent_of(l), j;

	if (i > 8 || i >= l.n)
		return 0;
	for (j = i + 1; j + 1 < l.n; j++)
		if (l.p[j] == ' ' && l.p[j + 1] == ' ')
			break;
	if (j + 1 >= l.n || j - i > 24 || strchr(".,;", l.p[j - 1]))
		return 0;
	term->p = l.p + i;
	term->n = j - i;
	while (j < l.n && l.p[j] == ' ')
		j++;
	if (j >= l.n)
		return 0;
	*col = j;
	return 1;
}

/* Whether lines l[0..n) are all TERM items and their continuations. */
static int is_list(const struct span *l, size_t n)
{
	struct span t;
	size_t col = 0, c;

	if (!term_line(l[0], &t, &col))
		return 0;
	for (size_t k = 1; k < n; k++) {
		if (indent_of(l[k]) >= col)
			continue;
		if (!term_line(l[k], &t, &c))
			return 0;
		col = c;
	}
	return 1;
}

static void put_list(FILE *f, const struct span *l, size_t n)
{
	struct span t;
	size_t col = 0;

	for (size_t k = 0; k < n; k++) {
		if (k && indent_of(l[k]) >= col) {
			struct span s = trim(l[k]);

			put_text(f, s.p, s.n, 1);
			fputc('\n', f);
			continue;
		}
		term_line(l[k], &t, &col);
		fputs(".TP\n\\fB", f);
		put_text(f, t.p, t.n, 0);
		fputs("\\fR\n", f);
		put_text(f, l[k].p + col, trim((struct span){l[k].p + col, l[k].n - col}).n, 1);
		fputc('\n', f);
	}
}

/* Filled text, with runs of indented lines kept as laid out.  in_tp: in
 * a .TP body, whose indent .RS would not keep. */
static void put_mixed(FILE *f, const struct span *l, size_t n, int in_tp)
{
	int nofill = 0;

	for (size_t k = 0; k < n; k++) {
		struct span s = trim(l[k]);

		if (indent_of(l[k]) > 0 && !nofill) {
			fputs(in_tp ? ".IP\n.nf\n" : ".nf\n.RS 2\n", f);
			nofill = 1;
		} else if (!indent_of(l[k]) && nofill) {
			fputs(in_tp ? ".fi\n" : ".RE\n.fi\n", f);
			nofill = 0;
		}
		if (nofill) {
			/* the indent beyond the block's first line's */
			struct span r = l[k];
			size_t drop = indent_of(r) < 2 ? indent_of(r) : 2;

			r.p += drop;
			r.n -= drop;
			while (r.n && r.p[r.n - 1] == ' ')
				r.n--;
			if (r.n && r.p[0] == ' ')
				fputs("\\&", f);
			put_text(f, r.p, r.n, 1);
		} else {
			put_text(f, s.p, s.n, 1);
		}
		fputc('\n', f);
	}
	if (nofill)
		fputs(in_tp ? ".fi\n" : ".RE\n.fi\n", f);
}

enum prose_at {
	AT_TEXT,     /* paragraphs (.PP) */
	AT_HEADING,  /* right after .SH: the first paragraph needs no .PP */
	AT_TP,       /* the body of a .TP item (an option's help): the first
	                paragraph follows the tag, the next ones are .IP */
};

/* Help text as roff paragraphs.  Returns whether anything was written. */
static int put_prose(FILE *f, const char *text, enum prose_at at)
{
	int in_tp = at == AT_TP;
	size_t n, k = 0, para = 0;
	struct span *l = split_lines(text, &n);

	while (k < n) {
		size_t e;

		if (blank(l[k])) {
			k++;
			continue;
		}
		for (e = k; e < n && !blank(l[e]); e++)
			;
		if (e - k == 1 && !indent_of(l[k]) && trim(l[k]).n < 40 &&
		    trim(l[k]).p[trim(l[k]).n - 1] == ':' && !strstr(trim(l[k]).p, ". ") && !in_tp) {
			struct span s = trim(l[k]);

			fputs(".PP\n\\fB", f);
			put_text(f, s.p, s.n, 0);
			fputs("\\fR\n", f);
		} else if (!in_tp && is_list(l + k, e - k)) {
			put_list(f, l + k, e - k);
		} else {
			if (para || at == AT_TEXT)
				fputs(in_tp ? ".IP\n" : ".PP\n", f);
			put_mixed(f, l + k, e - k, in_tp);
		}
		para++;
		k = e;
	}
	free(l);
	return para > 0;
}

/* "--name ARG" and "-q, --quiet" as a .TP tag. */
static void put_option_tag(FILE *f, const struct option *o)
{
	fputs(".TP\n", f);
	if (o->short_name)
		fprintf(f, "\\fB\\-%c\\fR, ", o->short_name);
	fputs("\\fB\\-\\-", f);
	put_str(f, o->name, 0);
	fputs("\\fR", f);
	if (o->argh) {
		fputs(" \\fI", f);
		put_str(f, o->argh, 0);
		fputs("\\fR", f);
	}
	fputc('\n', f);
}

static void put_choices(FILE *f, const struct option *o)
{
	if (!o->choices || o->type == OPT_FLAG_T)
		return;
	fputs(".IP\n", f);
	fputs("Values:", f);
	for (size_t k = 0; o->choices[k]; k++) {
		fputs(k ? ", " : " ", f);
		put_str(f, o->choices[k], 0);
	}
	fputs(".\n", f);
}

static void put_options(FILE *f, const struct opt_parser *p)
{
	int nested = 0;

	for (const struct option *o = p->opts; o->type != OPT_END_T; o++) {
		if (o->type == OPT_TEXT_T) {
			if (nested)
				fputs(".RE\n", f);
			nested = 0;
			put_prose(f, o->help, AT_TEXT);
			continue;
		}
		if (!o->help || !o->name)
			continue;
		if ((o->flags & OPT_NESTED) && !nested) {
			fputs(".RS\n", f);
			nested = 1;
		} else if (!(o->flags & OPT_NESTED) && nested) {
			fputs(".RE\n", f);
			nested = 0;
		}
		put_option_tag(f, o);
		put_prose(f, o->help, AT_TP);
		put_choices(f, o);
	}
	if (nested)
		fputs(".RE\n", f);
}

/* What follows the usage's first block (its synopsis lines). */
static const char *after_synopsis(const char *usage)
{
	const char *p = strstr(usage, "\n\n");

	return p ? p + 1 : usage + strlen(usage);
}

/* The usage's first block, "usage: " and "   or: " cut off. */
static void put_synopsis(FILE *f, const char *usage)
{
	const char *p = usage;

	while (*p && *p != '\n') {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p), cut = 0;

		if (len >= 7 && (!strncmp(p, "usage: ", 7) || !strncmp(p, "   or: ", 7) ||
				 !strncmp(p, "       ", 7)))
			cut = 7;
		p += cut;
		len -= cut;
		if (len >= 8 && !strncmp(p, "cachegc ", 8)) {
			fputs("\\fBcachegc\\fR", f);
			p += 7;
			len -= 7;
			put_text(f, p, len, 0);
		} else {
			if (len && *p == ' ')
				fputs("\\&", f);
			put_text(f, p, len, 1);
		}
		fputc('\n', f);
		p += len + (nl ? 1 : 0);
	}
}

static void put_table(void *arg, const char *kind, const char *name, const char *migration,
		      const char *doc)
{
	FILE *f = arg;

	fputs(".TP\n\\fB", f);
	put_str(f, name, 0);
	fprintf(f, "\\fR (%s, ", kind);
	put_str(f, migration, 0);
	fputs(")\n", f);
	if (*doc)
		put_prose(f, doc, AT_TP);
}

static const char *const examples[] = {
	"Write a sample world (a signed file:// cache, evaluations, builds) and\n"
	"crawl it into a database:",
	"cachegc --db world.db gen /tmp/world\n"
	"cachegc --db world.db crawl /tmp/world/cache\n"
	"cachegc --db world.db import-eval --manifest /tmp/world/evals/manifest.tsv\n"
	"cachegc --db world.db import-builds /tmp/world/builds.jsonl",
	"Crawl an HTTP cache from the outputs of an evaluation, and record it:",
	"nix-eval-jobs ... >jobs.json\n"
	"cachegc crawl --roots jobs.json https://cache.example.org\n"
	"cachegc import-eval --branch main --rev abc123 --capabilities 8.9 jobs.json",
	"Which CI builds the cache holds, as a table for an issue:",
	"cachegc coverage --markdown",
	"Why a package is not cached, and what CI should rebuild first:",
	"cachegc why cudaPackages.cudnn\n"
	"cachegc rebuild --limit 500G --max 20",
	"What a cachix-style GC with a 500 GiB limit would have done:",
	"cachegc simulate --policy cachix --limit 500G",
	"A report with charts in ./report (needs gnuplot):",
	"cachegc report --out report",
	NULL,
};

static void put_date(FILE *f)
{
	const char *e = getenv("SOURCE_DATE_EPOCH");
	time_t t = time(NULL);
	struct tm tm;
	char buf[32];

	if (e && *e) {
		char *end;
		long long v = strtoll(e, &end, 10);

		if (!*end && v >= 0)
			t = (time_t)v;
	}
	if (!gmtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%d", &tm))
		strcpy(buf, "1970-01-01");
	fputs(buf, f);
}

void doc_manpage(const struct doc_src *d, FILE *f)
{
	const char *rest;

	fputs(".\\\" generated by 'cachegc --man' from the option and command tables; do not edit\n", f);
	fputs(".TH CACHEGC 1 ", f);
	put_date(f);
	fprintf(f, " \"cachegc %s\" \"User Commands\"\n", CACHEGC_VERSION);
	fputs(".nh\n", f);
	fputs(".SH NAME\ncachegc \\- what a Nix binary cache really holds and what to do about it\n", f);

	fputs(".SH SYNOPSIS\n.nf\n", f);
	put_synopsis(f, d->global->usage);
	rest = after_synopsis(d->global->usage);
	for (size_t i = 0; i < d->ncmds; i++) {
		fputs(".sp\n", f);
		put_synopsis(f, d->cmds[i]->options->usage);
	}
	fputs(".fi\n", f);

	fputs(".SH DESCRIPTION\n", f);
	{
		/* the global prose, up to its "global options:" heading */
		const char *h = strstr(rest, "global options:");
		char *prose = xstrdup(rest);

		if (h)
			prose[h - rest] = '\0';
		put_prose(f, prose, AT_HEADING);
		free(prose);
	}
	fputs(".PP\n"
	      "\\fBcachegc\\fR keeps what it learns in one SQLite database (see \\fB\\-\\-db\\fR and\n"
	      "\\fBDATABASE\\fR below): every crawl of a cache, the evaluations and builds of CI,\n"
	      "access logs and trusted keys.  The analyses read only the database, never the\n"
	      "network.  Every command prints a table for people and, with\n"
	      "\\fB\\-\\-json\\fR, JSON for programs;\n"
	      "\\fBcachegc\\fR \\fICOMMAND\\fR \\fB\\-\\-help\\fR prints its options.\n", f);

	fputs(".SH OPTIONS\n", f);
	fputs("These global options come before the command.\n", f);
	put_options(f, d->global);

	fputs(".SH COMMANDS\n", f);
	for (size_t i = 0; i < d->ncmds; i++) {
		const struct cmd *c = d->cmds[i];

		fputs(".SS ", f);
		put_str(f, c->name, 0);
		fputs("\n", f);
		put_str(f, c->summary, 1);
		fputs(".\n", f);
		if (c->options) {
			/* the synopsis is above; the rest is prose */
			put_prose(f, after_synopsis(c->options->usage), AT_TEXT);
			put_options(f, c->options);
		}
	}

	fputs(".SH EXIT STATUS\n"
	      ".TP\n0\nThe command did its job (also when there was nothing to do).\n"
	      ".TP\n1\nIt could not: the error says what failed and what to do.  Some commands\n"
	      "also exit 1 for a finding, as their section above says.\n"
	      ".TP\n2\nA usage error: an unknown option, a bad value, a missing argument.\n"
	      ".TP\n130\nInterrupted (Ctrl\\-C): what was recorded is kept.\n"
	      ".PP\nEach command's own exit statuses are listed with its options.\n", f);

	fputs(".SH ENVIRONMENT\n"
	      ".TP\n.B CACHEGC_DB\nThe database when \\fB\\-\\-db\\fR is not given.\n"
	      ".TP\n.B CACHEGC_BUSY_TIMEOUT_MS\n"
	      "How long to wait for a database another cachegc is writing, in milliseconds\n"
	      "(default 10000, at most 600000).\n"
	      ".TP\n.B PATH\n\\fBcachegc report\\fR runs \\fBgnuplot\\fR(1) from the \\fBPATH\\fR to draw its charts.\n"
	      ".TP\n.B SOURCE_DATE_EPOCH\nOnly for \\fBcachegc \\-\\-man\\fR: the date of this page.\n"
	      ".TP\n.BR http_proxy \", \" https_proxy \", \" no_proxy\n"
	      "The proxies of HTTP(S) requests (\\fBcrawl\\fR, \\fBimport\\-hydra\\fR),\n"
	      "as \\fBcurl\\fR(1) reads them.\n", f);

	fputs(".SH FILES\n"
	      ".TP\n.I ./cachegc.db\nThe default database (created by the first command that writes).\n"
	      ".PP\nThe schema, the report's gnuplot scripts and its style sheet are compiled\n"
	      "into the binary: \\fBcachegc\\fR needs no other file.\n", f);

	fputs(".SH DATABASE\n"
	      "The tables and views a database holds, for direct queries with \\fBsqlite3\\fR(1)\n"
	      "(times are seconds since the epoch, UTC; sizes are bytes).\n", f);
	schema_each_object(put_table, f);

	fputs(".SH EXAMPLES\n", f);
	for (size_t k = 0; examples[k]; k += 2) {
		put_prose(f, examples[k], k ? AT_TEXT : AT_HEADING);
		fputs(".PP\n.RS 4\n.nf\n", f);
		{
			size_t n;
			struct span *l = split_lines(examples[k + 1], &n);

			for (size_t j = 0; j < n; j++) {
				put_text(f, l[j].p, l[j].n, 1);
				fputc('\n', f);
			}
			free(l);
		}
		fputs(".fi\n.RE\n", f);
	}

	fputs(".SH SEE ALSO\n"
	      ".BR nix (1),\n.BR nix\\-store (1),\n.BR sqlite3 (1),\n.BR gnuplot (1)\n", f);
}
