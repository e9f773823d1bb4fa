#!/bin/sh
# Ingest benchmark (issue 2): a generated cache of $N narinfos (default
# 200,000) crawled into a fresh DB, against `nix path-info --all -s` reading
# the same directory in the same run; then `cachegc closure --all`.
CG=$1
. "$(dirname "$0")/lib.sh"
N=${N:-200000}
W="$OUT/world-$N"
if ! [ -f "$W/.done" ]; then
	rm -rf "$W"
	echo "generating $N paths into $W ..."
	"$CG" --quiet gen "$W" --paths "$N" --no-gc >/dev/null
	touch "$W/.done"
fi
files=$(find "$W/cache" -maxdepth 1 -name '*.narinfo' | wc -l)
echo "ingest: $files narinfos in $W/cache"
# Both tools are timed with the narinfos in the page cache: read them all
# once first, so neither pays for the disk (the first to run would).
find "$W/cache" -maxdepth 1 -name '*.narinfo' -exec cat {} + >/dev/null
sync

# The floor: only listing and reading the files, one thread, no parsing.
cc -O2 -o "$OUT/readall" "$(dirname "$0")/tools/readall.c"
measure "read every narinfo, nothing else (floor)" "$OUT/readall" "$W/cache"
floor_secs=$SECS

rm -f "$OUT/ingest.db" "$OUT/ingest.db-wal" "$OUT/ingest.db-shm"
measure "cachegc crawl (fresh DB)" "$CG" --quiet --db "$OUT/ingest.db" crawl "$W/cache"
cg_secs=$SECS cg_rss=$RSS_MB
measure "cachegc crawl (re-crawl, nothing new)" "$CG" --quiet --db "$OUT/ingest.db" crawl "$W/cache"
re_secs=$SECS
measure "cachegc closure --all" "$CG" --quiet --db "$OUT/ingest.db" closure --all
cl_secs=$SECS cl_rss=$RSS_MB
lines=$(wc -l <"$OUT/.stdout")
measure "cachegc closure --all --json" "$CG" --quiet --db "$OUT/ingest.db" closure --all --json
clj_secs=$SECS

nix_env
measure "nix path-info --all -s (Nix $(nix --version | awk '{print $3}'))" \
	nix path-info --all -s --store "file://$W/cache"
nix_secs=$SECS nix_rss=$RSS_MB
nix_lines=$(wc -l <"$OUT/.stdout")
rm -rf "$XDG_CACHE_HOME"

echo
echo "ingest of $files narinfos: cachegc ${cg_secs}s (${cg_rss} MiB), nix ${nix_secs}s (${nix_rss} MiB): cachegc is $(ratio "$nix_secs" "$cg_secs")x faster"
echo "reading the files alone takes ${floor_secs}s: nix is $(ratio "$nix_secs" "$floor_secs")x that floor, cachegc $(ratio "$cg_secs" "$floor_secs")x it"
echo "re-crawl: ${re_secs}s;  closure --all over $lines paths: ${cl_secs}s (${cl_rss} MiB), --json ${clj_secs}s"
[ "$lines" = "$nix_lines" ] || echo "note: cachegc listed $lines paths, nix $nix_lines"
