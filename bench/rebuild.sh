#!/bin/sh
# `rebuild` benchmark (issue 12): the queue for 20 groups of evaluations
# (2,000 jobs each) against the generated cache of $N narinfos (default
# 200,000; the world of bench/coverage.sh, bench/evals_world.sh).  The
# floor in the same run is `coverage` of the same evaluations, which
# rebuild runs inside (without signature checks); then the survival model
# (--limit, cachix and priority), which loads the GC world as well.
CG=$1
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/evals_world.sh"
DB="$OUT/rebuild.db"
AT=2024-06-01
cp "$BASE" "$DB"
rm -f "$DB-wal" "$DB-shm"
measure "floor: coverage (first run, verifies)" "$CG" --quiet --db "$DB" --now $AT coverage
measure "floor: coverage (verdicts recorded)" "$CG" --quiet --db "$DB" --now $AT coverage
floor=$SECS
measure "rebuild" "$CG" --quiet --db "$DB" --now $AT rebuild --json
plain=$SECS
items=$(grep -c '"rank"' "$OUT/.stdout" || :)
measure "rebuild --limit 20G --policy cachix" "$CG" --quiet --db "$DB" --now $AT rebuild --limit 20G --policy cachix
lru=$SECS
measure "rebuild --limit 20G --policy priority" "$CG" --quiet --db "$DB" --now $AT rebuild --limit 20G --policy priority
prio=$SECS
echo
echo "rebuild queue of 20 evaluations x 2000 jobs against $N paths ($items items):"
echo "  ${plain}s ($(ratio "$plain" "$floor")x coverage with verdicts recorded, ${floor}s)"
echo "  with the survival model: cachix ${lru}s, priority ${prio}s"
