#!/bin/sh
# tests/interop/test_rebuild_nix.sh - `cachegc rebuild` against real Nix.
# A world evaluated and built with Nix, pushed with `nix copy`; then the
# latest master evaluation loses python, cudnn, nccl and both outputs of
# torch.  jax (present) lacks python and cudnn; torch lacks itself, its
# lib output and python: the two share python, and each completes other
# jobs.  Scores, charged bytes, completions and unlocks are checked
# against figures worked out here from the narinfos' FileSize; then the
# weights, the survival model at both ends of --limit, and --drvs.
. "$(dirname "$0")/../lib/lib.sh"
. "$ROOT/tests/lib/nix.sh"
. "$ROOT/tests/lib/evalworld.sh"
need jq sqlite3 awk
nix_setup

W="$T/world"
CACHE="$T/cache"
DB="$T/db"
mkdir -p "$W" "$CACHE"
W=$(cd "$W" && pwd -P)
nonce=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
cat >"$W/world.nix" <<EOF
{ caps ? [ "8.6" ], rev ? "r1" }:
let
  nonce = "$nonce";
  capsStr = builtins.concatStringsSep "," caps;
  mk = name: script: derivation {
    name = "cgr-\${name}";
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" "/bin/mkdir -p \$out && echo \${nonce} > \$out/nonce && \${script}" ];
  };
in rec {
  zlib = mk "zlib" "echo zlib > \$out/x";
  python = mk "python" "echo \${rev} \${zlib} > \$out/refs";
  cudart = mk "cudart" "echo \${capsStr} \${rev} > \$out/caps";
  nccl = mk "nccl" "echo \${capsStr} \${rev} > \$out/caps";
  cudnn = mk "cudnn" "echo \${capsStr} \${rev} > \$out/caps";
  torch = derivation {
    name = "cgr-torch";
    system = builtins.currentSystem;
    outputs = [ "out" "lib" ];
    builder = "/bin/sh";
    args = [ "-c" "/bin/mkdir -p \$out \$lib && echo \${nonce} \${capsStr} > \$lib/caps && echo \${python} \${cudart} \$lib > \$out/refs" ];
  };
  jax = mk "jax" "echo \${python} \${cudnn} > \$out/refs";
  hello = mk "hello" "echo \${rev} > \$out/x";
  failing = mk "failing" "echo \${rev}; exit 1";
  queuedpkg = mk "queued" "echo \${rev} > \$out/x";
  notpushed = mk "notpushed" "echo \${rev} > \$out/x";
}
EOF
ATTRS="zlib python cudart nccl cudnn torch jax hello failing queuedpkg notpushed"
hash_of() { basename "$1" | cut -c1-32; }
cg() { $CG --db "$DB" "$@"; }

jobs m1 "8.6" r1      # master, older
jobs m2 "8.6" r2      # master, latest
nix_keys cgr-key
build m1 zlib python cudart nccl cudnn torch jax hello notpushed
build m2 zlib python cudart nccl cudnn torch jax hello notpushed
# shellcheck disable=SC2046
nix_push "$CACHE" "$T/cgr-key.secret" $(for a in zlib python cudart nccl cudnn jax hello notpushed; do out m1 "$a"; done) \
	"$(out m1 torch)" "$(out m1 torch lib)"
# shellcheck disable=SC2046
nix_push "$CACHE" "$T/cgr-key.secret" $(for a in zlib python cudart nccl cudnn jax hello; do out m2 "$a"; done) \
	"$(out m2 torch)" "$(out m2 torch lib)"
# Push times (narinfo mtimes) fixed, so the LRU order below does not hang
# on which paths nix copy wrote within the same second: zlib and the
# latest hello are the least recently pushed.
touch -d 2029-12-31T00:00:00Z "$CACHE"/*.narinfo
touch -d 2029-12-30T00:00:00Z "$CACHE/$(hash_of "$(out m1 zlib)").narinfo" \
	"$CACHE/$(hash_of "$(out m2 hello)").narinfo"
cg --now 2030-01-02 crawl "$CACHE" >"$T/crawl1" 2>&1 || fail crawl1 "$(cat "$T/crawl1")"

# fs NAME ATTR [OUTPUT]: the FileSize of that output's narinfo.
fs() { sed -n 's/^FileSize: //p' "$CACHE/$(hash_of "$(out "$1" "$2" "${3:-out}")").narinfo"; }
FS_PY=$(fs m2 python) FS_CUDNN=$(fs m2 cudnn) FS_NCCL=$(fs m2 nccl)
FS_TORCH=$(fs m2 torch) FS_LIB=$(fs m2 torch lib) FS_NP1=$(fs m1 notpushed)
for a in python cudnn nccl; do rm "$CACHE/$(hash_of "$(out m2 $a)").narinfo"; done
rm "$CACHE/$(hash_of "$(out m2 torch)").narinfo" "$CACHE/$(hash_of "$(out m2 torch lib)").narinfo"
cg --now 2030-01-03 crawl "$CACHE" >"$T/crawl2" 2>&1 || fail crawl2 "$(cat "$T/crawl2")"

cg import-eval --branch master --rev r1 --capabilities 8.6 --time 2030-01-01T00:00:00Z "$W/m1.jsonl" >/dev/null
cg import-eval --branch master --rev r2 --capabilities 8.6 --time 2030-01-01T12:00:00Z "$W/m2.jsonl" >/dev/null
t2=$(date -u -d 2030-01-01T13:00:00Z +%s)
{
	for a in zlib python cudart nccl cudnn torch jax hello notpushed; do
		printf '{"drvPath":"%s","status":"succeeded","time":%s}\n' "$(drv m2 "$a")" "$t2"
	done
	printf '{"drvPath":"%s","status":"failed","time":%s}\n' "$(drv m2 failing)" "$t2"
	printf '{"drvPath":"%s","status":"queued","time":%s}\n' "$(drv m2 queuedpkg)" "$t2"
} >"$T/builds.jsonl"
cg import-builds "$T/builds.jsonl" >/dev/null || fail import-builds "import-builds failed"

NOW=2030-01-04
cg --now $NOW rebuild --json >"$T/q.json" 2>"$T/q.err" || fail rebuild-runs "$(cat "$T/q.err")"
q() { jq -r "$1" "$T/q.json"; }
item() { q ".items[] | select(.attr == \"$1\" and .output == \"${2:-out}\") | .$3"; }
notq() { q ".notQueued[] | select(.attr == \"$1\" and .output == \"${2:-out}\") | .$3"; }

# Hand-worked: value of every master job is 2 (the default weights);
# score = (own value + value of what the push completes) / (1 + GiB).
score() { awk -v v="$1" -v b="$2" 'BEGIN { printf "%.17g", v / (1 + b / 1073741824) }'; }
near() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-9 * (b < 0 ? -b : b) + 1e-12) }'; }
want_jax=$(score 6 $((FS_PY + FS_CUDNN)))         # completes python and cudnn
want_torch=$(score 6 $((FS_TORCH + FS_LIB + FS_PY)))  # completes python and torch^lib
if near "$(item jax out score)" "$want_jax"; then pass score-jax; else fail score-jax "$(item jax out score) != $want_jax"; fi
if near "$(item torch out score)" "$want_torch"; then pass score-torch; else fail score-torch "$(item torch out score) != $want_torch"; fi
# The smaller push goes first and pays for the shared python; torch then
# pays only its own outputs.
if [ $((FS_PY + FS_CUDNN)) -lt $((FS_TORCH + FS_LIB + FS_PY)) ]; then first=jax second=torch; else first=torch second=jax; fi
expect_eq rank-first "$(q '.items[0].attr')" "$first"
expect_eq rank-second "$(q '.items[1].attr')" "$second"
if [ $first = jax ]; then
	expect_eq push-bytes-jax "$(item jax out pushBytes)" $((FS_PY + FS_CUDNN))
	expect_eq push-bytes-torch-shared-once "$(item torch out pushBytes)" $((FS_TORCH + FS_LIB))
	expect_eq unlocks-jax "$(item jax out unlocks)" 2
	expect_eq unlocks-torch "$(item torch out unlocks)" 1
	expect_eq python-completed-by "$(notq python out completedBy)" 1
else
	expect_eq push-bytes-torch "$(item torch out pushBytes)" $((FS_TORCH + FS_LIB + FS_PY))
	expect_eq push-bytes-jax-shared-once "$(item jax out pushBytes)" "$FS_CUDNN"
	expect_eq unlocks-torch "$(item torch out unlocks)" 2
	expect_eq unlocks-jax "$(item jax out unlocks)" 1
	expect_eq python-completed-by "$(notq python out completedBy)" 1
fi
expect_eq lib-completed-by "$(notq torch lib completedBy)" "$(item torch out rank)"
expect_eq cudnn-not-queued "$(notq cudnn out completedBy)" "$(item jax out rank)"
expect_eq statuses "$(q '[.items[] | "\(.attr):\(.status)"] | sort | join(" ")')" \
	"jax:partial nccl:evicted notpushed:not-pushed torch:evicted"
expect_eq ranks "$(q '[.items[].rank] | join(",")')" "1,2,3,4"
# notpushed was never in the cache: its size is the older build's.
expect_eq estimate-bytes "$(item notpushed out pushBytes)" "$FS_NP1"
expect_eq estimate-flag "$(item notpushed out bytesEstimated)" true
if near "$(item nccl out score)" "$(score 2 "$FS_NCCL")"; then pass score-nccl; else fail score-nccl "$(item nccl out score) != $(score 2 "$FS_NCCL") (FileSize $FS_NCCL, pushBytes $(item nccl out pushBytes))"; fi
expect_eq failed-apart "$(q '[.failed[] | "\(.attr):\(.status)"] | sort | join(" ")')" "broken:eval-error failing:failed queuedpkg:queued"
expect_eq survives-unmodelled "$(q '[.items[].survives] | unique | join(",")')" ""

# Weights: nccl worth 10 goes first.
printf 'attr nccl 10\n' >"$T/weights"
cg --now $NOW rebuild --json --weights "$T/weights" >"$T/w.json"
expect_eq weights-first "$(jq -r '.items[0].attr' "$T/w.json")" nccl
expect_eq weights-value "$(jq -r '.items[0].value' "$T/w.json")" 20

# --drvs: the queue's derivations in order, each once.
cg --now $NOW rebuild --drvs >"$T/drvs"
expect_eq drvs "$(tr '\n' ' ' <"$T/drvs")" "$(q '[.items[].drvPath] | join(" ")') "
cg --now $NOW rebuild --max 2 --json >"$T/max.json"
expect_eq max "$(jq '.items | length' "$T/max.json")" 2
cg --now $NOW rebuild >"$T/q.txt"
if grep -q "^rebuild queue for .*: 4 items" "$T/q.txt" && grep -q "failed or queued" "$T/q.txt"; then
	pass text; else fail text "$(cat "$T/q.txt")"; fi
cg --now $NOW rebuild --markdown >"$T/q.md"
if grep -q '^| rank | score' "$T/q.md"; then pass markdown; else fail markdown "$(cat "$T/q.md")"; fi

# The survival model: with room for everything, all stay; with no room,
# the GC takes every push again and the queue empties; a larger limit
# never keeps fewer.
cg --now $NOW rebuild --json --limit 1T --policy priority >"$T/big.json"
expect_eq survives-big "$(jq -r '[.items[] | select(.attr != "notpushed") | .survives] | unique | join(",")' "$T/big.json")" true
expect_eq survives-big-all "$(jq '.items | length' "$T/big.json")" 4
# notpushed was never in the cache: the model knows neither its size nor
# its closure, so it stays queued, unmodelled.
cg --now $NOW rebuild --json --limit 1 --policy priority >"$T/none.json"
expect_eq survives-none "$(jq -r '[.items[] | "\(.attr):\(.survives)"] | join(" ")' "$T/none.json")" notpushed:null
expect_eq survives-none-dropped "$(jq -r '[.notQueued[] | select(.dropped == "gc-takes-it") | .attr] | sort | join(" ")' "$T/none.json")" "jax nccl torch"
prev=0
for lim in 1 4K 8K 16K 32K 64K 1M; do
	k=$(cg --now $NOW rebuild --json --limit $lim --policy priority | jq '.items | length')
	[ "$k" -ge "$prev" ] || fail survives-monotonic "limit $lim keeps $k, a smaller one kept $prev"
	prev=$k
done
pass survives-monotonic-checked
# Least recently used first, hello and zlib worth 10: with too little
# room, a push the GC makes room for by taking hello's or zlib's paths
# is dropped, however it ranked; what is dropped so is worth less.
printf 'attr hello 10\nattr zlib 10\n' >"$T/w10"
stored=$(jq .storedBytes "$T/big.json")
seen=0
for k in 1 2 3 4 5 6 7 8 9 10; do
	lim=$((stored - k * stored / 12))
	cg --now $NOW rebuild --json --limit $lim --policy cachix --weights "$T/w10" >"$T/lru.json"
	n=$(jq '[.notQueued[] | select(.dropped == "pushes-out-more-valuable")] | length' "$T/lru.json")
	bad=$(jq '[.notQueued[] | select(.dropped == "pushes-out-more-valuable" and .value >= 10)] | length' "$T/lru.json")
	seen=$((seen + n))
	[ "$bad" = 0 ] || fail lru-drops-less-valuable "limit $lim dropped an item worth 10"
done
[ "$seen" -gt 0 ] && pass lru-drops-what-pushes-out-more || fail lru-drops-what-pushes-out-more "no limit below $stored dropped one"
cg --now $NOW rebuild --policy priority >"$T/nolimit" 2>&1
expect_eq policy-needs-limit $? 2

exit "$failures"
