#!/bin/sh
# What --db may name: only a missing or empty file becomes a new database;
# any other file that is not a cachegc database is refused untouched.
. "$(dirname "$0")/../lib/lib.sh"
need sqlite3

# Files shorter than SQLite's header (SQLite itself would take them for an
# empty database and write over them).
for content in x S '#' "SQLite format"; do
	printf '%s' "$content" >"$T/short.db"
	sum=$(cksum <"$T/short.db")
	for c in "keys list" "crawl $ROOT/tests/fixtures/cache-small" "closure --all"; do
		# shellcheck disable=SC2086
		$CG --db "$T/short.db" $c >/dev/null 2>"$T/err"
		rc=$?
		tn="short-${#content}-byte-db-${c%% *}"
		expect_eq "$tn-exit-1" "$rc" 1
		check "$tn-says-not-sqlite" grep -q "'$T/short.db' is not a cachegc database" "$T/err"
		expect_eq "$tn-untouched" "$(cksum <"$T/short.db")" "$sum"
	done
done
[ -e "$T/short.db-wal" ] && fail "short-db-no-wal" || pass "short-db-no-wal"

# A 0-byte file (touch, mktemp) becomes the database.
: >"$T/empty.db"
$CG --db "$T/empty.db" crawl "$ROOT/tests/fixtures/cache-small" >/dev/null 2>"$T/err"
expect_eq "empty-db-crawl-exit-0" "$?" 0
expect_eq "empty-db-became-cachegc-db" "$(sqlite3 "$T/empty.db" 'PRAGMA application_id')" 1128743729
