#!/bin/sh
# Analyses read one state of the DB while a crawl writes it.  Coverage,
# closure --all, verify, simulate and plan evict run in a loop during a
# crawl that commits in small batches:
#   1. stress: tiny batches, no crash and no error from any of them;
#   2. consistency: batches a while apart; each answer must be exactly the
#      answer of a state the crawl committed (a prefix of its rows, rebuilt
#      afterwards from the finished DB), never a mix of two states.
. "$(dirname "$0")/../lib/lib.sh"
need sqlite3 jq

NOW=2024-05-29
$CACHEGC gen "$T/w" --paths 12000 --seed 3 >/dev/null || { fail gen; exit 1; }
files=$(ls "$T/w/cache" | grep -c '\.narinfo$')

# The DB before the crawl: evaluations, builds and the signing key.
$CACHEGC --db "$T/base.db" keys list >/dev/null 2>&1
$CACHEGC --db "$T/base.db" import-eval --manifest "$T/w/evals/manifest.tsv" >/dev/null 2>&1 ||
	{ fail import-eval; exit 1; }
$CACHEGC --db "$T/base.db" import-builds "$T/w/builds.jsonl" >/dev/null 2>&1 ||
	{ fail import-builds; exit 1; }
$CACHEGC --db "$T/base.db" keys add "$(cat "$T/w/keys/"*.public)" >/dev/null 2>&1 ||
	{ fail keys-add; exit 1; }

# The analyses, one a line: NAME ARGS.  Exit 1 is an answer for verify
# (untrusted paths) and plan (the limit cannot be reached); an error on
# stderr other than plan's "cannot bring" is not.
cat >"$T/analyses" <<'EOF'
coverage coverage --json
closure closure --all --json
verify verify --json
simulate simulate --policy attic --json
plan plan evict --limit 20G --json
EOF


# run_one DB NAME ARGS...: run it (under $CACHEGC_WRAP), output in
# $T/o.NAME, stderr in $T/e.NAME, exit status in $rc.
run_one() {
	db=$1 name=$2
	shift 2
	# shellcheck disable=SC2086
	$CG --db "$db" --now $NOW "$@" >"$T/o.$name" 2>"$T/e.$name"
	rc=$?
}

# answer_ok NAME: the run just made was an answer, not a failure.
answer_ok() {
	case "$rc" in
	0) ;;
	1) case "$1" in verify|plan) ;; *) return 1 ;; esac ;;
	*) return 1 ;;
	esac
	if grep -v "cannot bring" "$T/e.$1" | grep -q "error:\|fatal:\|BUG"; then
		return 1
	fi
	return 0
}

wait_for_cache() { # DB: until the crawl has committed a first batch
	wait_until 600 0.01 sql_at_least 1 "$1" "SELECT count(*) FROM presence"
}

maxid() { sqlite3 "$1" ".timeout 20000" "SELECT coalesce(max(id), 0) FROM presence"; }

# ---- 1. stress ----------------------------------------------------------
cp "$T/base.db" "$T/s.db"
CACHEGC_BATCH_WRITES=12 CACHEGC_BATCH_PAUSE_MS=3 \
	$CACHEGC --db "$T/s.db" --now $NOW crawl "$T/w/cache" >"$T/crawl1.out" 2>&1 &
crawl=$!
wait_for_cache "$T/s.db" || fail "stress-crawl-started"
runs=0 bad=0 during=0
while :; do
	alive=0
	kill -0 $crawl 2>/dev/null && alive=1
	while read -r name args; do
		# shellcheck disable=SC2086
		run_one "$T/s.db" "$name" $args
		runs=$((runs + 1))
		if ! answer_ok "$name"; then
			bad=$((bad + 1))
			[ $bad -le 5 ] && echo "stress: $name exited $rc: $(head -c 300 "$T/e.$name")"
		fi
	done <"$T/analyses"
	[ $alive = 1 ] && during=$((during + 1))
	[ $alive = 0 ] && break
done
wait $crawl
expect_eq "stress-crawl-exit-0" "$?" 0
expect_eq "stress-crawl-complete" "$(sqlite3 "$T/s.db" "SELECT count(*) FROM narinfos")" "$files"
if [ $during -gt 0 ]; then pass "stress-ran-during-crawl"; else fail "stress-ran-during-crawl" "the crawl ended before a whole round of analyses"; fi
expect_eq "stress-no-crash-no-error ($runs runs)" "$bad" 0

# ---- 2. consistency -----------------------------------------------------
cp "$T/base.db" "$T/c.db"
# About 15 states, committed 0.3 s apart; a poller records each one.
CACHEGC_BATCH_WRITES=900 CACHEGC_BATCH_PAUSE_MS=300 \
	$CACHEGC --db "$T/c.db" --now $NOW crawl "$T/w/cache" >"$T/crawl2.out" 2>&1 &
crawl=$!
wait_for_cache "$T/c.db" || fail "consistency-crawl-started"
(
	while kill -0 $crawl 2>/dev/null; do
		maxid "$T/c.db" 2>/dev/null
		sleep 0.02
	done
) >"$T/states" &
poller=$!
n=0
: >"$T/answers"
while kill -0 $crawl 2>/dev/null; do
	while read -r name args; do
		before=$(maxid "$T/c.db")
		# shellcheck disable=SC2086
		run_one "$T/c.db" "$name" $args
		after=$(maxid "$T/c.db")
		n=$((n + 1))
		if answer_ok "$name"; then
			normalize "$name" <"$T/o.$name" >"$T/a.$n" 2>/dev/null ||
				cp "$T/o.$name" "$T/a.$n"
		else
			echo "unanswered: $name exited $rc: $(head -c 300 "$T/e.$name")"
			echo "-" >"$T/a.$n"
		fi
		echo "$n $name $before $after $args" >>"$T/answers"
	done <"$T/analyses"
done
wait $crawl
crawl_rc=$?
wait $poller
expect_eq "consistency-crawl-exit-0" "$crawl_rc" 0
sort -nu "$T/states" >"$T/states.sorted"
final=$(maxid "$T/c.db")
echo "$(wc -l <"$T/states.sorted") states seen, $(wc -l <"$T/answers") answers"

# state_db X: the finished DB cut back to the state with presence rows up
# to id X (a first crawl only appends: each committed state is a prefix),
# with the crawl still running.  Prints its path.
state_db() {
	s="$T/state.$1.db"
	if ! [ -f "$s" ]; then
		cp "$T/c.db" "$s"
		sqlite3 "$s" "DELETE FROM narinfos WHERE path_id IN
		                (SELECT path_id FROM presence WHERE id > $1);
		              DELETE FROM presence WHERE id > $1;
		              UPDATE crawls SET status = 'running', finished_at = NULL, n_new = 0,
		                n_present = 0, n_gone = 0, n_rejected = 0, n_absent = 0, n_unknown = 0;
		              DELETE FROM evict_plan_breaks; DELETE FROM evict_plan_jobs;
		              DELETE FROM evict_plan_paths; DELETE FROM evict_plans;"
	fi
	echo "$s"
}
# reference NAME X ARGS: the normalized answer of NAME on state X (cached).
reference() {
	name=$1 x=$2
	shift 2
	r="$T/ref.$name.$x"
	if ! [ -f "$r" ]; then
		# shellcheck disable=SC2086
		$CACHEGC --db "$(state_db "$x")" --now $NOW "$@" 2>/dev/null | normalize "$name" >"$r"
	fi
	echo "$r"
}

# The answers on the finished DB; the rebuilt final state gives the same
# but for simulate, which counts only complete crawls: the rebuilding is
# sound.
while read -r name args; do
	# shellcheck disable=SC2086
	$CACHEGC --db "$T/c.db" --now $NOW $args 2>/dev/null | normalize "$name" >"$T/final.$name"
	[ "$name" = simulate ] && continue
	# shellcheck disable=SC2086
	check "rebuilt-final-state-$name" cmp "$T/final.$name" "$(reference "$name" "$final" $args)"
done <"$T/analyses"

# Every answer is the answer of one committed state between the moments
# the run started and ended.
bad=0 straddled=0 checked=0
while read -r n name before after args; do
	checked=$((checked + 1))
	[ "$before" != "$after" ] && straddled=$((straddled + 1))
	match=
	# The last batch may be committed with the crawl's end: the final
	# state is also the finished DB itself.
	[ "$after" = "$final" ] && cmp -s "$T/a.$n" "$T/final.$name" && match=final
	[ -n "$match" ] || for x in $( (echo "$before"; echo "$after"; cat "$T/states.sorted") | sort -nu |
		awk -v lo="$before" -v hi="$after" '$1 >= lo && $1 <= hi'); do
		# shellcheck disable=SC2086
		if cmp -s "$T/a.$n" "$(reference "$name" "$x" $args)"; then
			match=$x
			break
		fi
	done
	if [ -z "$match" ]; then
		bad=$((bad + 1))
		[ $bad -le 5 ] && echo "answer $n ($name, states $before..$after) matches no state"
	fi
done <"$T/answers"
echo "$checked answers checked, $straddled while a batch was committed"
if [ $checked -ge 5 ]; then pass "consistency-answers-taken"; else fail "consistency-answers-taken" "only $checked answers"; fi
expect_eq "consistency-every-answer-is-one-state" "$bad" 0
finish
