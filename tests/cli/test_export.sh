#!/bin/sh
# tests/cli/test_export.sh - `cachegc export` on a real database (gen,
# two crawls, import-eval, import-builds, and a cache with hostile text):
# every table's row count is sqlite3's; every field of a few narinfos is
# what sqlite3 reads; TSV escapes as ClickHouse's TabSeparated wants (\t
# \n \\ \r, \N for NULL); jsonl parses with jq; usage errors exit 2.
. "$(dirname "$0")/../lib/lib.sh"
need sqlite3 jq awk

W=$T/w
DB=$T/x.db
cg() { $CG --db "$DB" "$@"; }
$CG gen "$W" --paths 1500 --as-of 2024-05-10 >/dev/null 2>&1 || fail gen "gen failed"
cg --now 2024-05-10 crawl "$W/cache" >/dev/null 2>&1 || fail crawl-1 "crawl failed"
$CG gen "$W" --paths 1500 >/dev/null 2>&1 || fail gen-2 "gen failed"
cg --now 2024-05-29 crawl "$W/cache" >/dev/null 2>&1 || fail crawl-2 "crawl failed"
cg import-eval --manifest "$W/evals/manifest.tsv" >/dev/null 2>&1 || fail import-eval "failed"
cg import-builds "$W/builds.jsonl" >/dev/null 2>&1 || fail import-builds "failed"

# A second cache whose narinfo's URL holds a tab, a backslash, a CR and a
# quote (Nix takes any bytes there; the crawl keeps them verbatim), and an
# evaluation error holding a newline, a tab, a backslash and an ESC (and an attr
# with a backslash).
C=$T/hostile
mkdir -p "$C"
printf 'StoreDir: /nix/store\n' >"$C/nix-cache-info"
HH=$(printf '%032d' 1 | tr 0 a)
printf 'StorePath: /nix/store/%s-hostile\nURL: nar/a\tb\\c\rd'"'"'e.nar\nCompression: none\nNarHash: sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s\nNarSize: 1000\nReferences: %s-hostile\nSig: k:x y\n' \
	"$HH" "$HH" >"$C/$HH.narinfo"
cg --now 2024-05-29 crawl "$C" >/dev/null 2>&1 || fail crawl-hostile "crawl failed"
printf '%s\n' '{"attr":"bad\\attr","attrPath":["bad\\attr"],"error":"line one\nline\ttwo \\ end \u001b[31mred"}' >"$T/bad.jsonl"
cg import-eval --branch extra --rev 0000000000000000000000000000000000000001 --capabilities 8.6 \
	--time 2024-05-28 "$T/bad.jsonl" >/dev/null 2>&1 || fail import-bad "failed"
got=$(sqlite3 "$DB" "SELECT hex(url) FROM narinfos WHERE url LIKE 'nar/a%'")
expect_eq hostile-url-stored-verbatim "$got" "$(printf 'nar/a\tb\\c\rd'"'"'e.nar' | od -An -tx1 | tr -d ' \n' | tr a-f A-F)"

# --- every table, both formats: row counts are sqlite3's --------------------------
cg export --format tsv --output "$T/tsv" all >"$T/tsv.out" 2>&1
expect_eq export-tsv-all-status $? 0
cg export --format jsonl --output "$T/jsonl" all >"$T/jsonl.out" 2>&1
expect_eq export-jsonl-all-status $? 0
count() { sqlite3 "$DB" "SELECT count(*) FROM $1"; }
for spec in narinfos:narinfos presence:presence "refs:narinfos, json_each(narinfos.refs)" \
	"signatures:narinfos, json_each(narinfos.sigs)" caches:caches crawls:crawls \
	crawl_rejects:crawl_rejects path_checks:path_checks evaluations:evaluations \
	eval_jobs:eval_jobs builds:builds accesses:accesses trusted_keys:trusted_keys; do
	t=${spec%%:*}
	want=$(count "${spec#*:}")
	[ -f "$T/tsv/$t.tsv" ] && [ -f "$T/jsonl/$t.jsonl" ] || { fail "files-$t" "missing"; continue; }
	expect_eq "rows-tsv-$t" "$(wc -l <"$T/tsv/$t.tsv" | tr -d ' ')" "$want"
	expect_eq "rows-jsonl-$t" "$(wc -l <"$T/jsonl/$t.jsonl" | tr -d ' ')" "$want"
	expect_eq "jq-parses-$t" "$(jq -c . "$T/jsonl/$t.jsonl" 2>&1 | wc -l | tr -d ' ')" "$want"
	has "summary-$t" "$T/tsv.out" "$t: $want rows to $T/tsv/$t.tsv"
	# every TSV line has as many fields as the header names
	ncols=$(cg export --format tsv --names "$t" | head -1 | awk -F'\t' '{print NF}')
	bad=$(awk -F'\t' -v n="$ncols" 'NF != n' "$T/tsv/$t.tsv" | wc -l | tr -d ' ')
	expect_eq "fields-per-line-$t" "$bad" 0
done
for t in narinfos presence refs evaluations eval_jobs builds crawls; do
	[ "$(wc -l <"$T/tsv/$t.tsv")" -gt 0 ] && pass "nonempty-$t" || fail "nonempty-$t" "no rows"
done
ls -a "$T/tsv" | grep -q '\.tmp$' && fail no-temp-left "$(ls -a "$T/tsv")" || pass no-temp-left
# standard output is the same bytes as the file
cg export --format jsonl narinfos >"$T/n.jsonl"
check stdout-equals-file cmp "$T/n.jsonl" "$T/jsonl/narinfos.jsonl"

# --- every field of a few narinfos against sqlite3 -------------------------------
SD="(SELECT value FROM meta WHERE key='store_dir')"
for pick in "ORDER BY p.hash LIMIT 1" "ORDER BY p.hash DESC LIMIT 1" "ORDER BY n.file_size IS NULL DESC, p.hash LIMIT 1" \
	"ORDER BY length(n.refs) DESC LIMIT 1"; do
	sp=$(sqlite3 "$DB" "SELECT $SD || '/' || p.hash || '-' || p.name FROM narinfos n JOIN paths p ON p.id = n.path_id WHERE n.cache_id = 1 $pick")
	row=$(jq -c --arg p "$sp" 'select(.store_path == $p)' "$T/jsonl/narinfos.jsonl")
	[ -n "$row" ] || { fail "row-$sp" "not exported"; continue; }
	q() { sqlite3 "$DB" "SELECT $1 FROM narinfos n JOIN paths p ON p.id = n.path_id JOIN caches c ON c.id = n.cache_id WHERE $SD || '/' || p.hash || '-' || p.name = '$sp' AND n.cache_id = 1"; }
	j() { printf '%s' "$row" | jq -r "$1"; }
	b=${sp##*/}
	for f in url compression nar_hash nar_size deriver crawl_id fetched_at; do
		expect_eq "field-$f-$b" "$(j ".$f")" "$(q "n.$f")"
	done
	expect_eq "field-cache-$b" "$(j .cache)" "$(q c.url)"
	for f in file_hash file_size system ca; do
		expect_eq "field-$f-$b" "$(j ".$f // \"NULL\"")" "$(q "coalesce(n.$f, 'NULL')")"
	done
	expect_eq "field-references-$b" "$(j '.references | join(" ")')" \
		"$(q "(SELECT group_concat(b, ' ') FROM (SELECT r.hash || '-' || r.name AS b FROM json_each(n.refs) x JOIN paths r ON r.id = x.value ORDER BY b))")"
	expect_eq "field-signatures-$b" "$(j '.signatures | join(" ")')" \
		"$(q "(SELECT group_concat(value, ' ') FROM json_each(n.sigs))")"
	expect_eq "field-last-modified-$b" "$(j .last_modified_at)" \
		"$(q "(SELECT push_time * 1000 FROM presence x WHERE x.cache_id = n.cache_id AND x.path_id = n.path_id ORDER BY x.id DESC LIMIT 1)")"
	# the TSV row says the same (no field here needs escaping)
	tsv=$(awk -F'\t' -v p="$sp" '$1 == p' "$T/tsv/narinfos.tsv")
	expect_eq "tsv-row-$b" "$tsv" "$(printf '%s' "$row" | jq -r '[.store_path, .url, .compression, .file_hash // "\\N", (.file_size // "\\N" | tostring), .nar_hash, (.nar_size | tostring), (.references | join(" ")), .deriver // "\\N", .system // "\\N", .ca // "\\N", (.signatures | join(" ")), (.last_modified_at // "\\N" | tostring), .cache, (.crawl_id | tostring), (.fetched_at | tostring)] | join("\t")')"
done

# --- NULLs: \N in TSV, null in jsonl, as many as sqlite3 has ----------------------
nulls=$(sqlite3 "$DB" "SELECT count(*) FROM narinfos WHERE file_size IS NULL")
[ "$nulls" -gt 0 ] && pass null-file-size-exists || fail null-file-size-exists "gen made none"
expect_eq tsv-null-file-size "$(awk -F'\t' '$5 == "\\N"' "$T/tsv/narinfos.tsv" | wc -l | tr -d ' ')" "$nulls"
expect_eq jsonl-null-file-size "$(jq -c 'select(.file_size == null)' "$T/jsonl/narinfos.jsonl" | wc -l | tr -d ' ')" "$nulls"
gone=$(sqlite3 "$DB" "SELECT count(*) FROM presence WHERE gone_at IS NULL")
expect_eq jsonl-null-gone-at "$(jq -c 'select(.gone_at == null)' "$T/jsonl/presence.jsonl" | wc -l | tr -d ' ')" "$gone"
expect_eq tsv-null-gone-at "$(awk -F'\t' '$8 == "\\N"' "$T/tsv/presence.tsv" | wc -l | tr -d ' ')" "$gone"

# --- hostile text: escaped in TSV, exact in jsonl ---------------------------------
line=$(grep -F "/nix/store/$HH-hostile" "$T/tsv/narinfos.tsv")
expect_eq tsv-hostile-fields "$(printf '%s\n' "$line" | awk -F'\t' '{print NF}')" 16
expect_eq tsv-hostile-url "$(printf '%s\n' "$line" | awk -F'\t' '{print $2}')" "nar/a\\tb\\\\c\\rd\\'e.nar"
expect_eq tsv-hostile-refs "$(printf '%s\n' "$line" | awk -F'\t' '{print $8}')" "$HH-hostile"
expect_eq tsv-hostile-sig "$(printf '%s\n' "$line" | awk -F'\t' '{print $12}')" "k:x y"
got=$(jq -r --arg p "/nix/store/$HH-hostile" 'select(.store_path == $p) | .url' "$T/jsonl/narinfos.jsonl" | od -An -tx1 | tr -d ' \n')
expect_eq jsonl-hostile-url "$got" "$(printf 'nar/a\tb\\c\rd'"'"'e.nar\n' | od -An -tx1 | tr -d ' \n')"
line=$(grep -F 'line one' "$T/tsv/eval_jobs.tsv")
expect_eq tsv-error-one-line "$(grep -c 'line one' "$T/tsv/eval_jobs.tsv")" 1
expect_eq tsv-error-escaped "$(printf '%s\n' "$line" | awk -F'\t' '{print $8}')" 'line one\nline\ttwo \\ end '"$(printf '\033')"'[31mred'
expect_eq tsv-attr-escaped "$(printf '%s\n' "$line" | awk -F'\t' '{print $2}')" 'bad\\attr'
expect_eq tsv-error-null-path "$(printf '%s\n' "$line" | awk -F'\t' '{print $4 $5}')" '\N\N'
got=$(jq -r 'select(.attr == "bad\\attr") | .error' "$T/jsonl/eval_jobs.jsonl")
has jsonl-esc-escaped "$T/jsonl/eval_jobs.jsonl" 'end \u001b[31mred'
expect_eq jsonl-error-exact "$got" "$(printf 'line one\nline\ttwo \\ end '"$(printf '\033')"'[31mred')"
# --names: the header
cg export --format tsv --names crawls | head -1 >"$T/h"
expect_eq tsv-names "$(cat "$T/h")" "$(printf 'id\tcache\tstarted_at\tfinished_at\tstatus\tn_new\tn_present\tn_gone\tn_rejected\tn_absent\tn_unknown')"

# --- --json summary ---------------------------------------------------------------
cg export --format jsonl --output "$T/j2" --json narinfos crawls >"$T/sum.json" 2>&1
expect_eq json-summary-status $? 0
expect_eq json-summary "$(jq -c '[.format, (.tables[] | [.table, .rows, .file])]' "$T/sum.json")" \
	"[\"jsonl\",[\"narinfos\",$(count narinfos),\"$T/j2/narinfos.jsonl\"],[\"crawls\",$(count crawls),\"$T/j2/crawls.jsonl\"]]"

# --- usage errors exit 2 and name what to do --------------------------------------
cg export --format tsv nosuch >"$T/o" 2>"$T/e"
expect_eq unknown-table-status $? 2
has unknown-table-named "$T/e" "no table 'nosuch' to export"
has unknown-table-lists "$T/e" "narinfos, presence"
[ -s "$T/o" ] && fail unknown-table-no-output "$(head -3 "$T/o")" || pass unknown-table-no-output
cg export --format csv narinfos >/dev/null 2>"$T/e"
expect_eq unknown-format-status $? 2
has unknown-format-named "$T/e" "'csv'"
cg export narinfos >/dev/null 2>"$T/e"
expect_eq no-format-status $? 2
has no-format-says "$T/e" "--format is needed"
cg export --format tsv narinfos crawls >/dev/null 2>"$T/e"
expect_eq two-tables-stdout-status $? 2
has two-tables-stdout-says "$T/e" "give --output DIR"
cg export --format tsv >/dev/null 2>"$T/e"
expect_eq no-table-status $? 2
cg export --format tsv --output "$T/bad" nosuch narinfos >/dev/null 2>&1
expect_eq unknown-table-writes-nothing "$(ls "$T/bad" 2>/dev/null | wc -l | tr -d ' ')" 0
$CG --db "$T/none.db" export --format tsv narinfos >/dev/null 2>"$T/e"
expect_eq missing-db-status $? 1
[ -e "$T/none.db" ] && fail missing-db-not-created || pass missing-db-not-created
cg export --help >"$T/help"
for t in $(cg export --format tsv nosuch 2>&1 | sed -n "s/.*the tables are \(.*\), or all.*/\1/p" | tr -d ,); do
	grep -q "^  $t " "$T/help" && pass "help-lists-$t" || fail "help-lists-$t" "not in export --help"
done

[ "$failures" = 0 ]
