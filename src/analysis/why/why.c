/*
 * why.c - `why`'s answers: what the query names (an attr, an output, a
 * .drv), which evaluations it means, the verdict of each output as
 * coverage would give it (read from the path cache, paths.c), the
 * evidence behind it, and the newest evaluation of the same group whose
 * same outputs are cached whole.
 */
#include "why_private.h"

#include <stdlib.h>
#include <string.h>

#include "analysis/coverage.h"
#include "nix/evaljobs.h"
#include "nix/nixhash.h"
#include "store/db.h"
#include "store/lookup.h"
#include "store/records.h"
#include "store/stmt.h"

enum {
	Q_PATH_JOBS,
	Q_DRV_JOBS,
	Q_ATTR_EVALS,
	Q_JOB_ROWS,
	Q_LATEST_BUILD,
	Q_GROUP_EVALS,
	Q_FAILED_IN_EVAL,
	Q_N
};

static const char *const sql[Q_N] = {
	[Q_PATH_JOBS] = "SELECT " EVAL_COLS ", j.attr FROM eval_jobs j "
			"JOIN evaluations e ON e.id = j.evaluation_id "
			"WHERE j.path_id = ?6 AND " EVAL_FILTER
			"ORDER BY e.time DESC, e.id DESC, j.attr",
	[Q_DRV_JOBS] = "SELECT " EVAL_COLS ", j.attr FROM eval_jobs j "
		       "JOIN evaluations e ON e.id = j.evaluation_id "
		       "WHERE j.drv_id = ?6 AND " EVAL_FILTER
		       "ORDER BY e.time DESC, e.id DESC, j.attr",
	/* Newest first within each group; the caller takes the first. */
	[Q_ATTR_EVALS] = "SELECT " EVAL_COLS " FROM evaluations e WHERE " EVAL_FILTER
			 "AND EXISTS (SELECT 1 FROM eval_jobs j WHERE j.evaluation_id = e.id "
			 "AND j.attr = ?6) "
			 "ORDER BY e.branch, e.capabilities, e.system, e.time DESC, e.id DESC",
	[Q_JOB_ROWS] = "SELECT output, path_id, drv_id, error FROM eval_jobs "
		       "WHERE evaluation_id = ?1 AND attr = ?2 ORDER BY output",
	[Q_LATEST_BUILD] = "SELECT status, coalesce(time, imported_at), hydra_id FROM builds "
			   "WHERE drv_id = ?1 AND coalesce(time, imported_at) <= ?2 "
			   "ORDER BY coalesce(time, imported_at) DESC, id DESC LIMIT 1",
	[Q_GROUP_EVALS] = "SELECT id, rev, time FROM evaluations WHERE branch = ?1 "
			  "AND capabilities = ?2 AND system = ?3 AND time <= ?4 AND id <> ?5 "
			  "ORDER BY time DESC, id DESC LIMIT 100",
	[Q_FAILED_IN_EVAL] =
		"SELECT j.attr, b.status FROM eval_jobs j JOIN builds b ON b.drv_id = j.drv_id "
		"WHERE j.evaluation_id = ?1 AND j.drv_id <> ?2 AND coalesce(b.time, b.imported_at) <= ?3 "
		"AND b.status NOT IN ('succeeded', 'queued', 'dependency-failed') "
		"AND b.id = (SELECT b2.id FROM builds b2 WHERE b2.drv_id = j.drv_id "
		"AND coalesce(b2.time, b2.imported_at) <= ?3 "
		"ORDER BY coalesce(b2.time, b2.imported_at) DESC, b2.id DESC LIMIT 1) "
		"ORDER BY j.attr LIMIT 10",
};
static struct stmt_table stmts = STMT_TABLE("why", sql);

const char *why_verdict_str(enum why_verdict v)
{
	static const char *const names[WHY_NVERDICTS] = {
		"cached", "partial", "untrusted", "evicted", "failed", "queued", "not-pushed",
		"not-built", "not-evaluated", "capabilities-not-built", "unknown",
	};
	return (unsigned)v < WHY_NVERDICTS ? names[v] : "?";
}

/* Which verdict an answer over several outputs takes: the one that
 * explains most (a failed build explains its outputs' absence). */
static int severity(enum why_verdict v)
{
	switch (v) {
	case WHY_CACHED: return 0;
	case WHY_UNTRUSTED: return 1;
	case WHY_PARTIAL: return 2;
	case WHY_EVICTED: return 3;
	case WHY_NOT_PUSHED: return 4;
	case WHY_NOT_BUILT: return 5;
	case WHY_QUEUED: return 6;
	case WHY_FAILED: return 7;
	default: return 8;
	}
}

struct weval {
	int64_t id, time;
	char *branch, *rev, *caps, *system;
};

static void weval_read(struct weval *e, sqlite3_stmt *st)
{
	e->id = sqlite3_column_int64(st, 0);
	e->branch = xstrdup(db_col_text(st, 1));
	e->rev = xstrdup(db_col_text(st, 2));
	e->caps = xstrdup(db_col_text(st, 3));
	e->system = xstrdup(db_col_text(st, 4));
	e->time = sqlite3_column_int64(st, 5);
}

static void weval_release(struct weval *e)
{
	free(e->branch);
	free(e->rev);
	free(e->caps);
	free(e->system);
	memset(e, 0, sizeof(*e));
}

struct wrow {
	char *output;
	uint32_t path, drv;
	char *error;
};

struct why_answer *why_new_answer(struct wctx *x)
{
	struct why_answer *a;

	GROW(x->r->a, x->r->alloc, x->r->n + 1);
	a = &x->r->a[x->r->n++];
	memset(a, 0, sizeof(*a));
	a->evaluated_at = -1;
	return a;
}

static void answer_eval(struct why_answer *a, const struct weval *e, const char *attr)
{
	a->attr = attr ? xstrdup(attr) : NULL;
	a->branch = xstrdup(e->branch);
	a->capabilities = xstrdup(e->caps);
	a->rev = xstrdup(e->rev);
	a->system = xstrdup(e->system);
	a->evaluation_id = e->id;
	a->evaluated_at = e->time;
}

/* ---- closures of present outputs -------------------------------------- */

#define MAX_LISTED 50   /* missing or untrusted members named one by one */

/* The key names a narinfo's signatures give, as a JSON array. */
static json_t *sig_keys(struct wctx *x, uint32_t id)
{
	struct narinfo_record rec;
	json_t *keys = json_array(), *sigs;

	if (narinfo_record_get(x->db, x->o->cache_id, id, &rec) != 1)
		return keys;
	sigs = json_loads(rec.sigs ? rec.sigs : "[]", 0, NULL);
	for (size_t i = 0; i < json_array_size(sigs); i++) {
		const char *s = json_string_value(json_array_get(sigs, i));
		const char *colon = s ? strchr(s, ':') : NULL;
		if (colon)
			json_array_append_new(keys, json_stringn(s, (size_t)(colon - s)));
	}
	json_decref(sigs);
	narinfo_record_release(&rec);
	return keys;
}

static int missing_member(struct wctx *x, struct why_answer *a, const struct wnode *n)
{
	char *p = wpaths_full(&x->wp, n->id);
	char t1[32], t2[32];

	if (n->gone) {
		why_ev(a, "missing-path",
		       json_pack("{s:s, s:s, s:o, s:o, s:I}", "path", p, "how", "evicted",
				 "since", why_jtime(n->gone), "lastSeen", why_jtime(n->last_seen),
				 "goneCrawl", (json_int_t)n->gone_crawl),
		       "`%s` is missing since %s: evicted (last seen %s, found gone by crawl %lld).",
		       p, why_iso(n->gone, t1), why_iso(n->last_seen, t2), (long long)n->gone_crawl);
	} else if (n->narinfo) {
		why_ev(a, "missing-path",
		       json_pack("{s:s, s:s, s:n}", "path", p, "how", "pushed-later", "since"),
		       "`%s` is missing: not in the cache yet at that moment (it was pushed later).",
		       p);
	} else {
		why_ev(a, "missing-path",
		       json_pack("{s:s, s:s, s:n}", "path", p, "how", "never-pushed", "since"),
		       "`%s` is missing: never pushed (the cache never had its narinfo).", p);
	}
	free(p);
	return 0;
}

static int untrusted_member(struct wctx *x, struct why_answer *a, const struct wnode *n)
{
	enum trust_verdict v = trust_verdict(&x->wp.tr, n->id);
	char *p = wpaths_full(&x->wp, n->id);
	struct strbuf who = STRBUF_INIT;
	const char *why;
	int rc;

	if ((rc = trust_describe(&x->wp.tr, n->id, &who)) < 0) {
		free(p);
		return -1;
	}
	switch (v) {
	case TRUST_BAD: why = "a signature names a trusted key but does not verify"; break;
	case TRUST_MALFORMED: why = "a signature naming a trusted key is malformed"; break;
	case TRUST_REVOKED: why = "the key that signed it is revoked, and Nix cannot date a "
				  "signature"; break;
	case TRUST_UNKNOWN_KEY: why = "no key that signed it is trusted"; break;
	default: why = "it has no signature"; break;
	}
	why_ev(a, "untrusted-path",
	       json_pack("{s:s, s:s, s:s, s:o}", "path", p, "verdict", trust_verdict_str(v),
			 "signers", who.buf ? who.buf : "", "keys", sig_keys(x, n->id)),
	       "`%s` is not trusted: %s (signed: %s).", p, why, who.buf ? who.buf : "none");
	strbuf_release(&who);
	free(p);
	return 0;
}

/* The status of present output id from its closure, with the evidence. */
static int present_status(struct wctx *x, struct why_answer *a, uint32_t id,
			  enum why_verdict *v)
{
	struct wclosure *c = &x->c;
	size_t listed = 0;
	char b1[32], b2[32];

	if (wpaths_closure(&x->wp, id, c))
		return -1;
	if (c->nmissing) {
		*v = WHY_PARTIAL;
		why_ev(a, "closure",
		       json_pack("{s:I, s:I, s:I, s:I}", "closurePaths", (json_int_t)c->n,
				 "closureBytes", (json_int_t)c->bytes, "missingPaths",
				 (json_int_t)c->nmissing, "missingBytes", (json_int_t)c->missing_bytes),
		       "The output is in the cache, but %zu of the %zu paths of its closure are "
		       "not (%s of %s): Nix cannot substitute it without them.", c->nmissing, c->n,
		       format_size(c->missing_bytes, b1, sizeof(b1)),
		       format_size(c->bytes, b2, sizeof(b2)));
		for (size_t i = 0; i < c->n && listed < MAX_LISTED; i++) {
			struct wnode *n = &x->wp.nodes[c->m[i]];
			if (n->present || n->listed == x->r->n)
				continue;   /* another output's closure named it */
			n->listed = (uint32_t)x->r->n;
			listed++;
			missing_member(x, a, n);
		}
		if (c->nmissing > MAX_LISTED)
			why_ev(a, "missing-path", json_pack("{s:I}", "more", (json_int_t)(c->nmissing - MAX_LISTED)),
			       "... and %zu more missing paths.", c->nmissing - MAX_LISTED);
		return 0;
	}
	if (c->nuntrusted) {
		*v = WHY_UNTRUSTED;
		why_ev(a, "closure",
		       json_pack("{s:I, s:I}", "closurePaths", (json_int_t)c->n, "untrustedPaths",
				 (json_int_t)c->nuntrusted),
		       "Its whole closure (%zu paths) is in the cache, but %zu of them %s no "
		       "signature by a trusted key: Nix refuses to substitute %s.", c->n,
		       c->nuntrusted, c->nuntrusted == 1 ? "has" : "have",
		       c->nuntrusted == 1 ? "it" : "them");
		for (size_t i = 0; i < c->n && listed < MAX_LISTED; i++) {
			struct wnode *n = &x->wp.nodes[c->m[i]];
			if (!n->present || !trust_bad(trust_verdict(&x->wp.tr, n->id)) ||
			    n->listed == x->r->n)
				continue;
			n->listed = (uint32_t)x->r->n;
			listed++;
			if (untrusted_member(x, a, n))
				return -1;
		}
		return 0;
	}
	*v = WHY_CACHED;
	return 0;
}

/* ---- one job ---------------------------------------------------------- */

struct build {
	const char *status;    /* static, or NULL: none */
	int64_t time;
	int64_t hydra_id;      /* -1 */
};

static int latest_build(struct wctx *x, uint32_t drv, struct build *b)
{
	sqlite3_stmt *st;
	int rc;

	b->status = NULL;
	b->time = b->hydra_id = -1;
	if (!drv)
		return 0;
	if ((rc = stmt_row(x->db, &stmts, Q_LATEST_BUILD, &st, SQL_ARGS(drv, x->o->at))) == 1) {
		const char *s = db_col_text(st, 0);
		b->status = build_status_name(s, strlen(s));
		b->time = sqlite3_column_int64(st, 1);
		if (sqlite3_column_type(st, 2) != SQLITE_NULL)
			b->hydra_id = sqlite3_column_int64(st, 2);
		stmt_done(st);
	}
	return rc < 0 ? -1 : 0;
}

static json_t *build_facts(const struct build *b, const char *drv)
{
	json_t *f = json_pack("{s:s, s:o, s:s}", "status", b->status, "time", why_jtime(b->time),
			      "drvPath", drv);
	if (b->hydra_id >= 0)
		json_object_set_new(f, "hydraBuild", json_integer(b->hydra_id));
	return f;
}

/* For a dependency-failed build: the jobs of the same evaluation whose
 * own build failed (the data does not link a build to its dependencies,
 * so they are candidates). */
static int failed_dependencies(struct wctx *x, struct why_answer *a, const struct weval *e,
			       uint32_t drv)
{
	sqlite3_stmt *st = stmt_query(x->db, &stmts, Q_FAILED_IN_EVAL, SQL_ARGS(e->id, drv, x->o->at));
	json_t *jobs = json_array();
	struct strbuf sb = STRBUF_INIT;
	int rc;

	if (!st) {
		json_decref(jobs);
		return -1;
	}
	while ((rc = db_step(x->db, st)) == 1) {
		if (sb.len)
			strbuf_addstr(&sb, ", ");
		strbuf_addch(&sb, '`');
		why_name(&sb, db_col_text(st, 0));
		strbuf_addf(&sb, "` (%s)", db_col_text(st, 1));
		json_array_append_new(jobs, json_pack("{s:s, s:s}", "attr", db_col_text(st, 0),
						      "status", db_col_text(st, 1)));
	}
	if (rc == 0) {
		if (sb.len)
			why_ev(a, "failed-dependency", json_pack("{s:o}", "candidates", jobs),
			       "The build records do not say which dependency failed; jobs of the "
			       "same evaluation whose own build failed: %s.", sb.buf);
		else {
			json_decref(jobs);
			why_ev(a, "failed-dependency", NULL,
			       "The build records do not say which dependency failed, and no other "
			       "job of this evaluation has a failed build on record.");
		}
	} else {
		json_decref(jobs);
	}
	strbuf_release(&sb);
	return rc < 0 ? -1 : 0;
}

/* The verdict of one output row of job (e, attr), with its evidence. */
static int row_status(struct wctx *x, struct why_answer *a, const struct weval *e,
		      const struct wrow *w, enum why_verdict *v)
{
	struct build b;
	char *out = NULL, *drv = NULL;
	char t1[32];
	int64_t ni;
	int ret = -1;

	if (w->error) {
		char *plain = strip_ansi(w->error, strlen(w->error));
		size_t len = strlen(plain);
		if (len > 600)
			strcpy(plain + 597, "...");
		*v = WHY_FAILED;
		why_ev(a, "eval-error", json_pack("{s:s}", "error", plain),
		       "It failed to evaluate: %s", plain);
		free(plain);
		return 0;
	}
	drv = w->drv ? wpaths_full(&x->wp, w->drv) : xstrdup("");
	if (latest_build(x, w->drv, &b))
		goto out;
	if (!w->path) {
		*v = WHY_NOT_BUILT;
		why_ev(a, "evaluation", json_pack("{s:s, s:s}", "output", w->output, "drvPath", drv),
		       "The evaluation gave no path for output '%s' (a floating content-addressed "
		       "derivation): which path it builds is known only after the build.",
		       w->output);
		ret = 0;
		goto out;
	}
	out = wpaths_full(&x->wp, w->path);
	if ((ni = wpaths_get(&x->wp, w->path)) < 0)
		goto out;
	if (x->wp.nodes[ni].present) {
		ret = present_status(x, a, w->path, v);
		goto out;
	}
	{
		const struct wnode n = x->wp.nodes[ni];
		int ever = n.gone > 0;
		if (ever && (!b.status || !strcmp(b.status, "succeeded") || n.gone >= b.time)) {
			*v = WHY_EVICTED;
			ret = why_explain_eviction(&x->wp, a, (size_t)ni);
			if (!ret && b.status)
				why_ev(a, "build", build_facts(&b, drv),
				       "Its latest build (%s) finished %s, before it went.", b.status,
				       why_iso(b.time, t1));
			goto out;
		}
	}
	if (b.status && !strcmp(b.status, "queued")) {
		*v = WHY_QUEUED;
		why_ev(a, "build", build_facts(&b, drv), "Its build is queued since %s%s.",
		       why_iso(b.time, t1), b.hydra_id >= 0 ? " (Hydra build on record)" : "");
	} else if (b.status && strcmp(b.status, "succeeded")) {
		*v = WHY_FAILED;
		why_ev(a, "build", build_facts(&b, drv), "Its latest build %s: %s at %s.",
		       !strcmp(b.status, "dependency-failed") ? "did not run" : "failed",
		       b.status, why_iso(b.time, t1));
		if (!strcmp(b.status, "dependency-failed") && failed_dependencies(x, a, e, w->drv))
			goto out;
	} else if (b.status) {
		*v = WHY_NOT_PUSHED;
		why_ev(a, "build", build_facts(&b, drv),
		       "It was built (succeeded at %s), but `%s` never reached the cache.",
		       why_iso(b.time, t1), out);
	} else {
		char t2[32];
		*v = WHY_NOT_BUILT;
		why_ev(a, "evaluation",
		       json_pack("{s:s, s:s, s:o}", "drvPath", drv, "outPath", out, "evaluatedAt",
				 why_jtime(e->time)),
		       "It was evaluated (%s), but no build of `%s` is on record and the cache "
		       "never held `%s` (as of %s).", why_iso(e->time, t1), drv, out,
		       why_iso(x->o->at, t2));
	}
	ret = 0;
out:
	free(out);
	free(drv);
	return ret;
}

static void rows_release(struct wrow *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].output);
		free(rows[i].error);
	}
	free(rows);
}

/* The rows of (evaluation, attr) into *rows. */
static int job_rows(struct wctx *x, int64_t eval, const char *attr, struct wrow **rows,
		    size_t *n)
{
	sqlite3_stmt *st = stmt_query(x->db, &stmts, Q_JOB_ROWS, SQL_ARGS(eval, attr));
	size_t alloc = 0;
	int rc;

	*rows = NULL;
	*n = 0;
	if (!st)
		return -1;
	while ((rc = db_step(x->db, st)) == 1) {
		struct wrow *w;
		int64_t p = sqlite3_column_int64(st, 1), d = sqlite3_column_int64(st, 2);
		GROW(*rows, alloc, *n + 1);
		w = &(*rows)[(*n)++];
		w->output = xstrdup(db_col_text(st, 0));
		w->path = p > 0 && p <= UINT32_MAX ? (uint32_t)p : 0;
		w->drv = d > 0 && d <= UINT32_MAX ? (uint32_t)d : 0;
		w->error = sqlite3_column_type(st, 3) == SQLITE_NULL ? NULL
			: xstrdup(db_col_text(st, 3));
	}
	return rc < 0 ? -1 : 0;
}

/* Whether every wanted output of (eval, attr) is cached whole: 1, 0, or
 * -1.  *out gets the "out" (else the first) output's path id. */
static int job_cached(struct wctx *x, int64_t eval, const char *attr, const char *only_output,
		      uint32_t *out)
{
	struct wrow *rows;
	size_t n, used = 0;
	int ok = 1;

	*out = 0;
	if (job_rows(x, eval, attr, &rows, &n))
		return -1;
	for (size_t i = 0; i < n && ok; i++) {
		int64_t ni;
		if (only_output && strcmp(rows[i].output, only_output))
			continue;
		used++;
		if (rows[i].error || !rows[i].path) {
			ok = 0;
			break;
		}
		if ((ni = wpaths_get(&x->wp, rows[i].path)) < 0) {
			ok = -1;
			break;
		}
		if (!x->wp.nodes[ni].present) {
			ok = 0;
			break;
		}
		if (wpaths_closure(&x->wp, rows[i].path, &x->c)) {
			ok = -1;
			break;
		}
		if (x->c.nmissing || x->c.nuntrusted)
			ok = 0;
		if (!*out || !strcmp(rows[i].output, "out"))
			*out = rows[i].path;
	}
	rows_release(rows, n);
	return ok == 1 && !used ? 0 : ok;
}

/* The newest other evaluation of e's group whose attr is cached whole. */
static int suggest(struct wctx *x, struct why_answer *a, const struct weval *e,
		   const char *attr, const char *only_output)
{
	sqlite3_stmt *st;
	struct weval *cands = NULL;
	size_t n = 0, alloc = 0;
	int rc, ret = -1;

	if (!(st = stmt_query(x->db, &stmts, Q_GROUP_EVALS,
			      SQL_ARGS(e->branch, e->caps, e->system, x->o->at, e->id))))
		return -1;
	while ((rc = db_step(x->db, st)) == 1) {
		GROW(cands, alloc, n + 1);
		memset(&cands[n], 0, sizeof(cands[n]));
		cands[n].id = sqlite3_column_int64(st, 0);
		cands[n].rev = xstrdup(db_col_text(st, 1));
		cands[n].time = sqlite3_column_int64(st, 2);
		n++;
	}
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		uint32_t outp;
		int c = job_cached(x, cands[i].id, attr, only_output, &outp);
		if (c < 0)
			goto out;
		if (c) {
			a->sugg.evaluation_id = cands[i].id;
			a->sugg.rev = xstrdup(cands[i].rev);
			a->sugg.out_path = wpaths_full(&x->wp, outp);
			a->sugg.evaluated_at = cands[i].time;
			a->sugg.age = x->o->at - cands[i].time;
			break;
		}
	}
	ret = 0;
out:
	for (size_t i = 0; i < n; i++)
		weval_release(&cands[i]);
	free(cands);
	return ret;
}

static void advise(struct wctx *x, struct why_answer *a)
{
	struct strbuf sb = STRBUF_INIT;
	char t1[32];

	switch (a->verdict) {
	case WHY_PARTIAL:
	case WHY_EVICTED:
		why_advise(a, "Ask the maintainers to rebuild and push it (`cachegc rebuild` lists "
			   "what to push first), or build it yourself.");
		break;
	case WHY_UNTRUSTED:
		why_advise(a, "Ask the maintainers to sign the listed paths with a trusted key "
			   "(`nix store sign`) and push them again; do not trust a revoked key.");
		break;
	case WHY_FAILED:
		why_advise(a, "CI could not build it: it will be built from source, and fail the "
			   "same way unless your configuration differs. Report the failure upstream.");
		break;
	case WHY_QUEUED:
		why_advise(a, "CI has not built it yet: wait for the build, then ask again.");
		break;
	case WHY_NOT_PUSHED:
		why_advise(a, "CI built it, but the push did not happen or failed: ask the "
			   "maintainers to push it (`nix copy --to %s PATH`).", x->o->cache_url);
		break;
	case WHY_NOT_BUILT:
		why_advise(a, "CI evaluated it but never built it: ask the maintainers whether this "
			   "job is built at all.");
		break;
	default:
		break;
	}
	if (a->verdict != WHY_CACHED && a->sugg.evaluation_id) {
		strbuf_add_age(&sb, a->sugg.age);
		why_advise(a, "Newest cached alternative: pin nixpkgs to %s (evaluated %s, %s ago): "
			   "its output `%s` is cached whole.", a->sugg.rev,
			   why_iso(a->sugg.evaluated_at, t1), sb.buf, a->sugg.out_path);
	} else if (a->verdict != WHY_CACHED && a->branch) {
		why_advise(a, "No other evaluation of this branch and capability set has it cached "
			   "whole.");
	}
	strbuf_release(&sb);
}

/*
 * Answer the job (e, attr): every output, or only output path want_out,
 * or only the outputs of want_drv.
 */
static int answer_job(struct wctx *x, const struct weval *e, const char *attr,
		      uint32_t want_out, uint32_t want_drv)
{
	struct why_answer *a = why_new_answer(x);
	struct wrow *rows;
	size_t n;
	const char *only = NULL;
	int ret = -1;

	answer_eval(a, e, attr);
	if (job_rows(x, e->id, attr, &rows, &n))
		return -1;
	a->verdict = WHY_CACHED;
	for (size_t i = 0; i < n; i++) {
		enum why_verdict v = WHY_CACHED;
		struct wrow *w = &rows[i];
		size_t before;
		if ((want_out && w->path != want_out) || (want_drv && w->drv != want_drv))
			continue;
		if (want_out)
			only = w->output;
		if (!a->path || (!strcmp(w->output, "out") && !want_drv))
			free(a->path), a->path = want_drv ? wpaths_full(&x->wp, want_drv)
				: w->path ? wpaths_full(&x->wp, w->path) : NULL;
		before = a->nev;
		if (row_status(x, a, e, w, &v))
			goto out;
		if (n > 1 && *w->output)
			for (size_t k = before; k < a->nev; k++)
				json_object_set_new(a->ev[k].facts, "output", json_string(w->output));
		if (severity(v) > severity(a->verdict))
			a->verdict = v;
	}
	if (a->verdict == WHY_CACHED) {
		uint32_t outp = 0;
		for (size_t i = 0; i < n; i++)
			if (!want_out || rows[i].path == want_out)
				if (!outp || !strcmp(rows[i].output, "out"))
					outp = rows[i].path;
		if (outp && wpaths_closure(&x->wp, outp, &x->c) == 0)
			why_explain_cached(&x->wp, x->o, a, &x->c);
	} else if (suggest(x, a, e, attr, only)) {
		goto out;
	}
	advise(x, a);
	ret = 0;
out:
	rows_release(rows, n);
	return ret;
}

/* A path no (matching) evaluation produced: what the cache knows. */
static int answer_path_alone(struct wctx *x, uint32_t id, const char *name)
{
	struct why_answer *a = why_new_answer(x);
	int64_t ni;

	a->path = wpaths_full(&x->wp, id);
	if ((ni = wpaths_get(&x->wp, id)) < 0)
		return -1;
	if (x->wp.nodes[ni].present) {
		enum why_verdict v;
		if (present_status(x, a, id, &v))
			return -1;
		a->verdict = v;
		if (v == WHY_CACHED)
			why_explain_cached(&x->wp, x->o, a, &x->c);
		why_ev(a, "evaluation", NULL, "No evaluation%s produced it: cachegc knows it from "
		       "the cache alone.", x->o->branch || x->o->capabilities || x->o->rev ||
		       x->o->system ? " matching the options" : "");
	} else if (x->wp.nodes[ni].gone) {
		a->verdict = WHY_EVICTED;
		if (why_explain_eviction(&x->wp, a, (size_t)ni))
			return -1;
	} else {
		a->verdict = WHY_UNKNOWN;
		why_ev(a, "unknown", json_pack("{s:s}", "path", a->path),
		       "No evaluation produced `%s` and the cache never held it.", a->path);
		if (why_same_name(x, a, name, id))
			return -1;
	}
	advise(x, a);
	return 0;
}

/* ---- queries ---------------------------------------------------------- */

static int query_is_path(const char *q)
{
	size_t len = strlen(q);

	if (q[0] == '/')
		return 1;
	return len >= STORE_HASH_LEN && store_hash_valid(q, STORE_HASH_LEN) &&
	       (len == STORE_HASH_LEN || q[STORE_HASH_LEN] == '-');
}

static int answer_attr(struct wctx *x, const char *attr)
{
	sqlite3_stmt *st;
	struct weval *evs = NULL;
	size_t n = 0, alloc = 0;
	int rc, answered, ret = -1;

	if (why_check_filters(x, attr, &answered))
		return -1;
	if (answered)
		return 0;
	if (!(st = stmt_query(x->db, &stmts, Q_ATTR_EVALS, SQL_ARGS(FILTER_ARGS(x->o), attr))))
		return -1;
	while ((rc = db_step(x->db, st)) == 1) {
		struct weval e;
		weval_read(&e, st);
		if (n && !strcmp(evs[n - 1].branch, e.branch) && !strcmp(evs[n - 1].caps, e.caps) &&
		    !strcmp(evs[n - 1].system, e.system)) {
			weval_release(&e);
			continue;   /* an older evaluation of the same group */
		}
		GROW(evs, alloc, n + 1);
		evs[n++] = e;
	}
	if (rc < 0)
		goto out;
	if (!n) {
		ret = why_answer_unknown_attr(x, attr);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (answer_job(x, &evs[i], attr, 0, 0))
			goto out;
	ret = 0;
out:
	for (size_t i = 0; i < n; i++)
		weval_release(&evs[i]);
	free(evs);
	return ret;
}

static int answer_path(struct wctx *x, const char *query)
{
	int64_t pid = 0;
	int rc, is_drv;
	const char *base = strrchr(query, '/');
	struct strbuf name = STRBUF_INIT;
	sqlite3_stmt *st;
	struct weval e = {0};
	char *attr = NULL;
	size_t njobs = 0;

	base = base ? base + 1 : query;
	if (strlen(base) > STORE_HASH_LEN + 1)
		strbuf_addstr(&name, base + STORE_HASH_LEN + 1);
	if ((rc = path_resolve(x->db, x->wp.store_dir, query, &pid)) < 0) {
		strbuf_release(&name);
		return -1;
	}
	if (rc == 0) {
		struct why_answer *a = why_new_answer(x);
		a->verdict = WHY_UNKNOWN;
		if (query[0] == '/') {
			a->path = xstrdup(query);
		} else if (name.len) {
			struct strbuf full = STRBUF_INIT;
			strbuf_addf(&full, "%s/%s", x->wp.store_dir, base);
			a->path = strbuf_detach(&full);
		}
		why_ev(a, "unknown", NULL, "No evaluation produced it and the cache never held it: "
		       "cachegc has never heard of this path.");
		rc = name.len ? why_same_name(x, a, name.buf, 0) : 0;
		if (!rc)
			advise(x, a);
		strbuf_release(&name);
		return rc;
	}
	strbuf_reset(&name);
	{
		char *full = wpaths_full(&x->wp, (uint32_t)pid);
		const char *dash = strchr(strrchr(full, '/') + 1, '-');
		strbuf_addstr(&name, dash ? dash + 1 : "");
		free(full);
	}
	is_drv = name.len > 4 && !strcmp(name.buf + name.len - 4, ".drv");
	if (!(st = stmt_query(x->db, &stmts, is_drv ? Q_DRV_JOBS : Q_PATH_JOBS,
			      SQL_ARGS(FILTER_ARGS(x->o), pid))))
		goto fail;
	while ((rc = db_step(x->db, st)) == 1) {
		if (!njobs++) {
			weval_read(&e, st);
			attr = xstrdup(db_col_text(st, 6));
		}
	}
	if (rc < 0)
		goto fail;
	if (!njobs) {
		rc = answer_path_alone(x, (uint32_t)pid, name.buf);
		strbuf_release(&name);
		return rc;
	}
	if (answer_job(x, &e, attr, is_drv ? 0 : (uint32_t)pid, is_drv ? (uint32_t)pid : 0))
		goto fail;
	if (njobs > 1) {
		struct why_answer *a = &x->r->a[x->r->n - 1];
		why_ev(a, "evaluations", json_pack("{s:I}", "jobs", (json_int_t)njobs),
		       "%zu jobs of the evaluations produced it; this answer is for the latest.",
		       njobs);
	}
	weval_release(&e);
	free(attr);
	strbuf_release(&name);
	return 0;
fail:
	weval_release(&e);
	free(attr);
	strbuf_release(&name);
	return -1;
}

int why_run(struct why_result *r, struct db *db, const struct why_opts *o, const char *query)
{
	struct wctx x = {0};
	int ret = -1;

	memset(r, 0, sizeof(*r));
	r->query = xstrdup(query);
	r->at = o->at;
	x.db = db;
	x.o = o;
	x.r = r;
	/* One snapshot: every answer sees the same state, and SQLite takes
	 * its lock once rather than per statement.  Signature verdicts
	 * learned inside it are recorded when the path cache is released. */
	if (db_read_begin(db))
		return -1;
	if (wpaths_init(&x.wp, db, o->cache_id, o->at, o->threads))
		goto out;
	r->trust_checked = !trust_no_keys(&x.wp.tr);
	if (query_is_path(query)) {
		int answered;
		if (why_check_filters(&x, NULL, &answered))
			goto out;
		ret = answered ? 0 : answer_path(&x, query);
	} else {
		ret = answer_attr(&x, query);
	}
out:
	db_read_end(db);
	wclosure_release(&x.c);
	wpaths_release(&x.wp);
	return ret;
}

void why_release(struct why_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct why_answer *a = &r->a[i];
		for (size_t k = 0; k < a->nev; k++) {
			free(a->ev[k].text);
			json_decref(a->ev[k].facts);
		}
		free(a->ev);
		for (size_t k = 0; k < a->nadvice; k++)
			free(a->advice[k]);
		free(a->advice);
		free(a->attr);
		free(a->path);
		free(a->branch);
		free(a->capabilities);
		free(a->rev);
		free(a->system);
		free(a->sugg.rev);
		free(a->sugg.out_path);
	}
	free(r->a);
	free(r->query);
	memset(r, 0, sizeof(*r));
}
