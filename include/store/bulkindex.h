/*
 * bulkindex.h - secondary indexes a bulk load leaves out and builds once
 * at its end.
 *
 * Layer: store.  Filling an empty eval_jobs keeps two indexes on columns
 * in no useful order (path_id, drv_id): maintaining them row by row
 * costs more than all the rest of import-eval's rows (at 10^5 paths 23 s
 * of CPU with them, 9.6 s without and 1.7 s to build them after).  So a
 * first import drops them while it writes and builds them at the end.
 * A kill in between leaves them missing; every writable open builds
 * what is missing (db_open), so a reader never needs them to be right,
 * only to be fast.
 */
#ifndef CACHEGC_BULKINDEX_H
#define CACHEGC_BULKINDEX_H

struct db;

/* Drop eval_jobs' secondary indexes when the table is empty, inside the
 * caller's write transaction (so they come back if it rolls back).
 * *deferred says whether it did.  0, or -1 (reported). */
int db_indexes_defer(struct db *db, int *deferred);

/* Build each deferrable index that is missing (in one transaction).
 * *built (may be NULL) counts them.  0, or -1 (reported). */
int db_indexes_restore(struct db *db, int *built);

#endif
