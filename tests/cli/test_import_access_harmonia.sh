#!/bin/sh
# tests/cli/test_import_access_harmonia.sh - import-access on a cache served
# the way harmonia serves one, behind nginx as its README sets it up (nginx
# logs the request line, query included, in the combined format).
#
# The facts, from harmonia's source (harmonia-store-nar-info build_narinfo
# and format_narinfo_txt; harmonia-cache main.rs and nar.rs):
#  - a narinfo's fields come in the order StorePath, URL, Compression,
#    FileHash, FileSize, NarHash, NarSize, References (omitted when none),
#    Deriver, Sig, CA;
#  - URL is "nar/<NAR hash, nix32, no sha256:>.nar?hash=<store hash>",
#    Compression "none", FileHash and FileSize are NarHash and NarSize;
#  - it serves NARs at /nar/<52-char narhash>.nar, the store path named by
#    ?hash= (404 "missing outhash" without one, 404 "hash mismatch
#    detected" when that path's NAR hash is another), and at nix-serve's
#    /nar/<store hash>-<narhash>.nar.
# The world is a `cachegc gen` cache with every narinfo rewritten so; two of
# its paths share one NAR (the same contents), as two store paths may.  A
# Nix-layout cache (the world as generated) checks queries on its NAR URLs.
. "$(dirname "$0")/../lib/lib.sh"
need sqlite3 jq awk
W="$T/w"
NOW=2024-05-29

cg() {
	db=$1; shift
	$CG --db "$db" --now "$NOW" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}
q() { sqlite3 "$1" "$2"; }
epoch() { date -u -d "$1" +%s; }
day() { echo $(( $(epoch "$1") / 86400 )); }
rows() {
	q "$1" "SELECT p.hash, a.day, a.narinfo_hits, a.nar_hits, ifnull(a.narinfo_last, '-'),
		ifnull(a.nar_last, '-') FROM accesses a JOIN paths p ON p.id = a.path_id
		ORDER BY p.hash, a.day" | tr '|' ' '
}
same() { # name want-file got-file
	if diff -u "$2" "$3" >"$T/diff"; then pass "$1"; else fail "$1" "$(cat "$T/diff")"; fi
}

$CG gen "$W" --paths 300 >/dev/null 2>"$T/err" || { fail gen "$(cat "$T/err")"; exit 1; }
cp -rp "$W/cache" "$T/nixcache"
ls "$W/cache" | sed -n 's/\.narinfo$//p' | sort >"$T/hashes"
P() { sed -n "$1p" "$T/hashes"; }
P1=$(P 11); P2=$(P 22); P3=$(P 33); P4=$(P 44); P5=$(P 55); P6=$(P 66); P7=$(P 77); P8=$(P 88)
narhash() { sed -n 's/^NarHash: sha256://p' "$T/nixcache/$1.narinfo"; }
# P4 has P3's contents: the same NarHash and NarSize
N3=$(narhash "$P3")
S3=$(sed -n 's/^NarSize: //p' "$T/nixcache/$P3.narinfo")

# harmonia's narinfo from a generated one (mtime, the push time, kept)
for f in "$W"/cache/*.narinfo; do
	h=$(basename "$f" .narinfo)
	awk -v h="$h" -v n3="$N3" -v s3="$S3" -v p4="$P4" '
		/^StorePath: / { sp = $0 }
		/^NarHash: / { nh = substr($0, 10) }
		/^NarSize: / { ns = substr($0, 10) }
		/^References: ./ { refs = $0 }
		/^Deriver: / { drv = $0 }
		/^Sig: / { sig[++nsig] = $0 }
		/^CA: / { ca = $0 }
		END {
			if (h == p4) { nh = "sha256:" n3; ns = s3 }
			bare = nh; sub(/^sha256:/, "", bare)
			print sp
			print "URL: nar/" bare ".nar?hash=" h
			print "Compression: none"
			print "FileHash: " nh
			print "FileSize: " ns
			print "NarHash: " nh
			print "NarSize: " ns
			if (refs != "") print refs
			if (drv != "") print drv
			for (i = 1; i <= nsig; i++) print sig[i]
			if (ca != "") print ca
		}' "$f" >"$T/ni"
	touch -r "$f" "$T/ni"
	mv "$T/ni" "$f"
done
N1=$(narhash "$P1"); N2=$(narhash "$P2"); N5=$(narhash "$P5"); N6=$(narhash "$P6")
N7=$(narhash "$P7"); N8=$(narhash "$P8")
BASE="$T/base.db"
cg "$BASE" crawl "$W/cache"
expect_eq crawl "$rc" 0
[ "$rc" = 0 ] || { fail crawl-err "$(cat "$T/err")"; finish; exit 1; }
expect_eq harmonia-urls "$(q "$BASE" "SELECT count(*) FROM narinfos WHERE url = 'nar/' ||
	substr(nar_hash, 8) || '.nar?hash=' || (SELECT hash FROM paths WHERE id = path_id)
	AND compression = 'none' AND file_hash = nar_hash AND file_size = nar_size") $(q "$BASE" \
	"SELECT count(*) FROM narinfos")" "$(ls "$W/cache" | grep -c narinfo) $(ls "$W/cache" | grep -c narinfo)"
expect_eq harmonia-p1-url "$(q "$BASE" "SELECT n.url FROM narinfos n JOIN paths p ON p.id = n.path_id
	WHERE p.hash = '$P1'")" "nar/$N1.nar?hash=$P1"
expect_eq harmonia-shared-nar "$(q "$BASE" "SELECT count(*) FROM narinfos WHERE nar_hash = 'sha256:$N3'")" 2
UNKNOWN_H=00000000000000000000000000000000

# --- the log: what nginx writes in front of harmonia ---------------------------------

A='"-" "Nix/2.24.9 curl/8.9.1"'
l() { echo "198.51.100.$1 - - [$2 +0000] \"$3 HTTP/1.1\" $4 $5 $A"; }
{
	l 1 "20/May/2024:10:00:00" "GET /$P1.narinfo" 200 612                   # 1: P1 narinfo
	l 1 "20/May/2024:10:00:01" "GET /nar/$N1.nar?hash=$P1" 200 99999        # 2: P1, as harmonia's URL
	l 1 "20/May/2024:11:00:00" "GET /nar/$N1.nar" 200 99999                 # 3: P1, the file without the query
	l 1 "20/May/2024:11:00:01" "HEAD /nar/$N1.nar?hash=$P1" 200 0           # 4: a HEAD: no download
	l 3 "21/May/2024:08:00:00" "GET /nar/$N3.nar?hash=$P3" 200 5            # 5: the shared NAR for P3 alone
	l 3 "21/May/2024:08:00:02" "GET /nar/$N3.nar?hash=$P4" 206 5            # 6: and for P4 alone
	l 3 "21/May/2024:09:00:00" "GET /nar/$N3.nar" 200 5                     # 7: without the query: both
	l 5 "22/May/2024:07:00:00" "GET /nar/$P5-$N5.nar" 200 7                 # 8: nix-serve's form
	l 2 "22/May/2024:07:00:01" "GET /nar/$N2.nar?hash=$P1" 404 21           # 9: hash mismatch detected
	l 2 "22/May/2024:07:00:02" "GET /nar/$N2.nar?hash=$UNKNOWN_H" 200 9     # 10: a path the DB lacks
	l 2 "22/May/2024:07:00:03" "GET /nar/$N2.nar?hash=$P1" 200 9            # 11: the DB says P1's NAR is another
	l 6 "22/May/2024:07:00:04" "GET /nar/$N6.nar" 404 15                    # 12: missing outhash
	l 7 "23/May/2024:06:00:00" "GET /nar/$N7.nar?x=1&hash=$P7&y" 200 3      # 13: among other parameters
	l 8 "23/May/2024:06:00:01" "GET https://cache.example/nar/$N8.nar?hash=$P8" 200 3   # 14: absolute form
	l 8 "23/May/2024:06:00:02" "GET /nar/$N8.nar?hash=$P8" 304 0            # 15: not modified
	l 9 "23/May/2024:06:00:03" "GET /nix-cache-info" 200 40                 # 16
} >"$T/harmonia.log"
DB="$T/t.db"
cp "$BASE" "$DB"
cg "$DB" import-access --json "$T/harmonia.log"
expect_eq log-status "$rc" 0
# requests: 1 narinfo + 12 NAR GETs that succeeded or were 304 (2, 3, 5-8, 10, 11, 13-15)
#   matched 1 + 9; unknown: 10 and 11; ignored: 4, 9, 12, 16
expect_eq log-json "$(jq -c '.[0] | [.status, .lines, .requests, .matched, .recorded, .unknown, .ignored,
	.malformed, .paths, .days]' "$T/out")" '["imported",16,12,10,10,2,4,0,6,4]'
{
	echo "$P1 $(day 2024-05-20) 1 2 $(epoch 2024-05-20T10:00:00Z) $(epoch 2024-05-20T11:00:00Z)"
	echo "$P3 $(day 2024-05-21) 0 2 - $(epoch 2024-05-21T09:00:00Z)"
	echo "$P4 $(day 2024-05-21) 0 2 - $(epoch 2024-05-21T09:00:00Z)"
	echo "$P5 $(day 2024-05-22) 0 1 - $(epoch 2024-05-22T07:00:00Z)"
	echo "$P7 $(day 2024-05-23) 0 1 - $(epoch 2024-05-23T06:00:00Z)"
	echo "$P8 $(day 2024-05-23) 0 2 - $(epoch 2024-05-23T06:00:02Z)"
} | sort >"$T/want"
rows "$DB" >"$T/got"
same log-rows "$T/want" "$T/got"
# the P3/P4 split: each ?hash= request went to its own path alone
expect_eq log-p3-alone "$(q "$DB" "SELECT a.nar_last FROM accesses a JOIN paths p ON p.id = a.path_id
	WHERE p.hash = '$P3'") $(epoch 2024-05-21T09:00:00Z)" \
	"$(epoch 2024-05-21T09:00:00Z) $(epoch 2024-05-21T09:00:00Z)"
expect_eq log-p2-nothing "$(rows "$DB" | grep -c "^$P2 ")" 0
# the JSON counts are what the DB holds
expect_eq log-json-db "$(jq -r '.[0] | "\(.recorded) \(.unknown) \(.paths) \(.days)"' "$T/out")" \
	"$(q "$DB" "SELECT l.recorded || ' ' || l.unknown || ' ' || (SELECT count(DISTINCT path_id) FROM accesses)
	|| ' ' || (SELECT count(DISTINCT day) FROM accesses) FROM access_logs l")"
expect_eq log-hits-db "$(q "$DB" "SELECT sum(narinfo_hits) || ' ' || sum(nar_hits) FROM accesses")" "1 10"

# --- behind a path, with the wrong prefix first: harmonia's URLs suggest it ------------

sed -e 's| "\([A-Z]*\) /| "\1 /cache/|' -e 's|https://cache.example/|https://cache.example/cache/|' "$T/harmonia.log" >"$T/prefixed.log"
cp "$BASE" "$T/p.db"
cg "$T/p.db" import-access --json "$T/prefixed.log"
expect_eq prefix-wrong-status "$rc" 1
expect_eq prefix-wrong-json "$(jq -c '.[0] | [.status, .logId, .recorded, .suggestedPrefix]' "$T/out")" \
	'["failed",null,0,"/cache/"]'
# 10 would count there: the narinfo and the 9 NAR requests this cache's paths answer
has prefix-wrong-says "$T/out" "but 10 would be under '/cache/': run again with --prefix /cache/"
expect_eq prefix-wrong-unmarked "$(q "$T/p.db" "SELECT count(*) FROM access_logs")" 0
cg "$T/p.db" import-access --prefix /cache/ "$T/prefixed.log"
expect_eq prefix-right-status "$rc" 0
has prefix-right-says "$T/out" "16 lines, 12 requests (10 recorded, 2 unknown), 4 ignored, 0 malformed; 6 paths"
rows "$T/p.db" >"$T/got"
same prefix-right-rows "$T/want" "$T/got"

# --- a Nix-layout cache: queries on its NAR URLs ------------------------------------------

NIX="$T/nix.db"
cg "$NIX" crawl "$T/nixcache"
expect_eq nix-crawl "$rc" 0
U1=$(sed -n 's/^URL: //p' "$T/nixcache/$P1.narinfo")
U2=$(sed -n 's/^URL: //p' "$T/nixcache/$P2.narinfo")
U3=$(sed -n 's/^URL: //p' "$T/nixcache/$P3.narinfo")
{
	l 1 "24/May/2024:01:00:00" "GET /$U1?cachebust=17" 200 9      # P1: the query does not matter
	l 2 "24/May/2024:01:00:01" "GET /$U2?hash=$P2" 200 9          # P2: the query names it
	l 3 "24/May/2024:01:00:02" "GET /$U3?hash=$P1" 200 9          # P1 does not have P3's file: unknown
	l 3 "24/May/2024:01:00:03" "GET /nar/$N3.nar" 200 9           # P3's NAR hash, uncompressed: P3
	# the cache served by harmonia since it was crawled: no URL in the DB
	# names these, the NarHash of the path named does
	l 5 "25/May/2024:01:00:00" "GET /nar/$N5.nar?hash=$P5" 200 9
	l 6 "25/May/2024:01:00:01" "GET /nar/$P6-$N6.nar" 200 9
	l 6 "25/May/2024:01:00:02" "GET /nar/$N5.nar?hash=$P6" 200 9   # P6's NAR is another: unknown
} >"$T/nix.log"
cg "$NIX" import-access --json "$T/nix.log"
expect_eq nix-status "$rc" 0
expect_eq nix-json "$(jq -c '.[0] | [.requests, .recorded, .unknown, .paths]' "$T/out")" '[7,5,2,5]'
{
	echo "$P1 $(day 2024-05-24) 0 1 - $(epoch 2024-05-24T01:00:00Z)"
	echo "$P2 $(day 2024-05-24) 0 1 - $(epoch 2024-05-24T01:00:01Z)"
	echo "$P3 $(day 2024-05-24) 0 1 - $(epoch 2024-05-24T01:00:03Z)"
	echo "$P5 $(day 2024-05-25) 0 1 - $(epoch 2024-05-25T01:00:00Z)"
	echo "$P6 $(day 2024-05-25) 0 1 - $(epoch 2024-05-25T01:00:01Z)"
} | sort >"$T/want"
rows "$NIX" >"$T/got"
same nix-rows "$T/want" "$T/got"

finish
