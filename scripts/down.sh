#!/usr/bin/env bash
# Stops what scripts/up.sh started, by pid, and cleans up what its nodes made:
#   1. deletes the sample app (examples/hello-web.yaml) and waits (≤ 60 s) until the agents have
#      stopped its pods and removed their sandboxes;
#   2. stops the agents (SIGTERM, then SIGKILL after 20 s); each agent stops its containerd;
#   3. anything left of a node — its containerd, containers in its runc root, their shims, their
#      network namespaces, the node's CNI bridge, its service proxy's nftables table — is removed
#      by pid / by name from the agent's own directory, never by a broad pattern;
#   4. stops the replicas and the local registry.
# `--wipe` also deletes .keel-local/ (data, logs, images, the agents' containerd roots).
set -uo pipefail
source "$(dirname "$0")/env.sh"
RUN="$KEEL_ROOT/.keel-local"
BIN="$CARGO_TARGET_DIR/debug"
export KEEL_SERVERS=127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003
[ -d "$RUN" ] || { echo "nothing to stop ($RUN does not exist)"; exit 0; }

# alive PIDFILE NAME: the pid file names a live process running NAME (not a reused pid).
alive() {
  [ -f "$1" ] || return 1
  local pid
  pid=$(cat "$1")
  [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$2"
}

# stop_pid PID WHAT: SIGTERM, wait up to 20 s, then SIGKILL.
stop_pid() {
  local pid=$1 what=$2
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  echo "stopped $what (pid $pid)"
}

# 1. The sample app, while the cell and the agents still run.
agents_up=0
for pidfile in "$RUN"/agent-*.pid; do alive "$pidfile" keel-agent && agents_up=1; done
if [ "$agents_up" = 1 ] && [ -x "$BIN/keelctl" ] && "$BIN/keelctl" cluster status >/dev/null 2>&1; then
  "$BIN/keelctl" delete -f "$KEEL_ROOT/examples/hello-web.yaml" --ignore-not-found
  for _ in $(seq 1 120); do
    left=$("$BIN/keelctl" get pods -A -o json 2>/dev/null |
      jq '[.items[] | select((.spec.nodeName // "") | startswith("keel-local-"))] | length' 2>/dev/null || echo 0)
    [ "$left" = 0 ] && break
    sleep 0.5
  done
  [ "$left" = 0 ] && echo "the nodes' pods are gone" || echo "$left pod(s) still on the nodes; removing their containers below"
fi

# 2. The agents (each stops its own containerd by pid).
for pidfile in "$RUN"/agent-*.pid; do
  [ -f "$pidfile" ] || continue
  alive "$pidfile" keel-agent && stop_pid "$(cat "$pidfile")" "$(basename "$pidfile" .pid)"
  rm -f "$pidfile"
done

# 3. What a node may leave behind.
for agent in "$RUN"/agent-*/; do
  [ -d "$agent/containerd" ] || continue
  agent=${agent%/}
  cd_dir="$agent/containerd"
  alive "$cd_dir/containerd.pid" "$cd_dir/config.toml" &&
    stop_pid "$(cat "$cd_dir/containerd.pid")" "$(basename "$agent")'s containerd"
  netns=()
  for state in "$cd_dir"/state/runc/*/*/state.json; do
    [ -f "$state" ] || continue
    id=$(basename "$(dirname "$state")")
    ns=$(jq -r '.config.namespaces[]? | select(.type == "NEWNET") | .path // empty' "$state")
    [ -n "$ns" ] && netns+=("$ns")
    runc --root "$(dirname "$(dirname "$state")")" delete --force "$id" >/dev/null 2>&1 &&
      echo "removed container $id"
  done
  sock="$cd_dir/containerd.sock"
  for proc in /proc/[0-9]*; do
    tr '\0' ' ' <"$proc/cmdline" 2>/dev/null | grep -q -- "-address $sock" || continue
    stop_pid "${proc#/proc/}" "containerd-shim"
  done
  for ns in $(printf '%s\n' "${netns[@]}" | sort -u); do
    case "$ns" in
      /var/run/netns/* | /run/netns/*) ip netns delete "$(basename "$ns")" 2>/dev/null && echo "deleted netns $(basename "$ns")" ;;
    esac
  done
  conflist="$cd_dir/cni/10-keel.conflist"
  if [ -f "$conflist" ]; then
    bridge=$(jq -r '.plugins[0].bridge' "$conflist")
    ip link show "$bridge" >/dev/null 2>&1 && ip link delete "$bridge" && echo "deleted bridge $bridge"
  fi
  # The agent's service proxy table (removed by the agent itself when it stops normally).
  table="keel-proxy-keel-local-${agent##*/agent-}"
  nft list table ip "$table" >/dev/null 2>&1 && nft delete table ip "$table" && echo "deleted nft table $table"
  # Snapshots of removed containers may still be mounted under the agent's containerd root.
  grep -o " $agent/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
done

# 4. The replicas and the registry.
for pidfile in "$RUN"/replica-*.pid; do
  [ -f "$pidfile" ] || continue
  alive "$pidfile" keel-server && stop_pid "$(cat "$pidfile")" "$(basename "$pidfile" .pid)"
  rm -f "$pidfile"
done
if alive "$RUN/images/registry.pid" docker-registry; then
  stop_pid "$(cat "$RUN/images/registry.pid")" "the registry"
fi
rm -f "$RUN/images/registry.pid"
if [ "${1:-}" = "--wipe" ]; then rm -rf "$RUN" && echo "wiped $RUN"; fi
exit 0
