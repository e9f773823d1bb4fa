#!/bin/sh
# import-hydra benchmark (issue 14).  The fake Hydra of the tests
# (tests/tools/fakehydra.py, Python's threaded HTTP server on loopback)
# serves one jobset of $EVALS evaluations (default 30) of $BUILDS builds
# each (default 2,000; a fifth of them new in every evaluation), made by
# tests/tools/hydra_world.py synthetic.  Timed: the import into a fresh DB
# (the evaluation pages, then every evaluation's builds with $JOBS requests
# in flight, default 16), and the second run that finds nothing new.
# Target: the first under 10 s.  No peer: nothing else imports a Hydra.
CG=$1
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILDS=${BUILDS:-2000}
EVALS=${EVALS:-30}
JOBS=${JOBS:-16}
command -v python3 >/dev/null 2>&1 || { echo "bench: needs python3" >&2; exit 1; }
W="$OUT/hydra-$BUILDS-$EVALS"
if ! [ -f "$W/.done" ]; then
	rm -rf "$W"
	python3 "$ROOT/tests/tools/hydra_world.py" synthetic "$W" "$BUILDS" "$EVALS"
	touch "$W/.done"
fi
rm -f "$W/port" "$W/requests.log"
python3 "$ROOT/tests/tools/fakehydra.py" "$W" "$W/port" &
server=$!
trap 'kill $server 2>/dev/null' EXIT
i=0
while ! [ -s "$W/port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
URL="http://127.0.0.1:$(cat "$W/port")"
DB="$OUT/hydra.db"
rm -f "$DB" "$DB-wal" "$DB-shm"
measure "import-hydra, $EVALS evals x $BUILDS builds" \
	"$CG" --db "$DB" --quiet import-hydra "$URL" --jobset bench:big --jobs "$JOBS"
first=$SECS
measure "import-hydra again, nothing new" \
	"$CG" --db "$DB" --quiet import-hydra "$URL" --jobset bench:big --jobs "$JOBS"
echo "recorded: $(sqlite3 "$DB" "SELECT count(*) FROM evaluations") evaluations," \
	"$(sqlite3 "$DB" "SELECT count(*) FROM eval_jobs") jobs," \
	"$(sqlite3 "$DB" "SELECT count(*) FROM builds") build outcomes;" \
	"$(wc -l <"$W/requests.log") requests"
awk -v s="$first" 'BEGIN { printf "target 10 s: %s\n", (s < 10 ? "met" : "NOT met") }'
