#!/usr/bin/env bash
# Brings up a local HA cell (3 keel-server replicas on 127.0.0.1:7001-7003, data in .keel-local/)
# and runs a short write/read demo through a follower. Stop it with scripts/down.sh.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$KEEL_ROOT"
bash scripts/install-build-deps.sh
cargo build --bin keel-server --bin keelctl
BIN="$CARGO_TARGET_DIR/debug"
RUN="$KEEL_ROOT/.keel-local"
mkdir -p "$RUN"
CLUSTER="1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003"
for id in 1 2 3; do
  pidfile="$RUN/replica-$id.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "replica $id already running (pid $(cat "$pidfile"))"; continue
  fi
  flags=(--id "$id" --data-dir "$RUN/replica-$id" --listen "127.0.0.1:700$id")
  # A fresh data dir bootstraps the cell; an existing one resumes without bootstrap flags.
  [ -f "$RUN/replica-$id/KEEL_REPLICA" ] || flags+=(--initial-cluster "$CLUSTER")
  nohup "$BIN/keel-server" "${flags[@]}" >"$RUN/replica-$id.log" 2>&1 &
  echo $! >"$pidfile"
  echo "replica $id: pid $!, log $RUN/replica-$id.log"
done
export KEEL_SERVERS=127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003
for _ in $(seq 1 100); do
  if "$BIN/keelctl" cluster status -o json 2>/dev/null | grep -q '"leader": [0-9]'; then break; fi
  sleep 0.2
done
"$BIN/keelctl" cluster status
echo "--- demo: write through replica 3, read linearizably through replica 2"
"$BIN/keelctl" --servers 127.0.0.1:7003 store put /demo/greeting "hello from keel"
"$BIN/keelctl" --servers 127.0.0.1:7002 store get /demo/greeting
echo "--- demo: Kubernetes objects (the seeds' nginx Deployment and my-service Service)"
SAMPLES="$KEEL_ROOT/control-plane/src/objects/testdata"
"$BIN/keelctl" apply -f "$SAMPLES/seed_nginx_deployment.yaml" -f "$SAMPLES/seed_my_service.yaml"
"$BIN/keelctl" get deployments
"$BIN/keelctl" get services
echo "--- the cell is up: export KEEL_SERVERS=$KEEL_SERVERS and use $BIN/keelctl; scripts/down.sh stops it"
