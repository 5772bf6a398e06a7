#!/usr/bin/env bash
# Sidecar hop benchmark: what a proxy sidecar adds on top of calling the service directly, next to the
# proxies a user would pick instead.
#
# One run puts the same load on each path to the same backend (nginx, one worker, a 1 KiB answer):
#   direct   client -> backend
#   proxy    client -> the sidecar (spans and metrics on, OTLP to a local collector-stub) -> backend
#   nginx    client -> nginx reverse proxy (worker_processes 1, keep-alive upstream pool of 64) -> backend
#   haproxy  client -> HAProxy (nbthread 1, http-reuse always: idle backend connections shared) -> backend
#   caddy    client -> Caddy's reverse_proxy (GOMAXPROCS=1, keep-alive pool of 64 idle per host) -> backend
# and prints, per path: p50/p99 latency at a fixed rate (and what the hop adds over direct), maximum
# throughput, CPU seconds per 1000 requests and RSS of the hop (median of per-second samples at the
# fixed rate), time from start to ready, and the sidecar's ratios to each peer.
#
# Fairness: each peer gets one core's worth of threads (nginx's one worker, HAProxy's one thread, Caddy's
# one Go scheduler thread; the Go runtime keeps its few helper threads), keeps connections to the backend
# alive, adds X-Forwarded-For as the sidecar does, and writes no access log (nginx `access_log off`,
# HAProxy with no `log` line, Caddy without its `log` directive) while the sidecar's access log is on
# (its default). --peer-logs gives each peer an access log to a file instead (nginx's default format,
# HAProxy's `option httplog` to stdout redirected to a file, Caddy's JSON `log` to a file), the equivalent
# of the sidecar's; compare it with ACCESS_LOG=off for the other pairing. The sidecar keeps its default
# I/O threads (one per CPU). --peers= picks the peers (default nginx,haproxy,caddy; missing ones are
# installed with apt-get when running as root).
#
# --mode=ingress (default): the sidecar is metrics-proxy in front of the backend (TARGET_URL).
# --mode=egress: the sidecar is trace-injector, called by path prefix (/svc/users/1) with the backend as
#   the UPSTREAMS entry svc; nginx does the same with `location /svc/ { proxy_pass http://app/; }` (nginx
#   has no forward-proxy mode for absolute-form requests without modules, so path-prefix routing is the
#   equivalent hop). HAProxy strips the prefix with `http-request replace-path`, Caddy with `handle_path`.
#
# The sidecar starts as in its image: with the Dockerfile's flags and an AppCDS archive made by a training
# start of the same jar first (ready, then SIGTERM); --no-cds starts it without (the figures before
# 2026-11-26 08:00 UTC, whose "ready ms" was therefore slower than the image's).
#
# --bare (ingress only): the hop is the proxies' Netty data plane alone (listener, pooled client, forwarder),
#   set up as metrics-proxy sets it up but with none of its decorators (bench.jar's BareNettyProxy), started
#   the same way: the floor the data plane sets under metrics-proxy's figures. Compare a --bare run with a
#   default one.
#
# Usage: bench/proxy.sh [--mode=ingress|egress] [--rate=1000] [--duration=20] [--warmup=40]
#                       [--warmup-style=paced|flat] [--max-duration=10] [--connections=10] [--no-cds] [--bare]
#                       [--peers=nginx,haproxy,caddy] [--peer-logs]
# Environment:
#   PROXY_JAR         the sidecar's jar: default metrics-proxy/target/metrics-proxy.jar, or
#                     trace-injector/target/trace-injector.jar with --mode=egress (built when missing)
#   STUB_JAR          default collector-stub/target/collector-stub.jar (built when missing)
#   BENCH_JAR         with --bare, default bench/target/bench.jar (built when missing)
#   PROXY_JAVA_OPTS   JVM flags of the sidecar (default: the Dockerfile's flags with a 256 MiB MaxRAM,
#                     as in a container limited to 256 MiB)
#   ACCESS_LOG        passed to the sidecar (default on; its lines go to a file)
# Needs wrk, nginx, curl and the peers (Debian: apt-get install -y wrk nginx curl haproxy caddy). wrk has
# no fixed-rate mode, so each connection waits connections/rate between requests (a wrk delay() script);
# the achieved rate is printed next to the target.
set -euo pipefail

MODE=ingress RATE=1000 DURATION=20 WARMUP=40 MAX_DURATION=10 CONNECTIONS=10 CDS=true BARE=false WARMUP_STYLE=paced
PEERS=nginx,haproxy,caddy PEER_LOGS=false
for arg in "$@"; do
  case "$arg" in
    --mode=ingress|--mode=egress) MODE="${arg#*=}" ;;
    --rate=*) RATE="${arg#*=}" ;;
    --duration=*) DURATION="${arg#*=}" ;;
    --warmup=*) WARMUP="${arg#*=}" ;;
    --max-duration=*) MAX_DURATION="${arg#*=}" ;;
    --warmup-style=paced|--warmup-style=flat) WARMUP_STYLE="${arg#*=}" ;;
    --connections=*) CONNECTIONS="${arg#*=}" ;;
    --no-cds) CDS=false ;;
    --bare) BARE=true ;;
    --peers=*) PEERS="${arg#*=}" ;;
    --peer-logs) PEER_LOGS=true ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
IFS=, read -r -a PEER_LIST <<<"$PEERS"
for peer in "${PEER_LIST[@]}"; do
  [[ $peer == nginx || $peer == haproxy || $peer == caddy ]] || { echo "unknown peer $peer (nginx, haproxy, caddy)" >&2; exit 2; }
done
if [[ $MODE == egress ]]; then HOP=trace-injector; else HOP=metrics-proxy; fi
MODULE=$HOP
PROXY_JAR="${PROXY_JAR:-$ROOT/$HOP/target/$HOP.jar}"
HOP_MAIN=(-jar "$PROXY_JAR")
if $BARE; then
  [[ $MODE == ingress ]] || { echo "--bare is for --mode=ingress" >&2; exit 2; }
  BENCH_JAR="${BENCH_JAR:-$ROOT/bench/target/bench.jar}"
  [[ -f "$BENCH_JAR" ]] || (cd "$ROOT" && mvn -B -ntp -q -pl bench -am package -DskipTests)
  HOP=bare-netty HOP_MAIN=(-cp "$BENCH_JAR" dev.sidecars.bench.BareNettyProxy)
fi
STUB_JAR="${STUB_JAR:-$ROOT/collector-stub/target/collector-stub.jar}"
CLK_TCK="$(getconf CLK_TCK)"

TOOLS=(wrk:wrk nginx:nginx curl:curl)
[[ ",$PEERS," == *,haproxy,* ]] && TOOLS+=(haproxy:haproxy)
[[ ",$PEERS," == *,caddy,* ]] && TOOLS+=(caddy:caddy)
need_tools "${TOOLS[@]}"
if [[ ! -f "$PROXY_JAR" || ! -f "$STUB_JAR" ]]; then
  (cd "$ROOT" && mvn -B -ntp -q -pl "$MODULE",collector-stub -am package -DskipTests)
fi

make_work

# --- backend: nginx answering 1 KiB ---
BACKEND_PORT="$(free_port)"
BODY="$(head -c 1024 /dev/zero | tr '\0' 'x')"
nginx_conf backend "$BACKEND_PORT" "" "location / { default_type text/plain; return 200 '$BODY'; }"
nginx -c "$WORK/backend/nginx.conf" -p "$WORK/backend" & PIDS+=($!)
wait_http "http://127.0.0.1:$BACKEND_PORT/" 200 10

# --- collector-stub as the OTLP receiver ---
start_collector_stub

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
  start_sidecar proxy "$1" "${HOP_ENV[@]}" "${@:2}" PROXY_PORT="$PROXY_PORT" ADMIN_PORT="$ADMIN_PORT"
  PROXY_PID=$SIDECAR_PID
}
CDS_FLAGS=
$CDS && train_cds "$ADMIN_PORT" "${HOP_ENV[@]}" PROXY_PORT="$PROXY_PORT" ADMIN_PORT="$ADMIN_PORT"
start=$(now_ms)
start_hop "$CDS_FLAGS"
wait_http "http://127.0.0.1:$ADMIN_PORT/readyz" 200 30
PROXY_READY_MS=$(( $(now_ms) - start ))

# --- the peers, each with one core's worth of threads and a keep-alive pool to the backend (egress: the
# same path-prefix routing); none writes an access log unless --peer-logs ---
declare -A PEER_PORT PEER_PID READY_MS
start_peer() { # name: starts it, waits until it answers 200 on $PREFIX/, sets PEER_PORT, PEER_PID, READY_MS
  local name=$1 port start log
  port="$(free_port)"; PEER_PORT[$name]=$port
  mkdir -p "$WORK/$name"
  start=$(now_ms)
  case $name in
    nginx)
      log=off; $PEER_LOGS && log="$WORK/nginx/access.log"
      NGINX_ACCESS_LOG=$log nginx_conf nginx "$port" "upstream app { server 127.0.0.1:$BACKEND_PORT; keepalive 64; }" \
        "location $PREFIX/ { proxy_pass http://app/; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_set_header X-Forwarded-For \$remote_addr; }"
      nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" & PEER_PID[$name]=$! ;;
    haproxy)
      log=; $PEER_LOGS && log=$'  log stdout format raw local0 info\n'
      { printf 'global\n  nbthread 1\n  maxconn 4096\n%s' "$log"
        printf 'defaults\n  mode http\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n'
        printf '  timeout http-keep-alive 60s\n  option forwardfor\n  http-reuse always\n'
        $PEER_LOGS && printf '  log global\n  option httplog\n'
        printf 'frontend hop\n  bind 127.0.0.1:%s\n' "$port"
        if [[ -n $PREFIX ]]; then
          printf '  http-request deny deny_status 404 unless { path_beg %s/ }\n' "$PREFIX"
          printf '  http-request replace-path ^%s(/.*)$ \\1\n' "$PREFIX"
        fi
        printf '  default_backend app\nbackend app\n  server app 127.0.0.1:%s\n' "$BACKEND_PORT"
      } >"$WORK/haproxy/haproxy.cfg"
      haproxy -db -f "$WORK/haproxy/haproxy.cfg" >"$WORK/haproxy/access.log" 2>"$WORK/haproxy/error.log" & PEER_PID[$name]=$! ;;
    caddy)
      log=; $PEER_LOGS && log=$(printf 'log {\n output file %s\n}' "$WORK/caddy/access.log")
      # Caddyfile blocks open at the end of a line and close on a line of their own.
      local route
      route=$(printf 'reverse_proxy 127.0.0.1:%s {\n transport http {\n  keepalive 2m\n  keepalive_idle_conns 64\n  keepalive_idle_conns_per_host 64\n }\n}' "$BACKEND_PORT")
      [[ -n $PREFIX ]] && route=$(printf 'handle_path %s/* {\n%s\n}' "$PREFIX" "$route")
      printf '{\n admin off\n auto_https off\n}\nhttp://127.0.0.1:%s {\n%s\n%s\n}\n' \
        "$port" "$log" "$route" >"$WORK/caddy/Caddyfile"
      GOMAXPROCS=1 XDG_DATA_HOME="$WORK/caddy" XDG_CONFIG_HOME="$WORK/caddy" \
        caddy run --adapter caddyfile --config "$WORK/caddy/Caddyfile" >"$WORK/caddy/out.log" 2>&1 & PEER_PID[$name]=$! ;;
  esac
  PIDS+=("${PEER_PID[$name]}")
  wait_ready "http://127.0.0.1:$port$PREFIX/" "${PEER_PID[$name]}" 10 \
    || { echo "$name did not start: $(tail -3 "$WORK/$name"/*.log)" >&2; exit 1; }
  READY_MS[$name]=$(( $(now_ms) - start ))
}
for peer in "${PEER_LIST[@]}"; do start_peer "$peer"; done

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

declare -A P50 P99 RPS MAX MAXERR CPU WCPU RSS RSSMAX ERR
# warm_up URL: the warm-up on the measured path, in runs of at most 10 s, so that clients reconnect as a
# service's clients do and the code that closes and opens connections is compiled before the measurement
# rather than during it (after one run of the whole warm-up, the first close deoptimised about 50 methods
# of the request path and the JIT spent the measured window's first seconds recompiling them). Paced at the
# fixed rate, or flat out with --warmup-style=flat (which also grows a JVM's heap).
# Prints how many requests it made.
warm_up() {
  local url=$1 left=$WARMUP total=0 secs out
  while (( left > 0 )); do
    secs=$(( left < 10 ? left : 10 )); left=$(( left - secs ))
    if [[ $WARMUP_STYLE == flat ]]; then
      out="$(wrk -t2 -c64 -d"${secs}s" -s "$WORK/max.lua" "$url" | grep RESULT)"
    else
      out="$(wrk -t1 -c"$CONNECTIONS" -d"${secs}s" -s "$WORK/rate.lua" "$url" | grep RESULT)"
    fi
    total=$(( total + $(field requests "$out") ))
  done
  echo "$total"
}
run() { # name url pid
  local name=$1 url=$2 pid=${3:-}
  local tw=0; [[ -n "$pid" ]] && tw=$(cpu_ticks "$pid")
  local warmed; warmed=$(warm_up "$url/users/1")
  local t0=0; [[ -n "$pid" ]] && t0=$(cpu_ticks "$pid")
  if [[ -n "$pid" ]]; then
    WCPU[$name]=$(awk -v t="$(( t0 - tw ))" -v hz="$CLK_TCK" -v n="$warmed" 'BEGIN{printf "%.3f", t/hz/n*1000}')
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
    RSS[$name]=$(rss_median_mb "$WORK/rss.$name")
    RSSMAX[$name]=$(rss_highest_mb "$WORK/rss.$name")
  else
    CPU[$name]="-"; RSS[$name]="-"
  fi
  out="$(wrk -t2 -c64 -d"${MAX_DURATION}s" -s "$WORK/max.lua" "$url/users/1" | grep RESULT)"
  # Answers that are not 2xx (a proxy shedding load with fast 503s, say) do not count as throughput.
  MAXERR[$name]=$(field errors "$out")
  MAX[$name]=$(( ($(field requests "$out") - MAXERR[$name]) * 1000000 / $(field duration_us "$out") ))
}

run direct "http://127.0.0.1:$BACKEND_PORT"
run proxy "http://127.0.0.1:$PROXY_PORT$PREFIX" "$PROXY_PID"
for peer in "${PEER_LIST[@]}"; do run "$peer" "http://127.0.0.1:${PEER_PORT[$peer]}$PREFIX" "${PEER_PID[$peer]}"; done
PROXY_RSS_AFTER_MAX=$(( $(rss_kb "$PROXY_PID") / 1024 ))

echo
echo "$HOP hop benchmark ($MODE)  $(date -u +%Y-%m-%dT%H:%MZ)  $(nproc) CPUs  $(uname -r)  $(java -version 2>&1 | head -1)"
echo "fixed rate: target ${RATE} rps over ${CONNECTIONS} connections, ${DURATION}s after a ${WARMUP}s warm-up ($WARMUP_STYLE, in runs of 10 s); max: wrk -t2 -c64 ${MAX_DURATION}s; 1 KiB answers"
echo "$HOP JVM flags: $PROXY_JAVA_OPTS${CDS_FLAGS:+ and an AppCDS archive of a training start, as in the image}; the row 'proxy' is $HOP"
echo "peers: ${PEERS//,/, } (one worker or thread each, keep-alive to the backend, access log $($PEER_LOGS && echo "on, to a file" || echo off));"\
" $($BARE && echo "$HOP: no access log" || echo "$HOP access log ${ACCESS_LOG:-on}")"
printf '%-7s %9s %9s %9s %10s %10s %9s %11s %11s %8s %9s %7s %8s\n' path "rate" "p50 ms" "p99 ms" "+p50 ms" "+p99 ms" "max rps" "CPU s/1k" "warm CPU" "RSS MB" "ready ms" errors "max err"
READY_MS[proxy]=$PROXY_READY_MS READY_MS[direct]="-"
for name in direct proxy "${PEER_LIST[@]}"; do
  plus50="-"; plus99="-"
  [[ $name != direct ]] && plus50=$(added "${P50[$name]}" "${P50[direct]}") && plus99=$(added "${P99[$name]}" "${P99[direct]}")
  printf '%-7s %9s %9s %9s %10s %10s %9s %11s %11s %8s %9s %7s %8s\n' "$name" "${RPS[$name]}" "$(us "${P50[$name]}")" \
    "$(us "${P99[$name]}")" "$plus50" "$plus99" "${MAX[$name]}" "${CPU[$name]}" "${WCPU[$name]}" "${RSS[$name]}" "${READY_MS[$name]}" "${ERR[$name]}" "${MAXERR[$name]}"
done
echo "$HOP RSS during the paced run: median ${RSS[proxy]} MB (the table), highest ${RSSMAX[proxy]} MB; after the max-throughput run: ${PROXY_RSS_AFTER_MAX} MB"
for peer in "${PEER_LIST[@]}"; do
  echo "$HOP vs $peer: max throughput $(ratio "${MAX[proxy]}" "${MAX[$peer]}"), CPU per request $(ratio "${CPU[proxy]}" "${CPU[$peer]}"),"\
" added p50 $(ratio "$(( P50[proxy] - P50[direct] ))" "$(( P50[$peer] - P50[direct] ))"), added p99 $(ratio "$(( P99[proxy] - P99[direct] ))" "$(( P99[$peer] - P99[direct] ))"),"\
" RSS $(ratio "${RSS[proxy]}" "${RSS[$peer]}")"
done
echo "CPU s/1k = CPU seconds of the hop per 1000 requests at the fixed rate (equals vCPU used per 1000 rps), after"
echo "  the warm-up; warm CPU = the same during the ${WARMUP}s warm-up, just after start (a JVM compiles its hot code then)"
echo "max rps counts 2xx answers only; max err = answers that were not 2xx, or failed, in the max-throughput run"
echo "RSS MB = the median of per-second samples during the paced run"
