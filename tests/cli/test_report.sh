#!/bin/sh
# tests/cli/test_report.sh - `cachegc report` on a small history made
# through the real commands and worked out by hand (the world of
# test_simulate.sh): a file:// cache written narinfo by narinfo, crawled
# three times with narinfos deleted in between, three evaluations.  Every
# figure in index.html and report.md is checked against the hand-computed
# value (and against what coverage and simulate print), the data files and
# the SVG charts parse, the page renders in headless Chromium (no blank
# page, no broken image, no script error), and a missing gnuplot is a
# clear error naming the package.
#
#   path       size  refs   pushed (mtime)  in the cache at the crawls
#   a glibc      10  -      d0 00:00        C1 d0 01:00, C2 d2 03:00, C3 d4 03:00
#   b gcc-lib     5  a      d0 00:10        C1, C2, C3
#   f junk        7  -      d0 00:20        C1            (gone at C2)
#   c torch-a    20  a b    d1 00:00        C2            (gone at C3)
#   h blender     8  a      d1 00:10        C2, C3
#   g torch-rel  12  a      d2 00:00        C2            (gone at C3)
#   d torch-b    20  a b    d3 00:00        C3
#   (dN = 2024-01-0(N+1); NarSize = 3 x size; no trusted key)
#
#   E1 master [8.6]           d1 02:00  blender=h, python3Packages.torch=c
#   E3 nixos-24.05 [7.5,8.6]  d2 02:00  python3Packages.torch=g
#   E2 master [8.6]           d3 02:00  blender=h, python3Packages.torch=d
. "$(dirname "$0")/../lib/lib.sh"
need sqlite3 jq gnuplot xmllint chromium
DB="$T/t.db"
C="$T/cache"
O="$T/rep"
cg() {
	$CG --db "$DB" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}
H=0000000000000000000000000000000
FH=sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s
N_a=glibc N_b=gcc-lib N_c=torch-a N_d=torch-b N_f=junk N_g=torch-rel N_h=blender
ni() {
	l=$1 size=$2 when=$3
	shift 3
	refs=
	for r in "$@"; do refs="$refs${refs:+ }$H$r-$(eval echo "\$N_$r")"; done
	printf 'StorePath: /nix/store/%s-%s\nURL: nar/%s.nar.xz\nCompression: xz\nFileHash: %s\nFileSize: %s\nNarHash: %s\nNarSize: %s\nReferences: %s\n' \
		"$H$l" "$(eval echo "\$N_$l")" "$H$l" "$FH" "$size" "$FH" "$((size * 3))" "$refs" >"$C/$H$l.narinfo"
	touch -d "$when" "$C/$H$l.narinfo"
}
sp() { echo "/nix/store/$H$1-$(eval echo "\$N_$1")"; }
job() { printf '{"attr":"%s","attrPath":["%s"],"name":"%s","system":"x86_64-linux","drvPath":"/nix/store/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz%s-%s.drv","outputs":{"out":"%s"}}\n' \
	"$1" "$1" "$1" "$2" "$1" "$(sp "$2")"; }

# --- help, usage ---------------------------------------------------------------
$CG report --help >"$T/h" 2>&1
expect_eq help-exit $? 0
for o in --cache --from --to --limit --out --title gnuplot-nox index.html report.md half-life; do
	has "help-$o" "$T/h" "$o"
done
cg report --bogus
expect_eq usage-exit "$rc" 2
cg report --from 2024-02-01 --to 2024-01-01
expect_eq usage-from-after-to "$rc" 2
has usage-from-after-to-msg "$T/err" "is after --to"

# --- the history -----------------------------------------------------------------
mkdir -p "$C"
printf 'StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 30\n' >"$C/nix-cache-info"
ni a 10 2024-01-01T00:00:00Z
ni b 5 2024-01-01T00:10:00Z a
ni f 7 2024-01-01T00:20:00Z
cg --now 2024-01-01T01:00:00Z crawl "$C"
# One crawl and no evaluation yet: a report all the same, its charts empty
cg report --to 2024-01-01T02:00:00Z --out "$T/rep0"
expect_eq early-exit "$rc" 0
for f in coverage stored churn staleness; do
	check "early-svg-$f" xmllint --noout "$T/rep0/$f.svg"
done
has early-no-eval "$T/rep0/report.md" "No evaluation was imported by then."
has early-no-gc "$T/rep0/index.html" "Nothing to compare with: it needs two complete crawls"
has early-empty-chart "$T/rep0/coverage.svg" "nothing to draw in this span"
has early-stored "$T/rep0/report.md" "| 2024-01-01T01:00:00Z | 3 | 22 B | - |"
ni c 20 2024-01-02T00:00:00Z a b
ni h 8 2024-01-02T00:10:00Z a
ni g 12 2024-01-03T00:00:00Z a
job blender h >"$T/e1.jsonl"
job python3Packages.torch c >>"$T/e1.jsonl"
cg import-eval --branch master --rev e1 --capabilities 8.6 --time 2024-01-02T02:00:00Z "$T/e1.jsonl"
job python3Packages.torch g >"$T/e3.jsonl"
cg import-eval --branch nixos-24.05 --rev e3 --capabilities '8.6, 7.5' --time 2024-01-03T02:00:00Z "$T/e3.jsonl"
rm "$C/${H}f.narinfo"
cg --now 2024-01-03T03:00:00Z crawl "$C"
ni d 20 2024-01-04T00:00:00Z a b
job blender h >"$T/e2.jsonl"
job python3Packages.torch d >>"$T/e2.jsonl"
cg import-eval --branch master --rev e2 --capabilities 8.6 --time 2024-01-04T02:00:00Z "$T/e2.jsonl"
rm "$C/${H}c.narinfo" "$C/${H}g.narinfo"
cg --now 2024-01-05T03:00:00Z crawl "$C"
expect_eq history "$rc" 0
TO=2024-01-05T12:00:00Z

# --- gnuplot missing: a clear error, nothing written --------------------------------
mkdir -p "$T/nobin"
PATH="$T/nobin" $CG --db "$DB" report --to "$TO" --out "$O" >"$T/out" 2>"$T/err"
expect_eq no-gnuplot-exit $? 1
has no-gnuplot-msg "$T/err" "gnuplot was not found on PATH"
has no-gnuplot-package "$T/err" "apt-get install gnuplot-nox"
check no-gnuplot-nothing-written test ! -e "$O"

# --- no crawl in the span ------------------------------------------------------------
cg report --to 2023-12-01 --out "$O"
expect_eq no-crawl-exit "$rc" 1
has no-crawl-msg "$T/err" "no complete crawl of"

# --- the report ------------------------------------------------------------------------
cg report --to "$TO" --limit 100 --out "$O" --title 'Report <of> "t" & co'
expect_eq report-exit "$rc" 0
has report-says-where "$T/out" "written to $O/index.html"
for f in index.html report.md coverage.svg stored.svg churn.svg staleness.svg \
	data/coverage.tsv data/staleness.tsv data/stored.tsv data/churn.tsv data/half-life.tsv \
	data/gc.tsv data/largest.tsv data/depended.tsv data/coverage.gp; do
	check "file-$f" test -s "$O/$f"
done
for f in coverage stored churn staleness; do
	check "svg-parses-$f" xmllint --noout "$O/$f.svg"
done
check html-parses xmllint --html --noout "$O/index.html"
M="$O/report.md"
I="$O/index.html"
has title-escaped "$I" "<title>Report &lt;of&gt; &quot;t&quot; &amp; co</title>"
has md-coverage-as-of "$M" "coverage as of 2024-01-05T12:00:00Z"
has md-title "$M" '# Report \<of\> "t" \& co'

# 1. coverage now: as coverage --at TO prints its summary
cg coverage --at "$TO"
grep '^    cached' "$T/out" | sed 's/^ *//; s/;.*//' >"$T/sum"
expect_eq cov-summaries "$(cat "$T/sum")" "cached 2/2 jobs (100.0%), 129 B of 129 B
cached 0/1 jobs (0.0%), 0 B of 66 B"
while read -r line; do
	has "html-now-$line" "$I" "<td>$line</td>"
	has "md-now-$line" "$M" "| $line |"
done <"$T/sum"
has html-not-cached "$I" "<td><code>python3Packages.torch</code></td><td><strong>evicted</strong></td><td>gone since 2024-01-05T03:00:00Z</td>"
has md-not-cached "$M" '| `python3Packages.torch` | **evicted** | gone since 2024-01-05T03:00:00Z |'

# 2. coverage over time: C1 no evaluation, C2 both whole, C3 master 2/2, 24.05 0/1
expect_eq tsv-coverage "$(cat "$O/data/coverage.tsv")" "time	master [8.6] x86_64-linux	nixos-24.05 [7.5,8.6] x86_64-linux
1704070800	-	-
1704250800	100.00	100.00
1704423600	100.00	0.00"
has html-over-time-master "$I" "<td>master [8.6] x86_64-linux</td><td class=\"num\">-</td><td class=\"num\">100.0% (2/2)</td><td class=\"num\">100.0% (2/2)</td>"
has html-over-time-2405 "$I" "<td>nixos-24.05 [7.5,8.6] x86_64-linux</td><td class=\"num\">-</td><td class=\"num\">100.0% (1/1)</td><td class=\"num\">0.0% (0/1)</td>"
has md-over-time-2405 "$M" "| nixos-24.05 \\[7.5,8.6\\] x86_64-linux | - | 100.0% (1/1) | 0.0% (0/1) |"
# each crawl's figure equals coverage --at that crawl
for at in 2024-01-03T03:00:00Z 2024-01-05T03:00:00Z; do
	cg coverage --at "$at" --json
	jq -r 'group_by(.evaluation) | map("\(.[0].branch)=\([.[] | select(.status == "cached")] | length)/\(length)") | join(" ")' "$T/out" >"$T/cj"
	case $at in
	2024-01-03*) expect_eq "cov-at-$at" "$(cat "$T/cj")" "master=2/2 nixos-24.05=1/1" ;;
	*) expect_eq "cov-at-$at" "$(cat "$T/cj")" "nixos-24.05=0/1 master=2/2" ;;
	esac
done

# 3. stored: C1 a b f = 22 B, C2 a b c h g = 55 B, C3 a b h d = 43 B; limit 100 B
expect_eq tsv-stored "$(cat "$O/data/stored.tsv")" "time	paths	bytes
1704070800	3	22
1704250800	5	55
1704423600	4	43"
has html-stored-c2 "$I" "<td>2024-01-03T03:00:00Z</td><td class=\"num\">5</td><td class=\"num\">55 B</td><td class=\"num\">55.0%</td>"
has md-stored-c3 "$M" "| 2024-01-05T03:00:00Z | 4 | 43 B | 43.0% |"
has gp-limit "$O/data/stored.gp" "limit = 100.0"
# per day: pushes by mtime, evictions by the crawl that found them gone
expect_eq tsv-churn "$(cat "$O/data/churn.tsv")" "day	pushed_paths	pushed_bytes	evicted_paths	evicted_bytes
1704067200	3	22	0	0
1704153600	2	28	0	0
1704240000	1	12	1	7
1704326400	1	20	0	0
1704412800	0	0	2	32"
has html-churn-d4 "$I" "<td>2024-01-05</td><td class=\"num\">0</td><td class=\"num\">0 B</td><td class=\"num\">2</td><td class=\"num\">32 B</td>"
has md-churn-d2 "$M" "| 2024-01-03 | 1 | 12 B | 1 | 7 B |"

# 4. staleness: C2 master E1 (25 h), 24.05 E3 (1 h); C3 master E2 (25 h), 24.05 none
expect_eq tsv-staleness "$(cat "$O/data/staleness.tsv")" "time	master [8.6] x86_64-linux	nixos-24.05 [7.5,8.6] x86_64-linux
1704070800	-	-
1704250800	1.04	0.04
1704423600	1.04	-"
has html-stale-2405 "$I" "<td>nixos-24.05 [7.5,8.6] x86_64-linux</td><td class=\"num\">-</td><td class=\"num\">0.0 days</td><td class=\"num\">-</td>"
has md-stale-master "$M" "| master \\[8.6\\] x86_64-linux | - | 1.0 days | 1.0 days |"

# 5. half-life: E1 drops at C3 (3 d 1 h), E3 at C3 (2 d 1 h), E2 still above
E1=$(sqlite3 "$DB" "SELECT id FROM evaluations WHERE rev = 'e1'")
expect_eq tsv-half-life-e1 "$(grep "^$E1	" "$O/data/half-life.tsv" | cut -f5-)" "2	1	1704250800	1704423600	3.04"
has html-half-master "$I" "<td>master [8.6] x86_64-linux</td><td class=\"num\">3.0 days</td><td class=\"num\">2</td><td class=\"num\">1</td><td class=\"num\">1</td><td class=\"num\">0</td>"
has md-half-2405 "$M" "| nixos-24.05 \\[7.5,8.6\\] x86_64-linux | 2.0 days | 1 | 1 | 0 | 0 |"
has md-half-e2 "$M" '| master \[8.6\] x86_64-linux | `e2` | 2024-01-04T02:00:00Z | 2 | 2 | still above |'

# 6. which GC: each policy's match as simulate computes it
for p in cachix attic niks3 priority; do
	cg simulate --policy "$p" --limit 1G --to "$TO" --json
	want=$(jq -r '.match | "\(.predicted) \(.recorded) \(.matched)"' "$T/out")
	got=$(awk -F'\t' -v p="$p" '$1 == p { print $4, $5, $6 }' "$O/data/gc.tsv")
	expect_eq "gc-$p-as-simulate" "$got" "$want"
	set -- $want
	has "html-gc-$p" "$I" "<td>$p</td>"
	has "md-gc-$p" "$M" "| $p |"
done
# recorded: f at C2, c and g at C3 = 3 paths
expect_eq gc-recorded "$(awk -F'\t' 'NR > 1 { print $5 }' "$O/data/gc.tsv" | sort -u)" 3

# 7. closures of the current outputs d, g, h; a is in all three, b in d's
expect_eq tsv-largest "$(cut -f1,4,5,6 "$O/data/largest.tsv")" "path	closure_bytes	closure_paths	present
$(sp d)	105	3	1
$(sp g)	66	2	0
$(sp h)	54	2	1"
expect_eq tsv-depended "$(cat "$O/data/depended.tsv")" "path	stored_bytes	dependent_outputs	present
$(sp a)	10	3	1
$(sp b)	5	1	1"
has html-largest "$I" "<td><code>$(sp d)</code></td><td><code>python3Packages.torch</code></td><td class=\"num\">105 B</td><td class=\"num\">3</td><td>yes</td>"
has md-depended "$M" "| \`$(sp a)\` | 3 | 10 B | yes |"

# charts: titles, axis labels, the groups' legend, dates
has svg-coverage-title "$O/coverage.svg" "Coverage over time"
has svg-coverage-legend "$O/coverage.svg" "nixos-24.05 [7.5,8.6] x86_64-linux"
has svg-coverage-ylabel "$O/coverage.svg" "jobs cached whole (%)"
has svg-dates "$O/stored.svg" "2024-01-0"
has svg-stored-unit "$O/stored.svg" "stored (B)"
has svg-stored-limit "$O/stored.svg" "limit 100 B"
has md-image-links "$M" "![Coverage over time: jobs of each group's latest evaluation cached whole](coverage.svg)"
has md-details "$M" "<details><summary>"

# --- --from: the crawls from C2 on; days, and the comparison's span, too ------------
cg report --from 2024-01-02 --to "$TO" --out "$T/rep2"
expect_eq from-exit "$rc" 0
expect_eq from-stored "$(cut -f1 "$T/rep2/data/stored.tsv" | tr '\n' ' ')" "time 1704250800 1704423600 "
expect_eq from-churn-days "$(cut -f1 "$T/rep2/data/churn.tsv" | tr '\n' ' ')" "day 1704153600 1704240000 1704326400 1704412800 "
cg simulate --policy cachix --limit 1G --from 2024-01-02 --to "$TO" --json
expect_eq from-gc-as-simulate "$(awk -F'\t' '$1 == "cachix" { print $3, $4, $5, $6 }' "$T/rep2/data/gc.tsv")" \
	"$(jq -r '.match | "\(.intervals | length) \(.predicted) \(.recorded) \(.matched)"' "$T/out")"
has from-header "$T/rep2/report.md" "2 complete crawls from 2024-01-03T03:00:00Z to 2024-01-05T03:00:00Z"
# --out naming a file is refused
: >"$T/afile"
cg report --to "$TO" --out "$T/afile"
expect_eq out-file-exit "$rc" 1
has out-file-msg "$T/err" "is not a directory"

# --- in a real browser ---------------------------------------------------------------------
# A copy of the page with a probe appended: it records script errors and
# checks every image loaded, into the DOM that --dump-dom prints.
sed 's|</body>|<script>window.onerror=function(m){document.body.setAttribute("data-err",m)};window.addEventListener("load",function(){var b=0,n=0;for(const i of document.images){n++;if(!i.complete\|\|i.naturalWidth==0)b++}document.body.setAttribute("data-probe","images="+n+" broken="+b+" svg="+document.querySelectorAll("table").length)})</script></body>|' "$I" >"$O/probe.html"
chrome() {
	d=$1
	shift
	timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
		--user-data-dir="$T/chrome-$d" --window-size=1100,3000 "$@" 2>"$T/chrome.err"
}
chrome a --virtual-time-budget=5000 --dump-dom "file://$O/probe.html" >"$T/dom" 2>/dev/null
has browser-images-load "$T/dom" 'data-probe="images=4 broken=0'
hasnt browser-no-script-error "$T/dom" 'data-err='
has browser-tables "$T/dom" '<table>'
chrome b --virtual-time-budget=5000 --screenshot="$T/shot.png" "file://$I" >/dev/null 2>&1
check browser-screenshot test -s "$T/shot.png"
# not blank: a blank page compresses to a few KiB
sz=$(wc -c <"$T/shot.png")
if [ "$sz" -gt 50000 ]; then pass browser-screenshot-not-blank; else fail browser-screenshot-not-blank "$sz bytes"; fi
[ -n "${REPORT_SHOT:-}" ] && cp "$T/shot.png" "$REPORT_SHOT"

# --- hostile names reach the page escaped -----------------------------------------------------
printf '{"attr":"<img src=x onerror=alert(1)>|`x`","attrPath":["<img src=x onerror=alert(1)>|`x`"],"name":"x","system":"x86_64-linux","drvPath":"/nix/store/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzx-x.drv","outputs":{"out":"%s"}}\n' \
	"$(sp h)" >"$T/e4.jsonl"
cg import-eval --branch '<b>evil</b>' --rev e4 --capabilities 8.6 --time 2024-01-05T04:00:00Z "$T/e4.jsonl"
expect_eq hostile-import "$rc" 0
cg report --to "$TO" --out "$O"
expect_eq hostile-exit "$rc" 0
hasnt hostile-html "$O/index.html" "<b>evil</b>"
has hostile-html-escaped "$O/index.html" "&lt;b&gt;evil&lt;/b&gt;"
hasnt hostile-html-img "$O/index.html" "<img src=x"
hasnt hostile-svg "$O/coverage.svg" "<b>evil"
check hostile-svg-parses xmllint --noout "$O/coverage.svg"

exit $((failures > 0))
