#!/bin/sh
# tests/cli/test_schedule.sh - `cachegc schedule` on a small history made
# through the real commands (narinfo files, crawl, import-eval) and worked
# out by hand: the measured figures, the schedule under a limit that holds
# everything (intervals, shares, pushes per week, Hydra and Hercules CI
# forms), an infeasible limit and its shortfall, the two monotonicity
# properties over several limits and weights, --keep, the policies,
# --validate, Markdown, errors, help.
#
# The world (size = FileSize; d0 = 2024-01-01, d1 = 2024-01-02):
#
#   path  size  refs  pushed       evaluation (branch [caps], time)
#   z       20  -     d-1 23:00    (the base both A and B use)
#   a1      10  z     d0 00:00     A1 nixos-unstable [8.6]  d0 01:00
#   x1      15  -     d0 01:30     X1 feature-a [8.6]       d0 02:00
#   y1      15  -     d0 02:30     Y1 feature-b [8.6]       d0 03:00
#   b1      30  z     d0 11:00     B1 master [8.6]          d0 12:00
#   a2      10  z     d1 00:10     A2 nixos-unstable [8.6]  d1 01:00
#   x2      15  -     d1 01:30     X2 feature-a [8.6]       d1 02:00
#   y2      15  -     d1 02:30     Y2 feature-b [8.6]       d1 03:00
#   b2      30  z     d1 11:00     B2 master [8.6]          d1 12:00
#
# Crawled at d0 23:00 and d2 00:00; a1 is deleted in between, so the
# second crawl records it gone: pushed d0 00:00, gone d2 00:00, 2 days.
. "$(dirname "$0")/../lib/lib.sh"
need sqlite3 jq awk
DB="$T/t.db"
C="$T/cache"
cg() {
	$CG --db "$DB" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}
H=000000000000000000000000000000
FH=sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s
# ni NAME SIZE MTIME [REF...]: the narinfo of path NAME (two characters).
ni() {
	n=$1 size=$2 when=$3
	shift 3
	refs=
	for r in "$@"; do refs="$refs${refs:+ }$H$r-p$r"; done
	printf 'StorePath: /nix/store/%s-p%s\nURL: nar/%s.nar.xz\nCompression: xz\nFileHash: %s\nFileSize: %s\nNarHash: %s\nNarSize: %s\nReferences: %s\n' \
		"$H$n" "$n" "$H$n" "$FH" "$size" "$FH" "$((size * 3))" "$refs" >"$C/$H$n.narinfo"
	touch -d "$when" "$C/$H$n.narinfo"
}
# ev BRANCH REV TIME PATH: one evaluation with one job, pkg = PATH.
ev() {
	printf '{"attr":"pkg","attrPath":["pkg"],"name":"pkg","system":"x86_64-linux","drvPath":"/nix/store/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz%s-%s.drv","outputs":{"out":"/nix/store/%s-p%s"}}\n' \
		"$4" "$4" "$H$4" "$4" >"$T/$2.jsonl"
	cg import-eval --branch "$1" --rev "$2" --capabilities 8.6 --time "$3" "$T/$2.jsonl"
	expect_eq "import-$2" "$rc" 0
}

# --- help and usage ----------------------------------------------------------------

$CG schedule --help >"$T/h" 2>&1
expect_eq help-exit $? 0
for o in --limit --cache --policy --weights --keep --horizon --target --at --validate --json \
	--markdown intervalDays predictedShare pushBytesPerWeek alternatives shortfallBytes; do
	has "help-$o" "$T/h" "$o"
done

# --- the history ---------------------------------------------------------------------

mkdir -p "$C"
printf 'StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 30\n' >"$C/nix-cache-info"
ni z0 20 2023-12-31T23:00:00Z
ni a1 10 2024-01-01T00:00:00Z z0
ni x1 15 2024-01-01T01:30:00Z
ni y1 15 2024-01-01T02:30:00Z
ni b1 30 2024-01-01T11:00:00Z z0
cg --now 2024-01-01T23:00:00Z crawl "$C"
expect_eq crawl-1 "$rc" 0
cg schedule
expect_eq no-limit-exit "$rc" 2
has no-limit-msg "$T/err" "--limit SIZE is required"
cg schedule --limit 1G --json --markdown
expect_eq json-markdown-exit "$rc" 2
cg schedule --limit 1G --policy lru
expect_eq bad-policy-exit "$rc" 2
has bad-policy-msg "$T/err" "not 'lru'"
cg schedule --limit 1G --keep 0
expect_eq keep-0-exit "$rc" 2
cg schedule --limit 1G --horizon 0.5
expect_eq horizon-exit "$rc" 2
cg --now 2024-01-01T23:00:00Z schedule --limit 1G
expect_eq no-evals-exit "$rc" 1
has no-evals-msg "$T/err" "no evaluation as of"
ev nixos-unstable A1 2024-01-01T01:00:00Z a1
ev feature-a X1 2024-01-01T02:00:00Z x1
ev feature-b Y1 2024-01-01T03:00:00Z y1
ev master B1 2024-01-01T12:00:00Z b1
ni a2 10 2024-01-02T00:10:00Z z0
ni x2 15 2024-01-02T01:30:00Z
ni y2 15 2024-01-02T02:30:00Z
ni b2 30 2024-01-02T11:00:00Z z0
ev nixos-unstable A2 2024-01-02T01:00:00Z a2
ev feature-a X2 2024-01-02T02:00:00Z x2
ev feature-b Y2 2024-01-02T03:00:00Z y2
ev master B2 2024-01-02T12:00:00Z b2
rm "$C/${H}a1.narinfo"
cg --now 2024-01-03T00:00:00Z crawl "$C"
expect_eq crawl-2 "$rc" 0
NOW=2024-01-03T00:00:00Z
# sched ARGS...: schedule --json as of NOW into $T/s.json
sched() {
	cg --now "$NOW" schedule --json "$@"
	cp "$T/out" "$T/s.json"
}
# g BRANCH FIELD: that group's field
g() { jq -c --arg b "$1" ".groups[] | select(.branch == \$b) | .$2" "$T/s.json"; }

# --- measured ---------------------------------------------------------------------------
# Evaluations in time order: A1 needs a1 + z (30, its first), X1 x1, Y1
# y1, B1 b1 (30: z is held), A2 a2 (10: A's churn), X2 x2 (15), Y2 y2
# (15), B2 b2 (30).  Newest closures: A a2 + z = 30, B b2 + z = 50, X and
# Y 15; z (20) is shared by A and B.  One day between evaluations: 7 a
# week.  Survival: a1 went after 2 days; nothing else went.
sched --limit 1G
expect_eq run-exit "$rc" 0
expect_eq groups "$(jq -c '[.groups[] | "\(.branch)/\(.capabilities)/\(.system)"]' "$T/s.json")" \
	'["nixos-unstable/8.6/x86_64-linux","feature-a/8.6/x86_64-linux","feature-b/8.6/x86_64-linux","master/8.6/x86_64-linux"]'
expect_eq closure "$(jq -c '[.groups[].closureBytes]' "$T/s.json")" '[30,15,15,50]'
expect_eq churn "$(jq -c '[.groups[].churnBytes]' "$T/s.json")" '[10,15,15,30]'
expect_eq shared "$(jq -c '[.groups[].sharedBytes]' "$T/s.json")" '[20,0,0,20]'
expect_eq evals-per-week "$(jq -c '[.groups[].evalsPerWeek]' "$T/s.json")" '[7,7,7,7]'
expect_eq measured-evals "$(jq -c '[.groups[].measuredEvals]' "$T/s.json")" '[2,2,2,2]'
expect_eq survival "$(jq -c '[.groups[].survivalDays]' "$T/s.json")" '[2,null,null,null]'
expect_eq gone-outputs "$(jq -c '[.groups[] | "\(.goneOutputs)/\(.outputs)"]' "$T/s.json")" \
	'["1/2","0/2","0/2","0/2"]'

# --- a limit that holds everything -------------------------------------------------------
# Nothing is ever evicted, so every level is feasible and the highest,
# t = 1, wins: rung = floor(weight / 4 x 7): A (nixos-unstable, 4) rung 7
# = 6 h, B (master, 2) rung 3 = 3 days, X and Y (1) rung 1 = 14 days.
# Every share is 1.  Pushes a week = churn(I) x 7 / I days, churn(I) =
# closure x (1 - exp(-r I)) with r from the measured churn at 1 day: A
# 30 x (1 - (2/3)^(1/4)) = 2 (whole bytes) x 28; B 50 x (1 - 0.4^3) = 46
# x 7/3; X and Y churn all their closure (15/15): 15 x 7/14.
expect_eq feasible "$(jq .feasible "$T/s.json")" true
expect_eq no-shortfall "$(jq 'has("shortfallBytes")' "$T/s.json")" false
expect_eq intervals "$(jq -c '[.groups[].intervalDays]' "$T/s.json")" '[0.25,14,14,3]'
expect_eq shares "$(jq -c '[.groups[].predictedShare]' "$T/s.json")" '[1,1,1,1]'
pa=$(awk 'BEGIN { c = int(30 * (1 - exp(0.25 * log(2 / 3)))); printf "%d", c * 7 / 0.25 }')
pb=$(awk 'BEGIN { c = int(50 * (1 - 0.4 ^ 3)); printf "%.0f", c * 7 / 3 }')
expect_eq push-hand "$pa $pb" "56 107"
expect_eq push-per-week "$(jq -c '[.groups[].pushBytesPerWeek]' "$T/s.json")" "[$pa,8,8,$pb]"
expect_eq hydra "$(jq -c '[.groups[].hydraCheckinterval]' "$T/s.json")" '[21600,1209600,1209600,259200]'
expect_eq hercules-a "$(g nixos-unstable herculesWhen)" '"{ hour = [ 0 6 12 18 ]; }"'
expect_eq hercules-x "$(g feature-a herculesWhen)" '"{ dayOfMonth = [ 1 15 ]; hour = [ 1 ]; }"'
expect_eq hercules-b "$(g master herculesWhen)" '"{ dayOfWeek = [ \"Mon\" \"Thu\" ]; hour = [ 3 ]; }"'
# Alternatives: the next longer and shorter rung; A has no shorter one.
expect_eq alt-a "$(g nixos-unstable 'alternatives | map(.intervalDays)')" '[0.5]'
expect_eq alt-b "$(g master 'alternatives | map(.intervalDays)')" '[7,2]'
expect_eq alt-x "$(g feature-a 'alternatives | map(.intervalDays)')" '[null,7]'
expect_eq alt-x-never-push "$(g feature-a 'alternatives[0].pushBytesPerWeek')" 0
expect_eq top-fields "$(jq -c 'keys_unsorted[0:6]' "$T/s.json")" \
	'["limit","policy","horizonDays","keep","target","feasible"]'
expect_eq horizon-default "$(jq .horizonDays "$T/s.json")" 28

cg --now "$NOW" schedule --limit 1G
expect_eq text-exit "$rc" 0
has text-feasible "$T/out" "feasible: the most valuable groups keep the target"
has text-hydra "$T/out" "nixos-unstable-cuda8_6-x86_64-linux checkinterval = 21600"
has text-hercules "$T/out" "onSchedule.master-cuda8_6-x86_64-linux.when = { dayOfWeek = [ \"Mon\" \"Thu\" ]; hour = [ 3 ]; };"
cg --now "$NOW" schedule --limit 1G --markdown
expect_eq md-exit "$rc" 0
has md-table "$T/out" "| group | weight |"
has md-row "$T/out" '| `nixos-unstable / 8.6 / x86_64-linux` | 4 | 7.0 |'
has md-hydra "$T/out" "checkinterval = 259200"

# --- infeasible ----------------------------------------------------------------------------
# 10 bytes cannot hold A's newest closure (30): no level is feasible.  The
# shortfall is what the limit lacks: at limit + shortfall some level is
# feasible, below it (1% less) none is.
sched --limit 10
expect_eq infeasible-exit "$rc" 0
expect_eq infeasible "$(jq .feasible "$T/s.json")" false
# the answer shown is the lowest level: A (the heaviest) every 14 days
expect_eq infeasible-lowest "$(jq -c '[.groups[].intervalDays]' "$T/s.json")" '[14,null,null,null]'
sf=$(jq .shortfallBytes "$T/s.json")
need_l=$((10 + sf))
if [ "$sf" -gt 0 ] && [ "$need_l" -ge 30 ]; then pass shortfall-range; else fail shortfall-range "shortfall $sf"; fi
sched --limit "$need_l"
expect_eq shortfall-enough "$(jq .feasible "$T/s.json")" true
sched --limit $((need_l * 99 / 100))
expect_eq shortfall-tight "$(jq .feasible "$T/s.json")" false
cg --now "$NOW" schedule --limit 10
has infeasible-text "$T/out" "NOT feasible: no schedule keeps the newest builds of the most valuable groups"
has infeasible-need "$T/out" "(a limit of"
# attic has no limit to raise: no shortfall figure
sched --limit 10 --policy attic --horizon 60
expect_eq attic-runs "$rc" 0

# --- a larger limit never gives a longer interval --------------------------------------------
# intervals as numbers, never = 1e9, for each limit in turn
ivs() { jq -c '[.groups[] | (.intervalDays // 1e9)]' "$T/s.json"; }
for pol in cachix priority; do
	prev=
	ok=1
	for l in 5 10 15 20 30 40 45 50 60 70 80 100 120 150 200 1000; do
		sched --limit "$l" --policy "$pol"
		cur=$(ivs)
		if [ -n "$prev" ] && ! jq -n --argjson p "$prev" --argjson c "$cur" \
			-e '[range(0; $p | length) | $c[.] <= $p[.]] | all' >/dev/null; then
			ok=0
			fail "limit-monotone-$pol" "limit $l gives $cur after $prev"
		fi
		prev=$cur
		echo "$l $cur" >>"$T/limits-$pol"
		[ -n "${VERBOSE:-}" ] && echo "limit $l $pol: $cur"
	done
	[ "$ok" = 1 ] && pass "limit-monotone-$pol"
	# the limits tried must give more than one schedule
	if [ "$(awk '{ print $2 }' "$T/limits-$pol" | sort -u | wc -l)" -gt 1 ]; then pass "limit-varies-$pol"
	else fail "limit-varies-$pol" "$(cat "$T/limits-$pol")"; fi
done

# --- a heavier group never gets a longer interval than an equal one --------------------------
# X (feature-a) and Y (feature-b) are the same but for the hour.  Weighted
# 1 and 3: Y's interval <= X's under every limit; swapped, the other way.
# Under the limit that holds everything: X rung floor(1/4 x 7) = 1 (14 d),
# Y rung floor(3/4 x 7) = 5 (1 day).
printf 'branch feature-a 1\nbranch feature-b 3\n' >"$T/w1"
printf 'branch feature-a 3\nbranch feature-b 1\n' >"$T/w2"
sched --limit 1G --weights "$T/w1"
expect_eq weighted-xy "$(g feature-a intervalDays) $(g feature-b intervalDays)" "14 1"
expect_eq weighted-weights "$(g feature-a weight) $(g feature-b weight)" "1 3"
for pol in cachix priority; do
	ok=1
	for l in 20 30 45 60 80 120 1000; do
		sched --limit "$l" --policy "$pol" --weights "$T/w1"
		x=$(g feature-a 'intervalDays // 1e9') y=$(g feature-b 'intervalDays // 1e9')
		sched --limit "$l" --policy "$pol" --weights "$T/w2"
		x2=$(g feature-a 'intervalDays // 1e9') y2=$(g feature-b 'intervalDays // 1e9')
		if ! awk -v x="$x" -v y="$y" -v x2="$x2" -v y2="$y2" 'BEGIN { exit !(y <= x && x2 <= y2) }'; then
			ok=0
			fail "weight-monotone-$pol-$l" "w1: X $x Y $y; w2: X $x2 Y $y2"
		fi
	done
	[ "$ok" = 1 ] && pass "weight-monotone-$pol"
done

# --- keep, horizon, the other policies --------------------------------------------------------
sched --limit 1G --keep 2 --horizon 14
expect_eq keep-2 "$(jq -c '[.keep, .horizonDays, .feasible, [.groups[].predictedShare]]' "$T/s.json")" \
	'[2,14,true,[1,1,1,1]]'
for pol in attic niks3 priority; do
	sched --limit 1G --policy "$pol"
	expect_eq "policy-$pol" "$rc $(jq -r .policy "$T/s.json") $(jq '.groups | length' "$T/s.json")" "0 $pol 4"
done

# --- the scratch database ----------------------------------------------------------------------
# Written in $TMPDIR and removed afterwards; an unwritable TMPDIR is named.
mkdir "$T/tmp"
TMPDIR="$T/tmp" $CG --db "$DB" --now "$NOW" schedule --limit 1G >/dev/null 2>"$T/err"
expect_eq scratch-run "$?" 0
expect_eq scratch-removed "$(ls -A "$T/tmp" | wc -l | tr -d ' ')" 0
TMPDIR="$T/no-such-dir" $CG --db "$DB" --now "$NOW" schedule --limit 1G >/dev/null 2>"$T/err"
expect_eq scratch-unwritable-exit "$?" 1
has scratch-unwritable-msg "$T/err" "unable to create a scratch database '$T/no-such-dir/cachegc-schedule-"

# --- --validate ------------------------------------------------------------------------------------
# Split: the first evaluation (d0 01:00) and the last crawl (d2 00:00):
# d1 00:30.  Measured from A1, X1, Y1, B1; A2, X2, Y2, B2 replayed.  The
# crawl at d2 holds a2, x2, y2, b2 and z: every group recorded whole, and
# under 1G predicted whole: error 0.
cg --now "$NOW" schedule --limit 1G --validate --json
expect_eq validate-exit "$rc" 0
cp "$T/out" "$T/v.json"
expect_eq validate-split "$(jq -r '"\(.split) \(.end) \(.crawls)"' "$T/v.json")" \
	"2024-01-02T00:30:00Z 2024-01-03T00:00:00Z 1"
expect_eq validate-shares "$(jq -c '[.groups[] | [.predicted, .recorded]]' "$T/v.json")" \
	'[[1,1],[1,1],[1,1],[1,1]]'
expect_eq validate-mae "$(jq .meanAbsoluteError "$T/v.json")" 0
# Under 40 bytes the model loses some: its error is the mean |p - r|.
cg --now "$NOW" schedule --limit 40 --validate --json
cp "$T/out" "$T/v.json"
expect_eq validate-mae-mean "$(jq '((([.groups[] | (.predicted - .recorded) | fabs] | add) / (.groups | length)) - .meanAbsoluteError) | fabs < 1e-9' "$T/v.json")" true
cg --now "$NOW" schedule --limit 1G --validate
has validate-text "$T/out" "mean absolute error: 0.0 percentage points over 4 groups"
cg --now 2024-01-01T22:00:00Z schedule --limit 1G --validate
expect_eq validate-no-later-crawl "$rc" 1
has validate-no-later-crawl-msg "$T/err" "--validate needs"

finish
