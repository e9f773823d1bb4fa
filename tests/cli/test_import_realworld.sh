#!/bin/sh
# tests/cli/test_import_realworld.sh - import-eval and import-builds on the
# forms real tools write (tests/fixtures/evals/README): nix-eval-jobs of a
# CPU-only jobset with dotted attrs and aggregates, imported without
# --system and --capabilities; the $HYDRA_JSON of Hydra's RunCommand
# plugin, imported as Hydra would run it; then coverage's --attr and its
# evaluation error line over them.  Checked against the tables with sqlite3.
. "$(dirname "$0")/../lib/lib.sh"
need sqlite3 jq
FIX="$ROOT/tests/fixtures/evals"
DB="$T/t.db"
NEJ="$FIX/nix-eval-jobs-cpu.jsonl"

cg() {
	$CG --db "$DB" --now 2024-12-05 "$@" >"$T/out" 2>"$T/err"
	rc=$?
}
q() { sqlite3 -batch -noheader "$DB" "$1"; }

# --- nix-eval-jobs: no --system, no --capabilities ----------------------------------

cg import-eval --branch master --rev 1111aaaa --time 2024-12-04 "$NEJ"
expect_eq nej-status "$rc" 0
expect_eq nej-caps-system "$(q 'SELECT capabilities, system FROM evaluations')" "none|aarch64-linux"
has nej-summary "$T/out" "(master 1111aaaa [none] aarch64-linux at 2024-12-04T00:00:00Z): 6 jobs, 6 outputs, 2 failed to evaluate"
# attrs by their attrPath: "\"dotted.attr\"" is dotted.attr
expect_eq nej-attrs "$(q "SELECT group_concat(a, ' ') FROM (SELECT attr || '^' || output AS a
	FROM eval_jobs ORDER BY attr, output)")" \
	"broken-pkg^ dotted.attr^out hello^out python3Packages.ruamel.yaml^dist python3Packages.ruamel.yaml^out tested^out tested-all^out"
# the aggregate whose constituents failed keeps its error and its output
expect_eq nej-aggregate "$(q "SELECT p.hash || '-' || p.name, j.error LIKE 'broken-pkg: error:%does not exist%'
	FROM eval_jobs j JOIN paths p ON p.id = j.path_id WHERE j.attr = 'tested-all'")" \
	"713b7q40vbs3a3qxxmb2rxzp48hhb5x0-tested-all|1"
expect_eq nej-aggregate-drv "$(q "SELECT p.name FROM eval_jobs j JOIN paths p ON p.id = j.drv_id
	WHERE j.attr = 'tested-all'")" "tested-all.drv"
# an attr that failed to evaluate: one row, no paths
expect_eq nej-error-row "$(q "SELECT output = '', path_id IS NULL, drv_id IS NULL FROM eval_jobs
	WHERE attr = 'broken-pkg'")" "1|1|1"

# the same again changes nothing: its system is found the same way
cg import-eval --branch master --rev 1111aaaa --time 2024-12-04 "$NEJ"
expect_eq nej-again "$rc" 0
has nej-again-says "$T/out" "already imported as evaluation 1 (master 1111aaaa [none] aarch64-linux"
cg import-eval --branch master --rev 1111aaaa "$NEJ"
expect_eq nej-again-clock "$rc" 0
has nej-again-clock-says "$T/out" "already imported as evaluation 1"
expect_eq nej-again-count "$(q 'SELECT count(*) FROM evaluations')" 1

# --json names the system it took
cg import-eval --json --branch staging --rev 1111aaaa "$NEJ"
expect_eq nej-json "$rc" 0
expect_eq nej-json-system "$(jq -r '.evaluations[0] | .system + " " + .capabilities' "$T/out")" \
	"aarch64-linux none"

# given ones still win; "none" can be said too
cg import-eval --branch master --rev 2222bbbb --system x86_64-linux --capabilities none "$NEJ"
expect_eq nej-given "$rc" 0
expect_eq nej-given-row "$(q "SELECT capabilities, system FROM evaluations WHERE rev = '2222bbbb'")" \
	"none|x86_64-linux"
cg import-eval --branch master --rev 2222bbbb --capabilities '' "$NEJ"
expect_eq nej-empty-caps "$rc" 2
cg import-eval --branch master --rev 2222bbbb --capabilities 'none,8.6' "$NEJ"
expect_eq nej-none-and-more "$rc" 2

# jobs for several systems: the user says which the evaluation is
sed '1s/"aarch64-linux"/"x86_64-linux"/' "$NEJ" >"$T/mixed.jsonl"
cg import-eval --branch master --rev 3333cccc "$T/mixed.jsonl"
expect_eq mixed-refused "$rc" 1
has mixed-says "$T/err" "its jobs are for 2 systems: aarch64-linux (4 jobs), x86_64-linux (1 job); say which one the evaluation is filed under with --system"
expect_eq mixed-nothing "$(q "SELECT count(*) FROM evaluations WHERE rev = '3333cccc'")" 0
cg import-eval --json --branch master --rev 3333cccc "$T/mixed.jsonl"
expect_eq mixed-json "$(jq -c '.evaluations[0] | [.status, .system]' "$T/out")" '["failed",null]'
cg import-eval --branch master --rev 3333cccc --system aarch64-linux "$T/mixed.jsonl"
expect_eq mixed-given "$rc" 0
# no line names a system: x86_64-linux, as before
sed 's/,"system":"aarch64-linux"//' "$NEJ" >"$T/nosystem.jsonl"
cg import-eval --branch master --rev 4444dddd "$T/nosystem.jsonl"
expect_eq nosystem "$rc" 0
expect_eq nosystem-row "$(q "SELECT system FROM evaluations WHERE rev = '4444dddd'")" x86_64-linux

# a manifest line may stop after REV
printf '%s\tnixos-unstable\t5555eeee\n%s\tnixos-unstable\t6666ffff\t\t\t2024-12-01\n' "$NEJ" "$NEJ" \
	>"$T/manifest.tsv"
cg import-eval --manifest "$T/manifest.tsv"
expect_eq manifest "$rc" 0
expect_eq manifest-rows "$(q "SELECT group_concat(capabilities || ' ' || system, ', ') FROM evaluations
	WHERE branch = 'nixos-unstable'")" "none aarch64-linux, none aarch64-linux"

# --- Hydra RunCommand: $HYDRA_JSON, as hydra-notify runs the command ------------------

runcommand() { # FILE: what <runcommand> command = ... runs, with HYDRA_JSON set
	HYDRA_JSON=$1 DB=$DB CG=$CG sh -c '$CG --db "$DB" import-builds "$HYDRA_JSON"' \
		>"$T/out" 2>"$T/err"
	rc=$?
}
runcommand "$FIX/hydra-runcommand.json"
expect_eq rc-status "$rc" 0
has rc-summary "$T/out" "1 build outcome: 1 new, 0 already recorded"
expect_eq rc-row "$(q "SELECT b.status, b.hydra_status, b.hydra_id, b.time, b.job, b.name, b.system
	FROM builds b JOIN paths p ON p.id = b.drv_id WHERE p.name = 'hello-2.12.1.drv'")" \
	"succeeded|0|271828|1733300400|hello|hello-2.12.1|aarch64-linux"
# its drvPath is the evaluation's: the build joins onto the job
expect_eq rc-joins "$(q "SELECT DISTINCT j.attr FROM builds b JOIN eval_jobs j ON j.drv_id = b.drv_id")" hello
runcommand "$FIX/hydra-runcommand-failed.json"
expect_eq rc-failed "$rc" 0
expect_eq rc-failed-row "$(q "SELECT b.status, b.hydra_status, b.hydra_id, b.time FROM builds b
	JOIN paths p ON p.id = b.drv_id WHERE p.name = 'python3.12-ruamel.yaml-0.18.6.drv'")" \
	"failed|1|271829|1733301000"
# again, and both as lines on standard input: nothing new
runcommand "$FIX/hydra-runcommand.json"
has rc-again "$T/out" "1 build outcome: 0 new, 1 already recorded"
{ cat "$FIX/hydra-runcommand.json"; echo; cat "$FIX/hydra-runcommand-failed.json"; } |
	$CG --db "$DB" import-builds --json - >"$T/out" 2>"$T/err"
expect_eq rc-stdin "$(jq -c '[.records, .imported, .alreadyKnown, .skipped]' "$T/out")" "[2,0,2,0]"
expect_eq rc-count "$(q 'SELECT count(*) FROM builds')" 2
# what is missing is named as RunCommand spells it
jq -c 'del(.drvPath)' "$FIX/hydra-runcommand.json" >"$T/nodrv.json"
runcommand "$T/nodrv.json"
expect_eq rc-nodrv "$rc" 1
has rc-nodrv-says "$T/err" 'Hydra RunCommand build without "drvPath"'
jq -c '.buildStatus = 99' "$FIX/hydra-runcommand.json" >"$T/badstatus.json"
runcommand "$T/badstatus.json"
expect_eq rc-badstatus "$rc" 1
has rc-badstatus-says "$T/err" "unknown Hydra buildStatus 99"

# --- coverage over them --------------------------------------------------------------

$CG --db "$DB" --now 2024-12-05 crawl "$ROOT/tests/fixtures/cache-small" >/dev/null 2>&1 ||
	fail crawl "crawl failed"
cov() { $CG --db "$DB" --now 2024-12-06 coverage --branch master --capabilities none "$@" 2>"$T/err"; }
# --attr is matched against the names, not nix-eval-jobs' quoting
cov --json --attr 'dotted.*' >"$T/c.json"
expect_eq cov-dotted "$(jq -r '[.[] | .attr] | unique | join(" ")' "$T/c.json")" dotted.attr
cov --json --attr 'python3Packages.ruamel.yaml' >"$T/c.json"
expect_eq cov-ruamel "$(jq -r '[.[] | .attr + "^" + .output + "=" + .status] | unique | join(" ")' "$T/c.json")" \
	"python3Packages.ruamel.yaml^dist=failed python3Packages.ruamel.yaml^out=failed"
# the aggregate's outputs are rows of their own
cov --json --attr 'tested*' >"$T/c.json"
expect_eq cov-aggregate "$(jq -r '[.[] | .attr + "^" + .output] | unique | join(" ")' "$T/c.json")" \
	"tested-all^out tested^out"
# the text names what failed to evaluate, not "error:"
cov >"$T/c.txt"
has cov-text-error "$T/c.txt" "broken-pkg (evaluation): failed: evaluation error: Package ‘broken-pkg-1.0’ in /nix/store/"
has cov-text-aggregate "$T/c.txt" "tested-all: failed: evaluation error: Package ‘broken-pkg-1.0’"
hasnt cov-text-no-bare "$T/c.txt" "evaluation error: error:"
has cov-text-build "$T/c.txt" "python3Packages.ruamel.yaml: failed: build failed at 2024-12-04T08:30:00Z"

finish
