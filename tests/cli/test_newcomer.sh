#!/bin/sh
# A newcomer's path (issue 10, item 8): the mistakes of a first hour with
# cachegc, each met with an answer that says what to do, and none leaving
# anything behind.
#   - read-only commands and usage errors never create an empty DB file
#   - a mistyped command suggests the nearest ones
#   - a global option after the command says to put it before
#   - a directory without nix-cache-info is refused unless --force (a typo
#     must not register a second cache)
#   - keys add takes nix.conf's space-separated list, and says clearly when
#     it is handed a secret key
#   - crawl --roots takes what nix path-info prints (-s/-S columns,
#     basenames, its JSON of Nix 2.8, 2.19+ and --json-format 2)
#   - verify --json gives each path's signatures as an array
. "$(dirname "$0")/../lib/lib.sh"
need sqlite3 jq curl
FIX=$ROOT/tests/fixtures
C=$FIX/cache-small
B=9r69fx38cabl08javb844cq67lpr14dh-cachegc-fixture-b-1.0
A=7v0dyy7ha6am2ha4rja8pm6ycn3c7lw4-cachegc-fixture-a
TXT=ffjzg0j94p7zixkwdlr84kyh6ghxsdp7-t.txt
K1=$(cat "$FIX/sig/test.public")
K2=$(cat "$FIX/sig/other.public")
q() { sqlite3 -batch -noheader "$1" "$2" 2>&1; }
# run ARGS...: cachegc with $T/out, $T/err and $rc
run() {
	$CG "$@" >"$T/out" 2>"$T/err"
	rc=$?
}
# no_files NAME: the directory $T/none holds nothing (no DB, -wal, -shm)
no_files() {
	expect_eq "$1" "$(ls -A "$T/none")" ""
}

# --- no empty database ----------------------------------------------------------
# Every one of these, on a DB that does not exist, fails (or has nothing to
# say) and must leave no file: reading creates nothing, and a usage error
# or a refused crawl takes back the DB it opened.
mkdir "$T/none" "$T/plain"
cp "$C"/*.narinfo "$T/plain/"            # a directory without nix-cache-info
while IFS='|' read -r name want args; do
	# shellcheck disable=SC2086
	(cd "$T/none" && $CG --db "$T/none/x.db" $args >/dev/null 2>"$T/err")
	rc=$?
	expect_eq "nodb-$name-exit" "$rc" "$want"
	no_files "nodb-$name-no-file"
done <<EOF
keys-list|0|keys list
keys-list-json|0|keys list --json
keys-revoke|1|keys revoke nobody
coverage|1|coverage
verify|1|verify
closure|1|closure --all
why|1|why $B
plan|1|plan evict --limit 1G
evict|1|evict --plan 1
simulate|1|simulate --policy attic
report|1|report --out $T/none/r
crawl-no-source|2|crawl
crawl-bad-option|2|crawl --frob $C
crawl-missing-dir|1|crawl $T/none/nonexistent
crawl-no-cache-info|1|crawl $T/plain
keys-add-nothing|2|keys add
keys-add-bad|1|keys add nope:AAAA
import-builds-usage|2|import-builds
import-eval-usage|2|import-eval
import-access-usage|2|import-access --frob x
unknown-command|2|frobnicate
EOF
# The default DB too (./cachegc.db, no --db).
(cd "$T/none" && env -u CACHEGC_DB $CG coverage >/dev/null 2>&1)
no_files nodb-default-db-no-file
# What writes keeps its DB.
run --db "$T/k.db" keys add "$K1"
expect_eq nodb-keys-add-exit "$rc" 0
expect_eq nodb-keys-add-kept "$(q "$T/k.db" 'SELECT count(*) FROM trusted_keys')" 1
run --db "$T/c.db" crawl "$C"
expect_eq nodb-crawl-exit "$rc" 0
expect_eq nodb-crawl-kept "$(q "$T/c.db" 'SELECT count(*) FROM narinfos')" 3
# A 0-byte file given as the DB was not created by the run: it stays.
: >"$T/empty.db"
run --db "$T/empty.db" keys list
check nodb-zero-byte-file-stays test -e "$T/empty.db"

# --- a mistyped command ---------------------------------------------------------
run craw "$C"
expect_eq typo-exit "$rc" 2
has typo-crawl "$T/err" "unknown command 'craw'; did you mean 'crawl'?"
run verfiy
has typo-swap "$T/err" "did you mean 'verify'?"
run clozur
has typo-two-edits "$T/err" "did you mean 'closure'?"
run import "$FIX/evals"
has typo-prefix "$T/err" "did you mean one of 'import-eval', 'import-builds', 'import-access', 'import-hydra'?"
run frobnicate
expect_eq typo-far-exit "$rc" 2
has typo-far-says "$T/err" "unknown command 'frobnicate'; see 'cachegc --help'"
hasnt typo-far-no-guess "$T/err" "did you mean"
# No more edits than letters: 'xy' is not 'why' misspelt.
run xy
hasnt typo-short-no-guess "$T/err" "did you mean"

# --- a global option after the command ------------------------------------------
(cd "$T/none" && $CG closure --db "$T/c.db" --all >"$T/out" 2>"$T/err")
expect_eq global-after-exit "$?" 2
has global-after-says "$T/err" "'--db' is a global option: put it before the command, as in 'cachegc --db $T/c.db closure ...'"
no_files global-after-no-default-db
run --db "$T/c.db" closure --all --now=2024-01-01
has global-after-equals "$T/err" "'--now=2024-01-01' is a global option: put it before the command, as in 'cachegc --now=2024-01-01 closure ...'"
run --db "$T/c.db" crawl -q "$C"
expect_eq global-after-short-exit "$rc" 2
has global-after-short "$T/err" "'-q' is a global option"
expect_eq global-after-no-crawl "$(q "$T/c.db" 'SELECT count(*) FROM crawls')" 1
# An option's value is not an option: --cache gets '--now' here.
run --db "$T/c.db" closure --cache --now --all
has global-after-value-skipped "$T/err" "no cache '--now'"
# After "--" everything is an argument.
run --db "$T/c.db" closure -- --db
hasnt global-after-dashdash "$T/err" "global option"
# Before the command, the same options work.
run --db "$T/c.db" --now 2024-01-01 -q closure --all
expect_eq global-before-exit "$rc" 0

# --- a directory without nix-cache-info -----------------------------------------
run --db "$T/c.db" crawl "$T/plain"
expect_eq cacheinfo-refused-exit "$rc" 1
has cacheinfo-refused-says "$T/err" "has no nix-cache-info, so it is not a binary cache"
has cacheinfo-refused-hint "$T/err" "pass --force"
expect_eq cacheinfo-no-second-cache "$(q "$T/c.db" 'SELECT count(*) FROM caches')" 1
expect_eq cacheinfo-no-crawl "$(q "$T/c.db" 'SELECT count(*) FROM crawls')" 1
# A typo of a real cache's name: an empty directory next to it.
mkdir "$T/cache-smal"
run --db "$T/c.db" crawl "$T/cache-smal"
expect_eq cacheinfo-typo-exit "$rc" 1
expect_eq cacheinfo-typo-no-cache "$(q "$T/c.db" 'SELECT count(*) FROM caches')" 1
run --db "$T/c.db" --now 2024-01-02 crawl --force "$T/plain"
expect_eq cacheinfo-force-exit "$rc" 0
has cacheinfo-force-warns "$T/err" "has no nix-cache-info; assuming StoreDir /nix/store"
expect_eq cacheinfo-force-second-cache "$(q "$T/c.db" 'SELECT count(*) FROM caches')" 2
# Once it is a known cache, a re-crawl needs no --force.
run --db "$T/c.db" --now 2024-01-03 crawl "$T/plain"
expect_eq cacheinfo-known-exit "$rc" 0
expect_eq cacheinfo-known-same-cache "$(q "$T/c.db" 'SELECT count(*) FROM caches')" 2

# --- keys add as nix.conf writes them -------------------------------------------
run --db "$T/keys.db" keys add "$K1 $K2"
expect_eq keys-list-exit "$rc" 0
expect_eq keys-list-both "$(q "$T/keys.db" 'SELECT name || ":" || public_key FROM trusted_keys ORDER BY name')" \
	"$(printf '%s\n' "$K1" "$K2" | sort)"
# The line pasted whole, and the keys as separate arguments.
run --db "$T/keys.db" keys add --json "trusted-public-keys = $K1 $K2"
expect_eq keys-line-exit "$rc" 0
expect_eq keys-line-json "$(jq -c '[.[] | .status]' "$T/out")" '["already-trusted","already-trusted"]'
run --db "$T/keys.db" keys add "extra-trusted-public-keys=$K2"
expect_eq keys-extra-exit "$rc" 0
run --db "$T/keys.db" keys add --json "$K1"
expect_eq keys-one-json-object "$(jq -r '.status' "$T/out")" already-trusted
# One bad key: none is added.
run --db "$T/keys2.db" keys add "$K1 ${K2%%:*}:AAAA"
expect_eq keys-one-bad-exit "$rc" 1
has keys-one-bad-names-it "$T/err" "key 2 of 2"
has keys-one-bad-nothing "$T/err" "nothing was added"
check keys-one-bad-no-db test ! -e "$T/keys2.db"
# A secret key: refused, said so, and not echoed.
SECRET=$(cat "$FIX/sig/test.secret")
run --db "$T/keys.db" keys add "$SECRET"
expect_eq keys-secret-exit "$rc" 1
has keys-secret-says "$T/err" "'cachegc-test-1:...' is a secret key"
has keys-secret-what-to-do "$T/err" "nix key convert-secret-to-public"
hasnt keys-secret-not-echoed "$T/err" "${SECRET#*:}"
expect_eq keys-secret-not-added "$(q "$T/keys.db" 'SELECT count(*) FROM trusted_keys')" 2

# --- crawl --roots takes what nix path-info prints ------------------------------
FS=${BUILD:-$(dirname "$CACHEGC")}/tests/faultserver
[ -x "$FS" ] || { fail faultserver "no $FS (make unit-tests builds it)"; exit 1; }
"$FS" --root "$C" --port-file "$T/port" --log "$T/fs.log" --max-seconds 300 >"$T/fs.out" 2>&1 &
at_exit "kill $! 2>/dev/null"
wait_until 100 0.05 test -s "$T/port" || { fail faultserver-start "$(cat "$T/fs.out")"; exit 1; }
URL="http://127.0.0.1:$(cat "$T/port")"
R=$T/roots
mkdir "$R"
# The roots b (whose closure holds a) and t.txt, in each form.
printf '/nix/store/%s\n' $B $TXT >"$R/plain"
# nix path-info -sS: the path padded to the longest, then "\t%11d" columns
# (Nix's printSize); -h sizes and --sigs likewise follow a tab.
printf '%-66s\t%11d\t%11d\n' /nix/store/$B 600 888 /nix/store/$TXT 136 136 >"$R/sizes"
printf '/nix/store/%s\t  600.0\tultimate test-1:xyz\n' $B >"$R/sigs"
printf '/nix/store/%s\n' $TXT >>"$R/sigs"
printf '%s\n' $B $TXT >"$R/basenames"
# Nix 2.8's --json: an array of objects with "path".
printf '[{"path":"/nix/store/%s","narHash":"sha256-x","narSize":600,"references":[]},{"path":"/nix/store/%s","narSize":136}]\n' \
	$B $TXT >"$R/json-2.8"
# Nix 2.19+ (format 1): keyed by store path; null for a path not valid.
printf '{"/nix/store/%s":{"ca":null,"narSize":600,"storeDir":"/nix/store","version":1},"/nix/store/%s":null}\n' \
	$B $TXT >"$R/json-v1"
jq . "$R/json-v1" >"$R/json-v1-pretty"
# --json-format 2 and 3: basenames under "info".
printf '{"version":2,"storeDir":"/nix/store","info":{"%s":{"narSize":600},"%s":null}}\n' \
	$B $TXT >"$R/json-v2"
# cachegc closure --json's own output, both shapes.
$CG --db "$T/c.db" closure --cache "$C" --json $B $TXT >"$R/closure-json" 2>/dev/null
$CG --db "$T/c.db" closure --cache "$C" --json --json-format nix-2.8 $B $TXT >"$R/closure-json-2.8" 2>/dev/null
for form in plain sizes sigs basenames json-2.8 json-v1 json-v1-pretty json-v2 closure-json closure-json-2.8; do
	db=$T/roots-$form.db
	$CG --db "$db" --now 2030-01-01 crawl --json --roots "$R/$form" "$URL" >"$T/out" 2>"$T/err"
	expect_eq "roots-$form-exit" "$?" 0
	expect_eq "roots-$form-new" "$(jq -r '.new' "$T/out" 2>&1)" 3
	expect_eq "roots-$form-paths" "$(q "$db" 'SELECT hash || "-" || name FROM paths p JOIN narinfos n ON n.path_id = p.id ORDER BY 1')" \
		"$(printf '%s\n' $A $B $TXT | sort)"
done
# --force is for directories: over HTTP no nix-cache-info is a wrong URL.
run --db "$T/junk.db" crawl --force "$URL"
expect_eq cacheinfo-force-http-exit "$rc" 2
has cacheinfo-force-http-says "$T/err" "--force is for a cache directory"
# What is none of these is still refused, naming the line.
printf '/nix/store/%s\nnot a path\n' $B >"$R/junk"
run --db "$T/junk.db" crawl --roots "$R/junk" "$URL"
expect_eq roots-junk-exit "$rc" 1
has roots-junk-line "$T/err" "junk:2: 'not a path' is neither a store path"
printf '{"/gnu/store/%s":{}}\n' $B >"$R/json-gnu"
run --db "$T/junk.db" crawl --roots "$R/json-gnu" "$URL"
expect_eq roots-other-store-exit "$rc" 1
printf '{"version":2,"storeDir":"/gnu/store","info":{"%s":null}}\n' $B >"$R/json-v2-gnu"
run --db "$T/junk.db" crawl --roots "$R/json-v2-gnu" "$URL"
expect_eq roots-v2-other-store-exit "$rc" 1
has roots-v2-other-store-says "$T/err" "its storeDir is '/gnu/store', not /nix/store"

# --- verify --json: signatures as an array --------------------------------------
$CG gen "$T/w" --paths 60 --seed 3 >/dev/null 2>&1 || { fail gen; exit 1; }
V=$T/v.db
$CG --db "$V" --now 2024-06-01 crawl "$T/w/cache" >/dev/null 2>&1
KEY=$(cat "$T/w/keys/"*.public)
$CG --db "$V" keys add "$KEY" >/dev/null 2>&1
run --db "$V" --now 2024-06-01 verify --json
expect_eq verify-json-exit "$rc" 0
expect_eq verify-sigs-arrays "$(jq -c '[.paths[] | .signatures | type] | unique' "$T/out" 2>&1)" '["array"]'
expect_eq verify-sigs-objects "$(jq -c '[.paths[] | .signatures[] | keys] | unique' "$T/out" 2>&1)" \
	'[["keyName","sig","status"]]'
expect_eq verify-sigs-trusted "$(jq -c --arg k "${KEY%%:*}" '[.paths[] | select(.verdict == "signed") | .signatures | map(select(.keyName == $k) | .status)] | flatten | unique' "$T/out")" \
	'["trusted"]'
# Each sig is the narinfo's, after "name:".
p=$(jq -r '[.paths[] | select(.verdict == "signed")][0].path' "$T/out")
h=$(basename "$p" | cut -c1-32)
expect_eq verify-sig-is-narinfos "$(jq -r --arg p "$p" '.paths[] | select(.path == $p) | .signatures[0] | .keyName + ":" + .sig' "$T/out")" \
	"$(sed -n 's/^Sig: //p' "$T/w/cache/$h.narinfo" | head -n 1)"
# A revoked key: its status and when.
$CG --db "$V" keys revoke "${KEY%%:*}" --at 2024-05-01 >/dev/null 2>&1
run --db "$V" --now 2024-06-01 verify --json
expect_eq verify-revoked-exit "$rc" 1
expect_eq verify-revoked "$(jq -c '[.paths[] | .signatures[] | [.status, .revokedAt]] | unique' "$T/out")" \
	'[["revoked","2024-05-01T00:00:00Z"]]'
finish
