/*
 * test_coverage.c - trust.c and coverage.c on a hand-made database: every
 * coverage status where the construction puts it, signature verdicts
 * (good, revoked, unknown key, bad, wrong length, content-addressed),
 * verdicts reused from sig_verdicts, history replayed with an earlier
 * moment, capability sets compared as sets, no keys configured; and the
 * pure helpers (ANSI stripping, Nix's content-address check against
 * paths real Nix made); and the cases a mutation audit found untested:
 * partial before untrusted, an eviction and a failed build in the same
 * second, a gone output with no build record, a query at the revocation
 * moment, a recorded verdict for a name now bound to another key.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/coverage.h"
#include "store/db.h"
#include "store/stmt.h"
#include "harness.h"
#include "nix/nixhash.h"
#include "nix/sig.h"
#include "analysis/trust.h"
#include "lib/util.h"

#define SD "/nix/store"
#define NARHASH "sha256:0000000000000000000000000000000000000000000000000000"

static char dir[] = "/tmp/cachegc-test-coverage.XXXXXX";
static char dbpath[300];
static struct sig_secret_key k1, k2, k3;
/* k2's key pair under k1's name: what signed when "k1" named another key */
static struct sig_secret_key k1b;

/* ---- pure helpers ------------------------------------------------------ */

TEST(ansi_codes)
{
	char *s = strip_ansi("\x1b[31;1merror:\x1b[0m undefined variable 'x'\r\n  at \x1b]8;;f\aline",
			     strlen("\x1b[31;1merror:\x1b[0m undefined variable 'x'\r\n  at "
				    "\x1b]8;;f\aline"));
	CHECK_STR(s, "error: undefined variable 'x'\n  at line");
	free(s);
	s = strip_ansi("a\x1b", 2);   /* a lone ESC at the end */
	CHECK_STR(s, "a");
	free(s);
	s = strip_ansi("\x1b[", 2);   /* a CSI cut short */
	CHECK_STR(s, "");
	free(s);
	s = strip_ansi("tab\tok\x7f\x01", 8);
	CHECK_STR(s, "tab\tok");
	free(s);
}

/* ---- the hand-made database -------------------------------------------- */

static void sql(struct db *db, const char *fmt, ...) ATTR_PRINTF(2, 3);
static void sql(struct db *db, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (db_exec(db, buf))
		die("test setup failed: %s", buf);
}

/* Path id for letter c (hash = c x 32). */
static int64_t path(struct db *db, char c, const char *name)
{
	char h[33];

	memset(h, c, 32);
	h[32] = 0;
	sql(db, "INSERT INTO paths (hash, name) VALUES ('%s', '%s')", h, name);
	return db_last_id(db);
}

static void base_of(struct db *db, int64_t id, char *out, size_t n)
{
	static const char q[] = "SELECT hash || '-' || name FROM paths WHERE id = ?1";
	sqlite3_stmt *st = db_stmt(db, q);

	db_bind_int(st, 1, id);
	out[0] = 0;
	if (db_step(db, st) == 1)
		snprintf(out, n, "%s", db_col_text(st, 0));
	sqlite3_reset(st);
}

enum signing { S_K1, S_K2, S_K3, S_K1B, S_OTHER, S_BAD, S_SHORT, S_NONE };

/* A narinfo of NarSize nar for id, references refs (0-terminated), signed
 * as sign says; ca as given or NULL. */
static void narinfo(struct db *db, int64_t id, int64_t nar, const int64_t *refs, enum signing sign,
		    const char *ca)
{
	char b[256], rb[8][256], err[SIG_ERR_MAX];
	const char *rp[8];
	struct strbuf fp = STRBUF_INIT, sig = STRBUF_INIT, sp = STRBUF_INIT, rj = STRBUF_INIT;
	size_t n = 0;

	base_of(db, id, b, sizeof(b));
	strbuf_addf(&sp, SD "/%s", b);
	strbuf_addch(&rj, '[');
	for (; refs && refs[n]; n++) {
		base_of(db, refs[n], rb[n], sizeof(rb[n]));
		rp[n] = rb[n];
		strbuf_addf(&rj, "%s%lld", n ? "," : "", (long long)refs[n]);
	}
	strbuf_addch(&rj, ']');
	if (sig_fingerprint(&fp, SD, sp.buf, NARHASH, (uint64_t)nar, rp, n, err, sizeof(err)))
		die("fingerprint: %s", err);
	switch (sign) {
	case S_K1:
		sig_sign(&k1, fp.buf, fp.len, &sig);
		break;
	case S_K2:
		sig_sign(&k2, fp.buf, fp.len, &sig);
		break;
	case S_K3:
		sig_sign(&k3, fp.buf, fp.len, &sig);
		break;
	case S_K1B:
		sig_sign(&k1b, fp.buf, fp.len, &sig);
		break;
	case S_OTHER:
		/* a good signature by a key nobody configured */
		sig_sign(&k1, fp.buf, fp.len, &sig);
		memcpy(sig.buf, "zz", 2);
		break;
	case S_BAD:
		/* k1's name, over another message */
		sig_sign(&k1, "another message", 15, &sig);
		break;
	case S_SHORT:
		/* k1's name, 32 bytes instead of 64 */
		strbuf_addstr(&sig, "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
		break;
	case S_NONE:
		break;
	}
	sql(db, "INSERT INTO narinfos (cache_id, path_id, url, compression, nar_hash, nar_size, "
		"file_size, ca, refs, sigs, crawl_id, fetched_at) VALUES (1, %lld, 'nar/x.nar.xz', "
		"'xz', '" NARHASH "', %lld, %lld, %s%s%s, '%s', '%s%s%s', 1, 100)",
	    (long long)id, (long long)nar, (long long)nar / 2, ca ? "'" : "", ca ? ca : "NULL",
	    ca ? "'" : "", rj.buf, sig.len ? "[\"" : "[", sig.len ? sig.buf : "", sig.len ? "\"]" : "]");
	strbuf_release(&fp);
	strbuf_release(&sig);
	strbuf_release(&sp);
	strbuf_release(&rj);
}

static void present(struct db *db, int64_t id, int64_t from, int64_t gone)
{
	if (gone > 0)
		sql(db, "INSERT INTO presence (cache_id, path_id, first_seen, last_seen, last_crawl_id, "
			"gone_at, gone_crawl_id) VALUES (1, %lld, %lld, %lld, 1, %lld, 1)",
		    (long long)id, (long long)from, (long long)gone - 1, (long long)gone);
	else
		sql(db, "INSERT INTO presence (cache_id, path_id, first_seen, last_seen, last_crawl_id) "
			"VALUES (1, %lld, %lld, 200, 1)", (long long)id, (long long)from);
}

static int64_t evaluation(struct db *db, const char *rev, const char *caps, int64_t time)
{
	sql(db, "INSERT INTO evaluations (branch, rev, capabilities, system, time, source, "
		"imported_at) VALUES ('master', '%s', '%s', 'x86_64-linux', %lld, 'test', 1)",
	    rev, caps, (long long)time);
	return db_last_id(db);
}

static int64_t drvn;

static void job(struct db *db, int64_t ev, const char *attr, const char *output, int64_t out,
		const char *status, int64_t btime)
{
	char name[64];
	int64_t drv;

	snprintf(name, sizeof(name), "%s.drv", attr);
	/* derivations: hashes of 'v', 'w', 'x', 'y', 'z' then digits */
	drv = path(db, "vwxyz0123456789"[drvn++ % 15], name);
	sql(db, "UPDATE paths SET hash = substr(hash, 1, 28) || printf('%%04d', id) WHERE id = %lld",
	    (long long)drv);
	sql(db, "INSERT INTO eval_jobs (evaluation_id, attr, output, path_id, drv_id, line) "
		"VALUES (%lld, '%s', '%s', %lld, %lld, 1)",
	    (long long)ev, attr, output, (long long)out, (long long)drv);
	if (status)
		sql(db, "INSERT INTO builds (drv_id, status, time, source, imported_at) "
			"VALUES (%lld, '%s', %lld, 'test', 1)", (long long)drv, status, (long long)btime);
}

static struct ids {
	int64_t lib, torch, part, gonedep, untr, unk, bad, shrt, evicted, queued, failed, nondet,
		missing, notpushed, ca, old, caref;
	int64_t e_old, e_new, e_caps, e_future;
} I;

static void key_row(struct db *db, const struct sig_secret_key *k, const char *revoked)
{
	struct strbuf pk = STRBUF_INIT;

	sig_secret_format_public(k, &pk);
	sql(db, "INSERT INTO trusted_keys (name, public_key, added_at, revoked_at) "
		"VALUES ('%s', '%s', 1, %s)", k->name, strchr(pk.buf, ':') + 1, revoked);
	strbuf_release(&pk);
}

static int setup(void)
{
	struct db db;
	unsigned char seed[32];
	char err[SIG_ERR_MAX];
	int64_t r1[2];

	if (!mkdtemp(dir))
		return -1;
	snprintf(dbpath, sizeof(dbpath), "%s/t.db", dir);
	memset(seed, 1, sizeof(seed));
	if (sig_secret_from_seed("k1", seed, &k1, err, sizeof(err)))
		return -1;
	memset(seed, 2, sizeof(seed));
	if (sig_secret_from_seed("k2", seed, &k2, err, sizeof(err)))
		return -1;
	memset(seed, 3, sizeof(seed));
	if (sig_secret_from_seed("k3", seed, &k3, err, sizeof(err)))
		return -1;
	memset(seed, 2, sizeof(seed));
	if (sig_secret_from_seed("k1", seed, &k1b, err, sizeof(err)))
		return -1;
	if (db_open(&db, dbpath, 0))
		return -1;
	sql(&db, "INSERT INTO caches (id, url, added_at) VALUES (1, 'file:///test', 1)");
	sql(&db, "INSERT INTO crawls (id, cache_id, started_at, status) VALUES (1, 1, 100, 'complete')");

	I.lib = path(&db, 'a', "lib");
	I.torch = path(&db, 'b', "torch");
	I.part = path(&db, 'c', "partial");
	I.gonedep = path(&db, 'd', "gonedep");
	I.untr = path(&db, 'f', "revoked-signed");
	I.unk = path(&db, 'g', "unknown-key");
	I.bad = path(&db, 'h', "bad-sig");
	I.shrt = path(&db, 'i', "short-sig");
	I.evicted = path(&db, 'j', "evicted");
	I.queued = path(&db, 'k', "queued");
	I.failed = path(&db, 'l', "failed");
	I.nondet = path(&db, 'm', "nondet");
	I.missing = path(&db, 'n', "missing");
	I.notpushed = path(&db, 'p', "notpushed");
	I.old = path(&db, 'r', "old");
	/* a real content-addressed path (builtins.toFile), unsigned */
	sql(&db, "INSERT INTO paths (hash, name) VALUES ('qyg7wzl33k4klhfypq1cxgaci84k5ijr', "
		 "'cachegc-ca-text')");
	I.ca = db_last_id(&db);
	/* and one that depends on it */
	I.caref = path(&db, 's', "uses-ca");

	r1[0] = I.lib;
	r1[1] = 0;
	narinfo(&db, I.lib, 1000, NULL, S_K1, NULL);
	narinfo(&db, I.torch, 2000, r1, S_K1, NULL);
	narinfo(&db, I.gonedep, 300, NULL, S_K1, NULL);
	{
		int64_t rr[3] = {I.lib, I.gonedep, 0};
		narinfo(&db, I.part, 500, rr, S_K1, NULL);
	}
	narinfo(&db, I.untr, 700, r1, S_K2, NULL);
	narinfo(&db, I.unk, 800, r1, S_OTHER, NULL);
	narinfo(&db, I.bad, 900, r1, S_BAD, NULL);
	narinfo(&db, I.shrt, 950, r1, S_SHORT, NULL);
	narinfo(&db, I.evicted, 1100, r1, S_K1, NULL);
	narinfo(&db, I.nondet, 1200, r1, S_K1, NULL);
	narinfo(&db, I.old, 1300, r1, S_K1, NULL);
	narinfo(&db, I.ca, 6, NULL, S_NONE,
		"text:sha256:00xyyr3fi8l6hb839bv3f7yb86yjv7xi1cgh1xnhipym4asvb4aq");
	{
		int64_t rr[3] = {I.ca, I.lib, 0};
		narinfo(&db, I.caref, 1400, rr, S_K3, NULL);
	}
	/* present from 100; gonedep and evicted go at 150 */
	for (int64_t id = I.lib; id <= I.caref; id++) {
		if (id == I.queued || id == I.failed || id == I.missing || id == I.notpushed)
			continue;
		present(&db, id, 100, id == I.gonedep || id == I.evicted ? 150 : 0);
	}

	I.e_old = evaluation(&db, "old1", "8.6", 50);
	job(&db, I.e_old, "pkgE", "out", I.old, "succeeded", 40);
	job(&db, I.e_old, "torch", "out", I.torch, NULL, 0);
	I.e_new = evaluation(&db, "new2", "8.6", 90);
	job(&db, I.e_new, "torch", "out", I.torch, NULL, 0);
	job(&db, I.e_new, "torch", "lib", I.lib, NULL, 0);
	job(&db, I.e_new, "partial", "out", I.part, NULL, 0);
	job(&db, I.e_new, "revoked", "out", I.untr, NULL, 0);
	job(&db, I.e_new, "unknownkey", "out", I.unk, NULL, 0);
	job(&db, I.e_new, "badsig", "out", I.bad, NULL, 0);
	job(&db, I.e_new, "shortsig", "out", I.shrt, NULL, 0);
	job(&db, I.e_new, "pkgE", "out", I.evicted, "succeeded", 80);
	job(&db, I.e_new, "queued", "out", I.queued, "queued", 95);
	job(&db, I.e_new, "failed", "out", I.failed, "failed", 60);
	sql(&db, "INSERT INTO builds (drv_id, status, time, source, imported_at) "
		 "SELECT drv_id, 'succeeded', 40, 'test', 1 FROM eval_jobs WHERE attr = 'failed'");
	job(&db, I.e_new, "nondet", "out", I.nondet, "non-deterministic", 98);
	job(&db, I.e_new, "missing", "out", I.missing, NULL, 0);
	job(&db, I.e_new, "notpushed", "out", I.notpushed, "succeeded", 70);
	job(&db, I.e_new, "ca", "out", I.ca, NULL, 0);
	job(&db, I.e_new, "usesca", "out", I.caref, NULL, 0);
	sql(&db, "INSERT INTO eval_jobs (evaluation_id, attr, output, error, line) VALUES "
		 "(%lld, 'broken', '', '\x1b[31;1merror:\x1b[0m undefined variable', 9)",
	    (long long)I.e_new);
	I.e_caps = evaluation(&db, "caps3", "8.6,8.9", 95);
	job(&db, I.e_caps, "torch", "out", I.torch, NULL, 0);
	I.e_future = evaluation(&db, "future4", "8.6", 500);
	job(&db, I.e_future, "torch", "out", I.torch, NULL, 0);

	key_row(&db, &k1, "NULL");
	key_row(&db, &k2, "120");
	key_row(&db, &k3, "NULL");
	db_close(&db);
	return 0;
}

static const struct cov_row *find(const struct coverage *cv, const char *rev, const char *attr,
				  const char *output)
{
	for (size_t i = 0; i < cv->nrows; i++) {
		const struct cov_row *r = &cv->rows[i];
		if (!strcmp(cv->cols[r->column].rev, rev) && !strcmp(r->attr, attr) &&
		    !strcmp(r->output, output))
			return r;
	}
	return NULL;
}

#define CHECK_STATUS(cv, rev, attr, out, want)                                   \
	do {                                                                     \
		const struct cov_row *r_ = find(cv, rev, attr, out);             \
		CHECK(r_ != NULL);                                               \
		if (r_)                                                          \
			CHECK_STR(cov_status_str(r_->status), want);             \
	} while (0)

static int run_at(struct db *db, int64_t at, const char *caps, struct coverage *cv)
{
	struct coverage_opts o = {.cache_id = 1, .at = at, .capabilities = caps, .threads = 2};

	return coverage_run(cv, db, &o);
}

TEST(statuses)
{
	struct db db;
	struct coverage cv;
	const struct cov_row *r;

	CHECK(db_open(&db, dbpath, 0) == 0);
	CHECK(run_at(&db, 160, NULL, &cv) == 0);
	CHECK(cv.trust_checked);
	CHECK_INT(cv.keys_active, 2);
	/* the latest of (master, 8.6) as of 160 is new2, not future4 */
	CHECK_INT(cv.ncols, 2);
	CHECK_STR(cv.cols[0].capabilities, "8.6");
	CHECK_STR(cv.cols[0].rev, "new2");
	CHECK_STR(cv.cols[1].capabilities, "8.6,8.9");
	CHECK_STATUS(&cv, "new2", "torch", "out", "cached");
	CHECK_STATUS(&cv, "new2", "torch", "lib", "cached");
	CHECK_STATUS(&cv, "new2", "partial", "out", "partial");
	CHECK_STATUS(&cv, "new2", "revoked", "out", "untrusted");
	CHECK_STATUS(&cv, "new2", "unknownkey", "out", "untrusted");
	CHECK_STATUS(&cv, "new2", "badsig", "out", "untrusted");
	CHECK_STATUS(&cv, "new2", "shortsig", "out", "untrusted");
	CHECK_STATUS(&cv, "new2", "pkgE", "out", "evicted");
	CHECK_STATUS(&cv, "new2", "queued", "out", "queued");
	CHECK_STATUS(&cv, "new2", "failed", "out", "failed");
	CHECK_STATUS(&cv, "new2", "nondet", "out", "cached");
	CHECK_STATUS(&cv, "new2", "missing", "out", "missing");
	CHECK_STATUS(&cv, "new2", "notpushed", "out", "missing");
	CHECK_STATUS(&cv, "new2", "ca", "out", "cached");
	CHECK_STATUS(&cv, "new2", "usesca", "out", "cached");
	CHECK_STATUS(&cv, "new2", "broken", "", "failed");
	CHECK_STATUS(&cv, "caps3", "torch", "out", "cached");

	if ((r = find(&cv, "new2", "partial", "out"))) {
		CHECK_INT(r->missing_paths, 1);
		CHECK_INT(r->missing_bytes, 300);
		CHECK_INT(r->closure_paths, 3);
		CHECK_INT(r->closure_bytes, 1800);
	}
	if ((r = find(&cv, "new2", "torch", "out"))) {
		CHECK_INT(r->closure_paths, 2);
		CHECK_INT(r->closure_bytes, 3000);
		CHECK_INT(r->missing_paths, 0);
		CHECK(r->older_eval == 0);
	}
	if ((r = find(&cv, "new2", "revoked", "out"))) {
		CHECK_INT(r->untrusted_paths, 1);
		CHECK_INT(r->untrusted_path, I.untr);
		CHECK_STR(trust_verdict_str(r->untrusted_verdict), "revoked-key");
		CHECK(r->signers && strstr(r->signers, "k2 (revoked 1970-01-01T00:02:00Z)"));
	}
	if ((r = find(&cv, "new2", "unknownkey", "out"))) {
		CHECK_STR(trust_verdict_str(r->untrusted_verdict), "unknown-key");
		CHECK(r->signers && strstr(r->signers, "zz (not a configured key)"));
	}
	if ((r = find(&cv, "new2", "badsig", "out"))) {
		CHECK_STR(trust_verdict_str(r->untrusted_verdict), "bad-signature");
		CHECK(r->signers && strstr(r->signers, "k1 (bad signature)"));
	}
	if ((r = find(&cv, "new2", "shortsig", "out")))
		CHECK_STR(trust_verdict_str(r->untrusted_verdict), "malformed-signature");
	if ((r = find(&cv, "new2", "pkgE", "out"))) {
		CHECK_INT(r->since, 150);
		/* the older evaluation's pkgE is cached */
		CHECK_INT(r->older_eval, I.e_old);
		CHECK_STR(r->older_rev, "old1");
		CHECK_INT(r->older_time, 50);
		CHECK_INT(r->older_path, I.old);
	}
	if ((r = find(&cv, "new2", "queued", "out"))) {
		CHECK_STR(r->reason, "queued");
		CHECK_INT(r->build_time, 95);
	}
	if ((r = find(&cv, "new2", "failed", "out")))
		CHECK_STR(r->reason, "failed");
	if ((r = find(&cv, "new2", "nondet", "out")))
		CHECK_STR(r->build_status, "non-deterministic");
	if ((r = find(&cv, "new2", "notpushed", "out")))
		CHECK_STR(r->reason, "built-not-pushed");
	if ((r = find(&cv, "new2", "missing", "out")))
		CHECK(r->reason == NULL);
	if ((r = find(&cv, "new2", "broken", ""))) {
		CHECK_STR(r->reason, "eval-error");
		CHECK_STR(r->error, "error: undefined variable");
	}
	/* summary: 15 jobs (torch has two outputs), 16 outputs */
	CHECK_INT(cv.cols[0].jobs, 15);
	CHECK_INT(cv.cols[0].outputs, 16);
	CHECK_INT(cv.cols[0].count[COV_CACHED], 5);
	CHECK_INT(cv.cols[0].jobs_cached, 4);
	CHECK_INT(cv.cols[0].count[COV_UNTRUSTED], 4);
	CHECK_INT(cv.cols[0].count[COV_FAILED], 2);
	CHECK(cv.cols[0].cached_bytes > 0 && cv.cols[0].cached_bytes < cv.cols[0].total_bytes);
	/* rows come sorted: attr, then "out" before other outputs */
	for (size_t i = 1; i < cv.nrows; i++)
		CHECK(strcmp(cv.rows[i - 1].attr, cv.rows[i].attr) <= 0);
	r = find(&cv, "new2", "torch", "out");
	CHECK(r && r + 1 < cv.rows + cv.nrows && !strcmp(r[1].output, "out"));
	coverage_release(&cv);
	db_close(&db);
}

TEST(verdicts_recorded)
{
	struct db db;
	struct trust t;
	uint8_t *want;
	int64_t n;

	CHECK(db_open(&db, dbpath, 0) == 0);
	/* statuses ran first and recorded what it checked */
	CHECK(trust_init(&t, &db, 1, 160, 0, 1) == 0);
	want = xcalloc(t.n, 1);
	n = trust_want_present(&t, want);
	CHECK_INT(n, 11);
	CHECK(trust_check(&t, want) == 0);
	CHECK_INT(t.stats.verified, 0);
	CHECK(t.stats.reused > 0);
	CHECK_INT(trust_verdict(&t, I.lib), TRUST_SIGNED);
	CHECK_INT(trust_verdict(&t, I.ca), TRUST_CA);
	CHECK_INT(trust_verdict(&t, I.untr), TRUST_REVOKED);
	CHECK_INT(trust_verdict(&t, I.bad), TRUST_BAD);
	CHECK_INT(trust_verdict(&t, I.gonedep), TRUST_UNCHECKED);  /* gone: not asked */
	CHECK_INT(trust_verdict(&t, I.queued), TRUST_UNCHECKED);
	trust_release(&t);
	free(want);

	/* a forgotten verdict is checked again, and the same */
	sql(&db, "DELETE FROM sig_verdicts WHERE path_id = %lld", (long long)I.torch);
	CHECK(trust_init(&t, &db, 1, 160, 0, 1) == 0);
	want = xcalloc(t.n, 1);
	want[I.torch] = want[I.bad] = 1;
	CHECK(trust_check(&t, want) == 0);
	CHECK_INT(t.stats.verified, 1);
	CHECK_INT(trust_verdict(&t, I.torch), TRUST_SIGNED);
	CHECK_INT(trust_verdict(&t, I.bad), TRUST_BAD);
	trust_release(&t);
	free(want);
	db_close(&db);
}

/* More keys than the key array first holds: verdicts still name the
 * right key after it moved. */
TEST(many_keys)
{
	struct db db;
	struct trust t;
	uint8_t *want;
	struct strbuf pk = STRBUF_INIT;

	CHECK(db_open(&db, dbpath, 0) == 0);
	for (int i = 0; i < 40; i++) {
		unsigned char seed[32];
		char name[32], err[SIG_ERR_MAX];
		struct sig_secret_key k;
		memset(seed, 100 + i, sizeof(seed));
		snprintf(name, sizeof(name), "x-extra-%02d", i);  /* after k1..k3 */
		CHECK(sig_secret_from_seed(name, seed, &k, err, sizeof(err)) == 0);
		key_row(&db, &k, "NULL");
		sig_secret_release(&k);
	}
	sql(&db, "DELETE FROM sig_verdicts WHERE path_id = %lld", (long long)I.caref);
	CHECK(trust_init(&t, &db, 1, 160, 0, 2) == 0);
	CHECK_INT(t.nkeys, 43);
	want = xcalloc(t.n, 1);
	want[I.caref] = 1;
	CHECK(trust_check(&t, want) == 0);
	CHECK_INT(t.stats.verified, 1);
	CHECK_INT(trust_verdict(&t, I.caref), TRUST_SIGNED);
	trust_release(&t);
	free(want);
	sig_secret_format_public(&k3, &pk);
	{
		static const char q[] = "SELECT public_key FROM sig_verdicts WHERE path_id = ?1";
		sqlite3_stmt *st = db_stmt(&db, q);
		db_bind_int(st, 1, I.caref);
		CHECK(db_step(&db, st) == 1);
		CHECK_STR(db_col_text(st, 0), strchr(pk.buf, ':') + 1);
		sqlite3_reset(st);
	}
	strbuf_release(&pk);
	sql(&db, "DELETE FROM trusted_keys WHERE name LIKE 'x-extra-%%'");
	db_close(&db);
}

TEST(replay)
{
	struct db db;
	struct coverage cv;

	CHECK(db_open(&db, dbpath, 0) == 0);
	/* at 110 k2 was not revoked yet, gonedep and evicted were there */
	CHECK(run_at(&db, 110, "8.6", &cv) == 0);
	CHECK_INT(cv.ncols, 1);
	CHECK_STATUS(&cv, "new2", "revoked", "out", "cached");
	CHECK_STATUS(&cv, "new2", "partial", "out", "cached");
	CHECK_STATUS(&cv, "new2", "pkgE", "out", "cached");
	CHECK_STATUS(&cv, "new2", "badsig", "out", "untrusted");
	coverage_release(&cv);
	/* at 92, nothing crawled yet: the old evaluation's jobs are missing,
	 * builds as of then count (queued at 95 not yet) */
	CHECK(run_at(&db, 92, "8.6", &cv) == 0);
	CHECK_STATUS(&cv, "new2", "torch", "out", "missing");
	CHECK_STATUS(&cv, "new2", "failed", "out", "failed");
	CHECK_STATUS(&cv, "new2", "queued", "out", "missing");
	coverage_release(&cv);
	/* at 60 only the old evaluation was there */
	CHECK(run_at(&db, 60, NULL, &cv) == 0);
	CHECK_INT(cv.ncols, 1);
	CHECK_STR(cv.cols[0].rev, "old1");
	coverage_release(&cv);
	/* before any evaluation: no column, no error */
	CHECK(run_at(&db, 10, NULL, &cv) == 0);
	CHECK_INT(cv.ncols, 0);
	coverage_release(&cv);
	/* after the future one: it is the latest */
	CHECK(run_at(&db, 600, "8.6", &cv) == 0);
	CHECK_STR(cv.cols[0].rev, "future4");
	coverage_release(&cv);
	db_close(&db);
}

TEST(sets_and_filters)
{
	struct db db;
	struct coverage cv;
	struct coverage_opts o = {.cache_id = 1, .at = 160, .capabilities = "8.6,8.9",
				  .attr = "tor*", .threads = 1};

	CHECK(db_open(&db, dbpath, 0) == 0);
	CHECK(coverage_run(&cv, &db, &o) == 0);
	CHECK_INT(cv.ncols, 1);
	CHECK_INT(cv.nrows, 1);
	coverage_release(&cv);
	o.capabilities = NULL;
	o.branch = "nixos-unstable";
	CHECK(coverage_run(&cv, &db, &o) == 0);
	CHECK_INT(cv.ncols, 0);
	coverage_release(&cv);
	db_close(&db);
}

TEST(no_keys)
{
	struct db db;
	struct coverage cv;

	CHECK(db_open(&db, dbpath, 0) == 0);
	sql(&db, "DELETE FROM trusted_keys");
	CHECK(run_at(&db, 160, "8.6", &cv) == 0);
	CHECK(!cv.trust_checked);
	/* trust does not apply: nothing is untrusted */
	CHECK_INT(cv.cols[0].count[COV_UNTRUSTED], 0);
	CHECK_STATUS(&cv, "new2", "badsig", "out", "cached");
	CHECK_STATUS(&cv, "new2", "partial", "out", "partial");
	coverage_release(&cv);
	db_close(&db);
}

/* ---- cases a mutation audit found untested ------------------------------ */

/* trusted_keys as setup made them (no_keys deletes them). */
static void keys_reset(struct db *db)
{
	sql(db, "DELETE FROM trusted_keys");
	key_row(db, &k1, "NULL");
	key_row(db, &k2, "120");
	key_row(db, &k3, "NULL");
}

/* A path with a fresh hash: c x 28 and a counter, so the few letters left
 * go a long way. */
static int64_t upath(struct db *db, char c, const char *name)
{
	static unsigned n;
	char h[33];

	memset(h, c, 28);
	snprintf(h + 28, 5, "%04u", n++ % 10000);
	sql(db, "INSERT INTO paths (hash, name) VALUES ('%s', '%s')", h, name);
	return db_last_id(db);
}

/* Rows in their own branch and capability set: the tests above never see
 * them, and they see nothing else. */
static int run_branch(struct db *db, int64_t at, struct coverage *cv)
{
	struct coverage_opts o = {.cache_id = 1, .at = at, .branch = "audit", .threads = 1};

	return coverage_run(cv, db, &o);
}

static int64_t audit_evaluation(struct db *db, const char *rev, int64_t time)
{
	sql(db, "INSERT INTO evaluations (branch, rev, capabilities, system, time, source, "
		"imported_at) VALUES ('audit', '%s', 'audit', 'x86_64-linux', %lld, 'test', 1)",
	    rev, (long long)time);
	return db_last_id(db);
}

TEST(status_precedence)
{
	struct db db;
	struct coverage cv;
	const struct cov_row *r;
	int64_t dep, root, evs, gone, older, ev, ev2;

	CHECK(db_open(&db, dbpath, 0) == 0);
	keys_reset(&db);
	/* root is signed by a key nobody trusts AND misses a dependency:
	 * partial (the closure is incomplete) comes before untrusted */
	dep = upath(&db, 'a', "audit-dep");
	root = upath(&db, 'a', "audit-untrusted-partial");
	{
		int64_t rr[2] = {dep, 0};
		narinfo(&db, dep, 100, NULL, S_K1, NULL);
		narinfo(&db, root, 200, rr, S_OTHER, NULL);
	}
	present(&db, dep, 100, 150);
	present(&db, root, 100, 0);
	/* evicted at 150, and a build failed at 150 too: the same second
	 * counts as the eviction coming last */
	evs = upath(&db, 'a', "audit-same-second");
	narinfo(&db, evs, 300, NULL, S_K1, NULL);
	present(&db, evs, 100, 150);
	/* evicted, and no build was ever recorded for its derivation */
	gone = upath(&db, 'a', "audit-gone-no-build");
	narinfo(&db, gone, 400, NULL, S_K1, NULL);
	present(&db, gone, 100, 150);

	/* an older evaluation whose same output is present but untrusted:
	 * not "older cached" */
	older = upath(&db, 'a', "audit-older-untrusted");
	narinfo(&db, older, 250, NULL, S_OTHER, NULL);
	present(&db, older, 100, 0);
	ev = audit_evaluation(&db, "audit0", 80);
	job(&db, ev, "both", "out", older, NULL, 0);

	ev = audit_evaluation(&db, "audit1", 90);
	job(&db, ev, "both", "out", root, NULL, 0);
	job(&db, ev, "samesecond", "out", evs, "failed", 150);
	job(&db, ev, "gonenobuild", "out", gone, NULL, 0);

	CHECK(run_branch(&db, 160, &cv) == 0);
	CHECK_INT(cv.ncols, 1);
	CHECK_STATUS(&cv, "audit1", "both", "out", "partial");
	if ((r = find(&cv, "audit1", "both", "out"))) {
		CHECK_INT(r->missing_paths, 1);
		CHECK_INT(r->missing_bytes, 100);
		CHECK_INT(r->older_eval, 0);
	}
	CHECK_STATUS(&cv, "audit1", "samesecond", "out", "evicted");
	if ((r = find(&cv, "audit1", "samesecond", "out"))) {
		CHECK_INT(r->since, 150);
		CHECK_INT(r->build_time, 150);
		CHECK_STR(r->build_status, "failed");
	}
	CHECK_STATUS(&cv, "audit1", "gonenobuild", "out", "evicted");
	if ((r = find(&cv, "audit1", "gonenobuild", "out"))) {
		CHECK_INT(r->since, 150);
		CHECK(r->build_status == NULL);
	}
	coverage_release(&cv);

	/* at the moment of the eviction itself the path is gone already;
	 * an evaluation made at the moment asked about counts */
	CHECK(run_branch(&db, 150, &cv) == 0);
	CHECK_STATUS(&cv, "audit1", "samesecond", "out", "evicted");
	coverage_release(&cv);
	CHECK(run_branch(&db, 90, &cv) == 0);
	CHECK_INT(cv.ncols, 1);
	coverage_release(&cv);

	/* a second later the failed build is the news: failed */
	ev2 = audit_evaluation(&db, "audit2", 91);
	job(&db, ev2, "samesecond", "out", evs, "failed", 151);
	CHECK(run_branch(&db, 160, &cv) == 0);
	CHECK_STATUS(&cv, "audit2", "samesecond", "out", "failed");
	coverage_release(&cv);
	sql(&db, "DELETE FROM eval_jobs WHERE evaluation_id = %lld", (long long)ev2);
	sql(&db, "DELETE FROM evaluations WHERE id = %lld", (long long)ev2);
	db_close(&db);
}

/* The verdict of the revoked-signed path as of at, checked afresh. */
static int verdict_at(struct db *db, int64_t at, int64_t id)
{
	struct trust t;
	uint8_t *want;
	int v = -1;

	sql(db, "DELETE FROM sig_verdicts WHERE path_id = %lld", (long long)id);
	if (trust_init(&t, db, 1, at, 0, 1) == 0) {
		want = xcalloc(t.n, 1);
		want[id] = 1;
		if (trust_check(&t, want) == 0)
			v = trust_verdict(&t, (uint32_t)id);
		free(want);
	}
	trust_release(&t);
	return v;
}

TEST(revoked_at_the_moment)
{
	struct db db;

	CHECK(db_open(&db, dbpath, 0) == 0);
	keys_reset(&db);
	/* k2 is revoked at 120: trusted for every moment before, for none
	 * from 120 on */
	CHECK_INT(verdict_at(&db, 119, I.untr), TRUST_SIGNED);
	CHECK_INT(verdict_at(&db, 120, I.untr), TRUST_REVOKED);
	CHECK_INT(verdict_at(&db, 121, I.untr), TRUST_REVOKED);
	db_close(&db);
}

TEST(cached_verdict_other_key)
{
	struct db db;
	struct trust t;
	uint8_t *want;
	int64_t x;

	CHECK(db_open(&db, dbpath, 0) == 0);
	x = upath(&db, 'a', "audit-rebound-key");
	narinfo(&db, x, 500, NULL, S_K1B, NULL);
	/* "k1" first names k1b's key: x verifies, and that is recorded */
	sql(&db, "DELETE FROM trusted_keys");
	key_row(&db, &k1b, "NULL");
	CHECK(trust_init(&t, &db, 1, 160, 0, 1) == 0);
	want = xcalloc(t.n, 1);
	want[x] = 1;
	CHECK(trust_check(&t, want) == 0);
	CHECK_INT(trust_verdict(&t, (uint32_t)x), TRUST_SIGNED);
	CHECK_INT(t.stats.verified, 1);
	trust_release(&t);
	/* asked again: the recorded verdict answers */
	CHECK(trust_init(&t, &db, 1, 160, 0, 1) == 0);
	CHECK(trust_check(&t, want) == 0);
	CHECK_INT(trust_verdict(&t, (uint32_t)x), TRUST_SIGNED);
	CHECK_INT(t.stats.verified, 0);
	CHECK_INT(t.stats.reused, 1);
	trust_release(&t);
	/* now "k1" names k1's own key: the verdict recorded under the name
	 * for another key says nothing; checked again, the signature fails */
	keys_reset(&db);
	CHECK(trust_init(&t, &db, 1, 160, 0, 1) == 0);
	CHECK(trust_check(&t, want) == 0);
	CHECK_INT(trust_verdict(&t, (uint32_t)x), TRUST_BAD);
	CHECK_INT(t.stats.verified, 1);
	CHECK_INT(t.stats.reused, 0);
	trust_release(&t);
	free(want);
	db_close(&db);
}

/* One signature that fails and one that verifies: trusted, as in Nix (any
 * good signature by a trusted key will do), in either order. */
TEST(good_and_bad_signature)
{
	struct db db;
	struct trust t;
	uint8_t *want;
	int64_t x;

	CHECK(db_open(&db, dbpath, 0) == 0);
	keys_reset(&db);
	x = upath(&db, 'a', "audit-good-and-bad");
	narinfo(&db, x, 600, NULL, S_K1, NULL);
	/* k1's signature under k3's name: well-formed, does not verify */
	sql(&db, "UPDATE narinfos SET sigs = json_array(replace(json_extract(sigs, '$[0]'), 'k1:', "
		 "'k3:'), json_extract(sigs, '$[0]')) WHERE path_id = %lld", (long long)x);
	CHECK(trust_init(&t, &db, 1, 160, 0, 1) == 0);
	want = xcalloc(t.n, 1);
	want[x] = 1;
	CHECK(trust_check(&t, want) == 0);
	CHECK_INT(t.stats.verified, 2);
	CHECK_INT(trust_verdict(&t, (uint32_t)x), TRUST_SIGNED);
	trust_release(&t);
	free(want);
	db_close(&db);
}

int main(void)
{
	if (setup()) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	RUN(ansi_codes);
	RUN(statuses);
	RUN(verdicts_recorded);
	RUN(many_keys);
	RUN(replay);
	RUN(sets_and_filters);
	RUN(no_keys);
	RUN(status_precedence);
	RUN(revoked_at_the_moment);
	RUN(cached_verdict_other_key);
	RUN(good_and_bad_signature);
	sig_secret_release(&k1);
	sig_secret_release(&k2);
	sig_secret_release(&k3);
	sig_secret_release(&k1b);
	{
		char p[400];
		snprintf(p, sizeof(p), "%s-wal", dbpath);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", dbpath);
		unlink(p);
		unlink(dbpath);
		rmdir(dir);
	}
	return test_summary();
}
