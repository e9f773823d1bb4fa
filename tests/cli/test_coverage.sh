#!/bin/sh
# tests/cli/test_coverage.sh - `cachegc coverage` and `cachegc verify` on a
# generated CUDA CI world replayed over four weekly crawls: each status
# cross-checked against the tables with sqlite3, summaries against the
# rows, replays at earlier moments, capability sets, key trust and
# revocation, tampered narinfos (a signature over another path, one of the
# wrong length), the three output forms and usage errors.
. "$(dirname "$0")/../lib/lib.sh"
need sqlite3 jq
W="$T/world"
DB="$T/t.db"
cg() { $CG --db "$DB" "$@"; }
q() { sqlite3 -batch -noheader "$DB" "$1"; }

for day in 2024-05-08 2024-05-15 2024-05-22 2024-05-29; do
	$CG gen "$W" --paths 3000 --as-of "$day" >/dev/null 2>&1 || fail "gen-$day" "gen failed"
	cg --now "$day" crawl "$W/cache" >/dev/null 2>&1 || fail "crawl-$day" "crawl failed"
done
cg import-eval --manifest "$W/evals/manifest.tsv" >/dev/null 2>&1 || fail import-eval "import failed"
cg import-builds "$W/builds.jsonl" >/dev/null 2>&1 || fail import-builds "import failed"
AT=2024-05-29
at=$(date -u -d $AT +%s)

# --- help --------------------------------------------------------------------------

$CG coverage --help >"$T/h" 2>&1
expect_eq help-exit $? 0
for o in --cache --branch --capabilities --attr --at --json --markdown cached partial untrusted \
	evicted missing failed queued; do
	has "help-$o" "$T/h" "$o"
done
$CG verify --help >"$T/h" 2>&1
expect_eq help-verify-exit $? 0

# --- no keys ---------------------------------------------------------------------------

cg --now $AT coverage --json >"$T/c0.json" 2>"$T/c0.err"
expect_eq nokeys-exit $? 0
has nokeys-warning "$T/c0.err" "signatures were not checked"
expect_eq nokeys-no-untrusted "$(jq '[.[] | select(.status == "untrusted")] | length' "$T/c0.json")" 0
cg --now $AT verify >"$T/v0" 2>&1
expect_eq verify-nokeys-exit $? 1
has verify-nokeys-says "$T/v0" "no trusted keys"

# --- the rows against the tables ----------------------------------------------------

cg keys add "$(cat "$W"/keys/*.public)" >/dev/null
cg --now $AT coverage --json >"$T/c.json" 2>"$T/c.err"
expect_eq cov-exit $? 0
expect_eq cov-no-warning "$(cat "$T/c.err")" ""
expect_eq cov-json-array "$(jq -r 'type' "$T/c.json")" array
# one row per (attr, output) of the latest evaluation of each column
latest="SELECT e.id FROM evaluations e WHERE e.time <= $at AND e.id = (SELECT e2.id FROM
	evaluations e2 WHERE e2.branch = e.branch AND e2.capabilities = e.capabilities AND
	e2.system = e.system AND e2.time <= $at ORDER BY e2.time DESC, e2.id DESC LIMIT 1)"
expect_eq cov-rows "$(jq length "$T/c.json")" "$(q "SELECT count(*) FROM eval_jobs WHERE evaluation_id IN ($latest)")"
expect_eq cov-columns "$(jq -r '[.[] | .evaluation] | unique | map(tostring) | join(",")' "$T/c.json")" \
	"$(q "SELECT group_concat(id) FROM ($latest ORDER BY id)")"
expect_eq cov-statuses-known "$(jq -r '[.[].status] | unique - ["cached","partial","untrusted","evicted","missing","failed","queued"] | length' "$T/c.json")" 0
for s in cached partial evicted failed; do
	n=$(jq --arg s $s '[.[] | select(.status == $s)] | length' "$T/c.json")
	if [ "$n" -gt 0 ]; then pass "cov-has-$s"; else fail "cov-has-$s" "no $s row in the generated world"; fi
done
expect_eq cov-all-trusted "$(jq '[.[] | select(.status == "untrusted")] | length' "$T/c.json")" 0

# present(path) as of AT, from presence, for the rows' outputs
jq -r '.[] | select(.outPath != null) | "\(.outPath) \(.status)"' "$T/c.json" | sort -u >"$T/rows"
q "SELECT '/nix/store/' || p.hash || '-' || p.name,
	max(pr.first_seen <= $at AND (pr.gone_at IS NULL OR pr.gone_at > $at)),
	max(pr.first_seen <= $at)
	FROM paths p LEFT JOIN presence pr ON pr.path_id = p.id GROUP BY p.id" | sort >"$T/pres"
bad=$(awk -F'|' 'NR == FNR { now[$1] = $2; ever[$1] = $3; next }
	{ p = $1; s = $2
	  if ((s == "cached" || s == "partial" || s == "untrusted") && now[p] != 1) print "present? " $0
	  if (s == "evicted" && (now[p] == 1 || ever[p] != 1)) print "evicted? " $0
	  if (s == "missing" && ever[p] == 1) print "missing? " $0 }' "$T/pres" FS=' ' "$T/rows")
expect_eq cov-presence-agrees "$bad" ""
# evicted rows: since is the end of the path's last episode
jq -r '.[] | select(.status == "evicted") | "\(.outPath) \(.since)"' "$T/c.json" | head -5 |
while read -r p since; do
	h=$(basename "$p" | cut -c1-32)
	want=$(q "SELECT strftime('%Y-%m-%dT%H:%M:%SZ', max(gone_at), 'unixepoch') FROM presence pr
		JOIN paths p ON p.id = pr.path_id WHERE p.hash = '$h' AND gone_at <= $at")
	expect_eq "cov-evicted-since-$h" "$since" "$want"
done
# failed rows: an eval error or the latest build's status
expect_eq cov-failed-reasons "$(jq -r '[.[] | select(.status == "failed") | select(.reason == null or .reason == "succeeded")] | length' "$T/c.json")" 0
# cached outputs: the closure is whole
expect_eq cov-cached-whole "$(jq '[.[] | select(.status == "cached" and .missingPaths != 0)] | length' "$T/c.json")" 0
expect_eq cov-partial-missing "$(jq '[.[] | select(.status == "partial" and .missingPaths == 0)] | length' "$T/c.json")" 0
# an older cached evaluation is older, of the same column, with the same attr
jq -r '.[] | select(.olderCached != null) | "\(.branch)|\(.capabilities)|\(.attr)|\(.output)|\(.olderCached.evaluation)|\(.olderCached.outPath)|\(.evaluation)"' \
	"$T/c.json" | head -20 >"$T/older"
if [ -s "$T/older" ]; then pass cov-has-older; else fail cov-has-older "no olderCached in the generated world"; fi
while IFS='|' read -r b c a o ev op latest_ev; do
	got=$(q "SELECT count(*) FROM eval_jobs j JOIN evaluations e ON e.id = j.evaluation_id
		JOIN paths p ON p.id = j.path_id, evaluations l
		WHERE e.id = $ev AND l.id = $latest_ev AND e.branch = '$b' AND e.capabilities = '$c'
		AND e.time <= l.time AND e.id != l.id AND j.attr = '$a' AND j.output = '$o'
		AND '/nix/store/' || p.hash || '-' || p.name = '$op'")
	expect_eq "cov-older-$a-$ev" "$got" 1
done <"$T/older"

# --- summaries ------------------------------------------------------------------------

cg --now $AT coverage >"$T/c.txt" 2>&1
for ev in $(jq -r '[.[].evaluation] | unique | .[]' "$T/c.json"); do
	jobs=$(jq --argjson e "$ev" '[.[] | select(.evaluation == $e) | .attr] | unique | length' "$T/c.json")
	cached=$(jq --argjson e "$ev" '[.[] | select(.evaluation == $e)] | group_by(.attr) |
		map(select(all(.status == "cached"))) | length' "$T/c.json")
	rev=$(q "SELECT substr(rev, 1, 12) FROM evaluations WHERE id = $ev")
	line=$(grep -A1 "rev $rev," "$T/c.txt" | tail -n 1)
	case $line in
	*"cached $cached/$jobs jobs ("*) pass "cov-summary-$ev" ;;
	*) fail "cov-summary-$ev" "want cached $cached/$jobs in '$line'" ;;
	esac
done
has cov-text-trust "$T/c.txt" "signatures checked against 1 trusted key"
has cov-text-matrix "$T/c.txt" "PACKAGE"
cg --now $AT coverage --markdown >"$T/c.md" 2>&1
has cov-md-table "$T/c.md" "| # | branch | capabilities | system | rev |"
has cov-md-matrix "$T/c.md" "| package | 1 | 2 |"

# --- filters and replay ------------------------------------------------------------------

cg --now $AT coverage --json --capabilities '8.6, 7.5' >"$T/caps.json" 2>&1
expect_eq cov-caps-set "$(jq -r '[.[].capabilities] | unique | join(";")' "$T/caps.json")" "7.5,8.6"
cg --now $AT coverage --json --branch master --capabilities 8.6 --attr 'python3Packages.*' >"$T/f.json" 2>&1
expect_eq cov-filter-branch "$(jq -r '[.[] | "\(.branch) \(.capabilities)"] | unique | join(";")' "$T/f.json")" "master 8.6"
expect_eq cov-filter-attr "$(jq '[.[] | select(.attr | startswith("python3Packages.") | not)] | length' "$T/f.json")" 0
cg --now $AT coverage --branch no-such-branch >"$T/nb" 2>&1
expect_eq cov-no-branch-exit $? 1
has cov-no-branch-says "$T/nb" "no evaluation of branch 'no-such-branch'"

cg --now $AT coverage --json --at 2024-05-15 >"$T/r.json" 2>&1
r15=$(date -u -d 2024-05-15 +%s)
expect_eq replay-evals "$(jq -r '[.[].evaluation] | unique | map(tostring) | join(",")' "$T/r.json")" \
	"$(q "SELECT group_concat(id) FROM (SELECT e.id FROM evaluations e WHERE e.time <= $r15 AND
		e.id = (SELECT e2.id FROM evaluations e2 WHERE e2.branch = e.branch AND
		e2.capabilities = e.capabilities AND e2.system = e.system AND e2.time <= $r15
		ORDER BY e2.time DESC, e2.id DESC LIMIT 1) ORDER BY e.id)")"
# an output cached on the 22nd and evicted by the 29th says so both ways
cg --now $AT coverage --json --at 2024-05-22T12:00:00Z >"$T/r22.json" 2>&1
then_now=$(jq -s -r '(.[0] | map(select(.status == "cached")) | map({key: .outPath, value: 1}) | from_entries) as $r |
	.[1][] | select($r[.outPath] == 1 and .status == "evicted") | .outPath' "$T/r22.json" "$T/c.json" | head -1)
if [ -n "$then_now" ]; then pass replay-cached-then-evicted-now; else
	fail replay-cached-then-evicted-now "no output cached on 05-22 and evicted on 05-29"; fi

# --- verify, revocation and tampered narinfos ---------------------------------------

cg --now $AT verify >"$T/v1" 2>&1
expect_eq verify-exit "$?" 0
present=$(q "SELECT count(DISTINCT path_id) FROM presence WHERE first_seen <= $at AND (gone_at IS NULL OR gone_at > $at)")
has verify-summary "$T/v1" "$present paths checked against 1 trusted key: $present trusted"
cg --now $AT verify --json >"$T/v2.json" 2>&1
expect_eq verify-reused "$(jq '.verified' "$T/v2.json")" 0

# Two new narinfos: one with another path's signature, one whose signature
# is 32 bytes long.  Crawled on the 30th.
src=$(ls "$W"/cache/*.narinfo | head -n 1)
hs=$(basename "$src" .narinfo)
h1=00000000000000000000000000000001
h2=00000000000000000000000000000002
sed "s|^StorePath: /nix/store/$hs-|StorePath: /nix/store/$h1-|" "$src" >"$W/cache/$h1.narinfo"
sed -e "s|^StorePath: /nix/store/$hs-|StorePath: /nix/store/$h2-|" \
	-e "s|^Sig: \([^:]*\):.*|Sig: \1:$(printf '%032d' 0 | base64 -w0)|" "$src" >"$W/cache/$h2.narinfo"
cg --now 2024-05-30 crawl "$W/cache" >/dev/null 2>&1 || fail crawl-tampered "crawl failed"
cg --now 2024-05-30 verify >"$T/v3" 2>&1
expect_eq verify-tampered-exit $? 1
grep "$h1" "$T/v3" | awk '{ print $1 }' >"$T/v3a"
expect_eq verify-tampered-bad "$(cat "$T/v3a")" bad-signature
expect_eq verify-tampered-short "$(grep "$h2" "$T/v3" | awk '{ print $1 }')" malformed-signature
has verify-tampered-count "$T/v3" "2 untrusted"

cg --now 2024-05-30 keys revoke "$(basename "$W"/keys/*.public .public)" --at 2024-05-29T12:00:00Z >/dev/null
cg --now 2024-05-30 coverage --json >"$T/rv.json" 2>&1
expect_eq revoked-no-cached "$(jq '[.[] | select(.status == "cached")] | length' "$T/rv.json")" 0
expect_eq revoked-untrusted "$(jq '[.[] | select(.status == "untrusted") | .untrustedReason] | unique | join(",")' -r "$T/rv.json")" revoked-key
# the moment before the revocation still trusts the key
cg --now 2024-05-30 coverage --json --at $AT >"$T/rv2.json" 2>&1
expect_eq revoked-replay "$(jq -c '[.[] | .status] | group_by(.) | map({(.[0]): length}) | add' "$T/rv2.json")" \
	"$(jq -c '[.[] | .status] | group_by(.) | map({(.[0]): length}) | add' "$T/c.json")"

# --- usage ------------------------------------------------------------------------------

cg coverage --json --markdown >/dev/null 2>&1
expect_eq usage-both $? 2
cg coverage --capabilities 'sm_86' >/dev/null 2>&1
expect_eq usage-caps $? 2
cg coverage --at tomorrow >/dev/null 2>&1
expect_eq usage-at $? 2
cg coverage --frobnicate >/dev/null 2>&1
expect_eq usage-unknown $? 2
cg coverage --branch >/dev/null 2>&1
expect_eq usage-no-value $? 2
cg verify --at >/dev/null 2>&1
expect_eq usage-verify $? 2
cg verify /nix/store/00000000000000000000000000000009-nothing >/dev/null 2>&1
expect_eq verify-unknown-path $? 1
# an attr that failed to evaluate has its own row, named as such
printf '%s\n' '{"attr":"brokenpkg","attrPath":["brokenpkg"],"error":"error: Package brokenpkg is marked as broken"}' \
	>"$T/broken.jsonl"
cg import-eval --branch extra --rev 0000000000000000000000000000000000000001 --capabilities 8.6 \
	--time 2024-05-28 "$T/broken.jsonl" >/dev/null 2>&1 || fail cov-import-broken "import failed"
cg --now $AT coverage --branch extra >"$T/cb.txt" 2>&1
has cov-text-eval-error-row "$T/cb.txt" "brokenpkg (evaluation)"
has cov-text-eval-error-detail "$T/cb.txt" "brokenpkg (evaluation): failed: "

finish
