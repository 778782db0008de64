#!/usr/bin/env bash
# Runs every manifest file of a directory (default: the shared corpus of
# real Ingress manifests and TCP services ConfigMaps) through
# `sluice translate --any-class`, each file on its own, and prints one
# report per file: what was read, the table built, each Ingress's honored
# annotations and Events. A ConfigMap in a file is read as the TCP services
# ConfigMap. Exit status 1 if sluice fails on any file.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${1:-../shared/corpus/ingress}
sluice=${SLUICE:-bin/sluice}
[ -x "$sluice" ] || { echo "build sluice first (make build), or set SLUICE" >&2; exit 2; }
[ -d "$dir" ] || { echo "no directory $dir" >&2; exit 2; }
failed=0
for f in "$dir"/*.yaml "$dir"/*.yml "$dir"/*.json; do
  [ -e "$f" ] || continue
  echo "## $(basename "$f")"
  args=(translate --any-class --https-addr :8443 -f "$f")
  if ! out=$("$sluice" "${args[@]}" 2>&1); then
    echo "FAILED: $out"; failed=1; continue
  fi
  # A ConfigMap the report says is not read: translate again with it as
  # the TCP services ConfigMap.
  cm=$(sed -n 's/^# ConfigMap \([^ ]*\): not read.*/\1/p' <<<"$out" | head -n1)
  if [ -n "$cm" ]; then
    if ! out=$("$sluice" "${args[@]}" --tcp-services-configmap "$cm" 2>&1); then
      echo "FAILED: $out"; failed=1; continue
    fi
  fi
  grep '^#' <<<"$out" || true
  echo
done
exit $failed
