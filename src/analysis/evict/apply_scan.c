/*
 * apply_scan.c - what evict_apply() reads before it deletes anything:
 * every narinfo of the cache directory (a planned one for its URL and
 * references, a kept one for every NAR any reading of it names), the
 * checks of each planned path's files, and holding what a path that stays
 * references.  Deletes nothing; apply.c does.  Internals in
 * evict_private.h.
 */
#include "evict_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nix/narinfo.h"
#include "nix/nixhash.h"
#include "lib/cachepath.h"
#include "lib/util.h"

static void scan_ref(void *ctx, const char *hash)
{
	struct applier *a = ctx;
	struct strmap_ent *e;

	if (!store_hash_valid(hash, STORE_HASH_LEN) ||
	    !(e = strmap_get(&a->planned, hash, STORE_HASH_LEN, 0)))
		return;
	if (a->scan_index < 0) {
		struct apply_path *t = &a->ap[e->val];
		if (!t->held) {
			struct strbuf sb = STRBUF_INIT;
			t->held = 1;
			strbuf_addf(&sb, "referenced by '%s', which is not in the plan", a->scan_name);
			t->why = strbuf_detach(&sb);
		}
	} else if (e->val != a->scan_index) {
		struct apply_path *s = &a->ap[a->scan_index];
		GROW(s->refs, s->arefs, s->nrefs + 1);
		s->refs[s->nrefs++] = (uint32_t)e->val;
	}
}

/* One name a reading of a narinfo that stays gives: that file (by name,
 * and by the file it ends at, so a hard or symbolic link to a planned NAR
 * counts) is never deleted. */
static void protect_name(void *ctx, int kind, const char *name, size_t len)
{
	struct applier *a = ctx;
	struct stat st;

	/* Following symbolic links is right here: only a stat, and what
	 * matters is the file the name ends at. */
	if (kind == EVICT_READ_ABSOLUTE) {
		if (stat(name, &st) == 0 && S_ISREG(st.st_mode))
			inoset_op(&a->kept_inodes, (uint64_t)st.st_dev, (uint64_t)st.st_ino, 1);
		return;
	}
	strmap_get(&a->kept_urls, name, len, 1);
	if (fstatat(a->dfd, name, &st, 0) == 0 && S_ISREG(st.st_mode))
		inoset_op(&a->kept_inodes, (uint64_t)st.st_dev, (uint64_t)st.st_ino, 1);
}

/* Protect every file a URL value of a narinfo that stays may name. */
void apply_protect_value(struct applier *a, const char *val, size_t n)
{
	evict_url_readings(val, n, protect_name, a);
}

/* evict_narinfo_scan()'s URL callback: a kept narinfo's values are
 * protected at once, a planned one's remembered (protected if it stays). */
static void scan_url(void *ctx, const char *val, size_t n)
{
	struct applier *a = ctx;
	struct apply_path *t;

	a->scan_urls++;
	if (a->scan_index < 0) {
		apply_protect_value(a, val, n);
		return;
	}
	t = &a->ap[a->scan_index];
	GROW(t->urls, t->aurls, t->nurls + 1);
	t->urls[t->nurls].s = xmalloc(n + 1);
	memcpy(t->urls[t->nurls].s, val, n);
	t->urls[t->nurls].s[n] = '\0';
	t->urls[t->nurls].n = n;
	t->nurls++;
}

static void set_refused(struct apply_path *t, const char *fmt, const char *arg)
{
	struct strbuf sb = STRBUF_INIT;

	if (t->refused)
		return;
	t->refused = 1;
	strbuf_addf(&sb, fmt, arg);
	free(t->why);
	t->why = strbuf_detach(&sb);
}

/*
 * The names the scan reads: "<hash>.narinfo", and the temporary files
 * Nix's file:// store writes a narinfo to before renaming it
 * ("<hash>.narinfo.tmp.<pid>.<n>"): a push under way.  Returns 1 for an
 * exact narinfo name, 2 for a temporary one, 0 otherwise.
 */
static int narinfo_name_kind(const char *name)
{
	size_t len = strlen(name);

	if (len < STORE_HASH_LEN + 8 || memcmp(name + STORE_HASH_LEN, ".narinfo", 8) ||
	    !store_hash_valid(name, STORE_HASH_LEN))
		return 0;
	if (len == STORE_HASH_LEN + 8)
		return 1;
	return name[STORE_HASH_LEN + 8] == '.' ? 2 : 0;
}

/* A narinfo the scan cannot read with certainty: nothing is deleted in
 * this run (the first reason is kept for the report). */
static void set_uncertain(struct applier *a, const char *dir, const char *name,
			  const char *what)
{
	struct strbuf sb = STRBUF_INIT;

	warning("cannot read '%s/%s' with certainty (%s): nothing is deleted in this run; "
		"fix or remove it (or let the push writing it finish), then run evict again",
		dir, name, what);
	if (a->uncertain)
		return;
	strbuf_addf(&sb, "'%s' cannot be read with certainty (%s): nothing is deleted "
		    "while it may name a planned NAR or reference a planned path", name, what);
	a->uncertain = strbuf_detach(&sb);
}

/* A planned narinfo's URL: the one Nix takes, when every reading agrees
 * on it; else the path stays whole. */
static void planned_url(struct apply_path *t, const char *name, const struct evict_scan *s)
{
	const char *why = NULL;

	free(t->url);
	t->url = NULL;
	if (s->nix_refuses)
		why = nix_lex_strerror(s->nix_refuses);
	else if (!s->url && !t->nurls)
		why = "it has no URL line";
	else if (!s->url)
		why = "Nix reads no URL entry in it, a lenient reader does";
	else if (memchr(s->url, '\0', s->url_len))
		why = "its URL holds a NUL byte";
	for (size_t k = 0; !why && k < t->nurls; k++)
		if (t->urls[k].n != s->url_len || memcmp(t->urls[k].s, s->url, s->url_len))
			why = "it names its NAR in more than one way (several URL lines, or "
			      "a reading other than Nix's sees another URL)";
	if (s->url && !memchr(s->url, '\0', s->url_len))
		t->url = xstrndup(s->url, s->url_len);
	if (why) {
		if (s->nix_refuses) {
			struct strbuf sb = STRBUF_INIT;
			strbuf_addf(&sb, "Nix cannot read '%s' (%s at line %u); the path is left whole",
				    name, why, s->refused_line);
			set_refused(t, "%s", sb.buf);
			strbuf_release(&sb);
		} else {
			struct strbuf sb = STRBUF_INIT;
			strbuf_addf(&sb, "'%s': %s; the path is left whole", name, why);
			set_refused(t, "%s", sb.buf);
			strbuf_release(&sb);
		}
	}
}

/* Read every narinfo of the directory: planned ones for their URL and
 * references, kept ones (and narinfos being pushed) for every NAR any
 * reading of them names and the planned paths they reference. */
int apply_scan_dir(struct applier *a, const char *dir)
{
	struct progress prog;
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, alloc = 0, i;
	int fd, ret = -1;

	if ((fd = fcntl(a->dfd, F_DUPFD_CLOEXEC, 0)) < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return error("cannot list '%s': %s", dir, strerror(errno));
	}
	errno = 0;
	while ((de = readdir(d))) {
		if (!narinfo_name_kind(de->d_name))
			continue;
		GROW(names, alloc, n + 1);
		names[n++] = xstrdup(de->d_name);
		errno = 0;
	}
	if (errno) {
		error("cannot list '%s': %s", dir, strerror(errno));
		closedir(d);
		goto out;
	}
	closedir(d);
	progress_start(&prog, "scan", n);
	for (i = 0; i < n && !evict_interrupted; i++) {
		struct strmap_ent *e = narinfo_name_kind(names[i]) == 1
			? strmap_get(&a->planned, names[i], STORE_HASH_LEN, 0) : NULL;
		struct apply_path *t = e ? &a->ap[e->val] : NULL;
		struct evict_scan s;
		struct stat st, lst;
		char *buf;
		size_t len;
		int rfd, rc, err;

		progress_update(&prog, i + 1);
		a->r->scanned++;
		/* Read through a symbolic link (Nix and a web server do); a
		 * planned one is then refused, as it is not a file to delete. */
		rfd = openat(a->dfd, names[i], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (rfd < 0 && errno == ENOENT && fstatat(a->dfd, names[i], &lst, AT_SYMLINK_NOFOLLOW))
			continue;  /* gone since the listing */
		rc = rfd < 0 ? -1 : read_fd_capped(rfd, EVICT_SCAN_MAX_BYTES, &buf, &len, &st);
		err = errno;
		if (rfd >= 0)
			close(rfd);
		if (t) {
			t->present = 1;
			if (fstatat(a->dfd, names[i], &lst, AT_SYMLINK_NOFOLLOW) || !S_ISREG(lst.st_mode))
				set_refused(t, "'%s' is a symbolic link or not a regular file", names[i]);
		}
		if (rc) {
			struct strbuf sb = STRBUF_INIT;
			if (err == EFBIG)
				strbuf_addf(&sb, "larger than the %u MiB the scan reads",
					    (unsigned)(EVICT_SCAN_MAX_BYTES >> 20));
			else
				strbuf_addf(&sb, "%s", strerror(err));
			set_uncertain(a, dir, names[i], sb.buf);
			if (t)
				set_refused(t, "'%s' cannot be read; the path is left whole", names[i]);
			strbuf_release(&sb);
			continue;
		}
		a->scan_index = t ? e->val : -1;
		a->scan_name = names[i];
		a->scan_urls = 0;
		evict_narinfo_scan(buf, len, &s, scan_url, scan_ref, a);
		if (s.incomplete) {
			struct strbuf sb = STRBUF_INIT;
			strbuf_addf(&sb, "cut short or not a narinfo: Nix stops at line %u, %s",
				    s.refused_line, nix_lex_strerror(s.nix_refuses));
			set_uncertain(a, dir, names[i], sb.buf);
			strbuf_release(&sb);
		} else if (!t && !a->scan_urls) {
			/* A kept narinfo without a URL names no NAR Nix could
			 * fetch, but an empty or URL-less file may be one being
			 * written by a pusher that does not rename into place. */
			set_uncertain(a, dir, names[i], len ? "it has no URL line" : "it is empty");
		} else if (s.nix_refuses && !t) {
			warning("Nix cannot read '%s/%s' (%s at line %u); every NAR it may name "
				"stays", dir, names[i], nix_lex_strerror(s.nix_refuses),
				s.refused_line);
		}
		if (t) {
			t->narinfo_bytes = (int64_t)st.st_size;
			planned_url(t, names[i], &s);
			if (s.incomplete)
				set_refused(t, "'%s' is cut short or not a narinfo; the path is left "
					    "whole", names[i]);
		}
		free(buf);
	}
	progress_finish(&prog);
	ret = evict_interrupted ? 1 : 0;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return ret;
}

/* See evict_private.h (lib/cachepath.h's cache_open_parent). */
int apply_open_parent(int dfd, const char *url, const char **base)
{
	return cache_open_parent(dfd, url, base);
}

/* Say why a path's NAR is left alone (the first reason given stays). */
static void set_why(struct apply_path *t, const char *why)
{
	if (!t->why)
		t->why = xstrdup(why);
}

/* Check one planned path's files before anything is deleted.  A present
 * path with anything unsafe is refused whole (its narinfo, .ls and the
 * file its URL names all stay); for one whose narinfo is gone already
 * only its NAR is left alone (nar_ok stays 0). */
void apply_precheck(struct applier *a, size_t i)
{
	struct apply_path *t = &a->ap[i];
	const char *base, *why;
	char name[STORE_HASH_LEN + 4];
	struct stat st;
	int pfd;

	if (!t->url && !t->present)  /* narinfo gone and nothing journaled */
		t->url = xstrdup(a->plan.paths[i].url);
	memcpy(name, a->plan.paths[i].base, STORE_HASH_LEN);
	memcpy(name + STORE_HASH_LEN, ".ls", 4);
	if (fstatat(a->dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISREG(st.st_mode)) {
			t->ls_present = 1;
			t->ls_bytes = (int64_t)st.st_size;
		} else if (t->present) {
			set_refused(t, "'%s' is not a regular file", name);
		}
	}
	if (!t->url)  /* present, refused by the scan */
		return;
	/* A NAR is the only file a narinfo's URL may take with it. */
	if (evict_nar_name(t->url, strlen(t->url), &t->nar, &why)) {
		struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "NAR URL '%s'%s%s", t->url,
			    strncmp(why, "names ", 6) ? ": " : " ", why);
		if (t->present) {
			strbuf_addstr(&sb, "; the path is left whole");
			set_refused(t, "%s", sb.buf);
		} else {
			set_why(t, sb.buf);
		}
		strbuf_release(&sb);
		return;
	}
	pfd = apply_open_parent(a->dfd, t->nar, &base);
	if (pfd < 0) {
		if (errno == ENOENT)
			t->nar_ok = 1;
		else if (t->present)
			set_refused(t, "a directory on the way to NAR '%s' is a symbolic link or "
				    "not a directory", t->nar);
		else
			set_why(t, "a directory on the way to the NAR is a symbolic link or "
				"not a directory");
		return;
	}
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode)) {
		if (t->present)
			set_refused(t, "NAR '%s' is a symbolic link or not a regular file", t->nar);
		else
			set_why(t, "the NAR is a symbolic link or not a regular file");
	} else {
		t->nar_ok = 1;
	}
	close(pfd);
}

/* A refused or held path stays, and so must all it references. */
void apply_propagate_held(struct applier *a)
{
	uint32_t *stack = xmalloc((a->plan.n ? a->plan.n : 1) * sizeof(*stack));
	uint8_t *seen = xcalloc(a->plan.n ? a->plan.n : 1, 1);

	for (size_t i = 0; i < a->plan.n; i++) {
		size_t sp = 0;
		if (!a->ap[i].present || !(a->ap[i].held || a->ap[i].refused) || seen[i])
			continue;
		seen[i] = 1;
		stack[sp++] = (uint32_t)i;
		while (sp) {
			uint32_t v = stack[--sp];
			for (size_t k = 0; k < a->ap[v].nrefs; k++) {
				uint32_t w = a->ap[v].refs[k];
				struct apply_path *t = &a->ap[w];
				if (seen[w])
					continue;
				seen[w] = 1;
				stack[sp++] = w;
				if (!t->held && !t->refused) {
					struct strbuf sb = STRBUF_INIT;
					t->held = 1;
					strbuf_addf(&sb, "referenced by '%s', which stays",
						    a->plan.paths[v].base);
					free(t->why);
					t->why = strbuf_detach(&sb);
				}
			}
		}
	}
	free(stack);
	free(seen);
}
