#!/bin/sh
# ingest_alternate.sh ROUNDS CACHE_DIR BIN... - time the read-all floor
# (readall.c) and a fresh-DB crawl of CACHE_DIR by each binary, in turn,
# ROUNDS times, so that two builds meet the same machine load; then print
# each one's median wall time and median ratio to the floor of its round,
# and its median CPU time (user + system).  The DBs go into $TMPDIR.
set -eu
LC_ALL=C
export LC_ALL
rounds=$1 cache=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/readall" "$(dirname "$0")/readall.c"
timed() { # label, command...: appends "label wall cpu" to $tmp/runs
	label=$1
	shift
	/usr/bin/time -f '%e %U %S' -o "$tmp/t" "$@" >/dev/null 2>&1
	read -r wall user sys <"$tmp/t"
	echo "$label $wall $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')" >>"$tmp/runs"
	echo "round $r: $label ${wall} s wall, $(tail -1 "$tmp/runs" | cut -d' ' -f3) s CPU"
}
for r in $(seq "$rounds"); do
	timed floor "$tmp/readall" "$cache"
	floor=$(tail -1 "$tmp/runs" | cut -d' ' -f2)
	i=0
	for b in "$@"; do
		i=$((i + 1))
		rm -f "$tmp/db" "$tmp/db-wal" "$tmp/db-shm"
		timed "bin$i" "$b" --quiet --db "$tmp/db" crawl "$cache"
		echo "ratio$i $(awk -v a="$(tail -1 "$tmp/runs" | cut -d' ' -f2)" -v f="$floor" \
			'BEGIN { print a / f }') 0" >>"$tmp/runs"
	done
done
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo
printf 'floor: median %s s wall, %s s CPU\n' \
	"$(awk '$1 == "floor" { print $2 }' "$tmp/runs" | median)" \
	"$(awk '$1 == "floor" { print $3 }' "$tmp/runs" | median)"
i=0
for b in "$@"; do
	i=$((i + 1))
	printf '%s: median %s s wall, %s s CPU, %sx the floor of its round\n' "$b" \
		"$(awk -v l="bin$i" '$1 == l { print $2 }' "$tmp/runs" | median)" \
		"$(awk -v l="bin$i" '$1 == l { print $3 }' "$tmp/runs" | median)" \
		"$(awk -v l="ratio$i" '$1 == l { print $2 }' "$tmp/runs" | median)"
done
