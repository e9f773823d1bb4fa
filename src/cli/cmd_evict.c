/*
 * cmd_evict.c - `cachegc evict --plan ID [--apply]`: carry out a stored
 * eviction plan on a cache directory, or list the object keys to delete
 * for an HTTP cache.  The work is in evict.c.
 */
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "store/db.h"
#include "store/records.h"
#include "analysis/evict.h"
#include "lib/util.h"

struct evict_cli {
	uint64_t plan;     /* 0: not given */
	const char *dir;
	int apply, json;
};

static const struct option evict_options[] = {
	OPT_COUNT("plan", struct evict_cli, plan, "ID", 1, INT64_MAX, "a plan id",
		 "the plan to carry out (required)"),
	OPT_FLAG("apply", 0, struct evict_cli, apply, "delete (default: a dry run)"),
	OPT_PATH("dir", struct evict_cli, dir, "DIR",
		 "work on DIR, the directory holding the plan's cache (say, the\n"
		 "one an HTTP cache serves) instead of the plan's file:// URL;\n"
		 "DIR must have a nix-cache-info for the database's store"),
	OPT_FLAG("json", 0, struct evict_cli, json,
		 "{\"plan\", \"dir\", \"apply\", \"complete\", \"deleted\",\n"
		 "\"deletedBytes\", \"narinfos\", \"nars\", \"shared\", \"gone\",\n"
		 "\"refused\", \"held\", \"interrupted\", \"actions\": [{\"action\",\n"
		 "\"kind\", \"object\", \"path\", \"bytes\", \"detail\"}]}; for an HTTP\n"
		 "cache {\"plan\", \"cache\", \"keys\": [...], \"actions\": [...]}"),
	OPT_HELP("this text"),
	OPT_TEXT("\n"
		 "environment:\n"
		 "  CACHEGC_EVICT_STEP_DELAY_MS  sleep this long before each deletion (for\n"
		 "              tests that kill a run half-way)\n"),
	OPT_END(),
};

static const struct opt_parser evict_parser = {
	.name = "evict",
	.usage = "usage: cachegc evict --plan ID [--apply] [--dir DIR] [--json]\n"
		 "\n"
		 "Carry out an eviction plan made by 'cachegc plan evict'.\n"
		 "\n"
		 "On a file:// cache (or with --dir), every narinfo in the directory is read\n"
		 "first: to learn which NARs other narinfos still use, and whether a path\n"
		 "pushed since the plan references a planned one (that path and all it\n"
		 "references are then kept: 'held').  Then, in plan order, each planned\n"
		 "path's <hash>.narinfo is deleted, then its <hash>.ls, then its NAR when no\n"
		 "remaining narinfo uses the same file.  A path whose NAR URL leaves the cache\n"
		 "directory ('..', an absolute path, a symbolic link on the way) or whose\n"
		 "files are not regular files is refused and left whole.  Every deletion is\n"
		 "journaled in the database before it happens: a run killed at any point is\n"
		 "finished by running the same command again, and never deletes anything the\n"
		 "plan does not name.  Do not push to the cache while a plan is applied.\n"
		 "The next 'cachegc crawl' of the cache records the evicted paths as gone.\n"
		 "\n"
		 "Without --apply this is a dry run: it lists what would be deleted and\n"
		 "changes nothing.\n"
		 "\n"
		 "For an HTTP cache (without --dir), the object keys to delete are printed,\n"
		 "one per line on stdout (NARs another narinfo still uses are left out and\n"
		 "noted on stderr); nothing is deleted.\n"
		 "\n"
		 "options:\n",
	.opts = evict_options,
	.column = 14,
	.flags = PARSE_NO_ARGS,
};

extern const struct cmd cmd_evict;

static void on_signal(int sig)
{
	(void)sig;
	evict_interrupted = 1;
}

static const char *action_name(int action, int apply)
{
	switch (action) {
	case EVICT_DELETE: return apply ? "deleted" : "delete";
	case EVICT_GONE: return "gone";
	case EVICT_KEEP_SHARED: return "keep";
	case EVICT_DEFERRED: return "later";
	case EVICT_REFUSED: return "refused";
	case EVICT_HELD: return "held";
	}
	return "?";
}

static const char *action_json(int action)
{
	switch (action) {
	case EVICT_DELETE: return "delete";
	case EVICT_GONE: return "gone";
	case EVICT_KEEP_SHARED: return "keep-shared";
	case EVICT_DEFERRED: return "deferred";
	case EVICT_REFUSED: return "refused";
	case EVICT_HELD: return "held";
	}
	return "?";
}

/*
 * JSON goes out as it comes, one action a line, so a plan of a million
 * paths is never held as a JSON tree: the opening is printed with the
 * first item, the summary fields after the last.
 */
struct out {
	int json;
	int apply;
	int keys;              /* HTTP: keys on stdout, notes on stderr */
	int keys_only;         /* HTTP JSON, first pass: the "keys" array */
	const char *opening;   /* printed before the first item */
	int opened;
	size_t n;              /* items printed in the current array */
};

static void json_open(struct out *o)
{
	if (!o->opened)
		fputs(o->opening, stdout);
	o->opened = 1;
}

static void json_item(struct out *o, json_t *v)
{
	json_open(o);
	fputs(o->n++ ? ",\n" : "\n", stdout);
	json_dumpf(v, stdout, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(v);
}

/* Close the array, then print fields (an object) as the rest of the
 * outer object; fields is consumed. */
static void json_close(struct out *o, json_t *fields)
{
	char *rest = json_dumps(fields, JSON_COMPACT);

	json_open(o);
	fputs(o->n ? "\n]" : "]", stdout);
	if (rest && strlen(rest) > 2)
		printf(", %s\n", rest + 1);
	else
		fputs("}\n", stdout);
	free(rest);
	json_decref(fields);
}

static void on_event(void *ctx, const struct evict_event *ev)
{
	struct out *o = ctx;
	char sz[32];

	if (o->json) {
		json_t *a;
		if (o->keys_only) {
			if (ev->action == EVICT_DELETE)
				json_item(o, json_string(ev->object));
			return;
		}
		a = json_object();
		json_object_set_new(a, "action", json_string(action_json(ev->action)));
		json_object_set_new(a, "kind", json_string(evict_kind_name(ev->kind)));
		json_object_set_new(a, "object", ev->object ? json_string(ev->object) : json_null());
		json_object_set_new(a, "path", json_string(ev->path));
		json_object_set_new(a, "bytes", ev->bytes >= 0 ? json_integer(ev->bytes) : json_null());
		json_object_set_new(a, "detail", ev->detail ? json_string(ev->detail) : json_null());
		json_item(o, a);
		return;
	}
	if (o->keys) {
		if (ev->action == EVICT_DELETE)
			printf("%s\n", ev->object);
		else if (ev->action != EVICT_DEFERRED)
			fprintf(stderr, "%s %s: %s (%s)\n", action_name(ev->action, 0),
				ev->object, ev->detail ? ev->detail : "", ev->path);
		return;
	}
	if (ev->action == EVICT_HELD || (ev->action == EVICT_REFUSED && !ev->object)) {
		printf("%-8s %s: %s\n", action_name(ev->action, o->apply), ev->path,
		       ev->detail ? ev->detail : "");
		return;
	}
	printf("%-8s %s", action_name(ev->action, o->apply), ev->object);
	if (ev->bytes >= 0 && ev->action == EVICT_DELETE)
		printf("  (%s)", format_size((uint64_t)ev->bytes, sz, sizeof(sz)));
	if (ev->detail)
		printf("  %s", ev->detail);
	if (ev->kind == EVICT_NARINFO)
		printf("  %s", ev->path);
	putchar('\n');
}

static int list_keys(struct cmd_ctx *ctx, int64_t plan_id, int json)
{
	struct evict_plan plan;
	struct out o = {0};
	struct strbuf open = STRBUF_INIT;
	json_t *head = NULL;
	char *h = NULL;
	int rc, ret = 1;

	rc = evict_plan_load(ctx->db, plan_id, &plan);
	if (rc) {
		if (rc > 0)
			error("no plan %lld in '%s'; 'cachegc plan evict' makes one",
			      (long long)plan_id, ctx->db->path);
		goto out;
	}
	o.json = json;
	o.keys = 1;
	if (!json) {
		ret = evict_keys(ctx->db, &plan, on_event, &o) ? 1 : 0;
		goto out;
	}
	/* Two passes over the plan: the keys, then every action. */
	head = json_pack("{s:I, s:s}", "plan", (json_int_t)plan_id, "cache", plan.cache_url);
	h = json_dumps(head, JSON_COMPACT);
	strbuf_add(&open, h, strlen(h) - 1);
	strbuf_addstr(&open, ", \"keys\": [");
	o.opening = open.buf;
	o.keys_only = 1;
	if (evict_keys(ctx->db, &plan, on_event, &o))
		goto out;
	json_open(&o);
	fputs(o.n ? "\n], \"actions\": [" : "], \"actions\": [", stdout);
	o.keys_only = 0;
	o.n = 0;
	if (evict_keys(ctx->db, &plan, on_event, &o))
		goto out;
	json_close(&o, json_object());
	ret = 0;
out:
	if (ret && o.opened)
		json_close(&o, json_pack("{s:b}", "failed", 1));
	json_decref(head);
	free(h);
	strbuf_release(&open);
	evict_plan_release(&plan);
	return ret;
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct evict_apply_opts ao;
	struct evict_apply_result r;
	struct out o = {0};
	struct sigaction sa;
	struct evict_cli a = {0};
	const char *delay;
	uint64_t id, ms;
	int json = 0, apply = 0, rc, ret = 1;
	char sz[32], opening[64];

	memset(&ao, 0, sizeof(ao));
	memset(&r, 0, sizeof(r));
	if ((rc = parse_options(&evict_parser, argc, argv, &a)) < 0)
		return parse_options_exit(rc);
	json = a.json;
	apply = a.apply;
	ao.dir = a.dir;
	id = a.plan;
	if (!id)
		return cmd_usage_error(&cmd_evict, "which plan? (--plan ID, from 'cachegc plan evict')");
	delay = getenv("CACHEGC_EVICT_STEP_DELAY_MS");
	if (delay && *delay) {
		if (parse_uint(delay, &ms) || ms > 60000)
			return cmd_usage_error(&cmd_evict, "CACHEGC_EVICT_STEP_DELAY_MS: want 0 to "
					       "60000, not '%s'", delay);
		ao.step_delay_ms = (unsigned)ms;
	}

	if (!ao.dir) {
		char *url;
		int http = 0;
		rc = evict_plan_cache_url(ctx->db, (int64_t)id, &url);
		if (rc < 0)
			return 1;
		if (rc == 0) {
			error("no plan %llu in '%s'; 'cachegc plan evict' makes one",
			      (unsigned long long)id, ctx->db->path);
			return 1;
		}
		http = !!strncmp(url, "file://", 7);
		free(url);
		if (http && apply) {
			error("plan %llu is for an HTTP cache: cachegc cannot delete there; run "
			      "without --apply for the object keys to delete, or give --dir DIR, "
			      "the directory the cache is served from", (unsigned long long)id);
			return 1;
		}
		if (http) {
			/* Its two passes over the narinfos see one state. */
			if (db_read_begin(ctx->db))
				return 1;
			rc = list_keys(ctx, (int64_t)id, json);
			db_read_end(ctx->db);
			return rc;
		}
	}
	if (apply && db_need_write(ctx->db, "'evict --apply'"))
		return 1;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	o.json = json;
	o.apply = apply;
	snprintf(opening, sizeof(opening), "{\"plan\": %llu, \"actions\": [", (unsigned long long)id);
	o.opening = opening;
	ao.plan_id = (int64_t)id;
	ao.apply = apply;
	ao.fn = on_event;
	ao.ctx = &o;
	rc = evict_apply(ctx->db, &ao, &r);
	if (rc > 0) {
		error("no plan %llu in '%s'; 'cachegc plan evict' makes one",
		      (unsigned long long)id, ctx->db->path);
		goto out;
	}
	if (rc < 0) {
		if (o.json && o.opened)
			json_close(&o, json_pack("{s:b}", "failed", 1));
		if (apply)
			error("plan %llu was not finished; run the same command again to go on",
			      (unsigned long long)id);
		goto out;
	}
	if (json) {
		json_close(&o, json_pack("{s:s, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}",
					 "dir", r.dir, "apply", apply, "complete", r.complete,
					 "deleted", (json_int_t)r.deleted,
					 "deletedBytes", (json_int_t)r.deleted_bytes,
					 "narinfos", (json_int_t)r.narinfos, "nars", (json_int_t)r.nars,
					 "shared", (json_int_t)r.shared, "gone", (json_int_t)r.gone,
					 "refused", (json_int_t)r.refused, "held", (json_int_t)r.held,
					 "interrupted", r.interrupted));
	} else {
		printf("%s plan %llu on %s: %s %llu narinfo%s, %llu NAR%s, %llu file%s in all "
		       "(%s); %llu shared NAR%s kept; %llu already gone\n",
		       apply ? "applied" : "dry run of", (unsigned long long)id, r.dir,
		       apply ? "deleted" : "would delete",
		       (unsigned long long)r.narinfos, r.narinfos == 1 ? "" : "s",
		       (unsigned long long)r.nars, r.nars == 1 ? "" : "s",
		       (unsigned long long)r.deleted, r.deleted == 1 ? "" : "s",
		       format_size(r.deleted_bytes, sz, sizeof(sz)),
		       (unsigned long long)r.shared, r.shared == 1 ? "" : "s",
		       (unsigned long long)r.gone);
		if (!apply && !r.interrupted)
			printf("nothing was changed; add --apply to delete\n");
	}
	if (r.interrupted) {
		fflush(stdout);
		error("interrupted; %s", apply ? "run the same command again to finish the plan"
					       : "nothing was changed");
		ret = 130;
		goto out;
	}
	if (r.refused || r.held) {
		struct strbuf msg = STRBUF_INIT;
		if (r.refused)
			strbuf_addf(&msg, "%llu path%s refused (listed above): their files are left "
				    "untouched; look at them, fix or remove them by hand, then run "
				    "again", (unsigned long long)r.refused, r.refused == 1 ? "" : "s");
		if (r.held)
			strbuf_addf(&msg, "%s%llu path%s held (listed above): narinfos outside the "
				    "plan reference them; crawl the cache and plan again",
				    r.refused ? "; " : "", (unsigned long long)r.held,
				    r.held == 1 ? "" : "s");
		fflush(stdout);
		if (apply)
			error("%s", msg.buf);
		else if (!json)
			printf("note: %s\n", msg.buf);
		strbuf_release(&msg);
		ret = apply ? 1 : 0;
		goto out;
	}
	ret = 0;
out:
	evict_apply_result_release(&r);
	return ret;
}

const struct cmd cmd_evict = {
	.name = "evict",
	.summary = "carry out an eviction plan on a cache directory (dry run by default)",
	.options = &evict_parser,
	.db = DB_KEEP,
	.run = run,
};
