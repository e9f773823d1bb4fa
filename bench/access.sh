#!/bin/sh
# import-access benchmark (issue 10): $LINES combined-format lines (default
# 1,000,000) against the cache `gen --paths $N` makes (default 20,000),
# half narinfo GETs and half NAR GETs, in three shapes:
#   nix       Nix's layout: NARs by their narinfo URL (nar/<filehash>.nar.xz);
#   harmonia  the same cache with harmonia's URLs (nar/<narhash>.nar?hash=<store
#             hash>, set in the DB), requested with the query; a tenth
#             without it (by URL) and a tenth in nix-serve's form;
#   wrong     the nix log under /cache/ imported with the default prefix /:
#             nothing recorded, every line looked at for the prefix to suggest.
# Each is imported into a fresh copy of the crawled DB.
CG=$1
. "$(dirname "$0")/lib.sh"
N=${N:-20000}
LINES=${LINES:-1000000}
W="$OUT/access-world-$N"
BASE="$OUT/access-$N.db"
if ! [ -f "$BASE" ]; then
	rm -rf "$W" "$BASE"
	"$CG" --quiet gen "$W" --paths "$N" >/dev/null
	"$CG" --quiet --db "$BASE" crawl "$W/cache" >/dev/null
fi
sqlite3 "$BASE" "SELECT p.hash, n.url, substr(n.nar_hash, 8) FROM narinfos n JOIN paths p ON p.id = n.path_id" |
	tr '|' ' ' >"$OUT/access-keys"
paths=$(wc -l <"$OUT/access-keys")

# log SHAPE PREFIX: LINES lines over the paths in turn
log() {
	awk -v shape="$1" -v pre="$2" -v lines="$LINES" '
		{ h[NR] = $1; u[NR] = $2; nh[NR] = $3 }
		END {
			for (i = 0; i < lines; i++) {
				k = i % NR + 1
				s = sprintf("%02d", (i / 3600) % 24)
				if (i % 2 == 0)
					t = pre h[k] ".narinfo"
				else if (shape == "nix")
					t = pre u[k]
				else if (i % 10 == 1)
					t = pre "nar/" nh[k] ".nar"
				else if (i % 10 == 3)
					t = pre "nar/" h[k] "-" nh[k] ".nar"
				else
					t = pre "nar/" nh[k] ".nar?hash=" h[k]
				printf "10.0.%d.%d - - [20/May/2024:%s:%02d:%02d +0000] \"GET %s HTTP/1.1\" 200 %d \"-\" \"Nix/2.24.9 curl/8.9.1\"\n", i % 250, k % 250, s, (i / 60) % 60, i % 60, t, 500 + k
			}
		}' "$OUT/access-keys"
}
log nix / >"$OUT/access-nix.log"
log harmonia / >"$OUT/access-harmonia.log"
log nix /cache/ >"$OUT/access-wrong.log"
size=$(du -m "$OUT/access-nix.log" | cut -f1)

run() { # LABEL LOG [ARGS...]
	label=$1 log=$2
	shift 2
	cp "$BASE" "$OUT/access-run.db"
	rm -f "$OUT/access-run.db-wal" "$OUT/access-run.db-shm"
	if [ "$label" = harmonia ]; then
		sqlite3 "$OUT/access-run.db" "UPDATE narinfos SET url = 'nar/' || substr(nar_hash, 8) ||
			'.nar?hash=' || (SELECT hash FROM paths WHERE id = path_id), compression = 'none'"
	fi
	measure "import-access, $label log" "$CG" --quiet --db "$OUT/access-run.db" import-access "$@" "$log"
}
run nix "$OUT/access-nix.log"
nix=$SECS
run harmonia "$OUT/access-harmonia.log"
harmonia=$SECS
MEASURE_OK=1 run wrong "$OUT/access-wrong.log"
wrong=$SECS
grep -q "run again with --prefix /cache/" "$OUT/.stderr" || { echo "bench: no prefix suggested" >&2; exit 1; }

echo
echo "import-access of $LINES lines (${size} MB) against $paths paths:"
echo "  Nix layout ${nix}s; harmonia's URLs ${harmonia}s ($(ratio "$harmonia" "$nix")x);"
echo "  nothing recorded (wrong prefix, a suggestion looked for on every line) ${wrong}s ($(ratio "$wrong" "$nix")x)"
rm -f "$OUT/access-nix.log" "$OUT/access-harmonia.log" "$OUT/access-wrong.log" "$OUT/access-run.db"*
