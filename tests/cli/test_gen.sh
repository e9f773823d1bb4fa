#!/bin/sh
# tests/cli/test_gen.sh - `cachegc gen`: usage errors, byte-for-byte
# determinism, --as-of moving one DIR back and forth exactly, the manifest
# against the eval files, builds.jsonl, NAR stubs, and real Nix reading the
# cache and accepting its signatures.
. "$(dirname "$0")/../lib/lib.sh"
. "$ROOT/tests/lib/nix.sh"
need jq awk find sort comm
nix_setup

ARGS="--paths 1500 --seed 7"
START=1714521600      # 2024-05-01
MID=1715644800        # 2024-05-14
END=1716940800        # 2024-05-29, the end of 28 days

# gen ARGS...: stdout in $T/out, stderr in $T/err, exit status in $rc.
gen() {
	$CG gen "$@" >"$T/out" 2>"$T/err"
	rc=$?
}
# listing DIR: every file under DIR with its size and mtime, sorted
# (nix-cache-info and the non-cache files are written each run).
listing() { (cd "$1" && find cache -type f ! -name nix-cache-info -printf '%P %s %T@\n' | sort); }
narinfos() { (cd "$1/cache" && ls | grep '\.narinfo$' | sort); }

# --- usage ----------------------------------------------------------------

$CG gen --help >"$T/help"; expect_eq help-status $? 0
for o in --paths --seed --start --days --as-of --key-name --nar-stubs --json; do
	if grep -q -- "$o" "$T/help"; then pass "help$o"; else fail "help$o" "not in the usage"; fi
done
gen; expect_eq usage-no-dir $rc 2
gen "$T/u" --paths abc; expect_eq usage-bad-paths $rc 2
gen "$T/u" --paths 0; expect_eq usage-zero-paths $rc 2
gen "$T/u" --days 0; expect_eq usage-zero-days $rc 2
gen "$T/u" --seed -1; expect_eq usage-bad-seed $rc 2
gen "$T/u" --as-of yesterday; expect_eq usage-bad-as-of $rc 2
gen "$T/u" --key-name a:b; expect_eq usage-bad-key-name $rc 2
gen "$T/u" --frobnicate; expect_eq usage-unknown-option $rc 2
gen "$T/u" "$T/v"; expect_eq usage-two-dirs $rc 2
gen "$T/u" --paths; expect_eq usage-missing-value $rc 2
[ -e "$T/u" ] && fail usage-writes-nothing "DIR was created" || pass usage-writes-nothing
: >"$T/afile"
gen "$T/afile/sub" $ARGS; expect_eq unwritable-status $rc 1
if grep -q "afile" "$T/err"; then pass unwritable-message; else fail unwritable-message "$(cat "$T/err")"; fi

# --- one world, twice ---------------------------------------------------------

gen "$T/a" $ARGS --nar-stubs; expect_eq gen-a $rc 0
if grep -Eq '^generated [0-9]+ paths \([0-9]+ present as of 2024-05-29T00:00:00Z, [0-9.]+ [KMGT]?i?B\), [0-9]+ evaluations, into ' "$T/out"; then
	pass summary-line
else
	fail summary-line "$(cat "$T/out")"
fi
gen "$T/b" $ARGS --nar-stubs --json; expect_eq gen-b $rc 0
cp "$T/out" "$T/b.json"
if diff -r "$T/a" "$T/b" >"$T/diff" 2>&1; then pass deterministic-bytes; else fail deterministic-bytes "$(head -20 "$T/diff")"; fi
listing "$T/a" >"$T/la"; listing "$T/b" >"$T/lb"
if cmp -s "$T/la" "$T/lb"; then pass deterministic-mtimes; else fail deterministic-mtimes "$(diff "$T/la" "$T/lb" | head)"; fi

j() { jq -r "$1" "$T/b.json"; }
n_narinfo=$(narinfos "$T/a" | wc -l)
expect_eq json-present "$(j .present)" "$n_narinfo"
expect_eq json-as-of "$(j .as_of)" 2024-05-29T00:00:00Z
paths=$(j .paths)
if [ "$paths" -ge 1200 ] && [ "$paths" -le 1800 ]; then pass about-1500-paths; else fail about-1500-paths "$paths"; fi
if [ "$n_narinfo" -gt 0 ] && [ "$n_narinfo" -lt "$paths" ]; then pass gc-evicted-some; else fail gc-evicted-some "$n_narinfo of $paths"; fi
if [ "$(j .nar_files)" -lt "$n_narinfo" ]; then pass shared-nar-files; else fail shared-nar-files "$(j .nar_files) NARs for $n_narinfo narinfos"; fi

# every narinfo: pushed within the history, named after its StorePath, signed
bad=$(cd "$T/a/cache" && find . -name '*.narinfo' \( ! -newermt @$START -o -newermt @$END \) | wc -l)
expect_eq mtimes-within-history "$bad" 0
bad=$(cd "$T/a/cache" && for f in *.narinfo; do
	sed -n 's|^StorePath: /nix/store/\(.\{32\}\)-.*|\1|p' "$f" | grep -qx "${f%.narinfo}" || echo "$f"
done | wc -l)
expect_eq narinfo-names "$bad" 0
expect_eq all-signed "$(cat "$T/a/cache/"*.narinfo | grep -c '^Sig: cachegc-gen-1:')" "$n_narinfo"
if grep -q '^Deriver: ' "$T/a/cache/"*.narinfo && grep -L '^Deriver: ' "$T/a/cache/"*.narinfo | grep -q .; then
	pass some-derivers
else
	fail some-derivers "all or none"
fi
if grep -L '^Compression: ' "$T/a/cache/"*.narinfo | grep -q .; then pass some-without-compression; else fail some-without-compression; fi
cat "$T/a/cache/"*.narinfo | awk '/^References:/ { n += NF - 1 } END { exit !(n > 0) }' &&
	pass has-references || fail has-references

# stubs: exactly one file per distinct URL
cat "$T/a/cache/"*.narinfo | sed -n 's|^URL: nar/||p' | sort -u >"$T/urls"
(cd "$T/a/cache/nar" && ls | sort) >"$T/stubs"
if cmp -s "$T/urls" "$T/stubs"; then pass nar-stubs; else fail nar-stubs "$(diff "$T/urls" "$T/stubs" | head)"; fi

# --- the manifest, the eval files, the builds ----------------------------------

M="$T/a/evals/manifest.tsv"
expect_eq manifest-lines "$(wc -l <"$M")" "$(j .evaluations)"
expect_eq manifest-fields "$(awk -F'\t' 'NF != 6' "$M" | wc -l)" 0
cut -f1 "$M" | sort >"$T/mfiles"
(cd "$T/a/evals" && ls | grep '\.jsonl$' | sort) >"$T/efiles"
if cmp -s "$T/mfiles" "$T/efiles"; then pass manifest-files; else fail manifest-files "$(diff "$T/mfiles" "$T/efiles" | head)"; fi
expect_eq manifest-names "$(awk -F'\t' '$1 != $2 "-" $3 "-" $4 ".jsonl"' "$M" | wc -l)" 0
expect_eq manifest-sorted "$(cut -f6 "$M" | sort -c 2>&1 | wc -l)" 0
expect_eq manifest-branches "$(cut -f2 "$M" | sort -u | tr '\n' ' ')" "master nixos-24.05 nixos-unstable nixpkgs-unstable "
expect_eq manifest-caps "$(cut -f4 "$M" | sort -u | tr '\n' ' ')" "7.5,8.6 8.0,8.6,8.9,9.0 8.6 "
expect_eq manifest-system "$(cut -f5 "$M" | sort -u)" x86_64-linux
expect_eq manifest-dup "$(cut -f1 "$M" | sort | uniq -d | wc -l)" 0
# jobs: nix-eval-jobs' shape, errors apart
cat "$T/a/evals/"*.jsonl >"$T/jobs"
expect_eq jobs-count "$(wc -l <"$T/jobs")" "$(j .jobs)"
bad=$(jq -c 'select(if has("error") then (.attr | type) != "string" or (.attrPath | type) != "array"
	else ((.drvPath | test("^/nix/store/[0-9a-z]{32}-.*\\.drv$")) and (.system == "x86_64-linux")
	and (.attrPath | join(".")) == .attr and (.outputs | length) >= 1
	and ([.outputs[] | test("^/nix/store/[0-9a-z]{32}-")] | all) and (.name | type) == "string")
	| not end)' "$T/jobs" | wc -l)
expect_eq jobs-shape "$bad" 0
expect_eq jobs-errors "$(grep -c '"error"' "$T/jobs")" "$(j .eval_errors)"
if grep -q '"attr":"python3Packages.torch"' "$T/jobs" && grep -q '"lib":"/nix/store/' "$T/jobs"; then
	pass jobs-torch-multi-output
else
	fail jobs-torch-multi-output
fi
# builds: only what finished by as_of, known statuses
B="$T/a/builds.jsonl"
expect_eq builds-count "$(wc -l <"$B")" "$(j .builds)"
expect_eq builds-shape "$(jq -c 'select((.status | IN("succeeded","failed","dependency-failed","timed-out")) and .time <= '$END' and (.drvPath | endswith(".drv")) | not)' "$B" | wc -l)" 0
if grep -q '"status":"failed"' "$B" && grep -q '"status":"dependency-failed"' "$B"; then pass builds-failures; else fail builds-failures; fi

# --- --as-of moves the world -------------------------------------------------

gen "$T/mid" $ARGS --nar-stubs --as-of 2024-05-14; expect_eq gen-mid $rc 0
narinfos "$T/mid" >"$T/nmid"; narinfos "$T/a" >"$T/nend"
gone=$(comm -23 "$T/nmid" "$T/nend" | wc -l)
new=$(comm -13 "$T/nmid" "$T/nend" | wc -l)
if [ "$gone" -gt 0 ] && [ "$new" -gt 0 ]; then pass as-of-moves; else fail as-of-moves "gone $gone new $new"; fi
bad=$(cd "$T/mid/cache" && find . -name '*.narinfo' -newermt @$MID | wc -l)
expect_eq as-of-no-future-pushes "$bad" 0
expect_eq as-of-evals "$(awk -F'\t' '$6 > "2024-05-14"' "$T/mid/evals/manifest.tsv" | wc -l)" 0
expect_eq as-of-builds "$(jq 'select(.time > '$MID')' "$T/mid/builds.jsonl" | wc -l)" 0
if [ "$(wc -l <"$T/mid/evals/manifest.tsv")" -lt "$(wc -l <"$M")" ]; then pass as-of-fewer-evals; else fail as-of-fewer-evals; fi

# the same DIR, forward to the end and back: always the fresh state
cp -rp "$T/mid" "$T/moving"
gen "$T/moving" $ARGS --nar-stubs --json; expect_eq move-forward $rc 0
if [ "$(jq .narinfos_deleted "$T/out")" -gt 0 ] && [ "$(jq .narinfos_kept "$T/out")" -gt 0 ]; then
	pass move-forward-incremental
else
	fail move-forward-incremental "$(cat "$T/out")"
fi
if diff -r "$T/moving" "$T/a" >"$T/diff" 2>&1; then pass move-forward-exact; else fail move-forward-exact "$(head "$T/diff")"; fi
listing "$T/moving" >"$T/lm"
if cmp -s "$T/lm" "$T/la"; then pass move-forward-mtimes; else fail move-forward-mtimes "$(diff "$T/lm" "$T/la" | head)"; fi
gen "$T/moving" $ARGS --as-of 2024-05-14 --nar-stubs; expect_eq move-back $rc 0
if diff -r "$T/moving" "$T/mid" >"$T/diff" 2>&1; then pass move-back-exact; else fail move-back-exact "$(head "$T/diff")"; fi
# without --nar-stubs the stubs go
gen "$T/moving" $ARGS --as-of 2024-05-14; expect_eq no-stubs $rc 0
expect_eq no-stubs-empty "$(ls "$T/moving/cache/nar" | wc -l)" 0
# another seed is another world; the old narinfos go
gen "$T/moving" --paths 1500 --seed 8 --json; expect_eq other-seed $rc 0
expect_eq other-seed-replaces "$(jq .narinfos_kept "$T/out")" 0
expect_eq other-seed-count "$(narinfos "$T/moving" | wc -l)" "$(jq .present "$T/out")"

# --- real Nix ---------------------------------------------------------------------

CACHE=$(cd "$T/a/cache" && pwd -P)
if nix path-info --all --store "file://$CACHE" >"$T/all" 2>"$T/nixerr"; then
	pass nix-path-info
else
	fail nix-path-info "$(head -c 2000 "$T/nixerr")"
fi
expect_eq nix-path-info-count "$(sort -u "$T/all" | wc -l)" "$n_narinfo"
expect_eq nix-path-info-same "$(sed 's|^/nix/store/\(.\{32\}\).*|\1.narinfo|' "$T/all" | sort | cmp - "$T/nend" && echo same)" same
KEY=$(cat "$T/a/keys/cachegc-gen-1.public")
if nix store verify --store "file://$CACHE" --all --no-contents --sigs-needed 1 \
	--trusted-public-keys "$KEY" >"$T/verify" 2>&1; then
	pass nix-verify-signatures
else
	fail nix-verify-signatures "$(grep -v '^checking' "$T/verify" | head -5)"
fi
expect_eq nix-verify-untrusted "$(grep -c 'untrusted' "$T/verify")" 0
# the check has teeth: another key trusts nothing
nix_keys other-key
if nix store verify --store "file://$CACHE" --all --no-contents --sigs-needed 1 \
	--trusted-public-keys "$(cat "$T/other-key.public")" >"$T/verify2" 2>&1; then
	fail nix-verify-other-key "Nix trusted paths signed by another key"
else
	pass nix-verify-other-key
fi
expect_eq nix-key-pair "$(nix key convert-secret-to-public <"$T/a/keys/cachegc-gen-1.secret")" "$KEY"

# --no-gc: the same history, but the cache keeps every path ever pushed.
gen "$T/nogc" $ARGS --no-gc --json
expect_eq no-gc-status "$rc" 0
expect_eq no-gc-no-evictions "$(jq .evictions "$T/out")" 0
if [ "$(narinfos "$T/nogc" | wc -l)" -gt "$(narinfos "$T/a" | wc -l)" ]; then
	pass no-gc-more-than-with-gc
else
	fail no-gc-more-than-with-gc "$(narinfos "$T/nogc" | wc -l) narinfos without GC"
fi
finish
