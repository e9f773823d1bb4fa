/*
 * narinfos.c - the sample cache's narinfos: their text as Nix writes it
 * (StorePath, URL, Compression, FileHash, FileSize, NarHash, NarSize,
 * sorted References, Deriver) and a Sig line over Nix's fingerprint,
 * written by one thread per CPU, since signing is most of the cost.  A
 * re-run of the same world leaves files with the right size and mtime.
 */
#include "gen_private.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const comp_names[] = {"xz", "zstd", "bzip2", NULL};

/* The writer's shared state: its threads take chunks of paths. */
struct writer {
	const struct world *w;
	const struct sig_secret_key *key;
	int dirfd;
	const uint32_t *paths;   /* present paths */
	size_t n;
	int reuse;               /* files with the right size and mtime stay */
	atomic_size_t next;
	atomic_size_t written, kept;
	atomic_int failed;
	pthread_mutex_t lock;
	char errmsg[512];
};

/* Buffers format_narinfo() reuses from one narinfo to the next. */
struct fmt_scratch {
	struct strbuf names;     /* reference basenames, NUL-separated */
	struct strbuf store_path;
	size_t *offs;            /* where each name starts in names */
	const char **refv;       /* the names, sorted */
	size_t alloc;
};

static void fmt_scratch_release(struct fmt_scratch *fs)
{
	strbuf_release(&fs->names);
	strbuf_release(&fs->store_path);
	free(fs->offs);
	free(fs->refv);
	memset(fs, 0, sizeof(*fs));
}

/*
 * Format the narinfo of path into sb, without its Sig line, and the
 * fingerprint Nix signs into fp.  Returns 0 or -1 (err filled).
 */
static int format_narinfo(const struct world *w, uint32_t path, struct strbuf *sb,
			  struct strbuf *fp, struct fmt_scratch *fs, char *err, size_t errsz)
{
	const struct path *pa = &w->paths[path];
	const struct drv *x = &w->drvs[pa->drv];
	char narhash[60], filehash[60], nar[64];
	size_t base_at;

	strbuf_reset(sb);
	strbuf_reset(fp);
	strbuf_reset(&fs->names);
	strbuf_reset(&fs->store_path);
	strbuf_addstr(sb, "StorePath: ");
	base_at = sb->len;
	strbuf_addstr(sb, STORE_DIR "/");
	gen_path_basename(w, path, sb);
	strbuf_add(&fs->store_path, sb->buf + base_at, sb->len - base_at);
	gen_nar_name(w, path, nar);
	strbuf_addf(sb, "\nURL: nar/%s\n", nar);
	gen_file_hash(w, path, filehash);
	gen_sha256_of(h3(x->content, pa->out, T_NARHASH), narhash);
	if (pa->comp != Z_ABSENT)
		strbuf_addf(sb, "Compression: %s\nFileHash: %s\nFileSize: %llu\n",
			    comp_names[pa->comp], filehash, (unsigned long long)pa->file_size);
	strbuf_addf(sb, "NarHash: %s\nNarSize: %llu\nReferences:", narhash,
		    (unsigned long long)pa->nar_size);

	GROW(fs->offs, fs->alloc, (size_t)pa->nref + 1);
	fs->refv = xrealloc(fs->refv, fs->alloc * sizeof(*fs->refv));
	for (uint32_t i = 0; i < pa->nref; i++) {
		fs->offs[i] = fs->names.len;
		gen_path_basename(w, w->refs[pa->ref_off + i], &fs->names);
		strbuf_addch(&fs->names, '\0');
	}
	for (uint32_t i = 0; i < pa->nref; i++)
		fs->refv[i] = fs->names.buf + fs->offs[i];
	/* Nix lists references sorted */
	qsort(fs->refv, pa->nref, sizeof(*fs->refv), gen_cmp_strp);
	for (uint32_t i = 0; i < pa->nref; i++) {
		strbuf_addch(sb, ' ');
		strbuf_addstr(sb, fs->refv[i]);
	}
	/* Nix writes "References: " with the space even when empty */
	if (!pa->nref)
		strbuf_addch(sb, ' ');
	strbuf_addch(sb, '\n');
	if (pa->deriver == 1) {
		strbuf_addstr(sb, "Deriver: ");
		gen_drv_basename(w, x, -1, sb);
		strbuf_addch(sb, '\n');
	} else if (pa->deriver == 2) {
		strbuf_addstr(sb, "Deriver: unknown-deriver\n");
	}
	return sig_fingerprint(fp, STORE_DIR, fs->store_path.buf, narhash, pa->nar_size,
			       fs->refv, pa->nref, err, errsz);
}

/* ---- narinfos, in parallel: signing is most of the cost ------------ */

static void writer_fail(struct writer *wr, const char *fmt, ...) ATTR_PRINTF(2, 3);

static void writer_fail(struct writer *wr, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&wr->lock);
	if (!atomic_load(&wr->failed)) {
		va_start(ap, fmt);
		vsnprintf(wr->errmsg, sizeof(wr->errmsg), fmt, ap);
		va_end(ap);
		atomic_store(&wr->failed, 1);
	}
	pthread_mutex_unlock(&wr->lock);
}

#define WRITE_CHUNK 64

/* Take chunks of paths until none is left; pr (the calling thread's
 * only) shows how far all threads are. */
static void writer_loop(struct writer *wr, struct progress *pr)
{
	const struct world *w = wr->w;
	struct strbuf sb = STRBUF_INIT, fp = STRBUF_INIT;
	struct fmt_scratch fs = {STRBUF_INIT, STRBUF_INIT, NULL, NULL, 0};
	size_t keylen = strlen(wr->key->name);
	char err[SIG_ERR_MAX], name[STORE_HASH_LEN + 9];

	while (!atomic_load(&wr->failed)) {
		size_t i = atomic_fetch_add(&wr->next, WRITE_CHUNK), end = i + WRITE_CHUNK;
		if (i >= wr->n)
			break;
		if (end > wr->n)
			end = wr->n;
		for (; i < end && !atomic_load(&wr->failed); i++) {
			uint32_t path = wr->paths[i];
			int64_t t = w->drvs[w->paths[path].drv].push;
			struct stat st;
			size_t want;

			if (format_narinfo(w, path, &sb, &fp, &fs, err, sizeof(err))) {
				writer_fail(wr, "internal error: %s", err);
				break;
			}
			memcpy(name, sb.buf + strlen("StorePath: " STORE_DIR "/"), STORE_HASH_LEN);
			memcpy(name + STORE_HASH_LEN, ".narinfo", 9);
			want = sb.len + strlen("Sig: ") + keylen + 1 + SIG_B64_LEN + 1;
			if (wr->reuse && !fstatat(wr->dirfd, name, &st, 0) && S_ISREG(st.st_mode) &&
			    (size_t)st.st_size == want && st.st_mtim.tv_sec == t &&
			    st.st_mtim.tv_nsec == 0) {
				atomic_fetch_add(&wr->kept, 1);
				continue;
			}
			strbuf_addstr(&sb, "Sig: ");
			if (sig_sign(wr->key, fp.buf, fp.len, &sb)) {
				writer_fail(wr, "cannot sign '%s'", name);
				break;
			}
			strbuf_addch(&sb, '\n');
			if (gen_write_at(wr->dirfd, name, sb.buf, sb.len, t, 0644)) {
				writer_fail(wr, "cannot write 'cache/%s': %s", name, strerror(errno));
				break;
			}
			atomic_fetch_add(&wr->written, 1);
		}
		if (pr)
			progress_update(pr, atomic_load(&wr->written) + atomic_load(&wr->kept));
	}
	fmt_scratch_release(&fs);
	strbuf_release(&sb);
	strbuf_release(&fp);
}

static void *writer_thread(void *arg)
{
	writer_loop(arg, NULL);
	return NULL;
}

/* Write the narinfos of wr->paths, on every CPU.  0 or -1 (reported). */
static int run_writers(struct writer *wr, struct progress *pr)
{
	pthread_t th[7];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int nth = ncpu > 1 ? (int)(ncpu > 8 ? 8 : ncpu) - 1 : 0, started = 0;

	/* nixhash builds its decoding table on first use: build it now,
	 * before threads share it. */
	(void)store_hash_valid("00000000000000000000000000000000", STORE_HASH_LEN);
	if (wr->n < 256)
		nth = 0;
	for (int i = 0; i < nth; i++) {
		if (pthread_create(&th[i], NULL, writer_thread, wr))
			break;
		started++;
	}
	writer_loop(wr, pr);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (atomic_load(&wr->failed))
		return error("%s", wr->errmsg);
	return 0;
}

int gen_write_narinfos(const struct world *w, const struct sig_secret_key *key, int dirfd,
		       const uint32_t *paths, size_t n, int reuse, uint64_t *written,
		       uint64_t *kept)
{
	struct writer wr;
	struct progress pr;
	int rc;

	wr.w = w;
	wr.key = key;
	wr.dirfd = dirfd;
	wr.paths = paths;
	wr.n = n;
	wr.reuse = reuse;
	atomic_init(&wr.next, 0);
	atomic_init(&wr.written, 0);
	atomic_init(&wr.kept, 0);
	atomic_init(&wr.failed, 0);
	pthread_mutex_init(&wr.lock, NULL);
	wr.errmsg[0] = '\0';
	progress_start(&pr, "writing narinfos", wr.n);
	rc = run_writers(&wr, &pr);
	progress_finish(&pr);
	pthread_mutex_destroy(&wr.lock);
	*written = atomic_load(&wr.written);
	*kept = atomic_load(&wr.kept);
	return rc;
}
