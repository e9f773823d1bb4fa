/*
 * store_ch.c - a command on a ClickHouse store (cli/store_ch.h).
 *
 * The commands that work on one so far: crawl writes there; closure and
 * export read from there.  The others say so rather than run on a copy
 * that lacks what they read (evaluations, builds, access logs are not
 * in a ClickHouse store yet).
 */
#include "cli/store_ch.h"

#include <errno.h>
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "store/clickhouse.h"
#include "store/clickhouse_sync.h"
#include "store/db.h"
#include "lib/util.h"

static const char *const writers[] = {"crawl", NULL};
static const char *const readers[] = {"closure", "export", NULL};

static int listed(const char *const *l, const char *name)
{
	for (; *l; l++)
		if (!strcmp(*l, name))
			return 1;
	return 0;
}

#define SCRATCH_PREFIX "cachegc-clickhouse."

static void remove_scratch(const char *dir)
{
	struct strbuf p = STRBUF_INIT;

	strbuf_addf(&p, "%s/scratch.db", dir);
	db_discard_new(p.buf);
	strbuf_release(&p);
	rmdir(dir);
}

/* The scratch directories of runs killed before they removed theirs
 * (SCRATCH_PREFIX PID.XXXXXX in tmp, ours, that process gone). */
static void remove_stale(const char *tmp)
{
	DIR *d = opendir(tmp);
	struct dirent *e;
	struct strbuf p = STRBUF_INIT;

	if (!d)
		return;
	while ((e = readdir(d))) {
		const char *s = e->d_name;
		char *end;
		long pid;
		struct stat st;

		if (strncmp(s, SCRATCH_PREFIX, strlen(SCRATCH_PREFIX)))
			continue;
		pid = strtol(s + strlen(SCRATCH_PREFIX), &end, 10);
		if (pid <= 0 || *end != '.')
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;  /* alive (or not ours to ask about) */
		strbuf_reset(&p);
		strbuf_addf(&p, "%s/%s", tmp, s);
		if (!lstat(p.buf, &st) && S_ISDIR(st.st_mode) && st.st_uid == geteuid())
			remove_scratch(p.buf);
	}
	closedir(d);
	strbuf_release(&p);
}

int ch_run_command(const struct cmd *c, const char *url, int argc, char **argv)
{
	int write = listed(writers, c->name), rc = 1, opened = 0;
	struct ch ch;
	struct db db;
	struct cmd_ctx ctx = {0};
	char dir[4096];
	const char *tmp = getenv("TMPDIR");
	struct strbuf path = STRBUF_INIT;
	int64_t before = 0;
	unsigned shipped = 0;

	if (!write && !listed(readers, c->name)) {
		error("'cachegc %s' does not work on a ClickHouse store yet (crawl, closure and "
		      "export do); give it a SQLite --db", c->name);
		return 1;
	}
	/* A sharded crawl's rows (crawl_shards, one crawls row shared by
	 * processes) have no place in the store's tables yet. */
	for (int i = 1; write && i < argc && strcmp(argv[i], "--"); i++)
		if (!strncmp(argv[i], "--shard", 7) || !strncmp(argv[i], "--crawl-id", 10)) {
			error("'crawl %.*s' does not work on a ClickHouse store yet; crawl the "
			      "shards into SQLite databases, or crawl the whole cache into the store",
			      (int)strcspn(argv[i], "="), argv[i]);
			return 1;
		}
	if (ch_open(&ch, url))
		return 1;
	if (ch_prepare(&ch, write))
		goto out;
	if (!tmp || !*tmp)
		tmp = "/tmp";
	remove_stale(tmp);
	snprintf(dir, sizeof(dir), "%s/" SCRATCH_PREFIX "%ld.XXXXXX", tmp, (long)getpid());
	if (!mkdtemp(dir)) {
		error("cannot make a scratch directory '%s': %s", dir, strerror(errno));
		goto out;
	}
	strbuf_addf(&path, "%s/scratch.db", dir);
	if (db_open(&db, path.buf, DB_OPEN_WRITE))
		goto out_dir;
	opened = 1;
	if (ch_pull(&ch, &db) || ch_last_crawl(&db, &before))
		goto out_dir;
	ctx.db_path = url;
	ctx.db = &db;
	rc = c->run(&ctx, argc, argv);
	if (write && ch_push(&ch, &db, before, &shipped) && !rc)
		rc = 1;
out_dir:
	if (opened)
		db_close(&db);
	db_discard_new(path.buf);
	if (rmdir(dir) && errno != ENOENT)
		warning("cannot remove the scratch directory '%s': %s", dir, strerror(errno));
out:
	ch_close(&ch);
	strbuf_release(&path);
	return rc;
}
