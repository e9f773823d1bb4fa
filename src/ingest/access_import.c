/*
 * access_import.c - importing access logs (see ingest/access_import.h):
 * each log streamed line by line (plain or gzip through lib/gzread.h, at
 * most ACCESS_MAX_INPUT bytes once decompressed) while its SHA-256 is
 * computed; lines parsed by nix/accesslog.c and their keys resolved
 * through an in-memory index of the cache's narinfos, built once.
 * Accesses are summed per (path, UTC day) in memory and written in one
 * transaction per log, with the log's row in access_logs; a log whose
 * content was imported before is skipped, so hits never count twice.
 */
#include "ingest/access_import.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ingest/evals.h"       /* line_reader, until it moves to lib */
#include "lib/gzread.h"
#include "lib/util.h"
#include "store/db.h"
#include "store/stmt.h"

/* ---- one log --------------------------------------------------------------- */

static void problem(struct access_log_result *r, uint64_t line, const char *msg)
{
	if (r->nproblems < SHOWN_PROBLEMS) {
		r->problems[r->nproblems].line = line;
		snprintf(r->problems[r->nproblems].msg, sizeof(r->problems[0].msg), "%s", msg);
		r->nproblems++;
	}
}

static int is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return 0;
	return 1;
}

/*
 * While nothing of a log is recorded: the prefix under which the decoded
 * path would name a narinfo ("<prefix><hash>.narinfo") or a NAR
 * ("<prefix>nar/..."), counted in r->hints when the request succeeded,
 * and whether the index knows what it names there.
 */
static void hint(struct access_import *c, struct access_log_result *r, const struct access_request *q,
		 const char *path, size_t plen, const char *qhash)
{
	size_t base = plen, cut = 0;
	int known = 0, found = 0;

	while (base && path[base - 1] != '/')
		base--;
	if (plen - base == STORE_HASH_LEN + 8 && !memcmp(path + plen - 8, ".narinfo", 8) &&
	    store_hash_valid(path + base, STORE_HASH_LEN)) {
		char hash[STORE_HASH_LEN + 1];
		if (!access_counts(ACCESS_KIND_NARINFO, q->method, q->status))
			return;
		memcpy(hash, path + base, STORE_HASH_LEN);
		hash[STORE_HASH_LEN] = '\0';
		known = access_index_narinfo(&c->ix, hash) != 0;
		cut = base;
		found = 1;
	} else {
		/* the last "/nar/" segment */
		for (size_t k = plen; k-- > 0;)
			if (path[k] == '/' && plen - k > 5 && !memcmp(path + k, "/nar/", 5)) {
				cut = k + 1;
				found = 1;
				break;
			}
		if (!found || !access_counts(ACCESS_KIND_FILE, q->method, q->status))
			return;
		known = access_index_resolve_nar(&c->ix, path + cut, plen - cut, qhash, NULL, 0,
						 NULL) > 0;
	}
	if (cut >= sizeof(r->hints[0].prefix) ||
	    (cut == strlen(c->prefix) && !memcmp(path, c->prefix, cut)))
		return;   /* too long to show, or the prefix given: the DB lacks them */
	for (size_t i = 0; i < r->nhints; i++) {
		struct access_hint *h = &r->hints[i];
		if (strlen(h->prefix) == cut && !memcmp(h->prefix, path, cut)) {
			h->shaped++;
			h->known += (uint64_t)known;
			return;
		}
	}
	if (r->nhints < ARRAY_SIZE(r->hints)) {
		struct access_hint *h = &r->hints[r->nhints++];
		memcpy(h->prefix, path, cut);
		h->prefix[cut] = '\0';
		h->shaped = 1;
		h->known = (uint64_t)known;
	}
}

/* One parsed line: count it, and add what it accessed to agg. */
static void take(struct access_import *c, struct access_log_result *r, const struct access_request *q,
		 struct access_agg *agg)
{
	enum access_kind kind;
	const char *rel, *query;
	size_t plen, rellen, qlen, n;
	int64_t ids[64];
	char qhash[STORE_HASH_LEN + 1];
	int s3 = q->format == ACCESS_FMT_S3, has_qhash;

	if (!q->target || access_target_path(q->target, q->target_len, s3, c->path,
					     sizeof(c->path), &plen)) {
		r->ignored++;
		return;
	}
	query = access_target_query(q->target, q->target_len, s3, &qlen);
	has_qhash = query && access_query_store_hash(query, qlen, qhash);
	if (!r->recorded)
		hint(c, r, q, c->path, plen, has_qhash ? qhash : NULL);
	kind = access_classify(c->path, plen, c->prefix, &rel, &rellen);
	if (kind == ACCESS_KIND_NONE) {
		r->ignored++;
		return;
	}
	if (kind == ACCESS_KIND_NARINFO) {
		char hash[33];
		int64_t id;
		if (!access_counts(kind, q->method, q->status)) {
			r->ignored++;
			return;
		}
		r->requests++;
		memcpy(hash, rel, 32);
		hash[32] = '\0';
		if (!(id = access_index_narinfo(&c->ix, hash))) {
			r->unknown++;
			return;
		}
		r->recorded++;
		access_agg_add(agg, id, q->time, 0);
	} else {
		const char *qh = has_qhash ? qhash : NULL;
		n = access_index_resolve_nar(&c->ix, rel, rellen, qh, ids, ARRAY_SIZE(ids), NULL);
		if (!access_counts(kind, q->method, q->status) ||
		    (!n && !access_is_nar_dir(rel, rellen))) {
			r->ignored++;
			return;
		}
		r->requests++;
		if (!n) {
			r->unknown++;
			return;
		}
		if (n > ARRAY_SIZE(ids)) {
			/* a NAR shared by very many narinfos: walk them all */
			int64_t *all = xmalloc(n * sizeof(*all));
			access_index_resolve_nar(&c->ix, rel, rellen, qh, all, n, NULL);
			for (size_t i = 0; i < n; i++)
				access_agg_add(agg, all[i], q->time, 1);
			free(all);
		} else {
			for (size_t i = 0; i < n; i++)
				access_agg_add(agg, ids[i], q->time, 1);
		}
		r->recorded++;
	}
	if (r->first_at < 0 || q->time < r->first_at)
		r->first_at = q->time;
	if (q->time > r->last_at)
		r->last_at = q->time;
}

/* ACCESS_MAX_INPUT, or less for tests: $CACHEGC_ACCESS_MAX_INPUT (bytes)
 * lowers it, so the cap can be tried without 4 GiB of input. */
static uint64_t input_cap(void)
{
	const char *e = getenv("CACHEGC_ACCESS_MAX_INPUT");
	uint64_t v;

	if (e && !parse_uint(e, &v) && v < ACCESS_MAX_INPUT)
		return v;
	return ACCESS_MAX_INPUT;
}

/* Read and parse the whole log into r and agg.  0, or -1 with r->error. */
static int read_log(struct access_import *c, const char *file, struct access_log_result *r, struct access_agg *agg)
{
	struct gzread *s = NULL;
	struct line_reader lr;
	struct progress pr;
	struct stat st;
	FILE *f = NULL;
	const char *line;
	size_t len;
	enum access_format fmt = c->format;
	int fd = -1, lr_inited = 0, rc = -1, lrr, st_ok;
	char why[160];

	if (!strcmp(file, "-")) {
		fd = dup(STDIN_FILENO);
	} else {
		fd = open(file, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		snprintf(r->error, sizeof(r->error), "cannot open '%s': %s", r->src, strerror(errno));
		return -1;
	}
	st_ok = fstat(fd, &st) == 0;
	if (st_ok && S_ISDIR(st.st_mode)) {
		snprintf(r->error, sizeof(r->error), "cannot read '%s': it is a directory", r->src);
		close(fd);
		return -1;
	}
	if (!(s = gzread_open(fd, input_cap(), why, sizeof(why)))) {
		snprintf(r->error, sizeof(r->error), "cannot read '%s': %s", r->src, why);
		return -1;
	}
	if (!(f = gzread_stream(s, why, sizeof(why)))) {
		snprintf(r->error, sizeof(r->error), "cannot read '%s': %s", r->src, why);
		goto out;
	}
	line_reader_init(&lr, f, ACCESS_MAX_LINE);
	lr_inited = 1;
	progress_start(&pr, r->src, st_ok && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0);
	for (;;) {
		struct access_request q;
		lrr = line_reader_next(&lr, &line, &len);
		if (lrr == LR_EOF)
			break;
		if (lrr == LR_ERROR) {
			progress_finish(&pr);
			if (gzread_too_big(s) && input_cap() == ACCESS_MAX_INPUT)
				snprintf(r->error, sizeof(r->error), "cannot read '%s': more than 4 GiB "
					 "(decompressed); split it", r->src);
			else
				snprintf(r->error, sizeof(r->error), "cannot read '%s': %s", r->src,
					 gzread_error(s)[0] ? gzread_error(s) : strerror(errno));
			goto out;
		}
		r->lines++;
		if ((r->lines & 1023) == 0)
			progress_update(&pr, pr.total ? gzread_offset(s) : r->lines);
		if (lrr == LR_TOO_LONG) {
			r->malformed++;
			snprintf(why, sizeof(why), "line longer than %d bytes", ACCESS_MAX_LINE);
			problem(r, r->lines, why);
			continue;
		}
		if (is_blank(line, len)) {
			r->ignored++;
			continue;
		}
		if (access_parse_line(line, len, fmt, &q, why, sizeof(why))) {
			r->malformed++;
			problem(r, r->lines, why);
			continue;
		}
		r->parsed++;
		if (fmt == ACCESS_FMT_AUTO)
			fmt = q.format;   /* the first line that parses decides */
		take(c, r, &q, agg);
	}
	progress_finish(&pr);
	if (gzread_sha256(s, r->digest)) {
		snprintf(r->error, sizeof(r->error), "SHA-256 failed");
		goto out;
	}
	r->format = fmt;
	rc = 0;
out:
	if (lr_inited)
		line_reader_release(&lr);
	gzread_close(s);    /* closes f and fd */
	return rc;
}

/* ---- the DB ---------------------------------------------------------------- */

enum {
	Q_INDEX,
	Q_LOG_FIND,
	Q_LOG_DEL,
	Q_LOG_INS,
	Q_ACC_UPSERT,
	Q_N
};
static const char *const sql[Q_N] = {
	[Q_INDEX] =
	"SELECT p.hash, n.path_id, n.url, n.nar_hash FROM narinfos n"
	" JOIN paths p ON p.id = n.path_id WHERE n.cache_id = ?1",
	[Q_LOG_FIND] =
	"SELECT id, source, imported_at, recorded FROM access_logs"
	" WHERE cache_id = ?1 AND digest = ?2",
	[Q_LOG_DEL] =
	"DELETE FROM access_logs WHERE id = ?1",
	[Q_LOG_INS] =
	"INSERT INTO access_logs (cache_id, source, format, digest, imported_at, lines, requests,"
	" recorded, unknown, ignored, malformed, first_at, last_at)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	/* Hits add up; the last times are the later of both (max() of SQL is NULL
 * when either is, hence the coalesces). */
[Q_ACC_UPSERT] =
	"INSERT INTO accesses (cache_id, path_id, day, narinfo_hits, nar_hits, narinfo_last,"
	" nar_last) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
	" ON CONFLICT (cache_id, path_id, day) DO UPDATE SET"
	" narinfo_hits = narinfo_hits + excluded.narinfo_hits,"
	" nar_hits = nar_hits + excluded.nar_hits,"
	" narinfo_last = max(coalesce(narinfo_last, excluded.narinfo_last),"
	"                    coalesce(excluded.narinfo_last, narinfo_last)),"
	" nar_last = max(coalesce(nar_last, excluded.nar_last),"
	"                coalesce(excluded.nar_last, nar_last))",
};
static struct stmt_table stmts = STMT_TABLE("access_import", sql);

int access_import_load_index(struct access_import *c)
{
	sqlite3_stmt *st = stmt_query(c->db, &stmts, Q_INDEX, SQL_ARGS(c->cache_id));
	int r;

	if (!st)
		return -1;
	while ((r = db_step(c->db, st)) == 1) {
		const char *url = (const char *)sqlite3_column_text(st, 2);
		size_t ul = url ? (size_t)sqlite3_column_bytes(st, 2) : 0;
		access_index_add(&c->ix, db_col_text(st, 0), sqlite3_column_int64(st, 1), url, ul,
				 (const char *)sqlite3_column_text(st, 3));
	}
	if (r < 0)
		return -1;
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Distinct values of one column (0: path_id, 1: day) of agg. */
static size_t distinct(const struct access_agg *agg, int days)
{
	int64_t *v;
	size_t n = 0;

	if (!agg->n)
		return 0;
	v = xmalloc(agg->n * sizeof(*v));
	for (size_t i = 0; i < agg->n; i++)
		v[i] = days ? agg->v[i].day : agg->v[i].path_id;
	qsort(v, agg->n, sizeof(*v), cmp_i64);
	for (size_t i = 0; i < agg->n; i++)
		if (!i || v[i] != v[i - 1])
			n++;
	free(v);
	return n;
}

static int write_log(struct access_import *c, struct access_log_result *r, const struct access_agg *agg)
{
	sqlite3_stmt *st;
	int found, rc = -1;

	if (db_begin(c->db))
		return -1;
	found = stmt_row(c->db, &stmts, Q_LOG_FIND, &st, SQL_ARGS(c->cache_id, r->digest));
	if (found < 0)
		goto out;
	if (found && sqlite3_column_int64(st, 3) == 0) {
		/* marked imported with nothing recorded (cachegc before 2026-12
		 * did that, say for a wrong --prefix): the log is imported now */
		int64_t old = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		if (stmt_exec(c->db, &stmts, Q_LOG_DEL, SQL_ARGS(old)))
			goto out;
		found = 0;
	}
	if (found) {
		r->log_id = sqlite3_column_int64(st, 0);
		snprintf(r->prev_source, sizeof(r->prev_source), "%s", db_col_text(st, 1));
		r->prev_at = sqlite3_column_int64(st, 2);
		sqlite3_reset(st);
		r->status = "already-imported";
		rc = 0;
		goto out;   /* rolls back: nothing changes */
	}
	if (stmt_exec(c->db, &stmts, Q_LOG_INS,
		      SQL_ARGS(c->cache_id, r->src, access_format_name(r->format), r->digest,
			       clock_now(), (int64_t)r->lines, (int64_t)r->requests,
			       (int64_t)r->recorded, (int64_t)r->unknown, (int64_t)r->ignored,
			       (int64_t)r->malformed, SQL_INT_OPT(r->first_at),
			       SQL_INT_OPT(r->last_at))))
		goto out;
	r->log_id = db_last_id(c->db);
	for (size_t i = 0; i < agg->n; i++) {
		const struct access_day *d = &agg->v[i];
		if (stmt_exec(c->db, &stmts, Q_ACC_UPSERT,
			      SQL_ARGS(c->cache_id, d->path_id, d->day, d->narinfo_hits,
				       d->nar_hits, SQL_INT_OPT(d->narinfo_last),
				       SQL_INT_OPT(d->nar_last))))
			goto out;
	}
	if (db_commit(c->db))
		goto out;
	r->status = "imported";
	return 0;
out:
	db_rollback(c->db);
	return rc;
}

static void show_problems(const struct access_log_result *r)
{
	for (size_t i = 0; i < r->nproblems; i++)
		warning("%s:%llu: %s", r->src, (unsigned long long)r->problems[i].line,
			r->problems[i].msg);
	if (r->malformed > r->nproblems)
		warning("%s: %llu more malformed lines not shown", r->src,
			(unsigned long long)(r->malformed - r->nproblems));
}

/*
 * Why a log that parsed gave nothing to record, into r->error, with the
 * prefix its requests suggest (r->suggested).  Nothing is written, so the
 * corrected run imports it.
 */
static void nothing_recorded(const struct access_import *c, struct access_log_result *r)
{
	const struct access_hint *best = NULL;
	unsigned long long req = r->requests, unk = r->unknown;
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < r->nhints; i++) {
		const struct access_hint *h = &r->hints[i];
		if (!best || h->known > best->known ||
		    (h->known == best->known && h->shaped > best->shaped))
			best = h;
	}
	if (best && best->known) {
		snprintf(r->suggested, sizeof(r->suggested), "%s", best->prefix);
		strbuf_addf(&sb, "'%s': nothing recorded: no request is for a "
			 "narinfo or NAR of %s under the prefix '%s', but %llu would be under '%s': "
			 "run again with --prefix %s (the log is not marked imported)", r->src,
			 c->cache_url, c->prefix, (unsigned long long)best->known, best->prefix,
			 best->prefix);
	} else if (req) {
		strbuf_addf(&sb, "'%s': nothing recorded: its %llu narinfo and "
			 "NAR requests under '%s' are all for paths the database does not know for "
			 "%s (%llu unknown); crawl the cache first, or choose the cache with --cache "
			 "(the log is not marked imported)", r->src, req, c->prefix, c->cache_url, unk);
	} else if (best) {
		snprintf(r->suggested, sizeof(r->suggested), "%s", best->prefix);
		strbuf_addf(&sb, "'%s': nothing recorded: no request is under "
			 "the prefix '%s'; %llu look like narinfo or NAR requests under '%s' "
			 "(--prefix %s), but the database does not know them for %s: crawl it first "
			 "(the log is not marked imported)", r->src, c->prefix,
			 (unsigned long long)best->shaped, best->prefix, best->prefix, c->cache_url);
	} else {
		strbuf_addf(&sb, "'%s': nothing recorded: none of its %llu "
			 "lines is a successful narinfo or NAR request (%llu ignored, %llu malformed); "
			 "is it the log of %s? (the log is not marked imported)", r->src,
			 (unsigned long long)r->lines, (unsigned long long)r->ignored,
			 (unsigned long long)r->malformed, c->cache_url);
	}
	snprintf(r->error, sizeof(r->error), "%s", sb.buf);
	strbuf_release(&sb);
}

int access_import_one(struct access_import *c, const char *file, struct access_log_result *r)
{
	struct access_agg agg;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	r->src = strcmp(file, "-") ? file : "<stdin>";
	r->status = "failed";
	r->first_at = r->last_at = -1;
	access_agg_init(&agg);
	if (read_log(c, file, r, &agg))
		goto out;
	if (!r->parsed && r->malformed) {
		show_problems(r);
		snprintf(r->error, sizeof(r->error), "'%s': none of its %llu lines is in %s "
			 "format; nothing imported", r->src, (unsigned long long)r->lines,
			 c->format == ACCESS_FMT_AUTO ? "combined or S3 access log"
			 : access_format_name(c->format));
		goto out;
	}
	if (!r->parsed) {
		r->status = "empty";
		rc = 0;
		goto out;
	}
	if (!r->recorded) {
		show_problems(r);
		nothing_recorded(c, r);
		goto out;
	}
	r->paths = distinct(&agg, 0);
	r->days = distinct(&agg, 1);
	if (write_log(c, r, &agg))
		goto out;
	/* a log imported before had its malformed lines shown then */
	if (!strcmp(r->status, "imported"))
		show_problems(r);
	if (!strcmp(r->status, "imported") && r->unknown > r->recorded)
		warning("'%s': %llu of %llu requests are for narinfos or NARs the database does "
			"not know for %s; was the cache crawled before its logs were imported?",
			r->src, (unsigned long long)r->unknown, (unsigned long long)r->requests,
			c->cache_url);
	rc = 0;
out:
	access_agg_release(&agg);
	if (rc)
		r->status = "failed";
	return rc;
}

