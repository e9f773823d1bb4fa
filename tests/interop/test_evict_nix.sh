#!/bin/sh
# tests/interop/test_evict_nix.sh - eviction plans against real Nix.  Nix
# builds a small world and `nix copy` pushes it to a signed file:// cache;
# two evaluations of one branch name roots.  A plan under a limit evicts
# the unreached and superseded paths; after `cachegc evict --apply` on a
# copy of the cache, Nix must still read and copy every kept root and its
# closure (into a fresh store, signatures checked).  A run killed with
# kill -9 half-way and run again must leave exactly what a clean run
# leaves.  A narinfo whose URL is nar/../../outside is refused, and
# nothing outside the cache is touched.
. "$(dirname "$0")/../lib/lib.sh"
. "$ROOT/tests/lib/nix.sh"
need jq sqlite3 awk
nix_setup

# --- the world, the cache ---------------------------------------------------------

mkdir "$T/world" "$T/orig"
nix_build_world "$T/world"
nix_keys cachegc-evict-1
# shellcheck disable=SC2046
nix_push "$T/orig" "$T/cachegc-evict-1.secret" $(cut -d' ' -f2 "$T/world/paths")
PUB=$(cat "$T/cachegc-evict-1.public")
for n in a b c d e f self big; do eval "p_$n=\$(nix_world_path $n)"; done
# shellcheck disable=SC2154
p_note=$(nix-store -qR "$p_f" | grep -- '-cachegc-note-')
hash_of() { basename "$1" | cut -c1-32; }

# nix-eval-jobs lines for some world members (attr = member name)
jobs() {
	for n in "$@"; do
		p=$(nix_world_path "$n")
		drv=$(nix-store -qd "$p")
		jq -cn --arg a "$n" --arg d "$drv" --arg o "$p" \
			'{attr: $a, name: ("cachegc-" + $a), system: "x86_64-linux", drvPath: $d, outputs: {out: $o}}'
	done
}
# The older evaluation of master built e (-> c -> b -> a, d -> a); the
# newer one built d and f (-> note).  self and big are reached by nothing.
jobs e d >"$T/old.jsonl"
jobs d f >"$T/new.jsonl"
KEPT="$p_a $p_d $p_f $p_note"
EVICTED="$p_b $p_c $p_e $p_self $p_big"

# setup NAME: a copy of the pushed cache in $T/NAME, crawled into
# $T/NAME.db with both evaluations imported.
setup() {
	rm -rf "${T:?}/$1"
	cp -a "$T/orig" "$T/$1"
	$CG --db "$T/$1.db" --now 2030-01-01 crawl "$T/$1" >"$T/$1.crawl" 2>&1 ||
		fail "$1-crawl" "$(cat "$T/$1.crawl")"
	$CG --db "$T/$1.db" import-eval --branch master --rev aaaa --capabilities 8.6 \
		--time 2030-01-01 "$T/old.jsonl" >/dev/null 2>"$T/$1.ie1" ||
		fail "$1-import-old" "$(cat "$T/$1.ie1")"
	$CG --db "$T/$1.db" import-eval --branch master --rev bbbb --capabilities 8.6 \
		--time 2030-01-02 "$T/new.jsonl" >/dev/null 2>"$T/$1.ie2" ||
		fail "$1-import-new" "$(cat "$T/$1.ie2")"
}
listing() { (cd "$1" && find . ! -type d | sort); }

setup main
DB="$T/main.db"
q() { sqlite3 -batch -noheader "$DB" "$1"; }
size_of() { # stored bytes of the given paths
	for p in "$@"; do
		q "SELECT coalesce(n.file_size, n.nar_size) FROM narinfos n JOIN paths p ON p.id = n.path_id
			WHERE p.hash = '$(hash_of "$p")'"
	done | awk '{ s += $1 } END { print s + 0 }'
}
# shellcheck disable=SC2086
LIMIT=$(size_of $KEPT)

# --- the plan -----------------------------------------------------------------------

# The plan's clock: the evaluations are dated 2030.
NOW="--now 2030-01-03"
# shellcheck disable=SC2086
if $CG --db "$DB" $NOW plan evict --limit "$LIMIT" --json >"$T/plan.json" 2>"$T/plan.err"; then
	pass plan-status
else
	fail plan-status "$(cat "$T/plan.err")"
fi
expect_eq plan-paths "$(jq -r '.paths[].path' "$T/plan.json" | sort)" "$(printf '%s\n' $EVICTED | sort)"
expect_eq plan-size-after "$(jq .sizeAfter "$T/plan.json")" "$LIMIT"
reason() { jq -r --arg p "$1" '.paths[] | select(.path == $p) | .reason' "$T/plan.json"; }
for n in self big; do expect_eq "plan-reason-$n" "$(reason "$(nix_world_path $n)")" unreached; done
# The priority model supersedes outputs attr by attr: the newer evaluation
# has no job e, so e's newest output is still the old one: low-value.
for n in b c e; do expect_eq "plan-reason-$n" "$(reason "$(nix_world_path $n)")" low-value; done
# The reach ranking takes every output of a replaced evaluation as
# superseded: the same paths go, for that reason.
# shellcheck disable=SC2086
$CG --db "$DB" $NOW plan evict --limit "$LIMIT" --policy reach --json >"$T/reach.json" 2>"$T/reach.err"
expect_eq reach-paths "$(jq -r '.paths[].path' "$T/reach.json" | sort)" "$(printf '%s\n' $EVICTED | sort)"
for n in b c e; do
	expect_eq "reach-reason-$n" "$(jq -r --arg p "$(nix_world_path $n)" \
		'.paths[] | select(.path == $p) | .reason' "$T/reach.json")" superseded
done
# the old evaluation's job e is broken by e, c and b
for n in b c e; do
	expect_eq "plan-breaks-$n" "$(jq -c --arg p "$(nix_world_path $n)" \
		'.paths[] | select(.path == $p) | [.breaks[] | .attr]' "$T/plan.json")" '["e"]'
done
# referrers come first: e before c before b
expect_eq plan-order "$(jq -r '.paths[].path' "$T/plan.json" | grep -n -e "$p_e" -e "$p_c" -e "$p_b" |
	cut -d: -f2 | tr '\n' ' ')" "$p_e $p_c $p_b "
PLAN=$(jq .id "$T/plan.json")
expect_eq plan-policy "$(jq -r .policy "$T/plan.json")" priority

# --- a clean run ---------------------------------------------------------------------

if $CG --db "$DB" evict --plan "$PLAN" >"$T/dry.out" 2>"$T/dry.err"; then
	pass dry-status
else
	fail dry-status "$(cat "$T/dry.err")"
fi
listing "$T/orig" >"$T/l.orig"
listing "$T/main" >"$T/l.main"
check dry-run-changes-nothing diff "$T/l.orig" "$T/l.main"
if $CG --db "$DB" evict --plan "$PLAN" --apply >"$T/apply.out" 2>"$T/apply.err"; then
	pass apply-status
else
	fail apply-status "$(cat "$T/apply.err") $(cat "$T/apply.out")"
fi
for p in $EVICTED; do
	expect_eq "evicted-narinfo-$(basename "$p")" "$(test -e "$T/main/$(hash_of "$p").narinfo" || echo gone)" gone
done

# Nix reads every kept root and its closure, and copies them into a fresh
# store, signatures checked.
URL="file://$T/main"
for p in $KEPT; do
	check "nix-path-info-$(basename "$p")" nix path-info -r --store "$URL" "$p"
done
# shellcheck disable=SC2086
check nix-copy-fresh-store nix copy --from "$URL" --to "$T/fresh" \
	--option trusted-public-keys "$PUB" $KEPT
# shellcheck disable=SC2086
check nix-fresh-store-closure nix path-info -r --store "$T/fresh" $KEPT
check nix-verify-kept nix store verify --store "$URL" --all --sigs-needed 1 \
	--trusted-public-keys "$PUB"
expect_eq nix-all-left "$(nix path-info --all --store "$URL" 2>&1 | sort)" \
	"$(printf '%s\n' $KEPT | sort)"
for p in $EVICTED; do
	if nix path-info --store "$URL" "$p" >/dev/null 2>&1; then
		fail "nix-evicted-$(basename "$p")" "nix still finds $p"
	else
		pass "nix-evicted-$(basename "$p")"
	fi
done
# every NAR left is one a narinfo left names, and the reverse
(cd "$T/main" && sed -n 's/^URL: //p' ./*.narinfo | sort -u) >"$T/urls"
(cd "$T/main" && find nar -type f | sort) >"$T/nars"
check nars-match-narinfos diff "$T/urls" "$T/nars"

# the next crawl records the evicted paths as gone
$CG --db "$DB" --now 2030-01-03 crawl --json "$T/main" >"$T/recrawl.json" 2>&1
expect_eq recrawl-gone "$(jq .gone "$T/recrawl.json")" 5
expect_eq recrawl-gone-paths "$(q "SELECT '/nix/store/' || p.hash || '-' || p.name FROM presence e
	JOIN paths p ON p.id = e.path_id WHERE e.gone_at IS NOT NULL ORDER BY 1")" \
	"$(printf '%s\n' $EVICTED | sort)"
listing "$T/main" >"$T/want"

# --- kill -9 half-way, then run again -----------------------------------------------

# Each deletion sleeps 150 ms (CACHEGC_EVICT_STEP_DELAY_MS), so the plan's
# 10 or so deletions take over a second; the kill lands after the first.
for trial in 1 2 3; do
	setup "kill$trial"
	KDB="$T/kill$trial.db"
	# shellcheck disable=SC2086
	$CG --db "$KDB" $NOW plan evict --limit "$LIMIT" >/dev/null 2>&1
	listing "$T/kill$trial" >"$T/kbefore"
	CACHEGC_EVICT_STEP_DELAY_MS=150 $CACHEGC --db "$KDB" evict --plan 1 --apply \
		>"$T/kill.out" 2>&1 &
	pid=$!
	i=0
	while [ $i -lt 400 ] && listing "$T/kill$trial" | cmp -s - "$T/kbefore"; do
		sleep 0.01
		i=$((i + 1))
	done
	sleep "0.$((trial * 2))"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	listing "$T/kill$trial" >"$T/kmid"
	if ! cmp -s "$T/kmid" "$T/kbefore" && ! cmp -s "$T/kmid" "$T/want"; then
		pass "kill$trial-half-way"
	else
		fail "kill$trial-half-way" "the kill did not land half-way through the run"
	fi
	# what is left half-way is still closure-safe for Nix
	# shellcheck disable=SC2086
	check "kill$trial-nix-reads-kept" nix path-info -r --store "file://$T/kill$trial" $KEPT
	expect_eq "kill$trial-run-left-running" \
		"$(sqlite3 "$KDB" "SELECT status FROM evict_runs ORDER BY id DESC LIMIT 1")" running
	if $CG --db "$KDB" evict --plan 1 --apply >"$T/resume.out" 2>"$T/resume.err"; then
		pass "kill$trial-resume-status"
	else
		fail "kill$trial-resume-status" "$(cat "$T/resume.err")"
	fi
	listing "$T/kill$trial" >"$T/kafter"
	check "kill$trial-same-as-clean" diff "$T/want" "$T/kafter"
	expect_eq "kill$trial-journal" "$(sqlite3 "$KDB" "SELECT count(*) FROM evict_journal WHERE state != 'done'")" 0
	expect_eq "kill$trial-plan" "$(sqlite3 "$KDB" "SELECT status FROM evict_plans")" applied
done

# --- a hostile narinfo ---------------------------------------------------------------

# self's narinfo now names nar/../../outside; the cache lives in
# $T/hostile, so that is $T/outside.
setup hostile
HDB="$T/hostile.db"
echo sentinel >"$T/outside"
hs=$(hash_of "$p_self")
sed -i 's|^URL: .*|URL: nar/../../outside|' "$T/hostile/$hs.narinfo"
# shellcheck disable=SC2086
$CG --db "$HDB" $NOW plan evict --limit "$LIMIT" >/dev/null 2>&1
$CG --db "$HDB" evict --plan 1 --apply >"$T/h.out" 2>"$T/h.err"
expect_eq hostile-status $? 1
if grep -q "refused.*$hs.*nar/\.\./\.\./outside.*leaves the cache directory" "$T/h.out"; then
	pass hostile-refused
else
	fail hostile-refused "$(cat "$T/h.out" "$T/h.err")"
fi
expect_eq hostile-sentinel "$(cat "$T/outside" 2>&1)" sentinel
expect_eq hostile-narinfo-kept "$(test -f "$T/hostile/$hs.narinfo" && echo kept)" kept
# the rest of the plan went as usual
for p in $p_big $p_e $p_c $p_b; do
	expect_eq "hostile-evicted-$(basename "$p")" \
		"$(test -e "$T/hostile/$(hash_of "$p").narinfo" || echo gone)" gone
done

nix_forget_world
finish
