/*
 * coverage.c - the coverage analysis: latest evaluations as of a moment,
 * presence replayed from episodes, closures from the graph engine (each
 * distinct output walked once, whatever number of evaluations share it),
 * signature verdicts from trust.c, build outcomes, and the newest older
 * evaluation whose same output is cached.
 */
#include "analysis/coverage.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/stmt.h"
#include "nix/evaljobs.h"
#include "store/meta.h"
#include "lib/hash.h"
#include "lib/hashmap.h"
#include "lib/util.h"

enum {
	Q_PRESENCE_AT,
	Q_COLUMNS,
	Q_ROWS,
	Q_LATEST_BUILD,
	Q_OLDER_EVALS,
	Q_OLDER_JOBS,
	Q_N
};
static const char *const sql[Q_N] = {
	[Q_PRESENCE_AT] =
		"SELECT path_id, gone_at FROM presence WHERE cache_id = ?1 AND first_seen <= ?2",
	[Q_COLUMNS] =
		"SELECT e.id, e.branch, e.rev, e.capabilities, e.system, e.time "
		"FROM evaluations e "
		"WHERE e.time <= ?1 AND (?2 IS NULL OR e.branch = ?2) "
		"AND (?3 IS NULL OR e.capabilities = ?3) "
		"AND e.id = (SELECT e2.id FROM evaluations e2 WHERE e2.branch = e.branch "
		"AND e2.capabilities = e.capabilities AND e2.system = e.system "
		"AND e2.time <= ?1 ORDER BY e2.time DESC, e2.id DESC LIMIT 1) "
		"ORDER BY e.branch, e.capabilities, e.system",
	[Q_ROWS] =
		"SELECT attr, output, path_id, drv_id, error FROM eval_jobs "
		"WHERE evaluation_id = ?1 ORDER BY attr, output",
	[Q_LATEST_BUILD] =
		"SELECT status, coalesce(time, imported_at) FROM builds "
		"WHERE drv_id = ?1 AND coalesce(time, imported_at) <= ?2 "
		"ORDER BY coalesce(time, imported_at) DESC, id DESC LIMIT 1",
	[Q_OLDER_EVALS] =
		"SELECT id, rev, time FROM evaluations WHERE branch = ?1 AND capabilities = ?2 "
		"AND system = ?3 AND time <= ?4 AND (time < ?5 OR (time = ?5 AND id < ?6)) "
		"ORDER BY time DESC, id DESC",
	[Q_OLDER_JOBS] =
		"SELECT attr, output, path_id FROM eval_jobs "
		"WHERE evaluation_id = ?1 AND path_id IS NOT NULL",
};
static struct stmt_table stmts = STMT_TABLE("coverage", sql);

const char *cov_status_str(enum cov_status s)
{
	static const char *const names[COV_NSTATUS] = {
		"cached", "partial", "untrusted", "evicted", "missing", "failed", "queued",
	};
	return (unsigned)s < COV_NSTATUS ? names[s] : "?";
}

char *strip_ansi(const char *s, size_t len)
{
	char *out = xmalloc(len + 1);
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0x1b) {
			if (i + 1 < len && s[i + 1] == '[') {
				/* CSI: parameters and intermediates, then a final
				 * byte in 0x40..0x7e */
				for (i += 2; i < len; i++)
					if ((unsigned char)s[i] >= 0x40 && (unsigned char)s[i] <= 0x7e)
						break;
			} else if (i + 1 < len && s[i + 1] == ']') {
				/* OSC: up to BEL or ESC \ */
				for (i += 2; i < len; i++) {
					if (s[i] == '\a')
						break;
					if (s[i] == 0x1b && i + 1 < len && s[i + 1] == '\\') {
						i++;
						break;
					}
				}
			} else if (i + 1 < len) {
				i++;   /* ESC and one more byte */
			}
			continue;
		}
		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			continue;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return out;
}

void coverage_path(const struct coverage *cv, uint32_t id, struct strbuf *sb)
{
	strbuf_reset(sb);
	if (id)
		strbuf_addf(sb, "%s/%s", cv->store_dir, path_names_get(&cv->names, id));
	else
		strbuf_addstr(sb, "");
}

/* What one closure looks like as of `at`, computed once per output path. */
struct pstat {
	uint64_t nclosure, closure_bytes;
	uint64_t nmissing, missing_bytes;
	uint64_t nuntrusted;
	uint32_t example;
	uint8_t example_verdict;
};

struct ctx {
	struct db *db;
	struct coverage *cv;
	const struct coverage_opts *o;
	struct graph g;
	int graph_loaded;
	struct trust tr;
	int trust_inited;
	int64_t *gone;         /* per id: when its last episode before `at` ended; 0 */
	uint32_t *memo;        /* per id: index + 1 into stats, 0 = not yet */
	struct pstat *stats;
	size_t nstats, astats;
	struct closure c;
	uint8_t *want;
	size_t arows;
	size_t *col_start;     /* rows of column i: col_start[i] .. col_start[i+1] */
};

static int presence_at(struct ctx *x)
{
	sqlite3_stmt *st = stmt_query(x->db, &stmts, Q_PRESENCE_AT,
				      SQL_ARGS(x->o->cache_id, x->o->at));
	int rc;

	if (!st)
		return -1;
	for (uint32_t i = 0; i < x->g.n; i++)
		x->g.flags[i] &= (uint8_t)~GRAPH_PRESENT;
	while ((rc = db_step(x->db, st)) == 1) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (id <= 0 || id >= x->g.n)
			continue;
		if (sqlite3_column_type(st, 1) == SQLITE_NULL ||
		    sqlite3_column_int64(st, 1) > x->o->at) {
			x->g.flags[id] |= GRAPH_PRESENT;
		} else {
			int64_t gone = sqlite3_column_int64(st, 1);
			if (gone > x->gone[id])
				x->gone[id] = gone;
		}
	}
	return rc < 0 ? -1 : 0;
}

static int present(const struct ctx *x, uint32_t id)
{
	return id && id < x->g.n && (x->g.flags[id] & GRAPH_PRESENT);
}

static int load_columns(struct ctx *x)
{
	struct coverage *cv = x->cv;
	sqlite3_stmt *st = stmt_query(x->db, &stmts, Q_COLUMNS,
				      SQL_ARGS(x->o->at, x->o->branch, x->o->capabilities));
	size_t acols = 0;
	int rc;

	if (!st)
		return -1;
	while ((rc = db_step(x->db, st)) == 1) {
		struct cov_column *col;
		GROW(cv->cols, acols, cv->ncols + 1);
		col = &cv->cols[cv->ncols++];
		memset(col, 0, sizeof(*col));
		col->evaluation_id = sqlite3_column_int64(st, 0);
		col->branch = xstrdup(db_col_text(st, 1));
		col->rev = xstrdup(db_col_text(st, 2));
		col->capabilities = xstrdup(db_col_text(st, 3));
		col->system = xstrdup(db_col_text(st, 4));
		col->time = sqlite3_column_int64(st, 5);
	}
	return rc < 0 ? -1 : 0;
}

static int load_rows(struct ctx *x)
{
	struct coverage *cv = x->cv;
	int rc = 0;

	x->col_start = xcalloc(cv->ncols + 1, sizeof(*x->col_start));
	for (size_t ci = 0; ci < cv->ncols; ci++) {
		sqlite3_stmt *st = stmt_query(x->db, &stmts, Q_ROWS,
					      SQL_ARGS(cv->cols[ci].evaluation_id));
		x->col_start[ci] = cv->nrows;
		if (!st)
			return -1;
		while ((rc = db_step(x->db, st)) == 1) {
			const char *attr = db_col_text(st, 0);
			struct cov_row *r;
			int64_t pid = sqlite3_column_int64(st, 2), did = sqlite3_column_int64(st, 3);

			if (x->o->attr && fnmatch(x->o->attr, attr, 0))
				continue;
			GROW(cv->rows, x->arows, cv->nrows + 1);
			r = &cv->rows[cv->nrows++];
			memset(r, 0, sizeof(*r));
			r->column = (uint32_t)ci;
			r->attr = xstrdup(attr);
			r->output = xstrdup(db_col_text(st, 1));
			r->path_id = pid > 0 && pid < x->g.n ? (uint32_t)pid : 0;
			r->drv_id = did > 0 && did <= UINT32_MAX ? (uint32_t)did : 0;
			if (sqlite3_column_type(st, 4) != SQLITE_NULL)
				r->error = strip_ansi((const char *)sqlite3_column_text(st, 4),
						      (size_t)sqlite3_column_bytes(st, 4));
			r->build_time = -1;
			r->since = -1;
		}
		if (rc < 0)
			return -1;
	}
	x->col_start[cv->ncols] = cv->nrows;
	return 0;
}

/* Verdicts for every present member of the closures of roots. */
static int check_closures(struct ctx *x, const uint32_t *roots, size_t nroots)
{
	size_t nw = 0;

	if (!nroots)
		return 0;
	graph_closure(&x->g, roots, nroots, &x->c);
	for (size_t i = 0; i < x->c.n; i++) {
		uint32_t v = x->c.ids[i];
		if ((x->g.flags[v] & GRAPH_PRESENT) && !trust_verdict(&x->tr, v)) {
			x->want[v] = 1;
			nw++;
		}
	}
	if (!nw)
		return 0;
	if (trust_check(&x->tr, x->want))
		return -1;
	for (size_t i = 0; i < x->c.n; i++)
		x->want[x->c.ids[i]] = 0;
	return 0;
}

/* The closure facts of root, walked once (trust_check must have run). */
static const struct pstat *closure_stat(struct ctx *x, uint32_t root)
{
	struct pstat *p;

	if (x->memo[root])
		return &x->stats[x->memo[root] - 1];
	graph_closure(&x->g, &root, 1, &x->c);
	x->cv->closures++;
	GROW(x->stats, x->astats, x->nstats + 1);
	p = &x->stats[x->nstats++];
	memset(p, 0, sizeof(*p));
	p->nclosure = x->c.n;
	p->closure_bytes = x->c.nar_bytes;
	p->nmissing = x->c.nmissing;
	p->missing_bytes = x->c.missing_bytes;
	for (size_t i = 0; i < x->c.n; i++) {
		uint32_t v = x->c.ids[i];
		enum trust_verdict tv = trust_verdict(&x->tr, v);
		if (!(x->g.flags[v] & GRAPH_PRESENT) || !trust_bad(tv))
			continue;
		/* The root comes first in the walk, so it is the example
		 * whenever it is untrusted itself. */
		if (!p->nuntrusted++) {
			p->example = v;
			p->example_verdict = (uint8_t)tv;
		}
	}
	x->memo[root] = (uint32_t)x->nstats;
	return p;
}

/* The status of a present output from its closure. */
static enum cov_status present_status(const struct pstat *p)
{
	if (p->nmissing)
		return COV_PARTIAL;
	if (p->nuntrusted)
		return COV_UNTRUSTED;
	return COV_CACHED;
}

/* Latest build of drv as of `at`: its status (static) and time, or NULL. */
static int latest_build(struct ctx *x, uint32_t drv, const char **status, int64_t *time)
{
	sqlite3_stmt *st;
	int rc;

	*status = NULL;
	*time = -1;
	if ((rc = stmt_row(x->db, &stmts, Q_LATEST_BUILD, &st, SQL_ARGS(drv, x->o->at))) == 1) {
		const char *s = db_col_text(st, 0);
		*status = build_status_name(s, strlen(s));
		*time = sqlite3_column_int64(st, 1);
		stmt_done(st);
	}
	return rc < 0 ? -1 : 0;
}

static int row_status(struct ctx *x, struct cov_row *r)
{
	const struct pstat *p = NULL;
	int ever = 0;

	if (r->error) {
		r->status = COV_FAILED;
		r->reason = "eval-error";
		return 0;
	}
	if (!r->path_id) {
		r->status = COV_MISSING;
		r->reason = "no-output-path";
		return 0;
	}
	if (r->drv_id && latest_build(x, r->drv_id, &r->build_status, &r->build_time))
		return -1;
	if (x->g.flags[r->path_id] & GRAPH_NARINFO) {
		p = closure_stat(x, r->path_id);
		r->closure_paths = p->nclosure;
		r->closure_bytes = p->closure_bytes;
		r->missing_paths = p->nmissing;
		r->missing_bytes = p->missing_bytes;
	} else {
		r->closure_paths = 1;
		r->missing_paths = 1;
	}
	if (present(x, r->path_id)) {
		if (!p) {
			/* A snapshot never shows this: the crawl writes a path's
			 * narinfo and presence in one transaction. */
			struct strbuf sb = STRBUF_INIT;
			coverage_path(x->cv, r->path_id, &sb);
			error("'%s' is recorded present in cache %lld without its narinfo: the "
			      "database '%s' is inconsistent; crawl the cache again", sb.buf,
			      (long long)x->o->cache_id, x->db->path);
			strbuf_release(&sb);
			return -1;
		}
		r->status = present_status(p);
		if (r->status == COV_UNTRUSTED) {
			r->untrusted_paths = p->nuntrusted;
			r->untrusted_path = p->example;
			r->untrusted_verdict = p->example_verdict;
		}
		return 0;
	}
	ever = x->gone[r->path_id] > 0;
	if (ever)
		r->since = x->gone[r->path_id];
	/* Whichever happened last explains the absence: an eviction after
	 * the latest build, or a build that failed (or is queued) after. */
	if (ever && (!r->build_status || !strcmp(r->build_status, "succeeded") ||
		     r->since >= r->build_time)) {
		r->status = COV_EVICTED;
	} else if (r->build_status && !strcmp(r->build_status, "queued")) {
		r->status = COV_QUEUED;
		r->reason = r->build_status;
	} else if (r->build_status && strcmp(r->build_status, "succeeded")) {
		r->status = COV_FAILED;
		r->reason = r->build_status;
	} else {
		r->status = COV_MISSING;
		if (r->build_status)
			r->reason = "built-not-pushed";
	}
	return 0;
}

/* ---- older evaluations ------------------------------------------------ */

/* (attr, output) to a row index, for one column: a hash map over rows. */
struct keymap {
	struct hashmap map;
	const struct cov_row *rows;
};

static const char *older_output(const struct cov_row *r)
{
	/* An attr that failed to evaluate has no output: look for "out". */
	return r->error ? "out" : r->output;
}

static uint64_t key_hash(const char *a, const char *b)
{
	static const unsigned char sep = 0xff;  /* ("ab", "c") is not ("a", "bc") */
	uint64_t h = hash_fnv1a(a, strlen(a));

	h = hash_fnv1a_seed(h, &sep, 1);
	return hash_fnv1a_seed(h, b, strlen(b));
}

struct key {
	const char *attr, *output;
};

static int key_eq(const void *ctx, uint32_t item, const void *key)
{
	const struct cov_row *r = &((const struct keymap *)ctx)->rows[item];
	const struct key *k = key;

	return !strcmp(r->attr, k->attr) && !strcmp(older_output(r), k->output);
}

static void keymap_init(struct keymap *m, const struct cov_row *rows, size_t n)
{
	m->rows = rows;
	hashmap_reserve(&m->map, n);  /* no growth: equal keys stay in order */
}

static void keymap_put(struct keymap *m, uint32_t idx)
{
	hashmap_add(&m->map, key_hash(m->rows[idx].attr, older_output(&m->rows[idx])), idx);
}

/* The row index for (attr, output), or -1. */
static int64_t keymap_get(const struct keymap *m, const char *attr, const char *output)
{
	struct key k = {attr, output};
	uint32_t i = hashmap_find(&m->map, key_hash(attr, output), key_eq, m, &k);

	return i == HASHMAP_NONE ? -1 : (int64_t)i;
}

struct older_eval {
	int64_t id, time;
	char *rev;
};

struct older_hit {
	uint32_t row, path;
};

/* For the rows of column ci that are not cached, find the newest older
 * evaluation of the same column whose same output is cached. */
static int older_cached(struct ctx *x, size_t ci)
{
	struct coverage *cv = x->cv;
	struct cov_column *col = &cv->cols[ci];
	struct keymap m = {HASHMAP_INIT, NULL};
	struct older_eval *ev = NULL;
	struct older_hit *hits = NULL;
	uint32_t *roots = NULL;
	size_t nev = 0, aev = 0, pending = 0, ahits = 0, aroots = 0;
	sqlite3_stmt *st;
	int rc, ret = -1;

	for (size_t i = x->col_start[ci]; i < x->col_start[ci + 1]; i++)
		pending += cv->rows[i].status != COV_CACHED;
	if (!pending)
		return 0;
	if (!(st = stmt_query(x->db, &stmts, Q_OLDER_EVALS,
			      SQL_ARGS(col->branch, col->capabilities, col->system, x->o->at,
				       col->time, col->evaluation_id))))
		return -1;
	while ((rc = db_step(x->db, st)) == 1) {
		GROW(ev, aev, nev + 1);
		ev[nev].id = sqlite3_column_int64(st, 0);
		ev[nev].rev = xstrdup(db_col_text(st, 1));
		ev[nev++].time = sqlite3_column_int64(st, 2);
	}
	if (rc < 0)
		goto out;
	if (!nev) {
		ret = 0;
		goto out;
	}
	keymap_init(&m, cv->rows, pending);
	for (size_t i = x->col_start[ci]; i < x->col_start[ci + 1]; i++)
		if (cv->rows[i].status != COV_CACHED)
			keymap_put(&m, (uint32_t)i);

	for (size_t e = 0; e < nev && pending; e++) {
		size_t nhits = 0, nroots = 0;
		if (!(st = stmt_query(x->db, &stmts, Q_OLDER_JOBS, SQL_ARGS(ev[e].id))))
			goto out;
		while ((rc = db_step(x->db, st)) == 1) {
			int64_t pid = sqlite3_column_int64(st, 2), ri;
			if (!present(x, pid > 0 && pid < x->g.n ? (uint32_t)pid : 0))
				continue;
			ri = keymap_get(&m, db_col_text(st, 0), db_col_text(st, 1));
			if (ri < 0 || cv->rows[ri].older_eval)
				continue;
			GROW(hits, ahits, nhits + 1);
			hits[nhits++] = (struct older_hit){(uint32_t)ri, (uint32_t)pid};
			if (!x->memo[pid]) {
				GROW(roots, aroots, nroots + 1);
				roots[nroots++] = (uint32_t)pid;
			}
		}
		if (rc < 0)
			goto out;
		/* One batch of signature checks per older evaluation. */
		if (check_closures(x, roots, nroots))
			goto out;
		for (size_t h = 0; h < nhits; h++) {
			struct cov_row *r = &cv->rows[hits[h].row];
			if (r->older_eval || present_status(closure_stat(x, hits[h].path)) != COV_CACHED)
				continue;
			r->older_eval = ev[e].id;
			r->older_rev = xstrdup(ev[e].rev);
			r->older_time = ev[e].time;
			r->older_path = hits[h].path;
			pending--;
		}
	}
	ret = 0;
out:
	for (size_t i = 0; i < nev; i++)
		free(ev[i].rev);
	free(ev);
	free(hits);
	free(roots);
	hashmap_release(&m.map);
	return ret;
}

/* ---- summaries and order ---------------------------------------------- */

static void summarize(struct ctx *x, size_t ci)
{
	struct coverage *cv = x->cv;
	struct cov_column *col = &cv->cols[ci];
	uint32_t *all = NULL, *cached = NULL;
	size_t nall = 0, ncached = 0, aall = 0, acached = 0;
	size_t b = x->col_start[ci], e = x->col_start[ci + 1];

	for (size_t i = b; i < e; i++) {
		struct cov_row *r = &cv->rows[i];
		int first = i == b || strcmp(cv->rows[i - 1].attr, r->attr);
		col->outputs++;
		col->count[r->status]++;
		if (first) {
			/* A job is cached when all its outputs are. */
			size_t k = i;
			int all_cached = 1;
			for (; k < e && !strcmp(cv->rows[k].attr, r->attr); k++)
				all_cached &= cv->rows[k].status == COV_CACHED;
			col->jobs++;
			col->jobs_cached += all_cached;
		}
		if (r->path_id) {
			GROW(all, aall, nall + 1);
			all[nall++] = r->path_id;
		}
		if (r->status == COV_CACHED) {
			GROW(cached, acached, ncached + 1);
			cached[ncached++] = r->path_id;
		}
	}
	graph_closure(&x->g, all, nall, &x->c);
	col->total_bytes = x->c.nar_bytes;
	graph_closure(&x->g, cached, ncached, &x->c);
	col->cached_bytes = x->c.nar_bytes;
	free(all);
	free(cached);
}

static int cmp_rows(const void *a, const void *b)
{
	const struct cov_row *x = a, *y = b;
	int c = strcmp(x->attr, y->attr);

	/* "out" first: the package itself, then its other outputs. */
	if (!c)
		c = strcmp(x->output, "out") ? (strcmp(y->output, "out") ? 0 : 1)
					     : (strcmp(y->output, "out") ? -1 : 0);
	if (!c)
		c = strcmp(x->output, y->output);
	if (!c)
		c = (x->column > y->column) - (x->column < y->column);
	return c;
}

int coverage_run(struct coverage *cv, struct db *db, const struct coverage_opts *o)
{
	struct ctx x = {0};
	uint32_t *roots = NULL;
	size_t nroots = 0, aroots = 0;
	struct strbuf sb = STRBUF_INIT;
	int ret = -1, reading = 0;

	memset(cv, 0, sizeof(*cv));
	cv->at = o->at;
	x.db = db;
	x.cv = cv;
	x.o = o;
	/* Graph, presence, evaluations, builds and verdicts from one state
	 * of the DB, however many crawls write meanwhile. */
	if (db_read_begin(db))
		return -1;
	reading = 1;
	if (!(cv->store_dir = db_store_dir(db)))
		goto out;
	if (graph_load(&x.g, db, o->cache_id))
		goto out;
	x.graph_loaded = 1;
	x.gone = xcalloc(x.g.n, sizeof(*x.gone));
	x.memo = xcalloc(x.g.n, sizeof(*x.memo));
	x.want = xcalloc(x.g.n, 1);
	if (presence_at(&x))
		goto out;
	x.trust_inited = 1;
	if (trust_init(&x.tr, db, o->cache_id, o->at, x.g.n, o->threads))
		goto out;
	cv->trust_checked = !o->skip_signatures && !trust_no_keys(&x.tr);
	cv->keys_active = x.tr.nactive;
	if (path_names_load(&cv->names, db, x.g.n))
		goto out;
	if (load_columns(&x) || load_rows(&x))
		goto out;

	/* Every signature the latest evaluations need, in one batch. */
	for (size_t i = 0; i < cv->nrows; i++) {
		uint32_t id = cv->rows[i].path_id;
		if (present(&x, id) && !cv->rows[i].error) {
			GROW(roots, aroots, nroots + 1);
			roots[nroots++] = id;
		}
	}
	if (!o->skip_signatures && check_closures(&x, roots, nroots))
		goto out;
	for (size_t i = 0; i < cv->nrows; i++)
		if (row_status(&x, &cv->rows[i]))
			goto out;
	for (size_t ci = 0; ci < cv->ncols; ci++)
		if (older_cached(&x, ci))
			goto out;
	for (size_t i = 0; i < cv->nrows; i++) {
		struct cov_row *r = &cv->rows[i];
		if (r->status != COV_UNTRUSTED)
			continue;
		strbuf_reset(&sb);
		if (trust_describe(&x.tr, r->untrusted_path, &sb) < 0)
			goto out;
		r->signers = xstrdup(sb.len ? sb.buf : "");
	}
	for (size_t ci = 0; ci < cv->ncols; ci++)
		summarize(&x, ci);
	if (cv->nrows > 1)
		qsort(cv->rows, cv->nrows, sizeof(*cv->rows), cmp_rows);
	db_read_end(db);
	reading = 0;
	trust_save(&x.tr);    /* a failure is reported; the verdicts stand */
	cv->trust_stats = x.tr.stats;
	if (o->keep_graph) {
		cv->graph = xmalloc(sizeof(*cv->graph));
		*cv->graph = x.g;
		x.graph_loaded = 0;
	}
	ret = 0;
out:
	if (reading)
		db_read_end(db);
	if (x.trust_inited)
		trust_release(&x.tr);
	if (x.graph_loaded)
		graph_release(&x.g);
	closure_release(&x.c);
	free(x.gone);
	free(x.memo);
	free(x.want);
	free(x.stats);
	free(x.col_start);
	free(roots);
	strbuf_release(&sb);
	return ret;
}

void coverage_release(struct coverage *cv)
{
	for (size_t i = 0; i < cv->ncols; i++) {
		free(cv->cols[i].branch);
		free(cv->cols[i].rev);
		free(cv->cols[i].capabilities);
		free(cv->cols[i].system);
	}
	free(cv->cols);
	for (size_t i = 0; i < cv->nrows; i++) {
		struct cov_row *r = &cv->rows[i];
		free(r->attr);
		free(r->output);
		free(r->error);
		free(r->signers);
		free(r->older_rev);
	}
	free(cv->rows);
	free(cv->store_dir);
	if (cv->graph) {
		graph_release(cv->graph);
		free(cv->graph);
	}
	if (cv->names.at)
		path_names_release(&cv->names);
	memset(cv, 0, sizeof(*cv));
}
