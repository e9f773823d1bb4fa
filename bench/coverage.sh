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
N=${N:-200000}
W="$OUT/world-$N"
BASE="$OUT/coverage-base.db"
DB="$OUT/coverage.db"
E="$OUT/coverage-evals"
if ! [ -f "$W/.done" ]; then
	rm -rf "$W"
	echo "generating $N paths into $W ..."
	"$CG" --quiet gen "$W" --paths "$N" --no-gc >/dev/null
	touch "$W/.done"
fi
if ! command -v sqlite3 >/dev/null; then
	echo "bench: needs sqlite3: apt-get install -y sqlite3" >&2
	exit 1
fi

if ! [ -f "$BASE.done" ] || [ "$BASE.done" -ot "$W/.done" ]; then
	rm -f "$BASE" "$BASE.done"
	rm -rf "$E"
	mkdir -p "$E"
	echo "crawling $W/cache into $BASE ..."
	"$CG" --quiet --db "$BASE" --now 2024-06-01 crawl "$W/cache" >/dev/null
	"$CG" --quiet --db "$BASE" keys add "$(cat "$W"/keys/*.public)" >/dev/null
	# A pool of 8,000 outputs with derivers, in hash order (random as far
	# as the graph goes).
	sqlite3 -separator ' ' "$BASE" "SELECT p.hash || '-' || p.name, n.deriver
		FROM narinfos n JOIN paths p ON p.id = n.path_id
		WHERE n.deriver IS NOT NULL ORDER BY p.hash LIMIT 8000" >"$E/pool"
	awk -v dir="$E" '
	{ out[NR - 1] = $1; drv[NR - 1] = $2 }
	END {
		P = NR
		split("master nixos-unstable nixpkgs-unstable nixos-24.05 nixos-24.11", br, " ")
		split("8.6|7.5,8.6|8.0,8.6,8.9,9.0|8.9", caps, "|")
		g = 0
		for (b = 1; b <= 5; b++) for (c = 1; c <= 4; c++) {
			for (older = 1; older >= 0; older--) {
				rev = sprintf("%040d", g * 2 + older)
				f = sprintf("%s/%s-%s-%d.jsonl", dir, br[b], c, older)
				day = older ? "2024-05-20T00:00:00Z" : "2024-05-27T00:00:00Z"
				printf "%s\t%s\t%s\t%s\tx86_64-linux\t%s\n", f, br[b], rev, caps[c], day >> (dir "/manifest.tsv")
				for (i = 0; i < 2000; i++) {
					k = (i + 397 * g + 150 * older) % P
					o = "/nix/store/" out[k]
					d = "/nix/store/" drv[k]
					# 2% of the jobs: outputs the cache never had
					if ((i * 7 + g) % 50 == 0) {
						o = sprintf("/nix/store/zz%030d-absent", g * 10000 + i)
					}
					printf "{\"attr\":\"pkg%04d\",\"drvPath\":\"%s\",\"outputs\":{\"out\":\"%s\"},\"system\":\"x86_64-linux\"}\n", i, d, o > f
				}
				close(f)
			}
			g++
		}
	}' "$E/pool"
	"$CG" --quiet --db "$BASE" --now 2024-06-01 import-eval --manifest "$E/manifest.tsv" | tail -n 1
	touch "$BASE.done"
fi
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
