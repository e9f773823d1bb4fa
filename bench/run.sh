#!/bin/sh
# bench/run.sh CACHEGC - run every benchmark; each prints its own figures.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
CG=$1
for b in "$here"/*.sh; do
	case "$(basename "$b")" in run.sh|lib.sh|evals_world.sh|sim_world.sh) continue ;; esac
	[ -n "${BENCH:-}" ] && case "$(basename "$b")" in *"$BENCH"*) ;; *) continue ;; esac
	echo "== $(basename "$b" .sh)"
	sh "$b" "$CG"
done
