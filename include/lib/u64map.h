/*
 * u64map.h - a map from 64-bit keys to 32-bit values, for ids and packed
 * composite keys (the GC world's evaluation ids, the schedule's group
 * sets): open addressing, linear probing, at most half full, no removal.
 *
 * Layer: lib (libc only).
 *
 * Key 0 is not allowed (it marks an empty slot): callers add 1 or set a
 * bit.  Lifecycle: struct u64map m = U64MAP_INIT; ... u64map_release(&m).
 */
#ifndef CACHEGC_U64MAP_H
#define CACHEGC_U64MAP_H

#include <stddef.h>
#include <stdint.h>

#define U64MAP_NEW UINT32_MAX   /* the value of a key just added */

struct u64map {
	uint64_t *k;
	uint32_t *v;
	size_t n, cap;
};
#define U64MAP_INIT {NULL, NULL, 0, 0}

/* The value slot of key, added as U64MAP_NEW when the map lacks it.  The
 * pointer is valid until the next u64map_get. */
uint32_t *u64map_get(struct u64map *m, uint64_t key);
void u64map_release(struct u64map *m);

#endif
