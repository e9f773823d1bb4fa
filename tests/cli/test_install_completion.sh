#!/bin/sh
# tests/cli/test_install_completion.sh - the bash completion as built
# ($BUILD/cachegc.bash), in a real bash: COMP_WORDS and COMP_CWORD set as
# bash sets them, _cachegc called, COMPREPLY checked.  Commands and each
# command's options are those of --help; values complete by kind (choices,
# files, directories, cache URLs from the database of --db, nothing for
# free text); subcommands; no file for a command that takes no argument;
# "--opt=value" and URLs split at ':' as bash splits them.
. "$(dirname "$0")/../lib/lib.sh"
need bash sort cmp

C=$BUILD/cachegc.bash
[ -s "$C" ] || { fail completion-built "$C is missing"; exit 1; }
$CACHEGC --completion=bash >"$T/now.bash"
check completion-is-current cmp "$C" "$T/now.bash"
check bash-parses bash -n "$C"
$CACHEGC --completion=tcsh >/dev/null 2>"$T/err"
expect_eq unknown-shell-status $? 2
grep -q "tcsh" "$T/err" && pass unknown-shell-message || fail unknown-shell-message "$(cat "$T/err")"

# comp WORD...: the completions of the last WORD, sorted, one a line
# (WB=CHARS: COMP_WORDBREAKS).
comp() {
	bash -c '
		. "$1"; shift
		[ -z "${WB:-}" ] || COMP_WORDBREAKS=$WB
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
		_cachegc
		printf "%s\n" "${COMPREPLY[@]}"' sh "$C" "$@" | sed '/^$/d' | sort
}
# expect_comp NAME WANT WORD...: the completions, space-separated.
expect_comp() {
	name=$1 want=$2
	shift 2
	expect_eq "$name" "$(comp "$@" | tr '\n' ' ' | sed 's/ $//')" "$want"
}

# --- commands and options, as --help lists them --------------------------------------

$CACHEGC --help >"$T/help"
sed -n '/^commands:$/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p' "$T/help" | sort >"$T/cmds"
comp cachegc "" >"$T/got"
if [ -s "$T/cmds" ] && cmp -s "$T/cmds" "$T/got"; then pass commands; else fail commands "$(diff "$T/cmds" "$T/got")"; fi
expect_comp command-prefix "import-access import-builds import-eval import-hydra" cachegc im
# options HELPFILE: the --names of a --help, sorted
options() { sed -n 's/^ \{2,4\}\(--[a-z0-9][a-z0-9-]*\).*/\1/p' "$1" | sort -u; }
options "$T/help" >"$T/want"
comp cachegc -- >"$T/got"
if cmp -s "$T/want" "$T/got"; then pass global-options; else fail global-options "$(diff "$T/want" "$T/got")"; fi
expect_comp global-short "--db --help --now --quiet --version -h -q" cachegc -
for c in $(cat "$T/cmds"); do
	$CACHEGC "$c" --help >"$T/chelp"
	options "$T/chelp" >"$T/want"
	comp cachegc --db x.db "$c" -- >"$T/got"
	if [ -s "$T/want" ] && cmp -s "$T/want" "$T/got"; then pass "options-$c"; else fail "options-$c" "$(diff "$T/want" "$T/got")"; fi
done
# Every --policy and --format of any command names its choices in its
# option table (OPT_STRING_OF, OPT_CALLBACK_OF or OPT_ENUM), so both the
# completion and the man page offer them.
for c in $(cat "$T/cmds"); do
	for o in $($CACHEGC "$c" --help | options /dev/stdin | grep -E '^--(policy|format)$'); do
		kind=$(bash -c '. "$1"; _cachegc_value "$2" "$3"' sh "$C" "$c" "$o")
		case $kind in
		"choice "?*) pass "choices-$c$o" ;;
		*) fail "choices-$c$o" "'$kind': give the option its choices in the table (OPT_STRING_OF)" ;;
		esac
	done
done
# after a global option's value, the command is completed
expect_comp after-global-value "coverage" cachegc --now 2024-05-01 cov

# --- values ---------------------------------------------------------------------------

expect_comp simulate-policy "attic cachix niks3 priority" cachegc simulate --policy ""
expect_comp plan-policy "attic cachix niks3 priority reach" cachegc plan evict --policy ""
expect_comp rebuild-policy-prefix "niks3" cachegc rebuild --policy n
expect_comp access-format "auto combined s3" cachegc import-access --format ""
expect_comp simulate-access "auto evals logs" cachegc simulate --access ""
# --policy=VALUE: bash splits at '=' into '--policy' '=' 'VALUE'
expect_comp policy-equals "cachix" cachegc simulate --policy = ca
expect_comp policy-equals-empty "attic cachix niks3 priority" cachegc simulate --policy =
# free text and sizes: nothing to offer
expect_comp limit-nothing "" cachegc rebuild --limit ""
expect_comp now-nothing "" cachegc --now ""
# the value of an option is not taken as the command
expect_comp value-not-command "--cache" cachegc --db coverage coverage --cach

mkdir -p "$T/files/sub.d"
: >"$T/files/roots.txt"
: >"$T/files/rest.json"
cd "$T/files" || exit 1
expect_comp path-option "rest.json roots.txt" cachegc crawl --roots r
expect_comp db-option "roots.txt" cachegc --db ro
expect_comp dir-option "sub.d" cachegc report --out s
expect_comp file-arguments "rest.json roots.txt" cachegc import-builds r
expect_comp after-dashdash "roots.txt" cachegc import-builds -- ro
expect_comp no-arguments "" cachegc coverage r
expect_comp keys-subcommands "add list revoke" cachegc keys ""
expect_comp plan-subcommand "evict" cachegc plan ""
expect_comp keys-revoke-options "--at --json" cachegc keys revoke NAME --

# --- --cache: the URLs of the database of --db ------------------------------------------

$CACHEGC --db "$T/two.db" -q gen "$T/w1" --paths 50 >/dev/null &&
	$CACHEGC --db "$T/two.db" -q crawl "$T/w1/cache" >/dev/null &&
	$CACHEGC --db "$T/two.db" -q gen "$T/w2" --paths 50 --seed 2 >/dev/null &&
	$CACHEGC --db "$T/two.db" -q crawl "$T/w2/cache" >/dev/null
expect_eq two-caches $? 0
u1=file://$T/w1/cache u2=file://$T/w2/cache
$CACHEGC --db "$T/two.db" --list-caches >"$T/urls"
expect_eq list-caches "$(tr '\n' ' ' <"$T/urls")" "$u1 $u2 "
# the completion runs the cachegc its command line names (words[0])
CG1=$CACHEGC
expect_comp cache-urls "$u1 $u2" "$CG1" --db "$T/two.db" coverage --cache ""
expect_comp cache-urls-db-equals "$u1 $u2" "$CG1" --db = "$T/two.db" why --cache ""
# where ':' does not break words, the whole URL
WB=' =' expect_comp cache-urls-prefix "$u2" "$CG1" --db "$T/two.db" rebuild --cache "file://$T/w2"
# bash splits "file://..." at ':' too: it replaces only what follows the ':'
expect_comp cache-urls-colon "//$T/w1/cache //$T/w2/cache" "$CG1" --db "$T/two.db" coverage --cache file : //
expect_comp cache-urls-colon-prefix "//$T/w1/cache" "$CG1" --db "$T/two.db" coverage --cache file : "//$T/w1"
# without --db: $CACHEGC_DB (lib.sh points it at an empty place): nothing, no error
expect_comp cache-no-db "" "$CG1" coverage --cache ""
CACHEGC_DB=$T/two.db
export CACHEGC_DB
expect_comp cache-env-db "$u1 $u2" "$CG1" simulate --cache ""

finish
