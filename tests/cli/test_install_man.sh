#!/bin/sh
# tests/cli/test_install_man.sh - cachegc(1) as built ($BUILD/cachegc.1):
# what `cachegc --man` prints now; clean for mandoc -T lint, groff's
# warnings, man -l and lexgrog; every command of `cachegc --help` has its
# section, and every option each command's --help lists is in that
# section (global ones in OPTIONS); the choices of --policy and --format
# are listed; the DATABASE section names exactly the tables and views a
# fresh database has; the EXAMPLES use real commands; roff specials in the
# help text come out escaped.
. "$(dirname "$0")/../lib/lib.sh"
need mandoc man lexgrog groff sqlite3 awk

M=$BUILD/cachegc.1
[ -s "$M" ] || { fail man-built "$M is missing"; exit 1; }
pass man-built

# The build's page is what the binary prints (same date source).
SOURCE_DATE_EPOCH=$(sed -n 's/^\.TH CACHEGC 1 \([0-9-]*\) .*/\1/p' "$M" | xargs -I{} date -u -d {} +%s) \
	$CACHEGC --man >"$T/now.1"
check man-is-current cmp "$M" "$T/now.1"
SOURCE_DATE_EPOCH=86400 $CACHEGC --man | grep -q '^\.TH CACHEGC 1 1970-01-02 ' &&
	pass man-date-from-source-date-epoch || fail man-date-from-source-date-epoch "$(sed -n 2p "$T/now.1")"

# --- the tools find nothing to say ------------------------------------------------

mandoc -T lint -W all "$M" >"$T/lint" 2>&1
lint=$?
[ "$lint" = 0 ] && [ ! -s "$T/lint" ] && pass mandoc-lint || fail mandoc-lint "status $lint: $(head -20 "$T/lint")"
groff -man -ww -z -t "$M" >"$T/groff" 2>&1
[ ! -s "$T/groff" ] && pass groff-warnings || fail groff-warnings "$(head -20 "$T/groff")"
MANWIDTH=80 man -l "$M" >"$T/page" 2>"$T/man.err"
expect_eq man-l-status $? 0
[ ! -s "$T/man.err" ] && pass man-l-quiet || fail man-l-quiet "$(head "$T/man.err")"
got=$(lexgrog "$M" 2>&1)
case $got in
*': "cachegc - '*) pass lexgrog ;;
*) fail lexgrog "$got" ;;
esac
for s in NAME SYNOPSIS DESCRIPTION OPTIONS COMMANDS "EXIT STATUS" ENVIRONMENT FILES DATABASE EXAMPLES "SEE ALSO"; do
	grep -qx "$s" "$T/page" && pass "section-$s" || fail "section-$s" "no such heading"
done
grep -q 'CACHEGC_DB' "$T/page" && pass env-cachegc-db || fail env-cachegc-db "not in ENVIRONMENT"

# --- every command and option of --help ---------------------------------------------

# Wide, so that no option is broken over two lines.
MANWIDTH=250 man -l "$M" 2>/dev/null >"$T/wide"
# section NAME: the lines of the page's "   NAME" subsection of COMMANDS.
section() {
	awk -v n="$1" '
		/^[A-Z]/ { in_cmds = ($0 == "COMMANDS"); on = 0; next }
		in_cmds && /^   [^ ]/ { on = ($0 == "   " n); next }
		on' "$T/wide"
}
# options HELPFILE: the --names in option position (after 2 or 4 spaces).
options() { sed -n 's/^ \{2,4\}\(--[a-z0-9][a-z0-9-]*\).*/\1/p' "$1" | sort -u; }

$CACHEGC --help >"$T/help"
cmds=$(sed -n '/^commands:$/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p' "$T/help")
[ -n "$cmds" ] && pass help-lists-commands || fail help-lists-commands "$(cat "$T/help")"
awk '/^[A-Z]/ { on = ($0 == "OPTIONS") } on' "$T/wide" >"$T/global"
for o in $(options "$T/help"); do
	grep -q -- "$o" "$T/global" && pass "global$o" || fail "global$o" "not in OPTIONS"
done
for c in $cmds; do
	section "$c" >"$T/sec"
	if [ ! -s "$T/sec" ]; then
		fail "command-$c" "no section '$c' under COMMANDS"
		continue
	fi
	pass "command-$c"
	grep -q "^       cachegc .*$c" "$T/wide" && pass "synopsis-$c" || fail "synopsis-$c" "not in SYNOPSIS"
	$CACHEGC "$c" --help >"$T/chelp"
	missing=
	for o in $(options "$T/chelp"); do
		grep -q -- "$o" "$T/sec" || missing="$missing $o"
	done
	expect_eq "options-$c" "${missing:-none}" none
	# The help's first prose line is in the section too.
	first=$(awk 'p && NF { print; exit } /^$/ { p = 1 }' "$T/chelp" | sed 's/^ *//; s/  */ /g' | cut -c1-40)
	tr -s ' ' <"$T/sec" | grep -qF -- "$first" && pass "prose-$c" || fail "prose-$c" "'$first' not in the section"
done

# --- choices, from the same tables as the completion -----------------------------------

for co in simulate:policy rebuild:policy plan:policy import-access:format; do
	c=${co%:*} o=${co#*:}
	vals=$(section "$c" | awk -v o="--$o" '$1 == o { on = 1; next } on && /Values:/ { sub(/.*Values: /, ""); sub(/\.$/, ""); gsub(/,/, ""); print; exit }')
	comp=$(bash -c '. "$1"; _cachegc_value "$2" "$3"' sh "$BUILD/cachegc.bash" "$c" "--$o")
	expect_eq "choices-$c-$o" "choice $vals" "$comp"
	# each value is one the command itself accepts
	bad=
	for v in $vals; do
		$CACHEGC --db "$T/c.db" "$c" $( [ "$c" = plan ] && echo evict --limit 1G ) "--$o" "$v" \
			$( [ "$c" = import-access ] && echo /dev/null ) >"$T/out" 2>&1
		[ $? = 2 ] && bad="$bad $v"
	done
	expect_eq "choices-accepted-$c-$o" "${bad:-none}" none
done

# --- the tables of a database ----------------------------------------------------------

# (a read-only command leaves no database behind: crawl an empty cache)
mkdir "$T/empty-cache" && printf 'StoreDir: /nix/store\n' >"$T/empty-cache/nix-cache-info"
$CACHEGC --db "$T/fresh.db" crawl "$T/empty-cache" >/dev/null
sqlite3 "$T/fresh.db" "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name" >"$T/tables"
awk '/^[A-Z]/ { on = ($0 == "DATABASE") } on && /^       [a-z_]+ \((table|view), [0-9]+_[a-z_]+\.sql\)$/ { print $1 }' "$T/wide" | sort >"$T/man-tables"
[ -s "$T/tables" ] && pass db-has-tables || fail db-has-tables "no tables in a fresh DB"
if cmp -s "$T/tables" "$T/man-tables"; then pass database-tables; else fail database-tables "$(diff "$T/tables" "$T/man-tables")"; fi

# --- examples and escapes ------------------------------------------------------------

awk '/^[A-Z]/ { on = ($0 == "EXAMPLES") } on && /^           cachegc / { print }' "$T/wide" >"$T/examples"
[ -s "$T/examples" ] && pass examples-present || fail examples-present "no example"
bad=
while read -r _ w rest; do
	# the first word after the global options
	set -- $w $rest
	while [ $# -gt 0 ]; do
		case $1 in --db|--now) shift 2 ;; -*) shift ;; *) break ;; esac
	done
	echo "$cmds" | grep -qx -- "${1:-}" || bad="$bad '${1:-}'"
done <"$T/examples"
expect_eq examples-use-commands "${bad:-none}" none
# No option tag with an unescaped '-' (it would render as a hyphen), and no
# text line that starts a roff request by accident.
grep -n '^\\fB--\|^\\fB-[a-z]' "$M" >"$T/dash" && fail option-dashes-escaped "$(head -3 "$T/dash")" || pass option-dashes-escaped
grep -q '\\fB\\-\\-policy\\fR \\fIP\\fR' "$M" && pass option-tag-roff || fail option-tag-roff "no '--policy P' tag"
known='^\.(\\"|(TH|SH|SS|PP|TP|IP|RS|RE|nf|fi|sp|nh|B|BR|I)( |$))'
grep '^[.'"'"']' "$M" | grep -Ev "$known" >"$T/req" &&
	fail no-stray-requests "$(head -3 "$T/req")" || pass no-stray-requests
# help text with a backslash and a leading dot survives: the usage's "'-'"
# and e.g. "./cachegc.db" appear as written.
grep -q 'else ./cachegc.db' "$T/wide" && pass text-dot || fail text-dot "'./cachegc.db' not rendered"

finish
