/*
 * apply.c - applying a stored plan to a cache directory: the run and its
 * journal (evict_runs, evict_journal), so a killed run is finished or
 * undone safely, and the deletion of each planned path's narinfo, .ls and
 * NAR, closure-safe and never a file a narinfo that stays may name.  The
 * scan before it is in apply_scan.c.  See evict.h.
 */
#include "evict_private.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/db.h"
#include "store/refs.h"
#include "store/stmt.h"
#include "nix/narinfo.h"
#include "nix/nixhash.h"
#include "lib/util.h"

enum {
	Q_PATH_REFS,
	Q_JOURNAL_LOAD,
	Q_JOURNAL_PUT,
	Q_RUNS_INTERRUPT,
	Q_RUN_ADD,
	Q_PLAN_APPLYING,
	Q_RUN_END,
	Q_PLAN_APPLIED,
	Q_N
};
static const char *const sql[Q_N] = {
	[Q_PATH_REFS] = "SELECT refs FROM narinfos WHERE cache_id = ?1 AND path_id = ?2",
	[Q_JOURNAL_LOAD] =
		"SELECT path_id, url, object, state FROM evict_journal WHERE plan_id = ?1"
		" AND ((kind = 'narinfo' AND url IS NOT NULL) OR state = 'intent')",
	[Q_JOURNAL_PUT] =
		"INSERT INTO evict_journal (plan_id, object, kind, path_id, url, state, detail,"
		" run_id, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
		" ON CONFLICT (plan_id, object) DO UPDATE SET state = excluded.state,"
		" url = coalesce(excluded.url, url), detail = excluded.detail,"
		" run_id = excluded.run_id, at = excluded.at",
	/* This run holds the directory's exclusive lock (flock, taken
	 * before): a run of it still 'running' was killed, as a crawl marks
	 * the crawls of its cache a killed crawl left 'running'. */
	[Q_RUNS_INTERRUPT] =
		"UPDATE evict_runs SET status = 'interrupted' WHERE dir = ?1 AND status = 'running'",
	[Q_RUN_ADD] =
		"INSERT INTO evict_runs (plan_id, dir, started_at, status) VALUES (?1, ?2, ?3, 'running')",
	[Q_PLAN_APPLYING] =
		"UPDATE evict_plans SET status = 'applying' WHERE id = ?1 AND status = 'planned'",
	[Q_RUN_END] =
		"UPDATE evict_runs SET finished_at = ?2, status = ?3, n_deleted = ?4,"
		" n_refused = ?5, n_held = ?6 WHERE id = ?1",
	[Q_PLAN_APPLIED] =
		"UPDATE evict_plans SET status = 'applied', applied_at = ?2 WHERE id = ?1",
};
static struct stmt_table stmts = STMT_TABLE("evict-apply", sql);

volatile int evict_interrupted;

static void emit(struct applier *a, size_t i, int action, int kind, const char *object,
		 int64_t bytes, const char *detail)
{
	struct evict_event ev;
	struct strbuf path = STRBUF_INIT;

	if (!a->o->fn)
		return;
	strbuf_addf(&path, "%s/%s", a->plan.store_dir, a->plan.paths[i].base);
	ev.action = action;
	ev.kind = kind;
	ev.object = object;
	ev.path = path.buf;
	ev.bytes = bytes;
	ev.detail = detail;
	a->o->fn(a->o->ctx, &ev);
	strbuf_release(&path);
}

/* References of planned paths as recorded, for narinfos the scan could
 * not read (a refused path still keeps what it references). */
static int db_refs(struct applier *a)
{
	for (size_t i = 0; i < a->plan.n; i++) {
		struct apply_path *t = &a->ap[i];
		sqlite3_stmt *st;
		const char *r;
		if (!t->present || t->nrefs)
			continue;
		if (!(st = stmt_query(a->db, &stmts, Q_PATH_REFS,
				      SQL_ARGS(a->plan.cache_id, a->plan.paths[i].path_id))))
			return -1;
		if (db_step(a->db, st) == 1) {
			struct refs_iter it;
			uint32_t id;
			int more;
			refs_iter_init(&it, r = db_col_text(st, 0));
			while ((more = refs_next(&it, &id)) == 1) {
				int64_t k = idmap_find(&a->ids, id);
				if (k >= 0 && (size_t)k != i) {
					GROW(t->refs, t->arefs, t->nrefs + 1);
					t->refs[t->nrefs++] = (uint32_t)k;
				}
			}
			if (more < 0) {
				refs_malformed(a->db, a->plan.paths[i].path_id, r);
				stmt_done(st);
				return -1;
			}
		}
		stmt_done(st);
	}
	return 0;
}

/* What earlier runs of the plan journaled: the NAR URL each deleted
 * narinfo named, and the objects a killed run was about to delete. */
static int journal_load(struct applier *a)
{
	sqlite3_stmt *st = stmt_query(a->db, &stmts, Q_JOURNAL_LOAD, SQL_ARGS(a->plan.id));
	int rc;

	if (!st)
		return -1;
	while ((rc = db_step(a->db, st)) == 1) {
		int64_t k = idmap_find(&a->ids, (uint64_t)sqlite3_column_int64(st, 0));
		const char *object = db_col_text(st, 2);
		if (!strcmp(db_col_text(st, 3), "intent"))
			strmap_get(&a->intents, object, strlen(object), 1);
		if (k < 0 || sqlite3_column_type(st, 1) == SQLITE_NULL)
			continue;
		free(a->ap[k].url);
		a->ap[k].url = xstrdup(db_col_text(st, 1));
	}
	return rc < 0 ? -1 : 0;
}

static int journal(struct applier *a, const char *object, int kind, uint32_t path_id,
		   const char *url, const char *state, const char *detail)
{
	/* Outside a transaction each statement commits on its own: the
	 * intent is in the WAL before the unlink happens. */
	return stmt_exec(a->db, &stmts, Q_JOURNAL_PUT,
			 SQL_ARGS(a->plan.id, object, evict_kind_name(kind), path_id, url, state,
				  detail, a->r->run_id, a->now));
}

/*
 * Delete object (name in parent fd pfd) write-ahead: intent, unlink, done.
 * A file already missing counts as done.  Returns 0 or -1 (reported).
 */
static int remove_file(struct applier *a, size_t i, int pfd, const char *name,
		       const char *object, int kind, const char *url, int64_t bytes)
{
	uint32_t pid = a->plan.paths[i].path_id;
	int missing = 0;

	if (a->o->apply) {
		if (journal(a, object, kind, pid, url, "intent", NULL))
			return -1;
		sleep_ms(a->o->step_delay_ms, &evict_interrupted);
		if (unlinkat(pfd, name, 0)) {
			if (errno != ENOENT)
				return error("cannot delete '%s/%s': %s; the plan is not finished, "
					     "run it again once this is fixed", a->r->dir, object,
					     strerror(errno));
			missing = 1;
		}
		if (journal(a, object, kind, pid, url, "done", missing ? "already missing" : NULL))
			return -1;
	}
	emit(a, i, missing ? EVICT_GONE : EVICT_DELETE, kind, object, bytes, NULL);
	if (missing) {
		a->r->gone++;
		return 0;
	}
	a->r->deleted++;
	if (bytes > 0)
		a->r->deleted_bytes += (uint64_t)bytes;
	if (kind == EVICT_NARINFO)
		a->r->narinfos++;
	else if (kind == EVICT_NAR)
		a->r->nars++;
	return 0;
}

/*
 * A planned file found missing: report it, and when a killed run had
 * journaled its intent (and was killed after the unlink), record it done.
 */
static int settle(struct applier *a, size_t i, const char *object, int kind, int report)
{
	struct strmap_ent *e = strmap_get(&a->intents, object, strlen(object), 0);

	if (report) {
		emit(a, i, EVICT_GONE, kind, object, -1, NULL);
		a->r->gone++;
	}
	if (!e || !a->o->apply)
		return 0;
	return journal(a, object, kind, a->plan.paths[i].path_id, NULL, "done", "already missing");
}

static int process(struct applier *a, size_t i)
{
	struct apply_path *t = &a->ap[i];
	const char *hash = a->plan.paths[i].base, *base;
	char name[STORE_HASH_LEN + 9];
	struct strmap_ent *e;
	struct stat st;
	int pfd, rc;

	if (t->held || t->refused) {
		emit(a, i, t->held ? EVICT_HELD : EVICT_REFUSED, EVICT_NARINFO, NULL, -1, t->why);
		if (t->held)
			a->r->held++;
		else
			a->r->refused++;
		if (t->refused && a->o->apply) {
			memcpy(name, hash, STORE_HASH_LEN);
			memcpy(name + STORE_HASH_LEN, ".narinfo", 9);
			return journal(a, name, EVICT_NARINFO, a->plan.paths[i].path_id, NULL,
				       "refused", t->why);
		}
		return 0;
	}
	memcpy(name, hash, STORE_HASH_LEN);
	memcpy(name + STORE_HASH_LEN, ".narinfo", 9);
	if (t->present) {
		if (remove_file(a, i, a->dfd, name, name, EVICT_NARINFO, t->url, t->narinfo_bytes))
			return -1;
		if (t->nar && (e = strmap_get(&a->pending, t->nar, strlen(t->nar), 0)))
			e->val--;
	} else if (settle(a, i, name, EVICT_NARINFO, 1)) {
		return -1;
	}
	memcpy(name + STORE_HASH_LEN, ".ls", 4);
	if (t->ls_present) {
		if (remove_file(a, i, a->dfd, name, name, EVICT_LS, NULL, t->ls_bytes))
			return -1;
	} else if (settle(a, i, name, EVICT_LS, 0)) {
		return -1;
	}
	if (!t->nar_ok) {
		/* The narinfo was gone before and its NAR URL is unusable. */
		emit(a, i, EVICT_REFUSED, EVICT_NAR, t->url, -1, t->why);
		return 0;
	}
	if (a->uncertain) {
		emit(a, i, EVICT_REFUSED, EVICT_NAR, t->nar, -1, a->uncertain);
		return 0;
	}
	if ((e = strmap_get(&a->pending, t->nar, strlen(t->nar), 0)) && e->val > 0) {
		emit(a, i, EVICT_DEFERRED, EVICT_NAR, t->nar, -1,
		     "also named by a planned narinfo deleted later");
		return 0;
	}
	if (strmap_get(&a->kept_urls, t->nar, strlen(t->nar), 0)) {
		emit(a, i, EVICT_KEEP_SHARED, EVICT_NAR, t->nar, -1,
		     "used by a narinfo that stays");
		a->r->shared++;
		return 0;
	}
	pfd = apply_open_parent(a->dfd, t->nar, &base);
	if (pfd < 0) {
		if (errno == ENOENT)
			return settle(a, i, t->nar, EVICT_NAR, 1);
		emit(a, i, EVICT_REFUSED, EVICT_NAR, t->nar, -1,
		     "a directory on the way is a symbolic link or not a directory");
		return 0;
	}
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW)) {
		rc = settle(a, i, t->nar, EVICT_NAR, 1);
	} else if (!S_ISREG(st.st_mode)) {
		emit(a, i, EVICT_REFUSED, EVICT_NAR, t->nar, -1,
		     "a symbolic link or not a regular file");
		rc = 0;
	} else if (inoset_op(&a->kept_inodes, (uint64_t)st.st_dev, (uint64_t)st.st_ino, 0)) {
		emit(a, i, EVICT_KEEP_SHARED, EVICT_NAR, t->nar, -1,
		     "the same file as a NAR that stays");
		a->r->shared++;
		rc = 0;
	} else {
		rc = remove_file(a, i, pfd, base, t->nar, EVICT_NAR, NULL, (int64_t)st.st_size);
	}
	close(pfd);
	return rc;
}

static int check_cache_info(struct applier *a, const char *dir)
{
	struct nix_cache_info ci;
	struct narinfo_error err;
	char *buf;
	size_t len;
	int fd, ret;

	fd = openat(a->dfd, "nix-cache-info", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if (a->o->dir)
			return error("'%s' has no nix-cache-info: not a binary cache directory", dir);
		warning("'%s' has no nix-cache-info", dir);
		return 0;
	}
	if (fd < 0 || read_fd_capped(fd, 64 * 1024, &buf, &len, NULL)) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return error("cannot read '%s/nix-cache-info': %s", dir, strerror(e));
	}
	close(fd);
	if (nix_cache_info_parse(buf, len, &ci, &err)) {
		free(buf);
		return error("%s/nix-cache-info:%u: %s", dir, err.line, err.msg);
	}
	free(buf);
	ret = 0;
	if (strcmp(ci.store_dir, a->plan.store_dir))
		ret = error("'%s' is a cache for the store %s, not %s", dir, ci.store_dir,
			    a->plan.store_dir);
	nix_cache_info_release(&ci);
	return ret;
}

static int run_begin(struct applier *a)
{
	if (db_begin(a->db))
		return -1;
	if (stmt_exec(a->db, &stmts, Q_RUNS_INTERRUPT, SQL_ARGS(a->r->dir)))
		goto fail;
	if (stmt_exec(a->db, &stmts, Q_RUN_ADD, SQL_ARGS(a->plan.id, a->r->dir, a->now)))
		goto fail;
	a->r->run_id = db_last_id(a->db);
	if (stmt_exec(a->db, &stmts, Q_PLAN_APPLYING, SQL_ARGS(a->plan.id)) ||
	    db_commit(a->db))
		goto fail;
	return 0;
fail:
	db_rollback(a->db);
	return -1;
}

static int run_end(struct applier *a, const char *status)
{
	if (db_begin(a->db))
		return -1;
	if (stmt_exec(a->db, &stmts, Q_RUN_END,
		      SQL_ARGS(a->r->run_id, clock_now(), status, (int64_t)a->r->deleted,
			       (int64_t)a->r->refused, (int64_t)a->r->held)))
		goto fail;
	if (!strcmp(status, "complete") &&
	    stmt_exec(a->db, &stmts, Q_PLAN_APPLIED, SQL_ARGS(a->plan.id, clock_now())))
		goto fail;
	return db_commit(a->db);
fail:
	db_rollback(a->db);
	return -1;
}

void evict_apply_result_release(struct evict_apply_result *r)
{
	free(r->dir);
	memset(r, 0, sizeof(*r));
}

int evict_apply(struct db *db, const struct evict_apply_opts *o, struct evict_apply_result *r)
{
	struct applier a;
	char real[PATH_MAX];
	const char *dir;
	int ret = -1, rc, begun = 0;
	size_t i;

	memset(r, 0, sizeof(*r));
	memset(&a, 0, sizeof(a));
	a.db = db;
	a.o = o;
	a.r = r;
	a.dfd = -1;
	a.now = clock_now();
	rc = evict_plan_load(db, o->plan_id, &a.plan);
	if (rc) {
		evict_plan_release(&a.plan);
		return rc;
	}
	if (o->dir) {
		dir = o->dir;
	} else if (!strncmp(a.plan.cache_url, "file://", 7)) {
		dir = a.plan.cache_url + 7;
	} else {
		error("plan %lld is for '%s', which is not a directory: cachegc can only list "
		      "the objects to delete there, or apply the plan to the directory behind "
		      "it (--dir)", (long long)o->plan_id, a.plan.cache_url);
		goto out;
	}
	if (!realpath(dir, real) ||
	    (a.dfd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		error("cannot open cache directory '%s': %s", dir, strerror(errno));
		goto out;
	}
	r->dir = xstrdup(real);
	if (flock(a.dfd, (o->apply ? LOCK_EX : LOCK_SH) | LOCK_NB)) {
		if (errno == EWOULDBLOCK)
			error("another 'cachegc evict' is working on '%s'; wait for it to end", real);
		else
			error("cannot lock '%s': %s", real, strerror(errno));
		goto out;
	}
	if (check_cache_info(&a, real))
		goto out;

	a.ap = xcalloc(a.plan.n ? a.plan.n : 1, sizeof(*a.ap));
	idmap_build(&a.ids, &a.plan);
	for (i = 0; i < a.plan.n; i++)
		strmap_get(&a.planned, a.plan.paths[i].base, STORE_HASH_LEN, 1)->val = (int64_t)i;
	if (journal_load(&a))
		goto out;
	if (o->apply) {
		if (run_begin(&a))
			goto out;
		begun = 1;
	}
	rc = apply_scan_dir(&a, real);
	if (rc < 0)
		goto out;
	if (rc > 0) {
		r->interrupted = 1;
		ret = 0;
		goto out;
	}
	if (db_refs(&a))
		goto out;
	for (i = 0; i < a.plan.n; i++)
		apply_precheck(&a, i);
	apply_propagate_held(&a);
	for (i = 0; i < a.plan.n; i++) {
		struct apply_path *t = &a.ap[i];
		if (!t->present)
			continue;
		if (a.uncertain && !t->held && !t->refused) {
			t->held = 1;
			free(t->why);
			t->why = xstrdup(a.uncertain);
		}
		if (t->held || t->refused) {
			/* it stays: every file any reading of it names stays */
			for (size_t k = 0; k < t->nurls; k++)
				apply_protect_value(&a, t->urls[k].s, t->urls[k].n);
		} else if (t->nar) {
			strmap_get(&a.pending, t->nar, strlen(t->nar), 1)->val++;
		}
	}
	for (i = 0; i < a.plan.n; i++) {
		if (evict_interrupted) {
			r->interrupted = 1;
			break;
		}
		if (process(&a, i))
			goto out;
	}
	r->complete = !r->interrupted && !r->refused && !r->held;
	ret = 0;
out:
	if (begun) {
		const char *status = ret ? "failed" : r->interrupted ? "interrupted"
				   : r->complete ? "complete" : "incomplete";
		if (run_end(&a, status))
			ret = -1;
	}
	if (a.dfd >= 0)
		close(a.dfd);
	for (i = 0; a.ap && i < a.plan.n; i++) {
		free(a.ap[i].url);
		free(a.ap[i].nar);
		free(a.ap[i].why);
		for (size_t k = 0; k < a.ap[i].nurls; k++)
			free(a.ap[i].urls[k].s);
		free(a.ap[i].urls);
		free(a.ap[i].refs);
	}
	free(a.ap);
	free(a.ids.v);
	strmap_release(&a.planned);
	strmap_release(&a.kept_urls);
	strmap_release(&a.pending);
	strmap_release(&a.intents);
	free(a.kept_inodes.v);
	free(a.uncertain);
	evict_plan_release(&a.plan);
	return ret;
}
