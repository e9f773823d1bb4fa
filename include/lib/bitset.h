/*
 * bitset.h - a fixed-size set of small integers, one bit each.
 *
 * Layer: lib (libc only).  For marks over dense ids (paths, rows) where a
 * byte per id would be eight times the memory.  Sized once; ids must be
 * below the size given to bitset_init (not checked in the inlines).
 */
#ifndef CACHEGC_BITSET_H
#define CACHEGC_BITSET_H

#include <stddef.h>
#include <stdint.h>

struct bitset {
	uint64_t *w;
	size_t n;               /* ids 0 .. n-1 */
};
#define BITSET_INIT {NULL, 0}

/* An empty set for ids below n.  Free with bitset_release(). */
void bitset_init(struct bitset *b, size_t n);
void bitset_release(struct bitset *b);
/* Remove every id. */
void bitset_clear_all(struct bitset *b);
/* How many ids are in the set. */
size_t bitset_count(const struct bitset *b);

static inline int bitset_test(const struct bitset *b, size_t i)
{
	return (int)((b->w[i >> 6] >> (i & 63)) & 1);
}

static inline void bitset_set(struct bitset *b, size_t i)
{
	b->w[i >> 6] |= (uint64_t)1 << (i & 63);
}

static inline void bitset_clear(struct bitset *b, size_t i)
{
	b->w[i >> 6] &= ~((uint64_t)1 << (i & 63));
}

/* Add i; returns whether it was absent (1) or already there (0). */
static inline int bitset_add(struct bitset *b, size_t i)
{
	uint64_t m = (uint64_t)1 << (i & 63), *w = &b->w[i >> 6];

	if (*w & m)
		return 0;
	*w |= m;
	return 1;
}

#endif
