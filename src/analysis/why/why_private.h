/*
 * why_private.h - what the files of `why` share: the path cache (the few
 * paths one question touches, read one by one through prepared
 * statements: presence episodes, references, sizes and signature
 * verdicts), closures over it, and the answer builders.
 */
#ifndef CACHEGC_WHY_PRIVATE_H
#define CACHEGC_WHY_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/trust.h"
#include "analysis/why.h"
#include "lib/hashmap.h"
#include "lib/util.h"

struct db;

/* One path as of `at`, read on first use. */
struct wnode {
	uint32_t id;
	uint8_t narinfo;       /* the cache has (or had) a narinfo for it */
	uint8_t present;       /* a presence episode covers `at` */
	int64_t first_seen;    /* earliest first_seen <= at; -1: never seen by then */
	int64_t last_seen;     /* last_seen of the latest episode begun by at; -1 */
	int64_t push_time;     /* of the latest episode; -1 unknown */
	int64_t gone;          /* when its latest ended episode ended (<= at); 0 */
	int64_t gone_crawl;    /* the crawl that found it gone; 0 */
	int64_t nar_size;      /* 0 unknown */
	uint32_t refs_off, nrefs;  /* into wpaths.refs */
	uint32_t stamp;        /* walk epoch */
	uint32_t listed;       /* named in the evidence of answer listed - 1 */
};

struct wpaths {
	struct db *db;
	int64_t cache_id, at;
	char *store_dir;
	struct wnode *nodes;
	size_t n, alloc;
	struct hashmap map;    /* id -> node index */
	uint32_t *refs;        /* node ids (path ids) of references */
	size_t nrefs, arefs;
	uint32_t epoch;
	uint32_t *stack;
	size_t astack;
	struct trust tr;
	int trust_inited;
	uint32_t *want;        /* ids of a closure that need a verdict */
	size_t awant;
};

/* A closure: member node indices, root first. */
struct wclosure {
	uint32_t *m;
	size_t n, alloc;
	size_t nmissing, nuntrusted;
	uint64_t bytes, missing_bytes;
};

int wpaths_init(struct wpaths *wp, struct db *db, int64_t cache_id, int64_t at,
		unsigned threads);
void wpaths_release(struct wpaths *wp);
/* The node of path id (read now if new), or -1 on a DB error (reported). */
int64_t wpaths_get(struct wpaths *wp, uint32_t id);
/* The closure of path id into *c (reset first), with signature verdicts
 * for its present members.  0 or -1 (reported). */
int wpaths_closure(struct wpaths *wp, uint32_t id, struct wclosure *c);
void wclosure_release(struct wclosure *c);
static inline struct wnode *wnode_at(struct wpaths *wp, size_t i)
{
	return &wp->nodes[i];
}
/* "/nix/store/<hash>-<name>" of id into a malloc'd string ("" when the
 * DB does not know id). */
char *wpaths_full(struct wpaths *wp, uint32_t id);

/* ---- answers ---------------------------------------------------------- */

/* The filters every evaluation query takes: ?1 at, ?2 branch, ?3
 * capabilities, ?4 system, ?5 rev (or a prefix of at least 7). */
#define EVAL_FILTER                                                              \
	"e.time <= ?1 AND (?2 IS NULL OR e.branch = ?2) "                        \
	"AND (?3 IS NULL OR e.capabilities = ?3) AND (?4 IS NULL OR e.system = ?4) " \
	"AND (?5 IS NULL OR e.rev = ?5 OR (length(?5) >= 7 AND "                 \
	"substr(e.rev, 1, length(?5)) = ?5)) "
#define EVAL_COLS "e.id, e.branch, e.rev, e.capabilities, e.system, e.time"

/* The filter arguments ?1 .. ?5 of EVAL_FILTER. */
#define FILTER_ARGS(o) (o)->at, (o)->branch, (o)->capabilities, (o)->system, (o)->rev

/* One question being answered. */
struct wctx {
	struct db *db;
	const struct why_opts *o;
	struct why_result *r;
	struct wpaths wp;
	struct wclosure c;
};

/* A new answer at the end of x->r (zeroed). */
struct why_answer *why_new_answer(struct wctx *x);
/* absent.c: when --branch, --capabilities or --rev name nothing
 * evaluated, answer so (*answered = 1). */
int why_check_filters(struct wctx *x, const char *attr, int *answered);
/* absent.c: an attr no matching evaluation has. */
int why_answer_unknown_attr(struct wctx *x, const char *attr);
/* absent.c: evidence of CI's paths named name (not not_id). */
int why_same_name(struct wctx *x, struct why_answer *a, const char *name, int64_t not_id);

/* Add evidence: facts is taken over (may be NULL: an empty object). */
void why_ev(struct why_answer *a, const char *kind, json_t *facts, const char *fmt, ...)
	ATTR_PRINTF(4, 5);
void why_advise(struct why_answer *a, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* Append s for a sentence: control characters escaped, backticks made
 * quotes (names come from imported files). */
void why_name(struct strbuf *sb, const char *s);
/* A JSON time: ISO 8601 UTC, or null for t < 0. */
json_t *why_jtime(int64_t t);
/* "2024-05-01T12:00:00Z" into buf (32 bytes). */
const char *why_iso(int64_t t, char *buf);

/* explain.c: the evidence of an eviction (dates, which GC model explains
 * it) for the node ni. */
int why_explain_eviction(struct wpaths *wp, struct why_answer *a, size_t ni);
/* explain.c: the nix.conf lines and the negative-cache note of a cached
 * closure. */
void why_explain_cached(struct wpaths *wp, const struct why_opts *o, struct why_answer *a,
			const struct wclosure *c);

#endif
