#!/bin/sh
# tests/interop/test_evict_hostile.sh - eviction on a hostile cache, with
# real Nix.  Nix builds a world and `nix copy` pushes it (with .ls
# listings) to a signed file:// cache.  Before the plan, narinfos are added
# whose URLs name each kind of file that is not a NAR (another path's
# .narinfo, nix-cache-info, a kept path's .ls, files under log/,
# realisations/, debuginfo/): the plan takes them, and apply must leave
# them whole.  After the plan, narinfos "pushed later" name the planned
# NARs in every spelling Nix or nginx reads differently from a naive
# reader (two URL lines, a tab after the colon, an over-size narinfo, a
# percent-escape, a query string): those NARs must stay.  A narinfo being
# pushed (Nix's temporary name, cut short) blocks the whole run.  After
# `evict --apply`, every kept root passes `nix path-info -r` and
# `nix copy --from` into a fresh store, and every file not deleted is
# byte-identical (sha256 of every file before and after).
. "$(dirname "$0")/../lib/lib.sh"
. "$ROOT/tests/lib/nix.sh"
. "$ROOT/tests/lib/nginx.sh"
need jq sqlite3 sha256sum
nix_setup

mkdir "$T/world"
nix_build_world "$T/world"
nix_keys cachegc-hostile-1
PUB=$(cat "$T/cachegc-hostile-1.public")
C="$T/cache"
mkdir -p "$C"
# shellcheck disable=SC2046
if ! nix copy --to "file://$C?secret-key=$T/cachegc-hostile-1.secret&compression=xz&write-nar-listing=true" \
	$(cut -d' ' -f2 "$T/world/paths") >"$T/push.log" 2>&1; then
	fail nix-push "$(tail -n 20 "$T/push.log")"
	exit 1
fi
for n in a b c d e f self big; do eval "p_$n=\$(nix_world_path $n)"; done
# shellcheck disable=SC2154
p_note=$(nix-store -qR "$p_f" | grep -- '-cachegc-note-')
hash_of() { basename "$1" | cut -c1-32; }
url_of() { sed -n 's/^URL: //p' "$C/$(hash_of "$1").narinfo"; }
# shellcheck disable=SC2154
KEPT="$p_a $p_d $p_f $p_note"
# shellcheck disable=SC2154
EVICTED="$p_b $p_c $p_e $p_self $p_big"
expect_eq pushed-ls "$(test -f "$C/$(hash_of "$p_d").ls" && echo yes)" yes

# fake HASH-SEED: a store hash (nix32) unique to this run
nonce=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
fake() { printf '%s-%s' "$nonce" "$1" | sha256sum | cut -c1-32 | tr 'eotu' 'zzzz'; }
NARHASH=sha256:$(printf x >"$T/x" && nix hash file --type sha256 --base32 "$T/x")
# narinfo HASH NAME URL [EXTRA]: a narinfo Nix accepts, naming URL
narinfo() {
	printf 'StorePath: /nix/store/%s-%s\nURL: %s\nCompression: xz\nFileSize: 100\nNarHash: %s\nNarSize: 100\nReferences: \n%s' \
		"$1" "$2" "$3" "$NARHASH" "${4:-}" >"$C/$1.narinfo"
}

# --- planned narinfos whose URLs name files that are not NARs -------------------------

mkdir -p "$C/log" "$C/realisations" "$C/debuginfo"
drv=$(nix-store -qd "$p_a")
echo "build log" >"$C/log/$(basename "$drv")"
echo '{"id":"sha256:00!out"}' >"$C/realisations/sha256:00!out.doi"
echo '{"archive":"../nar/x.nar.xz","member":"lib/x.debug"}' >"$C/debuginfo/0123456789abcdef.debug"
KINDS="narinfo cacheinfo ls log realisation debuginfo"
u_narinfo="$(hash_of "$p_a").narinfo"
u_cacheinfo="nix-cache-info"
u_ls="$(hash_of "$p_d").ls"
u_log="log/$(basename "$drv")"
u_realisation="realisations/sha256:00!out.doi"
u_debuginfo="debuginfo/0123456789abcdef.debug"
w_narinfo="names a narinfo"
w_cacheinfo="names nix-cache-info"
w_ls="names a file listing"
w_log="under log/"
w_realisation="under realisations/"
w_debuginfo="under debuginfo/"
for k in $KINDS; do
	eval "u=\$u_$k"
	# shellcheck disable=SC2154
	narinfo "$(fake "$k")" "hostile-$k" "$u"
done
# and a planned path of our own whose NAR nothing else names: it goes
hx=$(fake plain)
echo "a nar" >"$C/nar/$hx.nar.xz"
narinfo "$hx" plain "nar/$hx.nar.xz"

$CG --db "$T/db" --now 2030-01-01 crawl "$C" >"$T/crawl.out" 2>&1 || fail crawl "$(cat "$T/crawl.out")"
jobs() {
	for n in "$@"; do
		p=$(nix_world_path "$n")
		jq -cn --arg a "$n" --arg d "$(nix-store -qd "$p")" --arg o "$p" \
			'{attr: $a, name: ("cachegc-" + $a), system: "x86_64-linux", drvPath: $d, outputs: {out: $o}}'
	done
}
jobs a d f >"$T/eval.jsonl"
$CG --db "$T/db" import-eval --branch master --rev aaaa --capabilities 8.6 --time 2030-01-01 \
	"$T/eval.jsonl" >/dev/null 2>"$T/ie.err" || fail import-eval "$(cat "$T/ie.err")"
size=$(for p in $KEPT; do
	sqlite3 "$T/db" "SELECT coalesce(n.file_size, n.nar_size) FROM narinfos n JOIN paths p
		ON p.id = n.path_id WHERE p.hash = '$(hash_of "$p")'"
done | awk '{ s += $1 } END { print s + 0 }')
$CG --db "$T/db" --now 2030-01-02 plan evict --limit "$size" --policy reach --json \
	>"$T/plan.json" 2>"$T/plan.err" || fail plan "$(cat "$T/plan.err")"
planned=$(jq -r '.paths[].path' "$T/plan.json" | sort)
want=$( (printf '%s\n' $EVICTED; for k in $KINDS plain; do
	[ "$k" = plain ] && h=$hx || h=$(fake "$k")
	[ "$k" = plain ] && printf '/nix/store/%s-plain\n' "$h" || printf '/nix/store/%s-hostile-%s\n' "$h" "$k"
done) | sort)
expect_eq plan-paths "$planned" "$want"

# --- narinfos pushed after the plan, naming planned NARs in every spelling --------------

# shellcheck disable=SC2154
ub=$(url_of "$p_b") uc=$(url_of "$p_c") ue=$(url_of "$p_e")
# shellcheck disable=SC2154
us=$(url_of "$p_self") ug=$(url_of "$p_big")
# two URL lines: Nix takes the last
hl1=$(fake late-two)
narinfo "$hl1" late-two "nar/no-such.nar.xz" "URL: $ub
"
# a tab after the colon: Nix skips one byte, whatever it is
hl2=$(fake late-tab)
narinfo "$hl2" late-tab "x" ""
sed -i "s|^URL: x\$|URL:	$uc|" "$C/$hl2.narinfo"
# over the crawler's 1 MiB narinfo cap: Nix reads it whole
hl3=$(fake late-big)
narinfo "$hl3" late-big "$ue" "Sig: x:$(head -c 1200000 /dev/zero | tr '\0' a)
"
# a percent-escape nginx decodes: nar/%xx... serves nar/x...
hl4=$(fake late-pct)
first=$(printf '%s' "${us#nar/}" | cut -c1)
pct="nar/%$(printf '%s' "$first" | od -An -tx1 | tr -d ' \n')$(printf '%s' "${us#nar/}" | cut -c2-)"
narinfo "$hl4" late-pct "$pct"
# a query string a server drops
hl5=$(fake late-query)
narinfo "$hl5" late-query "$ug?v=2"
LATE="$hl1 $hl2 $hl3 $hl4 $hl5"
for h in $LATE; do
	check "nix-reads-late-$h" nix path-info --store "file://$C" "$(sed -n 's/^StorePath: //p' "$C/$h.narinfo")"
done

# nginx serves the %-escaped spelling from the planned NAR's file
nginx_start "$C"
code() { curl -s -o /dev/null -w '%{http_code}' "$NGINX_URL/$1"; }
expect_eq nginx-pct-before "$(code "$pct")" 200
expect_eq nginx-query-before "$(code "$ug?v=2")" 200

sums() { (cd "$C" && find . -type f ! -name '*.tmp.*' | sort | xargs -d '\n' sha256sum); }
sums >"$T/before"

# --- a push under way blocks the run -------------------------------------------------

tmpn="$(fake pushing).narinfo.tmp.4242.1"
printf 'StorePath: /nix/store/%s-pushing\nURL: nar/' "$(fake pushing)" >"$C/$tmpn"
$CG --db "$T/db" evict --plan 1 --apply >"$T/block.out" 2>"$T/block.err"
expect_eq block-status $? 1
has block-names-file "$T/block.err" "$tmpn"
has block-what-to-do "$T/block.err" "nothing is deleted in this run"
sums >"$T/blocked"
check block-deleted-nothing diff "$T/before" "$T/blocked"
rm -f "$C/$tmpn"

# --- the run -----------------------------------------------------------------------

$CG --db "$T/db" evict --plan 1 --apply >"$T/apply.out" 2>"$T/apply.err"
expect_eq apply-status $? 1  # incomplete: the hostile paths are refused
$CG --db "$T/db" evict --plan 1 --json >"$T/again.json" 2>/dev/null
for k in $KINDS; do
	eval "u=\$u_$k; w=\$w_$k"
	# shellcheck disable=SC2154
	if grep "^refused .*hostile-$k" "$T/apply.out" | grep -qF -- "$w"; then
		pass "refused-$k"
	else
		fail "refused-$k" "$(cat "$T/apply.out")"
	fi
	expect_eq "refused-json-$k" "$(jq -r --arg p "/nix/store/$(fake "$k")-hostile-$k" \
		'.actions[] | select(.path == $p and .action == "refused") | .detail' "$T/again.json" |
		grep -cF -- "$w")" 1
	expect_eq "kept-narinfo-$k" "$(test -f "$C/$(fake "$k").narinfo" && echo kept)" kept
done

sums >"$T/after"
# every file left is byte-identical to before
if awk 'NR == FNR { b[$2] = $1; next } b[$2] != $1 { print; bad = 1 } END { exit bad }' \
	"$T/before" "$T/after" >"$T/changed"; then
	pass unchanged-files
else
	fail unchanged-files "$(cat "$T/changed")"
fi
# and exactly the planned files that may go are gone
gone=$(awk 'NR == FNR { a[$2] = 1; next } !a[$2] { print $2 }' "$T/after" "$T/before" | sort)
want_gone=$( (for p in $EVICTED; do
	echo "./$(hash_of "$p").narinfo"
	echo "./$(hash_of "$p").ls"
done; echo "./$hx.narinfo"; echo "./nar/$hx.nar.xz") | sort)
expect_eq deleted-exactly "$gone" "$want_gone"
for u in "$ub" "$uc" "$ue" "$us" "$ug"; do
	expect_eq "late-nar-kept-$u" "$(test -f "$C/$u" && echo kept)" kept
done
expect_eq nginx-pct-after "$(code "$pct")" 200
expect_eq nginx-query-after "$(code "$ug?v=2")" 200

# Nix reads every kept root and every late path, and copies the roots
for p in $KEPT; do
	check "nix-path-info-$(basename "$p")" nix path-info -r --store "file://$C" "$p"
done
for h in $LATE; do
	check "nix-late-still-$h" nix path-info --store "file://$C" "$(sed -n 's/^StorePath: //p' "$C/$h.narinfo")"
done
# shellcheck disable=SC2086
check nix-copy-fresh nix copy --from "file://$C" --to "$T/fresh" \
	--option trusted-public-keys "$PUB" $KEPT
# shellcheck disable=SC2086
check nix-fresh-closure nix path-info -r --store "$T/fresh" $KEPT
nginx_stop
nix_forget_world
finish
