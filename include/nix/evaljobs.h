/*
 * evaljobs.h - what CI evaluated and built, as text: nix-eval-jobs output
 * lines, build outcomes (Hydra's build JSON or JSON lines) and the labels
 * an evaluation is filed under.
 *
 * Layer: nix.  Pure parsers over a (pointer, length) buffer: no I/O, no
 * globals, safe on any bytes.  They fill structs whose strings they own
 * (free with the matching _release) or say why not in a struct
 * parse_error.  Their import into the DB is ingest/evals.h's.
 */
#ifndef CACHEGC_NIX_EVALJOBS_H
#define CACHEGC_NIX_EVALJOBS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/parse_error.h"

/* A line (an eval job, a build record) longer than this is refused. */
#define EVALS_MAX_LINE (1024 * 1024)
/* A build-results document is read whole; larger ones are refused. */
#define BUILDS_MAX_INPUT (256u * 1024 * 1024)

/* ---- nix-eval-jobs lines ------------------------------------------ */

struct eval_output {
	char *name;            /* "out", "lib", ... */
	char *path;            /* full store path, or NULL when nix-eval-jobs
	                          could not know it (floating CA derivations) */
};

struct eval_job {
	char *attr;            /* "python3Packages.torch" (required): the names
	                          of "attrPath" joined by '.', none quoted, so
	                          nix-eval-jobs' "\"dotted.attr\"" is
	                          "dotted.attr" */
	char *error;           /* non-NULL: the attr failed to evaluate; then
	                          drv_path and outputs are empty, except for an
	                          aggregate whose constituents failed (its line
	                          has "error", "drvPath" and "outputs") */
	char *name;            /* derivation name, or NULL */
	char *system;          /* the job's system, or NULL */
	char *drv_path;        /* full .drv store path (required without error) */
	struct eval_output *outputs;  /* sorted by name; >= 1 without error */
	size_t noutputs;
	const char *cache_status; /* static "local"|"cached"|"notBuilt", or NULL
	                          (from cacheStatus, or the legacy isCached) */
	int64_t needed_builds;      /* length of neededBuilds, -1 when absent */
	int64_t needed_substitutes; /* length of neededSubstitutes, -1 when absent */
};

/*
 * Parse one nix-eval-jobs output line (a JSON object) into *job.  Store
 * paths must lie directly in store_dir ("/nix/store").  Unknown keys (meta,
 * inputDrvs, constituents, ...) are ignored; keys given twice are refused.
 * Returns 0, or -1 with *err filled and *job released.
 */
int eval_job_parse(const char *buf, size_t len, const char *store_dir,
		   struct eval_job *job, struct parse_error *err);
void eval_job_release(struct eval_job *job);

/*
 * The line of a Nix error message s[0..len) that says what went wrong,
 * for a one-line summary: Nix prints "error:" alone on the first line when
 * a trace ("… while evaluating ...") follows, and the message after the
 * trace, as "error: MESSAGE".  So: the text after the first "error:" that
 * has text after it (leading spaces skipped), else the first non-blank
 * line (nix-eval-jobs' own messages: "job: does not exist").  Returns its
 * length (0 when s is blank) and its offset in *start; spaces around it
 * are left out.  ANSI colour codes are the caller's to strip first.
 */
size_t eval_error_summary(const char *s, size_t len, size_t *start);

/* ---- build outcomes ------------------------------------------------ */

/*
 * Build statuses, as stored in builds.status: "succeeded", "failed",
 * "dependency-failed", "aborted", "cancelled", "failed-with-output",
 * "timed-out", "cached-failure", "unsupported", "log-limit-exceeded",
 * "output-limit-exceeded", "non-deterministic", "queued".
 */
/* The canonical (static) name for s[0..len), or NULL when unknown. */
const char *build_status_name(const char *s, size_t len);
/* The status for a Hydra buildstatus code, or NULL for an unknown code. */
const char *build_status_from_hydra(int64_t code);
/* The status names, NULL-terminated, for messages and the schema check. */
extern const char *const build_statuses[];

struct build_record {
	char *drv_path;        /* full .drv store path (required) */
	const char *status;    /* one of build_statuses (static) */
	int hydra_status;      /* Hydra's buildstatus, -1 when not from Hydra
	                          or when queued */
	int64_t hydra_id;      /* Hydra's build id, -1 when absent */
	int64_t time;          /* when it finished (or was queued), -1 when
	                          the record has no time */
	char *job;             /* Hydra job or attr name, or NULL */
	char *name;            /* derivation name (nixname), or NULL */
	char *system;          /* or NULL */
};
void build_record_release(struct build_record *rec);

/* Called by builds_parse for each record.  line is the 1-based line the
 * record starts on; item is its 1-based index in a top-level array (0
 * when the document is not an array).  Return 0 to go on, -1 to stop
 * (builds_parse then returns -1 without reporting anything itself). */
typedef int (*build_record_fn)(void *ctx, const struct build_record *rec,
			       unsigned line, unsigned item);
/* Called for each record that cannot be used; parsing goes on. */
typedef void (*build_bad_fn)(void *ctx, unsigned line, unsigned item, const char *msg);

/*
 * Parse a build-results document: one Hydra build object, an array of
 * them (Hydra's eval builds list), or JSON lines / concatenated objects,
 * in any of three shapes: Hydra's {"drvpath", "buildstatus", "finished",
 * "stoptime", "timestamp", "job", "nixname", "system", "id", ...}; what
 * Hydra's RunCommand plugin writes to $HYDRA_JSON after a build
 * {"event", "build", "finished", "timestamp", "stopTime", "buildStatus",
 * "drvPath", "job", "nixName", "system", "outputs": [...], ...}; or
 * {"drvPath", "status", "time" (epoch seconds or a date), "attr"|"job",
 * "name", "system"}.  A JSON-lines line that is not JSON is reported to
 * bad() and skipped; so is a record with an unknown status or a missing
 * field.  An array that is not valid JSON cannot be split and fails whole.
 * Returns 0, or -1: *err filled when the document is unusable, or fn
 * asked to stop.
 */
int builds_parse(const char *buf, size_t len, const char *store_dir,
		 build_record_fn fn, build_bad_fn bad, void *ctx,
		 struct parse_error *err);

/*
 * One Hydra build object (Hydra's Build JSON, already parsed by jansson:
 * a json_t) into *rec, exactly as builds_parse reads it.  For import-hydra,
 * which parses Hydra's API responses whole (nix/hydra_api.h).  0, or -1
 * with *err filled and *rec released.
 */
struct json_t;
int build_record_from_hydra(struct json_t *o, const char *store_dir,
			    struct build_record *rec, struct parse_error *err);

/* Check text metadata (branch, rev, system, jobset): non-empty, printable,
 * bounded.  what names the field for the message.  0 or -1 with *err. */
int evals_check_label(const char *what, const char *s, int allow_space,
		      struct parse_error *err);

#endif
