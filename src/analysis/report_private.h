/*
 * report_private.h - what report.c (the loading, with its statement
 * table) and report_history.c (the computing) share.
 */
#ifndef CACHEGC_REPORT_PRIVATE_H
#define CACHEGC_REPORT_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/graph.h"
#include "analysis/report.h"
#include "store/rejected.h"

/* One presence episode. */
struct rep_episode {
	uint32_t path;
	int64_t first;         /* first_seen */
	int64_t gone;          /* gone_at, -1 while open */
};

struct rctx {
	struct graph g;
	struct rep_episode *eps;
	size_t neps;
	uint32_t *by_id;       /* evaluation indices sorted by id */
	size_t *job0;          /* per evaluation index: its first job; nevals + 1 */
	size_t njobs;
	size_t *poff, *pend;   /* per job: its output paths paths[poff .. pend) */
	uint32_t *paths;       /* output path ids, 0 when none */
	size_t npaths;
	struct rejected_series rej; /* refused narinfos' bytes per crawl */
};

int rctx_cmp_id(const void *a, const void *b, void *r);
int rctx_cmp_day(const void *a, const void *b);
/* The index into r->evals of evaluation id, or UINT32_MAX. */
uint32_t rctx_eval_index(const struct report *r, const struct rctx *c, int64_t id);
/* Stored bytes per crawl, staleness, half-lives. */
void rctx_history(struct report *r, struct rctx *c);
/* Largest closures and most depended-on paths of r->now's outputs. */
void rctx_closures(struct report *r, struct rctx *c);
/* The policies' match with the recorded evictions.  0 or -1. */
int report_policies(struct report *r, struct db *db, const struct report_opts *o);
void rctx_release(struct rctx *c);

#endif
