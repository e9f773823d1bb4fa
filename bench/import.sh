#!/bin/sh
# import-eval benchmark (issue 15): a generated world of $N store paths
# (default 100,000; `gen --days 365 --daily --no-gc`: 3,285 evaluations),
# crawled once; then `import-eval --manifest` of all its evaluations into a
# copy of that DB, against the floor (reading every evaluation's lines and
# parsing each with jansson, nothing else) in the same run.  OLD=/path/to/
# an older cachegc runs it too, alternately with $CG ($ROUNDS rounds,
# default 2), and checks both write the same rows.
CG=$1
. "$(dirname "$0")/lib.sh"
N=${N:-100000}
ROUNDS=${ROUNDS:-2}
OLD=${OLD:-}
W="$OUT/evals-365d-$N"
if ! [ -f "$W/.done" ]; then
	rm -rf "$W"
	echo "generating $N paths, 365 days of daily evaluations, into $W ..."
	"$CG" --quiet gen "$W" --paths "$N" --days 365 --daily --no-gc >/dev/null
	touch "$W/.done"
fi
M="$W/evals/manifest.tsv"
DB0="$OUT/import-crawled-$N.db"
if ! [ -f "$DB0.done" ]; then
	rm -f "$DB0" "$DB0-wal" "$DB0-shm"
	# by the older binary when there is one: the newer migrates its schema
	"${OLD:-$CG}" --quiet --db "$DB0" --now @1746057600 crawl "$W/cache" >/dev/null
	touch "$DB0.done"
fi
# Everything read once, so no run pays for the disk.
cat "$W"/evals/*.jsonl >/dev/null

# timed LABEL CMD...: wall, user + sys; sets $WALL $CPU.
timed() {
	label=$1
	shift
	/usr/bin/time -f '%e %U %S %M' -o "$OUT/.time" "$@" >"$OUT/.stdout" 2>"$OUT/.stderr" || {
		echo "bench: $label failed:" >&2
		tail -5 "$OUT/.stderr" >&2
		exit 1
	}
	set -- $(tail -1 "$OUT/.time")
	WALL=$1 CPU=$(awk -v u="$2" -v s="$3" 'BEGIN { printf "%.2f", u + s }')
	printf '%-34s %8.2f s wall %8.2f s user+sys %6d MiB  (load %s)\n' "$label" "$WALL" "$CPU" \
		$(($4 / 1024)) "$(cut -d' ' -f1 /proc/loadavg)"
}
import_run() {   # BIN DBNAME
	cp "$DB0" "$OUT/$2"
	rm -f "$OUT/$2-wal" "$OUT/$2-shm"
	timed "import-eval ($2)" "$1" --quiet --db "$OUT/$2" --now @1746057600 import-eval --manifest "$M"
}
dump() {
	sqlite3 "$1" "SELECT * FROM evaluations ORDER BY id;
	              SELECT * FROM eval_jobs ORDER BY evaluation_id, attr, output;
	              SELECT * FROM paths ORDER BY id; SELECT * FROM builds ORDER BY id;" | cksum
}

cc -O2 -o "$OUT/parselines" "$(dirname "$0")/tools/parselines.c" -ljansson
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b < a) ? b : a }'; }
fw= fc= nw= nc= ow= oc=
r=0
while [ "$r" -lt "$ROUNDS" ]; do
	r=$((r + 1))
	timed "read + parse lines (floor)" "$OUT/parselines" "$M"
	fw=$(best "$fw" "$WALL") fc=$(best "$fc" "$CPU")
	import_run "$CG" import-new.db
	nw=$(best "$nw" "$WALL") nc=$(best "$nc" "$CPU")
	if [ -n "$OLD" ]; then
		import_run "$OLD" import-old.db
		ow=$(best "$ow" "$WALL") oc=$(best "$oc" "$CPU")
	fi
done
rows=$(sqlite3 "$OUT/import-new.db" 'SELECT count(*) FROM eval_jobs')
evals=$(sqlite3 "$OUT/import-new.db" 'SELECT count(*) FROM evaluations')
per() { awk -v s="$1" -v n="$rows" 'BEGIN { printf "%.1f", s * 1e6 / n }'; }
rate() { awk -v s="$1" -v n="$rows" 'BEGIN { printf "%.0f", n / s }'; }

echo
echo "import-eval of $evals evaluations, $rows eval_jobs rows ($N paths), best of $ROUNDS:"
echo "  floor (read + jansson): $(per "$fw") us/row wall, $(per "$fc") us/row CPU"
echo "  cachegc:                $(per "$nw") us/row wall, $(per "$nc") us/row CPU ($(rate "$nw") rows/s);" \
	"$(ratio "$nw" "$fw")x the floor's wall, $(ratio "$nc" "$fc")x its CPU"
if [ -n "$OLD" ]; then
	echo "  old ($OLD): $(per "$ow") us/row wall, $(per "$oc") us/row CPU;" \
		"new is $(ratio "$ow" "$nw")x faster (wall), $(ratio "$oc" "$nc")x (CPU)"
	if [ "$(dump "$OUT/import-new.db")" = "$(dump "$OUT/import-old.db")" ]; then
		echo "  same rows: yes (evaluations, eval_jobs, paths, builds)"
	else
		echo "  same rows: NO: the two binaries wrote different rows"
	fi
fi
