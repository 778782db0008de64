#!/usr/bin/env bash
# Builds the kube-apiserver and etcd binaries that test/controlplane runs, from
# the pinned scratch modules beside this script, into
#   ${SLUICE_CACHE:-$HOME/.cache/sluice}/controlplane/<kubernetes version>/
# Needs only the Go toolchain and the Go module proxy. A binary already in the
# cache is not rebuilt, so a second run returns at once; delete the directory
# to force a rebuild.
#
# Prints the directory holding the binaries on its last line of stdout.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
source "${here}/versions.sh"

cache="${SLUICE_CACHE:-${HOME}/.cache/sluice}"
out="${cache}/controlplane/${KUBERNETES_VERSION}"
mkdir -p "${out}"

# The go.sum files are committed: a build must not resolve anything new.
export GOFLAGS="-mod=readonly -buildvcs=false -trimpath"
export GOWORK=off
# Static binaries, as upstream releases them, and no C compiler needed.
export CGO_ENABLED=0

minor="${KUBERNETES_VERSION#v}"
major="${minor%%.*}"
minor="${minor#*.}"
minor="${minor%%.*}"

# build DIR NAME PACKAGE LDFLAGS: builds into a temporary file first so that an
# interrupted build never leaves a truncated binary that later runs would trust.
build() {
	local dir="$1" name="$2" pkg="$3" ldflags="$4"
	local dst="${out}/${name}"
	if [[ -x "${dst}" ]]; then
		echo "build: ${name} present: ${dst}" >&2
		return
	fi
	echo "build: compiling ${name} (${pkg}); this takes several minutes the first time" >&2
	local start=${SECONDS}
	local tmp="${dst}.tmp.$$"
	trap 'rm -f "${tmp}"' EXIT
	(cd "${here}/${dir}" && go build -ldflags "${ldflags}" -o "${tmp}" "${pkg}")
	mv -f "${tmp}" "${dst}"
	trap - EXIT
	echo "build: ${name} built in $((SECONDS - start))s: ${dst}" >&2
}

build etcd etcd . \
	"-s -w"
build kube-apiserver kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver \
	"-s -w -X k8s.io/component-base/version.gitVersion=${KUBERNETES_VERSION} -X k8s.io/component-base/version.gitMajor=${major} -X k8s.io/component-base/version.gitMinor=${minor} -X k8s.io/component-base/version.gitTreeState=clean"

# Running the binaries proves they are whole; a pipe into head would race
# etcd into SIGPIPE, hence the variable.
"${out}/kube-apiserver" --version >&2
etcd_version="$("${out}/etcd" --version)"
echo "${etcd_version%%$'\n'*}" >&2
echo "${out}"
