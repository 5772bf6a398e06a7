# Shared by bench/proxy.sh, bench/grpc.sh and bench/tls.sh (sourced, not run). make_work sets up WORK and
# PIDS, which most functions use.

# make_work: WORK, a temp directory, and PIDS, the processes started; on exit every process in PIDS is
# stopped and WORK removed (KEEP_WORK=1 keeps it, to read the peers' logs and configs).
make_work() {
  WORK="$(mktemp -d)"
  PIDS=()
  trap cleanup EXIT
}
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ "${KEEP_WORK:-0}" == 1 ]] || rm -rf "$WORK"
}

# sidecar_jars MODULE...: PROXY_JAR (metrics-proxy's unless set), STUB_JAR and BENCH_JAR, each built with
# Maven (the given modules) when missing.
sidecar_jars() {
  PROXY_JAR="${PROXY_JAR:-$ROOT/metrics-proxy/target/metrics-proxy.jar}"
  STUB_JAR="${STUB_JAR:-$ROOT/collector-stub/target/collector-stub.jar}"
  BENCH_JAR="${BENCH_JAR:-$ROOT/bench/target/bench.jar}"
  if [[ ! -f "$PROXY_JAR" || ! -f "$STUB_JAR" || ! -f "$BENCH_JAR" ]]; then
    (cd "$ROOT" && mvn -B -ntp -q -pl "$(IFS=,; echo "$*")" -am package -DskipTests)
  fi
}

# need_tools PACKAGE:COMMAND...: each missing command is installed from its Debian package when running as
# root with apt-get (as the benchmarks' peers are Debian packages), else the script stops naming them.
need_tools() {
  local spec missing=() packages=()
  for spec in "$@"; do
    command -v "${spec#*:}" >/dev/null || { missing+=("${spec#*:}"); packages+=("${spec%%:*}"); }
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    echo "installing ${packages[*]} with apt-get" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${packages[@]}" >&2 \
      || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${packages[@]}" >&2; } || true
  fi
  for spec in "${missing[@]}"; do
    command -v "$spec" >/dev/null || { echo "needs $spec (Debian: apt-get install -y ${packages[*]})" >&2; exit 1; }
  done
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }
wait_http() { # url expected-status timeout-seconds [curl options...]
  local url=$1 want=$2 deadline=$(( $(now_ms) + $3 * 1000 ))
  until [[ "$(curl -s -o /dev/null -w '%{http_code}' "${@:4}" "$url" || true)" == "$want" ]]; do
    (( $(now_ms) < deadline )) || { echo "timed out waiting for $url" >&2; return 1; }
    sleep 0.005
  done
}
wait_port() { # port timeout-seconds: until something accepts TCP connections on 127.0.0.1:port
  local deadline=$(( $(now_ms) + $2 * 1000 ))
  until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    (( $(now_ms) < deadline )) || { echo "timed out waiting for port $1" >&2; return 1; }
    sleep 0.005
  done
}
# CPU ticks (user+system) and RSS (kB) of a process and its children (nginx's master and worker).
tree_pids() { echo "$1"; pgrep -P "$1" || true; }
cpu_ticks() { local t=0 p; for p in $(tree_pids "$1"); do t=$(( t + $(awk '{print $14+$15}' "/proc/$p/stat") )); done; echo "$t"; }
rss_kb() { local r=0 p; for p in $(tree_pids "$1"); do r=$(( r + $(awk '/VmRSS/{print $2}' "/proc/$p/status") )); done; echo "$r"; }

# nginx_conf NAME LISTEN HTTP-BLOCK-EXTRA SERVER-BODY: a one-worker nginx in $WORK/NAME, no access log.
# LISTEN is what follows `listen 127.0.0.1:`, e.g. "8080", "8080 http2" or "8443 ssl".
nginx_conf() {
  mkdir -p "$WORK/$1"
  cat >"$WORK/$1/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $WORK/$1/nginx.pid;
error_log $WORK/$1/error.log warn;
events { worker_connections 4096; }
http {
  access_log ${NGINX_ACCESS_LOG:-off};
  keepalive_requests 1000000;
  client_body_temp_path $WORK/$1/body; proxy_temp_path $WORK/$1/proxy;
  fastcgi_temp_path $WORK/$1/fcgi; uwsgi_temp_path $WORK/$1/uwsgi; scgi_temp_path $WORK/$1/scgi;
  $3
  server { listen 127.0.0.1:$2; $4 }
}
CONF
}

# Median and highest of a file of per-second RSS samples in kB, in MB.
rss_median_mb() { sort -n "$1" | awk '{v[NR]=$1} END {if (NR == 0) print "-"; else printf "%d", v[int((NR + 1) / 2)] / 1024}'; }
rss_highest_mb() { sort -n "$1" | tail -1 | awk '{printf "%d", $1 / 1024}'; }
# ratio A B: A/B as "1.23x", "-" when B is not positive or either is not a number.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a ~ /^[-+.0-9]+$/ && b ~ /^[-+.0-9]+$/ && b > 0) printf "%.2fx", a/b; else printf "-" }'; }
# field NAME LINE: the value of NAME=value in a RESULT line.
field() { sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" <<<" $2"; }

# The sidecars' images start the JVM with these flags (images/*/Dockerfile); the benchmarks add a 256 MiB
# MaxRAM, as in a container limited to 256 MiB.
DOCKERFILE_FLAGS="-XX:+UseSerialGC -XX:MaxRAMPercentage=50 -Xms8m -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30 -Xss512k -XX:ReservedCodeCacheSize=32m -XX:MaxMetaspaceSize=64m -XX:-UsePerfData -XX:+ExitOnOutOfMemoryError -XX:+UnlockExperimentalVMOptions -XX:TrimNativeHeapInterval=5000"
PROXY_JAVA_OPTS="${PROXY_JAVA_OPTS:-$DOCKERFILE_FLAGS -XX:MaxRAM=256m}"

# start_collector_stub: the OTLP receiver the sidecars export to; sets OTLP_PORT.
start_collector_stub() {
  env OTLP_HTTP_PORT=0 OTLP_GRPC_PORT=0 UI_PORT=0 BIND_ADDRESS=127.0.0.1 \
    java -XX:+UseSerialGC -Xmx256m -jar "$STUB_JAR" >"$WORK/stub.out" 2>"$WORK/stub.err" & PIDS+=($!)
  for _ in $(seq 1 300); do grep -q ' listening on ' "$WORK/stub.out" 2>/dev/null && break; sleep 0.1; done
  OTLP_PORT="$(sed -n 's/.*otlp-http=\([0-9]*\).*/\1/p' "$WORK/stub.out" | head -1)"
}

# start_sidecar NAME JVM-FLAGS [VAR=value...]: the sidecar (HOP_MAIN: `-jar JAR`, or `-cp JAR CLASS`) with
# PROXY_JAVA_OPTS, telemetry on (OTLP to OTLP_PORT), access log on (ACCESS_LOG overrides), the given
# variables; output in $WORK/NAME.out and .err; sets SIDECAR_PID.
start_sidecar() {
  local name=$1 flags=$2; shift 2
  env "$@" BIND_ADDRESS=127.0.0.1 ACCESS_LOG="${ACCESS_LOG:-on}" OTEL_SERVICE_NAME=bench-app \
    OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$OTLP_PORT" OTEL_LOGS_EXPORTER=none \
    java $PROXY_JAVA_OPTS $flags "${HOP_MAIN[@]}" >"$WORK/$name.out" 2>"$WORK/$name.err" & SIDECAR_PID=$!
  PIDS+=($SIDECAR_PID)
}

# wait_ready URL PID TIMEOUT-SECONDS: until URL answers 200; fails at once if the process PID has exited.
wait_ready() {
  local deadline=$(( $(now_ms) + $3 * 1000 ))
  until [[ "$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)" == 200 ]]; do
    kill -0 "$2" 2>/dev/null || return 1
    (( $(now_ms) < deadline )) || { echo "timed out waiting for $1" >&2; return 1; }
    sleep 0.005
  done
}

# train_cds ADMIN-PORT [VAR=value...]: the image's class archive, made as its Dockerfile makes it (a start
# of the same jar with the same variables, stopped with SIGTERM once ready); sets CDS_FLAGS to use it, or
# to nothing when no archive was made (the sidecar then runs without, and says so).
train_cds() {
  local admin=$1; shift
  CDS_FLAGS=
  start_sidecar training "-XX:ArchiveClassesAtExit=$WORK/hop.jsa" "$@" DRAIN_DELAY=0s
  wait_ready "http://127.0.0.1:$admin/readyz" "$SIDECAR_PID" 30 && kill -TERM "$SIDECAR_PID"
  wait "$SIDECAR_PID" 2>/dev/null || true
  if [[ -s "$WORK/hop.jsa" ]]; then
    CDS_FLAGS="-XX:SharedArchiveFile=$WORK/hop.jsa"
  else
    echo "no AppCDS archive was made; the sidecar runs without (training output: $WORK/training.err)" >&2
  fi
}

# us MICROSECONDS: as milliseconds; added A B: A - B microseconds as signed milliseconds.
us() { awk -v v="$1" 'BEGIN{printf "%.3f", v/1000}'; }
added() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%+.3f", (a-b)/1000}'; }
# per1k MILLISECONDS CALLS: CPU seconds per 1000 calls ("-" when there is no figure).
per1k() { awk -v ms="$1" -v n="$2" 'BEGIN{ if (ms ~ /^[0-9]+$/ && n > 0) printf "%.3f", ms/n; else printf "-" }'; }

# parse_load NAME OUTPUT: the RESULT lines of bench.jar's GrpcLoad or HttpLoad into the arrays below, by
# path name: the paced phase's p50/p99 (µs), achieved rate and errors; the max phase's rate and errors; the
# watched hop's CPU s per 1000 calls (paced, warm-up), RSS median and highest (MB); the generator's own CPU
# s per 1000 calls at max.
declare -A P50 P99 RATE_OK MAX MAXERR CPU WCPU RSS RSSMAX ERR CLIENT
parse_load() {
  local name=$1 warm paced max kb
  warm="$(grep 'phase=warmup' <<<"$2" || true)"; paced="$(grep 'phase=paced' <<<"$2")"; max="$(grep 'phase=max' <<<"$2")"
  P50[$name]=$(field p50_us "$paced"); P99[$name]=$(field p99_us "$paced"); ERR[$name]=$(field errors "$paced")
  RATE_OK[$name]=$(field rate "$paced"); MAX[$name]=$(field rate "$max"); MAXERR[$name]=$(field errors "$max")
  CPU[$name]=$(per1k "$(field hop_cpu_ms "$paced")" "$(field ok "$paced")")
  WCPU[$name]=$(per1k "$(field hop_cpu_ms "$warm")" "$(field ok "$warm")")
  CLIENT[$name]=$(per1k "$(field client_cpu_ms "$max")" "$(field ok "$max")")
  kb=$(field rss_median_kb "$paced"); RSS[$name]=$([[ $kb == - ]] && echo - || echo $(( kb / 1024 )))
  kb=$(field rss_max_kb "$paced"); RSSMAX[$name]=$([[ $kb == - ]] && echo - || echo $(( kb / 1024 )))
}
