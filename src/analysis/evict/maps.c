/*
 * maps.c - the small tables eviction keeps while applying a plan: strings
 * to an int64 (struct strmap), a set of files by (device, inode) (struct
 * inoset) and path id -> plan index (struct idmap).  Declared in
 * evict_private.h.
 */
#include "evict_private.h"

#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"
#include "lib/util.h"

static void strmap_rehash(struct strmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	struct strmap_ent *v = xcalloc(cap, sizeof(*v));

	for (size_t i = 0; i < m->cap; i++) {
		size_t j;
		if (!m->v[i].key)
			continue;
		for (j = m->v[i].hash & (cap - 1); v[j].key; j = (j + 1) & (cap - 1))
			;
		v[j] = m->v[i];
	}
	free(m->v);
	m->v = v;
	m->cap = cap;
}

/* The entry for key[0..len), created with val 0 when create is set;
 * NULL when absent and !create.  May reallocate the table. */
struct strmap_ent *strmap_get(struct strmap *m, const char *key, size_t len, int create)
{
	uint64_t h = hash_fnv1a(key, len);
	size_t i;

	if (create && (m->n + 1) * 2 > m->cap)
		strmap_rehash(m);
	if (!m->cap)
		return NULL;
	for (i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct strmap_ent *e = &m->v[i];
		if (!e->key) {
			if (!create)
				return NULL;
			e->key = xstrndup(key, len);
			e->len = len;
			e->hash = h;
			e->val = 0;
			m->n++;
			return e;
		}
		if (e->hash == h && e->len == len && !memcmp(e->key, key, len))
			return e;
	}
}

void strmap_release(struct strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->v[i].key);
	free(m->v);
	memset(m, 0, sizeof(*m));
}


int inoset_op(struct inoset *s, uint64_t dev, uint64_t ino, int add)
{
	size_t i;

	if (!ino)
		ino = UINT64_MAX;  /* 0 marks a free slot */
	if (add && (s->n + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		uint64_t *v = xcalloc(cap * 2, sizeof(*v));
		for (size_t k = 0; k < s->cap; k++) {
			size_t j;
			if (!s->v[2 * k + 1])
				continue;
			for (j = hash_fnv1a(&s->v[2 * k], 16) & (cap - 1); v[2 * j + 1]; j = (j + 1) & (cap - 1))
				;
			v[2 * j] = s->v[2 * k];
			v[2 * j + 1] = s->v[2 * k + 1];
		}
		free(s->v);
		s->v = v;
		s->cap = cap;
	}
	if (!s->cap)
		return 0;
	{
		uint64_t key[2] = {dev, ino};
		i = hash_fnv1a(key, 16) & (s->cap - 1);
	}
	for (;; i = (i + 1) & (s->cap - 1)) {
		if (!s->v[2 * i + 1]) {
			if (!add)
				return 0;
			s->v[2 * i] = dev;
			s->v[2 * i + 1] = ino;
			s->n++;
			return 1;
		}
		if (s->v[2 * i] == dev && s->v[2 * i + 1] == ino)
			return 1;
	}
}


static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void idmap_build(struct idmap *m, const struct evict_plan *plan)
{
	m->n = plan->n;
	m->v = xmalloc((plan->n ? plan->n : 1) * sizeof(*m->v));
	for (size_t i = 0; i < plan->n; i++)
		m->v[i] = (uint64_t)plan->paths[i].path_id << 32 | (uint32_t)i;
	qsort(m->v, m->n, sizeof(*m->v), cmp_u64);
}

/* The index of path id, or -1. */
int64_t idmap_find(const struct idmap *m, uint64_t id)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t k = m->v[mid] >> 32;
		if (k == id)
			return (int64_t)(m->v[mid] & 0xffffffffu);
		if (k < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}
