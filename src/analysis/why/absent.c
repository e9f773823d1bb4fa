/*
 * absent.c - answers when no evaluation has what the user asks about:
 * the branch, capability set or revision was never evaluated (with what
 * was), an attr no evaluation has (with similar ones), and CI's paths of
 * the same name when a user's path is unknown.
 */
#include "why_private.h"

#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/stmt.h"

enum {
	Q_BRANCH_COUNT,
	Q_BRANCHES,
	Q_CAPS_SETS,
	Q_CAPS_COUNT,
	Q_REV_COUNT,
	Q_RECENT_REVS,
	Q_SAME_NAME,
	Q_SIMILAR_ATTRS,
	Q_N
};
static const char *const sql[Q_N] = {
	[Q_BRANCH_COUNT] = "SELECT count(*) FROM evaluations WHERE branch = ?1 AND time <= ?2",
	[Q_BRANCHES] = "SELECT branch, count(*), max(time) FROM evaluations WHERE time <= ?1 "
		       "GROUP BY branch ORDER BY max(time) DESC, branch LIMIT 20",
	[Q_CAPS_SETS] = "SELECT capabilities, system, count(*), min(time), max(time) "
			"FROM evaluations WHERE (?1 IS NULL OR branch = ?1) AND time <= ?2 "
			"GROUP BY capabilities, system ORDER BY count(*) DESC, capabilities, system",
	[Q_CAPS_COUNT] = "SELECT count(*) FROM evaluations WHERE (?1 IS NULL OR branch = ?1) "
			 "AND capabilities = ?2 AND time <= ?3",
	[Q_REV_COUNT] = "SELECT count(*) FROM evaluations e WHERE " EVAL_FILTER,
	[Q_RECENT_REVS] = "SELECT e.rev, max(e.time), count(*) FROM evaluations e "
			  "WHERE e.time <= ?1 AND (?2 IS NULL OR e.branch = ?2) "
			  "AND (?3 IS NULL OR e.capabilities = ?3) AND (?4 IS NULL OR e.system = ?4) "
			  "GROUP BY e.rev ORDER BY max(e.time) DESC LIMIT 5",
	[Q_SAME_NAME] = "SELECT p.id, j.drv_id, j.attr, " EVAL_COLS " FROM paths p "
			"JOIN eval_jobs j ON j.path_id = p.id "
			"JOIN evaluations e ON e.id = j.evaluation_id "
			"WHERE p.name = ?6 AND p.id <> ?7 AND e.time <= ?1 "
			"ORDER BY e.time DESC, e.id DESC LIMIT 5",
	[Q_SIMILAR_ATTRS] = "SELECT DISTINCT attr FROM eval_jobs "
			    "WHERE attr = ?1 OR attr LIKE ?2 ESCAPE '\\' ORDER BY attr LIMIT 8",
};
static struct stmt_table stmts = STMT_TABLE("why-absent", sql);

static int list_branches(struct wctx *x, struct why_answer *a)
{
	sqlite3_stmt *st = stmt_query(x->db, &stmts, Q_BRANCHES, SQL_ARGS(x->o->at));
	json_t *list = json_array();
	struct strbuf sb = STRBUF_INIT;
	char t1[32];
	int rc;

	if (!st) {
		json_decref(list);
		return -1;
	}
	while ((rc = db_step(x->db, st)) == 1) {
		if (sb.len)
			strbuf_addstr(&sb, ", ");
		strbuf_addch(&sb, '`');
		why_name(&sb, db_col_text(st, 0));
		strbuf_addf(&sb, "` (%lld, latest %s)", (long long)sqlite3_column_int64(st, 1),
			    why_iso(sqlite3_column_int64(st, 2), t1));
		json_array_append_new(list, json_pack("{s:s, s:I, s:o}", "branch",
						      db_col_text(st, 0), "evaluations",
						      (json_int_t)sqlite3_column_int64(st, 1), "latest",
						      why_jtime(sqlite3_column_int64(st, 2))));
	}
	if (rc == 0)
		why_ev(a, "evaluated-branches", json_pack("{s:o}", "branches", list),
		       "Evaluated branches: %s.", sb.len ? sb.buf : "none");
	else
		json_decref(list);
	strbuf_release(&sb);
	return rc < 0 ? -1 : 0;
}

static int answer_not_evaluated_rev(struct wctx *x, const char *attr)
{
	struct why_answer *a = why_new_answer(x);
	sqlite3_stmt *st = stmt_query(x->db, &stmts, Q_RECENT_REVS,
				      SQL_ARGS(x->o->at, x->o->branch, x->o->capabilities,
					       x->o->system));
	json_t *revs = json_array();
	struct strbuf sb = STRBUF_INIT, what = STRBUF_INIT;
	char t1[32];
	int rc;

	a->verdict = WHY_NOT_EVALUATED;
	a->attr = attr ? xstrdup(attr) : NULL;
	a->branch = x->o->branch ? xstrdup(x->o->branch) : NULL;
	a->capabilities = x->o->capabilities ? xstrdup(x->o->capabilities) : NULL;
	a->rev = xstrdup(x->o->rev);
	if (!st) {
		json_decref(revs);
		return -1;
	}
	while ((rc = db_step(x->db, st)) == 1) {
		if (sb.len)
			strbuf_addstr(&sb, ", ");
		why_name(&sb, db_col_text(st, 0));
		strbuf_addf(&sb, " (%s)", why_iso(sqlite3_column_int64(st, 1), t1));
		json_array_append_new(revs, json_pack("{s:s, s:o}", "rev", db_col_text(st, 0),
						      "evaluatedAt",
						      why_jtime(sqlite3_column_int64(st, 1))));
	}
	if (rc < 0) {
		json_decref(revs);
		goto out;
	}
	why_name(&what, x->o->rev);
	if (x->o->branch) {
		strbuf_addstr(&what, " of branch `");
		why_name(&what, x->o->branch);
		strbuf_addch(&what, '`');
	}
	why_ev(a, "evaluation", json_pack("{s:s}", "rev", x->o->rev),
	       "Revision %s was never evaluated%s%s.", what.buf,
	       x->o->capabilities ? " with capabilities " : "",
	       x->o->capabilities ? x->o->capabilities : "");
	why_ev(a, "evaluated-revisions", json_pack("{s:o}", "revisions", revs),
	       "The newest evaluated revisions (cachegc cannot order git commits; by the time "
	       "they were evaluated): %s.", sb.len ? sb.buf : "none");
	why_advise(a, "Pin one of the evaluated revisions above, or ask whether CI builds "
		   "this branch.");
	rc = 0;
out:
	strbuf_release(&sb);
	strbuf_release(&what);
	return rc < 0 ? -1 : 0;
}

static int answer_caps_not_built(struct wctx *x, const char *attr)
{
	struct why_answer *a = why_new_answer(x);
	sqlite3_stmt *st = stmt_query(x->db, &stmts, Q_CAPS_SETS, SQL_ARGS(x->o->branch, x->o->at));
	json_t *sets = json_array();
	struct strbuf sb = STRBUF_INIT;
	char t1[32];
	int rc;

	a->verdict = WHY_CAPS_NOT_BUILT;
	a->attr = attr ? xstrdup(attr) : NULL;
	a->branch = x->o->branch ? xstrdup(x->o->branch) : NULL;
	a->capabilities = xstrdup(x->o->capabilities);
	if (!st) {
		json_decref(sets);
		return -1;
	}
	while ((rc = db_step(x->db, st)) == 1) {
		int64_t cnt = sqlite3_column_int64(st, 2), lo = sqlite3_column_int64(st, 3),
			hi = sqlite3_column_int64(st, 4);
		double weeks = (double)(hi - lo) / (7 * 86400.0);
		if (sb.len)
			strbuf_addstr(&sb, "; ");
		strbuf_addch(&sb, '`');
		why_name(&sb, db_col_text(st, 0));
		strbuf_addstr(&sb, "` on ");
		why_name(&sb, db_col_text(st, 1));
		strbuf_addf(&sb, ": %lld evaluation%s", (long long)cnt, cnt == 1 ? "" : "s");
		if (cnt > 1 && weeks > 0)
			strbuf_addf(&sb, ", %.1f a week", (double)(cnt - 1) / weeks);
		strbuf_addf(&sb, ", latest %s", why_iso(hi, t1));
		json_array_append_new(
			sets, json_pack("{s:s, s:s, s:I, s:o, s:o, s:o}", "capabilities",
					db_col_text(st, 0), "system", db_col_text(st, 1), "evaluations",
					(json_int_t)cnt, "first", why_jtime(lo), "latest", why_jtime(hi),
					"perWeek", cnt > 1 && weeks > 0
						? json_real((double)(cnt - 1) / weeks) : json_null()));
	}
	if (rc < 0) {
		json_decref(sets);
		goto out;
	}
	why_ev(a, "capability-sets", json_pack("{s:o}", "built", sets),
	       "No evaluation%s%s%s uses cudaCapabilities `%s`; the sets built: %s.",
	       x->o->branch ? " of branch `" : "", x->o->branch ? x->o->branch : "",
	       x->o->branch ? "`" : "", x->o->capabilities, sb.len ? sb.buf : "none");
	why_advise(a, "Import nixpkgs with one of the capability sets above to use the cache, "
		   "or ask the maintainers to build yours.");
	rc = 0;
out:
	strbuf_release(&sb);
	return rc < 0 ? -1 : 0;
}

/* CI's outputs (or derivations) with name but another hash. */
int why_same_name(struct wctx *x, struct why_answer *a, const char *name, int64_t not_id)
{
	sqlite3_stmt *st = stmt_query(x->db, &stmts, Q_SAME_NAME, SQL_ARGS(x->o->at, SQL_NULL,
				      SQL_NULL, SQL_NULL, SQL_NULL, name, not_id));
	json_t *list = json_array();
	struct strbuf sb = STRBUF_INIT;
	int rc, found = 0;

	if (!st) {
		json_decref(list);
		return -1;
	}
	while ((rc = db_step(x->db, st)) == 1) {
		char *p = wpaths_full(&x->wp, (uint32_t)sqlite3_column_int64(st, 0));
		char *d = wpaths_full(&x->wp, (uint32_t)sqlite3_column_int64(st, 1));
		strbuf_addf(&sb, "%s`%s` (`", found ? "; " : "", p);
		why_name(&sb, db_col_text(st, 2));
		strbuf_addstr(&sb, "` of ");
		why_name(&sb, db_col_text(st, 4));
		strbuf_addstr(&sb, " rev ");
		why_name(&sb, db_col_text(st, 5));
		strbuf_addstr(&sb, ", capabilities ");
		why_name(&sb, db_col_text(st, 6));
		strbuf_addch(&sb, ')');
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "outPath", p,
						      "drvPath", d, "attr", db_col_text(st, 2),
						      "branch", db_col_text(st, 4), "rev",
						      db_col_text(st, 5), "capabilities",
						      db_col_text(st, 6)));
		found++;
		free(p);
		free(d);
	}
	if (rc == 0 && found) {
		why_ev(a, "same-name", json_pack("{s:o}", "evaluated", list),
		       "CI evaluated paths with the same name and another hash: %s. Your "
		       "derivation differs from CI's: another revision, `cudaCapabilities`, "
		       "`cudaSupport`, `allowUnfree` or an overlay.", sb.buf);
		why_advise(a, "Compare your .drv with CI's (`nix derivation show`, or `nix-diff "
			   "YOURS.drv CIS.drv`) to see which input differs.");
	} else {
		json_decref(list);
	}
	strbuf_release(&sb);
	return rc < 0 ? -1 : 0;
}

int why_answer_unknown_attr(struct wctx *x, const char *attr)
{
	struct why_answer *a = why_new_answer(x);
	const char *dot = strrchr(attr, '.');
	const char *last = dot ? dot + 1 : attr;
	struct strbuf like = STRBUF_INIT, sb = STRBUF_INIT;
	json_t *list = json_array();
	sqlite3_stmt *st;
	int rc;

	a->verdict = WHY_UNKNOWN;
	a->attr = xstrdup(attr);
	strbuf_addstr(&like, "%.");
	for (const char *p = last; *p; p++) {
		if (*p == '%' || *p == '_' || *p == '\\')
			strbuf_addch(&like, '\\');
		strbuf_addch(&like, *p);
	}
	if (!(st = stmt_query(x->db, &stmts, Q_SIMILAR_ATTRS, SQL_ARGS(last, like.buf)))) {
		json_decref(list);
		strbuf_release(&like);
		return -1;
	}
	while ((rc = db_step(x->db, st)) == 1) {
		if (sb.len)
			strbuf_addstr(&sb, ", ");
		strbuf_addch(&sb, '`');
		why_name(&sb, db_col_text(st, 0));
		strbuf_addch(&sb, '`');
		json_array_append_new(list, json_string(db_col_text(st, 0)));
	}
	strbuf_reset(&like);
	why_name(&like, attr);
	why_ev(a, "evaluation", NULL, "No evaluation%s has an attr `%s`.",
	       x->o->branch || x->o->capabilities || x->o->system ? " matching the options" : "",
	       like.buf);
	if (rc == 0 && sb.len)
		why_ev(a, "similar-attrs", json_pack("{s:o}", "attrs", list),
		       "Evaluated attrs with the same last name: %s.", sb.buf);
	else
		json_decref(list);
	why_advise(a, "Check the attr path (as in `nix build nixpkgs#ATTR`).");
	strbuf_release(&like);
	strbuf_release(&sb);
	return rc < 0 ? -1 : 0;
}

int why_check_filters(struct wctx *x, const char *attr, int *answered)
{
	int64_t cnt;

	*answered = 0;
	if (x->o->branch) {
		if (stmt_int(x->db, &stmts, Q_BRANCH_COUNT, SQL_ARGS(x->o->branch, x->o->at), &cnt))
			return -1;
		if (!cnt) {
			struct why_answer *a = why_new_answer(x);
			struct strbuf sb = STRBUF_INIT;
			a->verdict = WHY_NOT_EVALUATED;
			a->attr = attr ? xstrdup(attr) : NULL;
			a->branch = xstrdup(x->o->branch);
			why_name(&sb, x->o->branch);
			why_ev(a, "evaluation", json_pack("{s:s}", "branch", x->o->branch),
			       "Branch `%s` was never evaluated.", sb.buf);
			strbuf_release(&sb);
			*answered = 1;
			if (list_branches(x, a))
				return -1;
			why_advise(a, "Use one of the evaluated branches, or ask whether CI builds "
				   "this one.");
			return 0;
		}
	}
	if (x->o->capabilities) {
		if (stmt_int(x->db, &stmts, Q_CAPS_COUNT,
			     SQL_ARGS(x->o->branch, x->o->capabilities, x->o->at), &cnt))
			return -1;
		if (!cnt) {
			*answered = 1;
			return answer_caps_not_built(x, attr);
		}
	}
	if (x->o->rev) {
		if (stmt_int(x->db, &stmts, Q_REV_COUNT, SQL_ARGS(FILTER_ARGS(x->o)), &cnt))
			return -1;
		if (!cnt) {
			*answered = 1;
			return answer_not_evaluated_rev(x, attr);
		}
	}
	return 0;
}

