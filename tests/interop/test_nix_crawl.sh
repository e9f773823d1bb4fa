#!/bin/sh
# tests/interop/test_nix_crawl.sh - the foundation interop test: real Nix
# builds a small world and pushes it to a signed, xz-compressed file:// cache;
# cachegc crawls it, and every closure it computes must agree with
# `nix path-info --json -rsS`, field by field.  Then some narinfos go away and
# a later crawl must record them as gone without forgetting their facts.
. "$(dirname "$0")/../lib/lib.sh"
. "$ROOT/tests/lib/nix.sh"
. "$ROOT/tests/lib/nginx.sh"
need jq sqlite3 curl awk
nix_setup

# --- the world, the cache, and what Nix says about it ----------------------

mkdir "$T/world" "$T/cache" "$T/ours"
nix_build_world "$T/world"
nix_keys cachegc-test-1
nix_keys cachegc-test-2
CACHE=$(cd "$T/cache" && pwd -P)
URL="file://$CACHE"
# shellcheck disable=SC2046
nix_push "$CACHE" "$T/cachegc-test-1.secret" $(cut -d' ' -f2 "$T/world/paths")
# A second signature on a few paths, so Sig repeats.
if ! nix store sign --store "$URL" --key-file "$T/cachegc-test-2.secret" \
	"$(nix_world_path a)" "$(nix_world_path e)" >"$T/sign.log" 2>&1; then
	fail nix-sign "nix store sign failed: $(cat "$T/sign.log")"
fi
nix_world_paths >"$T/all"
n_all=$(wc -l <"$T/all")
expect_eq nix-world-size "$n_all" 9

# name_of PATH: the world's name for a store path (the toFile path is "note").
name_of() {
	n=$(awk -v p="$1" '$2 == p { print $1 }' "$T/world/paths")
	echo "${n:-note}"
}
hash_of() { basename "$1" | cut -c1-32; }

# Nix's view, taken once while every narinfo is there.
# shellcheck disable=SC2046
if ! nix path-info --json -rsS --store "$URL" $(cat "$T/all") >"$T/nix.json" 2>"$T/nix.err"; then
	fail nix-path-info "$(cat "$T/nix.err")"
	exit 1
fi
expect_eq nix-path-info-count "$(jq length "$T/nix.json")" "$n_all"
nix path-info --all --store "$URL" 2>&1 | sort >"$T/nix.all"
check nix-path-info-all diff "$T/all" "$T/nix.all"
check nix-verify-sigs nix store verify --store "$URL" --all --sigs-needed 1 \
	--trusted-public-keys "$(cat "$T/cachegc-test-1.public")"
expect_eq nix-two-sigs "$(grep -l '^Sig: cachegc-test-2:' "$CACHE"/*.narinfo | wc -l)" 2
expect_eq nix-no-deriver "$(grep -L '^Deriver:' "$CACHE"/*.narinfo | wc -l)" 1

# --- nginx self-check: serve the cache over HTTP ----------------------------

nginx_start "$CACHE"
expect_eq nginx-cache-info "$(curl -sS "$NGINX_URL/nix-cache-info")" "$(cat "$CACHE/nix-cache-info")"
h=$(hash_of "$(nix_world_path e)")
curl -sS -D "$T/headers" -H 'Accept-Encoding: gzip' -o "$T/e.narinfo.gz" "$NGINX_URL/$h.narinfo"
if grep -qi '^Content-Encoding: gzip' "$T/headers" &&
	gzip -dc <"$T/e.narinfo.gz" | cmp -s - "$CACHE/$h.narinfo"; then
	pass nginx-gzip
else
	fail nginx-gzip "narinfo not served gzipped as asked: $(tr -d '\r' <"$T/headers")"
fi
curl -sS -v -o /dev/null -o /dev/null "$NGINX_URL/nix-cache-info" "$NGINX_URL/$h.narinfo" 2>"$T/curl-v"
if grep -q 'Re-using existing connection' "$T/curl-v"; then
	pass nginx-keep-alive
else
	fail nginx-keep-alive "second request opened a new connection: $(grep -E '^[<*]' "$T/curl-v" | head -20)"
fi
expect_eq nginx-404 "$(curl -s -o /dev/null -w '%{http_code}' "$NGINX_URL/00000000000000000000000000000000.narinfo")" 404
# Nix itself reads the same facts over HTTP.
# shellcheck disable=SC2046
nix path-info --json -rsS --store "$NGINX_URL" $(cat "$T/all") >"$T/nix-http.json" 2>"$T/nix-http.err"
if [ "$(jq -S 'sort_by(.path)' "$T/nix-http.json")" = "$(jq -S 'sort_by(.path)' "$T/nix.json")" ]; then
	pass nginx-nix-path-info
else
	fail nginx-nix-path-info "nix path-info over HTTP differs: $(head -c 1000 "$T/nix-http.err")"
fi
nginx_stop

# --- crawl ------------------------------------------------------------------

DB="$T/db"
day1=$(date -u -d 2030-01-01 +%s)
day2=$(date -u -d 2030-01-02 +%s)

# expect_json NAME FILE 'key value'...: each key of the JSON object in FILE
# must have the (jq -c) value given.
expect_json() {
	ej_name=$1 ej_file=$2
	shift 2
	for kv in "$@"; do
		k=${kv%% *}
		expect_eq "$ej_name-$k" "$(jq -c --arg k "$k" 'if has($k) then .[$k] else "<absent>" end' "$ej_file" 2>&1)" "${kv#* }"
	done
}

if $CG --db "$DB" --now 2030-01-01 crawl --json "$T/cache" >"$T/crawl1.json" 2>"$T/crawl1.err"; then
	pass crawl1-exit
else
	fail crawl1-exit "crawl of $T/cache failed: $(head -c 2000 "$T/crawl1.err")"
fi
if jq -e -s 'length == 1 and (.[0] | type) == "object"' "$T/crawl1.json" >/dev/null 2>&1; then
	pass crawl1-json
else
	fail crawl1-json "not a JSON object: $(head -c 500 "$T/crawl1.json")"
fi
expect_json crawl1 "$T/crawl1.json" "cache \"$URL\"" 'status "complete"' "new $n_all" \
	'present 0' 'gone 0' 'rejected 0' 'absent 0' 'unknown 0' "paths $n_all"
crawl1=$(jq -r '.crawl' "$T/crawl1.json" 2>/dev/null)
case "$crawl1" in
[1-9]*) pass crawl1-id ;;
*) fail crawl1-id "crawl id is '$crawl1'" ;;
esac

# The same cache again, as a file:// URL, with the text summary.
if $CG --db "$DB" --now 2030-01-01T12:00:00Z crawl "$URL" >"$T/crawl2.out" 2>"$T/crawl2.err"; then
	pass crawl2-exit
else
	fail crawl2-exit "crawl of $URL failed: $(head -c 2000 "$T/crawl2.err")"
fi
expect_eq crawl2-summary "$(cat "$T/crawl2.out")" \
	"crawled $URL: 0 new, $n_all present, 0 gone, 0 rejected"

q() { sqlite3 -batch -noheader "$DB" "$1" 2>&1; }
expect_eq db-caches "$(q 'SELECT url FROM caches')" "$URL"
expect_eq db-narinfos "$(q 'SELECT count(*) FROM narinfos')" "$n_all"
expect_eq db-sigs "$(q 'SELECT count(*) FROM sigs')" "$((n_all + 2))"
expect_eq db-first-seen "$(q "SELECT count(*) FROM presence WHERE first_seen = $day1 AND gone_at IS NULL")" "$n_all"
expect_eq db-last-seen "$(q "SELECT count(*) FROM presence WHERE last_seen = $((day1 + 43200))")" "$n_all"
# push_time of a file:// cache is the narinfo's mtime.
for p in $(cat "$T/all"); do
	h=$(hash_of "$p")
	echo "$h $(stat -c %Y "$CACHE/$h.narinfo")"
done | sort >"$T/mtimes"
q "SELECT p.hash || ' ' || pr.push_time FROM presence pr JOIN paths p ON p.id = pr.path_id ORDER BY p.hash" >"$T/push_times"
if cmp -s "$T/mtimes" "$T/push_times"; then
	pass db-push-time
else
	fail db-push-time "presence.push_time is not the narinfo mtime: $(diff "$T/mtimes" "$T/push_times" | head -20)"
fi

# --- closure --json --json-format nix-2.8, field by field against nix 2.8 ---

# nixval PATH FIELD: Nix's value, compact JSON, "<absent>" when missing.
# ourval FILE PATH FIELD: ours, from the object for PATH in FILE.
# Lists whose order means nothing (references, signatures) come sorted.
jq_field='if has($f) then .[$f] | (if ($f == "references" or $f == "signatures" or $f == "missing") and type == "array" then sort else . end) else "<absent>" end'
nixval() {
	jq -c --arg p "$1" --arg f "$2" ".[] | select(.path == \$p) | $jq_field" "$T/nix.json"
}
ourval() {
	jq -c --arg p "$2" --arg f "$3" "
		if type != \"array\" then \"<not an array>\"
		else [.[] | select(.path == \$p)] |
			if length == 1 then .[0] | $jq_field else \"<\\(length) objects for the path>\" end
		end" "$1" 2>&1
}
# Hashes may be written sha256:nix32 (the narinfo) or SRI (nix 2.8's JSON):
# the same hash either way.
sri() {
	case "$1" in
	\"sha256[:-]*\") nix hash to-sri "$(echo "$1" | tr -d '"')" 2>/dev/null || echo "$1" ;;
	*) echo "$1" ;;
	esac
}

fields="narSize narHash references deriver signatures url compression downloadHash downloadSize closureSize closureDownloadSize"
for p in $(cat "$T/all"); do
	n=$(name_of "$p")
	f="$T/ours/$n.json"
	if $CG --db "$DB" closure --json --json-format nix-2.8 "$p" >"$f" 2>"$T/ours/$n.err"; then
		pass "closure-exit-$n"
	else
		fail "closure-exit-$n" "closure --json $p failed: $(head -c 1000 "$T/ours/$n.err")"
	fi
	for field in $fields; do
		got=$(ourval "$f" "$p" "$field")
		case $field in
		compression)
			# nix 2.8's JSON has no compression: the narinfo Nix wrote says.
			want="\"$(sed -n 's/^Compression: //p' "$CACHE/$(hash_of "$p").narinfo")\"" ;;
		*) want=$(nixval "$p" "$field") ;;
		esac
		case $field in
		narHash | downloadHash)
			if [ "$(sri "$got")" = "$(sri "$want")" ]; then
				pass "closure-json-$field-$n"
			else
				fail "closure-json-$field-$n" "$p: nix says $want, cachegc says $got"
			fi ;;
		*)
			if [ "$got" = "$want" ]; then
				pass "closure-json-$field-$n"
			else
				fail "closure-json-$field-$n" "$p: nix says $want, cachegc says $got"
			fi ;;
		esac
	done
	expect_eq "closure-json-missing-$n" "$(ourval "$f" "$p" missing)" '[]'
done

# --- closure --json: the shape of current Nix (2.19+, JSON format 1) --------

# This machine's Nix is 2.8; its answer, put in the current shape the way
# Nix 2.19's UnkeyedNarInfo::toJSON writes the same facts: keyed by store
# path, null for no ca/deriver/registrationTime, ultimate false, an empty
# signatures list kept, storeDir and version.  Nix 2.8 prints no
# compression (checked above against the narinfo), and ours adds missing
# and present: those three are left out of the comparison.
# shellcheck disable=SC2016
jq -S 'map({key: .path, value: ({ca: null, deriver: null, registrationTime: null,
	ultimate: false, signatures: []} + del(.path) + {storeDir: "/nix/store", version: 1}
	| .references |= sort | .signatures |= sort)}) | from_entries' "$T/nix.json" >"$T/nix-v1.json"
# shellcheck disable=SC2046
if $CG --db "$DB" closure --json $(cat "$T/all") >"$T/ours/v1.json" 2>"$T/ours/v1.err"; then
	pass closure-v1-exit
else
	fail closure-v1-exit "closure --json failed: $(head -c 1000 "$T/ours/v1.err")"
fi
jq -S 'map_values(del(.missing, .present, .compression) | .references |= sort |
	.signatures |= sort)' "$T/ours/v1.json" >"$T/ours/v1-cmp.json" 2>&1
if [ -s "$T/nix-v1.json" ] && cmp -s "$T/nix-v1.json" "$T/ours/v1-cmp.json"; then
	pass closure-v1-equal
else
	fail closure-v1-equal "$(diff "$T/nix-v1.json" "$T/ours/v1-cmp.json" | head -30)"
fi
expect_eq closure-v1-missing "$(jq -c '[.[] | .missing] | unique' "$T/ours/v1.json" 2>&1)" '[[]]'
expect_eq closure-v1-compression "$(jq -r '.[] | .compression' "$T/ours/v1.json" 2>&1 | sort -u)" \
	"$(sed -n 's/^Compression: //p' "$CACHE"/*.narinfo | sort -u)"
# --total adds one member and leaves the paths where they were.
# shellcheck disable=SC2046
$CG --db "$DB" closure --json --total $(cat "$T/all") >"$T/ours/v1-total.json" 2>&1
expect_eq closure-v1-total-shape \
	"$(jq -c --slurpfile p "$T/ours/v1.json" '[(del(.total) == $p[0]), (.total | keys)]' "$T/ours/v1-total.json" 2>&1)" \
	'[true,["closureDownloadSize","closureSize","missing","paths"]]'

# --- the text form: like nix path-info -sS ---------------------------------

for p in $(cat "$T/all"); do
	n=$(name_of "$p")
	want=$(nix path-info -sS --store "$URL" "$p" 2>&1 | awk '{ print $1, $2, $3 }')
	got=$($CG --db "$DB" closure "$p" 2>&1 | awk '{ print $1, $2, $3 }')
	expect_eq "closure-text-$n" "$got" "$want"
done
# Several at once; a path may be named by its basename or its hash.
# shellcheck disable=SC2046
want=$(nix path-info -sS --store "$URL" $(cat "$T/all") 2>&1 | awk '{ print $1, $2, $3 }' | sort)
# shellcheck disable=SC2046
got=$($CG --db "$DB" closure $(cat "$T/all") 2>&1 | awk '{ print $1, $2, $3 }' | sort)
expect_eq closure-text-many "$got" "$want"
c=$(nix_world_path c)
want=$(nix path-info -sS --store "$URL" "$c" 2>&1 | awk '{ print $1, $2, $3 }')
expect_eq closure-by-basename "$($CG --db "$DB" closure "$(basename "$c")" 2>&1 | awk '{ print $1, $2, $3 }')" "$want"
expect_eq closure-by-hash "$($CG --db "$DB" closure "$(hash_of "$c")" 2>&1 | awk '{ print $1, $2, $3 }')" "$want"
expect_eq closure-by-cache "$($CG --db "$DB" closure --cache "$URL" "$c" 2>&1 | awk '{ print $1, $2, $3 }')" "$want"

# --- closure --all --json covers the cache ----------------------------------

$CG --db "$DB" closure --all --json --json-format nix-2.8 >"$T/ours/all.json" 2>"$T/ours/all.err"
expect_eq closure-all-paths "$(jq -r '.[].path' "$T/ours/all.json" 2>&1 | sort)" "$(cat "$T/all")"
expect_eq closure-all-sizes \
	"$(jq -c 'map({path, narSize, closureSize, closureDownloadSize}) | sort_by(.path)' "$T/ours/all.json" 2>&1)" \
	"$(jq -c 'map({path, narSize, closureSize, closureDownloadSize}) | sort_by(.path)' "$T/nix.json")"

# --- narinfos go away ---------------------------------------------------------

# b sits in the middle of the chain c -> b -> a (and under e); self refers
# to itself.  Their NARs stay: only the narinfos are gone.
b=$(nix_world_path b)
s=$(nix_world_path self)
rm "$CACHE/$(hash_of "$b").narinfo" "$CACHE/$(hash_of "$s").narinfo"
n_left=$((n_all - 2))

if $CG --db "$DB" --now 2030-01-02 crawl --json "$T/cache" >"$T/crawl3.json" 2>"$T/crawl3.err"; then
	pass crawl3-exit
else
	fail crawl3-exit "crawl after deletion failed: $(head -c 2000 "$T/crawl3.err")"
fi
expect_json crawl3 "$T/crawl3.json" "cache \"$URL\"" 'status "complete"' 'new 0' \
	"present $n_left" 'gone 2' 'rejected 0' 'absent 0' 'unknown 0' "paths $n_left"
crawl3=$(jq -r '.crawl' "$T/crawl3.json" 2>/dev/null)

expect_eq db-gone-at "$(q "SELECT p.hash || ' ' || pr.gone_at || ' ' || pr.gone_crawl_id FROM presence pr
	JOIN paths p ON p.id = pr.path_id WHERE pr.gone_at IS NOT NULL ORDER BY p.hash")" \
	"$(printf '%s\n' "$(hash_of "$b") $day2 $crawl3" "$(hash_of "$s") $day2 $crawl3" | sort)"
expect_eq db-still-present "$(q "SELECT count(*) FROM presence WHERE gone_at IS NULL
	AND last_seen = $day2 AND last_crawl_id = $crawl3")" "$n_left"
expect_eq db-facts-kept "$(q 'SELECT count(*) FROM narinfos')" "$n_all"

# Dependants of b now have a hole in their closure.
for n in c e; do
	p=$(nix_world_path "$n")
	$CG --db "$DB" closure --json --json-format nix-2.8 "$p" >"$T/ours/$n-after.json" 2>&1
	expect_eq "closure-missing-$n" "$(ourval "$T/ours/$n-after.json" "$p" missing)" "[\"$b\"]"
done
for n in a d; do
	p=$(nix_world_path "$n")
	$CG --db "$DB" closure --json --json-format nix-2.8 "$p" >"$T/ours/$n-after.json" 2>&1
	expect_eq "closure-missing-$n-after" "$(ourval "$T/ours/$n-after.json" "$p" missing)" '[]'
done

# A gone path's closure still comes from the facts recorded before.
for p in "$b" "$s"; do
	n=$(name_of "$p")
	f="$T/ours/$n-gone.json"
	if $CG --db "$DB" closure --json --json-format nix-2.8 "$p" >"$f" 2>"$T/ours/$n-gone.err"; then
		pass "closure-gone-exit-$n"
	else
		fail "closure-gone-exit-$n" "closure --json of gone $p failed: $(head -c 1000 "$T/ours/$n-gone.err")"
	fi
	for field in narSize references closureSize closureDownloadSize; do
		expect_eq "closure-gone-$field-$n" "$(ourval "$f" "$p" "$field")" "$(nixval "$p" "$field")"
	done
	expect_eq "closure-gone-missing-$n" "$(ourval "$f" "$p" missing)" "[\"$p\"]"
done

nix_forget_world
finish
