#!/bin/sh
# distill_outer.sh times one outer iteration of dataset distillation (DD)
# and of distribution matching (DM) at 48x48x1 with the default model and
# configuration (fernb/distill's BenchmarkDDOuterIteration and
# BenchmarkDMOuterIteration), at each git revision given, so that a layer
# change can be judged before and after on the same machine:
#
#	fernb/bench/distill_outer.sh                 # bc03460 (before the layer rework) and the working tree
#	fernb/bench/distill_outer.sh HEAD~3 .        # any revisions; "." is the working tree
#
# Each revision is exported with git archive (the repository is only read)
# and its benchmark binary built once; then the binaries run in turn,
# ROUNDS times (default 3), so that a machine whose load changes slows
# every revision alike. Each run does BENCHTIME iterations (default 3x)
# after one untimed iteration that compiles the graphs, and prints s/iter
# (wall) and cpu-s/iter (process CPU time, the steadier figure on a shared
# machine). The benchmarks exist unchanged since bc03460, the move to
# GoMLX v0.28.16 / compute v0.1.14 that the layer rework (03667c0,
# c961d11) built on.
set -eu
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}" GOEXPERIMENT="${GOEXPERIMENT:-simd}"
root=$(git rev-parse --show-toplevel)
[ $# -gt 0 ] || set -- bc03460 .
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "machine: $(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//') ($(nproc) CPUs)"
echo "ISA: $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | tr ' ' '\n' | grep -E '^(avx|fma|amx)' | sort | tr '\n' ' ')"
echo "GOMAXPROCS=${GOMAXPROCS:-$(nproc)} $(go version)"

i=0
for rev in "$@"; do
	i=$((i + 1))
	if [ "$rev" = . ]; then
		src=$root
		name="working-tree($(git -C "$root" rev-parse --short HEAD))"
	else
		src=$tmp/src$i
		mkdir -p "$src"
		git -C "$root" archive "$rev" | tar -x -C "$src"
		name="$rev($(git -C "$root" rev-parse --short "$rev"))"
	fi
	(cd "$src" && go test -c -o "$tmp/bin$i.test" ./fernb/distill/)
	echo "$name" >"$tmp/name$i"
	echo "$src/fernb/distill" >"$tmp/dir$i"
done

for round in $(seq "${ROUNDS:-3}"); do
	j=1
	while [ $j -le $i ]; do
		(cd "$(cat "$tmp/dir$j")" && "$tmp/bin$j.test" -test.run '^$' \
			-test.bench 'DDOuterIteration$|DMOuterIteration$' -test.benchtime "${BENCHTIME:-3x}") |
			awk -v name="$(cat "$tmp/name$j")" -v round="$round" \
				'/^Benchmark/ { for (k = 1; k < NF; k++) { if ($(k+1) == "s/iter") s = $k; if ($(k+1) == "cpu-s/iter") c = $k }
				printf "round %d  %-28s %-28s %8s s/iter %8s cpu-s/iter\n", round, name, $1, s, c }'
		j=$((j + 1))
	done
done
