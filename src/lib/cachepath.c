/*
 * cachepath.c - names inside a cache directory that every reader takes to
 * the same file, and opening them without leaving the directory
 * (lib/cachepath.h).  Used by eviction and by the crawl.
 */
#include "lib/cachepath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

int cache_url_check(const char *url, size_t len, const char **why)
{
	size_t i, start = 0;

	if (!len) {
		*why = "empty URL";
		return -1;
	}
	if (len > 4096) {
		*why = "URL too long";
		return -1;
	}
	if (url[0] == '/') {
		*why = "absolute path, outside the cache directory";
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)url[i];
		if (c < 0x20 || c == 0x7f) {
			*why = "control character in URL";
			return -1;
		}
		/* Each of these makes a web server and file:// Nix read the
		 * URL as two different files. */
		if (c == '%') {
			*why = "percent-escape in URL (a web server decodes it, file:// Nix "
			       "does not: two different files)";
			return -1;
		}
		if (c == '?') {
			*why = "query string in URL (a web server drops it, file:// Nix does not; "
			       "only harmonia's ?hash=<store hash> is understood)";
			return -1;
		}
		if (c == '#') {
			*why = "fragment in URL (an HTTP client drops it, file:// Nix does not)";
			return -1;
		}
	}
	for (i = 0; i <= len; i++) {
		size_t n;
		if (i < len && url[i] != '/')
			continue;
		n = i - start;
		if (n == 0) {
			*why = "empty path component";
			return -1;
		}
		if (n == 1 && url[start] == '.') {
			*why = "'.' path component";
			return -1;
		}
		if (n == 2 && url[start] == '.' && url[start + 1] == '.') {
			*why = "'..' leaves the cache directory";
			return -1;
		}
		if (n > NAME_MAX) {
			*why = "path component too long";
			return -1;
		}
		if (start == 0 && memchr(url, ':', n)) {
			*why = "URL with a scheme, not a name inside the cache";
			return -1;
		}
		start = i + 1;
	}
	return 0;
}

int cache_open_parent(int dfd, const char *url, const char **base)
{
	const char *p = url, *slash;
	int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);

	while (fd >= 0 && (slash = strchr(p, '/'))) {
		char comp[NAME_MAX + 1];
		size_t n = (size_t)(slash - p);
		int nfd, e;
		memcpy(comp, p, n);
		comp[n] = '\0';
		nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		e = errno;
		close(fd);
		errno = e;
		fd = nfd;
		p = slash + 1;
	}
	*base = p;
	return fd;
}
