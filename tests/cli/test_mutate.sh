#!/bin/sh
# tools/mutate.sh's list and its apply/restore logic, without the slow part
# (no build, no test run: --check): every mutation of tools/mutations.txt
# applies to the committed source exactly once, a snippet that is missing or
# not unique fails loudly, and the working tree is never touched.
. "$(dirname "$0")/../lib/lib.sh"
need git perl

M="$ROOT/tools/mutate.sh"
sums() { find "$ROOT"/src "$ROOT"/include -type f \( -name "*.c" -o -name "*.h" \) | sort | xargs cat | cksum; }
before=$(sums)

n=$(grep -v -E '^[[:space:]]*(#|$)' "$ROOT/tools/mutations.txt" | grep -c ' @@ ')
sh "$M" --check >"$T/out" 2>"$T/err"
expect_eq "list-applies" "$?" 0
expect_eq "list-count" "$(cat "$T/out")" "mutations checked: $n/$n apply"
if [ "$n" -ge 50 ]; then pass "list-has-50"; else fail "list-has-50" "only $n mutations"; fi

# A snippet the source does not hold, one it holds twice, a file that does
# not exist, a replacement that changes nothing: each named, exit 2.
cat >"$T/bad.txt" <<'LIST'
# comment
good @@ src/analysis/coverage.c @@ tests/test_coverage @@ r->since >= r->build_time @@ r->since > r->build_time
rotted @@ src/analysis/coverage.c @@ tests/test_coverage @@ r->since >== r->build_time @@ x
twice @@ src/analysis/coverage.c @@ tests/test_coverage @@ return 0; @@ return 1;
nofile @@ src/nowhere.c @@ tests/test_coverage @@ a @@ b
same @@ src/analysis/coverage.c @@ tests/test_coverage @@ r->since >= r->build_time @@ r->since >= r->build_time
LIST
sh "$M" --check "$T/bad.txt" >"$T/out" 2>"$T/err"
expect_eq "bad-list-exit-2" "$?" 2
check "bad-list-names-rotted" grep -q "rotted: snippet found 0 times in 'src/analysis/coverage.c'" "$T/err"
check "bad-list-names-twice" grep -q "twice: snippet found [0-9]* times" "$T/err"
check "bad-list-names-nofile" grep -q "nofile: no file 'src/nowhere.c'" "$T/err"
check "bad-list-names-same" grep -q "same: the replacement changes nothing" "$T/err"
if grep -q "good:" "$T/err"; then fail "bad-list-good-is-fine" "$(cat "$T/err")"; else pass "bad-list-good-is-fine"; fi
expect_eq "bad-list-count" "$(cat "$T/out")" "mutations checked: 1/5 apply"

# --only selects by name; an unknown name selects nothing and says so.
sh "$M" --check --only good "$T/bad.txt" >"$T/out" 2>"$T/err"
expect_eq "only-exit-0" "$?" 0
expect_eq "only-count" "$(cat "$T/out")" "mutations checked: 1/1 apply"
sh "$M" --check --only nosuch "$T/bad.txt" >"$T/out" 2>"$T/err"
expect_eq "only-unknown-exit-1" "$?" 1
check "only-unknown-says" grep -q "no mutation selected" "$T/err"

expect_eq "working-tree-untouched" "$(sums)" "$before"
finish
