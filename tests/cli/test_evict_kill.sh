#!/bin/sh
# evict --apply killed with -9 leaves its evict_runs row 'running'; the next
# run on that directory (which holds the directory's lock, so no other run
# can be alive there) marks it 'interrupted', as a crawl marks a killed
# crawl, and finishes the plan.  Runs on other directories are left be.
. "$(dirname "$0")/../lib/lib.sh"
need sqlite3 jq

$CACHEGC gen "$T/w" --paths 3000 --seed 4 --nar-stubs >/dev/null || { fail gen; exit 1; }
DB="$T/db"
$CACHEGC --db "$DB" --now 2024-05-29 crawl "$T/w/cache" >/dev/null 2>&1 || { fail crawl; exit 1; }
stored=$(sqlite3 "$DB" "SELECT sum(coalesce(file_size, nar_size)) FROM narinfos")
$CACHEGC --db "$DB" --now 2024-05-29 plan evict --limit $((stored / 2)) --json \
	>"$T/plan.json" 2>/dev/null
plan=$(jq .id "$T/plan.json")
n=$(jq '.paths | length' "$T/plan.json")
[ "${n:-0}" -gt 5 ] || { fail "plan-has-paths" "plan $plan evicts ${n:-0} paths"; exit 1; }
dir=$(cd "$T/w/cache" && pwd -P)
# A run of another directory, alive or not: not ours to judge.
sqlite3 "$DB" "INSERT INTO evict_runs (plan_id, dir, started_at, status)
               VALUES ($plan, '/elsewhere', 0, 'running')"

CACHEGC_EVICT_STEP_DELAY_MS=100 $CG --db "$DB" evict --plan "$plan" --apply >/dev/null 2>&1 &
pid=$!
wait_until 200 0.05 sql_at_least 2 "$DB" ".timeout 2000" \
	"SELECT count(*) FROM evict_journal WHERE state = 'done'"
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
left=$(sqlite3 "$DB" "SELECT count(*) FROM evict_journal WHERE state = 'done'")
if [ "${left:-0}" -ge 2 ] && [ "$left" -lt $((n * 2)) ]; then pass "killed-mid-plan"; else
	fail "killed-mid-plan" "$left files done of a plan of $n paths: the kill proves nothing"; fi
expect_eq "killed-run-left-running" \
	"$(sqlite3 "$DB" "SELECT status FROM evict_runs WHERE dir = '$dir'")" running

$CG --db "$DB" evict --plan "$plan" --apply >"$T/out" 2>"$T/err"
expect_eq "rerun-exit-0" "$?" 0
expect_eq "runs-of-dir" "$(sqlite3 "$DB" "SELECT group_concat(status) FROM
	(SELECT status FROM evict_runs WHERE dir = '$dir' ORDER BY id)")" "interrupted,complete"
expect_eq "killed-run-not-finished" "$(sqlite3 "$DB" "SELECT finished_at IS NULL FROM evict_runs
	WHERE dir = '$dir' ORDER BY id LIMIT 1")" 1
expect_eq "other-dir-run-untouched" \
	"$(sqlite3 "$DB" "SELECT status FROM evict_runs WHERE dir = '/elsewhere'")" running
expect_eq "plan-applied" "$(sqlite3 "$DB" "SELECT status FROM evict_plans WHERE id = $plan")" applied
# A dry run writes nothing, runs included.
$CG --db "$DB" evict --plan "$plan" >/dev/null 2>&1
expect_eq "dry-run-no-run-row" "$(sqlite3 "$DB" "SELECT count(*) FROM evict_runs")" 3
finish
