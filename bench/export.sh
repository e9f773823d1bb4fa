#!/bin/sh
# export benchmark: `cachegc export` of narinfos, refs and presence from the
# crawl of `gen --paths N --no-gc` caches at two sizes (default 50,000 and
# 200,000 paths), as TSV and as JSON lines, to /dev/null: rows per second,
# and peak RSS at both sizes (rows are streamed, so the peak should not
# grow with the table).
CG=$1
. "$(dirname "$0")/lib.sh"
SMALL=${SMALL:-50000}
N=${N:-200000}
for n in "$SMALL" "$N"; do
	W="$OUT/export-world-$n"
	DB="$OUT/export-$n.db"
	if ! [ -f "$DB" ]; then
		rm -rf "$W" "$DB"
		"$CG" --quiet gen "$W" --paths "$n" --no-gc >/dev/null
		"$CG" --quiet --db "$DB" crawl "$W/cache" >/dev/null
	fi
	for t in narinfos refs presence; do
		rows=$(sqlite3 "$DB" "SELECT count(*) FROM $( [ $t = refs ] && echo 'narinfos, json_each(narinfos.refs)' || echo $t)")
		for f in tsv jsonl; do
			measure "export $t ($rows rows, $n paths) $f" "$CG" --db "$DB" export --format $f $t --output -
			echo "  $(awk -v r="$rows" -v s="$SECS" 'BEGIN { printf "%.0f rows/s", (s > 0 ? r / s : 0) }')"
			eval "rss_${t}_${f}_$n=$RSS_MB"
		done
	done
done
for t in narinfos refs presence; do
	for f in tsv jsonl; do
		eval "a=\$rss_${t}_${f}_$SMALL b=\$rss_${t}_${f}_$N"
		echo "peak RSS $t $f: $a MiB at $SMALL paths, $b MiB at $N paths (ratio $(ratio "$b" "$a"))"
	done
done
