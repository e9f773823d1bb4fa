/*
 * cmd_import_access.c - `cachegc import-access LOG...`: the last access per
 * path and day from web server (nginx/Apache combined) and S3 server
 * access logs, into the tables of sql/004_gc.sql that the GC models read.
 *
 * Each log is streamed line by line (plain or gzip, detected by its magic
 * bytes; at most ACCESS_MAX_INPUT bytes once decompressed) while its
 * SHA-256 is computed; lines are parsed by accesslog.c and their keys
 * resolved through an in-memory index of the cache's narinfos, built once.
 * Accesses are summed per (path, UTC day) in memory and written in one
 * transaction per log, with the log's row in access_logs; a log whose
 * content was imported before is skipped, so hits never count twice.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "nix/accesslog.h"
#include "cli/cmd.h"
#include "store/db.h"
#include "store/stmt.h"
#include "ingest/evals.h"
#include "store/lookup.h"
#include "lib/util.h"

/* What a log may hold once decompressed. */
#define ACCESS_MAX_INPUT (4ull << 30)
/* Malformed lines shown per log; the rest are counted. */
#define SHOWN_PROBLEMS 5

static const char usage_text[] =
	"usage: cachegc import-access [--cache CACHE] [--format combined|s3|auto]\n"
	"                             [--prefix PATH] [--json] LOG...\n"
	"\n"
	"Record when the cache's clients fetched each path, from its access logs:\n"
	"per path and UTC day, the narinfo requests and NAR downloads that\n"
	"succeeded, how many, and the last of each kind.  The GC models read them\n"
	"('cachegc simulate' and 'cachegc plan evict' with --policy cachix, which\n"
	"evicts the least recently accessed paths first, or attic, which keeps\n"
	"paths downloaded within the retention).\n"
	"\n"
	"What counts as an access:\n"
	"  - a GET or HEAD of PREFIX<hash>.narinfo, answered 2xx or 304: an access\n"
	"    of the path with that hash;\n"
	"  - a GET of a NAR, answered 2xx (206 partial content too) or 304: an\n"
	"    access of every path whose narinfo's URL names that file (relative to\n"
	"    PREFIX, e.g. nar/<hash>.nar.xz).\n"
	"Query strings are stripped and %XX decoded.  Failed requests (404, 5xx),\n"
	"other methods, NAR HEADs and other files are ignored; requests for\n"
	"narinfos or NARs the database does not know for this cache are counted\n"
	"as unknown and not kept, so crawl the cache before importing its logs.\n"
	"\n"
	"Formats (--format; auto: the first line that parses decides, per log):\n"
	"  combined  nginx's and Apache's combined or common log format:\n"
	"            HOST IDENT USER [10/Oct/2024:13:55:36 +0200] \"GET /PATH HTTP/1.1\"\n"
	"            STATUS BYTES [\"REFERER\" \"AGENT\" ...]; time zones are honoured\n"
	"  s3        S3 server access logs: OWNER BUCKET [TIME] IP REQUESTER ID\n"
	"            OPERATION KEY \"REQUEST-URI\" STATUS ...; REST.GET.OBJECT and\n"
	"            REST.HEAD.OBJECT (and WEBSITE.*) count; the key is taken as\n"
	"            the path \"/KEY\"\n"
	"Lines that are not in the format (or longer than 64 KiB, or holding\n"
	"control characters) are malformed: the first few are shown with\n"
	"file:line, all are counted, and the rest of the log is imported.\n"
	"\n"
	"A LOG is a file, '-' for standard input, or gzip-compressed (detected by\n"
	"its magic bytes); at most 4 GiB once decompressed, read as a stream.  Each\n"
	"log is imported in one transaction and recorded in access_logs with the\n"
	"SHA-256 of its (decompressed) content: the same content imported again,\n"
	"under any name or compressed, is skipped ('already imported'), so hits\n"
	"never count twice.  Import rotated logs (access.log.1, *.gz): a log that\n"
	"is still being written has other content tomorrow and would count again.\n"
	"\n"
	"options:\n"
	"  --cache CACHE    the cache (URL, directory or id); default: the only one\n"
	"  --format F       combined, s3 or auto (default auto)\n"
	"  --prefix PATH    the URL path of the cache root in the logs, e.g. /cache/\n"
	"                   for a cache served at https://host/cache (default: the\n"
	"                   path of the cache's http(s) URL, else /)\n"
	"  --json           print an array with one object per log: file, status\n"
	"                   (imported, already-imported, empty, failed), logId,\n"
	"                   format, digest, lines, requests, recorded, unknown,\n"
	"                   ignored, malformed, paths, days, firstAt, lastAt,\n"
	"                   problems [{line, message}], error\n"
	"  --help           this text\n"
	"\n"
	"Per log: lines = requests + ignored + malformed (blank lines are ignored);\n"
	"requests = recorded + unknown; firstAt and lastAt span the recorded ones.\n"
	"\n"
	"Exit status: 0 when every log was imported (or already was, or empty), 1\n"
	"when a log could not be read or held no usable line (the others are still\n"
	"imported), 2 for a usage error.\n";

const struct cmd cmd_import_access;

/* ---- reading: plain or gzip, hashed, capped ----------------------------- */

struct source {
	gzFile gz;
	EVP_MD_CTX *md;
	uint64_t bytes;        /* decompressed bytes read */
	uint64_t max;          /* and at most this many */
	char err[160];         /* why reading failed, when it did */
};

static ssize_t source_read(void *cookie, char *buf, size_t n)
{
	struct source *s = cookie;
	int r, zerr;

	if (n > (1u << 30))
		n = 1u << 30;
	r = gzread(s->gz, buf, (unsigned)n);
	if (r < 0) {
		const char *m = gzerror(s->gz, &zerr);
		if (zerr == Z_ERRNO)
			snprintf(s->err, sizeof(s->err), "%s", strerror(errno));
		else
			snprintf(s->err, sizeof(s->err), "%s (a damaged gzip file?)", m);
		errno = EIO;
		return -1;
	}
	if (r == 0 && gzerror(s->gz, &zerr) && zerr == Z_BUF_ERROR) {
		/* gzread takes the end of a gzip stream cut short for the end */
		snprintf(s->err, sizeof(s->err), "the gzip data is truncated");
		errno = EIO;
		return -1;
	}
	s->bytes += (uint64_t)r;
	if (s->bytes > s->max) {
		if (s->max == ACCESS_MAX_INPUT)
			snprintf(s->err, sizeof(s->err), "more than 4 GiB (decompressed); split it");
		else
			snprintf(s->err, sizeof(s->err), "more than %llu bytes (decompressed)",
				 (unsigned long long)s->max);
		errno = EFBIG;
		return -1;
	}
	if (r > 0 && !EVP_DigestUpdate(s->md, buf, (size_t)r)) {
		snprintf(s->err, sizeof(s->err), "SHA-256 failed");
		errno = EIO;
		return -1;
	}
	return r;
}

static int source_close(void *cookie)
{
	(void)cookie;
	return 0;
}

/* ---- one log --------------------------------------------------------------- */

struct problem {
	uint64_t line;
	char msg[160];
};

struct log_result {
	const char *src;       /* as named ("<stdin>" for -) */
	const char *status;    /* "imported", "already-imported", "empty", "failed" */
	enum access_format format;
	char digest[65];
	int64_t log_id;        /* the new row, or the one already there */
	char prev_source[256]; /* with already-imported: its source */
	int64_t prev_at;       /* and when */
	uint64_t lines, requests, recorded, unknown, ignored, malformed, parsed;
	int64_t first_at, last_at;   /* -1 when nothing recorded */
	size_t paths, days;
	struct problem problems[SHOWN_PROBLEMS];
	size_t nproblems;
	char error[400];
};

struct ctx {
	struct db *db;
	int64_t cache_id;
	char *cache_url;
	char prefix[ACCESS_MAX_PATH + 2];
	enum access_format format;
	struct access_index ix;
	char path[ACCESS_MAX_PATH + 2];   /* decode buffer */
};

static void problem(struct log_result *r, uint64_t line, const char *msg)
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

/* One parsed line: count it, and add what it accessed to agg. */
static void take(struct ctx *c, struct log_result *r, const struct access_request *q,
		 struct access_agg *agg)
{
	enum access_kind kind;
	const char *rel;
	size_t plen, rellen, n;
	int64_t ids[64];

	if (!q->target || access_target_path(q->target, q->target_len, q->format == ACCESS_FMT_S3,
					     c->path, sizeof(c->path), &plen)) {
		r->ignored++;
		return;
	}
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
		n = access_index_nar(&c->ix, rel, rellen, ids, ARRAY_SIZE(ids));
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
			access_index_nar(&c->ix, rel, rellen, all, n);
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
static int read_log(struct ctx *c, const char *file, struct log_result *r, struct access_agg *agg)
{
	struct source s = {0};
	cookie_io_functions_t io = {source_read, NULL, NULL, source_close};
	struct line_reader lr;
	struct progress pr;
	struct stat st;
	FILE *f = NULL;
	const char *line;
	size_t len;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
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
	if (!(s.gz = gzdopen(fd, "rb"))) {
		snprintf(r->error, sizeof(r->error), "cannot read '%s': out of memory", r->src);
		close(fd);
		return -1;
	}
	gzbuffer(s.gz, 256 * 1024);
	s.max = input_cap();
	if (!(s.md = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(s.md, EVP_sha256(), NULL)) {
		snprintf(r->error, sizeof(r->error), "SHA-256 is not available");
		goto out;
	}
	if (!(f = fopencookie(&s, "r", io))) {
		snprintf(r->error, sizeof(r->error), "cannot read '%s': %s", r->src, strerror(errno));
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
			snprintf(r->error, sizeof(r->error), "cannot read '%s': %s", r->src,
				 s.err[0] ? s.err : strerror(errno));
			goto out;
		}
		r->lines++;
		if ((r->lines & 1023) == 0)
			progress_update(&pr, pr.total ? (uint64_t)gzoffset(s.gz) : r->lines);
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
	if (!EVP_DigestFinal_ex(s.md, md, &mdlen) || mdlen != 32) {
		snprintf(r->error, sizeof(r->error), "SHA-256 failed");
		goto out;
	}
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(r->digest + 2 * i, 3, "%02x", md[i]);
	r->format = fmt;
	rc = 0;
out:
	if (lr_inited)
		line_reader_release(&lr);
	if (f)
		fclose(f);
	if (s.gz)
		gzclose_r(s.gz);   /* closes fd */
	EVP_MD_CTX_free(s.md);
	return rc;
}

/* ---- the DB ---------------------------------------------------------------- */

static const char SQL_INDEX[] =
	"SELECT p.hash, n.path_id, n.url FROM narinfos n JOIN paths p ON p.id = n.path_id"
	" WHERE n.cache_id = ?1";
static const char SQL_LOG_FIND[] =
	"SELECT id, source, imported_at FROM access_logs WHERE cache_id = ?1 AND digest = ?2";
static const char SQL_LOG_INS[] =
	"INSERT INTO access_logs (cache_id, source, format, digest, imported_at, lines, requests,"
	" recorded, unknown, ignored, malformed, first_at, last_at)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
/* Hits add up; the last times are the later of both (max() of SQL is NULL
 * when either is, hence the coalesces). */
static const char SQL_ACC_UPSERT[] =
	"INSERT INTO accesses (cache_id, path_id, day, narinfo_hits, nar_hits, narinfo_last,"
	" nar_last) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
	" ON CONFLICT (cache_id, path_id, day) DO UPDATE SET"
	" narinfo_hits = narinfo_hits + excluded.narinfo_hits,"
	" nar_hits = nar_hits + excluded.nar_hits,"
	" narinfo_last = max(coalesce(narinfo_last, excluded.narinfo_last),"
	"                    coalesce(excluded.narinfo_last, narinfo_last)),"
	" nar_last = max(coalesce(nar_last, excluded.nar_last),"
	"                coalesce(excluded.nar_last, nar_last))";

static int load_index(struct ctx *c)
{
	sqlite3_stmt *st = db_stmt(c->db, SQL_INDEX);
	int r;

	if (!st)
		return -1;
	db_bind_int(st, 1, c->cache_id);
	while ((r = db_step(c->db, st)) == 1) {
		const char *url = (const char *)sqlite3_column_text(st, 2);
		size_t ul = url ? (size_t)sqlite3_column_bytes(st, 2) : 0;
		access_index_add(&c->ix, db_col_text(st, 0), sqlite3_column_int64(st, 1), url, ul);
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

static int write_log(struct ctx *c, struct log_result *r, const struct access_agg *agg)
{
	sqlite3_stmt *st;
	int found, rc = -1;

	if (db_begin(c->db))
		return -1;
	if (!(st = db_stmt(c->db, SQL_LOG_FIND)))
		goto out;
	db_bind_int(st, 1, c->cache_id);
	db_bind_text(st, 2, r->digest);
	if ((found = db_step(c->db, st)) < 0)
		goto out;
	if (found) {
		r->log_id = sqlite3_column_int64(st, 0);
		snprintf(r->prev_source, sizeof(r->prev_source), "%s", db_col_text(st, 1));
		r->prev_at = sqlite3_column_int64(st, 2);
		sqlite3_reset(st);
		r->status = "already-imported";
		rc = 0;
		goto out;   /* rolls back: nothing changes */
	}
	if (!(st = db_stmt(c->db, SQL_LOG_INS)))
		goto out;
	db_bind_int(st, 1, c->cache_id);
	db_bind_text(st, 2, r->src);
	db_bind_text(st, 3, access_format_name(r->format));
	db_bind_text(st, 4, r->digest);
	db_bind_int(st, 5, clock_now());
	db_bind_int(st, 6, (int64_t)r->lines);
	db_bind_int(st, 7, (int64_t)r->requests);
	db_bind_int(st, 8, (int64_t)r->recorded);
	db_bind_int(st, 9, (int64_t)r->unknown);
	db_bind_int(st, 10, (int64_t)r->ignored);
	db_bind_int(st, 11, (int64_t)r->malformed);
	db_bind_int_opt(st, 12, r->first_at);
	db_bind_int_opt(st, 13, r->last_at);
	if (db_run(c->db, st))
		goto out;
	r->log_id = db_last_id(c->db);
	for (size_t i = 0; i < agg->n; i++) {
		const struct access_day *d = &agg->v[i];
		if (!(st = db_stmt(c->db, SQL_ACC_UPSERT)))
			goto out;
		db_bind_int(st, 1, c->cache_id);
		db_bind_int(st, 2, d->path_id);
		db_bind_int(st, 3, d->day);
		db_bind_int(st, 4, d->narinfo_hits);
		db_bind_int(st, 5, d->nar_hits);
		db_bind_int_opt(st, 6, d->narinfo_last);
		db_bind_int_opt(st, 7, d->nar_last);
		if (db_run(c->db, st))
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

/* ---- output ------------------------------------------------------------------ */

static void print_text(const struct log_result *r)
{
	char t1[32], t2[32];

	if (!strcmp(r->status, "empty")) {
		fprintf_printable(stdout, "'%s': no log lines; nothing imported\n", r->src);
		return;
	}
	if (!strcmp(r->status, "already-imported")) {
		fprintf_printable(stdout, "'%s': already imported as log %lld (from '%s' at %s); "
		       "nothing changed\n", r->src, (long long)r->log_id, r->prev_source,
		       format_time(r->prev_at, t1, sizeof(t1)));
		return;
	}
	fprintf_printable(stdout, "'%s': imported as log %lld (%s): %llu lines, %llu requests "
	       "(%llu recorded, %llu unknown), %llu ignored, %llu malformed", r->src, (long long)r->log_id,
	       access_format_name(r->format), (unsigned long long)r->lines,
	       (unsigned long long)r->requests, (unsigned long long)r->recorded,
	       (unsigned long long)r->unknown, (unsigned long long)r->ignored,
	       (unsigned long long)r->malformed);
	if (r->recorded)
		printf("; %zu path%s, %s to %s", r->paths, r->paths == 1 ? "" : "s", format_time(r->first_at, t1, sizeof(t1)),
		       format_time(r->last_at, t2, sizeof(t2)));
	putchar('\n');
}

static json_t *result_json(const struct log_result *r)
{
	json_t *o = json_object(), *probs = json_array();
	char t[32];

	json_object_set_new(o, "file", json_string(r->src));
	json_object_set_new(o, "status", json_string(r->status));
	json_object_set_new(o, "logId", r->log_id ? json_integer(r->log_id) : json_null());
	json_object_set_new(o, "format", r->format == ACCESS_FMT_AUTO ? json_null()
				: json_string(access_format_name(r->format)));
	json_object_set_new(o, "digest", r->digest[0] ? json_string(r->digest) : json_null());
	json_object_set_new(o, "lines", json_integer((json_int_t)r->lines));
	json_object_set_new(o, "requests", json_integer((json_int_t)r->requests));
	json_object_set_new(o, "recorded", json_integer((json_int_t)r->recorded));
	json_object_set_new(o, "unknown", json_integer((json_int_t)r->unknown));
	json_object_set_new(o, "ignored", json_integer((json_int_t)r->ignored));
	json_object_set_new(o, "malformed", json_integer((json_int_t)r->malformed));
	json_object_set_new(o, "paths", json_integer((json_int_t)r->paths));
	json_object_set_new(o, "days", json_integer((json_int_t)r->days));
	json_object_set_new(o, "firstAt", r->first_at >= 0 ?
			    json_string(format_time(r->first_at, t, sizeof(t))) : json_null());
	json_object_set_new(o, "lastAt", r->last_at >= 0 ?
			    json_string(format_time(r->last_at, t, sizeof(t))) : json_null());
	for (size_t i = 0; i < r->nproblems; i++)
		json_array_append_new(probs, json_pack("{s:I, s:s}", "line",
						       (json_int_t)r->problems[i].line,
						       "message", r->problems[i].msg));
	json_object_set_new(o, "problems", probs);
	if (!strcmp(r->status, "already-imported")) {
		json_object_set_new(o, "importedFrom", json_string(r->prev_source));
		json_object_set_new(o, "importedAt",
				    json_string(format_time(r->prev_at, t, sizeof(t))));
	}
	if (!strcmp(r->status, "failed"))
		json_object_set_new(o, "error", json_string(r->error[0] ? r->error
							    : "failed; see the messages above"));
	return o;
}

static void show_problems(const struct log_result *r)
{
	for (size_t i = 0; i < r->nproblems; i++)
		warning("%s:%llu: %s", r->src, (unsigned long long)r->problems[i].line,
			r->problems[i].msg);
	if (r->malformed > r->nproblems)
		warning("%s: %llu more malformed lines not shown", r->src,
			(unsigned long long)(r->malformed - r->nproblems));
}

/* Import one log; 0 or -1 (r->error says why, or the DB layer did). */
static int import_one(struct ctx *c, const char *file, struct log_result *r)
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

/* The URL path of an http(s) cache URL ("http://h:1/a/b" -> "/a/b"); "/"
 * for any other cache. */
static const char *url_path(const char *url)
{
	const char *p;

	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		return "/";
	p = strstr(url, "://") + 3;
	p = strchr(p, '/');
	return p ? p : "/";
}

static int run(struct cmd_ctx *cctx, int argc, char **argv)
{
	const char *cache = NULL, *format = NULL, *prefix = NULL;
	const char **files = NULL;
	size_t nfiles = 0, afiles = 0;
	int json = 0, positional = 0, rc = 0;
	struct ctx *c = NULL;
	json_t *arr = NULL;
	char *url = NULL;

	for (int i = 1; i < argc; i++) {
		const char *v = NULL;
		static const char *const opts[] = {"--cache", "--format", "--prefix"};
		const char **dst[] = {&cache, &format, &prefix};
		int matched = 0;

		if (!positional && !strcmp(argv[i], "--")) {
			positional = 1;
			continue;
		}
		if (!positional && argv[i][0] == '-' && argv[i][1]) {
			for (size_t k = 0; k < ARRAY_SIZE(opts) && !matched; k++) {
				int r = cmd_take_opt(argc, argv, &i, opts[k], &v);
				if (r < 0) {
					rc = cmd_usage_error(&cmd_import_access, "%s needs a value",
							     opts[k]);
					goto out;
				}
				if (r > 0) {
					*dst[k] = v;
					matched = 1;
				}
			}
			if (matched)
				continue;
			if (!strcmp(argv[i], "--json")) {
				json = 1;
				continue;
			}
			rc = cmd_usage_error(&cmd_import_access, "unknown option '%s'", argv[i]);
			goto out;
		}
		GROW(files, afiles, nfiles + 1);
		files[nfiles++] = argv[i];
	}
	if (!nfiles) {
		rc = cmd_usage_error(&cmd_import_access, "no LOG given ('-' reads standard input)");
		goto out;
	}
	c = xcalloc(1, sizeof(*c));
	c->db = cctx->db;
	access_index_init(&c->ix);
	if (format && access_format_parse(format, &c->format)) {
		rc = cmd_usage_error(&cmd_import_access, "--format '%s': want combined, s3 or auto",
				     format);
		goto out;
	}
	if (prefix && access_prefix_normalize(prefix, c->prefix, sizeof(c->prefix))) {
		rc = cmd_usage_error(&cmd_import_access, "--prefix '%s' is not a URL path such as "
				     "/ or /cache/", prefix);
		goto out;
	}
	/* cache_resolve may free *url on failure without clearing it */
	if (cache_resolve(c->db, cache, &c->cache_id, &url)) {
		rc = 1;
		goto out;
	}
	c->cache_url = url;
	if (!prefix && access_prefix_normalize(url_path(c->cache_url), c->prefix,
					       sizeof(c->prefix))) {
		error("the path of the cache URL '%s' is not usable as a prefix; give --prefix",
		      c->cache_url);
		rc = 1;
		goto out;
	}
	if (load_index(c)) {
		rc = 1;
		goto out;
	}
	if (json)
		arr = json_array();
	for (size_t i = 0; i < nfiles; i++) {
		struct log_result *r = xcalloc(1, sizeof(*r));
		if (import_one(c, files[i], r)) {
			rc = 1;
			if (r->error[0])
				error("%s", r->error);
		}
		if (arr)
			json_array_append_new(arr, result_json(r));
		else if (strcmp(r->status, "failed"))
			print_text(r);
		fflush(stdout);
		free(r);
	}
	if (arr) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
	}
out:
	json_decref(arr);
	if (c) {
		access_index_release(&c->ix);
		free(c->cache_url);
		free(c);
	}
	free(files);
	return rc;
}

const struct cmd cmd_import_access = {
	"import-access",
	"record the last access per path from nginx/Apache or S3 access logs",
	usage_text,
	DB_WRITE,
	run,
};
