#!/usr/bin/env bash
# collector-stub ingest benchmark: OTLP/HTTP protobuf spans per second and the stub's resident memory.
#
# Starts the stub on loopback with free ports, drives it with bench.jar (dev.sidecars.bench.OtlpLoad),
# samples its VmRSS/VmHWM every second, checks /api/stats against what was sent, stops it with SIGTERM
# and prints a summary block. See BENCHMARKS.md for the results and how to read them.
#
# Usage: bench/ingest.sh [--build] [--variants] [--duration=30s] [--warmup=5s] [--connections=4]
#                        [--check-target] [-- extra OtlpLoad options]
#   --build         rebuild collector-stub.jar and bench.jar even when they exist
#   --variants      run once per JVM-flag variant in VARIANTS below and print a comparison table
#   --check-target  exit 3 when a run misses the target (>= 200000 spans/s, peak RSS < 256 MB)
# Environment:
#   STUB_JAR         stub jar (default: collector-stub/target/collector-stub.jar)
#   BENCH_JAR        load generator jar (default: bench/target/bench.jar)
#   STUB_JAVA_OPTS   JVM flags of the stub (default: DEFAULT_STUB_JAVA_OPTS below)
#   LOAD_JAVA_OPTS   JVM flags of the load generator
#   STUB_MAX_SPANS   passed to the stub (default 100000, the stub's own default)
#   KEEP_WORK=1      keep the work directory (stub logs, RSS samples) instead of deleting it
set -euo pipefail

readonly DEFAULT_STUB_JAVA_OPTS="-XX:+UseSerialGC -Xmx128m -Xss512k -XX:MaxMetaspaceSize=64m -XX:ReservedCodeCacheSize=32m"
# name|flags: the variants compared in BENCHMARKS.md.
readonly VARIANTS=(
  "serial-128m|${DEFAULT_STUB_JAVA_OPTS}"
  "serial-96m|-XX:+UseSerialGC -Xmx96m -Xss512k -XX:MaxMetaspaceSize=64m -XX:ReservedCodeCacheSize=32m"
  "serial-maxram|-XX:+UseSerialGC -Xss512k -XX:MaxRAM=512m -XX:MaxRAMPercentage=50"
  "parallel-128m|-XX:+UseParallelGC -Xmx128m -Xss512k -XX:MaxMetaspaceSize=64m -XX:ReservedCodeCacheSize=32m"
  "g1-128m|-XX:+UseG1GC -Xmx128m -Xss512k -XX:MaxMetaspaceSize=64m -XX:ReservedCodeCacheSize=32m"
  "jvm-default|"
)
readonly TARGET_SPANS_PER_SEC=200000
readonly TARGET_RSS_KB=$((256 * 1024))

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STUB_JAR="${STUB_JAR:-}"
BENCH_JAR="${BENCH_JAR:-$ROOT/bench/target/bench.jar}"
LOAD_JAVA_OPTS="${LOAD_JAVA_OPTS:--XX:+UseParallelGC -Xms256m -Xmx256m}"
STUB_MAX_SPANS="${STUB_MAX_SPANS:-100000}"

build=false
variants=false
check_target=false
duration=30s
warmup=5s
connections=4
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build=true ;;
    --variants) variants=true ;;
    --check-target) check_target=true ;;
    --duration=*) duration="${1#*=}" ;;
    --warmup=*) warmup="${1#*=}" ;;
    --connections=*) connections="${1#*=}" ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "ingest.sh: unknown argument: $1 (see --help)" >&2; exit 64 ;;
  esac
  shift
done

# Whole seconds of a 30s / 2m / 45 style duration: only used to bound how long things may take.
seconds_of() {
  local d="$1"
  case "$d" in
    *ms) echo 1 ;;
    *s) echo "${d%s}" | cut -d. -f1 ;;
    *m) echo $(( ${d%m} * 60 )) ;;
    *) echo "$d" | cut -d. -f1 ;;
  esac
}
run_seconds=$(( $(seconds_of "$warmup") + $(seconds_of "$duration") ))

# --- jars ------------------------------------------------------------------------------------------
if [[ -n "$STUB_JAR" ]]; then
  [[ -f "$STUB_JAR" ]] || { echo "ingest.sh: STUB_JAR=$STUB_JAR does not exist" >&2; exit 1; }
  if $build || [[ ! -f "$BENCH_JAR" ]]; then
    (cd "$ROOT" && mvn -q -B -pl bench package -DskipTests)
  fi
else
  STUB_JAR="$ROOT/collector-stub/target/collector-stub.jar"
  if $build || [[ ! -f "$STUB_JAR" || ! -f "$BENCH_JAR" ]]; then
    (cd "$ROOT" && mvn -q -B -pl collector-stub,bench -am package -DskipTests)
  fi
fi
[[ -f "$BENCH_JAR" ]] || { echo "ingest.sh: $BENCH_JAR is missing after the build" >&2; exit 1; }

WORK="$(mktemp -d -t collector-stub-ingest.XXXXXX)"
stub_pid=""
sampler_pid=""

stop_stub() {
  # SIGTERM first (the stub drains and exits 0); SIGKILL only if it overstays its grace.
  local pid="$1"
  kill -TERM "$pid" 2>/dev/null || return 0
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "ingest.sh: stub $pid ignored SIGTERM for 30 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

cleanup() {
  local rc=$?
  [[ -n "$sampler_pid" ]] && kill "$sampler_pid" 2>/dev/null || true
  [[ -n "$stub_pid" ]] && stop_stub "$stub_pid"
  if [[ "${KEEP_WORK:-0}" == 1 || $rc -ne 0 ]]; then
    echo "ingest.sh: work directory kept: $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

kb_of() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status" 2>/dev/null || true; }
cpu_ticks_of() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
field() { sed -n "s/.*[ ^]$1=\([^ ]*\).*/\1/p" <<<" $2" | head -n1; }
json_field() { grep -o "\"$1\":[0-9]*" <<<"$2" | head -n1 | cut -d: -f2 || true; }
mb() { awk -v k="$1" 'BEGIN {printf "%.0f", k / 1024}'; }

# Runs one benchmark with the given stub flags; prints its summary block and sets the globals below.
r_spans_per_sec=0; r_requests_per_sec=0; r_p50=0; r_p99=0; r_peak_kb=0; r_final_kb=0; r_ok=false
r_stub_cpu=0; r_load_cpu=0; r_target=false
fail() {
  echo "ingest.sh: $*" >&2
  if [[ -n "$stub_pid" ]]; then stop_stub "$stub_pid"; stub_pid=""; fi
}
run_one() {
  local name="$1" opts="$2"
  local dir="$WORK/$name"
  mkdir -p "$dir"
  r_ok=false; r_target=false

  # shellcheck disable=SC2086 # the flags are a word list on purpose
  env OTLP_HTTP_PORT=0 OTLP_GRPC_PORT=0 UI_PORT=0 BIND_ADDRESS=127.0.0.1 STUB_MAX_SPANS="$STUB_MAX_SPANS" \
    SHUTDOWN_GRACE=5s LOG_LEVEL=warn \
    java $opts -jar "$STUB_JAR" >"$dir/stub.out" 2>"$dir/stub.err" &
  stub_pid=$!

  local line="" deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    line="$(grep -m1 ' listening on ' "$dir/stub.out" || true)"
    [[ -n "$line" ]] && break
    kill -0 "$stub_pid" 2>/dev/null || { cat "$dir/stub.err" >&2; stub_pid=""; fail "the stub exited at start"; return 1; }
    sleep 0.1
  done
  [[ -n "$line" ]] || { fail "no start line from the stub within 60 s"; return 1; }
  local http_port ui_port
  http_port="$(sed -n 's/.*otlp-http=\([0-9]*\).*/\1/p' <<<"$line")"
  ui_port="$(sed -n 's/.*ui=\([0-9]*\).*/\1/p' <<<"$line")"
  local idle_kb
  idle_kb="$(kb_of "$stub_pid" VmRSS)"

  # One sample a second while the stub lives; the EXIT trap or the end of the run stops it.
  (
    while kill -0 "$stub_pid" 2>/dev/null; do
      echo "$(date +%s) $(kb_of "$stub_pid" VmRSS) $(kb_of "$stub_pid" VmHWM)"
      sleep 1
    done
  ) >"$dir/rss.txt" &
  sampler_pid=$!

  local ticks_before ticks_after clk t0 t1 load_rc=0
  clk="$(getconf CLK_TCK)"
  ticks_before="$(cpu_ticks_of "$stub_pid")"
  t0="$(date +%s.%N)"
  # shellcheck disable=SC2086
  timeout --kill-after=10 $((run_seconds + 60)) \
    java $LOAD_JAVA_OPTS -jar "$BENCH_JAR" --url="http://127.0.0.1:$http_port" --spans-per-batch=512 \
      --duration="$duration" --warmup="$warmup" --connections="$connections" "${extra[@]}" \
      >"$dir/load.out" 2> >(tee "$dir/load.err" >&2) || load_rc=$?
  t1="$(date +%s.%N)"
  ticks_after="$(cpu_ticks_of "$stub_pid")"
  local final_kb hwm_kb
  final_kb="$(kb_of "$stub_pid" VmRSS)"
  hwm_kb="$(kb_of "$stub_pid" VmHWM)"

  local stats
  stats="$(curl -fsS --max-time 10 "http://127.0.0.1:$ui_port/api/stats" || echo '{}')"

  kill "$sampler_pid" 2>/dev/null || true
  wait "$sampler_pid" 2>/dev/null || true
  sampler_pid=""
  local pid="$stub_pid" stub_rc=0
  stop_stub "$pid"
  wait "$pid" || stub_rc=$?
  stub_pid=""

  local result
  result="$(grep -m1 '^RESULT ' "$dir/load.out" || true)"
  [[ -n "$result" ]] || { fail "the load generator printed no RESULT (exit $load_rc)"; return 1; }
  local peak_sampled_kb
  peak_sampled_kb="$(awk 'BEGIN {m = 0} $2 > m {m = $2} END {print m}' "$dir/rss.txt")"
  r_peak_kb=$(( hwm_kb > peak_sampled_kb ? hwm_kb : peak_sampled_kb ))
  r_final_kb="$final_kb"
  r_spans_per_sec="$(field spans_per_sec "$result")"
  r_requests_per_sec="$(field requests_per_sec "$result")"
  r_p50="$(field p50_ms "$result")"
  r_p99="$(field p99_ms "$result")"
  r_load_cpu="$(field loadgen_cpu_cores "$result")"
  r_stub_cpu="$(awk -v a="$ticks_before" -v b="$ticks_after" -v c="$clk" -v t0="$t0" -v t1="$t1" \
    'BEGIN {printf "%.2f", (b - a) / c / (t1 - t0)}')"
  local sent_spans sent_requests stub_spans stub_requests stub_rejected stub_dropped stored
  sent_spans="$(field total_spans_sent "$result")"
  sent_requests="$(field total_requests "$result")"
  stub_spans="$(json_field spans "$stats")"
  stub_requests="$(json_field requests "$stats")"
  stub_rejected="$(json_field rejected "$stats")"
  stub_dropped="$(json_field dropped "$stats")"
  stored="$(json_field spans "$(sed -n 's/.*"stored":{\([^}]*\)}.*/\1/p' <<<"$stats")")"

  local accepted=false target=false
  [[ "$load_rc" == 0 && "$stub_spans" == "$sent_spans" && "$stub_requests" == "$sent_requests" \
     && "$stub_rejected" == 0 ]] && accepted=true
  awk -v s="$r_spans_per_sec" -v t="$TARGET_SPANS_PER_SEC" 'BEGIN {exit !(s >= t)}' \
    && ((r_peak_kb < TARGET_RSS_KB)) && target=true

  cat <<EOF
==== collector-stub ingest: $name ====
stub flags         : ${opts:-(JVM defaults)}
load               : $connections connections x 512 spans/request, warmup $warmup, measured $duration
spans/s            : $r_spans_per_sec
requests/s         : $r_requests_per_sec
latency p50 / p99  : $r_p50 ms / $r_p99 ms
stub RSS idle      : $(mb "$idle_kb") MB
stub RSS peak      : $(mb "$r_peak_kb") MB (VmHWM $(mb "$hwm_kb") MB)
stub RSS final     : $(mb "$r_final_kb") MB (after the load)
stub CPU           : $r_stub_cpu cores (average over warmup + run)
load generator CPU : $r_load_cpu cores (measured window)
sent               : $sent_spans spans in $sent_requests requests (load generator exit $load_rc)
/api/stats         : $stats
accepted == sent   : $accepted (stored $stored of max $STUB_MAX_SPANS, evicted $stub_dropped)
stub exit          : $stub_rc (SIGTERM)
target             : >= $TARGET_SPANS_PER_SEC spans/s and peak RSS < $((TARGET_RSS_KB / 1024)) MB: $($target && echo met || echo NOT met)
$result
EOF
  $accepted && [[ "$stub_rc" == 0 ]] && r_ok=true
  r_target="$target"
  $r_ok
}

overall=0
if $variants; then
  table="| variant | stub JVM flags | spans/s | requests/s | p50 ms | p99 ms | peak RSS MB | final RSS MB | stub CPU cores | all accepted |
|---|---|---:|---:|---:|---:|---:|---:|---:|---|"
  for v in "${VARIANTS[@]}"; do
    name="${v%%|*}"
    opts="${v#*|}"
    if run_one "$name" "$opts"; then ok=yes; else ok=no; overall=1; fi
    if $check_target && [[ "$r_target" != true && $overall == 0 ]]; then overall=3; fi
    table+=$'\n'"| $name | \`${opts:-(defaults)}\` | $r_spans_per_sec | $r_requests_per_sec | $r_p50 | $r_p99 | $(mb "$r_peak_kb") | $(mb "$r_final_kb") | $r_stub_cpu | $ok |"
  done
  echo
  echo "$table"
else
  if [[ -n "${STUB_JAVA_OPTS+set}" ]]; then name=custom; else name=default; fi
  run_one "$name" "${STUB_JAVA_OPTS-$DEFAULT_STUB_JAVA_OPTS}" || overall=1
  if $check_target && [[ "$r_target" != true && $overall == 0 ]]; then overall=3; fi
fi
exit "$overall"
