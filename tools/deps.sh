#!/bin/sh
# Make sure the Debian packages cachegc needs are installed (make demo also
# uses sqlite3 and jq to show the database).  As root, install
# what is missing with apt-get; otherwise print the one apt-get line to run.
#   tools/deps.sh build   - compiler, libraries
#   tools/deps.sh test    - build + the test peers (real Nix, nginx, jq, sqlite3)
#                           and clang with its sanitizer runtimes, cmark-gfm
#                           (GitHub's Markdown, to render coverage --markdown),
#                           chromium and xmllint (to render and parse the
#                           report's page and charts), mandoc, man-db and
#                           bash-completion (cachegc(1) and the completion),
#                           debhelper and lintian (the .deb),
#                           python3 (writes and judges test_narinfo_nix's
#                           variants), npm and s3rver from npm (an S3 server
#                           on loopback for tests/interop/test_s3_crawl.sh),
#                           wrk (bench/http.sh's ceiling), clickhouse-server
#                           (18.16: tests/interop/test_clickhouse.sh starts
#                           its own on loopback)
# gnuplot-nox draws the charts of `cachegc report` (and so of make demo).
set -eu
what=${1:-build}
need="build-essential pkg-config libsqlite3-dev libcurl4-openssl-dev libjansson-dev zlib1g-dev libssl-dev sqlite3 jq gnuplot-nox"
if [ "$what" = test ]; then
	# clang and its sanitizer runtimes (not a dependency of clang-14 with
	# --no-install-recommends): CI runs the suite under clang's ASan and
	# UBSan too.
	need="$need nix-bin nginx-light valgrind clang libclang-rt-14-dev cmark-gfm chromium libxml2-utils python3"
	# the install tests and the Debian package: man page checkers, the
	# bash-completion loader, dpkg-buildpackage with debhelper, lintian
	need="$need mandoc man-db groff-base bash-completion dpkg-dev debhelper lintian"
	# the S3 crawl's peer: s3rver, installed with npm below (Debian's npm
	# unless an npm is there already, e.g. with NodeSource's nodejs)
	command -v npm >/dev/null 2>&1 || need="$need npm"
	# the ceiling bench/http.sh measures the HTTP crawl against
	need="$need wrk"
	# a ClickHouse store's peer (the tests start their own servers)
	need="$need clickhouse-server"
fi
missing=
for p in $need; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
# s3rver (npm's, not Debian's: Debian has none) for the S3 crawl test.
s3rver() {
	[ "$what" = test ] || return 0
	command -v s3rver >/dev/null 2>&1 && return 0
	if [ "$(id -u)" = 0 ]; then
		echo "deps: installing s3rver@3 with npm" >&2
		npm install -g --no-audit --no-fund s3rver@3 >/dev/null
	else
		echo "deps: missing s3rver; run: sudo npm install -g s3rver@3" >&2
		return 1
	fi
}
if [ -z "$missing" ]; then
	s3rver
	exit
fi
if [ "$(id -u)" = 0 ]; then
	echo "deps: installing$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -q --no-install-recommends $missing >/dev/null; then
		apt-get update -q >/dev/null
		apt-get install -y -q --no-install-recommends $missing >/dev/null
	fi
else
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run: sudo apt-get install -y$missing" >&2
	exit 1
fi
s3rver
