#!/bin/sh
# tools/demo.sh CACHEGC - `make demo`: the main job on a sample cache it makes.
#
# Generates a CUDA CI world (4 branches, 3 capability sets, four weeks) and
# replays it: the cache as of each week is crawled with --now set to that
# week, so the database records pushes and evictions over time.  Then it
# imports the evaluations, build outcomes and the signing key, and shows
# what the cache holds, and ends by writing the report (cachegc report:
# demo/report/index.html).  Everything goes under ./demo.
set -eu
CG=$1
DEMO=$(pwd)/demo
W=$DEMO/world
DB=$DEMO/cachegc.db
PATHS=${DEMO_PATHS:-20000}
rm -rf "$DEMO"
mkdir -p "$DEMO"
cg() { "$CG" --db "$DB" "$@"; }
say() { printf '\n== %s\n' "$*"; }

say "generating a sample world of about $PATHS store paths into $W"
LAST=2024-05-29
LIMIT=${DEMO_LIMIT:-300G}
for day in 2024-05-08 2024-05-15 2024-05-22 $LAST; do
	"$CG" gen "$W" --paths "$PATHS" --as-of "$day" >/dev/null
	printf 'as of %s: ' "$day"
	cg --now "$day" crawl "$W/cache"
done

say "importing what CI evaluated and built, and the key it signed with"
cg import-eval --manifest "$W/evals/manifest.tsv" | tail -n 1
cg import-builds "$W/builds.jsonl" | tail -n 1
cg keys add "$(cat "$W"/keys/*.public)"

say "what the cache holds (sqlite3 $DB)"
sqlite3 -header -column "$DB" "
SELECT count(*) AS paths_present,
       printf('%.1f GiB', sum(coalesce(n.file_size, n.nar_size)) / 1073741824.0) AS stored
FROM presence e JOIN narinfos n ON n.cache_id = e.cache_id AND n.path_id = e.path_id
WHERE e.gone_at IS NULL;"
sqlite3 -header -column "$DB" "
SELECT date(gone_at, 'unixepoch') AS crawl, count(*) AS paths_gone,
       printf('%.1f GiB', sum(coalesce(n.file_size, n.nar_size)) / 1073741824.0) AS bytes_gone
FROM presence e JOIN narinfos n ON n.cache_id = e.cache_id AND n.path_id = e.path_id
WHERE gone_at IS NOT NULL GROUP BY 1;"

say "coverage as of the last crawl (cachegc coverage; full matrix in $DEMO/coverage.txt)"
cg --now "$LAST" coverage >"$DEMO/coverage.txt"
cg --now "$LAST" coverage --markdown >"$DEMO/coverage.md"
awk '/^PACKAGE/ { exit } { print }' "$DEMO/coverage.txt"

say "which GC does the cache run? each policy replayed against the recorded evictions"
# (attic and niks3 with a 7-day retention: the sample history is 4 weeks)
for p in cachix attic niks3 priority; do
	case $p in attic|niks3) opt="--retention 7" ;; *) opt="--limit $LIMIT" ;; esac
	# shellcheck disable=SC2086
	cg simulate --policy "$p" $opt --json >"$DEMO/simulate-$p.json"
	jq -r --arg p "$p" '.match | "\($p):\t predicted \(.predicted), recorded \(.recorded), matched \(.matched)  precision \(if .precision then (.precision * 100 | floor | tostring) + "%" else "-" end), recall \(if .recall then (.recall * 100 | floor | tostring) + "%" else "-" end)"' \
		"$DEMO/simulate-$p.json"
done

say "the history replayed under a $LIMIT limit with the priority policy (cachegc simulate)"
cg simulate --policy priority --limit "$LIMIT" | tail -n +4

say "what cachix-style GC takes next at $LIMIT, and which jobs that breaks"
cg --now "$LAST" simulate --policy cachix --limit "$LIMIT" --next 8

say "what CI should rebuild and push first under $LIMIT (cachegc rebuild; the queue in $DEMO/rebuild.txt)"
cg --now "$LAST" rebuild --limit "$LIMIT" --policy priority >"$DEMO/rebuild.txt"
head -n 12 "$DEMO/rebuild.txt"
cg --now "$LAST" rebuild --limit "$LIMIT" --policy priority --json >"$DEMO/rebuild.json"

first=$(jq -r '.items[0] | select(.) | "\(.branch)\t\(.capabilities)\t\(.attr)"' "$DEMO/rebuild.json")
if [ -n "$first" ]; then
	fb=$(printf '%s' "$first" | cut -f1) fc=$(printf '%s' "$first" | cut -f2) fa=$(printf '%s' "$first" | cut -f3)
	say "why $fa ($fb, $fc) is not cached (cachegc why)"
	cg --now "$LAST" why --branch "$fb" --capabilities "$fc" "$fa" | head -n 16 || :
fi

say "how often to rebuild each branch and capability set under $LIMIT (cachegc schedule; in $DEMO/schedule.txt)"
cg --now "$LAST" schedule --limit "$LIMIT" >"$DEMO/schedule.txt"
cg --now "$LAST" schedule --limit "$LIMIT" --json >"$DEMO/schedule.json"
cat "$DEMO/schedule.txt"

# gen's own cache limit (its summary; the world is rewritten as it is)
GLIMIT=$("$CG" gen "$W" --paths "$PATHS" --as-of "$LAST" --json | jq .gc_limit_bytes)
say "the schedule model checked against this history under gen's limit, $GLIMIT bytes (cachegc schedule --validate)"
cg --now "$LAST" schedule --limit "$GLIMIT" --validate

say "a closure-safe eviction plan for $LIMIT (cachegc plan evict; apply with cachegc evict)"
cg --now "$LAST" plan evict --limit "$LIMIT" | head -n 6

say "the largest closures in the cache (cachegc closure --all)"
cg closure --all 2>/dev/null | sort -t "$(printf '\t')" -k3,3nr | head -n 5

say "the report: coverage over time, staleness, half-life, which GC (cachegc report)"
cg --now "$LAST" report --limit "$LIMIT" --out "$DEMO/report" --title "Sample CUDA cache: coverage report"

say "done"
echo "database:      $DB   (query it with sqlite3; tables in README.md)"
echo "sample cache:  $W/cache"
echo "evaluations:   $W/evals/manifest.tsv"
echo "coverage:      $DEMO/coverage.txt, $DEMO/coverage.md"
echo "simulations:   $DEMO/simulate-POLICY.json"
echo "rebuild queue: $DEMO/rebuild.txt, $DEMO/rebuild.json"
echo "schedule:      $DEMO/schedule.txt, $DEMO/schedule.json"
echo "report:        $DEMO/report/index.html   (open it in a browser; report.md for an issue)"
