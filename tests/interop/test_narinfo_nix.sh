#!/bin/sh
# tests/interop/test_narinfo_nix.sh - narinfos read as real Nix reads them.
# Real Nix builds a small world and pushes it into a signed file:// cache;
# tests/interop/narinfo_variants.py writes about 290 variants of three of
# its narinfos (mutated field by field: spacing, order, duplicates,
# encodings, missing and extra keys, line endings, signature, URL, path and
# CA forms) and 200 random mutants, each into a fresh one-narinfo cache.  For each, `nix path-info
# --json --store file://DIR PATH` decides and cachegc's crawl must agree:
# accepted or not (a refused one kept in crawl_rejects), and on the path,
# NAR hash and size, file hash and size, URL, references, deriver, CA and
# signatures; `nix store verify --sigs-needed 1` and `cachegc verify` must
# agree on trust.  The deliberate differences (README, crawl) are listed
# in the script and checked to be still exactly that.
. "$(dirname "$0")/../lib/lib.sh"
. "$ROOT/tests/lib/nix.sh"
need python3 sqlite3
nix_setup

mkdir "$T/world" "$T/cache"
nix_build_world "$T/world"
at_exit nix_forget_world
nix_keys cachegc-test-1
nix_keys cachegc-test-2
CACHE=$(cd "$T/cache" && pwd -P)
# shellcheck disable=SC2046
nix_push "$CACHE" "$T/cachegc-test-1.secret" $(cut -d' ' -f2 "$T/world/paths")
E=$(nix_world_path e)
# a second signature, so Sig repeats
if ! nix store sign --store "file://$CACHE" --key-file "$T/cachegc-test-2.secret" "$E" >"$T/sign.log" 2>&1; then
	fail nix-sign "nix store sign failed: $(cat "$T/sign.log")"
	exit 1
fi
NOTE=$(nix-store -qR "$(nix_world_path f)" | grep -- '-cachegc-note-')
SELF=$(nix_world_path self)
expect_eq note-is-ca "$(grep -c '^CA: text:' "$CACHE/$(basename "$NOTE" | cut -c1-32).narinfo")" 1

# 200 random mutants too (a differential fuzzer; RANDOM_VARIANTS=N:SEED for more)
RANDOM_VARIANTS=${RANDOM_VARIANTS:-200:10} CG="$CG" CACHE="$CACHE" T="$T" KEY="$(cat "$T/cachegc-test-1.public")" E="$E" NOTE="$NOTE" SELF="$SELF" \
	python3 "$ROOT/tests/interop/narinfo_variants.py" >"$T/results" 2>"$T/py.err"
rc=$?
while IFS= read -r line; do
	case $line in
	"PASS "*) pass "${line#PASS }" ;;
	"FAIL "*) fail "${line#FAIL }" ;;
	esac
done <"$T/results"
if [ "$rc" != 0 ]; then
	fail variants-script "narinfo_variants.py exited $rc: $(tail -n 20 "$T/py.err")"
fi
finish
