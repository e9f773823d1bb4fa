#!/bin/sh
# import-eval --manifest on a database another process holds locked: one
# wait of the busy timeout, then a clear error naming the evaluation that
# failed and how many were not attempted; nothing half-imported; the same
# command imports everything once the lock is gone.
. "$(dirname "$0")/../lib/lib.sh"
need sqlite3 jq

$CACHEGC gen "$T/w" --paths 1000 --seed 2 >/dev/null || { fail gen; exit 1; }
head -n 5 "$T/w/evals/manifest.tsv" >"$T/w/evals/five.tsv"
M="$T/w/evals/five.tsv"
first=$(head -n 1 "$M" | cut -f 1)
# A DB with something in it (a read alone creates none).
$CACHEGC --db "$T/db" keys add "$(cat "$T/w/keys/"*.public)" >/dev/null 2>&1 || { fail keys-add; exit 1; }

# Another process holds the write lock (an open write transaction).
mkfifo "$T/fifo"
sqlite3 "$T/db" <"$T/fifo" >/dev/null 2>&1 &
holder=$!
exec 3>"$T/fifo"
echo "BEGIN IMMEDIATE; INSERT INTO meta (key, value) VALUES ('held', 'x');" >&3
wait_until 100 0.05 test -e "$T/db-wal"
sleep 0.2

CACHEGC_BUSY_TIMEOUT_MS=1000 $CG --db "$T/db" import-eval --manifest "$M" >"$T/out" 2>"$T/err"
expect_eq "locked-exit-1" "$?" 1
check "locked-names-evaluation" grep -q "'$T/w/evals/$first' ($M:1): not imported: database '$T/db' is locked by another process" "$T/err"
check "locked-says-rest-not-attempted" grep -q "stopped: 4 more evaluations of '$M' not attempted" "$T/err"
check "locked-says-what-to-do" grep -q "hint: run the same command again when the other process is done" "$T/err"
# One wait of the busy timeout, not one per evaluation.
expect_eq "locked-waited-once" "$(grep -c "is locked by another process; try again" "$T/err")" 1
check "locked-summary" grep -q "^5 evaluations: 0 imported, 0 already imported, 1 failed, 4 not attempted (database locked)$" "$T/out"

CACHEGC_BUSY_TIMEOUT_MS=300 $CG --db "$T/db" import-eval --json --manifest "$M" >"$T/out.json" 2>"$T/err"
expect_eq "locked-json-exit-1" "$?" 1
expect_eq "locked-json-statuses" "$(jq -c '[.evaluations[].status]' "$T/out.json")" \
	'["failed","not-attempted","not-attempted","not-attempted","not-attempted"]'
expect_eq "locked-json-counts" "$(jq -c '[.imported, .failed, .notAttempted]' "$T/out.json")" '[0,1,4]'
check "locked-json-error-names-lock" sh -c "jq -r '.evaluations[0].error' '$T/out.json' | grep -q 'locked by another process'"

# The lock goes: the same command imports all five.
echo "ROLLBACK;" >&3
exec 3>&-
wait $holder
expect_eq "nothing-imported-while-locked" "$(sqlite3 "$T/db" 'SELECT count(*) FROM evaluations')" 0
$CG --db "$T/db" import-eval --manifest "$M" >"$T/out" 2>"$T/err"
expect_eq "unlocked-exit-0" "$?" 0
check "unlocked-summary" grep -q "^5 evaluations: 5 imported, 0 already imported, 0 failed$" "$T/out"
finish
