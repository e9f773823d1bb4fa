/*
 * cmd_why.c - `cachegc why QUERY`: options, and the answers of why.c as
 * a short text a maintainer pastes into an issue, as Markdown, or as
 * JSON.  The exit status says whether everything asked about is cached.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "analysis/why.h"
#include "nix/caps.h"
#include "store/db.h"
#include "store/lookup.h"
#include "lib/util.h"

struct why_cli {
	const char *cache, *branch, *caps, *rev, *system;
	int64_t at;
	int json, markdown;
};

static const struct option why_options[] = {
	OPT_STRING("cache", struct why_cli, cache, "CACHE",
		   "the cache (URL, directory or id); default: the only one"),
	OPT_TIME("at", struct why_cli, at, "TIME",
		 "the moment: 2024-05-01, 2024-05-01T12:00:00Z or @EPOCH\n"
		 "(default: now, or the global --now)"),
	OPT_STRING("branch", struct why_cli, branch, "B", "the branch the user builds from"),
	OPT_STRING("capabilities", struct why_cli, caps, "C",
		   "the cudaCapabilities the user imported nixpkgs with,\n"
		   "compared as a set: \"8.9, 8.6\" is \"8.6,8.9\""),
	OPT_STRING("rev", struct why_cli, rev, "R",
		   "the nixpkgs revision (or a prefix of at least 7\n"
		   "characters); default: the latest evaluation"),
	OPT_STRING("system", struct why_cli, system, "S", "the system ('x86_64-linux')"),
	OPT_FLAG("json", 0, struct why_cli, json,
		 "one object: query, verdict, path, attr, branch,\n"
		 "capabilities, rev, evidence, advice, suggestion,\n"
		 "and answers (one per group)"),
	OPT_FLAG("markdown", 0, struct why_cli, markdown, "the answer ready to paste into an issue"),
	OPT_HELP("this text"),
	OPT_TEXT("\n"
		 "Verdicts:\n"
		 "  cached                  the path and its whole closure are present and trusted\n"
		 "  partial                 present, some closure paths absent (each is listed)\n"
		 "  untrusted               complete, some path without a trusted signature\n"
		 "  evicted                 was in the cache, is gone (dates, which GC model fits)\n"
		 "  failed, queued          the latest build failed / is queued\n"
		 "  not-pushed              a build succeeded, the path never reached the cache\n"
		 "  not-built               evaluated, no build on record, never in the cache\n"
		 "  not-evaluated           the --rev (or --branch) was never evaluated\n"
		 "  capabilities-not-built  no evaluation uses the --capabilities set\n"
		 "  unknown                 no evaluation produced it, the cache never held it\n"
		 "\n"
		 "Exit status: 0 cached (every answer), 1 not cached or failed, 2 usage error.\n"),
	OPT_END(),
};

static const struct opt_parser why_parser = {
	.name = "why",
	.usage = "usage: cachegc why [--cache C] [--at TIME] [--branch B] [--capabilities C]\n"
		 "                   [--rev R] [--system S] [--json | --markdown] QUERY\n"
		 "\n"
		 "Why a package is (not) in the cache, with the evidence the database holds\n"
		 "and what the user can do.  QUERY is an attr (python3Packages.torch), a\n"
		 "store path (an output or a .drv), its basename or its 32-character hash.\n"
		 "An attr is answered for the latest evaluation of each branch, capability\n"
		 "set and system that has it (narrowed by the options); a path for the latest\n"
		 "evaluation that produced it.  When the answer is not 'cached', the newest\n"
		 "evaluated revision of the same branch and capability set whose same output\n"
		 "is cached whole is suggested.  The statuses are those of 'cachegc\n"
		 "coverage'; only the closures asked about are read.\n"
		 "\n"
		 "options:\n",
	.opts = why_options,
	.column = 24,
};

const struct cmd cmd_why;

/* ---- text ------------------------------------------------------------- */

static void add_header(struct strbuf *sb, const struct why_answer *a, const char *query,
		       int md)
{
	char t[32];

	if (md)
		strbuf_addstr(sb, "### `");
	strbuf_addstr_printable(sb, a->attr ? a->attr : query);
	strbuf_addstr(sb, md ? "`: **" : ": ");
	strbuf_addstr(sb, why_verdict_str(a->verdict));
	strbuf_addstr(sb, md ? "**\n\n" : "\n");
	if (a->branch || a->capabilities || a->rev) {
		strbuf_addstr(sb, md ? "" : "  ");
		if (a->branch) {
			strbuf_addstr(sb, "branch ");
			strbuf_addstr_printable(sb, a->branch);
		}
		if (a->capabilities) {
			strbuf_addstr(sb, a->branch ? ", cudaCapabilities " : "cudaCapabilities ");
			strbuf_addstr_printable(sb, a->capabilities);
		}
		if (a->system) {
			strbuf_addstr(sb, ", ");
			strbuf_addstr_printable(sb, a->system);
		}
		if (a->rev) {
			strbuf_addstr(sb, md ? ", nixpkgs `" : ", nixpkgs ");
			strbuf_addstr_printable(sb, a->rev);
			strbuf_addstr(sb, md ? "`" : "");
		}
		if (a->evaluated_at >= 0)
			strbuf_addf(sb, " (evaluated %s)", format_time(a->evaluated_at, t, sizeof(t)));
		strbuf_addstr(sb, md ? "  \n" : "\n");
	}
	if (a->path)
		strbuf_addf(sb, md ? "`%s`\n\n" : "  %s\n", a->path);
	else if (md)
		strbuf_addch(sb, '\n');
}

/* Lines of long lists fold in Markdown after this many. */
#define MD_FOLD 10

static void add_answer(struct strbuf *sb, const struct why_answer *a, const char *query, int md)
{
	add_header(sb, a, query, md);
	for (size_t i = 0; i < a->nev; i++) {
		if (md && i == MD_FOLD && a->nev > MD_FOLD + 2)
			strbuf_addf(sb, "\n<details><summary>%zu more</summary>\n\n", a->nev - i);
		strbuf_addstr(sb, md ? "- " : "  - ");
		strbuf_addstr(sb, a->ev[i].text);
		strbuf_addch(sb, '\n');
	}
	if (md && a->nev > MD_FOLD + 2)
		strbuf_addstr(sb, "\n</details>\n");
	if (a->nadvice) {
		strbuf_addstr(sb, md ? "\n**What you can do**\n\n" : "  What you can do:\n");
		for (size_t i = 0; i < a->nadvice; i++) {
			strbuf_addstr(sb, md ? "- " : "  - ");
			strbuf_addstr(sb, a->advice[i]);
			strbuf_addch(sb, '\n');
		}
	}
}

static void print_text(const struct why_result *r, int md)
{
	struct strbuf sb = STRBUF_INIT;

	if (md && r->n > 1) {
		strbuf_addf(&sb, "`");
		strbuf_addstr_printable(&sb, r->query);
		strbuf_addf(&sb, "` is evaluated in %zu groups; one answer each.\n\n", r->n);
	}
	for (size_t i = 0; i < r->n; i++) {
		if (i)
			strbuf_addch(&sb, '\n');
		add_answer(&sb, &r->a[i], r->query, md);
	}
	if (!r->trust_checked)
		strbuf_addstr(&sb, md ? "\n_Signatures were not checked: no trusted keys are "
					"configured._\n"
				      : "\n(signatures NOT checked: no trusted keys are configured)\n");
	fputs(sb.buf, stdout);
	strbuf_release(&sb);
}

/* ---- JSON ------------------------------------------------------------- */

static json_t *str_or_null(const char *s)
{
	json_t *j = s ? json_string(s) : NULL;

	return j ? j : json_null();
}

static json_t *time_json(int64_t t)
{
	char buf[32];

	return t >= 0 ? json_string(format_time(t, buf, sizeof(buf))) : json_null();
}

static json_t *answer_json(const struct why_result *r, const struct why_answer *a)
{
	json_t *o = json_object(), *ev = json_array(), *adv = json_array();

	json_object_set_new(o, "query", str_or_null(r->query));
	json_object_set_new(o, "verdict", json_string(why_verdict_str(a->verdict)));
	json_object_set_new(o, "path", str_or_null(a->path));
	json_object_set_new(o, "attr", str_or_null(a->attr));
	json_object_set_new(o, "branch", str_or_null(a->branch));
	json_object_set_new(o, "capabilities", str_or_null(a->capabilities));
	json_object_set_new(o, "rev", str_or_null(a->rev));
	json_object_set_new(o, "system", str_or_null(a->system));
	json_object_set_new(o, "evaluation", a->evaluation_id ? json_integer(a->evaluation_id)
							      : json_null());
	json_object_set_new(o, "evaluatedAt", time_json(a->evaluated_at));
	for (size_t i = 0; i < a->nev; i++) {
		json_t *e = json_object();
		json_object_set_new(e, "kind", json_string(a->ev[i].kind));
		json_object_set_new(e, "text", str_or_null(a->ev[i].text));
		json_object_update(e, a->ev[i].facts);
		json_array_append_new(ev, e);
	}
	json_object_set_new(o, "evidence", ev);
	for (size_t i = 0; i < a->nadvice; i++)
		json_array_append_new(adv, str_or_null(a->advice[i]));
	json_object_set_new(o, "advice", adv);
	if (a->sugg.evaluation_id)
		json_object_set_new(o, "suggestion",
				    json_pack("{s:o, s:I, s:o, s:o, s:I}", "rev",
					      str_or_null(a->sugg.rev), "evaluation",
					      (json_int_t)a->sugg.evaluation_id, "outPath",
					      str_or_null(a->sugg.out_path), "evaluatedAt",
					      time_json(a->sugg.evaluated_at), "ageSeconds",
					      (json_int_t)a->sugg.age));
	else
		json_object_set_new(o, "suggestion", json_null());
	return o;
}

static void print_json(const struct why_result *r)
{
	json_t *top, *all = json_array();
	char t[32];

	for (size_t i = 0; i < r->n; i++)
		json_array_append_new(all, answer_json(r, &r->a[i]));
	/* The first answer at the top; every answer (one per group when the
	 * query is ambiguous) in "answers". */
	top = r->n ? json_deep_copy(json_array_get(all, 0)) : json_object();
	json_object_set_new(top, "at", json_string(format_time(r->at, t, sizeof(t))));
	json_object_set_new(top, "trustChecked", json_boolean(r->trust_checked));
	json_object_set_new(top, "ambiguous", json_boolean(r->n > 1));
	json_object_set_new(top, "answers", all);
	json_dumpf(top, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(top);
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct why_cli a = {.at = INT64_MIN};
	struct why_opts o = {0};
	struct why_result r = {0};
	struct parse_error err;
	char *caps = NULL, *url = NULL;
	int n, ret = 1;

	if ((n = parse_options(&why_parser, argc, argv, &a)) < 0)
		return parse_options_exit(n);
	if (n != 1)
		return cmd_usage_error(&cmd_why, n ? "one QUERY at a time" :
				       "which package? give an attr, a store path or a hash");
	if (!*argv[0])
		return cmd_usage_error(&cmd_why, "QUERY is empty");
	if (strlen(argv[0]) > 4096)
		return cmd_usage_error(&cmd_why, "QUERY is longer than 4096 bytes");
	if (a.json && a.markdown)
		return cmd_usage_error(&cmd_why, "--json and --markdown exclude each other");
	if (a.branch && !*a.branch)
		return cmd_usage_error(&cmd_why, "--branch is empty");
	if (a.rev && !*a.rev)
		return cmd_usage_error(&cmd_why, "--rev is empty");
	if (a.system && !*a.system)
		return cmd_usage_error(&cmd_why, "--system is empty");
	if (a.caps && caps_normalize(a.caps, strlen(a.caps), &caps, &err))
		return cmd_usage_error(&cmd_why, "--capabilities: %s", err.msg);
	o.at = a.at != INT64_MIN ? a.at : clock_now();
	o.branch = a.branch;
	o.capabilities = caps;
	o.rev = a.rev;
	o.system = a.system;
	if (cache_resolve(ctx->db, a.cache, &o.cache_id, &url))
		goto out;
	o.cache_url = url;
	if (why_run(&r, ctx->db, &o, argv[0]))
		goto out;
	if (a.json)
		print_json(&r);
	else
		print_text(&r, a.markdown);
	ret = 0;
	for (size_t i = 0; i < r.n; i++)
		if (r.a[i].verdict != WHY_CACHED)
			ret = 1;
	if (!r.n)
		ret = 1;
out:
	why_release(&r);
	free(caps);
	free(url);
	return ret;
}

const struct cmd cmd_why = {
	.name = "why",
	.summary = "why a package is (not) cached: a verdict, its evidence, what to do",
	.options = &why_parser,
	.db = DB_KEEP,
	.run = run,
};
