#!/usr/bin/env bash
# mTLS hop benchmark: what metrics-proxy terminating mutual TLS costs, next to nginx doing the same.
#
# One run puts the same load on three paths to one backend (nginx, one worker, a 1 KiB answer over plain
# HTTP), with certificates the script makes with openssl in a temp directory (a CA; a server certificate
# for 127.0.0.1; a client certificate with a SPIFFE URI SAN; P-256 keys, or RSA 2048 with --key-type=rsa):
#   direct          client -> backend, plain HTTP/1.1 (the baseline the added latency is measured from)
#   metrics-proxy   client -mTLS-> metrics-proxy (TLS_MODE=mtls, TLS_CERT_FILE, TLS_KEY_FILE, TLS_CA_FILE;
#                   spans and metrics on, OTLP to a local collector-stub, access log on) -> backend
#   nginx           client -mTLS-> nginx (`listen ... ssl`, ssl_verify_client on, worker_processes 1,
#                   keep-alive upstream pool of 64, no access log) -> backend
# and prints, per path: on keep-alive connections, p50/p99 latency at a fixed rate and what the hop adds
# over direct, maximum requests/s, CPU seconds per 1000 requests and RSS of the hop (median of per-second
# samples at the fixed rate); then new TLS handshakes per second and the hop's CPU per handshake; and
# metrics-proxy's ratios to nginx.
#
# Keep-alive load: bench.jar's HttpLoad (the JDK's TLS with the client certificate, which wrk cannot send
# and h2load cannot either: one thread and one keep-alive connection each, verifying the server's
# certificate and name as a real client would), --rate requests/s over --connections connections, each
# request's latency counted from when it was due (no coordinated omission), then --max-connections
# connections flat out. Handshakes: `openssl s_time -new` (a full handshake, client certificate included,
# then `GET /users/1` over HTTP/1.0 and close, for every connection; the client skips verifying the
# server, so its own cost stays small), --handshake-clients processes in parallel for
# --handshake-duration seconds after as long a warm-up; handshakes/s = their connections / wall time.
#
# The script starts metrics-proxy with TLS_MODE=mtls and checks with curl that it answers over TLS with the
# client certificate (and refuses without one); if not (a build from before its TLS listener), its row
# prints "not available" with the reason and the other two are measured.
#
# Usage: bench/tls.sh [--rate=1000] [--duration=20] [--warmup=40] [--max-duration=10] [--connections=10]
#                     [--max-connections=64] [--handshake-duration=10] [--handshake-clients=2]
#                     [--key-type=ec|rsa] [--no-cds]
# Environment: PROXY_JAR, STUB_JAR, BENCH_JAR (built when missing), PROXY_JAVA_OPTS and ACCESS_LOG as for
#   bench/proxy.sh; LOAD_JAVA_OPTS, the load generator's JVM flags.
# Needs nginx, curl and openssl (Debian; installed when missing and running as root).
set -euo pipefail

RATE=1000 DURATION=20 WARMUP=40 MAX_DURATION=10 CONNECTIONS=10 MAX_CONNECTIONS=64 CDS=true
HS_DURATION=10 HS_CLIENTS=2 KEY_TYPE=ec
for arg in "$@"; do
  case "$arg" in
    --rate=*) RATE="${arg#*=}" ;;
    --duration=*) DURATION="${arg#*=}" ;;
    --warmup=*) WARMUP="${arg#*=}" ;;
    --max-duration=*) MAX_DURATION="${arg#*=}" ;;
    --connections=*) CONNECTIONS="${arg#*=}" ;;
    --max-connections=*) MAX_CONNECTIONS="${arg#*=}" ;;
    --handshake-duration=*) HS_DURATION="${arg#*=}" ;;
    --handshake-clients=*) HS_CLIENTS="${arg#*=}" ;;
    --key-type=ec|--key-type=rsa) KEY_TYPE="${arg#*=}" ;;
    --no-cds) CDS=false ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
LOAD_JAVA_OPTS="${LOAD_JAVA_OPTS:--XX:+UseSerialGC -Xms256m -Xmx256m}"
CLK_TCK="$(getconf CLK_TCK)"

need_tools nginx:nginx curl:curl openssl:openssl
sidecar_jars metrics-proxy collector-stub bench
HOP_MAIN=(-jar "$PROXY_JAR")

make_work

# --- certificates: a CA, a server certificate for 127.0.0.1, a client certificate (PKCS#8 PEM keys) ---
PKI="$WORK/pki"; mkdir -p "$PKI"
if [[ $KEY_TYPE == rsa ]]; then KEYGEN=(-algorithm RSA -pkeyopt rsa_keygen_bits:2048); else KEYGEN=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256); fi
for name in ca server client; do openssl genpkey "${KEYGEN[@]}" -out "$PKI/$name.key" 2>/dev/null; done
openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=bench CA" -days 2 -out "$PKI/ca.pem" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
issue() { # name subject extensions
  openssl req -new -key "$PKI/$1.key" -subj "$2" -out "$PKI/$1.csr" 2>/dev/null
  printf '%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n' "$3" >"$PKI/$1.ext"
  openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial -days 2 \
    -extfile "$PKI/$1.ext" -out "$PKI/$1.pem" 2>/dev/null
}
issue server "/CN=localhost" $'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth'
issue client "/CN=load" $'subjectAltName=URI:spiffe://bench.local/ns/bench/sa/load\nextendedKeyUsage=clientAuth'
CLIENT_TLS=(--cacert "$PKI/ca.pem" --cert "$PKI/client.pem" --key "$PKI/client.key")

# --- backend: nginx answering 1 KiB over plain HTTP ---
BACKEND_PORT="$(free_port)"
BODY="$(head -c 1024 /dev/zero | tr '\0' 'x')"
nginx_conf backend "$BACKEND_PORT" "" "location / { default_type text/plain; return 200 '$BODY'; }"
nginx -c "$WORK/backend/nginx.conf" -p "$WORK/backend" & PIDS+=($!)
wait_http "http://127.0.0.1:$BACKEND_PORT/" 200 10

# tls_check NAME PORT: empty when NAME answers 200 over mTLS and refuses a client without a certificate,
# else why not.
tls_check() {
  local code
  code="$(curl -s -o /dev/null -w '%{http_code}' "${CLIENT_TLS[@]}" "https://127.0.0.1:$2/users/1" || true)"
  [[ $code == 200 ]] || { echo "no answer over TLS with a client certificate (curl: HTTP ${code:-none}): no TLS listener yet?"; return; }
  code="$(curl -s -o /dev/null -w '%{http_code}' --cacert "$PKI/ca.pem" "https://127.0.0.1:$2/users/1" || true)"
  [[ $code != 200 ]] || echo "answers without a client certificate: not mTLS"
}

# --- metrics-proxy with TLS_MODE=mtls ---
start_collector_stub
PROXY_PORT="$(free_port)" ADMIN_PORT="$(free_port)"
HOP_ENV=(TARGET_URL="http://127.0.0.1:$BACKEND_PORT" ROUTES="/users/{id}" PROXY_PORT="$PROXY_PORT" ADMIN_PORT="$ADMIN_PORT"
  TLS_MODE=mtls TLS_CERT_FILE="$PKI/server.pem" TLS_KEY_FILE="$PKI/server.key" TLS_CA_FILE="$PKI/ca.pem")
CDS_FLAGS=
$CDS && train_cds "$ADMIN_PORT" "${HOP_ENV[@]}"
start=$(now_ms)
start_sidecar proxy "$CDS_FLAGS" "${HOP_ENV[@]}"
PROXY_PID=$SIDECAR_PID PROXY_READY_MS=- PROXY_MISSING=
if ! wait_ready "http://127.0.0.1:$ADMIN_PORT/readyz" "$PROXY_PID" 30; then
  PROXY_MISSING="did not start: $(head -1 "$WORK/proxy.err")"
else
  PROXY_READY_MS=$(( $(now_ms) - start ))
  PROXY_MISSING="$(tls_check metrics-proxy "$PROXY_PORT")"
fi
if [[ -n $PROXY_MISSING ]]; then
  kill "$PROXY_PID" 2>/dev/null || true; wait "$PROXY_PID" 2>/dev/null || true
fi

# --- nginx terminating mTLS, one worker, keep-alive upstream ---
NGINX_PORT="$(free_port)"
start=$(now_ms)
nginx_conf nginx "$NGINX_PORT ssl" "upstream app { server 127.0.0.1:$BACKEND_PORT; keepalive 64; }" \
  "ssl_certificate $PKI/server.pem; ssl_certificate_key $PKI/server.key; ssl_client_certificate $PKI/ca.pem;
   ssl_verify_client on; ssl_protocols TLSv1.2 TLSv1.3;
   location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_set_header X-Forwarded-For \$remote_addr; }"
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" & NGINX_PID=$!; PIDS+=($NGINX_PID)
wait_http "https://127.0.0.1:$NGINX_PORT/users/1" 200 10 "${CLIENT_TLS[@]}"
NGINX_READY_MS=$(( $(now_ms) - start ))
NGINX_MISSING="$(tls_check nginx "$NGINX_PORT")"
[[ -z $NGINX_MISSING ]] || { echo "nginx is not set up as the benchmark needs: $NGINX_MISSING" >&2; exit 1; }

declare -A TLS HS HSCPU HSERR
run() { # name url [pid to watch]
  local out tls=()
  [[ $2 == https:* ]] && tls=(--ca="$PKI/ca.pem" --cert="$PKI/client.pem" --key="$PKI/client.key")
  out="$(java $LOAD_JAVA_OPTS -cp "$BENCH_JAR" dev.sidecars.bench.HttpLoad --url="$2" "${tls[@]}" --rate="$RATE" \
    --connections="$CONNECTIONS" --warmup="${WARMUP}s" --duration="${DURATION}s" --max-duration="${MAX_DURATION}s" \
    --max-connections="$MAX_CONNECTIONS" --watch="${3:-}" 2>"$WORK/load.$1.err")" || { cat "$WORK/load.$1.err" >&2; exit 1; }
  printf '%s\n' "$out" >"$WORK/load.$1.out"
  parse_load "$1" "$out"
  TLS[$1]="$(sed -n 's/^\[load\] tls: //p' "$WORK/load.$1.err" | head -1)"
  grep -v '^\[load\] tls: ' "$WORK/load.$1.err" | sed 's/^/  /' >&2 || true
}
s_time() { # port seconds: connections made by HS_CLIENTS parallel `openssl s_time -new`; sets HS_CONNS, HS_FAILED
  local i pids=() failed=0
  for i in $(seq 1 "$HS_CLIENTS"); do
    openssl s_time -connect "127.0.0.1:$1" -new -time "$2" -cert "$PKI/client.pem" -key "$PKI/client.key" \
      -CAfile "$PKI/ca.pem" -www /users/1 >"$WORK/s_time.$i" 2>&1 & pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || failed=$(( failed + 1 )); done
  HS_CONNS=$(cat "$WORK"/s_time.* | sed -n 's/^\([0-9]*\) connections in [0-9.]*s;.*/\1/p' | awk '{n+=$1} END {print n+0}')
  HS_FAILED=$failed
}
handshakes() { # name port pid
  s_time "$2" "$HS_DURATION"   # warm-up: the handshake code paths, which the keep-alive load never ran
  local t0 start ms
  t0=$(cpu_ticks "$3"); start=$(now_ms)
  s_time "$2" "$HS_DURATION"
  ms=$(( $(now_ms) - start ))
  HS[$1]=$(awk -v n="$HS_CONNS" -v ms="$ms" 'BEGIN{printf "%.0f", n * 1000 / ms}')
  HSCPU[$1]=$(awk -v t="$(( $(cpu_ticks "$3") - t0 ))" -v hz="$CLK_TCK" -v n="$HS_CONNS" \
    'BEGIN{ if (n > 0) printf "%.3f", t / hz / n * 1000; else printf "-" }')
  HSERR[$1]=$HS_FAILED
}
run direct "http://127.0.0.1:$BACKEND_PORT/users/1"
if [[ -z $PROXY_MISSING ]]; then
  run proxy "https://127.0.0.1:$PROXY_PORT/users/1" "$PROXY_PID"
  handshakes proxy "$PROXY_PORT" "$PROXY_PID"
fi
run nginx "https://127.0.0.1:$NGINX_PORT/users/1" "$NGINX_PID"
handshakes nginx "$NGINX_PORT" "$NGINX_PID"

echo
echo "mTLS hop benchmark  $(date -u +%Y-%m-%dT%H:%MZ)  $(nproc) CPUs  $(uname -r)  $(java -version 2>&1 | head -1)  $(openssl version)"
echo "keep-alive: ${RATE} requests/s over ${CONNECTIONS} connections, ${DURATION}s after ${WARMUP}s warm-up, latency from each"\
" request's due time; max: ${MAX_CONNECTIONS} connections, ${MAX_DURATION}s; 1 KiB answers; $KEY_TYPE keys, client certificates on both hops"
echo "handshakes: ${HS_CLIENTS} x openssl s_time -new for ${HS_DURATION}s (after as long a warm-up), each a full handshake and one GET"
echo "metrics-proxy JVM flags: $PROXY_JAVA_OPTS${CDS_FLAGS:+ and an AppCDS archive of a training start, as in the image};"\
" access log ${ACCESS_LOG:-on}; nginx: 1 worker, ssl_verify_client on, keep-alive upstream, no access log"
printf '%-14s %8s %9s %9s %10s %10s %9s %9s %9s %7s %9s %7s %8s %8s %9s\n' path "rate" "p50 ms" "p99 ms" "+p50 ms" \
  "+p99 ms" "max rps" "CPU s/1k" "warm CPU" "RSS MB" "ready ms" errors "max err" "hs/s" "CPU ms/hs"
for name in direct proxy nginx; do
  label=$name; [[ $name == proxy ]] && label=metrics-proxy
  if [[ $name == proxy && -n $PROXY_MISSING ]]; then
    printf '%-14s not available: %s\n' "$label" "$PROXY_MISSING"; continue
  fi
  ready=-; [[ $name == proxy ]] && ready=$PROXY_READY_MS; [[ $name == nginx ]] && ready=$NGINX_READY_MS
  plus50=-; plus99=-
  [[ $name != direct ]] && plus50=$(added "${P50[$name]}" "${P50[direct]}") && plus99=$(added "${P99[$name]}" "${P99[direct]}")
  printf '%-14s %8s %9s %9s %10s %10s %9s %9s %9s %7s %9s %7s %8s %8s %9s\n' "$label" "${RATE_OK[$name]}" \
    "$(us "${P50[$name]}")" "$(us "${P99[$name]}")" "$plus50" "$plus99" "${MAX[$name]}" "${CPU[$name]}" \
    "${WCPU[$name]}" "${RSS[$name]}" "$ready" "${ERR[$name]}" "${MAXERR[$name]}" "${HS[$name]:--}" "${HSCPU[$name]:--}"
done
for name in proxy nginx; do
  [[ -n ${TLS[$name]:-} ]] && echo "$([[ $name == proxy ]] && echo metrics-proxy || echo nginx) negotiated ${TLS[$name]} with the load generator"
  [[ ${HSERR[$name]:-0} != 0 ]] && echo "$name: ${HSERR[$name]} of the s_time clients failed (see their output with KEEP_WORK=1)"
done
if [[ -z $PROXY_MISSING ]]; then
  echo "metrics-proxy RSS during the paced run: median ${RSS[proxy]} MB, highest ${RSSMAX[proxy]} MB"
  echo "metrics-proxy vs nginx: max throughput $(ratio "${MAX[proxy]}" "${MAX[nginx]}"), CPU per request $(ratio "${CPU[proxy]}" "${CPU[nginx]}"),"\
" added p50 $(ratio "$(( P50[proxy] - P50[direct] ))" "$(( P50[nginx] - P50[direct] ))"),"\
" added p99 $(ratio "$(( P99[proxy] - P99[direct] ))" "$(( P99[nginx] - P99[direct] ))"), RSS $(ratio "${RSS[proxy]}" "${RSS[nginx]}"),"\
" handshakes/s $(ratio "${HS[proxy]}" "${HS[nginx]}"), CPU per handshake $(ratio "${HSCPU[proxy]}" "${HSCPU[nginx]}")"
else
  echo "metrics-proxy vs nginx: not available (metrics-proxy: $PROXY_MISSING)"
fi
echo "CPU s/1k = CPU seconds of the hop per 1000 requests at the fixed rate, after the warm-up; warm CPU = the same during"
echo "  the warm-up; max rps counts 2xx answers only; errors and max err = requests that were not 2xx or failed (reasons"
echo "  above the table); RSS MB = median of per-second samples during the paced run; hs/s = new TLS connections per"
echo "  second (handshake + one GET + close); CPU ms/hs = the hop's CPU milliseconds per such connection"
