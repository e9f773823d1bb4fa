/*
 * jsonl.c - what the sample world's CI reports, as the real tools write
 * it: evals/<branch>-<rev>-<caps>.jsonl (nix-eval-jobs lines: attr,
 * attrPath, drvPath, name, outputs, system, or an error), the line of
 * evals/manifest.tsv for each, and builds.jsonl (drvPath, status, time of
 * every build finished by the as-of moment).
 */
#include "gen_private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = {
	"succeeded", "failed", "dependency-failed", "timed-out",
};

#define NEVAL_ERRORS 3

/* The message of an evaluation error, JSON-escaped, appended to sb:
 * name is the package's name-version, src the nixpkgs source hash, dir
 * its directory under pkgs/. */
static void eval_error_text(struct strbuf *sb, unsigned kind, const char *name,
			    const char *src, const char *dir, unsigned line, const char *attr)
{
	switch (kind) {
	case 0:
		strbuf_addf(sb, "error: Package \\u2018%s\\u2019 in /nix/store/%s-source/pkgs/%s/"
			    "default.nix:%u is marked as broken, refusing to evaluate.",
			    name, src, dir, line);
		break;
	case 1:
		strbuf_addf(sb, "error: attribute 'cudaFlags' missing\\n       at /nix/store/"
			    "%s-source/pkgs/%s/default.nix:%u:5 (while evaluating '%s')",
			    src, dir, line, attr);
		break;
	default:
		strbuf_addf(sb, "error: assertion '(cudaSupport -> cudaPackages.cudaAtLeast "
			    "\\\"11.8\\\")' failed\\n       at /nix/store/%s-source/pkgs/%s/"
			    "default.nix:%u:1", src, dir, line);
		break;
	}
}

/* What a commit's revision and its nixpkgs source hash are made from. */
static uint64_t rev_key(const struct world *w, int li, uint32_t commit)
{
	return h4(w->seed, T_REV, (uint64_t)li, commit);
}

/* The 40 hex digits of a commit. */
static void rev_of(const struct world *w, int li, uint32_t commit, char out[41])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[20];

	gen_fill_bytes(rev_key(w, li, commit), b, sizeof(b));
	for (int i = 0; i < 20; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[40] = '\0';
}

/* ---- evaluation files ------------------------------------------------ */

static void json_attr_path(struct strbuf *sb, const char *attr)
{
	const char *s = attr;

	strbuf_addstr(sb, "\"attrPath\":[");
	for (;;) {
		const char *dot = strchr(s, '.');
		size_t len = dot ? (size_t)(dot - s) : strlen(s);
		strbuf_addch(sb, '"');
		strbuf_add(sb, s, len);
		strbuf_addch(sb, '"');
		if (!dot)
			break;
		strbuf_addch(sb, ',');
		s = dot + 1;
	}
	strbuf_addch(sb, ']');
}

/* Write evals/<branch>-<rev>-<caps>.jsonl for evaluation ev (hashes in
 * w->hash) and its manifest line.  0 or -1 (reported). */
int gen_write_eval(struct world *w, struct outputs *o, const struct eval *ev)
{
	struct strbuf name = STRBUF_INIT, sb = STRBUF_INIT, tmp = STRBUF_INIT;
	char rev[41], when[32];
	FILE *f = NULL;
	int rc = -1;

	rev_of(w, ev->line, ev->commit, rev);
	strbuf_addf(&name, "%s-%s-%s.jsonl", gen_branches[ev->branch].name, rev,
		    gen_caps_sets[ev->caps]);
	strbuf_addf(&tmp, "%s/evals/%s", o->dir, name.buf);
	f = fopen(tmp.buf, "w");
	if (!f) {
		error("cannot create '%s': %s", tmp.buf, strerror(errno));
		goto out;
	}
	for (uint32_t p = 0; p < w->npkgs; p++) {
		const struct pkg *pk = &w->pkgs[p];
		const char *attr = str(w, pk->attr);
		uint32_t vcount;

		if (!(pk->flags & (ev->full ? PF_JOB : PF_MNB)))
			continue;
		vcount = gen_bumps_until(w, p, ev->line, ev->commit);
		strbuf_reset(&sb);
		strbuf_addf(&sb, "{\"attr\":\"%s\",", attr);
		json_attr_path(&sb, attr);
		o->jobs++;
		if (gen_eval_error(w, p, ev->line, vcount)) {
			uint64_t h = h4(w->seed, T_ERR, p, vcount);
			unsigned k = (unsigned)(h % NEVAL_ERRORS);
			char src[STORE_HASH_LEN + 1];

			gen_store_hash(rev_key(w, ev->line, ev->commit) ^ 0x50, src);
			src[STORE_HASH_LEN] = '\0';
			strbuf_reset(&tmp);
			gen_name_of(w, p, ev->line, vcount, &tmp);
			{
				const char *dot = strrchr(attr, '.');
				struct strbuf dir = STRBUF_INIT;
				strbuf_addf(&dir, "%s/%s", pk->flags & PF_PYTHON
					    ? "development/python-modules" : "applications/misc",
					    dot ? dot + 1 : attr);
				strbuf_addstr(&sb, ",\"error\":\"");
				eval_error_text(&sb, k, tmp.buf, src, dir.buf,
						(unsigned)(h >> 40) % 200 + 1, attr);
				strbuf_release(&dir);
			}
			strbuf_addstr(&sb, "\"}\n");
			o->eval_errors++;
		} else {
			uint32_t d = w->drvidx[p];
			const struct drv *x = &w->drvs[d];
			int first = 1;

			strbuf_addstr(&sb, ",\"drvPath\":\"" STORE_DIR "/");
			gen_basename_of(w, x->ident, p, ev->line, vcount, -1, &sb);
			strbuf_addstr(&sb, "\",\"name\":\"");
			gen_name_of(w, p, ev->line, vcount, &sb);
			strbuf_addstr(&sb, "\",\"outputs\":{");
			/* nix-eval-jobs prints keys sorted: dev, lib, out */
			for (int k = NOUTS - 1; k >= 0; k--) {
				unsigned oo = k == 2 ? O_DEV : k == 1 ? O_LIB : O_OUT;
				if (!(pk->outs & (1u << oo)))
					continue;
				strbuf_addf(&sb, "%s\"%s\":\"" STORE_DIR "/", first ? "" : ",",
					    gen_out_names[oo]);
				gen_basename_of(w, x->ident, p, ev->line, vcount, (int)oo, &sb);
				strbuf_addch(&sb, '"');
				first = 0;
			}
			strbuf_addstr(&sb, "},\"system\":\"" SYSTEM "\"}\n");
		}
		fwrite(sb.buf, 1, sb.len, f);
	}
	if (fclose(f)) {
		f = NULL;
		error("cannot write '%s/evals/%s': %s", o->dir, name.buf, strerror(errno));
		goto out;
	}
	f = NULL;
	fprintf(o->manifest, "%s\t%s\t%s\t%s\t%s\t%s\n", name.buf, gen_branches[ev->branch].name,
		rev, gen_caps_sets[ev->caps], SYSTEM, format_time(ev->time, when, sizeof(when)));
	GROW(o->eval_files, o->eval_files_alloc, o->neval_files + 1);
	o->eval_files[o->neval_files++] = strbuf_detach(&name);
	o->evaluations++;
	rc = 0;
out:
	if (f)
		fclose(f);
	strbuf_release(&name);
	strbuf_release(&sb);
	strbuf_release(&tmp);
	return rc;
}

/* ---- builds.jsonl ---------------------------------------------------- */

static int cmp_build(const void *a, const void *b)
{
	const struct build *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->drv < y->drv ? -1 : x->drv > y->drv;
}

int gen_write_builds(struct world *w, const char *dir, uint64_t *count)
{
	struct strbuf path = STRBUF_INIT, sb = STRBUF_INIT;
	FILE *f;
	int rc = 0;

	qsort(w->builds, w->nbuilds, sizeof(*w->builds), cmp_build);
	strbuf_addf(&path, "%s/builds.jsonl", dir);
	f = fopen(path.buf, "w");
	if (!f) {
		rc = error("cannot create '%s': %s", path.buf, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < w->nbuilds && w->builds[i].time <= w->as_of; i++) {
		const struct drv *x = &w->drvs[w->builds[i].drv];
		strbuf_reset(&sb);
		strbuf_addstr(&sb, "{\"drvPath\":\"" STORE_DIR "/");
		gen_drv_basename(w, x, -1, &sb);
		strbuf_addf(&sb, "\",\"status\":\"%s\",\"time\":%lld}\n", status_names[x->status],
			    (long long)x->built);
		fwrite(sb.buf, 1, sb.len, f);
		(*count)++;
	}
	if (fclose(f))
		rc = error("cannot write '%s': %s", path.buf, strerror(errno));
out:
	strbuf_release(&path);
	strbuf_release(&sb);
	return rc;
}
