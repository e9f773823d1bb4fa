/*
 * cmd_rebuild.c - `cachegc rebuild`: options, and the queue of
 * rebuild.c as a table, Markdown, JSON or a plain list of .drv paths.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "analysis/rebuild.h"
#include "nix/caps.h"
#include "store/db.h"
#include "store/lookup.h"
#include "lib/util.h"

struct rebuild_cli {
	const char *cache, *branch, *caps, *weights, *policy;
	int64_t at;
	uint64_t limit, max;
	int json, markdown, drvs;
};

static const struct option rebuild_options[] = {
	OPT_STRING("cache", struct rebuild_cli, cache, "CACHE",
		   "the cache (URL, directory or id); default: the only one"),
	OPT_TIME("at", struct rebuild_cli, at, "TIME",
		 "the moment (default: now, or the global --now)"),
	OPT_PATH("weights", struct rebuild_cli, weights, "FILE",
		 "value weights per branch, capabilities and attr\n"
		 "(the format of simulate and plan; README.md)"),
	OPT_SIZE("limit", struct rebuild_cli, limit, "SIZE",
		 "the cache's space limit: model which items the GC\n"
		 "keeps once pushed (survives) and drop the rest"),
	OPT_STRING_OF("policy", struct rebuild_cli, policy, "P", gc_policy_names,
		   "the GC with --limit: cachix (default), attic,\n"
		   "niks3 or priority"),
	OPT_STRING("branch", struct rebuild_cli, branch, "B", "only this branch"),
	OPT_STRING("capabilities", struct rebuild_cli, caps, "C",
		   "only this cudaCapabilities set (compared as a set)"),
	OPT_COUNT("max", struct rebuild_cli, max, "N", 1, 100000000, NULL,
		  "print the first N items of the queue"),
	OPT_FLAG("json", 0, struct rebuild_cli, json,
		 "{at, cache, items: [{rank, branch, capabilities,\n"
		 "system, attr, output, outPath, drvPath, status, score,\n"
		 "value, pushBytes, unlocks, survives}], failed: [...]}"),
	OPT_FLAG("markdown", 0, struct rebuild_cli, markdown, "a table to paste into an issue"),
	OPT_FLAG("drvs", 0, struct rebuild_cli, drvs,
		 "only the .drv paths in queue order, one a line\n"
		 "(for nix-store --realise or nix-build)"),
	OPT_HELP("this text"),
	OPT_TEXT("\n"
		 "Exit status: 0 done (an empty queue too), 1 failed, 2 usage error.\n"),
	OPT_END(),
};

static const struct opt_parser rebuild_parser = {
	.name = "rebuild",
	.usage = "usage: cachegc rebuild [--cache C] [--at TIME] [--weights FILE] [--limit SIZE]\n"
		 "                       [--policy P] [--branch B] [--capabilities C] [--max N]\n"
		 "                       [--json | --markdown | --drvs]\n"
		 "\n"
		 "What CI should rebuild and push first.  Every job output of the latest\n"
		 "evaluation of each branch, capability set and system that is not cached\n"
		 "whole (missing, evicted, partial) is a candidate; failed and queued builds\n"
		 "are listed apart.  Candidates are ranked by\n"
		 "  score = (value + value of the other candidates its push completes)\n"
		 "          / (1 + GiB it must push)\n"
		 "with value = weight(branch) x weight(capabilities) x weight(attr).  In queue\n"
		 "order each item is charged only the bytes no item before it pushes; a\n"
		 "candidate the items before it complete is not queued (the first one that\n"
		 "completes it counts it in unlocks).  With --limit, the queue is replayed\n"
		 "through the GC model as if pushed now: what the GC would take again is\n"
		 "dropped, and so is the least valuable item while the GC would take a path\n"
		 "of a current job more valuable than it.  Signatures are not checked here\n"
		 "(see 'cachegc coverage' for untrusted outputs: they need signing, not a\n"
		 "rebuild).\n"
		 "\n"
		 "options:\n",
	.opts = rebuild_options,
	.column = 22,
	.flags = PARSE_NO_ARGS,
};

const struct cmd cmd_rebuild;

static const char *status_word(const struct cov_row *r)
{
	if (r->status == COV_MISSING)
		return r->reason && !strcmp(r->reason, "built-not-pushed") ? "not-pushed"
									 : "missing";
	if (r->status == COV_FAILED && r->reason)
		return r->reason;
	return cov_status_str(r->status);
}

static void add_label(struct strbuf *sb, const struct cov_row *r)
{
	strbuf_addstr_printable(sb, r->attr);
	if (*r->output && strcmp(r->output, "out")) {
		strbuf_addch(sb, '^');
		strbuf_addstr_printable(sb, r->output);
	}
}

static json_t *jstr(const char *s)
{
	json_t *j = s ? json_string(s) : NULL;

	return j ? j : json_null();
}

static json_t *path_json(const struct rebuild *rb, uint32_t id)
{
	struct strbuf sb = STRBUF_INIT;
	json_t *j;

	if (!id)
		return json_null();
	coverage_path(&rb->cv, id, &sb);
	j = jstr(sb.buf);
	strbuf_release(&sb);
	return j;
}

static json_t *row_json(const struct rebuild *rb, const struct cov_row *r)
{
	const struct cov_column *c = &rb->cv.cols[r->column];
	json_t *o = json_object();

	json_object_set_new(o, "branch", jstr(c->branch));
	json_object_set_new(o, "capabilities", jstr(c->capabilities));
	json_object_set_new(o, "system", jstr(c->system));
	json_object_set_new(o, "rev", jstr(c->rev));
	json_object_set_new(o, "attr", jstr(r->attr));
	json_object_set_new(o, "output", jstr(r->output));
	json_object_set_new(o, "outPath", path_json(rb, r->path_id));
	json_object_set_new(o, "drvPath", path_json(rb, r->drv_id));
	json_object_set_new(o, "status", json_string(status_word(r)));
	return o;
}

static void print_json(const struct rebuild *rb, const char *url, int64_t at, size_t max,
		       const struct rebuild_opts *o)
{
	json_t *top = json_object(), *items = json_array(), *failed = json_array(),
	       *other = json_array();
	char t[32];

	json_object_set_new(top, "at", json_string(format_time(at, t, sizeof(t))));
	json_object_set_new(top, "cache", jstr(url));
	if (o->limit) {
		json_object_set_new(top, "limit", json_integer((json_int_t)o->limit));
		json_object_set_new(top, "policy", json_string(gc_policy_name(o->policy)));
		json_object_set_new(top, "storedBytes", json_integer((json_int_t)rb->stored_bytes));
	}
	for (size_t i = 0; i < rb->nitems; i++) {
		const struct rebuild_item *it = &rb->items[i];
		json_t *j = row_json(rb, &rb->cv.rows[it->row]);
		json_object_set_new(j, "score", json_real(it->score));
		json_object_set_new(j, "value", json_real(it->value));
		json_object_set_new(j, "missingPaths", json_integer((json_int_t)it->missing_paths));
		json_object_set_new(j, "missingBytes", json_integer((json_int_t)it->missing_bytes));
		json_object_set_new(j, "bytesEstimated", json_boolean(it->bytes_estimated));
		json_object_set_new(j, "survives", it->survives < 0 ? json_null()
								    : json_boolean(it->survives));
		if (it->rank) {
			if (max && it->rank > max) {
				json_decref(j);
				continue;
			}
			json_object_set_new(j, "rank", json_integer(it->rank));
			json_object_set_new(j, "pushBytes", json_integer((json_int_t)it->push_bytes));
			json_object_set_new(j, "unlocks", json_integer(it->unlocks));
			json_array_append_new(items, j);
		} else {
			json_object_set_new(j, "dropped", jstr(it->dropped));
			json_object_set_new(j, "completedBy",
					    it->completed_by && rb->items[it->completed_by - 1].rank
						    ? json_integer(rb->items[it->completed_by - 1].rank)
						    : json_null());
			json_array_append_new(other, j);
		}
	}
	for (size_t i = 0; i < rb->nfailed; i++) {
		const struct cov_row *r = &rb->cv.rows[rb->failed[i]];
		json_t *j = row_json(rb, r);
		json_object_set_new(j, "buildTime", r->build_time >= 0
			? json_string(format_time(r->build_time, t, sizeof(t))) : json_null());
		json_array_append_new(failed, j);
	}
	json_object_set_new(top, "items", items);
	json_object_set_new(top, "failed", failed);
	json_object_set_new(top, "notQueued", other);
	json_dumpf(top, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(top);
}

static void print_drvs(const struct rebuild *rb, size_t max)
{
	struct strbuf sb = STRBUF_INIT;
	uint32_t last = 0;

	for (size_t i = 0; i < rb->nqueued; i++) {
		const struct rebuild_item *it = &rb->items[i];
		const struct cov_row *r = &rb->cv.rows[it->row];
		if (!it->rank || (max && it->rank > max) || !r->drv_id || r->drv_id == last)
			continue;
		/* Outputs of one derivation are neighbours only by chance: a
		 * derivation is printed once, where it first comes. */
		{
			int seen = 0;
			for (size_t k = 0; k < i && !seen; k++)
				seen = rb->items[k].rank && rb->cv.rows[rb->items[k].row].drv_id == r->drv_id;
			if (seen)
				continue;
		}
		last = r->drv_id;
		coverage_path(&rb->cv, r->drv_id, &sb);
		printf("%s\n", sb.buf);
	}
	strbuf_release(&sb);
}

static void print_table(const struct rebuild *rb, const char *url, int64_t at, size_t max,
			const struct rebuild_opts *o, int md)
{
	struct strbuf sb = STRBUF_INIT;
	char t[32], b1[32], b2[32];
	uint64_t total = 0;
	size_t shown = 0, queued = 0;

	for (size_t i = 0; i < rb->nqueued; i++)
		if (rb->items[i].rank) {
			queued++;
			total += rb->items[i].push_bytes;
		}
	strbuf_addstr(&sb, md ? "### Rebuild queue for `" : "rebuild queue for ");
	strbuf_addstr_printable(&sb, url);
	strbuf_addf(&sb, "%s as of %s: %zu item%s, %s to push", md ? "`" : "",
		    format_time(at, t, sizeof(t)), queued, queued == 1 ? "" : "s",
		    format_size(total, b1, sizeof(b1)));
	if (o->limit)
		strbuf_addf(&sb, " (limit %s, %s stored, policy %s)",
			    format_size(o->limit, b1, sizeof(b1)),
			    format_size(rb->stored_bytes, b2, sizeof(b2)), gc_policy_name(o->policy));
	strbuf_addstr(&sb, md ? "\n\n| rank | score | value | push | unlocks | status | branch | capabilities | job |\n"
				"| ---: | ---: | ---: | ---: | ---: | --- | --- | --- | --- |\n"
			      : "\n rank    score  value       push  unlocks  status      branch / capabilities / job\n");
	for (size_t i = 0; i < rb->nqueued; i++) {
		const struct rebuild_item *it = &rb->items[i];
		const struct cov_row *r = &rb->cv.rows[it->row];
		const struct cov_column *c = &rb->cv.cols[r->column];
		if (!it->rank || (max && it->rank > max))
			continue;
		shown++;
		format_size(it->push_bytes, b1, sizeof(b1));
		if (md) {
			strbuf_addf(&sb, "| %u | %.3g | %.3g | %s%s | %u | %s | `", it->rank, it->score,
				    it->value, it->bytes_estimated ? "~" : "", b1, it->unlocks,
				    status_word(r));
			strbuf_addstr_printable(&sb, c->branch);
			strbuf_addstr(&sb, "` | `");
			strbuf_addstr_printable(&sb, c->capabilities);
			strbuf_addstr(&sb, "` | `");
			add_label(&sb, r);
			strbuf_addstr(&sb, "` |\n");
		} else {
			strbuf_addf(&sb, "%5u %8.3g %6.3g %1s%10s %8u  %-10s  ", it->rank, it->score,
				    it->value, it->bytes_estimated ? "~" : "", b1, it->unlocks,
				    status_word(r));
			strbuf_addstr_printable(&sb, c->branch);
			strbuf_addstr(&sb, " / ");
			strbuf_addstr_printable(&sb, c->capabilities);
			strbuf_addstr(&sb, " / ");
			add_label(&sb, r);
			if (it->survives == 0)
				strbuf_addstr(&sb, "  (GC takes it again)");
			strbuf_addch(&sb, '\n');
		}
	}
	if (queued > shown)
		strbuf_addf(&sb, "%s... %zu more (--max)\n", md ? "\n" : "", queued - shown);
	{
		size_t dropped = 0;
		for (size_t i = 0; i < rb->nitems; i++)
			dropped += rb->items[i].dropped != NULL;
		if (dropped)
			strbuf_addf(&sb, "%s%zu dropped: the GC model would not keep them, or they "
				    "would push out more valuable builds (--json lists them)\n",
				    md ? "\n" : "", dropped);
	}
	if (rb->nfailed) {
		strbuf_addf(&sb, md ? "\n<details><summary>%zu failed or queued (not rebuilt here)"
				      "</summary>\n\n"
				    : "\nfailed or queued, not queued for rebuild (%zu):\n",
			    rb->nfailed);
		for (size_t i = 0; i < rb->nfailed; i++) {
			const struct cov_row *r = &rb->cv.rows[rb->failed[i]];
			const struct cov_column *c = &rb->cv.cols[r->column];
			strbuf_addstr(&sb, md ? "- `" : "  ");
			strbuf_addstr_printable(&sb, c->branch);
			strbuf_addstr(&sb, " / ");
			strbuf_addstr_printable(&sb, c->capabilities);
			strbuf_addstr(&sb, " / ");
			add_label(&sb, r);
			strbuf_addf(&sb, "%s: %s\n", md ? "`" : "", status_word(r));
		}
		if (md)
			strbuf_addstr(&sb, "\n</details>\n");
	}
	fputs(sb.buf, stdout);
	strbuf_release(&sb);
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct rebuild_cli a = {.at = INT64_MIN};
	struct rebuild_opts o = {0};
	struct rebuild rb = {0};
	struct gc_weights wt;
	struct parse_error err;
	char *caps = NULL, *url = NULL;
	int n, ret = 1, have_wt = 0;

	if ((n = parse_options(&rebuild_parser, argc, argv, &a)) < 0)
		return parse_options_exit(n);
	if (a.json + a.markdown + a.drvs > 1)
		return cmd_usage_error(&cmd_rebuild, "--json, --markdown and --drvs exclude each other");
	if (a.branch && !*a.branch)
		return cmd_usage_error(&cmd_rebuild, "--branch is empty");
	if (a.policy && !a.limit)
		return cmd_usage_error(&cmd_rebuild, "--policy needs --limit SIZE");
	o.policy = GC_CACHIX;
	if (a.policy && gc_policy_parse(a.policy, &o.policy))
		return cmd_usage_error(&cmd_rebuild, "--policy wants cachix, attic, niks3 or "
				       "priority, not '%s'", a.policy);
	if (a.caps && caps_normalize(a.caps, strlen(a.caps), &caps, &err))
		return cmd_usage_error(&cmd_rebuild, "--capabilities: %s", err.msg);
	o.at = a.at != INT64_MIN ? a.at : clock_now();
	o.branch = a.branch;
	o.capabilities = caps;
	o.limit = a.limit;
	gc_weights_init(&wt);
	have_wt = 1;
	if (a.weights && gc_weights_load(&wt, a.weights))
		goto out;
	o.weights = &wt;
	if (cache_resolve(ctx->db, a.cache, &o.cache_id, &url))
		goto out;
	if (rebuild_run(&rb, ctx->db, &o))
		goto out;
	if (!rb.cv.ncols) {
		char t[32];
		error("no evaluation%s%s%s as of %s; see 'cachegc import-eval'",
		      o.branch ? " of branch '" : "", o.branch ? o.branch : "", o.branch ? "'" : "",
		      format_time(o.at, t, sizeof(t)));
		goto out;
	}
	if (a.json)
		print_json(&rb, url, o.at, (size_t)a.max, &o);
	else if (a.drvs)
		print_drvs(&rb, (size_t)a.max);
	else
		print_table(&rb, url, o.at, (size_t)a.max, &o, a.markdown);
	ret = 0;
out:
	rebuild_release(&rb);
	if (have_wt)
		gc_weights_release(&wt);
	free(caps);
	free(url);
	return ret;
}

const struct cmd cmd_rebuild = {
	.name = "rebuild",
	.summary = "what CI should rebuild and push first: a ranked queue",
	.options = &rebuild_parser,
	.db = DB_READ,
	.run = run,
};
