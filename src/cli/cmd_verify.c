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

struct verify_cli {
	const char *cache;
	int64_t at;
	int verbose, json;
};

static const struct option verify_options[] = {
	OPT_STRING("cache", struct verify_cli, cache, "CACHE",
		 "the cache (URL, directory or id); default: the only one"),
	OPT_TIME("at", struct verify_cli, at, "TIME",
		 "the moment: keys revoked by then do not count, and the\n"
		 "paths present then are checked (default: now)"),
	OPT_FLAG("verbose", 'v', struct verify_cli, verbose,
		 "list every path with its verdict, not just the untrusted"),
	OPT_FLAG("json", 0, struct verify_cli, json,
		 "{\"checked\", \"trusted\", \"untrusted\", ..., \"paths\": [{\"path\",\n"
		 "\"trusted\", \"verdict\", \"signatures\": [{\"keyName\", \"sig\",\n"
		 "\"status\"[, \"revokedAt\"]}]}]}"),
	OPT_HELP("this text"),
	OPT_TEXT("\n"
		 "Verdicts: signed, content-addressed (trusted); bad-signature, revoked-key,\n"
		 "malformed-signature, unknown-key, unsigned (not trusted).\n"
		 "\n"
		 "Exit status: 0 every path checked is trusted, 1 some path is not (or no\n"
		 "key is configured, or an error), 2 usage error.\n"),
	OPT_END(),
};

static const struct opt_parser verify_parser = {
	.name = "verify",
	.usage = "usage: cachegc verify [--cache CACHE] [--at TIME] [--verbose] [--json] [PATH...]\n"
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
		 "options:\n",
	.opts = verify_options,
	.column = 18,
};

const struct cmd cmd_verify;

/* A signature as an object of verify --json's "signatures" array. */
static int sig_json(const struct trust_sig_info *si, void *ctx)
{
	json_t *o = json_object();
	char when[32];

	json_object_set_new(o, "keyName", si->name ? json_stringn(si->name, si->name_len)
						   : json_null());
	json_object_set_new(o, "sig", json_string(si->sig ? si->sig : si->text));
	json_object_set_new(o, "status", json_string(si->status));
	if (si->revoked_at >= 0)
		json_object_set_new(o, "revokedAt",
				    json_string(format_time(si->revoked_at, when, sizeof(when))));
	json_array_append_new(ctx, o);
	return 0;
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct verify_cli a = {.at = clock_now()};
	const char *cache_arg = NULL;
	int json = 0, verbose = 0, nargs = 0, ret = 1, inited = 0, reading = 0;
	int64_t cache_id, at;
	char *url = NULL, *store_dir = NULL;
	uint8_t *want = NULL;
	struct trust t;
	struct strbuf sb = STRBUF_INIT, d = STRBUF_INIT;
	uint64_t n_ok = 0, n_bad = 0, n_signed = 0, n_ca = 0;
	json_t *paths = NULL;

	if ((nargs = parse_options(&verify_parser, argc, argv, &a)) < 0)
		return parse_options_exit(nargs);
	cache_arg = a.cache;
	at = a.at;
	json = a.json;
	verbose = a.verbose;
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
		for (int i = 0; i < nargs; i++) {
			int64_t id;
			int rc;
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
		if (json) {
			json_t *sigs = json_array();
			if (trust_signatures(&t, id, sig_json, sigs) < 0) {
				json_decref(sigs);
				goto out;
			}
			json_array_append_new(paths, json_pack("{s:s, s:b, s:s, s:o}", "path", sb.buf,
							       "trusted", trust_ok(v),
							       "verdict", trust_verdict_str(v),
							       "signatures", sigs));
			continue;
		}
		if (trust_describe(&t, id, &d) < 0)
			goto out;
		if (trust_ok(v))
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
	.options = &verify_parser,
	.db = DB_KEEP,
	.run = run,
};
