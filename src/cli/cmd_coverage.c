/*
 * cmd_coverage.c - `cachegc coverage`: options, and the coverage of
 * coverage.c printed as a text matrix, JSON rows or Markdown.
 *
 * Names in the output (attrs, branches, systems, revs, errors, the cache
 * URL) come from imported files: the text matrix shows their control
 * characters escaped (strbuf_add_printable), the Markdown escapes what
 * would break a GitHub table cell or a code span.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "analysis/coverage.h"
#include "store/db.h"
#include "nix/caps.h"
#include "nix/evaljobs.h"
#include "store/lookup.h"
#include "lib/util.h"

/* What the options give; turned into struct coverage_opts by run(). */
struct coverage_cli {
	const char *cache, *branch, *caps, *attr;
	int64_t at;
	int json, markdown;
};

static const struct option coverage_options[] = {
	OPT_STRING("cache", struct coverage_cli, cache, "CACHE",
		 "the cache (URL, directory or id); default: the only one"),
	OPT_STRING("branch", struct coverage_cli, branch, "B", "only this branch"),
	OPT_STRING("capabilities", struct coverage_cli, caps, "C",
		 "only this cudaCapabilities set, compared as a set:\n"
		 "\"8.9, 8.6\" is \"8.6,8.9\""),
	OPT_STRING("attr", struct coverage_cli, attr, "GLOB",
		 "only attrs matching GLOB ('python3Packages.*')"),
	OPT_TIME("at", struct coverage_cli, at, "TIME",
		 "the moment: 2024-05-01, 2024-05-01T12:00:00Z or @EPOCH\n"
		 "(default: now, or the global --now)"),
	OPT_FLAG("json", 0, struct coverage_cli, json,
		 "an array of rows: branch, rev, capabilities, system,\n"
		 "attr, output, outPath, status, missingPaths,\n"
		 "missingBytes, closureSize, and more"),
	OPT_FLAG("markdown", 0, struct coverage_cli, markdown,
		 "tables ready to paste into an issue"),
	OPT_HELP("this text"),
	OPT_TEXT("\n"
		 "Exit status: 0 done, 1 failed (or no evaluation matches), 2 usage error.\n"),
	OPT_END(),
};

static const struct opt_parser coverage_parser = {
	.name = "coverage",
	.usage = "usage: cachegc coverage [--cache CACHE] [--branch B] [--capabilities C]\n"
		 "                        [--attr GLOB] [--at TIME] [--json | --markdown]\n"
		 "\n"
		 "Which CI builds the cache holds, whole and trusted.  For the latest\n"
		 "evaluation of each (branch, capability set, system) as of --at, one row\n"
		 "per job and output:\n"
		 "  cached     the output and its whole closure present and trusted\n"
		 "  partial    the output present, some closure paths absent\n"
		 "  untrusted  complete, but some path has no trusted signature\n"
		 "  evicted    the output was in the cache and is gone (since when)\n"
		 "  missing    never seen in the cache\n"
		 "  failed     the build failed (its status), or the attr failed to\n"
		 "             evaluate (eval-error)\n"
		 "  queued     not built yet\n"
		 "The cache is asked first: a build reported failed whose output is cached\n"
		 "counts as cached.  When an output is not cached, the newest older\n"
		 "evaluation of the same branch and capability set whose same output is\n"
		 "cached is named.  Presence, builds, evaluations and keys are taken as of\n"
		 "--at, so an earlier moment replays history.  Signatures are checked\n"
		 "against the keys of 'cachegc keys' (each signature once: verdicts are\n"
		 "kept in the database); with no keys configured they are not checked.\n"
		 "Reads only the database, never the cache itself.\n"
		 "\n"
		 "options:\n",
	.opts = coverage_options,
	.column = 22,
	.flags = PARSE_NO_ARGS,
};

const struct cmd cmd_coverage;

static char *iso(int64_t t, char *buf, size_t n)
{
	return format_time(t, buf, n);
}

static const char *human(uint64_t n, char *buf, size_t sz)
{
	return format_size(n, buf, sz);
}

/* Text output: s with control characters shown escaped. */
static void add_text(struct strbuf *sb, const char *s)
{
	strbuf_addstr_printable(sb, s);
}

/* "attr", "attr^dev" or "attr (evaluation)"; raw, for the caller to
 * escape the way its output needs. */
static void add_label(struct strbuf *sb, const struct cov_row *r)
{
	strbuf_addstr(sb, r->attr);
	if (!*r->output)
		strbuf_addstr(sb, " (evaluation)");  /* it failed: no outputs known */
	else if (strcmp(r->output, "out"))
		strbuf_addf(sb, "^%s", r->output);
}

static void add_text_label(struct strbuf *sb, const struct cov_row *r)
{
	struct strbuf l = STRBUF_INIT;

	add_label(&l, r);
	strbuf_add_printable(sb, l.buf, l.len);
	strbuf_release(&l);
}

static void add_percent(struct strbuf *sb, size_t part, size_t whole)
{
	strbuf_addf(sb, "%.1f%%", whole ? 100.0 * (double)part / (double)whole : 0.0);
}

/* "cached 812/1034 jobs (78.5%), 1.2 TiB of 1.6 TiB" */
static void add_summary(struct strbuf *sb, const struct cov_column *c)
{
	char a[32], b[32];

	strbuf_addf(sb, "cached %zu/%zu jobs (", c->jobs_cached, c->jobs);
	add_percent(sb, c->jobs_cached, c->jobs);
	strbuf_addf(sb, "), %s of %s", human(c->cached_bytes, a, sizeof(a)),
		    human(c->total_bytes, b, sizeof(b)));
}

/* The counts other than cached: "2 partial, 1 evicted". */
static void add_counts(struct strbuf *sb, const struct cov_column *c)
{
	int any = 0;

	for (int s = COV_PARTIAL; s < COV_NSTATUS; s++) {
		if (!c->count[s])
			continue;
		strbuf_addf(sb, "%s%zu %s", any ? ", " : "", c->count[s], cov_status_str(s));
		any = 1;
	}
	if (!any)
		strbuf_addstr(sb, "every output cached");
}

/* The line of an evaluation error that says what failed (Nix puts a bare
 * "error:" first when a trace follows), at most max bytes. */
static void add_error_line(struct strbuf *sb, const char *e, size_t max)
{
	size_t off, n = eval_error_summary(e, strlen(e), &off);
	const char *s = e + off;

	if (n > max) {
		strbuf_add_printable(sb, s, max);
		strbuf_addstr(sb, "...");
	} else {
		strbuf_add_printable(sb, s, n);
	}
}

/* Why a row is not cached, in words (no status word). */
static void add_detail(struct strbuf *sb, const struct coverage *cv, const struct cov_row *r,
		       const struct cov_column *col)
{
	struct strbuf p = STRBUF_INIT;
	char t[32], a[32];

	switch (r->status) {
	case COV_PARTIAL:
		strbuf_addf(sb, "%llu of %llu closure paths missing",
			    (unsigned long long)r->missing_paths,
			    (unsigned long long)r->closure_paths);
		if (r->missing_bytes)
			strbuf_addf(sb, " (%s)", human(r->missing_bytes, a, sizeof(a)));
		else
			strbuf_addstr(sb, " (never seen: sizes unknown)");
		break;
	case COV_UNTRUSTED:
		coverage_path(cv, r->untrusted_path, &p);
		strbuf_addf(sb, "%llu path%s without a trusted signature, e.g. ",
			    (unsigned long long)r->untrusted_paths,
			    r->untrusted_paths == 1 ? "" : "s");
		add_text(sb, p.buf);
		strbuf_addf(sb, " (%s: ", trust_verdict_str(r->untrusted_verdict));
		add_text(sb, r->signers ? r->signers : "");
		strbuf_addch(sb, ')');
		break;
	case COV_EVICTED:
		strbuf_addf(sb, "gone since %s", iso(r->since, t, sizeof(t)));
		if (r->build_status && strcmp(r->build_status, "succeeded")) {
			strbuf_addstr(sb, " (then its build: ");
			add_text(sb, r->build_status);
			strbuf_addch(sb, ')');
		}
		break;
	case COV_MISSING:
		if (r->reason && !strcmp(r->reason, "no-output-path"))
			strbuf_addstr(sb, "the evaluation gave no output path");
		else if (r->reason)
			strbuf_addf(sb, "built (%s) but never seen in the cache",
				    iso(r->build_time, t, sizeof(t)));
		else
			strbuf_addstr(sb, "never seen in the cache, no build recorded");
		break;
	case COV_FAILED:
		if (r->error) {
			strbuf_addstr(sb, "evaluation error: ");
			add_error_line(sb, r->error, 160);
		} else {
			strbuf_addstr(sb, "build ");
			add_text(sb, r->reason ? r->reason : "");
			strbuf_addf(sb, " at %s", iso(r->build_time, t, sizeof(t)));
		}
		break;
	case COV_QUEUED:
		strbuf_addf(sb, "queued since %s", iso(r->build_time, t, sizeof(t)));
		break;
	case COV_CACHED:
	case COV_NSTATUS:
		break;
	}
	if (r->status != COV_CACHED) {
		if (r->older_eval) {
			strbuf_addstr(sb, "; cached in rev ");
			strbuf_add_printable(sb, r->older_rev, strnlen(r->older_rev, 12));
			strbuf_addf(sb, " evaluated %s (", iso(r->older_time, t, sizeof(t)));
			strbuf_add_age(sb, col->time - r->older_time);
			strbuf_addstr(sb, " before this one)");
		} else {
			strbuf_addstr(sb, "; no older evaluation has it cached");
		}
	}
	strbuf_release(&p);
}

static void add_trust_note(struct strbuf *sb, const struct coverage *cv)
{
	if (!cv->trust_checked)
		strbuf_addstr(sb, "signatures NOT checked: no trusted keys are configured "
				  "(add one with 'cachegc keys add NAME:BASE64')");
	else if (!cv->keys_active)
		strbuf_addstr(sb, "signatures checked, but every configured key is revoked: "
				  "no path can be trusted");
	else
		strbuf_addf(sb, "signatures checked against %zu trusted key%s", cv->keys_active,
			    cv->keys_active == 1 ? "" : "s");
}

/* Rows sharing attr and output are adjacent (sorted), one per column. */
static size_t row_group_end(const struct coverage *cv, size_t i)
{
	size_t k = i + 1;

	while (k < cv->nrows && !strcmp(cv->rows[k].attr, cv->rows[i].attr) &&
	       !strcmp(cv->rows[k].output, cv->rows[i].output))
		k++;
	return k;
}

static void print_text(const struct coverage *cv, const char *url)
{
	struct strbuf sb = STRBUF_INIT;
	char t[32];
	size_t width = 7;

	strbuf_addstr(&sb, "coverage of ");
	add_text(&sb, url);
	strbuf_addf(&sb, " as of %s\n", iso(cv->at, t, sizeof(t)));
	add_trust_note(&sb, cv);
	strbuf_addstr(&sb, "\n\n");
	for (size_t ci = 0; ci < cv->ncols; ci++) {
		const struct cov_column *c = &cv->cols[ci];
		strbuf_addf(&sb, "[%zu] ", ci + 1);
		add_text(&sb, c->branch);
		strbuf_addstr(&sb, " [");
		add_text(&sb, c->capabilities);
		strbuf_addstr(&sb, "] ");
		add_text(&sb, c->system);
		strbuf_addstr(&sb, ", rev ");
		strbuf_add_printable(&sb, c->rev, strnlen(c->rev, 12));
		strbuf_addf(&sb, ", evaluated %s\n    ", iso(c->time, t, sizeof(t)));
		add_summary(&sb, c);
		strbuf_addstr(&sb, "; ");
		add_counts(&sb, c);
		strbuf_addch(&sb, '\n');
	}
	fputs(sb.buf, stdout);

	for (size_t i = 0; i < cv->nrows; i++) {
		struct strbuf l = STRBUF_INIT;
		add_text_label(&l, &cv->rows[i]);
		if (l.len > width)
			width = l.len;
		strbuf_release(&l);
	}
	if (width > 60)
		width = 60;
	strbuf_reset(&sb);
	strbuf_addf(&sb, "\n%-*s", (int)width, "PACKAGE");
	for (size_t ci = 0; ci < cv->ncols; ci++) {
		char h[32];
		snprintf(h, sizeof(h), "[%zu]", ci + 1);
		strbuf_addf(&sb, "  %-9s", h);
	}
	while (sb.len && sb.buf[sb.len - 1] == ' ')
		sb.buf[--sb.len] = '\0';
	puts(sb.buf);
	for (size_t i = 0; i < cv->nrows;) {
		size_t end = row_group_end(cv, i), k = i;
		strbuf_reset(&sb);
		add_text_label(&sb, &cv->rows[i]);
		while (sb.len < width)
			strbuf_addch(&sb, ' ');
		for (size_t ci = 0; ci < cv->ncols; ci++) {
			const char *w = "-";
			if (k < end && cv->rows[k].column == ci)
				w = cov_status_str(cv->rows[k++].status);
			strbuf_addf(&sb, "  %-9s", w);
		}
		while (sb.len && sb.buf[sb.len - 1] == ' ')
			sb.buf[--sb.len] = '\0';
		puts(sb.buf);
		i = end;
	}

	{
		int header = 0;
		for (size_t ci = 0; ci < cv->ncols; ci++) {
			for (size_t i = 0; i < cv->nrows; i++) {
				const struct cov_row *r = &cv->rows[i];
				if (r->column != ci || r->status == COV_CACHED)
					continue;
				if (!header++)
					puts("\nnot cached:");
				strbuf_reset(&sb);
				strbuf_addf(&sb, "[%zu] ", ci + 1);
				add_text_label(&sb, r);
				strbuf_addf(&sb, ": %s: ", cov_status_str(r->status));
				add_detail(&sb, cv, r, &cv->cols[ci]);
				puts(sb.buf);
			}
		}
	}
	strbuf_release(&sb);
}

/*
 * Markdown as GitHub renders it (GFM).  Inline text: a backslash before
 * every ASCII punctuation character that could start markup (CommonMark
 * lets any of them be escaped), a table's '|' included; line breaks would
 * end the table row, so they and tabs become spaces; other control
 * characters are shown escaped.  '_' is left alone: inside words it is no
 * emphasis on GitHub, and x86_64-linux stays readable as it is.
 */
static void md_escape(struct strbuf *sb, const char *s)
{
	struct strbuf t = STRBUF_INIT;

	for (; *s; s++) {
		if (strchr("\\`*[]<>|&~!#", *s))
			strbuf_addch(&t, '\\');
		strbuf_addch(&t, *s == '\n' || *s == '\r' || *s == '\t' ? ' ' : *s);
	}
	strbuf_add_printable(sb, t.buf, t.len);
	strbuf_release(&t);
}

/*
 * A code span of the first n bytes of s.  Backslashes mean nothing in a
 * code span, so backticks in s are dealt with by the fence: one backtick
 * more than the longest run in s, and a space inside each end when s
 * starts or ends with a backtick (or with spaces at both ends, which the
 * renderer would strip).  In a table cell (in_table) GFM splits the row at
 * every '|' not preceded by a backslash, even in a code span, and removes
 * that backslash: '|' becomes "\|" there.  Line breaks become spaces.
 */
static void md_code(struct strbuf *sb, const char *s, size_t n, int in_table)
{
	struct strbuf t = STRBUF_INIT;
	size_t run = 0, longest = 0;
	int pad;

	for (size_t i = 0; i < n; i++) {
		run = s[i] == '`' ? run + 1 : 0;
		if (run > longest)
			longest = run;
		if (in_table && s[i] == '|')
			strbuf_addch(&t, '\\');
		strbuf_addch(&t, s[i] == '\n' || s[i] == '\r' ? ' ' : s[i]);
	}
	pad = n && (s[0] == '`' || s[n - 1] == '`' || (s[0] == ' ' && s[n - 1] == ' '));
	for (size_t i = 0; i <= longest; i++)
		strbuf_addch(sb, '`');
	if (pad || !n)
		strbuf_addch(sb, ' ');
	strbuf_add_printable(sb, t.buf, t.len);
	if (pad)
		strbuf_addch(sb, ' ');
	for (size_t i = 0; i <= longest; i++)
		strbuf_addch(sb, '`');
	strbuf_release(&t);
}

static void md_code_str(struct strbuf *sb, const char *s, int in_table)
{
	md_code(sb, s, strlen(s), in_table);
}

/* A row's label as a code span. */
static void md_label(struct strbuf *sb, const struct cov_row *r, int in_table)
{
	struct strbuf l = STRBUF_INIT;

	add_label(&l, r);
	md_code(sb, l.buf, l.len, in_table);
	strbuf_release(&l);
}

/* A short cell: status and the one number that matters. */
static void md_cell(struct strbuf *sb, const struct cov_row *r)
{
	char a[32], t[32];

	if (r->status == COV_CACHED) {
		strbuf_addstr(sb, "cached");
		return;
	}
	strbuf_addf(sb, "**%s**", cov_status_str(r->status));
	switch (r->status) {
	case COV_PARTIAL:
		strbuf_addf(sb, " (%llu missing", (unsigned long long)r->missing_paths);
		if (r->missing_bytes)
			strbuf_addf(sb, ", %s", human(r->missing_bytes, a, sizeof(a)));
		strbuf_addch(sb, ')');
		break;
	case COV_UNTRUSTED:
		strbuf_addf(sb, " (%llu path%s)", (unsigned long long)r->untrusted_paths,
			    r->untrusted_paths == 1 ? "" : "s");
		break;
	case COV_EVICTED:
		strbuf_addf(sb, " since %.10s", iso(r->since, t, sizeof(t)));
		break;
	case COV_FAILED:
		strbuf_addstr(sb, " (");
		md_escape(sb, r->reason ? r->reason : "");
		strbuf_addch(sb, ')');
		break;
	default:
		break;
	}
	if (r->older_eval) {
		strbuf_addstr(sb, "; cached in ");
		md_code(sb, r->older_rev, strnlen(r->older_rev, 12), 1);
	}
}

static void print_markdown(const struct coverage *cv, const char *url)
{
	struct strbuf sb = STRBUF_INIT;
	size_t all_cached = 0;
	char t[32];

	strbuf_addstr(&sb, "#### Cache coverage of ");
	md_code_str(&sb, url, 0);
	strbuf_addf(&sb, " as of %s\n\n", iso(cv->at, t, sizeof(t)));
	if (!cv->trust_checked)
		strbuf_addstr(&sb, "> **Signatures were not checked**: no trusted keys are "
				   "configured.\n\n");
	else {
		strbuf_addstr(&sb, "> ");
		add_trust_note(&sb, cv);
		strbuf_addstr(&sb, ".\n\n");
	}
	strbuf_addstr(&sb, "| # | branch | capabilities | system | rev | evaluated | cached jobs "
			   "| cached closure | not cached |\n"
			   "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
	for (size_t ci = 0; ci < cv->ncols; ci++) {
		const struct cov_column *c = &cv->cols[ci];
		char a[32], b[32];
		strbuf_addf(&sb, "| %zu | ", ci + 1);
		md_escape(&sb, c->branch);
		strbuf_addstr(&sb, " | ");
		md_escape(&sb, c->capabilities);
		strbuf_addstr(&sb, " | ");
		md_escape(&sb, c->system);
		strbuf_addstr(&sb, " | ");
		md_code(&sb, c->rev, strnlen(c->rev, 12), 1);
		strbuf_addf(&sb, " | %s | %zu/%zu (", iso(c->time, t, sizeof(t)),
			    c->jobs_cached, c->jobs);
		add_percent(&sb, c->jobs_cached, c->jobs);
		strbuf_addf(&sb, ") | %s of %s | ", human(c->cached_bytes, a, sizeof(a)),
			    human(c->total_bytes, b, sizeof(b)));
		add_counts(&sb, c);
		strbuf_addstr(&sb, " |\n");
	}
	fputs(sb.buf, stdout);

	/* The matrix shows what is not cached everywhere; the rest is
	 * folded away so the issue stays readable. */
	strbuf_reset(&sb);
	strbuf_addstr(&sb, "\n| package |");
	for (size_t ci = 0; ci < cv->ncols; ci++)
		strbuf_addf(&sb, " %zu |", ci + 1);
	strbuf_addstr(&sb, "\n| --- |");
	for (size_t ci = 0; ci < cv->ncols; ci++)
		strbuf_addstr(&sb, " --- |");
	strbuf_addch(&sb, '\n');
	for (size_t i = 0; i < cv->nrows;) {
		size_t end = row_group_end(cv, i), k = i, cached = 0;
		for (size_t j = i; j < end; j++)
			cached += cv->rows[j].status == COV_CACHED;
		if (cached == end - i && end - i == cv->ncols) {
			all_cached++;
			i = end;
			continue;
		}
		strbuf_addstr(&sb, "| ");
		md_label(&sb, &cv->rows[i], 1);
		strbuf_addstr(&sb, " |");
		for (size_t ci = 0; ci < cv->ncols; ci++) {
			strbuf_addch(&sb, ' ');
			if (k < end && cv->rows[k].column == ci)
				md_cell(&sb, &cv->rows[k++]);
			else
				strbuf_addstr(&sb, "-");
			strbuf_addstr(&sb, " |");
		}
		strbuf_addch(&sb, '\n');
		i = end;
	}
	if (all_cached) {
		size_t listed = 0;
		strbuf_addf(&sb, "\n<details><summary>%zu package%s cached in every column</summary>\n\n",
			    all_cached, all_cached == 1 ? "" : "s");
		for (size_t i = 0; i < cv->nrows;) {
			size_t end = row_group_end(cv, i), cached = 0;
			for (size_t j = i; j < end; j++)
				cached += cv->rows[j].status == COV_CACHED;
			if (cached == end - i && end - i == cv->ncols) {
				if (listed++)
					strbuf_addstr(&sb, ", ");
				md_label(&sb, &cv->rows[i], 0);
			}
			i = end;
		}
		strbuf_addstr(&sb, "\n\n</details>\n");
	}
	fputs(sb.buf, stdout);
	strbuf_release(&sb);
}

static json_t *time_json(int64_t t)
{
	char buf[32];

	return t >= 0 ? json_string(format_time(t, buf, sizeof(buf))) : json_null();
}

static json_t *row_json(const struct coverage *cv, const struct cov_row *r)
{
	const struct cov_column *c = &cv->cols[r->column];
	struct strbuf p = STRBUF_INIT;
	json_t *o = json_object();

	json_object_set_new(o, "branch", json_string(c->branch));
	json_object_set_new(o, "rev", json_string(c->rev));
	json_object_set_new(o, "capabilities", json_string(c->capabilities));
	json_object_set_new(o, "system", json_string(c->system));
	json_object_set_new(o, "evaluation", json_integer(c->evaluation_id));
	json_object_set_new(o, "evaluatedAt", time_json(c->time));
	json_object_set_new(o, "attr", json_string(r->attr));
	json_object_set_new(o, "output", json_string(r->output));
	coverage_path(cv, r->path_id, &p);
	json_object_set_new(o, "outPath", r->path_id ? json_string(p.buf) : json_null());
	coverage_path(cv, r->drv_id, &p);
	json_object_set_new(o, "drvPath", r->drv_id ? json_string(p.buf) : json_null());
	json_object_set_new(o, "status", json_string(cov_status_str(r->status)));
	json_object_set_new(o, "reason", r->reason ? json_string(r->reason) : json_null());
	json_object_set_new(o, "missingPaths", json_integer((json_int_t)r->missing_paths));
	json_object_set_new(o, "missingBytes", json_integer((json_int_t)r->missing_bytes));
	json_object_set_new(o, "closureSize", json_integer((json_int_t)r->closure_bytes));
	json_object_set_new(o, "closurePaths", json_integer((json_int_t)r->closure_paths));
	json_object_set_new(o, "trustChecked", json_boolean(cv->trust_checked));
	json_object_set_new(o, "untrustedPaths", json_integer((json_int_t)r->untrusted_paths));
	if (r->status == COV_UNTRUSTED) {
		coverage_path(cv, r->untrusted_path, &p);
		json_object_set_new(o, "untrustedPath", json_string(p.buf));
		json_object_set_new(o, "untrustedReason",
				    json_string(trust_verdict_str(r->untrusted_verdict)));
		json_object_set_new(o, "signedBy", json_string(r->signers ? r->signers : ""));
	}
	json_object_set_new(o, "since", time_json(r->since));
	json_object_set_new(o, "buildStatus",
			    r->build_status ? json_string(r->build_status) : json_null());
	json_object_set_new(o, "buildTime", time_json(r->build_time));
	if (r->error)
		json_object_set_new(o, "error", json_string(r->error));
	if (r->older_eval) {
		coverage_path(cv, r->older_path, &p);
		json_object_set_new(o, "olderCached",
				    json_pack("{s:I, s:s, s:o, s:s, s:I, s:I}",
					      "evaluation", (json_int_t)r->older_eval,
					      "rev", r->older_rev,
					      "evaluatedAt", time_json(r->older_time),
					      "outPath", p.buf,
					      "ageSeconds", (json_int_t)(cv->at - r->older_time),
					      "behindSeconds", (json_int_t)(c->time - r->older_time)));
	} else {
		json_object_set_new(o, "olderCached", json_null());
	}
	strbuf_release(&p);
	return o;
}

static void print_json(const struct coverage *cv)
{
	fputc('[', stdout);
	for (size_t i = 0; i < cv->nrows; i++) {
		json_t *o = row_json(cv, &cv->rows[i]);
		fputs(i ? ",\n" : "\n", stdout);
		json_dumpf(o, stdout, JSON_COMPACT);
		json_decref(o);
	}
	fputs(cv->nrows ? "\n]\n" : "]\n", stdout);
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct coverage_cli a = {.at = INT64_MIN};
	int json = 0, markdown = 0, ret = 1, n;
	struct coverage_opts o = {0};
	struct coverage cv = {0};
	struct parse_error err;
	char *caps = NULL, *url = NULL;
	const char *val[5];

	if ((n = parse_options(&coverage_parser, argc, argv, &a)) < 0)
		return parse_options_exit(n);
	json = a.json;
	markdown = a.markdown;
	val[0] = a.cache;
	val[1] = a.branch;
	val[2] = a.caps;
	val[3] = a.attr;
	if (json && markdown)
		return cmd_usage_error(&cmd_coverage, "--json and --markdown exclude each other");
	o.at = a.at != INT64_MIN ? a.at : clock_now();
	if (val[2] && caps_normalize(val[2], strlen(val[2]), &caps, &err))
		return cmd_usage_error(&cmd_coverage, "--capabilities: %s", err.msg);
	if (val[1] && !*val[1])
		return cmd_usage_error(&cmd_coverage, "--branch is empty");
	o.branch = val[1];
	o.capabilities = caps;
	o.attr = val[3];
	if (cache_resolve(ctx->db, val[0], &o.cache_id, &url))
		goto out;
	if (coverage_run(&cv, ctx->db, &o))
		goto out;
	if (!cv.ncols) {
		char t[32];
		error("no evaluation%s%s%s%s%s as of %s; see 'cachegc import-eval'",
		      o.branch ? " of branch '" : "", o.branch ? o.branch : "", o.branch ? "'" : "",
		      caps ? " with capabilities " : "", caps ? caps : "",
		      format_time(o.at, t, sizeof(t)));
		goto out;
	}
	if (o.attr && !cv.nrows)
		warning("no job matches --attr '%s'", o.attr);
	if (json)
		print_json(&cv);
	else if (markdown)
		print_markdown(&cv, url);
	else
		print_text(&cv, url);
	if (!cv.trust_checked && !json)
		fflush(stdout);
	if (!cv.trust_checked)
		warning("signatures were not checked: no trusted keys are configured");
	ret = 0;
out:
	coverage_release(&cv);
	free(caps);
	free(url);
	return ret;
}

const struct cmd cmd_coverage = {
	.name = "coverage",
	.summary = "which CI builds the cache holds, whole and trusted, per branch x capabilities",
	.options = &coverage_parser,
	.db = DB_KEEP,
	.run = run,
};
