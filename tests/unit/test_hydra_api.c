/*
 * test_hydra_api.c - Hydra's JSON API responses (nix/hydra_api.h) and the
 * --map format (ingest/hydra.h): the shapes Hydra serves are read, the
 * rest refused whole with a reason.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ingest/hydra.h"
#include "nix/hydra_api.h"
#include "lib/util.h"

#define SD "/nix/store"
#define DRV SD "/ab9zv2y5gm8hr6g318p0s6kaclwj4slr-hello-2.10.drv"
#define OUT SD "/y26qxcq1gg2hrqpxdc58b2fghv2bhxjg-hello-2.10"

/* hydra-api.yaml's build-success example, with a job ATTR.SYSTEM. */
#define BUILD(extra) \
	"{\"id\": 1, \"buildstatus\": 0, \"nixname\": \"hello-2.10\", \"finished\": 1," \
	" \"jobsetevals\": [1], \"stoptime\": 1588365711, \"system\": \"x86_64-linux\"," \
	" \"drvpath\": \"" DRV "\", \"job\": \"hello.x86_64-linux\", \"jobset\": \"hello\"," \
	" \"priority\": 100, \"project\": \"example-hello\", \"starttime\": 1588365711," \
	" \"timestamp\": 1588365700, \"buildproducts\": {}, \"buildmetrics\": {}" extra "}"

static int builds(const char *s, struct hydra_builds *b, struct parse_error *e)
{
	memset(b, 0, sizeof(*b));
	return hydra_builds_parse(s, strlen(s), SD, b, e);
}

TEST(build_example)
{
	struct hydra_builds b;
	struct parse_error e;

	CHECK_INT(builds(BUILD(", \"buildoutputs\": {\"out\": {\"path\": \"" OUT "\"}}"), &b, &e), 0);
	CHECK_INT(b.n, 1);
	CHECK_STR(b.v[0].rec.status, "succeeded");
	CHECK_INT(b.v[0].rec.hydra_id, 1);
	CHECK_INT(b.v[0].rec.time, 1588365711);
	CHECK_STR(b.v[0].rec.job, "hello.x86_64-linux");
	CHECK_STR(b.v[0].attr, "hello");
	CHECK_INT(b.v[0].finished, 1);
	CHECK_INT(b.v[0].noutputs, 1);
	CHECK_STR(b.v[0].outputs[0].path, OUT);
	hydra_builds_release(&b);
}

TEST(build_queued_and_lists)
{
	struct hydra_builds b;
	struct parse_error e;
	const char *q = "[" BUILD(", \"buildoutputs\": {\"out\": {\"path\": \"" OUT "\"}}") ", "
			"{\"id\": 2, \"finished\": 0, \"buildstatus\": null, \"timestamp\": 7,"
			" \"job\": \"hello\", \"system\": \"x86_64-linux\", \"drvpath\": \"" DRV "\","
			" \"buildoutputs\": {\"out\": {\"path\": null}, \"dev\": {\"path\": \"" OUT "\"}}}]";

	CHECK_INT(builds(q, &b, &e), 0);
	CHECK_INT(b.n, 2);
	CHECK_STR(b.v[1].rec.status, "queued");
	CHECK_INT(b.v[1].finished, 0);
	CHECK_INT(b.v[1].rec.time, 7);
	CHECK_STR(b.v[1].attr, "hello");   /* no ".SYSTEM": as it is */
	CHECK_STR(b.v[1].outputs[0].name, "dev");
	CHECK(b.v[1].outputs[1].path == NULL);
	hydra_builds_release(&b);
	/* builds by id, as the schema's JobsetEvalBuilds reads */
	CHECK_INT(builds("{\"1\": " BUILD(", \"buildoutputs\": {\"out\": {\"path\": \"" OUT "\"}}") "}",
			 &b, &e), 0);
	CHECK_INT(b.n, 1);
	hydra_builds_release(&b);
	CHECK_INT(builds("[]", &b, &e), 0);
	CHECK_INT(b.n, 0);
	hydra_builds_release(&b);
}

TEST(build_refused)
{
	struct hydra_builds b;
	struct parse_error e;

	CHECK_INT(builds(BUILD(""), &b, &e), -1);
	CHECK(strstr(e.msg, "build 1 (job 'hello.x86_64-linux') has no \"buildoutputs\""));
	CHECK(b.n == 0 && b.v == NULL);
	CHECK_INT(builds(BUILD(", \"buildoutputs\": {}"), &b, &e), -1);
	CHECK_INT(builds(BUILD(", \"buildoutputs\": {\"out\": {\"path\": \"/tmp/x\"}}"), &b, &e), -1);
	CHECK(strstr(e.msg, "not a store path"));
	CHECK_INT(builds("<!DOCTYPE html><html></html>", &b, &e), -1);
	CHECK(strstr(e.msg, "HTML"));
	CHECK_INT(builds("", &b, &e), -1);
	CHECK_INT(builds("[1, 2]", &b, &e), -1);
	CHECK_INT(builds("[{\"id\": 3, \"finished\": 1, \"buildstatus\": 42, \"job\": \"x\","
			 " \"drvpath\": \"" DRV "\", \"buildoutputs\": {\"out\": {\"path\": \"" OUT "\"}}}]",
			 &b, &e), -1);
	CHECK(strstr(e.msg, "build 3") && strstr(e.msg, "42"));
	CHECK_INT(builds("{\"error\": \"Page not found.\"}", &b, &e), -1);
}

static const char PAGE[] =
	"{\"first\": \"?page=1\", \"last\": \"?page=2\", \"next\": \"?page=2\", \"evals\": ["
	" {\"id\": 2, \"timestamp\": 1700000000, \"hasnewbuilds\": 1, \"builds\": [5, 6],"
	"  \"flake\": null, \"jobsetevalinputs\": {"
	"   \"nixpkgs\": {\"type\": \"git\", \"uri\": \"https://github.com/nixos/nixpkgs\","
	"                \"revision\": \"ab3adfe1c769c22b6629e59ea0ef88ec8ee4563f\", \"value\": null,"
	"                \"dependency\": null},"
	"   \"officialRelease\": {\"type\": \"boolean\", \"value\": false, \"revision\": null}}},"
	" {\"id\": 1, \"timestamp\": 1690000000, \"builds\": []}]}";

TEST(evals_page)
{
	struct hydra_evals_page p;
	struct parse_error e;
	const struct hydra_input *in;

	CHECK_INT(hydra_evals_page_parse(PAGE, strlen(PAGE), &p, &e), 0);
	CHECK_INT(p.n, 2);
	CHECK_STR(p.next, "?page=2");
	CHECK_INT(p.evals[0].id, 2);
	CHECK_INT(p.evals[0].timestamp, 1700000000);
	CHECK_INT(p.evals[0].nbuilds, 2);
	CHECK_INT(p.evals[0].builds[1], 6);
	in = hydra_input_find(p.evals[0].inputs, p.evals[0].ninputs, "nixpkgs");
	CHECK(in && in->revision && !strcmp(in->revision, "ab3adfe1c769c22b6629e59ea0ef88ec8ee4563f"));
	CHECK(p.evals[0].flake == NULL);
	CHECK_INT(p.evals[1].nbuilds, 0);
	hydra_evals_page_release(&p);
}

TEST(evals_page_refused)
{
	static const char *const bad[] = {
		"[]", "{\"evals\": 3}", "{\"first\": \"?page=1\"}",
		"{\"evals\": [{\"timestamp\": 1}]}", "{\"evals\": [{\"id\": 1}]}",
		"{\"evals\": [{\"id\": 1, \"timestamp\": 1, \"builds\": [\"x\"]}]}",
		"{\"evals\": [{\"id\": 1, \"timestamp\": 1, \"jobsetevalinputs\": []}]}",
		"{\"evals\": [], \"next\": 2}", "<html>", "{\"evals\": [",
	};
	struct hydra_evals_page p;
	struct parse_error e;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int rc = hydra_evals_page_parse(bad[i], strlen(bad[i]), &p, &e);
		if (rc != -1)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK_INT(rc, -1);
	}
}

TEST(jobset_branch)
{
	static const char js[] =
		"{\"name\": \"stable\", \"project\": \"cuda\", \"nixexprinput\": \"src\", \"inputs\": {"
		" \"src\": {\"name\": \"src\", \"type\": \"git\", \"emailresponsible\": false,"
		"         \"value\": \"https://github.com/NixOS/nixpkgs nixos-24.05 1\"},"
		" \"plain\": {\"name\": \"plain\", \"type\": \"git\", \"value\": \"https://x/y\"}}}";
	struct hydra_jobset j;
	struct parse_error e;
	char *b;

	CHECK_INT(hydra_jobset_parse(js, strlen(js), &j, &e), 0);
	CHECK_STR(j.nixexprinput, "src");
	CHECK_INT(j.ninputs, 2);
	b = hydra_input_branch(hydra_input_find(j.inputs, j.ninputs, "src"));
	CHECK_STR(b, "nixos-24.05");
	free(b);
	CHECK(hydra_input_branch(hydra_input_find(j.inputs, j.ninputs, "plain")) == NULL);
	hydra_jobset_release(&j);
	CHECK_INT(hydra_jobset_parse("<html>", 6, &j, &e), -1);
	CHECK_INT(hydra_jobset_parse("{\"error\": \"x\"}", 14, &j, &e), -1);
}

TEST(map_lines)
{
	static const char m[] =
		"# jobsets\n\ncuda:a branch=nixos-unstable capabilities=8.9,8.6 # torch\n"
		"cuda:b\tsystem=x86_64-linux input=nixpkgs capabilities=none\n";
	struct hydra_jobset_arg *v = NULL;
	struct parse_error e;
	size_t n = 0;

	CHECK_INT(hydra_map_parse(m, strlen(m), &v, &n, &e), 0);
	CHECK_INT(n, 2);
	CHECK_STR(v[0].branch, "nixos-unstable");
	CHECK_STR(v[0].capabilities, "8.6,8.9");
	CHECK(v[0].system == NULL);
	CHECK_STR(v[1].capabilities, "none");
	CHECK_STR(v[1].input, "nixpkgs");
	for (size_t i = 0; i < n; i++)
		hydra_jobset_arg_release(&v[i]);
	free(v);
}

TEST(map_refused)
{
	static const char *const bad[] = {
		"cuda:a colour=red\n", "cuda\n", "cuda:a:b\n", "../x:a\n", "cuda:a branch=\n",
		"cuda:a branch=x branch=y\n", "cuda:a capabilities=8\n", "x:y\nx:y\n",
		"cuda:a system=has space\n",
	};
	struct hydra_jobset_arg *v = NULL;
	struct parse_error e;
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int rc = hydra_map_parse(bad[i], strlen(bad[i]), &v, &n, &e);
		if (rc != -1)
			fprintf(stderr, "accepted: %s", bad[i]);
		CHECK_INT(rc, -1);
		CHECK(e.line >= 1);
		CHECK_INT(n, 0);
	}
	free(v);
	CHECK(hydra_name_valid("cuda-packages_unstable.1"));
	CHECK(!hydra_name_valid(".hidden"));
	CHECK(!hydra_name_valid("a/b"));
	CHECK(!hydra_name_valid(""));
}

int main(void)
{
	RUN(build_example);
	RUN(build_queued_and_lists);
	RUN(build_refused);
	RUN(evals_page);
	RUN(evals_page_refused);
	RUN(jobset_branch);
	RUN(map_lines);
	RUN(map_refused);
	return test_summary();
}
