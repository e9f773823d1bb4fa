#!/bin/sh
# crawl --shard K/N --crawl-id NAME: the N shards of a crawl of a generated
# cache, crawled a week apart (new paths, gone paths, rejected narinfos),
# record the rows one unsharded crawl records (narinfos, refs, signatures,
# presence, rejects, crawls), for N = 2 and 3, one after the other or two
# at once into one DB; the shards are disjoint ranges of hashes that cover
# the cache; one shard alone is no complete crawl; a shard killed with -9
# leaves the crawl incomplete and its re-run completes it; the analyses
# answer alike on both DBs; bad --shard values and misuse are refused.
. "$(dirname "$0")/../lib/lib.sh"
need sqlite3 jq

W=$T/w
D1=2024-05-15 D2=2024-05-22
gen() {
	$CACHEGC gen "$W" --paths 12000 --seed 3 --as-of "$1" >/dev/null || { fail "gen-$1"; exit 1; }
	# two narinfos Nix refuses, and a file whose name is no store hash
	printf 'StorePath: /nix/store/x\n' >"$W/cache/0000000000000000000000000000000z.narinfo"
	printf 'garbage\n' >"$W/cache/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz0.narinfo"
	printf 'garbage\n' >"$W/cache/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee.narinfo"
}

gen $D1
# The DB before any crawl: evaluations, builds, the key (for the analyses).
$CACHEGC --db "$T/base.db" import-eval --manifest "$W/evals/manifest.tsv" >/dev/null 2>&1 ||
	{ fail import-eval; exit 1; }
$CACHEGC --db "$T/base.db" import-builds "$W/builds.jsonl" >/dev/null 2>&1 ||
	{ fail import-builds; exit 1; }
$CACHEGC --db "$T/base.db" keys add "$(cat "$W/keys/"*.public)" >/dev/null 2>&1 ||
	{ fail keys-add; exit 1; }
for db in u s2 s3 c2 k; do cp "$T/base.db" "$T/$db.db"; done

# crawl_at DATE: the unsharded crawl, the sharded ones (N = 2, 3 one after
# the other; N = 2 both at once).
crawl_at() {
	$CG --db "$T/u.db" --now "$1" crawl "$W/cache" >"$T/u.out" 2>&1
	[ $? = 0 ] || fail "unsharded-$1" "$(cat "$T/u.out")"
	for n in 2 3; do
		k=1
		while [ $k -le $n ]; do
			$CG --db "$T/s$n.db" --now "$1" crawl --shard $k/$n --crawl-id "c$1" --json \
				"$W/cache" >"$T/s$n.$k.json" 2>"$T/s$n.$k.err"
			[ $? = 0 ] || fail "shard-$k-of-$n-$1" "$(cat "$T/s$n.$k.err")"
			k=$((k + 1))
		done
	done
	$CG --db "$T/c2.db" --now "$1" crawl --shard 1/2 --crawl-id "c$1" "$W/cache" >"$T/c.1" 2>&1 &
	p1=$!
	$CG --db "$T/c2.db" --now "$1" crawl --shard 2/2 --crawl-id "c$1" "$W/cache" >"$T/c.2" 2>&1 &
	p2=$!
	wait $p1; r1=$?
	wait $p2; r2=$?
	expect_eq "concurrent-shards-exit-$1" "$r1 $r2" "0 0"
	[ "$r1 $r2" = "0 0" ] || cat "$T/c.1" "$T/c.2"
}

# facts DB TABLE: the table as export writes it, sorted, without the row
# ids that depend on the order rows were written (presence.id).
facts() {
	$CACHEGC --db "$1" export --format jsonl "$2" | jq -c 'del(.id?)' | sort
}
# rejects DB: crawl_rejects, sorted (export has no source order to keep)
rejects() {
	sqlite3 "$1" "SELECT crawl_id, source, line, message, hash, bytes FROM crawl_rejects ORDER BY 1, 2"
}
same_rows() { # NAME DB: the DB holds the rows u.db holds
	for t in narinfos refs signatures presence crawls path_checks; do
		facts "$T/u.db" $t >"$T/want.$t"
		facts "$2" $t >"$T/got.$t"
		if cmp -s "$T/want.$t" "$T/got.$t"; then pass "$1-same-$t"
		else fail "$1-same-$t" "$(diff "$T/want.$t" "$T/got.$t" | head -10)"; fi
	done
	expect_eq "$1-same-rejects" "$(rejects "$2")" "$(rejects "$T/u.db")"
	expect_eq "$1-same-path-count" "$(sqlite3 "$2" 'SELECT count(*) FROM paths')" \
		"$(sqlite3 "$T/u.db" 'SELECT count(*) FROM paths')"
	expect_eq "$1-integrity" "$(sqlite3 "$2" 'PRAGMA integrity_check')" ok
}

crawl_at $D1
files=$(ls "$W/cache" | grep -c '\.narinfo$')
expect_eq rejects-recorded "$(sqlite3 "$T/u.db" 'SELECT count(*) FROM crawl_rejects')" 3
for n in 2 3; do same_rows "n$n-first" "$T/s$n.db"; done
same_rows concurrent-first "$T/c2.db"

# the second crawl a week later: new paths, gone paths
gen $D2
crawl_at $D2
gone=$(sqlite3 "$T/u.db" 'SELECT count(*) FROM presence WHERE gone_at IS NOT NULL')
[ "$gone" -gt 100 ] && pass second-crawl-has-gone || fail second-crawl-has-gone "only $gone gone"
for n in 2 3; do same_rows "n$n" "$T/s$n.db"; done
same_rows concurrent "$T/c2.db"
expect_eq shard-rows "$(sqlite3 "$T/s3.db" "SELECT group_concat(crawl_id || ':' || shard || ':' || status, ' ') FROM (SELECT * FROM crawl_shards ORDER BY 1, 2)")" \
	"1:1:complete 1:2:complete 1:3:complete 2:1:complete 2:2:complete 2:3:complete"
expect_eq crawl-rows "$(sqlite3 "$T/s3.db" "SELECT group_concat(name || ':' || shards || ':' || status, ' ') FROM (SELECT * FROM crawls ORDER BY id)")" \
	"c$D1:3:complete c$D2:3:complete"
# --json says the shard; the summed counts are the unsharded crawl's
expect_eq json-shard "$(jq -c '[.shard, .crawlId, .shardsComplete, .crawlStatus, .status]' "$T/s3.2.json")" \
	"[\"2/3\",\"c$D2\",2,\"running\",\"complete\"]"
expect_eq json-last-shard "$(jq -c '[.shard, .shardsComplete, .crawlStatus]' "$T/s3.3.json")" \
	"[\"3/3\",3,\"complete\"]"
sum=0
for k in 1 2 3; do sum=$((sum + $(jq '.gone' "$T/s3.$k.json"))); done
expect_eq shards-gone-sum "$sum" "$(sqlite3 "$T/u.db" "SELECT n_gone FROM crawls WHERE id = 2")"

# --- the analyses answer alike -----------------------------------------------
# The two DBs differ only in path ids (given in the order paths were first
# met), so where an analysis breaks ties by id its answer may differ:
# plan evict lists paths of equal rank in id order (compared sorted), and
# cachix and priority under a --limit take pushes of the same second in id
# order (not compared; see the README's sharded crawls).

norm() { case "$1" in plan) jq -S 'del(.id) | .paths |= sort_by(.path)' ;; *) jq -S . ;; esac; }
while read -r name a; do
	# shellcheck disable=SC2086
	$CG --db "$T/u.db" --now $D2 $a 2>"$T/a.err" | norm $name >"$T/a.u"
	# shellcheck disable=SC2086
	$CG --db "$T/s3.db" --now $D2 $a 2>>"$T/a.err" | norm $name >"$T/a.s"
	if [ -s "$T/a.u" ] && cmp -s "$T/a.u" "$T/a.s"; then pass "same-answer: $a"
	else fail "same-answer: $a" "$(cat "$T/a.err"; diff "$T/a.u" "$T/a.s" | head -10)"; fi
done <<EOF
closure closure --all --json
coverage coverage --json
simulate simulate --policy attic --json
simulate simulate --policy niks3 --json
simulate simulate --policy niks3 --limit 2G --json
simulate simulate --policy attic --limit 2G --json
plan plan evict --limit 20G --json
EOF

# --- shards are disjoint ranges of hashes that cover the cache -----------------
for n in 2 3; do
	k=1 prev=
	: >"$T/all.$n"
	while [ $k -le $n ]; do
		rm -f "$T/one.db"*
		$CG --db "$T/one.db" --now $D2 crawl --shard $k/$n --crawl-id one "$W/cache" >/dev/null 2>&1
		sqlite3 "$T/one.db" "SELECT p.hash FROM narinfos n JOIN paths p ON p.id = n.path_id ORDER BY 1" >"$T/one.$k"
		sqlite3 "$T/one.db" "SELECT hash FROM crawl_rejects WHERE hash IS NOT NULL" >>"$T/one.$k"
		[ -s "$T/one.$k" ] || fail "shard-$k-of-$n-not-empty"
		if [ -n "$prev" ]; then
			lo=$(sort "$T/one.$k" | head -1)
			printf '%s\n%s\n' "$prev" "$lo" | sort -cu 2>/dev/null && pass "shard-$k-of-$n-after-shard-$((k - 1))" ||
				fail "shard-$k-of-$n-after-shard-$((k - 1))" "$prev >= $lo"
		fi
		prev=$(sort "$T/one.$k" | tail -1)
		cat "$T/one.$k" >>"$T/all.$n"
		# one shard alone is not a complete crawl
		expect_eq "shard-$k-of-$n-alone-incomplete" \
			"$(sqlite3 "$T/one.db" "SELECT status FROM crawls")" running
		k=$((k + 1))
	done
	expect_eq "shards-of-$n-disjoint" "$(sort "$T/all.$n" | uniq -d | wc -l | tr -d ' ')" 0
	expect_eq "shards-of-$n-cover" "$(sort "$T/all.$n" | wc -l | tr -d ' ')" \
		"$(ls "$W/cache" | grep '\.narinfo$' | grep -vc '^e')"
done
expect_eq alone-no-complete-crawl "$(sqlite3 "$T/one.db" "SELECT count(*) FROM crawls WHERE status = 'complete'")" 0

# --- kill -9 of one shard mid-way; its re-run completes the crawl --------------
# the reference: one crawl of the cache at D2
cp "$T/base.db" "$T/u1.db"
$CG --db "$T/u1.db" --now $D2 crawl "$W/cache" >/dev/null 2>&1
full=$(sqlite3 "$T/u1.db" "SELECT count(*) FROM narinfos")
$CG --db "$T/k.db" --now $D2 crawl --shard 1/2 --crawl-id kk "$W/cache" >/dev/null 2>&1
before=$(sqlite3 "$T/k.db" "SELECT count(*) FROM narinfos")
CACHEGC_BATCH_WRITES=200 CACHEGC_BATCH_PAUSE_MS=20 \
	$CG --db "$T/k.db" --now $D2 crawl --shard 2/2 --crawl-id kk "$W/cache" >/dev/null 2>&1 &
pid=$!
wait_until 400 0.05 sql_at_least $((before + 1)) "$T/k.db" "SELECT count(*) FROM narinfos"
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
partial=$(sqlite3 "$T/k.db" "SELECT count(*) FROM narinfos")
echo "killed shard 2/2 with $partial of $full narinfos committed (shard 1: $before)"
if [ "$partial" -gt "$before" ] && [ "$partial" -lt "$full" ]; then
	pass killed-mid-shard
else
	fail killed-mid-shard "$partial narinfos (shard 1 alone: $before): the kill did not land mid-way"
fi
expect_eq killed-integrity "$(sqlite3 "$T/k.db" 'PRAGMA integrity_check')" ok
expect_eq killed-crawl-incomplete "$(sqlite3 "$T/k.db" "SELECT status FROM crawls")" running
expect_eq killed-shard-running "$(sqlite3 "$T/k.db" "SELECT group_concat(status) FROM (SELECT status FROM crawl_shards ORDER BY shard)")" \
	complete,running
expect_eq killed-nothing-gone "$(sqlite3 "$T/k.db" "SELECT count(*) FROM presence WHERE gone_at IS NOT NULL")" 0
$CG --db "$T/k.db" --now $D2 crawl --shard 2/2 --crawl-id kk --json "$W/cache" >"$T/k.json" 2>"$T/k.err"
expect_eq rerun-exit-0 "$?" 0
expect_eq rerun-completes "$(jq -c '[.crawlStatus, .shardsComplete]' "$T/k.json")" '["complete",2]'
expect_eq rerun-runs "$(sqlite3 "$T/k.db" "SELECT runs FROM crawl_shards WHERE shard = 2")" 2
# the killed crawl, completed, is what one crawl of the cache at D2 records
for t in narinfos refs signatures presence crawls; do
	facts "$T/u1.db" $t >"$T/want.$t"
	facts "$T/k.db" $t >"$T/got.$t"
	if cmp -s "$T/want.$t" "$T/got.$t"; then pass "rerun-same-$t"
	else fail "rerun-same-$t" "$(diff "$T/want.$t" "$T/got.$t" | head -10)"; fi
done
expect_eq rerun-same-rejects "$(rejects "$T/k.db")" "$(rejects "$T/u1.db")"

# --- Ctrl-C of a shard: exit 130, the shard 'interrupted', the crawl not complete
rc=none
for pause in 20 100; do
	cp "$T/base.db" "$T/i.db"
	CACHEGC_BATCH_WRITES=200 CACHEGC_BATCH_PAUSE_MS=$pause \
		$CG --db "$T/i.db" --now $D2 crawl --shard 1/2 --crawl-id ii "$W/cache" >"$T/i.out" 2>&1 &
	pid=$!
	wait_until 400 0.02 sql_at_least 1 "$T/i.db" "SELECT count(*) FROM presence"
	kill -INT $pid
	wait $pid
	rc=$?
	[ "$rc" = 0 ] || break
done
expect_eq sigint-exit-130 "$rc" 130
expect_eq sigint-shard-interrupted "$(sqlite3 "$T/i.db" "SELECT status FROM crawl_shards")" interrupted
expect_eq sigint-crawl-running "$(sqlite3 "$T/i.db" "SELECT status FROM crawls")" running
has sigint-says-run-shard-again "$T/i.out" "run this shard again"
$CG --db "$T/i.db" --now $D2 crawl --shard 1/2 --crawl-id ii "$W/cache" >/dev/null 2>&1
$CG --db "$T/i.db" --now $D2 crawl --shard 2/2 --crawl-id ii "$W/cache" >/dev/null 2>&1
expect_eq sigint-rerun-completes "$(sqlite3 "$T/i.db" "SELECT status, n_new FROM crawls")" "complete|$full"
# an unsharded crawl of the cache between two shards does not take the
# sharded crawl for a stale one (it is not marked interrupted)
cp "$T/base.db" "$T/j.db"
$CG --db "$T/j.db" --now $D2 crawl --shard 1/2 --crawl-id jj "$W/cache" >/dev/null 2>&1
$CG --db "$T/j.db" --now $D2 crawl "$W/cache" >/dev/null 2>&1
expect_eq unsharded-between-leaves-shards "$(sqlite3 "$T/j.db" "SELECT group_concat(status) FROM (SELECT status FROM crawls ORDER BY id)")" \
	running,complete
$CG --db "$T/j.db" --now $D2 crawl --shard 2/2 --crawl-id jj "$W/cache" >/dev/null 2>&1
expect_eq unsharded-between-then-complete "$(sqlite3 "$T/j.db" "SELECT group_concat(status) FROM (SELECT status FROM crawls ORDER BY id)")" \
	complete,complete

# --- two shards at once into a new DB: one migrates it, the other waits -------
for i in 1 2 3; do
	rm -f "$T/f.db"*
	$CG --db "$T/f.db" --now $D2 crawl --shard 1/2 --crawl-id f "$W/cache" >"$T/f.1" 2>&1 &
	p1=$!
	$CG --db "$T/f.db" --now $D2 crawl --shard 2/2 --crawl-id f "$W/cache" >"$T/f.2" 2>&1
	r2=$?
	wait $p1
	expect_eq "new-db-two-shards-$i" "$? $r2 $(sqlite3 "$T/f.db" "SELECT status, n_new FROM crawls")" \
		"0 0 complete|$full"
done

# --- refused ------------------------------------------------------------------
for bad in 0/2 3/2 1/0 x 1/ /2 1/2x 1/1025 -1/2; do
	$CG --db "$T/x.db" crawl --shard "$bad" --crawl-id a "$W/cache" >"$T/x.out" 2>&1
	expect_eq "bad-shard-$bad-exit" "$?" 2
	has "bad-shard-$bad-says" "$T/x.out" "--shard wants K/N, shard K of N (1 <= K <= N <= 1024), not '$bad'"
done
$CG --db "$T/x.db" crawl --shard 1/2 "$W/cache" >"$T/x.out" 2>&1
expect_eq no-crawl-id-exit "$?" 2
has no-crawl-id-says "$T/x.out" "--shard 1/2 needs --crawl-id NAME"
$CG --db "$T/x.db" crawl --crawl-id a "$W/cache" >"$T/x.out" 2>&1
expect_eq crawl-id-alone-exit "$?" 2
$CG --db "$T/x.db" crawl --shard 1/2 --crawl-id 'a b' "$W/cache" >"$T/x.out" 2>&1
expect_eq bad-crawl-id-exit "$?" 2
has bad-crawl-id-says "$T/x.out" "--crawl-id wants a crawl id of 1 to 128 letters"
$CG --db "$T/x.db" crawl --shard 1/2 --crawl-id a http://127.0.0.1:9 >"$T/x.out" 2>&1
expect_eq http-shard-exit "$?" 2
has http-shard-says "$T/x.out" "--shard is for a directory or an s3:// bucket"
[ -e "$T/x.db" ] && fail refused-leave-no-db || pass refused-leave-no-db
# not into a ClickHouse store yet (refused before any connection: port 9)
$CG --db clickhouse://127.0.0.1:9/x crawl --shard 1/2 --crawl-id a "$W/cache" >"$T/x.out" 2>&1
expect_eq clickhouse-shard-exit "$?" 1
has clickhouse-shard-says "$T/x.out" "'crawl --shard' does not work on a ClickHouse store yet"
# another N for the same crawl id, a shard done twice, a complete crawl, another --now
$CG --db "$T/s3.db" --now $D2 crawl --shard 1/2 --crawl-id "c$D2" "$W/cache" >"$T/x.out" 2>&1
expect_eq other-n-exit "$?" 1
has other-n-says "$T/x.out" "has 3 shards, not 2"
$CG --db "$T/s3.db" --now $D2 crawl --shard 1/3 --crawl-id "c$D2" "$W/cache" >"$T/x.out" 2>&1
expect_eq complete-crawl-exit "$?" 1
has complete-crawl-says "$T/x.out" "is complete already"
$CG --db "$T/m.db" --now $D2 crawl --shard 1/2 --crawl-id m "$W/cache" >/dev/null 2>&1
$CG --db "$T/m.db" --now $D2 crawl --shard 1/2 --crawl-id m "$W/cache" >"$T/x.out" 2>&1
expect_eq shard-twice-exit "$?" 1
has shard-twice-says "$T/x.out" "shard 1/2 of crawl 'm'"
$CG --db "$T/m.db" --now 2024-05-23 crawl --shard 2/2 --crawl-id m "$W/cache" >"$T/x.out" 2>&1
expect_eq other-now-exit "$?" 1
has other-now-says "$T/x.out" "give every shard the same --now"
expect_eq other-now-records-nothing "$(sqlite3 "$T/m.db" "SELECT count(*) FROM crawl_shards")" 1
finish
