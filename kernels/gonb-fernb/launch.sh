#!/usr/bin/env bash
# launch.sh starts GoNB for one notebook of the fernb repository.
#
# Jupyter runs it as `launch.sh {connection_file} [extra gonb flags]` (see
# kernel.json). It
#   - finds the repository root from its own location (kernels/gonb-fernb/ is
#     two levels below it), or from $FERNB_ROOT, so a clone anywhere works and
#     no absolute path is committed;
#   - passes --go_work=<root> to GoNB, so every notebook can import
#     github.com/fernb/fernb/fernb/... with no set-up cell;
#   - sets GOEXPERIMENT=simd: without it the pure-Go backend's matrix multiply
#     runs scalar, about 10x slower;
#   - sets GOTOOLCHAIN=go1.27.3 unless it names a toolchain already: fernb
#     needs Go 1.27, and a Go with GOTOOLCHAIN=local refuses go.mod;
#   - puts the Go tools installed by `go install tool` (gonb, goimports) on
#     PATH, because GoNB calls goimports and go by name.
set -euo pipefail

if [[ $# -lt 1 ]]; then
	echo "usage: $0 <jupyter connection file> [gonb flags...]" >&2
	exit 2
fi
connection_file="$1"
shift

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="${FERNB_ROOT:-$(cd "$here/../.." && pwd)}"
if ! grep -qs '^module github.com/fernb/fernb$' "$root/go.mod"; then
	echo "fernb kernel: $root is not the fernb repository root (no go.mod for github.com/fernb/fernb)." >&2
	echo "fernb kernel: install the kernel with kernels/install.sh from the repository, or set FERNB_ROOT." >&2
	exit 1
fi

# A Go toolchain recorded by kernels/install.sh, for Jupyter servers started
# from an environment whose PATH lacks go.
if ! command -v go >/dev/null 2>&1 && [[ -n "${FERNB_GO_BIN:-}" ]]; then
	PATH="$FERNB_GO_BIN:$PATH"
fi
if ! command -v go >/dev/null 2>&1; then
	echo "fernb kernel: the go command is not on PATH ($PATH)." >&2
	exit 1
fi
gobin="$(go env GOBIN)"
if [[ -z "$gobin" ]]; then
	gobin="$(go env GOPATH | cut -d: -f1)/bin"
fi
export PATH="$gobin:$PATH"

case "${GOTOOLCHAIN:-}" in
go1.*) ;;
*) export GOTOOLCHAIN=go1.27.3 ;;
esac

case ",${GOEXPERIMENT:-}," in
*,simd,*) ;;
*) export GOEXPERIMENT="${GOEXPERIMENT:+$GOEXPERIMENT,}simd" ;;
esac

if ! command -v gonb >/dev/null 2>&1; then
	echo "fernb kernel: gonb is not installed; run 'go install tool' in $root (or kernels/install.sh)." >&2
	exit 1
fi
exec gonb --kernel "$connection_file" --go_work="$root" "$@"
