/*
 * explain.c - evidence that needs more than the path cache: when and how
 * a path left the cache and which of the GC models (gc.h) its facts fit,
 * and what a user puts in nix.conf to substitute a cached closure.
 */
#include "why_private.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/gc.h"
#include "store/db.h"
#include "store/stmt.h"

enum {
	Q_HAS_LOGS,
	Q_LAST_ACCESS,
	Q_LRU_LATER_KEPT,
	Q_CURRENT_OUTPUT,
	Q_EVER_OUTPUT,
	Q_N
};
static const char *const sql[Q_N] = {
	[Q_HAS_LOGS] = "SELECT count(*) FROM access_logs WHERE cache_id = ?1",
	[Q_LAST_ACCESS] =
		"SELECT max(narinfo_last), max(nar_last) FROM accesses "
		"WHERE cache_id = ?1 AND path_id = ?2 AND day <= ?3 / 86400",
	/* Paths the cache kept through the crawl that found the path gone
	 * whose last use (access of any kind, else push) is older than ?3:
	 * an LRU collection would have taken them first. */
	[Q_LRU_LATER_KEPT] =
		"SELECT count(*) FROM presence p WHERE p.cache_id = ?1 AND p.first_seen < ?2 "
		"AND (p.gone_at IS NULL OR p.gone_at > ?2) "
		"AND max(coalesce(p.push_time, p.first_seen), coalesce((SELECT "
		"max(max(coalesce(a.narinfo_last, 0), coalesce(a.nar_last, 0))) FROM accesses a "
		"WHERE a.cache_id = p.cache_id AND a.path_id = p.path_id AND a.day <= ?2 / 86400), 0)) "
		"< ?3",
	[Q_CURRENT_OUTPUT] =
		"SELECT e.branch, e.capabilities, e.system, e.rev FROM eval_jobs j "
		"JOIN evaluations e ON e.id = j.evaluation_id WHERE j.path_id = ?1 AND e.time <= ?2 "
		"AND e.id = (SELECT e2.id FROM evaluations e2 WHERE e2.branch = e.branch "
		"AND e2.capabilities = e.capabilities AND e2.system = e.system AND e2.time <= ?2 "
		"ORDER BY e2.time DESC, e2.id DESC LIMIT 1) "
		"ORDER BY e.branch, e.capabilities, e.system LIMIT 1",
	[Q_EVER_OUTPUT] =
		"SELECT count(*) FROM eval_jobs j JOIN evaluations e ON e.id = j.evaluation_id "
		"WHERE j.path_id = ?1 AND e.time <= ?2",
};
static struct stmt_table stmts = STMT_TABLE("why-explain", sql);

/* ---- building answers ------------------------------------------------- */

static char *vformat(const char *fmt, va_list ap)
{
	va_list cp;
	int len;
	char *text;

	va_copy(cp, ap);
	len = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (len < 0)
		len = 0;
	text = xmalloc((size_t)len + 1);
	vsnprintf(text, (size_t)len + 1, fmt, ap);
	return text;
}

void why_ev(struct why_answer *a, const char *kind, json_t *facts, const char *fmt, ...)
{
	struct why_evidence *e;
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = vformat(fmt, ap);
	va_end(ap);
	GROW(a->ev, a->aev, a->nev + 1);
	e = &a->ev[a->nev++];
	e->kind = kind;
	e->text = text;
	e->facts = facts ? facts : json_object();
}

void why_advise(struct why_answer *a, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = vformat(fmt, ap);
	va_end(ap);
	GROW(a->advice, a->aadvice, a->nadvice + 1);
	a->advice[a->nadvice++] = text;
}

void why_name(struct strbuf *sb, const char *s)
{
	size_t start = sb->len;

	strbuf_addstr_printable(sb, s ? s : "");
	for (size_t i = start; i < sb->len; i++)
		if (sb->buf[i] == '`')
			sb->buf[i] = '\'';
}

json_t *why_jtime(int64_t t)
{
	char buf[32];

	return t < 0 ? json_null() : json_string(format_time(t, buf, sizeof(buf)));
}

const char *why_iso(int64_t t, char *buf)
{
	return format_time(t, buf, 32);
}

/* ---- evictions -------------------------------------------------------- */

/* The last access of path id by time t: any kind into *any, NAR downloads
 * into *nar (-1: none recorded). */
static int last_access(struct wpaths *wp, uint32_t id, int64_t t, int64_t *any, int64_t *nar)
{
	sqlite3_stmt *st;
	int rc = stmt_row(wp->db, &stmts, Q_LAST_ACCESS, &st, SQL_ARGS(wp->cache_id, id, t));

	*any = *nar = -1;
	if (rc == 1) {
		int64_t ni = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1
			: sqlite3_column_int64(st, 0);
		*nar = sqlite3_column_type(st, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 1);
		*any = ni > *nar ? ni : *nar;
		stmt_done(st);
	}
	return rc < 0 ? -1 : 0;
}

int why_explain_eviction(struct wpaths *wp, struct why_answer *a, size_t ni)
{
	struct wnode n = wp->nodes[ni];
	char t1[32], t2[32], t3[32], t4[32];
	int64_t logs, any, nar, later, pushed, used;
	char *path = wpaths_full(wp, n.id);
	struct strbuf sb = STRBUF_INIT;
	json_t *models = json_array();
	sqlite3_stmt *st;
	int rc, ret = -1;

	pushed = n.push_time >= 0 ? n.push_time : n.first_seen;
	why_ev(a, "presence",
	       json_pack("{s:s, s:o, s:o, s:o, s:o, s:I}", "path", path,
			 "pushed", why_jtime(n.push_time), "firstSeen", why_jtime(n.first_seen),
			 "lastSeen", why_jtime(n.last_seen), "goneAt", why_jtime(n.gone),
			 "goneCrawl", (json_int_t)n.gone_crawl),
	       "`%s` was in the cache: first seen %s%s%s, last seen present %s, found gone by "
	       "crawl %lld at %s.", path, why_iso(n.first_seen, t1),
	       n.push_time >= 0 ? ", pushed " : "", n.push_time >= 0 ? why_iso(n.push_time, t2) : "",
	       why_iso(n.last_seen, t3), (long long)n.gone_crawl, why_iso(n.gone, t4));

	/* A reference that went no later than it: dependants of a lost path
	 * are no longer served, and Cachix's GC takes them too. */
	for (uint32_t e = 0; e < n.nrefs; e++) {
		int64_t x = wpaths_get(wp, wp->refs[n.refs_off + e]);
		if (x < 0)
			goto out;
		if (!wp->nodes[x].present && wp->nodes[x].gone && wp->nodes[x].gone <= n.gone) {
			char *rp = wpaths_full(wp, wp->nodes[x].id);
			json_array_append_new(models, json_pack("{s:s, s:s, s:s}", "model",
								"dependency-lost", "reference", rp,
								"policy", gc_policy_name(GC_CACHIX)));
			why_ev(a, "gc-model",
			       json_pack("{s:s, s:s, s:o}", "model", "dependency-lost", "reference", rp,
					 "referenceGoneAt", why_jtime(wp->nodes[x].gone)),
			       "A path it references, `%s`, went by %s: a path whose dependency is "
			       "gone cannot be substituted, and a GC that keeps closures whole "
			       "(Cachix) removes it too.", rp, why_iso(wp->nodes[x].gone, t1));
			free(rp);
			break;
		}
	}

	if (stmt_int(wp->db, &stmts, Q_HAS_LOGS, SQL_ARGS(wp->cache_id), &logs) ||
	    last_access(wp, n.id, n.gone, &any, &nar))
		goto out;
	used = any > pushed ? any : pushed;
	if (!logs) {
		why_ev(a, "access", json_pack("{s:b}", "accessLogs", 0),
		       "No access logs are imported for this cache, so its last use is not known "
		       "(see 'cachegc import-access'); the push time stands in for it.");
	} else {
		why_ev(a, "access",
		       json_pack("{s:b, s:o, s:o}", "accessLogs", 1, "lastAccess", why_jtime(any),
				 "lastNarDownload", why_jtime(nar)),
		       any >= 0 ? "Its last recorded access before it went: %s (NAR download: %s)."
				: "No access to it is recorded before it went%s%s.",
		       any >= 0 ? why_iso(any, t1) : "", any >= 0 ? (nar >= 0 ? why_iso(nar, t2)
									: "none") : "");
	}

	/* Least recently used first: did the cache keep anything used less
	 * recently? */
	if (stmt_int(wp->db, &stmts, Q_LRU_LATER_KEPT, SQL_ARGS(wp->cache_id, n.gone, used), &later))
		goto out;
	if (!later) {
		json_array_append_new(models, json_pack("{s:s, s:s}", "model", "lru", "policy",
							gc_policy_name(GC_CACHIX)));
		why_ev(a, "gc-model",
		       json_pack("{s:s, s:o, s:I}", "model", "lru", "lastUsed", why_jtime(used),
				 "keptLessRecentlyUsed", (json_int_t)0),
		       "Least recently used first (Cachix) explains it: every path the cache kept "
		       "through that crawl was used (%s) more recently than its %s.",
		       logs ? "accessed or pushed" : "pushed", why_iso(used, t1));
	} else {
		why_ev(a, "gc-model",
		       json_pack("{s:s, s:o, s:I}", "model", "not-lru", "lastUsed", why_jtime(used),
				 "keptLessRecentlyUsed", (json_int_t)later),
		       "Not plain least-recently-used: the cache kept %lld path%s used less "
		       "recently than its %s.", (long long)later, later == 1 ? "" : "s",
		       why_iso(used, t1));
	}

	/* A retention window (Attic): pushed and last downloaded long ago. */
	{
		int64_t last = nar > pushed ? nar : pushed;
		int64_t days = (n.gone - last) / 86400;
		if (n.gone - last >= (int64_t)GC_ATTIC_RETENTION_DAYS * 86400) {
			json_array_append_new(models, json_pack("{s:s, s:s, s:I}", "model", "expired",
								"policy", gc_policy_name(GC_ATTIC),
								"idleDays", (json_int_t)days));
			why_ev(a, "gc-model",
			       json_pack("{s:s, s:I, s:I}", "model", "expired", "idleDays",
					 (json_int_t)days, "retentionDays",
					 (json_int_t)GC_ATTIC_RETENTION_DAYS),
			       "A retention window (Attic's default %d days) explains it: it had "
			       "not been pushed or downloaded for %lld days when it went.",
			       GC_ATTIC_RETENTION_DAYS, (long long)days);
		}
	}

	/* Current evaluations as roots (niks3, priority): was it still an
	 * output of some group's latest evaluation? */
	{
		int64_t ever;
		if (stmt_int(wp->db, &stmts, Q_EVER_OUTPUT, SQL_ARGS(n.id, n.gone), &ever))
			goto out;
		if ((rc = stmt_row(wp->db, &stmts, Q_CURRENT_OUTPUT, &st, SQL_ARGS(n.id, n.gone))) < 0)
			goto out;
		if (rc == 1) {
			strbuf_reset(&sb);
			why_name(&sb, db_col_text(st, 0));
			strbuf_addstr(&sb, "` with capabilities `");
			why_name(&sb, db_col_text(st, 1));
			strbuf_addstr(&sb, "` (");
			why_name(&sb, db_col_text(st, 2));
			strbuf_addstr(&sb, ", rev ");
			why_name(&sb, db_col_text(st, 3));
			strbuf_addch(&sb, ')');
			why_ev(a, "gc-model",
			       json_pack("{s:s, s:s, s:s, s:s}", "model", "still-current", "branch",
					 db_col_text(st, 0), "capabilities", db_col_text(st, 1),
					 "system", db_col_text(st, 2)),
			       "When it went it was still an output of the latest evaluation of "
			       "`%s: a GC that keeps the current evaluations (niks3, priority) would "
			       "not have removed it.", sb.buf);
			stmt_done(st);
		} else if (ever) {
			json_array_append_new(models, json_pack("{s:s, s:s}", "model", "superseded",
								"policy", gc_policy_name(GC_NIKS3)));
			why_ev(a, "gc-model", json_pack("{s:s}", "model", "superseded"),
			       "When it went no group's latest evaluation had it as an output any "
			       "more (superseded): a GC that keeps only current evaluations "
			       "(niks3, priority) explains it.");
		}
	}
	strbuf_reset(&sb);
	for (size_t i = 0; i < json_array_size(models); i++) {
		json_t *m = json_array_get(models, i);
		strbuf_addf(&sb, "%s%s (%s)", i ? ", " : "",
			    json_string_value(json_object_get(m, "model")),
			    json_string_value(json_object_get(m, "policy")));
	}
	if (sb.len)
		why_ev(a, "gc-models", json_pack("{s:O}", "consistent", models),
		       "GC models its facts fit: %s.", sb.buf);
	else
		why_ev(a, "gc-models", json_pack("{s:O}", "consistent", models),
		       "None of cachegc's GC models (cachix, attic, niks3, priority) explains it "
		       "from its own facts: it may have been deleted by hand.");
	ret = 0;
out:
	json_decref(models);
	strbuf_release(&sb);
	free(path);
	return ret;
}

/* ---- cached ----------------------------------------------------------- */

/* Nix's narinfo-cache-negative-ttl default: a miss is remembered 1 h. */
#define NIX_NEGATIVE_TTL 3600

void why_explain_cached(struct wpaths *wp, const struct why_opts *o, struct why_answer *a,
			const struct wclosure *c)
{
	struct strbuf keys = STRBUF_INIT;
	json_t *jkeys = json_array();
	int64_t newest = -1;
	char t1[32];

	for (size_t k = 0; k < wp->tr.nkeys; k++) {
		if (!wp->tr.keys[k].active)
			continue;
		if (keys.len)
			strbuf_addch(&keys, ' ');
		strbuf_addstr(&keys, wp->tr.keys[k].text);
		json_array_append_new(jkeys, json_string(wp->tr.keys[k].text));
	}
	why_ev(a, "substituter",
	       json_pack("{s:s, s:o, s:I}", "substituter", o->cache_url, "trustedPublicKeys",
			 jkeys, "closurePaths", (json_int_t)c->n),
	       "%s%zu path%s of its closure %s in the cache%s.", c->n == 1 ? "The " : "All ",
	       c->n, c->n == 1 ? "" : "s", c->n == 1 ? "is" : "are",
	       wp->tr.nkeys ? " with trusted signatures" : "");
	why_advise(a, "In nix.conf: `extra-substituters = %s`", o->cache_url);
	if (keys.len)
		why_advise(a, "and `extra-trusted-public-keys = %s` (in a flake: the same two "
			   "settings under `nixConfig`).", keys.buf);
	else
		why_advise(a, "Signatures were not checked (no keys configured: see 'cachegc keys "
			   "add'); Nix still wants the cache's key in `trusted-public-keys`.");
	for (size_t i = 0; i < c->n; i++) {
		const struct wnode *n = &wp->nodes[c->m[i]];
		int64_t p = n->push_time >= 0 ? n->push_time : n->first_seen;
		if (p > newest)
			newest = p;
	}
	if (newest >= 0 && o->at - newest < NIX_NEGATIVE_TTL) {
		why_ev(a, "negative-cache",
		       json_pack("{s:o, s:i}", "newestPush", why_jtime(newest),
				 "narinfoCacheNegativeTtl", NIX_NEGATIVE_TTL),
		       "Part of its closure was pushed at %s, less than an hour ago: a Nix that "
		       "asked before then remembers the miss for `narinfo-cache-negative-ttl` "
		       "(3600 s by default).", why_iso(newest, t1));
		why_advise(a, "If Nix still builds it, retry with `--option "
			   "narinfo-cache-negative-ttl 0`.");
	}
	strbuf_release(&keys);
}
