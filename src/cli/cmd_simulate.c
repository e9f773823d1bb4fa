/*
 * cmd_simulate.c - `cachegc simulate`: replay a cache's recorded history
 * under a GC policy (gc_simulate), compare the policy with the evictions
 * the crawls recorded, or list what the policy takes next (gc_select,
 * gc_breaks).  The model is in gc.c; this file parses options and prints.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "store/db.h"
#include "store/records.h"
#include "analysis/gc.h"
#include "store/lookup.h"
#include "store/meta.h"
#include "lib/util.h"

/* Sentinels tell "not given": sizes UINT64_MAX, times INT64_MIN, days and
 * counts 0. */
struct simulate_cli {
	const char *policy, *weights, *cache;
	uint64_t limit, next;
	double retention, step;
	int64_t from, to;
	int access, json;
};

static const char *const access_models[] = {"auto", "logs", "evals", NULL};

static const struct option simulate_options[] = {
	OPT_STRING_OF("policy", struct simulate_cli, policy, "P", gc_policy_names,
		      "cachix, attic, niks3 or priority"),
	OPT_SIZE("limit", struct simulate_cli, limit, "SIZE",
		 "size limit (cachix, priority): bytes, K/M/G/T (1024-based),\n"
		 "KiB/MiB/GiB/TiB, KB/MB/GB/TB"),
	OPT_DAYS("retention", struct simulate_cli, retention, "DAYS", 1, 36500, OPT_WHOLE,
		 "attic and niks3 (default 30)"),
	OPT_TIME("from", struct simulate_cli, from, "T",
		 "start (default: the first recorded push); the simulated\n"
		 "cache starts as recorded at T"),
	OPT_TIME("to", struct simulate_cli, to, "T",
		 "end (default: the last crawl, push or evaluation); T is\n"
		 "2024-05-01, 2024-05-01T12:00:00Z or @EPOCH"),
	OPT_DAYS("step", struct simulate_cli, step, "DAYS", 1.0 / 86400, 3650, 0,
		 "time between GC runs, fractions allowed (default 1)"),
	OPT_PATH("weights", struct simulate_cli, weights, "FILE",
		 "priority's weights: lines 'KIND PATTERN WEIGHT'"),
	OPT_ENUM("access", struct simulate_cli, access, "A", access_models,
		 "what cachix and attic count as accesses: logs (imported\n"
		 "logs), evals (also each evaluation's outputs' closures at\n"
		 "its time) or auto (evals when no log was imported)"),
	OPT_COUNT("next", struct simulate_cli, next, "N", 1, 1000000, "a number of paths (1 to 1000000)",
		 "the first N paths the policy takes now"),
	OPT_STRING("cache", struct simulate_cli, cache, "CACHE",
		 "the cache (URL, directory or id); default: the only one"),
	OPT_FLAG("json", 0, struct simulate_cli, json,
		 "{\"cache\", \"policy\", \"limit\", \"steps\": [{\"time\",\n"
		 "\"storedBytes\", \"rejectedBytes\", \"storedPaths\", \"pushedPaths\",\n"
		 "\"pushedBytes\", \"evictedPaths\", \"evictedBytes\", \"evictedByReason\",\n"
		 "\"recordedEvictions\", \"matchedEvictions\", \"groups\":\n"
		 "[{\"branch\", \"capabilities\", \"jobs\", \"retained\", \"share\",\n"
		 "...}]}], \"summary\", \"match\": {\"intervals\", \"predicted\",\n"
		 "\"recorded\", \"matched\", \"precision\", \"recall\"}}; with\n"
		 "--next: {\"policy\", \"at\", \"storedBytes\", \"rejectedBytes\",\n"
		 "\"paths\": [{\"path\", \"reason\", \"downloadSize\", \"due\",\n"
		 "\"breaksCount\", \"breaks\"}]}"),
	OPT_HELP("this text"),
	OPT_TEXT("\n"
		 "Exit status: 0 on success, 1 when it could not run (no history, bad\n"
		 "weights file, DB errors), 2 for a usage error.\n"),
	OPT_END(),
};

static const struct opt_parser simulate_parser = {
	.name = "simulate",
	.usage = "usage: cachegc simulate --policy P [--limit SIZE] [--retention DAYS] [--from T]\n"
		 "                        [--to T] [--step DAYS] [--weights FILE] [--access A]\n"
		 "                        [--cache CACHE] [--json]\n"
		 "       cachegc simulate --policy P --next N [--limit SIZE] [--to T] ...\n"
		 "\n"
		 "Replay a cache's recorded history (pushes at their push times, imported\n"
		 "accesses, evaluations) step by step under a GC policy; per step: bytes\n"
		 "and paths stored, pushed and evicted, and per branch and capability set\n"
		 "the share of the latest evaluation's jobs whose closure is wholly kept.\n"
		 "CI pushes whole closures: a push brings back what the cache lost of it.\n"
		 "\n"
		 "When crawls recorded evictions, the policy also runs once per pair of\n"
		 "consecutive crawls, on the cache as the earlier crawl saw it plus what\n"
		 "was pushed after, and its victims are compared with what the later crawl\n"
		 "found gone: precision and recall tell which policy the cache runs.  Per\n"
		 "step, RECORDED counts the paths a crawl found gone within the step and\n"
		 "MATCHED those of them the simulated cache does not hold either.\n"
		 "\n"
		 "With --next N: the first N paths the policy takes from the cache as last\n"
		 "crawled, at --to (default: now), with the jobs of current evaluations\n"
		 "each breaks; paths the limit does not require yet are marked next in line.\n"
		 "\n"
		 "policies (README: Garbage collection):\n"
		 "  cachix     least recently accessed first until under the limit; paths\n"
		 "             whose closure lost a member go too (no longer served)\n"
		 "  attic      pushed before now - retention and no NAR download since\n"
		 "  niks3      outputs of evaluations within the retention are roots; what\n"
		 "             they do not reach goes\n"
		 "  priority   keeps whole closures of the most valuable outputs under the\n"
		 "             limit (weight(branch) x weight(capabilities) x weight(attr))\n"
		 "\n"
		 "options:\n",
	.opts = simulate_options,
	.column = 19,
	.flags = PARSE_NO_ARGS,
};

extern const struct cmd cmd_simulate;

#define BREAKS_SHOWN 20

struct step_copy {
	struct gc_step s;      /* groups points into the copies below */
};

struct sim_ctx {
	struct gc_world *w;
	struct step_copy *steps;
	size_t nsteps, asteps;
	struct gc_step_group *groups;
	size_t ngroups, agroups;
	size_t *group0;        /* per step: index of its first group */
	size_t agroup0;
	struct progress prog;
};

static int on_step(void *vctx, const struct gc_step *s)
{
	struct sim_ctx *c = vctx;

	GROW(c->steps, c->asteps, c->nsteps + 1);
	GROW(c->group0, c->agroup0, c->nsteps + 1);
	c->steps[c->nsteps].s = *s;
	c->group0[c->nsteps] = c->ngroups;
	/* A step before any evaluation has no groups (and maybe no array):
	 * memcpy from NULL is undefined even for 0 bytes. */
	if (s->ngroups) {
		GROW(c->groups, c->agroups, c->ngroups + s->ngroups);
		memcpy(c->groups + c->ngroups, s->groups, s->ngroups * sizeof(*s->groups));
		c->ngroups += s->ngroups;
	}
	c->nsteps++;
	progress_update(&c->prog, c->nsteps);
	return 0;
}

static const char *tstr(int64_t t, char *buf, size_t n)
{
	return format_time(t, buf, n);
}

static json_t *ratio_json(uint64_t a, uint64_t b)
{
	return b ? json_real((double)a / (double)b) : json_null();
}

static void pct(char *buf, size_t n, uint64_t a, uint64_t b)
{
	if (b)
		snprintf(buf, n, "%.1f%%", 100.0 * (double)a / (double)b);
	else
		snprintf(buf, n, "-");
}

static json_t *group_json(const struct gc_world *w, const struct gc_step_group *g)
{
	const struct gc_group *gr = &w->groups[g->group];
	const struct gc_eval *ev = &w->evals[g->eval];

	return json_pack("{s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:o}", "branch", gr->branch,
			 "capabilities", gr->capabilities, "system", gr->system,
			 "evaluation", (json_int_t)ev->id, "rev", ev->rev, "jobs", (json_int_t)g->jobs,
			 "retained", (json_int_t)g->retained, "share", ratio_json(g->retained, g->jobs));
}

static json_t *sim_json(const struct sim_ctx *c, const char *cache_url, const struct gc_sim_opts *o,
			const char *access, const struct gc_sim_result *res)
{
	json_t *root = json_object(), *steps = json_array(), *iv = json_array(), *m;
	char buf[32];

	json_object_set_new(root, "cache", json_string(cache_url));
	json_object_set_new(root, "policy", json_string(gc_policy_name(o->policy)));
	json_object_set_new(root, "limit", o->params.limit ? json_integer((json_int_t)o->params.limit)
							   : json_null());
	json_object_set_new(root, "retention", o->policy == GC_ATTIC || o->policy == GC_NIKS3
				? json_integer(o->params.retention / 86400) : json_null());
	json_object_set_new(root, "access", json_string(access));
	json_object_set_new(root, "from", json_string(tstr(o->from, buf, sizeof(buf))));
	json_object_set_new(root, "to", json_string(tstr(o->to, buf, sizeof(buf))));
	json_object_set_new(root, "step", json_integer(o->step));
	for (size_t i = 0; i < c->nsteps; i++) {
		const struct gc_step *s = &c->steps[i].s;
		json_t *js = json_object(), *by = json_object(), *gs = json_array();
		size_t g0 = c->group0[i];
		json_object_set_new(js, "time", json_string(tstr(s->time, buf, sizeof(buf))));
		json_object_set_new(js, "storedBytes", json_integer((json_int_t)s->stored_bytes));
		json_object_set_new(js, "rejectedBytes", json_integer((json_int_t)s->rejected_bytes));
		json_object_set_new(js, "storedPaths", json_integer((json_int_t)s->stored_paths));
		json_object_set_new(js, "pushedPaths", json_integer((json_int_t)s->pushed_paths));
		json_object_set_new(js, "pushedBytes", json_integer((json_int_t)s->pushed_bytes));
		json_object_set_new(js, "evictedPaths", json_integer((json_int_t)s->evicted_paths));
		json_object_set_new(js, "evictedBytes", json_integer((json_int_t)s->evicted_bytes));
		for (int r = 0; r < GC_NREASONS; r++)
			if (s->evicted_by_reason[r])
				json_object_set_new(by, gc_reason_name(r),
						    json_integer((json_int_t)s->evicted_by_reason[r]));
		json_object_set_new(js, "evictedByReason", by);
		json_object_set_new(js, "recordedEvictions", json_integer((json_int_t)s->recorded_evictions));
		json_object_set_new(js, "matchedEvictions", json_integer((json_int_t)s->matched_evictions));
		for (size_t k = 0; k < s->ngroups; k++)
			json_array_append_new(gs, group_json(c->w, &c->groups[g0 + k]));
		json_object_set_new(js, "groups", gs);
		json_array_append_new(steps, js);
	}
	json_object_set_new(root, "steps", steps);
	json_object_set_new(root, "summary", json_pack("{s:I, s:I, s:I, s:I}",
		"steps", (json_int_t)res->steps, "evictedPaths", (json_int_t)res->evicted_paths,
		"evictedBytes", (json_int_t)res->evicted_bytes,
		"maxStoredBytes", (json_int_t)res->max_stored_bytes));
	for (size_t i = 0; i < res->nmatch; i++) {
		const struct gc_match *mt = &res->match[i];
		char b2[32];
		json_array_append_new(iv, json_pack("{s:s, s:s, s:I, s:I, s:I, s:o, s:o}",
			"from", tstr(mt->from, buf, sizeof(buf)), "to", tstr(mt->to, b2, sizeof(b2)),
			"predicted", (json_int_t)mt->predicted, "recorded", (json_int_t)mt->recorded,
			"matched", (json_int_t)mt->matched,
			"precision", ratio_json(mt->matched, mt->predicted),
			"recall", ratio_json(mt->matched, mt->recorded)));
	}
	m = json_pack("{s:o, s:I, s:I, s:I, s:o, s:o}", "intervals", iv,
		      "predicted", (json_int_t)res->predicted, "recorded", (json_int_t)res->recorded,
		      "matched", (json_int_t)res->matched,
		      "precision", ratio_json(res->matched, res->predicted),
		      "recall", ratio_json(res->matched, res->recorded));
	json_object_set_new(root, "match", m);
	return root;
}

static void sim_text(const struct sim_ctx *c, const char *cache_url, const struct gc_sim_opts *o,
		     const char *access, const struct gc_sim_result *res)
{
	char a[32], b[32], d[32], e[32];
	const struct gc_world *w = c->w;

	/* The cache URL may be a directory's name: shown escaped. */
	fprintf_printable(stdout, "simulate %s on %s", gc_policy_name(o->policy), cache_url);
	if (o->params.limit)
		printf(", limit %s", format_size(o->params.limit, a, sizeof(a)));
	if (o->policy == GC_ATTIC || o->policy == GC_NIKS3)
		printf(", retention %lld days", (long long)(o->params.retention / 86400));
	printf(", accesses: %s\n", access);
	printf("%zu steps of %g days from %s to %s\n\n", c->nsteps, (double)o->step / 86400.0,
	       tstr(o->from, a, sizeof(a)), tstr(o->to, b, sizeof(b)));
	printf("%-20s %11s %9s %8s %8s %11s %9s %8s %7s\n", "TIME", "STORED", "PATHS", "PUSHED",
	       "EVICTED", "EV.BYTES", "JOBS.KEPT", "RECORDED", "MATCHED");
	for (size_t i = 0; i < c->nsteps; i++) {
		const struct gc_step *s = &c->steps[i].s;
		uint64_t jobs = 0, kept = 0;
		for (size_t k = 0; k < s->ngroups; k++) {
			jobs += c->groups[c->group0[i] + k].jobs;
			kept += c->groups[c->group0[i] + k].retained;
		}
		pct(e, sizeof(e), kept, jobs);
		printf("%-20s %11s %9llu %8llu %8llu %11s %9s %8llu %7llu\n",
		       tstr(s->time, a, sizeof(a)), format_size(s->stored_bytes, b, sizeof(b)),
		       (unsigned long long)s->stored_paths, (unsigned long long)s->pushed_paths,
		       (unsigned long long)s->evicted_paths, format_size(s->evicted_bytes, d, sizeof(d)),
		       e, (unsigned long long)s->recorded_evictions,
		       (unsigned long long)s->matched_evictions);
	}
	if (c->nsteps && c->steps[c->nsteps - 1].s.ngroups) {
		const struct gc_step *last = &c->steps[c->nsteps - 1].s;
		printf("\njobs wholly kept, latest evaluation of each branch and capability set\n"
		       "(at the last step; mean share over the steps it existed):\n");
		for (size_t k = 0; k < last->ngroups; k++) {
			const struct gc_step_group *g = &c->groups[c->group0[c->nsteps - 1] + k];
			const struct gc_group *gr = &w->groups[g->group];
			double sum = 0;
			unsigned cnt = 0;
			char label[160];
			for (size_t i = 0; i < c->nsteps; i++)
				for (size_t q = 0; q < c->steps[i].s.ngroups; q++) {
					const struct gc_step_group *h = &c->groups[c->group0[i] + q];
					if (h->group == g->group && h->jobs) {
						sum += (double)h->retained / (double)h->jobs;
						cnt++;
					}
				}
			snprintf(label, sizeof(label), "%s [%s] %s", gr->branch, gr->capabilities,
				 gr->system);
			pct(a, sizeof(a), g->retained, g->jobs);
			printf("  %-44s %6u/%-6u %7s   mean %5.1f%%\n", label, g->retained, g->jobs, a,
			       cnt ? 100.0 * sum / cnt : 0.0);
		}
	}
	printf("\nevicted %llu paths (%s); stored at most %s\n",
	       (unsigned long long)res->evicted_paths, format_size(res->evicted_bytes, a, sizeof(a)),
	       format_size(res->max_stored_bytes, b, sizeof(b)));
	if (c->nsteps && c->steps[c->nsteps - 1].s.rejected_bytes)
		printf("stored includes %s of refused narinfos' files (at the last step): no "
		       "policy frees them,\nas the model does not know their paths\n",
		       format_size(c->steps[c->nsteps - 1].s.rejected_bytes, a, sizeof(a)));
	if (!res->nmatch) {
		printf("recorded evictions: none to compare with (needs two complete crawls)\n");
		return;
	}
	pct(a, sizeof(a), res->matched, res->predicted);
	pct(b, sizeof(b), res->matched, res->recorded);
	printf("recorded evictions over %zu crawl intervals: predicted %llu, recorded %llu, "
	       "matched %llu\n  precision %s, recall %s\n", res->nmatch,
	       (unsigned long long)res->predicted, (unsigned long long)res->recorded,
	       (unsigned long long)res->matched, a, b);
}

/* ---- --next ---------------------------------------------------------------- */

static int path_base(struct db *db, uint32_t id, struct strbuf *out)
{
	return path_base_name(db, id, out) < 0 ? -1 : 0;
}

static int show_next(struct cmd_ctx *ctx, struct gc_world *w, const char *cache_url,
		     enum gc_policy p, const struct gc_params *params, uint64_t n, int json)
{
	struct gc_params pa = *params;
	struct gc_victims v = {0};
	struct gc_breaks br = {0};
	uint8_t *stored = gc_stored_now(w);
	char *store_dir = db_store_dir(ctx->db);
	struct strbuf sb = STRBUF_INIT;
	uint64_t freed = 0, rej = gc_rejected_at(w, pa.now);
	size_t due = 0;
	char a[32], b[32];
	json_t *root = NULL, *paths = NULL;
	int ret = 1;

	if (!store_dir)
		goto out;
	/* How many the limit takes; then the order beyond it. */
	if (gc_select(w, p, &pa, stored, &v))
		goto out;
	/* Without a limit a size-based policy is not required to take
	 * anything: the list is only its order. */
	due = (p == GC_CACHIX || p == GC_PRIORITY) && !params->limit ? 0 : v.n;
	if (p == GC_CACHIX || p == GC_PRIORITY) {
		pa.limit = 0;
		if (gc_select(w, p, &pa, stored, &v))
			goto out;
	}
	if (v.n > n)
		v.n = (size_t)n;
	if (gc_breaks(w, stored, &v, pa.now, 1, BREAKS_SHOWN, &br))
		goto out;
	if (json) {
		root = json_object();
		paths = json_array();
		json_object_set_new(root, "cache", json_string(cache_url));
		json_object_set_new(root, "policy", json_string(gc_policy_name(p)));
		json_object_set_new(root, "at", json_string(format_time(pa.now, a, sizeof(a))));
		json_object_set_new(root, "storedBytes", json_integer((json_int_t)(v.bytes_before + rej)));
		json_object_set_new(root, "rejectedBytes", json_integer((json_int_t)rej));
		json_object_set_new(root, "limit", params->limit ? json_integer((json_int_t)params->limit)
								 : json_null());
	} else {
		printf("%s on %s at %s: %s stored", gc_policy_name(p), cache_url,
		       format_time(pa.now, a, sizeof(a)), format_size(v.bytes_before + rej, b, sizeof(b)));
		if (rej)
			printf(" (%s of them refused narinfos' files, which no policy frees)",
			       format_size(rej, b, sizeof(b)));
		if (params->limit && (p == GC_CACHIX || p == GC_PRIORITY))
			printf(", limit %s", format_size(params->limit, b, sizeof(b)));
		printf("; it takes %zu path%s now\n", due, due == 1 ? "" : "s");
		if (v.n)
			printf("\n%-4s %-15s %10s %6s  %s\n", "SEQ", "REASON", "SIZE", "BREAKS", "PATH");
	}
	for (size_t i = 0; i < v.n; i++) {
		const struct gc_victim *x = &v.v[i];
		strbuf_reset(&sb);
		strbuf_addf(&sb, "%s/", store_dir);
		if (path_base(ctx->db, x->path, &sb))
			goto out;
		freed += (uint64_t)x->bytes;
		if (json) {
			json_t *jp = json_object(), *jb = json_array();
			json_object_set_new(jp, "path", json_string(sb.buf));
			json_object_set_new(jp, "reason", json_string(gc_reason_name(x->reason)));
			json_object_set_new(jp, "downloadSize", json_integer(x->bytes));
			json_object_set_new(jp, "due", json_boolean(i < due));
			json_object_set_new(jp, "breaksCount", json_integer(br.count[i]));
			for (size_t k = br.off[i]; k < br.off[i + 1]; k++) {
				uint32_t j = br.jobs[k];
				const struct gc_eval *ev = &w->evals[gc_job_eval(w, j)];
				const struct gc_group *g = &w->groups[ev->group];
				json_array_append_new(jb, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}",
					"evaluation", (json_int_t)ev->id, "branch", g->branch,
					"capabilities", g->capabilities, "system", g->system,
					"attr", gc_job_attr(w, j), "output", gc_job_output(w, j)));
			}
			json_object_set_new(jp, "breaks", jb);
			json_array_append_new(paths, jp);
			continue;
		}
		if (i == due && due)
			printf("---- under the limit from here: next in line\n");
		printf("%-4zu %-15s %10s %6u  %s\n", i + 1, gc_reason_name(x->reason),
		       format_size((uint64_t)x->bytes, a, sizeof(a)), br.count[i], sb.buf);
		for (size_t k = br.off[i]; k < br.off[i + 1] && k < br.off[i] + 3; k++) {
			uint32_t j = br.jobs[k];
			const struct gc_eval *ev = &w->evals[gc_job_eval(w, j)];
			const struct gc_group *g = &w->groups[ev->group];
			printf("       breaks %s.%s (%s [%s], evaluation %lld)\n", gc_job_attr(w, j),
			       gc_job_output(w, j), g->branch, g->capabilities, (long long)ev->id);
		}
		if (br.count[i] > 3)
			printf("       ... and %u more\n", br.count[i] - 3);
	}
	if (json) {
		json_object_set_new(root, "paths", paths);
		paths = NULL;
		json_dumpf(root, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	} else if (v.n) {
		printf("\n%zu path%s, %s\n", v.n, v.n == 1 ? "" : "s", format_size(freed, a, sizeof(a)));
	}
	ret = 0;
out:
	json_decref(paths);
	json_decref(root);
	strbuf_release(&sb);
	free(store_dir);
	free(stored);
	gc_breaks_release(&br);
	gc_victims_release(&v);
	return ret;
}

/* ---- options -------------------------------------------------------------- */

static void history_span(const struct gc_world *w, int64_t *lo, int64_t *hi)
{
	*lo = INT64_MAX;
	*hi = INT64_MIN;
	if (w->npushes) {
		*lo = w->pushes.time[0];
		*hi = w->pushes.time[w->npushes - 1];
	}
	if (w->ncrawls && w->crawl_times[w->ncrawls - 1] > *hi)
		*hi = w->crawl_times[w->ncrawls - 1];
	if (w->nevals && w->evals[w->nevals - 1].time > *hi)
		*hi = w->evals[w->nevals - 1].time;
	if (w->naccesses && w->accesses.time[w->naccesses - 1] > *hi)
		*hi = w->accesses.time[w->naccesses - 1];
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct simulate_cli opt = {.limit = UINT64_MAX, .from = INT64_MIN, .to = INT64_MIN};
	const char *val[10] = {NULL};
	struct gc_weights wt;
	struct gc_world w;
	struct gc_sim_opts o;
	struct gc_sim_result res;
	struct sim_ctx sc;
	char *cache_url = NULL;
	const char *access_name;
	int64_t cache_id, lo, hi;
	uint64_t next = 0;
	int json = 0, ret = 1, reading = 0;

	memset(&w, 0, sizeof(w));
	memset(&o, 0, sizeof(o));
	memset(&sc, 0, sizeof(sc));
	memset(&res, 0, sizeof(res));
	if ((ret = parse_options(&simulate_parser, argc, argv, &opt)) < 0)
		return parse_options_exit(ret);
	ret = 1;
	json = opt.json;
	/* val[]: what was given, for the checks below and after */
	val[0] = opt.policy;
	val[1] = opt.limit != UINT64_MAX ? "" : NULL;
	val[3] = opt.from != INT64_MIN ? "" : NULL;
	val[4] = opt.to != INT64_MIN ? "" : NULL;
	val[5] = opt.step ? "" : NULL;
	val[6] = opt.weights;
	val[9] = opt.cache;
	next = opt.next;
	if (!val[0])
		return cmd_usage_error(&cmd_simulate, "--policy is required (cachix, attic, niks3 "
				       "or priority)");
	if (gc_policy_parse(val[0], &o.policy))
		return cmd_usage_error(&cmd_simulate, "--policy: unknown policy '%s' (known: "
				       "cachix, attic, niks3, priority)", val[0]);
	if (val[1])
		o.params.limit = opt.limit;
	if (val[1] && !o.params.limit)
		return cmd_usage_error(&cmd_simulate, "--limit must be more than 0");
	if (next && (val[3] || val[5]))
		return cmd_usage_error(&cmd_simulate, "--next lists what goes now: it takes "
				       "no --from or --step");
	if ((o.policy == GC_CACHIX || o.policy == GC_PRIORITY) && !val[1] && !next)
		return cmd_usage_error(&cmd_simulate, "--policy %s needs --limit SIZE",
				       gc_policy_name(o.policy));
	if (opt.retention)
		o.params.retention = (int64_t)opt.retention * 86400;
	else
		o.params.retention = (int64_t)(o.policy == GC_ATTIC ? GC_ATTIC_RETENTION_DAYS
					       : GC_NIKS3_RETENTION_DAYS) * 86400;
	if (val[3])
		o.from = opt.from;
	if (val[4])
		o.to = opt.to;
	o.step = val[5] ? (int64_t)llround(opt.step * 86400) : 86400;
	o.params.access_model = opt.access == 1 ? GC_ACCESS_LOGS
				: opt.access == 2 ? GC_ACCESS_EVALS : GC_ACCESS_AUTO;

	gc_weights_init(&wt);
	if (val[6] && gc_weights_load(&wt, val[6]))
		goto out;
	/* The world, and the names --next prints, from one state of the DB. */
	if (db_read_begin(ctx->db))
		goto out;
	reading = 1;
	if (cache_resolve(ctx->db, val[9], &cache_id, &cache_url))
		goto out;
	if (gc_world_load(&w, ctx->db, cache_id, &wt, next ? 0 : GC_LOAD_HISTORY)) {
		error("cannot load the recorded state of '%s' from '%s'", cache_url, ctx->db->path);
		goto out;
	}
	if (o.params.access_model == GC_ACCESS_AUTO)
		access_name = w.accessed_paths ? "logs (auto)" : "evals (auto: no access log imported)";
	else
		access_name = o.params.access_model == GC_ACCESS_LOGS ? "logs" : "evals";

	if (next) {
		o.params.now = val[4] ? o.to : clock_now();
		ret = show_next(ctx, &w, cache_url, o.policy, &o.params, next, json) ? 1 : 0;
		goto out;
	}
	if (!w.npushes) {
		error("no recorded pushes for '%s': crawl it first ('cachegc crawl %s')", cache_url,
		      cache_url);
		goto out;
	}
	history_span(&w, &lo, &hi);
	if (!val[3])
		o.from = lo;
	if (!val[4])
		o.to = hi;
	if (o.from >= o.to) {
		char a[32], b[32];
		ret = cmd_usage_error(&cmd_simulate, "nothing to replay: --from %s is not before "
				      "--to %s", format_time(o.from, a, sizeof(a)),
				      format_time(o.to, b, sizeof(b)));
		goto out;
	}
	if ((uint64_t)((o.to - o.from) / o.step) > 1000000) {
		ret = cmd_usage_error(&cmd_simulate, "more than a million steps: use a longer --step");
		goto out;
	}
	sc.w = &w;
	o.drop_graph = 1;     /* only the results are printed after */
	progress_start(&sc.prog, "simulate", (uint64_t)((o.to - o.from + o.step - 1) / o.step));
	if (gc_simulate(&w, &o, on_step, &sc, &res)) {
		progress_finish(&sc.prog);
		goto out;
	}
	progress_finish(&sc.prog);
	if (json) {
		json_t *j = sim_json(&sc, cache_url, &o, access_name, &res);
		json_dumpf(j, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(j);
	} else {
		sim_text(&sc, cache_url, &o, access_name, &res);
	}
	ret = 0;
out:
	if (reading)
		db_read_end(ctx->db);
	gc_sim_result_release(&res);
	gc_world_release(&w);
	gc_weights_release(&wt);
	free(cache_url);
	free(sc.steps);
	free(sc.groups);
	free(sc.group0);
	return ret;
}

const struct cmd cmd_simulate = {
	.name = "simulate",
	.summary = "replay the cache's history under a GC policy; what goes next",
	.options = &simulate_parser,
	.db = DB_READ,
	.run = run,
};
