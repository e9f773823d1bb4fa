#!/bin/sh
# tools/build-deb.sh OUTDIR - build the Debian package (debian/) out of a
# copy of the tree (the files git tracks or would track, uncommitted
# changes included), so that the build leaves nothing behind here, and put
# the .deb in OUTDIR; prints its path.  The package's own test step is
# skipped unless DEB_BUILD_OPTIONS says otherwise (the suite runs apart).
#   needs: dpkg-dev, debhelper and the Build-Depends of debian/control
set -eu
out=${1:?usage: tools/build-deb.sh OUTDIR}
cd "$(dirname "$0")/.."
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/cachegc-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/cachegc"
git ls-files -z -co --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$work/cachegc"
(
	cd "$work/cachegc"
	DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS-nocheck} dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1
) || { tail -n 40 "$work/build.log" >&2; echo "build-deb: dpkg-buildpackage failed" >&2; exit 1; }
set -- "$work"/cachegc_*.deb
[ -f "$1" ] || { echo "build-deb: no .deb was built" >&2; exit 1; }
cp "$work"/cachegc_*.deb "$out/"
echo "$out/$(basename "$1")"
