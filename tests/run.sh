#!/bin/sh
# tests/run.sh - run every test and end with "N passed, N failed".
#   unit tests:  $BUILD/tests/test_*           (C, print PASS/FAIL lines)
#   CLI cases:   tests/cases/NAME/{cmd,expected,status}   (see tests/cases/README)
#   shell tests: tests/cli/*.sh, tests/interop/*.sh       (print PASS/FAIL lines)
# TESTS=pattern limits the run to test files whose name contains pattern.
set -u
LC_ALL=C
export LC_ALL
: "${CACHEGC:?}" "${BUILD:?}"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CACHEGC BUILD ROOT
pattern=${TESTS:-}
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

tally() { # name, status, output file
	p=$(grep -c '^PASS ' "$3")
	f=$(grep -c '^FAIL ' "$3")
	if [ "$2" != 0 ] && [ "$f" = 0 ]; then
		f=1
		echo "FAIL $1 (exit status $2, no FAIL line)" >>"$3"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" != 0 ]; then
		echo "--- $1: $f failed"
		cat "$3"
	else
		echo "ok   $1 ($p)"
	fi
}

selected() { [ -z "$pattern" ] || case "$1" in *"$pattern"*) return 0 ;; *) return 1 ;; esac; }

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	case "$t" in *.o|*.d) continue ;; esac
	selected "$t" || continue
	${CACHEGC_WRAP:-} "$t" >"$log" 2>&1
	tally "$(basename "$t")" $? "$log"
done

if [ -d "$ROOT/tests/cases" ] && selected cases; then
	sh "$ROOT/tests/cases/run-cases.sh" >"$log" 2>&1
	tally cases $? "$log"
fi

for t in "$ROOT"/tests/cli/*.sh "$ROOT"/tests/interop/*.sh; do
	[ -f "$t" ] || continue
	selected "$t" || continue
	sh "$t" >"$log" 2>&1
	tally "$(basename "$t")" $? "$log"
done

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
