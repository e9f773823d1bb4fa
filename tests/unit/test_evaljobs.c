/*
 * test_evaljobs.c - nix/evaljobs.c on the forms real tools write (see
 * tests/fixtures/evals/README): nix-eval-jobs' quoted dotted attrs and
 * aggregate lines, Nix's error messages with a trace, Hydra RunCommand's
 * $HYDRA_JSON.  The older shapes are test_evals.c's.
 */
#include <stdlib.h>
#include <string.h>

#include "nix/evaljobs.h"
#include "harness.h"
#include "lib/util.h"

#define SD "/nix/store"
#define H1 "0c5mm8ka4jnlgpc9ld6xnrsz8xjpgqbn"
#define H2 "1b9p7w4aqr1mxrcnbfp2pizy9hp8m0vf"
#define DRV SD "/" H1 "-tested.drv"
#define OUT SD "/" H2 "-tested"

static int parse_job(const char *s, struct eval_job *job, struct parse_error *e)
{
	return eval_job_parse(s, strlen(s), SD, job, e);
}

/* The attr recorded for a line, or the parse error's message. */
static void attr_of(const char *line, char *out, size_t n)
{
	struct eval_job j;
	struct parse_error e;

	if (parse_job(line, &j, &e)) {
		snprintf(out, n, "ERR %s", e.msg);
		return;
	}
	snprintf(out, n, "%s", j.attr);
	eval_job_release(&j);
}

#define CHECK_ATTR(line, want)                                                   \
	do {                                                                     \
		char got_[300];                                                  \
		attr_of(line, got_, sizeof(got_));                               \
		CHECK_STR(got_, want);                                           \
	} while (0)

#define ERRJOB(attr, path) "{\"attr\":" attr path ",\"error\":\"x\"}"

TEST(dotted_attrs)
{
	/* nix-eval-jobs' own test: attr "\"dotted.attr\"", attrPath ["dotted.attr"] */
	CHECK_ATTR(ERRJOB("\"\\\"dotted.attr\\\"\"", ",\"attrPath\":[\"dotted.attr\"]"),
		   "dotted.attr");
	CHECK_ATTR(ERRJOB("\"python3Packages.\\\"ruamel.yaml\\\"\"",
			  ",\"attrPath\":[\"python3Packages\",\"ruamel.yaml\"]"),
		   "python3Packages.ruamel.yaml");
	/* attrPath is what counts */
	CHECK_ATTR(ERRJOB("\"a.b\"", ",\"attrPath\":[\"a\",\"b\"]"), "a.b");
	CHECK_ATTR(ERRJOB("\"whatever\"", ",\"attrPath\":[\"x\"]"), "x");
	/* without attrPath (older nix-eval-jobs, hand-written lines) the
	 * quotes of attr are read */
	CHECK_ATTR(ERRJOB("\"\\\"dotted.attr\\\"\"", ""), "dotted.attr");
	CHECK_ATTR(ERRJOB("\"a.\\\"b.c\\\".d\"", ""), "a.b.c.d");
	CHECK_ATTR(ERRJOB("\"python3Packages.torch\"", ""), "python3Packages.torch");
	/* quotes that do not pair up as nix-eval-jobs writes them: as given */
	CHECK_ATTR(ERRJOB("\"a.\\\"b\"", ""), "a.\"b");
	CHECK_ATTR(ERRJOB("\"a.\\\"b\\\"c\"", ""), "a.\"b\"c");
	CHECK_ATTR(ERRJOB("\"x\\\"y\\\"\"", ""), "x\"y\"");
	CHECK_ATTR(ERRJOB("\"\\\"\\\"\"", ""), "\"\"");
	/* attrPath must be a non-empty array of strings without controls */
	CHECK_ATTR(ERRJOB("\"a\"", ",\"attrPath\":\"a\""), "ERR \"attrPath\" is not a non-empty array");
	CHECK_ATTR(ERRJOB("\"a\"", ",\"attrPath\":[]"), "ERR \"attrPath\" is not a non-empty array");
	CHECK_ATTR(ERRJOB("\"a\"", ",\"attrPath\":[\"a\",7]"), "ERR \"attrPath\" item 2 is not a string");
	CHECK_ATTR(ERRJOB("\"a\"", ",\"attrPath\":[\"a\\nb\"]"), "ERR \"attrPath\" holds control characters");
	CHECK_ATTR(ERRJOB("\"a\"", ",\"attrPath\":[\"\"]"), "ERR \"attrPath\" names nothing");
	CHECK_ATTR(ERRJOB("\"a\"", ",\"attrPath\":null"), "a");
}

TEST(aggregates)
{
	struct eval_job j;
	struct parse_error e;

	/* constituents broken: nix-eval-jobs keeps drvPath and outputs and
	 * adds "error" (keys sorted, as nlohmann's dump writes them) */
	CHECK_INT(parse_job("{\"attr\":\"tested\",\"attrPath\":[\"tested\"],\"constituents\":[],"
			    "\"drvPath\":\"" DRV "\",\"error\":\"doesntexist: does not exist\\n\","
			    "\"globConstituents\":false,\"name\":\"tested\",\"outputs\":{\"out\":\""
			    OUT "\"},\"system\":\"x86_64-linux\"}", &j, &e), 0);
	CHECK_STR(j.error, "doesntexist: does not exist\n");
	CHECK_STR(j.drv_path, DRV);
	CHECK_INT(j.noutputs, 1);
	if (j.noutputs == 1)
		CHECK_STR(j.outputs[0].path, OUT);
	CHECK_STR(j.system, "x86_64-linux");
	eval_job_release(&j);

	/* the constituents all fine: an ordinary job */
	CHECK_INT(parse_job("{\"attr\":\"tested\",\"attrPath\":[\"tested\"],\"constituents\":[\""
			    DRV "\"],\"drvPath\":\"" DRV "\",\"globConstituents\":false,"
			    "\"name\":\"tested\",\"outputs\":{\"out\":\"" OUT "\"},"
			    "\"system\":\"x86_64-linux\"}", &j, &e), 0);
	CHECK(j.error == NULL);
	CHECK_INT(j.noutputs, 1);
	eval_job_release(&j);

	/* a dependency cycle: the error, and what of the job there is */
	CHECK_INT(parse_job("{\"attr\":\"aggregate0\",\"attrPath\":[\"aggregate0\"],"
			    "\"error\":\"Dependency cycle: aggregate0 <-> aggregate1\","
			    "\"drvPath\":\"" DRV "\"}", &j, &e), 0);
	CHECK(j.drv_path == NULL);
	CHECK_INT(j.noutputs, 0);
	eval_job_release(&j);

	/* with an error, the paths kept are checked like any */
	CHECK_INT(parse_job("{\"attr\":\"t\",\"drvPath\":\"/tmp/x.drv\",\"error\":\"e\","
			    "\"outputs\":{\"out\":\"" OUT "\"}}", &j, &e), -1);
	CHECK(strstr(e.msg, "not a store path") != NULL);

	/* nix-eval-jobs' line when the expression itself failed */
	CHECK_INT(parse_job("{\"error\":\"error:\\n       … while calling\\n\\n       error: "
			    "syntax error, unexpected end of file\"}", &j, &e), -1);
	CHECK(strstr(e.msg, "could not evaluate the jobset itself: syntax error, unexpected "
		      "end of file") != NULL);
}

static void summary(const char *s, char *out, size_t n)
{
	size_t off, len = eval_error_summary(s, strlen(s), &off);

	snprintf(out, n, "%.*s", (int)len, s + off);
}

#define CHECK_SUMMARY(s, want)                                                   \
	do {                                                                     \
		char got_[300];                                                  \
		summary(s, got_, sizeof(got_));                                  \
		CHECK_STR(got_, want);                                           \
	} while (0)

TEST(error_summary)
{
	/* Nix with a trace: "error:" alone first, the message after the trace */
	CHECK_SUMMARY("error:\n       … while evaluating the attribute 'x'\n         at /nix/store/"
		      "h-source/default.nix:3:5:\n\n            3|   x = throw \"no\";\n\n"
		      "       … while calling the 'throw' builtin\n\n"
		      "       error: this is an evaluation error\n       more\n",
		      "this is an evaluation error");
	/* Nix without a trace */
	CHECK_SUMMARY("error: Package 'x-1' is marked as broken, refusing to evaluate.\n\n"
		      "       a) To temporarily allow broken packages...",
		      "Package 'x-1' is marked as broken, refusing to evaluate.");
	CHECK_SUMMARY("error:   spaced out  \n", "spaced out");
	/* the first message with text counts */
	CHECK_SUMMARY("error:\n  error: first\n  error: second\n", "first");
	/* nix-eval-jobs' own messages have no "error:" */
	CHECK_SUMMARY("\n  doesntexist: does not exist\nother: does not exist\n",
		      "doesntexist: does not exist");
	CHECK_SUMMARY("Dependency cycle: aggregate0 <-> aggregate1",
		      "Dependency cycle: aggregate0 <-> aggregate1");
	/* an aggregate's broken constituent: its Nix message */
	CHECK_SUMMARY("broken: error:\n       … while evaluating\n\n       error: Package "
		      "'b' is marked as broken\ndoesntexist: does not exist\n",
		      "Package 'b' is marked as broken");
	CHECK_SUMMARY("", "");
	CHECK_SUMMARY(" \n\t\n", "");
	CHECK_SUMMARY("error:", "error:");
	CHECK_SUMMARY("errors: many", "errors: many");
}

struct got {
	struct build_record r[4];
	unsigned n, bad;
	char msg[256];
};

static int on_rec(void *ctx, const struct build_record *rec, unsigned line, unsigned item)
{
	struct got *g = ctx;

	(void)line;
	(void)item;
	if (g->n < 4) {
		struct build_record *c = &g->r[g->n];
		*c = *rec;
		c->drv_path = xstrdup(rec->drv_path);
		c->job = rec->job ? xstrdup(rec->job) : NULL;
		c->name = rec->name ? xstrdup(rec->name) : NULL;
		c->system = rec->system ? xstrdup(rec->system) : NULL;
	}
	g->n++;
	return 0;
}

static void on_bad(void *ctx, unsigned line, unsigned item, const char *msg)
{
	struct got *g = ctx;

	(void)line;
	(void)item;
	g->bad++;
	snprintf(g->msg, sizeof(g->msg), "%s", msg);
}

static int parse_builds(const char *doc, struct got *g)
{
	struct parse_error e;

	memset(g, 0, sizeof(*g));
	return builds_parse(doc, strlen(doc), SD, on_rec, on_bad, g, &e);
}

static void got_release(struct got *g)
{
	for (unsigned i = 0; i < g->n && i < 4; i++)
		build_record_release(&g->r[i]);
}

/* Hydra::Plugin::RunCommand::makeJsonPayload, encoded by encode_json. */
#define RUNCOMMAND(status, finished, extra)                                      \
	"{\"event\":\"buildFinished\",\"build\":271828,\"finished\":" finished ","  \
	"\"timestamp\":1733299000,\"project\":\"demo\",\"jobset\":\"cpu\","          \
	"\"job\":\"tested\",\"drvPath\":\"" DRV "\",\"startTime\":1733300100,"      \
	"\"stopTime\":1733300400,\"buildStatus\":" status ",\"nixName\":\"tested\","\
	"\"system\":\"aarch64-linux\",\"homepage\":null,\"description\":null,"       \
	"\"license\":null,\"outputs\":[{\"name\":\"out\",\"path\":\"" OUT "\"}],"     \
	"\"products\":[],\"metrics\":[{\"name\":\"maxResident\",\"unit\":\"KiB\","   \
	"\"value\":27}]" extra "}"

TEST(hydra_runcommand)
{
	struct got g;

	CHECK_INT(parse_builds(RUNCOMMAND("0", "true", ""), &g), 0);
	CHECK_INT(g.n, 1);
	CHECK_INT(g.bad, 0);
	if (g.n == 1) {
		CHECK_STR(g.r[0].drv_path, DRV);
		CHECK_STR(g.r[0].status, "succeeded");
		CHECK_INT(g.r[0].hydra_status, 0);
		CHECK_INT(g.r[0].hydra_id, 271828);
		CHECK_INT(g.r[0].time, 1733300400);
		CHECK_STR(g.r[0].job, "tested");
		CHECK_STR(g.r[0].name, "tested");
		CHECK_STR(g.r[0].system, "aarch64-linux");
	}
	got_release(&g);

	CHECK_INT(parse_builds(RUNCOMMAND("7", "true", ""), &g), 0);
	CHECK_INT(g.n, 1);
	if (g.n == 1) {
		CHECK_STR(g.r[0].status, "timed-out");
		CHECK_INT(g.r[0].hydra_status, 7);
	}
	got_release(&g);

	/* not finished: queued since its timestamp */
	CHECK_INT(parse_builds(RUNCOMMAND("null", "false", ""), &g), 0);
	CHECK_INT(g.n, 1);
	if (g.n == 1) {
		CHECK_STR(g.r[0].status, "queued");
		CHECK_INT(g.r[0].time, 1733299000);
	}
	got_release(&g);

	/* several, one per line (a log of $HYDRA_JSON files) */
	CHECK_INT(parse_builds(RUNCOMMAND("0", "true", "") "\n" RUNCOMMAND("1", "true", "") "\n",
			       &g), 0);
	CHECK_INT(g.n, 2);
	if (g.n == 2)
		CHECK_STR(g.r[1].status, "failed");
	got_release(&g);

	/* what is wrong is named in RunCommand's spelling */
	CHECK_INT(parse_builds("{\"event\":\"buildFinished\",\"finished\":true,\"buildStatus\":0}",
			       &g), 0);
	CHECK_INT(g.bad, 1);
	CHECK_STR(g.msg, "Hydra RunCommand build without \"drvPath\"");
	got_release(&g);
	CHECK_INT(parse_builds(RUNCOMMAND("42", "true", ""), &g), 0);
	CHECK_INT(g.bad, 1);
	CHECK_STR(g.msg, "unknown Hydra buildStatus 42");
	got_release(&g);
	CHECK_INT(parse_builds(RUNCOMMAND("\"0\"", "true", ""), &g), 0);
	CHECK_INT(g.bad, 1);
	CHECK_STR(g.msg, "\"buildStatus\" is not an integer");
	got_release(&g);
	CHECK_INT(parse_builds(RUNCOMMAND("null", "true", ""), &g), 0);
	CHECK_INT(g.bad, 1);
	CHECK_STR(g.msg, "finished Hydra RunCommand build without \"buildStatus\"");
	got_release(&g);

	/* Hydra's API spelling still reads as before */
	CHECK_INT(parse_builds("{\"id\":5,\"finished\":1,\"buildstatus\":0,\"drvpath\":\"" DRV
			       "\",\"stoptime\":9}", &g), 0);
	CHECK_INT(g.n, 1);
	if (g.n == 1) {
		CHECK_INT(g.r[0].hydra_id, 5);
		CHECK_INT(g.r[0].time, 9);
	}
	got_release(&g);
	CHECK_INT(parse_builds("{\"finished\":1,\"buildstatus\":0}", &g), 0);
	CHECK_STR(g.msg, "Hydra build without \"drvpath\"");
	got_release(&g);
}

int main(void)
{
	RUN(dotted_attrs);
	RUN(aggregates);
	RUN(error_summary);
	RUN(hydra_runcommand);
	return test_summary();
}
