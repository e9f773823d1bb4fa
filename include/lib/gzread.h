/*
 * gzread.h - read a file descriptor as a stream whether it is plain or
 * gzip-compressed (zlib tells by the magic bytes), capped in decompressed
 * bytes, with the SHA-256 of the decompressed content computed on the way.
 *
 * Layer: lib (zlib, libcrypto).
 */
#ifndef CACHEGC_GZREAD_H
#define CACHEGC_GZREAD_H

#include <stdint.h>
#include <stdio.h>

struct gzread;

/* Take fd (closed by gzread_close, or at once on failure) for reading at
 * most max decompressed bytes.  The reader, or NULL with why in err. */
struct gzread *gzread_open(int fd, uint64_t max, char *err, size_t errsz);
/* The stream to read the decompressed content from (fread, getline, a
 * line_reader).  NULL with why in err; owned by gz. */
FILE *gzread_stream(struct gzread *gz, char *err, size_t errsz);
/* Why the last read failed ("" if it did not): a system error, damaged
 * or truncated gzip data, or the cap (then gzread_too_big is 1). */
const char *gzread_error(const struct gzread *gz);
int gzread_too_big(const struct gzread *gz);
/* Bytes of fd consumed so far (compressed), for progress. */
uint64_t gzread_offset(struct gzread *gz);
/* After the end: the SHA-256 of what was read, as 64 hex digits and a
 * NUL into hex.  0, or -1 when libcrypto failed. */
int gzread_sha256(struct gzread *gz, char hex[65]);
/* Close the stream and fd, free gz.  NULL is a no-op. */
void gzread_close(struct gzread *gz);

#endif
