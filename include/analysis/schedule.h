/*
 * schedule.h - how often each (branch, capability set, system) can be
 * rebuilt so that, under a cache's space limit and GC policy, the newest
 * evaluations of the groups that matter most stay cached whole.
 *
 * The model, in three parts:
 *
 *  1. Measured from the recorded history, per group: evaluations per
 *     week (from their times), the stored bytes of the newest
 *     evaluation's closure, its churn (the mean bytes of the paths an
 *     evaluation needed that no earlier evaluation of any group had:
 *     walking every evaluation in time order; scaled up in proportion
 *     when the cache recorded more pushed bytes over the span: paths
 *     pushed again after an eviction), the bytes it shares with
 *     other groups' newest closures (split by which groups share them),
 *     and how long its outputs survived in the cache (pushed to the
 *     crawl that found them gone).
 *
 *  2. A synthetic future: each group's evaluations at a candidate
 *     interval I over the horizon, each one a few job outputs of fresh
 *     paths holding churn(I) bytes, all referencing the group's stable
 *     part and the shared parts.  Churn grows with the time since the
 *     previous evaluation and saturates at the closure:
 *         churn(I) = closure x (1 - exp(-r I)),
 *     r fitted to the measured churn at the measured interval.  The
 *     world is written to a scratch SQLite DB in $TMPDIR, loaded as a
 *     gc_world and replayed by gc_simulate() in 6-hour steps under the
 *     limit and policy.  A group's predicted share = the mean over the
 *     steps of the fraction of the jobs of its newest `keep` evaluations
 *     whose closures the simulated cache holds whole.
 *
 *  3. The search: intervals on a ladder (never, 14, 7, 3, 2, 1, 0.5,
 *     0.25 days, rung 0..7).  A level t in [0, 1] gives each group the
 *     rung floor(t x weight / max weight x 7), so a heavier group never
 *     gets a longer interval than a lighter one.  Every level at which
 *     some group changes rung is replayed; a level is feasible when the
 *     heaviest groups keep the target share; the highest feasible level
 *     is the answer, so a larger limit (under which every schedule keeps
 *     at least as much) never gives a longer interval.  When no level is
 *     feasible, the answer is the lowest level (the heaviest groups every
 *     14 days) with feasible = 0 and shortfall = how many more bytes of
 *     limit make some level feasible (a bisection on the limit).
 *
 * Reads the DB only (the scratch DB is its own); cmd_schedule.c prints.
 */
#ifndef CACHEGC_SCHEDULE_H
#define CACHEGC_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/gc.h"

struct db;

#define SCHED_NRUNGS 8
/* The ladder in days, rung 0 = never (0). */
extern const double sched_ladder_days[SCHED_NRUNGS];

struct sched_opts {
	int64_t cache_id;
	uint64_t limit;            /* bytes (> 0) */
	enum gc_policy policy;
	const struct gc_weights *weights;  /* NULL: the defaults */
	unsigned keep;             /* newest evaluations that must stay (>= 1) */
	double horizon_days;       /* > 0 */
	double target;             /* share a rebuilt group must reach, (0, 1] */
	int64_t at;                /* the moment: history up to it */
};

/* What one group gets at one interval. */
struct sched_alt {
	int valid;                 /* 0: no such rung */
	double interval_days;      /* 0 = never */
	double share;              /* predicted share of jobs cached whole */
	double push_per_week;      /* bytes */
};

struct sched_group {
	char *branch, *capabilities, *system;
	double weight;             /* weight(branch) x weight(capabilities) */
	/* measured */
	unsigned nevals;
	double evals_per_week;     /* 0 with fewer than two evaluations */
	uint64_t closure_bytes;    /* stored bytes of the newest closure */
	uint64_t churn_bytes;      /* mean new bytes per evaluation (the whole
	                              closure with one evaluation) */
	uint64_t shared_bytes;     /* of the closure, in other groups' too */
	unsigned outputs, gone_outputs;
	double survival_days;      /* mean push-to-gone of the gone ones; < 0
	                              when none went */
	/* recommended */
	int rung;
	struct sched_alt chosen, longer, shorter;
};

struct schedule {
	struct sched_group *groups;
	size_t ngroups;
	int feasible;
	uint64_t shortfall;        /* with !feasible: bytes of limit missing
	                              (0 when the policy has no limit to raise) */
	double level;
	unsigned simulations;      /* replays run */
};

/* Measure and search into *s.  Returns 0 or -1 (reported); release with
 * schedule_release() either way.  No evaluation: 0 with ngroups = 0. */
int schedule_run(struct schedule *s, struct db *db, const struct sched_opts *o);
void schedule_release(struct schedule *s);

/*
 * The model checked against the history: the groups measured from the
 * evaluations up to the split (the midpoint between the first
 * evaluation and the last complete crawl, or o->at), the evaluations
 * that really came after it replayed as the synthetic future, and the
 * predicted share at each later complete crawl compared with the share
 * that crawl recorded (jobs of the newest `keep` evaluations whose
 * output's closure the crawl found whole).
 */
struct sched_val_group {
	size_t group;              /* into v->groups */
	unsigned crawls;           /* crawls after the split it was evaluated by */
	double predicted, recorded; /* means over those crawls */
};

struct sched_validation {
	struct sched_group *groups;    /* measured up to the split */
	size_t ngroups;
	struct sched_val_group *vg;    /* groups with an evaluation by the split */
	size_t nvg;
	int64_t split, end;
	unsigned crawls;               /* complete crawls in (split, end] */
	double mae;                    /* mean over vg of |predicted - recorded| */
};

/* Returns 0 or -1 (reported: e.g. fewer than one complete crawl after
 * the split); release with schedule_validation_release() either way. */
int schedule_validate(struct sched_validation *v, struct db *db, const struct sched_opts *o);
void schedule_validation_release(struct sched_validation *v);

#endif
