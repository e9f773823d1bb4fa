/*
 * cmd_report_page.c - the report's page, built once as a list of blocks
 * (headings, paragraphs, tables, charts, folded parts) and rendered twice:
 * as index.html (style inline from reports/style.css) and as report.md
 * (GitHub Markdown: tables, charts as image links, long lists folded in
 * <details>).
 *
 * Names on the page (attrs, branches, revs, the cache URL, store paths)
 * come from imported files: HTML escapes &<>"' and shows control
 * characters escaped; Markdown escapes what would start markup or split
 * a table cell, as `coverage --markdown` does.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/report_files.h"
#include "cmd_report_private.h"

enum span_kind { S_TEXT, S_CODE, S_STRONG, S_NUM };
enum block_type { B_H1, B_H2, B_H3, B_P, B_NOTE, B_TABLE, B_IMG, B_OPEN, B_CLOSE };

struct span {
	enum span_kind kind;
	char *s;
};

struct block {
	enum block_type type;
	struct span *sp;
	size_t n, alloc;
	size_t ncols;          /* B_TABLE: sp holds the header, then rows */
	char *id;              /* B_H2: anchor */
};

struct doc {
	struct block *b;
	size_t n, alloc;
};

static struct block *add_block(struct doc *d, enum block_type t)
{
	struct block *b;

	GROW(d->b, d->alloc, d->n + 1);
	b = &d->b[d->n++];
	memset(b, 0, sizeof(*b));
	b->type = t;
	return b;
}

static void add_span(struct block *b, enum span_kind k, const char *s)
{
	GROW(b->sp, b->alloc, b->n + 1);
	b->sp[b->n].kind = k;
	b->sp[b->n++].s = xstrdup(s);
}

static void add_spanf(struct block *b, enum span_kind k, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void add_spanf(struct block *b, enum span_kind k, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	strbuf_addstr(&sb, buf);
	add_span(b, k, sb.buf);
	strbuf_release(&sb);
}

static struct block *heading(struct doc *d, enum block_type t, const char *id, const char *text)
{
	struct block *b = add_block(d, t);

	add_span(b, S_TEXT, text);
	b->id = id ? xstrdup(id) : NULL;
	return b;
}

static struct block *table(struct doc *d, const char *const *head, size_t ncols)
{
	struct block *b = add_block(d, B_TABLE);

	b->ncols = ncols;
	for (size_t i = 0; i < ncols; i++)
		add_span(b, *head[i] == '>' ? S_NUM : S_TEXT, *head[i] == '>' ? head[i] + 1 : head[i]);
	return b;
}

static void doc_release(struct doc *d)
{
	for (size_t i = 0; i < d->n; i++) {
		for (size_t k = 0; k < d->b[i].n; k++)
			free(d->b[i].sp[k].s);
		free(d->b[i].sp);
		free(d->b[i].id);
	}
	free(d->b);
}

/* ---- escaping ------------------------------------------------------------- */

static void html_escape(struct strbuf *sb, const char *s)
{
	struct strbuf t = STRBUF_INIT;

	for (; *s; s++) {
		switch (*s) {
		case '&': strbuf_addstr(&t, "&amp;"); break;
		case '<': strbuf_addstr(&t, "&lt;"); break;
		case '>': strbuf_addstr(&t, "&gt;"); break;
		case '"': strbuf_addstr(&t, "&quot;"); break;
		case '\'': strbuf_addstr(&t, "&#39;"); break;
		default: strbuf_addch(&t, *s);
		}
	}
	strbuf_add_printable(sb, t.buf, t.len);
	strbuf_release(&t);
}

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

/* A code span: a fence one backtick longer than the longest run in s;
 * in a table '|' becomes "\|" (GFM splits cells there even in code). */
static void md_code(struct strbuf *sb, const char *s, int in_table)
{
	struct strbuf t = STRBUF_INIT;
	size_t run = 0, longest = 0, n = strlen(s);
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

/* ---- rendering ------------------------------------------------------------ */

static void html_span(struct strbuf *sb, const struct span *s)
{
	switch (s->kind) {
	case S_CODE:
		strbuf_addstr(sb, "<code>");
		html_escape(sb, s->s);
		strbuf_addstr(sb, "</code>");
		break;
	case S_STRONG:
		strbuf_addstr(sb, "<strong>");
		html_escape(sb, s->s);
		strbuf_addstr(sb, "</strong>");
		break;
	default:
		html_escape(sb, s->s);
	}
}

static void md_span(struct strbuf *sb, const struct span *s, int in_table)
{
	switch (s->kind) {
	case S_CODE:
		md_code(sb, s->s, in_table);
		break;
	case S_STRONG:
		strbuf_addstr(sb, "**");
		md_escape(sb, s->s);
		strbuf_addstr(sb, "**");
		break;
	default:
		md_escape(sb, s->s);
	}
}

static void render_html(const struct doc *d, const char *title, struct strbuf *sb)
{
	strbuf_reset(sb);
	strbuf_addstr(sb, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
			  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
			  "<title>");
	html_escape(sb, title);
	strbuf_addstr(sb, "</title>\n<style>\n");
	strbuf_addstr(sb, report_file_text("style.css"));
	strbuf_addstr(sb, "</style>\n</head>\n<body>\n");
	for (size_t i = 0; i < d->n; i++) {
		const struct block *b = &d->b[i];
		switch (b->type) {
		case B_H1: case B_H2: case B_H3: {
			int lvl = b->type == B_H1 ? 1 : b->type == B_H2 ? 2 : 3;
			strbuf_addf(sb, "<h%d", lvl);
			if (b->id)
				strbuf_addf(sb, " id=\"%s\"", b->id);
			strbuf_addch(sb, '>');
			html_span(sb, &b->sp[0]);
			strbuf_addf(sb, "</h%d>\n", lvl);
			break;
		}
		case B_P: case B_NOTE:
			strbuf_addstr(sb, b->type == B_NOTE ? "<p class=\"note\">" : "<p>");
			for (size_t k = 0; k < b->n; k++)
				html_span(sb, &b->sp[k]);
			strbuf_addstr(sb, "</p>\n");
			break;
		case B_TABLE:
			strbuf_addstr(sb, "<table>\n<thead><tr>");
			for (size_t k = 0; k < b->ncols; k++) {
				strbuf_addstr(sb, b->sp[k].kind == S_NUM ? "<th class=\"num\">" : "<th>");
				html_escape(sb, b->sp[k].s);
				strbuf_addstr(sb, "</th>");
			}
			strbuf_addstr(sb, "</tr></thead>\n<tbody>\n");
			for (size_t k = b->ncols; k < b->n; k++) {
				size_t c = k % b->ncols;
				if (!c)
					strbuf_addstr(sb, "<tr>");
				strbuf_addstr(sb, b->sp[c].kind == S_NUM ? "<td class=\"num\">" : "<td>");
				html_span(sb, &b->sp[k]);
				strbuf_addstr(sb, "</td>");
				if (c == b->ncols - 1)
					strbuf_addstr(sb, "</tr>\n");
			}
			strbuf_addstr(sb, "</tbody>\n</table>\n");
			break;
		case B_IMG:
			strbuf_addstr(sb, "<figure><img src=\"");
			html_escape(sb, b->sp[0].s);
			strbuf_addstr(sb, "\" alt=\"");
			html_escape(sb, b->sp[1].s);
			strbuf_addstr(sb, "\"><figcaption>");
			html_escape(sb, b->sp[1].s);
			strbuf_addstr(sb, "</figcaption></figure>\n");
			break;
		case B_OPEN:
			strbuf_addstr(sb, "<details><summary>");
			html_escape(sb, b->sp[0].s);
			strbuf_addstr(sb, "</summary>\n");
			break;
		case B_CLOSE:
			strbuf_addstr(sb, "</details>\n");
			break;
		}
	}
	strbuf_addstr(sb, "</body>\n</html>\n");
}

static void render_md(const struct doc *d, struct strbuf *sb)
{
	strbuf_reset(sb);
	for (size_t i = 0; i < d->n; i++) {
		const struct block *b = &d->b[i];
		switch (b->type) {
		case B_H1: case B_H2: case B_H3:
			strbuf_addstr(sb, b->type == B_H1 ? "# " : b->type == B_H2 ? "## " : "### ");
			md_span(sb, &b->sp[0], 0);
			strbuf_addstr(sb, "\n\n");
			break;
		case B_P: case B_NOTE:
			if (b->type == B_NOTE)
				strbuf_addstr(sb, "> ");
			for (size_t k = 0; k < b->n; k++)
				md_span(sb, &b->sp[k], 0);
			strbuf_addstr(sb, "\n\n");
			break;
		case B_TABLE:
			strbuf_addch(sb, '|');
			for (size_t k = 0; k < b->ncols; k++) {
				strbuf_addch(sb, ' ');
				md_escape(sb, b->sp[k].s);
				strbuf_addstr(sb, " |");
			}
			strbuf_addstr(sb, "\n|");
			for (size_t k = 0; k < b->ncols; k++)
				strbuf_addstr(sb, b->sp[k].kind == S_NUM ? " ---: |" : " --- |");
			strbuf_addch(sb, '\n');
			for (size_t k = b->ncols; k < b->n; k++) {
				size_t c = k % b->ncols;
				if (!c)
					strbuf_addch(sb, '|');
				strbuf_addch(sb, ' ');
				md_span(sb, &b->sp[k], 1);
				strbuf_addstr(sb, " |");
				if (c == b->ncols - 1)
					strbuf_addch(sb, '\n');
			}
			strbuf_addch(sb, '\n');
			break;
		case B_IMG:
			strbuf_addstr(sb, "![");
			md_escape(sb, b->sp[1].s);
			strbuf_addf(sb, "](%s)\n\n", b->sp[0].s);
			break;
		case B_OPEN:
			strbuf_addstr(sb, "<details><summary>");
			html_escape(sb, b->sp[0].s);
			strbuf_addstr(sb, "</summary>\n\n");
			break;
		case B_CLOSE:
			strbuf_addstr(sb, "</details>\n\n");
			break;
		}
	}
}

/* ---- the contents ---------------------------------------------------------- */

void report_group_label(const struct report_group *g, struct strbuf *sb)
{
	strbuf_addf(sb, "%s [%s] %s", g->branch, g->capabilities, g->system);
}

static const char *tstr(int64_t t, char *buf, size_t n)
{
	return format_time(t, buf, n);
}

static const char *dstr(int64_t t, char *buf, size_t n)
{
	format_time(t, buf, n);
	buf[n > 10 ? 10 : n - 1] = '\0';
	return buf;
}

static void pct(char *buf, size_t n, uint64_t a, uint64_t b)
{
	if (b)
		snprintf(buf, n, "%.1f%%", 100.0 * (double)a / (double)b);
	else
		snprintf(buf, n, "-");
}

/* "cached 812/1034 jobs (78.5%), 1.2 TiB of 1.6 TiB", as coverage prints. */
static void summary(char *buf, size_t n, const struct cov_column *c)
{
	char p[32], a[32], b[32];

	pct(p, sizeof(p), c->jobs_cached, c->jobs);
	if (!c->jobs)
		snprintf(p, sizeof(p), "0.0%%");
	snprintf(buf, n, "cached %zu/%zu jobs (%s), %s of %s", c->jobs_cached, c->jobs, p,
		 format_size(c->cached_bytes, a, sizeof(a)), format_size(c->total_bytes, b, sizeof(b)));
}

static void counts(struct strbuf *sb, const struct cov_column *c)
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

/* Why a row is not cached, shortly. */
static void why(struct strbuf *sb, const struct coverage *cv, const struct cov_row *r)
{
	char a[32], t[32];

	switch (r->status) {
	case COV_PARTIAL:
		strbuf_addf(sb, "%llu of %llu closure paths missing",
			    (unsigned long long)r->missing_paths, (unsigned long long)r->closure_paths);
		if (r->missing_bytes)
			strbuf_addf(sb, " (%s)", format_size(r->missing_bytes, a, sizeof(a)));
		break;
	case COV_UNTRUSTED:
		strbuf_addf(sb, "%llu path%s without a trusted signature (%s)",
			    (unsigned long long)r->untrusted_paths, r->untrusted_paths == 1 ? "" : "s",
			    trust_verdict_str(r->untrusted_verdict));
		break;
	case COV_EVICTED:
		strbuf_addf(sb, "gone since %s", tstr(r->since, t, sizeof(t)));
		break;
	case COV_MISSING:
		if (r->reason && !strcmp(r->reason, "no-output-path"))
			strbuf_addstr(sb, "the evaluation gave no output path");
		else if (r->reason)
			strbuf_addf(sb, "built (%s) but never seen in the cache",
				    tstr(r->build_time, t, sizeof(t)));
		else
			strbuf_addstr(sb, "never seen in the cache, no build recorded");
		break;
	case COV_FAILED:
		if (r->error) {
			size_t n = strcspn(r->error, "\n");
			strbuf_addstr(sb, "evaluation error: ");
			strbuf_add(sb, r->error, n > 160 ? 160 : n);
		} else {
			strbuf_addf(sb, "build %s at %s", r->reason ? r->reason : "",
				    tstr(r->build_time, t, sizeof(t)));
		}
		break;
	case COV_QUEUED:
		strbuf_addf(sb, "queued since %s", tstr(r->build_time, t, sizeof(t)));
		break;
	default:
		break;
	}
	if (r->older_eval)
		strbuf_addf(sb, "; cached in rev %.12s of %s", r->older_rev,
			    dstr(r->older_time, t, sizeof(t)));
	(void)cv;
}

static void row_label(struct strbuf *sb, const struct cov_row *r)
{
	strbuf_addstr(sb, r->attr);
	if (!*r->output)
		strbuf_addstr(sb, " (evaluation)");
	else if (strcmp(r->output, "out"))
		strbuf_addf(sb, "^%s", r->output);
}

static void sec_now(struct doc *d, const struct report_page *p)
{
	static const char *const head[] = {"#", "branch", "capabilities", "system", "rev",
					   "evaluated", "coverage", "not cached"};
	static const char *const head2[] = {"#", "job", "status", "why"};
	const struct coverage *cv = &p->r->now;
	struct strbuf sb = STRBUF_INIT;
	struct block *b;
	char t[32], s[256];
	size_t nrows = 0;

	heading(d, B_H2, "now", "1. Coverage now");
	b = add_block(d, B_P);
	add_spanf(b, S_TEXT, "For the latest evaluation of each branch, capability set and system "
		  "as of %s: jobs whose every output is cached (present, its closure whole and ",
		  tstr(cv->at, t, sizeof(t)));
	add_span(b, S_TEXT, "trusted), and the bytes of the union closure of the cached outputs "
		 "against that of all outputs (as ");
	add_span(b, S_CODE, "cachegc coverage");
	add_span(b, S_TEXT, " prints them).");
	if (!cv->ncols) {
		b = add_block(d, B_P);
		add_span(b, S_TEXT, "No evaluation was imported by then.");
		return;
	}
	b = table(d, head, ARRAY_SIZE(head));
	for (size_t ci = 0; ci < cv->ncols; ci++) {
		const struct cov_column *c = &cv->cols[ci];
		add_spanf(b, S_NUM, "%zu", ci + 1);
		add_span(b, S_TEXT, c->branch);
		add_span(b, S_TEXT, c->capabilities);
		add_span(b, S_TEXT, c->system);
		strbuf_reset(&sb);
		strbuf_add(&sb, c->rev, strnlen(c->rev, 12));
		add_span(b, S_CODE, sb.buf);
		add_span(b, S_TEXT, tstr(c->time, t, sizeof(t)));
		summary(s, sizeof(s), c);
		add_span(b, S_TEXT, s);
		strbuf_reset(&sb);
		counts(&sb, c);
		add_span(b, S_TEXT, sb.buf);
	}
	for (size_t i = 0; i < cv->nrows; i++)
		nrows += cv->rows[i].status != COV_CACHED;
	if (!nrows) {
		b = add_block(d, B_P);
		add_span(b, S_TEXT, "Every job output is cached.");
		strbuf_release(&sb);
		return;
	}
	heading(d, B_H3, NULL, "Jobs not cached, and why");
	if (nrows > 15) {
		snprintf(s, sizeof(s), "%zu job outputs not cached", nrows);
		b = add_block(d, B_OPEN);
		add_span(b, S_TEXT, s);
	}
	b = table(d, head2, ARRAY_SIZE(head2));
	for (size_t ci = 0; ci < cv->ncols; ci++)
		for (size_t i = 0; i < cv->nrows; i++) {
			const struct cov_row *r = &cv->rows[i];
			if (r->column != ci || r->status == COV_CACHED)
				continue;
			add_spanf(b, S_NUM, "%zu", ci + 1);
			strbuf_reset(&sb);
			row_label(&sb, r);
			add_span(b, S_CODE, sb.buf);
			add_span(b, S_STRONG, cov_status_str(r->status));
			strbuf_reset(&sb);
			why(&sb, cv, r);
			add_span(b, S_TEXT, sb.buf);
		}
	if (nrows > 15)
		add_block(d, B_CLOSE);
	strbuf_release(&sb);
}

static void img(struct doc *d, const char *src, const char *alt)
{
	struct block *b = add_block(d, B_IMG);

	add_span(b, S_TEXT, src);
	add_span(b, S_TEXT, alt);
}

/* A group x crawl table of cells (a row per group, a column per crawl),
 * each formatted by fn. */
static void crawl_table(struct doc *d, const struct report *r,
			void (*fn)(char *, size_t, const struct report_cell *))
{
	const char **head = xmalloc((r->ncrawls + 1) * sizeof(*head));
	char (*dates)[40] = xcalloc(r->ncrawls + 1, sizeof(*dates));
	struct strbuf l = STRBUF_INIT;
	struct block *b;
	char s[64];

	head[0] = "group";
	for (size_t k = 0; k < r->ncrawls; k++) {
		char t[32];
		format_time(r->crawls[k].time, t, sizeof(t));
		/* ">2024-05-08 00:00": right-aligned, minutes are enough */
		snprintf(dates[k], sizeof(dates[k]), ">%.10s %.5s", t, t + 11);
		head[k + 1] = dates[k];
	}
	b = table(d, head, r->ncrawls + 1);
	for (size_t g = 0; g < r->ngroups; g++) {
		strbuf_reset(&l);
		report_group_label(&r->groups[g], &l);
		add_span(b, S_TEXT, l.buf);
		for (size_t k = 0; k < r->ncrawls; k++) {
			fn(s, sizeof(s), &r->cells[k * r->ngroups + g]);
			add_span(b, S_NUM, s);
		}
	}
	strbuf_release(&l);
	free(dates);
	free(head);
}

static void cell_coverage(char *buf, size_t n, const struct report_cell *c)
{
	char p[32];

	if (!c->evaluation_id) {
		snprintf(buf, n, "-");
		return;
	}
	pct(p, sizeof(p), c->jobs_cached, c->jobs);
	snprintf(buf, n, "%s (%zu/%zu)", p, c->jobs_cached, c->jobs);
}

static void cell_stale(char *buf, size_t n, const struct report_cell *c)
{
	if (c->stale < 0)
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%.1f days", (double)c->stale / 86400.0);
}

static void sec_over_time(struct doc *d, const struct report_page *p)
{
	const struct report *r = p->r;
	struct block *b;

	heading(d, B_H2, "over-time", "2. Coverage over time");
	b = add_block(d, B_P);
	add_span(b, S_TEXT, "At every crawl, per group: the share of the jobs of its then-latest "
		 "evaluation that are cached (as coverage counted them as of the crawl).");
	img(d, "coverage.svg", "Coverage over time: jobs of each group's latest evaluation cached whole");
	crawl_table(d, r, cell_coverage);
}

static void sec_stored(struct doc *d, const struct report_page *p)
{
	static const char *const head[] = {"crawl", ">paths", ">stored", ">of the limit"};
	static const char *const head2[] = {"day (UTC)", ">pushed paths", ">pushed", ">evicted paths",
					    ">evicted"};
	const struct report *r = p->r;
	struct block *b;
	char t[32], a[32];

	heading(d, B_H2, "stored", "3. Stored bytes over time");
	b = add_block(d, B_P);
	add_span(b, S_TEXT, "What the cache stores at every crawl (FileSize, NarSize where a "
		 "narinfo has none; with the files of the narinfos Nix refuses)");
	if (p->limit)
		add_spanf(b, S_TEXT, " against the limit of %s", format_size(p->limit, a, sizeof(a)));
	add_span(b, S_TEXT, "; per day, the paths pushed (by push time) and evicted (found gone by "
		 "a crawl).");
	img(d, "stored.svg", "Stored at each crawl");
	img(d, "churn.svg", "Pushed and evicted per day");
	b = table(d, head, ARRAY_SIZE(head));
	for (size_t k = 0; k < r->ncrawls; k++) {
		const struct report_crawl *c = &r->crawls[k];
		add_span(b, S_TEXT, tstr(c->time, t, sizeof(t)));
		add_spanf(b, S_NUM, "%llu", (unsigned long long)c->stored_paths);
		add_span(b, S_NUM, format_size(c->stored_bytes, a, sizeof(a)));
		pct(a, sizeof(a), c->stored_bytes, p->limit);
		add_span(b, S_NUM, a);
	}
	if (!r->ndays)
		return;
	b = add_block(d, B_OPEN);
	add_spanf(b, S_TEXT, "pushes and evictions on %zu day%s", r->ndays, r->ndays == 1 ? "" : "s");
	b = table(d, head2, ARRAY_SIZE(head2));
	for (size_t i = 0; i < r->ndays; i++) {
		const struct report_day *dd = &r->days[i];
		add_span(b, S_TEXT, dstr(dd->day, t, sizeof(t)));
		add_spanf(b, S_NUM, "%llu", (unsigned long long)dd->pushed_paths);
		add_span(b, S_NUM, format_size(dd->pushed_bytes, a, sizeof(a)));
		add_spanf(b, S_NUM, "%llu", (unsigned long long)dd->evicted_paths);
		add_span(b, S_NUM, format_size(dd->evicted_bytes, a, sizeof(a)));
	}
	add_block(d, B_CLOSE);
}

static void sec_staleness(struct doc *d, const struct report_page *p)
{
	struct block *b;

	heading(d, B_H2, "staleness", "4. Staleness");
	b = add_block(d, B_P);
	add_spanf(b, S_TEXT, "At every crawl, per group: the age of its newest evaluation with at "
		  "least %.0f%% of its jobs whole (every output and its closure present; "
		  "signatures not asked): how far behind a user of the cache is.  \"-\": no "
		  "evaluation of the group was served then.", 100 * REPORT_SERVED_SHARE);
	img(d, "staleness.svg", "Staleness: age of each group's newest evaluation that is >= 90% cached");
	crawl_table(d, p->r, cell_stale);
}

static void sec_half_life(struct doc *d, const struct report_page *p)
{
	static const char *const head[] = {"group", ">median half-life", ">evaluations",
					   ">dropped below", ">still above", ">never above"};
	static const char *const head2[] = {"group", "rev", "evaluated", ">jobs",
					    ">whole at the last crawl", "half-life"};
	const struct report *r = p->r;
	struct strbuf sb = STRBUF_INIT;
	struct block *b;
	char t[32], s[64];

	heading(d, B_H2, "half-life", "5. Half-life");
	b = add_block(d, B_P);
	add_spanf(b, S_TEXT, "Per evaluation: days from its time until the first crawl that saw "
		  "fewer than %.0f%% of its jobs whole, after one that saw at least that many; "
		  "\"still above\" when no crawl has seen it drop yet.  The median is over the "
		  "evaluations that dropped.", 100 * REPORT_SERVED_SHARE);
	b = table(d, head, ARRAY_SIZE(head));
	for (uint32_t g = 0; g < r->ngroups; g++) {
		size_t nh, na, nn, tot = 0;
		double m = report_median_half_life(r, g, &nh, &na, &nn);
		for (size_t i = 0; i < r->nevals; i++)
			tot += r->evals[i].group == g;
		strbuf_reset(&sb);
		report_group_label(&r->groups[g], &sb);
		add_span(b, S_TEXT, sb.buf);
		if (m >= 0)
			add_spanf(b, S_NUM, "%.1f days", m);
		else
			add_span(b, S_NUM, na ? "still above" : "-");
		add_spanf(b, S_NUM, "%zu", tot);
		add_spanf(b, S_NUM, "%zu", nh);
		add_spanf(b, S_NUM, "%zu", na);
		add_spanf(b, S_NUM, "%zu", nn);
	}
	b = add_block(d, B_OPEN);
	add_spanf(b, S_TEXT, "every evaluation (%zu)", r->nevals);
	b = table(d, head2, ARRAY_SIZE(head2));
	for (size_t i = 0; i < r->nevals; i++) {
		const struct report_eval *e = &r->evals[i];
		strbuf_reset(&sb);
		report_group_label(&r->groups[e->group], &sb);
		add_span(b, S_TEXT, sb.buf);
		strbuf_reset(&sb);
		strbuf_add(&sb, e->rev, strnlen(e->rev, 12));
		add_span(b, S_CODE, sb.buf);
		add_span(b, S_TEXT, tstr(e->time, t, sizeof(t)));
		add_spanf(b, S_NUM, "%zu", e->jobs);
		add_spanf(b, S_NUM, "%zu", e->whole_last);
		if (e->below >= 0)
			snprintf(s, sizeof(s), "%.1f days", e->half_life);
		else
			snprintf(s, sizeof(s), "%s", e->reached >= 0 ? "still above" : "never above");
		add_span(b, S_TEXT, s);
	}
	add_block(d, B_CLOSE);
	strbuf_release(&sb);
}

static void sec_gc(struct doc *d, const struct report_page *p)
{
	static const char *const head[] = {"policy", ">retention", ">crawl intervals",
					   ">predicted", ">recorded", ">matched", ">precision",
					   ">recall"};
	const struct report *r = p->r;
	struct block *b;
	char a[32];
	double best = -1;
	int besti = -1;

	heading(d, B_H2, "gc", "6. Which GC the cache runs");
	b = add_block(d, B_P);
	add_span(b, S_TEXT, "Each policy runs once per pair of consecutive crawls on the cache as "
		 "the earlier crawl saw it plus what was pushed after, and its victims are compared "
		 "with what the later crawl found gone (as ");
	add_span(b, S_CODE, "cachegc simulate");
	add_span(b, S_TEXT, " computes it; limit-based policies are asked for the bytes that went).");
	if (!r->npolicies) {
		b = add_block(d, B_P);
		add_span(b, S_TEXT, "Nothing to compare with: it needs two complete crawls and "
			 "recorded pushes.");
		return;
	}
	b = table(d, head, ARRAY_SIZE(head));
	for (size_t i = 0; i < r->npolicies; i++) {
		const struct report_policy *q = &r->policies[i];
		add_span(b, S_TEXT, gc_policy_name(q->policy));
		if (q->retention)
			add_spanf(b, S_NUM, "%lld days", (long long)(q->retention / 86400));
		else
			add_span(b, S_NUM, "-");
		add_spanf(b, S_NUM, "%zu", q->intervals);
		add_spanf(b, S_NUM, "%llu", (unsigned long long)q->predicted);
		add_spanf(b, S_NUM, "%llu", (unsigned long long)q->recorded);
		add_spanf(b, S_NUM, "%llu", (unsigned long long)q->matched);
		pct(a, sizeof(a), q->matched, q->predicted);
		add_span(b, S_NUM, a);
		pct(a, sizeof(a), q->matched, q->recorded);
		add_span(b, S_NUM, a);
		if (q->predicted && q->recorded) {
			double f = 2.0 * (double)q->matched / (double)(q->predicted + q->recorded);
			if (f > best) {
				best = f;
				besti = (int)i;
			}
		}
	}
	b = add_block(d, B_P);
	if (besti >= 0 && best > 0) {
		add_span(b, S_TEXT, "Best fit (precision and recall together, F1 ");
		add_spanf(b, S_TEXT, "%.2f): ", best);
		add_span(b, S_STRONG, gc_policy_name(r->policies[besti].policy));
		add_span(b, S_TEXT, ".");
	} else {
		add_span(b, S_TEXT, "No policy predicts any recorded eviction.");
	}
}

static void sec_closures(struct doc *d, const struct report_page *p)
{
	static const char *const head[] = {"output", "job", ">closure", ">paths", "present"};
	static const char *const head2[] = {"path", ">current outputs depending on it", ">size",
					    "present"};
	const struct report *r = p->r;
	struct strbuf sb = STRBUF_INIT;
	struct block *b;
	char a[32];

	heading(d, B_H2, "closures", "7. Largest closures and most depended-on paths");
	b = add_block(d, B_P);
	add_spanf(b, S_TEXT, "Over the %llu distinct output paths of the evaluations above: the "
		  "largest closures (NAR bytes), and the paths in the closures of the most of "
		  "them.", (unsigned long long)r->outputs);
	heading(d, B_H3, NULL, "Largest closures");
	b = table(d, head, ARRAY_SIZE(head));
	for (size_t i = 0; i < r->nlargest; i++) {
		const struct report_top *t = &r->largest[i];
		coverage_path(&r->now, t->path, &sb);
		add_span(b, S_CODE, sb.buf);
		strbuf_reset(&sb);
		strbuf_addstr(&sb, t->attr ? t->attr : "");
		if (t->output && strcmp(t->output, "out"))
			strbuf_addf(&sb, "^%s", t->output);
		add_span(b, S_CODE, sb.buf);
		add_span(b, S_NUM, format_size(t->bytes, a, sizeof(a)));
		add_spanf(b, S_NUM, "%llu", (unsigned long long)t->paths);
		add_span(b, S_TEXT, t->present ? "yes" : "no");
	}
	heading(d, B_H3, NULL, "Most depended on");
	b = table(d, head2, ARRAY_SIZE(head2));
	for (size_t i = 0; i < r->ndepended; i++) {
		const struct report_top *t = &r->depended[i];
		coverage_path(&r->now, t->path, &sb);
		add_span(b, S_CODE, sb.buf);
		add_spanf(b, S_NUM, "%llu", (unsigned long long)t->paths);
		add_span(b, S_NUM, format_size(t->bytes, a, sizeof(a)));
		add_span(b, S_TEXT, t->present ? "yes" : "no");
	}
	strbuf_release(&sb);
}

static void build(struct doc *d, const struct report_page *p)
{
	const struct report *r = p->r;
	const struct coverage *cv = &r->now;
	struct block *b;
	char t[32], u[32], v[32];

	heading(d, B_H1, NULL, p->title);
	b = add_block(d, B_NOTE);
	add_span(b, S_TEXT, "Cache ");
	add_span(b, S_CODE, p->url);
	add_spanf(b, S_TEXT, "; %zu complete crawl%s from %s to %s; coverage as of %s; ",
		  r->ncrawls, r->ncrawls == 1 ? "" : "s", tstr(r->crawls[0].time, t, sizeof(t)),
		  tstr(r->crawls[r->ncrawls - 1].time, u, sizeof(u)), tstr(cv->at, v, sizeof(v)));
	if (!cv->trust_checked)
		add_span(b, S_STRONG, "signatures not checked (no trusted keys configured)");
	else
		add_spanf(b, S_TEXT, "signatures checked against %zu trusted key%s", cv->keys_active,
			  cv->keys_active == 1 ? "" : "s");
	add_span(b, S_TEXT, ".");
	sec_now(d, p);
	sec_over_time(d, p);
	sec_stored(d, p);
	sec_staleness(d, p);
	sec_half_life(d, p);
	sec_gc(d, p);
	sec_closures(d, p);
	b = add_block(d, B_NOTE);
	add_span(b, S_TEXT, "Written by ");
	add_span(b, S_CODE, "cachegc report");
	add_span(b, S_TEXT, "; every chart's data is in data/*.tsv, its gnuplot script in "
		 "data/*.gp.");
}

void report_page_html(const struct report_page *p, struct strbuf *sb)
{
	struct doc d = {0};

	build(&d, p);
	render_html(&d, p->title, sb);
	doc_release(&d);
}

void report_page_markdown(const struct report_page *p, struct strbuf *sb)
{
	struct doc d = {0};

	build(&d, p);
	render_md(&d, sb);
	doc_release(&d);
}
