#!/bin/sh
# HTTP crawl benchmark (issues 3 and 15).  nginx on loopback
# (tests/lib/nginx.sh: one worker, keep-alive, gzip for narinfos when the
# client asks) serves the generated cache of $N paths (default 200,000; the
# world bench/ingest.sh makes, reused).  The roots are every evaluation
# output the cache holds.  In the same run, on the same server:
#   cachegc crawl --roots     the closure into a fresh DB (GET each narinfo),
#                             offering gzip (the default), then again into
#                             another fresh DB with --uncompressed
#                             (Accept-Encoding: identity)
#   wrk                       the same narinfo URLs as fast as nginx serves
#                             them (the ceiling), right after each crawl and
#                             with the same Accept-Encoding as it
#   cachegc crawl             the re-check of that DB (HEAD each narinfo)
#   nix path-info -r          Nix's own fetcher on the same roots (NIX=0
#                             skips it: it takes a minute or more)
# Each round prints cachegc's requests/s over wrk's, gzip and not; ROUNDS
# (default 1) repeats the crawls and wrk runs and prints the ranges.
# JOBS (default 64) is cachegc's --jobs and wrk's connections; WRK_SECS (10)
# wrk's duration.
CG=$1
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-200000}
JOBS=${JOBS:-64}
WRK_SECS=${WRK_SECS:-10}
ROUNDS=${ROUNDS:-1}
NIX=${NIX:-1}
W="$OUT/world-$N"
for c in nginx wrk jq sqlite3 curl nix; do
	command -v "$c" >/dev/null 2>&1 || { echo "bench: needs $c (make check installs it)" >&2; exit 1; }
done
if ! [ -f "$W/.done" ]; then
	rm -rf "$W"
	echo "generating $N paths into $W ..."
	"$CG" --quiet gen "$W" --paths "$N" >/dev/null
	touch "$W/.done"
fi
# Tens of thousands of roots on Nix's command line: room for them (Linux
# allows arguments up to a quarter of the stack limit).
ulimit -s 262144 2>/dev/null || ulimit -s unlimited 2>/dev/null || :

# The roots: outputs of every evaluation that the cache holds with its
# whole closure (nix path-info -r fails on a path its store lacks, also deep
# in a closure; the generated cache's GC leaves a few such holes), the same
# for both.
# Kept until the cache directory changes (gen --as-of moves it in place).
ROOTS="$W/.http-roots"
if ! [ -s "$ROOTS" ] || ! [ "$ROOTS" -nt "$W/cache" ]; then
	find "$W/cache" -maxdepth 1 -name '*.narinfo' -exec cat {} + | awk '
		/^StorePath: / { n = split($2, a, "/"); h = substr(a[n], 1, 32); have[h] = 1; next }
		/^References:/ {
			for (i = 2; i <= NF; i++) {
				r = substr($i, 1, 32)
				if (r != h) { nrev[r]++; rev[r, nrev[r]] = h }
			}
		}
		END {
			# Everything that reaches a path the cache lacks is incomplete.
			q = 0
			for (x in nrev) if (!(x in have)) { bad[x] = 1; queue[q++] = x }
			for (k = 0; k < q; k++)
				for (i = 1; i <= nrev[queue[k]]; i++) {
					p = rev[queue[k], i]
					if (!(p in bad)) { bad[p] = 1; queue[q++] = p }
				}
			for (h in have) if (!(h in bad)) print h
		}' >"$ROOTS.complete"
	cat "$W"/evals/*.jsonl | jq -r '.outputs // {} | .[] // empty' |
		awk 'NR == FNR { ok[$1]; next }
		     { n = split($0, a, "/"); h = substr(a[n], 1, 32); if ((h in ok) && !seen[$0]++) print }' \
			"$ROOTS.complete" - >"$ROOTS.tmp"
	mv "$ROOTS.tmp" "$ROOTS"
	rm -f "$ROOTS.complete"
fi
nroots=$(wc -l <"$ROOTS")
nfiles=$(find "$W/cache" -maxdepth 1 -name '*.narinfo' | wc -l)

# nginx, through the tests' helper: it wants $T, need, fail and at_exit.
T=$(mktemp -d "${TMPDIR:-/tmp}/cachegc-bench.XXXXXX")
need() {
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || { echo "bench: needs $c" >&2; exit 1; }
	done
}
fail() { echo "bench: $1: ${2:-}" >&2; }
AT_EXIT=
at_exit() { AT_EXIT="$1; $AT_EXIT"; }
trap 'eval "$AT_EXIT"; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
. "$ROOT/tests/lib/nginx.sh"
nginx_start "$W/cache"
echo "http: $nfiles narinfos in $W/cache served at $NGINX_URL; $nroots roots" \
	"(evaluation outputs the cache holds whole)"
sync

DB="$OUT/http.db"
PLAIN_DB="$OUT/http-plain.db"

# run_wrk ACCEPT_ENCODING: wrk on the closure's narinfo URLs ($T/urls), in
# turn, sending that Accept-Encoding; sets WRK_RPS.
run_wrk() {
	cat >"$T/narinfos.lua" <<LUA
-- GET each narinfo URL listed in the file given after --, in turn.
local urls, i = {}, 0
wrk.headers["Accept-Encoding"] = "$1"
function init(args)
	for line in io.lines(args[1]) do urls[#urls + 1] = line end
	i = math.random(#urls)
end
function request()
	i = i % #urls + 1
	return wrk.format("GET", urls[i])
end
LUA
	wrk -t2 -c"$JOBS" -d"${WRK_SECS}s" -s "$T/narinfos.lua" "$NGINX_URL" -- "$T/urls" \
		>"$T/wrk.out" 2>&1 || {
		echo "bench: wrk failed:" >&2
		cat "$T/wrk.out" >&2
		exit 1
	}
	WRK_RPS=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$T/wrk.out")
	errs=$(awk '/Non-2xx|Socket errors/' "$T/wrk.out")
	printf '%-44s %8s req/s (%s s, -t2 -c%s)%s\n' "wrk, Accept-Encoding: $1" "$WRK_RPS" \
		"$WRK_SECS" "$JOBS" "${errs:+; $errs}"
}

# crawl_roots LABEL DB [ARGS...]: a closure crawl into a fresh DB; sets
# CG_SECS, CG_RSS, CG_NEW, CG_REQS (its requests: the narinfos and
# nix-cache-info) and CG_RPS.
crawl_roots() {
	label=$1 db=$2
	shift 2
	rm -f "$db" "$db-wal" "$db-shm"
	measure "$label" "$CG" --quiet --db "$db" crawl --json --jobs "$JOBS" "$@" \
		--roots "$ROOTS" "$NGINX_URL"
	CG_SECS=$SECS CG_RSS=$RSS_MB
	read -r CG_NEW cg_absent cg_other <<EOF
$(jq -r '"\(.new) \(.absent) \(.rejected + .unknown + .present)"' "$OUT/.stdout")
EOF
	CG_REQS=$((CG_NEW + cg_absent + cg_other + 1))
	CG_RPS=$(awk -v r="$CG_REQS" -v s="$CG_SECS" 'BEGIN { printf "%.0f", (s > 0 ? r / s : 0) }')
}
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b > 0 ? 100 * a / b : 0) }'; }
# range LIST: "LO-HI" of the whitespace-separated numbers (one when equal).
range() {
	echo "$1" | tr ' ' '\n' | awk 'NF { v = $1 + 0; if (!n++ || v < lo) lo = v; if (n == 1 || v > hi) hi = v }
		END { if (lo == hi) print lo; else print lo "-" hi }'
}

gz_pcts= plain_pcts= gz_rates= plain_rates= wrk_gz_rates= wrk_plain_rates=
round=0
while [ "$round" -lt "$ROUNDS" ]; do
	round=$((round + 1))
	[ "$ROUNDS" -gt 1 ] && echo "round $round of $ROUNDS"
	crawl_roots "cachegc crawl --roots (fresh DB, --jobs $JOBS)" "$DB"
	cg_secs=$CG_SECS cg_rss=$CG_RSS cg_reqs=$CG_REQS cg_new=$CG_NEW cg_rps=$CG_RPS
	# The closure's narinfo URLs, for wrk.
	if [ "$round" = 1 ]; then
		sqlite3 "$DB" "SELECT '/' || p.hash || '.narinfo' FROM narinfos n
			JOIN paths p ON p.id = n.path_id" >"$T/urls"
	fi
	# Asking as libcurl does for us: nginx compresses each narinfo on the
	# fly, for both.
	run_wrk "deflate, gzip, br, zstd"
	wrk_rps=$WRK_RPS
	echo "  gzip: cachegc $cg_rps req/s, $(pct "$cg_rps" "$wrk_rps")% of wrk's $wrk_rps"
	crawl_roots "cachegc crawl --roots --uncompressed" "$PLAIN_DB" --uncompressed
	plain_rps=$CG_RPS
	[ "$CG_NEW" = "$cg_new" ] || echo "note: --uncompressed recorded $CG_NEW paths, not $cg_new"
	run_wrk identity
	wrk_plain_rps=$WRK_RPS
	echo "  no gzip: cachegc $plain_rps req/s, $(pct "$plain_rps" "$wrk_plain_rps")% of wrk's" \
		"$wrk_plain_rps (target >= 50%)"
	gz_pcts="$gz_pcts $(pct "$cg_rps" "$wrk_rps")"
	plain_pcts="$plain_pcts $(pct "$plain_rps" "$wrk_plain_rps")"
	gz_rates="$gz_rates $cg_rps" plain_rates="$plain_rates $plain_rps"
	wrk_gz_rates="$wrk_gz_rates $wrk_rps" wrk_plain_rates="$wrk_plain_rates $wrk_plain_rps"
done

measure "cachegc crawl (re-check: HEAD only)" \
	"$CG" --quiet --db "$DB" crawl --json --jobs "$JOBS" "$NGINX_URL"
re_secs=$SECS
re_present=$(jq -r .present "$OUT/.stdout")

if [ "$NIX" != 0 ]; then
	nix_env
	# shellcheck disable=SC2046
	measure "nix path-info -r (Nix $(nix --version | awk '{print $3}'))" \
		nix path-info -r --store "$NGINX_URL" $(cat "$ROOTS")
	nix_secs=$SECS nix_rss=$RSS_MB
	nix_paths=$(wc -l <"$OUT/.stdout")
	rm -rf "$XDG_CACHE_HOME"
fi
nginx_stop

re_rps=$(awk -v r="$re_present" -v s="$re_secs" 'BEGIN { printf "%.0f", (s > 0 ? r / s : 0) }')
echo
echo "closure of $nroots roots: $cg_new narinfos, $cg_reqs requests"
if [ "$NIX" != 0 ]; then
	echo "  cachegc ${cg_secs}s (${cg_rss} MiB, $cg_rps req/s), nix ${nix_secs}s (${nix_rss} MiB," \
		"$nix_paths paths): cachegc is $(ratio "$nix_secs" "$cg_secs")x faster (target >= 5x)"
	[ "$nix_paths" = "$cg_new" ] || echo "note: cachegc recorded $cg_new paths, nix listed $nix_paths"
fi
echo "  gzip offered (the default): cachegc $(range "$gz_rates") req/s, wrk $(range "$wrk_gz_rates"):" \
	"$(range "$gz_pcts")% of wrk"
echo "  --uncompressed: cachegc $(range "$plain_rates") req/s, wrk $(range "$wrk_plain_rates"):" \
	"$(range "$plain_pcts")% of wrk (target >= 50%)"
echo "re-check (HEAD) of $re_present paths: ${re_secs}s, $re_rps req/s"
