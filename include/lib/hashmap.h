/*
 * hashmap.h - one open-addressing hash index for every table in the tree.
 *
 * Layer: lib (libc only).
 *
 * The map does not own keys or values: the caller keeps its items in its
 * own array (paths, URLs, rows, ...) and the map holds, per slot, an item
 * number (the index into that array) and 32 bits of the item's hash.  So
 * one shape serves integer keys, byte-string keys and composite keys: the
 * caller hashes the key (lib/hash.h) and says, through an equality
 * callback, whether item i has the key it looks for.  Items stay where
 * the caller put them; the map only grows (linear probing, at most half
 * full, power-of-two size), there is no removal.
 *
 * The lookup functions are inline so that a constant callback is inlined
 * too: a probe costs what the hand-written loops it replaces cost.
 *
 * Lifecycle: struct hashmap m = HASHMAP_INIT; ... hashmap_release(&m).
 */
#ifndef CACHEGC_HASHMAP_H
#define CACHEGC_HASHMAP_H

#include <stddef.h>
#include <stdint.h>

#define HASHMAP_NONE UINT32_MAX

struct hashmap_slot {
	uint32_t item;          /* item number + 1; 0 = empty */
	uint32_t hash;          /* low 32 bits of the item's hash */
};

struct hashmap {
	struct hashmap_slot *slots;
	size_t nslots;          /* 0 or a power of two */
	size_t count;
};
#define HASHMAP_INIT {NULL, 0, 0}

/* Whether the caller's item number item has the key key points to. */
typedef int (*hashmap_eq_fn)(const void *ctx, uint32_t item, const void *key);

/* Make room for n items in all (so that n inserts do not regrow).  May
 * reallocate m->slots.  Dies (a BUG-like limit no input reaches before
 * memory runs out) beyond 2^31 items. */
void hashmap_reserve(struct hashmap *m, size_t n);
/* Free the slots; m is HASHMAP_INIT again. */
void hashmap_release(struct hashmap *m);

/* The slot where hash's probe sequence starts; internal to the inlines. */
static inline size_t hashmap_home_(const struct hashmap *m, uint64_t hash)
{
	return (size_t)hash & (m->nslots - 1);
}

/* The item number with key (hashed as hash), or HASHMAP_NONE. */
static inline uint32_t hashmap_find(const struct hashmap *m, uint64_t hash, hashmap_eq_fn eq,
				    const void *ctx, const void *key)
{
	size_t mask, i;

	if (!m->nslots)
		return HASHMAP_NONE;
	mask = m->nslots - 1;
	for (i = hashmap_home_(m, hash); m->slots[i].item; i = (i + 1) & mask)
		if (m->slots[i].hash == (uint32_t)hash && eq(ctx, m->slots[i].item - 1, key))
			return m->slots[i].item - 1;
	return HASHMAP_NONE;
}

/* Add item number item (< HASHMAP_NONE) with hash, without looking for
 * an equal key: for items the caller knows are new.  Items with equal keys
 * may be added; hashmap_find() then returns the first added while the map
 * has not grown since (hashmap_reserve() first to keep that order).  May
 * reallocate m->slots. */
static inline void hashmap_add(struct hashmap *m, uint64_t hash, uint32_t item)
{
	size_t mask, i;

	if ((m->count + 1) * 2 > m->nslots)
		hashmap_reserve(m, m->count + 1);
	mask = m->nslots - 1;
	for (i = hashmap_home_(m, hash); m->slots[i].item; i = (i + 1) & mask)
		;
	m->slots[i].item = item + 1;
	m->slots[i].hash = (uint32_t)hash;
	m->count++;
}

/* The item number with key when there is one; else add item (the number
 * the caller will give the new item) and return it.  The caller tells the
 * two apart by comparing with item.  May reallocate m->slots. */
static inline uint32_t hashmap_put(struct hashmap *m, uint64_t hash, hashmap_eq_fn eq,
				   const void *ctx, const void *key, uint32_t item)
{
	size_t mask, i;

	if ((m->count + 1) * 2 > m->nslots)
		hashmap_reserve(m, m->count + 1);
	mask = m->nslots - 1;
	for (i = hashmap_home_(m, hash); m->slots[i].item; i = (i + 1) & mask)
		if (m->slots[i].hash == (uint32_t)hash && eq(ctx, m->slots[i].item - 1, key))
			return m->slots[i].item - 1;
	m->slots[i].item = item + 1;
	m->slots[i].hash = (uint32_t)hash;
	m->count++;
	return item;
}

#endif
