# Sourced by the project scripts: one cargo target dir outside the clone (so repeat runs and CI
# are incremental), one profile (dev, with optimised dependencies; see Cargo.toml).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/keel-target}"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
KEEL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export KEEL_ROOT
export KEEL_BIN_DIR="$CARGO_TARGET_DIR/debug"
