# tests/lib/lib.sh - sourced by shell tests.  Gives:
#   $CG          the cachegc command (with $CACHEGC_WRAP, e.g. valgrind)
#   $T           a private temp dir, removed on exit
#   pass NAME / fail NAME MSG / check NAME CMD...  print PASS/FAIL lines
#   expect_eq NAME GOT WANT
#   need CMD     skip-free guard: fail loudly if a peer tool is missing
set -u
LC_ALL=C
export LC_ALL
: "${CACHEGC:?CACHEGC must point at the cachegc binary}"
CG="${CACHEGC_WRAP:-} $CACHEGC"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/cachegc-test.XXXXXX")
# at_exit CMD: run CMD (a shell command string) when the test exits, before
# $T is removed; later registrations run first.  A signal exits, so the EXIT
# trap runs for it too.
AT_EXIT=
at_exit() { AT_EXIT="$1; $AT_EXIT"; }
trap 'eval "$AT_EXIT"; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
export CACHEGC_DB="$T/default.db"
failures=0

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1${2:+: $2}"; failures=$((failures + 1)); }

# check NAME CMD...: PASS when CMD exits 0.
check() {
	name=$1; shift
	if "$@" >"$T/.out" 2>&1; then pass "$name"; else fail "$name" "$(head -c 2000 "$T/.out")"; fi
}

# expect_eq NAME GOT WANT
expect_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi
}

need() {
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || { fail "need-$c" "'$c' is not installed (make check installs it as root)"; exit 1; }
	done
}

finish() { [ "$failures" = 0 ]; }
