/*
 * hydra_map.c - `import-hydra --map FILE` and --jobset PROJECT:JOBSET:
 * which branch, capability set, system and input a Hydra jobset stands
 * for.  See ingest/hydra.h.
 */
#include "ingest/hydra.h"

#include <stdlib.h>
#include <string.h>

#include "nix/caps.h"
#include "nix/evaljobs.h"
#include "nix/hydra_api.h"
#include "lib/util.h"

void hydra_jobset_arg_release(struct hydra_jobset_arg *a)
{
	free(a->project);
	free(a->jobset);
	free(a->branch);
	free(a->capabilities);
	free(a->system);
	free(a->input);
	memset(a, 0, sizeof(*a));
}

int hydra_jobset_name_parse(const char *s, struct hydra_jobset_arg *a, struct parse_error *err)
{
	const char *colon = strchr(s, ':');
	char show[PARSE_SHOWN_MAX];

	memset(a, 0, sizeof(*a));
	if (!colon || strchr(colon + 1, ':'))
		return parse_fail(err, 0, "'%s' is not PROJECT:JOBSET",
				  parse_shown(show, sizeof(show), s, strlen(s)));
	a->project = xstrndup(s, (size_t)(colon - s));
	a->jobset = xstrdup(colon + 1);
	if (!hydra_name_valid(a->project) || !hydra_name_valid(a->jobset)) {
		hydra_jobset_arg_release(a);
		return parse_fail(err, 0, "'%s': a Hydra project or jobset name is letters, digits, "
				  "'_', '-' and '.'", parse_shown(show, sizeof(show), s, strlen(s)));
	}
	return 0;
}

/* One KEY=VALUE of a map line into a.  0 or -1 (err). */
static int map_key(struct hydra_jobset_arg *a, const char *kv, unsigned line,
		   struct parse_error *err)
{
	const char *eq = strchr(kv, '=');
	char show[PARSE_SHOWN_MAX], **slot = NULL;
	struct parse_error e;
	size_t kl;

	if (!eq || eq == kv)
		return parse_fail(err, line, "'%s' is not KEY=VALUE",
				  parse_shown(show, sizeof(show), kv, strlen(kv)));
	kl = (size_t)(eq - kv);
	if (kl == 6 && !memcmp(kv, "branch", 6))
		slot = &a->branch;
	else if (kl == 12 && !memcmp(kv, "capabilities", 12))
		slot = &a->capabilities;
	else if (kl == 6 && !memcmp(kv, "system", 6))
		slot = &a->system;
	else if (kl == 5 && !memcmp(kv, "input", 5))
		slot = &a->input;
	else
		return parse_fail(err, line, "unknown key '%s' (want branch, capabilities, system "
				  "or input)", parse_shown(show, sizeof(show), kv, kl));
	if (*slot)
		return parse_fail(err, line, "'%.*s' given twice", (int)kl, kv);
	if (slot == &a->capabilities) {
		if (!strcmp(eq + 1, "none"))
			*slot = xstrdup("none");
		else if (caps_normalize(eq + 1, strlen(eq + 1), slot, &e))
			return parse_fail(err, line, "capabilities: %s", e.msg);
		return 0;
	}
	if (evals_check_label(slot == &a->branch ? "the branch" : slot == &a->system ?
			      "the system" : "the input", eq + 1, 0, &e))
		return parse_fail(err, line, "%s", e.msg);
	*slot = xstrdup(eq + 1);
	return 0;
}

int hydra_map_parse(const char *buf, size_t len, struct hydra_jobset_arg **v, size_t *n,
		    struct parse_error *err)
{
	size_t alloc = *n, start = *n;
	unsigned lineno = 0;
	const char *p = buf, *end = buf + len;

	if (memchr(buf, '\0', len))
		return parse_fail(err, 0, "holds a NUL byte; is it a text file?");
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t ll = eol ? (size_t)(eol - p) : (size_t)(end - p);
		char *line = xstrndup(p, ll), *hash, *tok, *save = NULL;
		struct hydra_jobset_arg a;
		struct parse_error e;
		int first = 1, rc = 0;

		p = eol ? eol + 1 : end;
		lineno++;
		if ((hash = strchr(line, '#')))
			*hash = '\0';
		memset(&a, 0, sizeof(a));
		for (tok = strtok_r(line, " \t\r", &save); tok && !rc;
		     tok = strtok_r(NULL, " \t\r", &save)) {
			if (first) {
				first = 0;
				if (hydra_jobset_name_parse(tok, &a, &e))
					rc = parse_fail(err, lineno, "%s", e.msg);
				continue;
			}
			rc = map_key(&a, tok, lineno, err);
		}
		free(line);
		if (rc) {
			hydra_jobset_arg_release(&a);
			goto fail;
		}
		if (first)
			continue;   /* blank or a comment */
		for (size_t i = start; i < *n; i++)
			if (!strcmp((*v)[i].project, a.project) && !strcmp((*v)[i].jobset, a.jobset)) {
				parse_fail(err, lineno, "%s:%s is mapped twice", a.project, a.jobset);
				hydra_jobset_arg_release(&a);
				goto fail;
			}
		GROW(*v, alloc, *n + 1);
		(*v)[(*n)++] = a;
	}
	return 0;
fail:
	while (*n > start)
		hydra_jobset_arg_release(&(*v)[--*n]);
	return -1;
}
