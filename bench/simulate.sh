#!/bin/sh
# Simulation benchmark (issue 5): `cachegc simulate` of 365 daily steps
# over a generated year of CI history: about $N store paths (default
# 1,000,000) pushed at their push times, and daily evaluations of 3
# branches (master, nixpkgs-unstable, nixos-24.05) x 3 capability sets
# (`gen --daily`: 3,285 evaluations, about 4 million jobs).  Every policy
# is timed with GNU time (wall clock, peak RSS); the target is 30 s and
# 2 GiB each on the 2-core build machine.
#
# No peer: no other tool replays a binary cache's history under a GC
# policy (Cachix, Attic and niks3 only run their own GC on their own
# servers), so the figures stand alone.
#
# The world is the --no-gc cache as of the end of the year, crawled once:
# every path's narinfo mtime is its push time, so the database holds the
# whole push history (but no recorded eviction: one crawl, nothing for the
# anchored comparison to compare).  A second world, the same history with
# gen's own LRU garbage collection, is crawled on the 15th of every month
# (12 crawls): its database records what the GC took between crawls, and
# the runs on it add the anchored comparison (11 intervals) and print how
# well each policy predicts those evictions.  Both are prepared once and
# kept under bench/out (delete $BASE.done or $GCDB.done to redo them);
# MATCH=0 skips the second.
CG=$1
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sim_world.sh"
sim_baseworld
stats=$(sqlite3 -separator ' ' "$BASE" "SELECT (SELECT count(*) FROM presence),
	(SELECT sum(coalesce(file_size, nar_size)) FROM narinfos),
	(SELECT count(*) FROM evaluations), (SELECT count(*) FROM eval_jobs),
	(SELECT count(DISTINCT branch || ' ' || capabilities) FROM evaluations),
	(SELECT min(push_time) FROM presence)")
set -- $stats
paths=$1 bytes=$2 evals=$3 jobs=$4 groups=$5 first=$6
# The limit: a fifth of everything ever pushed, so the cache fills up in
# the first months and the GC works every day after.
LIMIT=${LIMIT:-$((bytes / 5))}
from=$(date -u -d "@$first" +%Y-%m-%d)
to=$(date -u -d "$from + 365 days" +%Y-%m-%d)
echo "simulate: $paths paths ($(awk -v b="$bytes" 'BEGIN { printf "%.1f TiB", b / 2^40 }') pushed), $evals evaluations ($groups branch x capability groups, $jobs jobs)"
echo "365 daily steps from $from to $to; limit $LIMIT bytes ($(awk -v b="$LIMIT" 'BEGIN { printf "%.1f TiB", b / 2^40 }')) for cachix and priority, retention 30 days for attic and niks3"
echo

rows=
for p in cachix attic niks3 priority; do
	case $p in cachix|priority) lim="--limit $LIMIT" ;; *) lim= ;; esac
	# shellcheck disable=SC2086
	measure "simulate --policy $p" "$CG" --quiet --db "$BASE" simulate --policy $p $lim \
		--from "$from" --to "$to" --step 1
	steps=$(grep -c '^20[0-9][0-9]-' "$OUT/.stdout" || :)
	evicted=$(sed -n 's/^evicted \([0-9]*\) paths.*/\1/p' "$OUT/.stdout")
	rows="$rows$(printf '%-10s %6s %9s %9s %15s' "$p" "$steps" "$SECS" "$RSS_MB" "$evicted")
"
done
measure "simulate --policy cachix --json" "$CG" --quiet --db "$BASE" simulate --policy cachix \
	--limit "$LIMIT" --from "$from" --to "$to" --step 1 --json
json_secs=$SECS json_rss=$RSS_MB
measure "simulate --policy priority --next 1000" "$CG" --quiet --db "$BASE" --now "$to" simulate \
	--policy priority --limit "$LIMIT" --next 1000
next_secs=$SECS next_rss=$RSS_MB

echo
echo "simulate, 365 daily steps over $paths paths and $evals evaluations (target: < 30 s, < 2048 MiB):"
printf '%-10s %6s %9s %9s %15s\n' policy steps seconds "MiB RSS" "paths evicted"
printf '%s' "$rows"
echo "cachix --json: ${json_secs} s, ${json_rss} MiB; priority --next 1000: ${next_secs} s, ${next_rss} MiB"

[ "${MATCH:-1}" = 1 ] || exit 0
sim_gcworld
echo
echo "with recorded evictions: $gpaths paths seen by $gcrawls monthly crawls, $ggone recorded evictions; limit $GLIMIT bytes ($(awk -v b="$GLIMIT" 'BEGIN { printf "%.1f TiB", b / 2^40 }'), gen's own)"
mrows=
for p in cachix attic niks3 priority; do
	case $p in cachix|priority) lim="--limit $GLIMIT" ;; *) lim= ;; esac
	# shellcheck disable=SC2086
	measure "simulate --policy $p (with the comparison)" "$CG" --quiet --db "$GCDB" simulate \
		--policy $p $lim --from "$from" --to "$to" --step 1 --json
	m=$(jq -r '.match | "\(.intervals | length) \(.predicted) \(.recorded) \(.matched) \(.precision // 0) \(.recall // 0)"' "$OUT/.stdout")
	mrows="$mrows$(printf '%-10s %9s %9s %s' "$p" "$SECS" "$RSS_MB" "$m" | awk '{ printf "%-10s %9s %9s %9s %10s %10s %10s %9.3f %9.3f", $1, $2, $3, $4, $5, $6, $7, $8, $9 }')
"
done
echo
echo "simulate with the anchored comparison ($gcrawls crawls):"
printf '%-10s %9s %9s %9s %10s %10s %10s %9s %9s\n' policy seconds "MiB RSS" intervals predicted recorded matched precision recall
printf '%s' "$mrows"
