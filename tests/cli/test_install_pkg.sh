#!/bin/sh
# tests/cli/test_install_pkg.sh - the packaging files agree with the tree:
# debian/changelog's version and package.nix's are include/lib/version.h's;
# every pkg-config module the Makefile builds with comes from a package in
# debian/control's Build-Depends (and those are installed:
# dpkg-checkbuilddeps); debian/rules is executable and installs with
# PREFIX=/usr.  package.nix parses (nix-instantiate --parse) and, evaluated
# with stand-ins for its nixpkgs arguments, names the libraries the
# Makefile links and installs into $out.  (The .deb itself is built,
# lintian-checked, installed and smoke-tested by .ci/run; package.nix is not
# built here: there is no nixpkgs.)
. "$(dirname "$0")/../lib/lib.sh"
. "$ROOT/tests/lib/nix.sh"
need dpkg-parsechangelog dpkg-checkbuilddeps dpkg-query pkg-config jq
nix_setup

want=$(sed -n 's/^#define CACHEGC_VERSION "\(.*\)"$/\1/p' "$ROOT/include/lib/version.h")
[ -n "$want" ] && pass version-known || fail version-known "no CACHEGC_VERSION"
deb=$(cd "$ROOT" && dpkg-parsechangelog -S Version 2>"$T/err")
expect_eq changelog-version "${deb%%-*}" "$want"
expect_eq changelog-package "$(cd "$ROOT" && dpkg-parsechangelog -S Source)" cachegc

# --- debian/control against the Makefile ----------------------------------------------

(cd "$ROOT" && dpkg-checkbuilddeps) >"$T/bd" 2>&1 && pass build-depends-installed ||
	fail build-depends-installed "$(cat "$T/bd")"
bdeps=$(sed -n '/^Build-Depends:/,/^[A-Z]/p' "$ROOT/debian/control" | sed 's/^Build-Depends://; /^[A-Z]/d' |
	tr ',' '\n' | sed 's/(.*)//; s/^[[:space:]]*//; s/[[:space:]]*$//' | sed '/^$/d')
mods=$(sed -n 's/^PKGS *:= *//p' "$ROOT/Makefile")
[ -n "$mods" ] && pass makefile-pkgs || fail makefile-pkgs "no PKGS line in the Makefile"
for m in $mods; do
	pc=$(pkg-config --variable=pcfiledir "$m" 2>/dev/null)/$m.pc
	owner=$(dpkg-query -S "$(readlink -f "$pc")" 2>/dev/null | head -n 1 | cut -d: -f1)
	if [ -z "$owner" ]; then
		fail "build-depends-$m" "no package owns $pc"
	elif echo "$bdeps" | grep -qx "$owner"; then
		pass "build-depends-$m"
	else
		fail "build-depends-$m" "$m comes from $owner, which is not in Build-Depends: $(echo $bdeps)"
	fi
done
grep -q '^Depends:.*\${shlibs:Depends}' "$ROOT/debian/control" && pass depends-shlibs || fail depends-shlibs "no \${shlibs:Depends}"
grep -q '^Recommends:.*gnuplot-nox' "$ROOT/debian/control" && pass recommends-gnuplot || fail recommends-gnuplot "no gnuplot-nox"
[ -x "$ROOT/debian/rules" ] && pass rules-executable || fail rules-executable "$(ls -l "$ROOT/debian/rules")"
grep -q 'dh_auto_install -- .*PREFIX=/usr' "$ROOT/debian/rules" && pass rules-prefix || fail rules-prefix "not installed into /usr"

# --- package.nix ------------------------------------------------------------------

nix-instantiate --parse "$ROOT/package.nix" >"$T/parse" 2>"$T/err"
expect_eq nix-parse $? 0
cat >"$T/eval.nix" <<EOF
let
  names = [ "pkg-config" "makeWrapper" "sqlite" "curl" "jansson" "zlib" "openssl" "gnuplot" ];
  stand-in = n: { name = n; outPath = "/stand-in/\${n}"; };
  f = import $ROOT/package.nix;
  d = f ({
    lib = {
      cleanSource = p: p;
      makeBinPath = l: builtins.concatStringsSep ":" (map (p: "\${p}/bin") l);
      platforms.linux = [ "x86_64-linux" ];
    };
    stdenv = { mkDerivation = a: a; cc.targetPrefix = ""; };
  } // builtins.listToAttrs (map (n: { name = n; value = stand-in n; }) names));
in {
  args = builtins.attrNames (builtins.functionArgs f);
  inherit (d) pname version installFlags postInstall;
  buildInputs = map (p: p.name) d.buildInputs;
  nativeBuildInputs = map (p: p.name) d.nativeBuildInputs;
  mainProgram = d.meta.mainProgram;
}
EOF
nix-instantiate --eval --strict --json "$T/eval.nix" >"$T/eval.json" 2>"$T/err"
expect_eq nix-eval $? 0
j() { jq -r "$1" "$T/eval.json" 2>/dev/null; }
expect_eq nix-pname "$(j .pname)" cachegc
expect_eq nix-version "$(j .version)" "$want"
expect_eq nix-main-program "$(j .mainProgram)" cachegc
# the Makefile's pkg-config modules, by their nixpkgs names
expect_eq nix-build-inputs "$(j '.buildInputs | sort | join(" ")')" "curl jansson openssl sqlite zlib"
expect_eq nix-pkg-config "$(j '.nativeBuildInputs | index("pkg-config") != null')" true
j '.installFlags[]' | grep -q '^PREFIX=/' && pass nix-prefix || fail nix-prefix "$(j .installFlags)"
j .postInstall | grep -q '/stand-in/gnuplot/bin' && pass nix-gnuplot-on-path || fail nix-gnuplot-on-path "$(j .postInstall)"
for a in lib stdenv pkg-config sqlite curl jansson zlib openssl gnuplot; do
	j '.args[]' | grep -qx "$a" && pass "nix-arg-$a" || fail "nix-arg-$a" "not an argument: $(j '.args | join(" ")')"
done

finish
