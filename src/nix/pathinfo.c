/*
 * pathinfo.c - the store paths of `nix path-info --json` output (see
 * pathinfo.h).  Which shape it is comes from the value itself: an array of
 * objects that all have "path"; an object with "info" and "version"; an
 * object whose every key is a path in the store.
 */
#include "nix/pathinfo.h"

#include <jansson.h>
#include <string.h>

#include "nix/nixhash.h"

/* The basename of path when it lies directly in store_dir, else NULL. */
static const char *in_store(const char *path, const char *store_dir, size_t *blen)
{
	size_t dl = strlen(store_dir), pl = strlen(path);

	if (pl <= dl + 1 || memcmp(path, store_dir, dl) || path[dl] != '/' ||
	    !store_basename_valid(path + dl + 1, pl - dl - 1))
		return NULL;
	*blen = pl - dl - 1;
	return path + dl + 1;
}

static int bad_path(struct parse_error *err, const char *what, const char *s,
		    const char *store_dir)
{
	char shown[PARSE_SHOWN_MAX];

	return parse_fail(err, 0, "nix path-info JSON: %s '%s' is not a store path in %s", what,
			  parse_shown(shown, sizeof(shown), s, strlen(s)), store_dir);
}

static int all_keys_in_store(json_t *o, const char *store_dir)
{
	const char *k;
	json_t *v;
	size_t bl;

	json_object_foreach(o, k, v) {
		if (!in_store(k, store_dir, &bl) || !(json_is_object(v) || json_is_null(v)))
			return 0;
	}
	return 1;
}

int pathinfo_json_paths(const char *buf, size_t len, const char *store_dir,
			int (*fn)(const char *base, size_t blen, void *ctx), void *ctx,
			struct parse_error *err)
{
	json_t *v, *info, *e;
	const char *k, *p, *b;
	size_t i, bl;
	int ret = -1;

	/* Only a value that starts the text can be one. */
	for (i = 0; i < len && strchr(" \t\r\n", buf[i]); i++)
		;
	if (i == len || (buf[i] != '[' && buf[i] != '{'))
		return 0;
	if (!(v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL)))
		return 0;
	if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			if (!json_is_object(e) || !json_is_string(json_object_get(e, "path"))) {
				ret = 0;
				goto out;
			}
		}
		json_array_foreach(v, i, e) {
			p = json_string_value(json_object_get(e, "path"));
			if (!(b = in_store(p, store_dir, &bl))) {
				bad_path(err, "path", p, store_dir);
				goto out;
			}
			if (fn(b, bl, ctx)) {
				parse_fail(err, 0, "nix path-info JSON: stopped");
				goto out;
			}
		}
		ret = 1;
	} else if (json_is_object(v) && json_is_object(info = json_object_get(v, "info")) &&
		   json_is_integer(json_object_get(v, "version"))) {
		json_t *sd = json_object_get(v, "storeDir");
		if (json_is_string(sd) && strcmp(json_string_value(sd), store_dir)) {
			char shown[PARSE_SHOWN_MAX];
			k = json_string_value(sd);
			parse_fail(err, 0, "nix path-info JSON: its storeDir is '%s', not %s",
				   parse_shown(shown, sizeof(shown), k, strlen(k)), store_dir);
			goto out;
		}
		json_object_foreach(info, k, e) {
			if (!store_basename_valid(k, strlen(k))) {
				bad_path(err, "name", k, store_dir);
				goto out;
			}
			if (fn(k, strlen(k), ctx)) {
				parse_fail(err, 0, "nix path-info JSON: stopped");
				goto out;
			}
		}
		ret = 1;
	} else if (json_is_object(v) && all_keys_in_store(v, store_dir)) {
		json_object_foreach(v, k, e) {
			b = in_store(k, store_dir, &bl);
			if (fn(b, bl, ctx)) {
				parse_fail(err, 0, "nix path-info JSON: stopped");
				goto out;
			}
		}
		ret = 1;
	} else {
		ret = 0;
	}
out:
	json_decref(v);
	return ret;
}
