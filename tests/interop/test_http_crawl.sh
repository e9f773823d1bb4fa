#!/bin/sh
# tests/interop/test_http_crawl.sh - a cache built and pushed by real Nix,
# served by nginx: crawled over HTTP from its roots, it must give exactly the
# directory crawl's paths, sizes, references, signatures, push times and
# presence history, table by table; each narinfo is fetched once ever (gzip,
# as nginx offers it), later crawls only HEAD; paths that go away are gone
# at the same crawl either way.
. "$(dirname "$0")/../lib/lib.sh"
. "$ROOT/tests/lib/nix.sh"
. "$ROOT/tests/lib/nginx.sh"
need jq sqlite3 curl awk
nix_setup

# --- the world, pushed and signed by Nix -----------------------------------

mkdir "$T/world" "$T/cache"
nix_build_world "$T/world"
nix_keys cachegc-test-1
nix_keys cachegc-test-2
CACHE=$(cd "$T/cache" && pwd -P)
# shellcheck disable=SC2046
nix_push "$CACHE" "$T/cachegc-test-1.secret" $(cut -d' ' -f2 "$T/world/paths")
if ! nix store sign --store "file://$CACHE" --key-file "$T/cachegc-test-2.secret" \
	"$(nix_world_path a)" "$(nix_world_path e)" >"$T/sign.log" 2>&1; then
	fail nix-sign "nix store sign failed: $(cat "$T/sign.log")"
fi
nix_world_paths >"$T/all"
n_all=$(wc -l <"$T/all")
expect_eq world-size "$n_all" 9

# The roots: e (whose closure is c, b, a, d) and big as a store-path list,
# f (which reaches the no-deriver note) and self as nix-eval-jobs lines.
{
	echo "# nix path-info style"
	nix_world_path e
	nix_world_path big
} >"$T/roots.txt"
{
	printf '{"attr":"f","attrPath":["f"],"drvPath":"%s","name":"cachegc-f","system":"x86_64-linux","outputs":{"out":"%s"}}\n' \
		"$(nix-store -qd "$(nix_world_path f)")" "$(nix_world_path f)"
	printf '{"attr":"self","attrPath":["self"],"drvPath":"%s","name":"cachegc-self","system":"x86_64-linux","outputs":{"out":"%s"}}\n' \
		"$(nix-store -qd "$(nix_world_path self)")" "$(nix_world_path self)"
	printf '{"attr":"broken","attrPath":["broken"],"error":"error: evaluation aborted"}\n'
} >"$T/roots.jsonl"

nginx_start "$CACHE"
LOG=$NGINX_DIR/access.log
HDB=$T/http.db
DDB=$T/dir.db
day() { date -u -d "2030-01-0$1" +%s; }

# crawl_both N ARGS...: the day-N crawls, over HTTP (with ARGS) and of the
# directory; summaries in $T/http-N.json, $T/dir-N.json, nginx's log lines
# of the HTTP crawl in $T/http-N.log.
crawl_both() {
	cb=$1
	shift
	mark=$(wc -l <"$LOG")
	if $CG --db "$HDB" --now "2030-01-0$cb" crawl --json "$@" "$NGINX_URL" \
		>"$T/http-$cb.json" 2>"$T/http-$cb.err"; then
		pass "http-crawl-$cb-exit"
	else
		fail "http-crawl-$cb-exit" "$(head -c 2000 "$T/http-$cb.err")"
	fi
	tail -n +$((mark + 1)) "$LOG" >"$T/http-$cb.log"
	if $CG --db "$DDB" --now "2030-01-0$cb" crawl --json "$CACHE" \
		>"$T/dir-$cb.json" 2>"$T/dir-$cb.err"; then
		pass "dir-crawl-$cb-exit"
	else
		fail "dir-crawl-$cb-exit" "$(head -c 2000 "$T/dir-$cb.err")"
	fi
}
# summary N KIND: the counts of a summary, "status new present gone rejected absent unknown paths"
summary() {
	jq -r '[.status, .new, .present, .gone, .rejected, .absent, .unknown, .paths] | map(tostring) | join(" ")' \
		"$T/$2-$1.json" 2>&1
}
q() { sqlite3 -batch -noheader "$1" "$2" 2>&1; }
# dump DB: every table a crawl writes, by hash instead of ids, sorted.
dump() {
	q "$1" "SELECT 'cache', store_dir, want_mass_query, priority FROM caches"
	q "$1" "SELECT 'path', hash, name FROM paths ORDER BY hash"
	q "$1" "SELECT 'narinfo', p.hash, n.url, n.compression, n.file_hash, n.file_size,
		n.nar_hash, n.nar_size, ifnull(n.deriver, 'NULL'), ifnull(n.ca, 'NULL'),
		ifnull(n.system, 'NULL'), n.fetched_at
		FROM narinfos n JOIN paths p ON p.id = n.path_id ORDER BY p.hash"
	q "$1" "SELECT 'ref', p.hash, rp.hash FROM refs r JOIN paths p ON p.id = r.path_id
		JOIN paths rp ON rp.id = r.ref_id ORDER BY 2, 3"
	q "$1" "SELECT 'sig', p.hash, s.key_name, s.sig FROM sigs s JOIN paths p ON p.id = s.path_id
		ORDER BY 2, 3, 4"
	q "$1" "SELECT 'presence', p.hash, e.push_time, e.first_seen, e.last_seen,
		ifnull(e.gone_at, 'NULL') FROM presence e JOIN paths p ON p.id = e.path_id
		ORDER BY 2, 4"
	q "$1" "SELECT 'crawl', status, started_at, finished_at, n_new, n_present, n_gone,
		n_rejected, n_absent, n_unknown FROM crawls ORDER BY id"
}
same_tables() {
	dump "$HDB" >"$T/http.dump"
	dump "$DDB" >"$T/dir.dump"
	if [ -s "$T/dir.dump" ] && cmp -s "$T/http.dump" "$T/dir.dump"; then
		pass "$1"
	else
		fail "$1" "HTTP and directory crawls differ: $(diff "$T/dir.dump" "$T/http.dump" | head -30)"
	fi
}
hash_of() { basename "$1" | cut -c1-32; }
# narinfo_requests N METHOD: nginx's log lines of crawl N for narinfos
narinfo_requests() { grep -c "\"$2 /[0-9a-z]\{32\}\.narinfo HTTP" "$T/http-$1.log"; }

# --- day 1: the closure of the roots, and the whole directory ---------------

crawl_both 1 --roots "$T/roots.txt" --roots "$T/roots.jsonl"
expect_eq http-1-summary "$(summary 1 http)" "complete $n_all 0 0 0 0 0 $n_all"
expect_eq dir-1-summary "$(summary 1 dir)" "complete $n_all 0 0 0 0 0 $n_all"
expect_eq http-1-cache "$(jq -r .cache "$T/http-1.json")" "$NGINX_URL"
same_tables tables-equal-day-1
expect_eq http-1-sigs "$(q "$HDB" 'SELECT count(*) FROM sigs')" $((n_all + 2))
expect_eq http-1-cache-info "$(grep -c '"GET /nix-cache-info HTTP' "$T/http-1.log")" 1
expect_eq http-1-gets "$(narinfo_requests 1 GET)" "$n_all"
for p in $(cat "$T/all"); do
	h=$(hash_of "$p")
	expect_eq "http-1-fetched-once-$(basename "$p" | cut -c34-)" \
		"$(grep -c "\"GET /$h\.narinfo HTTP" "$T/http-1.log")" 1
done
# nginx gzips narinfos for clients that ask: every narinfo body sent was
# smaller than the file.  Combined log: ... "GET /x HTTP/1.1" 200 BYTES "-" "UA"
awk -v dir="$CACHE" '$7 ~ /\.narinfo$/ {
	f = dir $7; size = 0
	while ((getline line < f) > 0) size += length(line) + 1
	close(f)
	if ($10 + 0 >= size) bad++
	n++
} END { exit !(n > 0 && !bad) }' "$T/http-1.log" && pass http-1-gzip ||
	fail http-1-gzip "narinfos were not sent gzipped: $(head -3 "$T/http-1.log")"
check http-1-user-agent grep -q '"cachegc/[0-9]' "$T/http-1.log"
expect_eq http-1-no-checks "$(q "$HDB" 'SELECT count(*) FROM path_checks')" 0

# The recorded facts give the same closures as the directory's.
e=$(nix_world_path e)
$CG --db "$HDB" closure --json "$e" "$(nix_world_path f)" >"$T/http-closure.json" 2>&1
$CG --db "$DDB" closure --json "$e" "$(nix_world_path f)" >"$T/dir-closure.json" 2>&1
if [ -s "$T/dir-closure.json" ] && cmp -s "$T/http-closure.json" "$T/dir-closure.json"; then
	pass closure-equal
else
	fail closure-equal "$(diff "$T/dir-closure.json" "$T/http-closure.json" | head -20)"
fi

# --- day 2: a re-check HEADs every known path and fetches nothing ------------

crawl_both 2
expect_eq http-2-summary "$(summary 2 http)" "complete 0 $n_all 0 0 0 0 $n_all"
expect_eq http-2-heads "$(narinfo_requests 2 HEAD)" "$n_all"
expect_eq http-2-no-gets "$(narinfo_requests 2 GET)" 0
same_tables tables-equal-day-2

# A roots crawl of known paths: HEADs, and the closure from the DB.
mark=$(wc -l <"$LOG")
$CG --db "$T/roots-again.db" --now 2030-01-02 crawl --json --roots "$T/roots.txt" \
	"$NGINX_URL" >/dev/null 2>&1
$CG --db "$T/roots-again.db" --now 2030-01-02 crawl --json --roots "$T/roots.txt" \
	"$NGINX_URL" >"$T/roots-again.json" 2>&1
tail -n +$((mark + 1)) "$LOG" >"$T/roots-again.log"
expect_eq roots-again-summary "$(jq -r '"\(.new) \(.present)"' "$T/roots-again.json" 2>&1)" "0 6"
expect_eq roots-again-gets "$(grep -c '"GET /[0-9a-z]\{32\}\.narinfo HTTP' "$T/roots-again.log")" 6

# The same roots as real Nix prints them, handed on as they are: with the
# -sS columns, as basenames, and its --json.
paths_of() { q "$1" "SELECT p.hash || '-' || p.name FROM narinfos n JOIN paths p ON p.id = n.path_id ORDER BY 1"; }
e=$(nix_world_path e)
big=$(nix_world_path big)
nix path-info -sS --store "file://$CACHE" "$e" "$big" >"$T/roots-nix-sS" 2>"$T/nix.err"
nix path-info --store "file://$CACHE" "$e" "$big" 2>>"$T/nix.err" | sed 's|.*/||' >"$T/roots-nix-base"
nix path-info --json --store "file://$CACHE" "$e" "$big" >"$T/roots-nix-json" 2>>"$T/nix.err"
check nix-path-info-roots test -s "$T/roots-nix-json"
for form in sS base json; do
	$CG --db "$T/roots-$form.db" --now 2030-01-02 crawl --json --roots "$T/roots-nix-$form" \
		"$NGINX_URL" >"$T/roots-$form.json" 2>"$T/roots-$form.err"
	expect_eq "roots-nix-$form-new" "$(jq -r .new "$T/roots-$form.json" 2>&1)" 6
	expect_eq "roots-nix-$form-paths" "$(paths_of "$T/roots-$form.db")" "$(paths_of "$T/roots-again.db")"
done

# --uncompressed: the same paths, and every narinfo sent as stored, not
# gzipped (nginx compresses only for a client that asks).
mark=$(wc -l <"$LOG")
$CG --db "$T/plain.db" --now 2030-01-02 crawl --json --uncompressed --roots "$T/roots.txt" \
	"$NGINX_URL" >"$T/plain.json" 2>"$T/plain.err"
tail -n +$((mark + 1)) "$LOG" >"$T/plain.log"
expect_eq plain-new "$(jq -r .new "$T/plain.json" 2>&1)" 6
expect_eq plain-paths "$(paths_of "$T/plain.db")" "$(paths_of "$T/roots-again.db")"
awk -v dir="$CACHE" '$7 ~ /\.narinfo$/ {
	f = dir $7; size = 0
	while ((getline line < f) > 0) size += length(line) + 1
	close(f)
	if ($10 + 0 != size) bad++
	n++
} END { exit !(n == 6 && !bad) }' "$T/plain.log" && pass plain-not-gzipped ||
	fail plain-not-gzipped "narinfos were not sent as stored: $(head -3 "$T/plain.log")"

# --- day 3: two narinfos go away: gone at the same crawl either way -----------

b=$(nix_world_path b)
s=$(nix_world_path self)
mv "$CACHE/$(hash_of "$b").narinfo" "$CACHE/$(hash_of "$s").narinfo" "$T/"
crawl_both 3
expect_eq http-3-summary "$(summary 3 http)" "complete 0 $((n_all - 2)) 2 0 0 0 $((n_all - 2))"
expect_eq dir-3-summary "$(summary 3 dir)" "complete 0 $((n_all - 2)) 2 0 0 0 $((n_all - 2))"
same_tables tables-equal-day-3
expect_eq http-3-gone-at "$(q "$HDB" "SELECT p.hash || ' ' || e.gone_at FROM presence e
	JOIN paths p ON p.id = e.path_id WHERE e.gone_at IS NOT NULL ORDER BY p.hash")" \
	"$(printf '%s\n' "$(hash_of "$b") $(day 3)" "$(hash_of "$s") $(day 3)" | sort)"
# Over HTTP the 404s are kept as answers too (a directory has no such thing).
expect_eq http-3-checks "$(q "$HDB" "SELECT p.hash || ' ' || k.status || ' ' || k.http_code
	FROM path_checks k JOIN paths p ON p.id = k.path_id ORDER BY p.hash")" \
	"$(printf '%s\n' "$(hash_of "$b") absent 404" "$(hash_of "$s") absent 404" | sort)"

# --- day 4: they come back ------------------------------------------------------

back=$(day 4)
for h in "$(hash_of "$b")" "$(hash_of "$s")"; do
	mv "$T/$h.narinfo" "$CACHE/"
	touch -d "@$back" "$CACHE/$h.narinfo"
done
crawl_both 4
expect_eq http-4-summary "$(summary 4 http)" "complete 0 $n_all 0 0 0 0 $n_all"
same_tables tables-equal-day-4
# New episodes, pushed (Last-Modified) when they came back.
expect_eq http-4-episodes "$(q "$HDB" "SELECT count(*) FROM presence WHERE gone_at IS NULL
	AND push_time = $back AND first_seen = $back")" 2
expect_eq http-4-no-checks "$(q "$HDB" 'SELECT count(*) FROM path_checks')" 0

nginx_stop
nix_forget_world
finish
