/*
 * hashmap.c - growth of the open-addressing index (lookups are inline in
 * lib/hashmap.h).
 */
#include "lib/hashmap.h"

#include <stdlib.h>

#include "lib/util.h"

void hashmap_reserve(struct hashmap *m, size_t n)
{
	struct hashmap_slot *slots;
	size_t nslots = m->nslots ? m->nslots : 16, mask;

	if (n > (size_t)1 << 31)
		die("hash map: more than 2^31 entries");
	while (n * 2 > nslots)
		nslots *= 2;
	if (nslots == m->nslots)
		return;
	/* Items move in the order of their old slots; the stored hash bits
	 * give their new home, so no callback is needed. */
	slots = xcalloc(nslots, sizeof(*slots));
	mask = nslots - 1;
	for (size_t k = 0; k < m->nslots; k++) {
		size_t i;
		if (!m->slots[k].item)
			continue;
		for (i = m->slots[k].hash & mask; slots[i].item; i = (i + 1) & mask)
			;
		slots[i] = m->slots[k];
	}
	free(m->slots);
	m->slots = slots;
	m->nslots = nslots;
}

void hashmap_release(struct hashmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->nslots = m->count = 0;
}
