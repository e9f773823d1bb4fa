/*
 * s3inventory.h - S3 Inventory reports in CSV: the manifest.json that
 * names a report's files and its columns, and one line of those files.
 * Pure parsers (jansson for the manifest).
 *
 * Layer: nix (pure parsers); uses lib only.
 *
 * A manifest (AWS's format): {"sourceBucket": "b", "destinationBucket":
 * "arn:aws:s3:::d", "fileFormat": "CSV", "fileSchema": "Bucket, Key,
 * Size, LastModifiedDate, ETag, ...", "files": [{"key": "...csv.gz", ...}]}.
 * A line: the schema's fields, each in double quotes ("" inside), separated
 * by commas; the key is URL-encoded (%XX, and '+' for a space).
 */
#ifndef CACHEGC_S3INVENTORY_H
#define CACHEGC_S3INVENTORY_H

#include <stddef.h>
#include <stdint.h>

#include "lib/parse_error.h"

struct s3_inventory {
	char *source_bucket;
	char *dest_bucket;         /* the bucket name of destinationBucket's ARN */
	unsigned ncols;            /* fields a line has */
	int bucket_col, key_col, size_col, mtime_col;   /* -1: none (bucket) */
	char **files;              /* the data files' keys, in order */
	size_t nfiles;
};

/* Parse manifest.json.  Needs fileFormat CSV and Key, Size and
 * LastModifiedDate in fileSchema.  0, or -1 with *err; release either
 * way. */
int s3_inventory_parse(const char *buf, size_t len, struct s3_inventory *inv,
		       struct parse_error *err);
void s3_inventory_release(struct s3_inventory *inv);

/* One line of a data file: *key (decoded, malloc'd), *size, *mtime (epoch
 * seconds), *bucket (malloc'd, or NULL without a Bucket column).  0, or -1
 * with *err (nothing allocated). */
int s3_inventory_line(const struct s3_inventory *inv, const char *line, size_t len,
		      char **key, int64_t *size, int64_t *mtime, char **bucket,
		      struct parse_error *err);

#endif
