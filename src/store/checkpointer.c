/*
 * checkpointer.c - WAL checkpoints on a thread of their own (see
 * checkpointer.h).
 */
#include "store/checkpointer.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "lib/util.h"

/* Wake the checkpointer once the log holds this many pages (16 MiB of
 * 4 KiB pages): fewer, larger checkpoints cost fewer fsyncs. */
#define CKPT_START_PAGES 4096
/* A commit that leaves more than this in the log (256 MiB) waits for a
 * whole checkpoint, so that the log restarts. */
#define CKPT_WAIT_PAGES 65536

struct ckpt {
	struct db *db;
	sqlite3 *h;                 /* the checkpointer's own connection */
	int autockpt;               /* db's wal_autocheckpoint, given back */
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t wake, done_cv;
	/* Guarded by mu: commits seen, the last one asked to be checkpointed,
	 * the last one a checkpoint finished after; stop. */
	unsigned long commits, want, done;
	int stop;
	int start_pages, wait_pages;
};

static void *ckpt_main(void *arg)
{
	struct ckpt *ck = arg;

	pthread_mutex_lock(&ck->mu);
	for (;;) {
		unsigned long gen;
		int log = 0, copied = 0;

		while (!ck->stop && ck->want <= ck->done)
			pthread_cond_wait(&ck->wake, &ck->mu);
		if (ck->want <= ck->done)
			break;   /* stopping, nothing asked */
		gen = ck->want;
		pthread_mutex_unlock(&ck->mu);
		/* PASSIVE: copies what no reader needs, never waits for the
		 * writer or a reader; whatever it leaves the next one (or
		 * the last connection's close) takes. */
		sqlite3_wal_checkpoint_v2(ck->h, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
		pthread_mutex_lock(&ck->mu);
		ck->done = gen;
		pthread_cond_broadcast(&ck->done_cv);
	}
	pthread_mutex_unlock(&ck->mu);
	return NULL;
}

/* After each commit of db, on the writer's thread. */
static int ckpt_hook(void *arg, sqlite3 *h, const char *name, int pages)
{
	struct ckpt *ck = arg;

	(void)h;
	(void)name;
	pthread_mutex_lock(&ck->mu);
	ck->commits++;
	if (pages >= ck->start_pages) {
		ck->want = ck->commits;
		pthread_cond_signal(&ck->wake);
	}
	/* (The thread ends only in ckpt_stop(), after the hook is gone.) */
	while (pages >= ck->wait_pages && ck->done < ck->commits)
		pthread_cond_wait(&ck->done_cv, &ck->mu);
	pthread_mutex_unlock(&ck->mu);
	return SQLITE_OK;
}

static int autocheckpoint_of(sqlite3 *h)
{
	sqlite3_stmt *st;
	int v = 1000;   /* SQLite's default */

	if (sqlite3_prepare_v2(h, "PRAGMA wal_autocheckpoint", -1, &st, NULL) != SQLITE_OK)
		return v;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int in_wal_mode(sqlite3 *h)
{
	sqlite3_stmt *st;
	int wal = 0;

	if (sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &st, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *m = sqlite3_column_text(st, 0);
		wal = m && !strcmp((const char *)m, "wal");
	}
	sqlite3_finalize(st);
	return wal;
}

struct ckpt *ckpt_start(struct db *db)
{
	return ckpt_start_at(db, CKPT_START_PAGES, CKPT_WAIT_PAGES);
}

struct ckpt *ckpt_start_at(struct db *db, int start_pages, int wait_pages)
{
	struct ckpt *ck;
	int e;

	if (!db || !db->h || db->readonly || !db->path || !in_wal_mode(db->h))
		return NULL;
	ck = xcalloc(1, sizeof(*ck));
	ck->db = db;
	ck->start_pages = start_pages;
	/* A commit waits only for a checkpoint it has asked for. */
	ck->wait_pages = wait_pages < start_pages ? start_pages : wait_pages;
	if (sqlite3_open_v2(db->path, &ck->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		warning("database '%s': cannot open a second connection for checkpoints (%s); "
			"the writer checkpoints itself", db->path,
			ck->h ? sqlite3_errmsg(ck->h) : "out of memory");
		sqlite3_close(ck->h);
		free(ck);
		return NULL;
	}
	/* A first read opens the connection's log (a checkpoint on a
	 * connection that has read nothing does nothing in some SQLites). */
	sqlite3_busy_timeout(ck->h, 5000);
	if (sqlite3_exec(ck->h, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		warning("database '%s': cannot read it on a second connection for checkpoints "
			"(%s); the writer checkpoints itself", db->path, sqlite3_errmsg(ck->h));
		sqlite3_close(ck->h);
		free(ck);
		return NULL;
	}
	pthread_mutex_init(&ck->mu, NULL);
	pthread_cond_init(&ck->wake, NULL);
	pthread_cond_init(&ck->done_cv, NULL);
	if ((e = pthread_create(&ck->th, NULL, ckpt_main, ck))) {
		warning("database '%s': cannot start a thread for checkpoints (%s); the writer "
			"checkpoints itself", db->path, strerror(e));
		pthread_mutex_destroy(&ck->mu);
		pthread_cond_destroy(&ck->wake);
		pthread_cond_destroy(&ck->done_cv);
		sqlite3_close(ck->h);
		free(ck);
		return NULL;
	}
	ck->autockpt = autocheckpoint_of(db->h);
	/* Replaces SQLite's own hook, the one that checkpoints in commits. */
	sqlite3_wal_hook(db->h, ckpt_hook, ck);
	return ck;
}

void ckpt_stop(struct ckpt *ck)
{
	if (!ck)
		return;
	/* Commits checkpoint themselves again from here on. */
	sqlite3_wal_autocheckpoint(ck->db->h, ck->autockpt);
	pthread_mutex_lock(&ck->mu);
	ck->stop = 1;
	pthread_cond_signal(&ck->wake);
	pthread_mutex_unlock(&ck->mu);
	pthread_join(ck->th, NULL);
	pthread_mutex_destroy(&ck->mu);
	pthread_cond_destroy(&ck->wake);
	pthread_cond_destroy(&ck->done_cv);
	sqlite3_close(ck->h);
	free(ck);
}
