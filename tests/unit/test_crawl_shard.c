/*
 * test_crawl_shard.c - the shard of a store hash (ingest/crawl.h): every
 * hash in exactly one shard, each shard one range of hashes, the ranges
 * even, and "K/N" parsed strictly.
 */
#include <stdlib.h>
#include <string.h>

#include "ingest/crawl.h"
#include "lib/util.h"
#include "harness.h"

static const char a32[] = "0123456789abcdfghijklmnpqrsvwxyz";

static void random_hash(char *h, unsigned *seed)
{
	for (int i = 0; i < 32; i++) {
		*seed = *seed * 1103515245u + 12345u;
		h[i] = a32[(*seed >> 16) & 31];
	}
	h[32] = '\0';
}

/* The shard is the range that holds the hash; ranges tile in order. */
TEST(shard_is_range)
{
	char h[33], lo[CRAWL_SHARD_CHARS + 1], hi[CRAWL_SHARD_CHARS + 1];
	char prev_hi[CRAWL_SHARD_CHARS + 1];
	unsigned seed = 7;
	static const unsigned ns[] = {1, 2, 3, 5, 7, 16, 100, 1024};

	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		unsigned n = ns[i];
		for (unsigned k = 1; k <= n; k++) {
			crawl_shard_range(k, n, lo, hi);
			if (k == 1)
				CHECK_STR(lo, "");
			else
				CHECK_STR(lo, prev_hi);
			if (k == n)
				CHECK_STR(hi, "{");
			CHECK(strcmp(lo, hi) < 0);
			strcpy(prev_hi, hi);
			/* the range's first hash is in it, the one before is not */
			if (k > 1) {
				memset(h, '0', 32);
				h[32] = '\0';
				memcpy(h, lo, CRAWL_SHARD_CHARS);
				CHECK_INT(crawl_shard_of(h, 32, n), k);
			}
		}
		for (int j = 0; j < 2000; j++) {
			unsigned k;
			random_hash(h, &seed);
			k = crawl_shard_of(h, 32, n);
			CHECK(k >= 1 && k <= n);
			crawl_shard_range(k, n, lo, hi);
			CHECK(strcmp(h, lo) >= 0 && strcmp(h, hi) < 0);
		}
	}
	/* not a store hash: shard 1 */
	CHECK_INT(crawl_shard_of("eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", 32, 4), 1);
	CHECK_INT(crawl_shard_of("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", 32, 4), 4);
	CHECK_INT(crawl_shard_of("zzzz", 4, 4), 1);
}

/* 60,000 random hashes: every shard within 5% of its share. */
TEST(shard_even)
{
	unsigned count[7] = {0}, seed = 11, n = 7, total = 60000;
	char h[33];

	for (unsigned j = 0; j < total; j++) {
		random_hash(h, &seed);
		count[crawl_shard_of(h, 32, n) - 1]++;
	}
	for (unsigned k = 0; k < n; k++)
		CHECK(count[k] > total / n * 95 / 100 && count[k] < total / n * 105 / 100);
}

TEST(shard_parse)
{
	unsigned k = 0, n = 0;

	CHECK(!crawl_shard_parse("1/2", &k, &n) && k == 1 && n == 2);
	CHECK(!crawl_shard_parse("1024/1024", &k, &n) && k == 1024 && n == 1024);
	CHECK(!crawl_shard_parse("1/1", &k, &n) && k == 1 && n == 1);
	CHECK(crawl_shard_parse("0/2", &k, &n) < 0);
	CHECK(crawl_shard_parse("3/2", &k, &n) < 0);
	CHECK(crawl_shard_parse("1/0", &k, &n) < 0);
	CHECK(crawl_shard_parse("1/1025", &k, &n) < 0);
	CHECK(crawl_shard_parse("x", &k, &n) < 0);
	CHECK(crawl_shard_parse("", &k, &n) < 0);
	CHECK(crawl_shard_parse("1/", &k, &n) < 0);
	CHECK(crawl_shard_parse("/2", &k, &n) < 0);
	CHECK(crawl_shard_parse("1/2 ", &k, &n) < 0);
	CHECK(crawl_shard_parse("+1/2", &k, &n) < 0);
	CHECK(crawl_shard_parse("1/99999999999", &k, &n) < 0);
}

int main(void)
{
	RUN(shard_is_range);
	RUN(shard_even);
	RUN(shard_parse);
	return test_summary();
}
