#!/usr/bin/env bash
# The whole test suite: unit and property tests, openraft's storage suite against the RocksDB
# store, and end-to-end tests with real keel-server processes. Installs missing system packages.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$KEEL_ROOT"
# iproute2 and nftables: the chaos smoke puts replicas in network namespaces and cuts links;
# faketime (libfaketime): the chaos clock-skew fault shifts one replica's wall clock.
bash scripts/install-build-deps.sh iproute2 nftables faketime
# containerd, runc, CNI plugins, registry, skopeo, busybox-static: the containerd e2e runs real pods.
bash scripts/install-node-deps.sh
command -v cargo >/dev/null || { echo "cargo not found: install Rust (rustup) first" >&2; exit 1; }
cargo build --workspace --all-targets
# End-to-end tests start several 3-replica cells; two at a time keeps a 2-core machine honest.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --no-fail-fast -- --test-threads=2 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line with the totals over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
