#!/bin/sh
# tests/interop/test_cacheinfo_nix.sh - nix-cache-info read as real Nix reads
# it.  One real cache (nix copy), served by nginx; for each variant of its
# nix-cache-info, real Nix (`nix path-info` over HTTP, with a fresh narinfo
# disk cache) decides whether the cache can be used at all, and records the
# WantMassQuery and Priority it took in its disk cache (BinaryCaches table);
# cachegc's crawl must accept exactly the variants Nix accepts, over HTTP and
# from the directory, and record the same two values (NULL where the file
# does not set one: Nix's default then, which the first variant shows).
. "$(dirname "$0")/../lib/lib.sh"
. "$ROOT/tests/lib/nix.sh"
. "$ROOT/tests/lib/nginx.sh"
need jq sqlite3 curl
nix_setup

mkdir "$T/world" "$T/cache"
nix_build_world "$T/world"
nix_keys cachegc-test-1
CACHE=$(cd "$T/cache" && pwd -P)
nix_push "$CACHE" "$T/cachegc-test-1.secret" "$(nix_world_path a)"
P=$(nix_world_path a)
echo "$P" >"$T/roots"
nginx_start "$CACHE"

# variant NAME TEXT (printf format): Nix's verdict and values against ours.
i=0
variant() {
	i=$((i + 1))
	# shellcheck disable=SC2059
	printf "$2" >"$CACHE/nix-cache-info"
	x="$T/xdg$i"
	mkdir -p "$x"
	if XDG_CACHE_HOME="$x" nix path-info --store "$NGINX_URL" "$P" >"$T/nix.out" 2>"$T/nix.err"; then
		db=$(ls "$x"/nix/binary-cache-v*.sqlite 2>/dev/null | head -n 1)
		if [ -z "$db" ]; then
			fail "$1-nix-disk-cache" "Nix left no narinfo disk cache in $x/nix"
			return
		fi
		nixv=$(sqlite3 "$db" "SELECT wantMassQuery, priority FROM BinaryCaches WHERE url = '$NGINX_URL'")
	else
		nixv=refused
	fi
	if $CG --db "$T/h$i.db" crawl --roots "$T/roots" "$NGINX_URL" >"$T/cg.out" 2>"$T/cg.err"; then
		ours=$(sqlite3 "$T/h$i.db" "SELECT coalesce(want_mass_query, '$dw'), coalesce(priority, '$dp') FROM caches")
	else
		ours=refused
		if ! grep -q 'nix-cache-info' "$T/cg.err"; then
			fail "$1-error-named" "the refusal does not name nix-cache-info: $(cat "$T/cg.err")"
		fi
	fi
	if [ "$ours" = "$nixv" ]; then
		pass "$1"
	else
		fail "$1" "Nix: $nixv ($(head -c 300 "$T/nix.err")), cachegc: $ours ($(head -c 300 "$T/cg.err"))"
	fi
	if $CG --db "$T/d$i.db" crawl "$CACHE" >/dev/null 2>&1; then
		dir=$(sqlite3 "$T/d$i.db" "SELECT coalesce(want_mass_query, '$dw'), coalesce(priority, '$dp') FROM caches")
	else
		dir=refused
	fi
	expect_eq "$1-dir-as-http" "$dir" "$ours"
}

# The defaults: Nix's values where the file sets neither, and ours NULL.
printf 'StoreDir: /nix/store\n' >"$CACHE/nix-cache-info"
mkdir -p "$T/xdg0"
if ! XDG_CACHE_HOME="$T/xdg0" nix path-info --store "$NGINX_URL" "$P" >/dev/null 2>"$T/nix.err"; then
	fail nix-default "nix path-info failed on a plain cache: $(cat "$T/nix.err")"
	exit 1
fi
db=$(ls "$T"/xdg0/nix/binary-cache-v*.sqlite | head -n 1)
dw=$(sqlite3 "$db" "SELECT wantMassQuery FROM BinaryCaches")
dp=$(sqlite3 "$db" "SELECT priority FROM BinaryCaches")
check cachegc-default $CG --db "$T/h0.db" crawl --roots "$T/roots" "$NGINX_URL"
expect_eq cachegc-default-null "$(sqlite3 "$T/h0.db" "SELECT quote(want_mass_query), quote(priority) FROM caches")" "NULL|NULL"

variant plain 'StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 30\n'
variant no-space 'StoreDir:/nix/store\nWantMassQuery:1\nPriority:30\n'
variant trailing-space 'StoreDir: /nix/store \nWantMassQuery: 1 \nPriority: 30\t\n'
variant crlf 'StoreDir: /nix/store\r\nWantMassQuery: 1\r\nPriority: 41\r\n'
variant blank-and-colonless 'junk\n\nStoreDir: /nix/store\n\n\nWantMassQuery: 1\n\n'
variant unknown-keys 'StoreDir: /nix/store\nFoo: bar\nCompression: zstd\nPriority: 40\n'
variant mass-true-word 'WantMassQuery: true\n'
variant mass-zero 'WantMassQuery: 0\nPriority: 10\n'
variant mass-last-wins 'WantMassQuery: 1\nWantMassQuery: 0\n'
variant priority-last-wins 'Priority: 1\nPriority: 2\n'
variant priority-suffix 'Priority: 4x\n'
variant priority-negative 'Priority: -5\n'
variant priority-plus 'Priority: +6\n'
variant priority-word 'Priority: high\n'
variant priority-empty 'Priority:\n'
variant priority-overflow 'Priority: 99999999999\n'
variant no-storedir 'WantMassQuery: 1\n'
variant empty-file ''
variant storedir-other 'StoreDir: /gnu/store\n'
variant storedir-slash 'StoreDir: /nix/store/\n'
variant storedir-empty 'StoreDir:\n'
variant storedir-twice-same 'StoreDir: /nix/store\nStoreDir:/nix/store\n'
variant storedir-twice-other 'StoreDir: /nix/store\nStoreDir: /gnu/store\n'
variant key-with-space ' StoreDir: /gnu/store\nStoreDir : /gnu/store\nstoredir: /gnu/store\n'
variant no-final-newline 'StoreDir: /nix/store\nPriority: 7'
nginx_stop
finish
