/*
 * test_evict.c - eviction plans and their application on hand-made file://
 * caches: URL checks, closure safety of plans (random graphs, every prefix
 * of the plan), reasons and broken jobs, shared NARs, hostile URLs and
 * symbolic links, paths pushed after the plan, and a run killed with
 * SIGKILL at random points then resumed (compared with a clean run).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ingest/crawl.h"
#include "store/db.h"
#include "store/stmt.h"
#include "analysis/evict.h"
#include "analysis/gc.h"
#include "analysis/graph.h"
#include "harness.h"
#include "harness_sql.h"
#include "lib/util.h"

static char root[] = "/tmp/cachegc-test-evict.XXXXXX";
static unsigned seq;

/* ---- building caches ---------------------------------------------------- */

#define MAXP 80

struct spec {
	const char *refs;      /* indices it references, "1 2 3" */
	const char *url;       /* NULL: nar/<hash>.nar.xz of its own */
	int64_t size;          /* FileSize */
	int no_file_size;      /* leave FileSize out: NarSize counts */
};

static const char nix32[] = "0123456789abcdfghijklmnpqrsvwxyz";

/* A distinct store hash for each i. */
static void hash_of(unsigned i, char out[33])
{
	memset(out, 'z', 32);
	for (int k = 31; k >= 24; k--, i >>= 5)
		out[k] = nix32[i & 31];
	out[32] = '\0';
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

static void nar_url(unsigned i, const struct spec *s, char *out, size_t sz)
{
	char h[33];

	hash_of(i, h);
	if (s->url)
		snprintf(out, sz, "%s", s->url);
	else
		snprintf(out, sz, "nar/%s.nar.xz", h);
}

/* Write narinfo i of specs into dir (and its NAR unless skip_nar). */
static void write_narinfo(const char *dir, const struct spec *specs, unsigned i, int skip_nar)
{
	struct strbuf sb = STRBUF_INIT, p = STRBUF_INIT;
	char h[33], url[300];
	const char *r = specs[i].refs ? specs[i].refs : "";

	hash_of(i, h);
	nar_url(i, &specs[i], url, sizeof(url));
	strbuf_addf(&sb, "StorePath: /nix/store/%s-p%u\nURL: %s\nCompression: xz\n", h, i, url);
	if (!specs[i].no_file_size)
		strbuf_addf(&sb, "FileSize: %lld\n", (long long)specs[i].size);
	strbuf_addf(&sb, "NarHash: sha256:1%.31s%.20s\nNarSize: %lld\nReferences: ", h,
		    "00000000000000000000", (long long)specs[i].size * 2);
	while (*r) {
		char *end;
		unsigned long j = strtoul(r, &end, 10);
		char rh[33];
		if (end == r)
			break;
		hash_of((unsigned)j, rh);
		strbuf_addf(&sb, "%s%s-p%lu", sb.buf[sb.len - 1] == ' ' ? "" : " ", rh, j);
		r = end;
		while (*r == ' ')
			r++;
	}
	strbuf_addch(&sb, '\n');
	strbuf_addf(&p, "%s/%s.narinfo", dir, h);
	write_file(p.buf, sb.buf);
	if (!skip_nar && !strncmp(url, "nar/", 4) && !strchr(url + 4, '/')) {
		strbuf_reset(&p);
		strbuf_addf(&p, "%s/%s", dir, url);
		write_file(p.buf, "nar bytes\n");
	}
	strbuf_release(&sb);
	strbuf_release(&p);
}

struct world {
	char dir[256];
	char dbpath[256];
	struct db db;
	int open;
	int64_t cache_id;
};

/* A fresh cache directory with specs[0..n) and a DB that crawled it. */
static int world_make(struct world *w, const struct spec *specs, unsigned n)
{
	struct crawl_counts counts;
	int64_t crawl_id;
	char *url = NULL, p[300];

	memset(w, 0, sizeof(*w));
	seq++;
	snprintf(w->dir, sizeof(w->dir), "%s/cache%u", root, seq);
	snprintf(w->dbpath, sizeof(w->dbpath), "%s/db%u", root, seq);
	mkdir(w->dir, 0755);
	snprintf(p, sizeof(p), "%s/nar", w->dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/nix-cache-info", w->dir);
	write_file(p, "StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\n");
	for (unsigned i = 1; i < n; i++)
		if (specs[i].size >= 0)
			write_narinfo(w->dir, specs, i, 0);
	if (db_open(&w->db, w->dbpath, 0))
		return -1;
	w->open = 1;
	clock_set(1700000000);
	if (crawl_dir(&w->db, w->dir, 0, &counts, &crawl_id, &url)) {
		free(url);
		return -1;
	}
	free(url);
	w->cache_id = 1;
	return 0;
}

static void world_close(struct world *w)
{
	if (w->open)
		db_close(&w->db);
	w->open = 0;
}

static int64_t path_id(struct world *w, unsigned i)
{
	static const char sql[] = "SELECT id FROM paths WHERE hash = ?1";
	sqlite3_stmt *st = db_stmt(&w->db, sql);
	char h[33];
	int64_t id = -1;

	hash_of(i, h);
	db_bind_text(st, 1, h);
	if (db_step(&w->db, st) == 1)
		id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return id;
}

/* An evaluation of branch at time t whose jobs' outputs are roots ("1 5"). */
static void add_eval(struct world *w, const char *branch, int64_t t, const char *roots)
{
	static const char sql_e[] =
		"INSERT INTO evaluations (branch, rev, capabilities, system, time, source, imported_at)"
		" VALUES (?1, 'r', '8.6', 'x86_64-linux', ?2, 'test', 0)";
	static const char sql_j[] =
		"INSERT INTO eval_jobs (evaluation_id, attr, output, path_id, line)"
		" VALUES (?1, ?2, 'out', ?3, 1)";
	sqlite3_stmt *st = db_stmt(&w->db, sql_e);
	int64_t eid;
	const char *r = roots;

	db_bind_text(st, 1, branch);
	db_bind_int(st, 2, t);
	db_run(&w->db, st);
	eid = db_last_id(&w->db);
	while (*r) {
		char *end, attr[32];
		unsigned long j = strtoul(r, &end, 10);
		if (end == r)
			break;
		snprintf(attr, sizeof(attr), "job%lu", j);
		st = db_stmt(&w->db, sql_j);
		db_bind_int(st, 1, eid);
		db_bind_text(st, 2, attr);
		db_bind_int(st, 3, path_id(w, (unsigned)j));
		db_run(&w->db, st);
		r = end;
		while (*r == ' ')
			r++;
	}
}

/* The policy make_plan() asks for. */
static const char *policy = "reach";

static int64_t make_plan(struct world *w, uint64_t limit, struct evict_plan *plan)
{
	struct evict_plan_opts o;

	memset(&o, 0, sizeof(o));
	o.cache_id = w->cache_id;
	o.limit = limit;
	o.policy = policy;

	if (evict_plan_build(&w->db, &o, plan) || evict_plan_save(&w->db, plan))
		return -1;
	return plan->id;
}

/* Index in specs of a planned path (from its name "p<i>"). */
static unsigned spec_of(const struct evict_path *ep)
{
	return (unsigned)atoi(ep->base + 34);
}

/* Every file under dir, relative, sorted, one per line (malloc'd). */
static void list_rec(const char *dir, const char *rel, struct strbuf *out, char ***v, size_t *n,
		     size_t *alloc)
{
	char p[1300];
	DIR *d;
	struct dirent *de;

	snprintf(p, sizeof(p), "%s%s%s", dir, *rel ? "/" : "", rel);
	if (!(d = opendir(p)))
		return;
	while ((de = readdir(d))) {
		char r[600];
		struct stat st;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(r, sizeof(r), "%s%s%s", rel, *rel ? "/" : "", de->d_name);
		snprintf(p, sizeof(p), "%s/%s", dir, r);
		if (!lstat(p, &st) && S_ISDIR(st.st_mode)) {
			list_rec(dir, r, out, v, n, alloc);
			continue;
		}
		GROW(*v, *alloc, *n + 1);
		(*v)[(*n)++] = xstrdup(r);
	}
	closedir(d);
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *listing(const char *dir)
{
	struct strbuf sb = STRBUF_INIT;
	char **v = NULL;
	size_t n = 0, alloc = 0;

	list_rec(dir, "", &sb, &v, &n, &alloc);
	if (n)
		qsort(v, n, sizeof(*v), cmp_strp);
	strbuf_addstr(&sb, "");
	for (size_t i = 0; i < n; i++) {
		strbuf_addf(&sb, "%s\n", v[i]);
		free(v[i]);
	}
	free(v);
	return strbuf_detach(&sb);
}

static int exists(const char *dir, const char *rel)
{
	char p[600];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return lstat(p, &st) == 0;
}

static int narinfo_exists(struct world *w, unsigned i)
{
	char h[33], rel[64];

	hash_of(i, h);
	snprintf(rel, sizeof(rel), "%s.narinfo", h);
	return exists(w->dir, rel);
}

struct events {
	unsigned n[6];
	char last_detail[300];
	char shared_detail[2][300];  /* the first two "kept: shared" reasons */
};

static void count_event(void *ctx, const struct evict_event *ev)
{
	struct events *e = ctx;

	if (ev->action == EVICT_KEEP_SHARED && e->n[ev->action] < 2)
		snprintf(e->shared_detail[e->n[ev->action]], sizeof(e->shared_detail[0]), "%s",
			 ev->detail ? ev->detail : "(none)");
	e->n[ev->action]++;
	if (ev->detail)
		snprintf(e->last_detail, sizeof(e->last_detail), "%s", ev->detail);
}

static int apply(struct world *w, int64_t plan_id, int really, struct evict_apply_result *r,
		 struct events *ev)
{
	struct evict_apply_opts o;

	memset(&o, 0, sizeof(o));
	o.plan_id = plan_id;
	o.apply = really;
	o.fn = ev ? count_event : NULL;
	o.ctx = ev;
	if (ev)
		memset(ev, 0, sizeof(*ev));
	return evict_apply(&w->db, &o, r);
}

/* ---- pure helpers ----------------------------------------------------- */

TEST(url_checks)
{
	const char *good[] = {"nar/1abc.nar.xz", "x.nar", "nar/sub/x.nar.zst", "nar/a..b", "nar/.x"};
	const char *bad[] = {"", "/etc/passwd", "nar/../../outside", "../x", "nar/./x", "nar//x",
			     "nar/", "..", "http://example.org/nar/x", "file:x", "nar/x\n",
			     "nar/%2e%2e/x", "nar/x?y", "nar/.."};
	const char *why;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		why = NULL;
		if (evict_url_check(good[i], strlen(good[i]), &why)) {
			fprintf(stderr, "refused good URL '%s': %s\n", good[i], why);
			CHECK(0);
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		why = NULL;
		if (!evict_url_check(bad[i], strlen(bad[i]), &why)) {
			fprintf(stderr, "accepted bad URL '%s'\n", bad[i]);
			CHECK(0);
		}
		CHECK(why != NULL);
	}
}

struct refs_seen {
	char h[4][33];
	int n;
};

static void on_ref(void *ctx, const char *hash)
{
	struct refs_seen *r = ctx;

	if (r->n < 4) {
		memcpy(r->h[r->n], hash, 32);
		r->h[r->n++][32] = '\0';
	}
}

struct urls_seen {
	char v[8][64];
	int n;
};

static void on_url(void *ctx, const char *val, size_t n)
{
	struct urls_seen *u = ctx;

	if (u->n < 8) {
		snprintf(u->v[u->n], sizeof(u->v[0]), "%.*s", (int)n, val);
		u->n++;
	}
}

static int url_seen(const struct urls_seen *u, const char *v)
{
	for (int i = 0; i < u->n; i++)
		if (!strcmp(u->v[i], v))
			return 1;
	return 0;
}

/* evict_narinfo_scan() with both callbacks sharing one context. */
struct scan_seen {
	struct urls_seen u;
	struct refs_seen r;
};

static void on_url2(void *ctx, const char *val, size_t n)
{
	on_url(&((struct scan_seen *)ctx)->u, val, n);
}

static void on_ref2(void *ctx, const char *hash)
{
	on_ref(&((struct scan_seen *)ctx)->r, hash);
}

#define SCAN(text, s, seen)                                                  \
	do {                                                                 \
		memset(&(seen), 0, sizeof(seen));                            \
		evict_narinfo_scan(text, sizeof(text) - 1, &(s), on_url2, on_ref2, &(seen)); \
	} while (0)

#define NIX_URL_IS(s, want)                                                  \
	CHECK((s).url && (s).url_len == strlen(want) && !memcmp((s).url, want, (s).url_len))

TEST(narinfo_scan)
{
	static const char text[] =
		"StorePath: /nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x\r\n"
		"URL: nar/abc.nar.xz\r\n"
		"Junk line without colon\n"
		"References: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-y short cccccccccccccccccccccccccccccccc-z\n"
		"URL: nar/second\n";
	static const char two_urls[] = "URL: nar/first.nar\nURL: nar/last.nar\n";
	static const char tab[] = "URL:\tnar/tab.nar\n";
	static const char nospace[] = "URL:nar/x.nar\n";
	static const char lenient[] = "  url  :  nar/lc.nar  \nreferences:\t"
				      "dddddddddddddddddddddddddddddddd-a\t/nix/store/"
				      "ffffffffffffffffffffffffffffffff-b\n";
	static const char cut[] = "StorePath: /nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x\nURL: nar/ab";
	static const char blank_end[] = "URL: nar/b.nar\n\n";
	static const char blank_mid[] = "URL: nar/b.nar\n\nURL: nar/c.nar\n";
	static const char hidden[] = "Key:\nURL: nar/h.nar\n";
	static const char empty[] = "";
	struct evict_scan s;
	struct scan_seen seen;

	SCAN(text, s, seen);
	/* Nix: the last URL entry; the one on the \r\n line keeps its \r */
	NIX_URL_IS(s, "nar/second");
	CHECK(url_seen(&seen.u, "nar/abc.nar.xz\r"));   /* Nix's first entry */
	CHECK(url_seen(&seen.u, "nar/abc.nar.xz"));     /* trimmed */
	CHECK(url_seen(&seen.u, "nar/second"));
	CHECK_INT(s.nix_refuses, 0);
	CHECK_INT(s.incomplete, 0);
	/* References: both readings give the same two; "short" is no hash */
	CHECK(seen.r.n >= 2);
	CHECK_STR(seen.r.h[0], "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	CHECK_STR(seen.r.h[1], "cccccccccccccccccccccccccccccccc");

	SCAN(two_urls, s, seen);
	NIX_URL_IS(s, "nar/last.nar");
	CHECK(url_seen(&seen.u, "nar/first.nar") && url_seen(&seen.u, "nar/last.nar"));

	SCAN(tab, s, seen);
	NIX_URL_IS(s, "nar/tab.nar");

	SCAN(nospace, s, seen);
	NIX_URL_IS(s, "ar/x.nar");                       /* Nix skips the 'n' */
	CHECK(url_seen(&seen.u, "nar/x.nar"));           /* a lenient reader not */

	SCAN(lenient, s, seen);
	CHECK(s.url == NULL);                            /* no "URL" key for Nix */
	CHECK(url_seen(&seen.u, "nar/lc.nar"));
	CHECK_INT(seen.r.n, 2);
	CHECK_STR(seen.r.h[0], "dddddddddddddddddddddddddddddddd");
	CHECK_STR(seen.r.h[1], "ffffffffffffffffffffffffffffffff");

	SCAN(cut, s, seen);
	CHECK_INT(s.nix_refuses, NIX_LEX_NO_NEWLINE);
	CHECK_INT(s.incomplete, 1);
	CHECK_INT(s.refused_line, 2);
	CHECK(url_seen(&seen.u, "nar/ab"));              /* the lenient reading */

	SCAN(blank_end, s, seen);
	CHECK_INT(s.nix_refuses, NIX_LEX_NO_COLON);
	CHECK_INT(s.incomplete, 0);                      /* only blank bytes left */
	NIX_URL_IS(s, "nar/b.nar");

	SCAN(blank_mid, s, seen);
	CHECK_INT(s.nix_refuses, 0);                     /* "\nURL" is one key */
	NIX_URL_IS(s, "nar/b.nar");
	CHECK(url_seen(&seen.u, "nar/c.nar"));

	SCAN(hidden, s, seen);
	CHECK(s.url == NULL);                            /* Nix: key "Key" */
	CHECK(url_seen(&seen.u, "nar/h.nar"));

	SCAN(empty, s, seen);
	CHECK(s.url == NULL);
	CHECK_INT(seen.u.n, 0);
	CHECK_INT(s.nix_refuses, 0);
}

TEST(nar_names)
{
	static const char *const good[][2] = {
		{"nar/1abc.nar.xz", "nar/1abc.nar.xz"},
		{"nar/x.nar", "nar/x.nar"},
		{"nar/x.nar.bz2", "nar/x.nar.bz2"},
		{"nar/x.nar.zst", "nar/x.nar.zst"},
		{"nar/x.nar.lzip", "nar/x.nar.lzip"},
		{"nar/x.nar.lz4", "nar/x.nar.lz4"},
		{"nar/x.nar.br", "nar/x.nar.br"},
		/* nix-serve */
		{"nar/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-0abc.nar", "nar/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-0abc.nar"},
		/* harmonia: the file is the path */
		{"nar/0abc.nar?hash=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "nar/0abc.nar"},
	};
	static const char *const bad[][2] = {
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.narinfo", "narinfo"},
		{"nar/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.narinfo", "narinfo"},
		{"nix-cache-info", "nix-cache-info"},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.ls", ".ls"},
		{"nar/x.ls", ".ls"},
		{"log/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x.drv", "log/"},
		{"realisations/sha256:abc!out.doi", "realisations/"},
		{"build-trace-v2/abc", "build-trace-v2/"},
		{"debuginfo/0123456789abcdef.debug", "debuginfo/"},
		{"nar/x.nar.gz", "not a NAR"},
		{"nar/x", "not a NAR"},
		{"nar/x.nar.", "not a NAR"},
		{"nar/.nar", "not a NAR"},
		{"nar/x.narx", "not a NAR"},
		{"nar/x.y.nar", "not a NAR"},
		{"nar/sub/x.nar", "not a NAR"},
		{"x.nar", "not a NAR"},
		{"other/x.nar", "not a NAR"},
		{"nar/x.nar?y=1", "query"},
		{"nar/x.nar?hash=short", "query"},
		{"nar/%70ct.nar", "percent"},
		{"nar/x.nar#f", "fragment"},
		{"../nar/x.nar", ""},
		{"nar/../nar/x.nar", ""},
		{"/nar/x.nar", "absolute"},
		{"http://example.org/nar/x.nar", ""},
		{"nar/x.nar\r", "control"},
		{"nar/x.nar ", "not a NAR"},
		{"", "empty"},
	};
	char *name;
	const char *why;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		why = NULL;
		if (evict_nar_name(good[i][0], strlen(good[i][0]), &name, &why)) {
			fprintf(stderr, "refused NAR '%s': %s\n", good[i][0], why);
			CHECK(0);
			continue;
		}
		CHECK_STR(name, good[i][1]);
		CHECK(why == NULL);
		free(name);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		why = NULL;
		name = (char *)"x";
		if (!evict_nar_name(bad[i][0], strlen(bad[i][0]), &name, &why)) {
			fprintf(stderr, "took '%s' for a NAR\n", bad[i][0]);
			CHECK(0);
			free(name);
			continue;
		}
		CHECK(name == NULL);
		if (!why || !strstr(why, bad[i][1])) {
			fprintf(stderr, "'%s': reason '%s', want one with '%s'\n", bad[i][0],
				why ? why : "(null)", bad[i][1]);
			CHECK(0);
		}
	}
	/* the length counts, not a NUL */
	CHECK(evict_nar_name("nar/x.nar\0.ls", 13, &name, &why) == -1);
	CHECK(evict_nar_name("nar/x.nar.ls", 9, &name, &why) == 0);
	CHECK_STR(name, "nar/x.nar");
	free(name);
}

struct names_seen {
	char v[24][80];
	int kind[24];
	int n;
};

static void on_name(void *ctx, int kind, const char *name, size_t len)
{
	struct names_seen *s = ctx;

	CHECK(strlen(name) == len && len > 0);
	if (kind != EVICT_READ_ABSOLUTE) {
		/* always a name inside the cache directory */
		CHECK(name[0] != '/');
		CHECK(strcmp(name, "..") && strncmp(name, "../", 3) && !strstr(name, "/../") &&
		      !strstr(name, "//"));
	}
	if (s->n < 24) {
		snprintf(s->v[s->n], sizeof(s->v[0]), "%s", name);
		s->kind[s->n++] = kind;
	}
}

static int name_seen(const struct names_seen *s, int kind, const char *v)
{
	for (int i = 0; i < s->n; i++)
		if ((kind < 0 || s->kind[i] == kind) && !strcmp(s->v[i], v))
			return 1;
	return 0;
}

#define READINGS(val, seen)                                                  \
	do {                                                                 \
		memset(&(seen), 0, sizeof(seen));                            \
		evict_url_readings(val, sizeof(val) - 1, on_name, &(seen));  \
	} while (0)

TEST(url_readings)
{
	struct names_seen s;

	READINGS("nar/%70ct.nar", s);  /* nginx serves nar/pct.nar */
	CHECK(name_seen(&s, EVICT_READ_FILE, "nar/%70ct.nar"));
	CHECK(name_seen(&s, EVICT_READ_SERVER, "nar/pct.nar"));
	READINGS("nar/x.nar?foo=1#frag", s);
	CHECK(name_seen(&s, EVICT_READ_FILE, "nar/x.nar?foo=1#frag"));
	CHECK(name_seen(&s, EVICT_READ_SERVER, "nar/x.nar"));
	READINGS("nar/x.nar#frag?q", s);
	CHECK(name_seen(&s, EVICT_READ_SERVER, "nar/x.nar"));
	READINGS(" nar/t.nar\r", s);
	CHECK(name_seen(&s, -1, "nar/t.nar"));
	CHECK(name_seen(&s, EVICT_READ_FILE, " nar/t.nar\r"));
	READINGS("nar/./../nar//x.nar", s);
	CHECK(name_seen(&s, EVICT_READ_FILE, "nar/x.nar"));
	READINGS("/nar/abs.nar", s);  /* file:// Nix appends it to the directory */
	CHECK(name_seen(&s, EVICT_READ_FILE, "nar/abs.nar"));
	READINGS("nar/a%2fb.nar", s);
	CHECK(name_seen(&s, EVICT_READ_SERVER, "nar/a/b.nar"));
	CHECK(name_seen(&s, EVICT_READ_BASENAME, "nar/b.nar"));
	READINGS("nar/%2e%2e/nar/y.nar", s);
	CHECK(name_seen(&s, EVICT_READ_SERVER, "nar/y.nar"));
	READINGS("https://other.example/prefix/nar/z.nar.xz?x", s);
	CHECK(name_seen(&s, EVICT_READ_SERVER, "prefix/nar/z.nar.xz"));
	CHECK(name_seen(&s, EVICT_READ_BASENAME, "nar/z.nar.xz"));
	READINGS("//host/nar/n.nar", s);
	CHECK(name_seen(&s, EVICT_READ_SERVER, "nar/n.nar"));
	READINGS("file:///srv/cache/nar/f%20.nar", s);
	CHECK(name_seen(&s, EVICT_READ_ABSOLUTE, "/srv/cache/nar/f%20.nar"));
	CHECK(name_seen(&s, EVICT_READ_ABSOLUTE, "/srv/cache/nar/f .nar"));
	CHECK(name_seen(&s, EVICT_READ_BASENAME, "nar/f .nar"));
	READINGS("nar/u.nar\0.ls", s);  /* open(2) stops at the NUL */
	CHECK(name_seen(&s, EVICT_READ_FILE, "nar/u.nar"));
	CHECK(!name_seen(&s, -1, "nar/u.nar.ls"));
	READINGS("../../../etc/passwd", s);  /* climbs out: no name */
	CHECK(!name_seen(&s, EVICT_READ_FILE, "etc/passwd"));
	READINGS("nar/%zz.nar", s);  /* malformed escape: nginx answers 400 */
	CHECK(name_seen(&s, EVICT_READ_FILE, "nar/%zz.nar"));
	CHECK(!name_seen(&s, EVICT_READ_SERVER, "nar/%zz.nar"));
	READINGS("", s);
	CHECK_INT(s.n, 0);
}

/* ---- planning ------------------------------------------------------------ */

/* The plan never leaves a kept present path with an evicted reference,
 * and neither does any prefix of it; it stops as soon as it is under the
 * limit. */
static void check_plan(struct world *w, const struct evict_plan *plan)
{
	struct graph g;
	uint32_t *seq_of;
	uint64_t sum = 0;

	if (graph_load(&g, &w->db, w->cache_id)) {
		CHECK(0);
		return;
	}
	seq_of = xcalloc(g.n, sizeof(*seq_of));
	for (size_t i = 0; i < plan->n; i++) {
		seq_of[plan->paths[i].path_id] = (uint32_t)i + 1;
		sum += (uint64_t)plan->paths[i].stored;
	}
	for (uint32_t u = 1; u < g.n; u++) {
		if (!(g.flags[u] & GRAPH_PRESENT))
			continue;
		for (uint32_t e = g.off[u]; e < g.off[u + 1]; e++) {
			uint32_t v = g.adj[e];
			if (!(g.flags[v] & GRAPH_PRESENT) || !seq_of[v])
				continue;
			/* v is evicted: u must be too, and before it */
			if (!seq_of[u] || seq_of[u] > seq_of[v]) {
				fprintf(stderr, "path %u (seq %u) references evicted %u (seq %u)\n", u,
					seq_of[u], v, seq_of[v]);
				CHECK(0);
			}
		}
	}
	CHECK_INT(plan->size_before - sum, plan->size_after);
	if (plan->limit_reached) {
		CHECK(plan->size_after <= plan->limit);
		if (plan->n)
			CHECK(plan->size_after + (uint64_t)plan->paths[plan->n - 1].stored > plan->limit);
	}
	free(seq_of);
	graph_release(&g);
}

TEST(plan_closure_safe_random)
{
	unsigned rnd = 12345;

	for (int trial = 0; trial < 12; trial++) {
		struct spec specs[MAXP];
		char refs[MAXP][200];
		unsigned n = 30 + (unsigned)(trial * 4);
		struct world w;
		uint64_t total = 0;

		memset(specs, 0, sizeof(specs));
		for (unsigned i = 1; i < n; i++) {
			refs[i][0] = '\0';
			for (unsigned j = 1; j < i; j++) {
				rnd = rnd * 1103515245u + 12345u;
				if ((rnd >> 16) % 7 == 0) {
					size_t l = strlen(refs[i]);
					snprintf(refs[i] + l, sizeof(refs[i]) - l, "%u ", j);
				}
			}
			specs[i].refs = refs[i];
			rnd = rnd * 1103515245u + 12345u;
			specs[i].size = 100 + (rnd >> 16) % 5000;
			specs[i].no_file_size = (rnd >> 8) % 5 == 0;
			total += (uint64_t)(specs[i].no_file_size ? specs[i].size * 2 : specs[i].size);
		}
		if (world_make(&w, specs, n)) {
			CHECK(0);
			return;
		}
		/* an old and a new evaluation of one branch, and another branch */
		add_eval(&w, "master", 100, "5 9 13");
		add_eval(&w, "master", 200, "20 21 22");
		add_eval(&w, "release", 150, "25 3");
		for (int k = 0; k <= 4; k++) {
			struct evict_plan plan;
			uint64_t limit = total * (uint64_t)k / 4;
			if (make_plan(&w, limit, &plan) < 0) {
				CHECK(0);
			} else {
				CHECK_INT(plan.size_before, total);
				CHECK(plan.limit_reached);
				check_plan(&w, &plan);
				if (k == 4)
					CHECK_INT(plan.n, 0);
				if (k == 0)
					CHECK_INT(plan.n, n - 1);
				/* reasons only grow along the plan: what an
				 * evaluation reaches goes after what none does */
				for (size_t i = 1; i < plan.n; i++)
					CHECK(plan.paths[i].reason >= plan.paths[i - 1].reason ||
					      plan.paths[i].reason == EVICT_UNREACHED);
			}
			evict_plan_release(&plan);
		}
		world_close(&w);
	}
}

TEST(plan_reasons_and_breaks)
{
	/* 1 <- 2 <- 3 (root of the old master eval), 4 (root of the new one)
	 * references 1 too; 5 is reached by nothing; 6 <- 7 new root. */
	struct spec specs[8] = {
		{0}, {"", NULL, 1000, 0}, {"1", NULL, 1000, 0}, {"2", NULL, 1000, 0},
		{"1", NULL, 1000, 0}, {"", NULL, 1000, 0}, {"", NULL, 1000, 0}, {"6", NULL, 1000, 0},
	};
	struct world w;
	struct evict_plan plan;
	int reason[8];

	if (world_make(&w, specs, 8)) {
		CHECK(0);
		return;
	}
	add_eval(&w, "master", 100, "3");
	add_eval(&w, "master", 200, "4 7");
	/* 7000 stored; limit 4000 takes 5 (unreached), then 3 and 2
	 * (superseded: 1 stays, 4 references it) */
	CHECK(make_plan(&w, 4000, &plan) > 0);
	check_plan(&w, &plan);
	CHECK_INT(plan.n, 3);
	memset(reason, -1, sizeof(reason));
	for (size_t i = 0; i < plan.n; i++)
		reason[spec_of(&plan.paths[i])] = plan.paths[i].reason;
	CHECK_INT(reason[5], EVICT_UNREACHED);
	CHECK_INT(reason[3], EVICT_SUPERSEDED);
	CHECK_INT(reason[2], EVICT_SUPERSEDED);
	CHECK_INT(reason[1], -1);
	CHECK_INT(plan.size_after, 4000);
	/* the old evaluation's job is broken by 3 and by 2 */
	CHECK_INT(plan.njobs, 1);
	for (size_t i = 0; i < plan.n; i++) {
		unsigned s = spec_of(&plan.paths[i]);
		CHECK_INT(plan.paths[i].nbreaks, s == 5 ? 0 : 1);
		if (s != 5 && plan.paths[i].nbreaks_kept)
			CHECK_STR(plan.jobs[plan.paths[i].breaks[0]].attr, "job3");
	}
	evict_plan_release(&plan);

	/* down to 1000: everything but one path; current outputs go last
	 * and are low-value */
	CHECK(make_plan(&w, 1000, &plan) > 0);
	check_plan(&w, &plan);
	CHECK_INT(plan.n, 6);
	for (size_t i = 0; i < plan.n; i++)
		reason[spec_of(&plan.paths[i])] = plan.paths[i].reason;
	CHECK_INT(reason[4], EVICT_LOW_VALUE);
	CHECK_INT(reason[7], EVICT_LOW_VALUE);
	evict_plan_release(&plan);

	/* stored in the DB and loaded back the same */
	{
		struct evict_plan a, b;
		CHECK(make_plan(&w, 4000, &a) > 0);
		CHECK_INT(evict_plan_load(&w.db, a.id, &b), 0);
		CHECK_INT(b.n, a.n);
		for (size_t i = 0; i < a.n && i < b.n; i++) {
			CHECK_STR(b.paths[i].base, a.paths[i].base);
			CHECK_STR(b.paths[i].url, a.paths[i].url);
			CHECK_INT(b.paths[i].reason, a.paths[i].reason);
			CHECK_INT(b.paths[i].stored, a.paths[i].stored);
		}
		CHECK_INT(b.size_after, a.size_after);
		/* its broken jobs and the breaks kept per path, row for row */
		{
			char q[200];
			unsigned kept = 0;
			for (size_t i = 0; i < a.n; i++)
				kept += a.paths[i].nbreaks_kept;
			CHECK(a.njobs > 0 && kept > 0);
			snprintf(q, sizeof(q), "SELECT count(*) FROM evict_plan_jobs WHERE plan_id = %lld "
				 "AND attr = 'job3'", (long long)a.id);
			CHECK_INT(query_int(w.db.h, q), (int64_t)a.njobs);
			snprintf(q, sizeof(q), "SELECT count(*) FROM evict_plan_breaks WHERE plan_id = %lld "
				 "AND attr = 'job3'", (long long)a.id);
			CHECK_INT(query_int(w.db.h, q), (int64_t)kept);
		}
		evict_plan_release(&a);
		evict_plan_release(&b);
		CHECK_INT(evict_plan_load(&w.db, 999, &b), 1);
		evict_plan_release(&b);
	}
	world_close(&w);
}

/* With a GC model as the policy: the plan takes only what the model
 * proposes, keeps its reasons, stays closure-safe, and for the models
 * that promise a closure-safe order (all but attic) is a prefix of it. */
TEST(plan_gc_policies)
{
	static const char *const names[] = {"priority", "cachix", "attic", "niks3"};
	unsigned rnd = 777;

	for (int trial = 0; trial < 4; trial++) {
		struct spec specs[MAXP];
		char refs[MAXP][200];
		unsigned n = 40 + (unsigned)trial * 8;
		struct world w;
		uint64_t total = 0;

		memset(specs, 0, sizeof(specs));
		for (unsigned i = 1; i < n; i++) {
			refs[i][0] = '\0';
			for (unsigned j = 1; j < i; j++) {
				rnd = rnd * 1103515245u + 12345u;
				if ((rnd >> 16) % 6 == 0) {
					size_t l = strlen(refs[i]);
					snprintf(refs[i] + l, sizeof(refs[i]) - l, "%u ", j);
				}
			}
			specs[i].refs = refs[i];
			rnd = rnd * 1103515245u + 12345u;
			specs[i].size = 100 + (rnd >> 16) % 3000;
			total += (uint64_t)specs[i].size;
		}
		if (world_make(&w, specs, n)) {
			CHECK(0);
			return;
		}
		add_eval(&w, "master", 1600000000, "5 9 13");
		add_eval(&w, "master", 1690000000, "20 21 22");
		add_eval(&w, "nixos-unstable", 1650000000, "25 3");
		for (size_t k = 0; k < ARRAY_SIZE(names); k++) {
			struct evict_plan plan;
			struct gc_world gw;
			struct gc_victims v = {0};
			struct gc_params params;
			enum gc_policy gp;
			uint8_t *stored;
			uint8_t *reason;
			int64_t *place;
			int prefix = 1;

			memset(&params, 0, sizeof(params));
			params.limit = total / 3;
			params.now = 1700000000;
			policy = names[k];
			if (make_plan(&w, total / 3, &plan) < 0) {
				CHECK(0);
				continue;
			}
			check_plan(&w, &plan);
			CHECK_STR(plan.policy, names[k]);
			/* what the model proposes, asked directly */
			CHECK_INT(gc_policy_parse(names[k], &gp), 0);
			CHECK_INT(gc_world_load(&gw, &w.db, w.cache_id, NULL, 0), 0);
			stored = gc_stored_now(&gw);
			CHECK_INT(gc_select(&gw, gp, &params, stored, &v), 0);
			place = xcalloc(gw.n, sizeof(*place));
			reason = xcalloc(gw.n, 1);
			for (size_t i = 0; i < v.n; i++) {
				place[v.v[i].path] = (int64_t)i + 1;
				reason[v.v[i].path] = v.v[i].reason;
			}
			for (size_t i = 0; i < plan.n; i++) {
				uint32_t id = plan.paths[i].path_id;
				if (!place[id]) {
					fprintf(stderr, "%s: plan takes %s, not proposed\n", names[k],
						plan.paths[i].base);
					CHECK(0);
					continue;
				}
				CHECK_INT(plan.paths[i].reason, reason[id]);
				prefix &= place[id] == (int64_t)i + 1;
			}
			if (gp != GC_ATTIC && !prefix) {
				fprintf(stderr, "%s: the plan is not a prefix of the model's order\n",
					names[k]);
				CHECK(0);
			}
			if (!plan.limit_reached)
				CHECK(plan.blocked_paths > 0 ||
				      plan.proposed_bytes + plan.limit < plan.size_before);
			free(place);
			free(reason);
			free(stored);
			gc_victims_release(&v);
			gc_world_release(&gw);
			evict_plan_release(&plan);
		}
		policy = "reach";
		world_close(&w);
	}
}

TEST(plan_cycle_cannot_reach_limit)
{
	/* A forged cache: 1 and 2 reference each other. */
	struct spec specs[4] = {{0}, {"2", NULL, 1000, 0}, {"1", NULL, 1000, 0}, {"", NULL, 1000, 0}};
	struct world w;
	struct evict_plan plan;

	if (world_make(&w, specs, 4)) {
		CHECK(0);
		return;
	}
	CHECK(make_plan(&w, 500, &plan) > 0);
	CHECK(!plan.limit_reached);
	CHECK_INT(plan.n, 1);
	CHECK_INT(plan.blocked_paths, 2);
	CHECK_INT(plan.blocked_bytes, 2000);
	check_plan(&w, &plan);
	evict_plan_release(&plan);
	world_close(&w);
}

/* ---- applying ------------------------------------------------------------ */

TEST(apply_shared_nar)
{
	/* 1 and 2 share one NAR; 3 has its own.  The eval keeps 2 and 3. */
	struct spec specs[4] = {{0}, {"", "nar/shared.nar.xz", 1000, 0},
				{"", "nar/shared.nar.xz", 1000, 0}, {"", NULL, 1000, 0}};
	struct world w;
	struct evict_plan plan;
	struct evict_apply_result r;
	struct events ev;
	char url3[300];

	if (world_make(&w, specs, 4)) {
		CHECK(0);
		return;
	}
	nar_url(3, &specs[3], url3, sizeof(url3));
	add_eval(&w, "master", 100, "2 3");
	CHECK(make_plan(&w, 2000, &plan) > 0);
	CHECK_INT(plan.n, 1);
	if (plan.n != 1)
		return;
	CHECK_INT(spec_of(&plan.paths[0]), 1);
	CHECK_INT(apply(&w, plan.id, 1, &r, &ev), 0);
	CHECK(r.complete);
	CHECK_INT(r.narinfos, 1);
	CHECK_INT(r.nars, 0);
	CHECK_INT(r.shared, 1);
	CHECK_INT(ev.n[EVICT_KEEP_SHARED], 1);
	CHECK_STR(ev.shared_detail[0], "used by a narinfo that stays");
	CHECK(!narinfo_exists(&w, 1));
	CHECK(narinfo_exists(&w, 2));
	CHECK(exists(w.dir, "nar/shared.nar.xz"));
	evict_apply_result_release(&r);
	evict_plan_release(&plan);

	/* Now everything: the shared NAR goes with the last narinfo naming
	 * it, and only then. */
	CHECK(make_plan(&w, 0, &plan) > 0);
	CHECK_INT(apply(&w, plan.id, 0, &r, &ev), 0);   /* dry run first */
	CHECK(narinfo_exists(&w, 2));
	CHECK(exists(w.dir, url3));
	CHECK_INT(r.nars, 2);
	evict_apply_result_release(&r);
	CHECK_INT(apply(&w, plan.id, 1, &r, &ev), 0);
	CHECK(r.complete);
	CHECK(!exists(w.dir, "nar/shared.nar.xz"));
	CHECK(!exists(w.dir, url3));
	CHECK(!narinfo_exists(&w, 2) && !narinfo_exists(&w, 3));
	evict_apply_result_release(&r);
	evict_plan_release(&plan);
	world_close(&w);
}

TEST(apply_shared_nar_other_name)
{
	/* 2 stays and names 1's NAR through a hard link under another name,
	 * and 3 stays and names it as "nar/./x": the file is kept either way. */
	struct spec specs[5] = {{0}, {"", "nar/x.nar.xz", 1000, 0}, {"", "nar/z.nar.xz", 1000, 0},
				{"", NULL, 1000, 0}, {"", "nar/y.nar.xz", 1000, 0}};
	struct world w;
	struct evict_plan plan;
	struct evict_apply_result r;
	struct events ev;
	char p[400];

	if (world_make(&w, specs, 5)) {
		CHECK(0);
		return;
	}
	snprintf(p, sizeof(p), "%s/nar/x.nar.xz", w.dir);
	write_file(p, "x\n");
	snprintf(p, sizeof(p), "%s/nar/y.nar.xz", w.dir);
	write_file(p, "y\n");
	{
		char q[400];
		snprintf(p, sizeof(p), "%s/nar/x.nar.xz", w.dir);
		snprintf(q, sizeof(q), "%s/nar/z.nar.xz", w.dir);
		unlink(q);   /* the world wrote one of its own */
		CHECK(link(p, q) == 0);
	}
	add_eval(&w, "master", 100, "2 3");
	/* 3's narinfo is rewritten after the crawl to name y as nar/./y */
	CHECK(make_plan(&w, 2000, &plan) > 0);
	CHECK_INT(plan.n, 2);
	{
		struct spec s3 = {"", "nar/./y.nar.xz", 1000, 0};
		struct spec tmp[4] = {{0}, {0}, {0}, s3};
		write_narinfo(w.dir, tmp, 3, 1);
	}
	CHECK_INT(apply(&w, plan.id, 1, &r, &ev), 0);
	CHECK(r.complete);
	CHECK_INT(r.narinfos, 2);
	CHECK_INT(r.nars, 0);
	CHECK_INT(r.shared, 2);
	CHECK_INT(ev.n[EVICT_KEEP_SHARED], 2);
	/* one kept as the same file (the hard link), one as a URL that stays
	 * once spelled as a server reads it; each says which */
	{
		const char *same = "the same file as a NAR that stays";
		const char *used = "used by a narinfo that stays";
		int first_same = !strcmp(ev.shared_detail[0], same);
		CHECK_STR(ev.shared_detail[first_same ? 0 : 1], same);
		CHECK_STR(ev.shared_detail[first_same ? 1 : 0], used);
	}
	CHECK(exists(w.dir, "nar/x.nar.xz"));
	CHECK(exists(w.dir, "nar/y.nar.xz"));
	evict_apply_result_release(&r);
	evict_plan_release(&plan);
	world_close(&w);
}

TEST(apply_refuses_escapes)
{
	/* 1: URL nar/../../outside; 2: an absolute path; 3: through a
	 * symbolic link to a directory outside; 4: referenced by 1 only (it
	 * must stay with 1); 5: an ordinary path, evicted. */
	char outside[300], outdir[300], p[400], abs_url[400];
	struct spec specs[6] = {{0}, {"4", "nar/../../outside", 1000, 0},
				{"", NULL, 1000, 0}, {"", "evil/victim", 1000, 0},
				{"", NULL, 1000, 0}, {"", NULL, 1000, 0}};
	struct world w;
	struct evict_plan plan;
	struct evict_apply_result r;
	struct events ev;

	snprintf(outside, sizeof(outside), "%s/outside", root);
	write_file(outside, "sentinel\n");
	snprintf(outdir, sizeof(outdir), "%s/outdir", root);
	mkdir(outdir, 0755);
	snprintf(p, sizeof(p), "%s/victim", outdir);
	write_file(p, "victim\n");
	snprintf(abs_url, sizeof(abs_url), "%s/victim", outdir);
	specs[2].url = abs_url;
	/* the URL resolves to root/outside from root/cacheN/nar */
	if (world_make(&w, specs, 6)) {
		CHECK(0);
		return;
	}
	snprintf(p, sizeof(p), "%s/evil", w.dir);
	CHECK(symlink(outdir, p) == 0);
	CHECK(make_plan(&w, 0, &plan) > 0);
	CHECK_INT(plan.n, 5);
	CHECK_INT(apply(&w, plan.id, 1, &r, &ev), 0);
	CHECK(!r.complete);
	CHECK_INT(r.refused, 3);
	CHECK_INT(r.held, 1);
	CHECK_INT(ev.n[EVICT_REFUSED], 3);
	CHECK(exists(root, "outside"));
	CHECK(exists(root, "outdir/victim"));
	CHECK(narinfo_exists(&w, 1) && narinfo_exists(&w, 2) && narinfo_exists(&w, 3));
	CHECK(narinfo_exists(&w, 4));
	CHECK(!narinfo_exists(&w, 5));
	evict_apply_result_release(&r);
	/* a second run refuses the same and touches nothing more */
	CHECK_INT(apply(&w, plan.id, 1, &r, &ev), 0);
	CHECK_INT(r.refused, 3);
	CHECK_INT(r.deleted, 0);
	CHECK(exists(root, "outside"));
	evict_apply_result_release(&r);
	evict_plan_release(&plan);
	world_close(&w);
}

TEST(apply_holds_paths_pushed_later)
{
	/* The plan evicts 1 <- 2 <- 3; then 4, referencing 2, is pushed:
	 * 2 and 1 must stay, 3 may go. */
	struct spec specs[5] = {{0}, {"", NULL, 1000, 0}, {"1", NULL, 1000, 0},
				{"2", NULL, 1000, 0}, {"2", NULL, 1000, 0}};
	struct spec first[4];
	struct world w;
	struct evict_plan plan;
	struct evict_apply_result r;

	memcpy(first, specs, sizeof(first));
	if (world_make(&w, first, 4)) {
		CHECK(0);
		return;
	}
	CHECK(make_plan(&w, 0, &plan) > 0);
	CHECK_INT(plan.n, 3);
	write_narinfo(w.dir, specs, 4, 0);
	CHECK_INT(apply(&w, plan.id, 1, &r, NULL), 0);
	CHECK_INT(r.held, 2);
	CHECK(!r.complete);
	CHECK(narinfo_exists(&w, 1) && narinfo_exists(&w, 2) && narinfo_exists(&w, 4));
	CHECK(!narinfo_exists(&w, 3));
	evict_apply_result_release(&r);
	evict_plan_release(&plan);
	world_close(&w);
}

static int64_t count_intents(struct world *w, int64_t plan_id)
{
	static const char sql[] =
		"SELECT count(*) FROM evict_journal WHERE plan_id = ?1 AND state = 'intent'";
	sqlite3_stmt *st = db_stmt(&w->db, sql);
	int64_t n;

	db_bind_int(st, 1, plan_id);
	db_step(&w->db, st);
	n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

/* A cache for the resume tests: a chain, a diamond, shared NARs, .ls
 * files, paths kept by an evaluation. */
static unsigned resume_specs(struct spec *specs, char refs[][200])
{
	unsigned n = 40;

	memset(specs, 0, sizeof(*specs) * n);
	for (unsigned i = 1; i < n; i++) {
		refs[i][0] = '\0';
		if (i > 1)
			snprintf(refs[i], 200, "%u %u", i - 1, i / 2);
		specs[i].refs = i > 1 ? refs[i] : "";
		specs[i].size = 1000;
		specs[i].no_file_size = i == 33;
		if (i % 5 == 0 && i >= 25)   /* planned, all of them */
			specs[i].url = "nar/shared5.nar.xz";
		if (i == 10 || i == 31)      /* one kept, one planned */
			specs[i].url = "nar/shared10.nar.xz";
	}
	return n;
}

static void add_ls(struct world *w, unsigned n)
{
	char p[400], h[33];

	for (unsigned i = 1; i < n; i += 3) {
		hash_of(i, h);
		snprintf(p, sizeof(p), "%s/%s.ls", w->dir, h);
		write_file(p, "{}\n");
	}
}

TEST(apply_resume_after_crash_states)
{
	/* Each half-done state a kill can leave, made by hand: the run
	 * after it ends exactly where a clean run does. */
	struct spec specs[MAXP];
	char refs[MAXP][200];
	unsigned n = resume_specs(specs, refs);
	struct world clean, w;
	struct evict_plan plan;
	struct evict_apply_result r;
	char *want, *got;

	if (world_make(&clean, specs, n)) {
		CHECK(0);
		return;
	}
	add_ls(&clean, n);
	add_eval(&clean, "master", 100, "20");
	CHECK(make_plan(&clean, 20000, &plan) > 0);
	CHECK(plan.n > 5);
	CHECK_INT(apply(&clean, plan.id, 1, &r, NULL), 0);
	CHECK(r.complete);
	evict_apply_result_release(&r);
	evict_plan_release(&plan);
	want = listing(clean.dir);
	world_close(&clean);

	/* 0: narinfo intent, file there; 1: narinfo intent, file unlinked;
	 * 2: narinfo done; 3: and NAR intent, file there; 4: NAR intent,
	 * file unlinked; 5: NAR unlinked, nothing journaled. */
	for (int state = 0; state < 6; state++) {
		char p[400];
		if (world_make(&w, specs, n)) {
			CHECK(0);
			return;
		}
		add_ls(&w, n);
		add_eval(&w, "master", 100, "20");
		CHECK(make_plan(&w, 20000, &plan) > 0);
		/* Make the half-done state for the plan's first path. */
		{
			const struct evict_path *ep = &plan.paths[0];
			char name[64];
			static const char sql_run[] =
				"INSERT INTO evict_runs (plan_id, dir, started_at, status)"
				" VALUES (?1, 'x', 0, 'running')";
			static const char sql_j[] =
				"INSERT INTO evict_journal (plan_id, object, kind, path_id, url, state,"
				" run_id, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, 0)";
			sqlite3_stmt *st = db_stmt(&w.db, sql_run);
			db_bind_int(st, 1, plan.id);
			db_run(&w.db, st);
			snprintf(name, sizeof(name), "%.32s.narinfo", ep->base);
			st = db_stmt(&w.db, sql_j);
			db_bind_int(st, 1, plan.id);
			db_bind_text(st, 2, name);
			db_bind_text(st, 3, "narinfo");
			db_bind_int(st, 4, ep->path_id);
			db_bind_text(st, 5, ep->url);
			db_bind_text(st, 6, state <= 1 ? "intent" : "done");
			db_run(&w.db, st);
			snprintf(p, sizeof(p), "%s/%s", w.dir, name);
			if (state >= 1)
				unlink(p);
			if (state == 3 || state == 4) {
				st = db_stmt(&w.db, sql_j);
				db_bind_int(st, 1, plan.id);
				db_bind_text(st, 2, ep->url);
				db_bind_text(st, 3, "nar");
				db_bind_int(st, 4, ep->path_id);
				db_bind_text(st, 5, NULL);
				db_bind_text(st, 6, "intent");
				db_run(&w.db, st);
			}
			if (state >= 4) {
				snprintf(p, sizeof(p), "%s/%s", w.dir, ep->url);
				CHECK(unlink(p) == 0);
			}
		}
		CHECK_INT(apply(&w, plan.id, 1, &r, NULL), 0);
		CHECK(r.complete);
		CHECK_INT(count_intents(&w, plan.id), 0);
		got = listing(w.dir);
		if (strcmp(got, want)) {
			fprintf(stderr, "state %d: listing differs from a clean run\n--- got\n%s--- want\n%s",
				state, got, want);
			CHECK(0);
		}
		free(got);
		evict_apply_result_release(&r);
		evict_plan_release(&plan);
		world_close(&w);
	}
	free(want);
}

TEST(apply_resume_after_sigkill)
{
	/* A child applies the plan slowly and is killed with SIGKILL at a
	 * random point once it has started deleting; the parent runs the
	 * plan again.  The result must equal a clean run's, every time. */
	struct spec specs[MAXP];
	char refs[MAXP][200];
	unsigned n = resume_specs(specs, refs);
	struct world clean, w;
	struct evict_plan plan;
	struct evict_apply_result r;
	char *want, *before;
	unsigned rnd = (unsigned)getpid(), midway = 0;

	if (world_make(&clean, specs, n)) {
		CHECK(0);
		return;
	}
	add_ls(&clean, n);
	add_eval(&clean, "master", 100, "20");
	CHECK(make_plan(&clean, 20000, &plan) > 0);
	CHECK_INT(apply(&clean, plan.id, 1, &r, NULL), 0);
	evict_apply_result_release(&r);
	evict_plan_release(&plan);
	want = listing(clean.dir);
	world_close(&clean);

	for (int trial = 0; trial < 6; trial++) {
		int64_t plan_id;
		pid_t pid;
		int status;
		if (world_make(&w, specs, n)) {
			CHECK(0);
			return;
		}
		add_ls(&w, n);
		add_eval(&w, "master", 100, "20");
		plan_id = make_plan(&w, 20000, &plan);
		CHECK(plan_id > 0);
		evict_plan_release(&plan);
		before = listing(w.dir);
		world_close(&w);
		fflush(NULL);
		pid = fork();
		if (pid == 0) {
			struct evict_apply_opts o;
			struct db db;
			memset(&o, 0, sizeof(o));
			o.plan_id = plan_id;
			o.apply = 1;
			o.step_delay_ms = 3;
			if (db_open(&db, w.dbpath, 0))
				_exit(3);
			evict_apply(&db, &o, &r);
			_exit(0);
		}
		/* wait for the first deletion, then a random while more */
		int reaped = 0;
		for (int k = 0; k < 20000 && !reaped; k++) {
			char *now = listing(w.dir);
			int changed = strcmp(now, before) != 0;
			free(now);
			if (changed)
				break;
			reaped = waitpid(pid, &status, WNOHANG) == pid;
			usleep(500);
		}
		rnd = rnd * 1103515245u + 12345u;
		if (!reaped) {
			usleep((rnd >> 16) % 150000);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
		}
		if (WIFSIGNALED(status)) {
			char *now = listing(w.dir);
			midway += strcmp(now, want) != 0 && strcmp(now, before) != 0;
			free(now);
		}
		free(before);
		if (db_open(&w.db, w.dbpath, 0)) {
			CHECK(0);
			return;
		}
		w.open = 1;
		CHECK_INT(apply(&w, plan_id, 1, &r, NULL), 0);
		CHECK(r.complete);
		CHECK_INT(count_intents(&w, plan_id), 0);
		{
			char *got = listing(w.dir);
			if (strcmp(got, want)) {
				fprintf(stderr, "trial %d: listing differs from a clean run\n--- got\n%s"
					"--- want\n%s", trial, got, want);
				CHECK(0);
			}
			free(got);
		}
		evict_apply_result_release(&r);
		world_close(&w);
	}
	/* the kills must have hit half-way at least once */
	if (!midway)
		fprintf(stderr, "no kill landed half-way through a run\n");
	CHECK(midway > 0);
	free(want);
}

TEST(apply_missing_plan_and_not_a_cache)
{
	struct spec specs[2] = {{0}, {"", NULL, 1000, 0}};
	struct world w;
	struct evict_apply_result r;
	struct evict_apply_opts o;

	if (world_make(&w, specs, 2)) {
		CHECK(0);
		return;
	}
	CHECK_INT(apply(&w, 42, 1, &r, NULL), 1);
	evict_apply_result_release(&r);
	/* a directory that is not a cache is refused with --dir */
	{
		struct evict_plan plan;
		char p[300];
		CHECK(make_plan(&w, 0, &plan) > 0);
		snprintf(p, sizeof(p), "%s/empty", root);
		mkdir(p, 0755);
		memset(&o, 0, sizeof(o));
		o.plan_id = plan.id;
		o.dir = p;
		o.apply = 1;
		CHECK_INT(evict_apply(&w.db, &o, &r), -1);
		evict_apply_result_release(&r);
		CHECK(narinfo_exists(&w, 1));
		evict_plan_release(&plan);
	}
	world_close(&w);
}

struct keys_seen {
	struct strbuf deleted;
	unsigned deferred, shared, refused;
};

static void on_key(void *ctx, const struct evict_event *ev)
{
	struct keys_seen *k = ctx;

	if (ev->action == EVICT_DELETE)
		strbuf_addf(&k->deleted, "%s\n", ev->object);
	k->deferred += ev->action == EVICT_DEFERRED;
	k->shared += ev->action == EVICT_KEEP_SHARED;
	k->refused += ev->action == EVICT_REFUSED;
}

TEST(keys_for_http)
{
	/* 1 and 2 share a NAR and both go; 3 goes but shares its NAR with
	 * 4, which stays; 5 names a NAR outside. */
	struct spec specs[6] = {{0}, {"", "nar/s12.nar", 1000, 0}, {"", "nar/s12.nar", 1000, 0},
				{"", "nar/s34.nar", 1000, 0}, {"", "nar/s34.nar", 1000, 0},
				{"", "../x", 1000, 0}};
	struct world w;
	struct evict_plan plan, loaded;
	struct keys_seen k = {STRBUF_INIT, 0, 0, 0};
	char h[33], want[400];

	if (world_make(&w, specs, 6)) {
		CHECK(0);
		return;
	}
	add_eval(&w, "master", 100, "4");
	CHECK(make_plan(&w, 1000, &plan) > 0);
	CHECK_INT(plan.n, 4);
	CHECK_INT(evict_plan_load(&w.db, plan.id, &loaded), 0);
	CHECK_INT(evict_keys(&w.db, &loaded, on_key, &k), 0);
	CHECK_INT(k.deferred, 1);
	CHECK_INT(k.shared, 1);
	CHECK_INT(k.refused, 1);
	CHECK(strstr(k.deleted.buf, "nar/s12.nar\n") != NULL);
	CHECK(strstr(k.deleted.buf, "nar/s34.nar") == NULL);
	CHECK(strstr(k.deleted.buf, "../x") == NULL);
	hash_of(3, h);
	snprintf(want, sizeof(want), "%s.narinfo\n%s.ls\n", h, h);
	CHECK(strstr(k.deleted.buf, want) != NULL);
	strbuf_release(&k.deleted);
	evict_plan_release(&plan);
	evict_plan_release(&loaded);
	world_close(&w);
}


/* Write text to dir/rel (rel may hold a directory that is made first). */
static void put(const char *dir, const char *rel, const char *text)
{
	char p[700], *slash;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if ((slash = strrchr(p, '/')) && slash > p + strlen(dir)) {
		*slash = '\0';
		mkdir(p, 0755);
		*slash = '/';
	}
	write_file(p, text);
}

/* A narinfo for a path outside the plan (hash of index i) with body. */
static void put_kept(const char *dir, unsigned i, const char *body)
{
	char h[33], rel[64];

	hash_of(i, h);
	snprintf(rel, sizeof(rel), "%s.narinfo", h);
	put(dir, rel, body);
}

static int nar_exists(struct world *w, unsigned i)
{
	char h[33], rel[64];

	hash_of(i, h);
	snprintf(rel, sizeof(rel), "nar/%s.nar.xz", h);
	return exists(w->dir, rel);
}

TEST(apply_refuses_non_nar_urls)
{
	/* Planned paths 1..7 whose URLs name other kinds of files; 8 is an
	 * ordinary path.  Path 20 is pushed after the plan (kept). */
	char kept_ni[80], kept_ls[80];
	struct spec specs[9] = {{0},
				{"", kept_ni, 1000, 0},
				{"", "nix-cache-info", 1000, 0},
				{"", kept_ls, 1000, 0},
				{"", "log/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz-x.drv", 1000, 0},
				{"", "realisations/sha256:00!out.doi", 1000, 0},
				{"", "debuginfo/0011.debug", 1000, 0},
				{"", "nar/x.nar.gz", 1000, 0},
				{"", NULL, 1000, 0}};
	const char *files[] = {kept_ni, "nix-cache-info", kept_ls,
			       "log/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz-x.drv",
			       "realisations/sha256:00!out.doi", "debuginfo/0011.debug", "nar/x.nar.gz"};
	struct world w;
	struct evict_plan plan;
	struct evict_apply_result r;
	struct events ev;
	char h[33], body[300];

	hash_of(20, h);
	snprintf(kept_ni, sizeof(kept_ni), "%s.narinfo", h);
	snprintf(kept_ls, sizeof(kept_ls), "%s.ls", h);
	if (world_make(&w, specs, 9)) {
		CHECK(0);
		return;
	}
	CHECK(make_plan(&w, 0, &plan) > 0);
	CHECK_INT(plan.n, 8);
	snprintf(body, sizeof(body), "StorePath: /nix/store/%s-p20\nURL: nar/%s.nar.xz\n"
		 "References: \n", h, h);
	put_kept(w.dir, 20, body);
	snprintf(body, sizeof(body), "nar/%s.nar.xz", h);
	put(w.dir, body, "kept nar\n");
	for (size_t i = 2; i < ARRAY_SIZE(files); i++)
		if (strcmp(files[i], "nix-cache-info"))
			put(w.dir, files[i], "not a nar\n");
	/* the dry run says the same as the run */
	CHECK_INT(apply(&w, plan.id, 0, &r, &ev), 0);
	CHECK_INT(r.refused, 7);
	evict_apply_result_release(&r);
	CHECK_INT(apply(&w, plan.id, 1, &r, &ev), 0);
	CHECK_INT(r.refused, 7);
	CHECK_INT(ev.n[EVICT_REFUSED], 7);
	CHECK(!r.complete);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		if (!exists(w.dir, files[i])) {
			fprintf(stderr, "deleted '%s'\n", files[i]);
			CHECK(0);
		}
	}
	/* left whole: narinfos stay; the ordinary path goes */
	for (unsigned i = 1; i <= 7; i++)
		CHECK(narinfo_exists(&w, i));
	CHECK(!narinfo_exists(&w, 8) && !nar_exists(&w, 8));
	CHECK(exists(w.dir, body));
	CHECK(strstr(ev.last_detail, "the path is left whole") != NULL);
	evict_apply_result_release(&r);
	evict_plan_release(&plan);
	world_close(&w);
}

TEST(apply_protects_every_reading)
{
	/* Planned 1..9 with their own NARs; after the plan, narinfos of
	 * paths outside it name the NARs of 1..8, each in another spelling.
	 * 9's NAR is named by none: it goes. */
	struct spec specs[10] = {{0}};
	struct world w;
	struct evict_plan plan;
	struct evict_apply_result r;
	struct events ev;
	char hn[10][33], body[600], *big;
	size_t bigsz = 2u * 1024 * 1024;

	for (unsigned i = 1; i < 10; i++) {
		specs[i].refs = "";
		specs[i].size = 1000;
		hash_of(i, hn[i]);
	}
	if (world_make(&w, specs, 10)) {
		CHECK(0);
		return;
	}
	CHECK(make_plan(&w, 0, &plan) > 0);
	CHECK_INT(plan.n, 9);
	/* two URL lines: Nix takes the last */
	snprintf(body, sizeof(body), "URL: nar/none.nar\nURL: nar/%s.nar.xz\n", hn[1]);
	put_kept(w.dir, 31, body);
	/* a tab after the colon */
	snprintf(body, sizeof(body), "URL:\tnar/%s.nar.xz\n", hn[2]);
	put_kept(w.dir, 32, body);
	/* no space: Nix skips the 'n'; a lenient reader does not */
	snprintf(body, sizeof(body), "URL:nar/%s.nar.xz\n", hn[3]);
	put_kept(w.dir, 33, body);
	/* a percent-escape nginx decodes */
	snprintf(body, sizeof(body), "URL: nar/%%%02x%s.nar.xz\n", hn[4][0], hn[4] + 1);
	put_kept(w.dir, 34, body);
	/* a query a server drops */
	snprintf(body, sizeof(body), "URL: nar/%s.nar.xz?v=2\n", hn[5]);
	put_kept(w.dir, 35, body);
	/* CRLF and lower-case key */
	snprintf(body, sizeof(body), "url: nar/%s.nar.xz\r\n", hn[6]);
	put_kept(w.dir, 36, body);
	/* an absolute URL on another host */
	snprintf(body, sizeof(body), "URL: https://mirror.example/c/nar/%s.nar.xz\n", hn[7]);
	put_kept(w.dir, 37, body);
	/* larger than the crawler's cap: the scan reads it whole */
	big = xmalloc(bigsz + 200);
	memset(big, 0, bigsz + 200);
	memcpy(big, "Pad: ", 5);
	memset(big + 5, 'x', bigsz);
	snprintf(big + 5 + bigsz, 195, "\nURL: nar/%s.nar.xz\n", hn[8]);
	put_kept(w.dir, 38, big);
	free(big);
	CHECK_INT(apply(&w, plan.id, 1, &r, &ev), 0);
	CHECK_INT(r.held + r.refused, 0);
	CHECK_INT(r.shared, 8);
	CHECK_INT(r.nars, 1);
	for (unsigned i = 1; i <= 8; i++) {
		CHECK(!narinfo_exists(&w, i));
		if (!nar_exists(&w, i)) {
			fprintf(stderr, "deleted the NAR of %u\n", i);
			CHECK(0);
		}
	}
	CHECK(!narinfo_exists(&w, 9) && !nar_exists(&w, 9));
	evict_apply_result_release(&r);
	evict_plan_release(&plan);
	world_close(&w);
}

/* One uncertain narinfo (made by how) pushed after the plan: nothing is
 * deleted, every planned path is held with the reason. */
static void uncertain_case(int how, const char *want)
{
	struct spec specs[4] = {{0}, {"", NULL, 1000, 0}, {"1", NULL, 1000, 0},
				{"", NULL, 1000, 0}};
	struct world w;
	struct evict_plan plan;
	struct evict_apply_result r;
	struct events ev;
	char h[33], p[400], *before, *after;
	int fd;

	if (world_make(&w, specs, 4)) {
		CHECK(0);
		return;
	}
	CHECK(make_plan(&w, 0, &plan) > 0);
	CHECK_INT(plan.n, 3);
	hash_of(40, h);
	snprintf(p, sizeof(p), "%s/%s.narinfo", w.dir, h);
	switch (how) {
	case 0:  /* cut short: no newline ends the last value */
		write_file(p, "StorePath: /nix/store/x-y\nURL: nar/zz");
		break;
	case 1:  /* larger than the scan reads (sparse) */
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		CHECK(fd >= 0 && ftruncate(fd, (off_t)EVICT_SCAN_MAX_BYTES + 1) == 0);
		close(fd);
		break;
	case 2:  /* not a file that can be read */
		CHECK(mkdir(p, 0755) == 0);
		break;
	case 3:  /* empty */
		write_file(p, "");
		break;
	case 4:  /* a push under way: Nix's temporary name */
		snprintf(p, sizeof(p), "%s/%s.narinfo.tmp.123.1", w.dir, h);
		write_file(p, "StorePath: /nix/store/x-y\nURL: nar/");
		break;
	}
	before = listing(w.dir);
	CHECK_INT(apply(&w, plan.id, 1, &r, &ev), 0);
	after = listing(w.dir);
	CHECK_STR(after, before);
	CHECK_INT(r.deleted, 0);
	CHECK_INT(r.held, 3);
	CHECK(!r.complete);
	if (!strstr(ev.last_detail, want) || !strstr(ev.last_detail, h)) {
		fprintf(stderr, "case %d: detail '%s', want '%s' and the file\n", how,
			ev.last_detail, want);
		CHECK(0);
	}
	free(before);
	free(after);
	evict_apply_result_release(&r);
	/* once it is removed, the plan goes through */
	if (how == 2)
		rmdir(p);
	else
		unlink(p);
	CHECK_INT(apply(&w, plan.id, 1, &r, &ev), 0);
	CHECK(r.complete);
	CHECK(!narinfo_exists(&w, 1) && !nar_exists(&w, 1));
	evict_apply_result_release(&r);
	evict_plan_release(&plan);
	world_close(&w);
}

TEST(apply_fails_safe_on_uncertain_narinfo)
{
	uncertain_case(0, "cut short");
	uncertain_case(1, "larger than");
	uncertain_case(2, "Is a directory");
	uncertain_case(3, "empty");
	uncertain_case(4, "cut short");
}

TEST(apply_nix_refused_narinfo_keeps_its_nar)
{
	/* A kept narinfo Nix refuses (a blank line at the end) but that is
	 * complete: the NAR it names stays, the rest of the plan goes. */
	struct spec specs[3] = {{0}, {"", NULL, 1000, 0}, {"", NULL, 1000, 0}};
	struct world w;
	struct evict_plan plan;
	struct evict_apply_result r;
	char h[33], body[300];

	if (world_make(&w, specs, 3)) {
		CHECK(0);
		return;
	}
	CHECK(make_plan(&w, 0, &plan) > 0);
	hash_of(1, h);
	snprintf(body, sizeof(body), "StorePath: /nix/store/x-y\nURL: nar/%s.nar.xz\n\n", h);
	put_kept(w.dir, 50, body);
	CHECK_INT(apply(&w, plan.id, 1, &r, NULL), 0);
	CHECK(nar_exists(&w, 1));
	CHECK(!narinfo_exists(&w, 1));
	CHECK(!narinfo_exists(&w, 2) && !nar_exists(&w, 2));
	CHECK_INT(r.shared, 1);
	evict_apply_result_release(&r);
	evict_plan_release(&plan);
	world_close(&w);
}

TEST(apply_planned_url_ambiguous_or_harmonia)
{
	/* 1: its narinfo now has two URL lines (left whole, both NARs stay);
	 * 2: harmonia's ?hash= form: the file is the path, and it goes. */
	char h1[33], h2[33], url2[120], body[400];
	struct spec specs[3] = {{0}, {"", NULL, 1000, 0}, {"", url2, 1000, 0}};
	struct world w;
	struct evict_plan plan;
	struct evict_apply_result r;
	struct events ev;

	hash_of(1, h1);
	hash_of(2, h2);
	snprintf(url2, sizeof(url2), "nar/0%s.nar?hash=%s", h2 + 1, h2);
	if (world_make(&w, specs, 3)) {
		CHECK(0);
		return;
	}
	snprintf(body, sizeof(body), "nar/0%s.nar", h2 + 1);
	put(w.dir, body, "harmonia nar\n");
	CHECK(make_plan(&w, 0, &plan) > 0);
	snprintf(body, sizeof(body), "StorePath: /nix/store/%s-p1\nURL: nar/%s.nar.xz\n"
		 "URL: nar/other.nar\nReferences: \n", h1, h1);
	put_kept(w.dir, 1, body);
	put(w.dir, "nar/other.nar", "other\n");
	CHECK_INT(apply(&w, plan.id, 1, &r, &ev), 0);
	CHECK_INT(r.refused, 1);
	CHECK(narinfo_exists(&w, 1) && nar_exists(&w, 1) && exists(w.dir, "nar/other.nar"));
	CHECK(strstr(ev.last_detail, "more than one way") != NULL);
	CHECK(!narinfo_exists(&w, 2));
	snprintf(body, sizeof(body), "nar/0%s.nar", h2 + 1);
	CHECK(!exists(w.dir, body));
	evict_apply_result_release(&r);
	evict_plan_release(&plan);
	world_close(&w);
}

int main(void)
{
	char cmd[400];

	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	progress_disabled = 1;
	RUN(url_checks);
	RUN(narinfo_scan);
	RUN(nar_names);
	RUN(url_readings);
	RUN(plan_closure_safe_random);
	RUN(plan_reasons_and_breaks);
	RUN(plan_gc_policies);
	RUN(plan_cycle_cannot_reach_limit);
	RUN(apply_shared_nar);
	RUN(apply_shared_nar_other_name);
	RUN(apply_refuses_escapes);
	RUN(apply_holds_paths_pushed_later);
	RUN(apply_resume_after_crash_states);
	RUN(apply_resume_after_sigkill);
	RUN(apply_missing_plan_and_not_a_cache);
	RUN(keys_for_http);
	RUN(apply_refuses_non_nar_urls);
	RUN(apply_protects_every_reading);
	RUN(apply_fails_safe_on_uncertain_narinfo);
	RUN(apply_nix_refused_narinfo_keeps_its_nar);
	RUN(apply_planned_url_ambiguous_or_harmonia);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", root);
	return test_summary();
}
