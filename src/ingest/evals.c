/*
 * evals.c - parsers for nix-eval-jobs lines, build outcomes and
 * cudaCapabilities sets, and their import into the DB.  See evals.h for
 * the contracts and sql/003_evals.sql for what the tables mean.
 */
#include "ingest/evals.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/stmt.h"
#include "nix/nixhash.h"
#include "nix/sig.h"
#include "lib/linereader.h"
#include "lib/util.h"

#define JSON_FLAGS (JSON_REJECT_DUPLICATES)

static int fail(struct evals_error *err, const char *fmt, ...) ATTR_PRINTF(2, 3);
static int fail(struct evals_error *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* Untrusted text shown in a message: printable ASCII only, at most about
 * 60 characters, so a hostile attr cannot drive the terminal. */
static const char *shown(char *dst, size_t dsz, const char *s, size_t n)
{
	size_t o = 0, lim = dsz < 64 ? dsz - 4 : 60;

	for (size_t i = 0; i < n && o < lim; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (n > o && o == lim) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
	return dst;
}
#define SHOWN_MAX 68

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* ---- JSON field helpers ---------------------------------------------- */

static int has_control(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 1;
	return 0;
}

/* A string member: 1 and *out (malloc'd) when present, 0 when absent or
 * null, -1 (err) when of another type or longer than max. */
static int get_string(json_t *o, const char *key, size_t max, char **out,
		      struct evals_error *err)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return fail(err, "\"%s\" is not a string", key);
	if (json_string_length(v) > max)
		return fail(err, "\"%s\" is longer than %zu bytes", key, max);
	*out = xstrndup(json_string_value(v), json_string_length(v));
	return 1;
}

/* An integer member: 1 when present, 0 when absent or null, -1 (err). */
static int get_int(json_t *o, const char *key, int64_t *out, struct evals_error *err)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return fail(err, "\"%s\" is not an integer", key);
	*out = (int64_t)json_integer_value(v);
	return 1;
}

/* Check a full store path "<store_dir>/<hash>-<name>"; want_drv: the name
 * must end in ".drv".  0 or -1 (err, naming key). */
static int check_store_path(const char *p, size_t n, const char *store_dir, int want_drv,
			    const char *key, struct evals_error *err)
{
	size_t sdl = strlen(store_dir);
	char show[SHOWN_MAX];

	if (n <= sdl + 1 || memcmp(p, store_dir, sdl) || p[sdl] != '/' ||
	    !store_basename_valid(p + sdl + 1, n - sdl - 1))
		return fail(err, "\"%s\" '%s' is not a store path in %s", key,
			    shown(show, sizeof(show), p, n), store_dir);
	if (want_drv && (n < 4 || memcmp(p + n - 4, ".drv", 4)))
		return fail(err, "\"%s\" '%s' is not a .drv path", key,
			    shown(show, sizeof(show), p, n));
	return 0;
}

/* ---- nix-eval-jobs lines ------------------------------------------ */

void eval_job_release(struct eval_job *job)
{
	free(job->attr);
	free(job->error);
	free(job->name);
	free(job->system);
	free(job->drv_path);
	for (size_t i = 0; i < job->noutputs; i++) {
		free(job->outputs[i].name);
		free(job->outputs[i].path);
	}
	free(job->outputs);
	memset(job, 0, sizeof(*job));
	job->needed_builds = job->needed_substitutes = -1;
}

static int output_cmp(const void *a, const void *b)
{
	return strcmp(((const struct eval_output *)a)->name, ((const struct eval_output *)b)->name);
}

static int parse_outputs(json_t *outs, const char *store_dir, struct eval_job *job,
			 struct evals_error *err)
{
	const char *key;
	json_t *v;
	char show[SHOWN_MAX];

	if (!json_is_object(outs))
		return fail(err, "\"outputs\" is not an object");
	if (json_object_size(outs) == 0)
		return fail(err, "\"outputs\" is empty");
	if (json_object_size(outs) > 64)
		return fail(err, "more than 64 outputs");
	job->outputs = xcalloc(json_object_size(outs), sizeof(*job->outputs));
	json_object_foreach(outs, key, v) {
		struct eval_output *o = &job->outputs[job->noutputs];
		if (!store_name_valid(key, strlen(key)))
			return fail(err, "output name '%s' is not valid",
				    shown(show, sizeof(show), key, strlen(key)));
		if (!json_is_null(v)) {
			if (!json_is_string(v))
				return fail(err, "output \"%s\" is not a string", key);
			if (check_store_path(json_string_value(v), json_string_length(v),
					     store_dir, 0, "outputs", err))
				return -1;
			o->path = xstrndup(json_string_value(v), json_string_length(v));
		}
		o->name = xstrdup(key);
		job->noutputs++;
	}
	qsort(job->outputs, job->noutputs, sizeof(*job->outputs), output_cmp);
	return 0;
}

static int count_array(json_t *o, const char *key, int64_t *out, struct evals_error *err)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return fail(err, "\"%s\" is not an array", key);
	*out = (int64_t)json_array_size(v);
	return 0;
}

static int parse_job(json_t *root, const char *store_dir, struct eval_job *job,
		     struct evals_error *err)
{
	json_t *v;
	char *cs = NULL;
	int r;

	if (!json_is_object(root))
		return fail(err, "not a JSON object");
	if ((r = get_string(root, "attr", 4096, &job->attr, err)) < 0)
		return -1;
	if (!r || !*job->attr)
		return fail(err, "no \"attr\"; is this nix-eval-jobs output?");
	if (has_control(job->attr, strlen(job->attr)))
		return fail(err, "\"attr\" holds control characters");
	if (get_string(root, "error", EVALS_MAX_LINE, &job->error, err) < 0 ||
	    get_string(root, "name", 1024, &job->name, err) < 0 ||
	    get_string(root, "system", 64, &job->system, err) < 0)
		return -1;
	if ((job->name && has_control(job->name, strlen(job->name))) ||
	    (job->system && has_control(job->system, strlen(job->system))))
		return fail(err, "\"name\" or \"system\" holds control characters");

	if (get_string(root, "cacheStatus", 32, &cs, err) < 0)
		return -1;
	if (cs) {
		static const char *const known[] = {"local", "cached", "notBuilt"};
		for (size_t i = 0; i < ARRAY_SIZE(known); i++)
			if (!strcmp(cs, known[i]))
				job->cache_status = known[i];
		free(cs);
	} else if ((v = json_object_get(root, "isCached")) && json_is_boolean(v)) {
		job->cache_status = json_is_true(v) ? "cached" : "notBuilt";
	}
	if (count_array(root, "neededBuilds", &job->needed_builds, err) ||
	    count_array(root, "neededSubstitutes", &job->needed_substitutes, err))
		return -1;

	if (job->error)
		return 0;   /* a failed evaluation has no derivation */
	if ((r = get_string(root, "drvPath", 4096, &job->drv_path, err)) < 0)
		return -1;
	if (!r)
		return fail(err, "no \"drvPath\" and no \"error\"");
	if (check_store_path(job->drv_path, strlen(job->drv_path), store_dir, 1, "drvPath", err))
		return -1;
	v = json_object_get(root, "outputs");
	if (!v)
		return fail(err, "no \"outputs\" (cachegc needs the output paths: use a "
			    "nix-eval-jobs that prints them)");
	return parse_outputs(v, store_dir, job, err);
}

int eval_job_parse(const char *buf, size_t len, const char *store_dir,
		   struct eval_job *job, struct evals_error *err)
{
	json_error_t je;
	json_t *root;
	int rc;

	memset(job, 0, sizeof(*job));
	job->needed_builds = job->needed_substitutes = -1;
	if (len > EVALS_MAX_LINE)
		return fail(err, "line longer than %d bytes", EVALS_MAX_LINE);
	root = json_loadb(buf, len, JSON_FLAGS, &je);
	if (!root)
		return fail(err, "malformed JSON at column %d: %s", je.column, je.text);
	rc = parse_job(root, store_dir, job, err);
	json_decref(root);
	if (rc)
		eval_job_release(job);
	return rc;
}

/* ---- build outcomes ------------------------------------------------ */

static const struct {
	const char *name;
	int hydra;             /* Hydra buildstatus, -1 for none */
} status_table[] = {
	{"succeeded", 0},
	{"failed", 1},
	{"dependency-failed", 2},
	{"aborted", 3},
	{"cancelled", 4},
	{"failed-with-output", 6},
	{"timed-out", 7},
	{"cached-failure", 8},
	{"unsupported", 9},
	{"log-limit-exceeded", 10},
	{"output-limit-exceeded", 11},
	{"non-deterministic", 12},
	{"queued", -1},
};

const char *const build_statuses[] = {
	"succeeded", "failed", "dependency-failed", "aborted", "cancelled",
	"failed-with-output", "timed-out", "cached-failure", "unsupported",
	"log-limit-exceeded", "output-limit-exceeded", "non-deterministic", "queued",
	NULL,
};

const char *build_status_name(const char *s, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(status_table); i++)
		if (strlen(status_table[i].name) == len && !memcmp(status_table[i].name, s, len))
			return status_table[i].name;
	return NULL;
}

const char *build_status_from_hydra(int64_t code)
{
	for (size_t i = 0; i < ARRAY_SIZE(status_table); i++)
		if (status_table[i].hydra >= 0 && status_table[i].hydra == code)
			return status_table[i].name;
	return NULL;
}

void build_record_release(struct build_record *rec)
{
	free(rec->drv_path);
	free(rec->job);
	free(rec->name);
	free(rec->system);
	memset(rec, 0, sizeof(*rec));
}

static int build_labels(json_t *o, const char *job_key, const char *name_key,
			struct build_record *r, struct evals_error *err)
{
	if (get_string(o, job_key, 4096, &r->job, err) < 0 ||
	    get_string(o, name_key, 1024, &r->name, err) < 0 ||
	    get_string(o, "system", 64, &r->system, err) < 0)
		return -1;
	if ((r->job && has_control(r->job, strlen(r->job))) ||
	    (r->name && has_control(r->name, strlen(r->name))) ||
	    (r->system && has_control(r->system, strlen(r->system))))
		return fail(err, "a job, name or system holds control characters");
	return 0;
}

static int hydra_record(json_t *o, const char *store_dir, struct build_record *r,
			struct evals_error *err)
{
	json_t *v;
	int64_t finished = -1, code = -1, stop = -1, queued = -1;
	int r1;

	if ((r1 = get_string(o, "drvpath", 4096, &r->drv_path, err)) < 0)
		return -1;
	if (!r1)
		return fail(err, "Hydra build without \"drvpath\"");
	if (check_store_path(r->drv_path, strlen(r->drv_path), store_dir, 1, "drvpath", err))
		return -1;
	v = json_object_get(o, "finished");
	if (v && json_is_boolean(v))
		finished = json_is_true(v);
	else if (get_int(o, "finished", &finished, err) < 0)
		return -1;
	if (get_int(o, "buildstatus", &code, err) < 0 || get_int(o, "stoptime", &stop, err) < 0 ||
	    get_int(o, "timestamp", &queued, err) < 0 || get_int(o, "id", &r->hydra_id, err) < 0)
		return -1;
	if (finished < 0) {
		if (code < 0)
			return fail(err, "Hydra build with neither \"finished\" nor \"buildstatus\"");
		finished = 1;
	}
	if (!finished) {
		r->status = "queued";
		r->hydra_status = -1;
		r->time = queued >= 0 ? queued : -1;
	} else {
		if (code < 0)
			return fail(err, "finished Hydra build without \"buildstatus\"");
		if (!(r->status = build_status_from_hydra(code)))
			return fail(err, "unknown Hydra buildstatus %lld", (long long)code);
		r->hydra_status = (int)code;
		r->time = stop > 0 ? stop : queued >= 0 ? queued : -1;
	}
	return build_labels(o, "job", "nixname", r, err);
}

static int line_record(json_t *o, const char *store_dir, struct build_record *r,
		       struct evals_error *err)
{
	char *status = NULL;
	char show[SHOWN_MAX];
	json_t *v;
	int r1;

	if ((r1 = get_string(o, "drvPath", 4096, &r->drv_path, err)) < 0)
		return -1;
	if (!r1)
		return fail(err, "no \"drvPath\"");
	if (check_store_path(r->drv_path, strlen(r->drv_path), store_dir, 1, "drvPath", err))
		return -1;
	if ((r1 = get_string(o, "status", 64, &status, err)) < 0)
		return -1;
	if (!r1)
		return fail(err, "no \"status\"");
	r->status = build_status_name(status, strlen(status));
	if (!r->status) {
		fail(err, "unknown status '%s' (want succeeded, failed, dependency-failed, "
		     "aborted, cancelled, timed-out, queued, ...)",
		     shown(show, sizeof(show), status, strlen(status)));
		free(status);
		return -1;
	}
	free(status);
	r->hydra_status = -1;
	r->time = -1;
	v = json_object_get(o, "time");
	if (v && json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return fail(err, "\"time\" is negative");
		r->time = (int64_t)json_integer_value(v);
	} else if (v && json_is_string(v)) {
		if (parse_time(json_string_value(v), &r->time))
			return fail(err, "\"time\" '%s' is not a time (want epoch seconds or "
				    "2024-05-01T12:00:00Z)",
				    shown(show, sizeof(show), json_string_value(v),
					  json_string_length(v)));
	} else if (v && !json_is_null(v)) {
		return fail(err, "\"time\" is neither whole epoch seconds nor a date string");
	}
	return build_labels(o, json_object_get(o, "attr") ? "attr" : "job", "name", r, err);
}

static int build_record_from_json(json_t *o, const char *store_dir, struct build_record *r,
				  struct evals_error *err)
{
	int rc;

	memset(r, 0, sizeof(*r));
	r->hydra_id = -1;
	r->hydra_status = -1;
	r->time = -1;
	if (!json_is_object(o))
		rc = fail(err, "not a JSON object");
	else if (json_object_get(o, "drvpath") || json_object_get(o, "buildstatus") ||
		 json_object_get(o, "finished"))
		rc = hydra_record(o, store_dir, r, err);
	else if (json_object_get(o, "drvPath"))
		rc = line_record(o, store_dir, r, err);
	else
		rc = fail(err, "neither a Hydra build (\"drvpath\", \"buildstatus\") nor a "
			  "build line (\"drvPath\", \"status\")");
	if (rc)
		build_record_release(r);
	return rc;
}

struct doc {
	const char *buf;
	size_t len, off;
	unsigned line;         /* line of buf[off] */
};

static void doc_advance(struct doc *d, size_t n)
{
	const char *p = d->buf + d->off, *end = p + n;

	while ((p = memchr(p, '\n', (size_t)(end - p)))) {
		d->line++;
		p++;
	}
	d->off += n;
}

static void doc_skip_space(struct doc *d)
{
	size_t n = 0;

	while (d->off + n < d->len && is_space(d->buf[d->off + n]))
		n++;
	doc_advance(d, n);
}

/* Parse one object or array at d->off, within limit bytes.  Returns it and
 * advances, or NULL with je filled. */
static json_t *doc_value(struct doc *d, size_t limit, json_error_t *je)
{
	json_t *v = json_loadb(d->buf + d->off, limit, JSON_FLAGS | JSON_DISABLE_EOF_CHECK, je);

	if (v)
		doc_advance(d, (size_t)je->position);
	return v;
}

static int emit(json_t *v, const char *store_dir, unsigned line, unsigned item,
		size_t size, build_record_fn fn, build_bad_fn bad, void *ctx)
{
	struct build_record rec;
	struct evals_error e;
	int rc = 0;

	if (size > EVALS_MAX_LINE) {
		bad(ctx, line, item, "record larger than 1 MiB, skipped");
		return 0;
	}
	if (build_record_from_json(v, store_dir, &rec, &e)) {
		bad(ctx, line, item, e.msg);
		return 0;
	}
	rc = fn(ctx, &rec, line, item);
	build_record_release(&rec);
	return rc;
}

static int parse_array(struct doc *d, const char *store_dir, build_record_fn fn,
		       build_bad_fn bad, void *ctx, struct evals_error *err)
{
	unsigned item = 0;
	json_error_t je;

	doc_advance(d, 1);   /* '[' */
	for (;;) {
		json_t *v;
		unsigned line;
		size_t start;
		int rc;

		doc_skip_space(d);
		if (d->off < d->len && d->buf[d->off] == ']' && item == 0) {
			doc_advance(d, 1);
			break;
		}
		if (item > 0) {
			if (d->off < d->len && d->buf[d->off] == ']') {
				doc_advance(d, 1);
				break;
			}
			if (d->off >= d->len || d->buf[d->off] != ',')
				return fail(err, "line %u: malformed JSON array: ',' or ']' expected",
					    d->line);
			doc_advance(d, 1);
			doc_skip_space(d);
		}
		line = d->line;
		start = d->off;
		if (!(v = doc_value(d, d->len - d->off, &je)))
			return fail(err, "line %u, column %d: malformed JSON in item %u of the array "
				    "(from line %u): %s", line + (unsigned)je.line - 1, je.column,
				    item + 1, line, je.text);
		rc = emit(v, store_dir, line, ++item, d->off - start, fn, bad, ctx);
		json_decref(v);
		if (rc)
			return -1;
	}
	doc_skip_space(d);
	if (d->off < d->len)
		return fail(err, "line %u: unexpected text after the array", d->line);
	return 0;
}

int builds_parse(const char *buf, size_t len, const char *store_dir,
		 build_record_fn fn, build_bad_fn bad, void *ctx,
		 struct evals_error *err)
{
	struct doc d = {buf, len, 0, 1};
	int multiline = -1;    /* unknown until the first value */
	json_error_t je;

	err->msg[0] = '\0';
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		d.off = 3;
	doc_skip_space(&d);
	if (d.off < len && buf[d.off] == '[')
		return parse_array(&d, store_dir, fn, bad, ctx, err);
	/*
	 * JSON lines, or one or more (maybe pretty-printed) objects.  Lines
	 * mode parses each value within its own line, so one bad line is
	 * skipped and the rest read; a document whose first value spans lines
	 * is read value by value, and a syntax error there ends it.
	 */
	while (doc_skip_space(&d), d.off < len) {
		const char *eol = memchr(buf + d.off, '\n', len - d.off);
		size_t linelen = eol ? (size_t)(eol - (buf + d.off)) : len - d.off;
		unsigned line = d.line;
		size_t start = d.off;
		json_t *v = NULL;
		int rc;

		if (multiline != 1)
			v = doc_value(&d, linelen, &je);
		if (!v && multiline != 0) {
			v = doc_value(&d, len - d.off, &je);
			if (v)
				multiline = 1;
			else if (multiline == 1)
				return fail(err, "line %u, column %d: malformed JSON: %s",
					    line + (unsigned)je.line - 1, je.column, je.text);
		}
		if (multiline < 0)
			multiline = 0;
		if (!v) {
			char msg[200];
			snprintf(msg, sizeof(msg), "malformed JSON at column %d: %s", je.column,
				 je.text);
			bad(ctx, line, 0, msg);
			doc_advance(&d, eol ? linelen + 1 : linelen);
			continue;
		}
		rc = emit(v, store_dir, line, 0, d.off - start, fn, bad, ctx);
		json_decref(v);
		if (rc)
			return -1;
	}
	return 0;
}

/* ---- problems ------------------------------------------------------- */

static void problem_add(struct import_problems *p, unsigned line, unsigned item,
			const char *fmt, ...) ATTR_PRINTF(4, 5);
static void problem_add(struct import_problems *p, unsigned line, unsigned item,
			const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	p->total++;
	if (p->n >= IMPORT_PROBLEMS_KEPT)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	GROW(p->v, p->alloc, p->n + 1);
	p->v[p->n].line = line;
	p->v[p->n].item = item;
	p->v[p->n].msg = xstrdup(buf);
	p->n++;
}

void import_problems_release(struct import_problems *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i].msg);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

int evals_check_label(const char *what, const char *s, int allow_space,
		      struct evals_error *err)
{
	size_t n = s ? strlen(s) : 0;

	if (!n)
		return fail(err, "%s is empty", what);
	if (n > 255)
		return fail(err, "%s is longer than 255 characters", what);
	if (has_control(s, n))
		return fail(err, "%s holds control characters", what);
	if (is_space(s[0]) || is_space(s[n - 1]))
		return fail(err, "%s starts or ends with a space", what);
	if (!allow_space)
		for (size_t i = 0; i < n; i++)
			if (is_space(s[i]))
				return fail(err, "%s holds a space", what);
	return 0;
}

/* ---- DB helpers ----------------------------------------------------- */

static const char SQL_STORE_DIR[] = "SELECT value FROM meta WHERE key = 'store_dir'";

/* The DB's store dir (malloc'd), or NULL (reported). */
static char *load_store_dir(struct db *db)
{
	sqlite3_stmt *st = db_stmt(db, SQL_STORE_DIR);
	char *s = NULL;
	int r;

	if (!st)
		return NULL;
	r = db_step(db, st);
	if (r < 0)
		return NULL;
	s = xstrdup(r ? db_col_text(st, 0) : "/nix/store");
	sqlite3_reset(st);
	return s;
}

static const char SQL_PATH_INS[] = "INSERT OR IGNORE INTO paths (hash, name) VALUES (?1, ?2)";
static const char SQL_PATH_GET[] = "SELECT id, name FROM paths WHERE hash = ?1";

/*
 * The paths.id of the full store path p (already checked to lie in
 * store_dir), inserting it when new.  Returns 0, 1 when the DB knows
 * that hash under another name (why filled), -1 on a DB error (reported).
 */
static int path_intern(struct db *db, const char *store_dir, const char *p, int64_t *id,
		       char *why, size_t whysz)
{
	const char *base = p + strlen(store_dir) + 1, *name = base + STORE_HASH_LEN + 1;
	sqlite3_stmt *st;
	char a[SHOWN_MAX], b[SHOWN_MAX];
	int r;

	if (!(st = db_stmt(db, SQL_PATH_INS)))
		return -1;
	db_bind_textn(st, 1, base, STORE_HASH_LEN);
	db_bind_text(st, 2, name);
	if (db_run(db, st))
		return -1;
	if (!(st = db_stmt(db, SQL_PATH_GET)))
		return -1;
	db_bind_textn(st, 1, base, STORE_HASH_LEN);
	if ((r = db_step(db, st)) <= 0) {
		if (r == 0)
			error("database '%s': path '%.32s' vanished", db->path, base);
		return -1;
	}
	*id = sqlite3_column_int64(st, 0);
	if (strcmp(db_col_text(st, 1), name)) {
		snprintf(why, whysz, "'%s' has the hash of the known path '%.32s-%s'",
			 shown(a, sizeof(a), base, strlen(base)), base,
			 shown(b, sizeof(b), db_col_text(st, 1), strlen(db_col_text(st, 1))));
		sqlite3_reset(st);
		return 1;
	}
	sqlite3_reset(st);
	return 0;
}

/* ---- importing evaluations ------------------------------------------ */

/* Jobs are gathered in a temporary table first, so a re-import can be
 * compared with what is recorded before anything is written.  Created
 * outside any transaction: a rollback must not drop it under the prepared
 * statements. */
static const char SQL_STAGE_CREATE[] =
	"CREATE TEMP TABLE IF NOT EXISTS eval_stage ("
	" attr TEXT NOT NULL, output TEXT NOT NULL, path_id INTEGER, drv_id INTEGER,"
	" name TEXT, system TEXT, error TEXT, cache_status TEXT, needed_builds INTEGER,"
	" needed_substitutes INTEGER, line INTEGER NOT NULL,"
	" PRIMARY KEY (attr, output)) WITHOUT ROWID";
static const char SQL_STAGE_CLEAR[] = "DELETE FROM temp.eval_stage";
static const char SQL_STAGE_FIND[] = "SELECT line FROM temp.eval_stage WHERE attr = ?1 LIMIT 1";
static const char SQL_STAGE_INS[] =
	"INSERT INTO temp.eval_stage (attr, output, path_id, drv_id, name, system, error,"
	" cache_status, needed_builds, needed_substitutes, line)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
static const char SQL_EVAL_EXACT[] =
	"SELECT id, time, imported_at, source FROM evaluations WHERE branch = ?1 AND rev = ?2"
	" AND capabilities = ?3 AND system = ?4 AND time = ?5";
static const char SQL_EVAL_NEWEST[] =
	"SELECT id, time, imported_at, source FROM evaluations WHERE branch = ?1 AND rev = ?2"
	" AND capabilities = ?3 AND system = ?4 ORDER BY time DESC LIMIT 1";
/* Rows in one set and not the other, both ways (EXCEPT treats NULLs as
 * equal, as wanted). */
static const char SQL_EVAL_DIFF[] =
	"SELECT (SELECT count(*) FROM (SELECT attr, output, path_id, drv_id, error"
	"   FROM temp.eval_stage EXCEPT SELECT attr, output, path_id, drv_id, error"
	"   FROM eval_jobs WHERE evaluation_id = ?1)),"
	" (SELECT count(*) FROM (SELECT attr, output, path_id, drv_id, error"
	"   FROM eval_jobs WHERE evaluation_id = ?1 EXCEPT SELECT attr, output, path_id,"
	"   drv_id, error FROM temp.eval_stage))";
static const char SQL_EVAL_INS[] =
	"INSERT INTO evaluations (branch, rev, capabilities, system, time, jobset, source,"
	" imported_at, bad_lines) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char SQL_JOBS_COPY[] =
	"INSERT INTO eval_jobs (evaluation_id, attr, output, path_id, drv_id, name, system,"
	" error, cache_status, needed_builds, needed_substitutes, line)"
	" SELECT ?1, attr, output, path_id, drv_id, name, system, error, cache_status,"
	" needed_builds, needed_substitutes, line FROM temp.eval_stage";

static int stage_row(struct db *db, const struct eval_job *job, const char *output,
		     int64_t path_id, int64_t drv_id, unsigned line)
{
	sqlite3_stmt *st = db_stmt(db, SQL_STAGE_INS);

	if (!st)
		return -1;
	db_bind_text(st, 1, job->attr);
	db_bind_text(st, 2, output);
	db_bind_int_opt(st, 3, path_id);
	db_bind_int_opt(st, 4, drv_id);
	db_bind_text(st, 5, job->name);
	db_bind_text(st, 6, job->system);
	db_bind_text(st, 7, job->error);
	db_bind_text(st, 8, job->cache_status);
	db_bind_int_opt(st, 9, job->needed_builds);
	db_bind_int_opt(st, 10, job->needed_substitutes);
	db_bind_int(st, 11, line);
	return db_run(db, st);
}

/* Stage one parsed job.  0 staged, 1 skipped (problem recorded), -1 DB
 * error (reported). */
static int stage_job(struct db *db, const char *store_dir, const struct eval_job *job,
		     unsigned line, struct eval_import_result *res)
{
	sqlite3_stmt *st = db_stmt(db, SQL_STAGE_FIND);
	int64_t drv_id = -1, *ids = NULL;
	char why[256], show[SHOWN_MAX];
	int r, rc = -1;

	if (!st)
		return -1;
	db_bind_text(st, 1, job->attr);
	if ((r = db_step(db, st)) < 0)
		return -1;
	if (r) {
		res->duplicates++;
		problem_add(&res->problems, line, 0, "duplicate job '%s' (first on line %lld), skipped",
			    shown(show, sizeof(show), job->attr, strlen(job->attr)),
			    (long long)sqlite3_column_int64(st, 0));
		sqlite3_reset(st);
		return 1;
	}
	if (job->error) {
		if (stage_row(db, job, "", -1, -1, line))
			return -1;
		res->jobs++;
		res->eval_errors++;
		return 0;
	}
	ids = xcalloc(job->noutputs, sizeof(*ids));
	if ((r = path_intern(db, store_dir, job->drv_path, &drv_id, why, sizeof(why))) != 0)
		goto refused;
	for (size_t i = 0; i < job->noutputs; i++) {
		ids[i] = -1;
		if (job->outputs[i].path &&
		    (r = path_intern(db, store_dir, job->outputs[i].path, &ids[i], why, sizeof(why))))
			goto refused;
	}
	for (size_t i = 0; i < job->noutputs; i++)
		if (stage_row(db, job, job->outputs[i].name, ids[i], drv_id, line))
			goto out;
	res->jobs++;
	res->outputs += (unsigned)job->noutputs;
	rc = 0;
	goto out;
refused:
	if (r > 0) {
		res->bad_lines++;
		problem_add(&res->problems, line, 0, "%s, skipped", why);
		rc = 1;
	}
out:
	free(ids);
	return rc;
}

struct found_eval {
	int64_t id, time, imported_at;
	char source[256];
};

/* 1 and *f when the query finds an evaluation, 0 when not, -1 (reported). */
static int find_eval(struct db *db, const char *sql, const struct eval_meta *m,
		     struct found_eval *f)
{
	sqlite3_stmt *st = db_stmt(db, sql);
	int r;

	if (!st)
		return -1;
	db_bind_text(st, 1, m->branch);
	db_bind_text(st, 2, m->rev);
	db_bind_text(st, 3, m->capabilities);
	db_bind_text(st, 4, m->system);
	if (sql == SQL_EVAL_EXACT)
		db_bind_int(st, 5, m->time);
	if ((r = db_step(db, st)) <= 0)
		return r;
	f->id = sqlite3_column_int64(st, 0);
	f->time = sqlite3_column_int64(st, 1);
	f->imported_at = sqlite3_column_int64(st, 2);
	snprintf(f->source, sizeof(f->source), "%s", db_col_text(st, 3));
	sqlite3_reset(st);
	return 1;
}

/* Count staged rows not in evaluation id and the other way round. */
static int diff_eval(struct db *db, int64_t id, int64_t *extra, int64_t *missing)
{
	sqlite3_stmt *st = db_stmt(db, SQL_EVAL_DIFF);
	int r;

	if (!st)
		return -1;
	db_bind_int(st, 1, id);
	if ((r = db_step(db, st)) <= 0)
		return -1;
	*extra = sqlite3_column_int64(st, 0);
	*missing = sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	return 0;
}

static int is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_space(s[i]))
			return 0;
	return 1;
}

/* Read and stage every line of in.  0, or -1 (reported). */
static int stage_input(struct db *db, FILE *in, const char *store_dir,
		       const struct eval_meta *m, struct eval_import_result *res)
{
	struct line_reader lr;
	struct eval_job job;
	struct evals_error e;
	const char *line;
	size_t n;
	int r, rc = -1;

	line_reader_init(&lr, in, EVALS_MAX_LINE);
	for (;;) {
		r = line_reader_next(&lr, &line, &n);
		if (r == LR_EOF)
			break;
		if (r == LR_ERROR) {
			snprintf(res->failure, sizeof(res->failure), "cannot read '%s': %s",
				 m->source, strerror(errno));
			goto out;
		}
		if (r == LR_TOO_LONG) {
			res->lines++;
			res->bad_lines++;
			problem_add(&res->problems, lr.lineno, 0,
				    "line longer than %d bytes, skipped", EVALS_MAX_LINE);
			continue;
		}
		if (lr.lineno == 1 && n >= 3 && !memcmp(line, "\xef\xbb\xbf", 3)) {
			line += 3;
			n -= 3;
		}
		if (is_blank(line, n))
			continue;
		res->lines++;
		if (eval_job_parse(line, n, store_dir, &job, &e)) {
			res->bad_lines++;
			problem_add(&res->problems, lr.lineno, 0, "%s, skipped", e.msg);
			continue;
		}
		r = stage_job(db, store_dir, &job, lr.lineno, res);
		eval_job_release(&job);
		if (r < 0)
			goto out;
	}
	rc = 0;
out:
	line_reader_release(&lr);
	return rc;
}

int evals_import(struct db *db, FILE *in, const struct eval_meta *m,
		 struct eval_import_result *res)
{
	struct found_eval f;
	char *store_dir = NULL;
	sqlite3_stmt *st;
	int64_t extra = 0, missing = 0;
	int r, rc = -1, in_tx = 0;

	memset(res, 0, sizeof(*res));
	if (db_exec(db, SQL_STAGE_CREATE) || !(store_dir = load_store_dir(db)))
		return -1;
	if (db_begin(db))
		goto out;
	in_tx = 1;
	if (!(st = db_stmt(db, SQL_STAGE_CLEAR)) || db_run(db, st))
		goto out;
	if (stage_input(db, in, store_dir, m, res))
		goto out;
	if (!res->jobs) {
		snprintf(res->failure, sizeof(res->failure), "'%s': no jobs (%u lines, %u "
			 "malformed); is it nix-eval-jobs output?  nothing imported", m->source,
			 res->lines, res->bad_lines);
		goto out;
	}
	if (m->strict && (res->bad_lines || res->duplicates)) {
		snprintf(res->failure, sizeof(res->failure), "'%s': %u malformed and %u "
			 "duplicate lines; nothing imported (--strict)", m->source,
			 res->bad_lines, res->duplicates);
		goto out;
	}

	/* Already there? */
	if ((r = find_eval(db, SQL_EVAL_EXACT, m, &f)) < 0)
		goto out;
	if (r || !m->time_given) {
		if (!r && (r = find_eval(db, SQL_EVAL_NEWEST, m, &f)) < 0)
			goto out;
		if (r && diff_eval(db, f.id, &extra, &missing))
			goto out;
		if (r && !extra && !missing) {
			res->already = 1;
			res->evaluation_id = f.id;
			res->existing_time = f.time;
			res->imported_at = f.imported_at;
			rc = 0;
			goto out;   /* rolls back: nothing changes */
		}
		if (r && f.time == m->time) {
			char t[32];
			snprintf(res->failure, sizeof(res->failure), "'%s': evaluation %lld (%s, "
				 "imported from '%.200s') has the same branch, rev, capabilities, "
				 "system and time but other jobs (%lld rows only here, %lld only "
				 "there); evaluations are immutable: if this is another evaluation, "
				 "give it its own --time; nothing imported", m->source, (long long)f.id,
				 format_time(f.time, t, sizeof(t)), f.source, (long long)extra,
				 (long long)missing);
			goto out;
		}
	}

	if (!(st = db_stmt(db, SQL_EVAL_INS)))
		goto out;
	db_bind_text(st, 1, m->branch);
	db_bind_text(st, 2, m->rev);
	db_bind_text(st, 3, m->capabilities);
	db_bind_text(st, 4, m->system);
	db_bind_int(st, 5, m->time);
	db_bind_text(st, 6, m->jobset);
	db_bind_text(st, 7, m->source);
	db_bind_int(st, 8, clock_now());
	db_bind_int(st, 9, res->bad_lines);
	if (db_run(db, st))
		goto out;
	res->evaluation_id = db_last_id(db);
	if (!(st = db_stmt(db, SQL_JOBS_COPY)))
		goto out;
	db_bind_int(st, 1, res->evaluation_id);
	if (db_run(db, st) || db_commit(db))
		goto out;
	in_tx = 0;
	rc = 0;
out:
	if (in_tx)
		db_rollback(db);
	if ((st = db_stmt(db, SQL_STAGE_CLEAR)))
		db_run(db, st);
	free(store_dir);
	if (rc)
		res->evaluation_id = 0;
	return rc;
}

/* ---- importing builds ----------------------------------------------- */

static const char SQL_BUILD_INS[] =
	"INSERT OR IGNORE INTO builds (drv_id, status, hydra_status, hydra_id, time, job,"
	" name, system, source, imported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

struct builds_ctx {
	struct db *db;
	char *store_dir;
	const char *source;
	int64_t now;
	struct builds_import_result *res;
};

static int on_build(void *vctx, const struct build_record *rec, unsigned line, unsigned item)
{
	struct builds_ctx *c = vctx;
	sqlite3_stmt *st;
	int64_t drv_id;
	char why[256];
	int r;

	if ((r = path_intern(c->db, c->store_dir, rec->drv_path, &drv_id, why, sizeof(why))) < 0)
		return -1;
	if (r > 0) {
		c->res->bad++;
		problem_add(&c->res->problems, line, item, "%s, skipped", why);
		return 0;
	}
	if (!(st = db_stmt(c->db, SQL_BUILD_INS)))
		return -1;
	db_bind_int(st, 1, drv_id);
	db_bind_text(st, 2, rec->status);
	db_bind_int_opt(st, 3, rec->hydra_status);
	db_bind_int_opt(st, 4, rec->hydra_id);
	db_bind_int_opt(st, 5, rec->time);
	db_bind_text(st, 6, rec->job);
	db_bind_text(st, 7, rec->name);
	db_bind_text(st, 8, rec->system);
	db_bind_text(st, 9, c->source);
	db_bind_int(st, 10, c->now);
	if (db_run(c->db, st))
		return -1;
	c->res->records++;
	if (db_changes(c->db))
		c->res->imported++;
	else
		c->res->known++;
	return 0;
}

static void on_bad_build(void *vctx, unsigned line, unsigned item, const char *msg)
{
	struct builds_ctx *c = vctx;

	c->res->bad++;
	problem_add(&c->res->problems, line, item, "%s, skipped", msg);
}

int builds_import(struct db *db, const char *buf, size_t len, const char *source,
		  struct builds_import_result *res)
{
	struct builds_ctx c = {db, NULL, source, clock_now(), res};
	struct evals_error e;
	int rc = -1, in_tx = 0;

	memset(res, 0, sizeof(*res));
	if (!(c.store_dir = load_store_dir(db)))
		return -1;
	if (db_begin(db))
		goto out;
	in_tx = 1;
	if (builds_parse(buf, len, c.store_dir, on_build, on_bad_build, &c, &e)) {
		if (e.msg[0])
			snprintf(res->failure, sizeof(res->failure), "'%s': %s; nothing imported",
				 source, e.msg);
		goto out;
	}
	if (!res->records && res->bad) {
		snprintf(res->failure, sizeof(res->failure), "'%s': none of its %u records "
			 "could be used; nothing imported", source, res->bad);
		goto out;
	}
	if (db_commit(db))
		goto out;
	in_tx = 0;
	rc = 0;
out:
	if (in_tx)
		db_rollback(db);
	free(c.store_dir);
	return rc;
}

/* ---- trusted keys --------------------------------------------------- */

int trusted_key_parse(const char *s, struct trusted_key_arg *out, struct evals_error *err)
{
	struct sig_public_key k;
	char why[SIG_ERR_MAX];

	memset(out, 0, sizeof(*out));
	/* sig.c owns the key format (and asks libcrypto whether it is a key). */
	if (sig_public_parse(s, strlen(s), &k, why, sizeof(why)))
		return fail(err, "%s (want NAME:BASE64, the 32-byte key in 44 characters of "
			    "base64, as 'nix key convert-secret-to-public' prints it)", why);
	snprintf(out->name, sizeof(out->name), "%s", k.name);
	base64_encode(k.key, SIG_KEY_BYTES, out->key_b64);
	sig_public_release(&k);
	return 0;
}

static const char SQL_KEY_GET[] =
	"SELECT public_key, added_at, revoked_at FROM trusted_keys WHERE name = ?1";
static const char SQL_KEY_INS[] =
	"INSERT INTO trusted_keys (name, public_key, added_at) VALUES (?1, ?2, ?3)";
static const char SQL_KEY_REVOKE[] =
	"UPDATE trusted_keys SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL";

int keys_add(struct db *db, const struct trusted_key_arg *k, int64_t now)
{
	sqlite3_stmt *st;
	char t[32];
	int r, rc = -1;

	if (db_begin(db))
		return -1;
	if (!(st = db_stmt(db, SQL_KEY_GET)))
		goto out;
	db_bind_text(st, 1, k->name);
	if ((r = db_step(db, st)) < 0)
		goto out;
	if (r) {
		int same = !strcmp(db_col_text(st, 0), k->key_b64);
		int revoked = sqlite3_column_type(st, 2) != SQLITE_NULL;
		int64_t when = sqlite3_column_int64(st, 2);
		sqlite3_reset(st);
		if (revoked) {
			error("key '%s' was revoked at %s and stays revoked (Nix cannot date "
			      "signatures); give a new key a new name", k->name,
			      format_time(when, t, sizeof(t)));
			goto out;
		}
		if (!same) {
			error("a key named '%s' is already trusted with another public key; "
			      "revoke it ('cachegc keys revoke %s') and add the new key under a "
			      "new name", k->name, k->name);
			goto out;
		}
		rc = 1;
		goto out;
	}
	if (!(st = db_stmt(db, SQL_KEY_INS)))
		goto out;
	db_bind_text(st, 1, k->name);
	db_bind_text(st, 2, k->key_b64);
	db_bind_int(st, 3, now);
	if (db_run(db, st) || db_commit(db))
		goto out;
	return 0;
out:
	db_rollback(db);
	return rc;
}

int keys_revoke(struct db *db, const char *name, int64_t at, int64_t *when)
{
	sqlite3_stmt *st;
	int r, rc = -1;
	char show[SHOWN_MAX];

	if (db_begin(db))
		return -1;
	if (!(st = db_stmt(db, SQL_KEY_GET)))
		goto out;
	db_bind_text(st, 1, name);
	if ((r = db_step(db, st)) < 0)
		goto out;
	if (!r) {
		error("no trusted key named '%s'; see 'cachegc keys list'",
		      shown(show, sizeof(show), name, strlen(name)));
		goto out;
	}
	if (sqlite3_column_type(st, 2) != SQLITE_NULL) {
		*when = sqlite3_column_int64(st, 2);
		sqlite3_reset(st);
		rc = 1;
		goto out;
	}
	sqlite3_reset(st);
	if (!(st = db_stmt(db, SQL_KEY_REVOKE)))
		goto out;
	db_bind_text(st, 1, name);
	db_bind_int(st, 2, at);
	if (db_run(db, st) || db_commit(db))
		goto out;
	*when = at;
	return 0;
out:
	db_rollback(db);
	return rc;
}
