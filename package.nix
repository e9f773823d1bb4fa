# package.nix - cachegc for Nix users, in nixpkgs' callPackage form:
#   nix-build -E 'with import <nixpkgs> {}; callPackage ./package.nix {}'
# or, in an overlay or flake, `cachegc = pkgs.callPackage ./package.nix { };`.
# Not built here (the CI machine has no nixpkgs): tests/cli/test_install_pkg.sh
# only parses it and evaluates it with stand-ins for its arguments.
{ lib
, stdenv
, pkg-config
, makeWrapper
, sqlite
, curl
, jansson
, zlib
, openssl
, gnuplot
}:

stdenv.mkDerivation {
  pname = "cachegc";
  # the version of include/lib/version.h
  version = "0.1.0";

  src = lib.cleanSource ./.;

  nativeBuildInputs = [ pkg-config makeWrapper ];
  buildInputs = [ sqlite curl jansson zlib openssl ];

  # `make` builds the binary, cachegc(1) and the bash completion; the test
  # suite needs root, nginx and a Nix store of its own, so it is not run here.
  makeFlags = [ "CC=${stdenv.cc.targetPrefix}cc" ];
  installFlags = [ "PREFIX=${placeholder "out"}" ];
  doCheck = false;

  # `cachegc report` runs gnuplot from the PATH to draw its charts.
  postInstall = ''
    wrapProgram $out/bin/cachegc --suffix PATH : ${lib.makeBinPath [ gnuplot ]}
  '';

  meta = {
    description = "What a Nix binary cache really holds, and what to do about it";
    longDescription = ''
      cachegc crawls a Nix binary cache into SQLite and analyses it:
      coverage of CI builds, garbage-collection models and simulation,
      closure-safe eviction plans, rebuild queues and reports.
    '';
    mainProgram = "cachegc";
    platforms = lib.platforms.linux;
  };
}
