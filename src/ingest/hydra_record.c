/*
 * hydra_record.c - the rows a Hydra evaluation and its builds become, as
 * import-eval and import-builds write them (sql/003_evals.sql), and the
 * bookkeeping of sql/007_hydra.sql.  The requests and their order are
 * ingest/hydra.c's.
 */
#include "hydra_private.h"

#include <stdlib.h>
#include <string.h>

#include "nix/evaljobs.h"
#include "nix/nixhash.h"
#include "store/db.h"
#include "store/stmt.h"
#include "lib/util.h"

/* ---- statements ------------------------------------------------------ */

enum {
	Q_HEVAL_INS,
	Q_HEVAL_EV_INS,
	Q_PATH_INS,
	Q_PATH_GET,
	Q_EVAL_GET,
	Q_EVAL_INS,
	Q_JOB_INS,
	Q_HB_GET,
	Q_HB_INS,
	Q_HB_SET,
	Q_BUILD_INS,
	Q_BUILD_FIND,
	Q_BUILD_UPDATE,
	Q_BUILD_DEL,
	Q_N
};
static const char *const sql[Q_N] = {
	[Q_HEVAL_INS] =
	"INSERT INTO hydra_evals (jobset_id, hydra_eval, timestamp, rev, builds, skipped,"
	" recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[Q_HEVAL_EV_INS] =
	"INSERT OR IGNORE INTO hydra_eval_evaluations (jobset_id, hydra_eval, system,"
	" evaluation_id) VALUES (?1, ?2, ?3, ?4)",
	[Q_PATH_INS] = "INSERT OR IGNORE INTO paths (hash, name) VALUES (?1, ?2)",
	[Q_PATH_GET] = "SELECT id, name FROM paths WHERE hash = ?1",
	[Q_EVAL_GET] =
	"SELECT id FROM evaluations WHERE branch = ?1 AND rev = ?2 AND capabilities = ?3"
	" AND system = ?4 AND time = ?5",
	[Q_EVAL_INS] =
	"INSERT INTO evaluations (branch, rev, capabilities, system, time, jobset, source,"
	" imported_at, bad_lines) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0)",
	[Q_JOB_INS] =
	"INSERT OR IGNORE INTO eval_jobs (evaluation_id, attr, output, path_id, drv_id, name,"
	" system, line) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[Q_HB_GET] =
	"SELECT build_row, finished FROM hydra_builds WHERE hydra_id = ?1 AND hydra_build = ?2",
	[Q_HB_INS] =
	"INSERT INTO hydra_builds (hydra_id, hydra_build, drv_id, build_row, finished,"
	" checked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[Q_HB_SET] =
	"UPDATE hydra_builds SET build_row = ?3, finished = ?4, checked_at = ?5"
	" WHERE hydra_id = ?1 AND hydra_build = ?2",
	[Q_BUILD_INS] =
	"INSERT OR IGNORE INTO builds (drv_id, status, hydra_status, hydra_id, time, job,"
	" name, system, source, imported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[Q_BUILD_FIND] =
	"SELECT id FROM builds WHERE drv_id = ?1 AND status = ?2 AND ifnull(time, -1) = ?3",
	[Q_BUILD_UPDATE] =
	"UPDATE OR IGNORE builds SET status = ?2, hydra_status = ?3, time = ?4, source = ?5,"
	" imported_at = ?6 WHERE id = ?1",
	[Q_BUILD_DEL] = "DELETE FROM builds WHERE id = ?1",
};
static struct stmt_table stmts = STMT_TABLE("hydra-record", sql);

/* ---- DB helpers ------------------------------------------------------- */

/* The paths.id of the full store path p (checked to lie in store_dir),
 * inserting it when new.  0, 1 when the DB knows the hash under another
 * name (why filled), -1 on a DB error (reported). */
static int path_intern(struct run *r, const char *p, int64_t *id, char *why, size_t whysz)
{
	const char *base = p + strlen(r->store_dir) + 1, *name = base + STORE_HASH_LEN + 1;
	sqlite3_stmt *st;
	char a[PARSE_SHOWN_MAX];
	int rc;

	if (stmt_exec(r->db, &stmts, Q_PATH_INS, SQL_ARGS(SQL_TEXTN(base, STORE_HASH_LEN), name)))
		return -1;
	if ((rc = stmt_row(r->db, &stmts, Q_PATH_GET, &st,
			   SQL_ARGS(SQL_TEXTN(base, STORE_HASH_LEN)))) <= 0) {
		if (rc == 0)
			error("database '%s': path '%.32s' vanished", r->db->path, base);
		return -1;
	}
	*id = sqlite3_column_int64(st, 0);
	rc = strcmp(db_col_text(st, 1), name) != 0;
	stmt_done(st);
	if (rc)
		snprintf(why, whysz, "'%s' has the hash of another known path",
			 parse_shown(a, sizeof(a), base, strlen(base)));
	return rc;
}

int64_t hydra_one_id(struct db *db, struct stmt_table *t, unsigned q,
		     const struct sql_arg *args, unsigned n)
{
	sqlite3_stmt *st;
	int64_t id;
	int rc = stmt_row(db, t, q, &st, args, n);

	if (rc <= 0)
		return rc == 0 ? 0 : -1;
	id = sqlite3_column_type(st, 0) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 0);
	stmt_done(st);
	return id;
}

int hydra_record_build(struct run *r, const struct hydra_build *b, const char *source,
		       char *why, size_t whysz)
{
	const struct build_record *rec = &b->rec;
	int64_t drv_id, row, t = rec->time >= 0 ? rec->time : -1;
	sqlite3_stmt *st;
	int rc, finished;

	if ((rc = path_intern(r, rec->drv_path, &drv_id, why, whysz)))
		return rc < 0 ? -1 : -2;
	rc = stmt_row(r->db, &stmts, Q_HB_GET, &st, SQL_ARGS(r->hydra_id, rec->hydra_id));
	if (rc < 0)
		return -1;
	if (rc) {
		row = sqlite3_column_int64(st, 0);
		finished = (int)sqlite3_column_int64(st, 1);
		stmt_done(st);
		if (finished || !b->finished) {
			if (stmt_exec(r->db, &stmts, Q_HB_SET,
				      SQL_ARGS(r->hydra_id, rec->hydra_id, row, finished, r->now)))
				return -1;
			return B_KNOWN;
		}
		/* Queued when last seen, finished now: the queued row becomes
		 * the outcome (or goes, when that outcome is recorded already). */
		if (stmt_exec(r->db, &stmts, Q_BUILD_UPDATE,
			      SQL_ARGS(row, rec->status, SQL_INT_OPT(rec->hydra_status),
				       SQL_INT_OPT(rec->time), source, r->now)))
			return -1;
		if (!db_changes(r->db)) {
			int64_t other = hydra_one_id(r->db, &stmts, Q_BUILD_FIND,
					       SQL_ARGS(drv_id, rec->status, t));
			if (other < 0)
				return -1;
			if (other && stmt_exec(r->db, &stmts, Q_BUILD_DEL, SQL_ARGS(row)))
				return -1;
			if (!other) {
				if (stmt_exec(r->db, &stmts, Q_BUILD_INS,
					      SQL_ARGS(drv_id, rec->status,
						       SQL_INT_OPT(rec->hydra_status),
						       SQL_INT_OPT(rec->hydra_id), SQL_INT_OPT(rec->time),
						       rec->job, rec->name, rec->system, source, r->now)))
					return -1;
				other = db_last_id(r->db);
			}
			row = other;
		}
		if (stmt_exec(r->db, &stmts, Q_HB_SET, SQL_ARGS(r->hydra_id, rec->hydra_id, row, 1,
								 r->now)))
			return -1;
		return B_UPDATED;
	}
	if (stmt_exec(r->db, &stmts, Q_BUILD_INS,
		      SQL_ARGS(drv_id, rec->status, SQL_INT_OPT(rec->hydra_status),
			       SQL_INT_OPT(rec->hydra_id), SQL_INT_OPT(rec->time), rec->job, rec->name,
			       rec->system, source, r->now)))
		return -1;
	if (db_changes(r->db))
		row = db_last_id(r->db);
	else if ((row = hydra_one_id(r->db, &stmts, Q_BUILD_FIND, SQL_ARGS(drv_id, rec->status, t))) <= 0)
		return row < 0 ? -1 : error("database '%s': build outcome vanished", r->db->path);
	if (stmt_exec(r->db, &stmts, Q_HB_INS,
		      SQL_ARGS(r->hydra_id, rec->hydra_id, drv_id, row, b->finished, r->now)))
		return -1;
	return B_NEW;
}

/* ---- recording an evaluation ------------------------------------------ */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

struct listed {
	int64_t id;
	size_t pos;
};

static int cmp_listed(const void *a, const void *b)
{
	return cmp_i64(&((const struct listed *)a)->id, &((const struct listed *)b)->id);
}

static size_t pos_of(const struct listed *l, size_t n, int64_t id)
{
	struct listed key = {id, 0}, *f = bsearch(&key, l, n, sizeof(*l), cmp_listed);

	return f ? f->pos : n;
}

/* A build's place in the listed order, and where it is now. */
struct keyed {
	size_t pos, idx;
};

static int cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;

	return x->pos != y->pos ? (x->pos < y->pos ? -1 : 1) : (x->idx < y->idx ? -1 : x->idx > y->idx);
}

static void order_as_listed(const struct hydra_eval *e, struct hydra_builds *b)
{
	struct listed *l = xcalloc(e->nbuilds + 1, sizeof(*l));
	struct keyed *k = xcalloc(b->n + 1, sizeof(*k));
	struct hydra_build *v = xcalloc(b->n + 1, sizeof(*v));

	for (size_t i = 0; i < e->nbuilds; i++) {
		l[i].id = e->builds[i];
		l[i].pos = i;
	}
	qsort(l, e->nbuilds, sizeof(*l), cmp_listed);
	for (size_t i = 0; i < b->n; i++) {
		k[i].pos = pos_of(l, e->nbuilds, b->v[i].rec.hydra_id);
		k[i].idx = i;
	}
	qsort(k, b->n, sizeof(*k), cmp_keyed);
	for (size_t i = 0; i < b->n; i++)
		v[i] = b->v[k[i].idx];
	free(b->v);
	b->v = v;
	free(k);
	free(l);
}

/* The revision (and branch) an evaluation stands for.  0, or -1 with
 * why. */
static int eval_labels(const struct run *r, const struct hydra_eval *e, const char **rev,
		       char **branch, char *why, size_t whysz)
{
	const struct hydra_jobset_arg *js = r->js;
	const struct hydra_input *in = NULL, *cfg;
	char show[PARSE_SHOWN_MAX];

	if (js->input) {
		if (!(in = hydra_input_find(e->inputs, e->ninputs, js->input))) {
			snprintf(why, whysz, "evaluation %lld has no input '%s' (the map's input=)",
				 (long long)e->id, js->input);
			return -1;
		}
	} else if (!(in = hydra_input_find(e->inputs, e->ninputs, "nixpkgs")) &&
		   !(r->jsinfo->nixexprinput &&
		     (in = hydra_input_find(e->inputs, e->ninputs, r->jsinfo->nixexprinput)) &&
		     in->revision)) {
		in = NULL;
		for (size_t i = 0; i < e->ninputs; i++)
			if (e->inputs[i].revision) {
				if (in) {
					snprintf(why, whysz, "evaluation %lld has several inputs with "
						 "a revision ('%s', '%s', ...) and none is called nixpkgs: "
						 "name one with input=NAME in --map", (long long)e->id,
						 in->name, e->inputs[i].name);
					return -1;
				}
				in = &e->inputs[i];
			}
	}
	if (in && in->revision)
		*rev = in->revision;
	else if (e->flake)
		*rev = e->flake;
	else {
		snprintf(why, whysz, "evaluation %lld: %s%s%s has no revision, and the evaluation "
			 "no flake", (long long)e->id, in ? "input '" : "no input",
			 in ? parse_shown(show, sizeof(show), in->name, strlen(in->name)) : "",
			 in ? "'" : "");
		return -1;
	}
	*branch = NULL;
	if (js->branch)
		*branch = xstrdup(js->branch);
	else if (in && (cfg = hydra_input_find(r->jsinfo->inputs, r->jsinfo->ninputs, in->name)))
		*branch = hydra_input_branch(cfg);
	if (!*branch)
		*branch = xstrdup(js->jobset);
	return 0;
}

int hydra_record_eval(struct run *r, struct pend *p)
{
	const struct hydra_eval *e = p->e;
	const struct hydra_jobset_arg *js = r->js;
	struct hydra_jobset_result *jr = r->jr;
	const char *rev = NULL, *caps = js->capabilities ? js->capabilities : "none";
	char *branch = NULL, src[512], bsrc[530], label[520], why[512];
	const char **systems = NULL;
	int64_t *have = NULL, *evids = NULL;
	size_t nsys = 0, asys = 0, skipped = 0;
	unsigned n_evaluations = 0, n_jobs = 0, n_builds = 0, n_queued = 0;
	struct parse_error pe;
	int rc = 1, in_tx = 0;

	snprintf(src, sizeof(src), "%seval/%lld", fetcher_base_url(r->f), (long long)e->id);
	snprintf(bsrc, sizeof(bsrc), "%s/builds", src);
	snprintf(label, sizeof(label), "%s:%s", js->project, js->jobset);
	/* Builds asked for one by one come in any order: put them in the
	 * order listed, which is the order /eval/ID/builds gives. */
	if (p->fallback)
		order_as_listed(e, &p->builds);
	/* Every listed build must be there: nothing half-recorded. */
	have = xcalloc(p->builds.n + 1, sizeof(*have));
	for (size_t i = 0; i < p->builds.n; i++)
		have[i] = p->builds.v[i].rec.hydra_id;
	qsort(have, p->builds.n, sizeof(*have), cmp_i64);
	for (size_t i = 0; i < e->nbuilds; i++)
		if (!bsearch(&e->builds[i], have, p->builds.n, sizeof(*have), cmp_i64)) {
			snprintf(p->error, sizeof(p->error), "GET %s: build %lld, which evaluation %lld "
				 "lists, is not among its builds", bsrc, (long long)e->builds[i],
				 (long long)e->id);
			goto out;
		}
	if (eval_labels(r, e, &rev, &branch, why, sizeof(why))) {
		snprintf(p->error, sizeof(p->error), "%s: %.400s", src, why);
		goto out;
	}
	if (evals_check_label("the branch", branch, 1, &pe) ||
	    evals_check_label("the rev", rev, 0, &pe)) {
		snprintf(p->error, sizeof(p->error), "%s: %s", src, pe.msg);
		goto out;
	}
	/* The systems: the map's, or each the builds name (one evaluation
	 * each, as cachegc keys evaluations by system). */
	for (size_t i = 0; i < p->builds.n; i++) {
		const char *s = js->system ? js->system : p->builds.v[i].rec.system;
		size_t k;
		if (!s)
			continue;
		for (k = 0; k < nsys && strcmp(systems[k], s); k++)
			;
		if (k == nsys) {
			if (evals_check_label("the system", s, 0, &pe)) {
				snprintf(p->error, sizeof(p->error), "GET %s: build %lld: %s", bsrc,
					 (long long)p->builds.v[i].rec.hydra_id, pe.msg);
				goto out;
			}
			GROW(systems, asys, nsys + 1);
			systems[nsys++] = s;
		}
	}
	evids = xcalloc(nsys + 1, sizeof(*evids));

	rc = -1;
	if (db_begin(r->db))
		goto out;
	in_tx = 1;
	for (size_t k = 0; k < nsys; k++) {
		int64_t id = hydra_one_id(r->db, &stmts, Q_EVAL_GET, SQL_ARGS(branch, rev, caps, systems[k],
								 e->timestamp));
		int fresh = 0;
		if (id < 0)
			goto out;
		if (!id) {
			if (stmt_exec(r->db, &stmts, Q_EVAL_INS,
				      SQL_ARGS(branch, rev, caps, systems[k], e->timestamp, label, src,
					       clock_now())))
				goto out;
			id = db_last_id(r->db);
			fresh = 1;
			n_evaluations++;
		}
		evids[k] = id;
		/* An evaluation already there (imported from files) is
		 * immutable: only linked. */
		for (size_t i = 0; fresh && i < p->builds.n; i++) {
			const struct hydra_build *b = &p->builds.v[i];
			int64_t drv_id;
			int dup = 1;
			if (!b->rec.system || strcmp(b->rec.system, systems[k]))
				continue;
			if ((rc = path_intern(r, b->rec.drv_path, &drv_id, why, sizeof(why))))
				goto clash;
			for (size_t j = 0; j < b->noutputs; j++) {
				int64_t out_id = -1;
				if (b->outputs[j].path &&
				    (rc = path_intern(r, b->outputs[j].path, &out_id, why, sizeof(why))))
					goto clash;
				rc = -1;
				if (stmt_exec(r->db, &stmts, Q_JOB_INS,
					      SQL_ARGS(id, b->attr, b->outputs[j].name, SQL_INT_OPT(out_id),
						       drv_id, b->rec.name, b->rec.system, i + 1)))
					goto out;
				if (db_changes(r->db)) {
					n_jobs++;
					dup = 0;
				}
			}
			skipped += dup;
		}
	}
	rc = -1;
	for (size_t i = 0; i < p->builds.n; i++) {
		const struct hydra_build *b = &p->builds.v[i];
		int k = hydra_record_build(r, b, bsrc, why, sizeof(why));
		if (k == -2) {
			rc = 1;
			goto clash;
		}
		if (k < 0)
			goto out;
		n_builds += k != B_KNOWN;
		n_queued += k == B_NEW && !b->finished;
		if (!b->rec.system || (js->system && strcmp(b->rec.system, js->system)))
			skipped++;
	}
	if (stmt_exec(r->db, &stmts, Q_HEVAL_INS,
		      SQL_ARGS(r->jobset_id, e->id, e->timestamp, rev, p->builds.n, skipped, r->now)))
		goto out;
	for (size_t k = 0; k < nsys; k++)
		if (stmt_exec(r->db, &stmts, Q_HEVAL_EV_INS,
			      SQL_ARGS(r->jobset_id, e->id, systems[k], evids[k])))
			goto out;
	if (db_commit(r->db))
		goto out;
	in_tx = 0;
	jr->evals_new++;
	jr->evaluations += n_evaluations;
	jr->jobs += n_jobs;
	jr->builds += n_builds;
	jr->queued += n_queued;
	jr->skipped += (unsigned)skipped;
	jr->newest = e->id;
	rc = 0;
	goto out;
clash:
	if (rc > 0)
		snprintf(p->error, sizeof(p->error), "GET %s: %.400s", bsrc, why);
out:
	if (in_tx)
		db_rollback(r->db);
	free(branch);
	free(systems);
	free(have);
	free(evids);
	return rc;
}

/* Record the evaluations whose builds are all in, oldest first.  Non-zero
 * stops the run: the next to record failed (the jobset stops there) or
 * the DB did. */
