/*
 * gen.c - `cachegc gen`'s entry points: the options' defaults and
 * gen_run(), which sizes the world, builds its history, runs its CI and
 * leaves the file:// binary cache, the evaluations, the builds and the
 * signing key as they stand at the chosen moment.
 *
 * The model, in the order gen_run() builds it (each part in its own file,
 * see gen_private.h):
 *  - a package set: fixed hubs (glibc, gcc, python3, ...), CUDA hubs
 *    (cuda_cudart, libcublas, cudnn, nccl, ...), well-known jobs (torch,
 *    blender, ...) and generated packages, each depending on earlier ones,
 *    so index order is a topological order;
 *  - two lines of commits: the unstable line (master; nixos-unstable and
 *    nixpkgs-unstable follow it as lagging channels) and the release line
 *    (nixos-24.05); each commit bumps a few packages, and now and then a
 *    hub (a mass rebuild);
 *  - evaluations on a schedule (branch x capability set x frequency);
 *    each one hashes every package like Nix does (own version, the
 *    capability set when the package is compiled for it, its inputs'
 *    hashes), builds the closure of its jobs and pushes what is new;
 *  - an LRU cache with a size limit, collected at each evaluation.
 * Every random choice is a hash of the seed and what it is about (no
 * stream state), so the history is the same whatever the as-of moment.
 *
 * gen_run() first simulates a small pilot world to learn how many store
 * paths a package yields, then sizes the real one to about the asked
 * number of paths.
 */
#include "gen_private.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PATHS_PER_PKG_GUESS 12.0
#define PILOT_PKGS 2500
#define GC_FRACTION 0.40   /* the cache holds this share of all bytes built */

void gen_options_init(struct gen_options *o)
{
	memset(o, 0, sizeof(*o));
	o->paths = GEN_DEFAULT_PATHS;
	o->seed = 1;
	parse_time(GEN_DEFAULT_START, &o->start);
	o->days = GEN_DEFAULT_DAYS;
	o->as_of = GEN_AS_OF_END;
	o->key_name = GEN_DEFAULT_KEY_NAME;
}

/* Simulate the whole history of a world of npkgs packages, without the
 * cache or files; its store path count and bytes built. */
static void trial(const struct gen_options *opt, uint32_t npkgs, uint64_t *paths,
		  uint64_t *bytes, uint32_t *actual)
{
	struct world w;

	gen_world_init(&w, opt, INT64_MAX);
	w.simulate_only = 1;
	gen_world_build(&w, npkgs);
	gen_simulate(&w, NULL, NULL);
	*paths = w.npaths;
	*bytes = w.total_bytes;
	*actual = w.npkgs;
	gen_world_release(&w);
}

/*
 * Size the world to about opt->paths store paths: a small pilot gives
 * paths per package, then up to PLAN_ROUNDS trials at the estimated size
 * correct it (the ratio drifts with size: fixed hubs weigh less in big
 * worlds).  Sets *npkgs and *limit, the cache's size limit, a share of
 * all the bytes the chosen world builds.  Depends only on the options
 * that shape the history, never on as_of.
 */
#define PLAN_ROUNDS 3
#define PLAN_TOLERANCE 0.03

static void plan_world(const struct gen_options *opt, uint32_t *npkgs, uint64_t *limit)
{
	double want = (double)opt->paths, p;
	uint32_t np = (uint32_t)(want / PATHS_PER_PKG_GUESS), actual;
	uint64_t paths, bytes;
	struct progress pr;

	if (np < gen_min_pkgs())
		np = gen_min_pkgs();
	if (np > PILOT_PKGS)
		np = PILOT_PKGS;
	progress_start(&pr, "sizing the world", PLAN_ROUNDS + 1);
	for (int round = 0;; round++) {
		progress_update(&pr, (uint64_t)round);
		trial(opt, np, &paths, &bytes, &actual);
		p = (double)actual * want / (double)(paths ? paths : 1);
		if (p < gen_min_pkgs())
			p = gen_min_pkgs();
		if (p > 2e9)
			p = 2e9;
		if (round == PLAN_ROUNDS || fabs((double)paths - want) <= PLAN_TOLERANCE * want ||
		    (uint32_t)(p + 0.5) == actual)
			break;
		np = (uint32_t)(p + 0.5);
	}
	progress_finish(&pr);
	*npkgs = actual;
	*limit = (uint64_t)(GC_FRACTION * (double)bytes);
}

static char *params_text(const struct gen_options *o)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "cachegc gen 1\nseed %llu\npaths %llu\nstart %lld\ndays %u\nkey %s\n",
		    (unsigned long long)o->seed, (unsigned long long)o->paths,
		    (long long)o->start, o->days, o->key_name);
	if (o->no_gc)
		strbuf_addstr(&sb, "no-gc\n");
	if (o->daily)
		strbuf_addstr(&sb, "daily\n");
	return strbuf_detach(&sb);
}

static int write_keys(const struct world *w, const char *keydir,
		      const struct gen_options *opt, struct sig_secret_key *key,
		      struct gen_summary *s)
{
	unsigned char seed[SIG_KEY_BYTES];
	struct strbuf sb = STRBUF_INIT, name = STRBUF_INIT;
	char err[SIG_ERR_MAX];
	int rc = -1;

	gen_fill_bytes(h2(w->seed, T_KEY), seed, sizeof(seed));
	if (sig_secret_from_seed(opt->key_name, seed, key, err, sizeof(err))) {
		error("--key-name: %s", err);
		goto out;
	}
	if (strchr(opt->key_name, '/')) {
		error("--key-name: '%s' must not contain '/'", opt->key_name);
		goto out;
	}
	sig_secret_format(key, &sb);
	strbuf_addf(&name, "%s.secret", opt->key_name);
	if (gen_write_file(keydir, name.buf, sb.buf, 0600))
		goto out;
	strbuf_reset(&sb);
	sig_secret_format_public(key, &sb);
	snprintf(s->public_key, sizeof(s->public_key), "%s", sb.buf);
	strbuf_reset(&name);
	strbuf_addf(&name, "%s.public", opt->key_name);
	if (gen_write_file(keydir, name.buf, sb.buf, 0644))
		goto out;
	rc = 0;
out:
	memset(seed, 0, sizeof(seed));
	strbuf_release(&sb);
	strbuf_release(&name);
	return rc;
}

/*
 * The paths the cache holds as of as_of (the caller frees the array), in
 * s->present; their hashes in *present and their NAR files, one entry
 * each, in *nars, both sorted for the keep functions; the byte totals and
 * nar_files in *s.
 */
static uint32_t *present_sets(const struct world *w, struct gen_summary *s,
			      struct hash_set *present, struct nar_set *nars)
{
	uint32_t *plist = NULL;
	size_t np = 0;

	for (size_t d = 0; d < w->ndrvs; d++) {
		const struct drv *x = &w->drvs[d];
		if (x->state != C_IN || x->push > w->as_of)
			continue;
		for (uint32_t k = 0; k < (uint32_t)__builtin_popcount(w->pkgs[x->pkg].outs); k++) {
			GROW(plist, np, s->present + 1);
			plist[s->present++] = x->path0 + k;
		}
	}
	present->v = xmalloc((s->present ? s->present : 1) * sizeof(*present->v));
	nars->v = xmalloc((s->present ? s->present : 1) * sizeof(*nars->v));
	for (size_t i = 0; i < s->present; i++) {
		struct strbuf b = STRBUF_INIT;
		const struct path *pa = &w->paths[plist[i]];
		gen_path_basename(w, plist[i], &b);
		memcpy(present->v[i], b.buf, STORE_HASH_LEN);
		strbuf_release(&b);
		gen_nar_name(w, plist[i], nars->v[i].name);
		nars->v[i].time = w->drvs[pa->drv].push;
		nars->v[i].size = pa->file_size;
		s->present_nar_bytes += pa->nar_size;
	}
	present->n = s->present;
	qsort(present->v, present->n, STORE_HASH_LEN, gen_cmp_hash32);
	qsort(nars->v, s->present, sizeof(*nars->v), gen_cmp_nar_file);
	nars->n = 0;
	for (size_t i = 0; i < s->present; i++) {   /* one entry per NAR file */
		if (nars->n && !strcmp(nars->v[nars->n - 1].name, nars->v[i].name))
			continue;
		nars->v[nars->n++] = nars->v[i];
		s->present_file_bytes += nars->v[i].size;
	}
	return plist;
}

int gen_run(const struct gen_options *opt, struct gen_summary *s)
{
	static const char *const subdirs[] = {"cache", "evals", "keys"};
	static const char *const nar_suffixes[] = {".nar", ".xz", ".zst", ".bz2"};
	struct world w;
	struct outputs o;
	struct sig_secret_key key;
	struct progress pr;
	struct strbuf path = STRBUF_INIT;
	struct hash_set present = {0};
	struct nar_set nars = {0};
	struct name_set evnames = {0};
	uint32_t *plist = NULL, npkgs;
	char *params = NULL, *old_params = NULL;
	size_t old_len;
	uint64_t limit, removed = 0;
	int rc = -1, cache_fd = -1, have_key = 0, reuse;

	memset(s, 0, sizeof(*s));
	memset(&o, 0, sizeof(o));
	memset(&key, 0, sizeof(key));
	gen_world_init(&w, opt, 0);
	if (!opt->dir || !*opt->dir)
		return error("no directory given");
	if (opt->paths < 1 || opt->paths > GEN_MAX_PATHS)
		return error("--paths must be between 1 and %llu", GEN_MAX_PATHS);
	if (opt->days < 1 || opt->days > GEN_MAX_DAYS)
		return error("--days must be between 1 and %u", GEN_MAX_DAYS);

	/* the directories first: a bad DIR should fail before any work */
	if (gen_mkdir_p(opt->dir))
		return -1;
	o.dir = xstrdup(opt->dir);
	for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++) {   /* keys last: path stays */
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/%s", opt->dir, subdirs[i]);
		if (gen_mkdir_p(path.buf))
			goto out;
	}

	plan_world(opt, &npkgs, &limit);
	gen_world_init(&w, opt, 0);
	w.as_of = opt->as_of == GEN_AS_OF_END ? w.end : opt->as_of;
	w.limit = opt->no_gc ? UINT64_MAX : limit;
	gen_world_build(&w, npkgs);
	if (write_keys(&w, path.buf, opt, &key, s))
		goto out;
	have_key = 1;

	/* Files written by the same world may stay; the stamp goes away
	 * while we work, so an interrupted run is never trusted. */
	params = params_text(opt);
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/gen-params", opt->dir);
	if (!read_file_capped(path.buf, 4096, &old_params, &old_len))
		reuse = !strcmp(old_params, params);
	else
		reuse = 0;
	if (unlink(path.buf) && errno != ENOENT) {
		error("cannot remove '%s': %s", path.buf, strerror(errno));
		goto out;
	}

	strbuf_reset(&path);
	strbuf_addf(&path, "%s/evals/manifest.tsv", opt->dir);
	o.manifest = fopen(path.buf, "w");
	if (!o.manifest) {
		error("cannot create '%s': %s", path.buf, strerror(errno));
		goto out;
	}
	progress_start(&pr, "simulating evaluations", w.nevals);
	rc = gen_simulate(&w, &o, &pr);
	progress_finish(&pr);
	if (fclose(o.manifest) && !rc)
		rc = error("cannot write '%s': %s", path.buf, strerror(errno));
	o.manifest = NULL;
	if (rc)
		goto out;
	rc = -1;
	evnames.v = o.eval_files;
	evnames.n = o.neval_files;
	qsort(evnames.v, evnames.n, sizeof(*evnames.v), gen_cmp_strp);
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/evals", opt->dir);
	if (gen_remove_stale(path.buf, ".jsonl", gen_keep_name, &evnames, &removed))
		goto out;
	if (gen_write_builds(&w, opt->dir, &s->builds))
		goto out;

	plist = present_sets(&w, s, &present, &nars);
	nars.keep = opt->nar_stubs;
	s->nar_files = nars.n;

	strbuf_reset(&path);
	strbuf_addf(&path, "%s/cache", opt->dir);
	if (gen_remove_stale(path.buf, ".narinfo", gen_keep_narinfo, &present, &s->narinfos_deleted))
		goto out;
	if (gen_write_file(path.buf, "nix-cache-info",
		       "StoreDir: " STORE_DIR "\nWantMassQuery: 1\nPriority: 40\n", 0644))
		goto out;
	cache_fd = gen_open_dir(path.buf);
	if (cache_fd < 0)
		goto out;
	rc = gen_write_narinfos(&w, &key, cache_fd, plist, s->present, reuse,
				&s->narinfos_written, &s->narinfos_kept);
	if (rc)
		goto out;
	rc = -1;

	strbuf_addstr(&path, "/nar");
	if (opt->nar_stubs && (gen_mkdir_p(path.buf) || gen_write_nar_stubs(path.buf, &nars)))
		goto out;
	for (size_t i = 0; i < ARRAY_SIZE(nar_suffixes); i++)
		if (gen_remove_stale(path.buf, nar_suffixes[i], gen_keep_nar, &nars, &removed))
			goto out;

	if (gen_write_file(opt->dir, "gen-params", params, 0644))
		goto out;

	s->packages = w.npkgs;
	s->drvs = w.ndrvs;
	s->paths = w.npaths;
	for (size_t d = 0; d < w.ndrvs; d++)
		if (w.drvs[d].status != S_OK)
			s->failed_drvs++;
	s->pushes = w.pushes;
	s->evictions = w.evictions;
	s->gc_limit_bytes = w.limit;
	s->evaluations = o.evaluations;
	s->evaluations_total = w.nevals;
	s->jobs = o.jobs;
	s->eval_errors = o.eval_errors;
	s->start = w.start;
	s->end = w.end;
	s->as_of = w.as_of;
	rc = 0;
out:
	if (o.manifest)
		fclose(o.manifest);
	if (cache_fd >= 0)
		close(cache_fd);
	for (size_t i = 0; i < o.neval_files; i++)
		free(o.eval_files[i]);
	free(o.eval_files);
	free(o.dir);
	if (have_key)
		sig_secret_release(&key);
	free(plist);
	free(present.v);
	free(nars.v);
	free(params);
	free(old_params);
	strbuf_release(&path);
	gen_world_release(&w);
	return rc;
}
