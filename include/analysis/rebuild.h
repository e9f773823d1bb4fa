/*
 * rebuild.h - what CI should rebuild and push first.  For the latest
 * evaluation of each (branch, capability set, system) as of a moment,
 * every job output that is not cached whole (coverage.h's missing,
 * evicted, partial: the paths of its closure the cache lacks) is a
 * candidate; failed and queued ones are listed apart.  Candidates are
 * ranked by the value their push completes per byte pushed:
 *
 *   score = (value of the job + value of every other candidate whose
 *            missing paths it pushes too) / (1 + GiB it must push)
 *
 * value = weight(branch) x weight(capabilities) x weight(attr), from the
 * weights of simulate and plan (gc.h).  In rank order each item is
 * charged only the bytes no item before it pushed, and a candidate whose
 * missing paths items before it pushed is completed by them (it is not
 * queued; the first item that completes it counts it in `unlocks`).
 * Build times are not in the database (builds record when they finished,
 * not how long they ran), so they do not weigh in.
 *
 * With a limit and a GC policy, the queue is replayed through the GC
 * model as if everything in it were pushed now: an item the model would
 * take again is marked as not surviving and dropped from the queue, and
 * so is the least valuable item left while the GC would take a path of a
 * current job more valuable than it.
 *
 * Reads the DB only; cmd_rebuild.c prints.
 */
#ifndef CACHEGC_REBUILD_H
#define CACHEGC_REBUILD_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/coverage.h"
#include "analysis/gc.h"

struct db;

struct rebuild_opts {
	int64_t cache_id;
	const char *branch;        /* or NULL */
	const char *capabilities;  /* normalized, or NULL */
	int64_t at;
	const struct gc_weights *weights;  /* NULL: the defaults */
	uint64_t limit;            /* 0: no survival model */
	enum gc_policy policy;     /* with limit */
};

struct rebuild_item {
	size_t row;                /* into rebuild.cv.rows */
	unsigned rank;             /* 1..n in queue order; 0: not queued */
	double score, value;
	uint64_t push_bytes;       /* charged: closure bytes the cache lacks and
	                              no item before it pushes */
	uint64_t missing_bytes;    /* all the bytes its closure lacks */
	size_t missing_paths;
	int bytes_estimated;       /* the output was never in the cache: its
	                              size is that of the same output of an
	                              older evaluation (0 when none) */
	unsigned unlocks;          /* other candidates its push completes */
	size_t completed_by;       /* the item (index + 1) that completes it
	                              before its turn; 0 */
	int survives;              /* -1 not modelled, 0 the GC takes it again,
	                              1 it stays */
	const char *dropped;       /* why it left the queue (static), or NULL */
};

struct rebuild {
	struct coverage cv;        /* statuses and names of every row */
	struct rebuild_item *items;    /* queued first (rank order), then the
	                                  completed and the dropped */
	size_t nitems, nqueued;
	size_t *failed;            /* rows that failed or are queued */
	size_t nfailed;
	uint64_t stored_bytes;     /* the cache's stored bytes (with a limit) */
	uint64_t victim_bytes;     /* what the GC model would take after the
	                              queue is pushed (with a limit) */
};

/* Rank the rebuild queue into *rb.  Returns 0 or -1 (reported); release
 * with rebuild_release() either way. */
int rebuild_run(struct rebuild *rb, struct db *db, const struct rebuild_opts *o);
void rebuild_release(struct rebuild *rb);

#endif
