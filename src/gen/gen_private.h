/*
 * gen_private.h - what the files of the sample-world generator share (not
 * a public interface: include/gen/gen.h is that).
 *
 * The generator is split along its seams, in the order gen_run() uses them:
 *   packages.c  the package set (fixed hubs, CUDA hubs, well-known jobs,
 *               generated packages) and its dependency graph
 *   history.c   commits, version bumps and the evaluation schedule
 *   ci.c        every evaluation: hashing, derivations, store paths, builds,
 *               pushes and the size-limited LRU cache; the world's lifetime
 *   names.c     store path names, versions, hashes and NAR file names
 *   jsonl.c     what CI reports: evals/<...>.jsonl, the manifest, builds.jsonl
 *   narinfos.c  narinfo text and the signing writer, on every CPU
 *   files.c     writing files and keeping a directory exact
 *   gen.c       gen_run(): sizing the world, keys, and the whole run
 *
 * Every random choice is a pure function of a key (the hash family below),
 * never of stream state, so the history is the same whatever the as-of
 * moment and whatever order the files do their work in.
 *
 * Uses lib (util.h) and nix (nixhash, sig); no SQLite.
 */
#ifndef CACHEGC_GEN_PRIVATE_H
#define CACHEGC_GEN_PRIVATE_H

#include "gen/gen.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "lib/util.h"
#include "nix/nixhash.h"
#include "nix/sig.h"

#define NONE UINT32_MAX
#define STORE_DIR "/nix/store"
#define SYSTEM "x86_64-linux"
#define HOUR 3600
#define DAY 86400
#define MB (1024.0 * 1024.0)

/* ---- hashing: every random choice is a pure function of its key ---- */

static inline uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static inline uint64_t h2(uint64_t a, uint64_t b)
{
	return mix64(a ^ mix64(b));
}

static inline uint64_t h3(uint64_t a, uint64_t b, uint64_t c)
{
	return h2(h2(a, b), c);
}

static inline uint64_t h4(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	return h2(h3(a, b, c), d);
}

/* Uniform in [0, 1). */
static inline double unit(uint64_t h)
{
	return (double)(h >> 11) * 0x1.0p-53;
}

/* Tags keep the hash families apart. */
enum {
	T_PKG = 1, T_OWN, T_CAPS, T_BUMP, T_COMMIT, T_REV, T_EVAL, T_FAIL,
	T_BUILD, T_OUTPATH, T_DRVPATH, T_NARHASH, T_FILEHASH, T_SIZE, T_COMP,
	T_DERIVER, T_ERR, T_REPUSH, T_KEY, T_CONTENT, T_DEP, T_WORD,
};

/* ---- the model's constants ------------------------------------------ */

enum { O_OUT, O_LIB, O_DEV, NOUTS };
#define OB_OUT (1u << O_OUT)
#define OB_LIB (1u << O_LIB)
#define OB_DEV (1u << O_DEV)

enum kind { K_HUB, K_CUDA_HUB, K_BASE, K_CUDA };

enum {
	PF_CAPS = 1 << 0,      /* compiled for cudaCapabilities: hash has caps */
	PF_JOB = 1 << 1,       /* a top-level job of full evaluations */
	PF_MNB = 1 << 2,       /* in the must-not-break subset */
	PF_CSTABLE = 1 << 3,   /* output bytes do not depend on caps */
	PF_SELFREF = 1 << 4,   /* outputs refer to themselves */
	PF_LEAF = 1 << 5,      /* nothing depends on it */
	PF_PYTHON = 1 << 6,
};

/* Branches (history.c): line 0 is the unstable line, 1 the release line. */
enum { B_MASTER, B_NIXOS_UNSTABLE, B_NIXPKGS_UNSTABLE, B_RELEASE, NBRANCHES };
#define NLINES 2
#define NCAPS 3                /* capability sets */

/* A channel (period > 0) moves every period to the commit of (that time - lag). */
struct branch {
	const char *name;
	int line;
	int64_t lag, period;
};
extern const struct branch gen_branches[];      /* NBRANCHES of them */
extern const char *const gen_caps_sets[];        /* NCAPS: "8.6", "7.5,8.6", ... */
extern const char *const gen_out_names[];        /* NOUTS: "out", "lib", "dev" */

enum { S_OK, S_FAILED, S_DEPFAIL, S_TIMEOUT };   /* build status */
enum { C_NEVER, C_IN, C_OUT };   /* cache state of a derivation */
enum { Z_XZ, Z_ZSTD, Z_BZIP2, Z_ABSENT };        /* compression */

/* ---- the world ------------------------------------------------------ */

struct pkg {
	uint32_t attr, pname, version;   /* offsets into the string pool */
	uint32_t dep_off;
	uint16_t ndeps;
	uint8_t outs, kind;
	uint16_t flags, depth;
	float reach;                     /* ~ packages that need it, itself included */
	float build_min;                 /* minutes to build */
	float ratio;                     /* compressed / NAR size */
	double size;                     /* NarSize of all outputs, bytes */
	uint32_t bump_off[NLINES], nbump[NLINES];
};
#define DEP_RUNTIME 0x80000000u

struct drv {
	uint64_t ident;          /* the derivation's input hash */
	uint64_t content;        /* what its output bytes depend on */
	int64_t built;           /* first build finished (or failed) */
	int64_t push;            /* last pushed */
	uint64_t bytes;          /* FileSize of its outputs */
	uint32_t pkg, path0;     /* path0: first output path, NONE if failed */
	uint32_t prev, next;     /* LRU list */
	uint16_t vcount;         /* version bumps: the name's version */
	uint8_t line, status, state;
};

struct path {
	uint64_t nar_size, file_size;
	uint32_t drv, ref_off;
	uint16_t nref;
	uint8_t out, comp, deriver;      /* deriver: 0 none, 1 .drv, 2 unknown */
};

struct eval {
	int64_t time;
	uint32_t commit;
	uint8_t branch, line, caps, full;
};

struct line {
	int64_t *time;           /* commit times, increasing */
	uint32_t ncommits;
	uint32_t *bumps;         /* per package, sorted commit indices */
	size_t nbumps;
};

struct build {
	int64_t time;
	uint32_t drv;
};

struct world {
	uint64_t seed;
	int64_t start, end, as_of;
	unsigned days;
	int daily;               /* the daily schedule instead of the CI's */
	int simulate_only;       /* pilot: no cache, no files */

	struct strbuf pool;
	struct pkg *pkgs;
	uint32_t npkgs, nhubs, nfixed, gen0;
	uint32_t *deps;
	size_t ndeps, deps_alloc;

	struct line lines[NLINES];
	struct eval *evals;
	size_t nevals;

	struct drv *drvs;
	size_t ndrvs, drvs_alloc;
	struct path *paths;
	size_t npaths, paths_alloc;
	uint32_t *refs;
	size_t nrefs, refs_alloc;
	uint32_t *table;         /* ident -> drv, open addressing */
	size_t table_size;
	struct build *builds;
	size_t nbuilds, builds_alloc;

	/* per-evaluation scratch */
	uint64_t *hash;
	uint32_t *drvidx;
	uint8_t *need;

	/* the cache */
	uint32_t lru_head, lru_tail;
	uint64_t cache_bytes, limit;
	uint64_t pushes, evictions;
	uint64_t total_bytes;    /* FileSize of every derivation ever built */
};

/* A string of the pool (attr, pname, version offsets). */
static inline const char *str(const struct world *w, uint32_t off)
{
	return w->pool.buf + off;
}

/* The package that is input j of pk. */
static inline uint32_t dep_pkg(const struct world *w, const struct pkg *pk, uint32_t j)
{
	return w->deps[pk->dep_off + j] & ~DEP_RUNTIME;
}

/* ---- packages.c ----------------------------------------------------- */

/* Build the package table for about npkgs packages (at least the fixed
 * ones plus a few generated); sets w->nhubs, w->nfixed, w->gen0. */
void gen_build_packages(struct world *w, uint32_t npkgs);
/* The smallest package count gen_build_packages() is asked for. */
uint32_t gen_min_pkgs(void);
/* realnames.c: the i-th real nixpkgs attr for a generated package (CUDA or
 * not, python3Packages or not; without the python3Packages. prefix), or
 * NULL past the end of its list; how many a list holds. */
const char *gen_real_name(int cuda, int python, uint32_t i);
uint32_t gen_real_names(int cuda, int python);
/* The package whose attribute is attr[0..len), or NONE. */
uint32_t gen_find_attr(const struct world *w, const char *attr, size_t len);
/* The next word of the space-separated list at *s (the tables' attribute
 * lists): returns its start and sets *len, moving *s past it; NULL at the
 * end of the list. */
const char *gen_next_word(const char **s, size_t *len);

/* ---- history.c ------------------------------------------------------ */

/* Commits of both lines and each package's bumps (needs the packages). */
void gen_build_lines(struct world *w);
/* The evaluations in time order, into w->evals (needs the lines). */
void gen_build_evals(struct world *w);
/* How many times p was bumped on line li up to and including commit c. */
uint32_t gen_bumps_until(const struct world *w, uint32_t p, int li, uint32_t c);

/* ---- ci.c ----------------------------------------------------------- */

struct outputs;

/* A world of opt's history, shown at as_of; nothing allocated yet. */
void gen_world_init(struct world *w, const struct gen_options *opt, int64_t as_of);
/* Packages, lines and evaluations of about npkgs packages. */
void gen_world_build(struct world *w, uint32_t npkgs);
/* Free everything the world holds and zero it. */
void gen_world_release(struct world *w);
/*
 * Run every evaluation in time order.  Those at or before as_of use the
 * cache (GC, touch, push) and, when o is given, write their files; later
 * ones only create derivations, so the history's totals are known.
 * pr may be NULL.  Returns 0 or -1 (reported).
 */
int gen_simulate(struct world *w, struct outputs *o, struct progress *pr);
/* Whether job p fails to evaluate on line at version count vcount. */
int gen_eval_error(const struct world *w, uint32_t p, int line, uint32_t vcount);

/* ---- names.c -------------------------------------------------------- */

/* Fill n bytes from a key. */
void gen_fill_bytes(uint64_t key, unsigned char *out, size_t n);
/* The STORE_HASH_LEN characters (no NUL) of a store path hash from a key. */
void gen_store_hash(uint64_t key, char out[STORE_HASH_LEN]);
/* Version string of p on line li after vcount bumps, appended to sb. */
void gen_version_of(const struct world *w, uint32_t p, int li, uint32_t vcount,
		    struct strbuf *sb);
/* "<pname>-<version>" of p on line li after vcount bumps, appended to sb. */
void gen_name_of(const struct world *w, uint32_t p, int li, uint32_t vcount, struct strbuf *sb);
/* "<hash>-<name>" of output o of the derivation (ident, p, line, vcount),
 * appended to sb; o < 0 gives the .drv. */
void gen_basename_of(const struct world *w, uint64_t ident, uint32_t p, int li,
		     uint32_t vcount, int o, struct strbuf *sb);
/* The same for derivation x, as it was created. */
void gen_drv_basename(const struct world *w, const struct drv *x, int o, struct strbuf *sb);
/* The basename of store path path, appended to sb. */
void gen_path_basename(const struct world *w, uint32_t path, struct strbuf *sb);
/* "sha256:<52 nix32>" of a key. */
void gen_sha256_of(uint64_t key, char out[60]);
/* The FileHash of a path, as gen_sha256_of() writes it. */
void gen_file_hash(const struct world *w, uint32_t path, char out[60]);
/* The NAR file name of a path: "<filehash nix32>.nar.<ext>". */
void gen_nar_name(const struct world *w, uint32_t path, char out[64]);

/* ---- jsonl.c -------------------------------------------------------- */

/* Where the evaluation files go, and what was written. */
struct outputs {
	char *dir;               /* the world's directory */
	FILE *manifest;
	char **eval_files;       /* names written, for removing stale ones */
	size_t neval_files, eval_files_alloc;
	uint64_t evaluations, jobs, eval_errors;
};

/* Write evals/<branch>-<rev>-<caps>.jsonl for evaluation ev (hashes in
 * w->hash) and its manifest line.  0 or -1 (reported). */
int gen_write_eval(struct world *w, struct outputs *o, const struct eval *ev);
/* Write dir/builds.jsonl, the builds finished by as_of (sorts w->builds);
 * adds the lines to *count.  0 or -1 (reported). */
int gen_write_builds(struct world *w, const char *dir, uint64_t *count);

/* ---- narinfos.c ----------------------------------------------------- */

/*
 * Write the narinfos of paths[0..n) into dirfd (cache/), signed with key,
 * on every CPU, showing progress; with reuse, files of the right size and
 * mtime stay.  Sets *written and *kept (also on failure).  0 or -1
 * (reported).
 */
int gen_write_narinfos(const struct world *w, const struct sig_secret_key *key, int dirfd,
		       const uint32_t *paths, size_t n, int reuse, uint64_t *written,
		       uint64_t *kept);

/* ---- files.c -------------------------------------------------------- */

/* Create path and its parents; it must end up a writable directory.
 * 0 or -1 (reported). */
int gen_mkdir_p(const char *path);
/* A descriptor of directory dir, or -1 (reported). */
int gen_open_dir(const char *dir);
/* Write len bytes to dirfd/name (created or truncated) with mtime t
 * (t < 0: leave it).  0 or -1 with errno set. */
int gen_write_at(int dirfd, const char *name, const void *buf, size_t len, int64_t t,
		 mode_t mode);
/* Write text to dir/name.  0 or -1 (reported). */
int gen_write_file(const char *dir, const char *name, const char *text, mode_t mode);

typedef int (*keep_fn)(const void *ctx, const char *name);
/*
 * Remove the regular files in dir whose name ends with suffix and that
 * keep() does not want; a missing dir is fine.  Adds to *removed.
 * Returns 0 or -1 (reported).
 */
int gen_remove_stale(const char *dir, const char *suffix, keep_fn keep, const void *ctx,
		     uint64_t *removed);

/* Store path hashes, sorted with gen_cmp_hash32: keep_narinfo's ctx. */
struct hash_set {
	char (*v)[STORE_HASH_LEN];
	size_t n;
};
int gen_cmp_hash32(const void *a, const void *b);
int gen_keep_narinfo(const void *ctx, const char *name);

/* Names, sorted with gen_cmp_strp: keep_name's ctx. */
struct name_set {
	char **v;
	size_t n;
};
int gen_cmp_strp(const void *a, const void *b);
int gen_keep_name(const void *ctx, const char *name);

struct nar_file {
	char name[64];
	int64_t time;            /* the first push of a path using it */
	uint64_t size;           /* its FileSize */
};

/* NAR files, sorted with gen_cmp_nar_file: keep_nar's ctx. */
struct nar_set {
	struct nar_file *v;
	size_t n;
	int keep;                /* 0: --nar-stubs not given, keep none */
};
int gen_cmp_nar_file(const void *a, const void *b);
int gen_keep_nar(const void *ctx, const char *name);
/* A placeholder in dir for every NAR of ns.  0 or -1 (reported). */
int gen_write_nar_stubs(const char *dir, const struct nar_set *ns);

#endif
