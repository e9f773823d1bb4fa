#!/bin/sh
# tests/cli/test_evict.sh - `cachegc plan evict` and `cachegc evict` from the
# command line: usage errors, help texts, plans on a generated CUDA CI cache
# (JSON shape, sizes, closure safety checked with `cachegc closure`), dry run
# versus --apply, the next crawl recording the evicted paths as gone, a
# re-run doing nothing, object keys for an HTTP cache, a limit closure
# safety cannot reach, hostile NAR URLs, and a cache that is not a cache.
. "$(dirname "$0")/../lib/lib.sh"
need sqlite3 jq
DB="$T/t.db"

cg() {
	$CG --db "$DB" --now 2024-06-01 "$@" >"$T/out" 2>"$T/err"
	rc=$?
}
q() { sqlite3 "$DB" "$1"; }
listing() { (cd "$1" && find . -type f | sort); }

# --- help and usage -----------------------------------------------------------

$CG plan --help >"$T/h1"; expect_eq help-plan-status $? 0
for o in --limit --policy --weights --retention --cache --json unreached superseded low-value \
	lru expired dependency-lost priority cachix attic niks3 reach; do
	has "help-plan$o" "$T/h1" "$o"
done
$CG evict --help >"$T/h2"; expect_eq help-evict-status $? 0
for o in --plan --apply --dir --json CACHEGC_EVICT_STEP_DELAY_MS; do has "help-evict$o" "$T/h2" "$o"; done

cg plan; expect_eq usage-plan-nothing "$rc" 2
cg plan rebuild; expect_eq usage-plan-unknown "$rc" 2
cg plan evict; expect_eq usage-plan-no-limit "$rc" 2
has usage-plan-no-limit-msg "$T/err" "--limit"
cg plan evict --limit lots; expect_eq usage-plan-bad-limit "$rc" 2
has usage-plan-bad-limit-msg "$T/err" "cannot parse 'lots'"
cg plan evict --limit 1G --policy random; expect_eq usage-plan-bad-policy "$rc" 2
has usage-plan-bad-policy-msg "$T/err" "unknown policy 'random'"
cg plan evict --limit 1G --bogus; expect_eq usage-plan-bad-option "$rc" 2
cg plan evict --limit 1G --retention soon; expect_eq usage-plan-bad-retention "$rc" 2
has usage-plan-bad-retention-msg "$T/err" "--retention wants a number of days"
cg plan evict --limit; expect_eq usage-plan-limit-value "$rc" 2
cg evict; expect_eq usage-evict-no-plan "$rc" 2
cg evict --plan x; expect_eq usage-evict-bad-plan "$rc" 2
cg evict --plan 1 extra; expect_eq usage-evict-extra "$rc" 2
CACHEGC_EVICT_STEP_DELAY_MS=soon $CG --db "$DB" evict --plan 1 >/dev/null 2>&1
expect_eq usage-evict-bad-delay $? 2
cg plan evict --limit 1G; expect_eq plan-no-cache "$rc" 1
has plan-no-cache-msg "$T/err" "no cache yet"
cg evict --plan 7; expect_eq evict-no-plan "$rc" 1
has evict-no-plan-msg "$T/err" "no plan 7"

# --- a generated cache ----------------------------------------------------------

W="$T/w"
$CG gen "$W" --paths 2000 --nar-stubs >/dev/null 2>"$T/gen.err" || fail gen "$(cat "$T/gen.err")"
CACHE="$W/cache"
cg crawl "$CACHE"; expect_eq crawl-status "$rc" 0
cg import-eval --manifest "$W/evals/manifest.tsv"; expect_eq import-status "$rc" 0
n_paths=$(q "SELECT count(*) FROM presence WHERE gone_at IS NULL")
size=$(q "SELECT sum(coalesce(n.file_size, n.nar_size)) FROM presence p JOIN narinfos n
	USING (cache_id, path_id) WHERE p.gone_at IS NULL")
limit=$((size / 3))
# closures that are whole now (a generated cache has a few holes already)
$CG --db "$DB" closure --all --json >"$T/cl0.json" 2>/dev/null
jq -r 'to_entries[] | select(.value.missing == []) | .key' "$T/cl0.json" | sort >"$T/whole0"

cg plan evict --limit "$limit" --json
expect_eq plan-status "$rc" 0
cp "$T/out" "$T/plan.json"
expect_eq plan-json-keys "$(jq -c '[has("id"), has("sizeBefore"), has("sizeAfter"), (.paths[0] | has("path"), has("reason"), has("downloadSize"), has("breaks"))] | all' "$T/plan.json")" true
expect_eq plan-id "$(jq .id "$T/plan.json")" 1
expect_eq plan-size-before "$(jq .sizeBefore "$T/plan.json")" "$size"
expect_eq plan-under-limit "$(jq --argjson l "$limit" '.sizeAfter <= $l and .limitReached' "$T/plan.json")" true
expect_eq plan-size-sum "$(jq '.sizeBefore - ([.paths[].downloadSize] | add) == .sizeAfter' "$T/plan.json")" true
expect_eq plan-reasons "$(jq -r '[.paths[].reason] | unique | map(select(. != "unreached" and . != "superseded" and . != "low-value")) | length' "$T/plan.json")" 0
expect_eq plan-db-rows "$(q "SELECT count(*) FROM evict_plan_paths WHERE plan_id = 1")" "$(jq '.paths | length' "$T/plan.json")"
expect_eq plan-db-sizes "$(q "SELECT size_before || ' ' || size_after || ' ' || limit_reached || ' ' || status FROM evict_plans WHERE id = 1")" \
	"$size $(jq .sizeAfter "$T/plan.json") 1 planned"
n_plan=$(jq '.paths | length' "$T/plan.json")
jq -r '.paths[].path' "$T/plan.json" | sort >"$T/planned"

# Every policy's plan is closure-safe, checked in SQL against the recorded
# references: no path that stays references an evicted one, and referrers
# go before what they reference.
closure_violations() { # PLAN_ID
	q "WITH ev AS (SELECT path_id, seq FROM evict_plan_paths WHERE plan_id = $1),
	     live AS (SELECT path_id FROM presence WHERE gone_at IS NULL)
	   SELECT count(*) FROM refs r
	   JOIN live lu ON lu.path_id = r.path_id JOIN live lv ON lv.path_id = r.ref_id
	   JOIN ev v ON v.path_id = r.ref_id LEFT JOIN ev u ON u.path_id = r.path_id
	   WHERE r.ref_id != r.path_id AND (u.seq IS NULL OR u.seq > v.seq)"
}
expect_eq plan-closure-safe "$(closure_violations 1)" 0
for p in priority cachix attic niks3 reach; do
	cg plan evict --limit "$limit" --policy "$p" --json
	case $rc in
	0 | 1) pass "policy-$p-status" ;;
	*) fail "policy-$p-status" "exit $rc: $(cat "$T/err")" ;;
	esac
	pid=$(jq .id "$T/out")
	expect_eq "policy-$p-closure-safe" "$(closure_violations "$pid")" 0
	expect_eq "policy-$p-recorded" "$(q "SELECT policy FROM evict_plans WHERE id = $pid")" "$p"
	if [ "$rc" = 1 ]; then
		has "policy-$p-says-why" "$T/err" "cannot bring"
	else
		expect_eq "policy-$p-under" "$(jq --argjson l "$limit" '.sizeAfter <= $l' "$T/out")" true
	fi
done
# plans made here are numbered 2.. : keep plan 1 for what follows
np=$(q "SELECT max(id) FROM evict_plans")

# the text form says the same
cg plan evict --limit "$limit"
expect_eq plan-text-status "$rc" 0
has plan-text-head "$T/out" "plan $((np + 1)): evict $n_plan of $n_paths paths"
has plan-text-next "$T/out" "cachegc evict --plan $((np + 1))"

# --- dry run, then apply ------------------------------------------------------------

listing "$CACHE" >"$T/before"
cg evict --plan 1
expect_eq dry-status "$rc" 0
has dry-summary "$T/out" "would delete $n_plan narinfos"
has dry-nothing "$T/out" "nothing was changed"
listing "$CACHE" >"$T/after-dry"
check dry-run-changes-nothing cmp "$T/before" "$T/after-dry"
expect_eq dry-no-journal "$(q "SELECT count(*) FROM evict_journal")" 0

cg evict --plan 1 --json
expect_eq dry-json-status "$rc" 0
expect_eq dry-json "$(jq -c '[.apply, .complete, .narinfos]' "$T/out")" "[false,true,$n_plan]"
dry_nars=$(jq .nars "$T/out")
dry_bytes=$(jq .deletedBytes "$T/out")

cg evict --plan 1 --apply --json
expect_eq apply-status "$rc" 0
expect_eq apply-json "$(jq -c '[.apply, .complete, .narinfos, .nars, .deletedBytes, .refused, .held]' "$T/out")" \
	"[true,true,$n_plan,$dry_nars,$dry_bytes,0,0]"
expect_eq apply-narinfos-left "$(find "$CACHE" -maxdepth 1 -name '*.narinfo' | wc -l)" "$((n_paths - n_plan))"
expect_eq apply-plan-status "$(q "SELECT status FROM evict_plans WHERE id = 1")" applied
expect_eq apply-journal "$(q "SELECT count(*) FROM evict_journal WHERE plan_id = 1 AND state != 'done'")" 0
expect_eq apply-run "$(q "SELECT status FROM evict_runs WHERE plan_id = 1")" complete
# every NAR still there is named by a narinfo still there, and vice versa
(cd "$CACHE" && sed -n 's/^URL: //p' *.narinfo | sort -u) >"$T/urls"
(cd "$CACHE" && find nar -type f | sort) >"$T/nars"
check apply-nars-match-narinfos cmp "$T/urls" "$T/nars"

# the next crawl records them as gone; no closure that was whole broke
cg --now 2024-06-02 crawl --json "$CACHE"
expect_eq recrawl-gone "$(jq .gone "$T/out")" "$n_plan"
q "SELECT '/nix/store/' || p.hash || '-' || p.name FROM presence e JOIN paths p ON p.id = e.path_id
	WHERE e.gone_at IS NOT NULL" | sort >"$T/gone"
check recrawl-gone-are-planned cmp "$T/gone" "$T/planned"
$CG --db "$DB" closure --all --json >"$T/cl1.json" 2>/dev/null
jq -r 'to_entries[] | select(.value.missing == []) | .key' "$T/cl1.json" | sort >"$T/whole1"
expect_eq closures-still-whole "$(comm -23 "$T/whole0" "$T/planned" | comm -23 - "$T/whole1" | wc -l)" 0

# running it again deletes nothing and says so
listing "$CACHE" >"$T/l1"
cg evict --plan 1 --apply
expect_eq rerun-status "$rc" 0
has rerun-summary "$T/out" "deleted 0 narinfos, 0 NARs"
listing "$CACHE" >"$T/l2"
check rerun-changes-nothing cmp "$T/l1" "$T/l2"

# the text plan was made before plan 1 went: its paths are gone already
cg evict --plan "$((np + 1))" --apply
expect_eq stale-plan-status "$rc" 0
has stale-plan-gone "$T/out" "deleted 0 narinfos"

# the cache is under the limit now: an empty plan
cg --now 2024-06-03 plan evict --limit "$limit" --json
expect_eq empty-plan "$(jq -c '[.limitReached, (.paths | length)]' "$T/out")" "[true,0]"

# --- an HTTP cache: keys only --------------------------------------------------------

DB2="$T/http.db"
cp "$DB" "$DB2"
sqlite3 "$DB2" "UPDATE caches SET url = 'https://cache.example.org/cuda'"
$CG --db "$DB2" plan evict --limit "$((limit / 2))" --json >"$T/hplan.json" 2>"$T/err"
expect_eq http-plan-status $? 0
hid=$(jq .id "$T/hplan.json")
$CG --db "$DB2" evict --plan "$hid" >"$T/keys" 2>"$T/keys.err"
expect_eq http-keys-status $? 0
expect_eq http-keys-narinfos "$(grep -c '\.narinfo$' "$T/keys")" "$(jq '.paths | length' "$T/hplan.json")"
first=$(jq -r '.paths[0].path' "$T/hplan.json" | sed 's|^/nix/store/||' | cut -c1-32)
has http-keys-first "$T/keys" "$first.narinfo"
has http-keys-ls "$T/keys" "$first.ls"
$CG --db "$DB2" evict --plan "$hid" --apply >"$T/out" 2>"$T/err"
expect_eq http-apply-refused $? 1
has http-apply-msg "$T/err" "cannot delete there"
listing "$CACHE" >"$T/l3"
check http-changes-nothing cmp "$T/l2" "$T/l3"

# --- a limit closure safety cannot reach ------------------------------------------------

# A forged cache: two narinfos that reference each other, and a third.
C2="$T/cycle"
mkdir -p "$C2/nar"
printf 'StoreDir: /nix/store\n' >"$C2/nix-cache-info"
mk() { # mk HASH NAME REFS
	printf 'StorePath: /nix/store/%s-%s\nURL: nar/%s.nar\nCompression: none\nFileSize: 1000\nNarHash: sha256:1%s%s\nNarSize: 1000\nReferences: %s\n' \
		"$1" "$2" "$1" "$1" "0000000000000000000" "$3" >"$C2/$1.narinfo"
	echo nar >"$C2/nar/$1.nar"
}
ha=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa hb=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb hc=cccccccccccccccccccccccccccccccc
mk "$ha" a "$hb-b"
mk "$hb" b "$ha-a"
mk "$hc" c ""
DB3="$T/cycle.db"
$CG --db "$DB3" crawl "$C2" >/dev/null 2>&1
$CG --db "$DB3" plan evict --limit 500 --policy reach >"$T/out" 2>"$T/err"
expect_eq cycle-status $? 1
has cycle-msg "$T/err" "without breaking closure safety"
has cycle-stored "$T/err" "plan 1 evicts what"
has cycle-above "$T/out" "ABOVE THE LIMIT"
expect_eq cycle-plan-row "$(sqlite3 "$DB3" "SELECT n_paths || ' ' || limit_reached FROM evict_plans")" "1 0"

# --- hostile URLs ---------------------------------------------------------------------

C3="$T/hostile"
mkdir -p "$C3/nar" "$T/elsewhere"
printf 'StoreDir: /nix/store\n' >"$C3/nix-cache-info"
echo sentinel >"$T/outside"
echo victim >"$T/elsewhere/victim"
ln -s "$T/elsewhere/victim" "$C3/nar/33333333333333333333333333333333.nar"
mkh() { # mkh HASH NAME URL
	printf 'StorePath: /nix/store/%s-%s\nURL: %s\nCompression: none\nFileSize: 1000\nNarHash: sha256:1%s%s\nNarSize: 1000\nReferences: \n' \
		"$1" "$2" "$3" "$1" "0000000000000000000" >"$C3/$1.narinfo"
}
h1=11111111111111111111111111111111 h2=22222222222222222222222222222222
h3=33333333333333333333333333333333 h4=44444444444444444444444444444444
mkh "$h1" up "nar/../../outside"
mkh "$h2" abs "$T/elsewhere/victim"
mkh "$h3" link "nar/$h3.nar"
mkh "$h4" fine "nar/$h4.nar"
echo nar >"$C3/nar/$h4.nar"
DB4="$T/hostile.db"
$CG --db "$DB4" crawl "$C3" >/dev/null 2>&1
$CG --db "$DB4" plan evict --limit 0 --policy reach >/dev/null 2>"$T/err"
has hostile-plan-warns "$T/err" "2 planned paths name a NAR URL outside the cache"
expect_eq hostile-plan "$(sqlite3 "$DB4" "SELECT n_paths FROM evict_plans")" 4
$CG --db "$DB4" evict --plan 1 >"$T/out" 2>"$T/err"
expect_eq hostile-dry-status $? 0
expect_eq hostile-dry-refused "$(grep -c '^refused' "$T/out")" 3
$CG --db "$DB4" evict --plan 1 --apply >"$T/out" 2>"$T/err"
expect_eq hostile-apply-status $? 1
has hostile-msg "$T/err" "3 paths refused"
has hostile-why-up "$T/out" "'..' leaves the cache directory"
has hostile-why-abs "$T/out" "absolute path"
has hostile-why-link "$T/out" "symbolic link"
expect_eq hostile-sentinel "$(cat "$T/outside")" sentinel
expect_eq hostile-victim "$(cat "$T/elsewhere/victim")" victim
for h in $h1 $h2 $h3; do
	expect_eq "hostile-kept-$h" "$(test -f "$C3/$h.narinfo" && echo kept)" kept
done
expect_eq hostile-fine-gone "$(test -e "$C3/$h4.narinfo" || test -e "$C3/nar/$h4.nar" || echo gone)" gone
expect_eq hostile-journal "$(sqlite3 "$DB4" "SELECT count(*) FROM evict_journal WHERE state = 'refused'")" 3
expect_eq hostile-run "$(sqlite3 "$DB4" "SELECT status FROM evict_runs")" incomplete

# --dir pointing at a directory that is not a cache
mkdir "$T/notacache"
$CG --db "$DB4" evict --plan 1 --dir "$T/notacache" >"$T/out" 2>"$T/err"
expect_eq dir-not-cache $? 1
has dir-not-cache-msg "$T/err" "no nix-cache-info"

finish
