/*
 * realnames.c - real nixpkgs attribute names for the sample world's
 * generated packages (names are facts), so a report on a generated cache
 * reads like one on a real CUDA cache.  Four lists: CUDA and not, each
 * top-level and python3Packages (the prefix is added by the caller).  None
 * repeats an attr of packages.c's fixed tables; a world needing more
 * names than a list holds names the rest with syllables.
 */
#include "gen_private.h"

/* Packages built with CUDA support (nixpkgs' cudaSupport / cudaPackages). */
static const char *const cuda_top[] = {
	"cudaPackages.cuda_nvrtc", "cudaPackages.cuda_nvtx", "cudaPackages.cuda_nvml_dev",
	"cudaPackages.cuda_profiler_api", "cudaPackages.cuda_sanitizer_api",
	"cudaPackages.cuda_gdb", "cudaPackages.cuda_cuobjdump", "cudaPackages.cuda_nvdisasm",
	"cudaPackages.cuda_nvprune", "cudaPackages.libnpp", "cudaPackages.libnvjpeg",
	"cudaPackages.libcufile", "cudaPackages.nsight_compute", "cudaPackages.nsight_systems",
	"cudaPackages.cudatoolkit", "cudaPackages.cuda-samples", "cudaPackages.nccl-tests",
	"cudaPackages.cuda_demo_suite", "cudaPackages.libnvjitlink", "cudaPackages.cusparselt",
	"cudaPackages.cuda_cuxxfilt", "cudaPackages.cuda_opencl", "cudaPackages.fabricmanager",
	"cudaPackages.cuda_compat", "xgboost", "lightgbm", "catboost", "dlib", "openmm",
	"lammps", "hashcat", "john", "gpu-burn", "nvtopPackages.nvidia", "btop",
	"obs-studio", "gpu-screen-recorder", "tiny-cuda-nn", "petsc", "sundials", "kokkos",
	"arrayfire", "elpa", "cp2k", "nvidia-container-toolkit", "libnvidia-container",
	"whisper-cpp", "ctranslate2", "koboldcpp", "local-ai", "ollama-cuda",
	"colmapWithCuda", "openvino", "mumax", "relion", "cudaPackages.cuda_nvprof",
	"cudaPackages.cuda_documentation", "cudaPackages.cuda_cupti_static",
	"cudaPackages.libcusolvermg", "cudaPackages.cuda_nsight", "amgx", "ginkgo", "hypre",
	"magma-cuda-static", "ffmpeg-headless", "mpv", "jellyfin-ffmpeg",
	"sunshine", "alvr", "nccl-tests", "gromacsCudaMpi", "paraview",
	"ucc", "osu-micro-benchmarks", "mpich", "apptainer", "singularity", "davinci-resolve",
	"nvidia-vaapi-driver", "nvtopPackages.full", "zenith-nvidia", "piper-tts", "libtorch-bin",
	"alicevision", "meshroom", "openmvs", "openmvg", "ceres-solver", "gtsam", "pcl", "vtk",
	"itk", "elastix", "text-generation-inference", "tabby", "lmstudio", "houdini",
	"nvidia-system-monitor-qt", "gwe", "mangohud", "moonlight-qt", "obs-studio-plugins.obs-nvfbc",
	"vowpal-wabbit", "caffe", "mxnet", "libtensorflow", "dcgm", "prometheus-dcgm-exporter",
	
};

static const char *const cuda_py[] = {
	"pycuda", "pynvml", "nvidia-ml-py", "pytorch-lightning", "torchmetrics", "flax",
	"optax", "dm-haiku", "torch-geometric", "kornia", "timm", "diffusers", "peft", "vllm",
	"xgboost", "lightgbm", "catboost", "mmcv", "spacy", "thinc", "tensorflow-probability",
	"keras", "gpytorch", "botorch", "pyro-ppl", "ray", "onnxruntime", "ctranslate2",
	"faster-whisper", "openai-whisper", "open-clip-torch", "sentence-transformers",
	"monai", "torchio", "torchsde", "faiss", "deepspeed", "gpustat", "nvitop",
	"torch-audiomentations", "torchdiffeq", "jax-cuda12-plugin", 
	"llama-cpp-python", "ultralytics", "segment-anything", "lpips", "pytorch-metric-learning",
	"tensordict", "torchrl", "gymnasium", "stable-baselines3", 
	"einops", "safetensors", "tokenizers", "sentencepiece", "datasets", "evaluate",
	"huggingface-hub", "apex", "flash-attn", "opencv4", "dask-cuda",
	"cuda-python", "pytensor", "pymc", "numpyro", "jaxopt", "equinox",
	"chex", "orbax-checkpoint", "tensorboard", "wandb", "mlflow",
};

/* Everything else: libraries and tools a CUDA cache holds beside. */
static const char *const base_top[] = {
	"ffmpeg", "git", "perl", "gnumake", "pkg-config", "ninja", "meson", "llvm", "clang",
	"rustc", "cargo", "go", "nodejs", "libuv", "libxslt", "libyaml", "pcre2", "gmp",
	"mpfr", "libmpc", "readline", "gettext", "libiconv", "util-linux", "systemd", "dbus",
	"glib", "gtk3", "cairo", "pango", "harfbuzz", "freetype", "fontconfig", "xorg.libX11",
	"mesa", "libGL", "wayland", "libdrm", "libva", "libvdpau", "alsa-lib", "pulseaudio",
	"pipewire", "gst_all_1.gstreamer", "libtiff", "libwebp", "giflib", "lcms2", "openexr",
	"imath", "libraw", "x264", "x265", "libvpx", "libopus", "libogg", "libvorbis", "flac",
	"lame", "hdf5", "netcdf", "fftw", "lapack", "blas", "eigen", "tbb", "gflags", "glog",
	"gtest", "gbenchmark", "fmt", "spdlog", "nlohmann_json", "rapidjson", "yaml-cpp",
	"jsoncpp", "zstd", "lz4", "snappy", "brotli", "libarchive", "nghttp2", "c-ares", "grpc",
	"flatbuffers", "capnproto", "thrift", "libevent", "libssh2", "krb5", "cyrus_sasl",
	"openldap", "libxcrypt", "pam", "acl", "attr", "libcap", "elfutils", "libunwind",
	"gperftools", "jemalloc", "mimalloc", "hwloc", "numactl", "rdma-core", "libfabric",
	"pmix", "munge", "slurm", "gdb", "valgrind", "strace", "htop", "tmux", "vim", "less",
	"gnused", "gnugrep", "gawk", "findutils", "diffutils", "gnutar", "gzip", "unzip",
	"file", "which", "patchelf", "autoconf", "automake", "libtool", "bison", "flex", "m4",
	"texinfo", "help2man", "swig", "doxygen", "graphviz", "gnuplot", "imagemagick",
	"poppler", "qpdf", "ghostscript", "libjxl", "dav1d", "aom", "svt-av1", "libass",
	"fribidi", "libsndfile", "portaudio", "SDL2", "glfw", "glew", "vulkan-loader",
	"vulkan-headers", "spirv-tools", "shaderc", "libglvnd", "libxkbcommon", "libinput",
	"libusb1", "pciutils", "usbutils", "kmod", "lvm2", "cryptsetup", "e2fsprogs",
	"btrfs-progs", "xfsprogs", "nfs-utils", "openssh", "rsync", "wget", "cacert", "tzdata",
	"iana-etc", "shadow", "sudo", "nix", "nix-output-monitor", "cachix", "attic-client",
	"harmonia", "nix-eval-jobs", "hydra", "postgresql", "redis", "nginx", "caddy",
	"prometheus", "grafana", "loki", "minio", "rclone", "restic", "borgbackup",
};

static const char *const base_py[] = {
	"six", "setuptools", "wheel", "packaging", "attrs", "certifi", "idna", "urllib3",
	"charset-normalizer", "click", "rich", "pydantic", "fastapi", "uvicorn", "starlette",
	"aiohttp", "yarl", "multidict", "frozenlist", "async-timeout", "psutil", "pytest",
	"hypothesis", "coverage", "mock", "pandas", "matplotlib", "seaborn", "scikit-learn",
	"scikit-image", "h5py", "numexpr", "bottleneck", "pyarrow", "polars", "dask",
	"distributed", "cloudpickle", "msgpack", "grpcio", "absl-py", "fsspec", "regex",
	"tabulate", "termcolor", "colorama", "python-dateutil", "pytz", "tzdata", "markupsafe",
	"pygments", "docutils", "sphinx", "cython", "cffi", "pycparser", "cryptography",
	"pyopenssl", "lxml", "beautifulsoup4", "html5lib", "pyzmq", "tornado", "jupyter-core",
	"ipython", "traitlets", "mpmath", "opt-einsum", "ml-dtypes", "wrapt", "decorator",
	"joblib", "threadpoolctl", "imageio", "tifffile", "scikit-build", "ninja", "cmake",
	"setuptools-scm", "hatchling", "flit-core", "poetry-core", "toml", "tomli", "pyparsing",
	"kiwisolver", "cycler", "fonttools", "contourpy", "pooch", "jsonschema", "referencing",
	"rpds-py", "platformdirs", "filetype", "sniffio", "anyio", "httpx", "httpcore", "h11",
	"websockets", "jedi", "parso", "prompt-toolkit", "wcwidth", "pexpect", "ptyprocess",
	"sqlalchemy", "alembic", "greenlet", "xxhash", "zstandard", "lz4", "brotli", "orjson",
	"ujson", "simplejson", "googleapis-common-protos", "grpcio-tools",
	"pyjwt", "oauthlib", "requests-oauthlib", "boto3", "botocore", "s3transfer", "jmespath",
	"gitpython", "smmap", "gitdb", "sh", "invoke", "fabric", "paramiko", "bcrypt", "pynacl",
	"google-cloud-translate", "google-cloud-vision", "google-crc32c", "google-generativeai",
	"google-pasta", "google-re2", "google-resumable-media", "googlemaps", "gpiozero",
	"gprof2dot", "gpxpy", "gpy", "gql", "gradio", "gradio-client", "grafanalib", "grandalf",
	"grapheme", "graphene", "graphql-core", "graphql-relay", "graphtage", "graphviz",
	"great-tables", "green", "grequests", "griffe", "grip", "grpc-google-iam-v1",
	"grpc-interceptor", "grpcio-channelz", "grpcio-health-checking", "grpcio-reflection",
	"grpcio-status", "grpclib", "gruut", "gsd", "gspread", "gssapi", "gstools", "gtts",
	"guessit", "gudhi", "guidance", "gunicorn", "guppy3", "gwcs", "gym", "gym-notices", "gyp",
	"h2", "h3", "h5io", "h5netcdf", "hachoir", "hatch-vcs", "hatch-fancy-pypi-readme",
	"haversine", "hcloud", "hdbscan", "hdfs", "heapdict", "hexbytes", "hexdump", "hickle",
	"highdicom", "highspy", "hidapi", "hf-transfer", "hdf5plugin", "halo", "hankel",
};

static const char *const *const lists[2][2] = {{base_top, base_py}, {cuda_top, cuda_py}};
static const uint32_t lens[2][2] = {
	{ARRAY_SIZE(base_top), ARRAY_SIZE(base_py)},
	{ARRAY_SIZE(cuda_top), ARRAY_SIZE(cuda_py)},
};

const char *gen_real_name(int cuda, int python, uint32_t i)
{
	cuda = !!cuda;
	python = !!python;
	return i < lens[cuda][python] ? lists[cuda][python][i] : NULL;
}

uint32_t gen_real_names(int cuda, int python)
{
	return lens[!!cuda][!!python];
}
