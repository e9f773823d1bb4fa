/*
 * hydra_api.c - pure parsers of Hydra's JSON API responses: a jobset, a
 * page of evaluations, builds.  See nix/hydra_api.h for the contracts;
 * the shapes follow hydra-api.yaml and Hydra's serialisation (a jobset's
 * "inputs" by name, an evaluation's "builds" ids and "jobsetevalinputs"
 * by name, a build's "buildoutputs" by output name).
 */
#include "nix/hydra_api.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "nix/nixhash.h"
#include "lib/util.h"
#include "nix/jsonfield.h"

#define HYDRA_MAX_STRING 4096

/* A string member of Hydra's: size-capped, no controls. */
static int get_string(json_t *o, const char *key, char **out, struct parse_error *err)
{
	return json_field_string(o, key, HYDRA_MAX_STRING, JSON_FIELD_NO_CONTROLS, out, err);
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int hydra_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 255 || s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

/* Parse buf as one JSON value; HTML (something that is not Hydra's JSON
 * API: a login page, a proxy's error, Hydra without Accept) is named as
 * such.  NULL with *err filled. */
static json_t *load(const char *buf, size_t len, struct parse_error *err)
{
	json_error_t je;
	json_t *v;
	size_t i = 0;

	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		i = 3;
	while (i < len && is_space(buf[i]))
		i++;
	if (i == len) {
		parse_fail(err, 0, "an empty response, not JSON");
		return NULL;
	}
	if (buf[i] == '<') {
		parse_fail(err, 0, "an HTML page, not JSON: is this a Hydra (its JSON API)?");
		return NULL;
	}
	if (!(v = json_loadb(buf + i, len - i, JSON_REJECT_DUPLICATES, &je)))
		parse_fail(err, 0, "malformed JSON at line %d, column %d: %s", je.line, je.column,
			   je.text);
	return v;
}

/* ---- inputs ------------------------------------------------------------ */

static void input_release(struct hydra_input *in)
{
	free(in->name);
	free(in->type);
	free(in->value);
	free(in->uri);
	free(in->revision);
}

static void inputs_release(struct hydra_input *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		input_release(&v[i]);
	free(v);
}

static int input_cmp(const void *a, const void *b)
{
	return strcmp(((const struct hydra_input *)a)->name, ((const struct hydra_input *)b)->name);
}

/* An object of inputs by name (absent or null: none). */
static int parse_inputs(json_t *o, const char *key, struct hydra_input **out, size_t *n,
			struct parse_error *err)
{
	json_t *ins = json_object_get(o, key), *v;
	const char *name;
	char show[PARSE_SHOWN_MAX];

	*out = NULL;
	*n = 0;
	if (!ins || json_is_null(ins))
		return 0;
	if (!json_is_object(ins))
		return parse_fail(err, 0, "\"%s\" is not an object", key);
	if (json_object_size(ins) > 1000)
		return parse_fail(err, 0, "\"%s\" has more than 1000 inputs", key);
	*out = xcalloc(json_object_size(ins) + 1, sizeof(**out));
	json_object_foreach(ins, name, v) {
		struct hydra_input *in = &(*out)[*n];
		if (!json_is_object(v))
			return parse_fail(err, 0, "input '%s' is not an object",
					  parse_shown(show, sizeof(show), name, strlen(name)));
		if (strlen(name) > 255 || json_field_has_control(name, strlen(name)))
			return parse_fail(err, 0, "an input name is too long or holds control "
					  "characters");
		in->name = xstrdup(name);
		(*n)++;
		if (get_string(v, "type", &in->type, err) < 0 ||
		    get_string(v, "uri", &in->uri, err) < 0 ||
		    get_string(v, "revision", &in->revision, err) < 0)
			return -1;
		/* value: a string for most types, a boolean or list for some. */
		if (json_is_string(json_object_get(v, "value")) &&
		    get_string(v, "value", &in->value, err) < 0)
			return -1;
	}
	qsort(*out, *n, sizeof(**out), input_cmp);
	return 0;
}

const struct hydra_input *hydra_input_find(const struct hydra_input *v, size_t n,
					   const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

char *hydra_input_branch(const struct hydra_input *in)
{
	const char *s = in->value, *b, *e;

	/* A git input's value is "URL [BRANCH [DEEPCLONE]]". */
	if (!s || !in->type || strcmp(in->type, "git"))
		return NULL;
	for (b = s; *b && *b != ' '; b++)
		;
	while (*b == ' ')
		b++;
	for (e = b; *e && *e != ' '; e++)
		;
	return e > b ? xstrndup(b, (size_t)(e - b)) : NULL;
}

/* ---- a jobset ------------------------------------------------------------ */

void hydra_jobset_release(struct hydra_jobset *js)
{
	free(js->nixexprinput);
	inputs_release(js->inputs, js->ninputs);
	memset(js, 0, sizeof(*js));
}

int hydra_jobset_parse(const char *buf, size_t len, struct hydra_jobset *js,
		       struct parse_error *err)
{
	json_t *o;
	int rc = -1;

	memset(js, 0, sizeof(*js));
	if (!(o = load(buf, len, err)))
		return -1;
	if (!json_is_object(o)) {
		parse_fail(err, 0, "not a jobset (want a JSON object)");
		goto out;
	}
	if (!json_object_get(o, "inputs") && !json_object_get(o, "nixexprinput") &&
	    !json_object_get(o, "flake")) {
		parse_fail(err, 0, "not a jobset (no \"inputs\", \"nixexprinput\" or \"flake\")");
		goto out;
	}
	if (get_string(o, "nixexprinput", &js->nixexprinput, err) < 0 ||
	    parse_inputs(o, "inputs", &js->inputs, &js->ninputs, err))
		goto out;
	if (js->nixexprinput && !*js->nixexprinput) {
		free(js->nixexprinput);
		js->nixexprinput = NULL;
	}
	rc = 0;
out:
	json_decref(o);
	if (rc)
		hydra_jobset_release(js);
	return rc;
}

/* ---- a page of evaluations -------------------------------------------------- */

static void eval_release(struct hydra_eval *e)
{
	free(e->builds);
	inputs_release(e->inputs, e->ninputs);
	free(e->flake);
}

void hydra_evals_page_release(struct hydra_evals_page *p)
{
	for (size_t i = 0; i < p->n; i++)
		eval_release(&p->evals[i]);
	free(p->evals);
	free(p->next);
	memset(p, 0, sizeof(*p));
}

static int parse_eval(json_t *o, struct hydra_eval *e, size_t item, struct parse_error *err)
{
	json_t *b, *v;
	size_t i;
	int r;

	if (!json_is_object(o))
		return parse_fail(err, 0, "evaluation %zu of the page is not an object", item);
	if ((r = json_field_int(o, "id", &e->id, err)) < 0)
		return -1;
	if (!r || e->id <= 0)
		return parse_fail(err, 0, "evaluation %zu of the page has no \"id\"", item);
	if ((r = json_field_int(o, "timestamp", &e->timestamp, err)) < 0)
		return -1;
	if (!r || e->timestamp < 0)
		return parse_fail(err, 0, "evaluation %lld has no \"timestamp\"", (long long)e->id);
	/* The build ids (its "builds" relation); absent: /eval/ID/builds
	 * tells. */
	b = json_object_get(o, "builds");
	if (b && !json_is_null(b) && !json_is_array(b))
		return parse_fail(err, 0, "evaluation %lld: \"builds\" is not a list", (long long)e->id);
	if (!b || json_is_null(b))
		b = NULL;
	e->builds = xcalloc((b ? json_array_size(b) : 0) + 1, sizeof(*e->builds));
	json_array_foreach(b, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0)
			return parse_fail(err, 0, "evaluation %lld: build %zu is not a build id",
					  (long long)e->id, i + 1);
		e->builds[e->nbuilds++] = (int64_t)json_integer_value(v);
	}
	if (get_string(o, "flake", &e->flake, err) < 0 ||
	    parse_inputs(o, "jobsetevalinputs", &e->inputs, &e->ninputs, err))
		return -1;
	if (e->flake && !*e->flake) {
		free(e->flake);
		e->flake = NULL;
	}
	return 0;
}

int hydra_evals_page_parse(const char *buf, size_t len, struct hydra_evals_page *p,
			   struct parse_error *err)
{
	json_t *o, *evals, *v;
	size_t i;
	int rc = -1;

	memset(p, 0, sizeof(*p));
	if (!(o = load(buf, len, err)))
		return -1;
	if (!json_is_object(o) || !(evals = json_object_get(o, "evals")) ||
	    !json_is_array(evals)) {
		parse_fail(err, 0, "not a page of evaluations (want an object with an \"evals\" "
			   "list)");
		goto out;
	}
	if (get_string(o, "next", &p->next, err) < 0)
		goto out;
	p->evals = xcalloc(json_array_size(evals) + 1, sizeof(*p->evals));
	json_array_foreach(evals, i, v) {
		p->n++;
		if (parse_eval(v, &p->evals[i], i + 1, err))
			goto out;
	}
	rc = 0;
out:
	json_decref(o);
	if (rc)
		hydra_evals_page_release(p);
	return rc;
}

/* ---- builds ------------------------------------------------------------- */

static void build_release(struct hydra_build *b)
{
	build_record_release(&b->rec);
	free(b->attr);
	for (size_t i = 0; i < b->noutputs; i++) {
		free(b->outputs[i].name);
		free(b->outputs[i].path);
	}
	free(b->outputs);
	memset(b, 0, sizeof(*b));
}

void hydra_builds_release(struct hydra_builds *b)
{
	for (size_t i = 0; i < b->n; i++)
		build_release(&b->v[i]);
	free(b->v);
	memset(b, 0, sizeof(*b));
}

static int output_cmp(const void *a, const void *b)
{
	return strcmp(((const struct eval_output *)a)->name, ((const struct eval_output *)b)->name);
}

static int store_path_ok(const char *p, size_t n, const char *store_dir)
{
	size_t sdl = strlen(store_dir);

	return n > sdl + 1 && !memcmp(p, store_dir, sdl) && p[sdl] == '/' &&
	       store_basename_valid(p + sdl + 1, n - sdl - 1);
}

/* What a build is called in messages: "build 12 (job 'x')". */
static const char *build_named(char *dst, size_t dsz, const struct hydra_build *b)
{
	char show[PARSE_SHOWN_MAX];

	if (b->rec.job)
		snprintf(dst, dsz, "build %lld (job '%s')", (long long)b->rec.hydra_id,
			 parse_shown(show, sizeof(show), b->rec.job, strlen(b->rec.job)));
	else
		snprintf(dst, dsz, "build %lld", (long long)b->rec.hydra_id);
	return dst;
}

static int parse_outputs(json_t *o, const char *store_dir, struct hydra_build *b,
			 struct parse_error *err)
{
	json_t *outs = json_object_get(o, "buildoutputs"), *v, *p;
	const char *key;
	char who[160], show[PARSE_SHOWN_MAX];

	build_named(who, sizeof(who), b);
	if (!outs || !json_is_object(outs) || !json_object_size(outs))
		return parse_fail(err, 0, "%s has no \"buildoutputs\"", who);
	if (json_object_size(outs) > 64)
		return parse_fail(err, 0, "%s has more than 64 outputs", who);
	b->outputs = xcalloc(json_object_size(outs), sizeof(*b->outputs));
	json_object_foreach(outs, key, v) {
		struct eval_output *out = &b->outputs[b->noutputs];
		if (!store_name_valid(key, strlen(key)))
			return parse_fail(err, 0, "%s: output name '%s' is not valid", who,
					  parse_shown(show, sizeof(show), key, strlen(key)));
		if (!json_is_object(v))
			return parse_fail(err, 0, "%s: output '%s' is not an object", who, key);
		p = json_object_get(v, "path");
		if (p && !json_is_null(p)) {
			if (!json_is_string(p) ||
			    !store_path_ok(json_string_value(p), json_string_length(p), store_dir))
				return parse_fail(err, 0, "%s: output '%s' is not a store path in %s",
						  who, key, store_dir);
			out->path = xstrndup(json_string_value(p), json_string_length(p));
		}
		out->name = xstrdup(key);
		b->noutputs++;
	}
	qsort(b->outputs, b->noutputs, sizeof(*b->outputs), output_cmp);
	return 0;
}

static int parse_build(json_t *o, const char *store_dir, struct hydra_build *b, size_t item,
		       struct parse_error *err)
{
	struct parse_error e;
	char who[160];
	size_t jl, sl;

	memset(b, 0, sizeof(*b));
	if (!json_is_object(o))
		return parse_fail(err, 0, "build %zu of the list is not an object", item);
	if (build_record_from_hydra(o, store_dir, &b->rec, &e)) {
		json_t *id = json_object_get(o, "id");
		if (json_is_integer(id))
			return parse_fail(err, 0, "build %lld: %s", (long long)json_integer_value(id),
					  e.msg);
		return parse_fail(err, 0, "build %zu of the list: %s", item, e.msg);
	}
	if (b->rec.hydra_id <= 0)
		return parse_fail(err, 0, "build %zu of the list has no \"id\"", item);
	build_named(who, sizeof(who), b);
	if (!b->rec.job || !*b->rec.job)
		return parse_fail(err, 0, "%s has no \"job\"", who);
	b->finished = strcmp(b->rec.status, "queued") != 0;
	/* nixpkgs' release jobsets name jobs ATTR.SYSTEM. */
	jl = strlen(b->rec.job);
	sl = b->rec.system ? strlen(b->rec.system) : 0;
	if (sl && jl > sl + 1 && b->rec.job[jl - sl - 1] == '.' &&
	    !strcmp(b->rec.job + jl - sl, b->rec.system))
		b->attr = xstrndup(b->rec.job, jl - sl - 1);
	else
		b->attr = xstrdup(b->rec.job);
	return parse_outputs(o, store_dir, b, err);
}

int hydra_builds_parse(const char *buf, size_t len, const char *store_dir,
		       struct hydra_builds *out, struct parse_error *err)
{
	struct hydra_builds got = {0};
	json_t *o, *v;
	size_t i, n;
	int rc = -1;

	if (!(o = load(buf, len, err)))
		return -1;
	if (json_is_object(o) && !json_object_get(o, "drvpath") && !json_object_get(o, "id") &&
	    json_object_size(o)) {
		/* Builds by id ({"123": {...}, ...}), as hydra-api.yaml's
		 * JobsetEvalBuilds schema reads: a list of them. */
		json_t *list = json_array(), *v2;
		const char *k;
		json_object_foreach(o, k, v2)
			json_array_append(list, v2);
		json_decref(o);
		o = list;
	}
	if (json_is_object(o)) {
		n = 1;
	} else if (json_is_array(o)) {
		n = json_array_size(o);
	} else {
		parse_fail(err, 0, "not a build or a list of builds");
		goto out;
	}
	got.v = xcalloc(n + 1, sizeof(*got.v));
	for (i = 0; i < n; i++) {
		v = json_is_array(o) ? json_array_get(o, i) : o;
		if (parse_build(v, store_dir, &got.v[i], i + 1, err)) {
			build_release(&got.v[i]);
			goto out;
		}
		got.n++;
	}
	out->v = xrealloc(out->v, (out->n + got.n + 1) * sizeof(*out->v));
	memcpy(out->v + out->n, got.v, got.n * sizeof(*got.v));
	out->n += got.n;
	got.n = 0;
	rc = 0;
out:
	json_decref(o);
	hydra_builds_release(&got);
	return rc;
}
