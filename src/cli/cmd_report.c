/*
 * cmd_report.c - `cachegc report`: the figures of report.c written as one
 * page (index.html), the same as Markdown (report.md), the charts' data
 * (data/NAME.tsv) and the charts (NAME.svg) drawn by gnuplot from the scripts
 * of reports/ (embedded at build time, written beside the data as
 * data/NAME.gp so a chart can be drawn again).  The page is written by
 * cmd_report_page.c.
 *
 * Every file is written to a temporary name and renamed into place, so an
 * interrupted run leaves the previous report's files whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "cli/report_files.h"
#include "store/lookup.h"
#include "cmd_report_private.h"

struct report_cli {
	const char *cache, *out, *title;
	int64_t from, to;
	uint64_t limit;
};

static const struct option report_options[] = {
	OPT_STRING("cache", struct report_cli, cache, "CACHE",
		 "the cache (URL, directory or id); default: the only one"),
	OPT_TIME("from", struct report_cli, from, "T",
		 "first crawl to show (default: the first one)"),
	OPT_TIME("to", struct report_cli, to, "T",
		 "last crawl to show, and the moment of \"coverage now\"\n"
		 "(default: now, or the global --now); T is 2024-05-01,\n"
		 "2024-05-01T12:00:00Z or @EPOCH"),
	OPT_SIZE("limit", struct report_cli, limit, "SIZE",
		 "the cache's space limit, drawn against what it stores:\n"
		 "bytes, K/M/G/T (1024-based), KiB..TiB, KB..TB"),
	OPT_PATH("out", struct report_cli, out, "DIR",
		 "where to write (default: ./report; made if missing)"),
	OPT_STRING("title", struct report_cli, title, "S",
		 "the page's title (default: \"Cache report: URL\")"),
	OPT_HELP("this text"),
	OPT_TEXT("\n"
		 "Writes DIR/index.html (one page, style inline, charts as SVG files\n"
		 "beside it; works offline and prints), DIR/report.md (the same for a\n"
		 "GitHub issue or wiki), DIR/data/*.tsv (every chart's and table's data)\n"
		 "and DIR/data/*.gp (the gnuplot scripts that drew the charts).\n"
		 "\n"
		 "Exit status: 0 written, 1 failed (no crawl in the span, gnuplot missing\n"
		 "or failing, a file that cannot be written), 2 usage error.\n"),
	OPT_END(),
};

static const struct opt_parser report_parser = {
	.name = "report",
	.usage = "usage: cachegc report [--cache C] [--from T] [--to T] [--limit SIZE]\n"
		 "                      [--out DIR] [--title S]\n"
		 "\n"
		 "A coverage report with charts, computed from the database at each\n"
		 "complete crawl between --from and --to:\n"
		 "  1. coverage now, per branch, capability set and system (as 'coverage'\n"
		 "     prints it), and the jobs not cached with why\n"
		 "  2. coverage over time: per group, the share of the jobs of its\n"
		 "     then-latest evaluation cached whole, at every crawl\n"
		 "  3. stored bytes at every crawl against --limit, and the paths pushed\n"
		 "     and evicted per day\n"
		 "  4. staleness: per group, the age of its newest evaluation with at\n"
		 "     least 90% of its jobs whole (closures present), at every crawl\n"
		 "  5. half-life per evaluation: days from its time until a crawl sees\n"
		 "     fewer than 90% of its jobs whole (or still above), and the median\n"
		 "  6. which GC the cache runs: each policy's precision and recall\n"
		 "     against the recorded evictions (as 'simulate' computes them)\n"
		 "  7. the largest closures and the paths most depended on\n"
		 "The charts are drawn by gnuplot (Debian package gnuplot-nox).  Reads\n"
		 "only the database, never the cache itself.\n"
		 "\n"
		 "options:\n",
	.opts = report_options,
	.column = 19,
	.flags = PARSE_NO_ARGS,
};

extern const struct cmd cmd_report;

const char *const report_chart_names[REPORT_NCHARTS] = {"coverage", "stored", "churn",
							  "staleness"};

const char *report_file_text(const char *name)
{
	for (unsigned i = 0; i < n_report_files; i++)
		if (!strcmp(report_files[i].name, name))
			return report_files[i].text;
	BUG("reports/%s is not embedded", name);
}

/* ---- files ---------------------------------------------------------------- */

/* dir/name <- sb, through dir/.name.tmp and a rename. */
static int write_file(const char *dir, const char *name, const struct strbuf *sb)
{
	struct strbuf path = STRBUF_INIT, tmp = STRBUF_INIT;
	const char *slash = strrchr(name, '/');
	int fd, ret = -1;
	size_t off = 0;

	strbuf_addf(&path, "%s/%s", dir, name);
	if (slash)
		strbuf_addf(&tmp, "%s/%.*s/.%s.tmp", dir, (int)(slash - name), name, slash + 1);
	else
		strbuf_addf(&tmp, "%s/.%s.tmp", dir, name);
	fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		error("cannot write '%s': %s", tmp.buf, strerror(errno));
		goto out;
	}
	while (off < sb->len) {
		ssize_t w = write(fd, sb->buf + off, sb->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			error("cannot write '%s': %s", tmp.buf, strerror(w < 0 ? errno : ENOSPC));
			close(fd);
			unlink(tmp.buf);
			goto out;
		}
		off += (size_t)w;
	}
	if (close(fd) || rename(tmp.buf, path.buf)) {
		error("cannot write '%s': %s", path.buf, strerror(errno));
		unlink(tmp.buf);
		goto out;
	}
	ret = 0;
out:
	strbuf_release(&path);
	strbuf_release(&tmp);
	return ret;
}

static int make_dir(const char *path)
{
	struct stat st;

	if (mkdir(path, 0755) && errno != EEXIST)
		return error("cannot create directory '%s': %s", path, strerror(errno));
	if (stat(path, &st) || !S_ISDIR(st.st_mode))
		return error("'%s' is not a directory: choose another --out", path);
	return 0;
}

/* gnuplot on PATH?  1 yes, 0 no. */
static int have_program(const char *name)
{
	const char *path = getenv("PATH"), *p;
	struct strbuf sb = STRBUF_INIT;
	int found = 0;

	if (!path)
		path = "/usr/bin:/bin";
	for (p = path; !found; p++) {
		size_t n = strcspn(p, ":");
		strbuf_reset(&sb);
		if (n)
			strbuf_add(&sb, p, n);
		else
			strbuf_addch(&sb, '.');
		strbuf_addf(&sb, "/%s", name);
		found = !access(sb.buf, X_OK);
		p += n;
		if (!*p)
			break;
	}
	strbuf_release(&sb);
	return found;
}

#define NO_GNUPLOT "gnuplot was not found on PATH: the report's charts are drawn by it; " \
	"install it (Debian and Ubuntu: apt-get install gnuplot-nox) and run again"

/*
 * Draw chart `name` in dir: data/NAME.gp (the variables, common.gp, then
 * reports/NAME.gp) run by gnuplot in dir, its messages into data/NAME.log.
 */
static int draw_chart(const char *dir, const char *name, const char *vars)
{
	struct strbuf sb = STRBUF_INIT, f = STRBUF_INIT;
	struct stat st;
	int status, ret = -1;
	pid_t pid;

	strbuf_addstr(&sb, vars);
	strbuf_addstr(&sb, report_file_text("common.gp"));
	strbuf_addf(&f, "%s.gp", name);
	strbuf_addstr(&sb, report_file_text(f.buf));
	strbuf_reset(&f);
	strbuf_addf(&f, "data/%s.gp", name);
	if (write_file(dir, f.buf, &sb))
		goto out;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		error("cannot run gnuplot: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		char script[64], log[64];
		int fd;
		snprintf(script, sizeof(script), "data/%s.gp", name);
		snprintf(log, sizeof(log), "data/%s.log", name);
		if (chdir(dir))
			_exit(126);
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0) {
			dup2(fd, 0);
			close(fd);
		}
		execlp("gnuplot", "gnuplot", script, (char *)NULL);
		_exit(errno == ENOENT ? 127 : 126);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			error("cannot wait for gnuplot: %s", strerror(errno));
			goto out;
		}
	strbuf_reset(&f);
	strbuf_addf(&f, "%s/%s.svg", dir, name);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		error(NO_GNUPLOT);
	} else if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		error("gnuplot failed drawing '%s' from '%s/data/%s.gp': see '%s/data/%s.log'",
		      f.buf, dir, name, dir, name);
	} else if (stat(f.buf, &st) || st.st_size == 0) {
		error("gnuplot drew nothing into '%s': see '%s/data/%s.log'", f.buf, dir, name);
	} else {
		ret = 0;
		/* nothing said: no log to keep */
		strbuf_reset(&f);
		strbuf_addf(&f, "%s/data/%s.log", dir, name);
		if (!stat(f.buf, &st) && st.st_size == 0)
			unlink(f.buf);
	}
out:
	strbuf_release(&sb);
	strbuf_release(&f);
	return ret;
}

/* ---- data ----------------------------------------------------------------- */

/* A label for gnuplot's legend and a TSV header: imported names are
 * untrusted, so only plain characters pass ('?' for the others). */
static void add_plain(struct strbuf *sb, const char *s)
{
	for (size_t i = 0; s[i] && i < 80; i++) {
		unsigned char ch = (unsigned char)s[i];
		int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			 (ch >= '0' && ch <= '9') || strchr("._,:/+-[]() =", ch);
		strbuf_addch(sb, ok && ch ? (char)ch : '?');
	}
}

static void add_group_header(struct strbuf *sb, const struct report *r)
{
	strbuf_addstr(sb, "time");
	for (size_t g = 0; g < r->ngroups; g++) {
		struct strbuf l = STRBUF_INIT;
		report_group_label(&r->groups[g], &l);
		strbuf_addch(sb, '\t');
		add_plain(sb, l.buf);
		strbuf_release(&l);
	}
	strbuf_addch(sb, '\n');
}

/* Bytes per unit and its name, for values up to max. */
static double pick_unit(uint64_t max, const char **unit)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double d = 1;
	int i = 0;

	while (i < 5 && (double)max >= 1024 * d) {
		d *= 1024;
		i++;
	}
	*unit = units[i];
	return d;
}

/* 1 when chart `name` has no value to draw (gnuplot refuses such a plot). */
static int chart_empty(const struct report *r, const char *name)
{
	if (!strcmp(name, "churn"))
		return !r->ndays;
	if (!strcmp(name, "stored"))
		return !r->ncrawls;
	for (size_t i = 0; i < r->ncrawls * r->ngroups; i++) {
		const struct report_cell *c = &r->cells[i];
		if (!strcmp(name, "coverage") ? c->evaluation_id && c->jobs : c->stale >= 0)
			return 0;
	}
	return 1;
}

static int write_data(const char *dir, const struct report *r, uint64_t limit)
{
	struct strbuf sb = STRBUF_INIT, vars = STRBUF_INIT;
	uint64_t max_stored = limit, max_day = 0;
	const char *unit;
	double div;
	int ret = -1;

	/* coverage.tsv and staleness.tsv: one column per group */
	add_group_header(&sb, r);
	for (size_t k = 0; k < r->ncrawls; k++) {
		strbuf_addf(&sb, "%lld", (long long)r->crawls[k].time);
		for (size_t g = 0; g < r->ngroups; g++) {
			const struct report_cell *c = &r->cells[k * r->ngroups + g];
			if (c->evaluation_id && c->jobs)
				strbuf_addf(&sb, "\t%.2f", 100.0 * (double)c->jobs_cached / (double)c->jobs);
			else
				strbuf_addstr(&sb, "\t-");
		}
		strbuf_addch(&sb, '\n');
	}
	if (write_file(dir, "data/coverage.tsv", &sb))
		goto out;
	strbuf_reset(&sb);
	add_group_header(&sb, r);
	for (size_t k = 0; k < r->ncrawls; k++) {
		strbuf_addf(&sb, "%lld", (long long)r->crawls[k].time);
		for (size_t g = 0; g < r->ngroups; g++) {
			const struct report_cell *c = &r->cells[k * r->ngroups + g];
			if (c->stale >= 0)
				strbuf_addf(&sb, "\t%.2f", (double)c->stale / 86400.0);
			else
				strbuf_addstr(&sb, "\t-");
		}
		strbuf_addch(&sb, '\n');
	}
	if (write_file(dir, "data/staleness.tsv", &sb))
		goto out;

	strbuf_reset(&sb);
	strbuf_addstr(&sb, "time\tpaths\tbytes\n");
	for (size_t k = 0; k < r->ncrawls; k++) {
		const struct report_crawl *c = &r->crawls[k];
		strbuf_addf(&sb, "%lld\t%llu\t%llu\n", (long long)c->time,
			    (unsigned long long)c->stored_paths, (unsigned long long)c->stored_bytes);
		if (c->stored_bytes > max_stored)
			max_stored = c->stored_bytes;
	}
	if (write_file(dir, "data/stored.tsv", &sb))
		goto out;
	strbuf_reset(&sb);
	strbuf_addstr(&sb, "day\tpushed_paths\tpushed_bytes\tevicted_paths\tevicted_bytes\n");
	for (size_t i = 0; i < r->ndays; i++) {
		const struct report_day *d = &r->days[i];
		strbuf_addf(&sb, "%lld\t%llu\t%llu\t%llu\t%llu\n", (long long)d->day,
			    (unsigned long long)d->pushed_paths, (unsigned long long)d->pushed_bytes,
			    (unsigned long long)d->evicted_paths, (unsigned long long)d->evicted_bytes);
		if (d->pushed_bytes > max_day)
			max_day = d->pushed_bytes;
		if (d->evicted_bytes > max_day)
			max_day = d->evicted_bytes;
	}
	if (write_file(dir, "data/churn.tsv", &sb))
		goto out;

	strbuf_reset(&sb);
	strbuf_addstr(&sb, "evaluation\tgroup\trev\ttime\tjobs\twhole_last\treached\tbelow\t"
			   "half_life_days\n");
	for (size_t i = 0; i < r->nevals; i++) {
		const struct report_eval *e = &r->evals[i];
		struct strbuf l = STRBUF_INIT;
		report_group_label(&r->groups[e->group], &l);
		strbuf_addf(&sb, "%lld\t", (long long)e->id);
		add_plain(&sb, l.buf);
		strbuf_addch(&sb, '\t');
		add_plain(&sb, e->rev);
		strbuf_addf(&sb, "\t%lld\t%zu\t%zu\t", (long long)e->time, e->jobs, e->whole_last);
		strbuf_addstr(&sb, e->reached >= 0 ? "" : "-");
		if (e->reached >= 0)
			strbuf_addf(&sb, "%lld", (long long)e->reached);
		strbuf_addch(&sb, '\t');
		if (e->below >= 0)
			strbuf_addf(&sb, "%lld\t%.2f\n", (long long)e->below, e->half_life);
		else
			strbuf_addstr(&sb, "-\t-\n");
		strbuf_release(&l);
	}
	if (write_file(dir, "data/half-life.tsv", &sb))
		goto out;

	strbuf_reset(&sb);
	strbuf_addstr(&sb, "policy\tretention_days\tintervals\tpredicted\trecorded\tmatched\n");
	for (size_t i = 0; i < r->npolicies; i++) {
		const struct report_policy *p = &r->policies[i];
		strbuf_addf(&sb, "%s\t%lld\t%zu\t%llu\t%llu\t%llu\n", gc_policy_name(p->policy),
			    (long long)(p->retention / 86400), p->intervals,
			    (unsigned long long)p->predicted, (unsigned long long)p->recorded,
			    (unsigned long long)p->matched);
	}
	if (write_file(dir, "data/gc.tsv", &sb))
		goto out;

	for (int t = 0; t < 2; t++) {
		const struct report_top *top = t ? r->depended : r->largest;
		size_t n = t ? r->ndepended : r->nlargest;
		struct strbuf p = STRBUF_INIT;
		strbuf_reset(&sb);
		strbuf_addstr(&sb, t ? "path\tstored_bytes\tdependent_outputs\tpresent\n"
				     : "path\tattr\toutput\tclosure_bytes\tclosure_paths\tpresent\n");
		for (size_t i = 0; i < n; i++) {
			coverage_path(&r->now, top[i].path, &p);
			add_plain(&sb, p.buf);
			if (!t) {
				strbuf_addch(&sb, '\t');
				add_plain(&sb, top[i].attr ? top[i].attr : "");
				strbuf_addch(&sb, '\t');
				add_plain(&sb, top[i].output ? top[i].output : "");
			}
			strbuf_addf(&sb, "\t%llu\t%llu\t%d\n", (unsigned long long)top[i].bytes,
				    (unsigned long long)top[i].paths, top[i].present);
		}
		strbuf_release(&p);
		if (write_file(dir, t ? "data/depended.tsv" : "data/largest.tsv", &sb))
			goto out;
	}

	/* the charts */
	for (int i = 0; i < REPORT_NCHARTS; i++) {
		const char *name = report_chart_names[i];
		strbuf_reset(&vars);
		div = pick_unit(!strcmp(name, "churn") ? max_day : max_stored, &unit);
		int churn = !strcmp(name, "churn") && r->ndays;
		int64_t tmin = churn ? r->days[0].day : r->crawls[0].time;
		int64_t tmax = churn ? r->days[r->ndays - 1].day + 86400
				     : r->crawls[r->ncrawls - 1].time;
		strbuf_addf(&vars, "div = %.1f\nunit = \"%s\"\nlimit = %llu.0\nncols = %zu\n"
			    "tmin = %lld\ntmax = %lld\nempty = %d\n", div, unit,
			    (unsigned long long)limit, r->ngroups + 1, (long long)tmin, (long long)tmax,
			    chart_empty(r, name));
		if (draw_chart(dir, name, vars.buf))
			goto out;
	}
	ret = 0;
out:
	strbuf_release(&sb);
	strbuf_release(&vars);
	return ret;
}

/* ---- run ------------------------------------------------------------------ */

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct report_cli a = {.from = INT64_MIN, .to = INT64_MIN, .limit = UINT64_MAX};
	struct report_opts o = {0};
	struct report r = {0};
	struct report_page page = {0};
	struct strbuf sb = STRBUF_INIT, title = STRBUF_INIT, dir = STRBUF_INIT;
	char *url = NULL;
	int n, ret = 1;

	if ((n = parse_options(&report_parser, argc, argv, &a)) < 0)
		return parse_options_exit(n);
	o.to = a.to != INT64_MIN ? a.to : clock_now();
	o.from = a.from;
	if (a.from != INT64_MIN && a.from > o.to) {
		char x[32], y[32];
		return cmd_usage_error(&cmd_report, "--from %s is after --to %s",
				       format_time(a.from, x, sizeof(x)), format_time(o.to, y, sizeof(y)));
	}
	if (a.limit != UINT64_MAX && !a.limit)
		return cmd_usage_error(&cmd_report, "--limit must be more than 0");
	o.limit = a.limit != UINT64_MAX ? a.limit : 0;
	strbuf_addstr(&dir, a.out ? a.out : "report");
	while (dir.len > 1 && dir.buf[dir.len - 1] == '/')
		dir.buf[--dir.len] = '\0';
	/* Before any work: the charts need gnuplot. */
	if (!have_program("gnuplot")) {
		error(NO_GNUPLOT);
		goto out;
	}
	if (cache_resolve(ctx->db, a.cache, &o.cache_id, &url))
		goto out;
	if (report_run(&r, ctx->db, &o))
		goto out;
	if (!r.ncrawls) {
		char t[32];
		error("no complete crawl of '%s' %s %s: nothing to report; crawl it first "
		      "('cachegc crawl %s')", url, a.from != INT64_MIN ? "in the span up to" : "up to",
		      format_time(o.to, t, sizeof(t)), url);
		goto out;
	}
	if (!r.now.trust_checked)
		warning("signatures were not checked: no trusted keys are configured");
	if (make_dir(dir.buf))
		goto out;
	strbuf_reset(&sb);
	strbuf_addf(&sb, "%s/data", dir.buf);
	if (make_dir(sb.buf))
		goto out;
	if (write_data(dir.buf, &r, o.limit))
		goto out;
	if (a.title)
		strbuf_addstr(&title, a.title);
	else
		strbuf_addf(&title, "Cache report: %s", url);
	page.r = &r;
	page.url = url;
	page.title = title.buf;
	page.limit = o.limit;
	report_page_markdown(&page, &sb);
	if (write_file(dir.buf, "report.md", &sb))
		goto out;
	report_page_html(&page, &sb);
	if (write_file(dir.buf, "index.html", &sb))
		goto out;
	fprintf_printable(stdout, "report of %s written to %s/index.html\n", url, dir.buf);
	fprintf_printable(stdout, "  also %s/report.md, the charts %s/*.svg and their data %s/data/\n",
			  dir.buf, dir.buf, dir.buf);
	ret = 0;
out:
	report_release(&r);
	strbuf_release(&sb);
	strbuf_release(&title);
	strbuf_release(&dir);
	free(url);
	return ret;
}

const struct cmd cmd_report = {
	.name = "report",
	.summary = "a coverage report with charts: index.html, report.md and data",
	.options = &report_parser,
	.db = DB_KEEP,
	.run = run,
};
