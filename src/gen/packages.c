/*
 * packages.c - the package set of the sample world: fixed hubs (glibc,
 * gcc, python3, ...), CUDA hubs (cuda_cudart, libcublas, cudnn, nccl, ...),
 * well-known jobs (torch, blender, ...) and generated packages, each
 * depending on earlier ones, so index order is a topological order.  Also
 * each package's depth and reach, which later weigh build times, bumps and
 * failures.
 */
#include "gen_private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Standard normal from a key (Box-Muller on two derived uniforms). */
static double normal(uint64_t h)
{
	double u1 = unit(mix64(h)), u2 = unit(mix64(h ^ 0x5bd1e995ULL));

	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/*
 * Fixed packages.  deps: attrs defined earlier in the tables, space
 * separated; "!" marks a build-time input (hashed, not a reference).
 */
struct fixed_pkg {
	const char *attr, *pname, *version;
	double mb;             /* median NarSize of all outputs, MiB */
	unsigned outs, flags;
	const char *deps;
	unsigned extra;        /* random generated inputs on top */
};

static const struct fixed_pkg hubs[] = {
	{"glibc", "glibc", "2.39-52", 32, OB_OUT | OB_DEV, 0, "", 0},
	{"gcc", "gcc", "13.2.0", 180, OB_OUT | OB_LIB, 0, "glibc", 0},
	{"zlib", "zlib", "1.3.1", 0.3, OB_OUT | OB_DEV, 0, "glibc", 0},
	{"xz", "xz", "5.4.6", 1.2, OB_OUT | OB_DEV, 0, "glibc", 0},
	{"bzip2", "bzip2", "1.0.8", 0.2, OB_OUT | OB_DEV, 0, "glibc", 0},
	{"openssl", "openssl", "3.0.13", 6, OB_OUT | OB_DEV, 0, "glibc", 0},
	{"libffi", "libffi", "3.4.6", 0.1, OB_OUT | OB_DEV, 0, "glibc", 0},
	{"ncurses", "ncurses", "6.4", 3, OB_OUT | OB_DEV, 0, "glibc", 0},
	{"bash", "bash", "5.2p26", 1.6, OB_OUT, 0, "glibc", 0},
	{"coreutils", "coreutils", "9.5", 17, OB_OUT, 0, "glibc openssl", 0},
	{"sqlite", "sqlite", "3.45.3", 2.5, OB_OUT | OB_DEV, 0, "glibc zlib", 0},
	{"expat", "expat", "2.6.2", 0.5, OB_OUT | OB_DEV, 0, "glibc", 0},
	{"libxml2", "libxml2", "2.12.6", 3, OB_OUT | OB_DEV, 0, "glibc zlib xz", 0},
	{"icu", "icu4c", "74.2", 35, OB_OUT | OB_DEV, 0, "glibc gcc", 0},
	{"curl", "curl", "8.7.1", 2, OB_OUT | OB_DEV, 0, "glibc zlib openssl", 0},
	{"cmake", "cmake", "3.29.2", 50, OB_OUT, 0, "glibc gcc curl zlib", 0},
	{"python3", "python3", "3.11.9", 110, OB_OUT, 0,
	 "glibc zlib bzip2 xz openssl libffi ncurses sqlite expat !bash", 0},
	{"boost", "boost", "1.81.0", 60, OB_OUT | OB_DEV, 0, "glibc gcc zlib bzip2 icu", 0},
	{"libpng", "libpng-apng", "1.6.43", 0.6, OB_OUT | OB_DEV, 0, "glibc zlib", 0},
	{"libjpeg", "libjpeg-turbo", "3.0.2", 2, OB_OUT | OB_DEV, 0, "glibc", 0},
	{"protobuf", "protobuf", "24.4", 12, OB_OUT, 0, "glibc gcc zlib !cmake", 0},
	{"abseil-cpp", "abseil-cpp", "20240116.2", 5, OB_OUT, 0, "glibc gcc !cmake", 0},
	{"openblas", "openblas", "0.3.27", 30, OB_OUT | OB_DEV, 0, "glibc gcc", 0},
};

static const struct fixed_pkg cuda_hubs[] = {
	{"cudaPackages.cuda_cudart", "cuda_cudart", "12.2.140", 1200,
	 OB_OUT | OB_LIB | OB_DEV, 0, "glibc gcc", 0},
	{"cudaPackages.cuda_nvcc", "cuda_nvcc", "12.2.140", 450, OB_OUT | OB_DEV, 0,
	 "glibc gcc", 0},
	{"cudaPackages.libcublas", "libcublas", "12.2.5.6", 2600, OB_OUT | OB_LIB | OB_DEV, 0,
	 "glibc gcc cudaPackages.cuda_cudart", 0},
	{"cudaPackages.cudnn", "cudnn", "8.9.7.29", 3100, OB_OUT | OB_LIB | OB_DEV, 0,
	 "glibc gcc zlib cudaPackages.cuda_cudart cudaPackages.libcublas", 0},
	{"cudaPackages.nccl", "nccl", "2.21.5-1", 1900, OB_OUT | OB_DEV, PF_CAPS,
	 "glibc gcc cudaPackages.cuda_cudart !cudaPackages.cuda_nvcc", 0},
	{"cudaPackages.libcufft", "libcufft", "11.0.8.103", 700, OB_OUT | OB_LIB | OB_DEV, 0,
	 "glibc gcc", 0},
	{"cudaPackages.libcurand", "libcurand", "10.3.3.141", 260, OB_OUT | OB_LIB | OB_DEV, 0,
	 "glibc gcc", 0},
	{"cudaPackages.libcusparse", "libcusparse", "12.1.2.141", 900,
	 OB_OUT | OB_LIB | OB_DEV, 0, "glibc gcc cudaPackages.libcublas", 0},
	{"cudaPackages.libcusolver", "libcusolver", "11.5.2.141", 1100,
	 OB_OUT | OB_LIB | OB_DEV, 0,
	 "glibc gcc cudaPackages.libcublas cudaPackages.libcusparse", 0},
	{"cudaPackages.cutensor", "cutensor", "2.0.1.2", 1400, OB_OUT | OB_LIB | OB_DEV, 0,
	 "glibc gcc cudaPackages.libcublas", 0},
	{"cudaPackages.cuda_cupti", "cuda_cupti", "12.2.142", 150, OB_OUT | OB_LIB | OB_DEV, 0,
	 "glibc gcc", 0},
	{"cudaPackages.tensorrt", "tensorrt", "8.6.1.6", 2400, OB_OUT | OB_LIB | OB_DEV, 0,
	 "glibc gcc cudaPackages.cuda_cudart cudaPackages.libcublas cudaPackages.cudnn", 0},
	{"magma", "magma", "2.7.2", 2100, OB_OUT | OB_DEV, PF_CAPS,
	 "glibc gcc openblas cudaPackages.cuda_cudart cudaPackages.libcublas "
	 "cudaPackages.libcusparse !cudaPackages.cuda_nvcc !cmake", 0},
};

#define PY "python3Packages."
static const struct fixed_pkg famous_base[] = {
	{PY "numpy", "python3.11-numpy", "1.26.4", 40, OB_OUT, PF_JOB,
	 "python3 openblas glibc gcc", 0},
	{PY "scipy", "python3.11-scipy", "1.13.0", 120, OB_OUT, PF_JOB,
	 "python3 " PY "numpy openblas gcc", 0},
	{PY "pillow", "python3.11-pillow", "10.3.0", 8, OB_OUT, 0, "python3 libjpeg libpng zlib", 0},
	{PY "pyyaml", "python3.11-pyyaml", "6.0.1", 1, OB_OUT, 0, "python3", 0},
	{PY "requests", "python3.11-requests", "2.31.0", 0.6, OB_OUT, 0, "python3", 0},
	{PY "typing-extensions", "python3.11-typing-extensions", "4.11.0", 0.3, OB_OUT, 0,
	 "python3", 0},
	{PY "filelock", "python3.11-filelock", "3.14.0", 0.1, OB_OUT, 0, "python3", 0},
	{PY "sympy", "python3.11-sympy", "1.12", 80, OB_OUT, 0, "python3", 0},
	{PY "networkx", "python3.11-networkx", "3.3", 20, OB_OUT, 0, "python3", 0},
	{PY "jinja2", "python3.11-jinja2", "3.1.4", 2, OB_OUT, 0, "python3", 0},
	{PY "protobuf", "python3.11-protobuf", "4.25.3", 5, OB_OUT, 0, "python3 protobuf", 0},
	{PY "tqdm", "python3.11-tqdm", "4.66.4", 0.5, OB_OUT, 0, "python3", 0},
	{PY "pybind11", "python3.11-pybind11", "2.12.0", 3, OB_OUT, 0, "python3 !cmake", 0},
};

#define J (PF_JOB)
#define JM (PF_JOB | PF_MNB)
#define CU "cudaPackages."
static const struct fixed_pkg famous_cuda[] = {
	{PY "torch", "python3.11-torch", "2.3.0", 2800, OB_OUT | OB_LIB | OB_DEV, JM | PF_CAPS,
	 "python3 " PY "numpy " PY "typing-extensions " PY "filelock " PY "sympy "
	 PY "networkx " PY "jinja2 " PY "pybind11 " CU "cuda_cudart " CU "libcublas " CU "cudnn "
	 CU "nccl magma " CU "libcufft " CU "libcurand " CU "libcusparse " CU "libcusolver "
	 CU "cuda_cupti !" CU "cuda_nvcc !cmake", 3},
	{PY "torchvision", "python3.11-torchvision", "0.18.0", 90, OB_OUT, JM | PF_CAPS,
	 "python3 " PY "torch " PY "pillow " PY "numpy " CU "cuda_cudart !" CU "cuda_nvcc", 1},
	{PY "torchaudio", "python3.11-torchaudio", "2.3.0", 40, OB_OUT, J | PF_CAPS,
	 "python3 " PY "torch " CU "cuda_cudart !" CU "cuda_nvcc", 1},
	{PY "triton", "python3.11-triton", "2.1.0", 450, OB_OUT, J,
	 "python3 " CU "cuda_cudart !" CU "cuda_nvcc", 0},
	{PY "jaxlib", "python3.11-jaxlib", "0.4.28", 900, OB_OUT, JM | PF_CAPS,
	 "python3 " PY "numpy " PY "scipy " CU "cuda_cudart " CU "libcublas " CU "cudnn "
	 CU "nccl " CU "libcufft " CU "libcusolver " CU "libcusparse !" CU "cuda_nvcc", 2},
	{PY "jax", "python3.11-jax", "0.4.28", 15, OB_OUT, JM,
	 "python3 " PY "jaxlib " PY "numpy " PY "scipy", 0},
	{PY "tensorflow", "python3.11-tensorflow", "2.13.0", 2200, OB_OUT, JM | PF_CAPS,
	 "python3 " PY "numpy " PY "protobuf " CU "cuda_cudart " CU "libcublas " CU "cudnn "
	 CU "nccl " CU "tensorrt " CU "libcufft " CU "libcurand " CU "libcusolver "
	 CU "libcusparse !" CU "cuda_nvcc", 3},
	{PY "cupy", "python3.11-cupy", "13.1.0", 350, OB_OUT, J | PF_CAPS,
	 "python3 " PY "numpy " CU "cuda_cudart " CU "libcublas " CU "libcufft " CU "libcurand "
	 CU "libcusparse " CU "libcusolver " CU "cutensor " CU "nccl !" CU "cuda_nvcc", 0},
	{PY "numba", "python3.11-numba", "0.59.1", 60, OB_OUT, J,
	 "python3 " PY "numpy " CU "cuda_cudart", 0},
	{PY "transformers", "python3.11-transformers", "4.40.2", 45, OB_OUT, JM,
	 "python3 " PY "torch " PY "numpy " PY "requests " PY "pyyaml " PY "tqdm " PY "filelock", 0},
	{PY "accelerate", "python3.11-accelerate", "0.30.1", 5, OB_OUT, J,
	 "python3 " PY "torch " PY "numpy " PY "pyyaml", 0},
	{PY "xformers", "python3.11-xformers", "0.0.26", 300, OB_OUT, J | PF_CAPS,
	 "python3 " PY "torch " CU "cuda_cudart !" CU "cuda_nvcc", 0},
	{PY "bitsandbytes", "python3.11-bitsandbytes", "0.43.1", 120, OB_OUT, J | PF_CAPS,
	 "python3 " PY "torch " CU "cuda_cudart " CU "libcublas " CU "libcusparse !" CU "cuda_nvcc",
	 0},
	{"opencv4", "opencv", "4.9.0", 900, OB_OUT | OB_DEV, JM | PF_CAPS,
	 "glibc gcc zlib libpng libjpeg " CU "cuda_cudart " CU "libcublas " CU "cudnn "
	 CU "libcufft !" CU "cuda_nvcc !cmake", 2},
	{"blender", "blender", "4.1.1", 1100, OB_OUT, JM | PF_CAPS,
	 "glibc gcc python3 " PY "numpy boost libpng libjpeg zlib openssl " CU "cuda_cudart !"
	 CU "cuda_nvcc !cmake", 6},
	{"ffmpeg-full", "ffmpeg-full", "6.1.1", 180, OB_OUT | OB_LIB | OB_DEV, J,
	 "glibc gcc zlib libpng libjpeg " CU "cuda_cudart !" CU "cuda_nvcc", 2},
	{"onnxruntime", "onnxruntime", "1.18.0", 800, OB_OUT | OB_DEV, J | PF_CAPS,
	 "glibc gcc protobuf abseil-cpp " CU "cuda_cudart " CU "libcublas " CU "cudnn "
	 CU "libcufft " CU "libcurand " CU "tensorrt !" CU "cuda_nvcc !cmake", 1},
	{"ollama", "ollama", "0.1.38", 1500, OB_OUT, J | PF_CAPS,
	 "glibc gcc " CU "cuda_cudart " CU "libcublas !" CU "cuda_nvcc", 0},
	{"llama-cpp", "llama-cpp", "2953", 90, OB_OUT, J | PF_CAPS,
	 "glibc gcc " CU "cuda_cudart " CU "libcublas !" CU "cuda_nvcc !cmake", 0},
	{"colmap", "colmap", "3.9.1", 120, OB_OUT, J | PF_CAPS,
	 "glibc gcc boost libpng libjpeg " CU "cuda_cudart !" CU "cuda_nvcc !cmake", 3},
	{"gromacs", "gromacs", "2024.1", 200, OB_OUT, J | PF_CAPS,
	 "glibc gcc " CU "libcufft " CU "cuda_cudart !" CU "cuda_nvcc !cmake", 1},
	{"ucx", "ucx", "1.16.0", 15, OB_OUT | OB_DEV, J, "glibc gcc " CU "cuda_cudart", 0},
	{"openmpi", "openmpi", "5.0.3", 30, OB_OUT | OB_DEV, J, "glibc gcc zlib ucx "
	 CU "cuda_cudart", 0},
	{"faiss", "faiss", "1.8.0", 600, OB_OUT, J | PF_CAPS,
	 "glibc gcc openblas " CU "cuda_cudart " CU "libcublas !" CU "cuda_nvcc !cmake", 1},
	{"suitesparse", "suitesparse", "7.7.0", 150, OB_OUT | OB_DEV, J | PF_CAPS,
	 "glibc gcc openblas " CU "cuda_cudart " CU "libcublas !" CU "cuda_nvcc", 0},
	/* header-only: built per capability set, the same bytes for each, so
	 * its narinfos share NAR files (as identical contents do in caches) */
	{CU "cuda_cccl", "cuda_cccl", "12.2.140", 9, OB_OUT, JM | PF_CAPS | PF_CSTABLE, "", 0},
	{CU "saxpy", "saxpy", "unstable-2023-07-11", 0.1, OB_OUT, JM | PF_CAPS,
	 CU "cuda_cudart " CU "libcublas !" CU "cuda_nvcc !cmake", 0},
};
#undef J
#undef JM

/* Hubs a generated package may take as inputs, and how often. */
static const struct {
	const char *attr;
	double p;             /* probability */
	int runtime;          /* referenced, not only used to build */
	int cuda_only;
} hub_use[] = {
	{"glibc", 1.0, 1, 0}, {"gcc", 0.8, 1, 0}, {"zlib", 0.35, 1, 0},
	{"openssl", 0.15, 1, 0}, {"xz", 0.1, 1, 0}, {"bzip2", 0.05, 1, 0},
	{"libffi", 0.05, 1, 0}, {"ncurses", 0.05, 1, 0}, {"sqlite", 0.05, 1, 0},
	{"curl", 0.08, 1, 0}, {"libxml2", 0.05, 1, 0}, {"icu", 0.03, 1, 0},
	{"boost", 0.05, 1, 0}, {"libpng", 0.05, 1, 0}, {"libjpeg", 0.04, 1, 0},
	{"protobuf", 0.05, 1, 0}, {"abseil-cpp", 0.03, 1, 0}, {"cmake", 0.3, 0, 0},
	{"bash", 0.2, 1, 0}, {"coreutils", 0.1, 1, 0}, {"openblas", 0.05, 1, 0},
	{CU "cuda_cudart", 1.0, 1, 1}, {CU "cuda_nvcc", 0.8, 0, 1},
	{CU "libcublas", 0.5, 1, 1}, {CU "cudnn", 0.25, 1, 1}, {CU "nccl", 0.15, 1, 1},
	{CU "libcufft", 0.2, 1, 1}, {CU "libcurand", 0.2, 1, 1},
	{CU "libcusparse", 0.15, 1, 1}, {CU "libcusolver", 0.15, 1, 1},
	{CU "cutensor", 0.08, 1, 1}, {CU "cuda_cupti", 0.05, 1, 1}, {"magma", 0.04, 1, 1},
};
#undef PY
#undef CU

static const char *const syllables[] = {
	"ba", "co", "da", "fe", "gi", "ho", "ju", "ka", "ni", "mo", "nu", "pa",
	"qui", "ra", "se", "ti", "vo", "wu", "xe", "yo", "za", "bel", "cor", "dex",
	"fin", "gar", "hex", "jin", "kel", "lum", "mar", "nix", "orb", "pix", "quo",
	"rex", "syn", "tor", "vex", "wyn", "zor", "ar", "el", "io", "on", "us", "yn",
	"ix",
};

static uint32_t intern(struct world *w, const char *s)
{
	uint32_t off = (uint32_t)w->pool.len;

	strbuf_add(&w->pool, s, strlen(s) + 1);
	return off;
}

uint32_t gen_find_attr(const struct world *w, const char *attr, size_t len)
{
	for (uint32_t i = 0; i < w->npkgs; i++) {
		const char *a = str(w, w->pkgs[i].attr);
		if (strlen(a) == len && !memcmp(a, attr, len))
			return i;
	}
	return NONE;
}

const char *gen_next_word(const char **s, size_t *len)
{
	const char *word;

	while (**s == ' ')
		(*s)++;
	if (!**s)
		return NULL;
	word = *s;
	*len = strcspn(word, " ");
	*s = word + *len;
	return word;
}

static void add_dep(struct world *w, struct pkg *p, uint32_t d, int runtime)
{
	for (uint32_t i = 0; i < p->ndeps; i++)
		if (dep_pkg(w, p, i) == d)
			return;
	GROW(w->deps, w->deps_alloc, w->ndeps + 1);
	w->deps[w->ndeps++] = d | (runtime ? DEP_RUNTIME : 0);
	p->ndeps++;
}

static double clampd(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* A fresh package at the end of the table; fields filled by the caller. */
static struct pkg *new_pkg(struct world *w, const char *attr, const char *pname,
			   const char *version)
{
	struct pkg *p = &w->pkgs[w->npkgs++];

	memset(p, 0, sizeof(*p));
	p->attr = intern(w, attr);
	p->pname = intern(w, pname);
	p->version = intern(w, version);
	p->dep_off = (uint32_t)w->ndeps;
	return p;
}

/* Pick an earlier generated package from list (of n), favouring the
 * recent ones (package sets are built near each other); the window grows
 * with the list so the graph's shape does not depend on its size. */
static uint32_t pick(const uint32_t *list, uint32_t n, uint64_t h)
{
	uint32_t window = n / 32 > 64 ? n / 32 : 64;

	if (!n)
		return NONE;
	if (unit(h) < 0.5 && n > window)
		return list[n - 1 - (uint32_t)(mix64(h) % window)];
	return list[mix64(h ^ 0xabcdef) % n];
}

/* The name of generated package k: syllables, unique for every k. */
static void gen_word(uint64_t seed, uint32_t k, char *out, size_t outsz)
{
	const uint64_t ns = ARRAY_SIZE(syllables);
	uint64_t range = ns * ns, base = 0, v;
	int nsyl = 2;
	size_t o = 0;

	while (k - base >= range) {
		base += range;
		range *= ns;
		nsyl++;
	}
	/* A bijection of [0, range): multiply by a prime that shares no
	 * factor with 48^n, then offset by the seed. */
	v = ((k - base) * 1000003ULL + seed % range) % range;
	for (int i = 0; i < nsyl; i++) {
		const char *s = syllables[v % ns];
		size_t l = strlen(s);
		v /= ns;
		if (o + l + 1 < outsz) {
			memcpy(out + o, s, l);
			o += l;
		}
	}
	out[o] = '\0';
}

static void add_fixed(struct world *w, const struct fixed_pkg *f, enum kind kind,
		      const uint32_t *gen_base, uint32_t nbase,
		      const uint32_t *gen_cuda, uint32_t ncuda)
{
	struct pkg *p = new_pkg(w, f->attr, f->pname, f->version);
	uint32_t idx = (uint32_t)(p - w->pkgs);
	uint64_t h = h3(w->seed, T_PKG, idx);
	const char *s = f->deps, *a;
	size_t len;

	p->kind = (uint8_t)kind;
	p->outs = (uint8_t)f->outs;
	p->flags = (uint16_t)f->flags;
	if (!strncmp(f->attr, "python3Packages.", 16))
		p->flags |= PF_PYTHON;
	p->size = f->mb * MB * exp(0.3 * normal(h));
	p->ratio = (float)(kind == K_BASE || kind == K_HUB ? 0.3 : 0.55);
	p->build_min = (float)(kind == K_CUDA ? 60 + f->mb / 20 : 5 + f->mb / 10);
	if (unit(h2(h, 1)) < 0.5 && !(p->flags & PF_CSTABLE))
		p->flags |= PF_SELFREF;
	while ((a = gen_next_word(&s, &len))) {
		int runtime = *a != '!';
		uint32_t d;

		if (!runtime)
			a++, len--;
		d = gen_find_attr(w, a, len);
		if (d == NONE || d == idx)
			BUG("gen: unknown input '%.*s' of '%s'", (int)len, a, f->attr);
		add_dep(w, p, d, runtime);
	}
	for (unsigned i = 0; i < f->extra; i++) {
		uint64_t hh = h3(h, T_DEP, i);
		uint32_t d = unit(hh) < 0.6 ? pick(gen_cuda, ncuda, mix64(hh))
					    : pick(gen_base, nbase, mix64(hh));
		if (d != NONE)
			add_dep(w, p, d, unit(h2(hh, 7)) < 0.75);
	}
}

/*
 * Real nixpkgs names for the ngen generated packages (NULL: syllables), by
 * the same hashes the main loop draws kind and flags from.  CI jobs are
 * named first, then the other packages, each from its list (CUDA or not,
 * python3Packages or not) in order; a CUDA package goes on in the other
 * list of its kind when the CUDA list is used up (nixpkgs builds most
 * packages with CUDA when asked).
 */
static const char **pick_real_names(const struct world *w, uint32_t ngen)
{
	const char **names = xcalloc(ngen + 1, sizeof(*names));
	uint32_t next[2][2] = {{0, 0}, {0, 0}};

	/* Last first: later CUDA packages build on the earlier ones, so the
	 * deepest, largest closures get the CUDA names. */
	for (int jobs = 1; jobs >= 0; jobs--)
		for (uint32_t k = ngen; k-- > 0;) {
			uint64_t h = h3(w->seed, T_PKG, w->gen0 + k);
			int cuda = unit(h2(h, 1)) < 0.35;
			int python = unit(h2(h, 2)) < 0.5;
			int job = unit(h2(h, 11)) < (cuda ? 0.4 : python ? 0.06 : 0.04);
			if (job != jobs)
				continue;
			if (cuda && next[1][python] < gen_real_names(1, python))
				names[k] = gen_real_name(1, python, next[1][python]++);
			else if (next[0][python] < gen_real_names(0, python))
				names[k] = gen_real_name(0, python, next[0][python]++);
		}
	return names;
}

/* The fixed packages: every table above. */
static uint32_t nfixed_pkgs(void)
{
	return (uint32_t)(ARRAY_SIZE(hubs) + ARRAY_SIZE(cuda_hubs) + ARRAY_SIZE(famous_base) +
			  ARRAY_SIZE(famous_cuda));
}

uint32_t gen_min_pkgs(void)
{
	return nfixed_pkgs() + 16;
}

/*
 * Build the package table for about npkgs packages (at least the fixed
 * ones plus a few generated).
 */
void gen_build_packages(struct world *w, uint32_t npkgs)
{
	uint32_t nfixed = nfixed_pkgs();
	uint32_t ngen = npkgs > nfixed + 16 ? npkgs - nfixed : 16;
	uint32_t *gen_base = xmalloc(ngen * sizeof(*gen_base));
	uint32_t *gen_cuda = xmalloc(ngen * sizeof(*gen_cuda));
	uint32_t nbase = 0, ncuda = 0;
	uint32_t hub_idx[ARRAY_SIZE(hub_use)];
	uint32_t python3, *dependents;
	char word[64], attr[96], pname[96], version[32];
	const char **real_names;

	w->npkgs = 0;
	w->pkgs = xcalloc(nfixed + ngen, sizeof(*w->pkgs));
	for (size_t i = 0; i < ARRAY_SIZE(hubs); i++)
		add_fixed(w, &hubs[i], K_HUB, NULL, 0, NULL, 0);
	for (size_t i = 0; i < ARRAY_SIZE(cuda_hubs); i++)
		add_fixed(w, &cuda_hubs[i], K_CUDA_HUB, NULL, 0, NULL, 0);
	w->nhubs = w->npkgs;
	for (size_t i = 0; i < ARRAY_SIZE(famous_base); i++)
		add_fixed(w, &famous_base[i], K_BASE, NULL, 0, NULL, 0);
	for (size_t i = 0; i < ARRAY_SIZE(hub_use); i++) {
		hub_idx[i] = gen_find_attr(w, hub_use[i].attr, strlen(hub_use[i].attr));
		if (hub_idx[i] == NONE)
			BUG("gen: hub '%s' missing", hub_use[i].attr);
	}
	python3 = gen_find_attr(w, "python3", 7);
	w->gen0 = w->npkgs;
	real_names = pick_real_names(w, ngen);

	for (uint32_t k = 0; k < ngen; k++) {
		uint64_t h = h3(w->seed, T_PKG, w->npkgs);
		int cuda = unit(h2(h, 1)) < 0.35;
		int python = unit(h2(h, 2)) < 0.5;
		double u = unit(h2(h, 3));
		struct pkg *p;
		uint32_t idx, ngdeps;

		if (real_names[k]) {
			const char *real = real_names[k], *dot = strrchr(real, '.');
			snprintf(attr, sizeof(attr), "%s%s", python ? "python3Packages." : "", real);
			snprintf(pname, sizeof(pname), "%s%s", python ? "python3.11-" : "",
				 dot ? dot + 1 : real);
		} else {
			gen_word(w->seed, k, word, sizeof(word));
			snprintf(attr, sizeof(attr), "%s%s", python ? "python3Packages." : "", word);
			snprintf(pname, sizeof(pname), "%s%s", python ? "python3.11-" : "", word);
		}
		snprintf(version, sizeof(version), "%u.%u.%u", (unsigned)(h2(h, 4) % 12),
			 (unsigned)(h2(h, 5) % 30), (unsigned)(h2(h, 6) % 20));
		p = new_pkg(w, attr, pname, version);
		idx = (uint32_t)(p - w->pkgs);
		p->kind = (uint8_t)(cuda ? K_CUDA : K_BASE);
		p->outs = (uint8_t)(u < 0.70 ? OB_OUT : u < 0.85 ? OB_OUT | OB_DEV
				    : u < 0.97 ? OB_OUT | OB_LIB | OB_DEV : OB_OUT | OB_LIB);
		if (python)
			p->flags |= PF_PYTHON;
		if (cuda) {
			p->size = clampd(exp(log(60 * MB) + 1.5 * normal(h2(h, 7))), 4096, 6e9);
			p->ratio = (float)(0.40 + 0.25 * unit(h2(h, 8)));
			p->build_min = (float)clampd(exp(log(25) + normal(h2(h, 9))), 2, 600);
			if (unit(h2(h, 10)) < 0.8)
				p->flags |= PF_CAPS;
			if (unit(h2(h, 11)) < 0.4)
				p->flags |= PF_JOB;
		} else {
			p->size = clampd(exp(log(2.5 * MB) + 1.7 * normal(h2(h, 7))), 2048, 4e9);
			p->ratio = (float)(0.22 + 0.20 * unit(h2(h, 8)));
			p->build_min = (float)clampd(exp(log(3) + normal(h2(h, 9))), 0.5, 180);
			if (unit(h2(h, 11)) < (python ? 0.06 : 0.04))
				p->flags |= PF_JOB;
		}
		if ((p->flags & PF_JOB) && unit(h2(h, 12)) < 0.08)
			p->flags |= PF_MNB;
		/* A few CUDA packages whose bytes do not depend on the
		 * capabilities (wrappers, data): their NARs are shared. */
		if (cuda && unit(h2(h, 13)) < 0.05) {
			p->flags = (uint16_t)((p->flags | PF_CSTABLE | PF_CAPS) & ~PF_SELFREF);
			p->outs = OB_OUT;
		} else if (unit(h2(h, 14)) < 0.4) {
			p->flags |= PF_SELFREF;
		}

		for (size_t i = 0; i < ARRAY_SIZE(hub_use); i++) {
			uint64_t hh = h3(h, T_DEP, 100 + i);
			if (hub_use[i].cuda_only && !cuda)
				continue;
			if (p->flags & PF_CSTABLE && (w->pkgs[hub_idx[i]].flags & PF_CAPS))
				continue;
			if (unit(hh) < hub_use[i].p)
				add_dep(w, p, hub_idx[i], hub_use[i].runtime);
		}
		if (python)
			add_dep(w, p, python3, 1);
		if (!(p->flags & PF_CSTABLE)) {
			/* geometric number of generated inputs, mean ~2 (~3 CUDA) */
			ngdeps = 0;
			while (ngdeps < 12 && unit(h3(h, T_DEP, 200 + ngdeps)) < (cuda ? 0.75 : 0.66))
				ngdeps++;
			for (uint32_t i = 0; i < ngdeps; i++) {
				uint64_t hh = h3(h, T_DEP, 300 + i);
				uint32_t d = cuda && unit(hh) < 0.45 && ncuda
						     ? pick(gen_cuda, ncuda, mix64(hh))
						     : pick(gen_base, nbase, mix64(hh));
				if (d != NONE)
					add_dep(w, p, d, unit(h2(hh, 7)) < 0.75);
			}
		}
		if (cuda)
			gen_cuda[ncuda++] = idx;
		else
			gen_base[nbase++] = idx;
	}
	for (size_t i = 0; i < ARRAY_SIZE(famous_cuda); i++)
		add_fixed(w, &famous_cuda[i], K_CUDA, gen_base, nbase, gen_cuda, ncuda);
	w->nfixed = nfixed;

	/* depth (for build times) and leaves (only they fail to evaluate) */
	dependents = xcalloc(w->npkgs, sizeof(*dependents));
	for (uint32_t i = 0; i < w->npkgs; i++) {
		struct pkg *p = &w->pkgs[i];
		uint16_t depth = 0;
		for (uint32_t j = 0; j < p->ndeps; j++) {
			uint32_t d = dep_pkg(w, p, j);
			dependents[d]++;
			if (w->pkgs[d].depth + 1 > depth)
				depth = (uint16_t)(w->pkgs[d].depth + 1);
		}
		p->depth = depth;
	}
	for (uint32_t i = 0; i < w->npkgs; i++)
		if (!dependents[i])
			w->pkgs[i].flags |= PF_LEAF;
	/* reach: 1 + the reach of each dependent (paths counted, so an
	 * overestimate in a DAG; it only weighs failures, so that is fine) */
	{
		double *acc = xcalloc(w->npkgs, sizeof(*acc));
		for (uint32_t i = w->npkgs; i-- > 0;) {
			struct pkg *p = &w->pkgs[i];
			double r = 1 + acc[i];
			if (r > 1e12)
				r = 1e12;
			p->reach = (float)r;
			for (uint32_t j = 0; j < p->ndeps; j++)
				acc[dep_pkg(w, p, j)] += r;
		}
		free(acc);
	}
	free(dependents);
	free(real_names);
	free(gen_base);
	free(gen_cuda);
}
