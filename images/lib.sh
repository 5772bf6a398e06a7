# Shared by the scripts in images/: container tools, a containers.conf that fits this machine, names.
# Sourced, not run.

BASE_IMAGE="${BASE_IMAGE:-localhost/sidecar-base:17}"
IMAGE_TAG="${IMAGE_TAG:-dev}"
COMPONENTS=(collector-stub log-forwarder metrics-proxy trace-injector)

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# podman, buildah, runc, debootstrap (and curl) from the distribution when one is missing (CI runs as root).
ensure_tools() {
  local missing=()
  command -v podman >/dev/null || missing+=(podman)
  command -v buildah >/dev/null || missing+=(buildah)
  command -v runc >/dev/null || missing+=(runc)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v curl >/dev/null || missing+=(curl)
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    [[ $(id -u) == 0 ]] || die "need root to install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# A containers.conf with runc as the runtime and default ulimits the machine allows (nofile at most the hard
# limit, nproc at most 32768), unless CONTAINERS_CONF already names one.
ensure_containers_conf() {
  if [[ -n "${CONTAINERS_CONF:-}" ]]; then
    [[ -f "$CONTAINERS_CONF" ]] || die "CONTAINERS_CONF=$CONTAINERS_CONF does not exist"
    return
  fi
  local hard_nofile hard_nproc nofile nproc
  hard_nofile=$(ulimit -Hn)
  hard_nproc=$(ulimit -Hu)
  nofile=65536
  [[ "$hard_nofile" != unlimited && "$hard_nofile" -lt "$nofile" ]] && nofile=$hard_nofile
  nproc=32768
  [[ "$hard_nproc" != unlimited && "$hard_nproc" -lt "$nproc" ]] && nproc=$hard_nproc
  # One fixed file, rewritten each time: nothing accumulates in the temp directory.
  CONTAINERS_CONF="${TMPDIR:-/tmp}/sidecar-suite-containers.conf"
  cat >"$CONTAINERS_CONF" <<CONF
[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  export CONTAINERS_CONF
  log "containers.conf: $CONTAINERS_CONF (nofile=$nofile, nproc=$nproc, runtime runc)"
}

# The first Debian mirror of this machine's own apt sources (deb822 .sources or one-line lists).
apt_mirror() {
  local uri
  uri=$(grep -hsE '^[[:space:]]*URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | awk '{print $2}' | grep -v -- '-security' | head -n1 || true)
  if [[ -z "$uri" ]]; then
    uri=$(grep -hsE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      | sed -E 's/\[[^]]*\]//' | awk '{print $2}' | grep -v -- '-security' | head -n1 || true)
  fi
  [[ -n "$uri" ]] || die "no Debian mirror found in the apt sources"
  printf '%s\n' "$uri"
}

# wait_http URL SECONDS: until URL answers 2xx; 1 when SECONDS pass first.
wait_http() { # url seconds
  local until=$((SECONDS + $2))
  while ((SECONDS < until)); do
    curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null && return 0
    sleep 1
  done
  return 1
}

# Bytes of an image as podman reports it.
image_bytes() { podman image inspect --format '{{.Size}}' "$1"; }
