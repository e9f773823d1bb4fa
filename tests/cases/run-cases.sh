#!/bin/sh
# CLI cases as data.  Each tests/cases/NAME/ holds:
#   cmd              shell text run in a fresh temp dir; $CG is cachegc,
#                    $FIX is tests/fixtures, $CASE is this case's dir
#   expected         (optional) exact stdout
#   expected-stderr  (optional) lines that must each appear in stderr
#   status           (optional) exit status, default 0
set -u
LC_ALL=C
export LC_ALL
: "${CACHEGC:?}"
here=$(cd "$(dirname "$0")" && pwd)
FIX=$(cd "$here/../fixtures" 2>/dev/null && pwd || echo "$here/../fixtures")
CG="${CACHEGC_WRAP:-} $CACHEGC"
export CG FIX
for case in "$here"/*/; do
	case=${case%/}
	name=$(basename "$case")
	[ -f "$case/cmd" ] || continue
	work=$(mktemp -d)
	want_status=0
	[ -f "$case/status" ] && want_status=$(cat "$case/status")
	(cd "$work" && CASE="$case" CACHEGC_DB="$work/cachegc.db" sh "$case/cmd") >"$work/.stdout" 2>"$work/.stderr"
	got=$?
	ok=1
	why=
	if [ "$got" != "$want_status" ]; then ok=0; why="exit status $got, want $want_status"; fi
	if [ "$ok" = 1 ] && [ -f "$case/expected" ] && ! diff -u "$case/expected" "$work/.stdout" >"$work/.diff"; then
		ok=0; why="stdout differs:
$(cat "$work/.diff")"
	fi
	if [ "$ok" = 1 ] && [ -f "$case/expected-stderr" ]; then
		while IFS= read -r line; do
			[ -z "$line" ] && continue
			if ! grep -qF -- "$line" "$work/.stderr"; then
				ok=0; why="stderr lacks: $line"; break
			fi
		done <"$case/expected-stderr"
	fi
	if [ "$ok" = 1 ]; then
		echo "PASS case/$name"
	else
		echo "FAIL case/$name: $why"
		echo "  stderr: $(head -c 1500 "$work/.stderr")"
	fi
	rm -rf "$work"
done
