#!/bin/sh
# tests/interop/test_evaljobs_nix.sh - nix-eval-jobs' attr strings and
# Nix's error messages against real Nix (nix-eval-jobs itself is not
# packaged here).  An attr joined and quoted as nix-eval-jobs' attrPathJoin
# does it (a name holding a dot in double quotes) is an attribute path real
# Nix reads (nix-instantiate -A finds the job's derivation with it), and
# cachegc records the job by its names, with or without "attrPath".  The
# error messages real Nix prints, with and without --show-trace, are the
# "error" of failed jobs: coverage's text line gives their message.
. "$(dirname "$0")/../lib/lib.sh"
. "$ROOT/tests/lib/nix.sh"
need jq sqlite3
nix_setup

DB="$T/t.db"
q() { sqlite3 -batch -noheader "$DB" "$1"; }
nonce=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
cat >"$T/jobs.nix" <<EOF
let
  mk = name: derivation {
    name = "cg-\${name}";
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" "echo $nonce > \$out" ];
  };
in {
  hello = mk "hello";
  "dotted.attr" = mk "dotted";
  python3Packages = { "ruamel.yaml" = mk "ruamel-yaml"; plain = mk "plain"; };
  a = { "b.c" = { d = mk "deep-dotted"; }; };
  broken = throw "Package ‘cg-broken-1.0’ is marked as broken, refusing to evaluate.";
  traced = let f = x: builtins.throw "cannot build \${x} today"; in f "stdenv";
}
EOF

# nix-eval-jobs' attrPathJoin: names joined by '.', one holding a dot quoted
join='map(if test("\\.") then "\"" + . + "\"" else . end) | join(".")'
: >"$T/jobs.jsonl"
for path in '["hello"]' '["dotted.attr"]' '["python3Packages","ruamel.yaml"]' \
	'["python3Packages","plain"]' '["a","b.c","d"]'; do
	attr=$(printf '%s' "$path" | jq -r "$join")
	if drv=$(nix-instantiate "$T/jobs.nix" -A "$attr" 2>"$T/inst.err"); then
		pass "nix-reads-$attr"
	else
		fail "nix-reads-$attr" "$(cat "$T/inst.err")"
		continue
	fi
	out=$(nix-store -q --outputs "$drv")
	jq -nc --arg attr "$attr" --argjson path "$path" --arg drv "$drv" --arg out "$out" \
		'{attr: $attr, attrPath: $path, drvPath: $drv, name: ($drv | sub("^[^-]*-"; "") | sub("\\.drv$"; "")),
		  outputs: {out: $out}, system: "x86_64-linux"}' >>"$T/jobs.jsonl"
	echo "$attr $drv" >>"$T/drvs"
done
# the errors as Nix prints them (less its own warnings and its hint to use
# --show-trace, which are not part of the error nix-eval-jobs records)
for attr in broken traced; do
	flags=
	[ "$attr" = traced ] && flags=--show-trace
	nix-instantiate $flags "$T/jobs.nix" -A "$attr" >/dev/null 2>"$T/$attr.err" &&
		fail "nix-fails-$attr" "it evaluated"
	grep -v "^warning: \|^(use '--show-trace'" "$T/$attr.err" >"$T/$attr.msg"
	jq -nc --arg attr "$attr" --rawfile err "$T/$attr.msg" '{attr: $attr, attrPath: [$attr], error: $err}' \
		>>"$T/jobs.jsonl"
done
has nix-traced-has-trace "$T/traced.msg" "… while evaluating"

$CG --db "$DB" --now 2024-12-05 import-eval --branch b --rev r1 --time 2024-12-04 "$T/jobs.jsonl" \
	>"$T/out" 2>"$T/err"
expect_eq import "$?" 0
expect_eq attrs "$(q "SELECT group_concat(attr, ' ') FROM (SELECT attr FROM eval_jobs ORDER BY attr)")" \
	"a.b.c.d broken dotted.attr hello python3Packages.plain python3Packages.ruamel.yaml traced"
# each job's derivation is the one Nix found with its quoted attr
while read -r attr drv; do
	name=$(printf '%s' "$attr" | tr -d '"')
	expect_eq "drv-$name" "$(q "SELECT '/nix/store/' || p.hash || '-' || p.name FROM eval_jobs j
		JOIN paths p ON p.id = j.drv_id WHERE j.attr = '$name'")" "$drv"
done <"$T/drvs"
# without attrPath the quotes of attr are read as Nix reads them
jq -c 'del(.attrPath)' "$T/jobs.jsonl" >"$T/noattrpath.jsonl"
$CG --db "$DB" --now 2024-12-05 import-eval --branch b --rev r2 --time 2024-12-04 \
	"$T/noattrpath.jsonl" >"$T/out" 2>"$T/err"
expect_eq import-noattrpath "$?" 0
expect_eq same-jobs "$(q "SELECT count(*) FROM (SELECT attr, output, drv_id FROM eval_jobs j
	JOIN evaluations e ON e.id = j.evaluation_id WHERE e.rev = 'r1' EXCEPT SELECT attr, output, drv_id
	FROM eval_jobs j JOIN evaluations e ON e.id = j.evaluation_id WHERE e.rev = 'r2')")" 0

$CG --db "$DB" --now 2024-12-05 crawl "$ROOT/tests/fixtures/cache-small" >/dev/null 2>&1 ||
	fail crawl "crawl failed"
$CG --db "$DB" --now 2024-12-06 coverage --branch b >"$T/c.txt" 2>"$T/c.err"
has cov-error "$T/c.txt" "broken (evaluation): failed: evaluation error: Package ‘cg-broken-1.0’ is marked as broken, refusing to evaluate."
has cov-error-traced "$T/c.txt" "traced (evaluation): failed: evaluation error: cannot build stdenv today"
$CG --db "$DB" --now 2024-12-06 coverage --branch b --attr 'python3Packages.*' --json >"$T/c.json" 2>"$T/c.err"
expect_eq cov-attr-glob "$(jq -r '[.[] | .attr] | unique | join(" ")' "$T/c.json")" \
	"python3Packages.plain python3Packages.ruamel.yaml"
$CG --db "$DB" --now 2024-12-06 coverage --branch b --attr 'a.b.c.*' --json >"$T/c.json" 2>"$T/c.err"
expect_eq cov-attr-dotted "$(jq -r '[.[] | .attr] | unique | join(" ")' "$T/c.json")" a.b.c.d

finish
