#!/bin/sh
# tests/cli/test_install.sh - `make install` and `make uninstall` into a
# DESTDIR (PREFIX, BINDIR, MANDIR honoured), and the installed binary doing
# real work (gen, crawl, import-eval, import-builds, coverage, report) from
# /tmp with the source tree hidden (a private mount namespace puts an empty
# tmpfs over it): the schema, the report's scripts and style are in the
# binary.  It answers as the build's binary does.  Then bash-completion's
# own loader finds the installed completion.
. "$(dirname "$0")/../lib/lib.sh"
need make cmp unshare mount jq gnuplot bash

# install ARGS...: make install from the tree, with the build under test.
install_into() {
	make -C "$ROOT" -s --no-print-directory B="$BUILD" "$@" >"$T/make.out" 2>&1
}

D=$T/dest
install_into install DESTDIR="$D" PREFIX=/usr
expect_eq install-status $? 0
for f in usr/bin/cachegc usr/share/man/man1/cachegc.1 usr/share/bash-completion/completions/cachegc; do
	if [ -f "$D/$f" ]; then pass "installed-$f"; else fail "installed-$f" "missing; $(cat "$T/make.out")"; fi
done
[ -x "$D/usr/bin/cachegc" ] && pass bin-executable || fail bin-executable "$(ls -l "$D/usr/bin/cachegc")"
mode=$(stat -c %a "$D/usr/share/man/man1/cachegc.1" 2>/dev/null)
expect_eq man-mode "$mode" 644
check bin-is-the-build cmp "$BUILD/cachegc" "$D/usr/bin/cachegc"
check man-is-the-build cmp "$BUILD/cachegc.1" "$D/usr/share/man/man1/cachegc.1"
check completion-is-the-build cmp "$BUILD/cachegc.bash" "$D/usr/share/bash-completion/completions/cachegc"

# BINDIR and MANDIR apart from PREFIX; the default PREFIX is /usr/local.
install_into install DESTDIR="$T/d2" PREFIX=/opt/cg BINDIR=/opt/cg/sbin MANDIR=/opt/man
expect_eq install-dirs-status $? 0
for f in opt/cg/sbin/cachegc opt/man/man1/cachegc.1 opt/cg/share/bash-completion/completions/cachegc; do
	[ -f "$T/d2/$f" ] && pass "dirs-$f" || fail "dirs-$f" "missing: $(cd "$T/d2" && find . -type f)"
done
install_into install DESTDIR="$T/d3"
[ -x "$T/d3/usr/local/bin/cachegc" ] && pass default-prefix || fail default-prefix "$(cd "$T/d3" && find . -type f)"

# uninstall removes what install wrote, and only that.
: >"$D/usr/bin/other-tool"
install_into uninstall DESTDIR="$D" PREFIX=/usr
expect_eq uninstall-status $? 0
left=$(cd "$D" && find . -type f | sort | tr '\n' ' ')
expect_eq uninstall-removes "$left" "./usr/bin/other-tool "
install_into install DESTDIR="$D" PREFIX=/usr

# --- the installed binary, the source tree out of sight -------------------------

W=$T/work
mkdir -p "$W"
cat >"$T/run.sh" <<'EOF'
# run in a private mount namespace; $1 the tree to hide, $2 the binary, $3 the work dir
set -u
mount -t tmpfs -o ro tmpfs "$1" || { echo "cannot hide $1"; exit 3; }
[ -z "$(ls -A "$1")" ] || { echo "$1 is still visible"; exit 3; }
cd "$3" || exit 3
cg=$2
$cg --version >version.out || exit 10
$cg --db w.db -q gen world --paths 300 --seed 3 >gen.out || exit 11
$cg --db w.db --now 2024-05-29 -q crawl world/cache >crawl.out || exit 12
$cg --db w.db keys add "$(cat world/keys/*.public)" >keys.out || exit 18
$cg --db w.db -q import-eval --manifest world/evals/manifest.tsv >evals.out || exit 13
$cg --db w.db -q import-builds world/builds.jsonl >builds.out || exit 14
$cg --db w.db --now 2024-05-29 coverage --json >coverage.json || exit 15
$cg --db w.db --now 2024-05-29 -q report --out rep >report.out 2>report.err || exit 16
$cg --man >man.out || exit 17
exit 0
EOF
unshare -m --propagation private sh "$T/run.sh" "$ROOT" "$D/usr/bin/cachegc" "$W" >"$T/run.out" 2>&1
expect_eq hidden-tree-run $? 0
[ -s "$T/run.out" ] && fail hidden-tree-quiet "$(head -c 1000 "$T/run.out")" || pass hidden-tree-quiet
version=$(cat "$W/version.out" 2>/dev/null)
case $version in
"cachegc "[0-9]*" (schema "[0-9]*")") pass version-line ;;
*) fail version-line "got '$version'" ;;
esac
want=$(sed -n 's/^#define CACHEGC_VERSION "\(.*\)"$/\1/p' "$ROOT/include/lib/version.h")
expect_eq version-is-the-source "${version#cachegc }" "$want (schema $(ls "$ROOT"/sql/[0-9]*.sql | wc -l | tr -d ' '))"
n=$(jq '[.. | objects | select(has("status"))] | length' "$W/coverage.json" 2>/dev/null)
[ "${n:-0}" -gt 0 ] && pass coverage-has-rows || fail coverage-has-rows "$(head -c 500 "$W/coverage.json")"
for f in index.html report.md; do
	[ -s "$W/rep/$f" ] && pass "report-$f" || fail "report-$f" "$(ls "$W/rep" 2>&1; cat "$W/report.err" 2>/dev/null)"
done
svg=$(ls "$W/rep" 2>/dev/null | grep -c '\.svg$')
[ "$svg" -gt 0 ] && pass report-charts || fail report-charts "no chart in $(ls "$W/rep")"

# The build's binary, in the tree, on the same world: the same answers.
(cd "$W" && $CG --db b.db --now 2024-05-29 -q crawl world/cache >/dev/null &&
	$CG --db b.db keys add "$(cat world/keys/*.public)" >/dev/null &&
	$CG --db b.db -q import-eval --manifest world/evals/manifest.tsv >/dev/null &&
	$CG --db b.db -q import-builds world/builds.jsonl >/dev/null &&
	$CG --db b.db --now 2024-05-29 coverage --json >b.json)
if jq -S 'del(.. | .db?)' "$W/coverage.json" >"$T/i.json" 2>/dev/null &&
	jq -S 'del(.. | .db?)' "$W/b.json" >"$T/b.json" 2>/dev/null && cmp -s "$T/i.json" "$T/b.json"; then
	pass coverage-same-as-build
else
	fail coverage-same-as-build "$(diff "$T/i.json" "$T/b.json" 2>&1 | head -20)"
fi
SOURCE_DATE_EPOCH= $CACHEGC --man >"$T/man.build"
if sed 1,2d "$W/man.out" | cmp -s - "$(sed 1,2d "$T/man.build" >"$T/m2"; echo "$T/m2")"; then
	pass man-same-as-build
else
	fail man-same-as-build "$(sed 1,2d "$W/man.out" | diff - "$T/m2" | head)"
fi

# --- bash-completion's loader finds the installed completion ----------------------

if [ -f /usr/share/bash-completion/bash_completion ]; then
	got=$(XDG_DATA_DIRS="$D/usr/share" PATH="$D/usr/bin:$PATH" bash -c '
		. /usr/share/bash-completion/bash_completion
		_completion_loader cachegc
		complete -p cachegc' 2>&1)
	case $got in
	*"-F _cachegc cachegc"*) pass completion-loader ;;
	*) fail completion-loader "got '$got'" ;;
	esac
else
	fail completion-loader "bash-completion is not installed (tools/deps.sh test installs it)"
fi

finish
