#!/bin/sh
# What --db may name: only a missing or empty file becomes a new database;
# any other file that is not a cachegc database is refused untouched.
. "$(dirname "$0")/../lib/lib.sh"
need sqlite3

# Files shorter than SQLite's header (SQLite itself would take them for an
# empty database and write over them).
for content in x S '#' "SQLite format"; do
	printf '%s' "$content" >"$T/short.db"
	sum=$(cksum <"$T/short.db")
	for c in "keys list" "crawl $ROOT/tests/fixtures/cache-small" "closure --all"; do
		# shellcheck disable=SC2086
		$CG --db "$T/short.db" $c >/dev/null 2>"$T/err"
		rc=$?
		tn="short-${#content}-byte-db-${c%% *}"
		expect_eq "$tn-exit-1" "$rc" 1
		check "$tn-says-not-sqlite" grep -q "'$T/short.db' is not a cachegc database" "$T/err"
		expect_eq "$tn-untouched" "$(cksum <"$T/short.db")" "$sum"
	done
done
[ -e "$T/short.db-wal" ] && fail "short-db-no-wal" || pass "short-db-no-wal"

# A 0-byte file (touch, mktemp) becomes the database.
: >"$T/empty.db"
$CG --db "$T/empty.db" crawl "$ROOT/tests/fixtures/cache-small" >/dev/null 2>"$T/err"
expect_eq "empty-db-crawl-exit-0" "$?" 0
expect_eq "empty-db-became-cachegc-db" "$(sqlite3 "$T/empty.db" 'PRAGMA application_id')" 1128743729

# ---- a database that cannot be written --------------------------------
# Read-only commands work on it, as they would on a writable copy; writing
# ones say it is read-only and why.  Root ignores permissions: as root the
# reader runs as nobody (setpriv), and a read-only mount is tried too.
need jq
NOW=2024-05-29
$CACHEGC gen "$T/w" --paths 3000 --seed 5 >/dev/null || { fail gen; exit 1; }
chmod -R a+rX "$T/w"
mkdir "$T/ro"
db="$T/ro/c.db"
{ $CACHEGC --db "$db" --now $NOW crawl "$T/w/cache" &&
  $CACHEGC --db "$db" import-eval --manifest "$T/w/evals/manifest.tsv" &&
  $CACHEGC --db "$db" import-builds "$T/w/builds.jsonl" &&
  $CACHEGC --db "$db" keys add "$(cat "$T/w/keys/"*.public)" &&
  $CACHEGC --db "$db" --now $NOW plan evict --limit 100M; } >/dev/null 2>&1 ||
	{ fail "ro-setup"; exit 1; }
chmod 755 "$T"
if [ "$(id -u)" = 0 ]; then
	need setpriv
	as_reader() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
else
	as_reader() { "$@"; }
fi

cat >"$T/readers" <<'EOR'
keys keys list --json
closure closure --all --json
coverage coverage --json
verify verify --json
simulate simulate --policy attic --json
plan plan evict --limit 100M --json
evict evict --plan 1 --json
EOR
# The answers on a writable copy.
cp "$db" "$T/rw.db"
while read -r name args; do
	# shellcheck disable=SC2086
	$CACHEGC --db "$T/rw.db" --now $NOW $args 2>/dev/null | normalize "$name" >"$T/want.$name"
done <"$T/readers"

# readers LABEL [WRAPPER...]: every read-only command on $db (run through
# the wrapper) exits as on the writable copy with the same answer.
readers() {
	label=$1
	shift
	while read -r name args; do
		# shellcheck disable=SC2086
		"$@" $CG --db "$db" --now $NOW $args >"$T/got.$name" 2>"$T/err.$name"
		rc=$?
		case "$name" in verify) ok="0 1" ;; *) ok=0 ;; esac
		case " $ok " in
		*" $rc "*) pass "$label-$name-works" ;;
		*) fail "$label-$name-works" "exit $rc: $(head -c 400 "$T/err.$name")" ;;
		esac
		normalize "$name" <"$T/got.$name" >"$T/got.n.$name" 2>/dev/null
		check "$label-$name-same-answer" cmp "$T/want.$name" "$T/got.n.$name"
	done <"$T/readers"
	check "$label-plan-says-not-stored" grep -q "read-only.*the plan is not stored" "$T/err.plan"
	expect_eq "$label-plan-id-null" "$(jq .id "$T/got.plan")" null
}
# writers LABEL REASON [WRAPPER...]: every writing command is refused,
# saying the DB is read-only and REASON; the DB is unchanged.
writers() {
	label=$1 reason=$2
	shift 2
	sum=$(cksum <"$db")
	while read -r what c; do
		tn="$label-$what"
		# shellcheck disable=SC2086
		"$@" $CG --db "$db" --now $NOW $c >/dev/null 2>"$T/err"
		expect_eq "$tn-refused" "$?" 1
		check "$tn-says-read-only" grep -q "database '$db' is read-only ($reason" "$T/err"
	done <<EOW
crawl crawl $T/w/cache
import-builds import-builds $T/w/builds.jsonl
keys-add keys add x:AAAA
keys-revoke keys revoke x
evict-apply evict --plan 1 --apply
EOW
	expect_eq "$label-db-unchanged" "$(cksum <"$db")" "$sum"
}

# A directory this user cannot write: no -wal there, so the file is read
# as it is, immutable; nothing is created beside it.
chmod 555 "$T/ro"
readers ro-dir as_reader
writers ro-dir "the file is not writable: Permission denied" as_reader
check "ro-dir-verify-says-verdicts-not-kept" grep -q "verdicts are not kept" "$T/err.verify"
expect_eq "ro-dir-nothing-created" "$(ls "$T/ro")" c.db
chmod 755 "$T/ro"

# A file this user cannot write in a directory it can: SQLite reads it
# with its -wal and -shm beside it.
chmod 444 "$db"
chmod 777 "$T/ro"
readers ro-file as_reader
writers ro-file "the file is not writable: Permission denied" as_reader
chmod 755 "$T/ro"
rm -f "$db-wal" "$db-shm"
chmod 644 "$db"

# A read-only mount (EROFS, for root too).
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	in_ro_mount() {
		unshare -m sh -c 'mount --bind -o ro "$1" "$1" && shift && exec "$@"' sh "$T/ro" "$@"
	}
	readers ro-mount in_ro_mount
	writers ro-mount "the file is not writable: Read-only file system" in_ro_mount
else
	echo "# no read-only mount here (needs root and unshare -m): skipped"
fi

# A read-only directory holding a write-ahead log another process left (a
# writer killed mid-session): read through it, so its last commit counts.
mkfifo "$T/fifo"
sqlite3 "$db" <"$T/fifo" >/dev/null 2>&1 &
sq=$!
exec 3>"$T/fifo"
echo "INSERT INTO trusted_keys (name, public_key, added_at) VALUES ('wal-only', 'AAAA', 0);" >&3
# (up to 30 s: on a loaded machine the writer can take seconds to start)
if ! wait_until 600 0.05 sql_at_least 1 "$db" "SELECT count(*) FROM trusted_keys WHERE name = 'wal-only'"; then
	fail ro-dir-wal-setup "the sqlite3 writer did not commit within 30 s"
fi
kill -9 $sq
wait $sq 2>/dev/null
exec 3>&-
chmod a+r "$db-wal" "$db-shm"
chmod 555 "$T/ro"
as_reader $CG --db "$db" keys list --json >"$T/keys.json" 2>"$T/err"
expect_eq "ro-dir-wal-read-exit-0" "$?" 0
expect_eq "ro-dir-wal-commit-seen" "$(jq -r '[.[].name] | index("wal-only") != null' "$T/keys.json")" true
# ... but without the -shm SQLite cannot use the log: say so.
chmod 755 "$T/ro"
cp "$db-wal" "$T/wal.copy"
mv "$db-shm" "$T/shm.copy"
chmod 555 "$T/ro"
as_reader $CG --db "$db" keys list >/dev/null 2>"$T/err"
expect_eq "ro-dir-wal-no-shm-exit-1" "$?" 1
check "ro-dir-wal-no-shm-says-why" grep -q "cannot read database '$db': it is read-only.*-shm" "$T/err"
chmod 755 "$T/ro"
finish
