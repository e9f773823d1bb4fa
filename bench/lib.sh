# bench/lib.sh - shared set-up for the benchmarks (sourced).
#   $CG         the cachegc binary (first argument of bench/run.sh)
#   $OUT        bench/out, kept between runs (generated worlds are reused)
#   measure LABEL CMD...   run CMD, print "LABEL: S s, RSS MiB", set $SECS $RSS_MB
#                          and $CPU_SECS (user + system)
#                          (exit status $MEASURE_OK counts as success too)
#   nix_env     private, daemon-less Nix settings (as the tests use)
set -eu
LC_ALL=C
export LC_ALL
OUT=${OUT:-$(cd "$(dirname "$0")" && pwd)/out}
mkdir -p "$OUT"
if ! [ -x /usr/bin/time ]; then
	if [ "$(id -u)" = 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q time >/dev/null
	else
		echo "bench: needs GNU time: sudo apt-get install -y time" >&2
		exit 1
	fi
fi

measure() {
	label=$1
	shift
	rc=0
	/usr/bin/time -f '%e %M %U %S' -o "$OUT/.time" "$@" >"$OUT/.stdout" 2>"$OUT/.stderr" || rc=$?
	if [ "$rc" != 0 ] && [ "$rc" != "${MEASURE_OK:-0}" ]; then
		echo "bench: $label failed:" >&2
		tail -5 "$OUT/.stderr" >&2
		exit 1
	fi
	SECS=$(tail -1 "$OUT/.time" | cut -d' ' -f1)
	RSS_MB=$(( $(tail -1 "$OUT/.time" | cut -d' ' -f2) / 1024 ))
	CPU_SECS=$(tail -1 "$OUT/.time" | awk '{ printf "%.2f", $3 + $4 }')
	printf '%-44s %8.2f s  %6d MiB peak RSS\n' "$label" "$SECS" "$RSS_MB"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "inf" }'; }

nix_env() {
	mkdir -p "$OUT/nix/home" "$OUT/nix/conf"
	export NIX_CONFIG='experimental-features = nix-command
sandbox = false
build-users-group =
substituters ='
	export NIX_CONF_DIR="$OUT/nix/conf" HOME="$OUT/nix/home" NIX_REMOTE=local
	export XDG_CACHE_HOME="$OUT/nix/xdg.$$"
	rm -rf "$XDG_CACHE_HOME"
}
