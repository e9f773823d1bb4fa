#!/bin/sh
# `schedule` benchmark (issue 12): `cachegc schedule` on the simulate
# benchmark's generated year (bench/sim_world.sh: about $N store paths,
# default 1,000,000; daily evaluations of 3 branches x 3 capability sets,
# 3,285 evaluations), as of the end of the year: it loads the GC world,
# measures every group (churn over all 3,285 evaluations in time order,
# the shared parts of the newest closures, survival) and replays the
# synthetic futures of the search through gc_simulate.  Under the limit of
# bench/simulate.sh (a fifth of all bytes ever pushed), a tenth and a
# hundredth of it, with cachix and priority.  Then, unless MATCH=0, `schedule --validate`
# on the monthly-crawled world with gen's own LRU GC (its limit), which
# prints the model's mean absolute error.  Target: 120 s and 4 GiB a run.
# No peer: no other tool recommends rebuild intervals from a cache's
# history.  Measure at a smaller N first (N=100000 sh bench/schedule.sh).
CG=$1
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sim_world.sh"
sim_baseworld
set -- $(sqlite3 -separator ' ' "$BASE" "SELECT (SELECT count(*) FROM presence),
	(SELECT sum(coalesce(file_size, nar_size)) FROM narinfos),
	(SELECT count(*) FROM evaluations), (SELECT count(*) FROM eval_jobs)")
paths=$1 bytes=$2 evals=$3 jobs=$4
end=$(awk '$1 == "start" { s = $2 } $1 == "days" { d = $2 } END { print s + d * 86400 }' "$W/gen-params")
LIMIT=${LIMIT:-$((bytes / 5))}
echo "schedule as of the end of the year: $paths paths, $evals evaluations, $jobs jobs;" \
	"limit $LIMIT bytes ($(awk -v b="$LIMIT" 'BEGIN { printf "%.1f TiB", b / 2^40 }'))"
rows=
for lim in "$LIMIT" "$((LIMIT / 10))" "$((LIMIT / 100))"; do
	for p in cachix priority; do
		measure "schedule --limit $lim --policy $p" "$CG" --quiet --db "$BASE" --now "@$end" \
			schedule --limit "$lim" --policy "$p" --json
		r=$(jq -r '"\(.feasible) \(.simulations) \([.groups[] | (.intervalDays // "never")] | join(","))"' "$OUT/.stdout")
		rows="$rows$(printf '%-14s %-9s %8s %8s  %s' "$lim" "$p" "$SECS" "$RSS_MB" "$r")
"
	done
done
echo
echo "schedule (target: < 120 s, < 4096 MiB):"
printf '%-14s %-9s %8s %8s  %s\n' limit policy seconds "MiB RSS" "feasible replays intervals (days)"
printf '%s' "$rows"

[ "${MATCH:-1}" = 1 ] || exit 0
sim_gcworld
last=$(sqlite3 "$GCDB" "SELECT max(started_at) FROM crawls WHERE status = 'complete'")
echo
for p in cachix priority; do
	measure "schedule --validate --policy $p" "$CG" --quiet --db "$GCDB" --now "@$last" \
		schedule --limit "$GLIMIT" --policy "$p" --validate --json
	jq -r --arg p "$p" '"\($p): measured to \(.split), replayed to \(.end), \(.crawls) crawls after: mean absolute error \(.meanAbsoluteError * 1000 | round / 10) percentage points over \(.groups | length) groups"' "$OUT/.stdout"
done
