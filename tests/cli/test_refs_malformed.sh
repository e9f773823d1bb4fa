#!/bin/sh
# A refs column that is not a JSON array of path ids (a damaged or edited
# DB) is an error naming the DB and the path, not a closure read from
# whatever digits it holds (closure here; trust and evict apply read it
# through the same decoder, store/refs.c).
. "$(dirname "$0")/../lib/lib.sh"
need sqlite3

db=$T/c.db
check crawl $CG --db "$db" crawl "$ROOT/tests/fixtures/cache-small"
$CG --db "$db" closure --all >"$T/good" 2>&1
expect_eq closure-before-exit-0 $? 0
id=$(sqlite3 "$db" "SELECT min(path_id) FROM narinfos")
for bad in '[1,x]' '1,2' '[4294967296]' ''; do
	sqlite3 "$db" "UPDATE narinfos SET refs = '$bad' WHERE path_id = $id"
	$CG --db "$db" closure --all >"$T/out" 2>"$T/err"
	expect_eq "closure-malformed-'$bad'-exit-1" $? 1
	check "closure-malformed-'$bad'-names-path" \
		grep -qF "database '$db': the references of path id $id are not a refs value ('$bad')" "$T/err"
	expect_eq "closure-malformed-'$bad'-prints-nothing" "$(wc -c <"$T/out")" 0
done
[ "$failures" = 0 ]
