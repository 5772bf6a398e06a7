#!/usr/bin/env bash
# The whole suite on this machine: builds the jars the demo needs when one is missing or older than its
# sources (or with --build), then runs the demo launcher, which starts the collector-stub, payment and
# fraud-check, a metrics-proxy, trace-injector and log-forwarder for each, and a gentle load, as separate
# processes. Ctrl-C stops them all, sidecars last.
# Variables: DEMO_PORT_BASE (17000; 0 = free ports), DEMO_RATE (2 payments/s; 0 = none), DEMO_DIR (demo-run);
# docs/demo.md has the rest.
set -euo pipefail
cd "$(dirname "$0")"

usage() {
  cat <<'EOF'
Usage: ./run-local.sh [--build]

Builds what the demo needs when a jar is missing or older than its sources, then runs the demo.
  --build   build even when the jars look current (e.g. after changing Maven's settings)
  --help    this text
The demo's variables (DEMO_PORT_BASE, DEMO_RATE, DEMO_DIR, ...) are described in docs/demo.md.
EOF
}

force=0
for arg in "$@"; do
  case "$arg" in
    --build) force=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run-local.sh: unknown option $arg" >&2; usage >&2; exit 2 ;;
  esac
done

# The modules whose jars the demo runs, and what goes into them: their own sources and poms, the shared
# runtime's, and the parent pom.
modules=(collector-stub metrics-proxy trace-injector log-forwarder demo)
inputs=(pom.xml sidecar-runtime/pom.xml sidecar-runtime/src/main)
for module in "${modules[@]}"; do
  inputs+=("$module/pom.xml" "$module/src/main")
done

# Why a build is needed, or nothing when every jar is newer than every input.
stale_reason() {
  local module jar oldest="" newer
  for module in "${modules[@]}"; do
    jar="$module/target/$module.jar"
    [[ -f $jar ]] || { echo "$jar is missing"; return; }
    if [[ -z $oldest || $jar -ot $oldest ]]; then oldest=$jar; fi
  done
  newer=$(find "${inputs[@]}" -type f -newer "$oldest" -print -quit 2>/dev/null || true)
  [[ -z $newer ]] || echo "$newer is newer than $oldest"
}

build() {
  local log_dir="${DEMO_DIR:-demo-run}"
  mkdir -p "$log_dir"
  local log="$log_dir/build.log"
  local started=$SECONDS
  echo "run-local.sh: building the jars the demo needs (${modules[*]}) with Maven."
  echo "run-local.sh: usually 1 to 2 minutes on 2 cores; the first build takes longer while Maven downloads"
  echo "run-local.sh: the dependencies. Tests are skipped here (mvn -B -ntp verify runs them). Full log: $log"
  command -v mvn >/dev/null 2>&1 || { echo "run-local.sh: mvn not found: install Maven 3.8 or later" >&2; exit 1; }
  local downloads=0 line
  local module_line='^\[INFO\] Building (.+) [^ ]+ +\[([0-9]+)/([0-9]+)\]$'
  set +e
  # Batch mode (no progress bars, no colours), downloads listed but not animated; one line per module here.
  mvn -B -Dmaven.test.skip=true -pl "$(IFS=,; echo "${modules[*]}")" -am package 2>&1 \
    | sed -u 's/\x1b\[[0-9;]*m//g' \
    | while IFS= read -r line; do
        printf '%s\n' "$line" >>"$log"
        if [[ $line =~ $module_line ]]; then
          printf '  [%s/%s] %s (%d s)\n' "${BASH_REMATCH[2]}" "${BASH_REMATCH[3]}" "${BASH_REMATCH[1]}" $((SECONDS - started))
        elif [[ $line == "Downloaded from "* || $line == "[INFO] Downloaded from "* ]]; then
          downloads=$((downloads + 1))
          ((downloads % 25 == 1)) && printf '  downloading dependencies: %d so far (%d s)\n' "$downloads" $((SECONDS - started))
        elif [[ $line == "[ERROR]"* ]]; then
          printf '  %s\n' "$line"
        fi
      done
  local status=${PIPESTATUS[0]}
  set -e
  if ((status != 0)); then
    echo "run-local.sh: the build failed (mvn exit $status); the errors are above, everything in $log" >&2
    exit "$status"
  fi
  echo "run-local.sh: built in $((SECONDS - started)) s."
}

reason=$(stale_reason)
if ((force)); then
  build
elif [[ -n $reason ]]; then
  echo "run-local.sh: $reason."
  build
fi

exec java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xmx64m -jar demo/target/demo.jar
