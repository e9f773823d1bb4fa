#!/bin/sh
# tests/interop/test_coverage_nix.sh - coverage and signature verdicts
# against real Nix.  One expression, a function of cudaCapabilities and a
# revision, is evaluated for three branches and two capability sets (the
# non-CUDA part is shared, the CUDA part differs); nix-eval-jobs-shaped
# lines come from the same expression.  Outputs are built with nix-build and
# pushed with `nix copy` under two keys (content-addressed paths and torch
# under the second, which is revoked later); narinfos are deleted between
# crawls to make partial and evicted outputs.  Every path's verdict from
# `cachegc verify` must equal `nix store verify --sigs-needed 1` with the
# same trusted keys, and each coverage status must appear where the
# construction puts it, now and replayed at earlier moments.
. "$(dirname "$0")/../lib/lib.sh"
. "$ROOT/tests/lib/nix.sh"
. "$ROOT/tests/lib/evalworld.sh"
need jq sqlite3 awk
nix_setup

W="$T/world"
CACHE="$T/cache"
DB="$T/db"
mkdir -p "$W/srcdir" "$CACHE"
W=$(cd "$W" && pwd -P)
echo "source of $(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" >"$W/srcdir/README"
nonce=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')

# --- the world ------------------------------------------------------------------

#   zlib -> src (builtins.path: CA, recursive)      shared by everything
#   python -> zlib, note (builtins.toFile: CA text) per revision
#   cudart, nccl, cudnn                             per revision and capabilities
#   torch (out, lib) -> python, cudart              per revision and capabilities
#   jax -> python, cudnn                            per revision and capabilities
#   nondet, failing, queuedpkg, hello               per revision
#   broken                                          fails to evaluate
cat >"$W/world.nix" <<EOF
{ caps ? [ "8.6" ], rev ? "r1" }:
let
  nonce = "$nonce";
  capsStr = builtins.concatStringsSep "," caps;
  mk = name: script: derivation {
    name = "cg-\${name}";
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" "/bin/mkdir -p \$out && echo \${nonce} > \$out/nonce && \${script}" ];
  };
  src = builtins.path { path = ./srcdir; name = "cg-src-\${nonce}"; };
  note = builtins.toFile "cg-note-\${nonce}" "python notes";
in rec {
  zlib = mk "zlib" "echo \${src} > \$out/src";
  python = mk "python" "echo \${rev} \${zlib} \${note} > \$out/refs";
  cudart = mk "cudart" "echo \${capsStr} \${rev} > \$out/caps";
  nccl = mk "nccl" "echo \${capsStr} \${rev} > \$out/caps";
  cudnn = mk "cudnn" "echo \${capsStr} \${rev} > \$out/caps";
  torch = derivation {
    name = "cg-torch";
    system = builtins.currentSystem;
    outputs = [ "out" "lib" ];
    builder = "/bin/sh";
    args = [ "-c" "/bin/mkdir -p \$out \$lib && echo \${nonce} \${capsStr} > \$lib/caps && echo \${python} \${cudart} \$lib > \$out/refs" ];
  };
  jax = mk "jax" "echo \${python} \${cudnn} > \$out/refs";
  nondet = mk "nondet" "echo \${rev} > \$out/x";
  failing = mk "failing" "echo \${rev}; exit 1";
  queuedpkg = mk "queued" "echo \${rev} > \$out/x";
  hello = mk "hello" "echo \${rev} > \$out/x";
  broken = throw "broken: this package fails to evaluate";
}
EOF
ATTRS="zlib python cudart nccl cudnn torch jax nondet failing queuedpkg hello"
hash_of() { basename "$1" | cut -c1-32; }

# push KEY PATH...: nix copy, then forget Nix's narinfo disk cache so the
# next push sees what this one wrote.
push() {
	pk=$1
	shift
	nix_push "$CACHE" "$T/$pk.secret" "$@"
	rm -rf "$XDG_CACHE_HOME/nix"
}

#            name   capabilities  rev
jobs m1 "8.6" r1      # master, older
jobs m2 "8.6" r2      # master, latest
jobs m3 "8.9,8.6" r2  # master, two capabilities
jobs u1 "8.6" u1      # nixos-unstable
expect_eq world-shared-zlib "$(out m1 zlib)" "$(out u1 zlib)"
expect_eq world-shared-python "$(out m2 python)" "$(out m3 python)"
if [ "$(out m2 torch)" != "$(out m3 torch)" ] && [ "$(out m2 cudart)" != "$(out m3 cudart)" ]; then
	pass world-cuda-differs
else
	fail world-cuda-differs "capabilities did not change the CUDA paths"
fi

nix_keys cg-key-1
nix_keys cg-key-2
K1=$(cat "$T/cg-key-1.public")
K2=$(cat "$T/cg-key-2.public")

build m1 zlib python cudart nccl cudnn torch jax nondet
build m2 zlib python cudart nccl cudnn torch jax nondet
build m3 zlib python
SRC=$(nix-store -qR "$(out m1 zlib)" | grep -- "-cg-src-$nonce\$")
NOTE=$(nix-store -qR "$(out m1 python)" | grep -- "-cg-note-$nonce\$")
[ -n "$SRC" ] && [ -n "$NOTE" ] && pass world-ca-paths || fail world-ca-paths "no src or note path"

# Day 1: the content-addressed paths under key 2 only, the older master
# evaluation under key 1.
D1=2030-01-01 D2=2030-01-02 D3=2030-01-03 D4=2030-01-04
push cg-key-2 "$SRC" "$NOTE"
# shellcheck disable=SC2046
push cg-key-1 $(for a in zlib python cudart nccl cudnn jax nondet; do out m1 "$a"; done) \
	"$(out m1 torch)" "$(out m1 torch lib)"
cg() { $CG --db "$DB" "$@"; }
cg --now $D1 crawl "$CACHE" >"$T/crawl1" 2>&1 || fail crawl1 "$(cat "$T/crawl1")"

# Day 2: the latest master evaluation; torch under key 2 alone, after the
# rest of its closure went under key 1.
# shellcheck disable=SC2046
push cg-key-1 $(for a in zlib python cudart nccl cudnn jax nondet; do out m2 "$a"; done)
push cg-key-2 "$(out m2 torch)" "$(out m2 torch lib)"
# A path whose only key-1 signature is 32 bytes long, and one signed by
# key 2 and by key 1 over the wrong message.
build m3 cudart nccl
push cg-key-2 "$(out m3 cudart)" "$(out m3 nccl)"
short=$(printf '%032d' 0 | base64 -w0)
echo "Sig: cg-key-1:$short" >>"$CACHE/$(hash_of "$(out m3 cudart)").narinfo"
badsig=$(sed -n 's/^Sig: cg-key-2:\(.*\)$/\1/p' "$CACHE/$(hash_of "$(out m3 cudart)").narinfo")
echo "Sig: cg-key-1:$badsig" >>"$CACHE/$(hash_of "$(out m3 nccl)").narinfo"
cg --now $D2 crawl "$CACHE" >"$T/crawl2" 2>&1 || fail crawl2 "$(cat "$T/crawl2")"

# Day 3: cudnn (in jax's closure) and nccl of the latest master go.
rm "$CACHE/$(hash_of "$(out m2 cudnn)").narinfo" "$CACHE/$(hash_of "$(out m2 nccl)").narinfo"
cg --now $D3 crawl "$CACHE" >"$T/crawl3" 2>&1 || fail crawl3 "$(cat "$T/crawl3")"

# Evaluations and builds: each evaluated an hour before its day's crawl.
cg import-eval --branch master --rev r1 --capabilities 8.6 --time 2029-12-31T23:00:00Z "$W/m1.jsonl" >/dev/null
cg import-eval --branch master --rev r2 --capabilities 8.6 --time 2030-01-01T23:00:00Z "$W/m2.jsonl" >/dev/null
cg import-eval --branch master --rev r2 --capabilities '8.9, 8.6' --time 2030-01-01T23:00:00Z "$W/m3.jsonl" >/dev/null
cg import-eval --branch nixos-unstable --rev u1 --capabilities 8.6 --time 2030-01-01T23:00:00Z "$W/u1.jsonl" >/dev/null
t2=$(date -u -d 2030-01-01T23:30:00Z +%s)
{
	for a in zlib python cudart nccl cudnn torch jax; do
		printf '{"drvPath":"%s","status":"succeeded","time":%s}\n' "$(drv m2 "$a")" "$t2"
	done
	printf '{"drvPath":"%s","status":"non-deterministic","time":%s}\n' "$(drv m2 nondet)" "$t2"
	printf '{"drvPath":"%s","status":"failed","time":%s}\n' "$(drv m2 failing)" "$t2"
	printf '{"drvPath":"%s","status":"queued","time":%s}\n' "$(drv m2 queuedpkg)" "$t2"
} >"$T/builds.jsonl"
cg import-builds "$T/builds.jsonl" >/dev/null || fail import-builds "import-builds failed"

# --- no keys: signatures are not checked -------------------------------------------

cg --now $D4 coverage --json >"$T/nokeys.json" 2>"$T/nokeys.err"
expect_eq nokeys-exit $? 0
if grep -q 'signatures were not checked' "$T/nokeys.err"; then pass nokeys-said; else
	fail nokeys-said "no warning: $(cat "$T/nokeys.err")"; fi
expect_eq nokeys-no-untrusted "$(jq '[.[] | select(.status == "untrusted")] | length' "$T/nokeys.json")" 0
expect_eq nokeys-trust-flag "$(jq '[.[] | .trustChecked] | unique' -c "$T/nokeys.json")" '[false]'
cg --now $D4 coverage >"$T/nokeys.txt" 2>&1
if grep -q 'signatures NOT checked' "$T/nokeys.txt"; then pass nokeys-text; else
	fail nokeys-text "$(head -5 "$T/nokeys.txt")"; fi
cg verify >"$T/verify0" 2>&1
expect_eq verify-nokeys-exit $? 1

# --- keys: bad ones refused, key 2 revoked on day 2 noon --------------------------

cg keys add "cg-key-1:$(printf '%031d' 0 | base64 -w0)" >"$T/badkey" 2>&1
expect_eq badkey-31-bytes $? 1
cg keys add "cg-bad:AAAA" >"$T/badkey" 2>&1
expect_eq badkey-3-bytes $? 1
cg --now $D1 keys add "$K1" >/dev/null && cg --now $D1 keys add "$K2" >/dev/null ||
	fail keys-add "keys add failed"
cg keys revoke cg-key-2 --at 2030-01-02T12:00:00Z >/dev/null || fail keys-revoke "revoke failed"

# --- verdicts: cachegc verify against nix store verify ----------------------------

nix path-info --all --store "file://$CACHE" 2>/dev/null | sort >"$T/all"
n_all=$(wc -l <"$T/all")
# nix_untrusted KEYS...: the paths Nix does not trust with those keys, one
# per line; paths it cannot check at all (a malformed signature under a
# trusted key makes Nix 2.8 throw) go to $T/nix-errors.
nix_untrusted() {
	: >"$T/nix-untrusted.raw"
	: >"$T/nix-errors"
	while read -r p; do
		nix store verify --store "file://$CACHE" --no-contents --sigs-needed 1 \
			--trusted-public-keys "$*" "$p" >"$T/nv.out" 2>&1
		case $? in
		0) ;;
		2) echo "$p" >>"$T/nix-untrusted.raw"
		   grep -q "path '$p' is untrusted" "$T/nv.out" ||
			fail nix-verify-message "exit 2 without 'is untrusted': $(cat "$T/nv.out")" ;;
		*) echo "$p $(tr '\n' ' ' <"$T/nv.out")" >>"$T/nix-errors" ;;
		esac
	done <"$T/all"
	sort "$T/nix-untrusted.raw"
}
# our_untrusted [--at TIME]: the same from cachegc verify --json.
our_untrusted() {
	cg --now $D4 verify --json "$@" >"$T/ours.json" 2>"$T/ours.err"
	jq -r '.paths[] | select(.trusted | not) | .path' "$T/ours.json" | sort
}
verdict() { jq -r --arg p "$1" '.paths[] | select(.path == $p) | .verdict' "$T/ours.json"; }

# Now: key 1 only (key 2 is revoked).
nix_untrusted "$K1" >"$T/nix-now"
our_untrusted >"$T/ours-now"
expect_eq verify-now-checked "$(jq .checked "$T/ours.json")" "$n_all"
# Nix throws on the 32-byte signature; every other path must agree.
expect_eq nix-errors-now "$(cut -d' ' -f1 "$T/nix-errors")" "$(out m3 cudart)"
grep -v -x -F "$(out m3 cudart)" "$T/ours-now" >"$T/ours-now-cmp"
if diff -u "$T/nix-now" "$T/ours-now-cmp" >"$T/diff"; then pass verify-equals-nix-now; else
	fail verify-equals-nix-now "$(cat "$T/diff")"; fi
expect_eq verdict-torch-revoked "$(verdict "$(out m2 torch)")" revoked-key
expect_eq verdict-short-sig "$(verdict "$(out m3 cudart)")" malformed-signature
expect_eq verdict-bad-sig "$(verdict "$(out m3 nccl)")" bad-signature
expect_eq verdict-src-ca "$(verdict "$SRC")" content-addressed
expect_eq verdict-note-ca "$(verdict "$NOTE")" content-addressed
expect_eq verdict-zlib "$(verdict "$(out m2 zlib)")" signed
if [ -s "$T/nix-now" ] && grep -q -x -F "$(out m2 torch)" "$T/nix-now"; then
	pass nix-agrees-torch-untrusted
else
	fail nix-agrees-torch-untrusted "$(cat "$T/nix-now")"
fi
cg --now $D4 verify >"$T/verify.txt" 2>&1
expect_eq verify-exit-untrusted $? 1

# Day 2 morning: both keys counted.
nix_untrusted "$K1" "$K2" >"$T/nix-both"
our_untrusted --at 2030-01-02T06:00:00Z >"$T/ours-both"
grep -v -x -F "$(out m3 cudart)" "$T/ours-both" >"$T/ours-both-cmp"
# Paths crawled later than the moment are not present then: compare over
# the paths both saw.
jq -r '.paths[].path' "$T/ours.json" | sort >"$T/seen-both"
grep -x -F -f "$T/seen-both" "$T/nix-both" >"$T/nix-both-cmp" || :
if diff -u "$T/nix-both-cmp" "$T/ours-both-cmp" >"$T/diff"; then pass verify-equals-nix-both-keys; else
	fail verify-equals-nix-both-keys "$(cat "$T/diff")"; fi
# With both keys, one good signature is enough: nothing is left untrusted.
expect_eq verify-both-untrusted "$(cat "$T/ours-both-cmp")" ""
expect_eq verdict-both-nccl "$(verdict "$(out m3 nccl)")" signed

# A key that signed nothing: only the content-addressed paths are trusted.
nix_keys cg-key-3
nix_untrusted "$(cat "$T/cg-key-3.public")" >"$T/nix-k3"
expect_eq nix-k3-trusts-only-ca "$(comm -23 "$T/all" "$T/nix-k3" | tr '\n' ' ')" \
	"$(printf '%s\n' "$SRC" "$NOTE" | sort | tr '\n' ' ')"

# The verdicts are kept: a second run verifies nothing.
cg --now $D4 verify --json >/dev/null 2>&1
cg --now $D4 verify --json >"$T/again.json" 2>&1
expect_eq verify-verdicts-kept "$(jq .verified "$T/again.json")" 0

# --- coverage now -------------------------------------------------------------------

cg --now $D4 coverage --json >"$T/cov.json" 2>"$T/cov.err"
expect_eq coverage-exit $? 0
# st BRANCH CAPS ATTR [OUTPUT]: the status of that row.
st() {
	jq -r --arg b "$1" --arg c "$2" --arg a "$3" --arg o "${4-out}" \
		'[.[] | select(.branch == $b and .capabilities == $c and .attr == $a and .output == $o)] |
		 if length == 1 then .[0].status else "<\(length) rows>" end' "${COV:-$T/cov.json}"
}
field() {
	jq -r --arg b "$1" --arg c "$2" --arg a "$3" --arg o "${5-out}" \
		".[] | select(.branch == \$b and .capabilities == \$c and .attr == \$a and .output == \$o) | $4" \
		"${COV:-$T/cov.json}"
}
expect_eq cov-columns "$(jq -r '[.[] | "\(.branch) \(.capabilities) \(.rev)"] | unique | join(";")' "$T/cov.json")" \
	"master 8.6 r2;master 8.6,8.9 r2;nixos-unstable 8.6 u1"
expect_eq cov-zlib "$(st master 8.6 zlib)" cached
expect_eq cov-python "$(st master 8.6 python)" cached
expect_eq cov-cudart "$(st master 8.6 cudart)" cached
expect_eq cov-torch "$(st master 8.6 torch)" untrusted
expect_eq cov-torch-lib "$(st master 8.6 torch lib)" untrusted
expect_eq cov-torch-key "$(field master 8.6 torch .signedBy)" "cg-key-2 (revoked 2030-01-02T12:00:00Z)"
expect_eq cov-torch-untrusted-path "$(field master 8.6 torch .untrustedPath)" "$(out m2 torch)"
expect_eq cov-jax "$(st master 8.6 jax)" partial
expect_eq cov-jax-missing "$(field master 8.6 jax .missingPaths)" 1
nar_cudnn=$(nix path-info --json "$(out m2 cudnn)" | jq '.[0].narSize')
expect_eq cov-jax-missing-bytes "$(field master 8.6 jax .missingBytes)" "$nar_cudnn"
want_cs=$(nix path-info -S "$(out m2 jax)" | awk '{ print $2 }')
expect_eq cov-jax-closure-size "$(field master 8.6 jax .closureSize)" "$want_cs"
expect_eq cov-nccl "$(st master 8.6 nccl)" evicted
expect_eq cov-nccl-since "$(field master 8.6 nccl .since)" "${D3}T00:00:00Z"
expect_eq cov-nccl-older "$(field master 8.6 nccl '.olderCached.rev')" r1
expect_eq cov-nccl-older-path "$(field master 8.6 nccl '.olderCached.outPath')" "$(out m1 nccl)"
expect_eq cov-nccl-older-behind "$(field master 8.6 nccl '.olderCached.behindSeconds')" 86400
expect_eq cov-nondet "$(st master 8.6 nondet)" cached
expect_eq cov-nondet-build "$(field master 8.6 nondet .buildStatus)" non-deterministic
expect_eq cov-failing "$(st master 8.6 failing)" failed
expect_eq cov-failing-reason "$(field master 8.6 failing .reason)" failed
expect_eq cov-queued "$(st master 8.6 queuedpkg)" queued
expect_eq cov-hello "$(st master 8.6 hello)" missing
expect_eq cov-broken "$(st master 8.6 broken '')" failed
expect_eq cov-broken-reason "$(field master 8.6 broken .reason '')" eval-error
expect_eq cov-broken-error "$(field master 8.6 broken .error '')" "error: broken: this package fails to evaluate"
# the two-capability column: python is shared, the CUDA part differs
expect_eq cov-m3-python "$(st master 8.6,8.9 python)" cached
expect_eq cov-m3-cudart "$(st master 8.6,8.9 cudart)" untrusted
expect_eq cov-m3-torch "$(st master 8.6,8.9 torch)" missing
expect_eq cov-m3-nccl "$(st master 8.6,8.9 nccl)" untrusted
expect_eq cov-m3-nccl-why "$(field master 8.6,8.9 nccl .untrustedReason)" bad-signature
expect_eq cov-cudnn "$(st master 8.6 cudnn)" evicted
expect_eq cov-u1-zlib "$(st nixos-unstable 8.6 zlib)" cached
expect_eq cov-u1-python "$(st nixos-unstable 8.6 python)" missing
# every row carries the documented fields
expect_eq cov-fields "$(jq -c '[.[] | has("branch", "rev", "capabilities", "system", "attr", "output", "outPath", "status", "missingPaths", "missingBytes", "closureSize") | not] | any' "$T/cov.json")" false
expect_eq cov-outpath "$(field master 8.6 torch .outPath lib)" "$(out m2 torch lib)"

# capability sets compare as sets
for c in '8.9, 8.6' '8.6,8.9' '8.9 8.6'; do
	cg --now $D4 coverage --json --capabilities "$c" >"$T/caps.json" 2>&1
	expect_eq "cov-caps-set-$c" "$(jq -r '[.[].capabilities] | unique | join(";")' "$T/caps.json")" "8.6,8.9"
done
cg --now $D4 coverage --json --branch master --capabilities 8.6 --attr 'tor*' >"$T/one.json"
expect_eq cov-filters "$(jq -c '[.[] | [.attr, .output, .status]]' "$T/one.json")" \
	'[["torch","out","untrusted"],["torch","lib","untrusted"]]'

# text and markdown
cg --now $D4 coverage --branch master --capabilities 8.6 >"$T/cov.txt" 2>&1
if grep -q 'cached 4/12 jobs (33.3%)' "$T/cov.txt"; then pass cov-text-summary; else
	fail cov-text-summary "$(head -8 "$T/cov.txt")"; fi
if grep -q '^torch  *untrusted$' "$T/cov.txt" && grep -q '^torch^lib  *untrusted$' "$T/cov.txt"; then
	pass cov-text-matrix; else fail cov-text-matrix "$(cat "$T/cov.txt")"; fi
if grep -q '\[1\] nccl: evicted: gone since 2030-01-03T00:00:00Z; cached in rev r1' "$T/cov.txt"; then
	pass cov-text-older; else fail cov-text-older "$(cat "$T/cov.txt")"; fi
cg --now $D4 coverage --markdown >"$T/cov.md" 2>&1
if grep -q '^| `torch` | \*\*untrusted\*\* (2 paths); cached in `r1` |' "$T/cov.md" &&
	grep -q '^| 1 | master | 8.6 | x86_64-linux | `r2` |' "$T/cov.md"; then
	pass cov-markdown; else fail cov-markdown "$(cat "$T/cov.md")"; fi

# --- coverage replayed ---------------------------------------------------------------

# Day 2 noon minus a second: key 2 still counts, nccl and cudnn are there.
COV="$T/cov2.json"
cg coverage --json --at 2030-01-02T11:59:59Z >"$COV" 2>&1
expect_eq replay2-torch "$(st master 8.6 torch)" cached
expect_eq replay2-jax "$(st master 8.6 jax)" cached
expect_eq replay2-nccl "$(st master 8.6 nccl)" cached
expect_eq replay2-m3-nccl "$(st master 8.6,8.9 nccl)" cached
# Day 1 noon: the latest master evaluation was r1, fully cached by then
COV="$T/cov1.json"
cg coverage --json --at 2030-01-01T12:00:00Z >"$COV" 2>&1
expect_eq replay1-columns "$(jq -r '[.[] | "\(.branch) \(.rev)"] | unique | join(";")' "$COV")" "master r1"
expect_eq replay1-torch "$(st master 8.6 torch)" cached
expect_eq replay1-nccl "$(st master 8.6 nccl)" cached
# Before any evaluation: an error, not an empty success
cg coverage --at 2029-06-01 >"$T/none.txt" 2>&1
expect_eq replay0-exit $? 1
unset COV

# --- usage errors ------------------------------------------------------------------

cg coverage --json --markdown >/dev/null 2>&1
expect_eq usage-json-markdown $? 2
cg coverage --capabilities 8.x >/dev/null 2>&1
expect_eq usage-bad-caps $? 2
cg coverage --at yesterday >/dev/null 2>&1
expect_eq usage-bad-at $? 2

# shellcheck disable=SC2046
nix-store --delete $(for n in m1 m2 m3 u1; do jq -r '.outputs[]?' "$W/$n.jsonl"; done) >/dev/null 2>&1 || :
finish
