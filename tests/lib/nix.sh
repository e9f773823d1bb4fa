# tests/lib/nix.sh - real Nix (Debian's nix-bin 2.8) for interop tests.
# Sourced after lib.sh.  Gives:
#   nix_setup                 private Nix settings for this test; call first
#   nix_build_world DIR       build a small world of store paths that reference
#                             each other, unique to this run; see nix_world_path
#   nix_world_path NAME       the output path of world member NAME (a..f, self, big)
#   nix_world_paths           every path of the world's closure, one a line, sorted
#   nix_forget_world          delete the world from /nix/store again (at the end)
#   nix_keys NAME [DIR]       a signing key pair DIR/NAME.secret, DIR/NAME.public
#                             (DIR defaults to $T); the key is called NAME
#   nix_push DIR KEY PATH...  copy PATHs and their closures into the file://
#                             cache DIR, xz-compressed, signed with secret KEY
#
# Nix runs as root straight on /nix/store, with no daemon: Nix creates
# /nix/store and /nix/var/nix itself on first use, so a fresh machine needs no
# `nix-store --init`.  Everything Nix reads or writes besides the store (its
# config, its narinfo disk cache, HOME) lives under $T, so nothing leaks
# between runs or from the machine's /etc/nix/nix.conf.

nix_setup() {
	need nix nix-build nix-store nix-instantiate jq
	if [ "$(id -u)" != 0 ] && ! [ -w /nix/var/nix ]; then
		fail nix-setup "real-Nix tests run Nix without a daemon: run them as root (or own /nix)"
		exit 1
	fi
	mkdir -p "$T/nix/conf" "$T/nix/home" "$T/nix/cache" "$T/nix/config" "$T/nix/data"
	NIX_CONFIG='experimental-features = nix-command
sandbox = false
build-users-group =
substituters ='
	export NIX_CONFIG
	# An empty system config dir: /etc/nix/nix.conf (nix-setup-systemd's, or
	# none on a fresh machine) must not change what the tests see.
	export NIX_CONF_DIR="$T/nix/conf"
	export HOME="$T/nix/home" XDG_CACHE_HOME="$T/nix/cache"
	export XDG_CONFIG_HOME="$T/nix/config" XDG_DATA_HOME="$T/nix/data"
	export NIX_REMOTE=local
	unset NIX_PATH NIX_USER_CONF_FILES NIX_STORE_DIR NIX_STATE_DIR 2>/dev/null || :
	if ! nix --version >"$T/nix/version" 2>&1; then
		fail nix-setup "nix does not run: $(cat "$T/nix/version")"
		exit 1
	fi
}

# nix_build_world DIR: write DIR/world.nix and build it.
#   a                         a leaf
#   b -> a, c -> b            a chain
#   d -> a, e -> c, d         a diamond over a
#   self -> self              references itself
#   big                       a ~1 MiB incompressible file
#   f -> note                 note is builtins.toFile: no deriver, CA text
# Every builder writes a nonce, so the paths are new in every run and never
# collide with an earlier run's, in the store or in a cache.
# Writes DIR/paths ("NAME PATH" lines); exits the test when Nix fails.
nix_build_world() {
	NIX_WORLD=$(cd "$1" && pwd)
	nonce=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
	cat >"$NIX_WORLD/world.nix" <<EOF
let
  nonce = "$nonce";
  mk = name: script: derivation {
    name = "cachegc-\${name}";
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" "/bin/mkdir -p \$out && echo \${nonce} > \$out/nonce && \${script}" ];
  };
  note = builtins.toFile "cachegc-note-\${nonce}" "a path with no deriver";
in rec {
  a = mk "a" "echo a > \$out/a";
  b = mk "b" "echo \${a} > \$out/ref";
  c = mk "c-1.0" "echo \${b} > \$out/ref";
  d = mk "d" "echo \${a} > \$out/ref";
  e = mk "e" "echo \${c} \${d} > \$out/refs";
  self = mk "self" "echo \$out > \$out/me";
  big = mk "big" "/bin/dd if=/dev/urandom of=\$out/blob bs=1024 count=1024 2>/dev/null";
  f = mk "f" "echo \${note} > \$out/ref";
}
EOF
	if ! nix-build --no-out-link "$NIX_WORLD/world.nix" >"$NIX_WORLD/outs" 2>"$NIX_WORLD/build.log"; then
		fail nix-build-world "nix-build failed: $(tail -n 20 "$NIX_WORLD/build.log")"
		exit 1
	fi
	# NAME from the output's name: /nix/store/<hash>-cachegc-NAME[-1.0].
	sed -n 's|^\(/nix/store/[0-9a-z]\{32\}-cachegc-\([a-z]*\)\(-1\.0\)\{0,1\}\)$|\2 \1|p' \
		"$NIX_WORLD/outs" | sort >"$NIX_WORLD/paths"
	if [ "$(cut -d' ' -f1 "$NIX_WORLD/paths" | tr '\n' ' ')" != "a b big c d e f self " ]; then
		fail nix-build-world "unexpected outputs: $(cat "$NIX_WORLD/outs")"
		exit 1
	fi
	# shellcheck disable=SC2046
	nix-store -qR $(cut -d' ' -f2 "$NIX_WORLD/paths") | sort >"$NIX_WORLD/closure"
}

nix_world_path() {
	sed -n "s/^$1 //p" "$NIX_WORLD/paths"
}

nix_world_paths() {
	cat "$NIX_WORLD/closure"
}

# Delete this run's outputs and derivations from /nix/store (they are not
# GC roots: nix-build ran with --no-out-link).  Failure is harmless.
nix_forget_world() {
	[ -n "${NIX_WORLD:-}" ] && [ -f "$NIX_WORLD/closure" ] || return 0
	# shellcheck disable=SC2046
	nix-store --delete $(cat "$NIX_WORLD/closure") \
		$(nix-store -qd $(cat "$NIX_WORLD/closure") | grep -v '^unknown-deriver$') \
		>/dev/null 2>&1 || :
}

nix_keys() {
	kdir=${2:-$T}
	mkdir -p "$kdir"
	if ! nix key generate-secret --key-name "$1" >"$kdir/$1.secret" 2>"$T/nix/key.log" ||
		! nix key convert-secret-to-public <"$kdir/$1.secret" >"$kdir/$1.public" 2>>"$T/nix/key.log"; then
		fail nix-keys "nix key failed: $(cat "$T/nix/key.log")"
		exit 1
	fi
}

nix_push() {
	mkdir -p "$1"
	pdir=$(cd "$1" && pwd)
	pkey=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
	shift 2
	if ! nix copy --to "file://$pdir?secret-key=$pkey&compression=xz" "$@" >"$T/nix/push.log" 2>&1; then
		fail nix-push "nix copy to $pdir failed: $(tail -n 20 "$T/nix/push.log")"
		exit 1
	fi
}
