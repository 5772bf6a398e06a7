#!/usr/bin/env bash
# log-forwarder throughput benchmark: one file of 128-byte lines shipped over OTLP/HTTP protobuf into a
# receiver that decodes and counts every record, side by side with `wc -l` reading the same file and
# with rsyslog's imfile shipping it over TCP (the peer, when rsyslogd and socat are installed).
#
# Generates the file (page-cached afterwards, as a freshly written log is), times `wc -l` on it, starts
# bench.jar's LogCountingSink (dev.sidecars.bench.LogCountingSink) on a free loopback port, starts
# log-forwarder.jar with LOG_PATHS on the file and LOG_START_AT=beginning, and waits until the sink has
# counted every line. The forwarder runs with the image's flags and environment (MALLOC_ARENA_MAX=2) and,
# as in the image, an AppCDS archive made by a training run first (--no-cds: without). Prints MiB/s,
# lines/s, CPU seconds and peak RSS (VmHWM) of the forwarder next to the same figures for `wc -l`. Record results in BENCHMARKS.md with the
# machine and its load.
#
# --latency measures write-to-arrival latency instead: the forwarder follows an empty file, bench.jar's
# TimedLineWriter appends 128-byte lines stamped with their write time at a steady rate, and the sink
# records arrival minus write time per line (same machine, same wall clock); prints p50, p99 and max,
# for all lines, after the warm-up, and per second of writing.
#
# Usage: bench/log-forwarder.sh [--build] [--size-mib=1024] [--timeout=900]
#        bench/log-forwarder.sh --latency [--rate=10000] [--duration=30] [--build]
#   --build        rebuild log-forwarder.jar and bench.jar even when they exist
#   --size-mib=N   size of the generated file (default 1024, the figure the issue asks for)
#   --timeout=S    give up after S seconds of shipping (default 900)
#   --latency      the latency mode above
#   --rate=N       lines per second written in latency mode (default 10000, the figure the issue asks for)
#   --duration=S   seconds of writing in latency mode (default 30)
#   --sink-decode=wire|messages
#                  how the sink decodes each request: at the wire level, every field read and every string
#                  checked as UTF-8 without building objects (default), or into protobuf's generated
#                  classes (the figures before 2026-11-26, when the sink took a third of the CPU)
#   --no-cds       run the forwarder without the AppCDS archive the image has (by default a training run
#                  like the Dockerfile's makes one first, with the same flags and no collector listening)
#   --no-peer      skip the rsyslog run (when comparing builds or flags of the forwarder only)
#   --warmup=S     latency mode also reports the lines written after the first S seconds (default 5): the
#                  forwarder starts cold, and its JIT warm-up delays the first seconds' lines
# Environment:
#   FORWARDER_JAR        default: log-forwarder/target/log-forwarder.jar
#   BENCH_JAR            default: bench/target/bench.jar
#   FORWARDER_JAVA_OPTS  JVM flags of the forwarder (default: the image's, with -XX:MaxRAM=256m)
#   SINK_JAVA_OPTS       extra JVM flags of the counting sink (e.g. a profiler agent)
#   FORWARDER_ENV        extra VAR=value words for the forwarder, e.g. "LOG_BATCH_RECORDS=4096" (they come
#                        after the image's MALLOC_ARENA_MAX=2, so "MALLOC_ARENA_MAX=8" overrides it)
#   KEEP_WORK=1          keep the work directory (file, logs, state) instead of deleting it
set -euo pipefail

readonly LINE_BYTES=128
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FORWARDER_JAR="${FORWARDER_JAR:-$ROOT/log-forwarder/target/log-forwarder.jar}"
BENCH_JAR="${BENCH_JAR:-$ROOT/bench/target/bench.jar}"
# The image's flags (log-forwarder/Dockerfile) with the heap bounded as in a container limited to 256 MiB.
IMAGE_FLAGS="-XX:+UseSerialGC -XX:MaxRAMPercentage=50 -Xms8m -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30 -Xss512k -XX:ReservedCodeCacheSize=32m -XX:MaxMetaspaceSize=64m -XX:-UsePerfData -XX:+ExitOnOutOfMemoryError -XX:+UnlockExperimentalVMOptions -XX:TrimNativeHeapInterval=5000"
FORWARDER_JAVA_OPTS="${FORWARDER_JAVA_OPTS:-$IMAGE_FLAGS -XX:MaxRAM=256m}"
FORWARDER_ENV="${FORWARDER_ENV:-}"
# The image's environment besides the flags (log-forwarder/Dockerfile): glibc's malloc arenas capped at two.
readonly IMAGE_ENV="MALLOC_ARENA_MAX=2"

build=false
size_mib=1024
timeout_s=900
latency=false
peer=true
cds=true
sink_decode=wire
rate=10000
duration_s=30
warmup_s=5
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build=true ;;
    --latency) latency=true ;;
    --no-peer) peer=false ;;
    --no-cds) cds=false ;;
    --sink-decode=*) sink_decode="${1#*=}" ;;
    --rate=*) rate="${1#*=}" ;;
    --duration=*) duration_s="${1#*=}" ;;
    --warmup=*) warmup_s="${1#*=}" ;;
    --size-mib=*) size_mib="${1#*=}" ;;
    --timeout=*) timeout_s="${1#*=}" ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "log-forwarder.sh: unknown argument: $1 (see --help)" >&2; exit 64 ;;
  esac
  shift
done

if $build || [[ ! -f "$FORWARDER_JAR" ]] || [[ ! -f "$BENCH_JAR" ]]; then
  (cd "$ROOT" && mvn -q -B -pl log-forwarder,bench -am package -DskipTests)
fi

work="$(mktemp -d)"
sink_pid=""
fwd_pid=""
cleanup() {
  [[ -n "$fwd_pid" ]] && kill "$fwd_pid" 2>/dev/null || true
  [[ -n "$sink_pid" ]] && kill "$sink_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  if [[ "${KEEP_WORK:-0}" == 1 ]]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

kb_of() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status" 2>/dev/null || true; }
cpu_ticks_of() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
now() { date +%s.%N; }
ticks_per_s="$(getconf CLK_TCK)"

start_sink() {
  java ${SINK_JAVA_OPTS:-} -XX:+UseParallelGC -Xmx512m -Dsun.net.httpserver.nodelay=true -cp "$BENCH_JAR" dev.sidecars.bench.LogCountingSink 0 "--decode=$sink_decode" > "$work/sink.out" 2>&1 &
  sink_pid=$!
  for _ in $(seq 1 300); do grep -q "listening" "$work/sink.out" 2>/dev/null && break; sleep 0.1; done
  sink_port="$(sed -n 's/.*otlp-http=\([0-9]*\).*/\1/p' "$work/sink.out")"
  [[ -n "$sink_port" ]] || { echo "sink did not start:"; cat "$work/sink.out"; exit 1; }
}

# $1: LOG_PATHS, $2: LOG_START_AT
start_forwarder() {
  # shellcheck disable=SC2086 # IMAGE_ENV, FORWARDER_ENV and FORWARDER_JAVA_OPTS are word lists
  env -i PATH="$PATH" HOME="${HOME:-/tmp}" ADMIN_PORT=0 BIND_ADDRESS=127.0.0.1 \
    OTEL_SERVICE_NAME=bench OTEL_TRACES_EXPORTER=none OTEL_METRICS_EXPORTER=none OTEL_LOGS_EXPORTER=none \
    OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$sink_port" OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf \
    LOG_PATHS="$1" LOG_STATE_DIR="$work/state" LOG_START_AT="$2" $IMAGE_ENV $FORWARDER_ENV \
    java $FORWARDER_JAVA_OPTS -jar "$FORWARDER_JAR" > "$work/forwarder.out" 2>&1 &
  fwd_pid=$!
}

# The image's AppCDS archive, made as log-forwarder/Dockerfile makes it: a training run of the same jar with
# the same flags on a generated file, no collector listening, stopped by SIGTERM.
train_cds() {
  $cds || return 0
  local dir="$work/cds-training"
  mkdir -p "$dir/logs"
  seq -f '%g INFO cds training line' 1 20000 > "$dir/logs/app.log"
  # shellcheck disable=SC2086 # IMAGE_ENV and FORWARDER_JAVA_OPTS are word lists
  env -i PATH="$PATH" HOME="${HOME:-/tmp}" $IMAGE_ENV LOG_PATHS="$dir/logs/*.log" LOG_STATE_DIR="$dir/state" ADMIN_PORT=0 \
    BIND_ADDRESS=127.0.0.1 SHUTDOWN_GRACE=2s OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:9 \
    timeout -s TERM 10 java $FORWARDER_JAVA_OPTS -XX:ArchiveClassesAtExit="$work/forwarder.jsa" -jar "$FORWARDER_JAR" \
    > "$dir/out" 2>&1 || true
  if [[ -s "$work/forwarder.jsa" ]]; then
    FORWARDER_JAVA_OPTS="$FORWARDER_JAVA_OPTS -XX:SharedArchiveFile=$work/forwarder.jsa"
    echo "AppCDS archive made by a training run, as in the image"
  else
    echo "no AppCDS archive was made; running without (training output: $dir/out)" >&2
  fi
}

sink_count() { curl -fsS --max-time 5 "http://127.0.0.1:$sink_port/count" 2>/dev/null | awk '{print $1}' || echo 0; }
# Waits until the sink has counted $1 records; gives up after $2 seconds or when the forwarder exits.
await_sink_count() {
  local lines=$1 count deadline=$(( $(date +%s) + $2 ))
  while :; do
    count="$(sink_count)"
    [[ "${count:-0}" -ge "$lines" ]] && return 0
    if ! kill -0 "$fwd_pid" 2>/dev/null; then echo "forwarder exited:"; cat "$work/forwarder.out"; exit 1; fi
    if [[ "$(date +%s)" -ge "$deadline" ]]; then echo "timed out with $count of $lines records" >&2; exit 1; fi
    sleep 0.2
  done
}

if $latency; then
  # --- latency: a steady writer, the sink timing every line ------------------------------------------
  file="$work/logs/app.log"
  mkdir -p "$work/logs" "$work/state"
  : > "$file"
  train_cds
  start_sink
  start_forwarder "$file" end
  admin_port=""
  for _ in $(seq 1 300); do
    admin_port="$(sed -n 's/.*listening on.*admin=\([0-9]*\).*/\1/p' "$work/forwarder.out" | head -1)"
    [[ -n "$admin_port" ]] && curl -fsS -o /dev/null "http://127.0.0.1:$admin_port/readyz" 2>/dev/null && break
    sleep 0.1
  done
  [[ -n "$admin_port" ]] || { echo "forwarder did not start:"; cat "$work/forwarder.out"; exit 1; }
  lines=$(( rate * duration_s ))
  echo "writing $lines lines of 128 bytes at $rate lines/s for $duration_s s ..."
  start="$(now)"
  java -XX:+UseSerialGC -Xmx64m -cp "$BENCH_JAR" dev.sidecars.bench.TimedLineWriter "$file" "$rate" "$duration_s" 128
  await_sink_count "$lines" 60
  end="$(now)"
  ticks="$(cpu_ticks_of "$fwd_pid")"
  hwm_kb="$(kb_of "$fwd_pid" VmHWM)"
  read -r n p50 p99 max < <(curl -fsS "http://127.0.0.1:$sink_port/latency")
  read -r wn wp50 wp99 wmax < <(curl -fsS "http://127.0.0.1:$sink_port/latency?after=$warmup_s")
  echo "by second of writing: second lines p50 p99 max (ms)"
  curl -fsS "http://127.0.0.1:$sink_port/latency?by=second" | awk '{printf "  %3d %6d %8.1f %8.1f %8.1f\n", $1, $2, $3, $4, $5}' | paste - - -
  awk -v n="$n" -v p50="$p50" -v p99="$p99" -v max="$max" -v rate="$rate" -v d="$duration_s" -v ticks="$ticks" \
      -v w="$warmup_s" -v wn="$wn" -v wp50="$wp50" -v wp99="$wp99" -v wmax="$wmax" \
      -v hz="$ticks_per_s" -v hwm="$hwm_kb" -v cores="$(nproc)" -v load="$(cut -d' ' -f1-3 /proc/loadavg)" \
      -v el="$(awk -v a="$start" -v b="$end" 'BEGIN {print b - a}')" 'BEGIN {
    printf "\n== log-forwarder latency: %d lines/s of 128 bytes for %d s, write to arrival at the sink ==\n", rate, d
    printf "machine: %d cores, load average at end %s\n", cores, load
    printf "all lines:           %6d timed; p50 %7.1f ms, p99 %7.1f ms, max %7.1f ms\n", n, p50, p99, max
    printf "after the first %2d s: %6d timed; p50 %7.1f ms, p99 %7.1f ms, max %7.1f ms\n", w, wn, wp50, wp99, wmax
    printf "forwarder: %.2f CPU s over %.1f s (%.2f cores), peak RSS %.1f MB\n", ticks / hz, el, ticks / hz / el, hwm / 1024
  }'
  exit 0
fi

# --- the file: numbered lines of exactly 128 bytes --------------------------------------------------
lines=$(( size_mib * 1024 * 1024 / LINE_BYTES ))
file="$work/logs/app.log"
mkdir -p "$work/logs" "$work/state"
echo "generating $lines lines ($size_mib MiB) ..."
awk -v n="$lines" 'BEGIN {
  pad = sprintf("%*s", 100, ""); gsub(/ /, "x", pad);
  for (i = 1; i <= n; i++) printf "%012d INFO bench line %s\n", i, substr(pad, 1, 127 - 29);
}' > "$file"
actual_bytes="$(stat -c %s "$file")"
# Written back to disk now, not during the run: the kernel's writeback of a fresh gigabyte competed with the
# forwarder for the cores and delayed its checkpoint fsyncs (runs of the same build spread from 71 to 96
# MiB/s). The file stays in the page cache.
sync
[[ "$actual_bytes" -eq $(( lines * LINE_BYTES )) ]] || { echo "generated $actual_bytes bytes, expected $(( lines * LINE_BYTES ))" >&2; exit 1; }

# --- wc -l: the cost of merely reading the file ----------------------------------------------------
wc_out="$( { /usr/bin/time -f '%e %U %S %M' wc -l "$file" >/dev/null; } 2>&1 )"
read -r wc_s wc_user wc_sys wc_rss_kb <<<"$wc_out"

# --- the sink --------------------------------------------------------------------------------------
train_cds
start_sink

# --- the forwarder ---------------------------------------------------------------------------------
sink_ticks_before="$(cpu_ticks_of "$sink_pid")" # its warm-up is not part of the run
start="$(now)"
start_forwarder "$file" beginning

await_sink_count "$lines" "$timeout_s"
count="$(sink_count)"
end="$(now)"
ticks="$(cpu_ticks_of "$fwd_pid")"
sink_ticks="$(( $(cpu_ticks_of "$sink_pid") - sink_ticks_before ))"
hwm_kb="$(kb_of "$fwd_pid" VmHWM)"
kill -TERM "$fwd_pid"
wait "$fwd_pid" 2>/dev/null || true
fwd_pid=""

elapsed="$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.2f", b - a}')"

# --- the peer: rsyslog's imfile tailing the same file, shipping over TCP to a line-counting receiver --
# Debian's log tailer and shipper (apt-get install rsyslog socat). A different wire protocol (syslog
# over TCP, not OTLP), but the same job: read every line of a file and deliver it to another process.
rs_line="(rsyslog not installed: apt-get install rsyslog socat)"
$peer || rs_line="(rsyslog not run: --no-peer)"
if $peer && command -v rsyslogd >/dev/null 2>&1 && command -v socat >/dev/null 2>&1; then
  rs_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  mkdir -p "$work/rsyslog"
  socat -u "TCP-LISTEN:$rs_port,bind=127.0.0.1,reuseaddr" "OPEN:$work/rsyslog/received,creat,append" &
  rs_sink_pid=$!
  cat > "$work/rsyslog/rsyslog.conf" <<CONF
global(workDirectory="$work/rsyslog")
module(load="imfile" mode="inotify")
input(type="imfile" File="$file" Tag="app" ruleset="ship" freshStartTail="off")
ruleset(name="ship") {
  action(type="omfwd" target="127.0.0.1" port="$rs_port" protocol="tcp"
         template="RSYSLOG_SyslogProtocol23Format" queue.type="LinkedList" queue.size="200000")
}
CONF
  rs_start="$(now)"
  rsyslogd -n -f "$work/rsyslog/rsyslog.conf" -i "$work/rsyslog/pid" >"$work/rsyslog/out" 2>&1 &
  rs_pid=$!
  rs_deadline=$(( $(date +%s) + timeout_s ))
  while :; do
    rs_count=0
    [[ -f "$work/rsyslog/received" ]] && rs_count="$(wc -l < "$work/rsyslog/received")"
    [[ "$rs_count" -ge "$lines" ]] && break
    if ! kill -0 "$rs_pid" 2>/dev/null; then echo "rsyslogd exited:"; cat "$work/rsyslog/out"; break; fi
    if [[ "$(date +%s)" -ge "$rs_deadline" ]]; then echo "rsyslog timed out with $rs_count of $lines lines" >&2; break; fi
    sleep 0.2
  done
  rs_end="$(now)"
  rs_ticks="$(cpu_ticks_of "$rs_pid")"
  rs_hwm="$(kb_of "$rs_pid" VmHWM)"
  kill -TERM "$rs_pid" 2>/dev/null || true
  kill -TERM "$rs_sink_pid" 2>/dev/null || true
  wait "$rs_pid" "$rs_sink_pid" 2>/dev/null || true
  rs_line="$(awk -v a="$rs_start" -v b="$rs_end" -v mib="$size_mib" -v n="$rs_count" -v t="$rs_ticks" -v hz="$ticks_per_s" -v hwm="$rs_hwm" \
    'BEGIN {el = b - a; printf "%-14s %10.2f %12.1f %12.0f %10.2f %7.1f MB  (%d lines received)", "rsyslog imfile", el, mib / el, n / el, t / hz, hwm / 1024, n}')"
fi

awk -v el="$elapsed" -v n="$lines" -v mib="$size_mib" -v ticks="$ticks" -v hz="$ticks_per_s" -v hwm="$hwm_kb" \
    -v wcs="$wc_s" -v wcu="$wc_user" -v wcsys="$wc_sys" -v wcrss="$wc_rss_kb" -v cores="$(nproc)" \
    -v load="$(cut -d' ' -f1-3 /proc/loadavg)" -v records="$count" -v sinkticks="$sink_ticks" -v rsline="$rs_line" 'BEGIN {
  cpu = ticks / hz; wcs = (wcs > 0 ? wcs : 0.01); wcc = wcu + wcsys;
  printf "\n== log-forwarder: %d MiB file, %d lines of 128 bytes, OTLP/HTTP protobuf into a counting sink ==\n", mib, n
  printf "machine: %d cores, load average at end %s\n", cores, load
  printf "%-14s %10s %12s %12s %10s %10s\n", "", "seconds", "MiB/s", "lines/s", "CPU s", "peak RSS"
  printf "%-14s %10.2f %12.1f %12.0f %10.2f %7.1f MB\n", "log-forwarder", el, mib / el, n / el, cpu, hwm / 1024
  printf "%-14s %10.2f %12.1f %12.0f %10.2f %7.1f MB\n", "wc -l", wcs, mib / wcs, n / wcs, wcc, wcrss / 1024
  printf "%-14s %10s %12s %12s %10.2f\n", "(sink)", "", "", "", sinkticks / hz
  printf "%s\n", rsline
  printf "ratio: wc -l is %.1fx faster; the forwarder used %.2f CPU s per GiB; records counted by the sink: %d\n", \
    el / wcs, cpu * 1024 / mib, records
}'
