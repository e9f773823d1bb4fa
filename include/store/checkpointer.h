/*
 * checkpointer.h - WAL checkpoints on a thread of their own, for a bulk
 * writer.
 *
 * Layer: store.  SQLite checkpoints the write-ahead log in the commit
 * that takes it past wal_autocheckpoint pages: the writer copies the log
 * into the DB file and waits for two fsyncs, and a crawl of 200,000
 * narinfos spent about 0.6 s of its 4.4 s so.  While a checkpointer runs,
 * commits only wake it: it checkpoints (PASSIVE) from its own connection,
 * which SQLite allows beside a writer, and the writer goes on.
 *
 * The log restarts from its beginning only in a transaction that begins
 * when it is wholly checkpointed; a writer that never pauses would grow it
 * without end.  So a commit that leaves the log larger than
 * 256 MiB waits for a checkpoint of everything committed: then
 * its next transaction restarts the log.  Crash safety is SQLite's own:
 * which connection checkpoints changes nothing in what a commit means.
 */
#ifndef CACHEGC_CHECKPOINTER_H
#define CACHEGC_CHECKPOINTER_H

struct db;
struct ckpt;

/* Start checkpointing db's log on a thread (db opened for writing, in
 * WAL mode); NULL when that cannot be done, said as a warning, and then
 * SQLite's own checkpoints go on as before.  Call ckpt_stop() before
 * db_close(). */
struct ckpt *ckpt_start(struct db *db);

/* ckpt_start with other sizes of the log, in pages: wake the thread at
 * start_pages, make a commit wait at wait_pages (ckpt_start: 4096 and
 * 65536, 16 and 256 MiB of 4 KiB pages).  For tests. */
struct ckpt *ckpt_start_at(struct db *db, int start_pages, int wait_pages);

/* Wait for the checkpoint under way, stop the thread, close its
 * connection and give checkpoints back to db's commits.  NULL: nothing. */
void ckpt_stop(struct ckpt *ck);

#endif
