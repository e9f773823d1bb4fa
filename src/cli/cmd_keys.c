/*
 * cmd_keys.c - `cachegc keys add|revoke|list`: the public keys whose
 * signatures make a cached path trusted (table trusted_keys).
 */
#include <jansson.h>
#include <string.h>

#include "cli/cmd.h"
#include "store/db.h"
#include "store/records.h"
#include "ingest/evals.h"
#include "lib/util.h"

struct keys_cli {
	int64_t at;      /* INT64_MIN: not given */
	int json;
};

static const struct option keys_options[] = {
	/* revoke's own option: OPT_TIME() indented under the line above */
	{ .type = OPT_TIME_T, .name = "at", .offset = offsetof(struct keys_cli, at),
	  .argh = "TIME", .flags = OPT_NESTED,
	  .help = "when it was revoked: 2024-05-01, 2024-05-01T12:00:00Z\n"
		  "or @EPOCH (default: the clock, see the global --now)" },
	OPT_TEXT("  list              the keys, trusted and revoked\n"),
	OPT_FLAG("json", 0, struct keys_cli, json, "print the result as JSON"),
	OPT_HELP(NULL),
	OPT_TEXT("\n"
		 "Exit status: 0 done (also when there was nothing to do), 1 refused or\n"
		 "failed, 2 for a usage error.\n"),
	OPT_END(),
};

static const struct opt_parser keys_parser = {
	.name = "keys",
	.usage = "usage: cachegc keys add NAME:BASE64... [--json]\n"
		 "       cachegc keys revoke NAME [--at TIME] [--json]\n"
		 "       cachegc keys list [--json]\n"
		 "\n"
		 "The signing keys coverage trusts.  A path counts as trusted when one of\n"
		 "its signatures verifies under a key that is trusted and not revoked.\n"
		 "Nix cannot tell when a signature was made, so a revoked key's signatures\n"
		 "never count again, and a revoked key cannot be added back.\n"
		 "\n"
		 "  add NAME:BASE64   trust a public key as Nix writes it (32 bytes of\n"
		 "                    base64, e.g. from 'nix key convert-secret-to-public');\n"
		 "                    several at once as nix.conf lists them, separated by\n"
		 "                    spaces ('trusted-public-keys = ...' pasted whole is\n"
		 "                    fine); all are checked before any is added\n"
		 "  revoke NAME       stop trusting the key called NAME\n",
	.opts = keys_options,
	.column = 20,
};

const struct cmd cmd_keys;

static void dump(json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(v);
}

/* One key to add: its status for the JSON answer. */
static json_t *add_one(struct db *db, const struct trusted_key_arg *k, int json, int *failed)
{
	struct strbuf pk = STRBUF_INIT;
	json_t *o = NULL;
	int r;

	if ((r = keys_add(db, k, clock_now())) < 0) {
		*failed = 1;
		return NULL;
	}
	if (json) {
		strbuf_addf(&pk, "%s:%s", k->name, k->key_b64);
		o = json_pack("{s:s, s:s, s:s}", "name", k->name, "publicKey", pk.buf,
			      "status", r ? "already-trusted" : "added");
		strbuf_release(&pk);
	} else if (r) {
		printf("key '%s' was already trusted; nothing changed\n", k->name);
	} else {
		printf("trusting key '%s'\n", k->name);
	}
	return o;
}

/*
 * The words of args[0..n) as keys: each argument may hold several keys
 * separated by white space, as nix.conf's trusted-public-keys lists them,
 * and may start with that setting's name ("trusted-public-keys = K1 K2",
 * "extra-trusted-public-keys = ...", pasted whole).  Returns the words
 * (malloc'd, each malloc'd) and their number in *nw.
 */
static char **key_words(int n, char **args, size_t *nw)
{
	char **w = NULL;
	size_t aw = 0;

	*nw = 0;
	for (int i = 0; i < n; i++) {
		const char *p = args[i];
		while (*p) {
			const char *e;
			while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
				p++;
			if (!*p)
				break;
			for (e = p; *e && *e != ' ' && *e != '\t' && *e != '\n' && *e != '\r'; e++)
				;
			GROW(w, aw, *nw + 1);
			w[(*nw)++] = xstrndup(p, (size_t)(e - p));
			p = e;
		}
	}
	/* the setting's name, with or without spaces around '=' */
	if (*nw) {
		const char *f = w[0], *eq = strchr(f, '=');
		size_t fl = eq ? (size_t)(eq - f) : strlen(f);
		if ((fl == 19 && !strncmp(f, "trusted-public-keys", 19)) ||
		    (fl == 25 && !strncmp(f, "extra-trusted-public-keys", 25))) {
			size_t drop = 1;
			if (eq && eq[1]) {
				char *rest = xstrdup(eq + 1);
				free(w[0]);
				w[0] = rest;
				drop = 0;
			} else if (!eq && *nw > 1 && !strcmp(w[1], "=")) {
				drop = 2;
			}
			for (size_t k = 0; k < drop; k++)
				free(w[k]);
			memmove(w, w + drop, (*nw - drop) * sizeof(*w));
			*nw -= drop;
		}
	}
	return w;
}

static int keys_add_cmd(struct db *db, int n, char **args, int json)
{
	struct trusted_key_arg *k;
	struct parse_error err;
	size_t nw, bad = 0;
	char **w = key_words(n, args, &nw);
	json_t *arr = json_array();
	int failed = 0;

	if (!nw) {
		free(w);
		json_decref(arr);
		return cmd_usage_error(&cmd_keys, "'keys add' needs NAME:BASE64 (no key in '%s')",
				       n ? args[0] : "");
	}
	/* Every key is checked before any is added. */
	k = xcalloc(nw, sizeof(*k));
	for (size_t i = 0; i < nw; i++)
		if (trusted_key_parse(w[i], &k[i], &err)) {
			if (nw > 1)
				error("keys add: key %zu of %zu: %s", i + 1, nw, err.msg);
			else
				error("keys add: %s", err.msg);
			bad++;
		}
	if (bad) {
		if (nw > 1)
			fprintf(stderr, "nothing was added: %zu of the %zu keys given cannot be "
				"read\n", bad, nw);
		failed = 1;
		goto out;
	}
	for (size_t i = 0; i < nw; i++) {
		json_t *o = add_one(db, &k[i], json, &failed);
		if (o)
			json_array_append_new(arr, o);
	}
	if (json) {
		/* one key: its object, as always; several: an array of them */
		if (nw == 1 && json_array_size(arr) == 1)
			dump(json_incref(json_array_get(arr, 0)));
		else if (nw > 1)
			dump(json_incref(arr));
	}
out:
	json_decref(arr);
	for (size_t i = 0; i < nw; i++)
		free(w[i]);
	free(w);
	free(k);
	return failed ? 1 : 0;
}

static int keys_revoke_cmd(struct db *db, const char *name, int64_t at, int json)
{
	int64_t when = 0;
	char t[32];
	int r;

	if ((r = keys_revoke(db, name, at, &when)) < 0)
		return 1;
	format_time(when, t, sizeof(t));
	if (json)
		dump(json_pack("{s:s, s:s, s:s}", "name", name, "status",
			       r ? "already-revoked" : "revoked", "revokedAt", t));
	else if (r)
		printf("key '%s' was already revoked at %s; nothing changed\n", name, t);
	else
		printf("revoked key '%s' as of %s; its signatures no longer count\n", name, t);
	return 0;
}

struct key_list {
	json_t *arr;
	size_t n, width;
};

static int list_one(const struct trusted_key_row *k, void *ctx)
{
	struct key_list *l = ctx;
	char added[32], revoked[32];
	int is_revoked = k->revoked_at >= 0;
	struct strbuf pk = STRBUF_INIT;

	strbuf_addf(&pk, "%s:%s", k->name, k->public_key);
	format_time(k->added_at, added, sizeof(added));
	if (is_revoked)
		format_time(k->revoked_at, revoked, sizeof(revoked));
	json_array_append_new(l->arr, json_pack("{s:s, s:s, s:s, s:s, s:o}", "name", k->name,
						"publicKey", pk.buf,
						"status", is_revoked ? "revoked" : "trusted",
						"addedAt", added,
						"revokedAt", is_revoked ? json_string(revoked)
									: json_null()));
	strbuf_release(&pk);
	if (strlen(k->name) > l->width)
		l->width = strlen(k->name);
	l->n++;
	return 0;
}

static int keys_list_cmd(struct db *db, int json)
{
	struct key_list l = {json_array(), 0, 4};
	json_t *arr = l.arr;
	size_t n, width;
	int r;

	/* Gather first: the name column's width depends on every name. */
	r = trusted_keys_each(db, list_one, &l);
	n = l.n;
	width = l.width;
	if (r < 0) {
		json_decref(arr);
		return 1;
	}
	if (json) {
		dump(arr);
		return 0;
	}
	if (!n) {
		printf("no trusted keys: coverage cannot check signatures; add one with "
		       "'cachegc keys add NAME:BASE64'\n");
	} else {
		printf("%-*s  %-7s  %-20s  %-20s  %s\n", (int)width, "NAME", "STATUS", "ADDED",
		       "REVOKED", "PUBLIC KEY");
		for (size_t i = 0; i < n; i++) {
			json_t *o = json_array_get(arr, i);
			json_t *rv = json_object_get(o, "revokedAt");
			printf("%-*s  %-7s  %-20s  %-20s  %s\n", (int)width,
			       json_string_value(json_object_get(o, "name")),
			       json_string_value(json_object_get(o, "status")),
			       json_string_value(json_object_get(o, "addedAt")),
			       json_is_string(rv) ? json_string_value(rv) : "-",
			       json_string_value(json_object_get(o, "publicKey")));
		}
	}
	json_decref(arr);
	return 0;
}

static int run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct keys_cli a = {.at = INT64_MIN};
	const char *sub, *arg = NULL;
	int json = 0, n;
	int64_t at;

	if (argc < 2)
		return cmd_usage_error(&cmd_keys, "say add, revoke or list");
	sub = argv[1];
	if (strcmp(sub, "add") && strcmp(sub, "revoke") && strcmp(sub, "list"))
		return cmd_usage_error(&cmd_keys, "unknown subcommand '%s' (want add, revoke "
				       "or list)", sub);
	if ((n = parse_options(&keys_parser, argc - 1, argv + 1, &a)) < 0)
		return parse_options_exit(n);
	json = a.json;
	if (a.at != INT64_MIN && strcmp(sub, "revoke"))
		return cmd_usage_error(&cmd_keys, "unknown option '--at' for 'keys %s'", sub);
	/* add takes any number of keys; revoke one name; list nothing */
	if (strcmp(sub, "add") && n > (strcmp(sub, "list") ? 1 : 0))
		return cmd_usage_error(&cmd_keys, "unexpected argument '%s'",
				       argv[1 + (strcmp(sub, "list") ? 1 : 0)]);
	if (n)
		arg = argv[1];
	if (!strcmp(sub, "list")) {
		int rc;
		if (db_read_begin(ctx->db))
			return 1;
		rc = keys_list_cmd(ctx->db, json);
		db_read_end(ctx->db);
		return rc;
	}
	if (!arg)
		return cmd_usage_error(&cmd_keys, "'keys %s' needs %s", sub,
				       strcmp(sub, "add") ? "a key NAME" : "NAME:BASE64");
	if (db_need_write(ctx->db, !strcmp(sub, "add") ? "'keys add'" : "'keys revoke'"))
		return 1;
	if (!strcmp(sub, "add"))
		return keys_add_cmd(ctx->db, n, argv + 1, json);
	at = a.at != INT64_MIN ? a.at : clock_now();
	return keys_revoke_cmd(ctx->db, arg, at, json);
}

const struct cmd cmd_keys = {
	"keys",
	"trust or revoke signing keys (add NAME:BASE64..., revoke NAME, list)",
	&keys_parser,
	DB_KEEP,
	run,
};
