#!/bin/sh
# Report benchmark (issue 13): `cachegc report` over the simulate
# benchmark's second world: a generated year of daily CI evaluations (3
# branches x 3 capability sets, about $N store paths, default 1,000,000)
# with gen's own LRU garbage collection, crawled on the 15th of every
# month (12 crawls, so 11 intervals of recorded evictions).  The report
# runs coverage at every crawl, the staleness and half-life of every
# evaluation, the four policies' comparison with the recorded evictions
# and draws four charts with gnuplot.  Target: under 60 s on the 2-core
# build machine.  The world is shared with bench/simulate.sh (kept under
# bench/out; delete $GCDB.done to redo it).
CG=$1
. "$(dirname "$0")/lib.sh"
N=${N:-1000000}
DAYS=${DAYS:-365}
for c in sqlite3 gnuplot; do
	if ! command -v $c >/dev/null; then
		echo "bench: needs $c: apt-get install -y $c (gnuplot: gnuplot-nox)" >&2
		exit 1
	fi
done
GW="$OUT/sim-gcworld-$N"
GCDB="$OUT/simulate-gc-$N.db"
MONTHS="2024-05-15 2024-06-15 2024-07-15 2024-08-15 2024-09-15 2024-10-15 2024-11-15
	2024-12-15 2025-01-15 2025-02-15 2025-03-15 2025-04-15"
if ! [ -f "$GCDB.done" ]; then
	rm -rf "$GW"
	rm -f "$GCDB" "$GCDB-wal" "$GCDB-shm"
	echo "generating a year of history with the cache's LRU GC, crawled monthly into $GCDB ..."
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
	(SELECT count(*) FROM crawls WHERE status = 'complete'),
	(SELECT count(*) FROM evaluations), (SELECT count(*) FROM eval_jobs)")
paths=$1 gone=$2 crawls=$3 evals=$4 jobs=$5
LIMIT=$(jq .gc_limit_bytes "$GW/summary.json")
echo "report: $paths paths, $gone recorded evictions, $crawls crawls, $evals evaluations, $jobs jobs"
rm -rf "$OUT/report-$N"
measure "report (--limit gen's own)" "$CG" --quiet --db "$GCDB" --now 2025-04-15 report \
	--limit "$LIMIT" --out "$OUT/report-$N"
echo "report over $crawls crawls: $SECS s, $RSS_MB MiB peak RSS (target: < 60 s); $OUT/report-$N/index.html"
