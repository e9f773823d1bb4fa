#!/bin/sh
# A directory crawl reserves the path ids of the narinfos it is about to
# record (so its rows are appended in order).  Another process writing the
# same DB between the crawl's transactions takes ids the crawl had reserved;
# the crawl must notice and record every narinfo under its own path, and
# the other process's rows must keep theirs.
. "$(dirname "$0")/../lib/lib.sh"
need sqlite3

$CG gen "$T/w" --paths 30000 --seed 7 >/dev/null || { fail gen; exit 1; }
files=$(ls "$T/w/cache" | grep -c '\.narinfo$')

# Everything a narinfo says, keyed by store path hash, references as hashes;
# facts DB [CACHE-DIR] for one cache's narinfos only.
facts() {
	sqlite3 "$1" "SELECT p.hash || '-' || p.name || ' ' || n.nar_size || ' ' ||
	                     coalesce(n.file_size, '') || ' ' || n.url || ' ' ||
	                     coalesce((SELECT group_concat(h, ',') FROM
	                               (SELECT q.hash || '-' || q.name AS h FROM json_each(n.refs) r
	                                JOIN paths q ON q.id = r.value ORDER BY h)), '') || ' ' ||
	                     (SELECT count(*) FROM presence s WHERE s.path_id = n.path_id
	                      AND s.cache_id = n.cache_id AND s.gone_at IS NULL)
	              FROM narinfos n JOIN paths p ON p.id = n.path_id
	              WHERE n.cache_id IN (SELECT id FROM caches WHERE url LIKE '%${2:-}')
	              ORDER BY p.hash"
}

$CG --db "$T/ref.db" --now 2024-06-01 crawl "$T/w/cache" >/dev/null 2>&1
expect_eq "reference-crawl" "$(sqlite3 "$T/ref.db" 'SELECT count(*) FROM narinfos')" "$files"
facts "$T/ref.db" >"$T/ref.facts"

# Create the DB, then let an inserter add paths while the crawl runs with
# small transactions.  Like another crawl writing its own reservations, the
# inserter takes the lowest id above the crawl's first narinfo that has no
# row yet: an id this crawl has reserved and not yet written.
$CG --db "$T/c.db" keys add "$(cat "$T/w/keys/"*.public)" >/dev/null 2>&1
[ -f "$T/c.db" ] || { fail "create-db"; exit 1; }
rm -f "$T/stop"
(
	n=0
	while ! [ -f "$T/stop" ] && [ $n -lt 100000 ]; do
		h=$(printf 'zz%030d' $n)
		printf '.timeout 20000\nINSERT INTO paths (id, hash, name) VALUES (%s, %s, %s);\n' \
			"(SELECT min(p.id) + 1 FROM paths p
			  WHERE p.id >= (SELECT coalesce(min(path_id), 0) FROM narinfos)
			  AND NOT EXISTS (SELECT 1 FROM paths q WHERE q.id = p.id + 1))" \
			"'$h'" "'foreign-$n'" | sqlite3 "$T/c.db" >/dev/null 2>&1
		n=$((n + 1))
	done
) &
ins=$!
sleep 0.2
CACHEGC_BATCH_WRITES=300 CACHEGC_BATCH_PAUSE_MS=30 $CG --db "$T/c.db" --now 2024-06-01 crawl "$T/w/cache" >"$T/out" 2>&1
rc=$?
touch "$T/stop"
wait $ins
expect_eq "crawl-exit-0" "$rc" 0
expect_eq "db-integrity" "$(sqlite3 "$T/c.db" 'PRAGMA integrity_check')" ok

# Did the inserter land inside the crawl (some foreign id above the lowest
# crawled narinfo's id and below the highest)?  Otherwise the test proved
# nothing about the reservations.
inside=$(sqlite3 "$T/c.db" "SELECT count(*) FROM paths f WHERE f.name LIKE 'foreign-%'
	AND f.id > (SELECT min(path_id) FROM narinfos) AND f.id < (SELECT max(path_id) FROM narinfos)")
if [ "${inside:-0}" -gt 0 ]; then
	pass "inserter-interleaved"
else
	fail "inserter-interleaved" "no foreign path landed between the crawl's writes"
fi
facts "$T/c.db" >"$T/c.facts"
if cmp -s "$T/ref.facts" "$T/c.facts"; then
	pass "narinfos-equal-clean-crawl"
else
	fail "narinfos-equal-clean-crawl" "$(diff "$T/ref.facts" "$T/c.facts" | head -5)"
fi
# Every foreign row still has the hash and name it was inserted with.
bad=$(sqlite3 "$T/c.db" "SELECT count(*) FROM paths WHERE name LIKE 'foreign-%'
	AND hash <> printf('zz%030d', CAST(substr(name, 9) AS INTEGER))")
expect_eq "foreign-rows-intact" "$bad" 0
expect_eq "no-foreign-narinfo" "$(sqlite3 "$T/c.db" "SELECT count(*) FROM narinfos n
	JOIN paths p ON p.id = n.path_id WHERE p.name LIKE 'foreign-%'")" 0
# A re-crawl finds every narinfo already recorded.
$CG --db "$T/c.db" --now 2024-06-02 crawl --json "$T/w/cache" >"$T/re.json" 2>/dev/null
expect_eq "recrawl-nothing-new" "$(sed -n 's/.*"new": *\([0-9]*\).*/\1/p' "$T/re.json")" 0

# Two crawls at once of caches that share paths (each also references paths
# only the other holds): each reserves ids the other may write first.
$CG gen "$T/v" --paths 20000 --seed 8 >/dev/null || { fail gen2; exit 1; }
mkdir "$T/b"
cp -p "$T/v/cache/"*.narinfo "$T/b/"
ls "$T/w/cache" | grep '\.narinfo$' | awk 'NR % 2 == 0' | while read -r f; do
	cp -p "$T/w/cache/$f" "$T/b/$f"
done
cp -p "$T/w/cache/nix-cache-info" "$T/b/" 2>/dev/null
$CG --db "$T/refb.db" --now 2024-06-01 crawl "$T/b" >/dev/null 2>&1
facts "$T/refb.db" >"$T/refb.facts"
$CG --db "$T/two.db" keys add "$(cat "$T/w/keys/"*.public)" >/dev/null 2>&1
CACHEGC_BATCH_WRITES=300 CACHEGC_BATCH_PAUSE_MS=20 \
	$CG --db "$T/two.db" --now 2024-06-01 crawl "$T/w/cache" >"$T/outa" 2>&1 &
pa=$!
CACHEGC_BATCH_WRITES=300 CACHEGC_BATCH_PAUSE_MS=20 \
	$CG --db "$T/two.db" --now 2024-06-01 crawl "$T/b" >"$T/outb" 2>&1
rb=$?
wait $pa
ra=$?
expect_eq "two-crawls-exit-0" "$ra $rb" "0 0"
[ "$ra $rb" = "0 0" ] || cat "$T/outa" "$T/outb"
expect_eq "two-crawls-integrity" "$(sqlite3 "$T/two.db" 'PRAGMA integrity_check')" ok
facts "$T/two.db" "/w/cache" >"$T/twoa.facts"
facts "$T/two.db" "/b" >"$T/twob.facts"
check "two-crawls-cache-a-equals-alone" cmp "$T/ref.facts" "$T/twoa.facts"
check "two-crawls-cache-b-equals-alone" cmp "$T/refb.facts" "$T/twob.facts"
expect_eq "two-crawls-one-row-per-path" \
	"$(sqlite3 "$T/two.db" 'SELECT count(*) = count(DISTINCT hash) FROM paths')" 1
finish
