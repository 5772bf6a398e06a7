#!/usr/bin/env bash
# gRPC hop benchmark: what metrics-proxy adds to unary gRPC calls, next to nginx doing the same.
#
# One run puts the same load on three paths to one application (bench.jar's GrpcEchoServer: grpc-java,
# cleartext HTTP/2, a unary echo of a 1 KiB message, answered on the transport's threads):
#   direct          client -> app
#   metrics-proxy   client -> metrics-proxy (HTTP/2 with prior knowledge on PROXY_PORT, TARGET_PROTOCOL=h2c
#                   to the app; spans and metrics on, OTLP to a local collector-stub, access log on) -> app
#   nginx           client -> nginx (`listen ... http2`, `grpc_pass`, worker_processes 1, keep-alive
#                   upstream pool of 64, no access log) -> app
# and prints, per path: p50/p99 latency at a fixed rate and what the hop adds over direct, maximum calls/s,
# CPU seconds per 1000 calls and RSS of the hop (median of per-second samples at the fixed rate), and
# metrics-proxy's ratios to nginx.
#
# The load is bench.jar's GrpcLoad (grpc-java's client, one channel, so one HTTP/2 connection, per
# connection): --rate calls/s spread over --connections connections, each call's latency counted from when
# it was due, not from when it left, so a stall counts against every call it delayed (no coordinated
# omission); then, on --max-connections new connections with --streams calls in flight on each, as many
# calls as complete. A call succeeds only with status OK and its own bytes echoed. h2load was the other
# candidate: it cannot pace calls from a schedule (its --rps measures from the actual send) and counts
# HTTP 200s, which a proxy answering with its own grpc-status would pass.
#
# metrics-proxy serves HTTP/1.1 only until its HTTP/2 support lands: the script starts it, makes one gRPC
# call through it, and if that fails prints its row as "not available" with the reason and measures the
# other two. The sidecar starts as in its image (the Dockerfile's flags, an AppCDS archive made by a
# training start; --no-cds: without).
#
# Usage: bench/grpc.sh [--rate=1000] [--duration=20] [--warmup=40] [--max-duration=10] [--connections=10]
#                      [--max-connections=8] [--streams=8] [--size=1024] [--no-cds]
# Environment: PROXY_JAR, STUB_JAR, BENCH_JAR (built when missing), PROXY_JAVA_OPTS and ACCESS_LOG as for
#   bench/proxy.sh; APP_JAVA_OPTS and LOAD_JAVA_OPTS, the JVM flags of the app and of the load generator.
# Needs nginx and curl (Debian: apt-get install -y nginx curl; installed when missing and running as root).
set -euo pipefail

RATE=1000 DURATION=20 WARMUP=40 MAX_DURATION=10 CONNECTIONS=10 MAX_CONNECTIONS=8 STREAMS=8 SIZE=1024 CDS=true
for arg in "$@"; do
  case "$arg" in
    --rate=*) RATE="${arg#*=}" ;;
    --duration=*) DURATION="${arg#*=}" ;;
    --warmup=*) WARMUP="${arg#*=}" ;;
    --max-duration=*) MAX_DURATION="${arg#*=}" ;;
    --connections=*) CONNECTIONS="${arg#*=}" ;;
    --max-connections=*) MAX_CONNECTIONS="${arg#*=}" ;;
    --streams=*) STREAMS="${arg#*=}" ;;
    --size=*) SIZE="${arg#*=}" ;;
    --no-cds) CDS=false ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
APP_JAVA_OPTS="${APP_JAVA_OPTS:--XX:+UseSerialGC -Xms256m -Xmx256m}"
LOAD_JAVA_OPTS="${LOAD_JAVA_OPTS:--XX:+UseSerialGC -Xms256m -Xmx256m}"

need_tools nginx:nginx curl:curl
sidecar_jars metrics-proxy collector-stub bench
HOP_MAIN=(-jar "$PROXY_JAR")

make_work

load() { java $LOAD_JAVA_OPTS -cp "$BENCH_JAR" dev.sidecars.bench.GrpcLoad --size="$SIZE" "$@"; }

# --- the application ---
java $APP_JAVA_OPTS -cp "$BENCH_JAR" dev.sidecars.bench.GrpcEchoServer --port=0 >"$WORK/app.out" 2>"$WORK/app.err" &
APP_PID=$!; PIDS+=($APP_PID)
for _ in $(seq 1 300); do grep -q '^listening on ' "$WORK/app.out" 2>/dev/null && break; sleep 0.1; done
APP_PORT="$(sed -n 's/^listening on //p' "$WORK/app.out")"
[[ -n $APP_PORT ]] || { echo "the gRPC app did not start: $(cat "$WORK/app.err")" >&2; exit 1; }

# --- metrics-proxy, when it carries gRPC ---
start_collector_stub
PROXY_PORT="$(free_port)" ADMIN_PORT="$(free_port)"
HOP_ENV=(TARGET_URL="http://127.0.0.1:$APP_PORT" TARGET_PROTOCOL=h2c PROXY_PORT="$PROXY_PORT" ADMIN_PORT="$ADMIN_PORT")
CDS_FLAGS=
$CDS && train_cds "$ADMIN_PORT" "${HOP_ENV[@]}"
start=$(now_ms)
start_sidecar proxy "$CDS_FLAGS" "${HOP_ENV[@]}"
PROXY_PID=$SIDECAR_PID PROXY_READY_MS=- PROXY_MISSING=
if ! wait_ready "http://127.0.0.1:$ADMIN_PORT/readyz" "$PROXY_PID" 30; then
  PROXY_MISSING="did not start: $(head -1 "$WORK/proxy.err")"
else
  PROXY_READY_MS=$(( $(now_ms) - start ))
  if ! probe="$(load --target="127.0.0.1:$PROXY_PORT" --probe --timeout=5s 2>&1)"; then
    PROXY_MISSING="a gRPC call through it failed ($(grep PROBE <<<"$probe" | sed 's/^PROBE failed //' | cut -c1-100)): no HTTP/2 on PROXY_PORT yet?"
  fi
fi
if [[ -n $PROXY_MISSING ]]; then
  kill "$PROXY_PID" 2>/dev/null || true; wait "$PROXY_PID" 2>/dev/null || true
fi

# --- nginx, grpc_pass, one worker, keep-alive upstream ---
NGINX_PORT="$(free_port)"
start=$(now_ms)
nginx_conf nginx "$NGINX_PORT http2" "upstream app { server 127.0.0.1:$APP_PORT; keepalive 64; }" \
  "location / { grpc_pass grpc://app; }"
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" & NGINX_PID=$!; PIDS+=($NGINX_PID)
wait_port "$NGINX_PORT" 10
NGINX_READY_MS=$(( $(now_ms) - start ))
load --target="127.0.0.1:$NGINX_PORT" --probe --timeout=5s >/dev/null \
  || { echo "no gRPC call went through nginx (see $WORK/nginx/error.log with KEEP_WORK=1)" >&2; exit 1; }

run() { # name port [pid to watch]
  local out
  out="$(load --target="127.0.0.1:$2" --rate="$RATE" --connections="$CONNECTIONS" --warmup="${WARMUP}s" \
    --duration="${DURATION}s" --max-duration="${MAX_DURATION}s" --max-connections="$MAX_CONNECTIONS" \
    --streams="$STREAMS" --watch="${3:-}" 2>"$WORK/load.$1.err")" || { cat "$WORK/load.$1.err" >&2; exit 1; }
  printf '%s\n' "$out" >"$WORK/load.$1.out"
  parse_load "$1" "$out"
  sed 's/^/  /' "$WORK/load.$1.err" >&2
}
run direct "$APP_PORT"
[[ -z $PROXY_MISSING ]] && run proxy "$PROXY_PORT" "$PROXY_PID"
run nginx "$NGINX_PORT" "$NGINX_PID"

echo
echo "gRPC hop benchmark  $(date -u +%Y-%m-%dT%H:%MZ)  $(nproc) CPUs  $(uname -r)  $(java -version 2>&1 | head -1)"
echo "unary bench.Echo/Call, ${SIZE}-byte messages both ways; fixed rate: ${RATE} calls/s over ${CONNECTIONS} HTTP/2"\
" connections, ${DURATION}s after ${WARMUP}s warm-up, latency from each call's due time;"\
" max: ${MAX_CONNECTIONS} connections x ${STREAMS} calls in flight, ${MAX_DURATION}s"
echo "metrics-proxy JVM flags: $PROXY_JAVA_OPTS${CDS_FLAGS:+ and an AppCDS archive of a training start, as in the image};"\
" access log ${ACCESS_LOG:-on}; nginx: 1 worker, grpc_pass, keep-alive upstream, no access log"
printf '%-14s %8s %9s %9s %10s %10s %11s %9s %9s %7s %9s %7s %8s\n' path "calls/s" "p50 ms" "p99 ms" "+p50 ms" \
  "+p99 ms" "max calls/s" "CPU s/1k" "warm CPU" "RSS MB" "ready ms" errors "max err"
for name in direct proxy nginx; do
  label=$name; [[ $name == proxy ]] && label=metrics-proxy
  if [[ $name == proxy && -n $PROXY_MISSING ]]; then
    printf '%-14s not available: %s\n' "$label" "$PROXY_MISSING"; continue
  fi
  ready=-; [[ $name == proxy ]] && ready=$PROXY_READY_MS; [[ $name == nginx ]] && ready=$NGINX_READY_MS
  plus50=-; plus99=-
  [[ $name != direct ]] && plus50=$(added "${P50[$name]}" "${P50[direct]}") && plus99=$(added "${P99[$name]}" "${P99[direct]}")
  printf '%-14s %8s %9s %9s %10s %10s %11s %9s %9s %7s %9s %7s %8s\n' "$label" "${RATE_OK[$name]}" \
    "$(us "${P50[$name]}")" "$(us "${P99[$name]}")" "$plus50" "$plus99" "${MAX[$name]}" "${CPU[$name]}" \
    "${WCPU[$name]}" "${RSS[$name]}" "$ready" "${ERR[$name]}" "${MAXERR[$name]}"
done
if [[ -z $PROXY_MISSING ]]; then
  echo "metrics-proxy RSS during the paced run: median ${RSS[proxy]} MB, highest ${RSSMAX[proxy]} MB"
  echo "metrics-proxy vs nginx: max calls/s $(ratio "${MAX[proxy]}" "${MAX[nginx]}"), CPU per call $(ratio "${CPU[proxy]}" "${CPU[nginx]}"),"\
" added p50 $(ratio "$(( P50[proxy] - P50[direct] ))" "$(( P50[nginx] - P50[direct] ))"),"\
" added p99 $(ratio "$(( P99[proxy] - P99[direct] ))" "$(( P99[nginx] - P99[direct] ))"), RSS $(ratio "${RSS[proxy]}" "${RSS[nginx]}")"
else
  echo "metrics-proxy vs nginx: not available (metrics-proxy: $PROXY_MISSING)"
fi
echo "load generator CPU s per 1000 calls at max (it shares the machine): direct ${CLIENT[direct]}, nginx ${CLIENT[nginx]}"\
"$([[ -z $PROXY_MISSING ]] && echo ", metrics-proxy ${CLIENT[proxy]}")"
echo "CPU s/1k = CPU seconds of the hop per 1000 calls at the fixed rate, after the warm-up; warm CPU = the same"
echo "  during the ${WARMUP}s warm-up; max calls/s counts calls ending OK with their bytes echoed; errors and max err"
echo "  = calls that did not (reasons above the table); RSS MB = median of per-second samples during the paced run"
