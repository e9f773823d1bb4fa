/*
 * u64map.c - 64-bit keys to 32-bit values (see u64map.h).
 */
#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"
#include "lib/u64map.h"
#include "lib/util.h"

uint32_t *u64map_get(struct u64map *m, uint64_t key)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		uint64_t *k = xcalloc(cap, sizeof(*k));
		uint32_t *v = xmalloc(cap * sizeof(*v));

		for (size_t j = 0; j < m->cap; j++) {
			if (!m->k[j])
				continue;
			for (i = hash_mix64(m->k[j]) & (cap - 1); k[i]; i = (i + 1) & (cap - 1))
				;
			k[i] = m->k[j];
			v[i] = m->v[j];
		}
		free(m->k);
		free(m->v);
		m->k = k;
		m->v = v;
		m->cap = cap;
	}
	for (i = hash_mix64(key) & (m->cap - 1); m->k[i]; i = (i + 1) & (m->cap - 1))
		if (m->k[i] == key)
			return &m->v[i];
	m->k[i] = key;
	m->v[i] = U64MAP_NEW;
	m->n++;
	return &m->v[i];
}

void u64map_release(struct u64map *m)
{
	free(m->k);
	free(m->v);
	memset(m, 0, sizeof(*m));
}
