#!/usr/bin/env bash
# Installs the Debian packages the build needs when missing: libclang-dev (bindgen for RocksDB),
# protobuf-compiler (protoc), clang and ccache (C++ compiler wrapper that makes RocksDB rebuilds cheap).
set -euo pipefail
need=()
for pkg in libclang-dev protobuf-compiler clang ccache "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
