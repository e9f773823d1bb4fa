/*
 * gc_private.h - what the files of src/analysis/gc/ share and gc.h does
 * not export.  Include it instead of analysis/gc.h inside gc/ only.
 */
#ifndef CACHEGC_GC_PRIVATE_H
#define CACHEGC_GC_PRIVATE_H

#include "analysis/gc.h"

/* No index: an empty slot, an unseen group, the end of a chain. */
#define NONE UINT32_MAX

#endif
