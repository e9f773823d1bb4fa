#!/bin/sh
# tests/interop/test_clickhouse.sh - `--db clickhouse://HOST:PORT/DB`:
# clickhouse-server (18.16 on Debian 12, or a current one) on loopback,
# one server and two shards behind Distributed tables.  A cache made by
# `cachegc gen` is crawled into SQLite and into ClickHouse: the same
# `closure --all --json`, the same exported narinfos; a re-crawl records
# nothing new; a path deleted is gone after the next complete crawl in
# both; a crawler killed with -9 while it ships its rows leaves no crawl
# read as complete, and its re-run completes it; a wrong port, host or
# database is a clear error.
. "$(dirname "$0")/../lib/lib.sh"
. "$ROOT/tests/lib/clickhouse.sh"
ch_skip_unless_installed
need curl jq sqlite3 python3
# the scratch databases in $T, to see them removed (and gone with $T)
TMPDIR=$T/tmp
export TMPDIR
mkdir "$TMPDIR"

$CG gen "$T/w" --paths 3000 --seed 7 >/dev/null 2>&1 || { fail gen "cachegc gen failed"; exit 1; }
CACHE=$T/w/cache
n_narinfo=$(ls "$CACHE" | grep -c '\.narinfo$')

# --- the reference: SQLite ----------------------------------------------------
$CG --db "$T/s.db" --now 2024-06-01 crawl "$CACHE" >"$T/s.out" 2>&1 || fail sqlite-crawl "$(cat "$T/s.out")"
$CG --db "$T/s.db" closure --all --json >"$T/s.closure" 2>"$T/s.err" || fail sqlite-closure "$(cat "$T/s.err")"
facts() { $CG --db "$1" export --format jsonl narinfos | jq -c 'del(.crawl_id)' | sort; }
facts "$T/s.db" >"$T/s.narinfos"

# same NAME URL: the ClickHouse store at URL answers as the SQLite one
same() {
	$CG --db "$2" closure --all --json >"$T/$1.closure" 2>"$T/$1.err"
	expect_eq "$1-closure-status" $? 0
	[ -s "$T/s.closure" ] && cmp -s "$T/s.closure" "$T/$1.closure" && pass "$1-same-closure" ||
		fail "$1-same-closure" "$(diff "$T/s.closure" "$T/$1.closure" | head -c 1500) $(cat "$T/$1.err")"
	facts "$2" >"$T/$1.narinfos"
	[ -s "$T/s.narinfos" ] && cmp -s "$T/s.narinfos" "$T/$1.narinfos" && pass "$1-same-narinfos" ||
		fail "$1-same-narinfos" "$(diff "$T/s.narinfos" "$T/$1.narinfos" | head -c 1500)"
}
complete_crawls() { ch_query "$1" "SELECT count() FROM $2.crawls WHERE status = 'complete'"; }

# --- one server ---------------------------------------------------------------
ch_start one
ch_query one "CREATE DATABASE cg" >/dev/null
U1=clickhouse://127.0.0.1:$CH_HTTP_one/cg
$CG --db "$U1" --now 2024-06-01 crawl --json "$CACHE" >"$T/c1.json" 2>"$T/c1.err"
expect_eq one-crawl-status $? 0
expect_eq one-crawl-new "$(jq .new "$T/c1.json")" "$n_narinfo"
expect_eq one-narinfos "$(ch_query one 'SELECT count() FROM cg.narinfos')" "$n_narinfo"
expect_eq one-complete "$(complete_crawls one cg)" 1
same one "$U1"

# a re-crawl: nothing new, everything present, no narinfo shipped again
$CG --db "$U1" --now 2024-06-02 crawl --json "$CACHE" >"$T/c2.json" 2>"$T/c2.err"
expect_eq one-recrawl "$(jq -c '[.new, .present, .gone]' "$T/c2.json")" "[0,$n_narinfo,0]"
expect_eq one-recrawl-no-new-rows "$(ch_query one 'SELECT count() FROM cg.narinfos')" "$n_narinfo"
expect_eq one-recrawl-complete "$(complete_crawls one cg)" 2

# --- errors: a clear message, exit 1 ---------------------------------------------
dead=$(ch_port)
$CG --db "clickhouse://127.0.0.1:$dead/cg" closure --all --json >/dev/null 2>"$T/e"
expect_eq wrong-port-status $? 1
has wrong-port-says "$T/e" "ClickHouse at 127.0.0.1:$dead, database 'cg'"
has wrong-port-hint "$T/e" "is clickhouse-server's HTTP interface there? check --db"
$CG --db "clickhouse://no-such-host.invalid:$CH_HTTP_one/cg" crawl "$CACHE" >/dev/null 2>"$T/e"
expect_eq wrong-host-status $? 1
has wrong-host-says "$T/e" "ClickHouse at no-such-host.invalid:$CH_HTTP_one"
$CG --db "clickhouse://127.0.0.1:$CH_HTTP_one/nosuch" crawl "$CACHE" >/dev/null 2>"$T/e"
expect_eq wrong-db-status $? 1
has wrong-db-says "$T/e" "there is no database 'nosuch' (CREATE DATABASE nosuch first, or check --db)"
expect_eq wrong-db-created-nothing "$(ch_query one "SELECT count() FROM system.databases WHERE name = 'nosuch'")" 0
$CG --db "clickhouse://127.0.0.1:$CH_HTTP_one/a-b" closure --all >/dev/null 2>"$T/e"
expect_eq bad-name-status $? 1
has bad-name-says "$T/e" "is not a ClickHouse name"
$CG --db "clickhouse://127.0.0.1:http/cg" closure --all >/dev/null 2>"$T/e"
has bad-port-says "$T/e" "the port 'http' is not a number"
$CG --db "clickhouse://127.0.0.1:$CH_HTTP_one" closure --all >/dev/null 2>"$T/e"
has no-db-says "$T/e" "give clickhouse://HOST:PORT/DATABASE"
ch_query one "CREATE DATABASE empty" >/dev/null
$CG --db "clickhouse://127.0.0.1:$CH_HTTP_one/empty" closure --all >/dev/null 2>"$T/e"
expect_eq empty-db-status $? 1
has empty-db-says "$T/e" "the database holds no cachegc store (tables caches, crawls, narinfos, presence): crawl into it first"
expect_eq empty-db-read-creates-nothing "$(ch_query one "SELECT count() FROM system.tables WHERE database = 'empty'")" 0
$CG --db "$U1" coverage --json >/dev/null 2>"$T/e"
expect_eq not-yet-status $? 1
has not-yet-says "$T/e" "'cachegc coverage' does not work on a ClickHouse store yet"
# ClickHouse's own error, shown: a table that is not this schema's
ch_query one "CREATE DATABASE odd" >/dev/null
ch_query one "CREATE TABLE odd.narinfos (x UInt8) ENGINE = Memory" >/dev/null
$CG --db "clickhouse://127.0.0.1:$CH_HTTP_one/odd" crawl "$CACHE" >/dev/null 2>"$T/e"
expect_eq foreign-table-status $? 1
has foreign-table-says "$T/e" "ClickHouse at 127.0.0.1:$CH_HTTP_one, database 'odd'"
has foreign-table-clickhouse-message "$T/e" "DB::Exception"
expect_eq foreign-table-no-complete-crawl "$(complete_crawls one odd)" 0

# --- kill -9 while it ships: no complete crawl; the re-run completes it -------------
$CG gen "$T/k" --paths 20000 --seed 11 >/dev/null 2>&1 || fail gen-kill
n_k=$(ls "$T/k/cache" | grep -c '\.narinfo$')
ch_query one "CREATE DATABASE kk" >/dev/null
UK=clickhouse://127.0.0.1:$CH_HTTP_one/kk
$CG --db "$T/k.db" --now 2024-06-01 crawl "$T/k/cache" >/dev/null 2>&1
$CG --db "$T/k.db" closure --all --json >"$T/k.closure"
some_narinfos() { [ "$(ch_query one 'SELECT count() FROM kk.narinfos' 2>/dev/null)" -ge 1 ] 2>/dev/null; }
CACHEGC_CH_BATCH_ROWS=100 $CG --db "$UK" --now 2024-06-01 crawl "$T/k/cache" >/dev/null 2>&1 &
pid=$!
wait_until 600 0.05 some_narinfos
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
# an INSERT whose rows were all sent may still finish after the kill
no_inserts() { [ "$(ch_query one "SELECT count() FROM system.processes WHERE query LIKE 'INSERT INTO kk.%'")" = 0 ]; }
wait_until 100 0.1 no_inserts || fail inserts-end "an INSERT of the killed crawl still runs"
partial=$(ch_query one 'SELECT count() FROM kk.narinfos')
echo "killed with $partial of $n_k narinfos shipped"
if [ "$partial" -ge 1 ] && [ "$partial" -lt "$n_k" ]; then pass killed-mid-ship; else
	fail killed-mid-ship "$partial of $n_k narinfos shipped: the kill did not land while it shipped"; fi
expect_eq killed-no-complete-crawl "$(complete_crawls one kk)" 0
ls -d "$TMPDIR/cachegc-clickhouse.$pid."* >/dev/null 2>&1 && pass killed-left-scratch ||
	fail killed-left-scratch "no scratch directory of the killed run in $TMPDIR"
expect_eq killed-crawl-running "$(ch_query one "SELECT groupUniqArray(status) FROM kk.crawls")" "['running']"
$CG --db "$UK" closure --all --json >"$T/kc.closure" 2>"$T/kc.err"
expect_eq killed-nothing-present "$(jq '[.[] | select(.present)] | length' "$T/kc.closure")" 0
$CG --db "$UK" --now 2024-06-01 crawl --json "$T/k/cache" >"$T/k2.json" 2>"$T/k2.err"
expect_eq rerun-status $? 0
expect_eq rerun-ships-only-the-rest "$(jq .new "$T/k2.json")" "$((n_k - partial))"
expect_eq rerun-complete "$(complete_crawls one kk)" 1
expect_eq rerun-narinfos-once "$(ch_query one 'SELECT count(), uniqExact(hash) FROM kk.narinfos')" "$n_k	$n_k"
$CG --db "$UK" closure --all --json >"$T/kc.closure" 2>"$T/kc.err"
check rerun-same-closure cmp "$T/k.closure" "$T/kc.closure"
ls -d "$TMPDIR/cachegc-clickhouse."* >/dev/null 2>&1 &&
	fail scratch-removed "$(ls -d "$TMPDIR/cachegc-clickhouse."*)" || pass scratch-removed

# --- two shards behind Distributed tables ---------------------------------------------
ch_two_shards cg
U2=clickhouse://127.0.0.1:$CH_HTTP_s1/cg
$CG --db "$U2" --now 2024-06-01 crawl --json "$CACHE" >"$T/d1.json" 2>"$T/d1.err"
expect_eq shards-crawl-status $? 0
expect_eq shards-crawl-new "$(jq .new "$T/d1.json")" "$n_narinfo"
n1=$(ch_query s1 'SELECT count() FROM cg_local.narinfos')
n2=$(ch_query s2 'SELECT count() FROM cg_local.narinfos')
expect_eq shards-hold-all "$((n1 + n2))" "$n_narinfo"
[ "$n1" -gt 0 ] && [ "$n2" -gt 0 ] && pass shards-both-hold-rows || fail shards-both-hold-rows "$n1 + $n2"
same shards "$U2"
# the README's stored bytes, computed by ClickHouse over both shards
stored="SELECT count(), sum(ifNull(n.file_size, n.nar_size))
FROM (SELECT cache, hash FROM cg.presence
      WHERE gone_at IS NULL OR crawl_id GLOBAL IN
        (SELECT crawl_id FROM cg.crawls WHERE status = 'complete')
      GROUP BY cache, hash, first_seen
      HAVING argMax(ifNull(gone_at, -1), (isNotNull(gone_at), last_seen)) = -1) p
GLOBAL ANY INNER JOIN (SELECT cache, hash, any(file_size) AS file_size,
                any(nar_size) AS nar_size FROM cg.narinfos GROUP BY cache, hash) n
USING (cache, hash) GROUP BY p.cache"
expect_eq shards-stored-bytes "$(ch_query s1 "$stored")" "$(sqlite3 -separator '	' "$T/s.db" \
	"SELECT count(*), sum(coalesce(n.file_size, n.nar_size)) FROM presence e
	 JOIN narinfos n USING (cache_id, path_id) WHERE e.gone_at IS NULL")"

# --- a path deleted: gone after the next complete crawl, in both ------------------------
victim=$(ls "$CACHE" | grep '\.narinfo$' | head -1)
rm "$CACHE/$victim"
$CG --db "$T/s.db" --now 2024-06-03 crawl --json "$CACHE" >"$T/sg.json" 2>&1
$CG --db "$U2" --now 2024-06-03 crawl --json "$CACHE" >"$T/dg.json" 2>&1
expect_eq gone-counts "$(jq -c '[.new, .present, .gone]' "$T/dg.json")" "$(jq -c '[.new, .present, .gone]' "$T/sg.json")"
expect_eq gone-counted "$(jq .gone "$T/dg.json")" 1
$CG --db "$T/s.db" closure --all --json >"$T/s.closure" 2>"$T/s.err"
facts "$T/s.db" >"$T/s.narinfos"
same gone "$U2"
# the presence history: the gone episode too, with its push time
episodes() { $CG --db "$1" export --format jsonl presence | jq -c 'del(.id, .last_crawl_id, .gone_crawl_id)' | sort; }
episodes "$T/s.db" >"$T/s.presence"
episodes "$U2" >"$T/d.presence"
[ -s "$T/s.presence" ] && cmp -s "$T/s.presence" "$T/d.presence" && pass gone-same-presence ||
	fail gone-same-presence "$(diff "$T/s.presence" "$T/d.presence" | head -c 1500)"
expect_eq gone-episode "$(jq -r 'select(.gone_at != null) | .store_path' "$T/d.presence" | cut -c12-43)" "${victim%.narinfo}"

# --- a cache made by real Nix (nix copy --to file://), on both shards ---------------------
. "$ROOT/tests/lib/nix.sh"
nix_setup
mkdir "$T/world" "$T/nixcache"
nix_build_world "$T/world"
nix_keys ch-test-1
# shellcheck disable=SC2046
nix_push "$T/nixcache" "$T/ch-test-1.secret" $(cut -d' ' -f2 "$T/world/paths")
NIXCACHE=$(cd "$T/nixcache" && pwd -P)
$CG --db "$T/n.db" --now 2024-06-01 crawl "$NIXCACHE" >"$T/n.out" 2>&1 || fail nix-sqlite-crawl "$(cat "$T/n.out")"
$CG --db "$U2" --now 2024-06-01 crawl --json "$NIXCACHE" >"$T/nd.json" 2>"$T/nd.err"
expect_eq nix-shards-crawl-new "$(jq .new "$T/nd.json")" "$(ls "$NIXCACHE" | grep -c '\.narinfo$')"
# the closures of one cache: --cache picks it in a store of two
$CG --db "$T/n.db" closure --all --json >"$T/n.closure"
$CG --db "$U2" closure --cache "file://$NIXCACHE" --all --json >"$T/nd.closure" 2>"$T/nd.err"
[ -s "$T/n.closure" ] && cmp -s "$T/n.closure" "$T/nd.closure" && pass nix-same-closure ||
	fail nix-same-closure "$(diff "$T/n.closure" "$T/nd.closure" | head -c 1500) $(cat "$T/nd.err")"
has nix-closure-self-reference "$T/nd.closure" "$(nix_world_path self)"
nix_forget_world

finish
