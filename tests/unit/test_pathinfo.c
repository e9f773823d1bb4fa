/*
 * test_pathinfo.c - the store paths of `nix path-info --json` output, in
 * each shape Nix has printed: the objects are Nix's own test data
 * (src/libstore-tests/data/path-info/json-{1,2}/impure.json) under the
 * keys `nix path-info` puts them.
 */
#include "harness.h"

#include "nix/pathinfo.h"
#include "lib/util.h"

#define BAR "g1w7hy3qg1w7hy3qg1w7hy3qg1w7hy3q-bar"
#define FOO "n5wkd9frr45pa74if5gpz9j7mifg27fh-foo"

/* json-1/impure.json, as Nix 2.19+ (format 1) prints an object */
#define V1_OBJ "{\"ca\":\"fixed:r:sha256:1lr187v6dck1rjh2j6svpikcfz53wyl3qrlcbb405zlh13x0khhh\"," \
	"\"deriver\":\"/nix/store/" BAR ".drv\"," \
	"\"narHash\":\"sha256-FePFYIlMuycIXPZbWi7LGEiMmZSX9FMbaQenWBzm1Sc=\",\"narSize\":34878," \
	"\"references\":[\"/nix/store/" BAR "\",\"/nix/store/" FOO "\"],\"registrationTime\":23423," \
	"\"signatures\":[],\"storeDir\":\"/nix/store\",\"ultimate\":true,\"version\":1}"
/* json-2/impure.json: basenames, a structured ca */
#define V2_OBJ "{\"ca\":{\"hash\":\"sha256-EMIJ+giQ/gLIWoxmPKjno3zHZrxbGymgzGGyZvZBIdM=\"," \
	"\"method\":\"nar\"},\"deriver\":\"" BAR ".drv\",\"narSize\":34878," \
	"\"references\":[\"" BAR "\",\"" FOO "\"],\"storeDir\":\"/nix/store\",\"version\":2}"

struct got {
	char buf[512];
	int n;
};

static int collect(const char *base, size_t len, void *ctx)
{
	struct got *g = ctx;
	size_t at = strlen(g->buf);

	snprintf(g->buf + at, sizeof(g->buf) - at, "%s%.*s", at ? " " : "", (int)len, base);
	g->n++;
	return 0;
}

static int parse(const char *s, struct got *g, struct parse_error *err)
{
	memset(g, 0, sizeof(*g));
	return pathinfo_json_paths(s, strlen(s), "/nix/store", collect, g, err);
}

TEST(nix_2_8_array)
{
	struct parse_error err;
	struct got g;

	CHECK_INT(parse("[{\"path\":\"/nix/store/" FOO "\",\"narSize\":1},"
			"{\"path\":\"/nix/store/" BAR "\",\"valid\":false}]\n", &g, &err), 1);
	CHECK_STR(g.buf, FOO " " BAR);
	CHECK_INT(parse(" [ ] ", &g, &err), 1);
	CHECK_INT(g.n, 0);
	/* a path of another store is an error, not some other format */
	CHECK_INT(parse("[{\"path\":\"/gnu/store/" FOO "\"}]", &g, &err), -1);
	CHECK(strstr(err.msg, "not a store path in /nix/store") != NULL);
}

TEST(format_1_object)
{
	struct parse_error err;
	struct got g;

	CHECK_INT(parse("{\"/nix/store/" FOO "\":" V1_OBJ ",\"/nix/store/" BAR "\":null}", &g,
			&err), 1);
	CHECK_STR(g.buf, FOO " " BAR);
	/* pretty-printed, as jq shows it */
	CHECK_INT(parse("{\n  \"/nix/store/" FOO "\": {\n    \"narSize\": 1\n  }\n}\n", &g, &err), 1);
	CHECK_STR(g.buf, FOO);
	CHECK_INT(parse("{}", &g, &err), 1);
	CHECK_INT(g.n, 0);
}

TEST(format_2_info)
{
	struct parse_error err;
	struct got g;

	CHECK_INT(parse("{\"version\":2,\"storeDir\":\"/nix/store\",\"info\":{\"" FOO "\":" V2_OBJ
			",\"" BAR "\":null}}", &g, &err), 1);
	CHECK_STR(g.buf, FOO " " BAR);
	CHECK_INT(parse("{\"version\":3,\"storeDir\":\"/gnu/store\",\"info\":{}}", &g, &err), -1);
	CHECK(strstr(err.msg, "storeDir is '/gnu/store'") != NULL);
	CHECK_INT(parse("{\"version\":2,\"info\":{\"not a name\":null}}", &g, &err), -1);
}

TEST(not_path_info)
{
	struct parse_error err;
	struct got g;

	/* text lines, a nix-eval-jobs line, several values, other JSON */
	CHECK_INT(parse("/nix/store/" FOO "\n", &g, &err), 0);
	CHECK_INT(parse("{\"attr\":\"hello\",\"outputs\":{\"out\":\"/nix/store/" FOO "\"}}\n", &g,
			&err), 0);
	CHECK_INT(parse("{\"/nix/store/" FOO "\":{}}\n{\"/nix/store/" BAR "\":{}}\n", &g, &err), 0);
	CHECK_INT(parse("[1, 2]", &g, &err), 0);
	CHECK_INT(parse("[{\"path\":\"/nix/store/" FOO "\"}, 3]", &g, &err), 0);
	CHECK_INT(parse("{\"/nix/store/" FOO "\":{}, \"total\":{}}", &g, &err), 0);
	CHECK_INT(parse("{\"/nix/store/" FOO "\":", &g, &err), 0);
	CHECK_INT(parse("", &g, &err), 0);
	CHECK_INT(g.n, 0);
}

int main(void)
{
	RUN(nix_2_8_array);
	RUN(format_1_object);
	RUN(format_2_info);
	RUN(not_path_info);
	return test_summary();
}
