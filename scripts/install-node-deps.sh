#!/usr/bin/env bash
# Installs, when missing, the Debian packages a real node needs: containerd and runc (the
# container runtime keel-agent supervises), containernetworking-plugins (bridge, host-local,
# portmap, loopback in /usr/lib/cni), docker-registry and skopeo (the local image registry and the
# tool that pushes to it), busybox-static (the only binary inside the demo images) and iptables
# (portmap's hostPort rules). The Debian containerd service is not used: every agent starts its own.
set -euo pipefail
need=()
for pkg in containerd runc containernetworking-plugins docker-registry skopeo busybox-static iptables "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  # policy-rc.d keeps the packages' own services (containerd, docker-registry) from starting:
  # agents start their own containerd, the image script its own registry.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
