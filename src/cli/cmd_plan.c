/*
 * cmd_plan.c - `cachegc plan evict`: build, store and show a closure-safe
 * eviction plan (the work is in evict.c).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "store/db.h"
#include "analysis/evict.h"
#include "store/lookup.h"
#include "lib/jsonw.h"
#include "lib/util.h"

struct plan_cli {
	uint64_t limit;        /* UINT64_MAX: not given */
	const char *policy, *weights, *cache;
	double retention;      /* days; 0: not given */
	int json;
};

static const struct option plan_options[] = {
	OPT_SIZE("limit", struct plan_cli, limit, "SIZE",
		 "the size to stay at or under: bytes, or K/M/G/T\n"
		 "(1024-based), KiB/MiB/GiB/TiB, KB/MB/GB/TB (1000-based)"),
	OPT_STRING_OF("policy", struct plan_cli, policy, "P", evict_policies,
		 "who proposes what goes (default: priority):\n"
		 "  priority  keep whole closures of the most valuable\n"
		 "            evaluation outputs (see --weights); the rest\n"
		 "            goes: unreached, superseded, then low-value\n"
		 "  cachix    least recently accessed first\n"
		 "  attic     not accessed within the retention\n"
		 "  niks3     not reached by outputs of evaluations within\n"
		 "            the retention\n"
		 "  reach     unreached (oldest push first), superseded\n"
		 "            (oldest evaluation first), then current\n"
		 "            outputs (oldest evaluation first); no weights"),
	OPT_PATH("weights", struct plan_cli, weights, "FILE",
		 "value weights for priority (format in README.md)"),
	OPT_DAYS("retention", struct plan_cli, retention, "DAYS", 1, 36500, OPT_WHOLE,
		 "for attic and niks3 (default 30)"),
	OPT_STRING("cache", struct plan_cli, cache, "CACHE",
		 "the cache (URL, directory or id); default: the only one"),
	OPT_FLAG("json", 0, struct plan_cli, json,
		 "{\"id\", \"cache\", \"policy\", \"limit\", \"sizeBefore\",\n"
		 "\"sizeAfter\", \"rejectedBytes\", \"limitReached\", \"proposedPaths\",\n"
		 "\"proposedBytes\", \"brokenJobs\", \"paths\": [{\"path\", \"reason\",\n"
		 "\"downloadSize\", \"narSize\", \"url\", \"breaksCount\",\n"
		 "\"breaks\": [{\"evaluation\", \"branch\", \"capabilities\",\n"
		 "\"attr\", \"output\"}]}]}; downloadSize is the stored size;\n"
		 "breaks holds at most 20 jobs per path (newest first)"),
	OPT_HELP("this text"),
	OPT_END(),
};

static const struct opt_parser plan_parser = {
	.name = "plan",
	.usage = "usage: cachegc plan evict --limit SIZE [--policy P] [--weights FILE]\n"
		 "                          [--retention DAYS] [--cache CACHE] [--json]\n"
		 "\n"
		 "Plan evictions that bring a cache's stored size under SIZE, and store the\n"
		 "plan in the database with an id for 'cachegc evict --plan ID'.  The stored\n"
		 "size is the sum of FileSize (NarSize where a narinfo has none) over the\n"
		 "paths present at the last crawl.\n"
		 "\n"
		 "A policy proposes paths in its order; the plan takes them in that order\n"
		 "but is closure-safe: it never evicts a path that a kept path references,\n"
		 "and it lists paths in an order (referrers first) in which the cache may be\n"
		 "cut at any point.  It never takes a path the policy does not propose, and\n"
		 "stops once the cache is under SIZE.  Each path comes with its reason:\n"
		 "  unreached        reached by no evaluation output's closure\n"
		 "  superseded       reached only by outputs of evaluations that a newer\n"
		 "                   evaluation of the same branch, capabilities and system\n"
		 "                   replaced\n"
		 "  low-value        reached by current evaluation outputs, the least valuable\n"
		 "  lru              least recently accessed (cachix)\n"
		 "  expired          older than the retention (attic, niks3)\n"
		 "  dependency-lost  a path it references goes (cachix)\n"
		 "and the jobs it breaks: jobs whose output's closure is whole in the cache\n"
		 "now and would not be after the plan.\n"
		 "\n"
		 "When the cache cannot be brought under SIZE (closure safety keeps paths\n"
		 "the policy proposed, or the policy proposes too little), the plan takes\n"
		 "what it can, is stored all the same, and the command says why and exits 1.\n"
		 "On a read-only database the plan is shown but not stored (\"id\": null).\n"
		 "\n"
		 "options:\n",
	.opts = plan_options,
	.column = 20,
	.flags = PARSE_NO_ARGS,
};

extern const struct cmd cmd_plan;

static const char *fmt(uint64_t n, char *buf, size_t sz)
{
	return format_size(n, buf, sz);
}

static void add_plain(struct strbuf *sb, const char *key, const char *s)
{
	strbuf_addch(sb, '"');
	strbuf_addstr(sb, key);
	strbuf_add(sb, "\":\"", 3);
	strbuf_addstr(sb, s);
	strbuf_addch(sb, '"');
}

/* "key":n, in decimal as jansson writes an integer (printf is most of the
 * cost of the output otherwise). */
static void add_int(struct strbuf *sb, const char *key, int64_t n)
{
	strbuf_addch(sb, '"');
	strbuf_addstr(sb, key);
	strbuf_add(sb, "\":", 2);
	jsonw_int(sb, n);
}

/*
 * One path of the plan as jansson's compact dump of it would write it,
 * into sb, when all its text is plain (the common case, and a jansson
 * tree per path is most of the cost of a large plan); else nonzero, and
 * jansson writes it (escapes, and what it does with text not UTF-8).
 */
static int path_json_plain(const struct evict_plan *plan, const struct evict_path *ep,
			   struct strbuf *sb)
{
	if (!jsonw_plain(plan->store_dir) || !jsonw_plain(ep->base) || !jsonw_plain(ep->url))
		return 1;
	for (unsigned b = 0; b < ep->nbreaks_kept; b++) {
		const struct evict_job *j = &plan->jobs[ep->breaks[b]];
		if (!jsonw_plain(j->branch) || !jsonw_plain(j->capabilities) || !jsonw_plain(j->attr) ||
		    !jsonw_plain(j->output))
			return 1;
	}
	strbuf_reset(sb);
	strbuf_add(sb, "{\"path\":\"", 9);
	strbuf_addstr(sb, plan->store_dir);
	strbuf_addch(sb, '/');
	strbuf_addstr(sb, ep->base);
	strbuf_add(sb, "\",", 2);
	add_plain(sb, "reason", evict_reason_name(ep->reason));
	strbuf_addch(sb, ',');
	add_int(sb, "downloadSize", ep->stored);
	strbuf_addch(sb, ',');
	add_int(sb, "narSize", ep->nar_size);
	strbuf_addch(sb, ',');
	add_plain(sb, "url", ep->url);
	strbuf_addch(sb, ',');
	add_int(sb, "breaksCount", ep->nbreaks);
	strbuf_add(sb, ",\"breaks\":[", 11);
	for (unsigned b = 0; b < ep->nbreaks_kept; b++) {
		const struct evict_job *j = &plan->jobs[ep->breaks[b]];
		strbuf_add(sb, b ? ",{" : "{", b ? 2 : 1);
		add_int(sb, "evaluation", j->evaluation_id);
		strbuf_addch(sb, ',');
		add_plain(sb, "branch", j->branch);
		strbuf_addch(sb, ',');
		add_plain(sb, "capabilities", j->capabilities);
		strbuf_addch(sb, ',');
		add_plain(sb, "attr", j->attr);
		strbuf_addch(sb, ',');
		add_plain(sb, "output", j->output);
		strbuf_addch(sb, '}');
	}
	strbuf_addstr(sb, "]}");
	return 0;
}

/* The plan as JSON on stdout, one path a line: built path by path, so a
 * plan of a million paths never sits in memory as a JSON tree. */
static void plan_json(const struct evict_plan *plan)
{
	json_t *o = json_object();
	struct strbuf sb = STRBUF_INIT;
	char *head;

	json_object_set_new(o, "id", plan->id ? json_integer(plan->id) : json_null());
	json_object_set_new(o, "cache", json_string(plan->cache_url));
	json_object_set_new(o, "policy", json_string(plan->policy));
	json_object_set_new(o, "limit", json_integer((json_int_t)plan->limit));
	json_object_set_new(o, "sizeBefore", json_integer((json_int_t)plan->size_before));
	json_object_set_new(o, "sizeAfter", json_integer((json_int_t)plan->size_after));
	json_object_set_new(o, "rejectedBytes", json_integer((json_int_t)plan->rejected_bytes));
	json_object_set_new(o, "pathsBefore", json_integer((json_int_t)plan->paths_before));
	json_object_set_new(o, "limitReached", json_boolean(plan->limit_reached));
	json_object_set_new(o, "proposedPaths", json_integer((json_int_t)plan->proposed_paths));
	json_object_set_new(o, "proposedBytes", json_integer((json_int_t)plan->proposed_bytes));
	if (!plan->limit_reached) {
		json_object_set_new(o, "blockedPaths", json_integer((json_int_t)plan->blocked_paths));
		json_object_set_new(o, "blockedBytes", json_integer((json_int_t)plan->blocked_bytes));
	}
	json_object_set_new(o, "brokenJobs", json_integer((json_int_t)plan->njobs));
	/* the object without its closing brace, then the paths */
	head = json_dumps(o, JSON_COMPACT);
	fwrite(head, 1, strlen(head) - 1, stdout);
	fputs(", \"paths\": [", stdout);
	free(head);
	json_decref(o);
	for (size_t i = 0; i < plan->n; i++) {
		const struct evict_path *ep = &plan->paths[i];
		json_t *p, *breaks;
		fputs(i ? ",\n" : "\n", stdout);
		if (!path_json_plain(plan, ep, &sb)) {
			fwrite(sb.buf, 1, sb.len, stdout);
			continue;
		}
		p = json_object();
		breaks = json_array();
		strbuf_reset(&sb);
		strbuf_addf(&sb, "%s/%s", plan->store_dir, ep->base);
		json_object_set_new(p, "path", json_string(sb.buf));
		json_object_set_new(p, "reason", json_string(evict_reason_name(ep->reason)));
		json_object_set_new(p, "downloadSize", json_integer(ep->stored));
		json_object_set_new(p, "narSize", json_integer(ep->nar_size));
		json_object_set_new(p, "url", json_string(ep->url));
		json_object_set_new(p, "breaksCount", json_integer(ep->nbreaks));
		for (unsigned b = 0; b < ep->nbreaks_kept; b++) {
			const struct evict_job *j = &plan->jobs[ep->breaks[b]];
			json_array_append_new(breaks, json_pack("{s:I, s:s, s:s, s:s, s:s}",
				"evaluation", (json_int_t)j->evaluation_id, "branch", j->branch,
				"capabilities", j->capabilities, "attr", j->attr, "output", j->output));
		}
		json_object_set_new(p, "breaks", breaks);
		json_dumpf(p, stdout, JSON_COMPACT);
		json_decref(p);
	}
	fputs(plan->n ? "\n]}\n" : "]}\n", stdout);
	strbuf_release(&sb);
}

static void plan_text(const struct evict_plan *plan)
{
	char a[32], b[32];
	uint64_t count[EVICT_NREASONS] = {0}, bytes[EVICT_NREASONS] = {0};
	int first = 1;

	if (plan->id)
		printf("plan %lld: ", (long long)plan->id);
	else
		printf("plan (not stored: the database is read-only): ");
	/* The cache URL may be a directory's name: shown escaped. */
	fprintf_printable(stdout, "evict %zu of %llu paths from %s (policy %s)\n", plan->n,
			  (unsigned long long)plan->paths_before, plan->cache_url, plan->policy);
	printf("  stored now  %s\n", fmt(plan->size_before, a, sizeof(a)));
	if (plan->rejected_bytes)
		printf("  of which    %s refused narinfos' files (no plan frees them)\n",
		       fmt(plan->rejected_bytes, a, sizeof(a)));
	printf("  limit       %s\n", fmt(plan->limit, a, sizeof(a)));
	printf("  after       %s (%s freed)%s\n", fmt(plan->size_after, a, sizeof(a)),
	       fmt(plan->size_before - plan->size_after, b, sizeof(b)),
	       plan->limit_reached ? "" : "  ABOVE THE LIMIT");
	printf("  breaks      %zu job%s\n", plan->njobs, plan->njobs == 1 ? "" : "s");
	if (!plan->n)
		return;
	printf("\n%-5s %-10s %10s %7s  %s\n", "SEQ", "REASON", "SIZE", "BREAKS", "PATH");
	for (size_t i = 0; i < plan->n; i++) {
		const struct evict_path *ep = &plan->paths[i];
		count[ep->reason]++;
		bytes[ep->reason] += (uint64_t)ep->stored;
		printf("%-5zu %-10s %10s %7u  %s/%s", i + 1, evict_reason_name(ep->reason),
		       fmt((uint64_t)ep->stored, a, sizeof(a)), ep->nbreaks, plan->store_dir, ep->base);
		if (ep->nbreaks_kept) {
			const struct evict_job *j = &plan->jobs[ep->breaks[0]];
			printf("  (%s %s [%s]%s)", j->attr, j->branch, j->capabilities,
			       ep->nbreaks > 1 ? ", ..." : "");
		}
		putchar('\n');
	}
	printf("\nby reason:");
	for (int r = 0; r < EVICT_NREASONS; r++) {
		if (!count[r] && r > EVICT_LOW_VALUE)
			continue;
		printf("%s %s %llu (%s)", first ? "" : ",", evict_reason_name(r),
		       (unsigned long long)count[r], fmt(bytes[r], a, sizeof(a)));
		first = 0;
	}
	putchar('\n');
	if (plan->id)
		printf("next: 'cachegc evict --plan %lld' lists what it deletes; add --apply to do "
		       "it\n", (long long)plan->id);
	else
		printf("next: plan where the database is writable to store a plan 'cachegc evict' "
		       "can carry out\n");
}

static int plan_evict(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct evict_plan_opts po;
	struct evict_plan plan;
	struct plan_cli opt = {.limit = UINT64_MAX};
	const char *cache_arg = NULL;
	char a[32], b[32], c[32], name[40];
	int json = 0, ret = 1, rc;

	memset(&po, 0, sizeof(po));
	memset(&plan, 0, sizeof(plan));
	if ((rc = parse_options(&plan_parser, argc - 1, argv + 1, &opt)) < 0)
		return parse_options_exit(rc);
	json = opt.json;
	po.policy = opt.policy;
	po.weights = opt.weights;
	cache_arg = opt.cache;
	if (opt.limit == UINT64_MAX)
		return cmd_usage_error(&cmd_plan, "plan evict needs --limit SIZE");
	po.limit = opt.limit;
	if (opt.retention)
		po.retention = (int64_t)opt.retention * 86400;
	if (po.policy) {
		size_t k;
		for (k = 0; evict_policies[k] && strcmp(evict_policies[k], po.policy); k++)
			;
		if (!evict_policies[k]) {
			struct strbuf sb = STRBUF_INIT;
			for (k = 0; evict_policies[k]; k++)
				strbuf_addf(&sb, "%s%s", k ? ", " : "", evict_policies[k]);
			ret = cmd_usage_error(&cmd_plan, "--policy: unknown policy '%s' (known: %s)",
					      po.policy, sb.buf);
			strbuf_release(&sb);
			return ret;
		}
	}
	/* One state of the DB for the whole plan; stored after. */
	if (db_read_begin(ctx->db))
		return 1;
	rc = cache_resolve(ctx->db, cache_arg, &po.cache_id, NULL) ||
	     evict_plan_build(ctx->db, &po, &plan);
	db_read_end(ctx->db);
	if (rc)
		goto out;
	if (ctx->db->readonly) {
		warning("database '%s' is read-only (%s): the plan is not stored", ctx->db->path,
			ctx->db->ro_reason ? ctx->db->ro_reason : "opened read-only");
	} else if (evict_plan_save(ctx->db, &plan)) {
		error("the plan could not be stored in '%s'", ctx->db->path);
		goto out;
	}
	if (json) {
		plan_json(&plan);
	} else {
		plan_text(&plan);
	}
	{
		size_t bad = 0;
		const char *why, *first = NULL;
		for (size_t i = 0; i < plan.n; i++)
			if (evict_url_check(plan.paths[i].url, strlen(plan.paths[i].url), &why) &&
			    !bad++)
				first = plan.paths[i].url;
		if (bad)
			warning("%zu planned path%s name%s a NAR URL outside the cache (first: "
				"'%s'); 'cachegc evict' will refuse %s", bad, bad == 1 ? "" : "s",
				bad == 1 ? "s" : "", first, bad == 1 ? "it" : "them");
	}
	if (!plan.nevaluations && strcmp(plan.policy, "cachix") && strcmp(plan.policy, "attic"))
		warning("no evaluations imported ('cachegc import-eval'): every path counts as "
			"unreached");
	if (!plan.limit_reached) {
		if (plan.id)
			snprintf(name, sizeof(name), "plan %lld", (long long)plan.id);
		else
			snprintf(name, sizeof(name), "the plan");
		fflush(stdout);
		if (plan.blocked_paths)
			error("cannot bring %s under %s without breaking closure safety: %llu "
			      "path%s (%s) the %s policy proposes stay because paths that stay "
			      "reference them; %s evicts what can go safely and leaves %s",
			      plan.cache_url, fmt(plan.limit, a, sizeof(a)),
			      (unsigned long long)plan.blocked_paths,
			      plan.blocked_paths == 1 ? "" : "s", fmt(plan.blocked_bytes, b, sizeof(b)),
			      plan.policy, name, fmt(plan.size_after, c, sizeof(c)));
		else
			error("cannot bring %s under %s with the %s policy: it proposes only %llu "
			      "path%s (%s); %s evicts them and leaves %s; try another "
			      "--policy%s", plan.cache_url, fmt(plan.limit, a, sizeof(a)), plan.policy,
			      (unsigned long long)plan.proposed_paths,
			      plan.proposed_paths == 1 ? "" : "s", fmt(plan.proposed_bytes, b, sizeof(b)),
			      name, fmt(plan.size_after, c, sizeof(c)),
			      !strcmp(plan.policy, "attic") || !strcmp(plan.policy, "niks3")
				      ? " or a shorter --retention" : "");
		goto out;
	}
	ret = 0;
out:
	evict_plan_release(&plan);
	return ret;
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	if (argc < 2)
		return cmd_usage_error(&cmd_plan, "what to plan? ('evict')");
	if (!strcmp(argv[1], "evict"))
		return plan_evict(ctx, argc, argv);
	return cmd_usage_error(&cmd_plan, "unknown plan '%s' (known: evict)", argv[1]);
}

const struct cmd cmd_plan = {
	.name = "plan",
	.summary = "plan closure-safe evictions that bring a cache under a size",
	.options = &plan_parser,
	.db = DB_KEEP,
	.run = run,
};
