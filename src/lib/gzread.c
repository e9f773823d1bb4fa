/*
 * gzread.c - plain or gzip input as one capped, hashed stream (see
 * lib/gzread.h).  zlib's gzread passes plain data through unchanged, so
 * one path serves both; a FILE made with fopencookie lets the line reader
 * read it like any file.
 */
#include "lib/gzread.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "lib/util.h"

struct gzread {
	gzFile gz;
	EVP_MD_CTX *md;
	FILE *f;
	uint64_t bytes;        /* decompressed bytes read */
	uint64_t max;          /* and at most this many */
	int too_big;
	char err[160];         /* why reading failed, when it did */
};

static ssize_t cookie_read(void *cookie, char *buf, size_t n)
{
	struct gzread *s = cookie;
	int r, zerr;

	if (n > (1u << 30))
		n = 1u << 30;
	r = gzread(s->gz, buf, (unsigned)n);
	if (r < 0) {
		const char *m = gzerror(s->gz, &zerr);
		if (zerr == Z_ERRNO)
			snprintf(s->err, sizeof(s->err), "%s", strerror(errno));
		else
			snprintf(s->err, sizeof(s->err), "%s (a damaged gzip file?)", m);
		errno = EIO;
		return -1;
	}
	if (r == 0 && gzerror(s->gz, &zerr) && zerr == Z_BUF_ERROR) {
		/* gzread takes the end of a gzip stream cut short for the end */
		snprintf(s->err, sizeof(s->err), "the gzip data is truncated");
		errno = EIO;
		return -1;
	}
	s->bytes += (uint64_t)r;
	if (s->bytes > s->max) {
		s->too_big = 1;
		snprintf(s->err, sizeof(s->err), "more than %llu bytes (decompressed)",
			 (unsigned long long)s->max);
		errno = EFBIG;
		return -1;
	}
	if (r > 0 && !EVP_DigestUpdate(s->md, buf, (size_t)r)) {
		snprintf(s->err, sizeof(s->err), "SHA-256 failed");
		errno = EIO;
		return -1;
	}
	return r;
}

static int cookie_close(void *cookie)
{
	(void)cookie;
	return 0;
}

struct gzread *gzread_open(int fd, uint64_t max, char *err, size_t errsz)
{
	struct gzread *s = xcalloc(1, sizeof(*s));

	if (!(s->gz = gzdopen(fd, "rb"))) {
		snprintf(err, errsz, "out of memory");
		close(fd);
		free(s);
		return NULL;
	}
	gzbuffer(s->gz, 256 * 1024);
	s->max = max;
	if (!(s->md = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(s->md, EVP_sha256(), NULL)) {
		snprintf(err, errsz, "SHA-256 is not available");
		gzread_close(s);
		return NULL;
	}
	return s;
}

FILE *gzread_stream(struct gzread *s, char *err, size_t errsz)
{
	cookie_io_functions_t io = {cookie_read, NULL, NULL, cookie_close};

	if (!s->f && !(s->f = fopencookie(s, "r", io)))
		snprintf(err, errsz, "%s", strerror(errno));
	return s->f;
}

const char *gzread_error(const struct gzread *s)
{
	return s->err;
}

int gzread_too_big(const struct gzread *s)
{
	return s->too_big;
}

uint64_t gzread_offset(struct gzread *s)
{
	return (uint64_t)gzoffset(s->gz);
}

int gzread_sha256(struct gzread *s, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (!EVP_DigestFinal_ex(s->md, md, &mdlen) || mdlen != 32)
		return -1;
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

void gzread_close(struct gzread *s)
{
	if (!s)
		return;
	if (s->f)
		fclose(s->f);
	if (s->gz)
		gzclose_r(s->gz);   /* closes fd */
	EVP_MD_CTX_free(s->md);
	free(s);
}
