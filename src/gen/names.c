/*
 * names.c - the names of the sample world's things, each a pure function
 * of what it names: store path basenames ("<hash>-<pname>-<version>[-out]"
 * and ".drv"), versions after bumps, sha256 hashes in Nix's base-32 and
 * NAR file names.
 */
#include "gen_private.h"

#include <stdlib.h>
#include <string.h>

const char *const gen_out_names[] = {"out", "lib", "dev"};
_Static_assert(ARRAY_SIZE(gen_out_names) == NOUTS, "a name for every output");

static const char *const comp_ext[] = {"xz", "zst", "bz2", "bz2"};

void gen_fill_bytes(uint64_t key, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = h2(key, i);
		for (size_t j = 0; j < 8 && i + j < n; j++)
			out[i + j] = (unsigned char)(v >> (8 * j));
	}
}

/* The last number of the base version moves with the bumps. */
void gen_version_of(const struct world *w, uint32_t p, int li, uint32_t vcount,
		    struct strbuf *sb)
{
	const char *v = str(w, w->pkgs[p].version);
	size_t len = strlen(v), e = len, s;
	unsigned long long num;

	while (e > 0 && (v[e - 1] < '0' || v[e - 1] > '9'))
		e--;
	s = e;
	while (s > 0 && v[s - 1] >= '0' && v[s - 1] <= '9')
		s--;
	if (s == e) {
		strbuf_addstr(sb, v);
		return;
	}
	num = strtoull(v + s, NULL, 10) + vcount + (li == 0 ? 2 : 0);
	strbuf_add(sb, v, s);
	strbuf_addf(sb, "%llu", num);
	strbuf_addstr(sb, v + e);
}

void gen_store_hash(uint64_t key, char out[STORE_HASH_LEN])
{
	unsigned char b[20];

	gen_fill_bytes(key, b, sizeof(b));
	nix32_encode(b, sizeof(b), out);
}

void gen_name_of(const struct world *w, uint32_t p, int li, uint32_t vcount, struct strbuf *sb)
{
	strbuf_addstr(sb, str(w, w->pkgs[p].pname));
	strbuf_addch(sb, '-');
	gen_version_of(w, p, li, vcount, sb);
}

void gen_basename_of(const struct world *w, uint64_t ident, uint32_t p, int li,
		     uint32_t vcount, int o, struct strbuf *sb)
{
	char hash[STORE_HASH_LEN];

	gen_store_hash(o < 0 ? h2(ident, T_DRVPATH) : h3(ident, T_OUTPATH, (uint64_t)o), hash);
	strbuf_add(sb, hash, STORE_HASH_LEN);
	strbuf_addch(sb, '-');
	gen_name_of(w, p, li, vcount, sb);
	if (o > 0)
		strbuf_addf(sb, "-%s", gen_out_names[o]);
	else if (o < 0)
		strbuf_addstr(sb, ".drv");
}

void gen_drv_basename(const struct world *w, const struct drv *x, int o, struct strbuf *sb)
{
	gen_basename_of(w, x->ident, x->pkg, x->line, x->vcount, o, sb);
}

void gen_path_basename(const struct world *w, uint32_t path, struct strbuf *sb)
{
	const struct path *pa = &w->paths[path];

	gen_drv_basename(w, &w->drvs[pa->drv], pa->out, sb);
}

void gen_sha256_of(uint64_t key, char out[60])
{
	unsigned char b[32];

	gen_fill_bytes(key, b, sizeof(b));
	memcpy(out, "sha256:", 7);
	nix32_encode(b, sizeof(b), out + 7);
	out[59] = '\0';
}

void gen_file_hash(const struct world *w, uint32_t path, char out[60])
{
	const struct path *pa = &w->paths[path];

	gen_sha256_of(h3(w->drvs[pa->drv].content, pa->out, T_FILEHASH), out);
}

void gen_nar_name(const struct world *w, uint32_t path, char out[64])
{
	char fh[60];

	gen_file_hash(w, path, fh);
	snprintf(out, 64, "%s.nar.%s", fh + 7, comp_ext[w->paths[path].comp]);
}
