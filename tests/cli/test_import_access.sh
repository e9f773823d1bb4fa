#!/bin/sh
# tests/cli/test_import_access.sh - import-access on a generated world:
# nginx (combined) and S3 logs written here, the exact accesses rows
# checked with sqlite3, per-log counts, idempotency (also gzip-compressed
# and under another name), stdin, --json, --prefix and the default prefix
# of an http cache, a wrong prefix (exit 1, the prefix suggested, not marked
# imported, the corrected run records; JSON counts against the DB), a
# missing file among others, bad input, usage errors, and what it changes:
# cachix's victims in 'simulate --next'.  Harmonia's URL forms:
# test_import_access_harmonia.sh.
. "$(dirname "$0")/../lib/lib.sh"
need sqlite3 jq gzip awk
W="$T/w"
NOW=2024-05-29

# cg DB ARGS...: cachegc on DB at a fixed clock; stdout in $T/out, stderr in
# $T/err; the exit status in $rc.
cg() {
	db=$1; shift
	$CG --db "$db" --now "$NOW" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}
q() { sqlite3 "$1" "$2"; }
epoch() { date -u -d "$1" +%s; }
day() { echo $(( $(epoch "$1") / 86400 )); }
# rows DB: every accesses row as "hash day narinfo_hits nar_hits narinfo_last nar_last"
rows() {
	q "$1" "SELECT p.hash, a.day, a.narinfo_hits, a.nar_hits, ifnull(a.narinfo_last, '-'),
		ifnull(a.nar_last, '-') FROM accesses a JOIN paths p ON p.id = a.path_id
		ORDER BY p.hash, a.day" | tr '|' ' '
}
logs() { q "$1" "SELECT count(*) || '/' || ifnull(sum(requests), 0) FROM access_logs"; }

# --- the world: a generated cache, two narinfos sharing one NAR -------------------

$CG gen "$W" --paths 2000 >/dev/null 2>"$T/err" || { fail gen "$(cat "$T/err")"; exit 1; }
ls "$W/cache" | sed -n 's/\.narinfo$//p' | sort >"$T/hashes"
P1=$(sed -n 11p "$T/hashes"); P2=$(sed -n 22p "$T/hashes"); P3=$(sed -n 33p "$T/hashes")
P4=$(sed -n 44p "$T/hashes"); P5=$(sed -n 55p "$T/hashes"); P6=$(sed -n 66p "$T/hashes")
url() { sed -n 's/^URL: //p' "$W/cache/$1.narinfo"; }
# P4's narinfo names P3's NAR (the same contents under another name); its
# mtime, the push time, is kept
U3=$(url "$P3")
cp -p "$W/cache/$P4.narinfo" "$T/p4.narinfo"
sed "s|^URL: .*|URL: $U3|" "$T/p4.narinfo" >"$W/cache/$P4.narinfo"
touch -r "$T/p4.narinfo" "$W/cache/$P4.narinfo"
U2=$(url "$P2"); U5=$(url "$P5")
BASE="$T/base.db"
$CG --db "$BASE" --now "$NOW" crawl "$W/cache" >/dev/null 2>"$T/err" || { fail crawl "$(cat "$T/err")"; exit 1; }
expect_eq precondition-urls "$(q "$BASE" "SELECT (SELECT count(*) FROM narinfos WHERE url = '$U2') || ' ' ||
	(SELECT count(*) FROM narinfos WHERE url = '$U3') || ' ' || (SELECT count(*) FROM narinfos WHERE url = '$U5')")" "1 2 1"
UNKNOWN_H=00000000000000000000000000000000
UNKNOWN_NAR=nar/1111111111111111111111111111111111111111111111111111.nar.xz

# --- an nginx log and an S3 log -------------------------------------------------------

A='"-" "Nix/2.18.1 curl/8.4.0"'
{
	# 1-3: P1's narinfo: GET (the -0200 zone moves it to the 21st), HEAD, 304 with a query
	echo "203.0.113.1 - - [20/May/2024:23:30:00 -0200] \"GET /$P1.narinfo HTTP/1.1\" 200 612 $A"
	echo "203.0.113.1 - - [21/May/2024:04:00:00 +0200] \"HEAD /$P1.narinfo HTTP/1.1\" 200 0 $A"
	echo "203.0.113.1 - - [21/May/2024:10:00:00 +0000] \"GET /$P1.narinfo?cachebust=1 HTTP/1.1\" 304 0 $A"
	# 4-6: P2's NAR: a download, a partial one, a HEAD (not a download)
	echo "203.0.113.2 - - [20/May/2024:12:00:00 +0000] \"GET /$U2 HTTP/1.1\" 200 99999 $A"
	echo "203.0.113.2 - - [20/May/2024:12:00:05 +0000] \"GET /$U2 HTTP/1.1\" 206 1000 $A"
	echo "203.0.113.2 - - [20/May/2024:12:00:09 +0000] \"HEAD /$U2 HTTP/1.1\" 200 0 $A"
	# 7: the NAR P3 and P4 share: an access of both
	echo "203.0.113.3 - - [22/May/2024:08:00:00 +0000] \"GET /$U3 HTTP/2.0\" 200 5 $A"
	# 8-9: failed requests
	echo "203.0.113.5 - - [22/May/2024:09:00:00 +0000] \"GET /$P5.narinfo HTTP/1.1\" 404 0 $A"
	echo "203.0.113.5 - - [22/May/2024:09:00:01 +0000] \"GET /$U5 HTTP/1.1\" 500 0 $A"
	# 10-11: a narinfo and a NAR this cache does not have
	echo "203.0.113.6 - - [22/May/2024:09:00:02 +0000] \"GET /$UNKNOWN_H.narinfo HTTP/1.1\" 200 1 $A"
	echo "203.0.113.6 - - [22/May/2024:09:00:03 +0000] \"GET /$UNKNOWN_NAR HTTP/1.1\" 200 1 $A"
	# 12-13: another file, another method
	echo "203.0.113.7 - - [22/May/2024:09:00:04 +0000] \"GET /nix-cache-info HTTP/1.1\" 200 40 $A"
	echo "203.0.113.7 - - [22/May/2024:09:00:05 +0000] \"PUT /$P6.narinfo HTTP/1.1\" 200 0 $A"
	# 14: P6's narinfo, percent-encoded
	echo "203.0.113.8 - - [23/May/2024:00:00:00 +0000] \"GET /%$(printf %s "$P6" | head -c1 | od -An -tx1 | tr -d ' \n')$(printf %s "$P6" | cut -c2-)%2Enarinfo HTTP/1.1\" 200 600 $A"
	# 15-17: garbage, a truncated line, a line over 64 KiB
	echo "this is not a log line"
	echo "203.0.113.9 - - [23/May/2024:00:00:00 +0000] \"GET /$P6.narinfo HTTP/1.1\" 20"
	printf '203.0.113.9 - - [23/May/2024:00:00:00 +0000] "GET /%s HTTP/1.1" 200 1\n' "$(head -c 70000 /dev/zero | tr '\0' a)"
	# 18-19: a request nginx could not read, a blank line
	echo '203.0.113.9 - - [23/May/2024:00:00:00 +0000] "-" 400 0 "-" "-"'
	echo ""
	# 20: P6's narinfo in absolute form, in the common format
	echo "203.0.113.8 - - [23/May/2024:00:00:01 +0000] \"GET http://cache.example/$P6.narinfo HTTP/1.1\" 200 600"
} >"$T/access.log"
S3O=79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be
s3() { # time op key status
	echo "$S3O nix-cache [$1] 192.0.2.3 - 3E57427F3EXAMPLE $2 $3 \"GET /$3 HTTP/1.1\" $4 - 513 513 7 6 \"-\" \"aws-cli/2.15 Python/3.11 \\\"quoted\\\" agent\" - s9lzHYrFp76Z= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader nix-cache.s3.amazonaws.com TLSv1.2 - -"
}
{
	s3 "21/May/2024:12:00:00 +0000" REST.HEAD.OBJECT "$P1.narinfo" 200    # P1: 4th hit, later
	s3 "20/May/2024:06:00:00 +0000" REST.GET.OBJECT "$U2" 200             # P2: earlier NAR
	s3 "24/May/2024:09:00:00 -0700" REST.GET.OBJECT "$P2.narinfo" 200     # P2: the 24th, 16:00 UTC
	s3 "24/May/2024:10:00:00 +0000" REST.PUT.OBJECT "$P5.narinfo" 200
	s3 "24/May/2024:10:00:01 +0000" REST.GET.OBJECT "$P5.narinfo" 404
	s3 "24/May/2024:10:00:02 +0000" REST.GET.BUCKET - 200
	echo "$S3O nix-cache [24/May/2024:10:00:03 +0000] 192.0.2.3 - ID REST.GET.OBJECT $P6.narinfo \"GET /$P6"
} >"$T/s3.log"

# --- help and usage errors -------------------------------------------------------------

DB="$T/t.db"
cp "$BASE" "$DB"
cg "$DB" import-access --help
expect_eq help-status "$rc" 0
for w in "usage: cachegc import-access" --cache --format --prefix --json combined s3 gzip \
	"already imported" "Exit status" 304 206 HEAD; do
	has "help-$w" "$T/out" "$w"
done
cg "$DB" import-access
expect_eq usage-no-log "$rc" 2
has usage-no-log-says "$T/err" "no LOG given"
cg "$DB" import-access --format xml "$T/access.log"
expect_eq usage-format "$rc" 2
cg "$DB" import-access --prefix /a/../b "$T/access.log"
expect_eq usage-prefix "$rc" 2
cg "$DB" import-access --frobnicate "$T/access.log"
expect_eq usage-option "$rc" 2
cg "$DB" import-access --cache
expect_eq usage-no-value "$rc" 2
cg "$DB" import-access --cache /no/such/cache "$T/access.log"
expect_eq unknown-cache "$rc" 1
expect_eq usage-nothing-recorded "$(logs "$DB")" "0/0"

# --- the nginx log -----------------------------------------------------------------------

cg "$DB" import-access "$T/access.log"
expect_eq nginx-status "$rc" 0
has nginx-summary "$T/out" "'$T/access.log': imported as log 1 (combined): 20 lines, 10 requests (8 recorded, 2 unknown), 7 ignored, 3 malformed; 5 paths, 2024-05-20T12:00:00Z to 2024-05-23T00:00:01Z"
has nginx-malformed-15 "$T/err" "access.log:15: "
has nginx-malformed-16 "$T/err" "access.log:16: "
has nginx-malformed-17 "$T/err" "access.log:17: line longer than 65536 bytes"
expect_eq nginx-log-row "$(q "$DB" "SELECT id, cache_id, source, format, length(digest), imported_at, lines, requests,
	recorded, unknown, ignored, malformed, first_at, last_at FROM access_logs")" \
	"1|1|$T/access.log|combined|64|$(epoch $NOW)|20|10|8|2|7|3|$(epoch 2024-05-20T12:00:00Z)|$(epoch 2024-05-23T00:00:01Z)"
expect_eq nginx-digest "$(q "$DB" "SELECT digest FROM access_logs")" "$(sha256sum <"$T/access.log" | cut -c1-64)"
{
	echo "$P1 $(day 2024-05-21) 3 0 $(epoch 2024-05-21T10:00:00Z) -"
	echo "$P2 $(day 2024-05-20) 0 2 - $(epoch 2024-05-20T12:00:05Z)"
	echo "$P3 $(day 2024-05-22) 0 1 - $(epoch 2024-05-22T08:00:00Z)"
	echo "$P4 $(day 2024-05-22) 0 1 - $(epoch 2024-05-22T08:00:00Z)"
	echo "$P6 $(day 2024-05-23) 2 0 $(epoch 2024-05-23T00:00:01Z) -"
} | sort >"$T/want1"
rows "$DB" >"$T/got1"
if diff -u "$T/want1" "$T/got1" >"$T/diff"; then pass nginx-rows; else fail nginx-rows "$(cat "$T/diff")"; fi
# the view the README documents
expect_eq nginx-last-access "$(q "$DB" "SELECT l.narinfo_last || ' ' || ifnull(l.nar_last, '-') || ' ' || l.last
	FROM last_access l JOIN paths p ON p.id = l.path_id WHERE p.hash = '$P1'")" \
	"$(epoch 2024-05-21T10:00:00Z) - $(epoch 2024-05-21T10:00:00Z)"

# --- the same content again: under its name, gzip-compressed, on stdin ------------------------

cg "$DB" import-access "$T/access.log"
expect_eq again-status "$rc" 0
has again-says "$T/out" "'$T/access.log': already imported as log 1 (from '$T/access.log' at 2024-05-29T00:00:00Z); nothing changed"
hasnt again-no-warnings "$T/err" "access.log:15"
gzip -9 -c "$T/access.log" >"$T/access.log.2.gz"
cg "$DB" import-access "$T/access.log.2.gz"
has again-gzip "$T/out" "already imported as log 1"
cp "$T/access.log.2.gz" "$T/rotated"     # no .gz: gzip is known by its magic bytes
cg "$DB" import-access - <"$T/rotated"
has again-stdin-gzip "$T/out" "'<stdin>': already imported as log 1"
expect_eq again-logs "$(logs "$DB")" "1/10"
rows "$DB" >"$T/got"
if cmp -s "$T/got1" "$T/got"; then pass again-rows-unchanged; else fail again-rows-unchanged "$(diff "$T/got1" "$T/got")"; fi

# --- the S3 log adds up: hits summed, last times the later ---------------------------------------

cg "$DB" import-access --json "$T/s3.log"
expect_eq s3-status "$rc" 0
expect_eq s3-json "$(jq -c '.[0] | [.status, .logId, .format, .lines, .requests, .recorded, .unknown, .ignored,
	.malformed, .paths, .days, .firstAt, .lastAt, (.problems | map(.line))]' "$T/out")" \
	'["imported",2,"s3",7,3,3,0,3,1,2,3,"2024-05-20T06:00:00Z","2024-05-24T16:00:00Z",[7]]'
{
	echo "$P1 $(day 2024-05-21) 4 0 $(epoch 2024-05-21T12:00:00Z) -"
	echo "$P2 $(day 2024-05-20) 0 3 - $(epoch 2024-05-20T12:00:05Z)"
	echo "$P2 $(day 2024-05-24) 1 0 $(epoch 2024-05-24T16:00:00Z) -"
	echo "$P3 $(day 2024-05-22) 0 1 - $(epoch 2024-05-22T08:00:00Z)"
	echo "$P4 $(day 2024-05-22) 0 1 - $(epoch 2024-05-22T08:00:00Z)"
	echo "$P6 $(day 2024-05-23) 2 0 $(epoch 2024-05-23T00:00:01Z) -"
} | sort >"$T/want2"
rows "$DB" >"$T/got2"
if diff -u "$T/want2" "$T/got2" >"$T/diff"; then pass s3-rows; else fail s3-rows "$(cat "$T/diff")"; fi

# --- several logs: gzip, stdin, a missing one, a damaged gzip ----------------------------------

echo "203.0.113.5 - - [25/May/2024:07:00:00 +0000] \"GET /$P5.narinfo HTTP/1.1\" 200 600 $A" | gzip -c >"$T/p5.log.gz"
echo "203.0.113.5 - - [26/May/2024:07:00:00 +0000] \"GET /$U5 HTTP/1.1\" 200 600 $A" >"$T/p5-nar.log"
seq 1 20000 | awk -v h="$P6" '{ printf "10.0.0.1 - - [27/May/2024:07:00:00 +0000] \"GET /%s.narinfo HTTP/1.1\" 200 %d \"-\" \"-\"\n", h, $1 }' |
	gzip -c | head -c 3000 >"$T/damaged.log.gz"
cg "$DB" import-access "$T/p5.log.gz" "$T/missing.log" "$T/damaged.log.gz" - <"$T/p5-nar.log"
expect_eq several-status "$rc" 1
has several-gz "$T/out" "'$T/p5.log.gz': imported as log 3 (combined): 1 lines, 1 requests (1 recorded, 0 unknown)"
has several-stdin "$T/out" "'<stdin>': imported as log 4 (combined)"
has several-missing "$T/err" "cannot open '$T/missing.log'"
has several-damaged "$T/err" "cannot read '$T/damaged.log.gz'"
expect_eq several-sources "$(q "$DB" "SELECT group_concat(source, ' ') FROM access_logs WHERE id > 2")" "$T/p5.log.gz <stdin>"
expect_eq several-p5 "$(rows "$DB" | grep "^$P5")" \
	"$P5 $(day 2024-05-25) 1 0 $(epoch 2024-05-25T07:00:00Z) -
$P5 $(day 2024-05-26) 0 1 - $(epoch 2024-05-26T07:00:00Z)"
expect_eq several-damaged-nothing "$(rows "$DB" | grep -c "^$P6 $(day 2024-05-27)")" 0
# --json: one object per log, in order, the failed one with its error
cg "$DB" import-access --json "$T/missing.log" "$T/p5.log.gz"
expect_eq json-missing-status "$rc" 1
expect_eq json-missing "$(jq -c 'map([.file, .status, .logId])' "$T/out")" \
	"[[\"$T/missing.log\",\"failed\",null],[\"$T/p5.log.gz\",\"already-imported\",3]]"
has json-missing-error "$T/out" "cannot open '$T/missing.log'"

# --- bad logs ---------------------------------------------------------------------------------------

before=$(logs "$DB")
printf 'garbage %s\n' 1 2 3 4 5 6 7 >"$T/garbage.log"
cg "$DB" import-access "$T/garbage.log"
expect_eq garbage-status "$rc" 1
has garbage-says "$T/err" "none of its 7 lines is in combined or S3 access log format"
has garbage-line "$T/err" "garbage.log:5: "
hasnt garbage-line-6 "$T/err" "garbage.log:6: "
has garbage-more "$T/err" "garbage.log: 2 more malformed lines not shown"
cg "$DB" import-access --format s3 "$T/access.log"
expect_eq forced-s3-status "$rc" 1
has forced-s3-says "$T/err" "none of its 20 lines is in s3 format"
cg "$DB" import-access --format combined "$T/s3.log"
expect_eq forced-combined-status "$rc" 1
: >"$T/empty.log"
cg "$DB" import-access "$T/empty.log"
expect_eq empty-status "$rc" 0
has empty-says "$T/out" "no log lines"
# the cap on decompressed bytes (4 GiB; lowered here): a gzip bomb stops
head -c 3000000 /dev/zero | tr '\0' '\n' | gzip -c >"$T/bomb.log.gz"
CACHEGC_ACCESS_MAX_INPUT=1000000 $CG --db "$DB" --now "$NOW" import-access "$T/bomb.log.gz" "$T/p5-nar.log" \
	>"$T/out" 2>"$T/err"
expect_eq bomb-status $? 1
has bomb-says "$T/err" "cannot read '$T/bomb.log.gz': more than 1000000 bytes (decompressed)"
has bomb-next "$T/out" "'$T/p5-nar.log': already imported as log 4"
cg "$DB" import-access "$T"
expect_eq directory-status "$rc" 1
has directory-says "$T/err" "is a directory"
printf 'h - - [27/May/2024:07:00:00 +0000] "GET /%s.narinfo HTTP/1.1" 200 1\n\000\033[2J\n' "$P6" >"$T/control.log"
cg "$DB" import-access "$T/control.log"
expect_eq control-status "$rc" 0
has control-says "$T/err" "control.log:2: control character (byte 0x00)"
expect_eq control-counts "$(q "$DB" "SELECT lines || ' ' || recorded || ' ' || malformed FROM access_logs WHERE source = '$T/control.log'")" "2 1 1"
expect_eq bad-logs-recorded "$(logs "$DB")" "$(echo "$before" | awk -F/ '{ print $1 + 1 "/" $2 + 1 }')"

# --- the cache's URL path: --prefix, and the default for an http cache ----------------------------

sed -e "s| \"\([A-Z]*\) /| \"\1 /cache/|" -e "s|http://cache.example/|http://cache.example/cache/|" \
	"$T/access.log" >"$T/prefixed.log"
expect_eq prefixed-written "$(grep -c '"GET [a-z:/.]*/cache/' "$T/prefixed.log")" 14
# the wrong prefix (the default, /): nothing recorded, exit 1, the prefix
# the requests suggest, and the log not marked imported
cp "$BASE" "$T/p1.db"
cg "$T/p1.db" import-access "$T/prefixed.log"
expect_eq wrong-prefix-status "$rc" 1
has wrong-prefix-says "$T/err" "'$T/prefixed.log': nothing recorded: no request is for a narinfo or NAR of file://$W/cache under the prefix '/', but 8 would be under '/cache/': run again with --prefix /cache/"
hasnt wrong-prefix-no-summary "$T/out" "imported as log"
expect_eq wrong-prefix-not-marked "$(logs "$T/p1.db")" "0/0"
expect_eq wrong-prefix-no-rows "$(q "$T/p1.db" "SELECT count(*) FROM accesses")" 0
cg "$T/p1.db" import-access --json --prefix /wrong/ "$T/prefixed.log"
expect_eq wrong-prefix-json-status "$rc" 1
expect_eq wrong-prefix-json "$(jq -c '.[0] | [.status, .logId, .lines, .requests, .matched, .recorded, .unknown,
	.ignored, .malformed, .paths, .firstAt, .suggestedPrefix]' "$T/out")" \
	'["failed",null,20,0,0,0,0,17,3,0,null,"/cache/"]'
has wrong-prefix-json-error "$T/out" "under the prefix '/wrong/', but 8 would be under '/cache/'"
# the corrected run records the lines
cg "$T/p1.db" import-access --json --prefix /cache/ "$T/prefixed.log"
expect_eq right-prefix-status "$rc" 0
expect_eq right-prefix-json "$(jq -c '.[0] | [.status, .logId, .requests, .matched, .recorded, .unknown, .paths]' "$T/out")" \
	'["imported",1,10,8,8,2,5]'
expect_eq right-prefix-rows "$(rows "$T/p1.db")" "$(cat "$T/got1")"
# JSON counts are what the DB holds: recorded = the log's row, paths = distinct paths
expect_eq right-prefix-json-db "$(jq -r '.[0] | "\(.recorded) \(.paths) \(.days)"' "$T/out")" \
	"$(q "$T/p1.db" "SELECT (SELECT recorded FROM access_logs) || ' ' || count(DISTINCT path_id) || ' ' || count(DISTINCT day) FROM accesses")"
expect_eq right-prefix-hits-db "$(q "$T/p1.db" "SELECT sum(narinfo_hits) + sum(nar_hits) FROM accesses")" 9
# the same again: already imported, and nothing recorded this time
cg "$T/p1.db" import-access --json --prefix /cache/ "$T/prefixed.log"
expect_eq again-json "$(jq -c '.[0] | [.status, .logId, .matched, .recorded, .paths, .firstAt]' "$T/out")" \
	'["already-imported",1,8,0,0,null]'
# a log an older cachegc marked imported with nothing recorded is imported now
cp "$BASE" "$T/p0.db"
q "$T/p0.db" "INSERT INTO access_logs (cache_id, source, format, digest, imported_at, lines, requests, recorded,
	unknown, ignored, malformed) VALUES (1, 'old', 'combined', '$(sha256sum <"$T/prefixed.log" | cut -c1-64)',
	0, 20, 0, 0, 0, 17, 3)"
cg "$T/p0.db" import-access --prefix /cache/ "$T/prefixed.log"
expect_eq old-zero-row-status "$rc" 0
has old-zero-row-imports "$T/out" "imported as log 1 (combined): 20 lines, 10 requests (8 recorded, 2 unknown)"
expect_eq old-zero-row-replaced "$(q "$T/p0.db" "SELECT count(*) || ' ' || group_concat(source) FROM access_logs")" "1 $T/prefixed.log"
# nothing under any prefix: only other files, or failed requests
{
	echo "203.0.113.7 - - [22/May/2024:09:00:04 +0000] \"GET /nix-cache-info HTTP/1.1\" 200 40 $A"
	echo "203.0.113.7 - - [22/May/2024:09:00:05 +0000] \"GET /$P1.narinfo HTTP/1.1\" 404 0 $A"
} >"$T/nothing.log"
cg "$T/p0.db" import-access --json "$T/nothing.log"
expect_eq nothing-status "$rc" 1
expect_eq nothing-json "$(jq -c '.[0] | [.status, .requests, .recorded, .ignored, .suggestedPrefix]' "$T/out")" \
	'["failed",0,0,2,null]'
has nothing-says "$T/out" "none of its 2 lines is a successful narinfo or NAR request (2 ignored, 0 malformed)"
# only unknown paths: crawl first; the right shape under another prefix
{
	echo "203.0.113.6 - - [22/May/2024:09:00:02 +0000] \"GET /$UNKNOWN_H.narinfo HTTP/1.1\" 200 1 $A"
	echo "203.0.113.6 - - [22/May/2024:09:00:03 +0000] \"GET /$UNKNOWN_NAR HTTP/1.1\" 200 1 $A"
} >"$T/unknown.log"
cg "$T/p0.db" import-access "$T/unknown.log"
expect_eq unknown-status "$rc" 1
has unknown-says "$T/err" "its 2 narinfo and NAR requests under '/' are all for paths the database does not know for file://$W/cache (2 unknown); crawl the cache first"
sed 's| "GET /| "GET /other/|' "$T/unknown.log" >"$T/unknown-other.log"
cg "$T/p0.db" import-access --json "$T/unknown-other.log"
expect_eq unknown-other "$(jq -c '.[0] | [.status, .requests, .suggestedPrefix]' "$T/out")" '["failed",0,"/other/"]'
has unknown-other-says "$T/out" "2 look like narinfo or NAR requests under '/other/' (--prefix /other/), but the database does not know them"
expect_eq nothing-logs "$(logs "$T/p0.db")" "1/10"
cp "$BASE" "$T/p2.db"
cg "$T/p2.db" import-access --prefix cache "$T/prefixed.log"
has prefix-given "$T/out" "10 requests (8 recorded, 2 unknown)"
expect_eq prefix-rows "$(rows "$T/p2.db")" "$(cat "$T/got1")"
# an http cache's prefix is its URL's path: a second cache with the same narinfos
cp "$BASE" "$T/p3.db"
q "$T/p3.db" "INSERT INTO caches (id, url, added_at) VALUES (2, 'https://cache.example.org/cache', 0);
	INSERT INTO narinfos SELECT 2, path_id, url, compression, file_hash, file_size, nar_hash, nar_size,
	deriver, ca, system, refs, sigs, crawl_id, fetched_at FROM narinfos WHERE cache_id = 1"
cg "$T/p3.db" import-access "$T/prefixed.log"
expect_eq two-caches-status "$rc" 1
has two-caches-says "$T/err" "holds several caches; choose one with --cache"
cg "$T/p3.db" import-access --cache https://cache.example.org/cache "$T/prefixed.log"
has http-default-prefix "$T/out" "10 requests (8 recorded, 2 unknown)"
expect_eq http-cache-rows "$(q "$T/p3.db" "SELECT DISTINCT cache_id FROM accesses")" 2
# the same content is another log for another cache
cg "$T/p3.db" import-access --cache 1 --prefix /cache/ "$T/prefixed.log"
has other-cache-imports "$T/out" "imported as log 2"
expect_eq other-cache-rows "$(q "$T/p3.db" "SELECT cache_id, count(*) FROM accesses GROUP BY 1" | tr '\n' ' ')" "1|5 2|5 "

# --- what it changes: cachix evicts the least recently accessed first -----------------------------
# Two paths pushed at the same moment that nothing references: before the
# logs, cachix takes both; after a log shows a client fetching one (its
# narinfo and those of its closure, as Nix does), that one stays and the
# other still goes.

S="$T/s.db"
cp "$BASE" "$S"
q "$S" "SELECT e.push_time, p.hash FROM presence e JOIN paths p ON p.id = e.path_id
	WHERE e.gone_at IS NULL AND NOT EXISTS (SELECT 1 FROM refs r WHERE r.ref_id = p.id AND r.path_id != p.id)
	ORDER BY e.push_time, p.hash" | awk -F'|' 'prev == $1 { print last " " $2; exit } { prev = $1; last = $2 }' >"$T/pair"
X=$(cut -d' ' -f1 "$T/pair"); Y=$(cut -d' ' -f2 "$T/pair")
expect_eq sim-pair "$(q "$S" "SELECT count(DISTINCT push_time) FROM presence e JOIN paths p ON p.id = e.path_id
	WHERE p.hash IN ('$X', '$Y')")" 1
victims() { # DB -> hashes the limit makes cachix take now
	$CG --db "$1" --now "$NOW" simulate --policy cachix --access logs --limit 20G --next 100000 --json \
		>"$T/sim.json" 2>"$T/sim.err" || { fail sim-run "$(cat "$T/sim.err")"; return; }
	jq -r '.paths[] | select(.due) | .path' "$T/sim.json" | sed 's|.*/\([^-]*\)-.*|\1|' | sort
}
victims "$S" >"$T/v0"
expect_eq sim-before "$(grep -c -e "^$X\$" -e "^$Y\$" "$T/v0")" 2
q "$S" "WITH RECURSIVE c(id) AS (SELECT id FROM paths WHERE hash = '$X'
	UNION SELECT r.ref_id FROM refs r JOIN c ON r.path_id = c.id AND r.cache_id = 1)
	SELECT hash FROM paths JOIN c USING (id)" |
	awk '{ printf "10.1.1.1 - - [28/May/2024:23:59:59 +0000] \"GET /%s.narinfo HTTP/1.1\" 200 600 \"-\" \"Nix/2.18.1\"\n", $1 }' >"$T/closure.log"
cg "$S" import-access "$T/closure.log"
expect_eq sim-import "$rc" 0
victims "$S" >"$T/v1"
expect_eq sim-x-kept "$(grep -c "^$X\$" "$T/v1")" 0
expect_eq sim-y-goes "$(grep -c "^$Y\$" "$T/v1")" 1
expect_eq sim-x-reason "$(jq -r --arg x "$X" '.paths[] | select(.path | contains($x)) | .due' "$T/sim.json")" false
# the text view names the same first victim either way when it is not X
$CG --db "$S" --now "$NOW" simulate --policy cachix --access logs --limit 20G --next 5 >"$T/next5" 2>&1
hasnt sim-next5-no-x "$T/next5" "$X"

finish
