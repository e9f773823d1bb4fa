/*
 * evict_private.h - what the files of src/analysis/evict/ share and no one
 * else uses: the small tables (maps.c) and the applier's state, which
 * apply_scan.c fills and apply.c acts on.  The public interface is
 * include/analysis/evict.h.
 */
#ifndef CACHEGC_EVICT_PRIVATE_H
#define CACHEGC_EVICT_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/evict.h"

/* ---- small tables (maps.c) ---------------------------------------------- */

/* Strings to an int64, open addressing; keys are copied. */
struct strmap_ent {
	char *key;
	size_t len;
	uint64_t hash;
	int64_t val;
};
struct strmap {
	struct strmap_ent *v;
	size_t n, cap;
};

/* The entry for key[0..len), created with val 0 when create is set;
 * NULL when absent and !create.  May reallocate the table. */
struct strmap_ent *strmap_get(struct strmap *m, const char *key, size_t len, int create);
/* Frees every key and the table; m is empty after. */
void strmap_release(struct strmap *m);

/* A set of files by (device, inode). */
struct inoset {
	uint64_t *v;           /* pairs; dev ino, ino 0 = free */
	size_t n, cap;
};

/* Looks (dev, ino) up, adding it when add is set: 1 when it is (now) in
 * the set, 0 when not.  Free with free(s->v). */
int inoset_op(struct inoset *s, uint64_t dev, uint64_t ino, int add);

/* path id -> index, by binary search over (id, index) pairs. */
struct idmap {
	uint64_t *v;           /* id << 32 | index, sorted */
	size_t n;
};

/* Builds m over plan's path ids; free with free(m->v). */
void idmap_build(struct idmap *m, const struct evict_plan *plan);
/* The plan index of path id, or -1. */
int64_t idmap_find(const struct idmap *m, uint64_t id);

/* ---- the applier (apply.c, apply_scan.c) ---------------------------------- */

struct apply_path {
	int present;           /* its narinfo file is there */
	int ls_present;        /* <hash>.ls is there */
	int refused;           /* leave all its files alone */
	int held;              /* a kept narinfo needs it */
	int nar_ok;            /* url passed the checks */
	char *url;             /* the NAR URL to consider (Nix's reading) */
	char *nar;             /* the NAR file it may take with it
	                          (evict_nar_name()), or NULL */
	char *why;             /* refused / held: the reason */
	struct url_val *urls;  /* every URL value of every reading of its
	                          narinfo, protected when the path stays */
	size_t nurls, aurls;
	int64_t narinfo_bytes, ls_bytes;
	uint32_t *refs;        /* planned indices it references */
	size_t nrefs, arefs;
};

struct url_val {
	char *s;               /* may hold NUL */
	size_t n;
};

struct applier {
	struct db *db;
	const struct evict_apply_opts *o;
	struct evict_apply_result *r;
	struct evict_plan plan;
	struct apply_path *ap;
	struct strmap planned;     /* hash -> plan index */
	struct strmap kept_urls;   /* NAR URLs of kept narinfos (normalized) */
	struct strmap pending;     /* NAR URL -> planned narinfos still there */
	struct strmap intents;     /* objects journaled 'intent' by a killed run */
	struct inoset kept_inodes; /* NAR files of kept narinfos */
	struct idmap ids;
	int dfd;
	int64_t now;
	/* the narinfo being scanned */
	int64_t scan_index;        /* planned index, or -1 for a kept one */
	const char *scan_name;
	size_t scan_urls;          /* URL values it gave, under any reading */
	/* set when a narinfo in the directory cannot be read with certainty:
	 * what it names and references is unknown, so nothing is deleted */
	char *uncertain;
};

/* Reads every narinfo of the directory (dir names it in messages):
 * 0 done, 1 interrupted, -1 error (reported). */
int apply_scan_dir(struct applier *a, const char *dir);
/* Protects every file a URL value of a narinfo that stays may name. */
void apply_protect_value(struct applier *a, const char *val, size_t n);
/* Checks planned path i's files before anything is deleted. */
void apply_precheck(struct applier *a, size_t i);
/* Holds everything a refused or held path references. */
void apply_propagate_held(struct applier *a);
/* Opens the directory holding url's last component without following
 * symbolic links: a new fd (the caller closes it) and *base, or -1 with
 * errno. */
int apply_open_parent(int dfd, const char *url, const char **base);

#endif
