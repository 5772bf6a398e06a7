#!/usr/bin/env bash
# The local demo's footprint: how long the launcher takes until all ten processes are ready, what each
# one holds in memory and spends in CPU under a steady load, and how long a clean stop takes.
#
# Usage: bench/demo.sh [--rate=20] [--duration=60]
# Environment: DEMO_PORT_BASE (default 17400, so a running demo on 17000 is left alone),
#              DEMO_JAVA_OPTIONS (the launcher's default when unset).
# Needs the jars (run-local.sh --build, or mvn package -DskipTests).
set -euo pipefail

RATE=20 DURATION=60
for arg in "$@"; do
  case "$arg" in
    --rate=*) RATE="${arg#*=}" ;;
    --duration=*) DURATION="${arg#*=}" ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
for module in collector-stub metrics-proxy trace-injector log-forwarder demo; do
  [[ -f "$ROOT/$module/target/$module.jar" ]] || { echo "missing $module/target/$module.jar: run mvn package -DskipTests" >&2; exit 1; }
done
CLK_TCK="$(getconf CLK_TCK)"
WORK="$(mktemp -d)"
# SIGTERM, not SIGINT: a script's background job starts with SIGINT ignored, and the JVM keeps it so.
trap 'kill -TERM "$LAUNCHER" 2>/dev/null || true; rm -rf "$WORK"' EXIT

ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

start=$(date +%s.%N)
DEMO_DIR="$WORK/run" DEMO_RATE="$RATE" DEMO_PORT_BASE="${DEMO_PORT_BASE:-17400}" \
  java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xmx64m -jar "$ROOT/demo/target/demo.jar" >"$WORK/out" 2>&1 &
LAUNCHER=$!
until grep -q "demo is running" "$WORK/out"; do
  if ! kill -0 "$LAUNCHER" 2>/dev/null; then cat "$WORK/out" >&2; exit 1; fi
  sleep 0.1
done
ready=$(date +%s.%N)

declare -A PID
while read -r name pid; do PID[$name]=$pid; done < <(sed -n 's/^\[demo\] started \([^ ]*\) (pid \([0-9]*\)).*/\1 \2/p' "$WORK/out")

declare -A T0
for name in "${!PID[@]}"; do T0[$name]=$(ticks "${PID[$name]}"); done
sleep "$DURATION"
payments=$(( RATE * DURATION ))

printf '\nready after %.2f s (%d processes); %d payments at %d/s over %d s\n\n' \
  "$(echo "$ready - $start" | bc)" "${#PID[@]}" "$payments" "$RATE" "$DURATION"
printf '%-28s %10s %22s\n' process "RSS MB" "CPU ms / 1000 payments"
total_rss=0 total_ticks=0
for name in $(printf '%s\n' "${!PID[@]}" | sort); do
  pid=${PID[$name]}
  t=$(( $(ticks "$pid") - T0[$name] ))
  r=$(rss_kib "$pid")
  total_rss=$(( total_rss + r )); total_ticks=$(( total_ticks + t ))
  printf '%-28s %10.1f %22.0f\n' "$name" "$(echo "$r / 1024" | bc -l)" \
    "$(echo "$t * 1000 / $CLK_TCK * 1000 / $payments" | bc -l)"
done
printf '%-28s %10.1f %22.0f\n' "all" "$(echo "$total_rss / 1024" | bc -l)" \
  "$(echo "$total_ticks * 1000 / $CLK_TCK * 1000 / $payments" | bc -l)"

stop=$(date +%s.%N)
kill -TERM "$LAUNCHER"
wait "$LAUNCHER" || true
stopped=$(date +%s.%N)
printf '\nclean stop after %.2f s; exit codes: %s\n' "$(echo "$stopped - $stop" | bc)" \
  "$(grep -o 'stopped [^ ]* (exit [0-9]*' "$WORK/out" | awk '{print $2"="$4}' | tr '\n' ' ')"
