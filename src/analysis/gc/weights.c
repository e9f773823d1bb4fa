/*
 * weights.c - the priority policy's value rules: the defaults, the rules
 * file (KIND PATTERN WEIGHT, "reset KIND"), and the lookup of one name's
 * weight.  See gc.h for the format and the defaults.
 *
 * Pure: a buffer in, rules out (gc_weights_load() only reads the file).
 */
#include "analysis/gc.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nix/caps.h"
#include "lib/util.h"

static const char *const kind_names[GC_W_NKINDS] = {"branch", "capabilities", "attr"};

static void rule_add(struct gc_weights *wt, int kind, const char *pat, size_t len, double weight)
{
	struct gc_weight_rule *r;

	GROW(wt->rules[kind], wt->alloc[kind], wt->n[kind] + 1);
	r = &wt->rules[kind][wt->n[kind]++];
	r->pattern = xstrndup(pat, len);
	r->weight = weight;
}

static void rules_clear(struct gc_weights *wt, int kind)
{
	for (size_t i = 0; i < wt->n[kind]; i++)
		free(wt->rules[kind][i].pattern);
	wt->n[kind] = 0;
}

void gc_weights_init(struct gc_weights *wt)
{
	memset(wt, 0, sizeof(*wt));
	/* Users substitute from channels; the release is what most of them
	 * run; master is CI's early warning more than anyone's daily pull. */
	rule_add(wt, GC_W_BRANCH, "nixos-unstable", 14, 4);
	rule_add(wt, GC_W_BRANCH, "nixpkgs-unstable", 16, 4);
	rule_add(wt, GC_W_BRANCH, "nixos-*", 7, 3);
	rule_add(wt, GC_W_BRANCH, "master", 6, 2);
}

void gc_weights_release(struct gc_weights *wt)
{
	for (int k = 0; k < GC_W_NKINDS; k++) {
		rules_clear(wt, k);
		free(wt->rules[k]);
	}
	memset(wt, 0, sizeof(*wt));
}

void gc_weights_copy(struct gc_weights *dst, const struct gc_weights *src)
{
	memset(dst, 0, sizeof(*dst));
	for (int k = 0; k < GC_W_NKINDS; k++)
		for (size_t i = 0; i < src->n[k]; i++)
			rule_add(dst, k, src->rules[k][i].pattern, strlen(src->rules[k][i].pattern),
				 src->rules[k][i].weight);
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

int gc_weights_parse(struct gc_weights *wt, const char *buf, size_t len, const char *name)
{
	struct gc_weights nw;
	int reset[GC_W_NKINDS] = {0};
	const char *p = buf, *end = buf + len;
	unsigned lineno = 0;
	int ret = -1;

	memset(&nw, 0, sizeof(nw));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *hash;
		const char *tok[4];
		size_t tlen[4], ntok = 0;
		int kind = -1;

		lineno++;
		if ((hash = memchr(p, '#', (size_t)(le - p))))
			le = hash;
		for (const char *q = p; q < le;) {
			if (is_blank(*q)) {
				q++;
				continue;
			}
			if (ntok == 4) {
				error("%s:%u: too many fields (want KIND PATTERN WEIGHT)", name, lineno);
				goto out;
			}
			tok[ntok] = q;
			while (q < le && !is_blank(*q))
				q++;
			tlen[ntok] = (size_t)(q - tok[ntok]);
			ntok++;
		}
		p = nl ? nl + 1 : end;
		if (!ntok)
			continue;
		for (int k = 0; k < GC_W_NKINDS; k++)
			if (tlen[0] == strlen(kind_names[k]) && !memcmp(tok[0], kind_names[k], tlen[0]))
				kind = k;
		if (tlen[0] == 5 && !memcmp(tok[0], "reset", 5)) {
			int all = ntok == 2 && tlen[1] == 3 && !memcmp(tok[1], "all", 3);
			int done = 0;
			for (int k = 0; k < GC_W_NKINDS && ntok == 2; k++) {
				if (all || (tlen[1] == strlen(kind_names[k]) &&
					    !memcmp(tok[1], kind_names[k], tlen[1]))) {
					rules_clear(&nw, k);
					reset[k] = done = 1;
				}
			}
			if (!done) {
				error("%s:%u: want 'reset branch|capabilities|attr|all'", name, lineno);
				goto out;
			}
			continue;
		}
		if (kind < 0) {
			error("%s:%u: unknown kind '%.*s' (want branch, capabilities, attr or reset)",
			      name, lineno, (int)(tlen[0] > 40 ? 40 : tlen[0]), tok[0]);
			goto out;
		}
		if (ntok != 3) {
			error("%s:%u: want KIND PATTERN WEIGHT", name, lineno);
			goto out;
		}
		{
			char num[64], *ep;
			double weight;
			char *pat = NULL;
			size_t plen = tlen[1];

			if (tlen[2] >= sizeof(num)) {
				error("%s:%u: weight is not a number", name, lineno);
				goto out;
			}
			memcpy(num, tok[2], tlen[2]);
			num[tlen[2]] = '\0';
			weight = strtod(num, &ep);
			if (ep == num || *ep || !isfinite(weight) || weight < 0) {
				error("%s:%u: weight '%s' is not a number >= 0", name, lineno, num);
				goto out;
			}
			if (plen > 256) {
				error("%s:%u: pattern longer than 256 characters", name, lineno);
				goto out;
			}
			for (size_t i = 0; i < plen; i++) {
				unsigned char c = (unsigned char)tok[1][i];
				if (c < 0x21 || c > 0x7e || (c == '*' && i + 1 != plen)) {
					error("%s:%u: bad pattern (printable characters, '*' only at the end)",
					      name, lineno);
					goto out;
				}
			}
			if (kind == GC_W_CAPS && tok[1][plen - 1] != '*') {
				struct parse_error err;
				if (caps_normalize(tok[1], plen, &pat, &err)) {
					error("%s:%u: %s", name, lineno, err.msg);
					goto out;
				}
				rule_add(&nw, kind, pat, strlen(pat), weight);
				free(pat);
			} else {
				rule_add(&nw, kind, tok[1], plen, weight);
			}
		}
	}
	/* The file's rules first, so they win over what was there. */
	for (int k = 0; k < GC_W_NKINDS; k++) {
		if (reset[k])
			rules_clear(wt, k);
		for (size_t i = 0; i < wt->n[k]; i++) {
			GROW(nw.rules[k], nw.alloc[k], nw.n[k] + 1);
			nw.rules[k][nw.n[k]++] = wt->rules[k][i];
		}
		wt->n[k] = 0;
		free(wt->rules[k]);
		wt->rules[k] = nw.rules[k];
		wt->n[k] = nw.n[k];
		wt->alloc[k] = nw.alloc[k];
		nw.rules[k] = NULL;
		nw.n[k] = nw.alloc[k] = 0;
	}
	ret = 0;
out:
	gc_weights_release(&nw);
	return ret;
}

int gc_weights_load(struct gc_weights *wt, const char *path)
{
	char *buf = NULL;
	size_t len;
	int ret;

	if (read_file_capped(path, 16u << 20, &buf, &len))
		return error("cannot read weights file '%s': %s", path, strerror(errno));
	ret = gc_weights_parse(wt, buf, len, path);
	free(buf);
	return ret;
}

static int pattern_match(const char *pat, const char *s)
{
	size_t n = strlen(pat);

	if (n && pat[n - 1] == '*')
		return !strncmp(pat, s, n - 1);
	return !strcmp(pat, s);
}

double gc_weight(const struct gc_weights *wt, enum gc_weight_kind kind, const char *s)
{
	for (size_t i = 0; i < wt->n[kind]; i++)
		if (pattern_match(wt->rules[kind][i].pattern, s))
			return wt->rules[kind][i].weight;
	return 1.0;
}
