/*
 * files.c - the generator's file work: directories, whole files written
 * with a chosen mtime (a narinfo's mtime is its push time), and keeping a
 * directory exact: removing what the world as of the chosen moment does
 * not hold, so runs at several dates on one directory move it in time.
 */
#include "gen_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int gen_mkdir_p(const char *path)
{
	char *p = xstrdup(path);
	int rc = 0;

	for (char *s = p + 1;; s++) {
		if (*s == '/' || !*s) {
			char c = *s;
			*s = '\0';
			if (mkdir(p, 0755) && errno != EEXIST) {
				rc = error("cannot create directory '%s': %s", p, strerror(errno));
				break;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	if (!rc) {
		struct stat st;
		if (stat(path, &st) || !S_ISDIR(st.st_mode))
			rc = error("'%s' is not a directory", path);
		else if (access(path, W_OK))
			rc = error("cannot write into '%s': %s", path, strerror(errno));
	}
	free(p);
	return rc;
}

int gen_open_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		error("cannot open '%s': %s", dir, strerror(errno));
	return fd;
}

/* Write len bytes to dirfd/name (created or truncated) with mtime t
 * (t < 0: leave it).  0 or -1 with errno set. */
int gen_write_at(int dirfd, const char *name, const void *buf, size_t len, int64_t t,
		 mode_t mode)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	const char *p = buf;
	int saved;

	if (fd < 0)
		return -1;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (t >= 0) {
		struct timespec ts[2] = {{(time_t)t, 0}, {(time_t)t, 0}};
		if (futimens(fd, ts))
			goto fail;
	}
	if (close(fd))
		return -1;
	return 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int gen_write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	struct strbuf path = STRBUF_INIT;
	int rc = 0;

	strbuf_addf(&path, "%s/%s", dir, name);
	if (gen_write_at(AT_FDCWD, path.buf, text, strlen(text), -1, mode))
		rc = error("cannot write '%s': %s", path.buf, strerror(errno));
	strbuf_release(&path);
	return rc;
}

/* ---- keeping a directory exact ------------------------------------- */

/*
 * Remove the regular files in dir whose name ends with suffix and that
 * keep() does not want; a missing dir is fine.  Adds to *removed.
 * Returns 0 or -1 (reported).
 */
int gen_remove_stale(const char *dir, const char *suffix, keep_fn keep, const void *ctx,
		     uint64_t *removed)
{
	DIR *d = opendir(dir);
	size_t sl = strlen(suffix);
	struct dirent *de;
	int rc = 0;

	if (!d)
		return errno == ENOENT ? 0 : error("cannot read '%s': %s", dir, strerror(errno));
	while ((errno = 0, de = readdir(d))) {
		size_t nl = strlen(de->d_name);
		struct stat st;

		if (nl < sl || memcmp(de->d_name + nl - sl, suffix, sl) || keep(ctx, de->d_name))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0)) {
			rc = error("cannot remove '%s/%s': %s", dir, de->d_name, strerror(errno));
			break;
		}
		(*removed)++;
	}
	if (!rc && errno)
		rc = error("cannot read '%s': %s", dir, strerror(errno));
	closedir(d);
	return rc;
}

int gen_cmp_hash32(const void *a, const void *b)
{
	return memcmp(a, b, STORE_HASH_LEN);
}

int gen_keep_narinfo(const void *ctx, const char *name)
{
	const struct hash_set *hs = ctx;

	return strlen(name) == STORE_HASH_LEN + 8 &&
	       bsearch(name, hs->v, hs->n, STORE_HASH_LEN, gen_cmp_hash32) != NULL;
}

int gen_cmp_strp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int gen_keep_name(const void *ctx, const char *name)
{
	const struct name_set *ns = ctx;

	return bsearch(&name, ns->v, ns->n, sizeof(*ns->v), gen_cmp_strp) != NULL;
}

int gen_cmp_nar_file(const void *a, const void *b)
{
	const struct nar_file *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->time < y->time ? -1 : x->time > y->time;
}

/* bsearch()'s comparison of a name with a nar_file. */
static int cmp_name_nar(const void *name, const void *elem)
{
	return strcmp(name, ((const struct nar_file *)elem)->name);
}

int gen_keep_nar(const void *ctx, const char *name)
{
	const struct nar_set *ns = ctx;

	return ns->keep && bsearch(name, ns->v, ns->n, sizeof(*ns->v), cmp_name_nar) != NULL;
}

int gen_write_nar_stubs(const char *dir, const struct nar_set *ns)
{
	struct strbuf text = STRBUF_INIT;
	int fd = gen_open_dir(dir), rc = 0;

	if (fd < 0)
		return -1;
	for (size_t i = 0; i < ns->n; i++) {
		struct stat st;
		strbuf_reset(&text);
		strbuf_addf(&text, "cachegc gen placeholder for nar/%s (FileSize %llu)\n",
			    ns->v[i].name, (unsigned long long)ns->v[i].size);
		if (!fstatat(fd, ns->v[i].name, &st, 0) && S_ISREG(st.st_mode) &&
		    (size_t)st.st_size == text.len && st.st_mtim.tv_sec == ns->v[i].time)
			continue;
		if (gen_write_at(fd, ns->v[i].name, text.buf, text.len, ns->v[i].time, 0644)) {
			rc = error("cannot write '%s/%s': %s", dir, ns->v[i].name, strerror(errno));
			break;
		}
	}
	close(fd);
	strbuf_release(&text);
	return rc;
}
