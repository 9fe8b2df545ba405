#!/usr/bin/env bash
# The whole test suite: unit and property tests, openraft's storage suite against the RocksDB
# store, and end-to-end tests with real keel-server processes. Installs missing system packages.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$KEEL_ROOT"
bash scripts/install-build-deps.sh
command -v cargo >/dev/null || { echo "cargo not found: install Rust (rustup) first" >&2; exit 1; }
cargo build --workspace --all-targets
# End-to-end tests start several 3-replica cells; two at a time keeps a 2-core machine honest.
cargo test --workspace --no-fail-fast -- --test-threads=2
