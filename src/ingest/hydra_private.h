/*
 * hydra_private.h - what ingest/hydra.c (requests, order) and
 * ingest/hydra_record.c (the rows one evaluation or build becomes) share.
 * Private to those two files.
 */
#ifndef CACHEGC_HYDRA_PRIVATE_H
#define CACHEGC_HYDRA_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "ingest/fetch.h"
#include "ingest/hydra.h"
#include "nix/hydra_api.h"

struct db;
struct sql_arg;
struct stmt_table;

/* A new Hydra evaluation of a jobset, from fetch to record. */
struct pend {
	const struct hydra_eval *e;
	int state;             /* 0 waiting, 1 complete, 2 failed */
	int fallback;          /* asking /build/ID per listed id */
	size_t outstanding;    /* of those */
	struct hydra_builds builds;
	char error[1024];
};

struct run {
	struct db *db;
	struct fetcher *f;
	const struct hydra_import_options *o;
	struct hydra_import_result *res;
	char *store_dir;
	int64_t hydra_id, now;

	/* The phase's single answer (jobset, page). */
	int got;
	enum fetch_status status;
	long http_code;
	char *body;
	size_t len;
	char error[1024];

	/* Evaluation phase of one jobset. */
	const struct hydra_jobset_arg *js;
	struct hydra_jobset_result *jr;
	const struct hydra_jobset *jsinfo;
	int64_t jobset_id;
	struct pend *pend;
	size_t npend, next_rec;
	int db_failed;

	/* Refresh phase. */
	struct hydra_builds refreshed;
};

/* What hydra_record_build did: B_* or -1 (DB error, reported), -2 (a path
 * clash, in why). */
enum { B_KNOWN, B_NEW, B_UPDATED };
int hydra_record_build(struct run *r, const struct hydra_build *b, const char *source,
		       char *why, size_t whysz);
/* Record evaluation p in one transaction.  0, 1 when its data is at
 * fault (p->error), -1 on a DB error (reported). */
int hydra_record_eval(struct run *r, struct pend *p);
/* The integer of one row's first column (0 for none or NULL), -1 on a DB
 * error (reported). */
int64_t hydra_one_id(struct db *db, struct stmt_table *t, unsigned q,
		     const struct sql_arg *args, unsigned n);

#endif
