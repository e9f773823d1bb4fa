/*
 * trust.c - signature verdicts for a cache's paths: which keys count as of
 * a moment, content-addressed paths (nix/ca.h), Ed25519 checks in parallel
 * batches, and the sig_verdicts table that makes each check happen once.
 */
#include "analysis/trust.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/db.h"
#include "store/meta.h"
#include "store/refs.h"
#include "store/stmt.h"
#include "nix/ca.h"
#include "nix/nixhash.h"

enum {
	Q_KEYS,
	Q_NPATHS,
	Q_VERDICTS_ONE,
	Q_VERDICT_PUT,
	Q_NARINFOS_SCAN,
	Q_NARINFO_ONE,
	Q_VERDICTS_SCAN,
	Q_WANT_PRESENT,
	Q_SIGS,
	Q_N
};
static const char *const sql[Q_N] = {
	[Q_KEYS] = "SELECT name, public_key, revoked_at FROM trusted_keys ORDER BY name",
	[Q_NPATHS] = "SELECT coalesce(max(id), 0) + 1 FROM paths",
	[Q_VERDICTS_ONE] = "SELECT key_name, public_key, valid FROM sig_verdicts "
			   "WHERE cache_id = ?1 AND path_id = ?2",
	[Q_VERDICT_PUT] = "INSERT OR REPLACE INTO sig_verdicts "
			  "(cache_id, path_id, key_name, public_key, valid, checked_at) "
			  "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[Q_NARINFOS_SCAN] = "SELECT path_id, nar_hash, nar_size, refs, sigs, ca FROM narinfos "
			    "WHERE cache_id = ?1 ORDER BY path_id",
	[Q_NARINFO_ONE] = "SELECT path_id, nar_hash, nar_size, refs, sigs, ca FROM narinfos "
			  "WHERE cache_id = ?1 AND path_id = ?2",
	[Q_VERDICTS_SCAN] = "SELECT path_id, key_name, public_key, valid FROM sig_verdicts "
			    "WHERE cache_id = ?1 ORDER BY path_id",
	[Q_WANT_PRESENT] =
		"SELECT DISTINCT path_id FROM presence WHERE cache_id = ?1 AND first_seen <= ?2 "
		"AND (gone_at IS NULL OR gone_at > ?2)",
	[Q_SIGS] = "SELECT sigs FROM narinfos WHERE cache_id = ?1 AND path_id = ?2",
};
static struct stmt_table stmts = STMT_TABLE("trust", sql);

/* ---- verdicts ---------------------------------------------------------- */

const char *trust_verdict_str(enum trust_verdict v)
{
	switch (v) {
	case TRUST_UNCHECKED:
		return "unchecked";
	case TRUST_SIGNED:
		return "signed";
	case TRUST_CA:
		return "content-addressed";
	case TRUST_NOT_CHECKED:
		return "not-checked";
	case TRUST_BAD:
		return "bad-signature";
	case TRUST_REVOKED:
		return "revoked-key";
	case TRUST_MALFORMED:
		return "malformed-signature";
	case TRUST_UNKNOWN_KEY:
		return "unknown-key";
	case TRUST_UNSIGNED:
		return "unsigned";
	}
	return "?";
}

int trust_init(struct trust *t, struct db *db, int64_t cache_id, int64_t at, uint32_t n,
	       unsigned threads)
{
	sqlite3_stmt *st;
	size_t akeys = 0;
	int rc;

	memset(t, 0, sizeof(*t));
	t->db = db;
	t->cache_id = cache_id;
	t->at = at;
	if (!n) {
		if (stmt_row(db, &stmts, Q_NPATHS, &st, SQL_NOARGS) != 1)
			return -1;
		if (sqlite3_column_int64(st, 0) >= UINT32_MAX) {
			stmt_done(st);
			return error("too many paths in '%s'", db->path);
		}
		n = (uint32_t)sqlite3_column_int64(st, 0);
		stmt_done(st);
	}
	t->n = n;
	t->verdict = xcalloc(n ? n : 1, 1);
	if (!threads) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		threads = c > 0 ? (unsigned)c : 1;
	}
	t->threads = threads > 64 ? 64 : threads;
	if (!(t->store_dir = db_store_dir(db)))
		return -1;
	if (!(st = stmt_query(db, &stmts, Q_KEYS, SQL_NOARGS)))
		return -1;
	while ((rc = db_step(db, st)) == 1) {
		const char *name = db_col_text(st, 0), *b64 = db_col_text(st, 1);
		struct trust_key *k;
		char err[SIG_ERR_MAX];
		size_t nlen, blen;

		GROW(t->keys, akeys, t->nkeys + 1);
		k = &t->keys[t->nkeys];
		memset(k, 0, sizeof(*k));
		nlen = strlen(name);
		blen = strlen(b64);
		if (nlen + blen + 2 > sizeof(k->text)) {
			error("trusted key '%.40s' is too long; ignored", name);
			continue;
		}
		memcpy(k->text, name, nlen);
		k->text[nlen] = ':';
		memcpy(k->text + nlen + 1, b64, blen + 1);
		if (sig_public_parse(k->text, strlen(k->text), &k->pk, err, sizeof(err))) {
			error("trusted key '%s' is unusable (%s); ignored", name, err);
			continue;
		}
		k->b64 = nlen + 1;
		k->revoked_at = sqlite3_column_type(st, 2) == SQLITE_NULL
					? -1 : sqlite3_column_int64(st, 2);
		k->active = k->revoked_at < 0 || k->revoked_at > at;
		t->nactive += k->active;
		t->nkeys++;
	}
	return rc < 0 ? -1 : 0;
}

void trust_release(struct trust *t)
{
	/* Inside a snapshot still (an error path of the caller), they are
	 * dropped: a cache of facts, checked again next time. */
	if (t->npending && t->db && !db_reading(t->db))
		trust_save(t);
	free(t->pending);
	for (size_t i = 0; i < t->nkeys; i++)
		sig_public_release(&t->keys[i].pk);
	free(t->keys);
	free(t->verdict);
	free(t->store_dir);
	if (t->names_loaded)
		path_names_release(&t->names);
	memset(t, 0, sizeof(*t));
}

static struct trust_key *key_named(struct trust *t, const char *name, size_t nlen)
{
	for (size_t i = 0; i < t->nkeys; i++)
		if (strlen(t->keys[i].pk.name) == nlen && !memcmp(t->keys[i].pk.name, name, nlen))
			return &t->keys[i];
	return NULL;
}

/* Provisional findings per path while its signatures are checked. */
#define F_SIGNED    0x01
#define F_BAD       0x02
#define F_REVOKED   0x04
#define F_MALFORMED 0x08
#define F_UNKNOWN   0x10
#define F_CA        0x20
#define F_SEEN      0x80   /* the cache has a narinfo for it */

/* One Ed25519 check to run: signature sig over fingerprint fp. */
struct job {
	uint32_t id;
	uint32_t key;          /* index into t->keys */
	size_t fp, fplen;      /* offsets into the arena */
	size_t sig, siglen;
	int valid;
};

/* A verdict to remember in sig_verdicts. */
struct trust_learned {
	uint32_t id, key;
	int valid;
};

struct check;

struct worker {
	struct check *c;
	struct batch *b;
	unsigned idx, nworkers;
};

/*
 * Checks queued for the threads.  There are two: while the threads verify
 * one, the scan fills the other, so reading narinfos and building
 * fingerprints costs no verification time.
 */
struct batch {
	struct job *jobs;
	size_t njobs, ajobs;
	struct strbuf arena;   /* fingerprints and signatures */
	struct worker w[64];
	pthread_t tid[64];
	unsigned started;      /* threads running on it, 0 when idle */
};

struct check {
	struct trust *t;
	uint8_t *found;        /* F_* per id */
	struct batch b[2];
	unsigned cur;          /* the batch being filled */
	struct trust_learned *learned;
	size_t nlearned, alearned;
	struct sig_public_key *tkeys;  /* per-thread copies: threads x nkeys */
	/* sig_verdicts rows of the current path: (key index, valid) */
	struct { uint32_t key; int valid; } *cached;
	size_t ncached, acached;
	/* scan mode: a cursor over sig_verdicts in path_id order */
	sqlite3_stmt *vcur;
	int64_t vcur_id;       /* path_id of the row vcur is on; -1 at the end */
	struct strbuf fp;
	const char **refs;
	size_t arefs;
};

static void *verify_worker(void *arg)
{
	struct worker *w = arg;
	struct batch *b = w->b;
	const struct sig_public_key *keys = w->c->tkeys + (size_t)w->idx * w->c->t->nkeys;

	for (size_t i = w->idx; i < b->njobs; i += w->nworkers) {
		struct job *j = &b->jobs[i];
		j->valid = sig_verify(&keys[j->key], b->arena.buf + j->sig, j->siglen,
				      b->arena.buf + j->fp, j->fplen) == SIG_VERIFIED;
	}
	return NULL;
}

/* Start threads on batch b.  A thread that cannot start has its share
 * run here and now. */
static void batch_start(struct check *c, struct batch *b)
{
	unsigned nw = c->t->threads;

	b->started = 0;
	if (!b->njobs)
		return;
	if (nw > b->njobs / 64 + 1)
		nw = (unsigned)(b->njobs / 64 + 1);
	for (unsigned i = 0; i < nw; i++) {
		b->w[i] = (struct worker){c, b, i, nw};
		if (pthread_create(&b->tid[b->started], NULL, verify_worker, &b->w[i]))
			verify_worker(&b->w[i]);
		else
			b->started++;
	}
	/* started counts threads to join; mark a batch run here as busy too */
	if (!b->started)
		b->started = UINT32_MAX;
}

/* Wait for batch b, fold its results in, empty it. */
static void batch_finish(struct check *c, struct batch *b)
{
	if (!b->started)
		return;
	if (b->started != UINT32_MAX)
		for (unsigned i = 0; i < b->started; i++)
			pthread_join(b->tid[i], NULL);
	b->started = 0;
	for (size_t i = 0; i < b->njobs; i++) {
		struct job *j = &b->jobs[i];
		c->found[j->id] |= j->valid ? F_SIGNED : F_BAD;
		GROW(c->learned, c->alearned, c->nlearned + 1);
		c->learned[c->nlearned++] = (struct trust_learned){j->id, j->key, j->valid};
	}
	c->t->stats.verified += b->njobs;
	b->njobs = 0;
	strbuf_reset(&b->arena);
}

/* The batch being filled is full: hand it to the threads, fill the other. */
static void batch_flush(struct check *c)
{
	struct batch *full = &c->b[c->cur];

	c->cur ^= 1;
	batch_finish(c, &c->b[c->cur]);
	batch_start(c, full);
}

/* Everything queued, verified and folded in. */
static void batch_drain(struct check *c)
{
	batch_finish(c, &c->b[c->cur ^ 1]);
	batch_start(c, &c->b[c->cur]);
	batch_finish(c, &c->b[c->cur]);
}

/* Fill c->cached with the sig_verdicts rows of id under the current keys. */
static int load_cached(struct check *c, uint32_t id)
{
	struct trust *t = c->t;
	sqlite3_stmt *st = c->vcur;
	int rc;

	c->ncached = 0;
	if (!st) {
		if (!(st = stmt_query(t->db, &stmts, Q_VERDICTS_ONE, SQL_ARGS(t->cache_id, id))))
			return -1;
	} else {
		/* Merge with the scan: vcur is on the first row >= the last id. */
		while (c->vcur_id >= 0 && c->vcur_id < id) {
			if ((rc = db_step(t->db, st)) < 0)
				return -1;
			c->vcur_id = rc ? sqlite3_column_int64(st, 0) : -1;
		}
		if (c->vcur_id != id)
			return 0;
	}
	for (;;) {
		int off = c->vcur ? 1 : 0;
		if (!c->vcur) {
			if ((rc = db_step(t->db, st)) < 0)
				return -1;
			if (!rc)
				break;
		}
		{
			const char *name = db_col_text(st, off), *pk = db_col_text(st, off + 1);
			struct trust_key *k = key_named(t, name, strlen(name));
			if (k && !strcmp(k->text + k->b64, pk)) {
				GROW(c->cached, c->acached, c->ncached + 1);
				c->cached[c->ncached].key = (uint32_t)(k - t->keys);
				c->cached[c->ncached++].valid = sqlite3_column_int(st, off + 2);
			}
		}
		if (c->vcur) {
			if ((rc = db_step(t->db, st)) < 0)
				return -1;
			c->vcur_id = rc ? sqlite3_column_int64(st, 0) : -1;
			if (c->vcur_id != id)
				break;
		}
	}
	if (!c->vcur)
		stmt_done(st);
	return 0;
}

/* Base names of the ids in path id's refs value r into c->refs, their
 * number into *n.  0, or -1 when r cannot be read (reported). */
static int refs_names(struct check *c, uint32_t id, const char *r, size_t *n)
{
	struct trust *t = c->t;
	struct refs_iter it;
	uint32_t ref;
	int rc;

	*n = 0;
	refs_iter_init(&it, r);
	while ((rc = refs_next(&it, &ref)) == 1) {
		GROW(c->refs, c->arefs, *n + 1);
		c->refs[(*n)++] = path_names_get(&t->names, ref);
	}
	return rc < 0 ? refs_malformed(t->db, id, r) : 0;
}

static int need_names(struct trust *t)
{
	if (t->names_loaded)
		return 0;
	t->names_loaded = 1;   /* trust_release frees them, loaded or not */
	if (path_names_load(&t->names, t->db, t->n))
		return -1;
	return 0;
}

/*
 * One narinfo: classify its signatures, queue the checks sig_verdicts
 * cannot answer.  Column order: path_id, nar_hash, nar_size, refs, sigs, ca.
 */
static int process_row(struct check *c, sqlite3_stmt *st)
{
	struct trust *t = c->t;
	struct batch *b = &c->b[c->cur];
	uint32_t id = (uint32_t)sqlite3_column_int64(st, 0);
	const char *sigs_text = db_col_text(st, 4);
	json_t *sigs = NULL;
	size_t fp_off = 0, fp_len = 0, nrefs = 0;
	int have_fp = 0, have_cached = 0, rc = -1;

	c->found[id] |= F_SEEN;
	if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
		if (need_names(t))
			return -1;
		if (refs_names(c, id, db_col_text(st, 3), &nrefs))
			return -1;
		if (ca_path_matches(t->store_dir, path_names_get(&t->names, id),
				     db_col_text(st, 5), c->refs, nrefs)) {
			c->found[id] |= F_CA;
			return 0;
		}
	}
	sigs = json_loads(sigs_text, 0, NULL);
	for (size_t i = 0; i < json_array_size(sigs); i++) {
		const char *s = json_string_value(json_array_get(sigs, i));
		const char *colon = s ? strchr(s, ':') : NULL;
		struct trust_key *k;
		unsigned char raw[96];
		size_t got, klen;
		int known = -1;

		if (!colon || colon == s) {
			c->found[id] |= F_MALFORMED;
			continue;
		}
		if (!(k = key_named(t, s, (size_t)(colon - s)))) {
			c->found[id] |= F_UNKNOWN;
			continue;
		}
		if (!k->active) {
			c->found[id] |= F_REVOKED;
			continue;
		}
		if (nix_base64_decode(colon + 1, strlen(colon + 1), raw, sizeof(raw), &got) ||
		    got != SIG_BYTES) {
			c->found[id] |= F_MALFORMED;
			continue;
		}
		klen = (size_t)(k - t->keys);
		if (!have_cached) {
			if (load_cached(c, id))
				goto out;
			have_cached = 1;
		}
		for (size_t j = 0; j < c->ncached; j++)
			if (c->cached[j].key == klen)
				known = c->cached[j].valid;
		if (known >= 0) {
			c->found[id] |= known ? F_SIGNED : F_BAD;
			t->stats.reused++;
			continue;
		}
		if (!have_fp) {
			char err[SIG_ERR_MAX];
			struct strbuf path = STRBUF_INIT;
			if (need_names(t))
				goto out;
			if (refs_names(c, id, db_col_text(st, 3), &nrefs))
				goto out;
			strbuf_addf(&path, "%s/%s", t->store_dir, path_names_get(&t->names, id));
			strbuf_reset(&c->fp);
			if (sig_fingerprint(&c->fp, t->store_dir, path.buf, db_col_text(st, 1),
					    (uint64_t)sqlite3_column_int64(st, 2), c->refs, nrefs,
					    err, sizeof(err))) {
				/* No fingerprint, nothing can verify: not trusted. */
				strbuf_release(&path);
				c->found[id] |= F_BAD;
				break;
			}
			strbuf_release(&path);
			fp_off = b->arena.len;
			fp_len = c->fp.len;
			strbuf_add(&b->arena, c->fp.buf, c->fp.len);
			have_fp = 1;
		}
		GROW(b->jobs, b->ajobs, b->njobs + 1);
		b->jobs[b->njobs] = (struct job){.id = id, .key = (uint32_t)klen, .fp = fp_off,
						 .fplen = fp_len, .sig = b->arena.len,
						 .siglen = strlen(s)};
		strbuf_addstr(&b->arena, s);
		b->njobs++;
	}
	rc = 0;
out:
	json_decref(sigs);
	return rc;
}

static int store_verdicts(struct trust *t, const struct trust_learned *v, size_t n)
{
	int64_t now = clock_now();
	static int told;

	if (!n)
		return 0;
	if (t->db->readonly) {
		if (t->db->ro_reason && !told++)
			warning("database '%s' is read-only (%s): signature verdicts are not kept, "
				"the next run checks them again", t->db->path, t->db->ro_reason);
		return 0;
	}
	if (db_begin(t->db))
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct trust_key *k = &t->keys[v[i].key];
		/* stmt_exec binds the key's text without copying it. */
		if (stmt_exec(t->db, &stmts, Q_VERDICT_PUT,
			      SQL_ARGS(t->cache_id, v[i].id, k->pk.name, k->text + k->b64,
				       v[i].valid, now)))
			goto fail;
	}
	if (db_commit(t->db))
		goto fail;
	t->stats.stored += n;
	return 0;
fail:
	db_rollback(t->db);
	return -1;
}

static int store_learned(struct check *c)
{
	struct trust *t = c->t;

	if (!c->nlearned)
		return 0;
	if (!db_reading(t->db))
		return store_verdicts(t, c->learned, c->nlearned);
	GROW(t->pending, t->apending, t->npending + c->nlearned);
	memcpy(t->pending + t->npending, c->learned, c->nlearned * sizeof(*c->learned));
	t->npending += c->nlearned;
	return 0;
}

int trust_save(struct trust *t)
{
	int rc;

	if (db_reading(t->db))
		die("BUG: trust_save inside a snapshot of '%s'", t->db->path);
	rc = store_verdicts(t, t->pending, t->npending);
	t->npending = 0;
	return rc;
}

#define BATCH 8192

/* The ids to look at: ids[0 .. nids) when ids is given, else every id
 * below t->n with want[id] set.  ID_NEXT walks them. */
#define ID_EACH(i, id, ids, nids, n)                                                    \
	for (size_t i = 0, id##_end = (ids) ? (nids) : (n); i < id##_end; i++)           \
		for (uint32_t id = (ids) ? (ids)[i] : (uint32_t)i, id##_once = 1; id##_once; \
		     id##_once = 0)

/*
 * Verdicts for the wanted ids that have none: want[id] over every id, or
 * (ids given) exactly the ids listed, which then need no pass over all
 * t->n ids: a few paths cost only themselves.
 */
static int check_ids(struct trust *t, const uint8_t *want, const uint32_t *ids, size_t nids)
{
	struct check c = {0};
	size_t nwant = 0;
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	ID_EACH(i, id, ids, nids, t->n)
		nwant += id < t->n && (ids || want[id]) && !t->verdict[id];
	if (!nwant)
		return 0;
	if (!t->nkeys) {
		ID_EACH(i, id, ids, nids, t->n)
			if (id < t->n && (ids || want[id]) && !t->verdict[id])
				t->verdict[id] = TRUST_NOT_CHECKED;
		return 0;
	}
	c.t = t;
	c.found = xcalloc(t->n, 1);
	/* Every thread gets its own key objects: nothing is shared but the
	 * read-only job list. */
	c.tkeys = xcalloc((size_t)t->threads * t->nkeys, sizeof(*c.tkeys));
	for (unsigned w = 0; w < t->threads; w++) {
		for (size_t k = 0; k < t->nkeys; k++) {
			char err[SIG_ERR_MAX];
			if (sig_public_parse(t->keys[k].text, strlen(t->keys[k].text),
					     &c.tkeys[(size_t)w * t->nkeys + k], err, sizeof(err))) {
				error("trusted key '%s': %s", t->keys[k].pk.name, err);
				goto out;
			}
		}
	}

	if (ids || nwant < t->n / 16 + 64) {
		/* A few paths: look each one up. */
		ID_EACH(i, id, ids, nids, t->n) {
			if (!id || id >= t->n || (!ids && !want[id]) || t->verdict[id] ||
			    (c.found[id] & F_SEEN))
				continue;
			if (!(st = stmt_query(t->db, &stmts, Q_NARINFO_ONE, SQL_ARGS(t->cache_id, id))))
				goto out;
			rc = db_step(t->db, st);
			if (rc < 0 || (rc > 0 && process_row(&c, st))) {
				stmt_done(st);
				goto out;
			}
			stmt_done(st);
			if (c.b[c.cur].njobs >= BATCH)
				batch_flush(&c);
		}
	} else {
		/* Many: one pass over the cache's narinfos, merged with its
		 * recorded verdicts (both in path_id order). */
		if (!(c.vcur = stmt_query(t->db, &stmts, Q_VERDICTS_SCAN, SQL_ARGS(t->cache_id))))
			goto out;
		if ((rc = db_step(t->db, c.vcur)) < 0)
			goto out;
		c.vcur_id = rc ? sqlite3_column_int64(c.vcur, 0) : -1;
		if (!(st = stmt_query(t->db, &stmts, Q_NARINFOS_SCAN, SQL_ARGS(t->cache_id))))
			goto out;
		while ((rc = db_step(t->db, st)) == 1) {
			int64_t id = sqlite3_column_int64(st, 0);
			if (id <= 0 || id >= t->n || !want[id] || t->verdict[id])
				continue;
			if (process_row(&c, st))
				break;
			if (c.b[c.cur].njobs >= BATCH)
				batch_flush(&c);
		}
		stmt_done(st);
		stmt_done(c.vcur);
		if (rc != 0)
			goto out;
	}
	batch_drain(&c);

	ID_EACH(i, id, ids, nids, t->n) {
		uint8_t f = id < t->n ? c.found[id] : 0;
		if ((!ids && !want[id]) || !(f & F_SEEN) || t->verdict[id])
			continue;
		t->verdict[id] = f & F_CA ? TRUST_CA
			: f & F_SIGNED ? TRUST_SIGNED
			: f & F_BAD ? TRUST_BAD
			: f & F_MALFORMED ? TRUST_MALFORMED
			: f & F_REVOKED ? TRUST_REVOKED
			: f & F_UNKNOWN ? TRUST_UNKNOWN_KEY
			: TRUST_UNSIGNED;
		t->stats.checked++;
	}
	/* Verdicts stand even when they cannot be kept (DB locked, disk
	 * full): store_learned has reported why. */
	store_learned(&c);
	ret = 0;
out:
	/* On an error half-way a batch may still be running: wait for it
	 * before freeing what its threads use. */
	for (int i = 0; i < 2; i++) {
		if (c.found)
			batch_finish(&c, &c.b[i]);
		free(c.b[i].jobs);
		strbuf_release(&c.b[i].arena);
	}
	if (c.tkeys)
		for (size_t i = 0; i < (size_t)t->threads * t->nkeys; i++)
			sig_public_release(&c.tkeys[i]);
	free(c.tkeys);
	free(c.found);
	free(c.learned);
	free(c.cached);
	free(c.refs);
	strbuf_release(&c.fp);
	return ret;
}

int trust_check(struct trust *t, const uint8_t *want)
{
	return check_ids(t, want, NULL, 0);
}

int trust_check_ids(struct trust *t, const uint32_t *ids, size_t n)
{
	return check_ids(t, NULL, ids, n);
}

int64_t trust_want_present(struct trust *t, uint8_t *want)
{
	sqlite3_stmt *st = stmt_query(t->db, &stmts, Q_WANT_PRESENT, SQL_ARGS(t->cache_id, t->at));
	int64_t count = 0;
	int rc;

	if (!st)
		return -1;
	while ((rc = db_step(t->db, st)) == 1) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (id > 0 && id < t->n && !want[id]) {
			want[id] = 1;
			count++;
		}
	}
	return rc < 0 ? -1 : count;
}

int trust_signatures(struct trust *t, uint32_t id,
		     int (*fn)(const struct trust_sig_info *si, void *ctx), void *ctx)
{
	sqlite3_stmt *st;
	json_t *sigs;
	size_t n;
	int rc;

	/* stmt_row leaves no statement on a row when there is none. */
	if ((rc = stmt_row(t->db, &stmts, Q_SIGS, &st, SQL_ARGS(t->cache_id, id))) <= 0)
		return rc < 0 ? -1 : 1;
	sigs = json_loads(db_col_text(st, 0), 0, NULL);
	stmt_done(st);
	n = json_array_size(sigs);
	rc = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		const char *s = json_string_value(json_array_get(sigs, i));
		const char *colon = s ? strchr(s, ':') : NULL;
		struct trust_sig_info si = {.text = s ? s : "", .revoked_at = -1};
		struct trust_key *k;
		unsigned char raw[96];
		size_t got;

		if (!colon || colon == s) {
			si.status = "malformed";
		} else {
			si.name = s;
			si.name_len = (size_t)(colon - s);
			si.sig = colon + 1;
			if (!(k = key_named(t, s, si.name_len))) {
				si.status = "unknown-key";
			} else if (!k->active) {
				si.status = "revoked";
				si.revoked_at = k->revoked_at;
			} else if (nix_base64_decode(colon + 1, strlen(colon + 1), raw, sizeof(raw), &got) ||
				   got != SIG_BYTES) {
				si.status = "malformed";
			} else if (trust_ok(trust_verdict(t, id))) {
				si.status = "trusted";
			} else {
				/* A trusted key's well-formed signature on a path
				 * that is not trusted: it did not verify. */
				si.status = "bad-signature";
			}
		}
		rc = fn(&si, ctx);
	}
	json_decref(sigs);
	return rc ? -1 : 0;
}

static int describe_one(const struct trust_sig_info *si, void *ctx)
{
	struct strbuf *sb = ctx;
	char when[32];

	if (sb->len)
		strbuf_addstr(sb, ", ");
	if (!si->name) {
		strbuf_addf(sb, "'%.40s' (malformed)", si->text);
		return 0;
	}
	strbuf_addf(sb, "%.*s ", (int)si->name_len, si->name);
	if (!strcmp(si->status, "unknown-key"))
		strbuf_addstr(sb, "(not a configured key)");
	else if (!strcmp(si->status, "revoked"))
		strbuf_addf(sb, "(revoked %s)", format_time(si->revoked_at, when, sizeof(when)));
	else if (!strcmp(si->status, "bad-signature"))
		strbuf_addstr(sb, "(bad signature)");
	else
		strbuf_addf(sb, "(%s)", si->status);
	return 0;
}

int trust_describe(struct trust *t, uint32_t id, struct strbuf *sb)
{
	struct strbuf d = STRBUF_INIT;
	int rc = trust_signatures(t, id, describe_one, &d);

	if (rc == 0)
		strbuf_addstr(sb, d.len ? d.buf : "no signatures");
	strbuf_release(&d);
	return rc;
}
