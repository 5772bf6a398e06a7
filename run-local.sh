#!/usr/bin/env bash
# The whole suite on this machine: builds the jars when any is missing (or with --build), then runs the demo
# launcher, which starts the collector-stub, payment and fraud-check, a metrics-proxy, trace-injector and
# log-forwarder for each, and a gentle load, as separate processes. Ctrl-C stops them all, sidecars last.
# Variables: DEMO_PORT_BASE (17000; 0 = free ports), DEMO_RATE (2 payments/s; 0 = none), DEMO_DIR (demo-run).
set -euo pipefail
cd "$(dirname "$0")"

jars=(collector-stub metrics-proxy trace-injector log-forwarder demo)
missing=0
for module in "${jars[@]}"; do
  [[ -f "$module/target/$module.jar" ]] || missing=1
done
if [[ "${1:-}" == "--build" || $missing == 1 ]]; then
  mvn -B -q -ntp package -DskipTests
fi

exec java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xmx64m -jar demo/target/demo.jar
