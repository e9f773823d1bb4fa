#!/bin/sh
# Bad input for `crawl`: every bad narinfo is named, skipped and counted, the
# crawl goes on; bad sources and bad databases fail clearly and lose nothing.
. "$(dirname "$0")/../lib/lib.sh"
need sqlite3 jq

C=$T/cache
mkdir -p "$C"
printf 'StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 30\n' >"$C/nix-cache-info"

# narinfo HASH NAME [REFS] - a valid narinfo for /nix/store/HASH-NAME
narinfo() {
	printf 'StorePath: /nix/store/%s-%s\nURL: nar/%s.nar.xz\nCompression: xz\nFileHash: sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s\nFileSize: 100\nNarHash: sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s\nNarSize: 1000\nReferences: %s\n' \
		"$1" "$2" "$1" "${3:-}"
}
H1=00000000000000000000000000000001
H2=00000000000000000000000000000002
H3=00000000000000000000000000000003
narinfo $H1 good-one >"$C/$H1.narinfo"
narinfo $H2 good-two "$H1-good-one" >"$C/$H2.narinfo"
narinfo $H3 good-three "$H2-good-two $H3-good-three" >"$C/$H3.narinfo"

B=0000000000000000000000000000000
narinfo ${B}a no-narsize | grep -v NarSize >"$C/${B}a.narinfo"
narinfo ${B}b bad-utf8 | sed 's/^URL: .*/URL: nar\/\xff\xfe.nar/' >"$C/${B}b.narinfo"
{ narinfo ${B}c huge; head -c 105000000 /dev/zero | tr '\0' 'x'; echo; } >"$C/${B}c.narinfo"
narinfo ${B}f mismatched | sed "s|/nix/store/${B}f|/nix/store/${B}g|" >"$C/${B}f.narinfo"
# Nix refuses References after References that named paths
{ narinfo ${B}h refs-again "$H1-good-one"; echo 'References: '; } >"$C/${B}h.narinfo"
# and accepts a key given twice (the last value counts): recorded, with a warning
{ narinfo ${B}n dupkey; echo 'NarSize: 2000'; } >"$C/${B}n.narinfo"
narinfo ${B}i truncated | head -c 60 >"$C/${B}i.narinfo"
ln -s /etc/passwd "$C/${B}j.narinfo"
ln -s "$C/nonexistent" "$C/${B}k.narinfo"
mkfifo "$C/${B}l.narinfo"
narinfo ${B}m outside | sed 's|/nix/store/|/tmp/store/|' >"$C/${B}m.narinfo"
echo "garbage" >"$C/not-a-hash.narinfo"

$CG --db "$T/db" --now 2024-01-01 crawl --json "$C" >"$T/out.json" 2>"$T/err"
rc=$?
expect_eq "crawl-with-bad-narinfos-exits-0" "$rc" 0
expect_eq "four-good-recorded" "$(jq .new "$T/out.json")" 4
expect_eq "bad-ones-counted" "$(jq .rejected "$T/out.json")" 10
for pat in "${B}a.narinfo" "${B}b.narinfo" "${B}c.narinfo: larger than" "${B}f.narinfo" \
	"${B}h.narinfo:9: References again" "${B}n.narinfo:9: accepted as Nix accepts it, but odd: a key" \
	"${B}i.narinfo" "${B}j.narinfo: is a symbolic link" "${B}k.narinfo" "${B}l.narinfo" "${B}m.narinfo"; do
	if grep -qF -- "$pat" "$T/err"; then pass "error-names-$pat"; else fail "error-names-$pat" "$(cat "$T/err")"; fi
done
if grep -q 'root:' "$T/err" || sqlite3 "$T/db" "SELECT message FROM crawl_rejects" | grep -q 'root:'; then
	fail "symlink-content-not-leaked"
else
	pass "symlink-content-not-leaked"
fi
expect_eq "rejects-kept-in-db" "$(sqlite3 "$T/db" 'SELECT count(*) FROM crawl_rejects')" 10
expect_eq "line-number-recorded" \
	"$(sqlite3 "$T/db" "SELECT line FROM crawl_rejects WHERE source = '${B}h.narinfo'")" 9
expect_eq "dup-key-last-wins" \
	"$(sqlite3 "$T/db" "SELECT nar_size FROM narinfos JOIN paths ON paths.id = path_id WHERE name = 'dupkey'")" 2000
expect_eq "nix-cache-info-recorded" "$(sqlite3 "$T/db" 'SELECT priority, want_mass_query FROM caches')" "30|1"
expect_eq "refs-recorded" "$(sqlite3 "$T/db" 'SELECT count(*) FROM refs')" 3

# A missing directory: exit 1, names it, DB unchanged.
before=$(sqlite3 "$T/db" 'SELECT count(*) FROM crawls')
$CG --db "$T/db" crawl "$T/nope" 2>"$T/err"
expect_eq "missing-dir-exit-1" "$?" 1
check "missing-dir-named" grep -q "cannot open cache directory '$T/nope'" "$T/err"
expect_eq "missing-dir-no-crawl-row" "$(sqlite3 "$T/db" 'SELECT count(*) FROM crawls')" "$before"

# Another StoreDir is refused.
mkdir -p "$T/other"
printf 'StoreDir: /gnu/store\n' >"$T/other/nix-cache-info"
$CG --db "$T/db" crawl "$T/other" 2>"$T/err"
expect_eq "other-storedir-exit-1" "$?" 1
check "other-storedir-named" grep -q "StoreDir /gnu/store" "$T/err"

# Usage errors exit 2 and say how to get help.
$CG --db "$T/db" crawl 2>"$T/err"
expect_eq "no-source-exit-2" "$?" 2
check "no-source-hint" grep -q "cachegc crawl --help" "$T/err"
$CG --db "$T/db" crawl --bogus "$C" 2>/dev/null
expect_eq "bad-option-exit-2" "$?" 2
check "help-exit-0" $CG crawl --help
$CG --db "$T/db" --now yesterday crawl "$C" 2>"$T/err"
expect_eq "bad-now-exit-2" "$?" 2

# A foreign SQLite file and a newer cachegc DB are refused untouched.
sqlite3 "$T/foreign.db" "CREATE TABLE mine (x); INSERT INTO mine VALUES (1);"
sum=$(cksum <"$T/foreign.db")
$CG --db "$T/foreign.db" crawl "$C" 2>"$T/err"
expect_eq "foreign-db-exit-1" "$?" 1
check "foreign-db-message" grep -q "not a cachegc one" "$T/err"
expect_eq "foreign-db-untouched" "$(cksum <"$T/foreign.db")" "$sum"
cp "$T/db" "$T/newer.db"
rm -f "$T/newer.db-wal" "$T/newer.db-shm"
sqlite3 "$T/newer.db" "PRAGMA user_version = 999"
$CG --db "$T/newer.db" crawl "$C" 2>"$T/err"
expect_eq "newer-db-exit-1" "$?" 1
check "newer-db-message" grep -q "newer than this cachegc knows" "$T/err"
echo "not sqlite at all, just some text long enough to be read as a header......" >"$T/text.db"
$CG --db "$T/text.db" crawl "$C" 2>"$T/err"
expect_eq "text-db-exit-1" "$?" 1
check "text-db-message" grep -q "not a cachegc database" "$T/err"

# A DB locked by another process: a clear error after the busy timeout,
# nothing lost.
paths_before=$(sqlite3 "$T/db" 'SELECT count(*) FROM narinfos')
(sqlite3 "$T/db" "BEGIN EXCLUSIVE; SELECT count(*) FROM paths; SELECT 1 FROM (WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 30000000) SELECT count(*) FROM r); COMMIT;" >/dev/null 2>&1 &)
sleep 0.3
CACHEGC_BUSY_TIMEOUT_MS=200 $CG --db "$T/db" crawl "$C" 2>"$T/err"
rc=$?
expect_eq "locked-db-exit-1" "$rc" 1
check "locked-db-message" grep -q "locked by another process" "$T/err"
sleep 0.1
wait
for i in 1 2 3 4 5 6 7 8 9 10; do
	sqlite3 "$T/db" 'SELECT 1' >/dev/null 2>&1 && break
	sleep 0.5
done
expect_eq "locked-db-nothing-lost" "$(sqlite3 "$T/db" 'SELECT count(*) FROM narinfos')" "$paths_before"

# The read-only commands refuse a missing DB without creating it.
$CG --db "$T/absent.db" closure --all 2>"$T/err"
expect_eq "absent-db-exit-1" "$?" 1
[ -e "$T/absent.db" ] && fail "absent-db-not-created" || pass "absent-db-not-created"
# A DB of two caches: commands that need one say which to choose (and
# do not crash freeing what they were not given).
mkdir -p "$T/two-a" "$T/two-b"
cp "$ROOT/tests/fixtures/cache-small/nix-cache-info" "$T/two-a/"
cp "$ROOT/tests/fixtures/cache-small/nix-cache-info" "$T/two-b/"
$CG --db "$T/two.db" crawl "$T/two-a" >/dev/null 2>&1
$CG --db "$T/two.db" crawl "$T/two-b" >/dev/null 2>&1
for c in "closure --all" "coverage" "verify" "simulate --policy attic" "plan evict --limit 1G" \
	"import-access /dev/null"; do
	# shellcheck disable=SC2086
	$CG --db "$T/two.db" $c >/dev/null 2>"$T/err"
	rc=$?
	name=two-caches-$(echo "$c" | cut -d' ' -f1)
	expect_eq "$name-exit-1" "$rc" 1
	check "$name-message" grep -q "holds several caches; choose one with --cache" "$T/err"
done
finish
