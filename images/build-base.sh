#!/usr/bin/env bash
# Builds the local Java 17 base image without any registry: a debootstrap --variant=minbase of this
# machine's Debian release plus openjdk-17-jre-headless, trimmed and imported with `podman import`.
# Usage: images/build-base.sh [--force]     (BASE_IMAGE overrides the name, default localhost/sidecar-base:17)
set -euo pipefail
cd "$(dirname "$0")"
source ./lib.sh

force=false
[[ "${1:-}" == "--force" ]] && force=true
ensure_tools
ensure_containers_conf

if ! $force && podman image exists "$BASE_IMAGE"; then
  log "$BASE_IMAGE exists (use --force to rebuild)"
  exit 0
fi

suite=$(. /etc/os-release && echo "${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}")
mirror=$(apt_mirror)
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT

log "debootstrap --variant=minbase $suite (mirror from the apt sources) + openjdk-17-jre-headless"
start=$SECONDS
debootstrap --variant=minbase --include=openjdk-17-jre-headless "$suite" "$rootfs" "$mirror" \
  >"$rootfs.log" 2>&1 || { tail -n 30 "$rootfs.log" >&2; die "debootstrap failed (log: $rootfs.log)"; }
log "debootstrap took $((SECONDS - start)) s"

# Only what a JRE needs at run time: no package caches, docs, man pages, locales or apt lists.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
  "$rootfs"/usr/share/locale/* "$rootfs"/var/log/*.log "$rootfs"/var/cache/debconf/*-old
java_home=$(cd "$rootfs" && ls -d usr/lib/jvm/java-17-openjdk-* | head -n1)
[[ -x "$rootfs/$java_home/bin/java" ]] || die "no java in the root filesystem"

tar -C "$rootfs" -c . | podman import --quiet \
  --change "ENV JAVA_HOME=/$java_home" \
  --change "ENV PATH=/$java_home/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "ENV LANG=C.UTF-8" \
  --change 'CMD ["java", "-version"]' \
  - "$BASE_IMAGE" >/dev/null
rm -f "$rootfs.log"
log "$BASE_IMAGE: $(($(image_bytes "$BASE_IMAGE") / 1024 / 1024)) MiB"
