#!/bin/sh
# Text from input files reaching the user: `coverage --markdown` rendered by
# GitHub's own Markdown (cmark-gfm) with attr names, branches and revs that
# hold '|', backticks, backslashes and HTML; and control characters (terminal
# escape sequences, CR, C1 controls) in file names, roots files, HTTP headers,
# evaluation files and directory names, which must reach the terminal only
# escaped, in messages and in text output.
. "$(dirname "$0")/../lib/lib.sh"
need sqlite3 jq cmark-gfm curl
FS=${BUILD:-$(dirname "$CACHEGC")}/tests/faultserver
ESC=$(printf '\033')
CR=$(printf '\r')
DB=$T/t.db
cg() { $CG --db "$DB" "$@"; }
# no_controls NAME FILE: FILE holds no control character but newlines.
no_controls() {
	if tr -d '\n' <"$2" | LC_ALL=C grep -q '[[:cntrl:]]'; then
		fail "$1" "raw control characters in: $(od -c "$2" | head -20)"
	else
		pass "$1"
	fi
}

# --- a cache and an evaluation whose names break Markdown tables -----------------
C=$T/cache
mkdir -p "$C"
printf 'StoreDir: /nix/store\n' >"$C/nix-cache-info"
h() { printf '%032d' "$1" | tr 0 a; }   # a valid nix32 hash per number
narinfo() { # HASH NAME
	printf 'StorePath: /nix/store/%s-%s\nURL: nar/%s.nar.xz\nCompression: xz\nFileHash: sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s\nFileSize: 100\nNarHash: sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s\nNarSize: 1000\nReferences: \n' \
		"$1" "$2" "$1" >"$C/$1.narinfo"
}
job() { # ATTR HASH
	_a=$(printf '%s' "$1" | jq -Rs .)
	printf '{"attr":%s,"attrPath":[%s],"drvPath":"/nix/store/%s-d.drv","name":"n","system":"x86_64-linux","outputs":{"out":"/nix/store/%s-n"}}\n' \
		"$_a" "$_a" "$(h 9)" "$2"
}
narinfo "$(h 1)" n
narinfo "$(h 6)" n
touch -d @1700000000 "$C"/*.narinfo
{
	job 'py|thon' "$(h 1)"             # cached in every column: folded away
	job 'back`tick' "$(h 2)"           # the rest are not cached
	job '`lead' "$(h 3)"
	job 'a\|b' "$(h 4)"
	job '<b>x</b>*y*' "$(h 5)"
	job 'p|q' "$(h 8)"
	job 'ok|cached' "$(h 6)"
} >"$T/eval.jsonl"
cg --now 2030-01-01 crawl "$C" >"$T/crawl.out" 2>&1 || fail crawl "$(cat "$T/crawl.out")"
cg import-eval --branch 'feat|x' --rev 'abc|def`1234567' --capabilities 8.6 --time 2029-12-31 \
	"$T/eval.jsonl" >/dev/null 2>"$T/import.err"
expect_eq import-exit "$?" 0

cg --now 2030-01-02 coverage --markdown >"$T/cov.md" 2>"$T/cov.err"
expect_eq markdown-exit "$?" 0
cmark-gfm -e table "$T/cov.md" >"$T/cov.html"
# Cells per row of each table: the summary has 9 columns, the matrix 2.
# (A renderer drops the cells past the header's, so the content of the
# last cell of each row is checked too: the counts, and a status.)
awk '/<table>/ { t++ } /<tr>/ { n = 0 } /<t[dh]>|<t[dh] / { n++; last = $0 }
	/<\/tr>/ { print t, n, last }' "$T/cov.html" >"$T/rows"
expect_eq markdown-table-cells "$(awk '{ print $1 ":" $2 }' "$T/rows" | sort | uniq -c |
	awk '{ print $2 "x" $1 }' | tr '\n' ' ')" "1:9x2 2:2x6 "
expect_eq markdown-summary-last-cell "$(awk '$1 == 1 && NR > 1 { print $3 }' "$T/rows")" "<td>5"
expect_eq markdown-matrix-last-cell "$(awk '$1 == 2 && $2 == 2 && $3 != "<th>1</th>" { print $3 }' "$T/rows" | sort -u)" \
	"<td><strong>missing</strong></td>"
for want in '<td>feat|x</td>' '<code>abc|def`1234</code>' '<code>back`tick</code>' \
	'<code>`lead</code>' '<code>a\|b</code>' '<code>&lt;b&gt;x&lt;/b&gt;*y*</code>' \
	'<code>p|q</code>' '<code>py|thon</code>' '<code>ok|cached</code>'; do
	has "markdown-renders-$want" "$T/cov.html" "$want"
done
# Nothing of the names became markup of its own.
expect_eq markdown-no-html-b "$(grep -c '<b>' "$T/cov.html")" 0
expect_eq markdown-no-em "$(grep -c '<em>' "$T/cov.html")" 0

# --- control characters: messages and text output show them escaped -------------

# A directory name with an escape sequence and a CR: the summary line.
D="$T/c${ESC}[2Jd${CR}x"
mkdir -p "$D"
cp "$C/nix-cache-info" "$D/"
cg --now 2030-01-01 crawl "$D" >"$T/dir.out" 2>"$T/dir.err"
expect_eq ctl-dir-exit "$?" 0
no_controls ctl-dir-summary "$T/dir.out"
has ctl-dir-summary-escaped "$T/dir.out" 'c\x1b[2Jd\rx: 0 new'
# A narinfo with a control character: rejected, and the message says so
# without the byte.
printf 'StorePath: /nix/store/%s-e\033]0;pwned\007\nURL: x\n' "$(h 7)" >"$D/$(h 7).narinfo"
cp -p "$C/$(h 1).narinfo" "$D/"
cg --now 2030-01-02 crawl "$D" >"$T/dir2.out" 2>"$T/dir2.err"
has ctl-reject-reported "$T/dir2.err" "$(h 7).narinfo"
no_controls ctl-reject-message "$T/dir2.err"

# A roots file with an escape sequence in a line, and one whose name has one.
mkdir -p "$T/srv"
cp "$C/nix-cache-info" "$T/srv/"
"$FS" --root "$T/srv" --port-file "$T/port" --max-seconds 120 >"$T/fs.out" 2>&1 &
at_exit "kill $! 2>/dev/null"
i=0
while ! [ -s "$T/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
BASE="http://127.0.0.1:$(cat "$T/port")"
printf '/nix/store/%s-ok\n%s]0;pwned\a%s[31mred\n' "$(h 1)" "$ESC" "$ESC" >"$T/roots"
cg crawl --roots "$T/roots" "$BASE" >"$T/roots.out" 2>"$T/roots.err"
expect_eq ctl-roots-exit "$?" 1
has ctl-roots-line-escaped "$T/roots.err" "roots:2: '\\x1b]0;pwned\\x07\\x1b[31mred' is neither"
no_controls ctl-roots-message "$T/roots.err"
cg crawl --roots "$T/ro${ESC}[8mts${CR}" "$BASE" >"$T/rname.out" 2>"$T/rname.err"
expect_eq ctl-roots-name-exit "$?" 1
has ctl-roots-name-escaped "$T/rname.err" "ro\\x1b[8mts\\r"
no_controls ctl-roots-name-message "$T/rname.err"
# A server that redirects to a Location full of escape sequences.
printf '/nix/store/%s-ok\n' "$(h 1)" >"$T/roots-ok"
curl -s -o /dev/null "$BASE/fault/redirect-ctl/1/nix-cache-info"
cg crawl --roots "$T/roots-ok" "$BASE/fault/redirect-ctl/1" >"$T/loc.out" 2>"$T/loc.err"
has ctl-location-refused "$T/loc.err" "refused redirect to 'file:///\\xc2\\x9b31m\\xe2\\x80\\xaedwssap/cte'"
if grep -q "$(printf '\342\200\256')" "$T/loc.err"; then fail ctl-location-no-bidi "raw U+202E"; else pass ctl-location-no-bidi; fi
no_controls ctl-location-message "$T/loc.err"

# import-eval: a file name with escapes (the summary line), and a line that
# is not JSON and holds them (the error).
E="$T/ev${ESC}[1mil${CR}.jsonl"
job 'fine' "$(h 1)" >"$E"
printf '{"attr": "x", \033[31m oops\n' >>"$E"
cg import-eval --branch b --rev r --capabilities 8.6 "$E" >"$T/ie.out" 2>"$T/ie.err"
expect_eq ctl-import-exit "$?" 0
no_controls ctl-import-summary "$T/ie.out"
has ctl-import-summary-escaped "$T/ie.out" "ev\\x1b[1mil\\r.jsonl': imported evaluation"
has ctl-import-line-reported "$T/ie.err" ".jsonl:2:"
no_controls ctl-import-message "$T/ie.err"
# Several caches: the list of them names the directory, escaped.
cg --now 2030-01-02 coverage --branch b >"$T/cov-which.txt" 2>&1
has ctl-cache-list-escaped "$T/cov-which.txt" 'c\x1b[2Jd\rx'
no_controls ctl-cache-list "$T/cov-which.txt"
# The coverage text matrix, of the cache with the odd name.
cg --now 2030-01-02 coverage --cache "$D" --branch b >"$T/cov.txt" 2>&1
has ctl-coverage-text-url "$T/cov.txt" 'c\x1b[2Jd\rx as of'
no_controls ctl-coverage-text "$T/cov.txt"
# simulate and plan name the cache in their first line.
cg --now 2030-01-02 simulate --cache "$D" --policy cachix --limit 1G >"$T/sim.txt" 2>&1
has ctl-simulate-url "$T/sim.txt" 'c\x1b[2Jd\rx, limit'
no_controls ctl-simulate-text "$T/sim.txt"
cg --now 2030-01-02 plan evict --cache "$D" --limit 0 >"$T/plan.txt" 2>&1
has ctl-plan-url "$T/plan.txt" 'c\x1b[2Jd\rx (policy'
no_controls ctl-plan-text "$T/plan.txt"
finish
