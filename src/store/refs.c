/*
 * refs.c - the one encoder and the one decoder of the narinfos.refs
 * column (see store/refs.h).  Written for speed: the crawler encodes a
 * value per narinfo and graph_load decodes every one of a cache.
 */
#include "store/refs.h"

#include <stdlib.h>
#include <string.h>

#include "store/db.h"

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void refs_encode(struct strbuf *out, uint32_t *ids, size_t n)
{
	strbuf_reset(out);
	strbuf_addch(out, '[');
	if (n > 32) {
		qsort(ids, n, sizeof(*ids), cmp_u32);
	} else {
		/* A narinfo has a handful of references: insertion sort. */
		for (size_t i = 1; i < n; i++) {
			uint32_t v = ids[i];
			size_t j = i;
			for (; j && ids[j - 1] > v; j--)
				ids[j] = ids[j - 1];
			ids[j] = v;
		}
	}
	/* At most 11 bytes an id (10 digits and a comma), and the ']'. */
	strbuf_grow(out, n * 11 + 2);
	for (size_t i = 0; i < n; i++) {
		char num[10], *e = num + sizeof(num), *q = e;
		uint32_t v = ids[i];

		if (i && v == ids[i - 1])
			continue;
		do
			*--q = (char)('0' + v % 10);
		while (v /= 10);
		if (out->len > 1)
			out->buf[out->len++] = ',';
		memcpy(out->buf + out->len, q, (size_t)(e - q));
		out->len += (size_t)(e - q);
	}
	out->buf[out->len] = '\0';
	strbuf_addch(out, ']');
}

static const char *skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

int refs_next(struct refs_iter *it, uint32_t *id)
{
	const char *p = skip_space(it->at);
	uint64_t v = 0;

	switch (it->state) {
	case 0:
		if (*p != '[')
			goto bad;
		p = skip_space(p + 1);
		if (*p == ']')
			goto end;
		break;
	case 1:
		if (*p == ']')
			goto end;
		if (*p != ',')
			goto bad;
		p = skip_space(p + 1);
		break;
	default:
		return 0;
	}
	if (*p < '0' || *p > '9')
		goto bad;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			goto bad;
	}
	*id = (uint32_t)v;
	it->at = p;
	it->state = 1;
	return 1;
end:
	if (*skip_space(p + 1))
		goto bad;
	it->at = p + 1;
	it->state = 2;
	return 0;
bad:
	it->at = p;
	return -1;
}

int refs_malformed(struct db *db, int64_t path_id, const char *text)
{
	return error("database '%s': the references of path id %lld are not a refs value "
		     "('%.60s'); re-crawl the cache into a new database",
		     db->path, (long long)path_id, text ? text : "");
}
