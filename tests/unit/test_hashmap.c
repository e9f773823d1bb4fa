/*
 * test_hashmap.c - unit tests of the open-addressing index (lib/hashmap.h)
 * and the hash functions (lib/hash.h): integer keys, byte-string keys,
 * growth, colliding hashes, duplicates, and a long random run checked
 * against a linear search.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lib/hash.h"
#include "lib/hashmap.h"
#include "lib/util.h"

/* ---- integer keys ---- */

static int u64_eq(const void *ctx, uint32_t item, const void *key)
{
	return ((const uint64_t *)ctx)[item] == *(const uint64_t *)key;
}

TEST(hash_functions_known_values)
{
	/* FNV-1a's published test vectors (64-bit): "" and "a". */
	CHECK(hash_fnv1a("", 0) == 0xcbf29ce484222325ull);
	CHECK(hash_fnv1a("a", 1) == 0xaf63dc4c8601ec8cull);
	CHECK(hash_fnv1a("foobar", 6) == 0x85944171f73967e8ull);
	/* chained: hashing "foo" then "bar" is hashing "foobar" */
	CHECK(hash_fnv1a_seed(hash_fnv1a("foo", 3), "bar", 3) == 0x85944171f73967e8ull);
	/* SplitMix64 with state 0 yields this first output (the reference
	 * generator's first value for seed 0). */
	CHECK(hash_mix64(0) == 0xe220a8397b1dcdafull);
	CHECK(hash_mix64(1) != hash_mix64(2));
}

TEST(hashmap_empty)
{
	struct hashmap m = HASHMAP_INIT;
	uint64_t keys[1] = {7}, k = 7;

	CHECK(hashmap_find(&m, hash_mix64(k), u64_eq, keys, &k) == HASHMAP_NONE);
	hashmap_release(&m);
	CHECK(!m.slots && !m.nslots && !m.count);
}

TEST(hashmap_integer_keys_grow)
{
	enum { N = 5000 };
	struct hashmap m = HASHMAP_INIT;
	uint64_t *keys = xmalloc(N * sizeof(*keys));

	for (uint32_t i = 0; i < N; i++) {
		keys[i] = (uint64_t)i * 1000003u + 17;
		CHECK(hashmap_put(&m, hash_mix64(keys[i]), u64_eq, keys, &keys[i], i) == i);
	}
	CHECK_INT(m.count, N);
	CHECK(m.nslots >= 2 * N);
	CHECK((m.nslots & (m.nslots - 1)) == 0);
	for (uint32_t i = 0; i < N; i++) {
		uint64_t k = keys[i];
		CHECK_INT(hashmap_find(&m, hash_mix64(k), u64_eq, keys, &k), i);
		/* put of a key already there returns its item, adds nothing */
		CHECK_INT(hashmap_put(&m, hash_mix64(k), u64_eq, keys, &k, N + 1), i);
	}
	CHECK_INT(m.count, N);
	{
		uint64_t k = 16;  /* not a key */
		CHECK(hashmap_find(&m, hash_mix64(k), u64_eq, keys, &k) == HASHMAP_NONE);
	}
	hashmap_release(&m);
	free(keys);
}

/* ---- byte-string keys ---- */

struct skey {
	const char *s;
	size_t len;
};

static int str_eq(const void *ctx, uint32_t item, const void *key)
{
	const struct skey *items = ctx, *k = key;
	return items[item].len == k->len && !memcmp(items[item].s, k->s, k->len);
}

TEST(hashmap_string_keys)
{
	static const char *const words[] = {"out", "lib", "dev", "doc", "man", "bin", "", "o",
					    "outt", "ou"};
	struct skey items[ARRAY_SIZE(words)];
	struct hashmap m = HASHMAP_INIT;

	for (uint32_t i = 0; i < ARRAY_SIZE(words); i++) {
		items[i] = (struct skey){words[i], strlen(words[i])};
		CHECK_INT(hashmap_put(&m, hash_fnv1a(items[i].s, items[i].len), str_eq, items,
				      &items[i], i),
			  i);
	}
	for (uint32_t i = 0; i < ARRAY_SIZE(words); i++) {
		/* a key that is not the item's own storage: equality, not identity */
		char buf[16];
		struct skey k = {buf, items[i].len};
		memcpy(buf, words[i], items[i].len);
		CHECK_INT(hashmap_find(&m, hash_fnv1a(buf, k.len), str_eq, items, &k), i);
	}
	{
		/* prefixes of a key are other keys ("outt" vs "out" vs "ou") */
		struct skey k = {"outtt", 5};
		CHECK(hashmap_find(&m, hash_fnv1a(k.s, k.len), str_eq, items, &k) == HASHMAP_NONE);
	}
	hashmap_release(&m);
}

/* ---- collisions and duplicates ---- */

TEST(hashmap_every_hash_equal)
{
	/* A constant hash puts every item in one probe chain: lookups must
	 * still tell them apart by the callback, across growth and wrap-around
	 * (the chain starts in the last slot). */
	enum { N = 300 };
	struct hashmap m = HASHMAP_INIT;
	uint64_t keys[N];

	for (uint32_t i = 0; i < N; i++) {
		keys[i] = i * 3;
		CHECK_INT(hashmap_put(&m, UINT64_MAX, u64_eq, keys, &keys[i], i), i);
	}
	for (uint32_t i = 0; i < N; i++) {
		uint64_t k = i * 3;
		CHECK_INT(hashmap_find(&m, UINT64_MAX, u64_eq, keys, &k), i);
	}
	{
		uint64_t k = 1;
		CHECK(hashmap_find(&m, UINT64_MAX, u64_eq, keys, &k) == HASHMAP_NONE);
	}
	hashmap_release(&m);
}

TEST(hashmap_add_duplicates_first_wins)
{
	struct hashmap m = HASHMAP_INIT;
	uint64_t keys[4] = {5, 9, 5, 5};
	uint64_t k = 5;

	hashmap_reserve(&m, 4);
	CHECK(m.nslots >= 8);
	for (uint32_t i = 0; i < 4; i++)
		hashmap_add(&m, hash_mix64(keys[i]), i);
	CHECK_INT(m.count, 4);
	CHECK_INT(hashmap_find(&m, hash_mix64(k), u64_eq, keys, &k), 0);
	k = 9;
	CHECK_INT(hashmap_find(&m, hash_mix64(k), u64_eq, keys, &k), 1);
	hashmap_release(&m);
}

TEST(hashmap_reserve_keeps_items)
{
	struct hashmap m = HASHMAP_INIT;
	uint64_t keys[3] = {1, 2, 3};
	size_t before;

	for (uint32_t i = 0; i < 3; i++)
		hashmap_add(&m, hash_mix64(keys[i]), i);
	before = m.nslots;
	hashmap_reserve(&m, 2);   /* already room: no change */
	CHECK_INT(m.nslots, before);
	hashmap_reserve(&m, 1000);
	CHECK(m.nslots >= 2000);
	for (uint32_t i = 0; i < 3; i++)
		CHECK_INT(hashmap_find(&m, hash_mix64(keys[i]), u64_eq, keys, &keys[i]), i);
	hashmap_release(&m);
}

TEST(hashmap_random_against_linear_search)
{
	/* Random keys from a small range (so many repeat), with a hash that
	 * keeps only 6 bits (so many collide): put must agree with a linear
	 * search of the items added so far. */
	enum { N = 4000 };
	struct hashmap m = HASHMAP_INIT;
	uint64_t *items = xmalloc(N * sizeof(*items));
	uint32_t nitems = 0;
	int bad = 0;

	for (uint32_t i = 0; i < N; i++) {
		uint64_t k = hash_mix64(i) % 1500, want = HASHMAP_NONE;
		uint32_t got;
		for (uint32_t j = 0; j < nitems; j++)
			if (items[j] == k) {
				want = j;
				break;
			}
		items[nitems] = k;  /* the candidate, used when new */
		got = hashmap_put(&m, hash_mix64(k) & 63, u64_eq, items, &k, nitems);
		if (want == HASHMAP_NONE) {
			bad += got != nitems;
			nitems++;
		} else {
			bad += got != want;
		}
	}
	CHECK_INT(bad, 0);
	CHECK_INT(m.count, nitems);
	CHECK(nitems > 500 && nitems <= 1500);
	hashmap_release(&m);
	free(items);
}

int main(void)
{
	RUN(hash_functions_known_values);
	RUN(hashmap_empty);
	RUN(hashmap_integer_keys_grow);
	RUN(hashmap_string_keys);
	RUN(hashmap_every_hash_equal);
	RUN(hashmap_add_duplicates_first_wins);
	RUN(hashmap_reserve_keeps_items);
	RUN(hashmap_random_against_linear_search);
	return test_summary();
}
