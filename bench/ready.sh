#!/usr/bin/env bash
# Time to ready of a sidecar jar: from launching `java` to the first 200 from /readyz, measured as
# bench/proxy.sh measures it (curl polling every 5 ms), repeated so one slow start does not decide.
#
# Usage: bench/ready.sh [--runs=5] [--jar=metrics-proxy/target/metrics-proxy.jar] [label=flags ...]
# Each label=flags argument is one variant of JVM flags; the default compares the Dockerfile's flags with
# C1 only, and with an AppCDS archive made from one training start of the same jar (JDK 17: two steps,
# -XX:ArchiveClassesAtExit then -XX:SharedArchiveFile). Variants run interleaved, run by run, so a change
# in the machine's load touches all of them alike. Prints every run, then min / median / max per variant.
# The sidecar runs as bench/proxy.sh runs it: telemetry on, to an OTLP endpoint nobody listens on (export
# happens later and does not delay readiness), access log on, to a file.
# --aot (JDK 24 or later as `java`): the default variants become the AppCDS archive against the JDK's AOT
# cache (JEP 483/514: classes loaded and linked ahead of time, made by one training start with
# -XX:AOTCacheOutput), each with and without C1 only.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS=5
JAR="$ROOT/metrics-proxy/target/metrics-proxy.jar"
VARIANTS=()
AOT_VARIANTS=false
for arg in "$@"; do
  case "$arg" in
    --aot) AOT_VARIANTS=true ;;
    --runs=*) RUNS="${arg#*=}" ;;
    --jar=*) JAR="${arg#*=}" ;;
    *=*) VARIANTS+=("$arg") ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done
command -v curl >/dev/null || { echo "needs curl" >&2; exit 1; }
[[ -f "$JAR" ]] || { echo "no $JAR: run mvn -pl metrics-proxy -am package -DskipTests" >&2; exit 1; }

WORK="$(mktemp -d)"
PID=
cleanup() {
  [[ -n "$PID" ]] && kill "$PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

DOCKERFILE_FLAGS="-XX:+UseSerialGC -XX:MaxRAMPercentage=50 -Xms8m -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30 -Xss512k -XX:ReservedCodeCacheSize=32m -XX:MaxMetaspaceSize=64m -XX:-UsePerfData -XX:+ExitOnOutOfMemoryError -XX:+UnlockExperimentalVMOptions -XX:TrimNativeHeapInterval=5000 -XX:MaxRAM=256m"
CDS="$WORK/app.jsa" AOT="$WORK/app.aot"
if [[ ${#VARIANTS[@]} -eq 0 ]] && $AOT_VARIANTS; then
  VARIANTS=(
    "appcds=$DOCKERFILE_FLAGS -XX:SharedArchiveFile=$CDS"
    "appcds+c1=$DOCKERFILE_FLAGS -XX:SharedArchiveFile=$CDS -XX:TieredStopAtLevel=1"
    "aot=$DOCKERFILE_FLAGS -XX:AOTCache=$AOT"
    "aot+c1=$DOCKERFILE_FLAGS -XX:AOTCache=$AOT -XX:TieredStopAtLevel=1"
  )
elif [[ ${#VARIANTS[@]} -eq 0 ]]; then
  VARIANTS=(
    "dockerfile=$DOCKERFILE_FLAGS"
    "c1=$DOCKERFILE_FLAGS -XX:TieredStopAtLevel=1"
    "appcds=$DOCKERFILE_FLAGS -XX:SharedArchiveFile=$CDS"
    "appcds+c1=$DOCKERFILE_FLAGS -XX:SharedArchiveFile=$CDS -XX:TieredStopAtLevel=1"
  )
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }
DEAD_PORT="$(free_port)"

# One start: prints milliseconds from launch to /readyz 200, then stops the sidecar (SIGTERM).
start_once() { # flags
  local proxy admin start
  proxy="$(free_port)" admin="$(free_port)"
  start=$(now_ms)
  env TARGET_URL="http://127.0.0.1:$DEAD_PORT" ROUTES="/users/{id}" PROXY_PORT="$proxy" ADMIN_PORT="$admin" \
    BIND_ADDRESS=127.0.0.1 OTEL_SERVICE_NAME=bench-app OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$DEAD_PORT" \
    OTEL_LOGS_EXPORTER=none DRAIN_DELAY=0s \
    java $1 -jar "$JAR" >"$WORK/out" 2>"$WORK/err" & PID=$!
  until [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$admin/readyz" || true)" == 200 ]]; do
    kill -0 "$PID" 2>/dev/null || { echo "sidecar exited: $(cat "$WORK/err")" >&2; exit 1; }
    (( $(now_ms) - start < 60000 )) || { echo "not ready within 60 s" >&2; exit 1; }
    sleep 0.005
  done
  echo $(( $(now_ms) - start ))
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
}

# The AppCDS archive: one training start (to ready, then SIGTERM), dumping the classes it loaded at exit.
if [[ "${VARIANTS[*]}" == *"$CDS"* ]]; then
  start_once "$DOCKERFILE_FLAGS -XX:ArchiveClassesAtExit=$CDS" >/dev/null
  [[ -f "$CDS" ]] || { echo "no archive written: $(cat "$WORK/err")" >&2; exit 1; }
  echo "AppCDS archive: $(( $(stat -c %s "$CDS") / 1024 / 1024 )) MiB"
fi
# The AOT cache: the same kind of training start; at exit the JVM writes the cache (in a child JVM).
if [[ "${VARIANTS[*]}" == *"$AOT"* ]]; then
  start_once "$DOCKERFILE_FLAGS -XX:AOTCacheOutput=$AOT" >/dev/null
  [[ -f "$AOT" ]] || { echo "no AOT cache written (JDK 24 or later?): $(cat "$WORK/err")" >&2; exit 1; }
  echo "AOT cache: $(( $(stat -c %s "$AOT") / 1024 / 1024 )) MiB"
fi

declare -A TIMES
for run in $(seq 1 "$RUNS"); do
  for v in "${VARIANTS[@]}"; do
    label="${v%%=*}"
    ms="$(start_once "${v#*=}")"
    TIMES[$label]+="$ms "
    echo "run $run $label ${ms} ms"
  done
done
printf '%-12s %8s %8s %8s   %s\n' variant "min ms" "median" "max ms" flags
for v in "${VARIANTS[@]}"; do
  label="${v%%=*}"
  read -r -a sorted <<<"$(tr ' ' '\n' <<<"${TIMES[$label]}" | sed '/^$/d' | sort -n | tr '\n' ' ')"
  printf '%-12s %8s %8s %8s   %s\n' "$label" "${sorted[0]}" "${sorted[$(( ${#sorted[@]} / 2 ))]}" "${sorted[-1]}" "${v#*=}"
done
