/*
 * bitset.c - allocation and whole-set operations of lib/bitset.h.
 */
#include "lib/bitset.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

static size_t words(size_t n)
{
	return n / 64 + (n % 64 != 0);
}

void bitset_init(struct bitset *b, size_t n)
{
	b->n = n;
	b->w = xcalloc(words(n) ? words(n) : 1, sizeof(*b->w));
}

void bitset_release(struct bitset *b)
{
	free(b->w);
	b->w = NULL;
	b->n = 0;
}

void bitset_clear_all(struct bitset *b)
{
	memset(b->w, 0, words(b->n) * sizeof(*b->w));
}

size_t bitset_count(const struct bitset *b)
{
	size_t c = 0;

	for (size_t i = 0; i < words(b->n); i++)
		c += (size_t)__builtin_popcountll(b->w[i]);
	return c;
}
