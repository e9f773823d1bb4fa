#!/bin/sh
# tests/cli/test_simulate.sh - `cachegc simulate` from the command line, on
# a history made through the real commands and worked out by hand: a
# file:// cache written narinfo by narinfo (sizes, references, push times
# as mtimes), crawled three times with narinfos deleted in between
# (recorded evictions), and three evaluations imported with import-eval.
# Every policy's steps (stored bytes and paths, pushes, evictions, jobs
# kept per branch and capability set), the comparison with the recorded
# evictions, --next (order, reasons, due, breaks), the span options
# (--from, --to, fractional --step), SIZE forms, --weights, errors, help.
#
# The world (size = FileSize; dN = 2024-01-0(N+1)):
#
#   path       size  refs   pushed (mtime)  in the cache at the crawls
#   a glibc      10  -      d0 00:00        d0 01:00, d2 03:00, d4 03:00
#   b gcc-lib     5  a      d0 00:10        d0, d2, d4
#   f junk        7  -      d0 00:20        d0            (gone at d2 03:00)
#   c torch-a    20  a b    d1 00:00        d2            (gone at d4 03:00)
#   h blender     8  a      d1 00:10        d2, d4
#   g torch-rel  12  a      d2 00:00        d2            (gone at d4 03:00)
#   d torch-b    20  a b    d3 00:00        d4
#
#   E1 master [8.6]           d1 02:00  blender=h, python3Packages.torch=c
#   E3 nixos-24.05 [7.5,8.6]  d2 02:00  python3Packages.torch=g
#   E2 master [8.6]           d3 02:00  blender=h, python3Packages.torch=d
#
# No access log is imported, so cachix and attic count each evaluation as
# an access of its outputs' closures at its time (--access auto = evals).
# The replays below run from d0 12:00 (a, b and f stored: 22 bytes) to d4
# 12:00 in daily steps (GC at d1..d4 12:00) unless said otherwise.
. "$(dirname "$0")/../lib/lib.sh"
need sqlite3 jq
DB="$T/t.db"
C="$T/cache"
cg() {
	$CG --db "$DB" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}
q() { sqlite3 -batch -noheader "$DB" "$1"; }

H=0000000000000000000000000000000
FH=sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s
N_a=glibc N_b=gcc-lib N_c=torch-a N_d=torch-b N_f=junk N_g=torch-rel N_h=blender
# ni LETTER SIZE MTIME [REF-LETTER...]: write the narinfo of path LETTER.
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

# --- help and usage before any history -----------------------------------------

$CG simulate --help >"$T/h" 2>&1
expect_eq help-exit $? 0
for o in --policy --limit --retention --from --to --step --weights --access --next --cache --json \
	cachix attic niks3 priority KiB/MiB/GiB/TiB precision recall due breaksCount; do
	has "help-$o" "$T/h" "$o"
done
cg simulate --policy cachix --limit 1G
expect_eq no-db-exit "$rc" 1
has no-db-msg "$T/err" "no database at '$DB'"

mkdir -p "$C"
printf 'StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 30\n' >"$C/nix-cache-info"
# An evaluation imported before any crawl: a database without a cache.
job blender h >"$T/e1.jsonl"
job python3Packages.torch c >>"$T/e1.jsonl"
cg import-eval --branch master --rev e1 --capabilities 8.6 --time 2024-01-02T02:00:00Z "$T/e1.jsonl"
expect_eq import-e1 "$rc" 0
cg simulate --policy cachix --limit 1G
expect_eq no-cache-exit "$rc" 1
has no-cache-msg "$T/err" "has no cache yet; run 'cachegc crawl CACHE' first"
cg simulate --policy priority --limit 1G --next 3
expect_eq no-cache-next-exit "$rc" 1

# --- the history -----------------------------------------------------------------

ni a 10 2024-01-01T00:00:00Z
ni b 5 2024-01-01T00:10:00Z a
ni f 7 2024-01-01T00:20:00Z
cg --now 2024-01-01T01:00:00Z crawl "$C"
expect_eq crawl-1 "$rc" 0
ni c 20 2024-01-02T00:00:00Z a b
ni h 8 2024-01-02T00:10:00Z a
ni g 12 2024-01-03T00:00:00Z a
job python3Packages.torch g >"$T/e3.jsonl"
cg import-eval --branch nixos-24.05 --rev e3 --capabilities '8.6, 7.5' --time 2024-01-03T02:00:00Z "$T/e3.jsonl"
expect_eq import-e3 "$rc" 0
rm "$C/${H}f.narinfo"
cg --now 2024-01-03T03:00:00Z crawl "$C"
expect_eq crawl-2 "$rc" 0
ni d 20 2024-01-04T00:00:00Z a b
job blender h >"$T/e2.jsonl"
job python3Packages.torch d >>"$T/e2.jsonl"
cg import-eval --branch master --rev e2 --capabilities 8.6 --time 2024-01-04T02:00:00Z "$T/e2.jsonl"
expect_eq import-e2 "$rc" 0
rm "$C/${H}c.narinfo" "$C/${H}g.narinfo"
cg --now 2024-01-05T03:00:00Z crawl --json "$C"
expect_eq crawl-3 "$rc" 0
expect_eq crawl-3-gone "$(jq .gone "$T/out")" 2
expect_eq history-recorded "$(q "SELECT count(*) FROM presence WHERE gone_at IS NOT NULL")" 3
E1=$(q "SELECT id FROM evaluations WHERE rev = 'e1'")
E2=$(q "SELECT id FROM evaluations WHERE rev = 'e2'")

FROM=2024-01-01T12:00:00Z
TO=2024-01-05T12:00:00Z
# sim ARGS...: simulate --json over FROM..TO; $T/s.json, one line per step
# in $T/steps: "TIME stored=BYTES/PATHS pushed=P/B evicted=P/B rec=MATCHED/RECORDED GROUP=KEPT/JOBS..."
sim() {
	cg simulate --json --from "$FROM" --to "$TO" "$@"
	cp "$T/out" "$T/s.json"
	jq -r '.steps[] | "\(.time) stored=\(.storedBytes)/\(.storedPaths) pushed=\(.pushedPaths)/\(.pushedBytes) evicted=\(.evictedPaths)/\(.evictedBytes) rec=\(.matchedEvictions)/\(.recordedEvictions)" + ([.groups[] | " \(.branch)[\(.capabilities)]=\(.retained)/\(.jobs)"] | join(""))' \
		"$T/s.json" >"$T/steps" 2>/dev/null
}
# step NAME N WANT: line N of $T/steps
step() { expect_eq "$1" "$(sed -n "${2}p" "$T/steps")" "$3"; }
# match NAME "PREDICTED RECORDED MATCHED PRECISION RECALL"
match() {
	expect_eq "$1" "$(jq -r '.match | "\(.predicted) \(.recorded) \(.matched) \(.precision) \(.recall)"' "$T/s.json")" "$2"
}
reasons() { jq -c '[.steps[].evictedByReason]' "$T/s.json"; }

# --- cachix --------------------------------------------------------------------
# Keys are the last push or evaluation access.  d1: c and h pushed (50), E1
# touches h a c b at 02:00: the LRU order is f, h, a, c, b.  d2: g pushed
# (62), E3 touches g a; over 60 the head, f, goes (55), as the crawl at d2
# 03:00 recorded.  d3: d pushed (75); E2 touches h a d b, so the head is
# c (touched d1): it goes (55).  d4: nothing to do; c and g are recorded
# gone: the simulated cache let c go a step before, and holds g.
sim --policy cachix --limit 60
expect_eq cachix-exit "$rc" 0
expect_eq cachix-steps "$(wc -l <"$T/steps")" 4
step cachix-d1 1 "2024-01-02T12:00:00Z stored=50/5 pushed=2/28 evicted=0/0 rec=0/0 master[8.6]=2/2"
step cachix-d2 2 "2024-01-03T12:00:00Z stored=55/5 pushed=1/12 evicted=1/7 rec=1/1 master[8.6]=2/2 nixos-24.05[7.5,8.6]=1/1"
step cachix-d3 3 "2024-01-04T12:00:00Z stored=55/5 pushed=1/20 evicted=1/20 rec=0/0 master[8.6]=2/2 nixos-24.05[7.5,8.6]=1/1"
step cachix-d4 4 "2024-01-05T12:00:00Z stored=55/5 pushed=0/0 evicted=0/0 rec=1/2 master[8.6]=2/2 nixos-24.05[7.5,8.6]=1/1"
expect_eq cachix-reasons "$(reasons)" '[{},{"lru":1},{"lru":1},{}]'
expect_eq cachix-summary "$(jq -c '.summary' "$T/s.json")" '{"steps":4,"evictedPaths":2,"evictedBytes":27,"maxStoredBytes":55}'
expect_eq cachix-header "$(jq -c '[.policy, .limit, .retention, .access, .from, .to, .step]' "$T/s.json")" \
	'["cachix",60,null,"evals (auto: no access log imported)","2024-01-01T12:00:00Z","2024-01-05T12:00:00Z",86400]'
expect_eq cachix-group-fields "$(jq -c '.steps[3].groups[1] | [.branch, .capabilities, .system, .rev, .jobs, .retained, .share]' "$T/s.json")" \
	'["nixos-24.05","7.5,8.6","x86_64-linux","e3",1,1,1]'
expect_eq cachix-group-evaluation "$(jq '.steps[3].groups[0].evaluation' "$T/s.json")" "$E2"
# Anchored: from d0's crawl (a b f) plus c h g pushed, asked for the 7
# bytes found gone: f.  From d2's (a b c h g) plus d, asked for 32: c (d1)
# then g (d2), the least recently used.  Every recorded eviction, nothing else.
match cachix-match "3 3 3 1 1"
expect_eq cachix-intervals "$(jq -c '[.match.intervals[] | [.from, .to, .predicted, .recorded, .matched]]' "$T/s.json")" \
	'[["2024-01-01T01:00:00Z","2024-01-03T03:00:00Z",1,1,1],["2024-01-03T03:00:00Z","2024-01-05T03:00:00Z",2,2,2]]'

# --- attic ----------------------------------------------------------------------
# Retention 2 days; keys are the last push or NAR download (an evaluation
# downloads its closures).  d2 (cut d0 12:00): f (d0 00:20) expires.  d3
# (cut d1 12:00): c (touched d1 02:00).  d4 (cut d2 12:00): g (d2 02:00),
# as recorded in this step; E3's torch is no longer kept.
sim --policy attic --retention 2
expect_eq attic-exit "$rc" 0
step attic-d1 1 "2024-01-02T12:00:00Z stored=50/5 pushed=2/28 evicted=0/0 rec=0/0 master[8.6]=2/2"
step attic-d2 2 "2024-01-03T12:00:00Z stored=55/5 pushed=1/12 evicted=1/7 rec=1/1 master[8.6]=2/2 nixos-24.05[7.5,8.6]=1/1"
step attic-d3 3 "2024-01-04T12:00:00Z stored=55/5 pushed=1/20 evicted=1/20 rec=0/0 master[8.6]=2/2 nixos-24.05[7.5,8.6]=1/1"
step attic-d4 4 "2024-01-05T12:00:00Z stored=43/4 pushed=0/0 evicted=1/12 rec=2/2 master[8.6]=2/2 nixos-24.05[7.5,8.6]=0/1"
expect_eq attic-reasons "$(reasons)" '[{},{"expired":1},{"expired":1},{"expired":1}]'
expect_eq attic-header "$(jq -c '[.limit, .retention]' "$T/s.json")" '[null,2]'
match attic-match "3 3 3 1 1"
# Logs only: no access at all, so keys are push times.  d2 (cut d0 12:00):
# a, b and f expire, though c, h and g need a: no job is whole.  d3: d is
# pushed with the part of its closure the cache lacks (a b d, 35 bytes),
# which makes g whole again; c and h (d1) expire.
sim --policy attic --retention 2 --access logs
step attic-logs-d2 2 "2024-01-03T12:00:00Z stored=40/3 pushed=1/12 evicted=3/22 rec=1/1 master[8.6]=0/2 nixos-24.05[7.5,8.6]=0/1"
step attic-logs-d3 3 "2024-01-04T12:00:00Z stored=47/4 pushed=3/35 evicted=2/28 rec=0/0 master[8.6]=1/2 nixos-24.05[7.5,8.6]=1/1"
expect_eq attic-logs-access "$(jq -r .access "$T/s.json")" logs

# --- niks3 --------------------------------------------------------------------
# Retention 2 days, a day's grace.  d1: E1's outputs are roots; f, reached by
# no evaluation, goes (43).  d2: E1 and E3 in the window.  d3: E1 is out of
# it: c expires.  d4: only E2: g expires.
sim --policy niks3 --retention 2
expect_eq niks3-exit "$rc" 0
step niks3-d1 1 "2024-01-02T12:00:00Z stored=43/4 pushed=2/28 evicted=1/7 rec=0/0 master[8.6]=2/2"
step niks3-d2 2 "2024-01-03T12:00:00Z stored=55/5 pushed=1/12 evicted=0/0 rec=1/1 master[8.6]=2/2 nixos-24.05[7.5,8.6]=1/1"
step niks3-d3 3 "2024-01-04T12:00:00Z stored=55/5 pushed=1/20 evicted=1/20 rec=0/0 master[8.6]=2/2 nixos-24.05[7.5,8.6]=1/1"
step niks3-d4 4 "2024-01-05T12:00:00Z stored=43/4 pushed=0/0 evicted=1/12 rec=2/2 master[8.6]=2/2 nixos-24.05[7.5,8.6]=0/1"
expect_eq niks3-reasons "$(reasons)" '[{"unreached":1},{},{"expired":1},{"expired":1}]'
match niks3-match "3 3 3 1 1"

# --- priority -------------------------------------------------------------------
# Default weights: nixos-24.05 (nixos-*) 3, master 2.  d2 (62): f is reached by
# no output: it goes (55).  d3 (75): E2 supersedes E1, whose torch c goes.
sim --policy priority --limit 60
expect_eq priority-exit "$rc" 0
step priority-d1 1 "2024-01-02T12:00:00Z stored=50/5 pushed=2/28 evicted=0/0 rec=0/0 master[8.6]=2/2"
step priority-d2 2 "2024-01-03T12:00:00Z stored=55/5 pushed=1/12 evicted=1/7 rec=1/1 master[8.6]=2/2 nixos-24.05[7.5,8.6]=1/1"
step priority-d3 3 "2024-01-04T12:00:00Z stored=55/5 pushed=1/20 evicted=1/20 rec=0/0 master[8.6]=2/2 nixos-24.05[7.5,8.6]=1/1"
step priority-d4 4 "2024-01-05T12:00:00Z stored=55/5 pushed=0/0 evicted=0/0 rec=1/2 master[8.6]=2/2 nixos-24.05[7.5,8.6]=1/1"
expect_eq priority-reasons "$(reasons)" '[{},{"unreached":1},{"superseded":1},{}]'
# Anchored: f from d0's cache; from d2's plus d (75, asked for 32): the
# superseded c, then d, the least valuable current output (pushed after d2:
# not counted).  g, which a real LRU took, is kept: recall 2/3.
match priority-match "2 3 2 1 0.6666666666666666"
# Limit 45.  d1 (50): f goes (43).  d2 (55): master's torch c is worth 2,
# the release's 3: c goes (35).  d3: d is pushed (55) and goes (35).
sim --policy priority --limit 45
step priority45-d1 1 "2024-01-02T12:00:00Z stored=43/4 pushed=2/28 evicted=1/7 rec=0/0 master[8.6]=2/2"
step priority45-d2 2 "2024-01-03T12:00:00Z stored=35/4 pushed=1/12 evicted=1/20 rec=1/1 master[8.6]=1/2 nixos-24.05[7.5,8.6]=1/1"
step priority45-d3 3 "2024-01-04T12:00:00Z stored=35/4 pushed=1/20 evicted=1/20 rec=0/0 master[8.6]=1/2 nixos-24.05[7.5,8.6]=1/1"
expect_eq priority45-reasons "$(reasons)" '[{"unreached":1},{"low-value":1},{"low-value":1},{}]'
# master worth 5: at d2 the release's g goes instead (43); at d3 (63) the
# superseded c.
printf '# master first\nbranch master 5\n' >"$T/w1"
sim --policy priority --limit 45 --weights "$T/w1"
expect_eq weights-exit "$rc" 0
step weights-d2 2 "2024-01-03T12:00:00Z stored=43/4 pushed=1/12 evicted=1/12 rec=1/1 master[8.6]=2/2 nixos-24.05[7.5,8.6]=0/1"
step weights-d3 3 "2024-01-04T12:00:00Z stored=43/4 pushed=1/20 evicted=1/20 rec=0/0 master[8.6]=2/2 nixos-24.05[7.5,8.6]=0/1"
expect_eq weights-reasons "$(reasons)" '[{"unreached":1},{"low-value":1},{"superseded":1},{}]'

# --- which policy does the cache run? ---------------------------------------------
# The crawls recorded an LRU's evictions: cachix predicts all of them and
# nothing else; the others, with their defaults, do worse.
f1() { jq -r '.match | if .predicted == 0 or .recorded == 0 then 0 else (2 * .matched / (.predicted + .recorded)) end' "$T/s.json"; }
sim --policy cachix --limit 60; cachix_f1=$(f1)
expect_eq match-cachix-f1 "$cachix_f1" 1
sim --policy attic
match match-attic "0 3 0 null 0"
sim --policy niks3
# 30 days: every evaluation is a root; only f, reached by none, goes.
match match-niks3 "1 3 1 1 0.3333333333333333"
for p in attic niks3 priority; do
	case $p in priority) sim --policy priority --limit 60 ;; *) sim --policy $p ;; esac
	better=$(awk -v a="$cachix_f1" -v b="$(f1)" 'BEGIN { print (a > b) ? "yes" : "no" }')
	expect_eq "match-cachix-beats-$p" "$better" yes
done
cg simulate --policy cachix --limit 60 --from "$FROM" --to "$TO"
expect_eq text-exit "$rc" 0
has text-match "$T/out" "recorded evictions over 2 crawl intervals: predicted 3, recorded 3, matched 3"
has text-precision "$T/out" "precision 100.0%, recall 100.0%"
has text-header "$T/out" "4 steps of 1 days from 2024-01-01T12:00:00Z to 2024-01-05T12:00:00Z"
has text-group "$T/out" "nixos-24.05 [7.5,8.6] x86_64-linux"

# --- the span ----------------------------------------------------------------------
# Defaults: from the first push (d0 00:00) to the last crawl (d4 03:00),
# the last step short.
cg simulate --json --policy cachix --limit 60
expect_eq span-default "$(jq -c '[.from, .to, (.steps | length), .steps[-1].time, .steps[0].time]' "$T/out")" \
	'["2024-01-01T00:00:00Z","2024-01-05T03:00:00Z",5,"2024-01-05T03:00:00Z","2024-01-02T00:00:00Z"]'
# From d3 12:00: the cache as recorded then (a b c h g: f already gone),
# d pushed (75), c goes.
FROM=2024-01-03T12:00:00Z sim --policy cachix --limit 60
step span-from 1 "2024-01-04T12:00:00Z stored=55/5 pushed=1/20 evicted=1/20 rec=0/0 master[8.6]=2/2 nixos-24.05[7.5,8.6]=1/1"
expect_eq span-from-steps "$(wc -l <"$T/steps")" 2
# Half-day steps: the GC at d2 00:00 runs after g's push and before E3
# touches anything (f goes; the crawl in the next step finds it gone: a
# match all the same); at d3
# 00:00 d is pushed before E2 touches h: h (d1 02:00) and c go (47), and
# master's latest evaluation, E1, has nothing left.
sim --policy cachix --limit 60 --step 0.5
expect_eq step-half-count "$(wc -l <"$T/steps")" 8
expect_eq step-half-field "$(jq .step "$T/s.json")" 43200
step step-half-3 3 "2024-01-03T00:00:00Z stored=55/5 pushed=1/12 evicted=1/7 rec=0/0 master[8.6]=2/2"
step step-half-4 4 "2024-01-03T12:00:00Z stored=55/5 pushed=0/0 evicted=0/0 rec=1/1 master[8.6]=2/2 nixos-24.05[7.5,8.6]=1/1"
step step-half-5 5 "2024-01-04T00:00:00Z stored=47/4 pushed=1/20 evicted=2/28 rec=0/0 master[8.6]=0/2 nixos-24.05[7.5,8.6]=1/1"
step step-half-8 8 "2024-01-05T12:00:00Z stored=47/4 pushed=0/0 evicted=0/0 rec=1/2 master[8.6]=1/2 nixos-24.05[7.5,8.6]=1/1"
FROM=2024-01-05T12:00:00Z sim --policy cachix --limit 60
expect_eq span-empty-exit "$rc" 2
has span-empty-msg "$T/err" "nothing to replay: --from 2024-01-05T12:00:00Z is not before --to 2024-01-05T12:00:00Z"
FROM=2024-01-06 sim --policy cachix --limit 60
expect_eq span-backwards-exit "$rc" 2

# --- SIZE forms ---------------------------------------------------------------------
for s in 60:60 500M:524288000 1.5GiB:1610612736 2K:2048 1T:1099511627776 3KiB:3072; do
	sim --policy cachix --limit "${s%%:*}"
	expect_eq "size-${s%%:*}" "$rc $(jq .limit "$T/s.json")" "0 ${s#*:}"
done
for s in 12Q lots -5 0 1.5.5G ''; do
	cg simulate --policy cachix --limit "$s"
	expect_eq "size-bad-'$s'" "$rc" 2
done
cg simulate --policy cachix --limit 12Q
has size-bad-msg "$T/err" "--limit: cannot parse '12Q'"

# --- --next ----------------------------------------------------------------------------
# At d4 12:00 the last crawl saw a b d h (43 bytes).  priority, limit 30:
# current jobs are E2's (E3's g is gone); the kept order is h's closure
# (a h) then d's (b d): backwards, d is due, then b, h, a.
NOW=2024-01-05T12:00:00Z
nx() {
	cg --now "$NOW" simulate --json "$@"
	jq -r '.paths[] | "\(.path | sub("/nix/store/0+"; "")) \(.reason) \(.downloadSize) \(.due) \(.breaksCount)"' \
		"$T/out" 2>/dev/null | tr '\n' ',' 
}
expect_eq next-priority "$(nx --policy priority --limit 30 --next 10)" \
	"d-torch-b low-value 20 true 1,b-gcc-lib low-value 5 false 1,h-blender low-value 8 false 1,a-glibc low-value 10 false 2,"
cg --now "$NOW" simulate --json --policy priority --limit 30 --next 10
expect_eq next-priority-exit "$rc" 0
expect_eq next-header "$(jq -c '[.policy, .at, .storedBytes, .limit]' "$T/out")" '["priority","2024-01-05T12:00:00Z",43,30]'
expect_eq next-breaks "$(jq -c '.paths[0].breaks' "$T/out")" \
	"[{\"evaluation\":$E2,\"branch\":\"master\",\"capabilities\":\"8.6\",\"system\":\"x86_64-linux\",\"attr\":\"python3Packages.torch\",\"output\":\"out\"}]"
expect_eq next-breaks-glibc "$(jq -c '[.paths[3].breaks[] | .attr]' "$T/out")" '["blender","python3Packages.torch"]'
expect_eq next-n "$(nx --policy priority --limit 30 --next 2)" \
	"d-torch-b low-value 20 true 1,b-gcc-lib low-value 5 false 1,"
# torch worth 10: h's closure is the least valuable now.
printf 'attr python3Packages.torch 10\n' >"$T/w2"
expect_eq next-weights "$(nx --policy priority --limit 30 --next 1 --weights "$T/w2")" "h-blender low-value 8 true 1,"
# --to is the moment (the cache is the last crawl's all the same): at d2
# 12:00 E2 is not known yet and nothing reaches d, pushed later (its push
# time is taken as now): d and b, which only d needs, are unreached; d
# alone brings the cache under the limit.
expect_eq next-to "$(nx --policy priority --limit 30 --next 3 --to 2024-01-03T12:00:00Z)" \
	"d-torch-b unreached 20 true 0,b-gcc-lib unreached 5 false 0,h-blender low-value 8 false 1,"
# attic, retention 1 at d4 12:00 (cut d3 12:00): every key is E2's access
# at d3 02:00, ties by push: a b h d, all due, references ignored.
expect_eq next-attic "$(nx --policy attic --retention 1 --next 10)" \
	"a-glibc expired 10 true 2,b-gcc-lib expired 5 true 1,h-blender expired 8 true 1,d-torch-b expired 20 true 1,"
# niks3, 30 days: E2's outputs are roots, nothing goes.
expect_eq next-niks3 "$(nx --policy niks3 --next 10)" ""
cg --now "$NOW" simulate --json --policy niks3 --next 10
expect_eq next-niks3-exit "$rc $(jq -c .paths "$T/out")" "0 []"
# cachix under the limit: nothing due; losing a (the least recent, ties by
# push) loses every path that needs it, referrers first.
nx --policy cachix --limit 100 --next 10 >/dev/null
expect_eq next-cachix-due "$(jq -c '[.paths[].due] | unique' "$T/out")" '[false]'
expect_eq next-cachix-last "$(jq -r '.paths[-1] | "\(.path) \(.reason)"' "$T/out")" "$(sp a) lru"
expect_eq next-cachix-count "$(jq '.paths | length' "$T/out")" 4
expect_eq next-cachix-first "$(jq -r '.paths[0].reason' "$T/out")" dependency-lost
nx --policy cachix --limit 30 --next 10 >/dev/null
expect_eq next-cachix-all-due "$(jq -c '[.paths[].due] | unique' "$T/out")" '[true]'
cg --now "$NOW" simulate --policy priority --limit 30 --next 4
expect_eq next-text-exit "$rc" 0
has next-text-due "$T/out" "it takes 1 path now"
has next-text-line "$T/out" "---- under the limit from here: next in line"
has next-text-breaks "$T/out" "breaks python3Packages.torch.out (master [8.6], evaluation $E2)"
# --next needs no --limit (it lists the order), takes no --from or --step.
cg --now "$NOW" simulate --policy cachix --next 2 --json
expect_eq next-no-limit "$rc $(jq -c '[(.paths | length), ([.paths[].due] | unique), .limit]' "$T/out")" "0 [2,[false],null]"
cg --now "$NOW" simulate --policy priority --next 2
has next-no-limit-text "$T/out" "it takes 0 paths now"
cg simulate --policy cachix --next 2 --from 2024-01-01
expect_eq next-from "$rc" 2
cg simulate --policy cachix --next 2 --step 2
expect_eq next-step "$rc" 2
cg simulate --policy cachix --next 0
expect_eq next-zero "$rc" 2

# --- errors ------------------------------------------------------------------------------
cg simulate --limit 1G
expect_eq err-no-policy "$rc" 2
has err-no-policy-msg "$T/err" "--policy is required"
cg simulate --policy lru --limit 1G
expect_eq err-policy "$rc" 2
has err-policy-msg "$T/err" "unknown policy 'lru'"
for p in cachix priority; do
	cg simulate --policy $p
	expect_eq "err-$p-no-limit" "$rc" 2
	has "err-$p-no-limit-msg" "$T/err" "--policy $p needs --limit SIZE"
done
for p in attic niks3; do
	cg simulate --policy $p --from "$FROM" --to "$TO" --json
	expect_eq "ok-$p-no-limit" "$rc" 0
done
printf 'branch master 5\n\nbranch nixos-*\n' >"$T/bad1"
cg simulate --policy priority --limit 60 --weights "$T/bad1"
expect_eq err-weights "$rc" 1
has err-weights-msg "$T/err" "$T/bad1:3: want KIND PATTERN WEIGHT"
printf 'colour red 1\n' >"$T/bad2"
cg simulate --policy priority --limit 60 --weights "$T/bad2"
expect_eq err-weights-kind "$rc" 1
has err-weights-kind-msg "$T/err" "$T/bad2:1: unknown kind 'colour'"
printf 'attr blender -1\n' >"$T/bad3"
cg simulate --policy priority --limit 60 --weights "$T/bad3"
has err-weights-negative "$T/err" "$T/bad3:1: weight '-1' is not a number >= 0"
cg simulate --policy priority --limit 60 --weights "$T/none"
expect_eq err-weights-missing "$rc" 1
has err-weights-missing-msg "$T/err" "cannot read weights file '$T/none'"
for a in "--step 0" "--step -1" "--step soon" "--step 4000" "--retention 0" "--retention 2.5" \
	"--access everything" "--from yesterday" "--to 2024-13-01" "--bogus" "extra" "--next -1" \
	"--cache"; do
	# shellcheck disable=SC2086
	cg simulate --policy attic $a
	expect_eq "err-usage-$a" "$rc" 2
done
cg simulate --policy cachix --limit 60 --cache file:///nowhere
expect_eq err-cache "$rc" 1
cg simulate --policy cachix --limit 60 --cache "$C" --from "$FROM" --to "$TO" --json
expect_eq cache-by-dir "$rc $(jq '.steps | length' "$T/out")" "0 4"
cg simulate --policy cachix --limit 60 --from 2024-01-01 --to 2030-01-01 --step 0.0001
expect_eq err-too-many-steps "$rc" 2
has err-too-many-steps-msg "$T/err" "more than a million steps"

# --- imported access logs ---------------------------------------------------------
# On a copy: one NAR download of c (torch-a) at d1 20:00.  With a log, auto
# counts only logged accesses: keys are pushes, and c's download.  d2 (62):
# the least recent is a, and every stored path needs it: cachix loses all
# but f (7).  d3: d is pushed with a and b (42); E2's torch is whole.  d4:
# c and g are recorded gone, and the simulated cache holds neither.
cp "$DB" "$T/acc.db"
printf '10.0.0.1 - - [02/Jan/2024:20:00:00 +0000] "GET /nar/%sc.nar.xz HTTP/1.1" 200 20 "-" "Nix/2.18"\n' "$H" >"$T/access.log"
$CG --db "$T/acc.db" import-access "$T/access.log" >"$T/out" 2>"$T/err"
expect_eq access-import "$?" 0
DB0=$DB
DB="$T/acc.db"
sim --policy cachix --limit 60
expect_eq access-auto "$(jq -r .access "$T/s.json")" "logs (auto)"
step access-d2 2 "2024-01-03T12:00:00Z stored=7/1 pushed=1/12 evicted=5/55 rec=0/1 master[8.6]=0/2 nixos-24.05[7.5,8.6]=0/1"
step access-d3 3 "2024-01-04T12:00:00Z stored=42/4 pushed=3/35 evicted=0/0 rec=0/0 master[8.6]=1/2 nixos-24.05[7.5,8.6]=0/1"
step access-d4 4 "2024-01-05T12:00:00Z stored=42/4 pushed=0/0 evicted=0/0 rec=2/2 master[8.6]=1/2 nixos-24.05[7.5,8.6]=0/1"
expect_eq access-reasons "$(reasons)" '[{},{"lru":1,"dependency-lost":4},{},{}]'
# Anchored: from d0's cache plus c h g, a goes with b (and c h g, pushed
# after the crawl: not counted), where the crawl found f gone; from d2's
# plus d, a again, with b c h g: c and g match.
match access-match "7 3 2 0.2857142857142857 0.6666666666666666"
# --access evals: the evaluations count again, as without the log.
sim --policy cachix --limit 60 --access evals
step access-evals-d2 2 "2024-01-03T12:00:00Z stored=55/5 pushed=1/12 evicted=1/7 rec=1/1 master[8.6]=2/2 nixos-24.05[7.5,8.6]=1/1"
expect_eq access-evals-name "$(jq -r .access "$T/s.json")" evals
DB=$DB0

# A cache crawled once but whose crawl found nothing: no pushes to replay.
mkdir -p "$T/empty"
printf 'StoreDir: /nix/store\n' >"$T/empty/nix-cache-info"
$CG --db "$T/e.db" crawl "$T/empty" >/dev/null 2>&1
$CG --db "$T/e.db" simulate --policy cachix --limit 1G >"$T/out" 2>"$T/err"
expect_eq err-no-pushes "$?" 1
has err-no-pushes-msg "$T/err" "no recorded pushes for"

finish
