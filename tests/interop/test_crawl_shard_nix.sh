#!/bin/sh
# tests/interop/test_crawl_shard_nix.sh - sharded crawls of a cache real Nix
# pushed (nix copy --to file://): for N = 2 and 3 the shards record the rows
# one unsharded crawl records (narinfos, refs, signatures, presence, crawls,
# rejects), at a first crawl and at a second one after narinfos were deleted
# (gone, per shard); closure --all --json answers alike.  Then the same
# cache in an S3 bucket (s3rver behind the Signature V4 check, as in
# test_s3_crawl.sh): the sharded S3 crawls, two shards at once, give the
# unsharded S3 crawl's rows, also after two keys were deleted (gone).
. "$(dirname "$0")/../lib/lib.sh"
need jq sqlite3
. "$ROOT/tests/lib/nix.sh"
nix_setup

mkdir "$T/world" "$T/cache"
nix_build_world "$T/world"
at_exit nix_forget_world
nix_keys shard-test-1
# shellcheck disable=SC2046
nix_push "$T/cache" "$T/shard-test-1.secret" $(cut -d' ' -f2 "$T/world/paths")
CACHE=$(cd "$T/cache" && pwd -P)
expect_eq nix-pushed "$(ls "$CACHE"/*.narinfo | wc -l | tr -d ' ')" 9
# and a narinfo Nix refuses, under a store hash
printf 'StorePath: nonsense\n' >"$CACHE/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz0.narinfo"

facts() { $CACHEGC --db "$1" export --format jsonl "$2" | jq -c 'del(.id?)' | sort; }
rejects() { sqlite3 "$1" "SELECT crawl_id, source, line, message, hash, bytes FROM crawl_rejects ORDER BY 1, 2"; }
same_rows() { # NAME WANT.db GOT.db
	for t in narinfos refs signatures presence crawls; do
		facts "$2" $t >"$T/want.$t"
		facts "$3" $t >"$T/got.$t"
		if [ -s "$T/want.$t" ] && cmp -s "$T/want.$t" "$T/got.$t"; then pass "$1-same-$t"
		else fail "$1-same-$t" "$(diff "$T/want.$t" "$T/got.$t" | head -10)"; fi
	done
	expect_eq "$1-same-rejects" "$(rejects "$3")" "$(rejects "$2")"
}
# shards DB N DATE NAME SOURCE [OPTION...]: the N shards, one after the other
shards() {
	db=$1 n=$2 at=$3 name=$4 src=$5
	shift 5
	k=1
	while [ $k -le "$n" ]; do
		$CG --db "$db" --now "$at" crawl --shard $k/"$n" --crawl-id "$name" "$@" "$src" \
			>"$T/sh.out" 2>&1 || fail "shard-$k-of-$n-$name" "$(cat "$T/sh.out")"
		k=$((k + 1))
	done
}

# --- directory ---------------------------------------------------------------
$CG --db "$T/u.db" --now 2024-06-01 crawl "$CACHE" >/dev/null 2>&1
shards "$T/s2.db" 2 2024-06-01 first "$CACHE"
shards "$T/s3.db" 3 2024-06-01 first "$CACHE"
same_rows dir-n2-first "$T/u.db" "$T/s2.db"
same_rows dir-n3-first "$T/u.db" "$T/s3.db"
# two narinfos deleted: gone, each found by its own shard
rm "$CACHE/$(basename "$(nix_world_path a)" | cut -c1-32).narinfo"
rm "$CACHE/$(basename "$(nix_world_path big)" | cut -c1-32).narinfo"
$CG --db "$T/u.db" --now 2024-06-08 crawl "$CACHE" >/dev/null 2>&1
expect_eq dir-gone "$(sqlite3 "$T/u.db" 'SELECT count(*) FROM presence WHERE gone_at IS NOT NULL')" 2
shards "$T/s2.db" 2 2024-06-08 second "$CACHE"
shards "$T/s3.db" 3 2024-06-08 second "$CACHE"
same_rows dir-n2 "$T/u.db" "$T/s2.db"
same_rows dir-n3 "$T/u.db" "$T/s3.db"
for db in u s2 s3; do $CG --db "$T/$db.db" closure --all --json >"$T/closure.$db" 2>&1; done
check dir-closure-n2 cmp "$T/closure.u" "$T/closure.s2"
check dir-closure-n3 cmp "$T/closure.u" "$T/closure.s3"

# --- S3 ----------------------------------------------------------------------
if ! command -v s3rver >/dev/null 2>&1; then
	echo "SKIP s3 shards: s3rver is not installed (tools/deps.sh test installs it)"
	finish
	exit $?
fi
need python3 curl
. "$ROOT/tests/lib/s3rver.sh"
s3rver_start nixcache
(cd "$CACHE" && find . -type f | sed 's|^\./||') | while read -r f; do
	curl -sS -f $SIG -T "$CACHE/$f" "$EP/nixcache/cache/$f" -o /dev/null || echo "$f" >>"$T/put.failed"
done
[ -s "$T/put.failed" ] && fail upload "$(cat "$T/put.failed")" || pass upload
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION 2>/dev/null || :
export AWS_SHARED_CREDENTIALS_FILE=$T/no-such-credentials
S3=s3://nixcache/cache

$CG --db "$T/su.db" --now 2024-06-01 crawl --endpoint "$EP" "$S3" >"$T/su.out" 2>&1 ||
	fail s3-unsharded "$(cat "$T/su.out")"
shards "$T/ss3.db" 3 2024-06-01 first "$S3" --endpoint "$EP"
same_rows s3-n3 "$T/su.db" "$T/ss3.db"
: >"$T/proxy.log"
$CG --db "$T/ss2.db" --now 2024-06-01 crawl --shard 1/2 --crawl-id first --endpoint "$EP" "$S3" >"$T/a.out" 2>&1 &
p1=$!
$CG --db "$T/ss2.db" --now 2024-06-01 crawl --shard 2/2 --crawl-id first --endpoint "$EP" "$S3" >"$T/b.out" 2>&1
r2=$?
wait $p1
expect_eq s3-two-at-once "$? $r2" "0 0"
same_rows s3-n2-at-once "$T/su.db" "$T/ss2.db"
# each narinfo fetched once, by its own shard
expect_eq s3-narinfo-gets-once "$(grep -c 'GET /nixcache/cache/[a-z0-9]*\.narinfo' "$T/proxy.log")" 8
# two keys deleted: gone at the next crawl, each by its own shard
for p in c self; do
	curl -sS -f $SIG -X DELETE "$EP/nixcache/cache/$(basename "$(nix_world_path $p)" | cut -c1-32).narinfo" -o /dev/null ||
		fail "s3-delete-$p"
done
$CG --db "$T/su.db" --now 2024-06-08 crawl --endpoint "$EP" "$S3" >/dev/null 2>&1
expect_eq s3-gone "$(sqlite3 "$T/su.db" 'SELECT count(*) FROM presence WHERE gone_at IS NOT NULL')" 2
shards "$T/ss3.db" 3 2024-06-08 second "$S3" --endpoint "$EP"
same_rows s3-n3-second "$T/su.db" "$T/ss3.db"
finish
