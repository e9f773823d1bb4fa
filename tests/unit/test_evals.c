/*
 * test_evals.c - the pure parts of evals.c: nix-eval-jobs
 * lines, build outcomes (Hydra JSON and JSON lines),
 * key and label checks (capability sets: test_caps.c; lines: test_line_reader.c).
 */
#include <stdlib.h>
#include <string.h>

#include "ingest/evals.h"
#include "harness.h"
#include "lib/util.h"

#define SD "/nix/store"
#define H1 "0c5mm8ka4jnlgpc9ld6xnrsz8xjpgqbn"
#define H2 "1b9p7w4aqr1mxrcnbfp2pizy9hp8m0vf"
#define H3 "2b9p7w4aqr1mxrcnbfp2pizy9hp8m0vf"
#define DRV SD "/" H1 "-torch-2.5.1.drv"
#define OUT SD "/" H2 "-torch-2.5.1"
#define LIB SD "/" H3 "-torch-2.5.1-lib"

static int parse_job(const char *s, struct eval_job *job, struct evals_error *e)
{
	return eval_job_parse(s, strlen(s), SD, job, e);
}

TEST(job_full)
{
	struct eval_job j;
	struct evals_error e;
	const char *line =
		"{\"attr\":\"python3Packages.torch\",\"attrPath\":[\"python3Packages\",\"torch\"],"
		"\"drvPath\":\"" DRV "\",\"name\":\"torch-2.5.1\",\"system\":\"x86_64-linux\","
		"\"outputs\":{\"out\":\"" OUT "\",\"lib\":\"" LIB "\"},"
		"\"meta\":{\"broken\":false},\"inputDrvs\":{\"" DRV "\":[\"out\"]},"
		"\"cacheStatus\":\"notBuilt\",\"neededBuilds\":[\"" DRV "\",\"" DRV "\"],"
		"\"neededSubstitutes\":[]}";

	CHECK_INT(parse_job(line, &j, &e), 0);
	CHECK_STR(j.attr, "python3Packages.torch");
	CHECK_STR(j.drv_path, DRV);
	CHECK_STR(j.name, "torch-2.5.1");
	CHECK_STR(j.system, "x86_64-linux");
	CHECK(j.error == NULL);
	CHECK_INT(j.noutputs, 2);
	if (j.noutputs == 2) {
		/* sorted by name */
		CHECK_STR(j.outputs[0].name, "lib");
		CHECK_STR(j.outputs[0].path, LIB);
		CHECK_STR(j.outputs[1].name, "out");
		CHECK_STR(j.outputs[1].path, OUT);
	}
	CHECK_STR(j.cache_status, "notBuilt");
	CHECK_INT(j.needed_builds, 2);
	CHECK_INT(j.needed_substitutes, 0);
	eval_job_release(&j);
}

TEST(job_minimal_and_legacy)
{
	struct eval_job j;
	struct evals_error e;

	CHECK_INT(parse_job("{\"attr\":\"a\",\"drvPath\":\"" DRV "\",\"outputs\":{\"out\":\"" OUT
			    "\"},\"isCached\":true}", &j, &e), 0);
	CHECK(j.name == NULL && j.system == NULL);
	CHECK_STR(j.cache_status, "cached");
	CHECK_INT(j.needed_builds, -1);
	CHECK_INT(j.needed_substitutes, -1);
	eval_job_release(&j);

	/* unknown cacheStatus values are dropped, not refused */
	CHECK_INT(parse_job("{\"attr\":\"a\",\"drvPath\":\"" DRV "\",\"outputs\":{\"out\":\"" OUT
			    "\"},\"cacheStatus\":\"someday\"}", &j, &e), 0);
	CHECK(j.cache_status == NULL);
	eval_job_release(&j);

	/* an output path nix-eval-jobs cannot know (floating CA) */
	CHECK_INT(parse_job("{\"attr\":\"ca\",\"drvPath\":\"" DRV "\",\"outputs\":{\"out\":null}}",
			    &j, &e), 0);
	CHECK_INT(j.noutputs, 1);
	if (j.noutputs == 1)
		CHECK(j.outputs[0].path == NULL);
	eval_job_release(&j);
}

TEST(job_error_line)
{
	struct eval_job j;
	struct evals_error e;

	CHECK_INT(parse_job("{\"attr\":\"python3Packages.tensorflow\","
			    "\"attrPath\":[\"python3Packages\",\"tensorflow\"],"
			    "\"error\":\"error: marked as broken\\n\\u001b[31m...\"}", &j, &e), 0);
	CHECK_STR(j.attr, "python3Packages.tensorflow");
	CHECK_STR(j.error, "error: marked as broken\n\x1b[31m...");
	CHECK(j.drv_path == NULL);
	CHECK_INT(j.noutputs, 0);
	eval_job_release(&j);
}

#define CHECK_JOB_BAD(line, needle)                                              \
	do {                                                                     \
		struct eval_job j_;                                              \
		struct evals_error e_;                                           \
		CHECK_INT(parse_job(line, &j_, &e_), -1);                        \
		if (!strstr(e_.msg, needle))                                     \
			fprintf(stderr, "%s:%d: message '%s' lacks '%s'\n",      \
				__FILE__, __LINE__, e_.msg, needle);             \
		CHECK(strstr(e_.msg, needle) != NULL);                           \
		CHECK(j_.attr == NULL && j_.outputs == NULL);                    \
	} while (0)

TEST(job_bad)
{
	CHECK_JOB_BAD("", "malformed JSON");
	CHECK_JOB_BAD("{\"attr\":\"a\"", "malformed JSON");
	CHECK_JOB_BAD("{\"attr\":\"a\"} trailing", "malformed JSON");
	CHECK_JOB_BAD("[1,2]", "not a JSON object");
	CHECK_JOB_BAD("{\"drvPath\":\"" DRV "\"}", "no \"attr\"");
	CHECK_JOB_BAD("{\"attr\":\"\"}", "no \"attr\"");
	CHECK_JOB_BAD("{\"attr\":7}", "not a string");
	CHECK_JOB_BAD("{\"attr\":\"a\\nb\",\"error\":\"x\"}", "control");
	CHECK_JOB_BAD("{\"attr\":\"a\",\"attr\":\"b\",\"error\":\"x\"}", "duplicate");
	CHECK_JOB_BAD("{\"attr\":\"a\\u0000b\",\"error\":\"x\"}", "malformed JSON");
	CHECK_JOB_BAD("{\"attr\":\"a\"}", "no \"drvPath\" and no \"error\"");
	CHECK_JOB_BAD("{\"attr\":\"a\",\"drvPath\":\"" DRV "\"}", "no \"outputs\"");
	CHECK_JOB_BAD("{\"attr\":\"a\",\"drvPath\":\"" DRV "\",\"outputs\":{}}", "empty");
	CHECK_JOB_BAD("{\"attr\":\"a\",\"drvPath\":\"" DRV "\",\"outputs\":[]}", "not an object");
	CHECK_JOB_BAD("{\"attr\":\"a\",\"drvPath\":\"" OUT "\",\"outputs\":{\"out\":\"" OUT "\"}}",
		      "not a .drv");
	CHECK_JOB_BAD("{\"attr\":\"a\",\"drvPath\":\"/gnu/store/" H1 "-x.drv\","
		      "\"outputs\":{\"out\":\"" OUT "\"}}", "not a store path");
	CHECK_JOB_BAD("{\"attr\":\"a\",\"drvPath\":\"" SD "/" H1 "-x.drv/../../etc\","
		      "\"outputs\":{\"out\":\"" OUT "\"}}", "not a store path");
	CHECK_JOB_BAD("{\"attr\":\"a\",\"drvPath\":\"" DRV "\",\"outputs\":{\"out\":\"/nix/store/"
		      "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-x\"}}", "not a store path");
	CHECK_JOB_BAD("{\"attr\":\"a\",\"drvPath\":\"" DRV "\",\"outputs\":{\"o/ut\":\"" OUT "\"}}",
		      "output name");
	CHECK_JOB_BAD("{\"attr\":\"a\",\"drvPath\":\"" DRV "\",\"outputs\":{\"out\":5}}",
		      "not a string");
	CHECK_JOB_BAD("{\"attr\":\"a\",\"drvPath\":\"" DRV "\",\"outputs\":{\"out\":\"" OUT "\"},"
		      "\"neededBuilds\":3}", "not an array");
}

/* ---- builds --------------------------------------------------------- */

struct collected {
	unsigned n, nbad;
	struct {
		char drv[200];
		char status[32];
		int hydra_status;
		int64_t hydra_id, time;
		char job[64], name[64];
		unsigned line, item;
	} r[16];
	unsigned bad_line[16], bad_item[16];
	char bad_msg[16][200];
};

static int on_rec(void *ctx, const struct build_record *rec, unsigned line, unsigned item)
{
	struct collected *c = ctx;

	if (c->n < 16) {
		snprintf(c->r[c->n].drv, sizeof(c->r[c->n].drv), "%s", rec->drv_path);
		snprintf(c->r[c->n].status, sizeof(c->r[c->n].status), "%s", rec->status);
		snprintf(c->r[c->n].job, sizeof(c->r[c->n].job), "%s", rec->job ? rec->job : "");
		snprintf(c->r[c->n].name, sizeof(c->r[c->n].name), "%s", rec->name ? rec->name : "");
		c->r[c->n].hydra_status = rec->hydra_status;
		c->r[c->n].hydra_id = rec->hydra_id;
		c->r[c->n].time = rec->time;
		c->r[c->n].line = line;
		c->r[c->n].item = item;
	}
	c->n++;
	return 0;
}

static void on_bad(void *ctx, unsigned line, unsigned item, const char *msg)
{
	struct collected *c = ctx;

	if (c->nbad < 16) {
		c->bad_line[c->nbad] = line;
		c->bad_item[c->nbad] = item;
		snprintf(c->bad_msg[c->nbad], sizeof(c->bad_msg[0]), "%s", msg);
	}
	c->nbad++;
}

static int parse_builds(const char *doc, struct collected *c, struct evals_error *e)
{
	memset(c, 0, sizeof(*c));
	return builds_parse(doc, strlen(doc), SD, on_rec, on_bad, c, e);
}

TEST(status_codes)
{
	static const char *const want[] = {
		"succeeded", "failed", "dependency-failed", "aborted", "cancelled", NULL,
		"failed-with-output", "timed-out", "cached-failure", "unsupported",
		"log-limit-exceeded", "output-limit-exceeded", "non-deterministic",
	};

	for (int i = 0; i < (int)ARRAY_SIZE(want); i++) {
		const char *got = build_status_from_hydra(i);
		if (want[i])
			CHECK_STR(got, want[i]);
		else
			CHECK(got == NULL);
	}
	CHECK(build_status_from_hydra(-1) == NULL);
	CHECK(build_status_from_hydra(13) == NULL);
	CHECK(build_status_from_hydra(100) == NULL);
	CHECK_STR(build_status_name("timed-out", 9), "timed-out");
	CHECK_STR(build_status_name("queued", 6), "queued");
	CHECK(build_status_name("queue", 5) == NULL);
	CHECK(build_status_name("Succeeded", 9) == NULL);
	CHECK(build_status_name("succeeded ", 10) == NULL);
	for (int i = 0; build_statuses[i]; i++)
		CHECK(build_status_name(build_statuses[i], strlen(build_statuses[i])) ==
		      build_statuses[i]);
}

TEST(builds_hydra_array)
{
	struct collected c;
	struct evals_error e;
	const char *doc =
		"[\n"
		"  {\"id\": 101, \"finished\": 1, \"buildstatus\": 0, \"drvpath\": \"" DRV "\",\n"
		"   \"job\": \"torch.x86_64-linux\", \"nixname\": \"torch-2.5.1\",\n"
		"   \"timestamp\": 100, \"stoptime\": 200, \"buildoutputs\": {\"out\": {\"path\": \"" OUT "\"}}},\n"
		"  {\"id\": 102, \"finished\": 0, \"buildstatus\": null, \"drvpath\": \"" DRV "\",\n"
		"   \"timestamp\": 300, \"stoptime\": null},\n"
		"  {\"id\": 103, \"finished\": true, \"buildstatus\": 2, \"drvpath\": \"" DRV "\", \"stoptime\": 400},\n"
		"  {\"id\": 104, \"finished\": 1, \"buildstatus\": 5, \"drvpath\": \"" DRV "\"},\n"
		"  {\"id\": 105, \"finished\": 1, \"drvpath\": \"" DRV "\"},\n"
		"  {\"id\": 106, \"finished\": 1, \"buildstatus\": 12, \"drvpath\": \"" DRV "\", \"timestamp\": 5},\n"
		"  {\"id\": 107, \"drvpath\": \"" DRV "\"},\n"
		"  {\"id\": 108, \"buildstatus\": 4, \"drvpath\": \"" DRV "\"},\n"
		"  {\"id\": 109, \"finished\": \"yes\", \"buildstatus\": 4, \"drvpath\": \"" DRV "\"}\n"
		"]\n";

	CHECK_INT(parse_builds(doc, &c, &e), 0);
	CHECK_INT(c.n, 5);
	CHECK_STR(c.r[4].status, "cancelled");   /* no "finished": buildstatus says */
	CHECK_INT(c.r[4].time, -1);
	CHECK_STR(c.r[0].status, "succeeded");
	CHECK_INT(c.r[0].hydra_status, 0);
	CHECK_INT(c.r[0].hydra_id, 101);
	CHECK_INT(c.r[0].time, 200);
	CHECK_STR(c.r[0].job, "torch.x86_64-linux");
	CHECK_STR(c.r[0].name, "torch-2.5.1");
	CHECK_STR(c.r[0].drv, DRV);
	CHECK_INT(c.r[0].line, 2);
	CHECK_INT(c.r[0].item, 1);
	CHECK_STR(c.r[1].status, "queued");
	CHECK_INT(c.r[1].hydra_status, -1);
	CHECK_INT(c.r[1].time, 300);
	CHECK_INT(c.r[1].line, 5);
	CHECK_STR(c.r[2].status, "dependency-failed");
	CHECK_INT(c.r[2].time, 400);
	CHECK_STR(c.r[3].status, "non-deterministic");
	CHECK_INT(c.r[3].time, 5);   /* no stoptime: the queue time */
	CHECK_INT(c.r[3].item, 6);
	CHECK_INT(c.nbad, 4);
	CHECK(strstr(c.bad_msg[2], "neither \"finished\" nor \"buildstatus\"") != NULL);
	CHECK_INT(c.bad_item[2], 7);
	CHECK(strstr(c.bad_msg[3], "\"finished\" is not an integer") != NULL);
	CHECK(strstr(c.bad_msg[0], "unknown Hydra buildstatus 5") != NULL);
	CHECK_INT(c.bad_item[0], 4);
	CHECK_INT(c.bad_line[0], 8);
	CHECK(strstr(c.bad_msg[1], "without \"buildstatus\"") != NULL);

	CHECK_INT(parse_builds("[]", &c, &e), 0);
	CHECK_INT(c.n + c.nbad, 0);
	CHECK_INT(parse_builds("  [ ]  \n", &c, &e), 0);
	CHECK_INT(parse_builds("", &c, &e), 0);
	CHECK_INT(c.n + c.nbad, 0);
}

TEST(builds_hydra_single_pretty)
{
	struct collected c;
	struct evals_error e;
	const char *doc =
		"\xef\xbb\xbf{\n"
		"    \"id\": 7,\n"
		"    \"finished\": 1,\n"
		"    \"buildstatus\": 7,\n"
		"    \"drvpath\": \"" DRV "\",\n"
		"    \"stoptime\": 1714570000\n"
		"}\n";

	CHECK_INT(parse_builds(doc, &c, &e), 0);
	CHECK_INT(c.n, 1);
	CHECK_STR(c.r[0].status, "timed-out");
	CHECK_INT(c.r[0].time, 1714570000);
	CHECK_INT(c.r[0].line, 1);
	CHECK_INT(c.nbad, 0);
	/* two pretty objects one after the other */
	CHECK_INT(parse_builds("{\n\"drvPath\": \"" DRV "\",\n\"status\": \"failed\"\n}\n"
			       "{\n\"drvPath\": \"" DRV "\",\n\"status\": \"succeeded\"\n}\n", &c, &e), 0);
	CHECK_INT(c.n, 2);
	CHECK_INT(c.r[1].line, 5);
	/* a broken pretty document cannot be split into lines: it fails whole */
	CHECK_INT(parse_builds("{\n\"drvPath\": \"" DRV "\",\n\"status\": \"failed\"\n}\n"
			       "{\n\"drvPath\": \n", &c, &e), -1);
	CHECK(strstr(e.msg, "malformed JSON") != NULL);
}

TEST(builds_lines)
{
	struct collected c;
	struct evals_error e;
	const char *doc =
		"{\"drvPath\": \"" DRV "\", \"status\": \"succeeded\", \"time\": 1714600000, \"attr\": \"torch\"}\n"
		"{\"drvPath\": \"" DRV "\", \"status\": \"dependency-failed\", \"time\": \"2024-05-02T00:00:00Z\"}\r\n"
		"\n"
		"{\"drvPath\": \"" DRV "\", \"status\": \"exploded\", \"time\": 1}\n"
		"{\"drvPath\": \"oops\"\n"
		"{\"drvPath\": \"" DRV "\", \"status\": \"queued\"}\n"
		"not json at all\n"
		"{\"drvPath\": \"" DRV "\", \"status\": \"failed\", \"time\": -5}\n"
		"{\"drvPath\": \"" DRV "\", \"status\": \"failed\", \"time\": \"yesterday\"}\n"
		"{\"drvPath\": \"" OUT "\", \"status\": \"failed\"}\n"
		"{\"status\": \"failed\"}\n"
		"{\"drvPath\": \"" DRV "\", \"status\": \"timed-out\", \"time\": 9}";

	CHECK_INT(parse_builds(doc, &c, &e), 0);
	CHECK_INT(c.n, 4);
	CHECK_STR(c.r[0].status, "succeeded");
	CHECK_INT(c.r[0].time, 1714600000);
	CHECK_STR(c.r[0].job, "torch");
	CHECK_INT(c.r[0].hydra_status, -1);
	CHECK_INT(c.r[0].hydra_id, -1);
	CHECK_INT(c.r[0].line, 1);
	CHECK_INT(c.r[0].item, 0);
	CHECK_STR(c.r[1].status, "dependency-failed");
	CHECK_INT(c.r[1].time, 1714608000);
	CHECK_STR(c.r[2].status, "queued");
	CHECK_INT(c.r[2].time, -1);
	CHECK_INT(c.r[2].line, 6);
	CHECK_STR(c.r[3].status, "timed-out");
	CHECK_INT(c.r[3].line, 12);
	CHECK_INT(c.nbad, 7);
	CHECK_INT(c.bad_line[0], 4);
	CHECK(strstr(c.bad_msg[0], "unknown status 'exploded'") != NULL);
	CHECK_INT(c.bad_line[1], 5);
	CHECK(strstr(c.bad_msg[1], "malformed JSON") != NULL);
	CHECK_INT(c.bad_line[2], 7);
	CHECK_INT(c.bad_line[3], 8);
	CHECK(strstr(c.bad_msg[3], "negative") != NULL);
	CHECK_INT(c.bad_line[4], 9);
	CHECK(strstr(c.bad_msg[4], "'yesterday'") != NULL);
	CHECK_INT(c.bad_line[5], 10);
	CHECK(strstr(c.bad_msg[5], ".drv") != NULL);
	CHECK_INT(c.bad_line[6], 11);
	CHECK(strstr(c.bad_msg[6], "neither") != NULL);
}

TEST(builds_bad_documents)
{
	struct collected c;
	struct evals_error e;

	CHECK_INT(parse_builds("[{\"drvPath\": \"" DRV "\", \"status\": \"failed\"},", &c, &e), -1);
	CHECK(strstr(e.msg, "malformed JSON") != NULL);
	CHECK_INT(parse_builds("[{\"drvPath\": \"" DRV "\", \"status\": \"failed\"} {}]", &c, &e), -1);
	CHECK_INT(parse_builds("[{\"drvPath\": \"" DRV "\", \"status\": \"failed\"}] x", &c, &e), -1);
	CHECK(strstr(e.msg, "after the array") != NULL);
	CHECK_INT(parse_builds("[1]", &c, &e), -1);
	CHECK_INT(parse_builds("[", &c, &e), -1);
	/* valid elements that are not records are skipped, not fatal */
	CHECK_INT(parse_builds("[{}, {\"drvPath\": \"" DRV "\", \"status\": \"failed\"}, []]", &c, &e), 0);
	CHECK_INT(c.n, 1);
	CHECK_INT(c.nbad, 2);
	CHECK_INT(c.bad_item[1], 3);
	/* a JSON line that is an array of records is not one */
	CHECK_INT(parse_builds("{\"drvPath\": \"" DRV "\", \"status\": \"failed\"}\n[1]\n", &c, &e), 0);
	CHECK_INT(c.n, 1);
	CHECK_INT(c.nbad, 1);
}

/* ---- keys and labels ------------------------------------------------ */

TEST(keys)
{
	struct trusted_key_arg k;
	struct evals_error e;

	CHECK_INT(trusted_key_parse("cache.example.org-1:byKfKsBzH+cjzUg62JQNMo4M2YJH9EgZZNTAAY9qTM0=",
				    &k, &e), 0);
	CHECK_STR(k.name, "cache.example.org-1");
	CHECK_STR(k.key_b64, "byKfKsBzH+cjzUg62JQNMo4M2YJH9EgZZNTAAY9qTM0=");
	CHECK_INT(trusted_key_parse("k:AAAA", &k, &e), -1);
	CHECK(strstr(e.msg, "3 bytes") != NULL);
	/* 64 bytes: a secret key or a signature, not a public key */
	CHECK_INT(trusted_key_parse("k:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
				    &k, &e), -1);
	CHECK_INT(trusted_key_parse("k:byKfKsBzH+cjzUg62JQNMo4M2YJH9EgZZNTAAY9qTM0", &k, &e), -1);
	CHECK_INT(trusted_key_parse("k:byKfKsBzH+cjzUg62JQNMo4M2YJH9EgZZNTAAY9qTM0=!", &k, &e), -1);
	CHECK_INT(trusted_key_parse("byKfKsBzH+cjzUg62JQNMo4M2YJH9EgZZNTAAY9qTM0=", &k, &e), -1);
	CHECK_INT(trusted_key_parse(":byKfKsBzH+cjzUg62JQNMo4M2YJH9EgZZNTAAY9qTM0=", &k, &e), -1);
	CHECK_INT(trusted_key_parse("a b:byKfKsBzH+cjzUg62JQNMo4M2YJH9EgZZNTAAY9qTM0=", &k, &e), -1);
	CHECK_INT(trusted_key_parse("", &k, &e), -1);
}

TEST(labels)
{
	struct evals_error e;

	CHECK_INT(evals_check_label("the branch", "nixos-24.05", 0, &e), 0);
	CHECK_INT(evals_check_label("the branch", "x'; DROP TABLE evaluations; --", 1, &e), 0);
	CHECK_INT(evals_check_label("the rev", "a b", 0, &e), -1);
	CHECK_INT(evals_check_label("the rev", "", 0, &e), -1);
	CHECK_INT(evals_check_label("the rev", NULL, 0, &e), -1);
	CHECK_INT(evals_check_label("the branch", " master", 1, &e), -1);
	CHECK_INT(evals_check_label("the branch", "mas\x1bter", 1, &e), -1);
	CHECK(strstr(e.msg, "the branch") != NULL);
}

int main(void)
{
	RUN(job_full);
	RUN(job_minimal_and_legacy);
	RUN(job_error_line);
	RUN(job_bad);
	RUN(status_codes);
	RUN(builds_hydra_array);
	RUN(builds_hydra_single_pretty);
	RUN(builds_lines);
	RUN(builds_bad_documents);
	RUN(keys);
	RUN(labels);
	return test_summary();
}
