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
if ! command -v gnuplot >/dev/null; then
	echo "bench: needs gnuplot: apt-get install -y gnuplot-nox" >&2
	exit 1
fi
. "$(dirname "$0")/sim_world.sh"
sim_gcworld
set -- $(sqlite3 -separator ' ' "$GCDB" "SELECT (SELECT count(DISTINCT path_id) FROM presence),
	(SELECT count(*) FROM presence WHERE gone_at IS NOT NULL),
	(SELECT count(*) FROM crawls WHERE status = 'complete'),
	(SELECT count(*) FROM evaluations), (SELECT count(*) FROM eval_jobs)")
paths=$1 gone=$2 crawls=$3 evals=$4 jobs=$5
LIMIT=$GLIMIT
echo "report: $paths paths, $gone recorded evictions, $crawls crawls, $evals evaluations, $jobs jobs"
rm -rf "$OUT/report-$N"
measure "report (--limit gen's own)" "$CG" --quiet --db "$GCDB" --now 2025-04-15 report \
	--limit "$LIMIT" --out "$OUT/report-$N"
echo "report over $crawls crawls: $SECS s, $RSS_MB MiB peak RSS (target: < 60 s); $OUT/report-$N/index.html"
