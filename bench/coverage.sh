#!/bin/sh
# Coverage benchmark (issue 4): `cachegc coverage` of 20 evaluations x
# 2,000 jobs against the generated cache of $N narinfos (default 200,000,
# shared with bench/ingest.sh).  gen's own history has fewer, smaller
# evaluations, so the 20 are made from the cache's paths: 5 branches x 4
# capability sets, each with an older evaluation too (40 imported), whose
# outputs overlap the way a CI's do (most shared between evaluations, some
# not in the cache at all).  Measured: the first run on a fresh copy (every
# signature of the closures checked with Ed25519 and recorded), then runs
# that reuse the recorded verdicts, then `cachegc verify` over every path.
CG=$1
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/evals_world.sh"
DB="$OUT/coverage.db"
evals=$(sqlite3 "$BASE" "SELECT count(*) FROM evaluations")
jobs=$(sqlite3 "$BASE" "SELECT count(*) FROM eval_jobs")
echo "coverage: $evals evaluations ($jobs jobs) over $(sqlite3 "$BASE" "SELECT count(*) FROM narinfos") narinfos"

cp "$BASE" "$DB"
rm -f "$DB-wal" "$DB-shm"
measure "coverage, first run (verifies signatures)" "$CG" --quiet --db "$DB" --now 2024-06-01 coverage
cold=$SECS cold_rss=$RSS_MB
rows=$(grep -c '^pkg' "$OUT/.stdout" || :)
verified=$(sqlite3 "$DB" "SELECT count(*) FROM sig_verdicts")
measure "coverage (verdicts recorded)" "$CG" --quiet --db "$DB" --now 2024-06-01 coverage
warm=$SECS warm_rss=$RSS_MB
measure "coverage --json (verdicts recorded)" "$CG" --quiet --db "$DB" --now 2024-06-01 coverage --json
json=$SECS
json_rows=$(grep -c '"attr"' "$OUT/.stdout" || :)
measure "verify, every path (first run)" "$CG" --quiet --db "$DB" --now 2024-06-01 verify
vcold=$SECS
tail -n 1 "$OUT/.stdout"
measure "verify, every path (verdicts recorded)" "$CG" --quiet --db "$DB" --now 2024-06-01 verify
vwarm=$SECS

echo
echo "coverage of 20 evaluations x 2000 jobs ($json_rows rows, $rows packages) against $N paths:"
echo "  ${warm}s (${warm_rss} MiB) with recorded verdicts, ${json}s as JSON;"
echo "  ${cold}s (${cold_rss} MiB) on first run, which checked $verified signatures"
echo "verify of every path: ${vcold}s first (the rest of the signatures), ${vwarm}s after"
