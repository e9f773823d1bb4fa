#!/bin/sh
# tools/layer-check.sh [ROOT] - check the layer rule of README's Layout
# over src/ and include/, printing PASS/FAIL lines (tests/cli/test_layers.sh
# runs it under `make check`).  Layers, bottom up; a file may include the
# headers of its own layer and those below:
#     lib < nix < store < ingest < analysis < gen < cli
# and analysis does not use ingest (it reads the DB, never the network).
# Also:
#   - <sqlite3.h> (which store/stmt.h brings) only in src/store/,
#     include/store/ and modules that own a statement table (STMT_TABLE);
#   - SQL run only through statement tables: no db_stmt( outside store/;
#   - no SQL in src/cli/: no sqlite3_ call, no db_ statement call, no
#     string literal holding an SQL keyword.
# ALLOW below names what is known and must wait (today: nothing); a line
# there is removed when the file is fixed.  Exit status 1 on any FAIL.
set -u
LC_ALL=C
export LC_ALL
ROOT=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$ROOT" || exit 2

# "RULE FILE [DETAIL]": violations known and allowed for now.
ALLOW='
'
# Empty: the tree has no known violation.  A line added here names one
# that must wait, with a comment saying why and what removes it.

fails=0
allowed() { # RULE FILE [DETAIL]
	printf '%s\n' "$ALLOW" | grep -qxF "$*"
}
report() { # NAME RULE FILE [DETAIL] -- MESSAGE
	name=$1; shift
	msg=$(printf '%s' "$*" | sed 's/.* -- //')
	key=$(printf '%s' "$*" | sed 's/ -- .*//')
	if allowed "$key"; then
		echo "PASS $name (allowed for now: $msg)"
	else
		echo "FAIL $name: $msg"
		fails=$((fails + 1))
	fi
}

rank() {
	case $1 in
	lib) echo 1 ;; nix) echo 2 ;; store) echo 3 ;; ingest) echo 4 ;;
	analysis) echo 5 ;; gen) echo 6 ;; cli) echo 7 ;; *) echo 0 ;;
	esac
}

files=$(find src include -name '*.[ch]' | sort)
[ -n "$files" ] || { echo "FAIL layer-check: no sources under $ROOT"; exit 1; }

nlayer=0
for f in $files; do
	layer=$(printf '%s' "$f" | cut -d/ -f2)
	r=$(rank "$layer")
	if [ "$r" = 0 ]; then
		report "layer-known-$f" "folder $f" -- "'$f' is in no layer folder"
		continue
	fi
	for h in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([a-z]*\)\/[^"]*".*/\1/p' "$f" | sort -u); do
		hr=$(rank "$h")
		[ "$hr" = 0 ] && continue
		for inc in $(grep -o "^[[:space:]]*#[[:space:]]*include[[:space:]]*\"$h/[^\"]*\"" "$f" | sed 's/.*"\(.*\)"/\1/'); do
			if [ "$hr" -gt "$r" ]; then
				report "layer-$f-$inc" layer "$f" "$inc" -- \
					"'$f' ($layer) includes '$inc' from $h, a layer above it"
				nlayer=$((nlayer + 1))
			elif [ "$layer" = analysis ] && [ "$h" = ingest ]; then
				report "layer-$f-$inc" layer "$f" "$inc" -- \
					"'$f' (analysis) includes '$inc': analysis does not use ingest"
				nlayer=$((nlayer + 1))
			fi
		done
	done
done
[ "$nlayer" = 0 ] && echo "PASS layer-includes-go-down"

# <sqlite3.h>, directly or through store/stmt.h.
nsql=0
for f in $(grep -lE '^[[:space:]]*#[[:space:]]*include[[:space:]]*(<sqlite3\.h>|"store/stmt\.h")' $files); do
	case $f in src/store/* | include/store/*) continue ;; esac
	grep -q 'STMT_TABLE(' "$f" && continue
	report "sqlite-$f" legacy "$f" -- \
		"'$f' includes sqlite3.h (or store/stmt.h) but owns no statement table"
	nsql=$((nsql + 1))
done
[ "$nsql" = 0 ] && echo "PASS sqlite-only-in-store-and-statement-tables"

# The legacy statement cache, outside store/ (whose db.c defines it).
nleg=0
for f in $(grep -l 'db_stmt(' $files); do
	case $f in src/store/db.c | include/store/stmt.h) continue ;; esac
	case $f in src/store/*)
		report "legacy-$f" legacy "$f" -- "'$f' runs SQL through db_stmt(), not a statement table"
		nleg=$((nleg + 1)); continue ;;
	esac
	grep -q 'STMT_TABLE(' "$f" && {
		report "legacy-$f" legacy "$f" -- "'$f' has a statement table and still calls db_stmt()"
		nleg=$((nleg + 1)); continue; }
done
[ "$nleg" = 0 ] && echo "PASS no-legacy-statement-cache"

# No SQL in commands.
ncli=0
for f in $(find src/cli -name '*.[ch]' | sort); do
	hit=$(grep -nE 'sqlite3_|sqlite3\.h|store/stmt\.h|\<db_(stmt|step|run|bind_[a-z_]*|col_text|exec)\(' "$f" | head -1)
	if [ -z "$hit" ]; then
		# Keywords inside string literals: "... SELECT x FROM ...".
		hit=$(grep -nE '"([^"\\]|\\.)*\<(SELECT|INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|PRAGMA|BEGIN|COMMIT|ROLLBACK)[[:space:]]' "$f" | head -1)
	fi
	if [ -n "$hit" ]; then
		report "cli-no-sql-$f" clisql "$f" -- "'$f' holds SQL: line $(printf '%s' "$hit" | cut -c1-100)"
		ncli=$((ncli + 1))
	fi
done
[ "$ncli" = 0 ] && echo "PASS cli-holds-no-sql"

# An allowance that matches nothing is stale: remove it.
printf '%s\n' "$ALLOW" | while read -r rule file rest; do
	[ -n "$rule" ] || continue
	case $rule in
	layer) grep -q "^[[:space:]]*#[[:space:]]*include[[:space:]]*\"$rest\"" "$file" 2>/dev/null ;;
	legacy) grep -qE 'db_stmt\(|#[[:space:]]*include[[:space:]]*"store/stmt\.h"' "$file" 2>/dev/null &&
		! grep -q 'STMT_TABLE(' "$file" ;;
	*) false ;;
	esac || echo "FAIL allow-list-stale: '$rule $file${rest:+ $rest}' matches nothing; remove it from $0"
done > "${TMPDIR:-/tmp}/layer-check.$$"
if [ -s "${TMPDIR:-/tmp}/layer-check.$$" ]; then
	cat "${TMPDIR:-/tmp}/layer-check.$$"
	fails=$((fails + 1))
else
	echo "PASS allow-list-current"
fi
rm -f "${TMPDIR:-/tmp}/layer-check.$$"

[ "$fails" = 0 ]
