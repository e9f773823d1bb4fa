#!/bin/sh
# Scale benchmark (issue 15): the whole pipeline on a generated year of
# daily CI history (gen --daily --no-gc: 3 branches x 3 capability sets
# evaluated once a day, every push kept) at each size in $NS (default
# "100000 1000000"; the issue's 10,000,000 took 3 hours of this machine
# on 2026-12-07 (gen 76 min, crawl 29, import-eval 35, the analyses 42) and
# about 50 GB of disk (the README's Scale section says how):
# NS="100000 1000000 10000000").  At each size, timed with
# GNU time (wall seconds, peak RSS):
#   gen, crawl (fresh DB), import-eval --manifest, closure --all,
#   coverage (first run, verifying every signature, then again),
#   simulate (365 daily steps, cachix and priority under a fifth of what
#   was pushed), plan evict under the same limit, why (an attr), rebuild,
#   schedule (cachix under the same limit)
# and the database's size.  The table at the end gives, per step, the
# growth per path between the two largest sizes (us of CPU and bytes of RAM per
# path) and the straight-line extrapolation to 10^8 and 2.5x10^8 paths.
# There is no peer: the targets are the issue's, 10 minutes and 16 GiB per
# step at 10^7 paths.
# RUN (default $NS; empty: none) names the sizes to run now; the table is over $NS, from
# the results kept in $OUT/scale-N.tsv.
# DROP_CACHE=1 deletes each world's cache directory after the crawl and
# its evaluations after the import (the analyses read only the database);
# the 10^7 world needs it on a disk with less than 70 GB free.
# CACHE_ON=DIR puts each world's cache directory in DIR (a symlink from the
# world), e.g. a file system with small blocks for the 10^7 narinfos.
# STEPS=ingest runs gen, crawl and import-eval and keeps the database;
# STEPS=analyses then runs the rest on that database (with another binary,
# say), keeping the ingest rows of $OUT/scale-N.tsv.  Default: all.
CG=$1
. "$(dirname "$0")/lib.sh"
NS=${NS:-100000 1000000}
DAYS=${DAYS:-365}
RUN=${RUN-$NS}
STEPS=${STEPS:-all}
case $STEPS in all|ingest|analyses) ;; *) echo "scale.sh: STEPS is all, ingest or analyses" >&2; exit 2 ;; esac

# step N NAME CMD...: measure CMD, append "N NAME secs MiB cpu-secs" to $RES.
step() {
	n=$1 name=$2
	shift 2
	measure "$name ($n)" "$@"
	printf '%s\t%s\t%s\t%s\t%s\n' "$n" "$name" "$SECS" "$RSS_MB" "$CPU_SECS" >>"$RES"
}

for n in $RUN; do
	W="$OUT/scale-world-$n"
	DB="$OUT/scale-$n.db"
	RES="$OUT/scale-$n.tsv"
	echo "== $n paths =="
	if [ "$STEPS" = analyses ]; then
		[ -f "$DB" ] && grep -q '	import-eval	' "$RES" || {
			echo "scale.sh: no ingested $DB (run STEPS=ingest first)" >&2; exit 1; }
		awk -F '\t' '$2 == "gen" || $2 == "crawl" || $2 == "import-eval"' "$RES" >"$RES.new"
		mv "$RES.new" "$RES"
		# a writing command migrates a database an older binary made
		"$CG" --quiet --db "$DB" keys add "$(cat "$W"/keys/*.public)" >/dev/null
	else
		: >"$RES"
		rm -f "$DB" "$DB-wal" "$DB-shm"
		# A world is reused while whole (its gen row is the time it took then).
		if [ -f "$W/.done" ] && [ -d "$W/cache" ] && [ -d "$W/evals" ]; then
			echo "reusing $W"
			cat "$W/.done" >>"$RES"
		else
			rm -rf "$W"
			if [ -n "${CACHE_ON:-}" ]; then
				rm -rf "$CACHE_ON/scale-cache-$n"
				mkdir -p "$W" "$CACHE_ON/scale-cache-$n"
				ln -s "$CACHE_ON/scale-cache-$n" "$W/cache"
			fi
			step "$n" gen "$CG" --quiet gen "$W" --paths "$n" --days "$DAYS" --daily --no-gc
			tail -n 1 "$RES" >"$W/.done"
		fi
		end=$(awk '$1 == "start" { s = $2 } $1 == "days" { d = $2 } END { print s + d * 86400 }' "$W/gen-params")
		echo "$end" >"$OUT/scale-$n.end"
		"$CG" --quiet --db "$DB" keys add "$(cat "$W"/keys/*.public)" >/dev/null
		step "$n" crawl "$CG" --quiet --db "$DB" --now "@$end" crawl "$W/cache"
		[ "${DROP_CACHE:-0}" = 1 ] && rm -rf "$(readlink -f "$W/cache")" "$W/cache" "$W/.done"
		step "$n" import-eval "$CG" --quiet --db "$DB" --now "@$end" import-eval --manifest "$W/evals/manifest.tsv"
		[ "${DROP_CACHE:-0}" = 1 ] && rm -rf "$W/evals"
	fi
	[ "$STEPS" = ingest ] && continue
	end=$(cat "$OUT/scale-$n.end")
	set -- $(sqlite3 -separator ' ' "$DB" "SELECT (SELECT count(*) FROM presence),
		(SELECT sum(coalesce(file_size, nar_size)) FROM narinfos),
		(SELECT count(*) FROM eval_jobs), (SELECT min(push_time) FROM presence)")
	paths=$1 bytes=$2 jobs=$3 first=$4
	limit=$((bytes / 5))
	from=$(date -u -d "@$first" +%Y-%m-%d)
	to=$(date -u -d "$from + 365 days" +%Y-%m-%d)
	printf '%s\tpaths\t%s\t%s\n' "$n" "$paths" "$jobs" >>"$RES"
	echo "$paths paths, $jobs jobs, limit $limit bytes"
	step "$n" "closure --all" "$CG" --quiet --db "$DB" closure --all
	step "$n" "coverage (first)" "$CG" --quiet --db "$DB" --now "@$end" coverage
	step "$n" coverage "$CG" --quiet --db "$DB" --now "@$end" coverage
	for p in cachix priority; do
		step "$n" "simulate $p" "$CG" --quiet --db "$DB" simulate --policy $p \
			--limit "$limit" --from "$from" --to "$to" --step 1
	done
	# plan evict exits 1 when the limit cannot be met, why when not cached.
	MEASURE_OK=1
	step "$n" "plan evict" "$CG" --quiet --db "$DB" --now "@$end" plan evict \
		--limit "$limit" --policy priority
	attr=$(sqlite3 "$DB" "SELECT attr FROM eval_jobs LIMIT 1 OFFSET 7")
	step "$n" why "$CG" --quiet --db "$DB" --now "@$end" why "$attr"
	MEASURE_OK=0
	step "$n" rebuild "$CG" --quiet --db "$DB" --now "@$end" rebuild
	step "$n" schedule "$CG" --quiet --db "$DB" --now "@$end" schedule --limit "$limit" --policy cachix
	printf '%s\tdb bytes\t%s\t0\n' "$n" "$(stat -c %s "$DB")" >>"$RES"
	echo
done

# The table: wall seconds, CPU seconds (user + system) and peak MiB per
# size, then the growth between the two largest sizes in CPU and RAM per
# path (CPU, not wall: wall time here depends on what else the 2 cores
# run), and the straight-line extrapolation of CPU seconds and RAM to 10^7,
# 10^8 and 2.5x10^8 paths.
awk -F '\t' -v sizes="$NS" '
	BEGIN { k = split(sizes, S, " ") }
	$2 == "paths" { P[$1] = $3; J[$1] = $4; next }
	$2 == "db bytes" { DBB[$1] = $3; next }
	{ if (!($2 in seen)) { seen[$2] = 1; order[++m] = $2 } T[$1, $2] = $3; M[$1, $2] = $4; C[$1, $2] = $5 }
	END {
		printf "%-18s", "step"
		for (i = 1; i <= k; i++) printf " %26s", S[i] " (s, CPU s, MiB)"
		if (k >= 2) printf " %11s %10s %15s %15s %15s", "CPU us/path", "RAM B/path", "10^7: CPU, GiB", "10^8: CPU, GiB", "2.5x10^8"
		printf "\n"
		a = S[k - 1]; b = S[k]
		for (j = 1; j <= m; j++) {
			s = order[j]
			printf "%-18s", s
			for (i = 1; i <= k; i++) printf " %9.1f %9.1f %6d", T[S[i], s], C[S[i], s], M[S[i], s]
			if (k >= 2) {
				dp = P[b] - P[a]
				us = (C[b, s] - C[a, s]) / dp * 1e6
				rb = (M[b, s] - M[a, s]) * 1048576 / dp
				printf " %11.2f %10.0f", us, rb
				for (x = 1; x <= 3; x++) {
					tgt = (x == 1) ? 1e7 : (x == 2) ? 1e8 : 2.5e8
					es = C[b, s] + us * (tgt - P[b]) / 1e6
					em = (M[b, s] * 1048576 + rb * (tgt - P[b])) / 2^30
					printf " %9.0f %5.1f", es, em
				}
			}
			printf "\n"
		}
		printf "%-18s", "paths, jobs"
		for (i = 1; i <= k; i++) printf " %16d %9d", P[S[i]], J[S[i]]
		printf "\n%-18s", "database (MiB)"
		for (i = 1; i <= k; i++) printf " %26.0f", DBB[S[i]] / 1048576
		if (k >= 2) printf " %11s %10.0f B/path", "", (DBB[b] - DBB[a]) / (P[b] - P[a])
		printf "\n"
	}' $(for n in $NS; do echo "$OUT/scale-$n.tsv"; done)
