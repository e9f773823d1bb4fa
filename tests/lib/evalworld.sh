# tests/lib/evalworld.sh - evaluating and building a test world with real
# Nix, for interop tests (sourced after nix.sh).  The test sets $W (holding
# world.nix, a function of { caps, rev }) and $ATTRS (the attrs to
# evaluate); an attr "broken" that fails to evaluate is added to every
# evaluation's lines.  Gives:
#   jobs NAME CAPS REV     nix-eval-jobs-shaped lines into $W/NAME.jsonl
#   out NAME ATTR [OUTPUT] the output path of ATTR in evaluation NAME
#   drv NAME ATTR          its .drv
#   build NAME ATTR...     realise those attrs of evaluation NAME

# jobs NAME CAPS REV: nix-eval-jobs lines for every attr into $W/NAME.jsonl,
# the broken attr's error in colour as nix-eval-jobs prints it.
jobs() {
	capsnix=$(echo "$2" | tr ',' ' ' | awk '{ for (i = 1; i <= NF; i++) printf "\"%s\" ", $i }')
	if ! nix-instantiate --eval --strict --json --read-write-mode -E "
		let w = import $W/world.nix { caps = [ $capsnix ]; rev = \"$3\"; }; in
		map (a: { attr = a; attrPath = [ a ]; name = w.\${a}.name; system = w.\${a}.system;
			drvPath = w.\${a}.drvPath;
			outputs = builtins.listToAttrs (map (o: { name = o; value = w.\${a}.\${o}.outPath; })
				(w.\${a}.outputs or [ \"out\" ])); })
		[ $(for a in $ATTRS; do printf '"%s" ' "$a"; done) ]" >"$W/$1.json" 2>"$W/$1.err"; then
		fail "jobs-$1" "nix-instantiate failed: $(tail -n 5 "$W/$1.err")"
		exit 1
	fi
	jq -c '.[]' "$W/$1.json" >"$W/$1.jsonl"
	printf '%s\n' '{"attr":"broken","attrPath":["broken"],"error":"\u001b[31;1merror:\u001b[0m broken: this package fails to evaluate"}' >>"$W/$1.jsonl"
}
# out NAME ATTR [OUTPUT]: the output path of ATTR in evaluation NAME.
out() { jq -r --arg a "$2" --arg o "${3:-out}" 'select(.attr == $a) | .outputs[$o]' "$W/$1.jsonl"; }
drv() { jq -r --arg a "$2" 'select(.attr == $a) | .drvPath' "$W/$1.jsonl"; }
# build NAME ATTR...: nix-build those attrs of evaluation NAME.
build() {
	bname=$1
	shift
	for a in "$@"; do
		if ! nix-store -r "$(drv "$bname" "$a")" >/dev/null 2>"$W/build.log"; then
			fail "build-$bname-$a" "$(tail -n 5 "$W/build.log")"
			exit 1
		fi
	done
}
