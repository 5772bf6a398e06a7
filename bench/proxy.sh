#!/usr/bin/env bash
# Sidecar hop benchmark: what a proxy sidecar adds on top of calling the service directly, next to nginx.
#
# One run puts the same load on three paths to the same backend (nginx, one worker, a 1 KiB answer):
#   direct   client -> backend
#   proxy    client -> the sidecar (spans and metrics on, OTLP to a local collector-stub) -> backend
#   nginx    client -> nginx reverse proxy (one worker, keep-alive upstream) -> backend
# and prints, per path: p50/p99 latency at a fixed rate (and what the hop adds over direct), maximum
# throughput, CPU seconds per 1000 requests and RSS of the hop (median of per-second samples at the
# fixed rate), time from start to ready, and the
# sidecar's ratios to nginx.
#
# --mode=ingress (default): the sidecar is metrics-proxy in front of the backend (TARGET_URL).
# --mode=egress: the sidecar is trace-injector, called by path prefix (/svc/users/1) with the backend as
#   the UPSTREAMS entry svc; nginx does the same with `location /svc/ { proxy_pass http://app/; }` (nginx
#   has no forward-proxy mode for absolute-form requests without modules, so path-prefix routing is the
#   equivalent hop).
#
# The sidecar starts as in its image: with the Dockerfile's flags and an AppCDS archive made by a training
# start of the same jar first (ready, then SIGTERM); --no-cds starts it without (the figures before
# 2026-11-26 08:00 UTC, whose "ready ms" was therefore slower than the image's).
#
# --bare (ingress only): the hop is Undertow's reverse proxy alone, set up as metrics-proxy sets it up but
#   with none of its handlers (bench.jar's BareUndertowProxy), started the same way: the floor the proxy
#   library sets under metrics-proxy's figures. Compare a --bare run with a default one.
#
# Usage: bench/proxy.sh [--mode=ingress|egress] [--rate=1000] [--duration=20] [--warmup=40]
#                       [--max-duration=10] [--connections=10] [--no-cds] [--bare]
# Environment:
#   PROXY_JAR         the sidecar's jar: default metrics-proxy/target/metrics-proxy.jar, or
#                     trace-injector/target/trace-injector.jar with --mode=egress (built when missing)
#   STUB_JAR          default collector-stub/target/collector-stub.jar (built when missing)
#   BENCH_JAR         with --bare, default bench/target/bench.jar (built when missing)
#   PROXY_JAVA_OPTS   JVM flags of the sidecar (default: the Dockerfile's flags with a 256 MiB MaxRAM,
#                     as in a container limited to 256 MiB)
#   ACCESS_LOG        passed to the sidecar (default on; its lines go to a file)
# Needs wrk, nginx and curl (Debian: apt-get install -y wrk nginx curl). wrk has no fixed-rate mode, so
# each connection waits connections/rate between requests (a wrk delay() script); the achieved rate is
# printed next to the target.
set -euo pipefail

MODE=ingress RATE=1000 DURATION=20 WARMUP=40 MAX_DURATION=10 CONNECTIONS=10 CDS=true BARE=false
for arg in "$@"; do
  case "$arg" in
    --mode=ingress|--mode=egress) MODE="${arg#*=}" ;;
    --rate=*) RATE="${arg#*=}" ;;
    --duration=*) DURATION="${arg#*=}" ;;
    --warmup=*) WARMUP="${arg#*=}" ;;
    --max-duration=*) MAX_DURATION="${arg#*=}" ;;
    --connections=*) CONNECTIONS="${arg#*=}" ;;
    --no-cds) CDS=false ;;
    --bare) BARE=true ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ $MODE == egress ]]; then HOP=trace-injector; else HOP=metrics-proxy; fi
MODULE=$HOP
PROXY_JAR="${PROXY_JAR:-$ROOT/$HOP/target/$HOP.jar}"
HOP_MAIN=(-jar "$PROXY_JAR")
if $BARE; then
  [[ $MODE == ingress ]] || { echo "--bare is for --mode=ingress" >&2; exit 2; }
  BENCH_JAR="${BENCH_JAR:-$ROOT/bench/target/bench.jar}"
  [[ -f "$BENCH_JAR" ]] || (cd "$ROOT" && mvn -B -ntp -q -pl bench -am package -DskipTests)
  HOP=bare-undertow HOP_MAIN=(-cp "$BENCH_JAR" dev.sidecars.bench.BareUndertowProxy)
fi
STUB_JAR="${STUB_JAR:-$ROOT/collector-stub/target/collector-stub.jar}"
DOCKERFILE_FLAGS="-XX:+UseSerialGC -XX:MaxRAMPercentage=50 -Xms8m -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30 -Xss512k -XX:ReservedCodeCacheSize=32m -XX:MaxMetaspaceSize=64m -XX:-UsePerfData -XX:+ExitOnOutOfMemoryError -XX:+UnlockExperimentalVMOptions -XX:TrimNativeHeapInterval=5000"
PROXY_JAVA_OPTS="${PROXY_JAVA_OPTS:-$DOCKERFILE_FLAGS -XX:MaxRAM=256m}"
CLK_TCK="$(getconf CLK_TCK)"

for tool in wrk nginx curl; do
  command -v "$tool" >/dev/null || { echo "needs $tool (Debian: apt-get install -y wrk nginx curl)" >&2; exit 1; }
done
if [[ ! -f "$PROXY_JAR" || ! -f "$STUB_JAR" ]]; then
  (cd "$ROOT" && mvn -B -ntp -q -pl "$MODULE",collector-stub -am package -DskipTests)
fi

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ "${KEEP_WORK:-0}" == 1 ]] || rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }
wait_http() { # url expected-status timeout-seconds
  local deadline=$(( $(now_ms) + $3 * 1000 ))
  until [[ "$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)" == "$2" ]]; do
    (( $(now_ms) < deadline )) || { echo "timed out waiting for $1" >&2; return 1; }
    sleep 0.005
  done
}
# CPU ticks (user+system) and RSS (kB) of a process and its children.
tree_pids() { echo "$1"; pgrep -P "$1" || true; }
cpu_ticks() { local t=0; for p in $(tree_pids "$1"); do t=$(( t + $(awk '{print $14+$15}' "/proc/$p/stat") )); done; echo "$t"; }
rss_kb() { local r=0; for p in $(tree_pids "$1"); do r=$(( r + $(awk '/VmRSS/{print $2}' "/proc/$p/status") )); done; echo "$r"; }

nginx_conf() { # name listen body-of-server
  mkdir -p "$WORK/$1"
  cat >"$WORK/$1/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $WORK/$1/nginx.pid;
error_log $WORK/$1/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $WORK/$1/body; proxy_temp_path $WORK/$1/proxy;
  fastcgi_temp_path $WORK/$1/fcgi; uwsgi_temp_path $WORK/$1/uwsgi; scgi_temp_path $WORK/$1/scgi;
  $3
  server { listen 127.0.0.1:$2; $4 }
}
CONF
}

# --- backend: nginx answering 1 KiB ---
BACKEND_PORT="$(free_port)"
BODY="$(head -c 1024 /dev/zero | tr '\0' 'x')"
nginx_conf backend "$BACKEND_PORT" "" "location / { default_type text/plain; return 200 '$BODY'; }"
nginx -c "$WORK/backend/nginx.conf" -p "$WORK/backend" & PIDS+=($!)
wait_http "http://127.0.0.1:$BACKEND_PORT/" 200 10

# --- collector-stub as the OTLP receiver ---
env OTLP_HTTP_PORT=0 OTLP_GRPC_PORT=0 UI_PORT=0 BIND_ADDRESS=127.0.0.1 \
  java -XX:+UseSerialGC -Xmx256m -jar "$STUB_JAR" >"$WORK/stub.out" 2>"$WORK/stub.err" & PIDS+=($!)
for _ in $(seq 1 300); do grep -q ' listening on ' "$WORK/stub.out" 2>/dev/null && break; sleep 0.1; done
OTLP_PORT="$(sed -n 's/.*otlp-http=\([0-9]*\).*/\1/p' "$WORK/stub.out" | head -1)"

# --- the sidecar: metrics-proxy in front of the backend, or trace-injector with it as UPSTREAMS svc ---
PROXY_PORT="$(free_port)" ADMIN_PORT="$(free_port)"
if [[ $MODE == egress ]]; then
  HOP_ENV=(UPSTREAMS="svc=http://127.0.0.1:$BACKEND_PORT")
  PREFIX=/svc
else
  HOP_ENV=(TARGET_URL="http://127.0.0.1:$BACKEND_PORT" ROUTES="/users/{id}")
  PREFIX=
fi
start_hop() { # extra JVM flags, then extra VAR=value words; sets PROXY_PID
  env "${HOP_ENV[@]}" "${@:2}" PROXY_PORT="$PROXY_PORT" ADMIN_PORT="$ADMIN_PORT" \
    BIND_ADDRESS=127.0.0.1 ACCESS_LOG="${ACCESS_LOG:-on}" OTEL_SERVICE_NAME=bench-app \
    OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$OTLP_PORT" OTEL_LOGS_EXPORTER=none \
    java $PROXY_JAVA_OPTS $1 "${HOP_MAIN[@]}" >"$WORK/proxy.out" 2>"$WORK/proxy.err" & PROXY_PID=$!; PIDS+=($PROXY_PID)
}
CDS_FLAGS=
if $CDS; then
  # The image's archive, made as its Dockerfile makes it: a start of the same jar, stopped once ready.
  start_hop "-XX:ArchiveClassesAtExit=$WORK/hop.jsa" DRAIN_DELAY=0s
  wait_http "http://127.0.0.1:$ADMIN_PORT/readyz" 200 30
  kill -TERM "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
  if [[ -s "$WORK/hop.jsa" ]]; then
    CDS_FLAGS="-XX:SharedArchiveFile=$WORK/hop.jsa"
  else
    echo "no AppCDS archive was made; the sidecar runs without (training output: $WORK/proxy.err)" >&2
  fi
fi
start=$(now_ms)
start_hop "$CDS_FLAGS"
wait_http "http://127.0.0.1:$ADMIN_PORT/readyz" 200 30
PROXY_READY_MS=$(( $(now_ms) - start ))

# --- nginx reverse proxy, one worker, keep-alive upstream (egress: the same path-prefix routing) ---
NGINX_PORT="$(free_port)"
start=$(now_ms)
nginx_conf proxy "$NGINX_PORT" "upstream app { server 127.0.0.1:$BACKEND_PORT; keepalive 64; }" \
  "location $PREFIX/ { proxy_pass http://app/; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_set_header X-Forwarded-For \$remote_addr; }"
nginx -c "$WORK/proxy/nginx.conf" -p "$WORK/proxy" & NGINX_PID=$!; PIDS+=($NGINX_PID)
wait_http "http://127.0.0.1:$NGINX_PORT$PREFIX/" 200 10
NGINX_READY_MS=$(( $(now_ms) - start ))

cat >"$WORK/rate.lua" <<LUA
local wait_ms = math.floor($CONNECTIONS * 1000 / $RATE)
function delay() return wait_ms end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT p50_us=%d p99_us=%d requests=%d duration_us=%d errors=%d\n",
    latency:percentile(50), latency:percentile(99), summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout + e.status))
end
LUA
grep -v 'delay' "$WORK/rate.lua" | sed '/^local wait_ms/d' >"$WORK/max.lua"

field() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" <<<"$2"; }
declare -A P50 P99 RPS MAX MAXERR CPU WCPU RSS RSSMAX ERR
run() { # name url pid
  local name=$1 url=$2 pid=${3:-}
  local tw=0; [[ -n "$pid" ]] && tw=$(cpu_ticks "$pid")
  local warm; warm="$(wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" -s "$WORK/rate.lua" "$url$WARM_PATH" | grep RESULT)"
  local t0=0; [[ -n "$pid" ]] && t0=$(cpu_ticks "$pid")
  if [[ -n "$pid" ]]; then
    WCPU[$name]=$(awk -v t="$(( t0 - tw ))" -v hz="$CLK_TCK" -v n="$(field requests "$warm")" 'BEGIN{printf "%.3f", t/hz/n*1000}')
  else
    WCPU[$name]="-"
  fi
  # RSS is sampled every second of the paced run and the median reported: one reading varies by about
  # 10 MB from run to run for a JVM (collections, the JIT's work areas), too much to judge a change by.
  local sampler=""
  if [[ -n "$pid" ]]; then
    : >"$WORK/rss.$name"
    ( while sleep 1; do rss_kb "$pid" >>"$WORK/rss.$name"; done ) & sampler=$!
  fi
  local out; out="$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s "$WORK/rate.lua" "$url/users/1" | grep RESULT)"
  [[ -n "$sampler" ]] && { kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true; }
  local requests; requests=$(field requests "$out")
  P50[$name]=$(field p50_us "$out"); P99[$name]=$(field p99_us "$out"); ERR[$name]=$(field errors "$out")
  RPS[$name]=$(( requests * 1000000 / $(field duration_us "$out") ))
  if [[ -n "$pid" ]]; then
    CPU[$name]=$(awk -v t="$(( $(cpu_ticks "$pid") - t0 ))" -v hz="$CLK_TCK" -v n="$requests" 'BEGIN{printf "%.3f", t/hz/n*1000}')
    RSS[$name]=$(sort -n "$WORK/rss.$name" | awk '{v[NR]=$1} END {if (NR == 0) print "-"; else printf "%d", v[int((NR + 1) / 2)] / 1024}')
    RSSMAX[$name]=$(sort -n "$WORK/rss.$name" | tail -1 | awk '{printf "%d", $1 / 1024}')
  else
    CPU[$name]="-"; RSS[$name]="-"
  fi
  out="$(wrk -t2 -c64 -d"${MAX_DURATION}s" -s "$WORK/max.lua" "$url/users/1" | grep RESULT)"
  # Answers that are not 2xx (a proxy shedding load with fast 503s, say) do not count as throughput.
  MAXERR[$name]=$(field errors "$out")
  MAX[$name]=$(( ($(field requests "$out") - MAXERR[$name]) * 1000000 / $(field duration_us "$out") ))
}

# Ingress warms up on / as it always has; egress on the measured path, as / names no service there.
if [[ $MODE == egress ]]; then WARM_PATH=/users/1; else WARM_PATH=; fi
run direct "http://127.0.0.1:$BACKEND_PORT"
run proxy "http://127.0.0.1:$PROXY_PORT$PREFIX" "$PROXY_PID"
run nginx "http://127.0.0.1:$NGINX_PORT$PREFIX" "$NGINX_PID"
PROXY_RSS_AFTER_MAX=$(( $(rss_kb "$PROXY_PID") / 1024 ))

us() { awk -v v="$1" 'BEGIN{printf "%.3f", v/1000}'; }
added() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%+.3f", (a-b)/1000}'; }
echo
echo "$HOP hop benchmark ($MODE)  $(date -u +%Y-%m-%dT%H:%MZ)  $(nproc) CPUs  $(uname -r)  $(java -version 2>&1 | head -1)"
echo "fixed rate: target ${RATE} rps over ${CONNECTIONS} connections, ${DURATION}s after ${WARMUP}s warm-up; max: wrk -t2 -c64 ${MAX_DURATION}s; 1 KiB answers"
echo "$HOP JVM flags: $PROXY_JAVA_OPTS${CDS_FLAGS:+ and an AppCDS archive of a training start, as in the image}; the row 'proxy' is $HOP"
printf '%-7s %9s %9s %9s %10s %10s %9s %11s %11s %8s %9s %7s %8s\n' path "rate" "p50 ms" "p99 ms" "+p50 ms" "+p99 ms" "max rps" "CPU s/1k" "warm CPU" "RSS MB" "ready ms" errors "max err"
for name in direct proxy nginx; do
  ready="-"; [[ $name == proxy ]] && ready=$PROXY_READY_MS; [[ $name == nginx ]] && ready=$NGINX_READY_MS
  plus50="-"; plus99="-"
  [[ $name != direct ]] && plus50=$(added "${P50[$name]}" "${P50[direct]}") && plus99=$(added "${P99[$name]}" "${P99[direct]}")
  printf '%-7s %9s %9s %9s %10s %10s %9s %11s %11s %8s %9s %7s %8s\n' "$name" "${RPS[$name]}" "$(us "${P50[$name]}")" \
    "$(us "${P99[$name]}")" "$plus50" "$plus99" "${MAX[$name]}" "${CPU[$name]}" "${WCPU[$name]}" "${RSS[$name]}" "$ready" "${ERR[$name]}" "${MAXERR[$name]}"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2fx", a/b; else printf "-" }'; }
echo "$HOP RSS during the paced run: median ${RSS[proxy]} MB (the table), highest ${RSSMAX[proxy]} MB; after the max-throughput run: ${PROXY_RSS_AFTER_MAX} MB"
echo "$HOP vs nginx: max throughput $(ratio "${MAX[proxy]}" "${MAX[nginx]}"), CPU per request $(ratio "${CPU[proxy]}" "${CPU[nginx]}"),"\
" added p50 $(ratio "$(( P50[proxy] - P50[direct] ))" "$(( P50[nginx] - P50[direct] ))"), added p99 $(ratio "$(( P99[proxy] - P99[direct] ))" "$(( P99[nginx] - P99[direct] ))"),"\
" RSS $(ratio "${RSS[proxy]}" "${RSS[nginx]}")"
echo "CPU s/1k = CPU seconds of the hop per 1000 requests at the fixed rate (equals vCPU used per 1000 rps), after"
echo "  the warm-up; warm CPU = the same during the ${WARMUP}s warm-up, just after start (a JVM compiles its hot code then)"
echo "max rps counts 2xx answers only; max err = answers that were not 2xx, or failed, in the max-throughput run"
echo "RSS MB = the median of per-second samples during the paced run"
