#!/usr/bin/env bash
# Builds Helm from the Go module proxy into
#   ${SLUICE_CACHE:-$HOME/.cache/sluice}/helm/<version>/helm
# for each version named on the command line, or for every version in
# versions.sh when none is. A binary already in the cache is not rebuilt, so a
# second run returns at once; delete its directory to force a rebuild.
#
# Prints the path of each binary on its own line of stdout, in order.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
source "${here}/versions.sh"

cache="${SLUICE_CACHE:-${HOME}/.cache/sluice}"
# The module is built as released, outside this repository's module.
export GOWORK=off GOFLAGS="-trimpath -buildvcs=false" CGO_ENABLED=0

# install VERSION: builds helm VERSION into the cache and prints its path.
install() {
	local version="$1"
	local major="${version%%.*}"
	case "${major}" in
	v3 | v4) ;;
	*)
		echo "helm: ${version}: not a v3 or v4 version" >&2
		return 2
		;;
	esac
	local mod="helm.sh/helm/${major}"
	local dir="${cache}/helm/${version}"
	local dst="${dir}/helm"
	if [[ -x "${dst}" ]]; then
		echo "helm: ${version} present: ${dst}" >&2
		echo "${dst}"
		return
	fi
	mkdir -p "${dir}"
	echo "helm: compiling ${mod}/cmd/helm@${version}; this takes a few minutes the first time" >&2
	local start=${SECONDS}

	# Helm's own Makefile stamps the version, and (v3) the Kubernetes version
	# that `helm template` and `helm lint` assume, derived from the client-go
	# it is built with; a plain `go install` would report v1.20.
	local src
	src="$(go mod download -json "${mod}@${version}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
	if [[ -z "${src}" ]]; then
		echo "helm: ${mod}@${version}: not found in the module proxy" >&2
		return 1
	fi
	local ldflags="-s -w -X ${mod}/internal/version.version=${version} -X ${mod}/internal/version.metadata="
	if [[ "${major}" == v3 ]]; then
		local kube kmajor kminor
		kube="$(sed -n 's/^[[:space:]]*k8s.io\/client-go v\([0-9.]*\).*/\1/p' "${src}/go.mod")"
		kmajor=$((${kube%%.*} + 1))
		kminor="${kube#*.}"
		kminor="${kminor%%.*}"
		local p
		for p in pkg/lint/rules pkg/chartutil; do
			ldflags+=" -X ${mod}/${p}.k8sVersionMajor=${kmajor} -X ${mod}/${p}.k8sVersionMinor=${kminor}"
		done
	fi

	# Built into a temporary directory first so that an interrupted build
	# never leaves a binary that later runs would trust.
	local tmp
	tmp="$(mktemp -d "${dir}/.build.XXXXXX")"
	trap 'rm -rf "${tmp}"' RETURN
	GOBIN="${tmp}" go install -ldflags "${ldflags}" "${mod}/cmd/helm@${version}"
	"${tmp}/helm" version --short >&2
	mv -f "${tmp}/helm" "${dst}"
	echo "helm: ${version} built in $((SECONDS - start))s: ${dst}" >&2
	echo "${dst}"
}

if [[ $# -eq 0 ]]; then
	set -- "${HELM_VERSIONS[@]}"
fi
for v in "$@"; do
	install "${v}"
done
