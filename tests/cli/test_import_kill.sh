#!/bin/sh
# import-eval --manifest killed with -9 at random moments: every
# evaluation it reported imported is in the database, whole; no evaluation
# is there in part; and running the same command again ends with exactly
# the rows of one uninterrupted import.
. "$(dirname "$0")/../lib/lib.sh"
need sqlite3

$CG gen "$T/w" --paths 3000 --seed 5 --days 60 --daily --no-gc >/dev/null || { fail gen; exit 1; }
M="$T/w/evals/manifest.tsv"
total=$(grep -c . "$M")

# Every row import-eval writes, in a canonical order.
dump() {
	sqlite3 "$1" "SELECT * FROM evaluations ORDER BY id;
	              SELECT * FROM eval_jobs ORDER BY evaluation_id, attr, output;
	              SELECT * FROM paths ORDER BY id;
	              SELECT * FROM builds ORDER BY id;"
}
# The evaluations of $1 with their jobs, as those of the clean import
# restricted to the ids $1 holds.
evals_in() {
	sqlite3 "$1" "SELECT e.id, e.branch, e.rev, e.capabilities, e.time, count(j.attr),
	                     total(j.line), total(j.path_id), total(j.drv_id)
	              FROM evaluations e LEFT JOIN eval_jobs j ON j.evaluation_id = e.id
	              WHERE e.id <= $2 GROUP BY e.id ORDER BY e.id"
}
rand() { echo $(( $(od -An -N2 -tu2 /dev/urandom) % $1 )); }

$CG --db "$T/clean.db" --now 2025-01-01 import-eval --manifest "$M" >"$T/clean.out" 2>&1
expect_eq "clean-exit-0" "$?" 0
expect_eq "clean-all-imported" "$(sqlite3 "$T/clean.db" 'SELECT count(*) FROM evaluations')" "$total"
dump "$T/clean.db" >"$T/clean.dump"

# Kill it again and again at random moments, each run going on from what
# the last left; batches of a random length (0: one evaluation each).
mid=0 round=0
while [ "$round" -lt 12 ]; do
	round=$((round + 1))
	done_before=$(sqlite3 "$T/k.db" 'SELECT count(*) FROM evaluations' 2>/dev/null || echo 0)
	[ "$done_before" -lt "$total" ] || break
	CACHEGC_IMPORT_BATCH_MS=$(rand 40) $CG --db "$T/k.db" --now 2025-01-01 \
		import-eval --manifest "$M" >"$T/k.out" 2>"$T/k.err" &
	pid=$!
	# Kill it once it has committed something more (so the kill lands
	# between evaluations however fast the machine), a random moment later.
	while kill -0 $pid 2>/dev/null &&
	      [ "$(sqlite3 "$T/k.db" 'SELECT count(*) FROM evaluations' 2>/dev/null || echo 0)" -le "$done_before" ]; do
		sleep 0.01
	done
	sleep "0.0$(rand 10)"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	n=$(sqlite3 "$T/k.db" 'SELECT count(*) FROM evaluations' 2>/dev/null || echo 0)
	[ "$n" -gt "$done_before" ] && [ "$n" -lt "$total" ] && mid=$((mid + 1))
	ok=$(sqlite3 "$T/k.db" 'PRAGMA integrity_check' 2>/dev/null || echo none)
	[ "$ok" = none ] && continue   # killed before it created the DB
	expect_eq "round-$round-integrity" "$ok" ok
	# Nothing reported imported was lost.
	lost=0
	for id in $(sed -n "s/^'.*': imported evaluation \([0-9]*\) .*/\1/p" "$T/k.out"); do
		[ "$(sqlite3 "$T/k.db" "SELECT count(*) FROM evaluations WHERE id = $id")" = 1 ] ||
			lost=$((lost + 1))
	done
	expect_eq "round-$round-reported-kept" "$lost" 0
	# Whole evaluations only, and the first n of the clean import.
	last=$(sqlite3 "$T/k.db" 'SELECT coalesce(max(id), 0) FROM evaluations')
	expect_eq "round-$round-count-is-last-id" "$last" "$n"
	expect_eq "round-$round-whole-evaluations" "$(evals_in "$T/k.db" "$last")" \
		"$(evals_in "$T/clean.db" "$last")"
done
echo "$round runs, $mid killed after committing some evaluations and before the last"
if [ "$mid" -gt 0 ]; then pass "killed-mid-import"; else fail "killed-mid-import" "no kill landed between two evaluations; the test proves nothing"; fi

$CG --db "$T/k.db" --now 2025-01-01 import-eval --manifest "$M" >"$T/k.out" 2>"$T/k.err"
expect_eq "resume-exit-0" "$?" 0
imported=$(sed -n 's/^\([0-9]*\) evaluations: \([0-9]*\) imported, \([0-9]*\) already imported, 0 failed$/\2+\3/p' "$T/k.out")
expect_eq "resume-counts-all" "$(( ${imported:-0} ))" "$total"
dump "$T/k.db" >"$T/k.dump"
check "resume-equals-clean-import" cmp -s "$T/clean.dump" "$T/k.dump"
finish
