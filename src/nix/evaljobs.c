/*
 * evaljobs.c - pure parsers of what CI evaluated and built: nix-eval-jobs
 * output lines, build outcomes (Hydra's build JSON or JSON lines) and the
 * text labels an evaluation is filed under.  Buffers in, structs out; see
 * nix/evaljobs.h for the contracts.
 */
#include "nix/evaljobs.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "nix/nixhash.h"
#include "lib/util.h"
#include "nix/jsonfield.h"

#define JSON_FLAGS (JSON_REJECT_DUPLICATES)

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* ---- JSON field helpers ---------------------------------------------- */

/* Check a full store path "<store_dir>/<hash>-<name>"; want_drv: the name
 * must end in ".drv".  0 or -1 (err, naming key). */
static int check_store_path(const char *p, size_t n, const char *store_dir, int want_drv,
			    const char *key, struct parse_error *err)
{
	size_t sdl = strlen(store_dir);
	char show[PARSE_SHOWN_MAX];

	if (n <= sdl + 1 || memcmp(p, store_dir, sdl) || p[sdl] != '/' ||
	    !store_basename_valid(p + sdl + 1, n - sdl - 1))
		return parse_fail(err, 0, "\"%s\" '%s' is not a store path in %s", key,
			    parse_shown(show, sizeof(show), p, n), store_dir);
	if (want_drv && (n < 4 || memcmp(p + n - 4, ".drv", 4)))
		return parse_fail(err, 0, "\"%s\" '%s' is not a .drv path", key,
			    parse_shown(show, sizeof(show), p, n));
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
			 struct parse_error *err)
{
	const char *key;
	json_t *v;
	char show[PARSE_SHOWN_MAX];

	if (!json_is_object(outs))
		return parse_fail(err, 0, "\"outputs\" is not an object");
	if (json_object_size(outs) == 0)
		return parse_fail(err, 0, "\"outputs\" is empty");
	if (json_object_size(outs) > 64)
		return parse_fail(err, 0, "more than 64 outputs");
	job->outputs = xcalloc(json_object_size(outs), sizeof(*job->outputs));
	json_object_foreach(outs, key, v) {
		struct eval_output *o = &job->outputs[job->noutputs];
		if (!store_name_valid(key, strlen(key)))
			return parse_fail(err, 0, "output name '%s' is not valid",
				    parse_shown(show, sizeof(show), key, strlen(key)));
		if (!json_is_null(v)) {
			if (!json_is_string(v))
				return parse_fail(err, 0, "output \"%s\" is not a string", key);
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

static int count_array(json_t *o, const char *key, int64_t *out, struct parse_error *err)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return parse_fail(err, 0, "\"%s\" is not an array", key);
	*out = (int64_t)json_array_size(v);
	return 0;
}

/*
 * The attr as its names joined by '.', none quoted, into job->attr (which
 * holds nix-eval-jobs' "attr" on entry).  nix-eval-jobs writes a name
 * holding a dot in double quotes ("attr": "\"dotted.attr\"", "attrPath":
 * ["dotted.attr"]), as Nix's attribute-path syntax wants it; --attr globs
 * are matched against the names.  From "attrPath" when the line has it
 * (nix-eval-jobs always prints it), else by reading the quotes of "attr"
 * (left as it is when they do not pair up).  0 or -1 with *err.
 */
static int attr_from_path(json_t *root, struct eval_job *job, struct parse_error *err)
{
	json_t *path = json_object_get(root, "attrPath"), *v;
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	if (path && !json_is_null(path)) {
		if (!json_is_array(path) || !json_array_size(path))
			return parse_fail(err, 0, "\"attrPath\" is not a non-empty array");
		json_array_foreach(path, i, v) {
			if (!json_is_string(v)) {
				strbuf_release(&sb);
				return parse_fail(err, 0, "\"attrPath\" item %zu is not a string",
						  i + 1);
			}
			if (i)
				strbuf_addch(&sb, '.');
			strbuf_add(&sb, json_string_value(v), json_string_length(v));
			if (sb.len > 4096) {
				strbuf_release(&sb);
				return parse_fail(err, 0, "\"attrPath\" is longer than 4096 bytes");
			}
		}
		if (!sb.len) {
			strbuf_release(&sb);
			return parse_fail(err, 0, "\"attrPath\" names nothing");
		}
		if (memchr(sb.buf, '\0', sb.len) || json_field_has_control(sb.buf, sb.len)) {
			strbuf_release(&sb);
			return parse_fail(err, 0, "\"attrPath\" holds control characters");
		}
	} else {
		const char *a = job->attr;
		for (i = 0; a[i]; i++) {
			if (a[i] != '"' || (i && a[i - 1] != '.')) {
				strbuf_addch(&sb, a[i]);
				continue;
			}
			const char *q = strchr(a + i + 1, '"');
			if (!q || (q[1] && q[1] != '.')) {
				strbuf_release(&sb);
				return 0;   /* not nix-eval-jobs' quoting: as it is */
			}
			strbuf_add(&sb, a + i + 1, (size_t)(q - (a + i + 1)));
			i = (size_t)(q - a);
		}
		if (!sb.len) {
			strbuf_release(&sb);
			return 0;
		}
	}
	free(job->attr);
	job->attr = strbuf_detach(&sb);
	return 0;
}

size_t eval_error_summary(const char *s, size_t len, size_t *start)
{
	size_t first = len, first_n = 0;

	for (size_t i = 0; i < len;) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - s) : len, b = i, e = end;

		while (b < e && is_space(s[b]))
			b++;
		while (e > b && is_space(s[e - 1]))
			e--;
		if (e - b >= 6 && !memcmp(s + b, "error:", 6)) {
			size_t m = b + 6;
			while (m < e && is_space(s[m]))
				m++;
			if (m < e) {
				*start = m;
				return e - m;
			}
		}
		if (first == len && b < e) {
			first = b;
			first_n = e - b;
		}
		i = nl ? end + 1 : len;
	}
	*start = first == len ? 0 : first;
	return first_n;
}

static int parse_job(json_t *root, const char *store_dir, struct eval_job *job,
		     struct parse_error *err)
{
	json_t *v;
	char *cs = NULL;
	int r;

	if (!json_is_object(root))
		return parse_fail(err, 0, "not a JSON object");
	if ((r = json_field_string(root, "attr", 4096, 0, &job->attr, err)) < 0)
		return -1;
	if (!r || !*job->attr) {
		char *e = NULL;
		/* What nix-eval-jobs prints when the expression itself fails
		 * (no job could be listed): {"error": "..."} alone. */
		if (!r && json_field_string(root, "error", EVALS_MAX_LINE, 0, &e, err) == 1) {
			size_t off, n = eval_error_summary(e, strlen(e), &off);
			char show[PARSE_SHOWN_MAX];
			parse_fail(err, 0, "an \"error\" with no \"attr\": nix-eval-jobs could not "
				   "evaluate the jobset itself: %s",
				   parse_shown(show, sizeof(show), e + off, n));
			free(e);
			return -1;
		}
		return parse_fail(err, 0, "no \"attr\"; is this nix-eval-jobs output?");
	}
	if (json_field_has_control(job->attr, strlen(job->attr)))
		return parse_fail(err, 0, "\"attr\" holds control characters");
	if (attr_from_path(root, job, err))
		return -1;
	if (json_field_string(root, "error", EVALS_MAX_LINE, 0, &job->error, err) < 0 ||
	    json_field_string(root, "name", 1024, 0, &job->name, err) < 0 ||
	    json_field_string(root, "system", 64, 0, &job->system, err) < 0)
		return -1;
	if ((job->name && json_field_has_control(job->name, strlen(job->name))) ||
	    (job->system && json_field_has_control(job->system, strlen(job->system))))
		return parse_fail(err, 0, "\"name\" or \"system\" holds control characters");

	if (json_field_string(root, "cacheStatus", 32, 0, &cs, err) < 0)
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

	/*
	 * A failed evaluation has no derivation, except an aggregate (a job
	 * with constituents) some of whose constituents failed: nix-eval-jobs
	 * gives it its "error" and keeps its "drvPath" and "outputs" (the
	 * aggregate as evaluated, not rewritten).  Those are kept then.
	 */
	if (job->error && !(json_object_get(root, "drvPath") && json_object_get(root, "outputs")))
		return 0;
	if ((r = json_field_string(root, "drvPath", 4096, 0, &job->drv_path, err)) < 0)
		return -1;
	if (!r)
		return parse_fail(err, 0, "no \"drvPath\" and no \"error\"");
	if (check_store_path(job->drv_path, strlen(job->drv_path), store_dir, 1, "drvPath", err))
		return -1;
	v = json_object_get(root, "outputs");
	if (!v)
		return parse_fail(err, 0, "no \"outputs\" (cachegc needs the output paths: use a "
			    "nix-eval-jobs that prints them)");
	return parse_outputs(v, store_dir, job, err);
}

int eval_job_parse(const char *buf, size_t len, const char *store_dir,
		   struct eval_job *job, struct parse_error *err)
{
	json_error_t je;
	json_t *root;
	int rc;

	memset(job, 0, sizeof(*job));
	job->needed_builds = job->needed_substitutes = -1;
	if (len > EVALS_MAX_LINE)
		return parse_fail(err, 0, "line longer than %d bytes", EVALS_MAX_LINE);
	root = json_loadb(buf, len, JSON_FLAGS, &je);
	if (!root)
		return parse_fail(err, 0, "malformed JSON at column %d: %s", je.column, je.text);
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
			struct build_record *r, struct parse_error *err)
{
	if (json_field_string(o, job_key, 4096, 0, &r->job, err) < 0 ||
	    json_field_string(o, name_key, 1024, 0, &r->name, err) < 0 ||
	    json_field_string(o, "system", 64, 0, &r->system, err) < 0)
		return -1;
	if ((r->job && json_field_has_control(r->job, strlen(r->job))) ||
	    (r->name && json_field_has_control(r->name, strlen(r->name))) ||
	    (r->system && json_field_has_control(r->system, strlen(r->system))))
		return parse_fail(err, 0, "a job, name or system holds control characters");
	return 0;
}

/*
 * The two shapes Hydra writes a build in: its API's Build JSON (column
 * names: "drvpath", "buildstatus", ...; also import-hydra's) and the
 * payload its RunCommand plugin writes to $HYDRA_JSON after each build
 * (Hydra::Plugin::RunCommand::makeJsonPayload: "drvPath", "buildStatus",
 * "stopTime", "nixName", the build id as "build", "finished" a boolean,
 * "outputs" an array of {name, path}, plus "event", "project", "jobset",
 * "startTime", "homepage", "products", "metrics", ... which are ignored).
 * Same meanings, other spellings.
 */
struct hydra_keys {
	const char *what;      /* for messages */
	const char *drvpath, *buildstatus, *stoptime, *id, *nixname;
};
static const struct hydra_keys hydra_api_keys = {
	"Hydra build", "drvpath", "buildstatus", "stoptime", "id", "nixname",
};
static const struct hydra_keys hydra_runcommand_keys = {
	"Hydra RunCommand build", "drvPath", "buildStatus", "stopTime", "build", "nixName",
};

static int hydra_record(json_t *o, const struct hydra_keys *k, const char *store_dir,
			struct build_record *r, struct parse_error *err)
{
	json_t *v;
	int64_t finished = -1, code = -1, stop = -1, queued = -1;
	int r1;

	if ((r1 = json_field_string(o, k->drvpath, 4096, 0, &r->drv_path, err)) < 0)
		return -1;
	if (!r1)
		return parse_fail(err, 0, "%s without \"%s\"", k->what, k->drvpath);
	if (check_store_path(r->drv_path, strlen(r->drv_path), store_dir, 1, k->drvpath, err))
		return -1;
	v = json_object_get(o, "finished");
	if (v && json_is_boolean(v))
		finished = json_is_true(v);
	else if (json_field_int(o, "finished", &finished, err) < 0)
		return -1;
	if (json_field_int(o, k->buildstatus, &code, err) < 0 ||
	    json_field_int(o, k->stoptime, &stop, err) < 0 ||
	    json_field_int(o, "timestamp", &queued, err) < 0 ||
	    json_field_int(o, k->id, &r->hydra_id, err) < 0)
		return -1;
	if (finished < 0) {
		if (code < 0)
			return parse_fail(err, 0, "%s with neither \"finished\" nor \"%s\"", k->what,
					  k->buildstatus);
		finished = 1;
	}
	if (!finished) {
		r->status = "queued";
		r->hydra_status = -1;
		r->time = queued >= 0 ? queued : -1;
	} else {
		if (code < 0)
			return parse_fail(err, 0, "finished %s without \"%s\"", k->what, k->buildstatus);
		if (!(r->status = build_status_from_hydra(code)))
			return parse_fail(err, 0, "unknown Hydra %s %lld", k->buildstatus, (long long)code);
		r->hydra_status = (int)code;
		r->time = stop > 0 ? stop : queued >= 0 ? queued : -1;
	}
	return build_labels(o, "job", k->nixname, r, err);
}

static int line_record(json_t *o, const char *store_dir, struct build_record *r,
		       struct parse_error *err)
{
	char *status = NULL;
	char show[PARSE_SHOWN_MAX];
	json_t *v;
	int r1;

	if ((r1 = json_field_string(o, "drvPath", 4096, 0, &r->drv_path, err)) < 0)
		return -1;
	if (!r1)
		return parse_fail(err, 0, "no \"drvPath\"");
	if (check_store_path(r->drv_path, strlen(r->drv_path), store_dir, 1, "drvPath", err))
		return -1;
	if ((r1 = json_field_string(o, "status", 64, 0, &status, err)) < 0)
		return -1;
	if (!r1)
		return parse_fail(err, 0, "no \"status\"");
	r->status = build_status_name(status, strlen(status));
	if (!r->status) {
		parse_fail(err, 0, "unknown status '%s' (want succeeded, failed, dependency-failed, "
		     "aborted, cancelled, timed-out, queued, ...)",
		     parse_shown(show, sizeof(show), status, strlen(status)));
		free(status);
		return -1;
	}
	free(status);
	r->hydra_status = -1;
	r->time = -1;
	v = json_object_get(o, "time");
	if (v && json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return parse_fail(err, 0, "\"time\" is negative");
		r->time = (int64_t)json_integer_value(v);
	} else if (v && json_is_string(v)) {
		if (parse_time(json_string_value(v), &r->time))
			return parse_fail(err, 0, "\"time\" '%s' is not a time (want epoch seconds or "
				    "2024-05-01T12:00:00Z)",
				    parse_shown(show, sizeof(show), json_string_value(v),
					  json_string_length(v)));
	} else if (v && !json_is_null(v)) {
		return parse_fail(err, 0, "\"time\" is neither whole epoch seconds nor a date string");
	}
	return build_labels(o, json_object_get(o, "attr") ? "attr" : "job", "name", r, err);
}

static int build_record_from_json(json_t *o, const char *store_dir, struct build_record *r,
				  struct parse_error *err)
{
	int rc;

	memset(r, 0, sizeof(*r));
	r->hydra_id = -1;
	r->hydra_status = -1;
	r->time = -1;
	if (!json_is_object(o))
		rc = parse_fail(err, 0, "not a JSON object");
	else if (json_object_get(o, "drvpath") || json_object_get(o, "buildstatus"))
		rc = hydra_record(o, &hydra_api_keys, store_dir, r, err);
	else if (json_object_get(o, "buildStatus") || json_object_get(o, "event") ||
		 (json_object_get(o, "finished") && json_object_get(o, "drvPath")))
		rc = hydra_record(o, &hydra_runcommand_keys, store_dir, r, err);
	else if (json_object_get(o, "finished"))
		rc = hydra_record(o, &hydra_api_keys, store_dir, r, err);
	else if (json_object_get(o, "drvPath"))
		rc = line_record(o, store_dir, r, err);
	else
		rc = parse_fail(err, 0, "neither a Hydra build (\"drvpath\", \"buildstatus\"), a "
			  "Hydra RunCommand build (\"drvPath\", \"buildStatus\") nor a build line "
			  "(\"drvPath\", \"status\")");
	if (rc)
		build_record_release(r);
	return rc;
}

int build_record_from_hydra(struct json_t *o, const char *store_dir,
			    struct build_record *r, struct parse_error *err)
{
	int rc;

	memset(r, 0, sizeof(*r));
	r->hydra_id = -1;
	r->hydra_status = -1;
	r->time = -1;
	rc = json_is_object(o) ? hydra_record(o, &hydra_api_keys, store_dir, r, err)
			       : parse_fail(err, 0, "a build is not a JSON object");
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
	struct parse_error e;
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
		       build_bad_fn bad, void *ctx, struct parse_error *err)
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
				return parse_fail(err, 0, "line %u: malformed JSON array: ',' or ']' expected",
					    d->line);
			doc_advance(d, 1);
			doc_skip_space(d);
		}
		line = d->line;
		start = d->off;
		if (!(v = doc_value(d, d->len - d->off, &je)))
			return parse_fail(err, 0, "line %u, column %d: malformed JSON in item %u of the array "
				    "(from line %u): %s", line + (unsigned)je.line - 1, je.column,
				    item + 1, line, je.text);
		rc = emit(v, store_dir, line, ++item, d->off - start, fn, bad, ctx);
		json_decref(v);
		if (rc)
			return -1;
	}
	doc_skip_space(d);
	if (d->off < d->len)
		return parse_fail(err, 0, "line %u: unexpected text after the array", d->line);
	return 0;
}

int builds_parse(const char *buf, size_t len, const char *store_dir,
		 build_record_fn fn, build_bad_fn bad, void *ctx,
		 struct parse_error *err)
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
				return parse_fail(err, 0, "line %u, column %d: malformed JSON: %s",
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

int evals_check_label(const char *what, const char *s, int allow_space,
		      struct parse_error *err)
{
	size_t n = s ? strlen(s) : 0;

	if (!n)
		return parse_fail(err, 0, "%s is empty", what);
	if (n > 255)
		return parse_fail(err, 0, "%s is longer than 255 characters", what);
	if (json_field_has_control(s, n))
		return parse_fail(err, 0, "%s holds control characters", what);
	if (is_space(s[0]) || is_space(s[n - 1]))
		return parse_fail(err, 0, "%s starts or ends with a space", what);
	if (!allow_space)
		for (size_t i = 0; i < n; i++)
			if (is_space(s[i]))
				return parse_fail(err, 0, "%s holds a space", what);
	return 0;
}

