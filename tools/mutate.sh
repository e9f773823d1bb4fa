#!/bin/sh
# tools/mutate.sh - the mutation audit: make each mutation of a list in a
# scratch copy of the tree, rebuild, run the tests the list names, and count
# the mutations the tests kill (a test fails, crashes or times out).  The
# working tree is never touched: the copy comes from `git archive` of a
# commit, so commit the tests first.
#
#   sh tools/mutate.sh [--json] [--only NAME[,NAME]] [--jobs N] [--rev REV]
#                      [--timeout SECONDS] [--keep] [--check] [LIST]
#
# --check only applies and restores each mutation (no build, no test: a few
# seconds), to catch a list that no longer matches the source.
#
# LIST defaults to tools/mutations.txt (its format is described there).
# Prints one line per mutation (killed/SURVIVED and the first failure),
# then "mutation score: K/N killed" and the survivors; --json prints one
# JSON object instead.  Exit status: 0 when every mutation applied (whether
# or not it was killed), 2 when a mutation cannot be applied (its snippet
# is missing or not unique, or its file does not exist) or a mutant does
# not compile, 3 when the unmutated tree fails the tests the list names
# (then nothing could be judged), 1 on usage errors.
set -u
LC_ALL=C
export LC_ALL

die() { echo "mutate.sh: $*" >&2; exit 1; }

json=0 check=0 only= jobs=2 rev=HEAD timeout=900 keep=0 list=
while [ $# -gt 0 ]; do
	case "$1" in
	--json) json=1 ;;
	--only) [ $# -ge 2 ] || die "--only needs a name"; only=$2; shift ;;
	--jobs) [ $# -ge 2 ] || die "--jobs needs a number"; jobs=$2; shift ;;
	--rev) [ $# -ge 2 ] || die "--rev needs a commit"; rev=$2; shift ;;
	--timeout) [ $# -ge 2 ] || die "--timeout needs seconds"; timeout=$2; shift ;;
	--keep) keep=1 ;;
	--check) check=1 ;;
	-h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown option '$1'" ;;
	*) list=$1 ;;
	esac
	shift
done
case "$jobs" in ''|*[!0-9]*|0) die "--jobs wants a positive number, not '$jobs'" ;; esac
case "$timeout" in ''|*[!0-9]*|0) die "--timeout wants seconds, not '$timeout'" ;; esac

root=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel 2>/dev/null) ||
	die "not inside the cachegc git repository"
[ -n "$list" ] || list=$root/tools/mutations.txt
[ -f "$list" ] || die "cannot read mutation list '$list'"
git -C "$root" rev-parse --verify -q "$rev^{commit}" >/dev/null || die "no commit '$rev'"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cachegc-mutate.XXXXXX") || die "mktemp failed"
cleanup() { [ "$keep" = 1 ] && echo "scratch kept: $tmp" >&2 || rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# The list without comments, one mutation a line, numbered; --only filters.
awk -v only="$only" '
	BEGIN { n = split(only, o, ","); for (i = 1; i <= n; i++) want[o[i]] = 1 }
	/^[ \t]*(#|$)/ { next }
	{ split($0, f, / @@ /); if (only == "" || (f[1] in want)) print }
' "$list" >"$tmp/list"
total=$(wc -l <"$tmp/list")
[ "$total" -gt 0 ] || die "no mutation selected from '$list'"

# One pristine tree, built once; each worker copies it (objects included).
mkdir "$tmp/base"
git -C "$root" archive "$rev" | tar -x -C "$tmp/base" || die "git archive of '$rev' failed"
# The one place a mutation is made.
# apply FILE ORIG REPL: replace the one occurrence of ORIG; status 2 when
# ORIG occurs zero or several times.  {NL} in ORIG/REPL is a newline.
apply() {
	ORIG=$2 REPL=$3 perl -0777 -i -pe '
		BEGIN { ($o, $r) = ($ENV{ORIG}, $ENV{REPL}); s/\{NL\}/\n/g for $o, $r; }
		$n = () = /\Q$o\E/g;
		if ($n != 1) { print STDERR "found $n times\n"; $bad = 1; }
		else { s/\Q$o\E/$r/ }
		END { exit 2 if $bad }' "$1"
}

if [ "$check" = 1 ]; then
	bad=0 i=0
	while IFS= read -r line; do
		i=$((i + 1))
		name=${line%% @@ *}; rest=${line#* @@ }
		file=${rest%% @@ *}; rest=${rest#* @@ }
		pats=${rest%% @@ *}; rest=${rest#* @@ }
		orig=${rest%% @@ *}; repl=${rest#* @@ }
		[ "$repl" = "$rest" ] && repl=
		f="$tmp/base/$file"
		if [ ! -f "$f" ]; then
			echo "mutate.sh: $name: no file '$file'" >&2; bad=$((bad + 1)); continue
		fi
		if [ -z "$pats" ]; then
			echo "mutate.sh: $name: no tests named" >&2; bad=$((bad + 1)); continue
		fi
		cp -p "$f" "$tmp/orig"
		if ! apply "$f" "$orig" "$repl" 2>"$tmp/why"; then
			echo "mutate.sh: $name: snippet $(cat "$tmp/why") in '$file'" >&2
			bad=$((bad + 1)); continue
		fi
		if cmp -s "$f" "$tmp/orig"; then
			echo "mutate.sh: $name: the replacement changes nothing" >&2; bad=$((bad + 1))
		fi
		cp -p "$tmp/orig" "$f"
	done <"$tmp/list"
	echo "mutations checked: $((i - bad))/$i apply"
	[ "$bad" = 0 ] || exit 2
	exit 0
fi

nproc=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
build() { make -C "$1" -s -j"$nproc" all unit-tests >"$2" 2>&1; }
build "$tmp/base" "$tmp/base.build" || { cat "$tmp/base.build" >&2; die "the unmutated tree does not build"; }

# run_tests TREE PATTERNS LOG: the patterns' tests, all of them; status 0
# when every one passed.
run_tests() {
	t=$1 pats=$2 log=$3 st=0
	: >"$log"
	old_ifs=$IFS; IFS=,
	for p in $pats; do
		IFS=$old_ifs
		CACHEGC="$t/build/cachegc" BUILD="$t/build" TESTS="$p" \
			timeout "$timeout" sh "$t/tests/run.sh" >>"$log" 2>&1 || st=1
		# a pattern that selects nothing proves nothing
		if grep -q '^0 passed, 0 failed' "$log"; then
			echo "pattern '$p' selects no test" >>"$log"
			st=4
		fi
	done
	IFS=$old_ifs
	return $st
}

# The baseline: every pattern the selection uses passes unmutated.
awk 'BEGIN { FS = " @@ " } { n = split($3, p, ","); for (i = 1; i <= n; i++) print p[i] }' \
	"$tmp/list" | sort -u | paste -sd, - >"$tmp/patterns"
if ! run_tests "$tmp/base" "$(cat "$tmp/patterns")" "$tmp/baseline.log"; then
	cat "$tmp/baseline.log" >&2
	echo "mutate.sh: the unmutated tree fails the tests the list names; nothing judged" >&2
	exit 3
fi

# worker K: mutations K, K+jobs, ... in its own copy; one result line each:
#   index <TAB> name <TAB> killed|survived|unapplied|stillborn <TAB> detail
worker() {
	k=$1 w="$tmp/w$1" i=0
	cp -a "$tmp/base" "$w"
	while IFS= read -r line; do
		i=$((i + 1))
		[ $(((i - 1) % jobs)) = "$k" ] || continue
		name=${line%% @@ *}; rest=${line#* @@ }
		file=${rest%% @@ *}; rest=${rest#* @@ }
		pats=${rest%% @@ *}; rest=${rest#* @@ }
		orig=${rest%% @@ *}; repl=${rest#* @@ }
		[ "$repl" = "$rest" ] && repl=   # "... @@ " with nothing after
		log="$tmp/$i.log"
		if [ ! -f "$w/$file" ]; then
			printf '%s\t%s\tunapplied\tno file %s\n' "$i" "$name" "$file"
			continue
		fi
		cp -p "$w/$file" "$tmp/$i.orig"
		if ! apply "$w/$file" "$orig" "$repl" 2>"$log"; then
			printf '%s\t%s\tunapplied\tsnippet %s in %s\n' "$i" "$name" "$(cat "$log")" "$file"
			continue
		fi
		if ! build "$w" "$log"; then
			# the tests cannot even be built: no test ran
			printf '%s\t%s\tstillborn\t%s\n' "$i" "$name" \
				"$(grep -m1 'error' "$log" | cut -c1-160)"
		elif run_tests "$w" "$pats" "$log"; then
			printf '%s\t%s\tsurvived\t%s\n' "$i" "$name" "$pats"
		elif grep -q "selects no test" "$log"; then
			printf '%s\t%s\tunapplied\t%s\n' "$i" "$name" "$(grep -m1 'selects no test' "$log")"
		else
			printf '%s\t%s\tkilled\t%s\n' "$i" "$name" \
				"$(grep -m1 -E '^FAIL |^--- ' "$log" | cut -c1-160)"
		fi
		# restore, and make it newer than the mutant's objects so the
		# next build recompiles it
		cp "$tmp/$i.orig" "$w/$file"
		touch "$w/$file"
		cmp -s "$w/$file" "$tmp/base/$file" ||
			printf '%s\t%s\tunapplied\trestore of %s failed\n' "$i" "$name" "$file"
	done <"$tmp/list"
}

k=0
while [ $k -lt "$jobs" ]; do
	worker $k >"$tmp/r$k" &
	k=$((k + 1))
done
wait
cat "$tmp"/r[0-9]* | sort -n >"$tmp/results"

killed=$(grep -c '	killed	' "$tmp/results")
survived=$(grep -c '	survived	' "$tmp/results")
broken=$(grep -c -E '	(unapplied|stillborn)	' "$tmp/results")
done_n=$(wc -l <"$tmp/results")
[ "$done_n" = "$total" ] || broken=$((broken + total - done_n))

if [ "$json" = 1 ]; then
	awk -F '\t' -v k="$killed" -v n="$total" -v rev="$(git -C "$root" rev-parse --short "$rev")" '
		function q(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); gsub(/\t/, "\\t", s); return "\"" s "\"" }
		BEGIN { printf "{\"rev\":%s,\"killed\":%d,\"total\":%d,\"mutations\":[", q(rev), k, n }
		{ printf "%s{\"name\":%s,\"result\":%s,\"detail\":%s}", NR > 1 ? "," : "", q($2), q($3), q($4) }
		END { print "]}" }' "$tmp/results"
else
	awk -F '\t' '{ printf "%-9s %-28s %s\n", $3 == "survived" ? "SURVIVED" : $3, $2, $4 }' "$tmp/results"
	echo "mutation score: $killed/$total killed"
	if [ "$survived" != 0 ]; then
		echo "survivors:"
		awk -F '\t' '$3 == "survived" { print "  " $2 }' "$tmp/results"
	fi
fi
if [ "$broken" != 0 ]; then
	echo "mutate.sh: $broken mutation(s) could not be applied or built; fix the list" >&2
	exit 2
fi
exit 0
