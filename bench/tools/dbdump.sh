#!/bin/sh
# dbdump.sh DB - every row of every table of a cachegc DB, in a canonical
# order (each table sorted by all its columns), with the schema first, so
# two crawls of the same cache with the same --now can be compared with
# diff: bench/ingest.sh's "same rows" check between two builds.
set -eu
db=$1
sqlite3 "$db" "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
for t in $(sqlite3 "$db" "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"); do
	n=$(sqlite3 "$db" "SELECT count(*) FROM pragma_table_info('$t')")
	order=$(seq -s, 1 "$n")
	echo "== $t"
	sqlite3 -header "$db" "SELECT * FROM \"$t\" ORDER BY $order"
done
