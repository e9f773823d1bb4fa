/*
 * cmd_import_eval.c - `cachegc import-eval`: record nix-eval-jobs output as
 * evaluations (branch x rev x cudaCapabilities x system x time), one file
 * or a manifest of many.  The work is evals_batch_import() (evals.c); this file
 * reads options, resolves the manifest and prints the summary.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "store/bulkindex.h"
#include "store/db.h"
#include "ingest/evals.h"
#include "nix/caps.h"
#include "lib/util.h"

#define MANIFEST_MAX (16u * 1024 * 1024)

/* Strings: a manifest's lines carry the same fields, and entry_meta()
 * checks both alike. */
struct import_eval_cli {
	const char *branch, *rev, *caps, *system, *time, *jobset, *manifest;
	int strict, json;
};

static const struct option import_eval_options[] = {
	OPT_STRING("branch", struct import_eval_cli, branch, "B",
		 "nixpkgs branch: master, nixos-unstable, nixos-24.05, ..."),
	OPT_STRING("rev", struct import_eval_cli, rev, "R", "the nixpkgs revision evaluated"),
	OPT_STRING("capabilities", struct import_eval_cli, caps, "L",
		 "the cudaCapabilities, e.g. 8.6,8.9 (a set: order,\n"
		 "spaces and repeats do not matter); 'none' (the\n"
		 "default) for a jobset built without CUDA"),
	OPT_STRING("system", struct import_eval_cli, system, "S",
		 "the evaluation's system (default: the one its jobs\n"
		 "name; " EVALS_DEFAULT_SYSTEM " when none does)"),
	OPT_STRING("time", struct import_eval_cli, time, "T",
		 "when it was evaluated: 2024-05-01, 2024-05-01T12:00:00Z\n"
		 "or @EPOCH (default: the clock, see the global --now)"),
	OPT_STRING("jobset", struct import_eval_cli, jobset, "NAME",
		 "a free label for it, e.g. the CI jobset"),
	OPT_PATH("manifest", struct import_eval_cli, manifest, "FILE",
		 "import many evaluations: one per line,\n"
		 "  FILE<TAB>BRANCH<TAB>REV[<TAB>CAPABILITIES[<TAB>SYSTEM\n"
		 "  [<TAB>TIME[<TAB>JOBSET]]]]\n"
		 "empty fields take the defaults; '#' lines and blank\n"
		 "lines are ignored; relative FILEs are read from the\n"
		 "manifest's directory; each evaluation is imported\n"
		 "whole or not at all"),
	OPT_FLAG("strict", 0, struct import_eval_cli, strict,
		 "a malformed or duplicate line fails the evaluation"),
	OPT_FLAG("json", 0, struct import_eval_cli, json, "print the summary as JSON"),
	OPT_HELP(NULL),
	OPT_TEXT("  FILE|-              the nix-eval-jobs output ('-': standard input)\n"
		 "\n"
		 "A database another process keeps locked longer than the busy timeout\n"
		 "(CACHEGC_BUSY_TIMEOUT_MS, 10 s) fails the evaluation that waited for it,\n"
		 "and a manifest stops there: run it again later.\n"
		 "\n"
		 "Exit status: 0 when every evaluation was imported or already there, 1 when\n"
		 "one failed (nothing of it recorded), 2 for a usage error.\n"),
	OPT_END(),
};

static const struct opt_parser import_eval_parser = {
	.name = "import-eval",
	.usage = "usage: cachegc import-eval --branch B --rev R [--capabilities LIST]\n"
		 "                           [--system S] [--time T] [--jobset NAME]\n"
		 "                           [--strict] [--json] FILE|-\n"
		 "   or: cachegc import-eval --manifest FILE [--system S] [--jobset NAME]\n"
		 "                           [--strict] [--json]\n"
		 "\n"
		 "Record one evaluation: the JSON lines nix-eval-jobs printed for a nixpkgs\n"
		 "branch at a revision with a set of cudaCapabilities.  Attrs are recorded\n"
		 "by their attrPath (nix-eval-jobs' \"\\\"dotted.attr\\\"\" is dotted.attr).\n"
		 "Lines with \"error\" are kept as attrs that failed to evaluate (an\n"
		 "aggregate's with its outputs); cacheStatus and neededBuilds are kept when\n"
		 "present.  Malformed lines are reported (file:line) and skipped; the rest\n"
		 "is imported in one transaction.  Importing the same evaluation again\n"
		 "changes nothing.  Jobs for several systems need --system.\n"
		 "\n"
		 "options:\n",
	.opts = import_eval_options,
	.column = 22,
};

const struct cmd cmd_import_eval;

struct entry {
	char *file;            /* path to open, resolved against the manifest */
	char *shown;           /* where it was named: "MANIFEST:LINE", or NULL */
	char *branch, *rev, *caps, *system, *jobset;
	int64_t time;
	int time_given;
};

static void entry_release(struct entry *e)
{
	free(e->file);
	free(e->shown);
	free(e->branch);
	free(e->rev);
	free(e->caps);
	free(e->system);
	free(e->jobset);
	memset(e, 0, sizeof(*e));
}

/* Fill e's metadata from text fields (caps NULL, system and jobset NULL
 * or empty for the default: "none", the jobs' system, none; so may
 * time_s be, for the clock).  0, or -1 with the reason in msg. */
static int entry_meta(struct entry *e, const char *branch, const char *rev, const char *caps,
		      const char *system, const char *time_s, const char *jobset,
		      char *msg, size_t msgsz)
{
	struct evals_error err;

	if (system && !*system)
		system = NULL;
	if (!caps)
		caps = CAPS_NONE;
	if (evals_check_label("the branch", branch, 1, &err) ||
	    evals_check_label("the rev", rev, 0, &err) ||
	    (system && evals_check_label("the system", system, 0, &err)) ||
	    (jobset && *jobset && evals_check_label("the jobset", jobset, 1, &err))) {
		snprintf(msg, msgsz, "%s", err.msg);
		return -1;
	}
	if (caps_normalize(caps, strlen(caps), &e->caps, &err)) {
		snprintf(msg, msgsz, "capabilities: %s", err.msg);
		return -1;
	}
	if (time_s && *time_s) {
		if (parse_time(time_s, &e->time)) {
			snprintf(msg, msgsz, "cannot parse time '%.64s' (want 2024-05-01, "
				 "2024-05-01T12:00:00Z or @EPOCH)", time_s);
			return -1;
		}
		e->time_given = 1;
	} else {
		e->time = clock_now();
	}
	e->branch = xstrdup(branch);
	e->rev = xstrdup(rev);
	e->system = system ? xstrdup(system) : NULL;
	e->jobset = jobset && *jobset ? xstrdup(jobset) : NULL;
	return 0;
}

/* Split a manifest line at tabs into at most nf fields (pointers into
 * line, NUL-terminated in place).  Returns the field count, or nf + 1 when
 * there are more. */
static size_t split_tabs(char *line, char **f, size_t nf)
{
	size_t n = 0;

	for (;;) {
		char *tab = strchr(line, '\t');
		if (n == nf)
			return nf + 1;
		f[n++] = line;
		if (!tab)
			return n;
		*tab = '\0';
		line = tab + 1;
	}
}

/* Read the manifest into *entries.  Every line is checked before anything
 * is imported: a bad manifest imports nothing.  0 or -1 (reported). */
static int read_manifest(const char *path, const char *def_system, const char *def_jobset,
			 struct entry **entries, size_t *n)
{
	char *buf = NULL, *dir = NULL, *p, *next;
	size_t len, alloc = 0;
	unsigned lineno = 0, bad = 0;
	const char *slash;
	int rc;

	*entries = NULL;
	*n = 0;
	rc = strcmp(path, "-") ? read_file_capped(path, MANIFEST_MAX, &buf, &len)
			       : read_stream_capped(stdin, MANIFEST_MAX, &buf, &len);
	if (rc)
		return error("cannot read manifest '%s': %s", path,
			     errno == EFBIG ? "larger than 16 MiB" : strerror(errno));
	slash = strrchr(path, '/');
	dir = strcmp(path, "-") && slash ? xstrndup(path, (size_t)(slash - path + 1)) : xstrdup("");
	if (memchr(buf, '\0', len)) {
		error("manifest '%s' holds a NUL byte; is it a text file?", path);
		goto fail;
	}
	for (p = buf; p < buf + len; p = next) {
		char *eol = memchr(p, '\n', (size_t)(buf + len - p)), *f[7];
		char where[600], msg[300];
		struct entry e = {0};
		size_t nf;

		next = eol ? eol + 1 : buf + len;
		if (eol)
			*eol = '\0';
		else
			buf[len] = '\0';
		lineno++;
		if (eol > p && eol[-1] == '\r')
			eol[-1] = '\0';
		while (*p == ' ')
			p++;
		if (!*p || *p == '#')
			continue;
		snprintf(where, sizeof(where), "%s:%u", path, lineno);
		nf = split_tabs(p, f, ARRAY_SIZE(f));
		if (nf > ARRAY_SIZE(f) || nf < 3) {
			error("%s: %s tab-separated fields; want FILE<TAB>BRANCH<TAB>REV[<TAB>"
			      "CAPABILITIES[<TAB>SYSTEM[<TAB>TIME[<TAB>JOBSET]]]]", where,
			      nf > ARRAY_SIZE(f) ? "more than 7" : nf == 1 ? "1" : "2");
			bad++;
			continue;
		}
		if (!*f[0] || !strcmp(f[0], "-")) {
			error("%s: the file field is empty or '-'", where);
			bad++;
			continue;
		}
		if (entry_meta(&e, f[1], f[2], nf > 3 && *f[3] ? f[3] : NULL, nf > 4 && *f[4] ? f[4] : def_system,
			       nf > 5 ? f[5] : NULL, nf > 6 && *f[6] ? f[6] : def_jobset,
			       msg, sizeof(msg))) {
			error("%s: %s", where, msg);
			entry_release(&e);
			bad++;
			continue;
		}
		if (f[0][0] == '/') {
			e.file = xstrdup(f[0]);
		} else {
			struct strbuf sb = STRBUF_INIT;
			strbuf_addstr(&sb, dir);
			strbuf_addstr(&sb, f[0]);
			e.file = strbuf_detach(&sb);
		}
		e.shown = xstrdup(where);
		GROW(*entries, alloc, *n + 1);
		(*entries)[(*n)++] = e;
	}
	if (bad) {
		error("manifest '%s': %u bad line%s; nothing imported", path, bad, bad == 1 ? "" : "s");
		goto fail;
	}
	if (!*n) {
		error("manifest '%s' lists no evaluations", path);
		goto fail;
	}
	free(buf);
	free(dir);
	return 0;
fail:
	for (size_t i = 0; i < *n; i++)
		entry_release(&(*entries)[i]);
	free(*entries);
	*entries = NULL;
	*n = 0;
	free(buf);
	free(dir);
	return -1;
}

struct totals {
	unsigned imported, already, failed, skipped;
};

static void print_problems(const char *src, const struct import_problems *p)
{
	for (size_t i = 0; i < p->n; i++)
		warning("%s:%u: %s", src, p->v[i].line, p->v[i].msg);
	if (p->total > p->n)
		warning("%s: %zu more problems not shown", src, p->total - p->n);
}

static json_t *problems_json(const struct import_problems *p)
{
	json_t *a = json_array();

	for (size_t i = 0; i < p->n; i++)
		json_array_append_new(a, json_pack("{s:i, s:s}", "line", (json_int_t)p->v[i].line,
						   "message", p->v[i].msg));
	return a;
}

/* One evaluation imported (or not) in the open batch, to report once the
 * batch is committed. */
struct done {
	const struct entry *e;
	int rc;
	struct eval_import_result res;
};

/* Import entry e in batch b (begun) into *d. */
static void import_one(struct evals_batch *b, const struct entry *e, int strict, struct done *d)
{
	struct eval_meta m = {0};
	FILE *in;
	int is_stdin = !strcmp(e->file, "-");

	m.branch = e->branch;
	m.rev = e->rev;
	m.capabilities = e->caps;
	m.system = e->system;
	m.jobset = e->jobset;
	m.source = is_stdin ? "<stdin>" : e->file;
	m.time = e->time;
	m.time_given = e->time_given;
	m.strict = strict;

	d->e = e;
	memset(&d->res, 0, sizeof(d->res));
	in = is_stdin ? stdin : fopen(e->file, "r");
	if (!in) {
		snprintf(d->res.failure, sizeof(d->res.failure), "%s%scannot open '%s': %s",
			 e->shown ? e->shown : "", e->shown ? ": " : "", e->file, strerror(errno));
		d->rc = -1;
		return;
	}
	d->rc = evals_batch_import(b, in, &m, &d->res);
	if (!is_stdin)
		fclose(in);
}

/* The batch holding d was lost (its commit failed, or the DB ended it):
 * d is not imported, whatever it said. */
static void done_lost(struct done *d, const char *dbpath)
{
	const struct entry *e = d->e;

	if (d->rc || d->res.already)
		return;
	d->rc = -1;
	d->res.evaluation_id = 0;
	snprintf(d->res.failure, sizeof(d->res.failure), "'%s'%s%s%s: not imported: it was in "
		 "a transaction database '%s' did not commit", strcmp(e->file, "-") ? e->file :
		 "<stdin>", e->shown ? " (" : "", e->shown ? e->shown : "", e->shown ? ")" : "",
		 dbpath);
}

/* Report d (text now, or into arr). */
static void report_one(struct db *db, struct done *d, json_t *arr, struct totals *tot)
{
	const struct entry *e = d->e;
	struct eval_import_result *r = &d->res;
	const char *source = strcmp(e->file, "-") ? e->file : "<stdin>";
	char t[32], t2[32];
	int rc = d->rc;

	print_problems(source, &r->problems);
	/* db.c said the DB is locked; say which evaluation that cost. */
	if (rc && !r->failure[0] && db->locked)
		snprintf(r->failure, sizeof(r->failure), "'%s'%s%s%s: not imported: database '%s' "
			 "is locked by another process", source, e->shown ? " (" : "",
			 e->shown ? e->shown : "", e->shown ? ")" : "", db->path);
	if (rc && r->failure[0])
		error("%s", r->failure);
	if (rc)
		tot->failed++;
	else if (r->already)
		tot->already++;
	else
		tot->imported++;

	if (arr) {
		json_t *o = json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:o}",
				      "file", source,
				      "status", rc ? "failed" : r->already ? "already-imported" : "imported",
				      "evaluationId", rc ? json_null() : json_integer(r->evaluation_id),
				      "branch", e->branch, "rev", e->rev, "capabilities", e->caps,
				      "system", r->system[0] ? r->system : e->system ? e->system : "",
				      "time", format_time(r->already ? r->existing_time : e->time, t, sizeof(t)),
				      "jobset", e->jobset ? json_string(e->jobset) : json_null());
		if (!r->system[0] && !e->system)
			json_object_set_new(o, "system", json_null());  /* failed before */
		json_object_set_new(o, "lines", json_integer(r->lines));
		json_object_set_new(o, "jobs", json_integer(r->jobs));
		json_object_set_new(o, "outputs", json_integer(r->outputs));
		json_object_set_new(o, "evalErrors", json_integer(r->eval_errors));
		json_object_set_new(o, "malformedLines", json_integer(r->bad_lines));
		json_object_set_new(o, "duplicates", json_integer(r->duplicates));
		json_object_set_new(o, "problemsTotal", json_integer((json_int_t)r->problems.total));
		json_object_set_new(o, "problems", problems_json(&r->problems));
		if (rc)
			json_object_set_new(o, "error", json_string(r->failure[0] ? r->failure
							  : "failed; see the messages above"));
		json_array_append_new(arr, o);
	} else if (!rc && r->already) {
		fprintf_printable(stdout, "'%s': already imported as evaluation %lld (%s %.12s "
		       "[%s] %s at %s, imported %s); nothing changed\n", source, (long long)r->evaluation_id,
		       e->branch, e->rev, e->caps, r->system,
		       format_time(r->existing_time, t, sizeof(t)),
		       format_time(r->imported_at, t2, sizeof(t2)));
	} else if (!rc) {
		fprintf_printable(stdout, "'%s': imported evaluation %lld (%s %.12s [%s] %s at "
		       "%s): %u jobs, %u outputs, %u failed to evaluate", source, (long long)r->evaluation_id,
		       e->branch, e->rev, e->caps, r->system, format_time(e->time, t, sizeof(t)),
		       r->jobs, r->outputs, r->eval_errors);
		if (r->bad_lines || r->duplicates)
			printf("; skipped %u malformed and %u duplicate lines", r->bad_lines,
			       r->duplicates);
		putchar('\n');
	}
	import_problems_release(&r->problems);
}

/*
 * A manifest's evaluations are imported in batches of one transaction
 * (commits cost far more than the rows of an evaluation): a batch is
 * committed once it has run BATCH_MS or holds BATCH_MAX evaluations, and
 * its evaluations are reported only then, so a kill loses nothing that
 * was reported imported; the next run skips what is there.
 * CACHEGC_IMPORT_BATCH_MS overrides BATCH_MS (0: one evaluation a batch).
 */
#define BATCH_MS 1000
#define BATCH_MAX 256

/* Commit the batch and report what it holds. */
static void flush(struct evals_batch *b, struct done *pend, size_t *npend, json_t *arr,
		  struct totals *tot)
{
	if (evals_batch_commit(b))
		for (size_t k = 0; k < *npend; k++)
			done_lost(&pend[k], b->db->path);
	for (size_t k = 0; k < *npend; k++)
		report_one(b->db, &pend[k], arr, tot);
	fflush(stdout);
	*npend = 0;
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *branch = NULL, *rev = NULL, *caps = NULL, *system = NULL, *time_s = NULL;
	const char *jobset = NULL, *manifest = NULL, *file = NULL;
	struct entry *entries = NULL, single = {0};
	size_t n = 0;
	struct import_eval_cli a = {0};
	int json = 0, strict = 0, rc = 1, np, deferred = 0;
	struct totals tot = {0};
	struct evals_batch b;
	struct done *pend = NULL;
	size_t npend = 0;
	int64_t started = 0, batch_ms = BATCH_MS;
	const char *env;
	json_t *arr = NULL;

	if ((np = parse_options(&import_eval_parser, argc, argv, &a)) < 0)
		return parse_options_exit(np);
	branch = a.branch;
	rev = a.rev;
	caps = a.caps;
	system = a.system;
	time_s = a.time;
	jobset = a.jobset;
	manifest = a.manifest;
	json = a.json;
	strict = a.strict;
	if (np > 1)
		return cmd_usage_error(&cmd_import_eval, "one FILE only (use --manifest "
				       "for many); got '%s' and '%s'", argv[0], argv[1]);
	if (np == 1)
		file = argv[0];
	if (manifest) {
		if (file || branch || rev || caps || time_s)
			return cmd_usage_error(&cmd_import_eval, "--manifest takes no FILE, "
					       "--branch, --rev, --capabilities or --time: "
					       "they come from its lines");
		if (read_manifest(manifest, system, jobset, &entries, &n))
			return 1;
	} else {
		if (!file)
			return cmd_usage_error(&cmd_import_eval, "no FILE given ('-' reads "
					       "standard input)");
		if (!branch || !rev)
			return cmd_usage_error(&cmd_import_eval, "--branch and --rev are required");
		char msg[300];
		if (entry_meta(&single, branch, rev, caps, system, time_s, jobset, msg,
			       sizeof(msg))) {
			entry_release(&single);
			return cmd_usage_error(&cmd_import_eval, "%s", msg);
		}
		single.file = xstrdup(file);
		entries = &single;
		n = 1;
	}

	if (json)
		arr = json_array();
	if ((env = getenv("CACHEGC_IMPORT_BATCH_MS")) && *env)
		batch_ms = strtoll(env, NULL, 10);
	pend = xcalloc(n < BATCH_MAX ? n : BATCH_MAX, sizeof(*pend));
	evals_batch_init(&b, ctx->db);
	for (size_t i = 0; i < n; i++) {
		struct done *d = &pend[npend++];
		ctx->db->locked = 0;
		if (!b.open) {
			started = mono_ms();
			if (evals_batch_begin(&b)) {
				memset(d, 0, sizeof(*d));
				d->e = &entries[i];
				d->rc = -1;
			} else if (i == 0 && db_indexes_defer(ctx->db, &deferred)) {
				/* Into an empty eval_jobs, its two secondary indexes
				 * are built once at the end rather than row by row
				 * (store/bulkindex.h); inside the first batch, so a
				 * rollback brings them back. */
				evals_batch_rollback(&b);
				memset(d, 0, sizeof(*d));
				d->e = &entries[i];
				d->rc = -1;
			}
		}
		if (b.open) {
			import_one(&b, &entries[i], strict, d);
			if (!b.open)   /* the DB ended the batch */
				for (size_t k = 0; k + 1 < npend; k++)
					done_lost(&pend[k], ctx->db->path);
		}
		if (!b.open || ctx->db->locked || npend == BATCH_MAX || i + 1 == n ||
		    mono_ms() - started >= batch_ms)
			flush(&b, pend, &npend, arr, &tot);
		if (!ctx->db->locked)
			continue;
		/* Waiting the busy timeout out once is enough: the next
		 * evaluations would each wait as long for the same lock. */
		tot.skipped = (unsigned)(n - i - 1);
		for (size_t k = i + 1; arr && k < n; k++)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "file", entries[k].file,
							     "status", "not-attempted", "error",
							     "the database is locked by another process"));
		if (tot.skipped)
			error("stopped: %u more evaluation%s of '%s' not attempted", tot.skipped,
			      tot.skipped == 1 ? "" : "s", manifest);
		fprintf(stderr, "hint: run the same command again when the other process is done "
			"(evaluations already imported are recognised and skipped), or raise "
			"CACHEGC_BUSY_TIMEOUT_MS to wait longer\n");
		break;
	}
	evals_batch_release(&b);
	if (deferred) {
		if (!progress_disabled && isatty(STDERR_FILENO))
			fprintf(stderr, "import-eval: indexing the jobs by path and by derivation...\n");
		if (db_indexes_restore(ctx->db, NULL))
			fprintf(stderr, "hint: the next writing command on '%s' builds them\n",
				ctx->db->path);
	}
	free(pend);
	if (json) {
		json_t *root = json_pack("{s:o, s:i, s:i, s:i, s:i}", "evaluations", arr,
					 "imported", (json_int_t)tot.imported,
					 "alreadyImported", (json_int_t)tot.already,
					 "failed", (json_int_t)tot.failed,
					 "notAttempted", (json_int_t)tot.skipped);
		json_dumpf(root, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(root);
	} else if (n > 1) {
		printf("%zu evaluations: %u imported, %u already imported, %u failed", n,
		       tot.imported, tot.already, tot.failed);
		if (tot.skipped)
			printf(", %u not attempted (database locked)", tot.skipped);
		putchar('\n');
	}
	rc = tot.failed ? 1 : 0;
	for (size_t i = 0; i < n; i++)
		entry_release(&entries[i]);
	if (entries != &single)
		free(entries);
	return rc;
}

const struct cmd cmd_import_eval = {
	"import-eval",
	"record nix-eval-jobs output as evaluations (branch x rev x capabilities)",
	&import_eval_parser,
	DB_WRITE,
	run,
};
