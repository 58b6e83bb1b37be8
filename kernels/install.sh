#!/usr/bin/env bash
# install.sh makes this machine ready to run fernb's notebooks:
#
#   1. Jupyter: found, or installed from Debian packages when running as root
#      (jupyter-nbconvert jupyter-client jupyter-notebook); elsewhere it says
#      how to install it (pip install -r requirements-dev.txt).
#   2. The Go tools named in go.mod (GoNB, goimports): `go install tool`.
#   3. The kernelspec "gonb-fernb": written from kernels/gonb-fernb/kernel.json
#      into kernels/.jupyter/kernels/gonb-fernb (git-ignored, inside the repo),
#      with the absolute path of kernels/gonb-fernb/launch.sh. Jupyter sees it
#      once JUPYTER_PATH includes kernels/.jupyter; the script prints the line.
#      With --user it goes to the user's Jupyter data directory instead, so
#      no JUPYTER_PATH is needed.
#
# It is idempotent: a second run changes nothing and says so.
#
# Usage: kernels/install.sh [--user] [--no-apt]
set -euo pipefail

usage() {
	sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

user_install=0
use_apt=1
for arg in "$@"; do
	case "$arg" in
	--user) user_install=1 ;;
	--no-apt) use_apt=0 ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		echo "install.sh: unknown argument $arg" >&2
		usage >&2
		exit 2
		;;
	esac
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
template="$root/kernels/gonb-fernb/kernel.json"
launcher="$root/kernels/gonb-fernb/launch.sh"
say() { echo "install.sh: $*"; }

# --- 1. Jupyter --------------------------------------------------------------
have_jupyter() {
	command -v jupyter >/dev/null 2>&1 &&
		jupyter nbconvert --version >/dev/null 2>&1 &&
		jupyter kernelspec list >/dev/null 2>&1
}
if have_jupyter; then
	say "Jupyter found: $(command -v jupyter) (nbconvert $(jupyter nbconvert --version 2>/dev/null))"
elif [[ $use_apt == 1 && $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
	pkgs=(jupyter-nbconvert jupyter-client jupyter-notebook)
	say "Jupyter missing: apt-get install -y ${pkgs[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -q "${pkgs[@]}"; then
		say "apt-get install failed; running apt-get update and trying again"
		apt-get update -q
		apt-get install -y -q "${pkgs[@]}"
	fi
	have_jupyter || {
		say "Jupyter still not usable after apt-get install" >&2
		exit 1
	}
	say "installed Jupyter: $(command -v jupyter)"
else
	say "WARNING: Jupyter (with nbconvert) is not installed. Install it with one of:"
	say "    sudo apt-get install -y jupyter-nbconvert jupyter-client jupyter-notebook   # Debian/Ubuntu"
	say "    pip install -r $root/requirements-dev.txt   # elsewhere"
	say "  then run this script again. Continuing with the Go tools and the kernelspec."
fi

# --- 2. Go tools -----------------------------------------------------------------
if ! command -v go >/dev/null 2>&1; then
	say "the go command is not on PATH; install Go 1.21 or newer first (it fetches Go 1.27.3 itself) (https://go.dev/dl/)" >&2
	exit 1
fi
export GOEXPERIMENT=simd
# fernb needs Go 1.27; a Go with GOTOOLCHAIN=local would refuse go.mod.
export GOTOOLCHAIN=go1.27.3
(cd "$root" && go install tool)
gobin="$(go env GOBIN)"
[[ -n "$gobin" ]] || gobin="$(go env GOPATH | cut -d: -f1)/bin"
gonb_mod="$(go version -m "$gobin/gonb" 2>/dev/null | awk '$1 == "mod" {print $2 " " $3}')"
say "go install tool: gonb and goimports are in $gobin (built from ${gonb_mod:-an unknown gonb module})"
case ":$PATH:" in
*":$gobin:"*) ;;
*) say "note: $gobin is not on your PATH; the kernel adds it itself, but for your shell: export PATH=\"$gobin:\$PATH\"" ;;
esac
if command -v gopls >/dev/null 2>&1 || [[ -x "$gobin/gopls" ]]; then
	say "gopls found (GoNB uses it for auto-complete and contextual help)"
else
	say "optional: gopls is not installed; GoNB runs without it but offers no auto-complete. To add it: go install golang.org/x/tools/gopls@v0.23.0 (an exact version: some module proxies refuse @latest)"
fi

# --- 3. Kernelspec ------------------------------------------------------------
if [[ $user_install == 1 ]]; then
	if command -v jupyter >/dev/null 2>&1; then
		data_dir="$(jupyter --data-dir)"
	else
		data_dir="${JUPYTER_DATA_DIR:-$HOME/.local/share/jupyter}"
	fi
else
	data_dir="$root/kernels/.jupyter"
fi
spec_dir="$data_dir/kernels/gonb-fernb"
case "$launcher$(dirname "$(command -v go)")" in
*'"'* | *'\'* | *'#'*)
	say "paths with quotes, backslashes or # are not supported: $launcher" >&2
	exit 1
	;;
esac
go_dir="$(dirname "$(command -v go)")"
new_spec="$(sed -e "s#{resource_dir}/launch.sh#$launcher#" \
	-e "s#\"GOEXPERIMENT\": \"simd\"#\"GOEXPERIMENT\": \"simd\", \"FERNB_GO_BIN\": \"$go_dir\"#" \
	-e '/"metadata":/d' -e 's/"env": \({.*}\),$/"env": \1/' "$template")"
if [[ -f "$spec_dir/kernel.json" && "$(cat "$spec_dir/kernel.json")" == "$new_spec" ]]; then
	say "kernelspec gonb-fernb already up to date in $spec_dir"
else
	mkdir -p "$spec_dir"
	printf '%s\n' "$new_spec" >"$spec_dir/kernel.json"
	say "wrote kernelspec gonb-fernb to $spec_dir/kernel.json (runs $launcher)"
fi

# --- What to type next -----------------------------------------------------------
echo
if [[ $user_install == 1 ]]; then
	say "the kernel \"Go (fernb)\" is installed for your user. Start the notebooks with:"
	echo "    cd $root && jupyter notebook notebooks/"
else
	say "Jupyter finds the kernel through JUPYTER_PATH. Start the notebooks with:"
	echo "    export JUPYTER_PATH=\"$data_dir\${JUPYTER_PATH:+:\$JUPYTER_PATH}\""
	echo "    cd $root && jupyter notebook notebooks/      # or: jupyter lab notebooks/"
fi
if have_jupyter; then
	if [[ $user_install == 1 ]]; then
		list="$(jupyter kernelspec list 2>/dev/null)"
	else
		list="$(JUPYTER_PATH="$data_dir${JUPYTER_PATH:+:$JUPYTER_PATH}" jupyter kernelspec list 2>/dev/null)"
	fi
	if grep -q 'gonb-fernb' <<<"$list"; then
		say "checked: jupyter kernelspec list shows gonb-fernb"
	else
		say "WARNING: jupyter kernelspec list does not show gonb-fernb:" >&2
		echo "$list" >&2
		exit 1
	fi
fi
