#!/bin/sh
# `why` benchmark (issue 11): one question against the generated cache of
# $N narinfos (default 200,000) with 20 groups of evaluations (the world
# of bench/coverage.sh, bench/evals_world.sh).  `why` reads only the
# closures it is asked about; its peer in the same run is `coverage
# --attr`, which answers the same question by loading the whole cache's
# graph.  Measured on a fresh copy (the closures' signatures verified with
# Ed25519 and recorded), then with the verdicts recorded: an attr cached
# in all 20 groups, an attr missing from some (so the older evaluations
# are searched for a suggestion), one group, and a store path.
CG=$1
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/evals_world.sh"
DB="$OUT/why.db"
AT=2024-06-01
cp "$BASE" "$DB"
rm -f "$DB-wal" "$DB-shm"

# why LABEL ARGS...: measure `why ARGS` (exit 1, "not cached", is an answer).
why() {
	label=$1
	shift
	MEASURE_OK=1 measure "$label" "$CG" --quiet --db "$DB" --now $AT why "$@"
}

why "why pkg0005, first run (verifies signatures)" pkg0005
first=$SECS
answers=$(grep -c '^pkg0005: ' "$OUT/.stdout" || :)
why "why pkg0005 (verdicts recorded)" pkg0005
warm=$SECS
why "why pkg0005 (again)" pkg0005
[ "$(awk -v a="$SECS" -v b="$warm" 'BEGIN { print (a < b) }')" = 1 ] && warm=$SECS
why "why pkg0000 (not cached in some groups)" pkg0000
missing=$SECS
why "why pkg0005 --branch master --capabilities 8.6" --branch master --capabilities 8.6 pkg0005
one=$SECS
path=$(sqlite3 "$DB" "SELECT p.hash FROM eval_jobs j JOIN paths p ON p.id = j.path_id
	WHERE j.attr = 'pkg0005' LIMIT 1")
why "why HASH (a store path)" "$path"
bypath=$SECS
measure "peer: coverage --attr pkg0005" "$CG" --quiet --db "$DB" --now $AT coverage --attr pkg0005
peer=$SECS

echo
echo "why of one attr ($answers answers, one per group) against $N paths:"
echo "  ${warm}s with recorded verdicts, ${first}s on first run (verifies its closures' signatures)"
echo "  ${missing}s for an attr missing from some groups, ${one}s for one group, ${bypath}s for a path"
echo "  coverage --attr, which loads the whole graph: ${peer}s ($(ratio "$peer" "$warm")x why)"
