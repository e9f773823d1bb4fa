/*
 * crawl_s3.c - a full crawl of a binary cache in an S3 bucket
 * (ingest/crawl_s3.h): list, then record through the crawl recorder
 * (crawl.h) exactly what a directory crawl records for the same files.
 */
#include "ingest/crawl_s3.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest/fetch.h"
#include "ingest/s3.h"
#include "nix/narinfo.h"
#include "nix/nixhash.h"
#include "nix/s3inventory.h"
#include "lib/gzread.h"
#include "lib/linereader.h"
#include "lib/util.h"
#include "lib/version.h"

#define CACHE_INFO_MAX (64 * 1024)
#define CACHE_INFO_ID (-1)

/* One key of the listing, relative to the prefix. */
struct entry {
	char *name;
	int64_t size, mtime;
};

struct s3crawl {
	const struct s3_target *t;
	struct entry *e;          /* every key under the prefix */
	size_t n, alloc;
	size_t *narinfo;          /* indexes into e of '<32>.narinfo' keys */
	size_t nnar, anar;
	int have_ci;
	struct crawl c;
	int begun;
	char *ci_body;            /* nix-cache-info */
	size_t ci_len;
	int ci_status;
	long ci_code;
	char *ci_error;
	unsigned errors_reported;
	char *source_base;        /* "s3://bucket/prefix/" for messages */
};

static int on_page(const struct s3_list_page *p, void *ctx)
{
	struct s3crawl *s = ctx;
	size_t pl = strlen(s->t->prefix);

	for (size_t i = 0; i < p->n; i++) {
		const char *k = p->obj[i].key;
		struct entry *e;

		if (strncmp(k, s->t->prefix, pl) || !k[pl])
			continue;   /* not under the prefix (a server that ignores it) */
		GROW(s->e, s->alloc, s->n + 1);
		e = &s->e[s->n++];
		e->name = xstrdup(k + pl);
		e->size = p->obj[i].size;
		e->mtime = p->obj[i].last_modified;
	}
	return crawl_interrupted ? 1 : 0;
}

/* Keys from an S3 Inventory report instead of a listing. */
static int read_inventory(struct s3crawl *s, const char *manifest)
{
	struct s3_inventory inv;
	struct parse_error perr;
	char *buf = NULL, *dir = NULL;
	size_t len, pl = strlen(s->t->prefix);
	struct strbuf path = STRBUF_INIT;
	int ret = -1;
	const char *slash;

	memset(&inv, 0, sizeof(inv));
	if (read_file_capped(manifest, 16 << 20, &buf, &len))
		return error("cannot read the inventory manifest '%s': %s", manifest,
			     strerror(errno));
	if (s3_inventory_parse(buf, len, &inv, &perr)) {
		error("'%s': %s", manifest, perr.msg);
		goto out;
	}
	if (strcmp(inv.source_bucket, s->t->bucket)) {
		error("the inventory '%s' is of bucket '%s', not '%s'", manifest,
		      inv.source_bucket, s->t->bucket);
		goto out;
	}
	perr.msg[0] = '\0';
	slash = strrchr(manifest, '/');
	dir = slash ? xstrndup(manifest, (size_t)(slash - manifest)) : xstrdup(".");
	for (size_t i = 0; i < inv.nfiles && !crawl_interrupted; i++) {
		const char *base = strrchr(inv.files[i], '/');
		struct line_reader lr;
		struct gzread *gz;
		char gerr[256];
		const char *line;
		size_t ll;
		FILE *f;
		int fd, rc;

		base = base ? base + 1 : inv.files[i];
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/%s", dir, base);
		if (access(path.buf, R_OK)) {
			strbuf_reset(&path);
			strbuf_addf(&path, "%s/../data/%s", dir, base);
		}
		if ((fd = open(path.buf, O_RDONLY | O_CLOEXEC)) < 0) {
			error("cannot read inventory file '%s' (files[%zu] of '%s', looked for "
			      "beside it and in ../data/): %s", base, i, manifest, strerror(errno));
			goto out;
		}
		if (!(gz = gzread_open(fd, UINT64_C(1) << 40, gerr, sizeof(gerr))) ||
		    !(f = gzread_stream(gz, gerr, sizeof(gerr)))) {
			error("'%s': %s", path.buf, gerr);
			gzread_close(gz);
			goto out;
		}
		line_reader_init(&lr, f, 64 * 1024);
		while ((rc = line_reader_next(&lr, &line, &ll)) == LR_LINE) {
			char *key, *bucket;
			int64_t size, mtime;
			struct entry *e;

			if (!ll)
				continue;
			if (s3_inventory_line(&inv, line, ll, &key, &size, &mtime, &bucket, &perr)) {
				error("'%s':%u: %s", path.buf, lr.lineno, perr.msg);
				rc = LR_ERROR;
				break;
			}
			if ((!bucket || !strcmp(bucket, s->t->bucket)) && !strncmp(key, s->t->prefix, pl) &&
			    key[pl]) {
				GROW(s->e, s->alloc, s->n + 1);
				e = &s->e[s->n++];
				e->name = xstrdup(key + pl);
				e->size = size;
				e->mtime = mtime;
			}
			free(key);
			free(bucket);
		}
		if (rc == LR_TOO_LONG)
			error("'%s':%u: a line over 64 KiB", path.buf, lr.lineno);
		else if (rc == LR_ERROR && !perr.msg[0])
			error("'%s': %s", path.buf, gzread_error(gz));
		line_reader_release(&lr);
		gzread_close(gz);
		if (rc != LR_EOF)
			goto out;
	}
	ret = crawl_interrupted ? 1 : 0;
out:
	s3_inventory_release(&inv);
	strbuf_release(&path);
	free(buf);
	free(dir);
	return ret;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

/* The listed size of the object at name (relative to the prefix), or -1. */
static int64_t listed_size(const struct s3crawl *s, const char *name)
{
	struct entry key = {(char *)name, 0, 0};
	const struct entry *e = bsearch(&key, s->e, s->n, sizeof(*s->e), cmp_entry);

	return e ? e->size : -1;
}

static int reject(struct s3crawl *s, const struct entry *e, const char *hash, unsigned line,
		  const char *msg, const char *body, size_t len)
{
	struct strbuf src = STRBUF_INIT;
	int64_t bytes = e->size, file_size, nar;
	char url[4097];
	int rc;

	if (body) {
		crawl_reject_scan(body, len, url, sizeof(url), &file_size);
		nar = url[0] ? listed_size(s, url) : -1;
		bytes += nar >= 0 ? nar : file_size > 0 ? file_size : 0;
	}
	strbuf_addf(&src, "%s%s", s->source_base, e->name);
	rc = crawl_reject(&s->c, src.buf, hash, line, msg, bytes);
	strbuf_release(&src);
	return rc;
}

static int got_narinfo(struct s3crawl *s, const struct entry *e, const struct fetch_result *r)
{
	char hash[STORE_HASH_LEN + 1];
	struct narinfo ni;
	struct narinfo_error err;
	int rc;

	memcpy(hash, e->name, STORE_HASH_LEN);
	hash[STORE_HASH_LEN] = '\0';
	if (narinfo_parse(r->body, r->len, s->c.store_dir, hash, &ni, &err))
		return reject(s, e, hash, err.line, err.msg, r->body, r->len);
	if (ni.file_size < 0 && ni.url)
		ni.file_size = listed_size(s, ni.url);
	if (ni.odd)
		crawl_odd(&s->c, r->url, &ni);
	rc = crawl_add_narinfo(&s->c, &ni, e->mtime);
	narinfo_release(&ni);
	return rc || crawl_checkpoint(&s->c) ? -1 : 0;
}

static int on_done(const struct fetch_result *r, void *data)
{
	struct s3crawl *s = data;
	const struct entry *e;

	if (r->id == CACHE_INFO_ID) {
		s->ci_status = r->status;
		s->ci_code = r->http_code;
		if (r->status == FETCH_OK) {
			s->ci_body = xstrndup(r->body, r->len);
			s->ci_len = r->len;
		} else if (r->error) {
			s->ci_error = xstrdup(r->error);
		}
		return 0;
	}
	if (r->status == FETCH_CANCELLED)
		return 0;
	e = &s->e[r->id];
	switch (r->status) {
	case FETCH_OK:
		return got_narinfo(s, e, r);
	case FETCH_TOO_LARGE: {
		char hash[STORE_HASH_LEN + 1], msg[64];

		memcpy(hash, e->name, STORE_HASH_LEN);
		hash[STORE_HASH_LEN] = '\0';
		snprintf(msg, sizeof(msg), "larger than %d bytes; not a narinfo", NARINFO_MAX_BYTES);
		return reject(s, e, hash, 0, msg, NULL, 0);
	}
	case FETCH_NOT_FOUND:
		/* deleted since the listing: not there, as the next crawl will see */
		return 0;
	default:
		if (s->errors_reported++ < 20)
			error("%s; the narinfo is not recorded (the next crawl fetches it)",
			      r->error);
		crawl_unknown(&s->c);
		return 0;
	}
}

int crawl_s3(struct db *db, const struct crawl_s3_options *o, struct crawl_counts *out,
	     int64_t *crawl_id, char **cache_url)
{
	struct s3_target t;
	struct s3_creds cr;
	struct s3crawl s;
	struct fetch_options fo;
	struct fetcher *f = NULL;
	struct nix_cache_info ci;
	struct narinfo_error nerr;
	char *base = NULL;
	int ret = -1, rc, have_ci = 0, have_target = 0, have_creds = 0;
	struct strbuf sb = STRBUF_INIT;

	memset(&s, 0, sizeof(s));
	memset(&ci, 0, sizeof(ci));
	memset(out, 0, sizeof(*out));
	*crawl_id = 0;
	*cache_url = NULL;
	if (s3_target_init(&t, o->url, o->endpoint, o->region))
		goto out;
	have_target = 1;
	if (s3_creds_load(&cr, &t))
		goto out;
	have_creds = 1;
	s.t = &t;
	strbuf_addf(&sb, "%s/", t.url);
	s.source_base = strbuf_detach(&sb);

	/* 1. The whole listing, before anything is recorded. */
	if (o->inventory)
		rc = read_inventory(&s, o->inventory);
	else
		rc = s3_list(&t, &cr, o->page_size, o->cacert, &crawl_interrupted, on_page, &s);
	if (rc) {
		ret = rc > 0 ? 1 : -1;
		goto out;
	}
	qsort(s.e, s.n, sizeof(*s.e), cmp_entry);
	for (size_t i = 0; i < s.n; i++) {
		const char *nm = s.e[i].name;
		size_t len = strlen(nm);

		if (!strcmp(nm, "nix-cache-info"))
			s.have_ci = 1;
		else if (len == STORE_HASH_LEN + 8 && !strcmp(nm + STORE_HASH_LEN, ".narinfo")) {
			GROW(s.narinfo, s.anar, s.nnar + 1);
			s.narinfo[s.nnar++] = i;
		}
	}

	/* 2. nix-cache-info, through the signed fetcher. */
	base = s3_object_base(&t);
	memset(&fo, 0, sizeof(fo));
	fo.base_url = base;
	fo.on_done = on_done;
	fo.cb_data = &s;
	fo.jobs = o->jobs;
	fo.per_host = o->jobs > 0 ? o->jobs : 64;
	fo.max_tries = o->tries;
	fo.timeout_ms = o->timeout_ms;
	fo.max_body = NARINFO_MAX_BYTES;
	fo.cacert = o->cacert;
	fo.user_agent = "cachegc/" CACHEGC_VERSION;
	fo.sigv4 = &cr.sigv4;
	if (fetcher_new(&f, &fo))
		goto out;
	if (s.have_ci) {
		if (fetcher_enqueue(f, FETCH_GET, "nix-cache-info", NULL, CACHE_INFO_ID))
			goto out;
		rc = fetcher_run(f);
		if (rc == FETCH_RUN_INTERRUPTED) {
			ret = 1;
			goto out;
		}
		if (rc != FETCH_RUN_DONE)
			goto out;
		if (s.ci_status != FETCH_OK) {
			error("cannot read %snix-cache-info: %s", s.source_base,
			      s.ci_error ? s.ci_error : "no answer");
			goto out;
		}
		if (s.ci_len > CACHE_INFO_MAX || nix_cache_info_parse(s.ci_body, s.ci_len, &ci,
								      &nerr)) {
			error("%snix-cache-info:%u: %s; is '%s' a binary cache?", s.source_base,
			      s.ci_len > CACHE_INFO_MAX ? 0 : nerr.line,
			      s.ci_len > CACHE_INFO_MAX ? "too large" : nerr.msg, t.url);
			goto out;
		}
		have_ci = 1;
	} else if (!o->force) {
		error("'%s' has no nix-cache-info (%zu key%s listed under the prefix), so it is "
		      "not a binary cache (are the bucket and prefix right?); nothing was "
		      "recorded.  To crawl it as one all the same (StoreDir /nix/store), pass "
		      "--force", t.url, s.n, s.n == 1 ? "" : "s");
		goto out;
	} else {
		warning("'%s' has no nix-cache-info; assuming StoreDir /nix/store", t.url);
	}

	/* 3. Record: known narinfos are seen, new ones fetched. */
	if (crawl_begin_shard(&s.c, db, t.url, have_ci ? &ci : NULL, o->shard))
		goto out;
	s.begun = 1;
	s.c.push_source = "LastModified";
	*crawl_id = s.c.crawl_id;
	for (size_t k = 0; k < s.nnar && !crawl_interrupted; k++) {
		const struct entry *e = &s.e[s.narinfo[k]];
		char hash[STORE_HASH_LEN + 1];

		memcpy(hash, e->name, STORE_HASH_LEN);
		hash[STORE_HASH_LEN] = '\0';
		/* Another shard's narinfo: every shard reads the whole listing
		 * (the listed NAR sizes fill in FileSize), one range of it is
		 * its own. */
		if (!crawl_shard_has(o->shard, hash, STORE_HASH_LEN))
			continue;
		s.c.n.listed++;
		if (!store_hash_valid(hash, STORE_HASH_LEN)) {
			if (reject(&s, e, NULL, 0, "file name is not '<store hash>.narinfo'", NULL, 0))
				goto out;
		} else if (crawl_known(&s.c, hash)) {
			if (crawl_seen(&s.c, hash, e->mtime) || crawl_checkpoint(&s.c))
				goto out;
		} else if (fetcher_enqueue(f, FETCH_GET, e->name, NULL, (int64_t)s.narinfo[k])) {
			goto out;
		}
	}
	rc = fetcher_run(f);
	if (rc == FETCH_RUN_ERROR || rc == FETCH_RUN_ABORTED)
		goto out;
	rc = rc == FETCH_RUN_INTERRUPTED || crawl_interrupted;
	if (crawl_finish(&s.c, !rc, rc ? CRAWL_END_INTERRUPTED : CRAWL_END_COMPLETE))
		goto out;
	*out = s.c.n;
	*cache_url = xstrdup(t.url);
	ret = rc;
out:
	fetcher_free(f);
	if (s.begun)
		crawl_release(&s.c);
	for (size_t i = 0; i < s.n; i++)
		free(s.e[i].name);
	free(s.e);
	free(s.narinfo);
	free(s.ci_body);
	free(s.ci_error);
	free(s.source_base);
	free(base);
	if (have_ci)
		nix_cache_info_release(&ci);
	if (have_creds)
		s3_creds_release(&cr);
	if (have_target)
		s3_target_release(&t);
	strbuf_release(&sb);
	return ret;
}
