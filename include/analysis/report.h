/*
 * report.h - the figures of `cachegc report`, computed from the database
 * at each complete crawl of one cache between `from` and `to`:
 *
 *   coverage now     coverage_run() as of `to` (what `coverage` prints)
 *   coverage/time    per group (branch, capability set, system), at every
 *                    crawl: coverage_run() as of the crawl, its column of
 *                    the group (jobs, jobs cached)
 *   stored/time      per crawl: paths present as of it and their stored
 *                    bytes (FileSize, NarSize where none); per UTC day:
 *                    paths pushed (by push time, else first seen) and
 *                    found gone (by the crawl that found them gone)
 *   staleness        per group and crawl: the age of the group's newest
 *                    evaluation (as of the crawl) that is served, i.e.
 *                    has at least REPORT_SERVED_SHARE of its jobs whole
 *   half-life        per evaluation: days from its time until the first
 *                    crawl that sees it below REPORT_SERVED_SHARE after one
 *                    that saw it at or above (or still above / never)
 *   which GC         per policy: gc_simulate()'s anchored comparison with
 *                    the recorded evictions (what `simulate` prints)
 *   closures         the largest closures of the current outputs, and the
 *                    paths the most current outputs depend on
 *
 * "Whole" for staleness and half-life: the job's every output and its
 * closure present as of the crawl (signatures are not asked; coverage's
 * "cached" also wants them trusted).  Reads the DB only (coverage_run may
 * record signature verdicts).  Knows nothing of argv or files:
 * cmd_report.c writes the page.
 */
#ifndef CACHEGC_REPORT_H
#define CACHEGC_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/coverage.h"
#include "analysis/gc.h"

struct db;

/* An evaluation is served while this share of its jobs is whole. */
#define REPORT_SERVED_SHARE 0.9
/* Rows of the closure tables. */
#define REPORT_TOP 10

struct report_opts {
	int64_t cache_id;
	int64_t from, to;       /* crawls with from <= time <= to; `to` is also
	                           the moment of "coverage now" */
	uint64_t limit;         /* bytes, 0: none (shown, never enforced) */
};

struct report_group {
	char *branch, *capabilities, *system;
};

struct report_crawl {
	int64_t time;           /* crawls.started_at: the clock of the crawl */
	uint64_t stored_paths, stored_bytes;  /* stored_bytes includes: */
	uint64_t rejected_bytes;  /* refused narinfos' files (store/rejected.h) */
};

/* One group at one crawl. */
struct report_cell {
	int64_t evaluation_id;  /* its latest evaluation then; 0: none yet */
	size_t jobs, jobs_cached;      /* coverage_run's column */
	int64_t served_eval;    /* newest evaluation served then; 0: none */
	int64_t stale;          /* crawl time - that evaluation's time; -1: none */
};

struct report_day {
	int64_t day;            /* epoch of its 00:00 UTC */
	uint64_t pushed_paths, pushed_bytes, evicted_paths, evicted_bytes;
};

struct report_eval {
	int64_t id;
	uint32_t group;
	char *rev;
	int64_t time;
	size_t jobs;
	size_t whole_last;      /* jobs whole at the last crawl (0 when no crawl
	                           after it) */
	int64_t reached;        /* first crawl at or above the share; -1: never */
	int64_t below;          /* first crawl below it after reached; -1: none */
	double half_life;       /* days (below - time); < 0 when below is -1 */
};

struct report_policy {
	enum gc_policy policy;
	int64_t retention;      /* seconds (attic, niks3) */
	size_t intervals;
	uint64_t predicted, recorded, matched;
};

struct report_top {
	uint32_t path;
	const char *attr;       /* a current job naming it (into coverage rows) */
	const char *output;
	uint64_t bytes;         /* largest: closure NAR bytes; depended: stored size */
	uint64_t paths;         /* largest: closure paths; depended: outputs */
	int present;            /* as of `to` */
};

struct report {
	int64_t from, to;       /* as asked; from INT64_MIN: from the first crawl */
	struct coverage now;
	struct report_group *groups;
	size_t ngroups;
	struct report_crawl *crawls;
	size_t ncrawls;
	struct report_cell *cells;     /* cells[crawl * ngroups + group] */
	struct report_day *days;
	size_t ndays;
	struct report_eval *evals;     /* evaluated by `to`, sorted by group, time */
	size_t nevals;
	struct report_policy policies[GC_NPOLICIES];
	size_t npolicies;              /* 0: fewer than two crawls, or no pushes */
	struct report_top largest[REPORT_TOP], depended[REPORT_TOP];
	size_t nlargest, ndepended;
	uint64_t outputs;              /* distinct current output paths */
};

/*
 * Compute the report of cache o->cache_id into *r.  No crawl in the span is
 * not an error (r->ncrawls == 0).  Returns 0 or -1 (reported); release with
 * report_release() in both cases.
 */
int report_run(struct report *r, struct db *db, const struct report_opts *o);
void report_release(struct report *r);

/* The group of coverage column c of r->now (index into r->groups), or
 * (uint32_t)-1. */
uint32_t report_group_of(const struct report *r, const struct cov_column *c);

/* The median half-life of group g's evaluations that have one (days), or
 * -1; *n_half, *n_above, *n_never count its evaluations by outcome. */
double report_median_half_life(const struct report *r, uint32_t g, size_t *n_half,
			       size_t *n_above, size_t *n_never);

#endif
