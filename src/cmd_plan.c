/*
 * cmd_plan.c - `cachegc plan evict`: build, store and show a closure-safe
 * eviction plan (the work is in evict.c).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "db.h"
#include "evict.h"
#include "lookup.h"
#include "util.h"

static const char usage[] =
	"usage: cachegc plan evict --limit SIZE [--policy P] [--cache CACHE] [--json]\n"
	"\n"
	"Plan evictions that bring a cache's stored size under SIZE, and store the\n"
	"plan in the database with an id for 'cachegc evict --plan ID'.  The stored\n"
	"size is the sum of FileSize (NarSize where a narinfo has none) over the\n"
	"paths present at the last crawl.\n"
	"\n"
	"The plan is closure-safe: it never evicts a path that a kept path\n"
	"references, and it lists paths in an order (referrers first) in which the\n"
	"cache may be cut at any point.  Each path comes with its reason:\n"
	"  unreached   reached by no evaluation output's closure\n"
	"  superseded  reached only by outputs of evaluations that a newer\n"
	"              evaluation of the same branch, capabilities and system replaced\n"
	"  low-value   reached by a current evaluation's output; the outputs of the\n"
	"              oldest current evaluations go first\n"
	"and the jobs it breaks: jobs whose output's closure is whole in the cache\n"
	"now and would not be after the plan.\n"
	"\n"
	"When closure safety keeps the cache above SIZE, the plan evicts what it\n"
	"safely can, is stored all the same, and the command says so and exits 1.\n"
	"\n"
	"options:\n"
	"  --limit SIZE    the size to stay at or under: bytes, or K/M/G/T (1024-based),\n"
	"                  KiB/MiB/GiB/TiB, KB/MB/GB/TB (1000-based)\n"
	"  --policy P      the order candidates go in: reach (the default: unreached\n"
	"                  oldest push first, then superseded oldest evaluation first,\n"
	"                  then current outputs oldest evaluation first)\n"
	"  --cache CACHE   the cache (URL, directory or id); default: the only one\n"
	"  --json          {\"id\", \"cache\", \"policy\", \"limit\", \"sizeBefore\",\n"
	"                  \"sizeAfter\", \"limitReached\", \"brokenJobs\", \"paths\": [{\"path\",\n"
	"                  \"reason\", \"downloadSize\", \"narSize\", \"url\", \"breaksCount\",\n"
	"                  \"breaks\": [{\"evaluation\", \"branch\", \"capabilities\", \"attr\",\n"
	"                  \"output\"}]}]}; downloadSize is the stored size, breaks holds at\n"
	"                  most 20 jobs per path (newest evaluations first)\n"
	"  --help          this text\n";

extern const struct cmd cmd_plan;

static const char *fmt(uint64_t n, char *buf, size_t sz)
{
	return format_size(n, buf, sz);
}

static json_t *plan_json(const struct evict_plan *plan)
{
	json_t *o = json_object(), *paths = json_array();
	struct strbuf sb = STRBUF_INIT;

	json_object_set_new(o, "id", json_integer(plan->id));
	json_object_set_new(o, "cache", json_string(plan->cache_url));
	json_object_set_new(o, "policy", json_string(plan->policy));
	json_object_set_new(o, "limit", json_integer((json_int_t)plan->limit));
	json_object_set_new(o, "sizeBefore", json_integer((json_int_t)plan->size_before));
	json_object_set_new(o, "sizeAfter", json_integer((json_int_t)plan->size_after));
	json_object_set_new(o, "pathsBefore", json_integer((json_int_t)plan->paths_before));
	json_object_set_new(o, "limitReached", json_boolean(plan->limit_reached));
	if (!plan->limit_reached) {
		json_object_set_new(o, "blockedPaths", json_integer((json_int_t)plan->blocked_paths));
		json_object_set_new(o, "blockedBytes", json_integer((json_int_t)plan->blocked_bytes));
	}
	json_object_set_new(o, "brokenJobs", json_integer((json_int_t)plan->njobs));
	for (size_t i = 0; i < plan->n; i++) {
		const struct evict_path *ep = &plan->paths[i];
		json_t *p = json_object(), *breaks = json_array();
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
		json_array_append_new(paths, p);
	}
	json_object_set_new(o, "paths", paths);
	strbuf_release(&sb);
	return o;
}

static void plan_text(const struct evict_plan *plan)
{
	char a[32], b[32], c[32];
	uint64_t count[3] = {0}, bytes[3] = {0};

	printf("plan %lld: evict %zu of %llu paths from %s (policy %s)\n", (long long)plan->id,
	       plan->n, (unsigned long long)plan->paths_before, plan->cache_url, plan->policy);
	printf("  stored now  %s\n", fmt(plan->size_before, a, sizeof(a)));
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
	printf("\nby reason: unreached %llu (%s), superseded %llu (%s), low-value %llu (%s)\n",
	       (unsigned long long)count[0], fmt(bytes[0], a, sizeof(a)),
	       (unsigned long long)count[1], fmt(bytes[1], b, sizeof(b)),
	       (unsigned long long)count[2], fmt(bytes[2], c, sizeof(c)));
	printf("next: 'cachegc evict --plan %lld' lists what it deletes; add --apply to do it\n",
	       (long long)plan->id);
}

static int plan_evict(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct evict_plan_opts po;
	struct evict_plan plan;
	const char *cache_arg = NULL, *limit_arg = NULL;
	char a[32], b[32], c[32];
	int json = 0, ret = 1;

	memset(&po, 0, sizeof(po));
	memset(&plan, 0, sizeof(plan));
	for (int i = 2; i < argc; i++) {
		const char *opt = argv[i], *eq = strchr(opt, '=');
		size_t olen = eq ? (size_t)(eq - opt) : strlen(opt);
		const char *val = eq ? eq + 1 : NULL;
		if (!strcmp(opt, "--json")) {
			json = 1;
			continue;
		}
		if (!(olen == 7 && !strncmp(opt, "--limit", 7)) &&
		    !(olen == 8 && !strncmp(opt, "--policy", 8)) &&
		    !(olen == 7 && !strncmp(opt, "--cache", 7)))
			return cmd_usage_error(&cmd_plan, "unknown option or argument '%s'", opt);
		if (!val) {
			if (i + 1 >= argc)
				return cmd_usage_error(&cmd_plan, "option '%s' needs a value", opt);
			val = argv[++i];
		}
		if (opt[2] == 'l')
			limit_arg = val;
		else if (opt[2] == 'p')
			po.policy = val;
		else
			cache_arg = val;
	}
	if (!limit_arg)
		return cmd_usage_error(&cmd_plan, "plan evict needs --limit SIZE");
	if (parse_size(limit_arg, &po.limit) || po.limit > INT64_MAX)
		return cmd_usage_error(&cmd_plan, "--limit: cannot parse '%s' (want e.g. 500G, "
				       "1.5TiB or a number of bytes)", limit_arg);
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
	if (cache_resolve(ctx->db, cache_arg, &po.cache_id, NULL))
		return 1;
	if (evict_plan_build(ctx->db, &po, &plan))
		goto out;
	if (evict_plan_save(ctx->db, &plan)) {
		error("the plan could not be stored in '%s'", ctx->db->path);
		goto out;
	}
	if (json) {
		json_t *o = plan_json(&plan);
		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(o);
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
	if (!plan.nevaluations)
		warning("no evaluations imported ('cachegc import-eval'): every path counts as "
			"unreached");
	if (!plan.limit_reached) {
		fflush(stdout);
		error("cannot bring %s under %s without breaking closure safety: %llu path%s "
		      "(%s) stay because paths that stay reference them; plan %lld evicts what "
		      "can go safely and leaves %s",
		      plan.cache_url, fmt(plan.limit, a, sizeof(a)),
		      (unsigned long long)plan.blocked_paths, plan.blocked_paths == 1 ? "" : "s",
		      fmt(plan.blocked_bytes, b, sizeof(b)), (long long)plan.id,
		      fmt(plan.size_after, c, sizeof(c)));
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
	.usage = usage,
	.db = DB_WRITE,
	.run = run,
};
