#!/usr/bin/env bash
# Stops the local cell started by scripts/up.sh (by pid); `--wipe` also deletes its data.
set -euo pipefail
source "$(dirname "$0")/env.sh"
RUN="$KEEL_ROOT/.keel-local"
for pidfile in "$RUN"/*.pid; do
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null && echo "stopped pid $pid ($(basename "$pidfile" .pid))" || true
  rm -f "$pidfile"
done
[ "${1:-}" = "--wipe" ] && rm -rf "$RUN" && echo "wiped $RUN"
exit 0
