/*
 * readall DIR - the floor under any ingest of a cache directory: list DIR
 * and, for every *.narinfo, open, fstat (the push time), read and close it,
 * on one thread, doing nothing with the bytes.  bench/ingest.sh times it
 * beside cachegc and Nix.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static char buf[1 << 20];
	unsigned long long files = 0, bytes = 0;
	struct dirent *e;
	DIR *d;
	int dfd;

	if (argc != 2 || !(d = opendir(argv[1]))) {
		fprintf(stderr, "usage: readall DIR\n");
		return 2;
	}
	dfd = dirfd(d);
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		struct stat st;
		ssize_t r;
		int fd;
		if (l < 8 || strcmp(e->d_name + l - 8, ".narinfo"))
			continue;
		fd = openat(dfd, e->d_name, O_RDONLY | O_NOATIME | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && (r = read(fd, buf, sizeof(buf))) > 0)
			bytes += (unsigned long long)r;
		close(fd);
		files++;
	}
	closedir(d);
	printf("%llu files, %llu bytes\n", files, bytes);
	return 0;
}
