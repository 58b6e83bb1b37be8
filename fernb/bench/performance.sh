#!/bin/sh
# performance.sh runs the side-by-side comparisons of fernb/bench/README.md
# (Performance): fer-cnn, vgg-face (width 0.25) and resnet18 at 48x48x1,
# batch 64, THREADS threads (default 2), fernb (pure-Go backend) against
# PyTorch on the CPU, alternating the two ROUNDS times (default 5). Each
# model's summary (the medians, Go/PyTorch ratios, the GEMM share of Go's
# CPU samples and the machine) goes to stderr; every result's JSON line to
# OUT (default $TMPDIR/fernb-performance.jsonl).
# PyTorch: apt-get install -y python3-torch.
set -eu
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}" GOEXPERIMENT="${GOEXPERIMENT:-simd}"
cd "$(git rev-parse --show-toplevel)"
rounds=${ROUNDS:-5}
threads=${THREADS:-2}
out=${OUT:-${TMPDIR:-/tmp}/fernb-performance.jsonl}
bin=$(mktemp -d)/fernb
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./fernb/cmd/fernb
: >"$out"
"$bin" bench --threads "$threads" --vs-torch --rounds "$rounds" --steps 20 --warmup 3 >>"$out"
"$bin" bench --threads "$threads" --vs-torch --rounds "$rounds" --model vgg-face --width 0.25 --steps 10 --warmup 2 --no-dot >>"$out"
"$bin" bench --threads "$threads" --vs-torch --rounds "$((rounds < 3 ? rounds : 3))" --model resnet18 --steps 4 --warmup 2 --no-dot >>"$out"
echo "JSON lines: $out" >&2
