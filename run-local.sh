#!/usr/bin/env bash
# Runs the suite locally. For now that is the collector-stub with its web UI; the sidecars join it as
# they land. Builds the jars first when they are missing (or with --build).
set -euo pipefail
cd "$(dirname "$0")"

if [[ "${1:-}" == "--build" || ! -f collector-stub/target/collector-stub.jar ]]; then
  mvn -B -q -ntp package -DskipTests
fi

echo "OTLP/HTTP on :${OTLP_HTTP_PORT:-4318}, OTLP/gRPC on :${OTLP_GRPC_PORT:-4317}, web UI on http://localhost:${UI_PORT:-16686}/ (Ctrl-C stops)"
exec java -XX:+UseSerialGC -Xss512k -jar collector-stub/target/collector-stub.jar
