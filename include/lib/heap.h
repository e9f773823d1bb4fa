/*
 * heap.h - a binary min-heap of fixed-size elements (a priority queue).
 *
 * Layer: lib (libc only).
 *
 * Elements are copied in and out (pointers, or small structs by value);
 * less(a, b) says whether a must come out before b.  Among elements that
 * compare equal the order is the one the sift-up/sift-down below gives,
 * deterministic for a given sequence of calls (not FIFO).
 *
 * Lifecycle: struct heap h = HEAP_INIT(sizeof(elem), less); heap_push,
 * heap_pop ...; heap_release(&h).
 */
#ifndef CACHEGC_HEAP_H
#define CACHEGC_HEAP_H

#include <stddef.h>

typedef int (*heap_less_fn)(const void *a, const void *b);

struct heap {
	unsigned char *v;       /* n elements of size bytes */
	size_t n, alloc;        /* alloc counts elements */
	size_t size;
	heap_less_fn less;
};
#define HEAP_INIT(size, less) {NULL, 0, 0, (size), (less)}

/* Add the element at elem (h->size bytes, copied).  May reallocate h->v. */
void heap_push(struct heap *h, const void *elem);
/* Remove the least element into *out (h->size bytes).  Returns 1, or 0
 * when the heap is empty (out untouched). */
int heap_pop(struct heap *h, void *out);
/* The least element (valid until the next push or pop), or NULL. */
static inline const void *heap_top(const struct heap *h)
{
	return h->n ? h->v : NULL;
}
/* Free the elements; h keeps its size and less, empty. */
void heap_release(struct heap *h);

#endif
