/*
 * test_heap.c - unit tests of the binary min-heap (lib/heap.h): order,
 * empty pops, interleaved pushes and pops, structs by value, and the order
 * of equal elements, which must be the one the hand-written heaps gave
 * (fetch retries, eviction candidates) so nothing downstream changes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lib/hash.h"
#include "lib/heap.h"
#include "lib/util.h"

static int int_less(const void *a, const void *b)
{
	return *(const int *)a < *(const int *)b;
}

TEST(heap_empty)
{
	struct heap h = HEAP_INIT(sizeof(int), int_less);
	int x = 42;

	CHECK(!heap_top(&h));
	CHECK(!heap_pop(&h, &x));
	CHECK_INT(x, 42);
	heap_release(&h);
}

TEST(heap_sorts)
{
	enum { N = 3000 };
	struct heap h = HEAP_INIT(sizeof(int), int_less);
	int prev = -1, x, bad = 0;
	size_t n = 0;

	for (int i = 0; i < N; i++) {
		x = (int)(hash_mix64((uint64_t)i) % 1000);
		heap_push(&h, &x);
	}
	CHECK_INT(h.n, N);
	CHECK(*(const int *)heap_top(&h) >= 0);
	while (heap_pop(&h, &x)) {
		bad += x < prev;
		prev = x;
		n++;
	}
	CHECK_INT(bad, 0);
	CHECK_INT(n, N);
	heap_release(&h);
}

TEST(heap_interleaved)
{
	/* push 3, pop 1, ...: every pop is the least of what is in the heap */
	struct heap h = HEAP_INIT(sizeof(int), int_less);
	int *in = xcalloc(1000, sizeof(int)), bad = 0, x;

	for (int round = 0; round < 300; round++) {
		for (int k = 0; k < 3; k++) {
			x = (int)(hash_mix64((uint64_t)(round * 3 + k)) % 1000);
			in[x]++;
			heap_push(&h, &x);
		}
		CHECK(heap_pop(&h, &x));
		for (int y = 0; y < x; y++)
			bad += in[y] != 0;
		in[x]--;
	}
	CHECK_INT(bad, 0);
	CHECK_INT(h.n, 600);
	heap_release(&h);
	free(in);
}

/* ---- the old fetch.c heap, as it was: pointers, min on due ---- */

struct item {
	int64_t due;
	int id;
};

struct ref_heap {
	struct item **v;
	size_t n, alloc;
};

static void ref_push(struct ref_heap *f, struct item *x)
{
	size_t i;

	GROW(f->v, f->alloc, f->n + 1);
	i = f->n++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (f->v[parent]->due <= x->due)
			break;
		f->v[i] = f->v[parent];
		i = parent;
	}
	f->v[i] = x;
}

static struct item *ref_pop(struct ref_heap *f)
{
	struct item *top, *last;
	size_t i = 0, n;

	if (!f->n)
		return NULL;
	top = f->v[0];
	n = --f->n;
	if (!n)
		return top;
	last = f->v[n];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && f->v[c + 1]->due < f->v[c]->due)
			c++;
		if (last->due <= f->v[c]->due)
			break;
		f->v[i] = f->v[c];
		i = c;
	}
	f->v[i] = last;
	return top;
}

static int item_ptr_less(const void *a, const void *b)
{
	return (*(struct item *const *)a)->due < (*(struct item *const *)b)->due;
}

TEST(heap_ties_in_the_old_order)
{
	/* Few distinct dues, so most elements tie; pushes and pops mixed. */
	enum { N = 2000 };
	struct item *items = xcalloc(N, sizeof(*items));
	struct ref_heap ref = {0};
	struct heap h = HEAP_INIT(sizeof(struct item *), item_ptr_less);
	int differ = 0, popped = 0;

	for (int i = 0; i < N; i++) {
		struct item *p = &items[i], *got = NULL;
		p->due = (int64_t)(hash_mix64((uint64_t)i) % 7);
		p->id = i;
		ref_push(&ref, p);
		heap_push(&h, &p);
		if (i % 3 == 2) {
			struct item *want = ref_pop(&ref);
			CHECK(heap_pop(&h, &got));
			differ += got != want;
			popped++;
		}
	}
	for (;;) {
		struct item *want = ref_pop(&ref), *got = NULL;
		int have = heap_pop(&h, &got);
		if (!want) {
			CHECK(!have);
			break;
		}
		differ += !have || got != want;
		popped++;
	}
	CHECK_INT(differ, 0);
	CHECK_INT(popped, N);
	free(ref.v);
	heap_release(&h);
	free(items);
}

/* structs by value, larger than a pointer */
struct cand {
	double score;
	uint64_t bytes;
	uint32_t id;
};

static int cand_less(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	if (x->score != y->score)
		return x->score < y->score;
	return x->id < y->id;
}

TEST(heap_structs_by_value)
{
	struct heap h = HEAP_INIT(sizeof(struct cand), cand_less);
	struct cand c;
	uint32_t want[] = {4, 2, 5, 1, 3};

	c = (struct cand){2.0, 10, 1}; heap_push(&h, &c);
	c = (struct cand){1.0, 20, 2}; heap_push(&h, &c);
	c = (struct cand){3.0, 30, 3}; heap_push(&h, &c);
	c = (struct cand){0.5, 40, 4}; heap_push(&h, &c);
	c = (struct cand){1.0, 50, 5}; heap_push(&h, &c);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		CHECK(heap_pop(&h, &c));
		CHECK_INT(c.id, want[i]);
		CHECK_INT(c.bytes, want[i] * 10);
	}
	CHECK(!heap_pop(&h, &c));
	heap_release(&h);
	CHECK(!h.v && !h.n && h.size == sizeof(struct cand));
}

int main(void)
{
	RUN(heap_empty);
	RUN(heap_sorts);
	RUN(heap_interleaved);
	RUN(heap_ties_in_the_old_order);
	RUN(heap_structs_by_value);
	return test_summary();
}
