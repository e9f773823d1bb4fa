/*
 * trust.h - which recorded paths of a cache Nix would trust: signature
 * verdicts against the trusted keys (table trusted_keys), as of a moment.
 *
 * A path is trusted, as Nix decides it (`nix store verify --sigs-needed 1`,
 * substitution with require-sigs), when one of its narinfo's Sig lines
 * verifies with Ed25519 over Nix's fingerprint under a key that is trusted,
 * or when it is content-addressed (its CA field, recomputed into a store
 * path, gives the path itself).  A key counts as of `at` unless it was
 * revoked at or before `at`: Nix cannot date a signature, so once revoked
 * a key's signatures count for no moment after that, whenever they were
 * made; replaying an earlier moment sees the keys as they were then.
 *
 * Ed25519 verification is the expensive part (about 10,000 a second per
 * core), so each (cache, path, key) verdict is computed at most once and
 * kept in table sig_verdicts (sql/006_trust.sql) when the DB is writable;
 * narinfos are immutable, so a verdict never goes stale.  Missing verdicts
 * are computed in batches over all cores.
 *
 * Call order: trust_init, then trust_check with the ids whose verdicts are
 * wanted (any number of times), then trust_verdict / trust_describe, then
 * trust_release.  Nothing here prints except errors (reported once).
 *
 * Inside a snapshot (db_read_begin) new verdicts cannot be written: they
 * are kept in memory until trust_save() or trust_release() runs after the
 * snapshot ends.
 */
#ifndef CACHEGC_TRUST_H
#define CACHEGC_TRUST_H

#include <stddef.h>
#include <stdint.h>

#include "nix/sig.h"
#include "store/records.h"
#include "lib/util.h"

struct db;

/* struct path_names: store/records.h */

enum trust_verdict {
	TRUST_UNCHECKED = 0,   /* not asked for (or no narinfo recorded) */
	TRUST_SIGNED,          /* a signature verifies under a trusted key */
	TRUST_CA,              /* content-addressed: trusted without signature */
	TRUST_NOT_CHECKED,     /* no keys configured at all: not applicable */
	/* untrusted, most telling reason first when several apply: */
	TRUST_BAD,             /* a signature names a trusted key, does not verify */
	TRUST_MALFORMED,       /* a signature naming a trusted key is not
	                          "name:base64(64 bytes)" (Nix 2.8 throws on it) */
	TRUST_REVOKED,         /* signed by a key revoked as of `at` */
	TRUST_UNKNOWN_KEY,     /* signed only by keys not configured */
	TRUST_UNSIGNED,        /* no signature at all */
};

/* 1 when v lets Nix use the path (signed, content-addressed). */
static inline int trust_ok(enum trust_verdict v)
{
	return v == TRUST_SIGNED || v == TRUST_CA;
}
/* 1 when v says the path is not trusted (not: unchecked, not checked). */
static inline int trust_bad(enum trust_verdict v)
{
	return v >= TRUST_BAD;
}
/* A static word for v: "signed", "content-addressed", "bad-signature",
 * "revoked-key", "malformed-signature", "unknown-key", "unsigned", ... */
const char *trust_verdict_str(enum trust_verdict v);

struct trust_key {
	struct sig_public_key pk;
	char text[SIG_NAME_MAX + 72];  /* "name:base64", to re-parse per thread */
	size_t b64;                    /* offset of the base64 part in text (an
	                                  offset: the array of keys may move) */
	int64_t revoked_at;            /* -1 while trusted */
	int active;                    /* counts as of `at` */
};

struct trust_learned;

struct trust_stats {
	uint64_t checked;      /* paths given a verdict by trust_check */
	uint64_t verified;     /* Ed25519 verifications run */
	uint64_t reused;       /* verdicts taken from sig_verdicts */
	uint64_t stored;       /* new verdicts written to sig_verdicts */
};

struct trust {
	struct db *db;
	int64_t cache_id;
	int64_t at;
	char *store_dir;
	struct trust_key *keys;
	size_t nkeys, nactive;
	uint32_t n;            /* ids 0 .. n-1 */
	uint8_t *verdict;      /* enum trust_verdict per id */
	struct path_names names;
	int names_loaded;
	unsigned threads;
	struct trust_stats stats;
	struct trust_learned *pending; /* verdicts learned inside a snapshot */
	size_t npending, apending;
};

/*
 * Prepare verdicts for cache_id as of at, for path ids below n (size the
 * arrays like the graph: max path id + 1; 0: every path id of the DB,
 * read into t->n).  Loads the keys; a key that
 * does not parse is reported and ignored.  threads 0 means one per
 * online CPU.  Returns 0 or -1 (reported); release with trust_release()
 * in both cases.
 */
int trust_init(struct trust *t, struct db *db, int64_t cache_id, int64_t at, uint32_t n,
	       unsigned threads);
/* Records the verdicts kept back while a snapshot was open (trust_save),
 * when none is open any more, and frees t. */
void trust_release(struct trust *t);

/* Record in sig_verdicts the verdicts learned inside a snapshot, which
 * must have ended.  Nothing on a read-only DB.  0, or -1 (reported; the
 * verdicts are dropped, the next run checks them again). */
int trust_save(struct trust *t);

/* 1 when no key is configured at all: signatures are not checked and
 * every verdict is TRUST_NOT_CHECKED. */
static inline int trust_no_keys(const struct trust *t)
{
	return t->nkeys == 0;
}

/*
 * Give a verdict to every id with want[id] != 0 that has a narinfo in the
 * cache and none yet (want has t->n entries).  Verifies what
 * sig_verdicts does not know, then records the new verdicts there when
 * the DB is writable (a failure to record is reported and ignored: the
 * verdicts stand); inside a snapshot, keeps them for trust_save().
 * Returns 0 or -1 (reported).
 */
int trust_check(struct trust *t, const uint8_t *want);
/* The same for exactly the ids listed (duplicates and ids that have a
 * verdict are skipped): no pass over every id, for callers that ask
 * about a few closures (why). */
int trust_check_ids(struct trust *t, const uint32_t *ids, size_t n);

/*
 * Set want[id] = 1 for every path present in the cache as of t->at (a
 * presence episode with first_seen <= at, not gone by then).  Returns the
 * number of such paths, or -1 (reported).
 */
int64_t trust_want_present(struct trust *t, uint8_t *want);

/* The verdict of id (TRUST_UNCHECKED when never checked). */
static inline enum trust_verdict trust_verdict(const struct trust *t, uint32_t id)
{
	return id < t->n ? (enum trust_verdict)t->verdict[id] : TRUST_UNCHECKED;
}

/*
 * Append to sb who signed id's narinfo, for messages: one entry per
 * signature, "NAME (trusted)", "NAME (revoked 2024-05-01T00:00:00Z)",
 * "NAME (not a configured key)", "NAME (bad signature)", "NAME
 * (malformed)", joined by ", "; "no signatures" when none.  Reads the
 * narinfo; runs no crypto (the verdict says which signatures failed).
 * Returns 0, 1 when the cache has no narinfo for id (sb unchanged), or -1
 * (reported).
 */
int trust_describe(struct trust *t, uint32_t id, struct strbuf *sb);

/* One signature of a narinfo, as trust_signatures() sees it. */
struct trust_sig_info {
	const char *text;        /* the Sig: value as recorded */
	const char *name;        /* the key name (name_len bytes, not
	                            NUL-terminated), NULL when there is none */
	size_t name_len;
	const char *sig;         /* the part after "name:", NULL with name */
	const char *status;      /* "trusted", "revoked", "unknown-key",
	                            "bad-signature" or "malformed" */
	int64_t revoked_at;      /* "revoked": when; else -1 */
};
/*
 * Call fn for each signature of id's narinfo, in the narinfo's order (the
 * pointers are valid during the call).  What trust_describe words, for
 * machines.  Returns 0, 1 when the cache has no narinfo for id, or -1
 * (reported, or fn returned non-zero).
 */
int trust_signatures(struct trust *t, uint32_t id,
		     int (*fn)(const struct trust_sig_info *si, void *ctx), void *ctx);

#endif
