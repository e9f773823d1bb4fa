#!/bin/sh
# tests/interop/test_s3_crawl.sh - `crawl s3://`: real Nix pushes a signed
# cache (nix copy --to file://), curl --aws-sigv4 uploads it into a bucket
# of s3rver (npm's S3 server) on loopback, behind a proxy that checks every
# request's AWS Signature V4 as S3 does (s3rver does not; tests/lib/
# s3_sigv4_proxy.py).  The S3 crawl gives the rows the directory crawl of
# the same files gives; a small --page-size pages through continuation
# tokens; a re-crawl fetches no narinfo again; a wrong secret is a clear
# error naming the bucket, exit 1, nothing recorded; credentials from a
# profile of the credentials file; a key deleted between crawls is gone; a
# narinfo without FileSize gets its NAR's listed size; an S3 Inventory
# report (manifest.json and gzipped CSV) read instead of the listing.
. "$(dirname "$0")/../lib/lib.sh"
if ! command -v npm >/dev/null 2>&1 && ! command -v s3rver >/dev/null 2>&1; then
	echo "SKIP test_s3_crawl: npm is not installed, so neither is s3rver (tools/deps.sh test installs both)"
	exit 0
fi
need s3rver python3 curl jq sqlite3 awk
. "$ROOT/tests/lib/nix.sh"
nix_setup

# --- the cache, by real Nix ---------------------------------------------------
mkdir "$T/world" "$T/cache"
nix_build_world "$T/world"
nix_keys s3-test-1
# shellcheck disable=SC2046
nix_push "$T/cache" "$T/s3-test-1.secret" $(cut -d' ' -f2 "$T/world/paths")
CACHE=$(cd "$T/cache" && pwd -P)
n_narinfo=$(ls "$CACHE"/*.narinfo | wc -l | tr -d ' ')
expect_eq nix-pushed "$n_narinfo" 9

# --- s3rver and the signature-checking proxy ---------------------------------
. "$ROOT/tests/lib/s3rver.sh"
s3rver_start nixcache
# put DIR PREFIX: every file of DIR as PREFIX/relative-name
put() {
	(cd "$1" && find . -type f | sed 's|^\./||') | while read -r f; do
		curl -sS -f $SIG -T "$1/$f" "$EP/nixcache/$2/$f" -o /dev/null || echo "$f" >>"$T/put.failed"
	done
}
put "$CACHE" cache
[ -s "$T/put.failed" ] && fail upload "$(cat "$T/put.failed")" || pass upload
n_objects=$(find "$CACHE" -type f | wc -l | tr -d ' ')

export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION 2>/dev/null || :
export AWS_SHARED_CREDENTIALS_FILE=$T/no-such-credentials
S3=s3://nixcache/cache

# --- the same rows as the directory crawl --------------------------------------
$CG --db "$T/d.db" --now 2024-06-01 crawl "$CACHE" >"$T/d.out" 2>&1 || fail dir-crawl "$(cat "$T/d.out")"
: >"$T/proxy.log"
$CG --db "$T/s.db" --now 2024-06-01 crawl --json --endpoint "$EP" --page-size 3 "$S3" >"$T/s.out" 2>"$T/s.err"
expect_eq s3-crawl-status $? 0
expect_eq s3-crawl-new "$(jq .new "$T/s.out")" 9
expect_eq s3-crawl-cache "$(jq -r .cache "$T/s.out")" "$S3"
# paging: ceil(keys / 3) listing requests, each after the first with a token
pages=$(grep -c 'GET /nixcache/?[^ ]*list-type=2' "$T/proxy.log")
expect_eq s3-pages "$pages" $(( (n_objects + 2) / 3 ))
expect_eq s3-pages-tokens "$(grep -c 'GET /nixcache/?continuation-token=' "$T/proxy.log")" $((pages - 1))
expect_eq s3-narinfo-gets "$(grep -c 'GET /nixcache/cache/[a-z0-9]*\.narinfo' "$T/proxy.log")" 9
has s3-no-bad-signature "$T/proxy.log" '" 200 '
hasnt s3-no-403 "$T/proxy.log" '" 403 '
# facts: every column but the cache, the crawl and the push time
facts() { $CG --db "$1" export --format jsonl "$2" | jq -c "del(.cache, .crawl_id, .fetched_at, .last_modified_at, .push_time, .id, .first_seen, .last_seen, .last_crawl_id)" | sort; }
for t in narinfos refs signatures presence; do
	facts "$T/d.db" $t >"$T/d.$t"
	facts "$T/s.db" $t >"$T/s.$t"
	[ -s "$T/d.$t" ] && cmp -s "$T/d.$t" "$T/s.$t" && pass "same-$t" ||
		fail "same-$t" "$(diff "$T/d.$t" "$T/s.$t" | head -20)"
done
expect_eq same-path-count "$(sqlite3 "$T/s.db" 'SELECT count(*) FROM paths')" \
	"$(sqlite3 "$T/d.db" 'SELECT count(*) FROM paths')"
expect_eq same-cache-info "$(sqlite3 "$T/s.db" 'SELECT store_dir, want_mass_query, priority FROM caches')" \
	"$(sqlite3 "$T/d.db" 'SELECT store_dir, want_mass_query, priority FROM caches')"
# push times: the listing's LastModified (the upload, minutes ago; the
# crawls above run at --now in the past, which clamps them)
touch -d 2001-01-01 "$CACHE"/*.narinfo
$CG --db "$T/t.db" crawl --endpoint "$EP" "$S3" >/dev/null 2>&1
bad=$(sqlite3 "$T/t.db" "SELECT count(*) FROM presence WHERE push_time IS NULL OR push_time < strftime('%s','now') - 3600 OR push_time > strftime('%s','now')")
expect_eq s3-push-time-last-modified "$bad" 0
hasnt no-credentials-in-db "$T/s.db" S3RVER

# --- a re-crawl fetches no narinfo again ----------------------------------------
: >"$T/proxy.log"
$CG --db "$T/s.db" --now 2024-06-02 crawl --json --endpoint "$EP" "$S3" >"$T/s2.out" 2>&1
expect_eq recrawl-status $? 0
expect_eq recrawl-present "$(jq -c '[.new, .present, .gone]' "$T/s2.out")" "[0,9,0]"
expect_eq recrawl-no-narinfo-get "$(grep -c '\.narinfo HTTP' "$T/proxy.log")" 0

# --- wrong secret, wrong key id: a clear error, nothing recorded -----------------
AWS_SECRET_ACCESS_KEY=wrong $CG --db "$T/w.db" crawl --endpoint "$EP" "$S3" >"$T/w.out" 2>"$T/w.err"
expect_eq wrong-secret-status $? 1
has wrong-secret-names-bucket "$T/w.err" "bucket 'nixcache'"
has wrong-secret-code "$T/w.err" "SignatureDoesNotMatch"
has wrong-secret-hint "$T/w.err" "check the secret access key (from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment)"
hasnt wrong-secret-not-shown "$T/w.err" "wrong"
[ -e "$T/w.db" ] && fail wrong-secret-no-db "$T/w.db was left" || pass wrong-secret-no-db
before=$(sqlite3 "$T/s.db" 'SELECT count(*) FROM crawls')
AWS_SECRET_ACCESS_KEY=wrong $CG --db "$T/s.db" crawl --endpoint "$EP" "$S3" >/dev/null 2>&1
expect_eq wrong-secret-status-known-db $? 1
expect_eq wrong-secret-records-nothing "$(sqlite3 "$T/s.db" 'SELECT count(*) FROM crawls')" "$before"
AWS_ACCESS_KEY_ID=AKIAWRONG $CG --db "$T/w.db" crawl --endpoint "$EP" "$S3" >/dev/null 2>"$T/w.err"
expect_eq wrong-key-status $? 1
has wrong-key-code "$T/w.err" "InvalidAccessKeyId"
has wrong-key-hint "$T/w.err" "check the access key id 'AKIAWRONG'"
$CG --db "$T/w.db" crawl --endpoint "$EP" --region eu-west-3 "$S3" >/dev/null 2>"$T/w.err"
expect_eq wrong-region-status $? 1
has wrong-region-hint "$T/w.err" "check --region (eu-west-3 is used)"
$CG --db "$T/w.db" crawl --endpoint "$EP" s3://nosuchbucket >/dev/null 2>"$T/w.err"
expect_eq no-bucket-status $? 1
has no-bucket-code "$T/w.err" "NoSuchBucket"
has no-bucket-hint "$T/w.err" "check the bucket name and --endpoint"
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY $CG --db "$T/w.db" crawl --endpoint "$EP" "$S3" >/dev/null 2>"$T/w.err"
expect_eq no-credentials-status $? 1
has no-credentials-says "$T/w.err" "no AWS credentials for bucket 'nixcache': set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
[ -e "$T/w.db" ] && fail errors-leave-no-db "$T/w.db was left" || pass errors-leave-no-db

# --- credentials from a profile of the credentials file ---------------------------
printf '[default]\naws_access_key_id = nobody\naws_secret_access_key = x\n\n[ci]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n' >"$T/creds"
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_SHARED_CREDENTIALS_FILE="$T/creds" AWS_PROFILE=ci \
	$CG --db "$T/s.db" --now 2024-06-03 crawl --json --endpoint "$EP" "$S3" >"$T/p.out" 2>"$T/p.err"
expect_eq profile-status $? 0
expect_eq profile-present "$(jq .present "$T/p.out")" 9
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_SHARED_CREDENTIALS_FILE="$T/creds" \
	$CG --db "$T/s.db" crawl --endpoint "$EP" "$S3" >/dev/null 2>"$T/p.err"
expect_eq default-profile-status $? 1
has default-profile-named "$T/p.err" "check the access key id 'nobody' (from profile [default] of $T/creds)"

# --- a key deleted between crawls is gone, as in the directory crawl --------------
victim=$(basename "$(ls "$CACHE"/*.narinfo | head -1)")
curl -sS -f $SIG -X DELETE "$EP/nixcache/cache/$victim" -o /dev/null || fail delete "curl DELETE failed"
rm "$CACHE/$victim"
$CG --db "$T/s.db" --now 2024-06-04 crawl --json --endpoint "$EP" "$S3" >"$T/g.out" 2>&1
expect_eq gone-status $? 0
expect_eq gone-counts "$(jq -c '[.new, .present, .gone]' "$T/g.out")" "[0,8,1]"
$CG --db "$T/d.db" --now 2024-06-04 crawl "$CACHE" >/dev/null 2>&1
q="SELECT p.hash FROM presence e JOIN paths p ON p.id = e.path_id WHERE e.gone_at IS NOT NULL ORDER BY 1"
expect_eq gone-path "$(sqlite3 "$T/s.db" "$q")" "${victim%.narinfo}"
expect_eq gone-same-as-dir "$(sqlite3 "$T/s.db" "$q")" "$(sqlite3 "$T/d.db" "$q")"
expect_eq gone-at "$(sqlite3 "$T/s.db" "SELECT date(gone_at, 'unixepoch') FROM presence WHERE gone_at IS NOT NULL")" 2024-06-04
expect_eq gone-facts-kept "$(sqlite3 "$T/s.db" "SELECT count(*) FROM narinfos")" 9

# --- a narinfo without FileSize: the NAR's listed size ------------------------------
mkdir "$T/nofs"
cp "$CACHE/nix-cache-info" "$T/nofs/"
one=$(ls "$CACHE"/*.narinfo | head -1)
grep -v '^FileSize:' "$one" >"$T/nofs/$(basename "$one")"
nar=$(sed -n 's/^URL: //p' "$one")
mkdir -p "$T/nofs/$(dirname "$nar")"
cp "$CACHE/$nar" "$T/nofs/$nar"
put "$T/nofs" nofs
$CG --db "$T/f.db" crawl --endpoint "$EP" s3://nixcache/nofs >"$T/f.out" 2>&1 || fail nofs-crawl "$(cat "$T/f.out")"
expect_eq filesize-from-listing "$(sqlite3 "$T/f.db" 'SELECT file_size FROM narinfos')" "$(wc -c <"$CACHE/$nar" | tr -d ' ')"

# --- an S3 Inventory report instead of the listing ------------------------------------
# The report as `aws s3 sync` of its destination lays it out: the manifest
# in a dated directory, the gzipped CSV files in data/.
INV=$T/inv/nixcache/conf
mkdir -p "$INV/2024-06-05T00-00Z" "$INV/data"
inventory() { # CSV.GZ [EXCLUDED-NAME]: every file of $CACHE but the excluded one
	(cd "$CACHE" && find . -type f | sed 's|^\./||' | sort) | grep -vxF "${2:-/}" |
	while read -r f; do
		printf '"nixcache","cache/%s","%s","2024-05-01T00:00:00.000Z","0123abcd"\n' "$f" "$(wc -c <"$CACHE/$f" | tr -d ' ')"
	done | gzip >"$1"
}
inventory "$INV/data/part-1.csv.gz"
printf '"nixcache","elsewhere/x.narinfo","1","2024-05-01T00:00:00.000Z","0123abcd"\n' | gzip >"$INV/data/part-2.csv.gz"
manifest() { # FILE...: the manifest naming them
	printf '{"sourceBucket": "nixcache", "destinationBucket": "arn:aws:s3:::reports", "version": "2016-11-30",\n'
	printf ' "fileFormat": "CSV", "fileSchema": "Bucket, Key, Size, LastModifiedDate, ETag", "files": ['
	sep=
	for f in "$@"; do printf '%s{"key": "nixcache/conf/data/%s", "size": 1, "MD5checksum": "x"}' "$sep" "$f"; sep=', '; done
	printf ']}\n'
}
manifest part-1.csv.gz part-2.csv.gz >"$INV/2024-06-05T00-00Z/manifest.json"
: >"$T/proxy.log"
$CG --db "$T/i.db" --now 2024-06-05 crawl --json --endpoint "$EP" --inventory "$INV/2024-06-05T00-00Z/manifest.json" "$S3" >"$T/i.out" 2>"$T/i.err" &&
	pass inventory-status || fail inventory-status "$(cat "$T/i.err")"
expect_eq inventory-new "$(jq .new "$T/i.out")" 8
expect_eq inventory-no-listing "$(grep -c 'list-type=2' "$T/proxy.log")" 0
expect_eq inventory-push-time "$(sqlite3 "$T/i.db" 'SELECT DISTINCT push_time FROM presence')" 1714521600
facts "$T/i.db" narinfos >"$T/i.narinfos"
sqlite3 "$T/s.db" "SELECT '/nix/store/' || p.hash || '-' || p.name FROM presence e JOIN paths p ON p.id = e.path_id WHERE e.gone_at IS NULL" | sort >"$T/s.present"
jq -r .store_path "$T/i.narinfos" | sort >"$T/i.present"
check inventory-same-paths cmp "$T/s.present" "$T/i.present"
facts "$T/s.db" narinfos | jq -c --arg h "${victim%.narinfo}" 'select(.store_path | contains($h) | not)' >"$T/s.narinfos8"
check inventory-same-facts cmp "$T/s.narinfos8" "$T/i.narinfos"
# a later report without one more narinfo: it is gone
second=$(basename "$(ls "$CACHE"/*.narinfo | head -1)")
mkdir -p "$INV/2024-06-06T00-00Z"
inventory "$INV/data/part-3.csv.gz" "$second"
manifest part-3.csv.gz >"$INV/2024-06-06T00-00Z/manifest.json"
$CG --db "$T/i.db" --now 2024-06-06 crawl --json --endpoint "$EP" --inventory "$INV/2024-06-06T00-00Z/manifest.json" "$S3" >"$T/i2.out" 2>&1
expect_eq inventory-gone "$(jq -c '[.new, .present, .gone]' "$T/i2.out")" "[0,7,1]"
expect_eq inventory-gone-path "$(sqlite3 "$T/i.db" "$q")" "${second%.narinfo}"
# refusals: another bucket's report, a schema without Size, a missing file
sed 's/"sourceBucket": "nixcache"/"sourceBucket": "other"/' "$INV/2024-06-06T00-00Z/manifest.json" >"$T/other.json"
$CG --db "$T/i.db" crawl --endpoint "$EP" --inventory "$T/other.json" "$S3" >/dev/null 2>"$T/e"
expect_eq inventory-other-bucket-status $? 1
has inventory-other-bucket-says "$T/e" "is of bucket 'other', not 'nixcache'"
sed 's/Bucket, Key, Size,/Bucket, Key,/' "$INV/2024-06-06T00-00Z/manifest.json" >"$INV/2024-06-06T00-00Z/nosize.json"
$CG --db "$T/i.db" crawl --endpoint "$EP" --inventory "$INV/2024-06-06T00-00Z/nosize.json" "$S3" >/dev/null 2>"$T/e"
expect_eq inventory-no-size-status $? 1
has inventory-no-size-says "$T/e" "lacks Size"
manifest part-9.csv.gz >"$INV/2024-06-06T00-00Z/missing.json"
before=$(sqlite3 "$T/i.db" 'SELECT count(*) FROM crawls')
$CG --db "$T/i.db" crawl --endpoint "$EP" --inventory "$INV/2024-06-06T00-00Z/missing.json" "$S3" >/dev/null 2>"$T/e"
expect_eq inventory-missing-file-status $? 1
has inventory-missing-file-says "$T/e" "cannot read inventory file 'part-9.csv.gz'"
expect_eq inventory-refusals-record-nothing "$(sqlite3 "$T/i.db" 'SELECT count(*) FROM crawls')" "$before"

# --- not a cache, and usage errors ---------------------------------------------------
$CG --db "$T/n.db" crawl --endpoint "$EP" s3://nixcache/nofs/nar >"$T/n.out" 2>"$T/n.err"
expect_eq no-cache-info-status $? 1
has no-cache-info-says "$T/n.err" "has no nix-cache-info"
[ -e "$T/n.db" ] && fail no-cache-info-no-db "$T/n.db was left" || pass no-cache-info-no-db
$CG --db "$T/n.db" crawl --endpoint "$EP" "$CACHE" >/dev/null 2>"$T/n.err"
expect_eq endpoint-for-dir-status $? 2
has endpoint-for-dir-says "$T/n.err" "are for s3:// buckets"
$CG --db "$T/n.db" crawl --endpoint "$EP" --page-size 0 "$S3" >/dev/null 2>&1
expect_eq page-size-zero-status $? 2
$CG --db "$T/n.db" crawl --endpoint "$EP" 's3://nixcache/a b' >/dev/null 2>"$T/n.err"
expect_eq bad-prefix-status $? 1
has bad-prefix-says "$T/n.err" "a prefix of letters"
$CG --db "$T/n.db" crawl --endpoint ftp://x "$S3" >/dev/null 2>"$T/n.err"
expect_eq bad-endpoint-status $? 1
has bad-endpoint-says "$T/n.err" "give http(s)://HOST[:PORT]"

nix_forget_world
[ "$failures" = 0 ]
