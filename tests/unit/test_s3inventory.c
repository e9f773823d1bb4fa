/*
 * test_s3inventory.c - S3 Inventory manifests and CSV lines
 * (nix/s3inventory.h).
 */
#include <stdlib.h>
#include <string.h>

#include "nix/s3inventory.h"
#include "harness.h"

static const char manifest[] =
	"{\"sourceBucket\": \"cache\", \"destinationBucket\": \"arn:aws:s3:::reports\","
	" \"fileFormat\": \"CSV\", \"fileSchema\": \"Bucket, Key, VersionId, Size, LastModifiedDate, ETag\","
	" \"files\": [{\"key\": \"p/cache/c/data/a.csv.gz\", \"size\": 10},"
	" {\"key\": \"p/cache/c/data/b.csv.gz\", \"size\": 20}]}";

TEST(manifest_ok)
{
	struct s3_inventory inv;
	struct parse_error e;

	CHECK(s3_inventory_parse(manifest, strlen(manifest), &inv, &e) == 0);
	CHECK_STR(inv.source_bucket, "cache");
	CHECK_STR(inv.dest_bucket, "reports");
	CHECK_INT(inv.ncols, 6);
	CHECK_INT(inv.bucket_col, 0);
	CHECK_INT(inv.key_col, 1);
	CHECK_INT(inv.size_col, 3);
	CHECK_INT(inv.mtime_col, 4);
	CHECK_INT(inv.nfiles, 2);
	CHECK_STR(inv.files[1], "p/cache/c/data/b.csv.gz");
	s3_inventory_release(&inv);
}

static void refused(const char *m, const char *want)
{
	struct s3_inventory inv;
	struct parse_error e = {{0}, 0};

	CHECK(s3_inventory_parse(m, strlen(m), &inv, &e) == -1);
	if (!strstr(e.msg, want))
		fprintf(stderr, "message '%s', want '%s'\n", e.msg, want);
	CHECK(strstr(e.msg, want) != NULL);
	s3_inventory_release(&inv);
}

TEST(manifest_refused)
{
	refused("{", "not JSON");
	refused("[]", "not a JSON object");
	refused("{\"fileFormat\": \"Parquet\"}", "only CSV");
	refused("{\"fileFormat\": \"CSV\", \"sourceBucket\": \"b\", \"fileSchema\": \"Bucket, Key\","
		" \"files\": []}", "lacks Size");
	refused("{\"fileFormat\": \"CSV\", \"sourceBucket\": \"b\", \"fileSchema\": \"Key, Size\","
		" \"files\": []}", "lacks LastModifiedDate");
	refused("{\"fileFormat\": \"CSV\", \"sourceBucket\": \"b\","
		" \"fileSchema\": \"Key, Size, LastModifiedDate\"}", "no files");
	refused("{\"fileFormat\": \"CSV\", \"sourceBucket\": \"b\","
		" \"fileSchema\": \"Key, Size, LastModifiedDate\", \"files\": [{}]}", "has no key");
}

TEST(lines)
{
	struct s3_inventory inv;
	struct parse_error e;
	char *key, *bucket;
	int64_t size, mtime;
	const char *l = "\"cache\",\"nar/a%2Bb+c%25.nar\",\"\",\"123\",\"2024-05-01T00:00:00.000Z\",\"e\"\"t\"";

	CHECK(s3_inventory_parse(manifest, strlen(manifest), &inv, &e) == 0);
	CHECK(s3_inventory_line(&inv, l, strlen(l), &key, &size, &mtime, &bucket, &e) == 0);
	CHECK_STR(key, "nar/a+b c%.nar");
	CHECK_STR(bucket, "cache");
	CHECK_INT(size, 123);
	CHECK_INT(mtime, 1714521600);
	free(key);
	free(bucket);
#define BAD(s, want)                                                                        \
	do {                                                                                \
		memset(&e, 0, sizeof(e));                                                   \
		CHECK(s3_inventory_line(&inv, s, strlen(s), &key, &size, &mtime, &bucket, &e) == -1); \
		CHECK(strstr(e.msg, want) != NULL);                                         \
		CHECK(key == NULL && bucket == NULL);                                       \
	} while (0)
	BAD("\"cache\",\"k\",\"\",\"12x\",\"2024-05-01T00:00:00Z\",\"e\"", "not a byte count");
	BAD("\"cache\",\"k\",\"\",\"1\",\"yesterday\",\"e\"", "not an S3 timestamp");
	BAD("\"cache\",\"k\",\"\",\"1\",\"2024-05-01T00:00:00Z\"", "5 fields, the schema has 6");
	BAD("\"cache\",\"k\",\"\",\"1\",\"2024-05-01T00:00:00Z\",\"e\",\"f\"", "more fields");
	BAD("cache,\"k\",\"\",\"1\",\"2024-05-01T00:00:00Z\",\"e\"", "not in double quotes");
	BAD("\"cache\",\"k%2\",\"\",\"1\",\"2024-05-01T00:00:00Z\",\"e\"", "bad %-escape");
	BAD("\"cache\",\"k%00\",\"\",\"1\",\"2024-05-01T00:00:00Z\",\"e\"", "with NUL");
	BAD("\"cache\",\"k", "no closing quote");
	s3_inventory_release(&inv);
}

int main(void)
{
	RUN(manifest_ok);
	RUN(manifest_refused);
	RUN(lines);
	return test_summary();
}
