/*
 * gen.c - the synthetic world behind `cachegc gen`: a CUDA CI history
 * (branches, commits, evaluations per cudaCapabilities set, builds, pushes,
 * a size-limited cache that collects garbage) and the file:// binary cache
 * it leaves at a chosen moment.
 *
 * The model, in the order gen_run() builds it:
 *  - a package set: fixed hubs (glibc, gcc, python3, ...), CUDA hubs
 *    (cuda_cudart, libcublas, cudnn, nccl, ...), well-known jobs (torch,
 *    blender, ...) and generated packages, each depending on earlier ones,
 *    so index order is a topological order;
 *  - two lines of commits: the unstable line (master; nixos-unstable and
 *    nixpkgs-unstable follow it as lagging channels) and the release line
 *    (nixos-24.05); each commit bumps a few packages, and now and then a
 *    hub (a mass rebuild);
 *  - evaluations on a schedule (branch x capability set x frequency);
 *    each one hashes every package like Nix does (own version, the
 *    capability set when the package is compiled for it, its inputs'
 *    hashes), builds the closure of its jobs and pushes what is new;
 *  - an LRU cache with a size limit, collected at each evaluation.
 * Every random choice is a hash of the seed and what it is about (no
 * stream state), so the history is the same whatever the as-of moment.
 *
 * Memory is flat arrays: per package, per derivation, per store path and
 * one reference array; no allocation per path.  gen_run() first simulates
 * a small pilot world to learn how many store paths a package yields, then
 * sizes the real one to about the asked number of paths.
 */
#include "gen/gen.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nix/nixhash.h"
#include "nix/sig.h"
#include "lib/util.h"

#define NONE UINT32_MAX
#define STORE_DIR "/nix/store"
#define SYSTEM "x86_64-linux"
#define HOUR 3600
#define DAY 86400
#define MB (1024.0 * 1024.0)

/* ---- hashing: every random choice is a pure function of its key ---- */

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t h2(uint64_t a, uint64_t b)
{
	return mix64(a ^ mix64(b));
}

static uint64_t h3(uint64_t a, uint64_t b, uint64_t c)
{
	return h2(h2(a, b), c);
}

static uint64_t h4(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	return h2(h3(a, b, c), d);
}

/* Uniform in [0, 1). */
static double unit(uint64_t h)
{
	return (double)(h >> 11) * 0x1.0p-53;
}

/* Standard normal from a key (Box-Muller on two derived uniforms). */
static double normal(uint64_t h)
{
	double u1 = unit(mix64(h)), u2 = unit(mix64(h ^ 0x5bd1e995ULL));

	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Fill n bytes from a key. */
static void fill_bytes(uint64_t key, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = h2(key, i);
		for (size_t j = 0; j < 8 && i + j < n; j++)
			out[i + j] = (unsigned char)(v >> (8 * j));
	}
}

/* Tags keep the hash families apart. */
enum {
	T_PKG = 1, T_OWN, T_CAPS, T_BUMP, T_COMMIT, T_REV, T_EVAL, T_FAIL,
	T_BUILD, T_OUTPATH, T_DRVPATH, T_NARHASH, T_FILEHASH, T_SIZE, T_COMP,
	T_DERIVER, T_ERR, T_REPUSH, T_KEY, T_CONTENT, T_DEP, T_WORD,
};

/* ---- static tables ------------------------------------------------- */

enum { O_OUT, O_LIB, O_DEV, NOUTS };
#define OB_OUT (1u << O_OUT)
#define OB_LIB (1u << O_LIB)
#define OB_DEV (1u << O_DEV)
static const char *const out_names[NOUTS] = {"out", "lib", "dev"};

enum kind { K_HUB, K_CUDA_HUB, K_BASE, K_CUDA };

enum {
	PF_CAPS = 1 << 0,      /* compiled for cudaCapabilities: hash has caps */
	PF_JOB = 1 << 1,       /* a top-level job of full evaluations */
	PF_MNB = 1 << 2,       /* in the must-not-break subset */
	PF_CSTABLE = 1 << 3,   /* output bytes do not depend on caps */
	PF_SELFREF = 1 << 4,   /* outputs refer to themselves */
	PF_LEAF = 1 << 5,      /* nothing depends on it */
	PF_PYTHON = 1 << 6,
};

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

/* Branches: line 0 is the unstable line, 1 the release line.  A channel
 * (period > 0) moves every period to the commit of (that time - lag). */
static const struct branch {
	const char *name;
	int line;
	int64_t lag, period;
} branches[] = {
	{"master", 0, 0, 0},
	{"nixos-unstable", 0, 20 * HOUR, 36 * HOUR},
	{"nixpkgs-unstable", 0, 14 * HOUR, 24 * HOUR},
	{"nixos-24.05", 1, 0, 0},
};
enum { B_MASTER, B_NIXOS_UNSTABLE, B_NIXPKGS_UNSTABLE, B_RELEASE };
#define NLINES 2

static const char *const caps_sets[] = {"8.6", "7.5,8.6", "8.0,8.6,8.9,9.0"};

/* The CI's schedule (after Hercules CI's onSchedule for nixpkgs-cuda-ci):
 * master with 8.6 four times a day on the must-not-break subset and daily
 * in full, other combinations daily or weekly. */
static const struct sched {
	int branch, caps, full, every, offset, hour;
} schedule[] = {
	{B_MASTER, 0, 1, 1, 0, 4},
	{B_MASTER, 0, 0, 1, 0, 0},
	{B_MASTER, 0, 0, 1, 0, 2},
	{B_MASTER, 0, 0, 1, 0, 20},
	{B_MASTER, 0, 0, 1, 0, 22},
	{B_RELEASE, 1, 1, 1, 0, 8},
	{B_NIXOS_UNSTABLE, 0, 1, 7, 0, 6},
	{B_NIXPKGS_UNSTABLE, 0, 1, 7, 3, 6},
	{B_MASTER, 1, 1, 7, 1, 10},
	{B_NIXOS_UNSTABLE, 1, 1, 7, 2, 10},
	{B_NIXPKGS_UNSTABLE, 1, 1, 7, 4, 10},
	{B_MASTER, 2, 1, 7, 5, 12},
};

/* --daily: three branches (both lines) x the three capability sets, each
 * evaluated in full once a day (the simulate benchmark's history). */
static const struct sched daily_schedule[] = {
	{B_MASTER, 0, 1, 1, 0, 0},
	{B_MASTER, 1, 1, 1, 0, 1},
	{B_MASTER, 2, 1, 1, 0, 2},
	{B_NIXPKGS_UNSTABLE, 0, 1, 1, 0, 6},
	{B_NIXPKGS_UNSTABLE, 1, 1, 1, 0, 7},
	{B_NIXPKGS_UNSTABLE, 2, 1, 1, 0, 8},
	{B_RELEASE, 0, 1, 1, 0, 12},
	{B_RELEASE, 1, 1, 1, 0, 13},
	{B_RELEASE, 2, 1, 1, 0, 14},
};

/* Mass rebuilds: hubs bumped every period days from day first (in the
 * default 28 days: python on day 6, staging-next on day 14, the release's
 * security fix on day 17, a CUDA update on day 22). */
static const struct {
	int line;
	double first, period;
	const char *attrs;
} mass_bumps[] = {
	{0, 6.2, 30, "python3 python3Packages.numpy"},
	{0, 14, 14, "glibc gcc"},
	{0, 21.8, 42, "cudaPackages.cuda_cudart cudaPackages.libcublas cudaPackages.cudnn "
		       "cudaPackages.cuda_nvcc cudaPackages.libcufft cudaPackages.libcurand "
		       "cudaPackages.libcusparse cudaPackages.libcusolver cudaPackages.cuda_cupti"},
	{1, 16.8, 30, "libxml2 libjpeg"},
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

/* ---- the world ------------------------------------------------------ */

struct pkg {
	uint32_t attr, pname, version;   /* offsets into the string pool */
	uint32_t dep_off;
	uint16_t ndeps;
	uint8_t outs, kind;
	uint16_t flags, depth;
	float reach;                     /* ~ packages that need it, itself included */
	float build_min;                 /* minutes to build */
	float ratio;                     /* compressed / NAR size */
	double size;                     /* NarSize of all outputs, bytes */
	uint32_t bump_off[NLINES], nbump[NLINES];
};
#define DEP_RUNTIME 0x80000000u

enum { S_OK, S_FAILED, S_DEPFAIL, S_TIMEOUT };
static const char *const status_names[] = {
	"succeeded", "failed", "dependency-failed", "timed-out",
};
enum { C_NEVER, C_IN, C_OUT };   /* cache state of a derivation */

struct drv {
	uint64_t ident;          /* the derivation's input hash */
	uint64_t content;        /* what its output bytes depend on */
	int64_t built;           /* first build finished (or failed) */
	int64_t push;            /* last pushed */
	uint64_t bytes;          /* FileSize of its outputs */
	uint32_t pkg, path0;     /* path0: first output path, NONE if failed */
	uint32_t prev, next;     /* LRU list */
	uint16_t vcount;         /* version bumps: the name's version */
	uint8_t line, status, state;
};

enum { Z_XZ, Z_ZSTD, Z_BZIP2, Z_ABSENT };
struct path {
	uint64_t nar_size, file_size;
	uint32_t drv, ref_off;
	uint16_t nref;
	uint8_t out, comp, deriver;      /* deriver: 0 none, 1 .drv, 2 unknown */
};

struct eval {
	int64_t time;
	uint32_t commit;
	uint8_t branch, line, caps, full;
};

struct line {
	int64_t *time;           /* commit times, increasing */
	uint32_t ncommits;
	uint32_t *bumps;         /* per package, sorted commit indices */
	size_t nbumps;
};

struct build {
	int64_t time;
	uint32_t drv;
};

struct world {
	uint64_t seed;
	int64_t start, end, as_of;
	unsigned days;
	int daily;               /* daily_schedule instead of schedule */
	int simulate_only;       /* pilot: no cache, no files */

	struct strbuf pool;
	struct pkg *pkgs;
	uint32_t npkgs, nfixed, gen0;
	uint32_t *deps;
	size_t ndeps, deps_alloc;

	struct line lines[NLINES];
	struct eval *evals;
	size_t nevals;

	struct drv *drvs;
	size_t ndrvs, drvs_alloc;
	struct path *paths;
	size_t npaths, paths_alloc;
	uint32_t *refs;
	size_t nrefs, refs_alloc;
	uint32_t *table;         /* ident -> drv, open addressing */
	size_t table_size;
	struct build *builds;
	size_t nbuilds, builds_alloc;

	/* per-evaluation scratch */
	uint64_t *hash;
	uint32_t *drvidx;
	uint8_t *need;

	/* the cache */
	uint32_t lru_head, lru_tail;
	uint64_t cache_bytes, limit;
	uint64_t pushes, evictions;
	uint64_t total_bytes;    /* FileSize of every derivation ever built */
};

static const char *str(const struct world *w, uint32_t off)
{
	return w->pool.buf + off;
}

static uint32_t intern(struct world *w, const char *s)
{
	uint32_t off = (uint32_t)w->pool.len;

	strbuf_add(&w->pool, s, strlen(s) + 1);
	return off;
}

static uint32_t find_attr(const struct world *w, const char *attr, size_t len)
{
	for (uint32_t i = 0; i < w->npkgs; i++) {
		const char *a = str(w, w->pkgs[i].attr);
		if (strlen(a) == len && !memcmp(a, attr, len))
			return i;
	}
	return NONE;
}

static void add_dep(struct world *w, struct pkg *p, uint32_t d, int runtime)
{
	for (uint32_t i = 0; i < p->ndeps; i++)
		if ((w->deps[p->dep_off + i] & ~DEP_RUNTIME) == d)
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
	const char *s = f->deps;

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
	while (*s) {
		const char *e = strchr(s, ' ');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		int runtime = *s != '!';
		uint32_t d;

		if (!runtime)
			s++, len--;
		d = find_attr(w, s, len);
		if (d == NONE || d == idx)
			die("gen: unknown input '%.*s' of '%s'", (int)len, s, f->attr);
		add_dep(w, p, d, runtime);
		s += len;
		while (*s == ' ')
			s++;
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
 * Build the package table for about npkgs packages (at least the fixed
 * ones plus a few generated).
 */
static void build_packages(struct world *w, uint32_t npkgs)
{
	uint32_t nfixed = (uint32_t)(ARRAY_SIZE(hubs) + ARRAY_SIZE(cuda_hubs) +
				     ARRAY_SIZE(famous_base) + ARRAY_SIZE(famous_cuda));
	uint32_t ngen = npkgs > nfixed + 16 ? npkgs - nfixed : 16;
	uint32_t *gen_base = xmalloc(ngen * sizeof(*gen_base));
	uint32_t *gen_cuda = xmalloc(ngen * sizeof(*gen_cuda));
	uint32_t nbase = 0, ncuda = 0;
	uint32_t hub_idx[ARRAY_SIZE(hub_use)];
	uint32_t python3, *dependents;
	char word[64], attr[96], pname[96], version[32];

	w->npkgs = 0;
	w->pkgs = xcalloc(nfixed + ngen, sizeof(*w->pkgs));
	for (size_t i = 0; i < ARRAY_SIZE(hubs); i++)
		add_fixed(w, &hubs[i], K_HUB, NULL, 0, NULL, 0);
	for (size_t i = 0; i < ARRAY_SIZE(cuda_hubs); i++)
		add_fixed(w, &cuda_hubs[i], K_CUDA_HUB, NULL, 0, NULL, 0);
	for (size_t i = 0; i < ARRAY_SIZE(famous_base); i++)
		add_fixed(w, &famous_base[i], K_BASE, NULL, 0, NULL, 0);
	for (size_t i = 0; i < ARRAY_SIZE(hub_use); i++) {
		hub_idx[i] = find_attr(w, hub_use[i].attr, strlen(hub_use[i].attr));
		if (hub_idx[i] == NONE)
			die("gen: hub '%s' missing", hub_use[i].attr);
	}
	python3 = find_attr(w, "python3", 7);
	w->gen0 = w->npkgs;

	for (uint32_t k = 0; k < ngen; k++) {
		uint64_t h = h3(w->seed, T_PKG, w->npkgs);
		int cuda = unit(h2(h, 1)) < 0.35;
		int python = unit(h2(h, 2)) < 0.5;
		double u = unit(h2(h, 3));
		struct pkg *p;
		uint32_t idx, ngdeps;

		gen_word(w->seed, k, word, sizeof(word));
		snprintf(attr, sizeof(attr), "%s%s", python ? "python3Packages." : "", word);
		snprintf(pname, sizeof(pname), "%s%s", python ? "python3.11-" : "", word);
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
			uint32_t d = w->deps[p->dep_off + j] & ~DEP_RUNTIME;
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
				acc[w->deps[p->dep_off + j] & ~DEP_RUNTIME] += r;
		}
		free(acc);
	}
	free(dependents);
	free(gen_base);
	free(gen_cuda);
}

/* ---- commits and bumps --------------------------------------------- */

static uint32_t commit_at(const struct line *l, int64_t t)
{
	uint32_t lo = 0, hi = l->ncommits;   /* first commit with time > t */

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (l->time[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : 0;
}

/*
 * Commits and what they change.  Each package is bumped as a Poisson
 * process whose rate falls with its reach: leaves change often, what much
 * depends on rarely (nixpkgs' staging), and hubs only in the mass rebuilds
 * of mass_bumps.  So the share of the world one commit rebuilds does not
 * depend on the world's size.
 */
#define BUMP_REACH 8.0
static void build_lines(struct world *w)
{
	static const int64_t step[NLINES] = {3 * HOUR, 12 * HOUR};
	static const double rate[NLINES] = {0.003, 0.002};   /* per commit, leaves */
	int64_t first = w->start - 3 * DAY;
	uint32_t nhubs = (uint32_t)(ARRAY_SIZE(hubs) + ARRAY_SIZE(cuda_hubs));

	for (int li = 0; li < NLINES; li++) {
		struct line *l = &w->lines[li];
		uint32_t *pairs_pkg = NULL, *count;
		uint32_t *pairs_commit = NULL;
		size_t npairs = 0, alloc = 0, alloc2 = 0;

		l->ncommits = (uint32_t)(((int64_t)w->days + 4) * DAY / step[li]);
		l->time = xmalloc(l->ncommits * sizeof(*l->time));
		for (uint32_t c = 0; c < l->ncommits; c++) {
			uint64_t h = h4(w->seed, T_COMMIT, (uint64_t)li, c);
			l->time[c] = first + (int64_t)c * step[li] +
				     (int64_t)(unit(h2(h, 2)) * (double)(step[li] - 600));
		}
		for (uint32_t p = nhubs; p < w->npkgs; p++) {
			double reach = w->pkgs[p].reach;
			double q = rate[li] * (reach > BUMP_REACH ? BUMP_REACH / reach : 1.0);
			double lq = log1p(-q);
			uint64_t c = 0;

			/* geometric gaps between bumps */
			for (uint32_t k = 0;; k++) {
				double u = unit(h4(w->seed, T_BUMP, (uint64_t)li << 32 | p, k));
				double gap = floor(log(u > 1e-300 ? u : 1e-300) / lq);
				if (!(gap < (double)l->ncommits) || c + (uint64_t)gap >= l->ncommits)
					break;
				c += (uint64_t)gap;
				GROW(pairs_pkg, alloc, npairs + 1);
				GROW(pairs_commit, alloc2, npairs + 1);
				pairs_pkg[npairs] = p;
				pairs_commit[npairs++] = (uint32_t)c;
				c++;
			}
		}
		for (size_t m = 0; m < ARRAY_SIZE(mass_bumps); m++) {
			if (mass_bumps[m].line != li)
				continue;
			for (double day = mass_bumps[m].first; day < w->days;
			     day += mass_bumps[m].period) {
				uint32_t c = commit_at(l, w->start + (int64_t)(day * DAY));
				const char *s = mass_bumps[m].attrs;
				while (*s) {
					const char *e = strchr(s, ' ');
					size_t len = e ? (size_t)(e - s) : strlen(s);
					uint32_t p = find_attr(w, s, len);
					if (p == NONE)
						die("gen: unknown mass bump '%.*s'", (int)len, s);
					GROW(pairs_pkg, alloc, npairs + 1);
					GROW(pairs_commit, alloc2, npairs + 1);
					pairs_pkg[npairs] = p;
					pairs_commit[npairs++] = c;
					s += len;
					while (*s == ' ')
						s++;
				}
			}
		}
		/* counting sort by package; commits stay ordered within one
		 * package because pairs come in commit order, except the mass
		 * bumps, so sort each package's run afterwards */
		count = xcalloc(w->npkgs + 1, sizeof(*count));
		for (size_t i = 0; i < npairs; i++)
			count[pairs_pkg[i] + 1]++;
		for (uint32_t p = 0; p < w->npkgs; p++) {
			count[p + 1] += count[p];
			w->pkgs[p].bump_off[li] = count[p];
			w->pkgs[p].nbump[li] = 0;
		}
		l->bumps = xmalloc((npairs ? npairs : 1) * sizeof(*l->bumps));
		l->nbumps = npairs;
		for (size_t i = 0; i < npairs; i++) {
			struct pkg *p = &w->pkgs[pairs_pkg[i]];
			l->bumps[p->bump_off[li] + p->nbump[li]++] = pairs_commit[i];
		}
		for (uint32_t p = 0; p < w->npkgs; p++) {
			uint32_t *b = l->bumps + w->pkgs[p].bump_off[li];
			uint32_t n = w->pkgs[p].nbump[li];
			for (uint32_t i = 1; i < n; i++)   /* insertion sort: tiny runs */
				for (uint32_t j = i; j > 0 && b[j - 1] > b[j]; j--) {
					uint32_t t = b[j];
					b[j] = b[j - 1];
					b[j - 1] = t;
				}
		}
		free(count);
		free(pairs_pkg);
		free(pairs_commit);
	}
}

/* How many times p was bumped on line li up to and including commit c. */
static uint32_t bumps_until(const struct world *w, uint32_t p, int li, uint32_t c)
{
	const uint32_t *b = w->lines[li].bumps + w->pkgs[p].bump_off[li];
	uint32_t lo = 0, hi = w->pkgs[p].nbump[li];

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (b[mid] <= c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* ---- the schedule -------------------------------------------------- */

static uint32_t branch_commit(const struct world *w, int b, int64_t t)
{
	const struct branch *br = &branches[b];

	if (br->period) {
		int64_t k = (t - w->start) / br->period;
		t = w->start + k * br->period - br->lag;
	}
	return commit_at(&w->lines[br->line], t);
}

static int cmp_eval(const void *a, const void *b)
{
	const struct eval *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	if (x->branch != y->branch)
		return x->branch - y->branch;
	return x->caps - y->caps;
}

/* Evaluations in time order.  Two scheduled runs of the same branch,
 * revision and capabilities are one evaluation (the first), with the
 * union of their job sets: the files are named by that triple. */
static void build_evals(struct world *w)
{
	size_t alloc = 0, n = 0, last[ARRAY_SIZE(branches)][ARRAY_SIZE(caps_sets)];
	struct eval *ev = NULL;
	const struct sched *sched = w->daily ? daily_schedule : schedule;
	size_t nsched = w->daily ? ARRAY_SIZE(daily_schedule) : ARRAY_SIZE(schedule);

	for (unsigned d = 0; d < w->days; d++) {
		for (size_t s = 0; s < nsched; s++) {
			const struct sched *sc = &sched[s];
			struct eval e;
			if (d < (unsigned)sc->offset || (d - (unsigned)sc->offset) % (unsigned)sc->every)
				continue;
			e.time = w->start + (int64_t)d * DAY + sc->hour * HOUR +
				 (int64_t)(h4(w->seed, T_EVAL, d, s) % (20 * 60));
			e.branch = (uint8_t)sc->branch;
			e.line = (uint8_t)branches[sc->branch].line;
			e.caps = (uint8_t)sc->caps;
			e.full = (uint8_t)sc->full;
			e.commit = branch_commit(w, sc->branch, e.time);
			GROW(ev, alloc, n + 1);
			ev[n++] = e;
		}
	}
	qsort(ev, n, sizeof(*ev), cmp_eval);
	/* A branch's commit never goes back in time, so a repeat can only be
	 * the latest evaluation of the same branch and capability set. */
	for (size_t b = 0; b < ARRAY_SIZE(branches); b++)
		for (size_t c = 0; c < ARRAY_SIZE(caps_sets); c++)
			last[b][c] = SIZE_MAX;
	w->nevals = 0;
	for (size_t i = 0; i < n; i++) {
		size_t *l = &last[ev[i].branch][ev[i].caps];
		if (*l != SIZE_MAX && ev[*l].commit == ev[i].commit) {
			ev[*l].full |= ev[i].full;
			continue;
		}
		*l = w->nevals;
		ev[w->nevals++] = ev[i];
	}
	w->evals = ev;
}

/* ---- derivations, store paths, the cache ---------------------------- */

static uint32_t lookup(const struct world *w, uint64_t ident)
{
	size_t mask = w->table_size - 1, i = (size_t)ident & mask;

	for (;;) {
		uint32_t d = w->table[i];
		if (d == NONE || w->drvs[d].ident == ident)
			return d;
		i = (i + 1) & mask;
	}
}

static void table_insert(struct world *w, uint32_t d)
{
	size_t mask = w->table_size - 1, i = (size_t)w->drvs[d].ident & mask;

	while (w->table[i] != NONE)
		i = (i + 1) & mask;
	w->table[i] = d;
}

static void table_grow(struct world *w)
{
	size_t n = w->table_size ? w->table_size * 2 : 1024;

	free(w->table);
	w->table = xmalloc(n * sizeof(*w->table));
	memset(w->table, 0xff, n * sizeof(*w->table));
	w->table_size = n;
	for (size_t d = 0; d < w->ndrvs; d++)
		table_insert(w, (uint32_t)d);
}

static unsigned out_slot(unsigned outs, unsigned o)
{
	return (unsigned)__builtin_popcount(outs & ((1u << o) - 1));
}

/* The output other packages refer to: lib when there is one. */
static unsigned main_out(unsigned outs)
{
	return outs & OB_LIB ? O_LIB : O_OUT;
}

static void lru_unlink(struct world *w, uint32_t d)
{
	struct drv *x = &w->drvs[d];

	if (x->prev != NONE)
		w->drvs[x->prev].next = x->next;
	else
		w->lru_head = x->next;
	if (x->next != NONE)
		w->drvs[x->next].prev = x->prev;
	else
		w->lru_tail = x->prev;
	x->prev = x->next = NONE;
}

static void lru_append(struct world *w, uint32_t d)
{
	struct drv *x = &w->drvs[d];

	x->prev = w->lru_tail;
	x->next = NONE;
	if (w->lru_tail != NONE)
		w->drvs[w->lru_tail].next = d;
	else
		w->lru_head = d;
	w->lru_tail = d;
}

/* Collect garbage at time t: evict least recently used derivations
 * (pushed by then) while the cache is over its limit. */
static void cache_gc(struct world *w, int64_t t)
{
	while (w->cache_bytes > w->limit && w->lru_head != NONE) {
		uint32_t d = w->lru_head;
		if (w->drvs[d].push > t)
			break;
		lru_unlink(w, d);
		w->drvs[d].state = C_OUT;
		w->cache_bytes -= w->drvs[d].bytes;
		w->evictions++;
	}
}

/* An evaluation at t used d: keep it fresh, or push it (again). */
static void cache_touch(struct world *w, uint32_t d, int64_t t)
{
	struct drv *x = &w->drvs[d];

	if (x->state == C_IN) {
		lru_unlink(w, d);
		lru_append(w, d);
		return;
	}
	if (x->state == C_NEVER)
		x->push = x->built;
	else   /* evicted and needed again: the CI pushes it once more */
		x->push = t + 300 + (int64_t)(h3(x->ident, T_REPUSH, (uint64_t)t) % 2400);
	x->state = C_IN;
	w->cache_bytes += x->bytes;
	w->pushes++;
	lru_append(w, d);
}

/* The identity that decides a content-stable package's bytes: its hash
 * without the capability set. */
static uint64_t content_key(const struct world *w, uint32_t p, uint64_t own)
{
	const struct pkg *pk = &w->pkgs[p];
	uint64_t x = h2(own, T_CONTENT);

	for (uint32_t j = 0; j < pk->ndeps; j++)
		x = h2(x, w->hash[w->deps[pk->dep_off + j] & ~DEP_RUNTIME]);
	return x;
}

static void add_ref(struct world *w, uint32_t path)
{
	GROW(w->refs, w->refs_alloc, w->nrefs + 1);
	w->refs[w->nrefs++] = path;
}

/* Create the derivation of package p in the evaluation ev (its inputs'
 * derivations are in w->drvidx).  Returns its index. */
static uint32_t drv_create(struct world *w, uint32_t p, uint64_t ident, uint64_t own,
			   uint32_t vcount, const struct eval *ev)
{
	const struct pkg *pk = &w->pkgs[p];
	uint32_t d = (uint32_t)w->ndrvs;
	struct drv *x;
	double minutes;
	uint64_t h = h2(ident, T_BUILD);
	int status = S_OK;

	if ((w->ndrvs + 1) * 2 > w->table_size)
		table_grow(w);
	GROW(w->drvs, w->drvs_alloc, w->ndrvs + 1);
	x = &w->drvs[w->ndrvs++];
	memset(x, 0, sizeof(*x));
	x->ident = ident;
	x->content = pk->flags & PF_CSTABLE ? content_key(w, p, own) : ident;
	x->pkg = p;
	x->vcount = (uint16_t)vcount;
	x->line = ev->line;
	x->prev = x->next = NONE;
	x->path0 = NONE;
	table_insert(w, d);

	for (uint32_t j = 0; j < pk->ndeps; j++) {
		uint32_t dd = w->drvidx[w->deps[pk->dep_off + j] & ~DEP_RUNTIME];
		if (w->drvs[dd].status != S_OK)
			status = S_DEPFAIL;
	}
	minutes = 3 + 3.0 * pk->depth + pk->build_min * (0.7 + 0.8 * unit(h));
	if (status == S_OK) {
		/* what many packages use is kept building: failures are
		 * mostly at the leaves */
		double pf = (pk->kind == K_CUDA ? 0.02 : pk->kind == K_BASE ? 0.008 : 0) *
			    3.0 / (2.0 + pk->reach);
		if (unit(h2(h, 1)) < pf)
			status = pk->build_min > 60 && unit(h2(h, 2)) < 0.4 ? S_TIMEOUT : S_FAILED;
	}
	switch (status) {
	case S_OK:
		break;
	case S_FAILED:
		minutes *= 0.5;
		break;
	case S_TIMEOUT:
		minutes = 600;
		break;
	default:
		minutes = 0;
	}
	x->built = ev->time + (int64_t)(minutes * 60) + (int64_t)(h2(h, 3) % 60);
	x->status = (uint8_t)status;
	GROW(w->builds, w->builds_alloc, w->nbuilds + 1);
	w->builds[w->nbuilds].time = x->built;
	w->builds[w->nbuilds++].drv = d;
	if (status != S_OK)
		return d;

	x->path0 = (uint32_t)w->npaths;
	for (unsigned o = 0; o < NOUTS; o++) {
		struct path *pa;
		uint64_t ck = h2(x->content, o), hs = h2(ck, T_SIZE);
		double share = o == O_DEV ? 0.03 : !(pk->outs & OB_LIB) ? 1.0
			       : o == O_LIB ? 0.65 : 0.35;
		double nar, u = unit(h2(ck, T_COMP));

		if (!(pk->outs & (1u << o)))
			continue;
		GROW(w->paths, w->paths_alloc, w->npaths + 1);
		pa = &w->paths[w->npaths++];
		memset(pa, 0, sizeof(*pa));
		pa->drv = d;
		pa->out = (uint8_t)o;
		nar = pk->size * share * (0.95 + 0.1 * unit(hs));
		if (nar < 120)
			nar = 120;
		pa->nar_size = ((uint64_t)nar + 7) & ~(uint64_t)7;  /* NARs pad to 8 */
		pa->comp = (uint8_t)(u < 0.88 ? Z_XZ : u < 0.93 ? Z_ZSTD : u < 0.95 ? Z_BZIP2
				     : Z_ABSENT);
		pa->file_size = (uint64_t)((double)pa->nar_size * pk->ratio *
					   (0.9 + 0.2 * unit(h2(hs, 1))) *
					   (pa->comp == Z_ZSTD ? 1.1 : pa->comp == Z_XZ ? 1.0 : 1.15));
		if (pa->file_size < 64)
			pa->file_size = 64;
		u = unit(h3(ident, T_DERIVER, o));
		pa->deriver = (uint8_t)(u < 0.80 ? 1 : u < 0.82 ? 2 : 0);
		x->bytes += pa->file_size;
		w->total_bytes += pa->file_size;

		pa->ref_off = (uint32_t)w->nrefs;
		for (uint32_t j = 0; j < pk->ndeps; j++) {
			uint32_t dep = w->deps[pk->dep_off + j];
			const struct drv *dx;
			if (!(dep & DEP_RUNTIME))
				continue;
			dx = &w->drvs[w->drvidx[dep & ~DEP_RUNTIME]];
			add_ref(w, dx->path0 + out_slot(w->pkgs[dx->pkg].outs,
							 main_out(w->pkgs[dx->pkg].outs)));
		}
		if (o == O_DEV || (o == O_OUT && (pk->outs & OB_LIB)))
			add_ref(w, x->path0 + out_slot(pk->outs, main_out(pk->outs)));
		if (o != O_DEV && (pk->flags & PF_SELFREF))
			add_ref(w, (uint32_t)(w->npaths - 1));
		pa->nref = (uint16_t)(w->nrefs - pa->ref_off);
	}
	return d;
}

static int eval_error(const struct world *w, uint32_t p, int line, uint32_t vcount)
{
	return (w->pkgs[p].flags & PF_LEAF) && (w->pkgs[p].flags & PF_JOB) &&
	       unit(h4(w->seed, T_ERR, p, (uint64_t)line << 32 | vcount)) < 0.012;
}

/* Version string of p on line li after vcount bumps: the last number of
 * the base version moves. */
static void version_of(const struct world *w, uint32_t p, int li, uint32_t vcount,
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

/* "<hash>-<name>" of output o of the derivation (ident, p, line, vcount);
 * o < 0 gives the .drv. */
static void basename_of(const struct world *w, uint64_t ident, uint32_t p, int li,
			uint32_t vcount, int o, struct strbuf *sb)
{
	unsigned char b[20];
	char hash[STORE_HASH_LEN];

	fill_bytes(o < 0 ? h2(ident, T_DRVPATH) : h3(ident, T_OUTPATH, (uint64_t)o), b, sizeof(b));
	nix32_encode(b, sizeof(b), hash);
	strbuf_add(sb, hash, STORE_HASH_LEN);
	strbuf_addch(sb, '-');
	strbuf_addstr(sb, str(w, w->pkgs[p].pname));
	strbuf_addch(sb, '-');
	version_of(w, p, li, vcount, sb);
	if (o > 0)
		strbuf_addf(sb, "-%s", out_names[o]);
	else if (o < 0)
		strbuf_addstr(sb, ".drv");
}

static void path_basename(const struct world *w, uint32_t path, struct strbuf *sb)
{
	const struct path *pa = &w->paths[path];
	const struct drv *x = &w->drvs[pa->drv];

	basename_of(w, x->ident, x->pkg, x->line, x->vcount, pa->out, sb);
}

static void rev_of(const struct world *w, int li, uint32_t commit, char out[41])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[20];

	fill_bytes(h4(w->seed, T_REV, (uint64_t)li, commit), b, sizeof(b));
	for (int i = 0; i < 20; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[40] = '\0';
}

/* ---- evaluation files ------------------------------------------------ */

struct outputs {
	char *dir;               /* the world's directory */
	FILE *manifest;
	char **eval_files;       /* names written, for removing stale ones */
	size_t neval_files, eval_files_alloc;
	uint64_t evaluations, jobs, eval_errors;
};

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
static int write_eval(struct world *w, struct outputs *o, const struct eval *ev)
{
	struct strbuf name = STRBUF_INIT, sb = STRBUF_INIT, tmp = STRBUF_INIT;
	char rev[41], when[32];
	FILE *f = NULL;
	int rc = -1;

	rev_of(w, ev->line, ev->commit, rev);
	strbuf_addf(&name, "%s-%s-%s.jsonl", branches[ev->branch].name, rev, caps_sets[ev->caps]);
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
		vcount = bumps_until(w, p, ev->line, ev->commit);
		strbuf_reset(&sb);
		strbuf_addf(&sb, "{\"attr\":\"%s\",", attr);
		json_attr_path(&sb, attr);
		o->jobs++;
		if (eval_error(w, p, ev->line, vcount)) {
			uint64_t h = h4(w->seed, T_ERR, p, vcount);
			unsigned k = (unsigned)(h % NEVAL_ERRORS);
			char src[STORE_HASH_LEN + 1];
			unsigned char b[20];

			fill_bytes(h4(w->seed, T_REV, ev->line, ev->commit) ^ 0x50, b, sizeof(b));
			nix32_encode(b, sizeof(b), src);
			src[STORE_HASH_LEN] = '\0';
			strbuf_reset(&tmp);
			strbuf_addstr(&tmp, str(w, pk->pname));
			strbuf_addch(&tmp, '-');
			version_of(w, p, ev->line, vcount, &tmp);
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
			basename_of(w, x->ident, p, ev->line, vcount, -1, &sb);
			strbuf_addstr(&sb, "\",\"name\":\"");
			strbuf_addstr(&sb, str(w, pk->pname));
			strbuf_addch(&sb, '-');
			version_of(w, p, ev->line, vcount, &sb);
			strbuf_addstr(&sb, "\",\"outputs\":{");
			/* nix-eval-jobs prints keys sorted: dev, lib, out */
			for (int k = NOUTS - 1; k >= 0; k--) {
				unsigned oo = k == 2 ? O_DEV : k == 1 ? O_LIB : O_OUT;
				if (!(pk->outs & (1u << oo)))
					continue;
				strbuf_addf(&sb, "%s\"%s\":\"" STORE_DIR "/", first ? "" : ",",
					    out_names[oo]);
				basename_of(w, x->ident, p, ev->line, vcount, (int)oo, &sb);
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
	fprintf(o->manifest, "%s\t%s\t%s\t%s\t%s\t%s\n", name.buf, branches[ev->branch].name,
		rev, caps_sets[ev->caps], SYSTEM, format_time(ev->time, when, sizeof(when)));
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

/* ---- the simulation ---------------------------------------------- */

/*
 * Run every evaluation in time order.  Those at or before as_of use the
 * cache (GC, touch, push) and, when o is given, write their files; later
 * ones only create derivations, so the history's totals are known.
 * Returns 0 or -1 (reported).
 */
static int simulate(struct world *w, struct outputs *o, struct progress *pr)
{
	w->hash = xmalloc(w->npkgs * sizeof(*w->hash));
	w->drvidx = xmalloc(w->npkgs * sizeof(*w->drvidx));
	w->need = xmalloc(w->npkgs);
	w->lru_head = w->lru_tail = NONE;
	if (!w->table_size)
		table_grow(w);

	for (size_t e = 0; e < w->nevals; e++) {
		const struct eval *ev = &w->evals[e];
		int live = !w->simulate_only && ev->time <= w->as_of;
		unsigned mask = ev->full ? PF_JOB : PF_MNB;

		if (pr)
			progress_update(pr, e);
		if (live)
			cache_gc(w, ev->time);
		for (uint32_t p = 0; p < w->npkgs; p++) {
			const struct pkg *pk = &w->pkgs[p];
			uint32_t vc = bumps_until(w, p, ev->line, ev->commit);
			uint64_t x = h4(w->seed, T_OWN, p, (uint64_t)ev->line << 32 | vc);

			if (pk->flags & PF_CAPS)
				x = h3(x, T_CAPS, ev->caps);
			for (uint32_t j = 0; j < pk->ndeps; j++)
				x = h2(x, w->hash[w->deps[pk->dep_off + j] & ~DEP_RUNTIME]);
			w->hash[p] = x;
			w->need[p] = (pk->flags & mask) && !eval_error(w, p, ev->line, vc);
		}
		for (uint32_t p = w->npkgs; p-- > 0;) {
			const struct pkg *pk = &w->pkgs[p];
			if (!w->need[p])
				continue;
			for (uint32_t j = 0; j < pk->ndeps; j++)
				w->need[w->deps[pk->dep_off + j] & ~DEP_RUNTIME] = 1;
		}
		for (uint32_t p = 0; p < w->npkgs; p++) {
			uint32_t d;
			if (!w->need[p])
				continue;
			d = lookup(w, w->hash[p]);
			if (d == NONE) {
				uint32_t vc = bumps_until(w, p, ev->line, ev->commit);
				uint64_t own = h4(w->seed, T_OWN, p, (uint64_t)ev->line << 32 | vc);
				d = drv_create(w, p, w->hash[p], own, vc, ev);
			}
			w->drvidx[p] = d;
			if (live && w->drvs[d].status == S_OK)
				cache_touch(w, d, ev->time);
		}
		if (live && o && write_eval(w, o, ev))
			return -1;
	}
	return 0;
}

static void world_init(struct world *w, const struct gen_options *opt, int64_t as_of)
{
	memset(w, 0, sizeof(*w));
	w->seed = mix64(opt->seed ^ 0xc0dec0dec0deULL);
	w->start = opt->start;
	w->days = opt->days;
	w->daily = opt->daily;
	w->end = opt->start + (int64_t)opt->days * DAY;
	w->as_of = as_of;
}

static void world_release(struct world *w)
{
	strbuf_release(&w->pool);
	free(w->pkgs);
	free(w->deps);
	for (int i = 0; i < NLINES; i++) {
		free(w->lines[i].time);
		free(w->lines[i].bumps);
	}
	free(w->evals);
	free(w->drvs);
	free(w->paths);
	free(w->refs);
	free(w->table);
	free(w->builds);
	free(w->hash);
	free(w->drvidx);
	free(w->need);
	memset(w, 0, sizeof(*w));
}

static void world_build(struct world *w, uint32_t npkgs)
{
	build_packages(w, npkgs);
	build_lines(w);
	build_evals(w);
}

/* ---- files ------------------------------------------------------- */

static int mkdir_p(const char *path)
{
	char *p = xstrdup(path);
	int rc = 0;

	for (char *s = p + 1;; s++) {
		if (*s == '/' || !*s) {
			char c = *s;
			*s = '\0';
			if (mkdir(p, 0755) && errno != EEXIST) {
				rc = error("cannot create directory '%s': %s", p, strerror(errno));
				break;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	if (!rc) {
		struct stat st;
		if (stat(path, &st) || !S_ISDIR(st.st_mode))
			rc = error("'%s' is not a directory", path);
		else if (access(path, W_OK))
			rc = error("cannot write into '%s': %s", path, strerror(errno));
	}
	free(p);
	return rc;
}

/* Write len bytes to dirfd/name (created or truncated) with mtime t
 * (t < 0: leave it).  0 or -1 with errno set. */
static int write_at(int dirfd, const char *name, const void *buf, size_t len, int64_t t,
		    mode_t mode)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	const char *p = buf;
	int saved;

	if (fd < 0)
		return -1;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (t >= 0) {
		struct timespec ts[2] = {{(time_t)t, 0}, {(time_t)t, 0}};
		if (futimens(fd, ts))
			goto fail;
	}
	if (close(fd))
		return -1;
	return 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

static int write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	struct strbuf path = STRBUF_INIT;
	int rc = 0;

	strbuf_addf(&path, "%s/%s", dir, name);
	if (write_at(AT_FDCWD, path.buf, text, strlen(text), -1, mode))
		rc = error("cannot write '%s': %s", path.buf, strerror(errno));
	strbuf_release(&path);
	return rc;
}

static const char *const comp_names[] = {"xz", "zstd", "bzip2", NULL};
static const char *const comp_ext[] = {"xz", "zst", "bz2", "bz2"};

/* "sha256:<52 nix32>" of a key. */
static void sha256_of(uint64_t key, char out[60])
{
	unsigned char b[32];

	fill_bytes(key, b, sizeof(b));
	memcpy(out, "sha256:", 7);
	nix32_encode(b, sizeof(b), out + 7);
	out[59] = '\0';
}

/* The NAR file name of a path: "<filehash nix32>.nar.<ext>". */
static void nar_name(const struct world *w, uint32_t path, char out[64])
{
	const struct path *pa = &w->paths[path];
	char fh[60];

	sha256_of(h3(w->drvs[pa->drv].content, pa->out, T_FILEHASH), fh);
	snprintf(out, 64, "%s.nar.%s", fh + 7, comp_ext[pa->comp]);
}

/* Buffers format_narinfo() reuses from one narinfo to the next. */
struct fmt_scratch {
	struct strbuf names;     /* reference basenames, NUL-separated */
	struct strbuf store_path;
	size_t *offs;            /* where each name starts in names */
	const char **refv;       /* the names, sorted */
	size_t alloc;
};

static void fmt_scratch_release(struct fmt_scratch *fs)
{
	strbuf_release(&fs->names);
	strbuf_release(&fs->store_path);
	free(fs->offs);
	free(fs->refv);
	memset(fs, 0, sizeof(*fs));
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Format the narinfo of path into sb, without its Sig line, and the
 * fingerprint Nix signs into fp.  Returns 0 or -1 (err filled).
 */
static int format_narinfo(const struct world *w, uint32_t path, struct strbuf *sb,
			  struct strbuf *fp, struct fmt_scratch *fs, char *err, size_t errsz)
{
	const struct path *pa = &w->paths[path];
	const struct drv *x = &w->drvs[pa->drv];
	char narhash[60], filehash[60], nar[64];
	size_t base_at;

	strbuf_reset(sb);
	strbuf_reset(fp);
	strbuf_reset(&fs->names);
	strbuf_reset(&fs->store_path);
	strbuf_addstr(sb, "StorePath: ");
	base_at = sb->len;
	strbuf_addstr(sb, STORE_DIR "/");
	path_basename(w, path, sb);
	strbuf_add(&fs->store_path, sb->buf + base_at, sb->len - base_at);
	nar_name(w, path, nar);
	strbuf_addf(sb, "\nURL: nar/%s\n", nar);
	sha256_of(h3(x->content, pa->out, T_FILEHASH), filehash);
	sha256_of(h3(x->content, pa->out, T_NARHASH), narhash);
	if (pa->comp != Z_ABSENT)
		strbuf_addf(sb, "Compression: %s\nFileHash: %s\nFileSize: %llu\n",
			    comp_names[pa->comp], filehash, (unsigned long long)pa->file_size);
	strbuf_addf(sb, "NarHash: %s\nNarSize: %llu\nReferences:", narhash,
		    (unsigned long long)pa->nar_size);

	GROW(fs->offs, fs->alloc, (size_t)pa->nref + 1);
	fs->refv = xrealloc(fs->refv, fs->alloc * sizeof(*fs->refv));
	for (uint32_t i = 0; i < pa->nref; i++) {
		fs->offs[i] = fs->names.len;
		path_basename(w, w->refs[pa->ref_off + i], &fs->names);
		strbuf_addch(&fs->names, '\0');
	}
	for (uint32_t i = 0; i < pa->nref; i++)
		fs->refv[i] = fs->names.buf + fs->offs[i];
	/* Nix lists references sorted */
	qsort(fs->refv, pa->nref, sizeof(*fs->refv), cmp_cstr);
	for (uint32_t i = 0; i < pa->nref; i++) {
		strbuf_addch(sb, ' ');
		strbuf_addstr(sb, fs->refv[i]);
	}
	/* Nix writes "References: " with the space even when empty */
	if (!pa->nref)
		strbuf_addch(sb, ' ');
	strbuf_addch(sb, '\n');
	if (pa->deriver == 1) {
		strbuf_addstr(sb, "Deriver: ");
		basename_of(w, x->ident, x->pkg, x->line, x->vcount, -1, sb);
		strbuf_addch(sb, '\n');
	} else if (pa->deriver == 2) {
		strbuf_addstr(sb, "Deriver: unknown-deriver\n");
	}
	return sig_fingerprint(fp, STORE_DIR, fs->store_path.buf, narhash, pa->nar_size,
			       fs->refv, pa->nref, err, errsz);
}

/* ---- narinfos, in parallel: signing is most of the cost ------------ */

struct writer {
	const struct world *w;
	const struct sig_secret_key *key;
	int dirfd;
	const uint32_t *paths;   /* present paths */
	size_t n;
	int reuse;               /* files with the right size and mtime stay */
	atomic_size_t next;
	atomic_size_t written, kept;
	atomic_int failed;
	pthread_mutex_t lock;
	char errmsg[512];
};

static void writer_fail(struct writer *wr, const char *fmt, ...) ATTR_PRINTF(2, 3);

static void writer_fail(struct writer *wr, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&wr->lock);
	if (!atomic_load(&wr->failed)) {
		va_start(ap, fmt);
		vsnprintf(wr->errmsg, sizeof(wr->errmsg), fmt, ap);
		va_end(ap);
		atomic_store(&wr->failed, 1);
	}
	pthread_mutex_unlock(&wr->lock);
}

#define WRITE_CHUNK 64

/* Take chunks of paths until none is left; pr (the calling thread's
 * only) shows how far all threads are. */
static void writer_loop(struct writer *wr, struct progress *pr)
{
	const struct world *w = wr->w;
	struct strbuf sb = STRBUF_INIT, fp = STRBUF_INIT;
	struct fmt_scratch fs = {STRBUF_INIT, STRBUF_INIT, NULL, NULL, 0};
	size_t keylen = strlen(wr->key->name);
	char err[SIG_ERR_MAX], name[STORE_HASH_LEN + 9];

	while (!atomic_load(&wr->failed)) {
		size_t i = atomic_fetch_add(&wr->next, WRITE_CHUNK), end = i + WRITE_CHUNK;
		if (i >= wr->n)
			break;
		if (end > wr->n)
			end = wr->n;
		for (; i < end && !atomic_load(&wr->failed); i++) {
			uint32_t path = wr->paths[i];
			int64_t t = w->drvs[w->paths[path].drv].push;
			struct stat st;
			size_t want;

			if (format_narinfo(w, path, &sb, &fp, &fs, err, sizeof(err))) {
				writer_fail(wr, "internal error: %s", err);
				break;
			}
			memcpy(name, sb.buf + strlen("StorePath: " STORE_DIR "/"), STORE_HASH_LEN);
			memcpy(name + STORE_HASH_LEN, ".narinfo", 9);
			want = sb.len + strlen("Sig: ") + keylen + 1 + SIG_B64_LEN + 1;
			if (wr->reuse && !fstatat(wr->dirfd, name, &st, 0) && S_ISREG(st.st_mode) &&
			    (size_t)st.st_size == want && st.st_mtim.tv_sec == t &&
			    st.st_mtim.tv_nsec == 0) {
				atomic_fetch_add(&wr->kept, 1);
				continue;
			}
			strbuf_addstr(&sb, "Sig: ");
			if (sig_sign(wr->key, fp.buf, fp.len, &sb)) {
				writer_fail(wr, "cannot sign '%s'", name);
				break;
			}
			strbuf_addch(&sb, '\n');
			if (write_at(wr->dirfd, name, sb.buf, sb.len, t, 0644)) {
				writer_fail(wr, "cannot write 'cache/%s': %s", name, strerror(errno));
				break;
			}
			atomic_fetch_add(&wr->written, 1);
		}
		if (pr)
			progress_update(pr, atomic_load(&wr->written) + atomic_load(&wr->kept));
	}
	fmt_scratch_release(&fs);
	strbuf_release(&sb);
	strbuf_release(&fp);
}

static void *writer_thread(void *arg)
{
	writer_loop(arg, NULL);
	return NULL;
}

/* Write the narinfos of wr->paths, on every CPU.  0 or -1 (reported). */
static int write_narinfos(struct writer *wr, struct progress *pr)
{
	pthread_t th[7];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int nth = ncpu > 1 ? (int)(ncpu > 8 ? 8 : ncpu) - 1 : 0, started = 0;

	/* nixhash builds its decoding table on first use: build it now,
	 * before threads share it. */
	(void)store_hash_valid("00000000000000000000000000000000", STORE_HASH_LEN);
	if (wr->n < 256)
		nth = 0;
	for (int i = 0; i < nth; i++) {
		if (pthread_create(&th[i], NULL, writer_thread, wr))
			break;
		started++;
	}
	writer_loop(wr, pr);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (atomic_load(&wr->failed))
		return error("%s", wr->errmsg);
	return 0;
}

/* ---- keeping a directory exact ------------------------------------- */

typedef int (*keep_fn)(const void *ctx, const char *name);

/*
 * Remove the regular files in dir whose name ends with suffix and that
 * keep() does not want; a missing dir is fine.  Adds to *removed.
 * Returns 0 or -1 (reported).
 */
static int remove_stale(const char *dir, const char *suffix, keep_fn keep, const void *ctx,
			uint64_t *removed)
{
	DIR *d = opendir(dir);
	size_t sl = strlen(suffix);
	struct dirent *de;
	int rc = 0;

	if (!d)
		return errno == ENOENT ? 0 : error("cannot read '%s': %s", dir, strerror(errno));
	while ((errno = 0, de = readdir(d))) {
		size_t nl = strlen(de->d_name);
		struct stat st;

		if (nl < sl || memcmp(de->d_name + nl - sl, suffix, sl) || keep(ctx, de->d_name))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0)) {
			rc = error("cannot remove '%s/%s': %s", dir, de->d_name, strerror(errno));
			break;
		}
		(*removed)++;
	}
	if (!rc && errno)
		rc = error("cannot read '%s': %s", dir, strerror(errno));
	closedir(d);
	return rc;
}

struct hash_set {
	char (*v)[STORE_HASH_LEN];
	size_t n;
};

static int cmp_hash32(const void *a, const void *b)
{
	return memcmp(a, b, STORE_HASH_LEN);
}

static int keep_narinfo(const void *ctx, const char *name)
{
	const struct hash_set *hs = ctx;

	return strlen(name) == STORE_HASH_LEN + 8 &&
	       bsearch(name, hs->v, hs->n, STORE_HASH_LEN, cmp_hash32) != NULL;
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct name_set {
	char **v;
	size_t n;
};

static int keep_name(const void *ctx, const char *name)
{
	const struct name_set *ns = ctx;

	return bsearch(&name, ns->v, ns->n, sizeof(*ns->v), cmp_strp) != NULL;
}

struct nar_file {
	char name[64];
	int64_t time;            /* the first push of a path using it */
	uint64_t size;           /* its FileSize */
};

struct nar_set {
	struct nar_file *v;
	size_t n;
	int keep;                /* 0: --nar-stubs not given, keep none */
};

static int cmp_nar_file(const void *a, const void *b)
{
	const struct nar_file *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->time < y->time ? -1 : x->time > y->time;
}

static int keep_nar(const void *ctx, const char *name)
{
	const struct nar_set *ns = ctx;
	struct nar_file key;

	if (!ns->keep || strlen(name) >= sizeof(key.name))
		return 0;
	strcpy(key.name, name);
	for (size_t lo = 0, hi = ns->n; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(key.name, ns->v[mid].name);
		if (!c)
			return 1;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

static int write_nar_stubs(const char *dir, const struct nar_set *ns)
{
	struct strbuf text = STRBUF_INIT;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return error("cannot open '%s': %s", dir, strerror(errno));
	for (size_t i = 0; i < ns->n; i++) {
		struct stat st;
		strbuf_reset(&text);
		strbuf_addf(&text, "cachegc gen placeholder for nar/%s (FileSize %llu)\n",
			    ns->v[i].name, (unsigned long long)ns->v[i].size);
		if (!fstatat(fd, ns->v[i].name, &st, 0) && S_ISREG(st.st_mode) &&
		    (size_t)st.st_size == text.len && st.st_mtim.tv_sec == ns->v[i].time)
			continue;
		if (write_at(fd, ns->v[i].name, text.buf, text.len, ns->v[i].time, 0644)) {
			rc = error("cannot write '%s/%s': %s", dir, ns->v[i].name, strerror(errno));
			break;
		}
	}
	close(fd);
	strbuf_release(&text);
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

static int write_builds(struct world *w, const char *dir, uint64_t *count)
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
		basename_of(w, x->ident, x->pkg, x->line, x->vcount, -1, &sb);
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

/* ---- gen_run ------------------------------------------------------- */

#define PATHS_PER_PKG_GUESS 12.0
#define PILOT_PKGS 2500
#define GC_FRACTION 0.40   /* the cache holds this share of all bytes built */

void gen_options_init(struct gen_options *o)
{
	memset(o, 0, sizeof(*o));
	o->paths = GEN_DEFAULT_PATHS;
	o->seed = 1;
	parse_time(GEN_DEFAULT_START, &o->start);
	o->days = GEN_DEFAULT_DAYS;
	o->as_of = GEN_AS_OF_END;
	o->key_name = GEN_DEFAULT_KEY_NAME;
}

static uint32_t min_pkgs(void)
{
	return (uint32_t)(ARRAY_SIZE(hubs) + ARRAY_SIZE(cuda_hubs) + ARRAY_SIZE(famous_base) +
			  ARRAY_SIZE(famous_cuda) + 16);
}

/* Simulate the whole history of a world of npkgs packages, without the
 * cache or files; its store path count and bytes built. */
static void trial(const struct gen_options *opt, uint32_t npkgs, uint64_t *paths,
		  uint64_t *bytes, uint32_t *actual)
{
	struct world w;

	world_init(&w, opt, INT64_MAX);
	w.simulate_only = 1;
	world_build(&w, npkgs);
	simulate(&w, NULL, NULL);
	*paths = w.npaths;
	*bytes = w.total_bytes;
	*actual = w.npkgs;
	world_release(&w);
}

/*
 * Size the world to about opt->paths store paths: a small pilot gives
 * paths per package, then up to PLAN_ROUNDS trials at the estimated size
 * correct it (the ratio drifts with size: fixed hubs weigh less in big
 * worlds).  Sets *npkgs and *limit, the cache's size limit, a share of
 * all the bytes the chosen world builds.  Depends only on the options
 * that shape the history, never on as_of.
 */
#define PLAN_ROUNDS 3
#define PLAN_TOLERANCE 0.03

static void plan_world(const struct gen_options *opt, uint32_t *npkgs, uint64_t *limit)
{
	double want = (double)opt->paths, p;
	uint32_t np = (uint32_t)(want / PATHS_PER_PKG_GUESS), actual;
	uint64_t paths, bytes;
	struct progress pr;

	if (np < min_pkgs())
		np = min_pkgs();
	if (np > PILOT_PKGS)
		np = PILOT_PKGS;
	progress_start(&pr, "sizing the world", PLAN_ROUNDS + 1);
	for (int round = 0;; round++) {
		progress_update(&pr, (uint64_t)round);
		trial(opt, np, &paths, &bytes, &actual);
		p = (double)actual * want / (double)(paths ? paths : 1);
		if (p < min_pkgs())
			p = min_pkgs();
		if (p > 2e9)
			p = 2e9;
		if (round == PLAN_ROUNDS || fabs((double)paths - want) <= PLAN_TOLERANCE * want ||
		    (uint32_t)(p + 0.5) == actual)
			break;
		np = (uint32_t)(p + 0.5);
	}
	progress_finish(&pr);
	*npkgs = actual;
	*limit = (uint64_t)(GC_FRACTION * (double)bytes);
}

static char *params_text(const struct gen_options *o)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "cachegc gen 1\nseed %llu\npaths %llu\nstart %lld\ndays %u\nkey %s\n",
		    (unsigned long long)o->seed, (unsigned long long)o->paths,
		    (long long)o->start, o->days, o->key_name);
	if (o->no_gc)
		strbuf_addstr(&sb, "no-gc\n");
	if (o->daily)
		strbuf_addstr(&sb, "daily\n");
	return strbuf_detach(&sb);
}

static int write_keys(const struct world *w, const char *keydir,
		      const struct gen_options *opt, struct sig_secret_key *key,
		      struct gen_summary *s)
{
	unsigned char seed[SIG_KEY_BYTES];
	struct strbuf sb = STRBUF_INIT, name = STRBUF_INIT;
	char err[SIG_ERR_MAX];
	int rc = -1;

	fill_bytes(h2(w->seed, T_KEY), seed, sizeof(seed));
	if (sig_secret_from_seed(opt->key_name, seed, key, err, sizeof(err))) {
		error("--key-name: %s", err);
		goto out;
	}
	if (strchr(opt->key_name, '/')) {
		error("--key-name: '%s' must not contain '/'", opt->key_name);
		goto out;
	}
	sig_secret_format(key, &sb);
	strbuf_addf(&name, "%s.secret", opt->key_name);
	if (write_file(keydir, name.buf, sb.buf, 0600))
		goto out;
	strbuf_reset(&sb);
	sig_secret_format_public(key, &sb);
	snprintf(s->public_key, sizeof(s->public_key), "%s", sb.buf);
	strbuf_reset(&name);
	strbuf_addf(&name, "%s.public", opt->key_name);
	if (write_file(keydir, name.buf, sb.buf, 0644))
		goto out;
	rc = 0;
out:
	memset(seed, 0, sizeof(seed));
	strbuf_release(&sb);
	strbuf_release(&name);
	return rc;
}

int gen_run(const struct gen_options *opt, struct gen_summary *s)
{
	struct world w;
	struct outputs o;
	struct sig_secret_key key;
	struct progress pr;
	struct strbuf path = STRBUF_INIT;
	struct hash_set present = {0};
	struct nar_set nars = {0};
	struct name_set evnames = {0};
	struct writer wr;
	uint32_t *plist = NULL, npkgs;
	size_t np = 0;
	char *params = NULL, *old_params = NULL;
	size_t old_len;
	uint64_t limit, removed = 0;
	int rc = -1, cache_fd = -1, have_key = 0;

	memset(s, 0, sizeof(*s));
	memset(&o, 0, sizeof(o));
	memset(&key, 0, sizeof(key));
	world_init(&w, opt, 0);
	if (!opt->dir || !*opt->dir)
		return error("no directory given");
	if (opt->paths < 1 || opt->paths > GEN_MAX_PATHS)
		return error("--paths must be between 1 and %llu", GEN_MAX_PATHS);
	if (opt->days < 1 || opt->days > GEN_MAX_DAYS)
		return error("--days must be between 1 and %u", GEN_MAX_DAYS);

	/* the directories first: a bad DIR should fail before any work */
	if (mkdir_p(opt->dir))
		return -1;
	o.dir = xstrdup(opt->dir);
	strbuf_addf(&path, "%s/cache", opt->dir);
	if (mkdir_p(path.buf))
		goto out;
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/evals", opt->dir);
	if (mkdir_p(path.buf))
		goto out;
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/keys", opt->dir);
	if (mkdir_p(path.buf))
		goto out;

	plan_world(opt, &npkgs, &limit);
	world_init(&w, opt, 0);
	w.as_of = opt->as_of == GEN_AS_OF_END ? w.end : opt->as_of;
	w.limit = opt->no_gc ? UINT64_MAX : limit;
	world_build(&w, npkgs);
	if (write_keys(&w, path.buf, opt, &key, s))
		goto out;
	have_key = 1;

	/* Files written by the same world may stay; the stamp goes away
	 * while we work, so an interrupted run is never trusted. */
	params = params_text(opt);
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/gen-params", opt->dir);
	if (!read_file_capped(path.buf, 4096, &old_params, &old_len))
		wr.reuse = !strcmp(old_params, params);
	else
		wr.reuse = 0;
	if (unlink(path.buf) && errno != ENOENT) {
		error("cannot remove '%s': %s", path.buf, strerror(errno));
		goto out;
	}

	strbuf_reset(&path);
	strbuf_addf(&path, "%s/evals/manifest.tsv", opt->dir);
	o.manifest = fopen(path.buf, "w");
	if (!o.manifest) {
		error("cannot create '%s': %s", path.buf, strerror(errno));
		goto out;
	}
	progress_start(&pr, "simulating evaluations", w.nevals);
	rc = simulate(&w, &o, &pr);
	progress_finish(&pr);
	if (fclose(o.manifest) && !rc)
		rc = error("cannot write '%s': %s", path.buf, strerror(errno));
	o.manifest = NULL;
	if (rc)
		goto out;
	rc = -1;
	evnames.v = o.eval_files;
	evnames.n = o.neval_files;
	qsort(evnames.v, evnames.n, sizeof(*evnames.v), cmp_strp);
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/evals", opt->dir);
	if (remove_stale(path.buf, ".jsonl", keep_name, &evnames, &removed))
		goto out;
	if (write_builds(&w, opt->dir, &s->builds))
		goto out;

	/* what the cache holds as of as_of */
	for (size_t d = 0; d < w.ndrvs; d++) {
		const struct drv *x = &w.drvs[d];
		if (x->state != C_IN || x->push > w.as_of)
			continue;
		for (uint32_t k = 0; k < (uint32_t)__builtin_popcount(w.pkgs[x->pkg].outs); k++) {
			GROW(plist, np, s->present + 1);
			plist[s->present++] = x->path0 + k;
		}
	}
	present.v = xmalloc((s->present ? s->present : 1) * sizeof(*present.v));
	nars.v = xmalloc((s->present ? s->present : 1) * sizeof(*nars.v));
	for (size_t i = 0; i < s->present; i++) {
		struct strbuf b = STRBUF_INIT;
		const struct path *pa = &w.paths[plist[i]];
		path_basename(&w, plist[i], &b);
		memcpy(present.v[i], b.buf, STORE_HASH_LEN);
		strbuf_release(&b);
		nar_name(&w, plist[i], nars.v[i].name);
		nars.v[i].time = w.drvs[pa->drv].push;
		nars.v[i].size = pa->file_size;
		s->present_nar_bytes += pa->nar_size;
	}
	present.n = s->present;
	qsort(present.v, present.n, STORE_HASH_LEN, cmp_hash32);
	qsort(nars.v, s->present, sizeof(*nars.v), cmp_nar_file);
	for (size_t i = 0; i < s->present; i++) {   /* one entry per NAR file */
		if (nars.n && !strcmp(nars.v[nars.n - 1].name, nars.v[i].name))
			continue;
		nars.v[nars.n++] = nars.v[i];
		s->present_file_bytes += nars.v[i].size;
	}
	nars.keep = opt->nar_stubs;
	s->nar_files = nars.n;

	strbuf_reset(&path);
	strbuf_addf(&path, "%s/cache", opt->dir);
	if (remove_stale(path.buf, ".narinfo", keep_narinfo, &present, &s->narinfos_deleted))
		goto out;
	if (write_file(path.buf, "nix-cache-info",
		       "StoreDir: " STORE_DIR "\nWantMassQuery: 1\nPriority: 40\n", 0644))
		goto out;
	cache_fd = open(path.buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cache_fd < 0) {
		error("cannot open '%s': %s", path.buf, strerror(errno));
		goto out;
	}
	wr.w = &w;
	wr.key = &key;
	wr.dirfd = cache_fd;
	wr.paths = plist;
	wr.n = s->present;
	atomic_init(&wr.next, 0);
	atomic_init(&wr.written, 0);
	atomic_init(&wr.kept, 0);
	atomic_init(&wr.failed, 0);
	pthread_mutex_init(&wr.lock, NULL);
	wr.errmsg[0] = '\0';
	progress_start(&pr, "writing narinfos", wr.n);
	rc = write_narinfos(&wr, &pr);
	progress_finish(&pr);
	pthread_mutex_destroy(&wr.lock);
	s->narinfos_written = atomic_load(&wr.written);
	s->narinfos_kept = atomic_load(&wr.kept);
	if (rc)
		goto out;
	rc = -1;

	strbuf_addstr(&path, "/nar");
	if (opt->nar_stubs && (mkdir_p(path.buf) || write_nar_stubs(path.buf, &nars)))
		goto out;
	if (remove_stale(path.buf, ".nar", keep_nar, &nars, &removed) ||
	    remove_stale(path.buf, ".xz", keep_nar, &nars, &removed) ||
	    remove_stale(path.buf, ".zst", keep_nar, &nars, &removed) ||
	    remove_stale(path.buf, ".bz2", keep_nar, &nars, &removed))
		goto out;

	if (write_file(opt->dir, "gen-params", params, 0644))
		goto out;

	s->packages = w.npkgs;
	s->drvs = w.ndrvs;
	s->paths = w.npaths;
	for (size_t d = 0; d < w.ndrvs; d++)
		if (w.drvs[d].status != S_OK)
			s->failed_drvs++;
	s->pushes = w.pushes;
	s->evictions = w.evictions;
	s->gc_limit_bytes = w.limit;
	s->evaluations = o.evaluations;
	s->evaluations_total = w.nevals;
	s->jobs = o.jobs;
	s->eval_errors = o.eval_errors;
	s->start = w.start;
	s->end = w.end;
	s->as_of = w.as_of;
	rc = 0;
out:
	if (o.manifest)
		fclose(o.manifest);
	if (cache_fd >= 0)
		close(cache_fd);
	for (size_t i = 0; i < o.neval_files; i++)
		free(o.eval_files[i]);
	free(o.eval_files);
	free(o.dir);
	if (have_key)
		sig_secret_release(&key);
	free(plist);
	free(present.v);
	free(nars.v);
	free(params);
	free(old_params);
	strbuf_release(&path);
	world_release(&w);
	return rc;
}
