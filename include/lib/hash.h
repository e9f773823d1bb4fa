/*
 * hash.h - the hash functions every table and every seeded choice uses.
 *
 * Layer: lib (libc only).  Two functions, one of each kind:
 *  - hash_fnv1a: 64-bit FNV-1a over bytes, for keys that are text or
 *    packed bytes.  Chained calls hash a composite key (pass the previous
 *    result as the seed).
 *  - hash_mix64: the SplitMix64 finalizer, a bijection on 64-bit words,
 *    for integer keys and for pseudo-random choices derived from a key.
 *    The sample-world generator's output is a function of it: its
 *    constants are part of what `cachegc gen` writes and never change.
 */
#ifndef CACHEGC_HASH_H
#define CACHEGC_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV1A_INIT 0xcbf29ce484222325ull

/* FNV-1a of p[0..n) continuing from seed (HASH_FNV1A_INIT to start). */
static inline uint64_t hash_fnv1a_seed(uint64_t seed, const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = seed;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ull;
	return h;
}

/* FNV-1a of p[0..n). */
static inline uint64_t hash_fnv1a(const void *p, size_t n)
{
	return hash_fnv1a_seed(HASH_FNV1A_INIT, p, n);
}

/* SplitMix64's output function: every bit of x affects every bit of the
 * result; hash_mix64(a) == hash_mix64(b) only when a == b. */
static inline uint64_t hash_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

#endif
