/*
 * evals.c - the import of nix-eval-jobs output and build outcomes into the
 * DB, and the trusted keys.  The parsing is nix/evaljobs.c's.  See evals.h
 * for the contracts and sql/003_evals.sql for what the tables mean.
 */
#include "ingest/evals.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/stmt.h"
#include "store/meta.h"
#include "nix/nixhash.h"
#include "nix/sig.h"
#include "lib/linereader.h"
#include "lib/util.h"

/* ---- statements ------------------------------------------------------ */

enum {
	Q_PATH_INS,
	Q_PATH_GET,
	Q_STAGE_CLEAR,
	Q_STAGE_FIND,
	Q_STAGE_INS,
	Q_STAGE_SYSTEMS,
	Q_EVAL_EXACT,
	Q_EVAL_NEWEST,
	Q_EVAL_DIFF,
	Q_EVAL_INS,
	Q_JOBS_COPY,
	Q_BUILD_INS,
	Q_KEY_GET,
	Q_KEY_INS,
	Q_KEY_REVOKE,
	Q_N
};
static const char *const sql[Q_N] = {
	[Q_PATH_INS] = "INSERT OR IGNORE INTO paths (hash, name) VALUES (?1, ?2)",
	[Q_PATH_GET] = "SELECT id, name FROM paths WHERE hash = ?1",
	/* eval_stage: see SQL_STAGE_CREATE below. */
	[Q_STAGE_CLEAR] = "DELETE FROM temp.eval_stage",
	[Q_STAGE_FIND] = "SELECT line FROM temp.eval_stage WHERE attr = ?1 LIMIT 1",
	[Q_STAGE_INS] =
	"INSERT INTO temp.eval_stage (attr, output, path_id, drv_id, name, system, error,"
	" cache_status, needed_builds, needed_substitutes, line)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	/* The systems the jobs name, most jobs first. */
	[Q_STAGE_SYSTEMS] =
	"SELECT system, count(DISTINCT attr) AS n FROM temp.eval_stage WHERE system IS NOT NULL"
	" GROUP BY system ORDER BY n DESC, system",
	[Q_EVAL_EXACT] =
	"SELECT id, time, imported_at, source FROM evaluations WHERE branch = ?1 AND rev = ?2"
	" AND capabilities = ?3 AND system = ?4 AND time = ?5",
	[Q_EVAL_NEWEST] =
	"SELECT id, time, imported_at, source FROM evaluations WHERE branch = ?1 AND rev = ?2"
	" AND capabilities = ?3 AND system = ?4 ORDER BY time DESC LIMIT 1",
	/* Rows in one set and not the other, both ways (EXCEPT treats NULLs as
	 * equal, as wanted). */
	[Q_EVAL_DIFF] =
	"SELECT (SELECT count(*) FROM (SELECT attr, output, path_id, drv_id, error"
	"   FROM temp.eval_stage EXCEPT SELECT attr, output, path_id, drv_id, error"
	"   FROM eval_jobs WHERE evaluation_id = ?1)),"
	" (SELECT count(*) FROM (SELECT attr, output, path_id, drv_id, error"
	"   FROM eval_jobs WHERE evaluation_id = ?1 EXCEPT SELECT attr, output, path_id,"
	"   drv_id, error FROM temp.eval_stage))",
	[Q_EVAL_INS] =
	"INSERT INTO evaluations (branch, rev, capabilities, system, time, jobset, source,"
	" imported_at, bad_lines) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[Q_JOBS_COPY] =
	"INSERT INTO eval_jobs (evaluation_id, attr, output, path_id, drv_id, name, system,"
	" error, cache_status, needed_builds, needed_substitutes, line)"
	" SELECT ?1, attr, output, path_id, drv_id, name, system, error, cache_status,"
	" needed_builds, needed_substitutes, line FROM temp.eval_stage",
	[Q_BUILD_INS] =
	"INSERT OR IGNORE INTO builds (drv_id, status, hydra_status, hydra_id, time, job,"
	" name, system, source, imported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[Q_KEY_GET] = "SELECT public_key, added_at, revoked_at FROM trusted_keys WHERE name = ?1",
	[Q_KEY_INS] = "INSERT INTO trusted_keys (name, public_key, added_at) VALUES (?1, ?2, ?3)",
	[Q_KEY_REVOKE] =
	"UPDATE trusted_keys SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL",
};
static struct stmt_table stmts = STMT_TABLE("evals", sql);

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* ---- problems ------------------------------------------------------- */

static void problem_add(struct import_problems *p, unsigned line, unsigned item,
			const char *fmt, ...) ATTR_PRINTF(4, 5);
static void problem_add(struct import_problems *p, unsigned line, unsigned item,
			const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	p->total++;
	if (p->n >= IMPORT_PROBLEMS_KEPT)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	GROW(p->v, p->alloc, p->n + 1);
	p->v[p->n].line = line;
	p->v[p->n].item = item;
	p->v[p->n].msg = xstrdup(buf);
	p->n++;
}

void import_problems_release(struct import_problems *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i].msg);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

/* ---- DB helpers ----------------------------------------------------- */

/*
 * The paths.id of the full store path p (already checked to lie in
 * store_dir), inserting it when new.  Returns 0, 1 when the DB knows
 * that hash under another name (why filled), -1 on a DB error (reported).
 */
static int path_intern(struct db *db, const char *store_dir, const char *p, int64_t *id,
		       char *why, size_t whysz)
{
	const char *base = p + strlen(store_dir) + 1, *name = base + STORE_HASH_LEN + 1;
	sqlite3_stmt *st;
	char a[PARSE_SHOWN_MAX], b[PARSE_SHOWN_MAX];
	int r;

	if (stmt_exec(db, &stmts, Q_PATH_INS, SQL_ARGS(SQL_TEXTN(base, STORE_HASH_LEN), name)))
		return -1;
	if ((r = stmt_row(db, &stmts, Q_PATH_GET, &st,
			  SQL_ARGS(SQL_TEXTN(base, STORE_HASH_LEN)))) <= 0) {
		if (r == 0)
			error("database '%s': path '%.32s' vanished", db->path, base);
		return -1;
	}
	*id = sqlite3_column_int64(st, 0);
	if (strcmp(db_col_text(st, 1), name)) {
		snprintf(why, whysz, "'%s' has the hash of the known path '%.32s-%s'",
			 parse_shown(a, sizeof(a), base, strlen(base)), base,
			 parse_shown(b, sizeof(b), db_col_text(st, 1), strlen(db_col_text(st, 1))));
		stmt_done(st);
		return 1;
	}
	stmt_done(st);
	return 0;
}

/* ---- importing evaluations ------------------------------------------ */

/* Jobs are gathered in a temporary table first, so a re-import can be
 * compared with what is recorded before anything is written.  Created
 * outside any transaction: a rollback must not drop it under the prepared
 * statements.  So it is run by db_exec(), not from the table. */
static const char SQL_STAGE_CREATE[] =
	"CREATE TEMP TABLE IF NOT EXISTS eval_stage ("
	" attr TEXT NOT NULL, output TEXT NOT NULL, path_id INTEGER, drv_id INTEGER,"
	" name TEXT, system TEXT, error TEXT, cache_status TEXT, needed_builds INTEGER,"
	" needed_substitutes INTEGER, line INTEGER NOT NULL,"
	" PRIMARY KEY (attr, output)) WITHOUT ROWID";

static int stage_row(struct db *db, const struct eval_job *job, const char *output,
		     int64_t path_id, int64_t drv_id, unsigned line)
{
	return stmt_exec(db, &stmts, Q_STAGE_INS,
			 SQL_ARGS(job->attr, output, SQL_INT_OPT(path_id), SQL_INT_OPT(drv_id),
				  job->name, job->system, job->error, job->cache_status,
				  SQL_INT_OPT(job->needed_builds),
				  SQL_INT_OPT(job->needed_substitutes), line));
}

/* Stage one parsed job.  0 staged, 1 skipped (problem recorded), -1 DB
 * error (reported). */
static int stage_job(struct db *db, const char *store_dir, const struct eval_job *job,
		     unsigned line, struct eval_import_result *res)
{
	sqlite3_stmt *st;
	int64_t drv_id = -1, *ids = NULL;
	char why[256], show[PARSE_SHOWN_MAX];
	int r, rc = -1;

	if ((r = stmt_row(db, &stmts, Q_STAGE_FIND, &st, SQL_ARGS(job->attr))) < 0)
		return -1;
	if (r) {
		res->duplicates++;
		problem_add(&res->problems, line, 0, "duplicate job '%s' (first on line %lld), skipped",
			    parse_shown(show, sizeof(show), job->attr, strlen(job->attr)),
			    (long long)sqlite3_column_int64(st, 0));
		stmt_done(st);
		return 1;
	}
	if (job->error && !job->noutputs) {
		if (stage_row(db, job, "", -1, -1, line))
			return -1;
		res->jobs++;
		res->eval_errors++;
		return 0;
	}
	ids = xcalloc(job->noutputs, sizeof(*ids));
	if ((r = path_intern(db, store_dir, job->drv_path, &drv_id, why, sizeof(why))) != 0)
		goto refused;
	for (size_t i = 0; i < job->noutputs; i++) {
		ids[i] = -1;
		if (job->outputs[i].path &&
		    (r = path_intern(db, store_dir, job->outputs[i].path, &ids[i], why, sizeof(why))))
			goto refused;
	}
	for (size_t i = 0; i < job->noutputs; i++)
		if (stage_row(db, job, job->outputs[i].name, ids[i], drv_id, line))
			goto out;
	res->jobs++;
	res->outputs += (unsigned)job->noutputs;
	if (job->error)
		res->eval_errors++;   /* an aggregate, its outputs kept */
	rc = 0;
	goto out;
refused:
	if (r > 0) {
		res->bad_lines++;
		problem_add(&res->problems, line, 0, "%s, skipped", why);
		rc = 1;
	}
out:
	free(ids);
	return rc;
}

struct found_eval {
	int64_t id, time, imported_at;
	char source[256];
};

/* 1 and *f when query q (Q_EVAL_EXACT or Q_EVAL_NEWEST) finds an
 * evaluation, 0 when not, -1 (reported). */
static int find_eval(struct db *db, unsigned q, const struct eval_meta *m,
		     struct found_eval *f)
{
	sqlite3_stmt *st;
	int r;

	if (q == Q_EVAL_EXACT)
		r = stmt_row(db, &stmts, q, &st,
			     SQL_ARGS(m->branch, m->rev, m->capabilities, m->system, m->time));
	else
		r = stmt_row(db, &stmts, q, &st,
			     SQL_ARGS(m->branch, m->rev, m->capabilities, m->system));
	if (r <= 0)
		return r;
	f->id = sqlite3_column_int64(st, 0);
	f->time = sqlite3_column_int64(st, 1);
	f->imported_at = sqlite3_column_int64(st, 2);
	snprintf(f->source, sizeof(f->source), "%s", db_col_text(st, 3));
	stmt_done(st);
	return 1;
}

/* Count staged rows not in evaluation id and the other way round. */
static int diff_eval(struct db *db, int64_t id, int64_t *extra, int64_t *missing)
{
	sqlite3_stmt *st;

	if (stmt_row(db, &stmts, Q_EVAL_DIFF, &st, SQL_ARGS(id)) <= 0)
		return -1;
	*extra = sqlite3_column_int64(st, 0);
	*missing = sqlite3_column_int64(st, 1);
	stmt_done(st);
	return 0;
}

static int is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_space(s[i]))
			return 0;
	return 1;
}

/*
 * The evaluation's system when none was given: the one its jobs name, or
 * EVALS_DEFAULT_SYSTEM when none names one, into res->system.  Jobs for
 * several systems fail (res->failure): which of them the evaluation is
 * filed under is the user's to say.  0, or -1.
 */
static int system_from_lines(struct db *db, const struct eval_meta *m,
			     struct eval_import_result *res)
{
	sqlite3_stmt *st = stmt_query(db, &stmts, Q_STAGE_SYSTEMS, SQL_NOARGS);
	struct strbuf sb = STRBUF_INIT;
	struct parse_error e;
	unsigned n = 0;
	int r;

	if (!st)
		return -1;
	while ((r = db_step(db, st)) == 1) {
		const char *sys = db_col_text(st, 0);
		if (!n)
			snprintf(res->system, sizeof(res->system), "%s", sys);
		if (n < 4)
			strbuf_addf(&sb, "%s%.64s (%lld job%s)", n ? ", " : "", sys,
				    (long long)sqlite3_column_int64(st, 1),
				    sqlite3_column_int64(st, 1) == 1 ? "" : "s");
		else if (n == 4)
			strbuf_addstr(&sb, ", ...");
		n++;
	}
	stmt_done(st);
	if (r < 0) {
		strbuf_release(&sb);
		return -1;
	}
	if (!n)
		snprintf(res->system, sizeof(res->system), "%s", EVALS_DEFAULT_SYSTEM);
	if (n > 1) {
		res->system[0] = '\0';
		snprintf(res->failure, sizeof(res->failure), "'%s': its jobs are for %u systems: "
			 "%s; say which one the evaluation is filed under with --system (or a "
			 "manifest's SYSTEM field); nothing imported", m->source, n, sb.buf);
		strbuf_release(&sb);
		return -1;
	}
	strbuf_release(&sb);
	if (evals_check_label("the system its jobs name", res->system, 0, &e)) {
		snprintf(res->failure, sizeof(res->failure), "'%s': %s; give --system; nothing "
			 "imported", m->source, e.msg);
		return -1;
	}
	return 0;
}

/* Read and stage every line of in.  0, or -1 (reported). */
static int stage_input(struct db *db, FILE *in, const char *store_dir,
		       const struct eval_meta *m, struct eval_import_result *res)
{
	struct line_reader lr;
	struct eval_job job;
	struct parse_error e;
	const char *line;
	size_t n;
	int r, rc = -1;

	line_reader_init(&lr, in, EVALS_MAX_LINE);
	for (;;) {
		r = line_reader_next(&lr, &line, &n);
		if (r == LR_EOF)
			break;
		if (r == LR_ERROR) {
			snprintf(res->failure, sizeof(res->failure), "cannot read '%s': %s",
				 m->source, strerror(errno));
			goto out;
		}
		if (r == LR_TOO_LONG) {
			res->lines++;
			res->bad_lines++;
			problem_add(&res->problems, lr.lineno, 0,
				    "line longer than %d bytes, skipped", EVALS_MAX_LINE);
			continue;
		}
		if (lr.lineno == 1 && n >= 3 && !memcmp(line, "\xef\xbb\xbf", 3)) {
			line += 3;
			n -= 3;
		}
		if (is_blank(line, n))
			continue;
		res->lines++;
		if (eval_job_parse(line, n, store_dir, &job, &e)) {
			res->bad_lines++;
			problem_add(&res->problems, lr.lineno, 0, "%s, skipped", e.msg);
			continue;
		}
		r = stage_job(db, store_dir, &job, lr.lineno, res);
		eval_job_release(&job);
		if (r < 0)
			goto out;
	}
	rc = 0;
out:
	line_reader_release(&lr);
	return rc;
}

int evals_import(struct db *db, FILE *in, const struct eval_meta *given,
		 struct eval_import_result *res)
{
	struct eval_meta meta = *given, *m = &meta;
	struct found_eval f;
	char *store_dir = NULL;
	int64_t extra = 0, missing = 0;
	int r, rc = -1, in_tx = 0;

	memset(res, 0, sizeof(*res));
	if (db_exec(db, SQL_STAGE_CREATE) || !(store_dir = db_store_dir(db)))
		return -1;
	if (db_begin(db))
		goto out;
	in_tx = 1;
	if (stmt_exec(db, &stmts, Q_STAGE_CLEAR, SQL_NOARGS))
		goto out;
	if (stage_input(db, in, store_dir, m, res))
		goto out;
	if (!res->jobs) {
		snprintf(res->failure, sizeof(res->failure), "'%s': no jobs (%u lines, %u "
			 "malformed); is it nix-eval-jobs output?  nothing imported", m->source,
			 res->lines, res->bad_lines);
		goto out;
	}
	if (m->strict && (res->bad_lines || res->duplicates)) {
		snprintf(res->failure, sizeof(res->failure), "'%s': %u malformed and %u "
			 "duplicate lines; nothing imported (--strict)", m->source,
			 res->bad_lines, res->duplicates);
		goto out;
	}
	if (m->system)
		snprintf(res->system, sizeof(res->system), "%s", m->system);
	else if (system_from_lines(db, m, res))
		goto out;
	m->system = res->system;

	/* Already there? */
	if ((r = find_eval(db, Q_EVAL_EXACT, m, &f)) < 0)
		goto out;
	if (r || !m->time_given) {
		if (!r && (r = find_eval(db, Q_EVAL_NEWEST, m, &f)) < 0)
			goto out;
		if (r && diff_eval(db, f.id, &extra, &missing))
			goto out;
		if (r && !extra && !missing) {
			res->already = 1;
			res->evaluation_id = f.id;
			res->existing_time = f.time;
			res->imported_at = f.imported_at;
			rc = 0;
			goto out;   /* rolls back: nothing changes */
		}
		if (r && f.time == m->time) {
			char t[32];
			snprintf(res->failure, sizeof(res->failure), "'%s': evaluation %lld (%s, "
				 "imported from '%.200s') has the same branch, rev, capabilities, "
				 "system and time but other jobs (%lld rows only here, %lld only "
				 "there); evaluations are immutable: if this is another evaluation, "
				 "give it its own --time; nothing imported", m->source, (long long)f.id,
				 format_time(f.time, t, sizeof(t)), f.source, (long long)extra,
				 (long long)missing);
			goto out;
		}
	}

	if (stmt_exec(db, &stmts, Q_EVAL_INS,
		      SQL_ARGS(m->branch, m->rev, m->capabilities, m->system, m->time, m->jobset,
			       m->source, clock_now(), res->bad_lines)))
		goto out;
	res->evaluation_id = db_last_id(db);
	if (stmt_exec(db, &stmts, Q_JOBS_COPY, SQL_ARGS(res->evaluation_id)) || db_commit(db))
		goto out;
	in_tx = 0;
	rc = 0;
out:
	if (in_tx)
		db_rollback(db);
	stmt_exec(db, &stmts, Q_STAGE_CLEAR, SQL_NOARGS);
	free(store_dir);
	if (rc)
		res->evaluation_id = 0;
	return rc;
}

/* ---- importing builds ----------------------------------------------- */

struct builds_ctx {
	struct db *db;
	char *store_dir;
	const char *source;
	int64_t now;
	struct builds_import_result *res;
};

static int on_build(void *vctx, const struct build_record *rec, unsigned line, unsigned item)
{
	struct builds_ctx *c = vctx;
	int64_t drv_id;
	char why[256];
	int r;

	if ((r = path_intern(c->db, c->store_dir, rec->drv_path, &drv_id, why, sizeof(why))) < 0)
		return -1;
	if (r > 0) {
		c->res->bad++;
		problem_add(&c->res->problems, line, item, "%s, skipped", why);
		return 0;
	}
	if (stmt_exec(c->db, &stmts, Q_BUILD_INS,
		      SQL_ARGS(drv_id, rec->status, SQL_INT_OPT(rec->hydra_status),
			       SQL_INT_OPT(rec->hydra_id), SQL_INT_OPT(rec->time), rec->job, rec->name,
			       rec->system, c->source, c->now)))
		return -1;
	c->res->records++;
	if (db_changes(c->db))
		c->res->imported++;
	else
		c->res->known++;
	return 0;
}

static void on_bad_build(void *vctx, unsigned line, unsigned item, const char *msg)
{
	struct builds_ctx *c = vctx;

	c->res->bad++;
	problem_add(&c->res->problems, line, item, "%s, skipped", msg);
}

int builds_import(struct db *db, const char *buf, size_t len, const char *source,
		  struct builds_import_result *res)
{
	struct builds_ctx c = {db, NULL, source, clock_now(), res};
	struct parse_error e;
	int rc = -1, in_tx = 0;

	memset(res, 0, sizeof(*res));
	if (!(c.store_dir = db_store_dir(db)))
		return -1;
	if (db_begin(db))
		goto out;
	in_tx = 1;
	if (builds_parse(buf, len, c.store_dir, on_build, on_bad_build, &c, &e)) {
		if (e.msg[0])
			snprintf(res->failure, sizeof(res->failure), "'%s': %s; nothing imported",
				 source, e.msg);
		goto out;
	}
	if (!res->records && res->bad) {
		snprintf(res->failure, sizeof(res->failure), "'%s': none of its %u records "
			 "could be used; nothing imported", source, res->bad);
		goto out;
	}
	if (db_commit(db))
		goto out;
	in_tx = 0;
	rc = 0;
out:
	if (in_tx)
		db_rollback(db);
	free(c.store_dir);
	return rc;
}

/* ---- trusted keys --------------------------------------------------- */

int trusted_key_parse(const char *s, struct trusted_key_arg *out, struct parse_error *err)
{
	struct sig_public_key k;
	char why[SIG_ERR_MAX];

	memset(out, 0, sizeof(*out));
	/* sig.c owns the key format (and asks libcrypto whether it is a key). */
	if (sig_public_parse(s, strlen(s), &k, why, sizeof(why))) {
		struct sig_secret_key sk;
		char e2[SIG_ERR_MAX];
		if (!sig_secret_parse(s, strlen(s), &sk, e2, sizeof(e2))) {
			char name[PARSE_SHOWN_MAX];
			parse_shown(name, sizeof(name), sk.name, strlen(sk.name));
			sig_secret_release(&sk);
			return parse_fail(err, 0, "'%s:...' is a secret key (as 'nix key "
					  "generate-secret' writes it), not a public one: keep it "
					  "secret, and give its public half, from 'nix key "
					  "convert-secret-to-public < FILE'", name);
		}
		return parse_fail(err, 0, "%s (want NAME:BASE64, the 32-byte key in 44 characters of "
			    "base64, as 'nix key convert-secret-to-public' prints it)", why);
	}
	snprintf(out->name, sizeof(out->name), "%s", k.name);
	base64_encode(k.key, SIG_KEY_BYTES, out->key_b64);
	sig_public_release(&k);
	return 0;
}

int keys_add(struct db *db, const struct trusted_key_arg *k, int64_t now)
{
	sqlite3_stmt *st;
	char t[32];
	int r, rc = -1;

	if (db_begin(db))
		return -1;
	if ((r = stmt_row(db, &stmts, Q_KEY_GET, &st, SQL_ARGS(k->name))) < 0)
		goto out;
	if (r) {
		int same = !strcmp(db_col_text(st, 0), k->key_b64);
		int revoked = sqlite3_column_type(st, 2) != SQLITE_NULL;
		int64_t when = sqlite3_column_int64(st, 2);
		stmt_done(st);
		if (revoked) {
			error("key '%s' was revoked at %s and stays revoked (Nix cannot date "
			      "signatures); give a new key a new name", k->name,
			      format_time(when, t, sizeof(t)));
			goto out;
		}
		if (!same) {
			error("a key named '%s' is already trusted with another public key; "
			      "revoke it ('cachegc keys revoke %s') and add the new key under a "
			      "new name", k->name, k->name);
			goto out;
		}
		rc = 1;
		goto out;
	}
	if (stmt_exec(db, &stmts, Q_KEY_INS, SQL_ARGS(k->name, k->key_b64, now)) ||
	    db_commit(db))
		goto out;
	return 0;
out:
	db_rollback(db);
	return rc;
}

int keys_revoke(struct db *db, const char *name, int64_t at, int64_t *when)
{
	sqlite3_stmt *st;
	int r, rc = -1;
	char show[PARSE_SHOWN_MAX];

	if (db_begin(db))
		return -1;
	if ((r = stmt_row(db, &stmts, Q_KEY_GET, &st, SQL_ARGS(name))) < 0)
		goto out;
	if (!r) {
		error("no trusted key named '%s'; see 'cachegc keys list'",
		      parse_shown(show, sizeof(show), name, strlen(name)));
		goto out;
	}
	if (sqlite3_column_type(st, 2) != SQLITE_NULL) {
		*when = sqlite3_column_int64(st, 2);
		stmt_done(st);
		rc = 1;
		goto out;
	}
	stmt_done(st);
	if (stmt_exec(db, &stmts, Q_KEY_REVOKE, SQL_ARGS(name, at)) || db_commit(db))
		goto out;
	*when = at;
	return 0;
out:
	db_rollback(db);
	return rc;
}
