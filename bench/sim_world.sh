# bench/sim_world.sh - the simulate benchmark's worlds (sourced after
# lib.sh, with $CG set), shared by bench/simulate.sh, bench/schedule.sh and bench/report.sh:
# a generated year of daily CI history of about $N store paths (default
# 1,000,000): sim_baseworld prepares it crawled once at the end ($BASE:
# every push, no recorded eviction); sim_gcworld prepares the same year with gen's own LRU GC,
# crawled on the 15th of every month ($GCDB: recorded evictions, $GLIMIT:
# gen's limit).  Both are kept under bench/out (delete $BASE.done or
# $GCDB.done to redo them).
N=${N:-1000000}
DAYS=${DAYS:-365}
W="$OUT/sim-world-$N"
BASE="$OUT/simulate-$N.db"
for c in sqlite3 jq; do
	if ! command -v $c >/dev/null; then
		echo "bench: needs $c: apt-get install -y $c" >&2
		exit 1
	fi
done
sim_baseworld() {
	if ! [ -f "$W/.done" ]; then
		rm -rf "$W"
		echo "generating $N paths, $DAYS days of daily evaluations into $W ..."
		measure "gen --daily --no-gc" "$CG" --quiet gen "$W" --paths "$N" --days "$DAYS" --daily --no-gc
		touch "$W/.done"
	fi
	if ! [ -f "$BASE.done" ] || [ "$BASE.done" -ot "$W/.done" ]; then
		rm -f "$BASE" "$BASE-wal" "$BASE-shm" "$BASE.done"
		end=$(awk '$1 == "start" { s = $2 } $1 == "days" { d = $2 } END { print s + d * 86400 }' "$W/gen-params")
		echo "crawling $W/cache and importing the evaluations into $BASE ..."
		measure "crawl (once, at the end of the history)" "$CG" --quiet --db "$BASE" --now "@$end" crawl "$W/cache"
		measure "import-eval --manifest" "$CG" --quiet --db "$BASE" --now "@$end" import-eval --manifest "$W/evals/manifest.tsv"
		touch "$BASE.done"
	fi
}

sim_gcworld() {
	GW="$OUT/sim-gcworld-$N"
	GCDB="$OUT/simulate-gc-$N.db"
	MONTHS="2024-05-15 2024-06-15 2024-07-15 2024-08-15 2024-09-15 2024-10-15 2024-11-15
		2024-12-15 2025-01-15 2025-02-15 2025-03-15 2025-04-15"
	if ! [ -f "$GCDB.done" ]; then
		rm -rf "$GW"
		rm -f "$GCDB" "$GCDB-wal" "$GCDB-shm"
		echo
		echo "generating the same history with the cache's LRU GC, crawled monthly into $GCDB ..."
		for m in $MONTHS; do
			"$CG" --quiet gen "$GW" --paths "$N" --days "$DAYS" --daily --as-of "$m" >/dev/null
			printf '%s: ' "$m"
			"$CG" --quiet --db "$GCDB" --now "$m" crawl "$GW/cache"
		done
		"$CG" --quiet gen "$GW" --paths "$N" --days "$DAYS" --daily --json >"$GW/summary.json"
		"$CG" --quiet --db "$GCDB" import-eval --manifest "$GW/evals/manifest.tsv" | tail -n 1
		touch "$GCDB.done"
	fi
	set -- $(sqlite3 -separator ' ' "$GCDB" "SELECT (SELECT count(DISTINCT path_id) FROM presence),
		(SELECT count(*) FROM presence WHERE gone_at IS NOT NULL),
		(SELECT count(*) FROM crawls WHERE status = 'complete')")
	gpaths=$1 ggone=$2 gcrawls=$3
	# gen's cache limit, from its summary: the policies get the same.
	GLIMIT=$(jq .gc_limit_bytes "$GW/summary.json")
}
