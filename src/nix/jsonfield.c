/*
 * jsonfield.c - members of Nix-side JSON objects (see jsonfield.h).
 */
#include "nix/jsonfield.h"
#include "lib/util.h"

int json_field_has_control(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 1;
	return 0;
}

int json_field_string(json_t *o, const char *key, size_t max, unsigned flags, char **out,
		      struct parse_error *err)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return parse_fail(err, 0, "\"%s\" is not a string", key);
	if (json_string_length(v) > max)
		return parse_fail(err, 0, "\"%s\" is longer than %zu bytes", key, max);
	if ((flags & JSON_FIELD_NO_CONTROLS) &&
	    json_field_has_control(json_string_value(v), json_string_length(v)))
		return parse_fail(err, 0, "\"%s\" holds control characters", key);
	*out = xstrndup(json_string_value(v), json_string_length(v));
	return 1;
}

int json_field_int(json_t *o, const char *key, int64_t *out, struct parse_error *err)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return parse_fail(err, 0, "\"%s\" is not an integer", key);
	*out = (int64_t)json_integer_value(v);
	return 1;
}
