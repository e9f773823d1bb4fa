/*
 * hydra.c - `cachegc import-hydra`: follow a Hydra's jobsets over its JSON
 * API and record their evaluations, jobs and builds as import-eval and
 * import-builds do.  See ingest/hydra.h for the order of requests and
 * sql/007_hydra.sql for the bookkeeping tables.
 */
#include "ingest/hydra.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/fetch.h"
#include "nix/hydra_api.h"
#include "nix/nixhash.h"
#include "store/db.h"
#include "store/meta.h"
#include "store/stmt.h"
#include "lib/util.h"

/* ---- statements ------------------------------------------------------ */

enum {
	Q_HYDRA_INS,
	Q_HYDRA_GET,
	Q_JS_INS,
	Q_JS_GET,
	Q_JS_RUN,
	Q_HEVAL_MAX,
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
	Q_HB_UNFINISHED,
	Q_BUILD_INS,
	Q_BUILD_FIND,
	Q_BUILD_UPDATE,
	Q_BUILD_DEL,
	Q_N
};
static const char *const sql[Q_N] = {
	[Q_HYDRA_INS] = "INSERT OR IGNORE INTO hydras (url, added_at) VALUES (?1, ?2)",
	[Q_HYDRA_GET] = "SELECT id FROM hydras WHERE url = ?1",
	[Q_JS_INS] =
	"INSERT OR IGNORE INTO hydra_jobsets (hydra_id, project, jobset, added_at)"
	" VALUES (?1, ?2, ?3, ?4)",
	[Q_JS_GET] = "SELECT id FROM hydra_jobsets WHERE hydra_id = ?1 AND project = ?2 AND jobset = ?3",
	[Q_JS_RUN] = "UPDATE hydra_jobsets SET last_run = ?2 WHERE id = ?1",
	[Q_HEVAL_MAX] = "SELECT max(hydra_eval) FROM hydra_evals WHERE jobset_id = ?1",
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
	[Q_HB_UNFINISHED] =
	"SELECT hydra_build FROM hydra_builds WHERE hydra_id = ?1 AND finished = 0"
	" ORDER BY hydra_build",
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
static struct stmt_table stmts = STMT_TABLE("hydra", sql);

/* ---- the run ----------------------------------------------------------- */

enum req_kind { R_JOBSET, R_PAGE, R_EVAL_BUILDS, R_BUILD, R_REFRESH };

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

static const char *url_of(const struct run *r, const char *path, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s%s", fetcher_base_url(r->f), path);
	return buf;
}

/* Why a request did not give a usable answer. */
static void answer_error(char *dst, size_t sz, const struct fetch_result *fr,
			 enum req_kind kind, const struct hydra_jobset_arg *js)
{
	if (fr->status == FETCH_NOT_FOUND) {
		if (kind == R_JOBSET || kind == R_PAGE)
			snprintf(dst, sz, "GET %s: %ld Not Found: Hydra has no jobset %s:%s (is the "
				 "name right, and the URL a Hydra?)", fr->url, fr->http_code,
				 js->project, js->jobset);
		else
			snprintf(dst, sz, "GET %s: %ld Not Found", fr->url, fr->http_code);
	} else if (fr->status == FETCH_CANCELLED) {
		snprintf(dst, sz, "GET %s: interrupted", fr->url);
	} else {
		snprintf(dst, sz, "%s", fr->error ? fr->error : "failed");
		if (fr->http_code == 429)
			snprintf(dst + strlen(dst), sz - strlen(dst), " (the Hydra asked us to slow "
				 "down: run again later, or with fewer --jobs)");
	}
}

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

static int64_t one_id(struct db *db, unsigned q, const struct sql_arg *args, unsigned n)
{
	sqlite3_stmt *st;
	int64_t id;
	int rc = stmt_row(db, &stmts, q, &st, args, n);

	if (rc <= 0)
		return rc == 0 ? 0 : -1;
	id = sqlite3_column_type(st, 0) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 0);
	stmt_done(st);
	return id;
}

enum { B_KNOWN, B_NEW, B_UPDATED };

/* Record build b's outcome (inside a transaction): new, known, or a queued
 * one now finished (its row updated).  B_* or -1 (DB error, reported; or
 * a path clash, in why, returned as -2). */
static int record_build(struct run *r, const struct hydra_build *b, const char *source,
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
			int64_t other = one_id(r->db, Q_BUILD_FIND,
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
	else if ((row = one_id(r->db, Q_BUILD_FIND, SQL_ARGS(drv_id, rec->status, t))) <= 0)
		return row < 0 ? -1 : error("database '%s': build outcome vanished", r->db->path);
	if (stmt_exec(r->db, &stmts, Q_HB_INS,
		      SQL_ARGS(r->hydra_id, rec->hydra_id, drv_id, row, b->finished, r->now)))
		return -1;
	return B_NEW;
}

/* ---- fetching ------------------------------------------------------------ */

/* A request's user pointer says what it is; the id of R_EVAL_BUILDS and
 * R_BUILD is the index of its evaluation in run.pend. */
struct req {
	enum req_kind kind;
};
static struct req REQ_JOBSET = {R_JOBSET}, REQ_PAGE = {R_PAGE}, REQ_REFRESH = {R_REFRESH},
	REQ_EVAL_BUILDS = {R_EVAL_BUILDS}, REQ_BUILD = {R_BUILD};

static int record_ready(struct run *r);

static int pend_fail(struct run *r, struct pend *p, const char *fmt, ...) ATTR_PRINTF(3, 4);
static int pend_fail(struct run *r, struct pend *p, const char *fmt, ...)
{
	va_list ap;

	(void)r;
	if (p->state == 2)
		return 0;
	va_start(ap, fmt);
	vsnprintf(p->error, sizeof(p->error), fmt, ap);
	va_end(ap);
	p->state = 2;
	return 0;
}

static int on_eval_answer(struct run *r, const struct fetch_result *fr, const struct req *q)
{
	struct pend *p = &r->pend[fr->id];
	struct parse_error e;
	char path[64], why[1024];

	if (fr->status == FETCH_CANCELLED || p->state == 2)
		return 0;
	if (q->kind == R_EVAL_BUILDS && fr->status == FETCH_NOT_FOUND && !p->fallback) {
		/* A Hydra without /eval/ID/builds: each listed build. */
		p->fallback = 1;
		for (size_t i = 0; i < p->e->nbuilds; i++) {
			snprintf(path, sizeof(path), "build/%lld", (long long)p->e->builds[i]);
			if (fetcher_enqueue(r->f, FETCH_GET, path, &REQ_BUILD, fr->id))
				return pend_fail(r, p, "GET %sbuild/%lld: cannot be asked for",
						 fetcher_base_url(r->f), (long long)p->e->builds[i]);
			p->outstanding++;
		}
		if (!p->outstanding)
			p->state = 1;
		return record_ready(r);
	}
	if (fr->status != FETCH_OK) {
		answer_error(why, sizeof(why), fr, q->kind, r->js);
		pend_fail(r, p, "%s", why);
	} else if (hydra_builds_parse(fr->body, fr->len, r->store_dir, &p->builds, &e)) {
		pend_fail(r, p, "GET %s: %s", fr->url, e.msg);
	} else if (q->kind == R_EVAL_BUILDS) {
		p->state = 1;
	}
	if (q->kind == R_BUILD && --p->outstanding == 0 && p->state == 0)
		p->state = 1;
	return record_ready(r);
}

static int on_done(const struct fetch_result *fr, void *cb)
{
	struct run *r = cb;
	const struct req *q = fr->user;

	if (q->kind == R_EVAL_BUILDS || q->kind == R_BUILD)
		return on_eval_answer(r, fr, q);
	if (q->kind == R_REFRESH) {
		struct parse_error e;
		if (fr->status == FETCH_CANCELLED)
			return 0;
		if (fr->status != FETCH_OK) {
			char why[1024];
			answer_error(why, sizeof(why), fr, R_REFRESH, NULL);
			if (r->res->refresh_errors++ < 5)
				warning("%s; its outcome stays as recorded", why);
		} else if (hydra_builds_parse(fr->body, fr->len, r->store_dir, &r->refreshed, &e)) {
			if (r->res->refresh_errors++ < 5)
				warning("GET %s: %s; its outcome stays as recorded", fr->url, e.msg);
		}
		return 0;
	}
	/* The phase's one request. */
	r->got = 1;
	r->status = fr->status;
	r->http_code = fr->http_code;
	if (fr->status == FETCH_OK) {
		r->body = xstrndup(fr->body, fr->len);
		r->len = fr->len;
	} else {
		answer_error(r->error, sizeof(r->error), fr, q->kind, r->js);
	}
	return 0;
}

/* Fetch one path (a jobset, a page) into r->body.  0, 1 failed (r->error),
 * 130 interrupted, -1 (reported). */
static int fetch_one(struct run *r, const char *path, struct req *q)
{
	int rc;

	free(r->body);
	r->body = NULL;
	r->len = 0;
	r->got = 0;
	r->error[0] = '\0';
	if (fetcher_enqueue(r->f, FETCH_GET, path, q, 0))
		return -1;
	rc = fetcher_run(r->f);
	if (rc == FETCH_RUN_INTERRUPTED)
		return 130;
	if (rc == FETCH_RUN_ERROR)
		return -1;
	if (!r->got || r->status != FETCH_OK)
		return r->got ? 1 : 130;
	return 0;
}

/* ---- recording an evaluation ------------------------------------------ */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
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

/* Record evaluation p in one transaction.  0, 1 when its data is at
 * fault (p->error), -1 on a DB error (reported). */
static int record_eval(struct run *r, struct pend *p)
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
		int64_t id = one_id(r->db, Q_EVAL_GET, SQL_ARGS(branch, rev, caps, systems[k],
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
		int k = record_build(r, b, bsrc, why, sizeof(why));
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
static int record_ready(struct run *r)
{
	while (r->next_rec < r->npend) {
		struct pend *p = &r->pend[r->next_rec];
		int rc;
		if (p->state == 0)
			return 0;
		if (p->state == 2) {
			snprintf(r->jr->error, sizeof(r->jr->error), "%s", p->error);
			return 1;
		}
		rc = record_eval(r, p);
		hydra_builds_release(&p->builds);
		if (rc) {
			if (rc < 0)
				r->db_failed = 1;
			else
				snprintf(r->jr->error, sizeof(r->jr->error), "%s", p->error);
			p->state = 2;
			return 1;
		}
		r->next_rec++;
	}
	return 0;
}

/* ---- one jobset --------------------------------------------------------- */

/* The path of the page "next" names, relative to the base URL, or NULL
 * when it is not a page of this jobset's evaluations. */
static char *next_path(const struct run *r, const char *evals_path, const char *next)
{
	const char *base = fetcher_base_url(r->f);
	size_t bl = strlen(base);

	for (const char *c = next; *c; c++)
		if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
			return NULL;
	if (next[0] == '?') {
		struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "%s%s", evals_path, next);
		return strbuf_detach(&sb);
	}
	if (!strncmp(next, base, bl))
		next += bl;
	else if (strstr(next, "://"))
		return NULL;
	while (*next == '/')
		next++;
	if (strncmp(next, evals_path, strlen(evals_path)) || next[strlen(evals_path)] != '?')
		return NULL;
	return xstrdup(next);
}

/* The jobset's row, made when new.  0 or -1 (reported). */
static int jobset_row(struct run *r)
{
	if (stmt_exec(r->db, &stmts, Q_JS_INS,
		      SQL_ARGS(r->hydra_id, r->js->project, r->js->jobset, r->now)))
		return -1;
	r->jobset_id = one_id(r->db, Q_JS_GET, SQL_ARGS(r->hydra_id, r->js->project, r->js->jobset));
	return r->jobset_id > 0 ? 0 : -1;
}

/* Follow one jobset.  0 complete, 1 failed (jr->error), 130 interrupted,
 * -1 DB or set-up error (reported). */
static int follow_jobset(struct run *r)
{
	const struct hydra_jobset_arg *js = r->js;
	struct hydra_jobset_result *jr = r->jr;
	struct hydra_jobset jsinfo = {0};
	struct hydra_evals_page *pages = NULL;
	struct parse_error e;
	char js_path[600], evals_path[620], *path = NULL, url[640];
	size_t npages = 0, apages = 0;
	int64_t newest_known;
	int rc, stop = 0;

	snprintf(js_path, sizeof(js_path), "jobset/%s/%s", js->project, js->jobset);
	snprintf(evals_path, sizeof(evals_path), "%s/evals", js_path);
	if ((rc = fetch_one(r, js_path, &REQ_JOBSET)))
		goto fetch_failed;
	if (hydra_jobset_parse(r->body, r->len, &jsinfo, &e)) {
		snprintf(jr->error, sizeof(jr->error), "GET %s: %s", url_of(r, js_path, url, sizeof(url)),
			 e.msg);
		rc = 1;
		goto out;
	}
	r->jsinfo = &jsinfo;
	if (db_begin(r->db) || jobset_row(r) ||
	    stmt_exec(r->db, &stmts, Q_JS_RUN, SQL_ARGS(r->jobset_id, r->now)) || db_commit(r->db)) {
		db_rollback(r->db);
		rc = -1;
		goto out;
	}
	if ((newest_known = one_id(r->db, Q_HEVAL_MAX, SQL_ARGS(r->jobset_id))) < 0) {
		rc = -1;
		goto out;
	}

	/* Pages, newest evaluations first, down to what is recorded. */
	path = xstrdup(evals_path);
	while (!stop) {
		struct hydra_evals_page *pg;
		char *np;
		if (npages >= 100000) {
			snprintf(jr->error, sizeof(jr->error), "GET %s: more than 100000 pages of "
				 "evaluations; stopped", url_of(r, path, url, sizeof(url)));
			rc = 1;
			goto out;
		}
		if ((rc = fetch_one(r, path, &REQ_PAGE)))
			goto fetch_failed;
		GROW(pages, apages, npages + 1);
		pg = &pages[npages];
		if (hydra_evals_page_parse(r->body, r->len, pg, &e)) {
			snprintf(jr->error, sizeof(jr->error), "GET %s: %s",
				 url_of(r, path, url, sizeof(url)), e.msg);
			rc = 1;
			goto out;
		}
		npages++;
		jr->pages++;
		for (size_t i = 0; i < pg->n; i++) {
			const struct hydra_eval *ev = &pg->evals[i];
			int dup = 0;
			if (ev->id <= newest_known || (r->o->since >= 0 && ev->timestamp < r->o->since)) {
				stop = 1;
				continue;
			}
			for (size_t k = 0; k < r->npend && !dup; k++)
				dup = r->pend[k].e->id == ev->id;
			if (dup)
				continue;
			r->pend = xrealloc(r->pend, (r->npend + 1) * sizeof(*r->pend));
			memset(&r->pend[r->npend], 0, sizeof(*r->pend));
			r->pend[r->npend++].e = ev;
		}
		if (!pg->next || !pg->n)
			break;
		if (!(np = next_path(r, evals_path, pg->next))) {
			char show[PARSE_SHOWN_MAX];
			snprintf(jr->error, sizeof(jr->error), "GET %s: \"next\" '%s' is not a page "
				 "of this jobset's evaluations", url_of(r, path, url, sizeof(url)),
				 parse_shown(show, sizeof(show), pg->next, strlen(pg->next)));
			rc = 1;
			goto out;
		}
		if (!strcmp(np, path)) {
			snprintf(jr->error, sizeof(jr->error), "GET %s: \"next\" names the same page",
				 url_of(r, path, url, sizeof(url)));
			free(np);
			rc = 1;
			goto out;
		}
		free(path);
		path = np;
	}

	/* Oldest first: the builds of every new evaluation in flight, each
	 * recorded as soon as it and all older ones are in. */
	for (size_t i = 0; i < r->npend / 2; i++) {
		struct pend t = r->pend[i];
		r->pend[i] = r->pend[r->npend - 1 - i];
		r->pend[r->npend - 1 - i] = t;
	}
	for (size_t i = 1; i < r->npend; i++)
		if (r->pend[i].e->id < r->pend[i - 1].e->id) {
			/* Hydra lists newest first; anything else, sort. */
			for (size_t a = 0; a < r->npend; a++)
				for (size_t b = a + 1; b < r->npend; b++)
					if (r->pend[b].e->id < r->pend[a].e->id) {
						struct pend t = r->pend[a];
						r->pend[a] = r->pend[b];
						r->pend[b] = t;
					}
			break;
		}
	for (size_t i = 0; i < r->npend; i++) {
		char bp[64];
		snprintf(bp, sizeof(bp), "eval/%lld/builds", (long long)r->pend[i].e->id);
		if (fetcher_enqueue(r->f, FETCH_GET, bp, &REQ_EVAL_BUILDS, (int64_t)i)) {
			rc = -1;
			goto out;
		}
	}
	rc = r->npend ? fetcher_run(r->f) : FETCH_RUN_DONE;
	if (rc == FETCH_RUN_ERROR || r->db_failed)
		rc = -1;
	else if (rc == FETCH_RUN_INTERRUPTED)
		rc = 130;
	else if (rc == FETCH_RUN_ABORTED || r->next_rec < r->npend)
		rc = jr->error[0] ? 1 : 130;
	else
		rc = 0;
	goto out;

fetch_failed:
	if (rc == 1)
		snprintf(jr->error, sizeof(jr->error), "%s", r->error);
out:
	jr->evals_pending = (unsigned)(r->npend - r->next_rec);
	jr->status = rc == 0 ? "complete" : rc == 130 ? "interrupted" : "failed";
	if (rc < 0 && !jr->error[0])
		snprintf(jr->error, sizeof(jr->error), "stopped by the error above");
	for (size_t i = 0; i < r->npend; i++)
		hydra_builds_release(&r->pend[i].builds);
	free(r->pend);
	r->pend = NULL;
	r->npend = r->next_rec = 0;
	for (size_t i = 0; i < npages; i++)
		hydra_evals_page_release(&pages[i]);
	free(pages);
	free(path);
	hydra_jobset_release(&jsinfo);
	r->jsinfo = NULL;
	return rc;
}

/* ---- builds unfinished last time ----------------------------------------- */

static int refresh_builds(struct run *r)
{
	sqlite3_stmt *st;
	char path[64], src[600], why[512];
	int rc;

	if (!(st = stmt_query(r->db, &stmts, Q_HB_UNFINISHED, SQL_ARGS(r->hydra_id))))
		return -1;
	while ((rc = db_step(r->db, st)) == 1) {
		snprintf(path, sizeof(path), "build/%lld", (long long)sqlite3_column_int64(st, 0));
		if (fetcher_enqueue(r->f, FETCH_GET, path, &REQ_REFRESH, 0)) {
			stmt_done(st);
			return -1;
		}
		r->res->refreshed++;
	}
	if (rc < 0)
		return -1;
	if (!r->res->refreshed)
		return 0;
	rc = fetcher_run(r->f);
	if (rc == FETCH_RUN_ERROR)
		return -1;
	/* What came back, in one transaction (also after Ctrl-C). */
	if (db_begin(r->db))
		return -1;
	for (size_t i = 0; i < r->refreshed.n; i++) {
		const struct hydra_build *b = &r->refreshed.v[i];
		int k;
		snprintf(src, sizeof(src), "%sbuild/%lld", fetcher_base_url(r->f),
			 (long long)b->rec.hydra_id);
		k = record_build(r, b, src, why, sizeof(why));
		if (k == -1) {
			db_rollback(r->db);
			return -1;
		}
		if (k == -2)
			warning("GET %s: %s; its outcome stays as recorded", src, why);
		r->res->finished += k == B_UPDATED;
	}
	if (db_commit(r->db)) {
		db_rollback(r->db);
		return -1;
	}
	return rc == FETCH_RUN_INTERRUPTED ? 130 : 0;
}

/* ---- the import ------------------------------------------------------------ */

void hydra_import_result_release(struct hydra_import_result *res)
{
	free(res->url);
	free(res->v);
	memset(res, 0, sizeof(*res));
}

int hydra_import(struct db *db, const struct hydra_import_options *o,
		 struct hydra_import_result *res)
{
	struct fetch_options fo = {0};
	struct run r = {0};
	const char *host;
	int rc = -1, failed = 0;

	memset(res, 0, sizeof(*res));
	res->v = xcalloc(o->njobsets + 1, sizeof(*res->v));
	res->n = o->njobsets;
	for (size_t i = 0; i < o->njobsets; i++) {
		res->v[i].project = o->jobsets[i].project;
		res->v[i].jobset = o->jobsets[i].jobset;
		res->v[i].status = "not-attempted";
		res->v[i].newest = -1;
	}
	host = strstr(o->url, "://");
	if (host && memchr(host + 3, '@', strcspn(host + 3, "/?#")))
		return error("Hydra URL '%s' holds credentials; they would be stored in the "
			     "database: give the URL without them", o->url);
	fo.base_url = o->url;
	fo.on_done = on_done;
	fo.cb_data = &r;
	fo.jobs = o->jobs ? o->jobs : 16;
	fo.max_tries = o->tries;
	fo.timeout_ms = o->timeout_ms;
	fo.cacert = o->cacert;
	fo.max_body = BUILDS_MAX_INPUT;
	fo.accept = "application/json";
	r.db = db;
	r.o = o;
	r.res = res;
	r.now = clock_now();
	if (!(r.store_dir = db_store_dir(db)))
		return -1;
	if (fetcher_new(&r.f, &fo))
		goto out;
	res->url = xstrdup(fetcher_base_url(r.f));
	if (db_begin(db) ||
	    stmt_exec(db, &stmts, Q_HYDRA_INS, SQL_ARGS(res->url, r.now)) ||
	    (r.hydra_id = one_id(db, Q_HYDRA_GET, SQL_ARGS(res->url))) <= 0 || db_commit(db)) {
		db_rollback(db);
		goto out;
	}
	if ((rc = refresh_builds(&r)) < 0)
		goto out;
	if (rc == 130) {
		res->interrupted = 1;
		goto out;
	}
	for (size_t i = 0; i < o->njobsets; i++) {
		r.js = &o->jobsets[i];
		r.jr = &res->v[i];
		rc = follow_jobset(&r);
		if (rc < 0)
			goto out;
		if (rc == 130) {
			res->interrupted = 1;
			goto out;
		}
		failed |= rc;
	}
	rc = failed ? 1 : 0;
out:
	free(r.body);
	hydra_builds_release(&r.refreshed);
	free(r.store_dir);
	fetcher_free(r.f);
	return res->interrupted ? 130 : rc;
}
