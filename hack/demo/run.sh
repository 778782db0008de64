#!/usr/bin/env bash
# Starts the demo backends and sluice on hack/demo/seed.cfg; Ctrl-C stops
# everything this script started (by PID).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-bin}
pids=()
cleanup() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "demo stopped"
}
trap cleanup INT TERM EXIT

"$BIN/demo-backend" 127.0.0.1:9101=blog1 127.0.0.1:9102=blog2 127.0.0.1:9201=web1 127.0.0.1:9202=web2 &
pids+=($!)
"$BIN/sluice" run -f hack/demo/seed.cfg --metrics-addr 127.0.0.1:9100 &
sluice_pid=$!
pids+=($sluice_pid)

for _ in $(seq 1 50); do
  curl -s -o /dev/null http://127.0.0.1:8080/ && break
  sleep 0.1
done
cat <<MSG

sluice is serving hack/demo/seed.cfg on 127.0.0.1:8080. Try:

  curl -s http://127.0.0.1:8080/blog/hello      # path_beg /blog -> blog-backend (blog1, blog2 in turn)
  curl -s http://127.0.0.1:8080/                # default_backend web-backend
  curl -si http://127.0.0.1:8080/ | grep -i set-cookie          # the persistence cookie
  curl -s -b SLUICEID=w2 http://127.0.0.1:8080/  # always web2 while it is up
  curl -s http://127.0.0.1:9100/metrics | grep sluice_frontend   # Prometheus metrics
  curl -s http://127.0.0.1:9100/debug/config     # the live table, as a config file

Edit hack/demo/seed.cfg and run 'kill -HUP $sluice_pid' to reload without dropping anything.
Ctrl-C stops everything.
MSG
wait
