#!/usr/bin/env bash
# Side-by-side load benchmark of sluice against HAProxy, nginx, Go's
# httputil.ReverseProxy (and Caddy when `caddy` is on PATH) on two cores.
#
# Each proxy runs alone on BENCH_PROXY_CPU (started under taskset so every
# thread is pinned; GOMAXPROCS=1, haproxy nbthread 1, nginx worker_processes
# 1); wrk or tcpload and both backends share BENCH_LOAD_CPU. Every proxy is
# started once. Round 0 is a warm-up and is discarded; in each round every
# scenario is run against every target in turn, the order of targets rotated
# from round to round. All traffic stays on 127.0.0.1.
#
# Knobs (environment):
#   BENCH_ROUNDS=3          measured rounds
#   BENCH_DURATION=10       seconds per measurement
#   BENCH_WARMUP=2          seconds per measurement in round 0 (0: no warm-up)
#   BENCH_SCENARIOS=...     comma-separated, default all:
#                           http-small,http-16k,http-close,http-small-c1,l4-bulk,l4-conn
#   BENCH_TARGETS=...       default direct,haproxy,nginx,goproxy,caddy,sluice
#                           (direct: to the backends, the load generator's ceiling)
#   BENCH_LOAD_CPU=0 BENCH_PROXY_CPU=1
#   BENCH_SLUICE=PATH       sluice binary to measure (default: built from this tree)
#   BENCH_OUT=DIR           results (default /tmp/sluice-bench/DATE):
#                           summary.md, results.tsv (one row per run), run.log,
#                           run/ (rendered configs, proxy logs)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/hack/bench
GO=${GO:-go}
ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
SCENARIOS=${BENCH_SCENARIOS:-http-small,http-16k,http-close,http-small-c1,l4-bulk,l4-conn}
TARGETS=${BENCH_TARGETS:-direct,haproxy,nginx,goproxy,caddy,sluice}
LOAD_CPU=${BENCH_LOAD_CPU:-0}
PROXY_CPU=${BENCH_PROXY_CPU:-1}
OUT=${BENCH_OUT:-/tmp/sluice-bench/$(date +%Y%m%d-%H%M%S)}
CONNS=50

for v in ROUNDS DURATION WARMUP LOAD_CPU PROXY_CPU; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "run.sh: $v must be a whole number, got '${!v}'" >&2; exit 2; }
done
if (( ROUNDS < 1 || ROUNDS > 20 || DURATION < 1 || DURATION > 120 || WARMUP > 60 )); then
  echo "run.sh: need 1 <= BENCH_ROUNDS <= 20, 1 <= BENCH_DURATION <= 120, BENCH_WARMUP <= 60" >&2
  exit 2
fi
if (( LOAD_CPU == PROXY_CPU || $(nproc) < 2 )); then
  echo "run.sh: needs two cores, one for the proxy and one for the load (have $(nproc))" >&2
  exit 2
fi
IFS=, read -r -a SCENARIO_LIST <<<"$SCENARIOS"
for sc in "${SCENARIO_LIST[@]}"; do
  case $sc in http-small | http-16k | http-close | http-small-c1 | l4-bulk | l4-conn) ;;
    *) echo "run.sh: unknown scenario '$sc'" >&2; exit 2 ;;
  esac
done

# ------------------------------------------------------------ dependencies
STREAM_SO=/usr/lib/nginx/modules/ngx_stream_module.so
missing_packages() {
  local p=()
  command -v haproxy >/dev/null || p+=(haproxy)
  command -v nginx >/dev/null || p+=(nginx)
  if command -v nginx >/dev/null && [[ ! -e $STREAM_SO ]] && ! nginx -V 2>&1 | grep -q -- '--with-stream\b'; then
    p+=(libnginx-mod-stream)
  fi
  command -v wrk >/dev/null || p+=(wrk)
  command -v curl >/dev/null || p+=(curl)
  { command -v taskset && command -v setsid; } >/dev/null || p+=(util-linux)
  echo "${p[*]}"
}
need=$(missing_packages)
if [[ -n $need ]]; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "run.sh: installing $need" >&2
    # nginx's own package would start a system nginx on port 80; the
    # benchmark only needs the binary.
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $need
    need=$(missing_packages)
  fi
  if [[ -n $need ]]; then
    echo "run.sh: missing $need; install with: apt-get install -y haproxy nginx libnginx-mod-stream wrk curl util-linux" >&2
    exit 1
  fi
fi
command -v "$GO" >/dev/null || { echo "run.sh: no Go toolchain ($GO)" >&2; exit 1; }

# ------------------------------------------------------------ targets, ports
BACKEND_HTTP=(18081 18082)
BACKEND_TCP=(19081 19082)
declare -A HTTP_PORT=([direct]=18081 [haproxy]=18200 [nginx]=18300 [goproxy]=18400 [caddy]=18500 [sluice]=18600)
declare -A L4_PORT=([direct]=19081 [haproxy]=19200 [nginx]=19300 [goproxy]=19400 [sluice]=19600)
IFS=, read -r -a WANTED <<<"$TARGETS"
TARGET_LIST=()
for t in "${WANTED[@]}"; do
  [[ -n ${HTTP_PORT[$t]:-} ]] || { echo "run.sh: unknown target '$t'" >&2; exit 2; }
  if [[ $t == caddy ]] && ! command -v caddy >/dev/null; then
    echo "run.sh: no caddy on PATH; caddy is left out" >&2
    continue
  fi
  TARGET_LIST+=("$t")
done

# ------------------------------------------------------------ run directory, cleanup
RUN=$OUT/run
mkdir -p "$RUN"
LOG=$OUT/run.log
RES=$OUT/results.tsv
: >"$LOG"
: >"$RES"
log() { echo "[$(date +%T)] $*" | tee -a "$LOG" >&2; }

BIN=$(mktemp -d /tmp/sluice-bench-bin.XXXXXX)
PIDS=()
declare -A PID_OF=()
stop_all() {
  local rc=$? pid i alive
  trap - EXIT INT TERM
  # Each process was started as the leader of its own session and process
  # group, so signalling the group reaches nginx's workers too.
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for i in $(seq 1 50); do
    alive=0
    for pid in "${PIDS[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
    (( alive )) || break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$BIN"
  (( ${#PIDS[@]} == 0 )) || echo "[$(date +%T)] stopped ${PIDS[*]}" >&2
  exit "$rc"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# start NAME CPU COMMAND...: a new session pinned to CPU. Started under
# taskset rather than pinned afterwards: `taskset -p` moves one thread only.
start() {
  local name=$1 cpu=$2
  shift 2
  setsid taskset -c "$cpu" "$@" >"$RUN/$name.log" 2>&1 </dev/null &
  local pid=$!
  PIDS+=("$pid")
  PID_OF[$name]=$pid
}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_listening() { # PORT NAME: up to 10 s
  local i
  for i in $(seq 1 100); do
    listening "$1" && return 0
    kill -0 "${PID_OF[$2]}" 2>/dev/null || { log "$2 exited: $(tail -3 "$RUN/$2.log" | tr '\n' ' ')"; return 1; }
    sleep 0.1
  done
  log "$2 is not listening on $1 after 10 s"
  return 1
}

# ------------------------------------------------------------ build
log "building into $BIN"
(
  cd "$ROOT"
  for p in backend tcpload goproxy report; do
    CGO_ENABLED=0 "$GO" build -trimpath -o "$BIN/$p" "./hack/bench/$p"
  done
  [[ -n ${BENCH_SLUICE:-} ]] || CGO_ENABLED=0 "$GO" build -trimpath -o "$BIN/sluice" ./cmd/sluice
)
SLUICE=${BENCH_SLUICE:-$BIN/sluice}

{
  echo "date: $(date -Is)"
  echo "kernel: $(uname -r)  cpus: $(nproc)  loadavg: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "layout: proxy on cpu$PROXY_CPU; load generator and backends on cpu$LOAD_CPU"
  echo "rounds: $ROUNDS x ${DURATION}s, warm-up ${WARMUP}s; scenarios: $SCENARIOS; targets: ${TARGET_LIST[*]}"
  if [[ -n ${BENCH_SLUICE:-} ]]; then
    echo "sluice: $SLUICE (given; $("$SLUICE" version 2>&1 | head -1))"
  else
    echo "sluice: built from $ROOT at $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
  fi
  echo "haproxy: $(haproxy -v | head -1)"
  echo "nginx: $(nginx -v 2>&1)"
  echo "wrk: $(wrk -v 2>&1 | head -1)"
  echo "go: $("$GO" version)"
  if [[ " ${TARGET_LIST[*]} " == *" caddy "* ]]; then echo "caddy: $(caddy version)"; fi
} | tee "$OUT/env.txt" >&2

# ------------------------------------------------------------ start
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
for p in "${BACKEND_HTTP[@]}" "${BACKEND_TCP[@]}"; do
  listening "$p" && { echo "run.sh: port $p is already in use" >&2; exit 1; }
done
for t in "${TARGET_LIST[@]}"; do
  [[ $t == direct ]] && continue
  for p in ${HTTP_PORT[$t]} ${L4_PORT[$t]:-}; do
    listening "$p" && { echo "run.sh: port $p ($t) is already in use" >&2; exit 1; }
  done
done

export GOMAXPROCS=1
start backend1 "$LOAD_CPU" "$BIN/backend" -http "127.0.0.1:${BACKEND_HTTP[0]}" -tcp "127.0.0.1:${BACKEND_TCP[0]}"
start backend2 "$LOAD_CPU" "$BIN/backend" -http "127.0.0.1:${BACKEND_HTTP[1]}" -tcp "127.0.0.1:${BACKEND_TCP[1]}"
for i in 0 1; do
  wait_listening "${BACKEND_HTTP[$i]}" "backend$((i + 1))" && wait_listening "${BACKEND_TCP[$i]}" "backend$((i + 1))" ||
    { echo "run.sh: backends did not start" >&2; exit 1; }
done

declare -A UP=()
for t in "${TARGET_LIST[@]}"; do
  case $t in
    direct) UP[$t]=1; continue ;;
    haproxy) start haproxy "$PROXY_CPU" haproxy -db -f "$HERE/haproxy.cfg" ;;
    nginx)
      mkdir -p "$RUN/nginx-tmp"
      stream=""
      [[ -e $STREAM_SO ]] && stream="load_module $STREAM_SO;"
      sed -e "s#@RUNDIR@#$RUN#g" -e "s#@LOAD_STREAM@#$stream#" "$HERE/nginx.conf.in" >"$RUN/nginx.conf"
      start nginx "$PROXY_CPU" nginx -p "$RUN/" -e "$RUN/nginx-error.log" -c "$RUN/nginx.conf" ;;
    goproxy)
      start goproxy "$PROXY_CPU" "$BIN/goproxy" -listen "127.0.0.1:${HTTP_PORT[goproxy]}" \
        -backends "127.0.0.1:${BACKEND_HTTP[0]},127.0.0.1:${BACKEND_HTTP[1]}" \
        -l4-listen "127.0.0.1:${L4_PORT[goproxy]}" \
        -l4-backends "127.0.0.1:${BACKEND_TCP[0]},127.0.0.1:${BACKEND_TCP[1]}" ;;
    caddy)
      mkdir -p "$RUN/caddy"
      start caddy "$PROXY_CPU" env XDG_DATA_HOME="$RUN/caddy" XDG_CONFIG_HOME="$RUN/caddy" \
        caddy run --config "$HERE/Caddyfile" --adapter caddyfile ;;
    sluice) start sluice "$PROXY_CPU" "$SLUICE" run -f "$HERE/sluice.cfg" --access-log off ;;
  esac
  ok=1
  for p in ${HTTP_PORT[$t]} ${L4_PORT[$t]:-}; do wait_listening "$p" "$t" || ok=0; done
  if (( ok )); then UP[$t]=1; else log "$t did not start; it is left out"; fi
done

# ------------------------------------------------------------ pre-flight
declare -A HTTP_OK=() L4_OK=()
http_check() { # PORT PATH WANT_SIZE [HEADER]
  local got
  got=$(curl -s -m 5 -o /dev/null ${4:+-H "$4"} -w '%{http_code} %{size_download}' "http://127.0.0.1:$1$2") || true
  [[ $got == "200 $3" ]] || { echo "GET $2${4:+ ($4)}: got '$got', want '200 $3'"; return 1; }
}
for t in "${TARGET_LIST[@]}"; do
  [[ -n ${UP[$t]:-} ]] || continue
  port=${HTTP_PORT[$t]}
  if why=$(http_check "$port" / 64 && http_check "$port" /16k 16384 && http_check "$port" / 64 "Connection: close"); then
    HTTP_OK[$t]=1
  else
    log "$t fails the HTTP pre-flight check and is left out of the HTTP scenarios: $why"
  fi
  [[ -n ${L4_PORT[$t]:-} ]] || continue
  out=$(taskset -c "$LOAD_CPU" "$BIN/tcpload" -addr "127.0.0.1:${L4_PORT[$t]}" -c 1 -n 1 -d 5s -size 100000 2>&1) || true
  if [[ $out == *"RESULT ops=1 "* && $out == *" errors=0 short=0"* ]]; then
    L4_OK[$t]=1
  else
    log "$t fails the L4 pre-flight check (100 kB transfer) and is left out of the L4 scenarios: $(tr '\n' ' ' <<<"$out")"
  fi
done
log "HTTP targets: ${!HTTP_OK[*]}; L4 targets: ${!L4_OK[*]}"

# ------------------------------------------------------------ measure
HZ=$(getconf CLK_TCK)
measure() { # ROUND SCENARIO TARGET SECS
  local round=$1 sc=$2 t=$3 secs=$4 load
  local wrk=(wrk -t1 -d "${secs}s" --timeout 5s -s "$HERE/wrk-result.lua")
  local tcp=("$BIN/tcpload" -d "${secs}s")
  case $sc in
    http-small) load=("${wrk[@]}" -c $CONNS "http://127.0.0.1:${HTTP_PORT[$t]}/") ;;
    http-16k) load=("${wrk[@]}" -c $CONNS "http://127.0.0.1:${HTTP_PORT[$t]}/16k") ;;
    http-close) load=("${wrk[@]}" -c $CONNS -H "Connection: close" "http://127.0.0.1:${HTTP_PORT[$t]}/") ;;
    http-small-c1) load=("${wrk[@]}" -c 1 "http://127.0.0.1:${HTTP_PORT[$t]}/") ;;
    l4-bulk) load=("${tcp[@]}" -addr "127.0.0.1:${L4_PORT[$t]}" -c 4 -size $((64 << 20))) ;;
    l4-conn) load=("${tcp[@]}" -addr "127.0.0.1:${L4_PORT[$t]}" -c $CONNS -size 64) ;;
  esac
  taskset -c "$LOAD_CPU" "$BIN/report" record -out "$RES" -round "$round" -scenario "$sc" -target "$t" \
    -session "${PID_OF[$t]:-0}" -load-cpu "$LOAD_CPU" -proxy-cpu "$PROXY_CPU" -hz "$HZ" \
    -timeout "$((secs + 45))s" -- "${load[@]}" 2>&1 | tee -a "$LOG" >&2 || true
}

first=1
(( WARMUP > 0 )) && first=0
for round in $(seq "$first" "$ROUNDS"); do
  secs=$DURATION
  (( round == 0 )) && secs=$WARMUP
  log "round $round of $ROUNDS$( (( round == 0 )) && echo ' (warm-up, discarded)'), ${secs}s per run"
  for sc in "${SCENARIO_LIST[@]}"; do
    eligible=()
    for t in "${TARGET_LIST[@]}"; do
      case $sc in
        l4-*) [[ -n ${L4_OK[$t]:-} ]] && eligible+=("$t") ;;
        *) [[ -n ${HTTP_OK[$t]:-} ]] && eligible+=("$t") ;;
      esac
    done
    n=${#eligible[@]}
    # Rotate the order so that no target is always measured right after the
    # same neighbour (sockets in TIME_WAIT, caches, the host's other load).
    for i in $(seq 0 $((n - 1))); do
      measure "$round" "$sc" "${eligible[$(((i + round) % n))]}" "$secs"
    done
  done
done
echo "loadavg after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/env.txt"

"$BIN/report" table "$RES" | tee "$OUT/summary.md"
echo
echo "per-run rows: $RES; log: $LOG; proxy logs and configs: $RUN"
