/*
 * cmd_schedule.c - `cachegc schedule`: options, and the rebuild
 * intervals of schedule.c as a table, Markdown or JSON, with the same
 * schedule as Hydra checkintervals and Hercules CI onSchedule `when`
 * sets; --validate prints the model's error against the history.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "analysis/schedule.h"
#include "store/db.h"
#include "store/lookup.h"
#include "lib/util.h"

struct schedule_cli {
	const char *cache, *weights, *policy;
	uint64_t limit, keep, target;
	double horizon;
	int64_t at;
	int json, markdown, validate;
};

static const struct option schedule_options[] = {
	OPT_SIZE("limit", struct schedule_cli, limit, "SIZE",
		 "the cache's space limit (required): bytes, K/M/G/T\n"
		 "(1024-based), KiB/MiB/GiB/TiB, KB/MB/GB/TB"),
	OPT_STRING("cache", struct schedule_cli, cache, "C",
		   "the cache (URL, directory or id); default: the only one"),
	OPT_STRING_OF("policy", struct schedule_cli, policy, "P", gc_policy_names,
		   "the cache's GC: cachix (default), attic, niks3 or\n"
		   "priority"),
	OPT_PATH("weights", struct schedule_cli, weights, "FILE",
		 "value weights per branch and capabilities (the format of\n"
		 "simulate and plan; README.md): heavier groups are\n"
		 "rebuilt at least as often as lighter ones"),
	OPT_COUNT("keep", struct schedule_cli, keep, "N", 1, 100, "a number of evaluations (1 to 100)",
		  "the newest N evaluations of a group must stay cached\n"
		  "whole (default 1)"),
	OPT_DAYS("horizon", struct schedule_cli, horizon, "DAYS", 1, 365, 0,
		 "the future replayed (default 28 days)"),
	OPT_COUNT("target", struct schedule_cli, target, "PERCENT", 1, 100, "a percentage (1 to 100)",
		  "the share of jobs cached whole the heaviest groups must\n"
		  "keep over the horizon (default 95)"),
	OPT_TIME("at", struct schedule_cli, at, "TIME",
		 "the moment: history up to it, the future after it\n"
		 "(default: now, or the global --now)"),
	OPT_FLAG("validate", 0, struct schedule_cli, validate,
		 "check the model: measure the first half of the history,\n"
		 "replay the evaluations that really came after, and print\n"
		 "the predicted and recorded shares at the later crawls and\n"
		 "their mean absolute error"),
	OPT_FLAG("json", 0, struct schedule_cli, json,
		 "{limit, policy, horizonDays, keep, target, feasible,\n"
		 "[shortfallBytes], groups: [{branch, capabilities, system,\n"
		 "weight, intervalDays (null: never), predictedShare,\n"
		 "churnBytes, closureBytes, sharedBytes, evalsPerWeek,\n"
		 "pushBytesPerWeek, survivalDays, hydraCheckinterval,\n"
		 "herculesWhen, alternatives: [{intervalDays,\n"
		 "predictedShare, pushBytesPerWeek}]}]}; with --validate\n"
		 "{split, end, crawls, meanAbsoluteError, groups: [{branch,\n"
		 "capabilities, system, crawls, predicted, recorded}]}"),
	OPT_FLAG("markdown", 0, struct schedule_cli, markdown, "a table to paste into an issue"),
	OPT_HELP("this text"),
	OPT_TEXT("\n"
		 "Exit status: 0 done (an infeasible schedule too: it says so), 1 failed,\n"
		 "2 usage error.\n"),
	OPT_END(),
};

static const struct opt_parser schedule_parser = {
	.name = "schedule",
	.usage = "usage: cachegc schedule --limit SIZE [--cache C] [--policy P] [--weights FILE]\n"
		 "                        [--keep N] [--horizon DAYS] [--target PERCENT]\n"
		 "                        [--at TIME] [--validate] [--json | --markdown]\n"
		 "\n"
		 "How often to rebuild each branch, capability set and system so that,\n"
		 "under the limit and GC policy, the newest --keep evaluations of the groups\n"
		 "that matter most stay cached whole.  Measured from the recorded history:\n"
		 "evaluations per week, churn (bytes an evaluation needed that no earlier\n"
		 "one had), bytes shared with other groups, how long outputs survived.\n"
		 "Candidate intervals (never, 14, 7, 3, 2, 1, 0.5, 0.25 days) are tried by\n"
		 "replaying synthetic future evaluations built from each group's churn\n"
		 "through the GC model (as 'cachegc simulate' does, in 6-hour steps); one\n"
		 "level, scaled by each group's weight, is raised as far as the heaviest\n"
		 "groups keep --target of their jobs cached whole.  A larger limit never gives a\n"
		 "longer interval, and a heavier group never gets a longer interval than a\n"
		 "lighter one.  Also printed as Hydra checkintervals and Hercules CI\n"
		 "onSchedule 'when' sets.\n"
		 "\n"
		 "options:\n",
	.opts = schedule_options,
	.column = 22,
	.flags = PARSE_NO_ARGS,
};

const struct cmd cmd_schedule;

/* ---- the schedule in CI terms -------------------------------------------- */

static int64_t hydra_interval(int rung)
{
	return (int64_t)llround(sched_ladder_days[rung] * 86400);
}

/* Hercules CI's `when`: hour (a list), dayOfWeek ("Mon".."Sun"),
 * dayOfMonth; group g starts at hour g mod 6, so groups do not all start
 * at once.  NULL for never (no onSchedule). */
static void hercules_when(int rung, size_t g, struct strbuf *sb)
{
	unsigned h = (unsigned)(g % 6);

	strbuf_reset(sb);
	switch (rung) {
	case 1: strbuf_addf(sb, "{ dayOfMonth = [ 1 15 ]; hour = [ %u ]; }", h); break;
	case 2: strbuf_addf(sb, "{ dayOfWeek = [ \"Mon\" ]; hour = [ %u ]; }", h); break;
	case 3: strbuf_addf(sb, "{ dayOfWeek = [ \"Mon\" \"Thu\" ]; hour = [ %u ]; }", h); break;
	case 4: strbuf_addf(sb, "{ dayOfWeek = [ \"Mon\" \"Wed\" \"Fri\" ]; hour = [ %u ]; }", h); break;
	case 5: strbuf_addf(sb, "{ hour = [ %u ]; }", h); break;
	case 6: strbuf_addf(sb, "{ hour = [ %u %u ]; }", h, h + 12); break;
	case 7: strbuf_addf(sb, "{ hour = [ %u %u %u %u ]; }", h, h + 6, h + 12, h + 18); break;
	default: break;
	}
}

/* A jobset name: [A-Za-z0-9_-] only. */
static void jobset_name(const struct sched_group *g, struct strbuf *sb)
{
	const char *parts[3] = {g->branch, g->capabilities, g->system};

	strbuf_reset(sb);
	for (int i = 0; i < 3; i++) {
		if (i)
			strbuf_addstr(sb, i == 1 ? "-cuda" : "-");
		for (const char *p = parts[i]; *p; p++)
			strbuf_addch(sb, (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
					 (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ? *p : '_');
	}
}

static const char *interval_word(double days, char *buf, size_t n)
{
	if (days <= 0)
		return "never";
	if (days < 1)
		snprintf(buf, n, "%gh", days * 24);
	else
		snprintf(buf, n, "%gd", days);
	return buf;
}

/* ---- output ----------------------------------------------------------------- */

static json_t *jstr(const char *s)
{
	json_t *j = s ? json_string(s) : NULL;

	return j ? j : json_null();
}

static json_t *alt_json(const struct sched_alt *a)
{
	json_t *o = json_object();

	json_object_set_new(o, "intervalDays", a->interval_days > 0 ? json_real(a->interval_days)
								    : json_null());
	json_object_set_new(o, "predictedShare", json_real(a->share));
	json_object_set_new(o, "pushBytesPerWeek", json_integer((json_int_t)llround(a->push_per_week)));
	return o;
}

static void print_json(const struct schedule *s, const struct sched_opts *o)
{
	json_t *top = json_object(), *groups = json_array();
	struct strbuf sb = STRBUF_INIT;

	json_object_set_new(top, "limit", json_integer((json_int_t)o->limit));
	json_object_set_new(top, "policy", json_string(gc_policy_name(o->policy)));
	json_object_set_new(top, "horizonDays", json_real(o->horizon_days));
	json_object_set_new(top, "keep", json_integer(o->keep));
	json_object_set_new(top, "target", json_real(o->target));
	json_object_set_new(top, "feasible", json_boolean(s->feasible));
	if (!s->feasible)
		json_object_set_new(top, "shortfallBytes", s->shortfall
			? json_integer((json_int_t)s->shortfall) : json_null());
	json_object_set_new(top, "simulations", json_integer(s->simulations));
	for (size_t i = 0; i < s->ngroups; i++) {
		const struct sched_group *g = &s->groups[i];
		json_t *j = json_object(), *alts = json_array();
		json_object_set_new(j, "branch", jstr(g->branch));
		json_object_set_new(j, "capabilities", jstr(g->capabilities));
		json_object_set_new(j, "system", jstr(g->system));
		json_object_set_new(j, "weight", json_real(g->weight));
		json_object_set_new(j, "intervalDays", g->chosen.interval_days > 0
			? json_real(g->chosen.interval_days) : json_null());
		json_object_set_new(j, "predictedShare", json_real(g->chosen.share));
		json_object_set_new(j, "churnBytes", json_integer((json_int_t)g->churn_bytes));
		json_object_set_new(j, "closureBytes", json_integer((json_int_t)g->closure_bytes));
		json_object_set_new(j, "sharedBytes", json_integer((json_int_t)g->shared_bytes));
		json_object_set_new(j, "measuredEvals", json_integer(g->nevals));
		json_object_set_new(j, "evalsPerWeek", json_real(g->evals_per_week));
		json_object_set_new(j, "pushBytesPerWeek",
				    json_integer((json_int_t)llround(g->chosen.push_per_week)));
		json_object_set_new(j, "survivalDays", g->survival_days >= 0
			? json_real(g->survival_days) : json_null());
		json_object_set_new(j, "goneOutputs", json_integer(g->gone_outputs));
		json_object_set_new(j, "outputs", json_integer(g->outputs));
		json_object_set_new(j, "hydraCheckinterval", json_integer(hydra_interval(g->rung)));
		hercules_when(g->rung, i, &sb);
		json_object_set_new(j, "herculesWhen", sb.len ? json_string(sb.buf) : json_null());
		if (g->longer.valid)
			json_array_append_new(alts, alt_json(&g->longer));
		if (g->shorter.valid)
			json_array_append_new(alts, alt_json(&g->shorter));
		json_object_set_new(j, "alternatives", alts);
		json_array_append_new(groups, j);
	}
	json_object_set_new(top, "groups", groups);
	json_dumpf(top, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(top);
	strbuf_release(&sb);
}

static void add_alt(struct strbuf *sb, const struct sched_alt *a)
{
	char b[32], w[32];

	if (!a->valid) {
		strbuf_addstr(sb, "-");
		return;
	}
	strbuf_addf(sb, "%s %.0f%% %s/wk", interval_word(a->interval_days, w, sizeof(w)),
		    a->share * 100, format_size((uint64_t)llround(a->push_per_week), b, sizeof(b)));
}

static void print_table(const struct schedule *s, const struct sched_opts *o, const char *url,
			int md)
{
	struct strbuf sb = STRBUF_INIT, nm = STRBUF_INIT;
	char t[32], b1[32], b2[32], b3[32], b4[32], w[32];

	strbuf_addstr(&sb, md ? "### Rebuild schedule for `" : "rebuild schedule for ");
	strbuf_addstr_printable(&sb, url);
	strbuf_addf(&sb, "%s as of %s: limit %s, policy %s, horizon %g days, keep the newest %u, "
		    "target %.0f%%\n", md ? "`" : "", format_time(o->at, t, sizeof(t)),
		    format_size(o->limit, b1, sizeof(b1)), gc_policy_name(o->policy), o->horizon_days,
		    o->keep, o->target * 100);
	if (s->feasible)
		strbuf_addf(&sb, "%sfeasible: the most valuable groups keep the target (%u replays)\n",
			    md ? "\n" : "", s->simulations);
	else if (s->shortfall)
		strbuf_addf(&sb, "%sNOT feasible: no schedule keeps the newest builds of the most valuable "
			    "groups at the target; the limit falls short by about %s (a limit of "
			    "%s would do)\n", md ? "\n" : "",
			    format_size(s->shortfall, b1, sizeof(b1)),
			    format_size(o->limit + s->shortfall, b2, sizeof(b2)));
	else
		strbuf_addf(&sb, "%sNOT feasible: no schedule keeps the newest builds of the most valuable "
			    "groups at the target under %s (its retention, not a limit, decides)\n",
			    md ? "\n" : "", gc_policy_name(o->policy));
	strbuf_addstr(&sb, md ? "\n| group | weight | evals/wk | closure | churn | shared | survival "
				"| interval | share | push/wk | longer | shorter |\n"
				"| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |\n"
			      : "\n weight evals/wk   closure     churn    shared survival  interval share"
				"   push/wk  group\n");
	for (size_t i = 0; i < s->ngroups; i++) {
		const struct sched_group *g = &s->groups[i];
		char surv[32];
		if (g->survival_days >= 0)
			snprintf(surv, sizeof(surv), "%.1fd", g->survival_days);
		else
			snprintf(surv, sizeof(surv), "-");
		format_size(g->closure_bytes, b1, sizeof(b1));
		format_size(g->churn_bytes, b2, sizeof(b2));
		format_size(g->shared_bytes, b3, sizeof(b3));
		format_size((uint64_t)llround(g->chosen.push_per_week), b4, sizeof(b4));
		if (md) {
			strbuf_addstr(&sb, "| `");
			strbuf_addstr_printable(&sb, g->branch);
			strbuf_addstr(&sb, " / ");
			strbuf_addstr_printable(&sb, g->capabilities);
			strbuf_addstr(&sb, " / ");
			strbuf_addstr_printable(&sb, g->system);
			strbuf_addf(&sb, "` | %g | %.1f | %s | %s | %s | %s | **%s** | %.0f%% | %s | ", g->weight,
				    g->evals_per_week, b1, b2, b3, surv,
				    interval_word(g->chosen.interval_days, w, sizeof(w)),
				    g->chosen.share * 100, b4);
			add_alt(&sb, &g->longer);
			strbuf_addstr(&sb, " | ");
			add_alt(&sb, &g->shorter);
			strbuf_addstr(&sb, " |\n");
		} else {
			strbuf_addf(&sb, "%7g %8.1f %9s %9s %9s %8s %9s %4.0f%% %9s  ", g->weight,
				    g->evals_per_week, b1, b2, b3, surv,
				    interval_word(g->chosen.interval_days, w, sizeof(w)),
				    g->chosen.share * 100, b4);
			strbuf_addstr_printable(&sb, g->branch);
			strbuf_addstr(&sb, " / ");
			strbuf_addstr_printable(&sb, g->capabilities);
			strbuf_addstr(&sb, " / ");
			strbuf_addstr_printable(&sb, g->system);
			strbuf_addstr(&sb, "\n        longer: ");
			add_alt(&sb, &g->longer);
			strbuf_addstr(&sb, "   shorter: ");
			add_alt(&sb, &g->shorter);
			strbuf_addch(&sb, '\n');
		}
	}
	strbuf_addstr(&sb, md ? "\n<details><summary>Hydra and Hercules CI</summary>\n\n```\n" : "\n");
	strbuf_addstr(&sb, "# Hydra: checkinterval per jobset (seconds; 0 = disabled)\n");
	for (size_t i = 0; i < s->ngroups; i++) {
		jobset_name(&s->groups[i], &nm);
		strbuf_addf(&sb, "%s checkinterval = %lld\n", nm.buf,
			    (long long)hydra_interval(s->groups[i].rung));
	}
	strbuf_addstr(&sb, "\n# Hercules CI: herculesCI.onSchedule.<name>.when\n");
	for (size_t i = 0; i < s->ngroups; i++) {
		struct strbuf wb = STRBUF_INIT;
		jobset_name(&s->groups[i], &nm);
		hercules_when(s->groups[i].rung, i, &wb);
		if (wb.len)
			strbuf_addf(&sb, "onSchedule.%s.when = %s;\n", nm.buf, wb.buf);
		else
			strbuf_addf(&sb, "# %s: never (no onSchedule)\n", nm.buf);
		strbuf_release(&wb);
	}
	if (md)
		strbuf_addstr(&sb, "```\n\n</details>\n");
	fputs(sb.buf, stdout);
	strbuf_release(&sb);
	strbuf_release(&nm);
}

static void print_validation(const struct sched_validation *v, const struct sched_opts *o,
			     int json)
{
	char t1[32], t2[32];

	if (json) {
		json_t *top = json_object(), *groups = json_array();
		json_object_set_new(top, "split", json_string(format_time(v->split, t1, sizeof(t1))));
		json_object_set_new(top, "end", json_string(format_time(v->end, t2, sizeof(t2))));
		json_object_set_new(top, "policy", json_string(gc_policy_name(o->policy)));
		json_object_set_new(top, "limit", json_integer((json_int_t)o->limit));
		json_object_set_new(top, "crawls", json_integer(v->crawls));
		json_object_set_new(top, "meanAbsoluteError", v->nvg ? json_real(v->mae) : json_null());
		for (size_t i = 0; i < v->nvg; i++) {
			const struct sched_val_group *vg = &v->vg[i];
			const struct sched_group *g = &v->groups[vg->group];
			json_t *j = json_object();
			json_object_set_new(j, "branch", jstr(g->branch));
			json_object_set_new(j, "capabilities", jstr(g->capabilities));
			json_object_set_new(j, "system", jstr(g->system));
			json_object_set_new(j, "crawls", json_integer(vg->crawls));
			json_object_set_new(j, "predicted", json_real(vg->predicted));
			json_object_set_new(j, "recorded", json_real(vg->recorded));
			json_array_append_new(groups, j);
		}
		json_object_set_new(top, "groups", groups);
		json_dumpf(top, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(top);
		return;
	}
	printf("model check: measured up to %s, the evaluations after it replayed to %s\n"
	       "(policy %s, limit %llu bytes, keep %u); %u complete crawls after the split\n\n"
	       " predicted  recorded  error  crawls  group\n",
	       format_time(v->split, t1, sizeof(t1)), format_time(v->end, t2, sizeof(t2)),
	       gc_policy_name(o->policy), (unsigned long long)o->limit, o->keep, v->crawls);
	for (size_t i = 0; i < v->nvg; i++) {
		const struct sched_val_group *vg = &v->vg[i];
		const struct sched_group *g = &v->groups[vg->group];
		printf("    %5.1f%%    %5.1f%%  %5.1f  %6u  ", vg->predicted * 100, vg->recorded * 100,
		       fabs(vg->predicted - vg->recorded) * 100, vg->crawls);
		fprintf_printable(stdout, "%s / %s / %s\n", g->branch, g->capabilities, g->system);
	}
	if (v->nvg)
		printf("\nmean absolute error: %.1f percentage points over %zu groups\n", v->mae * 100,
		       v->nvg);
	else
		printf("\nno group was evaluated both before the split and by a later crawl\n");
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct schedule_cli a = {.at = INT64_MIN};
	struct sched_opts o = {0};
	struct schedule s = {0};
	struct sched_validation v = {0};
	struct gc_weights wt;
	char *url = NULL;
	int n, ret = 1;

	if ((n = parse_options(&schedule_parser, argc, argv, &a)) < 0)
		return parse_options_exit(n);
	if (a.json && a.markdown)
		return cmd_usage_error(&cmd_schedule, "--json and --markdown exclude each other");
	if (!a.limit)
		return cmd_usage_error(&cmd_schedule, "--limit SIZE is required (the cache's space "
				       "limit, more than 0 bytes)");
	if (a.validate && a.markdown)
		return cmd_usage_error(&cmd_schedule, "--validate prints a table or --json");
	o.policy = GC_CACHIX;
	if (a.policy && gc_policy_parse(a.policy, &o.policy))
		return cmd_usage_error(&cmd_schedule, "--policy wants cachix, attic, niks3 or "
				       "priority, not '%s'", a.policy);
	o.limit = a.limit;
	o.keep = a.keep ? (unsigned)a.keep : 1;
	o.horizon_days = a.horizon > 0 ? a.horizon : 28;
	o.target = (a.target ? (double)a.target : 95) / 100;
	o.at = a.at != INT64_MIN ? a.at : clock_now();
	gc_weights_init(&wt);
	if (a.weights && gc_weights_load(&wt, a.weights))
		goto out;
	o.weights = &wt;
	if (cache_resolve(ctx->db, a.cache, &o.cache_id, &url))
		goto out;
	if (a.validate) {
		if (schedule_validate(&v, ctx->db, &o))
			goto out;
		print_validation(&v, &o, a.json);
		ret = 0;
		goto out;
	}
	if (schedule_run(&s, ctx->db, &o))
		goto out;
	if (!s.ngroups) {
		char t[32];
		error("no evaluation as of %s; see 'cachegc import-eval'",
		      format_time(o.at, t, sizeof(t)));
		goto out;
	}
	if (a.json)
		print_json(&s, &o);
	else
		print_table(&s, &o, url, a.markdown);
	ret = 0;
out:
	schedule_release(&s);
	schedule_validation_release(&v);
	gc_weights_release(&wt);
	free(url);
	return ret;
}

const struct cmd cmd_schedule = {
	.name = "schedule",
	.summary = "how often to rebuild each branch and capability set to stay cached",
	.options = &schedule_parser,
	.db = DB_READ,
	.run = run,
};
