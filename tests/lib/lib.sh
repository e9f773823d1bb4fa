# tests/lib/lib.sh - sourced by shell tests.  Gives:
#   $CG          the cachegc command (with $CACHEGC_WRAP, e.g. valgrind)
#   $T           a private temp dir, removed on exit
#   pass NAME / fail NAME MSG / check NAME CMD...  print PASS/FAIL lines
#   expect_eq NAME GOT WANT
#   has NAME FILE TEXT / hasnt NAME FILE TEXT: FILE holds TEXT / does not
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

# has NAME FILE TEXT: PASS when FILE holds TEXT (a fixed string); hasnt:
# PASS when it does not.
has() {
	if grep -qF -- "$3" "$2"; then pass "$1"; else fail "$1" "no '$3' in: $(head -c 1500 "$2")"; fi
}
hasnt() {
	if grep -qF -- "$3" "$2"; then fail "$1" "unexpected '$3' in: $(head -c 1500 "$2")"; else pass "$1"; fi
}

# wait_until TRIES SECONDS CMD...: run CMD until it exits 0, at most TRIES
# times, SECONDS apart.  0 when it did, 1 when it never did.
wait_until() {
	_wu_tries=$1 _wu_pause=$2
	shift 2
	while [ "$_wu_tries" -gt 0 ]; do
		"$@" && return 0
		sleep "$_wu_pause"
		_wu_tries=$((_wu_tries - 1))
	done
	return 1
}

# sql_at_least N DB [ARG...]: the number sqlite3 DB ARG... prints is at
# least N (false while the DB cannot be read yet).
sql_at_least() {
	_sal_want=$1
	shift
	_sal_n=$(sqlite3 "$@" 2>/dev/null)
	[ "${_sal_n:-0}" -ge "$_sal_want" ] 2>/dev/null
}

# normalize NAME: an analysis' --json answer (stdin) without what differs
# between two runs on one state: verify's counts of work done, the plan's
# id; keys sorted.
normalize() {
	case "$1" in
	verify) jq -S 'del(.verified, .reused)' ;;
	plan) jq -S 'del(.id)' ;;
	*) jq -S . ;;
	esac
}

finish() { [ "$failures" = 0 ]; }
