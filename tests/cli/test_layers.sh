#!/bin/sh
# The layer rule (tools/layer-check.sh): the tree passes it, and a copy of
# the tree with one violation of each kind fails it, naming the file.
. "$(dirname "$0")/../lib/lib.sh"

sh "$ROOT/tools/layer-check.sh" "$ROOT" >"$T/out" 2>&1
rc=$?
cat "$T/out"
expect_eq layer-check-passes "$rc" 0

# A copy with violations.
mkdir -p "$T/tree"
cp -R "$ROOT/src" "$ROOT/include" "$T/tree/"
printf '#include "store/db.h"\n' >>"$T/tree/src/lib/util.c"
printf '#include "ingest/fetch.h"\n' >>"$T/tree/src/analysis/graph.c"
printf '#include <sqlite3.h>\n' >>"$T/tree/src/nix/narinfo.c"
printf 'static const char q[] = "SELECT id FROM paths";\n' >>"$T/tree/src/cli/cmd_gen.c"
printf 'static void f(void) { sqlite3_reset(0); }\n' >>"$T/tree/src/cli/cmd_plan.c"
sh "$ROOT/tools/layer-check.sh" "$T/tree" >"$T/bad" 2>&1
rc=$?
expect_eq layer-check-fails-on-violations "$rc" 1
check lib-including-store-fails grep -q "^FAIL .*'src/lib/util.c' (lib) includes 'store/db.h'" "$T/bad"
check analysis-including-ingest-fails grep -q "^FAIL .*'src/analysis/graph.c' (analysis) includes 'ingest/fetch.h'" "$T/bad"
check sqlite-in-nix-fails grep -q "^FAIL .*'src/nix/narinfo.c' includes sqlite3.h" "$T/bad"
check sql-literal-in-cli-fails grep -q "^FAIL .*'src/cli/cmd_gen.c' holds SQL" "$T/bad"
check sqlite-call-in-cli-fails grep -q "^FAIL .*'src/cli/cmd_plan.c' holds SQL" "$T/bad"

# An allowance: it hides its violation, and fails as stale once the file
# is fixed.  (A copy of the script with one allowance added.)
sed "s|^ALLOW='\$|ALLOW='\\nlayer src/lib/util.c store/db.h|" "$ROOT/tools/layer-check.sh" >"$T/allowing.sh"
check allowance-added grep -qx "layer src/lib/util.c store/db.h" "$T/allowing.sh"
sh "$T/allowing.sh" "$T/tree" >"$T/allowed" 2>&1
check allowed-violation-not-failed sh -c "! grep -q '^FAIL .*src/lib/util.c' \"\$1\"" - "$T/allowed"
check allowed-violation-named grep -q "allowed for now: 'src/lib/util.c' (lib) includes 'store/db.h'" "$T/allowed"
check other-violations-still-reported grep -q "^FAIL .*'src/nix/narinfo.c' includes sqlite3.h" "$T/allowed"
sed -i '$d' "$T/tree/src/lib/util.c"
sh "$T/allowing.sh" "$T/tree" >"$T/stale" 2>&1
check stale-allowance-fails grep -q "^FAIL allow-list-stale: 'layer src/lib/util.c store/db.h'" "$T/stale"

[ "$failures" = 0 ]
