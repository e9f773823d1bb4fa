/*
 * s3inventory.c - S3 Inventory manifests and CSV lines (nix/s3inventory.h).
 */
#include "nix/s3inventory.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "nix/s3list.h"
#include "lib/util.h"

static const char *jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

int s3_inventory_parse(const char *buf, size_t len, struct s3_inventory *inv,
		       struct parse_error *err)
{
	json_error_t je;
	json_t *root, *files, *f;
	const char *fmt, *schema, *dest, *p;
	unsigned col = 0;
	size_t i;
	int ret = -1;

	memset(inv, 0, sizeof(*inv));
	inv->bucket_col = inv->key_col = inv->size_col = inv->mtime_col = -1;
	if (!(root = json_loadb(buf, len, 0, &je)))
		return parse_fail(err, (unsigned)je.line, "manifest: not JSON: %s", je.text);
	if (!json_is_object(root)) {
		parse_fail(err, 0, "manifest: not a JSON object");
		goto out;
	}
	fmt = jstr(root, "fileFormat");
	if (!fmt || strcmp(fmt, "CSV")) {
		parse_fail(err, 0, "manifest: fileFormat is '%s'; only CSV inventories are read "
			   "(not ORC or Parquet)", fmt ? fmt : "(none)");
		goto out;
	}
	if (!(schema = jstr(root, "fileSchema")) || !jstr(root, "sourceBucket")) {
		parse_fail(err, 0, "manifest: no %s", schema ? "sourceBucket" : "fileSchema");
		goto out;
	}
	for (p = schema; *p; col++) {
		const char *s = p, *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		p = comma ? comma + 1 : p + n;
		trim_space(&s, &n);
		if (n == 6 && !memcmp(s, "Bucket", 6))
			inv->bucket_col = (int)col;
		else if (n == 3 && !memcmp(s, "Key", 3))
			inv->key_col = (int)col;
		else if (n == 4 && !memcmp(s, "Size", 4))
			inv->size_col = (int)col;
		else if (n == 16 && !memcmp(s, "LastModifiedDate", 16))
			inv->mtime_col = (int)col;
		if (col > 64) {
			parse_fail(err, 0, "manifest: more than 64 fields in fileSchema");
			goto out;
		}
	}
	inv->ncols = col;
	if (inv->key_col < 0 || inv->size_col < 0 || inv->mtime_col < 0) {
		parse_fail(err, 0, "manifest: fileSchema '%s' lacks %s (the inventory needs the "
			   "optional fields Size and LastModifiedDate)", schema,
			   inv->key_col < 0 ? "Key" : inv->size_col < 0 ? "Size" : "LastModifiedDate");
		goto out;
	}
	inv->source_bucket = xstrdup(jstr(root, "sourceBucket"));
	dest = jstr(root, "destinationBucket");
	if (dest && !strncmp(dest, "arn:aws:s3:::", 13))
		dest += 13;
	inv->dest_bucket = dest ? xstrdup(dest) : NULL;
	files = json_object_get(root, "files");
	if (!json_is_array(files)) {
		parse_fail(err, 0, "manifest: no files array");
		goto out;
	}
	inv->files = xcalloc(json_array_size(files) + 1, sizeof(*inv->files));
	json_array_foreach(files, i, f) {
		const char *k = jstr(f, "key");
		if (!k || !*k) {
			parse_fail(err, 0, "manifest: files[%zu] has no key", i);
			goto out;
		}
		inv->files[inv->nfiles++] = xstrdup(k);
	}
	ret = 0;
out:
	json_decref(root);
	return ret;
}

void s3_inventory_release(struct s3_inventory *inv)
{
	free(inv->source_bucket);
	free(inv->dest_bucket);
	for (size_t i = 0; i < inv->nfiles; i++)
		free(inv->files[i]);
	free(inv->files);
	memset(inv, 0, sizeof(*inv));
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int s3_inventory_line(const struct s3_inventory *inv, const char *line, size_t len,
		      char **key, int64_t *size, int64_t *mtime, char **bucket,
		      struct parse_error *err)
{
	struct strbuf f = STRBUF_INIT, k = STRBUF_INIT;
	size_t i = 0;
	unsigned col = 0;
	int ret = -1, have_size = 0, have_mtime = 0;

	*key = *bucket = NULL;
	while (col < inv->ncols) {
		strbuf_reset(&f);
		if (i >= len || line[i] != '"') {
			parse_fail(err, 0, "field %u is not in double quotes", col + 1);
			goto out;
		}
		for (i++;; i++) {
			if (i >= len) {
				parse_fail(err, 0, "field %u has no closing quote", col + 1);
				goto out;
			}
			if (line[i] == '"') {
				if (i + 1 < len && line[i + 1] == '"') {
					strbuf_addch(&f, '"');
					i++;
					continue;
				}
				i++;
				break;
			}
			strbuf_addch(&f, line[i]);
		}
		if ((int)col == inv->key_col) {
			for (size_t j = 0; j < f.len; j++) {
				int a, b;

				if (f.buf[j] == '+') {
					strbuf_addch(&k, ' ');
				} else if (f.buf[j] == '%' && j + 2 < f.len &&
					   (a = hexval(f.buf[j + 1])) >= 0 && (b = hexval(f.buf[j + 2])) >= 0) {
					strbuf_addch(&k, (char)(a * 16 + b));
					j += 2;
				} else if (f.buf[j] == '%') {
					parse_fail(err, 0, "a bad %%-escape in the key");
					goto out;
				} else {
					strbuf_addch(&k, f.buf[j]);
				}
			}
			if (!k.len || memchr(k.buf, '\0', k.len) || k.len > S3_KEY_MAX) {
				parse_fail(err, 0, "an empty key, one with NUL or over %d bytes",
					   S3_KEY_MAX);
				goto out;
			}
		} else if ((int)col == inv->size_col) {
			int64_t v = 0;

			for (size_t j = 0; j < f.len; j++) {
				if (f.buf[j] < '0' || f.buf[j] > '9' || v > (INT64_MAX - 9) / 10) {
					parse_fail(err, 0, "Size '%.40s' is not a byte count", f.buf);
					goto out;
				}
				v = v * 10 + (f.buf[j] - '0');
			}
			if (!f.len) {
				parse_fail(err, 0, "an empty Size");
				goto out;
			}
			*size = v;
			have_size = 1;
		} else if ((int)col == inv->mtime_col) {
			if (s3_parse_time(f.len ? f.buf : "", f.len, mtime)) {
				parse_fail(err, 0, "LastModifiedDate '%.40s' is not an S3 timestamp",
					   f.len ? f.buf : "");
				goto out;
			}
			have_mtime = 1;
		} else if ((int)col == inv->bucket_col) {
			*bucket = xstrndup(f.len ? f.buf : "", f.len);
		}
		col++;
		if (col < inv->ncols) {
			if (i >= len || line[i] != ',') {
				parse_fail(err, 0, "%u fields, the schema has %u", col, inv->ncols);
				goto out;
			}
			i++;
		}
	}
	if (i != len) {
		parse_fail(err, 0, "more fields than the schema's %u", inv->ncols);
		goto out;
	}
	if (!have_size || !have_mtime) {
		parse_fail(err, 0, "no Size or LastModifiedDate");
		goto out;
	}
	*key = strbuf_detach(&k);
	ret = 0;
out:
	if (ret) {
		free(*bucket);
		*bucket = NULL;
	}
	strbuf_release(&f);
	strbuf_release(&k);
	return ret;
}
