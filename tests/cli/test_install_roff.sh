#!/bin/sh
# tests/cli/test_install_roff.sh - the generators of cachegc(1) and of the
# bash completion (src/cli/doc_*.c) on a made-up command table whose help
# text holds roff's and the shell's specials ($BUILD/tests/docsample):
# mandoc and groff find nothing to warn about, and man shows every such
# line as written (a leading '.' or '\'', "\fB", "\\", "--"); an option
# hidden from --help is in neither document; choices, a nested option, a
# subcommand and a command without arguments come out in the completion.
. "$(dirname "$0")/../lib/lib.sh"
need mandoc man groff bash

S=$BUILD/tests/docsample
[ -x "$S" ] || { fail docsample-built "$S is missing (make unit-tests builds it)"; exit 1; }
"$S" man >"$T/s.1"
expect_eq man-status $? 0
mandoc -T lint -W all "$T/s.1" >"$T/lint" 2>&1
[ $? = 0 ] && [ ! -s "$T/lint" ] && pass mandoc-lint || fail mandoc-lint "$(head "$T/lint")"
groff -man -ww -z "$T/s.1" >"$T/groff" 2>&1
[ ! -s "$T/groff" ] && pass groff-warnings || fail groff-warnings "$(head "$T/groff")"
MANWIDTH=200 man -l "$T/s.1" >"$T/page" 2>"$T/err"
[ $? = 0 ] && [ ! -s "$T/err" ] && pass man-l || fail man-l "$(head "$T/err")"
tr -s ' ' <"$T/page" >"$T/flat"

# shown FIXED-TEXT: the page shows it exactly.
shown() {
	if grep -qF -- "$2" "$T/flat"; then pass "$1"; else fail "$1" "'$2' not on the page"; fi
}
shown leading-dot ".A line that starts with a dot, and one with a quote:"
shown leading-quote "'quoted' -- and \\fB is not bold, \\\\ two backslashes."
shown summary-dot ".dot-led summary with a \\ backslash."
shown summary-quote "'quote-led' summary."
shown continuation-dot "x.y .dot at the start of a continuation line"
shown backslash-in-help "the database\\file (a backslash)"
shown short-and-long "-q, --quiet"
shown short-j "-j, --json"
shown option-arg "--mode M"
shown nested-option "--under DIR"
shown choices "Values: fast-mode, slow, x.y."
shown heading "More options:"
shown term-item "ITEM-ONE"
shown quoted-term "'ITEM-TWO'"
shown exit-text "Exit status: 0 fine, 1 not, 2 usage."
shown synopsis-sub "cachegc tricky-cmd stop"
# the hand-made layout stays: the formula keeps its lines and indent
grep -q '^         a = b - c$' "$T/page" && grep -q '^             \\ d$' "$T/page" &&
	pass formula-layout || fail formula-layout "$(grep -n 'a = b' -A2 "$T/page")"
# '-' is \- in roff (a minus: copy-paste gives '-'), never a bare hyphen
grep -c '\\-\\-mode' "$T/s.1" | grep -qv '^0$' && pass dashes-escaped || fail dashes-escaped "no \\-\\-mode"
grep -n '^[^.].*[^\\]--' "$T/s.1" | grep -v '^[0-9]*:\.' >"$T/raw" && fail no-raw-double-dash "$(head -3 "$T/raw")" || pass no-raw-double-dash
grep -q 'secret-option' "$T/s.1" && fail hidden-not-in-man "a hidden option is on the page" || pass hidden-not-in-man

# --- the completion of the same table ---------------------------------------------

"$S" bash >"$T/s.bash"
check bash-parses bash -n "$T/s.bash"
grep -q 'secret-option' "$T/s.bash" && fail hidden-not-completed "in the completion" || pass hidden-not-completed
comp() {
	bash -c '
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
		_cachegc
		printf "%s\n" "${COMPREPLY[@]}"' sh "$T/s.bash" "$@" | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//'
}
expect_eq commands "$(comp cachegc "")" "plain tricky-cmd"
expect_eq options "$(comp cachegc tricky-cmd --)" "--flag-two --help --json --mode --under"
expect_eq choices "$(comp cachegc tricky-cmd --mode "")" "fast-mode slow x.y"
expect_eq short-flag-takes-no-value "$(comp cachegc tricky-cmd -j --m)" "--mode"
expect_eq subcommands "$(comp cachegc tricky-cmd "")" "go stop"
mkdir -p "$T/d/sub"
: >"$T/d/file"
cd "$T/d" || exit 1
expect_eq nested-dir "$(comp cachegc tricky-cmd --under "")" "sub"
expect_eq files-after-sub "$(comp cachegc tricky-cmd go f)" "file"
expect_eq no-args "$(comp cachegc plain f)" ""
expect_eq global-file "$(comp cachegc --db fi)" "file"

finish
