#!/usr/bin/env bash
# Brings up a local Keel cluster and a sample app on it, then shows the app answering over HTTP:
#   1. installs the Debian packages the build and a node need (when missing), builds keel-server,
#      keelctl and keel-agent;
#   2. builds the demo images (keel/pause:1, keel/app:1) and serves them from a local registry on
#      127.0.0.1:$KEEL_REGISTRY_PORT (7050);
#   3. starts an HA cell of 3 keel-server replicas on 127.0.0.1:7001-7003 and runs a short store
#      demo through a follower;
#   4. starts $KEEL_AGENTS (1) keel-agent(s) as root, each with its own supervised containerd, CNI
#      bridge and pod CIDR (from 10.201.0.0/16; Service IPs from 10.200.0.0/16, apart from the
#      tests' default ranges);
#   5. applies examples/hello-web.yaml (a Deployment of 2 busybox httpd pods and a NodePort
#      Service), waits until the pods are Running and Ready and fetches the page from every pod
#      IP (and from the NodePort once the agent programs it).
# Everything lives in .keel-local/ (logs, data, pids). Running it again reuses what runs.
# scripts/down.sh stops it all by pid (`--wipe` also deletes the data).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$KEEL_ROOT"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo

echo "--- packages and binaries"
bash scripts/install-build-deps.sh
$SUDO bash scripts/install-node-deps.sh
cargo build --bin keel-server --bin keelctl --bin keel-agent
BIN="$CARGO_TARGET_DIR/debug"
RUN="$KEEL_ROOT/.keel-local"
mkdir -p "$RUN"
REGISTRY_PORT="${KEEL_REGISTRY_PORT:-7050}"
REGISTRY="127.0.0.1:$REGISTRY_PORT"
AGENTS="${KEEL_AGENTS:-1}"
CLUSTER="1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003"
export KEEL_SERVERS=127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003
keelctl() { "$BIN/keelctl" "$@"; }

# running PIDFILE NAME: the pid file names a live process running NAME (not a reused pid).
running() {
  [ -f "$1" ] || return 1
  local pid
  pid=$(cat "$1")
  [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$2"
}

echo "--- images and the local registry ($REGISTRY)"
KEEL_STATE_DIR="$RUN/images" bash scripts/build-images.sh serve "$REGISTRY_PORT" >/dev/null
echo "keel/pause:1 and keel/app:1 served by docker-registry (pid $(cat "$RUN/images/registry.pid"))"

echo "--- the cell: 3 keel-server replicas"
for id in 1 2 3; do
  pidfile="$RUN/replica-$id.pid"
  if running "$pidfile" keel-server; then
    echo "replica $id already running (pid $(cat "$pidfile"))"; continue
  fi
  flags=(--id "$id" --data-dir "$RUN/replica-$id" --listen "127.0.0.1:700$id"
    --cluster-cidr 10.201.0.0/16 --service-cidr 10.200.0.0/16)
  # A fresh data dir bootstraps the cell; an existing one resumes without bootstrap flags.
  [ -f "$RUN/replica-$id/KEEL_REPLICA" ] || flags+=(--initial-cluster "$CLUSTER")
  nohup "$BIN/keel-server" "${flags[@]}" >"$RUN/replica-$id.log" 2>&1 &
  echo $! >"$pidfile"
  echo "replica $id: pid $!, log $RUN/replica-$id.log"
done
for _ in $(seq 1 150); do
  if keelctl cluster status -o json 2>/dev/null | grep -q '"leader": [0-9]'; then break; fi
  sleep 0.2
done
keelctl cluster status
echo "--- store demo: write through replica 3, read linearizably through replica 2"
keelctl --servers 127.0.0.1:7003 store put /demo/greeting "hello from keel"
keelctl --servers 127.0.0.1:7002 store get /demo/greeting

echo "--- nodes: $AGENTS keel-agent(s), each with its own containerd"
for n in $(seq 1 "$AGENTS"); do
  node="keel-local-$n"
  pidfile="$RUN/agent-$n.pid"
  if running "$pidfile" keel-agent; then
    echo "agent $node already running (pid $(cat "$pidfile"))"; continue
  fi
  flags=(--node-name "$node" --runtime cri --root-dir "$RUN/agent-$n" --registry "$REGISTRY"
    --servers "$KEEL_SERVERS" --cpu 2 --memory 2Gi)
  # The agent's service proxy must know the cell's service range (agents that have one).
  "$BIN/keel-agent" --help | grep -q -- --service-cidr && flags+=(--service-cidr 10.200.0.0/16)
  # setsid: the agent (and the containerd it supervises) outlives this script's session.
  RUST_LOG=info $SUDO setsid "$BIN/keel-agent" "${flags[@]}" </dev/null >"$RUN/agent-$n.log" 2>&1 &
  echo $! >"$pidfile"
  echo "agent $node: pid $!, log $RUN/agent-$n.log, containerd under $RUN/agent-$n/containerd"
done
ready_nodes() {
  keelctl get nodes -o json 2>/dev/null | jq '[.items[] | select(.metadata.name | startswith("keel-local-"))
    | select(any(.status.conditions[]?; .type == "Ready" and .status == "True"))] | length' 2>/dev/null || echo 0
}
for _ in $(seq 1 120); do
  [ "$(ready_nodes)" -ge "$AGENTS" ] && break
  sleep 0.5
done
keelctl get nodes -o wide
[ "$(ready_nodes)" -ge "$AGENTS" ] || { echo "the nodes did not become Ready; see $RUN/agent-*.log" >&2; exit 1; }

echo "--- the sample app: keelctl apply -f examples/hello-web.yaml"
keelctl apply -f examples/hello-web.yaml
want=$(keelctl get deployment hello-web -o json | jq '.spec.replicas')
ready_pods() {
  keelctl get pods -l app=hello-web -o json 2>/dev/null | jq '[.items[] | select(.metadata.deletionTimestamp == null)
    | select(.status.phase == "Running")
    | select(any(.status.conditions[]?; .type == "Ready" and .status == "True"))] | length' 2>/dev/null || echo 0
}
for _ in $(seq 1 180); do
  [ "$(ready_pods)" -ge "$want" ] && break
  sleep 0.5
done
keelctl get deployments -o wide
keelctl get pods -l app=hello-web -o wide
keelctl get services hello-web
[ "$(ready_pods)" -ge "$want" ] || { echo "the pods did not become Ready; see $RUN/agent-*.log" >&2; exit 1; }

echo "--- the app answers over HTTP"
answered=0
for ip in $(keelctl get pods -l app=hello-web -o json | jq -r '.items[]
    | select(.metadata.deletionTimestamp == null and .status.phase == "Running") | .status.podIP'); do
  for _ in $(seq 1 20); do
    if body=$(curl -fsS --max-time 2 "http://$ip:8080/" 2>/dev/null); then break; fi
    sleep 0.25
  done
  echo "curl http://$ip:8080/  →  ${body:-no answer}"
  [ -n "${body:-}" ] && answered=$((answered + 1))
  body=""
done
[ "$answered" -ge 1 ] || { echo "no pod answered over HTTP" >&2; exit 1; }
# Through the Service, as the agents' proxies program it: the NodePort on the node's address and
# the ClusterIP, a few times each (the proxy balances over the ready pods).
svc=$(keelctl get services hello-web -o json)
node_port=$(jq -r '.spec.ports[0].nodePort' <<<"$svc")
cluster_ip=$(jq -r '.spec.clusterIP' <<<"$svc")
for url in "http://127.0.0.1:$node_port/" "http://$cluster_ip/"; do
  for _ in 1 2 3; do
    if body=$(curl -fsS --max-time 2 "$url" 2>/dev/null); then
      echo "curl $url (Service)  →  $body"
    else
      echo "curl $url (Service)  →  no answer (is the agent's service proxy running? see $RUN/agent-*.log)"
      break
    fi
  done
done
echo "--- up: export KEEL_SERVERS=$KEEL_SERVERS and use $BIN/keelctl; scripts/down.sh stops it all"
