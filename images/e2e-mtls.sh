#!/usr/bin/env bash
# End to end, mutual TLS between two pods: the chart, rendered twice with classic sidecars and the demo app,
# runs as two real pods under `podman kube play`. The client pod's app makes a plain call to its
# trace-injector (UPSTREAM_TLS=mtls, the server's SPIFFE ID expected); the server pod's metrics-proxy
# (TLS_MODE=mtls) verifies the client's certificate and hands the call to its app. Certificates are made here
# with openssl (a CA and one workload certificate per pod, keys in PKCS#8) and mounted as the chart mounts
# its Secret. Checks: the call passes, the server's access log names the client's identity, trace-injector
# counted no failed handshake, and the server refuses plaintext and a client without a certificate.
#
# Usage: images/e2e-mtls.sh
# Env:
#   E2E_KEEP=1                    leave the pods running for a look (cleaned up otherwise).
#   IMAGE_TAG                     the images' tag (default e2e-mtls, built from this checkout).
#   BASE_IMAGE, CONTAINERS_CONF   as for build-images.sh.
# Exits non-zero when a check fails; needs root (podman, and apt-get for missing tools).
set -euo pipefail
cd "$(dirname "$0")"
export IMAGE_TAG="${IMAGE_TAG:-e2e-mtls}"
source ./lib.sh
root=$(cd .. && pwd)

ensure_tools
command -v openssl >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null; }
ensure_containers_conf
podman image exists "$BASE_IMAGE" || ./build-base.sh
./build-images.sh

work=$(mktemp -d)
server=sidecar-e2e-mtls-server
client=sidecar-e2e-mtls-client
# podman kube play binds declared container ports on the host: each pod's app gets a port of its own.
APP=8080 CLIENT_APP=8081 MP_PROXY=15001 MP_ADMIN=15090 TI_PROXY=15002 TI_ADMIN=15091
CLIENT_ID=spiffe://cluster.local/ns/e2e/sa/checkout
SERVER_ID=spiffe://cluster.local/ns/e2e/sa/ledger

cleanup() {
  local code=$?
  if [[ "${E2E_KEEP:-0}" == 1 ]]; then
    log "kept: pods $server, $client (files in $work)"
    return
  fi
  for f in "$work"/*-pod.yaml; do [[ -f $f ]] && podman kube down "$f" >/dev/null 2>&1 || true; done
  for p in "${pods[@]:-}"; do [[ -n $p ]] && podman pod rm -f "$p" >/dev/null 2>&1 || true; done
  if ((code == 0)); then rm -rf "$work"; else log "logs of the run: $work"; fi
}
pods=()
trap cleanup EXIT

# --- certificates: a CA and a workload certificate per pod (URI SAN = its identity), keys PKCS#8
certs() { # name identity
  local dir="$work/$1"
  mkdir -p "$dir"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/tls.key" 2>/dev/null
  openssl req -new -key "$dir/tls.key" -subj "/O=e2e" -out "$dir/tls.csr" 2>/dev/null
  printf 'subjectAltName=URI:%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$2" >"$dir/ext.cnf"
  openssl x509 -req -in "$dir/tls.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial -days 1 \
    -extfile "$dir/ext.cnf" -out "$dir/tls.crt" 2>/dev/null
  cp "$work/ca.crt" "$dir/ca.crt"
  chmod 0755 "$dir"
  chmod 0644 "$dir"/tls.crt "$dir"/tls.key "$dir"/ca.crt # the sidecars run as 10001; test material only
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/ca.key" -subj "/CN=e2e mesh CA" \
  -days 1 -out "$work/ca.crt" 2>/dev/null
certs server "$SERVER_ID"
certs client "$CLIENT_ID"

# --- render the chart (Helm's engine through chart-tests, no helm binary)
log "compiling the chart renderer"
(cd "$root" && mvn -B -ntp -q -pl chart-tests test-compile dependency:build-classpath \
  -Dmdep.outputFile="$work/classpath.txt" -Dmdep.includeScope=test >"$work/mvn.log" 2>&1) \
  || { tail -n 30 "$work/mvn.log" >&2; die "chart-tests did not compile"; }
render() { # name values pod.yaml tls-dir: the chart's Secret volume becomes the directory of files made here
  java -cp "$root/chart-tests/target/test-classes:$(cat "$work/classpath.txt")" \
    -Dchart.dir="$root/helm/sidecar-suite" dev.sidecars.chart.RenderChart "$2" "$3.rendered" Deployment --podman
  awk -v dir="$4" '
    /^ *secret: *$/ { indent = index($0, "s"); print substr($0, 1, indent - 1) "hostPath: {path: \"" dir "\", type: Directory}"; skip = 1; next }
    skip && match($0, /^ */) && RLENGTH >= indent { next }
    { skip = 0; print }
  ' "$3.rendered" >"$3"
  grep -q "path: \"$4\"" "$3" || die "the rendered $1 pod mounts no TLS files"
}
start_pod() { # name pod.yaml -> sets pod_ip
  podman kube play --replace "$2" >"$work/$1-play.log" 2>&1 || { cat "$work/$1-play.log" >&2; die "podman kube play $1 failed"; }
  local id
  id=$(awk '/^Pod:/ {getline; print; exit}' "$work/$1-play.log")
  [[ -n "$id" ]] || { cat "$work/$1-play.log" >&2; die "podman kube play started no pod for $1"; }
  pods+=("$id")
  pod_ip=$(podman pod inspect "$id" --format '{{.InfraContainerID}}' | xargs podman inspect \
    --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}')
  [[ -n "$pod_ip" ]] || die "the $1 pod has no address on the bridge network"
}

common_values() { # name app-port
  cat <<VALUES
fullnameOverride: $1
sidecarMode: classic
preStopSleepSeconds: 0
shutdownGrace: 5s
tls: {secretName: $1-tls}
app:
  name: demo
  image: {repository: localhost/demo-app, tag: "$IMAGE_TAG", pullPolicy: Never}
  port: $2
  readinessPath: /healthz
VALUES
}
{
  common_values "$server" "$APP"
  cat <<VALUES
  env: [{name: APP_PORT, value: "$APP"}, {name: APP_LOG_FILE, value: /tmp/app.log}]
metricsProxy:
  enabled: true
  image: {repository: localhost/metrics-proxy, tag: "$IMAGE_TAG", pullPolicy: Never}
  proxyPort: $MP_PROXY
  adminPort: $MP_ADMIN
  accessLog: true
  tls: {mode: mtls}
traceInjector: {enabled: false}
logForwarder: {enabled: false}
VALUES
} >"$work/server-values.yaml"
log "the server pod: metrics-proxy with TLS_MODE=mtls"
render "$server" "$work/server-values.yaml" "$work/server-pod.yaml" "$work/server"
start_pod "$server" "$work/server-pod.yaml"
SERVER=$pod_ip
wait_http "http://$SERVER:$MP_ADMIN/readyz" 90 || { podman pod logs "${pods[0]}" >&2 || true; die "the server's metrics-proxy is not ready"; }

{
  common_values "$client" "$CLIENT_APP"
  cat <<VALUES
  env:
    - {name: APP_PORT, value: "$CLIENT_APP"}
    - {name: CALL_TARGET, value: ledger/orders/7}
    - {name: APP_LOG_FILE, value: /tmp/app.log} # no log-forwarder here, so no log volume: /tmp is the app's writable mount
metricsProxy: {enabled: false}
traceInjector:
  enabled: true
  image: {repository: localhost/trace-injector, tag: "$IMAGE_TAG", pullPolicy: Never}
  proxyPort: $TI_PROXY
  adminPort: $TI_ADMIN
  upstreams: {ledger: "http://$SERVER:$MP_PROXY"}
  upstreamTls: mtls
  upstreamIdentities: {ledger: ["$SERVER_ID"]}
logForwarder: {enabled: false}
VALUES
} >"$work/client-values.yaml"
log "the client pod: trace-injector with UPSTREAM_TLS=mtls, server at $SERVER"
render "$client" "$work/client-values.yaml" "$work/client-pod.yaml" "$work/client"
start_pod "$client" "$work/client-pod.yaml"
CLIENT=$pod_ip
wait_http "http://$CLIENT:$TI_ADMIN/readyz" 90 || die "the client's trace-injector is not ready"
wait_http "http://$CLIENT:$CLIENT_APP/healthz" 90 || die "the client's app is not ready"

# --- checks
failed=0
check() { # name command...
  local name=$1
  shift
  echo "--- $name" >>"$work/checks.log"
  if "$@" >>"$work/checks.log" 2>&1; then log "PASS  $name"; else log "FAIL  $name"; failed=$((failed + 1)); fi
}
contains() { grep "$@" >/dev/null; }
call_passes() { curl -fsS --max-time 15 "http://$CLIENT:$CLIENT_APP/call" | contains '^status 200'; }
container_logs_mention() { # container text
  local c
  for c in $(podman pod inspect "${pods[0]}" --format '{{range .Containers}}{{.Name}} {{end}}'); do
    [[ $c == *metrics-proxy* ]] && podman logs "$c" 2>&1 | contains "$1" && return 0
  done
  return 1
}
no_failed_handshake() {
  curl -fsS --max-time 5 "http://$CLIENT:$TI_ADMIN/metrics" | grep '^tls_handshake_failures_total' \
    | awk '{ if ($2 != "0.0") bad = 1 } END { exit bad }'
}
plaintext_refused() { ! curl -fsS -o /dev/null --max-time 5 "http://$SERVER:$MP_PROXY/orders/1"; }
no_cert_refused() {
  ! curl -fsS -o /dev/null --max-time 5 --cacert "$work/ca.crt" -k "https://$SERVER:$MP_PROXY/orders/1"
}
with_cert_passes() {
  curl -fsS -o /dev/null --max-time 5 -k --cacert "$work/ca.crt" --cert "$work/client/tls.crt" \
    --key "$work/client/tls.key" "https://$SERVER:$MP_PROXY/orders/1"
}

check "a plain call from the client's app passes over mTLS" call_passes
check "the server's access log names the client's identity" container_logs_mention "\"peer\":\"$CLIENT_ID\""
check "trace-injector counted no failed handshake" no_failed_handshake
check "the server refuses plaintext" plaintext_refused
check "the server refuses a client without a certificate" no_cert_refused
check "curl with the client's certificate passes" with_cert_passes

if ((failed)); then
  cat "$work/checks.log" >&2
  die "$failed check(s) failed"
fi
log "all checks passed"
