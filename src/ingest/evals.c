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
#include "lib/hash.h"
#include "lib/hashmap.h"
#include "lib/linereader.h"
#include "lib/util.h"

/* ---- statements ------------------------------------------------------ */

enum {
	Q_PATH_INS,
	Q_PATH_GET,
	Q_EVAL_EXACT,
	Q_EVAL_NEWEST,
	Q_EVAL_NEXT_ID,
	Q_EVAL_DIFF,
	Q_EVAL_INS,
	Q_JOB_INS,
	Q_BUILD_INS,
	Q_KEY_GET,
	Q_KEY_INS,
	Q_KEY_REVOKE,
	Q_N
};
static const char *const sql[Q_N] = {
	[Q_PATH_INS] = "INSERT OR IGNORE INTO paths (hash, name) VALUES (?1, ?2)",
	[Q_PATH_GET] = "SELECT id, name FROM paths WHERE hash = ?1",
	[Q_EVAL_EXACT] =
	"SELECT id, time, imported_at, source FROM evaluations WHERE branch = ?1 AND rev = ?2"
	" AND capabilities = ?3 AND system = ?4 AND time = ?5",
	[Q_EVAL_NEWEST] =
	"SELECT id, time, imported_at, source FROM evaluations WHERE branch = ?1 AND rev = ?2"
	" AND capabilities = ?3 AND system = ?4 ORDER BY time DESC LIMIT 1",
	/* The id INSERT would give the next evaluation (no AUTOINCREMENT:
	 * the greatest plus one). */
	[Q_EVAL_NEXT_ID] = "SELECT coalesce(max(id), 0) + 1 FROM evaluations",
	/* Rows of evaluation ?1 not in ?2, and of ?2 not in ?1 (EXCEPT treats
	 * NULLs as equal, as wanted). */
	[Q_EVAL_DIFF] =
	"SELECT (SELECT count(*) FROM (SELECT attr, output, path_id, drv_id, error"
	"   FROM eval_jobs WHERE evaluation_id = ?1 EXCEPT SELECT attr, output, path_id,"
	"   drv_id, error FROM eval_jobs WHERE evaluation_id = ?2)),"
	" (SELECT count(*) FROM (SELECT attr, output, path_id, drv_id, error"
	"   FROM eval_jobs WHERE evaluation_id = ?2 EXCEPT SELECT attr, output, path_id,"
	"   drv_id, error FROM eval_jobs WHERE evaluation_id = ?1))",
	[Q_EVAL_INS] =
	"INSERT INTO evaluations (id, branch, rev, capabilities, system, time, jobset, source,"
	" imported_at, bad_lines) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[Q_JOB_INS] =
	"INSERT INTO eval_jobs (evaluation_id, attr, output, path_id, drv_id, name, system,"
	" error, cache_status, needed_builds, needed_substitutes, line)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
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

/* ---- paths ---------------------------------------------------------- */

/*
 * The paths an import has interned, by hash: most jobs of an evaluation
 * name the paths the evaluation before named, so after the first one a
 * path costs a probe here instead of two statements.  Each item keeps the
 * DB's id and name ("hash-name", in the arena), so a line naming a known
 * hash under another name is refused as the DB would refuse it.
 *
 * An item whose row this import inserted is tentative until the
 * transaction commits: rolling back an evaluation (or the transaction)
 * takes its rows back, so its items die (id 0) and are looked up in the
 * DB again when next asked for.  Another process's commit (data_version)
 * empties the cache.  It is emptied too when it reaches PATH_CACHE_MAX
 * items, which bounds its memory (about 100 bytes an item).
 */
#define PATH_CACHE_MAX (8u << 20)

struct path_item {
	int64_t id;            /* 0: dead, look it up again */
	size_t off;            /* "hash-name" in arena */
	uint32_t len;
};

struct evals_path_cache {
	struct hashmap map;
	struct path_item *items;
	size_t n, alloc;
	char *arena;
	size_t alen, aalloc;
	uint32_t *tent;        /* items whose rows the open transaction inserted */
	size_t ntent, atent;
	unsigned clears;       /* times emptied */
};

static void path_cache_clear(struct evals_path_cache *c)
{
	unsigned clears = c->clears + 1;

	hashmap_release(&c->map);
	free(c->items);
	free(c->arena);
	free(c->tent);
	memset(c, 0, sizeof(*c));
	c->clears = clears;
}

static int path_item_eq(const void *ctx, uint32_t i, const void *key)
{
	const struct evals_path_cache *c = ctx;

	return !memcmp(c->arena + c->items[i].off, key, STORE_HASH_LEN);
}

static uint64_t path_hash(const char *base)
{
	return hash_mix64(hash_fnv1a(base, STORE_HASH_LEN));
}

/* Remember that hash base[0..32) is row id named name; item i when it
 * is the dead item of that hash, else HASHMAP_NONE.  tentative: the row
 * was inserted by the open transaction. */
static void path_cache_put(struct evals_path_cache *c, uint32_t i, const char *base,
			   const char *name, int64_t id, int tentative)
{
	size_t nlen = strlen(name), len = STORE_HASH_LEN + 1 + nlen;

	if (i == HASHMAP_NONE && c->n >= PATH_CACHE_MAX)
		path_cache_clear(c);
	if (c->alen + len > c->aalloc) {
		c->aalloc = c->aalloc ? c->aalloc * 2 : 1 << 20;
		while (c->alen + len > c->aalloc)
			c->aalloc *= 2;
		c->arena = xrealloc(c->arena, c->aalloc);
	}
	memcpy(c->arena + c->alen, base, STORE_HASH_LEN);
	c->arena[c->alen + STORE_HASH_LEN] = '-';
	memcpy(c->arena + c->alen + STORE_HASH_LEN + 1, name, nlen);
	if (i == HASHMAP_NONE) {
		GROW(c->items, c->alloc, c->n + 1);
		i = (uint32_t)c->n++;
		hashmap_add(&c->map, path_hash(base), i);
	}
	c->items[i].id = id;
	c->items[i].off = c->alen;
	c->items[i].len = (uint32_t)len;
	c->alen += len;
	if (tentative) {
		GROW(c->tent, c->atent, c->ntent + 1);
		c->tent[c->ntent++] = i;
	}
}

/* The rows the open transaction inserted after the first mark of c->tent
 * were taken back. */
static void path_cache_rollback(struct evals_path_cache *c, size_t mark)
{
	for (size_t k = mark; k < c->ntent; k++)
		c->items[c->tent[k]].id = 0;
	if (mark < c->ntent)
		c->ntent = mark;
}

static void why_other_name(char *why, size_t whysz, const char *base, const char *known,
			   size_t known_len)
{
	char a[PARSE_SHOWN_MAX], b[PARSE_SHOWN_MAX];

	snprintf(why, whysz, "'%s' has the hash of the known path '%.32s-%s'",
		 parse_shown(a, sizeof(a), base, strlen(base)), base,
		 parse_shown(b, sizeof(b), known, known_len));
}

/*
 * The paths.id of the full store path p (already checked to lie in
 * store_dir), inserting it when new; through cache c when not NULL.
 * Returns 0, 1 when the DB knows that hash under another name (why
 * filled), -1 on a DB error (reported).
 */
static int path_intern(struct db *db, struct evals_path_cache *c, const char *store_dir,
		       const char *p, int64_t *id, char *why, size_t whysz)
{
	const char *base = p + strlen(store_dir) + 1, *name = base + STORE_HASH_LEN + 1;
	uint32_t i = HASHMAP_NONE;
	sqlite3_stmt *st;
	int r, inserted;

	if (c && (i = hashmap_find(&c->map, path_hash(base), path_item_eq, c, base)) !=
		 HASHMAP_NONE && c->items[i].id) {
		const struct path_item *it = &c->items[i];
		const char *known = c->arena + it->off + STORE_HASH_LEN + 1;
		size_t known_len = it->len - STORE_HASH_LEN - 1;
		if (strlen(name) != known_len || memcmp(name, known, known_len)) {
			why_other_name(why, whysz, base, known, known_len);
			return 1;
		}
		*id = it->id;
		return 0;
	}
	if (stmt_exec(db, &stmts, Q_PATH_INS, SQL_ARGS(SQL_TEXTN(base, STORE_HASH_LEN), name)))
		return -1;
	inserted = db_changes(db) > 0;
	if ((r = stmt_row(db, &stmts, Q_PATH_GET, &st,
			  SQL_ARGS(SQL_TEXTN(base, STORE_HASH_LEN)))) <= 0) {
		if (r == 0)
			error("database '%s': path '%.32s' vanished", db->path, base);
		return -1;
	}
	*id = sqlite3_column_int64(st, 0);
	if (c)
		path_cache_put(c, i, base, db_col_text(st, 1), *id, inserted);
	if (strcmp(db_col_text(st, 1), name)) {
		why_other_name(why, whysz, base, db_col_text(st, 1), strlen(db_col_text(st, 1)));
		stmt_done(st);
		return 1;
	}
	stmt_done(st);
	return 0;
}

/* ---- importing evaluations ------------------------------------------ */

/*
 * One evaluation's jobs go straight into eval_jobs under the id its
 * evaluations row will have (the next rowid: the transaction is ours),
 * inside a savepoint.  When the same evaluation turns out to be there
 * already, or the input fails, the savepoint is rolled back and nothing
 * of it stays.  The attrs seen so far (to refuse duplicates) and the
 * systems the jobs name are kept in memory meanwhile.
 */
struct attr_item {
	size_t off;            /* attr, NUL-terminated, in names */
	unsigned line;
};

struct sys_count {
	char *name;
	int64_t n;
};

struct eval_state {
	struct db *db;
	struct evals_path_cache *paths;
	const char *store_dir;
	int64_t eval_id;
	struct hashmap attrs;
	struct attr_item *items;
	size_t nitems, aitems;
	struct strbuf names;
	struct sys_count *sys;
	size_t nsys, asys;
	int64_t *ids;          /* output path ids of the job at hand */
	size_t aids;
};

static void eval_state_release(struct eval_state *s)
{
	hashmap_release(&s->attrs);
	free(s->items);
	strbuf_release(&s->names);
	for (size_t i = 0; i < s->nsys; i++)
		free(s->sys[i].name);
	free(s->sys);
	free(s->ids);
}

static int attr_item_eq(const void *ctx, uint32_t i, const void *key)
{
	const struct eval_state *s = ctx;

	return !strcmp(s->names.buf + s->items[i].off, key);
}

/* The line of the recorded job attr, or 0. */
static unsigned attr_seen(const struct eval_state *s, const char *attr)
{
	uint32_t i = hashmap_find(&s->attrs, hash_mix64(hash_fnv1a(attr, strlen(attr))),
				  attr_item_eq, s, attr);

	return i == HASHMAP_NONE ? 0 : s->items[i].line;
}

/* Job attr, on line, is recorded (so later ones are duplicates). */
static void attr_add(struct eval_state *s, const char *attr, unsigned line)
{
	size_t len = strlen(attr);

	GROW(s->items, s->aitems, s->nitems + 1);
	s->items[s->nitems].off = s->names.len;
	s->items[s->nitems].line = line;
	hashmap_add(&s->attrs, hash_mix64(hash_fnv1a(attr, len)), (uint32_t)s->nitems);
	s->nitems++;
	strbuf_add(&s->names, attr, len + 1);
}

static void count_system(struct eval_state *s, const char *system)
{
	if (!system)
		return;
	for (size_t i = 0; i < s->nsys; i++)
		if (!strcmp(s->sys[i].name, system)) {
			s->sys[i].n++;
			return;
		}
	GROW(s->sys, s->asys, s->nsys + 1);
	s->sys[s->nsys].name = xstrdup(system);
	s->sys[s->nsys++].n = 1;
}

static int job_row(struct eval_state *s, const struct eval_job *job, const char *output,
		   int64_t path_id, int64_t drv_id, unsigned line)
{
	return stmt_exec(s->db, &stmts, Q_JOB_INS,
			 SQL_ARGS(s->eval_id, job->attr, output, SQL_INT_OPT(path_id),
				  SQL_INT_OPT(drv_id), job->name, job->system, job->error,
				  job->cache_status, SQL_INT_OPT(job->needed_builds),
				  SQL_INT_OPT(job->needed_substitutes), line));
}

/* Record one parsed job.  0 recorded, 1 skipped (problem recorded), -1 DB
 * error (reported). */
static int add_job(struct eval_state *s, const struct eval_job *job, unsigned line,
		   struct eval_import_result *res)
{
	int64_t drv_id = -1;
	char why[256], show[PARSE_SHOWN_MAX];
	unsigned first;
	int r;

	if ((first = attr_seen(s, job->attr))) {
		res->duplicates++;
		problem_add(&res->problems, line, 0, "duplicate job '%s' (first on line %u), skipped",
			    parse_shown(show, sizeof(show), job->attr, strlen(job->attr)), first);
		return 1;
	}
	if (job->error && !job->noutputs) {
		if (job_row(s, job, "", -1, -1, line))
			return -1;
		attr_add(s, job->attr, line);
		count_system(s, job->system);
		res->jobs++;
		res->eval_errors++;
		return 0;
	}
	GROW(s->ids, s->aids, job->noutputs);
	if ((r = path_intern(s->db, s->paths, s->store_dir, job->drv_path, &drv_id, why,
			     sizeof(why))) != 0)
		goto refused;
	for (size_t i = 0; i < job->noutputs; i++) {
		s->ids[i] = -1;
		if (job->outputs[i].path &&
		    (r = path_intern(s->db, s->paths, s->store_dir, job->outputs[i].path, &s->ids[i],
				     why, sizeof(why))))
			goto refused;
	}
	for (size_t i = 0; i < job->noutputs; i++)
		if (job_row(s, job, job->outputs[i].name, s->ids[i], drv_id, line))
			return -1;
	attr_add(s, job->attr, line);
	count_system(s, job->system);
	res->jobs++;
	res->outputs += (unsigned)job->noutputs;
	if (job->error)
		res->eval_errors++;   /* an aggregate, its outputs kept */
	return 0;
refused:
	if (r < 0)
		return -1;
	res->bad_lines++;
	problem_add(&res->problems, line, 0, "%s, skipped", why);
	return 1;
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

/* Count the rows of evaluation id not in old and the other way round. */
static int diff_eval(struct db *db, int64_t id, int64_t old, int64_t *extra, int64_t *missing)
{
	sqlite3_stmt *st;

	if (stmt_row(db, &stmts, Q_EVAL_DIFF, &st, SQL_ARGS(id, old)) <= 0)
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

static int sys_cmp(const void *a, const void *b)
{
	const struct sys_count *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return strcmp(x->name, y->name);
}

/*
 * The evaluation's system when none was given: the one its jobs name, or
 * EVALS_DEFAULT_SYSTEM when none names one, into res->system.  Jobs for
 * several systems fail (res->failure): which of them the evaluation is
 * filed under is the user's to say.  0, or -1.
 */
static int system_from_lines(struct eval_state *s, const struct eval_meta *m,
			     struct eval_import_result *res)
{
	struct strbuf sb = STRBUF_INIT;
	struct parse_error e;

	if (s->nsys > 1)
		qsort(s->sys, s->nsys, sizeof(*s->sys), sys_cmp);
	for (size_t n = 0; n < s->nsys; n++) {
		if (!n)
			snprintf(res->system, sizeof(res->system), "%s", s->sys[n].name);
		if (n < 4)
			strbuf_addf(&sb, "%s%.64s (%lld job%s)", n ? ", " : "", s->sys[n].name,
				    (long long)s->sys[n].n, s->sys[n].n == 1 ? "" : "s");
		else if (n == 4)
			strbuf_addstr(&sb, ", ...");
	}
	if (!s->nsys)
		snprintf(res->system, sizeof(res->system), "%s", EVALS_DEFAULT_SYSTEM);
	if (s->nsys > 1) {
		res->system[0] = '\0';
		snprintf(res->failure, sizeof(res->failure), "'%s': its jobs are for %zu systems: "
			 "%s; say which one the evaluation is filed under with --system (or a "
			 "manifest's SYSTEM field); nothing imported", m->source, s->nsys, sb.buf);
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

/* Read and record every line of in.  0, or -1 (reported). */
static int read_input(struct eval_state *s, FILE *in, const struct eval_meta *m,
		      struct eval_import_result *res)
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
		if (eval_job_parse(line, n, s->store_dir, &job, &e)) {
			res->bad_lines++;
			problem_add(&res->problems, lr.lineno, 0, "%s, skipped", e.msg);
			continue;
		}
		r = add_job(s, &job, lr.lineno, res);
		eval_job_release(&job);
		if (r < 0)
			goto out;
	}
	rc = 0;
out:
	line_reader_release(&lr);
	return rc;
}

/* The import proper, inside savepoint "evaluation".  0 recorded (or
 * res->already), -1 to roll the savepoint back. */
static int import_eval(struct eval_state *s, FILE *in, struct eval_meta *m,
		       struct eval_import_result *res)
{
	struct db *db = s->db;
	struct found_eval f;
	sqlite3_stmt *st;
	int64_t extra = 0, missing = 0;
	int r;

	if (stmt_row(db, &stmts, Q_EVAL_NEXT_ID, &st, SQL_NOARGS) <= 0)
		return -1;
	s->eval_id = sqlite3_column_int64(st, 0);
	stmt_done(st);
	if (read_input(s, in, m, res))
		return -1;
	if (!res->jobs) {
		snprintf(res->failure, sizeof(res->failure), "'%s': no jobs (%u lines, %u "
			 "malformed); is it nix-eval-jobs output?  nothing imported", m->source,
			 res->lines, res->bad_lines);
		return -1;
	}
	if (m->strict && (res->bad_lines || res->duplicates)) {
		snprintf(res->failure, sizeof(res->failure), "'%s': %u malformed and %u "
			 "duplicate lines; nothing imported (--strict)", m->source,
			 res->bad_lines, res->duplicates);
		return -1;
	}
	if (m->system)
		snprintf(res->system, sizeof(res->system), "%s", m->system);
	else if (system_from_lines(s, m, res))
		return -1;
	m->system = res->system;

	/* Already there? */
	if ((r = find_eval(db, Q_EVAL_EXACT, m, &f)) < 0)
		return -1;
	if (r || !m->time_given) {
		if (!r && (r = find_eval(db, Q_EVAL_NEWEST, m, &f)) < 0)
			return -1;
		if (r && diff_eval(db, s->eval_id, f.id, &extra, &missing))
			return -1;
		if (r && !extra && !missing) {
			res->already = 1;
			res->evaluation_id = f.id;
			res->existing_time = f.time;
			res->imported_at = f.imported_at;
			return -1;   /* rolls back: nothing changes */
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
			return -1;
		}
	}

	if (stmt_exec(db, &stmts, Q_EVAL_INS,
		      SQL_ARGS(s->eval_id, m->branch, m->rev, m->capabilities, m->system, m->time,
			       m->jobset, m->source, clock_now(), res->bad_lines)))
		return -1;
	res->evaluation_id = s->eval_id;
	return 0;
}

void evals_batch_init(struct evals_batch *b, struct db *db)
{
	memset(b, 0, sizeof(*b));
	b->db = db;
	b->paths = xcalloc(1, sizeof(*b->paths));
	b->data_version = -1;
}

void evals_batch_release(struct evals_batch *b)
{
	evals_batch_rollback(b);
	if (b->paths)
		path_cache_clear(b->paths);
	free(b->paths);
	free(b->store_dir);
	memset(b, 0, sizeof(*b));
}

int evals_batch_begin(struct evals_batch *b)
{
	struct db_write_mark wm;

	if (b->open)
		return 0;
	if (!b->store_dir && !(b->store_dir = db_store_dir(b->db)))
		return -1;
	if (db_begin(b->db))
		return -1;
	/* Another process committed since our last transaction: what the
	 * cache knows of paths may be stale. */
	db_write_mark(b->db, &wm);
	if (wm.data_version < 0 || wm.data_version != b->data_version)
		path_cache_clear(b->paths);
	b->data_version = wm.data_version;
	b->open = 1;
	b->evaluations = 0;
	return 0;
}

int evals_batch_commit(struct evals_batch *b)
{
	if (!b->open)
		return 0;
	b->open = 0;
	if (db_commit(b->db)) {
		db_rollback(b->db);
		path_cache_rollback(b->paths, 0);
		return -1;
	}
	b->paths->ntent = 0;
	return 0;
}

void evals_batch_rollback(struct evals_batch *b)
{
	if (!b->open)
		return;
	b->open = 0;
	db_rollback(b->db);
	path_cache_rollback(b->paths, 0);
}

int evals_batch_import(struct evals_batch *b, FILE *in, const struct eval_meta *given,
		       struct eval_import_result *res)
{
	struct eval_meta meta = *given;
	struct eval_state s = {0};
	size_t mark = b->paths->ntent;
	unsigned clears = b->paths->clears;
	int rc;

	memset(res, 0, sizeof(*res));
	if (!b->open)
		BUG("evals_batch_import without evals_batch_begin");
	if (db_exec(b->db, "SAVEPOINT evaluation"))
		return -1;
	s.db = b->db;
	s.paths = b->paths;
	s.store_dir = b->store_dir;
	rc = import_eval(&s, in, &meta, res);
	eval_state_release(&s);
	if (!rc) {
		if (db_exec(b->db, "RELEASE evaluation"))
			rc = -1;
		else
			b->evaluations++;
	}
	if (rc) {
		if (db_exec(b->db, "ROLLBACK TO evaluation") || db_exec(b->db, "RELEASE evaluation") ||
		    sqlite3_get_autocommit(b->db->h)) {
			/* The DB ended the transaction itself (a disk error):
			 * the batch is lost. */
			b->open = 0;
			db_rollback(b->db);
			path_cache_rollback(b->paths, 0);
		} else {
			/* Emptied meanwhile: every tentative item left is this
			 * evaluation's. */
			path_cache_rollback(b->paths, clears == b->paths->clears ? mark : 0);
		}
		if (res->already)
			return 0;
		res->evaluation_id = 0;
	}
	return rc;
}

int evals_import(struct db *db, FILE *in, const struct eval_meta *m,
		 struct eval_import_result *res)
{
	struct evals_batch b;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	evals_batch_init(&b, db);
	if (!evals_batch_begin(&b) && !(rc = evals_batch_import(&b, in, m, res)) &&
	    (rc = evals_batch_commit(&b)))
		res->evaluation_id = 0;
	evals_batch_release(&b);
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

	if ((r = path_intern(c->db, NULL, c->store_dir, rec->drv_path, &drv_id, why, sizeof(why))) < 0)
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
