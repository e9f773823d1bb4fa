/*
 * crawl.h - recording what a crawl of one cache finds.
 *
 * A crawl is a recorder (crawl_begin .. crawl_finish) fed by a source: the
 * directory walker crawl_dir() here, or the HTTP crawler.  Call order:
 *
 *   crawl_begin()                     opens the cache row and a crawl row
 *   crawl_known() / crawl_seen()      a narinfo already recorded is there
 *   crawl_add_narinfo()               a new narinfo, parsed
 *   crawl_reject() / crawl_absent() / crawl_unknown()
 *   crawl_gone()                      one path asked for is not there
 *   crawl_finish(mark_gone)           commits; with mark_gone, every path
 *                                     present before and not seen by this
 *                                     crawl is recorded as gone (of a
 *                                     shard: every such path of its range)
 *   crawl_release()
 *
 * Writes are committed in batches, so an interrupted crawl keeps what it
 * recorded (narinfos are immutable: the next crawl does not fetch them
 * again) and only a finished full crawl marks paths gone.
 */
#ifndef CACHEGC_CRAWL_H
#define CACHEGC_CRAWL_H

#include <stdint.h>

#include "nix/narinfo.h"
#include "store/pathindex.h"
#include "lib/util.h"

struct db;

struct crawl_counts {
	uint64_t listed;     /* narinfos listed or asked for */
	uint64_t new_;       /* recorded for the first time */
	uint64_t present;    /* already recorded, still there */
	uint64_t gone;       /* present before, not found now */
	uint64_t rejected;   /* failed to read, parse or validate */
	uint64_t rejected_bytes; /* what the rejected narinfos' files occupy
	                        (crawl_rejects.bytes; see crawl_reject) */
	uint64_t absent;     /* asked for, not in the cache */
	uint64_t unknown;    /* presence could not be determined */
	uint64_t clamped;    /* push times after the crawl's clock, recorded
	                        as the crawl's time (not in the crawls table) */
	unsigned shards_complete; /* a sharded crawl, after crawl_finish: how
	                        many of its shards are complete (the crawl
	                        is complete when all are) */
};

/*
 * A shard of a crawl (`crawl --shard K/N --crawl-id NAME`): the narinfos
 * whose store hash falls in shard k of n.  The first CRAWL_SHARD_CHARS
 * nix32 characters of the hash, read as a number v below
 * CRAWL_SHARD_SPAN, give shard floor(v * n / CRAWL_SHARD_SPAN) + 1; the
 * nix32 alphabet is in ASCII order, so a shard is one range of hashes
 * (crawl_shard_range).  A name whose hash is not nix32 falls in shard 1.
 */
struct crawl_shard {
	unsigned k, n;         /* 1 <= k <= n <= CRAWL_SHARD_MAX */
	const char *name;      /* the crawl id all shards of the crawl share */
};
#define CRAWL_SHARD_CHARS 4
#define CRAWL_SHARD_SPAN ((uint32_t)1 << (5 * CRAWL_SHARD_CHARS))
#define CRAWL_SHARD_MAX 1024
#define CRAWL_NAME_MAX 128

/* The shard (1..n) of hash (its first CRAWL_SHARD_CHARS characters are
 * read; a shorter or non-nix32 one is in shard 1). */
unsigned crawl_shard_of(const char *hash, size_t len, unsigned n);

/* 1 when sh is NULL (no sharding) or hash is in shard sh->k. */
int crawl_shard_has(const struct crawl_shard *sh, const char *hash, size_t len);

/* The hashes of shard k of n are those h with lo <= h < hi (byte order):
 * lo and hi get CRAWL_SHARD_CHARS characters and a NUL ("" for the first
 * shard's lo, "{" for the last one's hi, which sorts after every hash). */
void crawl_shard_range(unsigned k, unsigned n, char lo[CRAWL_SHARD_CHARS + 1],
		       char hi[CRAWL_SHARD_CHARS + 1]);

/* Parse "K/N" into *k, *n: 0, or -1 when it is not two decimal numbers
 * with 1 <= K <= N <= CRAWL_SHARD_MAX. */
int crawl_shard_parse(const char *s, unsigned *k, unsigned *n);

/* How a crawl ends (crawl_finish). */
enum crawl_end {
	CRAWL_END_COMPLETE = 0,
	CRAWL_END_INTERRUPTED = 1,
	CRAWL_END_FAILED = 2,      /* it ran, and learned nothing (an HTTP
	                              crawl whose every request failed) */
};

struct crawl {
	struct db *db;
	int64_t cache_id;
	int64_t crawl_id;
	int64_t now;
	char *cache_url;
	char *store_dir;
	struct path_index pi;
	uint8_t *flags;           /* per path id: CRAWL_F_* */
	int64_t *open_presence;   /* per path id: open presence row, or 0 */
	size_t nalloc;
	unsigned pending;         /* writes since the last commit */
	unsigned reject_reports;  /* reject messages printed so far */
	unsigned odd_reports;     /* odd-narinfo warnings printed so far */
	unsigned clamp_reports;   /* future push time warnings printed so far */
	const char *push_source;  /* what a push time is read from, for
	                             messages: "mtime" (default), "Last-Modified" */
	int finished;             /* crawl_finish succeeded */
	uint32_t *ref_ids;        /* scratch for crawl_add_narinfo */
	size_t ref_alloc;
	struct strbuf refs_json, sigs_json;
	struct crawl_counts n;
	uint64_t open_loaded;     /* open presence rows at crawl_begin */
	uint64_t open_touched;    /* of which seen again by this crawl */
	int64_t data_version;     /* the path index's, at crawl_begin */
	struct crawl_batch *batch; /* crawl_dir: rows queued, written several
	                              to a statement (crawl.c); NULL: each
	                              row written when it is recorded */
	struct crawl_shard shard;  /* shard.n 0: not sharded */
	char *shard_name;          /* shard.name's copy */
	int64_t shard_started;     /* this shard process's clock */
	int shard_begun;           /* the shard's row is committed 'running' */
	int64_t txn_started;       /* mono_ms() when the write transaction began */
	struct ckpt *ckpt;         /* checkpoints on a thread (store/checkpointer.h) */
};

/* Open (or create) the cache row for url and start a crawl at the clock's
 * time.  ci, when given, is the cache's nix-cache-info: a StoreDir other
 * than the DB's is refused.  Crawls of this cache left 'running' by a
 * killed process are marked 'interrupted'.  Returns 0 or -1 (reported; *c
 * is then released, and crawl_release() on it again does nothing). */
int crawl_begin(struct crawl *c, struct db *db, const char *url,
		const struct nix_cache_info *ci);

/* As crawl_begin, for shard sh (or NULL: unsharded, as crawl_begin).  The
 * first shard of sh->name to begin creates the crawl row at its clock;
 * the others join it and record at its time (c->now), so --now, when
 * given, must be the same for every shard.  Refused (-1, reported): a
 * crawl of that name with another number of shards, a complete crawl or
 * a complete shard.  A shard commits at least every CRAWL_SHARD_TXN_MS, so
 * the other shards writing the same database get their turn. */
int crawl_begin_shard(struct crawl *c, struct db *db, const char *url,
		      const struct nix_cache_info *ci, const struct crawl_shard *sh);
#define CRAWL_SHARD_TXN_MS 250

/* 1 when this cache's narinfo for hash is already recorded (so there is
 * no need to read or fetch it again), else 0. */
int crawl_known(struct crawl *c, const char *hash);

/* 1 when the path has an open presence episode in this cache (present at
 * the last crawl that saw it), else 0. */
int crawl_is_open(struct crawl *c, const char *hash);

/* A recorded narinfo is present now.  push_time (or -1) is used only
 * when the path comes back after being gone. 0 or -1.
 *
 * A push time after the crawl's clock (a Last-Modified in the year 9999,
 * a server or a file from the future, a replay with --now) is recorded as
 * the crawl's time, the time the crawl first saw the path: a path is not
 * pushed after it was first seen.  Each is counted (n.clamped) and the
 * first few are named in a warning; here and in crawl_add_narinfo. */
int crawl_seen(struct crawl *c, const char *hash, int64_t push_time);

/* Record a new narinfo (already validated by narinfo_parse) as present,
 * with push_time (or -1 when unknown).  0 or -1. */
int crawl_add_narinfo(struct crawl *c, const struct narinfo *ni, int64_t push_time);

/* As crawl_add_narinfo(), taking *ni (released, now or later). */
int crawl_add_narinfo_take(struct crawl *c, struct narinfo *ni, int64_t push_time);

/* Record a rejected narinfo (source: a file name or URL; hash: the store
 * hash its name gives, or NULL; bytes: what its files occupy in the
 * cache, or -1 when unknown).  Where Nix refuses a narinfo the path is
 * not substitutable, but its files still count as stored bytes.  Prints
 * the first few as errors.  0 or -1 (DB failure). */
int crawl_reject(struct crawl *c, const char *source, const char *hash, unsigned line,
		 const char *msg, int64_t bytes);

/* FileSize values above this are not believed (a refused narinfo's text
 * is not trusted): 1 TiB. */
#define CRAWL_REJECT_FILESIZE_MAX ((int64_t)1 << 40)

/* Scan a refused narinfo's text leniently, for its bytes: the first line
 * starting "URL: " (its value into url unless url is NULL, NUL-terminated;
 * "" when there is none, it holds a NUL or is cap bytes or longer) and the
 * first starting "FileSize: " (*file_size: its decimal value, -1 when
 * there is none or it is not a number up to CRAWL_REJECT_FILESIZE_MAX).
 * A '\r' ending either line is not part of its value. */
void crawl_reject_scan(const char *buf, size_t len, char *url, size_t cap,
		       int64_t *file_size);

/* A narinfo accepted (as Nix accepts it) in a form no Nix writes
 * (ni->odd): a warning naming source, the line and what is odd, for the
 * first few.  A malformed signature is kept: verify calls it
 * malformed-signature. */
void crawl_odd(struct crawl *c, const char *source, const struct narinfo *ni);

/* One path was asked for and the cache said it is not there (the HTTP
 * crawler's 404): when it was present (an open presence episode), close
 * the episode at this crawl's time and count it gone, returning 1.
 * Returns 0 when there was nothing to close (count it with crawl_absent),
 * -1 on a DB failure.  Unlike crawl_finish(mark_gone), it touches only
 * this path, so a crawl that checks some paths can record what it found
 * without taking the unchecked ones for gone. */
int crawl_gone(struct crawl *c, const char *hash);

/* Count an absent / undeterminable path (the HTTP crawler). */
void crawl_absent(struct crawl *c);
void crawl_unknown(struct crawl *c);

/* Commit the pending batch when it is large.  0 or -1. */
int crawl_checkpoint(struct crawl *c);

/* End the crawl with status end (enum crawl_end: 'complete',
 * 'interrupted' or 'failed'); mark_gone, for a complete crawl only:
 * record unseen paths as gone.  0 or -1. */
int crawl_finish(struct crawl *c, int mark_gone, int end);
void crawl_release(struct crawl *c);

/* Walk a file:// cache directory (dir is a local path).  Fills *out with
 * the counts and *crawl_id.  A directory without nix-cache-info is refused
 * (nothing recorded) unless force is set or the DB knows it as a cache
 * already.  Returns 0 when the crawl completed, 1 when it was interrupted
 * (SIGINT; what it found is kept), -1 on failure. */
int crawl_dir(struct db *db, const char *dir, int force, struct crawl_counts *out,
	      int64_t *crawl_id, char **cache_url);

/* As crawl_dir, reading only the narinfos of shard sh (NULL: all). */
int crawl_dir_shard(struct db *db, const char *dir, int force, const struct crawl_shard *sh,
		    struct crawl_counts *out, int64_t *crawl_id, char **cache_url);

/* Set from a SIGINT handler: long loops stop cleanly when it is set. */
extern volatile int crawl_interrupted;

#endif
