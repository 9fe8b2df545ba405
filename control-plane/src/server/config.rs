//! keel-server's command line.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::raft::NodeId;

/// One replica of a Keel cell.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "keel-server",
    version,
    about = "A replica of a Keel cell: Raft-replicated store on RocksDB"
)]
pub struct ServerArgs {
    /// This replica's id (non-zero, unique in the cell).
    #[arg(long)]
    pub id: NodeId,
    /// Data directory (RocksDB, snapshots, identity file).
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Address for peers and clients (one gRPC port).
    #[arg(long)]
    pub listen: SocketAddr,
    /// Address other replicas and clients use to reach this one (default: --listen).
    #[arg(long)]
    pub advertise: Option<String>,
    /// Bootstrap a new cell: `1=HOST:PORT,2=HOST:PORT,3=HOST:PORT` (ignored once initialised).
    #[arg(long, value_parser = parse_initial_cluster, conflicts_with = "join")]
    pub initial_cluster: Option<InitialCluster>,
    /// Join a running cell as a learner through any of its replicas.
    #[arg(long)]
    pub join: Option<String>,
    /// Start the new cell's state from a snapshot file (`keelctl cluster snapshot save`); needs
    /// --initial-cluster and an empty data dir. Every replica of the new cell gets the same file.
    #[arg(long, requires = "initial_cluster")]
    pub restore: Option<PathBuf>,
    /// Build a snapshot after this many log entries since the last one.
    #[arg(long, default_value_t = 10_000)]
    pub snapshot_logs: u64,
    /// Log entries kept behind a snapshot (for slow followers) before purging.
    #[arg(long, default_value_t = 1_000)]
    pub keep_logs: u64,
    /// Store revisions of history kept for watches and past reads; older history is compacted
    /// automatically by the leader (0: never compact automatically).
    #[arg(long, default_value_t = 100_000)]
    pub history_retention: u64,
    /// Leader heartbeat interval.
    #[arg(long, default_value_t = 50)]
    pub heartbeat_ms: u64,
    /// Minimum election timeout; the maximum is twice this. openraft's leader lease equals the
    /// maximum: a follower refuses to vote while it heard from a leader within it, so a dead
    /// leader is replaced after one to two timeouts (100-200 ms each by default).
    #[arg(long, default_value_t = 100)]
    pub election_timeout_ms: u64,
    /// Range Service cluster IPs are allocated from.
    #[arg(long, default_value = crate::objects::DEFAULT_SERVICE_CIDR)]
    pub service_cidr: String,
    /// Range node pod CIDRs are carved from.
    #[arg(long, default_value = crate::registry::DEFAULT_CLUSTER_CIDR)]
    pub cluster_cidr: String,
    /// Prefix length of each node's pod CIDR.
    #[arg(long, default_value_t = 24)]
    pub node_cidr_mask_size: u8,
    /// Events kept at most; the oldest are pruned beyond it.
    #[arg(long, default_value_t = 10_000)]
    pub max_events: usize,
    /// Events older than this many seconds are pruned.
    #[arg(long, default_value_t = 3600)]
    pub event_ttl_seconds: u64,
    /// A node whose agent has not reported for this many milliseconds is marked Ready=Unknown
    /// and tainted `node.kubernetes.io/unreachable:NoExecute` (Kubernetes: 40 s).
    #[arg(long, default_value_t = 6_000)]
    pub node_monitor_grace_ms: u64,
    /// Pods without their own toleration of an unreachable or not-ready node are evicted this
    /// many milliseconds after the taint (Kubernetes' default toleration: 300 s).
    #[arg(long, default_value_t = 4_000)]
    pub default_eviction_toleration_ms: u64,
    /// The leader's loops to run, as kube-controller-manager's `--controllers`: `*` all,
    /// `name` one, `-name` not that one; empty runs none (a cell that only stores objects).
    /// Names: scheduler, garbage-collector, endpoints, replicaset, deployment, daemonset, job,
    /// node-lifecycle, partitioner (publishes which replica owns which node).
    #[arg(long, default_value = "*")]
    pub controllers: crate::leader::ControllerSet,
    /// Serve `/metrics` (Prometheus text), `/healthz` and `/readyz` over plain HTTP on this
    /// address (default: not served).
    #[arg(long)]
    pub metrics_listen: Option<SocketAddr>,
    /// FOR BENCHMARK COMPARISONS ONLY (`keel-bench nodes --compare`): write every agent report
    /// through the Raft log — the node's status with its heartbeat times and the report's pod
    /// statuses, one log entry per report — as a design without owner-side aggregation would.
    /// Default: owners forward only changes, batched.
    #[arg(long)]
    pub no_node_aggregation: bool,
    /// TESTING AID THAT BREAKS LINEARIZABILITY ON PURPOSE: linearizable Store reads answer from
    /// this replica's local state machine without a ReadIndex round, so a deposed or partitioned
    /// replica serves stale data. keel-chaos uses it to prove its linearizability checker catches
    /// stale reads on real processes. Never set it on a real cell.
    #[arg(long)]
    pub unsafe_local_reads: bool,
}

impl ServerArgs {
    /// The address this replica is known by.
    pub fn advertised(&self) -> String {
        self.advertise
            .clone()
            .unwrap_or_else(|| self.listen.to_string())
    }

    /// Checks the combination of flags; the message names the flag at fault.
    pub fn validate(&self) -> Result<(), String> {
        if self.id == 0 {
            return Err("--id must be non-zero".into());
        }
        if let Some(cluster) = &self.initial_cluster {
            match cluster.0.get(&self.id) {
                None => {
                    return Err(format!(
                        "--initial-cluster does not list this replica's id {} (it lists {:?})",
                        self.id,
                        cluster.0.keys().collect::<Vec<_>>()
                    ))
                }
                Some(addr) if *addr != self.advertised() => {
                    return Err(format!(
                        "--initial-cluster gives replica {} the address {addr}, but this replica is {} (--listen/--advertise); wrong --id?",
                        self.id,
                        self.advertised()
                    ))
                }
                Some(_) => {}
            }
        }
        if self.election_timeout_ms <= self.heartbeat_ms {
            return Err("--election-timeout-ms must be larger than --heartbeat-ms".into());
        }
        Ok(())
    }
}

/// The members of a new cell.
#[derive(Debug, Clone, PartialEq)]
pub struct InitialCluster(pub BTreeMap<NodeId, String>);

/// Parses `1=HOST:PORT,2=HOST:PORT`.
pub fn parse_initial_cluster(s: &str) -> Result<InitialCluster, String> {
    let mut map = BTreeMap::new();
    for (i, part) in s
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .enumerate()
    {
        let (id, addr) = part
            .split_once('=')
            .ok_or_else(|| format!("member {} ({part:?}) is not ID=HOST:PORT", i + 1))?;
        let id: NodeId = id
            .trim()
            .parse()
            .map_err(|_| format!("member {} ({part:?}): id is not a number", i + 1))?;
        if id == 0 {
            return Err(format!("member {} ({part:?}): ids start at 1", i + 1));
        }
        let addr = addr.trim();
        if addr
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse::<u16>().ok())
            .is_none()
        {
            return Err(format!(
                "member {} ({part:?}): address is not HOST:PORT",
                i + 1
            ));
        }
        if map.insert(id, addr.to_string()).is_some() {
            return Err(format!("id {id} is listed twice"));
        }
    }
    if map.is_empty() {
        return Err("no members given".into());
    }
    Ok(InitialCluster(map))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn parses_and_rejects() {
        let c = parse_initial_cluster("1=127.0.0.1:7001, 2=127.0.0.1:7002").unwrap();
        assert_eq!(c.0.len(), 2);
        assert!(parse_initial_cluster("1=a:1,1=b:2")
            .unwrap_err()
            .contains("twice"));
        assert!(parse_initial_cluster("x=a:1")
            .unwrap_err()
            .contains("not a number"));
        assert!(parse_initial_cluster("1=nohost")
            .unwrap_err()
            .contains("HOST:PORT"));
    }

    #[test]
    fn wrong_id_for_address_is_named() {
        let args = ServerArgs::try_parse_from([
            "keel-server",
            "--id",
            "2",
            "--data-dir",
            "/tmp/x",
            "--listen",
            "127.0.0.1:7001",
            "--initial-cluster",
            "1=127.0.0.1:7001,2=127.0.0.1:7002",
        ])
        .unwrap();
        let err = args.validate().unwrap_err();
        assert!(err.contains("wrong --id"), "{err}");
    }
}
