/*
 * test_refs.c - the narinfos.refs codec: what the encoder writes, that
 * the decoder reads it back, and that it refuses what is not a refs value.
 */
#include <stdlib.h>
#include <string.h>

#include "store/refs.h"
#include "harness.h"
#include "lib/util.h"

/* Decode text into ids (at most max); the count, or -1 if malformed. */
static int decode(const char *text, uint32_t *ids, int max)
{
	struct refs_iter it;
	uint32_t id;
	int n = 0, rc;

	refs_iter_init(&it, text);
	while ((rc = refs_next(&it, &id)) == 1)
		if (n < max)
			ids[n++] = id;
	/* The end stays the end. */
	if (rc == 0 && refs_next(&it, &id) != 0)
		return -2;
	return rc < 0 ? -1 : n;
}

TEST(encode_sorts_and_writes_each_id_once)
{
	struct strbuf sb = STRBUF_INIT;
	uint32_t ids[] = {40, 3, 17, 3, 40, 0, UINT32_MAX};

	refs_encode(&sb, ids, 7);
	CHECK_STR(sb.buf, "[0,3,17,40,4294967295]");
	refs_encode(&sb, ids, 1);    /* replaces, not appends */
	CHECK_STR(sb.buf, "[0]");
	strbuf_release(&sb);
}

TEST(empty_encodes_and_decodes)
{
	struct strbuf sb = STRBUF_INIT;
	uint32_t out[4];

	refs_encode(&sb, NULL, 0);
	CHECK_STR(sb.buf, "[]");
	CHECK_INT(decode(sb.buf, out, 4), 0);
	CHECK_INT(decode(NULL, out, 4), 0);
	CHECK_INT(decode(" [ ] ", out, 4), 0);
	strbuf_release(&sb);
}

TEST(round_trip)
{
	struct strbuf sb = STRBUF_INIT;
	uint32_t ids[300], back[300];
	int n;

	srand(9);
	for (int round = 0; round < 50; round++) {
		int k = rand() % 300;
		for (int i = 0; i < k; i++)
			ids[i] = (uint32_t)rand() * 2654435761u;
		refs_encode(&sb, ids, (size_t)k);
		n = decode(sb.buf, back, 300);
		CHECK(n >= 0 && n <= k);
		/* ids is sorted now; back is it without repeats. */
		for (int i = 0, j = 0; n >= 0 && i < k; i++) {
			if (i && ids[i] == ids[i - 1])
				continue;
			CHECK(j < n && back[j] == ids[i]);
			j++;
		}
	}
	strbuf_release(&sb);
}

TEST(json_spacing_is_read)
{
	uint32_t out[4];

	CHECK_INT(decode("[1, 5,\n9 ]", out, 4), 3);
	CHECK_INT(out[0], 1);
	CHECK_INT(out[1], 5);
	CHECK_INT(out[2], 9);
}

TEST(malformed_is_refused)
{
	static const char *const bad[] = {
		"", "1,2", "[", "[1", "[1,", "[,1]", "[1,,2]", "[1 2]", "[-1]",
		"[1.5]", "[\"1\"]", "[4294967296]", "[99999999999999999999999]",
		"[1]x", "[1]]", "{}", "[null]", "]", ",1]",
	};
	uint32_t out[4];

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (decode(bad[i], out, 4) != -1) {
			fprintf(stderr, "accepted '%s'\n", bad[i]);
			CHECK(0);
		}
	}
	/* Ids before the bad byte were given, and it.at points there. */
	{
		struct refs_iter it;
		uint32_t id = 0;
		refs_iter_init(&it, "[7,x]");
		CHECK_INT(refs_next(&it, &id), 1);
		CHECK_INT(id, 7);
		CHECK_INT(refs_next(&it, &id), -1);
		CHECK_STR(it.at, "x]");
	}
}

int main(void)
{
	RUN(encode_sorts_and_writes_each_id_once);
	RUN(empty_encodes_and_decodes);
	RUN(round_trip);
	RUN(json_spacing_is_read);
	RUN(malformed_is_refused);
	return test_summary();
}
