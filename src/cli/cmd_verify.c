/*
 * cmd_verify.c - `cachegc verify`: the trust verdict of each path of a
 * cache, as `nix store verify --no-contents --sigs-needed 1` would give it
 * with the trusted keys of 'cachegc keys'.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "store/db.h"
#include "store/lookup.h"
#include "store/meta.h"
#include "analysis/trust.h"
#include "lib/util.h"

static const char usage[] =
	"usage: cachegc verify [--cache CACHE] [--at TIME] [--verbose] [--json] [PATH...]\n"
	"\n"
	"Check the signatures of the cache's paths against the trusted keys (see\n"
	"'cachegc keys'), the way Nix decides whether to trust a substitute: a\n"
	"path is trusted when one of its signatures verifies under a key that is\n"
	"trusted and not revoked, or when it is content-addressed.  The same\n"
	"verdicts as 'nix store verify --no-contents --sigs-needed 1\n"
	"--trusted-public-keys KEYS', from the recorded narinfos (the cache is\n"
	"not read).  Each signature is checked once: verdicts are kept in the\n"
	"database for the next run and for 'cachegc coverage'.\n"
	"\n"
	"PATH     a store path, base name or hash (default: every path present in\n"
	"         the cache as of --at)\n"
	"\n"
	"options:\n"
	"  --cache CACHE   the cache (URL, directory or id); default: the only one\n"
	"  --at TIME       the moment: keys revoked by then do not count, and the\n"
	"                  paths present then are checked (default: now)\n"
	"  --verbose       list every path with its verdict, not just the untrusted\n"
	"  --json          {\"checked\", \"trusted\", \"untrusted\", ..., \"paths\": [{\"path\",\n"
	"                  \"trusted\", \"verdict\", \"signatures\"}]}\n"
	"  --help          this text\n"
	"\n"
	"Verdicts: signed, content-addressed (trusted); bad-signature, revoked-key,\n"
	"malformed-signature, unknown-key, unsigned (not trusted).\n"
	"\n"
	"Exit status: 0 every path checked is trusted, 1 some path is not (or no\n"
	"key is configured, or an error), 2 usage error.\n";

const struct cmd cmd_verify;

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *cache_arg = NULL, *at_arg = NULL;
	int json = 0, verbose = 0, nargs = 0, ret = 1, inited = 0, reading = 0;
	int64_t cache_id, at = clock_now();
	char *url = NULL, *store_dir = NULL;
	uint8_t *want = NULL;
	struct trust t;
	struct strbuf sb = STRBUF_INIT, d = STRBUF_INIT;
	uint64_t n_ok = 0, n_bad = 0, n_signed = 0, n_ca = 0;
	json_t *paths = NULL;

	for (int i = 1; i < argc; i++) {
		const char **dst = NULL;
		const char *a = argv[i];
		if (!strcmp(a, "--json"))
			json = 1;
		else if (!strcmp(a, "--verbose") || !strcmp(a, "-v"))
			verbose = 1;
		else if (!strcmp(a, "--cache") || !strcmp(a, "--at"))
			dst = a[2] == 'c' ? &cache_arg : &at_arg;
		else if (!strncmp(a, "--cache=", 8))
			cache_arg = a + 8;
		else if (!strncmp(a, "--at=", 5))
			at_arg = a + 5;
		else if (a[0] == '-' && a[1] == '-')
			return cmd_usage_error(&cmd_verify, "unknown option '%s'", a);
		else
			nargs++;
		if (dst) {
			if (++i >= argc)
				return cmd_usage_error(&cmd_verify, "%s needs a value", a);
			*dst = argv[i];
		}
	}
	if (at_arg && parse_time(at_arg, &at))
		return cmd_usage_error(&cmd_verify, "--at: cannot parse '%s' (want 2024-05-01, "
				       "2024-05-01T12:00:00Z or @EPOCH)", at_arg);
	/* Every verdict and name from one state of the DB; the new verdicts
	 * are recorded after it (trust_release). */
	if (db_read_begin(ctx->db))
		goto out;
	reading = 1;
	if (cache_resolve(ctx->db, cache_arg, &cache_id, &url) ||
	    !(store_dir = db_store_dir(ctx->db)))
		goto out;
	inited = 1;
	if (trust_init(&t, ctx->db, cache_id, at, 0, 0))
		goto out;
	if (trust_no_keys(&t)) {
		error("no trusted keys are configured: nothing to verify against; "
		      "add one with 'cachegc keys add NAME:BASE64'");
		goto out;
	}
	want = xcalloc(t.n, 1);
	if (!nargs) {
		if (trust_want_present(&t, want) < 0)
			goto out;
	} else {
		int unknown = 0;
		for (int i = 1; i < argc; i++) {
			int64_t id;
			int rc;
			if (argv[i][0] == '-' && argv[i][1] == '-') {
				if (!strcmp(argv[i], "--cache") || !strcmp(argv[i], "--at"))
					i++;
				continue;
			}
			if ((rc = path_resolve(ctx->db, store_dir, argv[i], &id)) < 0)
				goto out;
			if (!rc || id <= 0 || id >= t.n) {
				error("'%s' was never seen in %s", argv[i], url);
				unknown = 1;
				continue;
			}
			want[id] = 1;
		}
		if (unknown)
			goto out;
	}
	if (trust_check(&t, want))
		goto out;
	if (!t.names_loaded) {
		/* trust_release frees them either way */
		t.names_loaded = 1;
		if (path_names_load(&t.names, ctx->db, t.n))
			goto out;
	}
	if (json)
		paths = json_array();
	for (uint32_t id = 1; id < t.n; id++) {
		enum trust_verdict v;
		if (!want[id])
			continue;
		v = trust_verdict(&t, id);
		if (v == TRUST_UNCHECKED) {
			/* Named on the command line but no narinfo in this cache. */
			strbuf_reset(&sb);
			strbuf_addf(&sb, "%s/%s", store_dir, path_names_get(&t.names, id));
			error("'%s' has no narinfo recorded in %s", sb.buf, url);
			n_bad++;
			continue;
		}
		if (trust_ok(v)) {
			n_ok++;
			n_signed += v == TRUST_SIGNED;
			n_ca += v == TRUST_CA;
		} else {
			n_bad++;
		}
		if (!json && !verbose && trust_ok(v))
			continue;
		strbuf_reset(&sb);
		strbuf_addf(&sb, "%s/%s", store_dir, path_names_get(&t.names, id));
		strbuf_reset(&d);
		if (trust_describe(&t, id, &d) < 0)
			goto out;
		if (json)
			json_array_append_new(paths, json_pack("{s:s, s:b, s:s, s:s}", "path", sb.buf,
							       "trusted", trust_ok(v),
							       "verdict", trust_verdict_str(v),
							       "signatures", d.buf ? d.buf : ""));
		else if (trust_ok(v))
			printf("%-17s %s\n", trust_verdict_str(v), sb.buf);
		else
			printf("%-17s %s  (%s)\n", trust_verdict_str(v), sb.buf, d.buf ? d.buf : "");
	}
	if (json) {
		json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
				      "cache", url, "keys", (json_int_t)t.nactive,
				      "checked", (json_int_t)(n_ok + n_bad),
				      "trusted", (json_int_t)n_ok, "untrusted", (json_int_t)n_bad,
				      "signed", (json_int_t)n_signed,
				      "contentAddressed", (json_int_t)n_ca,
				      "verified", (json_int_t)t.stats.verified,
				      "reused", (json_int_t)t.stats.reused, "paths", paths);
		paths = NULL;
		json_dumpf(o, stdout, JSON_INDENT(1));
		putchar('\n');
		json_decref(o);
	} else {
		printf("%llu paths checked against %zu trusted key%s: %llu trusted (%llu signed, "
		       "%llu content-addressed), %llu untrusted; %llu signatures verified, "
		       "%llu verdicts reused\n",
		       (unsigned long long)(n_ok + n_bad), t.nactive, t.nactive == 1 ? "" : "s",
		       (unsigned long long)n_ok, (unsigned long long)n_signed,
		       (unsigned long long)n_ca, (unsigned long long)n_bad,
		       (unsigned long long)t.stats.verified, (unsigned long long)t.stats.reused);
	}
	ret = n_bad ? 1 : 0;
out:
	json_decref(paths);
	if (reading)
		db_read_end(ctx->db);
	if (inited)
		trust_release(&t);
	free(want);
	free(url);
	free(store_dir);
	strbuf_release(&sb);
	strbuf_release(&d);
	return ret;
}

const struct cmd cmd_verify = {
	.name = "verify",
	.summary = "signature verdicts per path, as nix store verify gives them",
	.usage = usage,
	.db = DB_KEEP,
	.run = run,
};
