# bench/evals_world.sh - sourced by bench/coverage.sh and bench/why.sh
# after lib.sh: the generated cache of $N narinfos (default 200,000,
# shared with bench/ingest.sh) crawled into $BASE with its key, and 20
# groups of evaluations made from the cache's paths (5 branches x 4
# capability sets, each with an older evaluation too: 40 imported, 2,000
# jobs each) whose outputs overlap the way a CI's do (most shared between
# evaluations, 2% not in the cache at all).  Kept in $OUT between runs.
N=${N:-200000}
W="$OUT/world-$N"
BASE="$OUT/coverage-base.db"
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
