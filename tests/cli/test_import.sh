#!/bin/sh
# tests/cli/test_import.sh - import-eval, import-builds and keys against
# real SQLite files: counts checked with sqlite3, idempotent re-imports,
# malformed and hostile input, manifests, bad keys, revocation.
. "$(dirname "$0")/../lib/lib.sh"
need sqlite3 jq
FIX="$ROOT/tests/fixtures/evals"
DB="$T/t.db"

# cg ARGS...: cachegc on $DB at a fixed clock; stdout in $T/out, stderr in
# $T/err; the exit status in $rc.
cg() {
	$CG --db "$DB" --now 2024-06-01 "$@" >"$T/out" 2>"$T/err"
	rc=$?
}
q() { sqlite3 "$DB" "$1"; }
counts() { q "SELECT (SELECT count(*) FROM evaluations) || '/' || (SELECT count(*) FROM eval_jobs)
	|| '/' || (SELECT count(*) FROM paths) || '/' || (SELECT count(*) FROM builds)
	|| '/' || (SELECT count(*) FROM trusted_keys)"; }
# has NAME FILE TEXT: PASS when FILE holds TEXT (fixed string).

# --- help texts list every option ------------------------------------------

$CG import-eval --help >"$T/h1"; expect_eq help-eval-status $? 0
for o in --branch --rev --capabilities --system --time --jobset --manifest --strict --json; do
	has "help-eval$o" "$T/h1" "$o"
done
$CG import-builds --help >"$T/h2"; expect_eq help-builds-status $? 0
has help-builds-json "$T/h2" --json
has help-builds-status "$T/h2" dependency-failed
$CG keys --help >"$T/h3"; expect_eq help-keys-status $? 0
for o in add revoke list --at --json; do has "help-keys$o" "$T/h3" "$o"; done

# --- one evaluation, then the same again ------------------------------------

cg import-eval --branch master --rev aaaa1111 --capabilities 8.6 --time 2024-05-01 \
	--jobset cuda-master "$FIX/master-8.6.jsonl"
expect_eq eval-import-status "$rc" 0
has eval-import-summary "$T/out" "imported evaluation 1"
has eval-import-counts "$T/out" "5 jobs, 9 outputs, 1 failed to evaluate"
expect_eq eval-row "$(q "SELECT branch, rev, capabilities, system, time, jobset, bad_lines FROM evaluations")" \
	"master|aaaa1111|8.6|x86_64-linux|1714521600|cuda-master|0"
expect_eq eval-jobs "$(q "SELECT count(*), count(DISTINCT attr), count(error) FROM eval_jobs")" "10|5|1"
expect_eq eval-error-row "$(q "SELECT attr, output, path_id IS NULL, drv_id IS NULL, substr(error, 1, 16)
	FROM eval_jobs WHERE error IS NOT NULL")" "python3Packages.tensorflow||1|1|error: Package '"
expect_eq eval-cache-status "$(q "SELECT cache_status, needed_builds, needed_substitutes FROM eval_jobs
	WHERE attr = 'python3Packages.torch' AND output = 'out'")" "notBuilt|2|0"
expect_eq eval-no-cache-status "$(q "SELECT count(*) FROM eval_jobs WHERE attr = 'blender'
	AND cache_status IS NULL AND needed_builds IS NULL")" 1
# outputs and derivations are rows of paths, joined by id
expect_eq eval-paths "$(q "SELECT count(*) FROM paths")" 13
want=$(head -1 "$FIX/master-8.6.jsonl" | jq -r '.outputs.dev')
expect_eq eval-view-path "$(q "SELECT out_path FROM eval_job_paths WHERE attr = 'cudaPackages.cuda_nvcc'
	AND output = 'dev'")" "$want"
want=$(head -1 "$FIX/master-8.6.jsonl" | jq -r '.drvPath')
expect_eq eval-view-drv "$(q "SELECT DISTINCT drv_path FROM eval_job_paths WHERE attr = 'cudaPackages.cuda_nvcc'")" "$want"

before=$(counts)
cg import-eval --branch master --rev aaaa1111 --capabilities 8.6 --time 2024-05-01 "$FIX/master-8.6.jsonl"
expect_eq reimport-status "$rc" 0
has reimport-says "$T/out" "already imported as evaluation 1"
expect_eq reimport-counts "$(counts)" "$before"
# the set is the same however it is spelled
cg import-eval --branch master --rev aaaa1111 --capabilities ' 8.6, 8.6 ' --time 2024-05-01T00:00:00Z \
	"$FIX/master-8.6.jsonl"
has reimport-caps-spelling "$T/out" "already imported as evaluation 1"
# without --time (the clock has moved on): still the same evaluation
$CG --db "$DB" --now 2024-07-01 import-eval --branch master --rev aaaa1111 --capabilities 8.6 \
	"$FIX/master-8.6.jsonl" >"$T/out" 2>"$T/err"
expect_eq reimport-no-time-status $? 0
has reimport-no-time "$T/out" "already imported as evaluation 1"
expect_eq reimport-no-time-counts "$(counts)" "$before"
# the same key with other jobs: refused, evaluations are immutable
cg import-eval --branch master --rev aaaa1111 --capabilities 8.6 --time 2024-05-01 "$FIX/master-8.6-8.9.jsonl"
expect_eq immutable-status "$rc" 1
has immutable-says "$T/err" "evaluations are immutable"
expect_eq immutable-counts "$(counts)" "$before"
# another time is another evaluation
cg import-eval --branch master --rev aaaa1111 --capabilities 8.6 --time 2024-05-02 "$FIX/master-8.6.jsonl"
expect_eq second-eval "$rc/$(q "SELECT count(*) FROM evaluations")" "0/2"
# capability sets are normalized in the DB
cg import-eval --branch master --rev aaaa1111 --capabilities '8.9 8.6' --time 2024-05-01 "$FIX/master-8.6-8.9.jsonl"
expect_eq caps-normalized "$rc/$(q "SELECT capabilities FROM evaluations ORDER BY id DESC LIMIT 1")" "0/8.6,8.9"

# --- JSON summary -------------------------------------------------------------

cg import-eval --json --branch nixos-unstable --rev bbbb2222 --capabilities 8.6 --time 2024-04-20 \
	"$FIX/unstable-8.6.jsonl"
expect_eq json-status "$rc" 0
expect_eq json-fields "$(jq -r '.evaluations[0] | [.status, .capabilities, .time, .jobs, .outputs,
	.evalErrors, .malformedLines, (.evaluationId|type)] | join(" ")' "$T/out")" \
	"imported 8.6 2024-04-20T00:00:00Z 5 9 1 0 number"
expect_eq json-totals "$(jq -r '[.imported, .alreadyImported, .failed] | join(" ")' "$T/out")" "1 0 0"
cg import-eval --json --branch nixos-unstable --rev bbbb2222 --capabilities 8.6 --time 2024-04-20 \
	"$FIX/unstable-8.6.jsonl"
expect_eq json-already "$(jq -r '.evaluations[0].status + " " + (.alreadyImported|tostring)' "$T/out")" \
	"already-imported 1"

# --- malformed lines ----------------------------------------------------------

before=$(counts)
cg import-eval --branch staging --rev cccc3333 --capabilities 8.6 --time 2024-05-03 "$FIX/malformed.jsonl"
expect_eq malformed-status "$rc" 0
for l in 2 3 7 8 9; do has "malformed-line-$l" "$T/err" "malformed.jsonl:$l:"; done
has malformed-dup "$T/err" "malformed.jsonl:6: duplicate job 'python3Packages.torch' (first on line 5)"
has malformed-summary "$T/out" "skipped 5 malformed and 1 duplicate lines"
expect_eq malformed-rows "$(q "SELECT count(*), count(DISTINCT attr) FROM eval_jobs j JOIN evaluations e
	ON e.id = j.evaluation_id WHERE e.branch = 'staging'")" "8|4"
expect_eq malformed-bad-lines "$(q "SELECT bad_lines FROM evaluations WHERE branch = 'staging'")" 5
cg import-eval --branch staging --rev cccc3333 --capabilities 8.6 --time 2024-05-03 "$FIX/malformed.jsonl"
has malformed-reimport "$T/out" "already imported"
cg import-eval --json --branch staging --rev cccc3333 --capabilities 8.6 --time 2024-05-03 "$FIX/malformed.jsonl"
expect_eq malformed-json-problems "$(jq -r '.evaluations[0].problems | map(.line) | join(",")' "$T/out")" \
	"2,3,6,7,8,9"
# --strict: any bad line and nothing is imported
cg import-eval --strict --branch strict --rev cccc3333 --capabilities 8.6 "$FIX/malformed.jsonl"
expect_eq strict-status "$rc" 1
has strict-says "$T/err" "(--strict)"
expect_eq strict-nothing "$(q "SELECT count(*) FROM evaluations WHERE branch = 'strict'")" 0

# no jobs at all: an error, nothing recorded
before=$(counts)
: >"$T/empty.jsonl"
cg import-eval --branch empty --rev r --capabilities 8.6 "$T/empty.jsonl"
expect_eq empty-status "$rc" 1
has empty-says "$T/err" "no jobs"
printf 'garbage\n{"attr": "x"}\n' >"$T/junk.jsonl"
cg import-eval --branch empty --rev r --capabilities 8.6 "$T/junk.jsonl"
expect_eq junk-status "$rc" 1
has junk-line "$T/err" "junk.jsonl:1:"
has junk-line2 "$T/err" "junk.jsonl:2: no \"drvPath\" and no \"error\""
expect_eq empty-counts "$(counts)" "$before"

# a line over 1 MiB is refused; the rest is read
{
	head -1 "$FIX/master-8.6.jsonl"
	printf '{"attr": "huge", "error": "'
	head -c 1100000 /dev/zero | tr '\0' x
	printf '"}\n'
	sed -n 2p "$FIX/master-8.6.jsonl"
} >"$T/huge.jsonl"
cg import-eval --branch huge --rev r --capabilities 8.6 "$T/huge.jsonl"
expect_eq huge-status "$rc" 0
has huge-says "$T/err" "huge.jsonl:2: line longer than 1048576 bytes"
expect_eq huge-rows "$(q "SELECT count(DISTINCT attr) FROM eval_jobs j JOIN evaluations e ON e.id = j.evaluation_id
	WHERE e.branch = 'huge'")" 2

# standard input
cg import-eval --branch stdin --rev r --capabilities 8.6 - <"$FIX/master-8.6.jsonl"
expect_eq stdin-status "$rc" 0
expect_eq stdin-source "$(q "SELECT source FROM evaluations WHERE branch = 'stdin'")" "<stdin>"

# --- hostile text is data, never SQL -------------------------------------------

evil="x'; DROP TABLE evaluations; --"
cg import-eval --branch "$evil" --rev "r'\"" --capabilities 8.6 --jobset "j'); DELETE FROM paths; --" \
	--time 2024-05-01 "$FIX/hostile.jsonl"
expect_eq hostile-status "$rc" 0
expect_eq hostile-tables "$(q "SELECT count(*) FROM sqlite_master WHERE name IN ('evaluations', 'paths')")" 2
expect_eq hostile-branch "$(q "SELECT rev FROM evaluations WHERE branch = 'x''; DROP TABLE evaluations; --'")" "r'\""
expect_eq hostile-attrs "$(q "SELECT count(*) FROM eval_jobs WHERE attr IN ('a''; DROP TABLE evaluations; --',
	'quote\"d.\\back')")" 2
expect_eq hostile-error "$(q "SELECT error FROM eval_jobs WHERE error LIKE '%DELETE FROM paths%'" | head -c 25)" \
	"'); DELETE FROM paths; --"
cg import-eval --branch "$evil" --rev "r'\"" --capabilities 8.6 --time 2024-05-01 "$FIX/hostile.jsonl"
has hostile-reimport "$T/out" "already imported"
# control characters in labels are refused
cg import-eval --branch "$(printf 'a\033[31mb')" --rev r --capabilities 8.6 "$FIX/master-8.6.jsonl"
expect_eq hostile-control "$rc" 2

# --- usage errors ----------------------------------------------------------------

cg import-eval --rev r --capabilities 8.6 "$FIX/master-8.6.jsonl"
expect_eq usage-no-branch "$rc" 2
has usage-no-branch-says "$T/err" "--branch and --rev are required"
cg import-eval --branch b --rev r --capabilities 8.x "$FIX/master-8.6.jsonl"
expect_eq usage-bad-caps "$rc" 2
has usage-bad-caps-says "$T/err" "'8.x' is not a CUDA capability"
cg import-eval --branch b --rev r --capabilities 8.6 --time yesterday "$FIX/master-8.6.jsonl"
expect_eq usage-bad-time "$rc" 2
cg import-eval --branch b --rev r --capabilities 8.6 --frobnicate "$FIX/master-8.6.jsonl"
expect_eq usage-unknown "$rc" 2
cg import-eval --branch b --rev r --capabilities 8.6 a.jsonl b.jsonl
expect_eq usage-two-files "$rc" 2
cg import-eval --branch b --rev r --capabilities
expect_eq usage-no-value "$rc" 2
cg import-eval --manifest "$FIX/manifest.tsv" --branch b
expect_eq usage-manifest-branch "$rc" 2
cg import-eval --branch b --rev r --capabilities 8.6 "$T/does-not-exist.jsonl"
expect_eq missing-file "$rc" 1
has missing-file-says "$T/err" "cannot open '$T/does-not-exist.jsonl'"

# --- manifests ----------------------------------------------------------------------

DB="$T/m.db"
(cd / && $CG --db "$DB" --now 2024-06-01 import-eval --manifest "$FIX/manifest.tsv" >"$T/out" 2>"$T/err")
expect_eq manifest-status $? 0
has manifest-summary "$T/out" "3 evaluations: 3 imported, 0 already imported, 0 failed"
expect_eq manifest-rows "$(q "SELECT branch || ' ' || capabilities || ' ' || time || ' ' || ifnull(jobset, '-')
	FROM evaluations ORDER BY id" | tr '\n' ';')" \
	"master 8.6 1714521600 cuda-master;master 8.6,8.9 1714521600 -;nixos-unstable 8.6 1713571200 -;"
expect_eq manifest-source "$(q "SELECT source FROM evaluations WHERE id = 1")" "$FIX/master-8.6.jsonl"
before=$(counts)
cg import-eval --manifest "$FIX/manifest.tsv"
has manifest-again "$T/out" "3 evaluations: 0 imported, 3 already imported, 0 failed"
expect_eq manifest-again-counts "$(counts)" "$before"
# a bad manifest imports nothing
printf 'a.jsonl\tmaster\n\tb\tr\t8.6\nx.jsonl\tb\tr\t8.x\n' >"$T/bad.tsv"
cg import-eval --manifest "$T/bad.tsv"
expect_eq manifest-bad "$rc" 1
has manifest-bad-1 "$T/err" "bad.tsv:1: 2 tab-separated fields"
has manifest-bad-2 "$T/err" "bad.tsv:2: the file field is empty"
has manifest-bad-3 "$T/err" "bad.tsv:3: capabilities: '8.x'"
expect_eq manifest-bad-counts "$(counts)" "$before"
# one missing file fails that evaluation only; the others are imported
mkdir "$T/mf"
cp "$FIX/unstable-8.6.jsonl" "$T/mf/u.jsonl"
printf '# comment\n\nmissing.jsonl\tb\tr\t8.6\nu.jsonl\tnixos-unstable\tdddd4444\t8.6,8.9\taarch64-linux\t@1714000000\tjetson\n' \
	>"$T/mf/m.tsv"
cg import-eval --manifest "$T/mf/m.tsv" --json
expect_eq manifest-partial "$rc" 1
expect_eq manifest-partial-json "$(jq -r '[.imported, .failed, .evaluations[0].status,
	.evaluations[1].system, .evaluations[1].jobset] | join(" ")' "$T/out")" "1 1 failed aarch64-linux jetson"
has manifest-partial-where "$T/err" "m.tsv:3: cannot open '$T/mf/missing.jsonl'"
expect_eq manifest-partial-row "$(q "SELECT count(*) FROM evaluations WHERE rev = 'dddd4444'
	AND system = 'aarch64-linux' AND time = 1714000000")" 1

# --- build outcomes -------------------------------------------------------------------

DB="$T/b.db"
cg import-builds "$FIX/hydra-builds.json"
expect_eq builds-status "$rc" 0
has builds-summary "$T/out" "4 build outcomes: 4 new, 0 already recorded"
expect_eq builds-rows "$(q "SELECT status || ':' || ifnull(hydra_status, '-') || ':' || ifnull(time, '-')
	FROM builds ORDER BY hydra_id" | tr '\n' ' ')" \
	"succeeded:0:1714553600 failed:1:1714560000 queued:-:1714550000 timed-out:7:1714570000 "
want=$(jq -r '.[0].drvpath' "$FIX/hydra-builds.json")
expect_eq builds-view "$(q "SELECT drv_path FROM build_outcomes WHERE hydra_id = 101")" "$want"
before=$(counts)
cg import-builds "$FIX/hydra-builds.json"
has builds-again "$T/out" "0 new, 4 already recorded"
cg import-builds "$FIX/hydra-build.json"
has builds-single "$T/out" "1 build outcome: 0 new, 1 already recorded"
expect_eq builds-again-counts "$(counts)" "$before"
cg import-builds "$FIX/builds.jsonl"
expect_eq builds-lines-status "$rc" 0
has builds-lines-summary "$T/out" "3 build outcomes: 3 new, 0 already recorded; 2 records skipped"
has builds-unknown-status "$T/err" "builds.jsonl:3: unknown status 'exploded'"
has builds-malformed "$T/err" "builds.jsonl:4: malformed JSON"
expect_eq builds-no-time "$(q "SELECT count(*) FROM builds WHERE status = 'queued' AND time IS NULL")" 1
before=$(counts)
cg import-builds --json - <"$FIX/builds.jsonl"
expect_eq builds-json "$(jq -r '[.status, .records, .imported, .alreadyKnown, .skipped,
	(.problems | map(.line) | join(","))] | join(" ")' "$T/out")" "imported 3 0 3 2 3,4"
expect_eq builds-json-counts "$(counts)" "$before"
# a broken array cannot be split: nothing of it is recorded
{ printf '[\n'; jq -c '.[0]' "$FIX/hydra-builds.json" | sed 's/"id":101/"id":999,"buildstatus":1/; s/"buildstatus":0,//'
  printf ',\n{"drvpath": \n'; } >"$T/broken.json"
cg import-builds "$T/broken.json"
expect_eq builds-broken-status "$rc" 1
has builds-broken-says "$T/err" "malformed JSON in item 2 of the array (from line 4)"
expect_eq builds-broken-counts "$(counts)" "$before"
printf 'garbage\n' | { $CG --db "$DB" import-builds - >"$T/out" 2>"$T/err"; echo $? >"$T/rc"; }
expect_eq builds-garbage "$(cat "$T/rc")" 1
printf '[]\n' | { $CG --db "$DB" import-builds - >"$T/out" 2>"$T/err"; echo $? >"$T/rc"; }
expect_eq builds-empty "$(cat "$T/rc")" 0
expect_eq builds-end-counts "$(counts)" "$before"
cg import-builds
expect_eq builds-usage "$rc" 2
cg import-builds --nope x
expect_eq builds-usage-opt "$rc" 2

# --- keys --------------------------------------------------------------------------------

DB="$T/k.db"
K1=$(cat "$ROOT/tests/fixtures/sig/test.public")
K2=$(cat "$ROOT/tests/fixtures/sig/other.public")
N1=${K1%%:*}
cg keys list
expect_eq keys-empty "$rc" 0
has keys-empty-says "$T/out" "no trusted keys"
cg keys add "$K1"
expect_eq keys-add "$rc" 0
expect_eq keys-row "$(q "SELECT name || ':' || public_key, added_at, revoked_at IS NULL FROM trusted_keys")" \
	"$K1|1717200000|1"
cg keys add "$K1"
expect_eq keys-add-again "$rc" 0
has keys-add-again-says "$T/out" "already trusted"
cg keys add "$N1:AAAA"
expect_eq keys-short "$rc" 1
has keys-short-says "$T/err" "3 bytes, want 32"
cg keys add "k:$(printf '%088d' 0)"
expect_eq keys-long "$rc" 1
cg keys add 'k:not*base64*at*all*not*base64*at*all*not*b='
expect_eq keys-not-base64 "$rc" 1
has keys-not-base64-says "$T/err" "base64"
cg keys add "${K1#*:}"
expect_eq keys-no-name "$rc" 1
cg keys add "$N1:${K2#*:}"
expect_eq keys-name-taken "$rc" 1
has keys-name-taken-says "$T/err" "already trusted with another public key"
cg keys add --json "$K2"
expect_eq keys-add-json "$(jq -r '.status + " " + .publicKey' "$T/out")" "added $K2"
cg keys revoke nope
expect_eq keys-revoke-unknown "$rc" 1
has keys-revoke-unknown-says "$T/err" "no trusted key named 'nope'"
cg keys revoke "$N1" --at 2024-05-15
expect_eq keys-revoke "$rc" 0
expect_eq keys-revoked-at "$(q "SELECT revoked_at FROM trusted_keys WHERE name = '$N1'")" 1715731200
cg keys revoke "$N1"
expect_eq keys-revoke-again "$rc" 0
has keys-revoke-again-says "$T/out" "already revoked at 2024-05-15T00:00:00Z"
expect_eq keys-revoked-at-kept "$(q "SELECT revoked_at FROM trusted_keys WHERE name = '$N1'")" 1715731200
cg keys add "$K1"
expect_eq keys-readd-revoked "$rc" 1
has keys-readd-revoked-says "$T/err" "stays revoked"
cg keys list --json
expect_eq keys-list-json "$(jq -r 'map(.name + "=" + .status + "=" + (.revokedAt // "-")) | join(" ")' "$T/out")" \
	"${K2%%:*}=trusted=- $N1=revoked=2024-05-15T00:00:00Z"
cg keys list
has keys-list-text "$T/out" "revoked  2024-06-01T00:00:00Z  2024-05-15T00:00:00Z  $K1"
cg keys
expect_eq keys-usage-none "$rc" 2
cg keys frob
expect_eq keys-usage-sub "$rc" 2
cg keys add
expect_eq keys-usage-add "$rc" 2
cg keys revoke "$N1" --at someday
expect_eq keys-usage-at "$rc" 2
cg keys list extra
expect_eq keys-usage-list "$rc" 2

finish
