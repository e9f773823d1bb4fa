/*
 * heap.c - binary min-heap of fixed-size elements (lib/heap.h).
 *
 * The sift loops move a hole instead of swapping, so each level costs one
 * copy; an element equal to its parent stays below it (strict less), the
 * order the hand-written heaps this replaces produced.
 */
#include "lib/heap.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

#define AT(h, i) ((h)->v + (i) * (h)->size)

void heap_push(struct heap *h, const void *elem)
{
	size_t i;

	xgrow((void **)&h->v, &h->alloc, h->n + 1, h->size);
	i = h->n++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!h->less(elem, AT(h, parent)))
			break;
		memcpy(AT(h, i), AT(h, parent), h->size);
		i = parent;
	}
	memcpy(AT(h, i), elem, h->size);
}

int heap_pop(struct heap *h, void *out)
{
	const unsigned char *last;
	size_t i = 0, n;

	if (!h->n)
		return 0;
	memcpy(out, AT(h, 0), h->size);
	n = --h->n;
	if (!n)
		return 1;
	last = AT(h, n);  /* stays in place (beyond n) while the hole sinks */
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && h->less(AT(h, c + 1), AT(h, c)))
			c++;
		if (!h->less(AT(h, c), last))
			break;
		memcpy(AT(h, i), AT(h, c), h->size);
		i = c;
	}
	memcpy(AT(h, i), last, h->size);
	return 1;
}

void heap_release(struct heap *h)
{
	free(h->v);
	h->v = NULL;
	h->n = h->alloc = 0;
}
