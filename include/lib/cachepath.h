/*
 * cachepath.h - names inside a binary cache directory (a narinfo's URL):
 * checking one, and opening its directory without leaving the cache.
 */
#ifndef CACHEGC_CACHEPATH_H
#define CACHEGC_CACHEPATH_H

#include <stddef.h>

/*
 * Check a URL's path: a relative name inside the cache directory that
 * every reader takes to the same file.  Refuses empty names, absolute
 * paths, URLs with a scheme, empty, "." and ".." components, control
 * characters, percent-escapes, queries and fragments.  Returns 0, or -1
 * with a reason (static text) in *why.
 */
int cache_url_check(const char *url, size_t len, const char **why);

/*
 * Open the directory that holds url's last component, walking from dfd
 * one component at a time without following symbolic links.  url has
 * passed cache_url_check() and is NUL-terminated.  Returns a new fd (the
 * caller closes it) and *base, or -1 with errno (ELOOP or ENOTDIR: a
 * component is a symbolic link or not a directory; ENOENT: missing).
 */
int cache_open_parent(int dfd, const char *url, const char **base);

#endif
