#!/bin/sh
# tests/cli/test_crawl_rejected_bytes.sh - where Nix refuses a narinfo the
# path is not substitutable, but its files still count as stored bytes.
#
# A small `cachegc gen` cache B with four narinfos mutated so that Nix (and
# cachegc) refuse them (no final newline), and cache A: the same cache
# without those four narinfo files.  Each refused narinfo's bytes are its
# own size plus:
#   r1  URL names a NAR stub in the cache      -> that file's size (stat)
#   r2  URL: ../../etc/passwd (outside), CRLF  -> never stat'ed: FileSize
#   r3  no URL line                            -> FileSize
#   r4  URL names a file not in the cache      -> 0
# The crawl_rejects rows (hash, bytes), the crawl summary and --json say
# them; simulate, plan evict and report store exactly those bytes more in
# B than in A, and a limit is reached by freeing them too.
. "$(dirname "$0")/../lib/lib.sh"
need sqlite3 jq gnuplot

NOW=2024-05-29T01:00:00Z
$CG gen "$T/w" --paths 60 --nar-stubs >/dev/null 2>"$T/err" ||
	{ fail gen "$(cat "$T/err")"; finish; exit; }
B=$T/B
A=$T/A
cp -a "$T/w/cache" "$B"
set -- $(cd "$B" && ls *.narinfo | head -4)
R1=$1 R2=$2 R3=$3 R4=$4
for f in "$R1" "$R2" "$R3" "$R4"; do
	grep -q '^URL: nar/' "$B/$f" || fail "gen-narinfo-has-url-$f"
	grep -q '^FileSize: [0-9]' "$B/$f" || fail "gen-narinfo-has-filesize-$f"
done
nar1=$(sed -n 's/^URL: //p' "$B/$R1")
check nar-stub-exists test -f "$B/$nar1"
# strip_nl FILE: drop the final newline (Nix refuses such a narinfo)
strip_nl() { head -c -1 "$1" >"$1.tmp" && mv "$1.tmp" "$1"; }
sed -i 's|^URL: .*|URL: ../../etc/passwd|; s/$/\r/' "$B/$R2"    # and CRLF line ends
sed -i '/^URL: /d' "$B/$R3"
sed -i 's|^URL: .*|URL: nar/not-there.nar.xz|' "$B/$R4"
for f in "$R1" "$R2" "$R3" "$R4"; do
	strip_nl "$B/$f"
done
cp -a "$B" "$A"
rm "$A/$R1" "$A/$R2" "$A/$R3" "$A/$R4"

size() { stat -c %s "$1"; }
fsize() { sed -n 's/^FileSize: \([0-9]*\).*/\1/p' "$1"; }
W1=$(( $(size "$B/$R1") + $(size "$B/$nar1") ))
W2=$(( $(size "$B/$R2") + $(fsize "$B/$R2") ))
W3=$(( $(size "$B/$R3") + $(fsize "$B/$R3") ))
W4=$(size "$B/$R4")
WANT=$((W1 + W2 + W3 + W4))

# --- the crawl --------------------------------------------------------------------
$CG --db "$T/a.db" --now "$NOW" crawl --json "$A" >"$T/a.json" 2>"$T/err"
expect_eq crawl-a-exit $? 0
$CG --db "$T/b.db" --now "$NOW" crawl --json "$B" >"$T/b.json" 2>"$T/err"
expect_eq crawl-b-exit $? 0
expect_eq crawl-a-rejected "$(jq -c '[.rejected, .rejectedBytes]' "$T/a.json")" "[0,0]"
expect_eq crawl-b-rejected "$(jq -c '[.rejected, .rejectedBytes]' "$T/b.json")" "[4,$WANT]"
expect_eq same-paths "$(jq .new "$T/b.json")" "$(jq .new "$T/a.json")"
if grep -q 'root:' "$T/err"; then fail outside-url-not-read; else pass outside-url-not-read; fi
for i in 1 2 3 4; do
	eval f=\$R$i w=\$W$i
	h=${f%.narinfo}
	expect_eq "reject-row-r$i" \
		"$(sqlite3 "$T/b.db" "SELECT hash, bytes FROM crawl_rejects WHERE source = '$f'")" "$h|$w"
done
# The summary line says the bytes (format_size: at least the count is named).
$CG --db "$T/b2.db" --now "$NOW" crawl "$B" >"$T/out" 2>"$T/err"
check summary-says-bytes grep -q "4 rejected (.* stored)" "$T/out"

# A second crawl refuses them again: its own rows; the latest counts.
$CG --db "$T/b.db" --now 2024-05-29T02:00:00Z crawl --json "$B" >"$T/b2.json" 2>"$T/err"
expect_eq recrawl-rejected "$(jq -c '[.rejected, .rejectedBytes]' "$T/b2.json")" "[4,$WANT]"
expect_eq rows-per-crawl "$(sqlite3 "$T/b.db" \
	'SELECT group_concat(n) FROM (SELECT count(*) AS n FROM crawl_rejects GROUP BY crawl_id ORDER BY crawl_id)')" "4,4"
$CG --db "$T/a.db" --now 2024-05-29T02:00:00Z crawl "$A" >/dev/null 2>"$T/err"

# --- simulate: stored bytes grow by exactly the rejected ones -----------------------
# (no limit to reach: the same evictions in both)
for p in "cachix --limit 1T" "niks3" "attic"; do
	name=$(echo "$p" | cut -d' ' -f1)
	$CG --db "$T/a.db" simulate --policy $p --to 2024-05-29T03:00:00Z --json >"$T/sa.json" 2>"$T/err" ||
		fail "simulate-a-$name" "$(cat "$T/err")"
	$CG --db "$T/b.db" simulate --policy $p --to 2024-05-29T03:00:00Z --json >"$T/sb.json" 2>"$T/err" ||
		fail "simulate-b-$name" "$(cat "$T/err")"
	last_a=$(jq '.steps[-1].storedBytes' "$T/sa.json")
	last_b=$(jq '.steps[-1].storedBytes' "$T/sb.json")
	expect_eq "simulate-$name-last-step" "$((last_b - last_a))" "$WANT"
	expect_eq "simulate-$name-rejected" "$(jq '.steps[-1].rejectedBytes' "$T/sb.json")" "$WANT"
	expect_eq "simulate-$name-same-evictions" "$(jq .summary.evictedPaths "$T/sb.json")" \
		"$(jq .summary.evictedPaths "$T/sa.json")"
	# Before the first crawl nothing was known to be refused.
	expect_eq "simulate-$name-first-step" "$(jq '.steps[0].rejectedBytes' "$T/sb.json")" 0
done
$CG --db "$T/b.db" simulate --policy niks3 --to 2024-05-29T03:00:00Z >"$T/out" 2>"$T/err"
check simulate-text-says grep -q "refused narinfos' files" "$T/out"
# --next: stored now
$CG --db "$T/a.db" simulate --policy cachix --limit 1T --next 3 --json >"$T/na.json" 2>"$T/err"
$CG --db "$T/b.db" simulate --policy cachix --limit 1T --next 3 --json >"$T/nb.json" 2>"$T/err"
expect_eq next-stored "$(( $(jq .storedBytes "$T/nb.json") - $(jq .storedBytes "$T/na.json") ))" "$WANT"

# --- plan evict: stored now, and what a limit needs freed ---------------------------
$CG --db "$T/a.db" plan evict --limit 1T --json >"$T/pa.json" 2>"$T/err" || fail plan-a "$(cat "$T/err")"
$CG --db "$T/b.db" plan evict --limit 1T --json >"$T/pb.json" 2>"$T/err" || fail plan-b "$(cat "$T/err")"
SA=$(jq .sizeBefore "$T/pa.json")
SB=$(jq .sizeBefore "$T/pb.json")
expect_eq plan-stored-now "$((SB - SA))" "$WANT"
expect_eq plan-rejected "$(jq .rejectedBytes "$T/pb.json")" "$WANT"
# At a limit of A's stored size, A need free nothing; B must free at
# least the rejected bytes, from the paths.
for pol in priority reach; do
	$CG --db "$T/a.db" plan evict --policy $pol --limit "$SA" --json >"$T/pa.json" 2>"$T/err"
	$CG --db "$T/b.db" plan evict --policy $pol --limit "$SA" --json >"$T/pb.json" 2>"$T/err"
	expect_eq "plan-$pol-a-nothing" "$(jq -c '[.limitReached, (.paths | length)]' "$T/pa.json")" \
		"[true,0]"
	jq -e --argjson sa "$SA" --argjson w "$WANT" \
		'.limitReached and .sizeAfter <= $sa and (.sizeBefore - .sizeAfter) >= $w and (.paths | length) > 0' \
		"$T/pb.json" >/dev/null && pass "plan-$pol-b-frees" || fail "plan-$pol-b-frees" "$(head -c 600 "$T/pb.json")"
done
$CG --db "$T/b.db" plan evict --limit 1T >"$T/out" 2>"$T/err"
check plan-text-says grep -q "refused narinfos' files" "$T/out"

# --- report: stored bytes at every crawl --------------------------------------------
$CG --db "$T/a.db" report --to 2024-05-29T03:00:00Z --out "$T/ra" >/dev/null 2>"$T/err" ||
	fail report-a "$(cat "$T/err")"
$CG --db "$T/b.db" report --to 2024-05-29T03:00:00Z --out "$T/rb" >/dev/null 2>"$T/err" ||
	fail report-b "$(cat "$T/err")"
expect_eq report-crawls "$(tail -n +2 "$T/rb/data/stored.tsv" | wc -l)" 2
expect_eq report-stored "$(paste "$T/ra/data/stored.tsv" "$T/rb/data/stored.tsv" | tail -n +2 |
	awk '{ printf "%s ", $6 - $3 }')" "$WANT $WANT "
finish
