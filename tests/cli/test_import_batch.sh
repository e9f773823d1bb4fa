#!/bin/sh
# import-eval --manifest imports its evaluations in batches of one
# transaction, each evaluation a savepoint: one that fails inside a batch
# leaves nothing (not even the paths it interned), the others of the batch
# stay, and a later one naming the failed one's paths records them exactly
# as an import without the failure would.
. "$(dirname "$0")/../lib/lib.sh"
need sqlite3 jq
S=/nix/store
h() { printf '%032d' "$1" | tr '0-9' 'abcdfghijk'; }   # a nix32-valid 32-char hash
job() {   # ATTR N SYSTEM: one job line with .drv hash N and output hash N+1
	printf '{"attr":"%s","attrPath":["%s"],"drvPath":"%s/%s-%s.drv","name":"%s","outputs":{"out":"%s/%s-%s"},"system":"%s"}\n' \
		"$1" "$1" "$S" "$(h "$2")" "$1" "$1" "$S" "$(h $(($2 + 1)))" "$1" "$3"
}
dump() {
	sqlite3 "$1" "SELECT id, branch, rev, capabilities, system, time, bad_lines FROM evaluations ORDER BY id;
	              SELECT * FROM eval_jobs ORDER BY evaluation_id, attr, output;
	              SELECT * FROM paths ORDER BY id;"
}
mkdir -p "$T/m"
{ job hello 100 x86_64-linux; job zlib 200 x86_64-linux; } >"$T/m/a.jsonl"
# Two systems and no SYSTEM field: fails after interning four new paths.
{ job curl 300 x86_64-linux; job openssl 400 aarch64-linux; job hello 100 x86_64-linux; } >"$T/m/bad.jsonl"
# Names the failed one's paths (and a's).
{ job curl 300 x86_64-linux; job openssl 400 x86_64-linux; job hello 100 x86_64-linux; } >"$T/m/c.jsonl"
printf 'a.jsonl\tmaster\tr1\t8.6\t\t2024-05-01\nbad.jsonl\tmaster\tr2\t8.6\t\t2024-05-02\nc.jsonl\tmaster\tr3\t8.6\t\t2024-05-03\n' >"$T/m/m.tsv"
printf 'a.jsonl\tmaster\tr1\t8.6\t\t2024-05-01\nc.jsonl\tmaster\tr3\t8.6\t\t2024-05-03\n' >"$T/m/good.tsv"

# One batch (the default: a second), and one evaluation a batch.
for ms in "" 0; do
	rm -f "$T/b.db"*
	CACHEGC_IMPORT_BATCH_MS=$ms $CG --db "$T/b.db" --now 2024-06-01 import-eval --json \
		--manifest "$T/m/m.tsv" >"$T/out" 2>"$T/err"
	expect_eq "batch${ms}-exit-1" "$?" 1
	expect_eq "batch${ms}-statuses" "$(jq -c '[.evaluations[].status]' "$T/out")" \
		'["imported","failed","imported"]'
	expect_eq "batch${ms}-ids" "$(jq -c '[.evaluations[].evaluationId]' "$T/out")" '[1,null,2]'
	check "batch${ms}-says-why" grep -q "its jobs are for 2 systems" "$T/err"
	rm -f "$T/g.db"*
	$CG --db "$T/g.db" --now 2024-06-01 import-eval --manifest "$T/m/good.tsv" >/dev/null 2>&1
	expect_eq "batch${ms}-same-rows-as-without-the-failure" "$(dump "$T/b.db")" "$(dump "$T/g.db")"
	expect_eq "batch${ms}-paths" "$(sqlite3 "$T/b.db" 'SELECT count(*) FROM paths')" 8
done

# The failed one again, with its system: the batch resumes from the DB,
# skipping the two already there.
printf 'a.jsonl\tmaster\tr1\t8.6\t\t2024-05-01\nbad.jsonl\tmaster\tr2\t8.6\tx86_64-linux\t2024-05-02\nc.jsonl\tmaster\tr3\t8.6\t\t2024-05-03\n' >"$T/m/fixed.tsv"
$CG --db "$T/b.db" --now 2024-06-01 import-eval --manifest "$T/m/fixed.tsv" >"$T/out" 2>"$T/err"
expect_eq "fixed-exit-0" "$?" 0
check "fixed-summary" grep -q "^3 evaluations: 1 imported, 2 already imported, 0 failed$" "$T/out"
check "fixed-new-id" grep -q "bad.jsonl': imported evaluation 3 " "$T/out"
expect_eq "fixed-jobs" "$(sqlite3 "$T/b.db" 'SELECT count(*) FROM eval_jobs WHERE evaluation_id = 3')" 3
finish
