#!/bin/sh
# tests/cli/test_import_hydra.sh - `import-hydra` against a fake Hydra on a
# loopback port (tests/tools/fakehydra.py) serving responses shaped like
# Hydra's JSON API, made from a generated world (tests/tools/hydra_world.py):
# two jobsets, evaluations on two pages, queued builds that finish between
# two runs, failed and dependency-failed builds.  The recorded rows and
# `coverage --json` must equal those of the same data imported from files
# with import-eval and import-builds; then every fault: HTML, a 404 jobset,
# a malformed page, a build without outputs, 500, 429, Ctrl-C.
. "$(dirname "$0")/../lib/lib.sh"
need sqlite3 jq python3
TOOLS="$ROOT/tests/tools"
H="$T/hydra"
NOW=2024-05-12

$CG gen "$T/w" --paths 3000 --days 10 >/dev/null || { fail gen; exit 1; }
python3 "$TOOLS/hydra_world.py" from-gen "$T/w" "$H" >"$T/world.out" 2>&1 ||
	{ fail world "$(cat "$T/world.out")"; exit 1; }
python3 "$TOOLS/fakehydra.py" "$H" "$T/port" >"$T/server.out" 2>&1 &
SERVER=$!
at_exit "kill $SERVER 2>/dev/null"
wait_until 100 0.05 test -s "$T/port" || { fail server-start "$(cat "$T/server.out")"; exit 1; }
URL="http://127.0.0.1:$(cat "$T/port")"
printf '# jobset  what it stands for\ncuda:master-86 capabilities=8.6   # branch from the input\ncuda:stable capabilities=7.5,8.6 system=x86_64-linux\n' >"$T/map"

phase() { rm -f "$H/current"; ln -s "$1" "$H/current"; }
faults() { printf '%s\n' "$1" >"$H/faults.json"; }
# hy DB ARGS...: import-hydra at the fixed clock; out/err in $T, status in $rc.
hy() {
	_db=$1; shift
	$CG --db "$_db" --now $NOW import-hydra "$URL" --map "$T/map" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}
q() { sqlite3 "$1" "$2"; }
# What an import recorded, independent of row ids and of the source column.
rows() {
	q "$1" "SELECT e.branch, e.rev, e.capabilities, e.system, e.time, e.jobset, j.attr, j.output,
		o.hash || '-' || o.name, d.hash || '-' || d.name, j.name, j.system, j.line
	FROM eval_jobs j JOIN evaluations e ON e.id = j.evaluation_id
	JOIN paths o ON o.id = j.path_id JOIN paths d ON d.id = j.drv_id ORDER BY 1, 2, 3, 4, 5, 7, 8"
}
# The latest outcome per derivation, as coverage reads it.
latest() {
	q "$1" "SELECT d.hash, b.status, b.hydra_status, b.hydra_id, b.time, b.job, b.name, b.system
	FROM builds b JOIN paths d ON d.id = b.drv_id
	WHERE NOT EXISTS (SELECT 1 FROM builds c WHERE c.drv_id = b.drv_id AND
		ifnull(c.time, c.imported_at) > ifnull(b.time, b.imported_at)) ORDER BY 1, 2"
}
cov() { $CG --db "$1" --now $NOW coverage --json 2>/dev/null | jq -S .; }
# coverage at several moments, without evaluation ids (a run that recovers
# from a fault records the jobsets in another order)
covs() {
	for at in 2024-05-06 2024-05-09 $NOW; do
		$CG --db "$1" --now $NOW coverage --json --at $at 2>/dev/null |
			jq -S 'map(del(.evaluation) | if .olderCached then .olderCached |= del(.evaluation) else . end)
				| sort_by(.branch, .capabilities, .attr, .output)'
	done
}
# why for one attr of each coverage status (and one path), without
# evaluation ids; $2 is the coverage file to take the attrs from
whys() {
	for a in $(jq -r 'group_by(.status) | map(.[0].attr) | .[]' "$2") \
		no.such.attr; do
		echo "== $a"
		w=$($CG --db "$1" --now $NOW why --json "$a" 2>/dev/null)
		echo "exit $?"
		printf '%s\n' "$w" | jq -S 'walk(if type == "object" then del(.evaluation) else . end)'
	done
}

# --- the reference: the same data from files ---------------------------------

# REF follows the phases as import-hydra does: phase 1's evaluations and
# builds, then phase 2's (queued builds stay recorded as queued at their
# time, then finished later).  FINAL has every evaluation with the builds
# as they ended, which is what an import that never saw them queued holds.
REF="$T/ref.db"
$CG --db "$REF" --now $NOW crawl "$T/w/cache" >/dev/null
refimport() { # phase [builds phase]: import-eval the evaluations of a phase, then builds
	while IFS='	' read -r id ph js branch rev caps t; do
		[ "$ph" = "$1" ] || [ "$1" = all ] || continue
		$CG --db "$REF" --now $NOW import-eval --branch "$branch" --rev "$rev" \
			--capabilities "$caps" --time "$t" --jobset "$js" "$H/files/$id.jsonl" >/dev/null ||
			fail "ref-import-eval-$id"
	done <"$H/files/order.tsv"
	while IFS='	' read -r id ph rest; do
		b="$H/files/p${2:-$1}-$id.json"
		[ -f "$b" ] || continue
		$CG --db "$REF" --now $NOW import-builds "$b" >/dev/null || fail "ref-import-builds-$id"
	done <"$H/files/order.tsv"
}
refimport 1
rows "$REF" >"$T/ref1.rows"
cov "$REF" >"$T/ref1.cov"
whys "$REF" "$T/ref1.cov" >"$T/ref1.why"
refimport 2
rows "$REF" >"$T/ref2.rows"
latest "$REF" >"$T/ref2.latest"
cov "$REF" >"$T/ref2.cov"
whys "$REF" "$T/ref2.cov" >"$T/ref2.why"
REF="$T/final.db"
$CG --db "$REF" --now $NOW crawl "$T/w/cache" >/dev/null
refimport all 2
covs "$REF" >"$T/ref2.covs"

# --- following the Hydra: two runs, the second after builds finished ---------

A="$T/a.db"
$CG --db "$A" --now $NOW crawl "$T/w/cache" >/dev/null
phase phase1
: >"$H/requests.log"
hy "$A"
expect_eq run1-status "$rc" 0
has run1-summary "$T/out" "cuda:master-86: 22 new evaluations"
n1=$(awk -F'\t' '$2 == 1' "$H/files/order.tsv" | wc -l)
expect_eq run1-evaluations "$(q "$A" "SELECT count(*) FROM evaluations")" "$n1"
expect_eq run1-hydra-evals "$(q "$A" "SELECT count(*) FROM hydra_evals")" "$n1"
expect_eq run1-two-pages "$(grep -c 'master-86/evals' "$H/requests.log")" 2
has run1-page2 "$H/requests.log" "/jobset/cuda/master-86/evals?page=2"
expect_eq run1-accept-json "$(grep -vc ' application/json$' "$H/requests.log")" 0
expect_eq run1-builds-per-eval "$(grep -c '^/eval/[0-9]*/builds ' "$H/requests.log")" "$n1"
expect_eq run1-branch-from-input "$(q "$A" "SELECT DISTINCT branch FROM evaluations WHERE jobset = 'cuda:master-86'")" master
expect_eq run1-attr-without-system "$(q "$A" "SELECT count(*) FROM eval_jobs WHERE attr LIKE '%.x86_64-linux'")" 0
nq=$(q "$A" "SELECT count(*) FROM builds WHERE status = 'queued'")
[ "$nq" -gt 0 ] && pass run1-queued || fail run1-queued "no queued build recorded"
expect_eq run1-unfinished "$(q "$A" "SELECT count(*) FROM hydra_builds WHERE finished = 0")" "$nq"
queued_ids=$(q "$A" "SELECT group_concat(hydra_id) FROM builds WHERE status = 'queued'")
rows "$A" >"$T/a1.rows"
check run1-rows-as-files cmp "$T/ref1.rows" "$T/a1.rows"
cov "$A" >"$T/a1.cov"
check run1-coverage-as-files cmp "$T/ref1.cov" "$T/a1.cov"
has run1-coverage-queued "$T/a1.cov" '"status": "queued"'
whys "$A" "$T/ref1.cov" >"$T/a1.why"
check run1-why-as-files cmp "$T/ref1.why" "$T/a1.why"
has run1-why-queued "$T/a1.why" '"verdict": "queued"'

phase phase2
: >"$H/requests.log"
hy "$A" --json
expect_eq run2-status "$rc" 0
expect_eq run2-json-refreshed "$(jq .refreshedBuilds "$T/out")" "$nq"
expect_eq run2-json-finished "$(jq .finishedBuilds "$T/out")" "$nq"
expect_eq run2-json-new "$(jq '[.jobsets[].newEvaluations] | add' "$T/out")" 5
expect_eq run2-one-page "$(grep -c 'master-86/evals' "$H/requests.log")" 1
expect_eq run2-only-new-evals "$(grep -c '^/eval/[0-9]*/builds ' "$H/requests.log")" 5
expect_eq run2-no-queued "$(q "$A" "SELECT count(*) FROM builds WHERE status = 'queued'")" 0
expect_eq run2-one-row-per-build "$(q "$A" "SELECT count(*) = count(DISTINCT hydra_id) FROM builds")" 1
expect_eq run2-queued-finished-failed "$(q "$A" "SELECT count(DISTINCT status) FROM builds
	WHERE hydra_id IN ($queued_ids) AND status IN ('failed', 'dependency-failed')")" 2
for s in failed dependency-failed; do
	n=$(q "$A" "SELECT count(*) FROM builds WHERE status = '$s'")
	[ "$n" -gt 0 ] && pass "run2-has-$s" || fail "run2-has-$s" "no $s build"
done
rows "$A" >"$T/a2.rows"
check run2-rows-as-files cmp "$T/ref2.rows" "$T/a2.rows"
latest "$A" >"$T/a2.latest"
check run2-outcomes-as-files cmp "$T/ref2.latest" "$T/a2.latest"
cov "$A" >"$T/a2.cov"
check run2-coverage-as-files cmp "$T/ref2.cov" "$T/a2.cov"
whys "$A" "$T/ref2.cov" >"$T/a2.why"
check run2-why-as-files cmp "$T/ref2.why" "$T/a2.why"
has run2-why-failed "$T/a2.why" '"verdict": "failed"'
covs "$A" >"$T/a2.covs"
check run2-coverage-at-as-files cmp "$T/ref2.covs" "$T/a2.covs"

# a third run changes nothing
sqlite3 "$A" ".dump evaluations eval_jobs builds hydra_evals" >"$T/a2.dump"
hy "$A"
expect_eq run3-status "$rc" 0
has run3-nothing-new "$T/out" "cuda:stable: 0 new evaluations"
sqlite3 "$A" ".dump evaluations eval_jobs builds hydra_evals" >"$T/a3.dump"
check run3-idempotent cmp "$T/a2.dump" "$T/a3.dump"

# --since leaves older evaluations alone
S="$T/since.db"
hy "$S" --jobset cuda:stable --since 2024-05-08
expect_eq since-status "$rc" 0
expect_eq since-oldest "$(q "$S" "SELECT min(time) >= CAST(strftime('%s', '2024-05-08') AS INTEGER)
	FROM evaluations")" 1
older=$(awk -F'\t' '$3 == "cuda:stable" && substr($7, 2) + 0 < 1715126400' "$H/files/order.tsv" | wc -l)
[ "$older" -gt 0 ] && pass since-some-older || fail since-some-older "no stable evaluation before 2024-05-08"
expect_eq since-count "$(q "$S" "SELECT count(*) FROM evaluations")" \
	"$(($(awk -F'\t' '$3 == "cuda:stable"' "$H/files/order.tsv" | wc -l) - older))"
expect_eq since-only-stable "$(q "$S" "SELECT DISTINCT jobset FROM evaluations")" cuda:stable

# --- faults --------------------------------------------------------------------

# Not a Hydra: HTML for everything.
F="$T/f.db"
faults '{"*": {"mode": "html"}}'
hy "$F"
expect_eq html-status "$rc" 1
has html-names-url "$T/err" "$URL/jobset/cuda/master-86: an HTML page, not JSON"
expect_eq html-nothing "$(q "$F" "SELECT count(*) FROM evaluations")" 0

# A jobset that does not exist; the other one is still followed.
faults '{}'
hy "$F" --jobset cuda:nope --jobset cuda:stable
expect_eq 404-status "$rc" 1
has 404-names-url "$T/err" "GET $URL/jobset/cuda/nope/evals: 404 Not Found: Hydra has no jobset cuda:nope"
expect_eq 404-other-recorded "$(q "$F" "SELECT count(DISTINCT jobset) FROM evaluations")" 1
expect_eq 404-no-row "$(q "$F" "SELECT count(*) FROM hydra_jobsets WHERE jobset = 'nope'")" 0

# A Hydra without /eval/ID/builds (nor /jobset/P/J): each listed /build/ID.
B="$T/fallback.db"
faults "$(awk -F'\t' '$3 == "cuda:stable" {print $1}' "$H/files/order.tsv" |
	jq -Rsc 'split("\n") | map(select(. != "")) | map({key: "/eval/\(.)/builds", value: {mode: "status", code: 404}})
		| from_entries + {"/jobset/cuda/stable": {mode: "status", code: 404}}')"
: >"$H/requests.log"
hy "$B" --jobset cuda:stable
expect_eq fallback-status "$rc" 0
n=$(grep -c '^/build/' "$H/requests.log")
[ "$n" -gt 0 ] && pass fallback-per-build || fail fallback-per-build "no /build/ID request"
rows "$B" >"$T/b.rows"
grep -F 'cuda:stable' "$T/a2.rows" | sed 's/nixos-24\.05|/stable|/' >"$T/a2-stable.rows"
check fallback-rows-as-ever cmp "$T/a2-stable.rows" "$T/b.rows"
faults '{}'

# A page that is not a page of evaluations.
faults '{"/jobset/cuda/master-86/evals?page=2": {"mode": "body", "body": "{\"evals\": 3}"}}'
hy "$F" --jobset cuda:master-86
expect_eq badpage-status "$rc" 1
has badpage-names-url "$T/err" "GET $URL/jobset/cuda/master-86/evals?page=2: not a page of evaluations"
expect_eq badpage-nothing "$(q "$F" "SELECT count(*) FROM evaluations WHERE jobset = 'cuda:master-86'")" 0

# A build without outputs in the 4th evaluation: the 3 before it are
# recorded whole, nothing of it or after it.
E4=$(awk -F'\t' '$3 == "cuda:master-86" {print $1}' "$H/files/order.tsv" | sed -n 4p)
body=$(jq -c '.[0].buildoutputs = {}' "$H/phase2/eval/$E4/builds.json")
faults "$(jq -cn --arg p "/eval/$E4/builds" --arg b "$body" '{($p): {mode: "body", body: $b}}')"
hy "$F" --jobset cuda:master-86
expect_eq nooutputs-status "$rc" 1
has nooutputs-names-url "$T/err" "GET $URL/eval/$E4/builds: build"
has nooutputs-why "$T/err" 'has no "buildoutputs"'
expect_eq nooutputs-before "$(q "$F" "SELECT count(*) FROM hydra_evals h JOIN hydra_jobsets j ON j.id = h.jobset_id
	WHERE j.jobset = 'master-86'")" 3
expect_eq nooutputs-whole "$(q "$F" "SELECT count(*) FROM evaluations WHERE jobset = 'cuda:master-86'")" 3
expect_eq nooutputs-linked "$(q "$F" "SELECT count(*) FROM evaluations e WHERE jobset = 'cuda:master-86'
	AND NOT EXISTS (SELECT 1 FROM hydra_eval_evaluations x WHERE x.evaluation_id = e.id)")" 0

# 500 on every try: named, stops there; the next run goes on.
E6=$(awk -F'\t' '$3 == "cuda:master-86" {print $1}' "$H/files/order.tsv" | sed -n 6p)
faults "{\"/eval/$E6/builds\": {\"mode\": \"status\", \"code\": 500}}"
hy "$F" --jobset cuda:master-86 --tries 2
expect_eq 500-status "$rc" 1
has 500-names-url "$T/err" "$URL/eval/$E6/builds"
has 500-code "$T/err" "500"
expect_eq 500-before "$(q "$F" "SELECT count(*) FROM evaluations WHERE jobset = 'cuda:master-86'")" 5

# 429 on every try: named as such.
faults '{"/jobset/cuda/master-86/evals": {"mode": "status", "code": 429, "retry_after": 0}}'
hy "$F" --jobset cuda:master-86 --tries 2
expect_eq 429-status "$rc" 1
has 429-names-url "$T/err" "$URL/jobset/cuda/master-86/evals"
has 429-code "$T/err" "429"

# 429 once (Retry-After: 1) and 503 once: retried, then it all goes on.
: >"$H/requests.log"
faults "{\"/jobset/cuda/master-86/evals\": {\"mode\": \"status\", \"code\": 429, \"retry_after\": 1, \"times\": 1},
	\"/eval/$E6/builds\": {\"mode\": \"status\", \"code\": 503, \"times\": 1}}"
hy "$F"
expect_eq retry-status "$rc" 0
expect_eq retry-429-twice "$(grep -c '^/jobset/cuda/master-86/evals ' "$H/requests.log")" 2
expect_eq retry-503-twice "$(grep -c "^/eval/$E6/builds " "$H/requests.log")" 2
faults '{}'

# Ctrl-C while an evaluation's builds are slow to come: what was recorded
# stays, whole; the next run finishes; the end is what the files give.
K="$T/k.db"
$CG --db "$K" --now $NOW crawl "$T/w/cache" >/dev/null
E10=$(awk -F'\t' '$3 == "cuda:master-86" {print $1}' "$H/files/order.tsv" | sed -n 10p)
faults "{\"/eval/$E10/builds\": {\"mode\": \"delay\", \"seconds\": 30}}"
$CG --db "$K" --now $NOW import-hydra "$URL" --map "$T/map" >"$T/kout" 2>"$T/kerr" &
pid=$!
if wait_until 200 0.05 sql_at_least 9 "$K" "SELECT count(*) FROM hydra_evals"; then
	sleep 0.3
	kill -INT $pid
	wait $pid
	expect_eq ctrlc-status $? 130
	has ctrlc-says "$T/kerr" "interrupted"
	expect_eq ctrlc-kept "$(q "$K" "SELECT count(*) FROM hydra_evals")" 9
	expect_eq ctrlc-whole "$(q "$K" "SELECT (SELECT count(*) FROM evaluations) = (SELECT count(*) FROM hydra_eval_evaluations)")" 1
else
	fail ctrlc-progress "nothing recorded: $(cat "$T/kerr")"
	kill $pid
fi
faults '{}'
hy "$K"
expect_eq ctrlc-next-run "$rc" 0
covs "$K" >"$T/k.covs"
check ctrlc-end-as-files cmp "$T/ref2.covs" "$T/k.covs"
# the fault runs, recovered, end where the reference does too
hy "$F"
expect_eq faults-recovered "$rc" 0
$CG --db "$F" --now $NOW crawl "$T/w/cache" >/dev/null
covs "$F" >"$T/f.covs"
check faults-end-as-files cmp "$T/ref2.covs" "$T/f.covs"

# --- usage ----------------------------------------------------------------------

$CG --db "$T/u.db" import-hydra "$URL" >/dev/null 2>"$T/err"
expect_eq usage-no-jobset $? 2
$CG --db "$T/u.db" import-hydra "$URL" --jobset nocolon >/dev/null 2>"$T/err"
expect_eq usage-bad-jobset $? 2
printf 'cuda:stable colour=blue\n' >"$T/badmap"
$CG --db "$T/u.db" import-hydra "$URL" --map "$T/badmap" >/dev/null 2>"$T/err"
expect_eq badmap-status $? 1
has badmap-line "$T/err" "badmap:1: unknown key 'colour'"
$CG --db "$T/u.db" import-hydra "http://user:pw@127.0.0.1:1/" --jobset a:b >/dev/null 2>"$T/err"
expect_eq credentials-status $? 1
has credentials-why "$T/err" "credentials"

finish
