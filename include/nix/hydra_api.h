/*
 * hydra_api.h - Hydra's JSON API responses, as text: a jobset
 * (/jobset/P/J), a page of its evaluations (/jobset/P/J/evals), an
 * evaluation's builds (/eval/ID/builds) or one build (/build/ID).  The
 * shapes are those of Hydra's hydra-api.yaml and its controllers'
 * serialisation (Jobsets/JobsetEvals/Builds as_json and json hints).
 *
 * Layer: nix.  Pure parsers over a (pointer, length) buffer: no I/O, no
 * globals, safe on any bytes.  A response that is not what the API gives
 * (HTML from something that is no Hydra, JSON of another shape, a build
 * without outputs) is refused whole with the reason in *err: an
 * evaluation is recorded from complete answers only.  The import is
 * ingest/hydra.h's.
 */
#ifndef CACHEGC_NIX_HYDRA_API_H
#define CACHEGC_NIX_HYDRA_API_H

#include <stddef.h>
#include <stdint.h>

#include "lib/parse_error.h"
#include "nix/evaljobs.h"

/* A Hydra project or jobset name we put in a URL: letters, digits, '_',
 * '-' and '.', not starting with '.', at most 255 bytes (Hydra's own
 * names are narrower).  1 when s is one. */
int hydra_name_valid(const char *s);

/* An input of a jobset (/jobset/P/J "inputs") or of an evaluation
 * ("jobsetevalinputs").  Strings are NULL when absent or null. */
struct hydra_input {
	char *name;
	char *type;            /* "git", "boolean", ... */
	char *value;           /* jobset input: "URL [BRANCH]" for git */
	char *uri;             /* evaluation input */
	char *revision;        /* evaluation input: the commit */
};

struct hydra_jobset {
	char *nixexprinput;    /* the input holding the expression, or NULL */
	struct hydra_input *inputs;   /* sorted by name */
	size_t ninputs;
};
int hydra_jobset_parse(const char *buf, size_t len, struct hydra_jobset *js,
		       struct parse_error *err);
void hydra_jobset_release(struct hydra_jobset *js);
/* The branch a git input's value names ("URL BRANCH" -> BRANCH), as a
 * malloc'd string, or NULL when it names none. */
char *hydra_input_branch(const struct hydra_input *in);
/* The input called name, or NULL. */
const struct hydra_input *hydra_input_find(const struct hydra_input *v, size_t n,
					   const char *name);

struct hydra_eval {
	int64_t id;
	int64_t timestamp;     /* when it was evaluated */
	int64_t *builds;       /* its build ids, as listed */
	size_t nbuilds;
	struct hydra_input *inputs;   /* jobsetevalinputs, sorted by name */
	size_t ninputs;
	char *flake;           /* the locked flake reference, or NULL */
};

struct hydra_evals_page {
	struct hydra_eval *evals;     /* as listed: newest first */
	size_t n;
	char *next;            /* "next": "?page=2", or NULL on the last page */
};
int hydra_evals_page_parse(const char *buf, size_t len, struct hydra_evals_page *p,
			   struct parse_error *err);
void hydra_evals_page_release(struct hydra_evals_page *p);

struct hydra_build {
	struct build_record rec;      /* as import-builds records it */
	int finished;
	char *attr;            /* the job name without ".<system>", if it ends so */
	struct eval_output *outputs;  /* buildoutputs, sorted by name, >= 1 */
	size_t noutputs;
};

struct hydra_builds {
	struct hydra_build *v;
	size_t n;
};
/*
 * An evaluation's builds (an array of Build objects) or one build (an
 * object), appended to *out.  Every build must have an id, a drvpath in
 * store_dir, a known status and at least one output; else the whole
 * response is refused (*out unchanged).
 */
int hydra_builds_parse(const char *buf, size_t len, const char *store_dir,
		       struct hydra_builds *out, struct parse_error *err);
void hydra_builds_release(struct hydra_builds *b);

#endif
