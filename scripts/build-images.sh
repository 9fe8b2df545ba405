#!/usr/bin/env bash
# Builds the demo OCI images from Debian's busybox-static without the internet, and serves them
# from a local registry (Debian's docker-registry on 127.0.0.1) pushed with skopeo:
#   keel/pause:1  the pod sandbox ("pause") image: a shell that waits until it is signalled
#   keel/app:1    sh, httpd, sleep, wget, dd, tr and a few more busybox applets
# Each image is an OCI layout written by hand (one uncompressed tar layer, a config and a manifest
# named by their sha256 digests) under ${KEEL_STATE_DIR:-$HOME/.cache/keel-node}/images; a layout
# is rebuilt only when busybox changes, so repeat runs are cheap.
#
#   build-images.sh                 build the layouts (prints their directory)
#   build-images.sh push HOST:PORT  build, then push both images to the registry at HOST:PORT
#   build-images.sh serve [PORT]    build, start (or reuse) a registry on 127.0.0.1:PORT (5055),
#                                   push, print HOST:PORT; the registry's pid is in STATE/registry.pid
#   build-images.sh stop            stop the registry `serve` started (by its pid)
set -euo pipefail
STATE="${KEEL_STATE_DIR:-$HOME/.cache/keel-node}"
IMAGES="$STATE/images"
BUSYBOX=/bin/busybox
APPLETS=(sh ash cat dd echo env head hostname httpd id kill ls mkdir ps sleep tr true false wget)
mkdir -p "$IMAGES"

sha() { sha256sum "$1" | cut -d' ' -f1; }

# write_blob FILE: moves FILE into the layout's blobs, prints its digest.
write_blob() {
  local layout=$1 file=$2 d
  d=$(sha "$file")
  mkdir -p "$layout/blobs/sha256"
  mv "$file" "$layout/blobs/sha256/$d"
  echo "$d"
}

# build_image NAME ENTRYPOINT_JSON CMD_JSON: an OCI layout in $IMAGES/NAME with tag 1.
build_image() {
  local name=$1 entrypoint=$2 cmd=$3
  local layout="$IMAGES/$name"
  local stamp
  stamp="$(sha "$BUSYBOX") ${APPLETS[*]} $entrypoint $cmd v1"
  if [ -f "$layout/.stamp" ] && [ "$(cat "$layout/.stamp")" = "$stamp" ]; then
    return
  fi
  rm -rf "$layout" && mkdir -p "$layout"
  local root
  root=$(mktemp -d)
  mkdir -p "$root"/{bin,etc,tmp,www,proc,sys,dev,root}
  cp "$BUSYBOX" "$root/bin/busybox"
  for a in "${APPLETS[@]}"; do ln -s busybox "$root/bin/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$root/etc/group"
  chmod 1777 "$root/tmp"
  local layer="$layout/layer.tar"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$root" -cf "$layer" .
  rm -rf "$root"
  local layer_size layer_digest
  layer_size=$(stat -c %s "$layer")
  layer_digest=$(write_blob "$layout" "$layer")
  local config="$layout/config.json"
  cat >"$config" <<JSON
{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":{"Env":["PATH=/bin"],"Entrypoint":$entrypoint,"Cmd":$cmd,"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:$layer_digest"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"keel scripts/build-images.sh from busybox-static"}]}
JSON
  local config_size config_digest
  config_size=$(stat -c %s "$config")
  config_digest=$(write_blob "$layout" "$config")
  local manifest="$layout/manifest.json"
  cat >"$manifest" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$config_digest","size":$config_size},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:$layer_digest","size":$layer_size}]}
JSON
  local manifest_size manifest_digest
  manifest_size=$(stat -c %s "$manifest")
  manifest_digest=$(write_blob "$layout" "$manifest")
  cat >"$layout/index.json" <<JSON
{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$manifest_digest","size":$manifest_size,"annotations":{"org.opencontainers.image.ref.name":"1"}}]}
JSON
  echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
  echo "$stamp" >"$layout/.stamp"
}

build_all() {
  # PID 1 ignores signals it has no handler for: trap them so a stop is immediate.
  build_image pause '["/bin/sh","-c"]' "[\"trap 'exit 0' TERM INT; while :; do sleep 3600 & wait \$!; done\"]"
  build_image app '["/bin/sh"]' 'null'
}

push_all() {
  local registry=$1
  for name in pause app; do
    skopeo copy --quiet --dest-tls-verify=false "oci:$IMAGES/$name:1" "docker://$registry/keel/$name:1"
  done
}

# registry_up PORT: whether something accepts connections on 127.0.0.1:PORT.
registry_up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

case "${1:-build}" in
  build)
    build_all
    echo "$IMAGES"
    ;;
  push)
    [ $# -eq 2 ] || { echo "usage: $0 push HOST:PORT" >&2; exit 2; }
    build_all
    push_all "$2"
    ;;
  serve)
    port="${2:-5055}"
    build_all
    pidfile="$STATE/registry.pid"
    if ! { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }; then
      mkdir -p "$STATE/registry"
      cat >"$STATE/registry.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STATE/registry
http:
  addr: 127.0.0.1:$port
YAML
      setsid docker-registry serve "$STATE/registry.yml" >"$STATE/registry.log" 2>&1 </dev/null &
      echo $! >"$pidfile"
    fi
    for _ in $(seq 100); do registry_up "$port" && break; sleep 0.1; done
    registry_up "$port" || { echo "the registry did not come up; see $STATE/registry.log" >&2; exit 1; }
    push_all "127.0.0.1:$port"
    echo "127.0.0.1:$port"
    ;;
  stop)
    pidfile="$STATE/registry.pid"
    if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; rm -f "$pidfile"; fi
    ;;
  *)
    echo "usage: $0 [build | push HOST:PORT | serve [PORT] | stop]" >&2
    exit 2
    ;;
esac
