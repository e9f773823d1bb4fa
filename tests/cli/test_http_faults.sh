#!/bin/sh
# `crawl` over HTTP against a misbehaving cache (build/tests/faultserver):
# what each fault leaves in the DB and the summary.  Faults that recover
# must give the same facts as a clean crawl; a path whose presence cannot
# be determined is unknown, never absent, never gone; bodies that are not
# narinfos are rejected and named; Ctrl-C keeps what was fetched and the
# next crawl does not fetch it again.  A crawl in which every request
# failed is recorded 'failed' and exits 1; --strict fails on any unknown or
# rejected path; a Last-Modified later than the crawl is clamped to it;
# headers too large for libcurl are named as such.
#
# The server applies a fault to the first N requests of each URL under
# /fault/KIND/N/ (see tests/tools/faultserver.c), so each scenario crawls
# the cache under its own fault prefix (a cache URL of its own).  To fault
# only some paths, the test spends the faults of the others first with
# curl.  --tries and --timeout keep the runs short.
. "$(dirname "$0")/../lib/lib.sh"
need sqlite3 jq curl
FS=${BUILD:-$(dirname "$CACHEGC")}/tests/faultserver
[ -x "$FS" ] || { fail faultserver "no $FS (make unit-tests builds it)"; exit 1; }

# --- a small cache: a diamond, a self-reference, and bad narinfos ----------
#   H5 -> H3, H4;  H3 -> H2, H3 (self);  H2 -> H1;  H4 -> H1
C=$T/cache
mkdir -p "$C/other"
printf 'StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 30\n' >"$C/nix-cache-info"
printf 'StoreDir: /gnu/store\n' >"$C/other/nix-cache-info"
narinfo() { # HASH NAME [REFS]
	printf 'StorePath: /nix/store/%s-%s\nURL: nar/%s.nar.xz\nCompression: xz\nFileHash: sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s\nFileSize: 100\nNarHash: sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s\nNarSize: 1000\nReferences: %s\nSig: test-1:%s\n' \
		"$1" "$2" "$1" "${3:-}" \
		"bm90IGEgcmVhbCBzaWduYXR1cmUgYnV0IDY0IGJ5dGVzIGxvbmcuLi4uLi4uLi4uLi4uLi4uLi4uLi4uLi4uLg=="
}
H1=11111111111111111111111111111111
H2=22222222222222222222222222222222
H3=33333333333333333333333333333333
H4=44444444444444444444444444444444
H5=55555555555555555555555555555555
H6=66666666666666666666666666666666
H7=77777777777777777777777777777777
H8=88888888888888888888888888888888
H9=99999999999999999999999999999999
narinfo $H1 leaf >"$C/$H1.narinfo"
narinfo $H2 chain "$H1-leaf" >"$C/$H2.narinfo"
narinfo $H3 top "$H2-chain $H3-top" >"$C/$H3.narinfo"
narinfo $H4 side "$H1-leaf" >"$C/$H4.narinfo"
narinfo $H5 root "$H3-top $H4-side" >"$C/$H5.narinfo"
head -c 3000 /dev/urandom >"$C/$H6.narinfo"                     # garbage
{ narinfo $H7 big; head -c 10485760 /dev/zero | tr '\0' 'x'; } >"$C/$H7.narinfo"  # 10 MiB
narinfo $H1 leaf >"$C/$H9.narinfo"                                # another path's narinfo
# $H8 has no narinfo: absent.
PUSHED=1700000000
touch -d @$PUSHED "$C"/*.narinfo

ALL="$H1 $H2 $H3 $H4 $H5"
printf '# the closure of one root\n\n/nix/store/%s-root\n' $H5 >"$T/roots"
printf '/nix/store/%s-%s\n' $H6 garbage $H7 big $H8 missing $H9 mismatched >"$T/roots-bad"
# Every path of the closure as a root: asked for at once, not level by level.
printf '/nix/store/%s-%s\n' $H5 root $H4 side $H3 top $H2 chain $H1 leaf >"$T/roots-all"

# --- the server ----------------------------------------------------------------

"$FS" --root "$C" --port-file "$T/port" --log "$T/fs.log" --max-seconds 300 >"$T/fs.out" 2>&1 &
at_exit "kill $! 2>/dev/null"
i=0
while ! [ -s "$T/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
[ -s "$T/port" ] || { fail faultserver-start "$(cat "$T/fs.out")"; exit 1; }
BASE="http://127.0.0.1:$(cat "$T/port")"

NOW=2030-01-01
# crawl NAME DB URL [ARGS...]: a crawl with --json, short tries; RC, and
# $T/NAME.json, $T/NAME.err.  Log lines it caused are in $T/NAME.log.
crawl() {
	cn=$1 cdb=$2 curl_=$3
	shift 3
	cmark=$(wc -l <"$T/fs.log")
	$CG --db "$cdb" --now "$NOW" crawl --json --tries 3 --timeout 1 "$@" "$curl_" \
		>"$T/$cn.json" 2>"$T/$cn.err"
	RC=$?
	tail -n +$((cmark + 1)) "$T/fs.log" >"$T/$cn.log"
}
# counts NAME: "status new present gone rejected absent unknown"
counts() {
	jq -r '[.status, .new, .present, .gone, .rejected, .absent, .unknown] | map(tostring) | join(" ")' \
		"$T/$1.json" 2>&1
}
# crawl_status DB: the crawls table's status of each crawl, in order
crawl_status() { q "$1" "SELECT group_concat(status, ' ') FROM (SELECT status FROM crawls ORDER BY id)"; }
# reqs NAME METHOD PATH: how many requests the crawl NAME made for PATH
reqs() { grep -c "^[0-9]* $2 $3\$" "$T/$1.log"; }
# spend PATH N: use up the first N faults of PATH
spend() {
	j=0
	while [ $j -lt "$2" ]; do
		curl -s -o /dev/null --max-time 0.3 "$BASE$1"
		j=$((j + 1))
	done
}
q() { sqlite3 -batch -noheader "$1" "$2" 2>&1; }
# crawls_kept DB: the number of crawls recorded in DB; "no database" when
# the run left none (a refused first crawl takes back the DB it created)
crawls_kept() {
	if [ -e "$1" ]; then q "$1" 'SELECT count(*) FROM crawls'; else echo "no database"; fi
}
# facts DB URL: every narinfo fact recorded for cache URL, by hash
facts() {
	q "$1" "SELECT p.hash, n.url, n.compression, n.file_hash, n.file_size, n.nar_hash,
		n.nar_size, ifnull(n.deriver, '-'),
		(SELECT group_concat(r, ' ') FROM (SELECT rp.hash AS r FROM refs f
			JOIN paths rp ON rp.id = f.ref_id
			WHERE f.cache_id = n.cache_id AND f.path_id = n.path_id ORDER BY rp.hash)),
		(SELECT group_concat(key_name || ':' || sig, ' ') FROM sigs s
			WHERE s.cache_id = n.cache_id AND s.path_id = n.path_id),
		e.push_time
		FROM narinfos n JOIN caches c ON c.id = n.cache_id JOIN paths p ON p.id = n.path_id
		JOIN presence e ON e.cache_id = n.cache_id AND e.path_id = n.path_id
		WHERE c.url = '$2' ORDER BY p.hash"
}
# check_row DB URL HASH: the path_checks row of HASH, "status code"
check_row() {
	q "$1" "SELECT k.status || ' ' || ifnull(k.http_code, '-') FROM path_checks k
		JOIN caches c ON c.id = k.cache_id JOIN paths p ON p.id = k.path_id
		WHERE c.url = '$2' AND p.hash = '$3'"
}

# --- a clean crawl: the closure, each narinfo fetched once ------------------

D=$T/clean.db
crawl clean "$D" "$BASE" --roots "$T/roots"
expect_eq clean-exit "$RC" 0
expect_eq clean-counts "$(counts clean)" "complete 5 0 0 0 0 0"
expect_eq clean-json-keys "$(jq -c 'keys' "$T/clean.json")" \
	'["absent","cache","clamped","crawl","gone","new","paths","present","rejected","rejectedBytes","status","unknown"]'
expect_eq clean-not-clamped "$(jq .clamped "$T/clean.json")" 0
expect_eq clean-cache-url "$(jq -r .cache "$T/clean.json")" "$BASE"
expect_eq clean-cache-info-once "$(reqs clean GET /nix-cache-info)" 1
for h in $ALL; do
	expect_eq "clean-get-once-$h" "$(reqs clean GET "/$h.narinfo")" 1
done
expect_eq clean-no-head "$(grep -c ' HEAD ' "$T/clean.log")" 0
expect_eq clean-only-the-closure "$(grep -c '\.narinfo$' "$T/clean.log")" 5
expect_eq clean-refs "$(q "$D" 'SELECT count(*) FROM refs')" 6
expect_eq clean-sigs "$(q "$D" 'SELECT count(*) FROM sigs')" 5
expect_eq clean-push-time "$(q "$D" "SELECT DISTINCT push_time FROM presence")" "$PUSHED"
expect_eq clean-cache-info "$(q "$D" 'SELECT priority, want_mass_query FROM caches')" "30|1"
expect_eq clean-no-checks "$(q "$D" 'SELECT count(*) FROM path_checks')" 0
facts "$D" "$BASE" >"$T/clean.facts"
expect_eq clean-facts-rows "$(wc -l <"$T/clean.facts")" 5

# The same cache read as a directory gives the same facts.
$CG --db "$T/dir.db" --now "$NOW" crawl --json "$C" >"$T/dir.json" 2>"$T/dir.err"
facts "$T/dir.db" "file://$(cd "$C" && pwd -P)" | grep -v "^$H9|" >"$T/dir.facts"
if cmp -s "$T/clean.facts" "$T/dir.facts"; then
	pass clean-equals-directory-crawl
else
	fail clean-equals-directory-crawl "$(diff "$T/dir.facts" "$T/clean.facts" | head -20)"
fi

# A URL given with a trailing slash and an upper-case scheme is the same cache.
crawl again "$D" "HTTP://${BASE#http://}/" --roots "$T/roots"
expect_eq again-same-cache "$(jq -r .cache "$T/again.json")" "$BASE"
expect_eq again-counts "$(counts again)" "complete 0 5 0 0 0 0"
# Known narinfos are never fetched again: one HEAD each, no GET.
for h in $ALL; do
	expect_eq "again-head-$h" "$(reqs again HEAD "/$h.narinfo")/$(reqs again GET "/$h.narinfo")" 1/0
done
expect_eq again-text-summary "$($CG --db "$D" --now "$NOW" crawl --roots "$T/roots" "$BASE" 2>&1)" \
	"crawled $BASE: 0 new, 5 present, 0 gone, 0 rejected, 0 absent, 0 unknown"

# --- bad bodies: rejected and named; absent recorded --------------------------

crawl bad "$D" "$BASE" --roots "$T/roots-bad"
expect_eq bad-exit "$RC" 0
expect_eq bad-counts "$(counts bad)" "complete 0 0 0 3 1 0"
for h in $H6 $H7 $H9; do
	check "bad-named-$h" grep -q "$BASE/$h.narinfo" "$T/bad.err"
	expect_eq "bad-check-$h" "$(check_row "$D" "$BASE" $h)" "rejected 200"
done
check bad-huge-why grep -q "$H7.narinfo: larger than 1048576 bytes" "$T/bad.err"
check bad-mismatch-why grep -q "$H9.narinfo:1: StorePath" "$T/bad.err"
expect_eq bad-huge-get-once "$(reqs bad GET "/$H7.narinfo")" 1
expect_eq bad-rejects-kept "$(q "$D" "SELECT count(*) FROM crawl_rejects WHERE source LIKE '$BASE/%'")" 3
# A refused narinfo's bytes: the body's length plus its FileSize when
# readable; unknown (NULL) for a body over the limit.
expect_eq bad-reject-bytes "$(q "$D" "SELECT group_concat(hash || ':' || coalesce(bytes, 'null'), ' ') FROM (SELECT hash, bytes FROM crawl_rejects WHERE source LIKE '$BASE/%' ORDER BY hash)")" \
	"$H6:$(stat -c %s "$C/$H6.narinfo") $H7:null $H9:$(( $(stat -c %s "$C/$H9.narinfo") + 100 ))"
expect_eq bad-json-rejected-bytes "$(jq .rejectedBytes "$T/bad.json")" \
	"$(( $(stat -c %s "$C/$H6.narinfo") + $(stat -c %s "$C/$H9.narinfo") + 100 ))"
expect_eq absent-check "$(check_row "$D" "$BASE" $H8)" "absent 404"
expect_eq absent-path-named "$(q "$D" "SELECT name FROM paths WHERE hash = '$H8'")" missing
expect_eq absent-no-presence "$(q "$D" "SELECT count(*) FROM presence e JOIN paths p ON p.id = e.path_id WHERE p.hash = '$H8'")" 0

# --- faults that recover: the same facts as the clean crawl --------------------
#   KIND/N   what the first N requests of each URL get
# (--roots-all: every retry wave is one wave, not one per closure level.)
for f in 500/2 503/2 429/1 close/1 truncated/1 timeout/1 drip/1 redirect/1 gzip/all; do
	name=recover-$(echo "$f" | tr '/' '-')
	u="$BASE/fault/$f"
	crawl "$name" "$T/$name.db" "$u" --roots "$T/roots-all"
	expect_eq "$name-exit" "$RC" 0
	expect_eq "$name-counts" "$(counts "$name")" "complete 5 0 0 0 0 0"
	facts "$T/$name.db" "$u" >"$T/$name.facts"
	# The server's gzip answers carry no Last-Modified: no push time.
	[ "$f" = gzip/all ] && sed -i 's/|[0-9]*$/|1700000000/' "$T/$name.facts"
	if cmp -s "$T/clean.facts" "$T/$name.facts"; then
		pass "$name-facts"
	else
		fail "$name-facts" "$(diff "$T/clean.facts" "$T/$name.facts" | head -10)"
	fi
	n=${f#*/}
	case $n in all) want=1 ;; *) want=$((n + 1)) ;; esac
	case $f in redirect/*) want=1 ;; esac  # the redirect is followed in the same try
	expect_eq "$name-tries" "$(reqs "$name" GET "/fault/$f/$H1.narinfo")" "$want"
done

# --- faults that do not recover -------------------------------------------------

# The cache answers nothing useful at all: nothing is recorded.
crawl down "$T/down.db" "$BASE/fault/503/all" --roots "$T/roots"
expect_eq down-exit "$RC" 1
check down-why grep -q "nix-cache-info: HTTP 503 (gave up after 3 tries)" "$T/down.err"
expect_eq down-nothing "$(crawls_kept "$T/down.db")" "no database"

# One path of the closure fails every try: unknown, never absent; what lies
# behind it is not asked for, and the rest is recorded.
u="$BASE/fault/503/3"
spend /fault/503/3/nix-cache-info 3
for h in $H1 $H3 $H4 $H5; do spend "/fault/503/3/$h.narinfo" 3; done
crawl hole "$T/hole.db" "$u" --roots "$T/roots"
expect_eq hole-exit "$RC" 0
expect_eq hole-counts "$(counts hole)" "complete 4 0 0 0 0 1"
check hole-named grep -q "$u/$H2.narinfo: HTTP 503 (gave up after 3 tries)" "$T/hole.err"
check hole-warning grep -q "1 path could not be checked" "$T/hole.err"
expect_eq hole-check "$(check_row "$T/hole.db" "$u" $H2)" "unknown 503"
expect_eq hole-tries "$(reqs hole GET "/fault/503/3/$H2.narinfo")" 3
expect_eq hole-not-present "$(q "$T/hole.db" "SELECT count(*) FROM presence e JOIN paths p ON p.id = e.path_id WHERE p.hash = '$H2'")" 0
# H1 is reached through H4 anyway.
expect_eq hole-leaf-recorded "$(q "$T/hole.db" "SELECT count(*) FROM narinfos n JOIN paths p ON p.id = n.path_id WHERE p.hash = '$H1'")" 1

# Permanent answers are not retried and are not absence either.  The only
# path asked for got no answer: the crawl failed (exit 1, 'failed').
for f in 403 redirect-file; do
	u="$BASE/fault/$f/1"
	spend "/fault/$f/1/nix-cache-info" 1
	crawl "perm-$f" "$T/perm-$f.db" "$u" --roots "$T/roots"
	expect_eq "perm-$f-exit" "$RC" 1
	expect_eq "perm-$f-counts" "$(counts "perm-$f")" "failed 0 0 0 0 0 1"
	expect_eq "perm-$f-row" "$(crawl_status "$T/perm-$f.db")" failed
	check "perm-$f-says" grep -q "every request to '$u' failed (1 path unknown)" "$T/perm-$f.err"
	expect_eq "perm-$f-once" "$(reqs "perm-$f" GET "/fault/$f/1/$H5.narinfo")" 1
done
expect_eq perm-403-check "$(check_row "$T/perm-403.db" "$BASE/fault/403/1" $H5)" "unknown 403"
check perm-redirect-refused grep -q "refused redirect to 'file:///etc/passwd'" "$T/perm-redirect-file.err"
if grep -q 'root:' "$T/perm-redirect-file.err" "$T/perm-redirect-file.json" ||
	q "$T/perm-redirect-file.db" "SELECT error FROM path_checks" | grep -q 'root:'; then
	fail perm-redirect-no-leak "/etc/passwd content leaked"
else
	pass perm-redirect-no-leak
fi
# Redirected away at nix-cache-info: the crawl fails and says why.
crawl redirect-ci "$T/redirect-ci.db" "$BASE/fault/redirect-file/all" --roots "$T/roots"
expect_eq redirect-ci-exit "$RC" 1
check redirect-ci-why grep -q "refused redirect to 'file:///etc/passwd'" "$T/redirect-ci.err"

# Bodies cut off or not narinfos, from the server this time.
for f in garbage huge hugestream badgzip; do
	u="$BASE/fault/$f/1"
	spend "/fault/$f/1/nix-cache-info" 1
	crawl "body-$f" "$T/body-$f.db" "$u" --roots "$T/roots"
	case $f in
	badgzip)  # a decoding error: no usable answer, so unknown; nothing else
		expect_eq "body-$f-exit" "$RC" 1
		expect_eq "body-$f-counts" "$(counts "body-$f")" "failed 0 0 0 0 0 1" ;;
	*)
		expect_eq "body-$f-exit" "$RC" 0
		expect_eq "body-$f-counts" "$(counts "body-$f")" "complete 0 0 0 1 0 0"
		check "body-$f-named" grep -q "$u/$H5.narinfo" "$T/body-$f.err" ;;
	esac
done
check body-huge-why grep -q "larger than 1048576 bytes" "$T/body-huge.err"
check body-hugestream-why grep -q "larger than 1048576 bytes" "$T/body-hugestream.err"

# Headers libcurl will not take: a 1 MiB header line (libcurl 7.88 calls
# it "Out of memory"), 400 KiB of header lines.  Named as what they are,
# with the URL, not retried, unknown.
for f in bighead manyheads; do
	u="$BASE/fault/$f/1"
	spend "/fault/$f/1/nix-cache-info" 1
	crawl "head-$f" "$T/head-$f.db" "$u" --roots "$T/roots"
	expect_eq "head-$f-exit" "$RC" 1
	expect_eq "head-$f-counts" "$(counts "head-$f")" "failed 0 0 0 0 0 1"
	check "head-$f-why" grep -q "GET $u/$H5.narinfo: response headers too large for libcurl" "$T/head-$f.err"
	expect_eq "head-$f-once" "$(reqs "head-$f" GET "/fault/$f/1/$H5.narinfo")" 1
	expect_eq "head-$f-check" "$(check_row "$T/head-$f.db" "$u" $H5)" "unknown 200"
	check "head-$f-check-why" sh -c "sqlite3 '$T/head-$f.db' 'SELECT error FROM path_checks' | grep -q 'response headers too large'"
done
check head-bighead-libcurl-words grep -q "it said 'Out of memory'" "$T/head-bighead.err"
# At nix-cache-info: the crawl cannot start, and says why.
crawl head-ci "$T/head-ci.db" "$BASE/fault/bighead/all" --roots "$T/roots"
expect_eq head-ci-exit "$RC" 1
check head-ci-why grep -q "nix-cache-info: response headers too large for libcurl" "$T/head-ci.err"
expect_eq head-ci-nothing "$(crawls_kept "$T/head-ci.db")" "no database"

# --- --strict: a path without an answer fails the run ------------------------------

crawl strict-clean "$T/strict.db" "$BASE" --roots "$T/roots" --strict
expect_eq strict-clean-exit "$RC" 0
expect_eq strict-clean-counts "$(counts strict-clean)" "complete 5 0 0 0 0 0"
# Rejected and absent paths: absent is an answer, a rejected narinfo is not.
crawl strict-bad "$T/strict.db" "$BASE" --roots "$T/roots-bad" --strict
expect_eq strict-bad-exit "$RC" 1
expect_eq strict-bad-counts "$(counts strict-bad)" "complete 0 0 0 3 1 0"
check strict-bad-says grep -q -- "--strict: 3 narinfos rejected and 0 paths unknown" "$T/strict-bad.err"
expect_eq strict-bad-recorded "$(crawl_status "$T/strict.db")" "complete complete"
printf '/nix/store/%s-missing\n' $H8 >"$T/roots-absent"
crawl strict-absent "$T/strict.db" "$BASE" --roots "$T/roots-absent" --strict
expect_eq strict-absent-exit "$RC" 0
# One unknown path among answers (like the "hole" below, which exits 0
# without --strict): exit 1, and the crawl is recorded complete all the same.
u="$BASE/fault/504/3"
spend /fault/504/3/nix-cache-info 3
for h in $H1 $H3 $H4 $H5; do spend "/fault/504/3/$h.narinfo" 3; done
crawl strict-hole "$T/strict-hole.db" "$u" --roots "$T/roots" --strict
expect_eq strict-hole-exit "$RC" 1
expect_eq strict-hole-counts "$(counts strict-hole)" "complete 4 0 0 0 0 1"
check strict-hole-says grep -q -- "--strict: 0 narinfos rejected and 1 path unknown" "$T/strict-hole.err"
expect_eq strict-hole-recorded "$(crawl_status "$T/strict-hole.db")" complete
# A directory crawl with rejected narinfos, too.
$CG --db "$T/strict-dir.db" --now "$NOW" crawl --strict "$C" >"$T/strict-dir.out" 2>"$T/strict-dir.err"
expect_eq strict-dir-exit "$?" 1
$CG --db "$T/strict-dir.db" --now "$NOW" crawl "$C" >"$T/strict-dir.out" 2>"$T/strict-dir.err"
expect_eq strict-dir-plain-exit "$?" 0

# --- presence over time: unknown is never gone ---------------------------------

# Every path present, then the cache fails every try (3) for all of them.
P=$T/presence.db
NOW=2030-01-01
crawl p1 "$P" "$BASE" --roots "$T/roots"
expect_eq p1-counts "$(counts p1)" "complete 5 0 0 0 0 0"
u="$BASE/fault/502/3"
# The same cache failing: the test moves the DB's cache to the fault URL.
q "$P" "UPDATE caches SET url = '$u'" >/dev/null
spend /fault/502/3/nix-cache-info 3
NOW=2030-01-02
crawl p2 "$P" "$u"
# Not one answer: the crawl failed (cron must see it), and changed nothing
# of presence.
expect_eq p2-exit "$RC" 1
expect_eq p2-counts "$(counts p2)" "failed 0 0 0 0 0 5"
expect_eq p2-row "$(crawl_status "$P")" "complete failed"
check p2-says grep -q "every request to '$u' failed (5 paths unknown)" "$T/p2.err"
expect_eq p2-heads "$(grep -c " HEAD /fault/502/3/.*narinfo" "$T/p2.log")" 15
expect_eq p2-still-present "$(q "$P" "SELECT count(*) FROM presence WHERE gone_at IS NULL AND last_seen = $(date -u -d 2030-01-01 +%s)")" 5
expect_eq p2-checks "$(q "$P" "SELECT status, count(*) FROM path_checks GROUP BY status")" "unknown|5"
# The faults are spent: the next re-check finds them all again.
NOW=2030-01-03
crawl p3 "$P" "$u"
expect_eq p3-counts "$(counts p3)" "complete 0 5 0 0 0 0"
expect_eq p3-checks-cleared "$(q "$P" 'SELECT count(*) FROM path_checks')" 0
expect_eq p3-last-seen "$(q "$P" "SELECT count(*) FROM presence WHERE gone_at IS NULL AND last_seen = $(date -u -d 2030-01-03 +%s)")" 5

# A path goes away.  A roots crawl that does not reach it leaves it alone;
# one that checks it records it gone; a re-check finds it still absent.
q "$P" "UPDATE caches SET url = '$BASE'" >/dev/null
mv "$C/$H2.narinfo" "$T/h2.narinfo"
printf '/nix/store/%s-side\n' $H4 >"$T/roots-side"
NOW=2030-01-04
crawl p4 "$P" "$BASE" --roots "$T/roots-side"
expect_eq p4-counts "$(counts p4)" "complete 0 2 0 0 0 0"
expect_eq p4-unchecked-not-gone "$(q "$P" 'SELECT count(*) FROM presence WHERE gone_at IS NOT NULL')" 0
NOW=2030-01-05
crawl p5 "$P" "$BASE" --roots "$T/roots"
expect_eq p5-counts "$(counts p5)" "complete 0 4 1 0 0 0"
expect_eq p5-gone "$(q "$P" "SELECT p.hash || ' ' || e.gone_at FROM presence e JOIN paths p ON p.id = e.path_id WHERE e.gone_at IS NOT NULL")" \
	"$H2 $(date -u -d 2030-01-05 +%s)"
expect_eq p5-check "$(check_row "$P" "$BASE" $H2)" "absent 404"
# Its facts stay, and so does its closure through them: H1 was checked.
expect_eq p5-facts-kept "$(q "$P" 'SELECT count(*) FROM narinfos')" 5
NOW=2030-01-06
crawl p6 "$P" "$BASE"
expect_eq p6-counts "$(counts p6)" "complete 0 4 0 0 1 0"
expect_eq p6-absent-since "$(q "$P" "SELECT since || ' ' || checked_at FROM path_checks k JOIN paths p ON p.id = k.path_id WHERE p.hash = '$H2'")" \
	"$(date -u -d 2030-01-05 +%s) $(date -u -d 2030-01-06 +%s)"
# It comes back: a new presence episode, and no check row.
mv "$T/h2.narinfo" "$C/$H2.narinfo"
NOW=2030-01-07
crawl p7 "$P" "$BASE"
expect_eq p7-counts "$(counts p7)" "complete 0 5 0 0 0 0"
expect_eq p7-episodes "$(q "$P" "SELECT count(*) || ' ' || sum(gone_at IS NULL) FROM presence e JOIN paths p ON p.id = e.path_id WHERE p.hash = '$H2'")" "2 1"
expect_eq p7-checks "$(q "$P" 'SELECT count(*) FROM path_checks')" 0

# --- push times later than the crawl: recorded as the crawl's time --------------

NOW=2030-01-01
now_s=$(date -u -d $NOW +%s)
u="$BASE/fault/lastmod9999/all"
crawl lm9999 "$T/lm.db" "$u" --roots "$T/roots"
expect_eq lm9999-exit "$RC" 0
expect_eq lm9999-clamped "$(jq .clamped "$T/lm9999.json")" 5
expect_eq lm9999-push-time "$(q "$T/lm.db" 'SELECT DISTINCT push_time, first_seen FROM presence')" "$now_s|$now_s"
check lm9999-named grep -q "'/nix/store/$H5-root': Last-Modified 9999-12-31T23:59:59Z is later than this crawl (2030-01-01T00:00:00Z); push time recorded as the crawl's" "$T/lm9999.err"
expect_eq lm9999-warnings "$(grep -c 'is later than this crawl' "$T/lm9999.err")" 5
expect_eq lm9999-text "$($CG --db "$T/lm-text.db" --now 2030-01-01 crawl --roots "$T/roots" "$u" 2>/dev/null)" \
	"crawled $u: 5 new, 0 present, 0 gone, 0 rejected, 0 absent, 0 unknown, 5 clamped"
# A path that comes back after it was gone opens a new episode: its push
# time is clamped too, and the warning names it from the database.
mv "$C/$H2.narinfo" "$T/h2.narinfo"
NOW=2030-01-02
crawl lm-gone "$T/lm.db" "$u"
expect_eq lm-gone-counts "$(counts lm-gone)" "complete 0 4 1 0 0 0"
mv "$T/h2.narinfo" "$C/$H2.narinfo"
NOW=2030-01-03
crawl lm-back "$T/lm.db" "$u"
expect_eq lm-back-counts "$(counts lm-back)" "complete 0 5 0 0 0 0"
expect_eq lm-back-clamped "$(jq .clamped "$T/lm-back.json")" 1
check lm-back-named grep -q "'/nix/store/$H2-chain': Last-Modified 9999-12-31T23:59:59Z is later than this crawl (2030-01-03T00:00:00Z)" "$T/lm-back.err"
expect_eq lm-back-push-time "$(q "$T/lm.db" "SELECT e.push_time FROM presence e JOIN paths p ON p.id = e.path_id WHERE p.hash = '$H2' AND e.gone_at IS NULL")" \
	"$(date -u -d 2030-01-03 +%s)"
# A Last-Modified that is no date: no push time, nothing clamped.
NOW=2030-01-01
crawl lmjunk "$T/lmj.db" "$BASE/fault/lastmodjunk/all" --roots "$T/roots"
expect_eq lmjunk-no-push-time "$(q "$T/lmj.db" 'SELECT count(*) FROM presence WHERE push_time IS NULL')" 5
expect_eq lmjunk-clamped "$(jq .clamped "$T/lmjunk.json")" 0
# Later than a crawl clock set in the past (--now): the same.
NOW=2020-01-01
crawl lmpast "$T/lmp.db" "$BASE" --roots "$T/roots"
expect_eq lmpast-clamped "$(jq .clamped "$T/lmpast.json")" 5
expect_eq lmpast-push-time "$(q "$T/lmp.db" 'SELECT DISTINCT push_time FROM presence')" "$(date -u -d 2020-01-01 +%s)"
# A directory crawl: the narinfo's mtime.
mkdir "$T/future"
cp -p "$C/nix-cache-info" "$C/$H1.narinfo" "$C/$H2.narinfo" "$T/future/"
touch -d 2100-01-01 "$T/future/$H2.narinfo"
$CG --db "$T/future.db" --now 2030-01-01 crawl --json "$T/future" >"$T/future.json" 2>"$T/future.err"
expect_eq future-dir-clamped "$(jq .clamped "$T/future.json")" 1
check future-dir-named grep -q "'/nix/store/$H2-chain': mtime 2100-01-01T00:00:00Z is later than this crawl" "$T/future.err"
expect_eq future-dir-push-times "$(q "$T/future.db" "SELECT group_concat(push_time, ' ') FROM (SELECT e.push_time FROM presence e JOIN paths p ON p.id = e.path_id ORDER BY p.hash)")" \
	"$PUSHED $now_s"
# Many of them: the first 20 are named, then one line says there are more.
mkdir "$T/future-many"
cp "$C/nix-cache-info" "$T/future-many/"
for i in $(seq 10 34); do
	fh=$(printf '%032d' "$i")
	narinfo "$fh" "p$i" >"$T/future-many/$fh.narinfo"
done
touch -d 2100-01-01 "$T/future-many"/*.narinfo
$CG --db "$T/future-many.db" --now 2030-01-01 crawl "$T/future-many" >"$T/future-many.out" 2>"$T/future-many.err"
expect_eq future-many-summary "$(cat "$T/future-many.out")" \
	"crawled file://$(cd "$T/future-many" && pwd -P): 25 new, 0 present, 0 gone, 0 rejected, 25 clamped"
expect_eq future-many-named "$(grep -c 'is later than this crawl' "$T/future-many.err")" 20
expect_eq future-many-more "$(grep -c 'more push times later than this crawl' "$T/future-many.err")" 1
NOW=2030-01-01

# --- Ctrl-C: what was fetched is kept, and not fetched again ------------------

# The root answers at once; everything after it hangs until Ctrl-C (and
# once more, then answers).
u="$BASE/fault/timeout/2"
spend /fault/timeout/2/nix-cache-info 2
spend "/fault/timeout/2/$H5.narinfo" 2
I=$T/int.db
NOW=2030-01-01
mark=$(wc -l <"$T/fs.log")
$CG --db "$I" --now "$NOW" crawl --json --timeout 60 --roots "$T/roots" "$u" >"$T/int.json" 2>"$T/int.err" &
pid=$!
i=0
while [ $i -lt 200 ] && ! tail -n +$((mark + 1)) "$T/fs.log" | grep -Eq "GET /fault/timeout/2/($H3|$H4)\.narinfo"; do
	sleep 0.05
	i=$((i + 1))
done
sleep 0.2
kill -INT $pid
wait $pid
expect_eq int-exit "$?" 130
expect_eq int-status "$(jq -r .status "$T/int.json")" interrupted
expect_eq int-kept "$(q "$I" "SELECT p.hash FROM narinfos n JOIN paths p ON p.id = n.path_id")" "$H5"
expect_eq int-crawl-row "$(q "$I" 'SELECT status, n_new FROM crawls')" "interrupted|1"
expect_eq int-no-absent "$(q "$I" 'SELECT count(*) FROM path_checks')" 0
spend "/fault/timeout/2/$H2.narinfo" 2
spend "/fault/timeout/2/$H1.narinfo" 2
crawl resume "$I" "$u" --roots "$T/roots"
expect_eq resume-counts "$(counts resume)" "complete 4 1 0 0 0 0"
expect_eq resume-root-not-fetched "$(reqs resume HEAD "/fault/timeout/2/$H5.narinfo")/$(reqs resume GET "/fault/timeout/2/$H5.narinfo")" 1/0
facts "$I" "$u" >"$T/int.facts"
if cmp -s "$T/clean.facts" "$T/int.facts"; then
	pass resume-facts
else
	fail resume-facts "$(diff "$T/clean.facts" "$T/int.facts" | head -10)"
fi

# --- refusals and usage ----------------------------------------------------------

crawl storedir "$T/u.db" "$BASE/other" --roots "$T/roots"
expect_eq storedir-exit "$RC" 1
check storedir-why grep -q "StoreDir /gnu/store" "$T/storedir.err"
crawl notcache "$T/u.db" "$BASE/nope" --roots "$T/roots"
expect_eq notcache-exit "$RC" 1
check notcache-why grep -q "is not a binary cache" "$T/notcache.err"
expect_eq refused-nothing-recorded "$(crawls_kept "$T/u.db")" "no database"
crawl nothing "$T/u.db" "$BASE"
expect_eq nothing-known-exit "$RC" 1
check nothing-known-hint grep -q -- "--roots FILE" "$T/nothing.err"

# nix-eval-jobs lines: every output of every job; failed jobs skipped.
cat >"$T/eval.jsonl" <<EOF
{"attr":"root","attrPath":["root"],"drvPath":"/nix/store/$H9-root.drv","name":"root","system":"x86_64-linux","outputs":{"out":"/nix/store/$H5-root","dev":"/nix/store/$H8-root-dev"}}
{"attr":"broken","attrPath":["broken"],"error":"error: attribute 'x' missing"}
EOF
crawl eval "$T/eval.db" "$BASE" --roots "$T/eval.jsonl"
expect_eq eval-counts "$(counts eval)" "complete 5 0 0 0 1 0"
printf '/nix/store/%s-root\nnot a path\n' $H5 >"$T/roots-junk"
crawl junk "$T/junk.db" "$BASE" --roots "$T/roots-junk"
expect_eq junk-exit "$RC" 1
check junk-line grep -q "roots-junk:2: 'not a path' is neither a store path" "$T/junk.err"
printf '/gnu/store/%s-root\n' $H5 >"$T/roots-gnu"
crawl gnu "$T/junk.db" "$BASE" --roots "$T/roots-gnu"
expect_eq gnu-exit "$RC" 1
printf '# nothing\n' >"$T/roots-empty"
crawl empty "$T/junk.db" "$BASE" --roots "$T/roots-empty"
expect_eq empty-exit "$RC" 1
check empty-why grep -q "no store paths" "$T/empty.err"
expect_eq junk-nothing-recorded "$(crawls_kept "$T/junk.db")" "no database"
$CG --db "$T/junk.db" crawl --roots "$T/roots" "$C" 2>"$T/usage.err"
expect_eq roots-on-dir-exit-2 "$?" 2
$CG --db "$T/junk.db" crawl --jobs 0 "$BASE" 2>"$T/usage.err"
expect_eq jobs-0-exit-2 "$?" 2
$CG --db "$T/junk.db" crawl --roots 2>"$T/usage.err"
expect_eq roots-no-value-exit-2 "$?" 2
$CG --db "$T/junk.db" crawl "ftp://example.org" 2>"$T/usage.err"
expect_eq ftp-exit-2 "$?" 2
$CG --db "$T/junk.db" crawl --roots "$T/roots" "http://user:pw@127.0.0.1:1" 2>"$T/usage.err"
expect_eq credentials-exit-1 "$?" 1
check credentials-why grep -q "holds credentials" "$T/usage.err"
$CG --db "$T/junk.db" crawl --cacert "$T/nope.pem" --roots "$T/roots" "https://127.0.0.1:1" 2>"$T/usage.err"
expect_eq cacert-missing-exit-1 "$?" 1
check cacert-missing-why grep -q "unable to read CA file" "$T/usage.err"
finish
