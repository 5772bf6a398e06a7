#!/usr/bin/env bash
# Builds the images of the four components (and the demo app and the demo's services for the end-to-end
# check) with podman on the local base image, and reports each image's size over the base.
# Usage: images/build-images.sh        Needs <module>/target/<module>.jar (mvn package); builds them if missing.
# Env: BASE_IMAGE (default localhost/sidecar-base:17, made by build-base.sh), IMAGE_TAG (default dev).
set -euo pipefail
cd "$(dirname "$0")"
source ./lib.sh
root=$(cd .. && pwd)

ensure_tools
ensure_containers_conf
podman image exists "$BASE_IMAGE" || ./build-base.sh

missing=()
for c in "${COMPONENTS[@]}"; do
  [[ -f "$root/$c/target/$c.jar" ]] || missing+=("$c")
done
[[ -f "$root/demo/target/demo.jar" ]] || missing+=(demo)
if ((${#missing[@]})); then
  log "packaging ${missing[*]}"
  (cd "$root" && mvn -B -ntp -q package -DskipTests -pl "$(IFS=,; echo "${missing[*]}")" -am)
fi

# The demo app: one source file on the JDK's own HTTP server, compiled here (the base has only a JRE).
demo_build=$(mktemp -d)
trap 'rm -rf "$demo_build"' EXIT
javac --release 17 -d "$demo_build/classes" demo-app/DemoApp.java
jar --create --file "$demo_build/demo-app.jar" --main-class DemoApp -C "$demo_build/classes" .
cp demo-app/Dockerfile "$demo_build/Dockerfile"
# The demo's services (payment calls fraud-check over gRPC): the demo module's jar, grpc-java inside.
mkdir -p "$demo_build/services"
cp "$root/demo/target/demo.jar" demo-services/Dockerfile "$demo_build/services/"

build() { # name context dockerfile
  podman build -q --pull=never --build-arg "BASE=$BASE_IMAGE" --build-arg "VERSION=$IMAGE_TAG" \
    -t "localhost/$1:$IMAGE_TAG" -f "$3" "$2" >/dev/null
}

base_bytes=$(image_bytes "$BASE_IMAGE")
printf '%-16s %12s %14s\n' image "size (MiB)" "over base (KiB)"
printf '%-16s %12s %14s\n' "$(basename "${BASE_IMAGE%%:*}")" "$((base_bytes / 1048576))" "-"
for c in "${COMPONENTS[@]}" demo-app demo-services; do
  if [[ $c == demo-app ]]; then
    build "$c" "$demo_build" "$demo_build/Dockerfile"
  elif [[ $c == demo-services ]]; then
    build "$c" "$demo_build/services" "$demo_build/services/Dockerfile"
  else
    build "$c" "$root/$c" "$root/$c/Dockerfile"
  fi
  bytes=$(image_bytes "localhost/$c:$IMAGE_TAG")
  printf '%-16s %12s %14s\n' "$c" "$((bytes / 1048576))" "$(((bytes - base_bytes) / 1024))"
done
