#!/bin/sh
# import-eval into an empty eval_jobs leaves its two secondary indexes
# (eval_jobs_by_path, eval_jobs_by_drv) out while it writes and builds them
# at its end (store/bulkindex.h): they are missing while a first import
# runs and there after it, exactly as a fresh database defines them; an
# import into jobs already there keeps them all along; a first import
# killed with -9 leaves them missing and the next writing command builds
# them; the rows are those of an import that never left them out.
. "$(dirname "$0")/../lib/lib.sh"
need sqlite3

$CG gen "$T/w" --paths 3000 --seed 7 --days 40 --daily --no-gc >/dev/null || { fail gen; exit 1; }
M="$T/w/evals/manifest.tsv"
total=$(grep -c . "$M")
half=$((total / 2))
# (a manifest names its files relative to itself)
head -n "$half" "$M" >"$T/w/evals/first.tsv"
tail -n +"$((half + 1))" "$M" >"$T/w/evals/second.tsv"
KEY=$(cat "$T/w/keys/"*.public)

indexes() {
	sqlite3 "$1" "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master
	              WHERE type = 'index' AND tbl_name = 'eval_jobs' AND sql IS NOT NULL ORDER BY name)"
}
schema() { sqlite3 "$1" "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"; }
dump() {
	sqlite3 "$1" "SELECT * FROM evaluations ORDER BY id;
	              SELECT * FROM eval_jobs ORDER BY evaluation_id, attr, output;
	              SELECT * FROM paths ORDER BY id;"
}
both="eval_jobs_by_drv eval_jobs_by_path"

# A fresh database's schema, from a writing command that imports nothing.
$CG --db "$T/fresh.db" keys add "$KEY" >/dev/null 2>&1
expect_eq "fresh-has-both" "$(indexes "$T/fresh.db")" "$both"

# The reference: the same rows written with both indexes in place all
# along (a job row of an evaluation 0 inserted first, so the import does
# not leave them out and numbers its evaluations from 1), then that row
# deleted.
$CG --db "$T/ref.db" keys add "$KEY" >/dev/null 2>&1
sqlite3 "$T/ref.db" "INSERT INTO evaluations (id, branch, rev, capabilities, system, time, source, imported_at)
                     VALUES (0, 'x', 'x', '', 'x', 0, 'x', 0);
                     INSERT INTO eval_jobs (evaluation_id, attr, output, line) VALUES (0, 'x', 'out', 1);"
$CG --db "$T/ref.db" --now 2025-01-01 import-eval --manifest "$M" >/dev/null 2>&1
expect_eq "ref-exit-0" "$?" 0
sqlite3 "$T/ref.db" "DELETE FROM eval_jobs WHERE evaluation_id = 0; DELETE FROM evaluations WHERE id = 0"
dump "$T/ref.db" >"$T/ref.dump"

# A first import, stopped once it has committed something: no indexes on
# eval_jobs then; let go, it ends with both, as a fresh database has them.
$CG --db "$T/a.db" keys add "$KEY" >/dev/null 2>&1
CACHEGC_IMPORT_BATCH_MS=0 $CG --db "$T/a.db" --now 2025-01-01 import-eval --manifest "$M" \
	>"$T/a.out" 2>"$T/a.err" &
pid=$!
wait_until 3000 0.01 sh -c "[ \$(sqlite3 '$T/a.db' 'SELECT count(*) FROM evaluations' 2>/dev/null || echo 0) -gt 0 ]"
kill -STOP $pid 2>/dev/null
n=$(sqlite3 "$T/a.db" 'SELECT count(*) FROM evaluations')
if [ "$n" -lt "$total" ]; then
	expect_eq "first-import-runs-without" "$(indexes "$T/a.db")" ""
else
	fail "first-import-runs-without" "the import ended before it could be stopped"
fi
kill -CONT $pid 2>/dev/null
wait $pid
expect_eq "first-import-exit-0" "$?" 0
expect_eq "first-import-ends-with-both" "$(indexes "$T/a.db")" "$both"
check "first-import-schema-is-fresh" test "$(schema "$T/a.db")" = "$(schema "$T/fresh.db")"
dump "$T/a.db" >"$T/a.dump"
check "first-import-rows-are-the-reference" cmp -s "$T/ref.dump" "$T/a.dump"
sqlite3 "$T/a.db" "EXPLAIN QUERY PLAN SELECT evaluation_id FROM eval_jobs WHERE path_id = 5" >"$T/plan"
has "query-uses-path-index" "$T/plan" "eval_jobs_by_path"

# A second import, into the jobs of the first half: the indexes stay.
$CG --db "$T/b.db" --now 2025-01-01 import-eval --manifest "$T/w/evals/first.tsv" >/dev/null 2>&1
expect_eq "half-has-both" "$(indexes "$T/b.db")" "$both"
CACHEGC_IMPORT_BATCH_MS=0 $CG --db "$T/b.db" --now 2025-01-01 import-eval --manifest "$T/w/evals/second.tsv" \
	>"$T/b.out" 2>"$T/b.err" &
pid=$!
wait_until 3000 0.01 sh -c "[ \$(sqlite3 '$T/b.db' 'SELECT count(*) FROM evaluations' 2>/dev/null || echo 0) -gt $half ]"
kill -STOP $pid 2>/dev/null
expect_eq "later-import-keeps-both" "$(indexes "$T/b.db")" "$both"
kill -CONT $pid 2>/dev/null
wait $pid
expect_eq "later-import-exit-0" "$?" 0
dump "$T/b.db" >"$T/b.dump"
check "two-imports-rows-are-the-reference" cmp -s "$T/ref.dump" "$T/b.dump"

# A first import killed with -9 mid-way: the indexes are missing; a
# writing command that imports nothing builds them; the resumed import
# ends with the reference rows.
$CG --db "$T/k.db" keys add "$KEY" >/dev/null 2>&1
CACHEGC_IMPORT_BATCH_MS=0 $CG --db "$T/k.db" --now 2025-01-01 import-eval --manifest "$M" \
	>"$T/k.out" 2>"$T/k.err" &
pid=$!
wait_until 3000 0.01 sh -c "[ \$(sqlite3 '$T/k.db' 'SELECT count(*) FROM evaluations' 2>/dev/null || echo 0) -gt 0 ]"
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
n=$(sqlite3 "$T/k.db" 'SELECT count(*) FROM evaluations')
if [ "$n" -lt "$total" ]; then
	expect_eq "killed-leaves-none" "$(indexes "$T/k.db")" ""
	# A reader does not build them (it cannot write)...
	$CG --db "$T/k.db" closure --all >/dev/null 2>&1
	expect_eq "reader-leaves-none" "$(indexes "$T/k.db")" ""
	# ...a writer does.
	$CG --db "$T/k.db" keys add "$KEY" >/dev/null 2>"$T/k2.err"
	expect_eq "writer-builds-both" "$(indexes "$T/k.db")" "$both"
else
	fail "killed-leaves-none" "the import ended before it could be killed"
fi
$CG --db "$T/k.db" --now 2025-01-01 import-eval --manifest "$M" >/dev/null 2>&1
expect_eq "resume-exit-0" "$?" 0
check "killed-schema-is-fresh" test "$(schema "$T/k.db")" = "$(schema "$T/fresh.db")"
dump "$T/k.db" >"$T/k.dump"
check "killed-resumed-rows-are-the-reference" cmp -s "$T/ref.dump" "$T/k.dump"
finish
