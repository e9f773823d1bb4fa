/*
 * hydra.c - `cachegc import-hydra`: follow a Hydra's jobsets over its JSON
 * API and record their evaluations, jobs and builds as import-eval and
 * import-builds do.  See ingest/hydra.h for the order of requests and
 * sql/007_hydra.sql for the bookkeeping tables.
 */
#include "hydra_private.h"

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
	Q_HB_UNFINISHED,
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
	[Q_HB_UNFINISHED] =
	"SELECT hydra_build FROM hydra_builds WHERE hydra_id = ?1 AND finished = 0"
	" ORDER BY hydra_build",
};
static struct stmt_table stmts = STMT_TABLE("hydra", sql);

/* ---- the run ----------------------------------------------------------- */

enum req_kind { R_JOBSET, R_PAGE, R_EVAL_BUILDS, R_BUILD, R_REFRESH };


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

static int64_t one_id(struct db *db, unsigned q, const struct sql_arg *args, unsigned n)
{
	return hydra_one_id(db, &stmts, q, args, n);
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
		rc = hydra_record_eval(r, p);
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
	if (!strncmp(next, base, bl)) {
		next += bl;
	} else if (strstr(next, "://")) {
		/* Another spelling of the host (a proxy's): its path must be
		 * the base URL's. */
		const char *bp = strchr(strstr(base, "://") + 3, '/');
		const char *np = strchr(strstr(next, "://") + 3, '/');
		if (!bp || !np || strncmp(np, bp, strlen(bp)))
			return NULL;
		next = np + strlen(bp);
	} else if (next[0] == '/') {
		const char *bp = strchr(strstr(base, "://") + 3, '/');
		if (!bp || strncmp(next, bp, strlen(bp)))
			return NULL;
		next += strlen(bp);
	}
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
	int64_t newest_known = 0;
	int rc, stop = 0;

	snprintf(js_path, sizeof(js_path), "jobset/%s/%s", js->project, js->jobset);
	snprintf(evals_path, sizeof(evals_path), "%s/evals", js_path);
	/* The jobset's own settings only give defaults (the input's branch):
	 * a Hydra-like server without /jobset/P/J is asked for its
	 * evaluations all the same, which say whether the jobset exists. */
	rc = fetch_one(r, js_path, &REQ_JOBSET);
	if (rc == 1 && r->status == FETCH_NOT_FOUND)
		rc = 0;
	else if (rc)
		goto fetch_failed;
	else if (hydra_jobset_parse(r->body, r->len, &jsinfo, &e)) {
		snprintf(jr->error, sizeof(jr->error), "GET %s: %s", url_of(r, js_path, url, sizeof(url)),
			 e.msg);
		rc = 1;
		goto out;
	}
	r->jsinfo = &jsinfo;

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
		if (npages == 1) {
			/* The jobset exists: its row, and how far it was recorded. */
			if (db_begin(r->db) || jobset_row(r) ||
			    stmt_exec(r->db, &stmts, Q_JS_RUN, SQL_ARGS(r->jobset_id, r->now)) ||
			    db_commit(r->db)) {
				db_rollback(r->db);
				rc = -1;
				goto out;
			}
			if ((newest_known = one_id(r->db, Q_HEVAL_MAX, SQL_ARGS(r->jobset_id))) < 0) {
				rc = -1;
				goto out;
			}
		}
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
		k = hydra_record_build(r, b, src, why, sizeof(why));
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
