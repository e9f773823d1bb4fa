/*
 * test_bitset.c - unit tests of lib/bitset.h: word boundaries, add's
 * answer, counting, clearing, and sizes that are not a multiple of 64.
 */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "lib/bitset.h"
#include "lib/hash.h"
#include "lib/util.h"

TEST(bitset_boundaries)
{
	struct bitset b;
	static const size_t ids[] = {0, 1, 62, 63, 64, 65, 127, 128, 199};

	bitset_init(&b, 200);
	CHECK_INT(bitset_count(&b), 0);
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		CHECK(!bitset_test(&b, ids[i]));
		bitset_set(&b, ids[i]);
		CHECK(bitset_test(&b, ids[i]));
	}
	CHECK_INT(bitset_count(&b), ARRAY_SIZE(ids));
	/* neighbours untouched */
	CHECK(!bitset_test(&b, 2));
	CHECK(!bitset_test(&b, 61));
	CHECK(!bitset_test(&b, 66));
	CHECK(!bitset_test(&b, 198));
	bitset_clear(&b, 64);
	CHECK(!bitset_test(&b, 64));
	CHECK(bitset_test(&b, 63) && bitset_test(&b, 65));
	CHECK_INT(bitset_count(&b), ARRAY_SIZE(ids) - 1);
	bitset_clear_all(&b);
	CHECK_INT(bitset_count(&b), 0);
	CHECK(!bitset_test(&b, 199));
	bitset_release(&b);
	CHECK(!b.w && !b.n);
}

TEST(bitset_add_reports_new)
{
	struct bitset b;

	bitset_init(&b, 70);
	CHECK_INT(bitset_add(&b, 69), 1);
	CHECK_INT(bitset_add(&b, 69), 0);
	CHECK_INT(bitset_add(&b, 5), 1);
	CHECK_INT(bitset_count(&b), 2);
	bitset_release(&b);
}

TEST(bitset_empty_size)
{
	struct bitset b;

	bitset_init(&b, 0);
	CHECK_INT(bitset_count(&b), 0);
	bitset_clear_all(&b);
	bitset_release(&b);
}

TEST(bitset_random_against_bytes)
{
	enum { N = 1000 };
	struct bitset b;
	unsigned char ref[N] = {0};
	int bad = 0;
	size_t want = 0;

	bitset_init(&b, N);
	for (uint64_t i = 0; i < 3000; i++) {
		size_t id = (size_t)(hash_mix64(i) % N);
		if (i % 4 == 3) {
			bitset_clear(&b, id);
			ref[id] = 0;
		} else {
			bad += bitset_add(&b, id) != !ref[id];
			ref[id] = 1;
		}
	}
	for (size_t i = 0; i < N; i++) {
		bad += bitset_test(&b, i) != ref[i];
		want += ref[i];
	}
	CHECK_INT(bad, 0);
	CHECK_INT(bitset_count(&b), want);
	bitset_release(&b);
}

int main(void)
{
	RUN(bitset_boundaries);
	RUN(bitset_add_reports_new);
	RUN(bitset_empty_size);
	RUN(bitset_random_against_bytes);
	return test_summary();
}
