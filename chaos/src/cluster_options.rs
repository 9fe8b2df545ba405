//! How a [`crate::LocalCluster`] is started: size, where it keeps its files, and the flags passed
//! through to every `keel-server`.

use std::{path::PathBuf, sync::Arc, time::Duration};

use crate::network::NetnsLab;

/// Options for [`crate::LocalCluster::start`]. Build with struct update syntax:
/// `ClusterOptions { heartbeat_ms: Some(50), ..Default::default() }`.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// Number of replicas (ids 1..=replicas) bootstrapped together. Default 3.
    pub replicas: usize,
    /// Directory for data dirs and logs, kept afterwards. `None`: a temporary directory, removed
    /// when the cluster is dropped (unless `KEEL_KEEP_CLUSTER=1`).
    pub root: Option<PathBuf>,
    /// `--snapshot-logs N`: build a snapshot every N applied entries.
    pub snapshot_logs: Option<u64>,
    /// `--keep-logs N`: log entries kept behind a snapshot.
    pub keep_logs: Option<u64>,
    /// `--history-retention N`: store revisions of history kept for watches.
    pub history_retention: Option<u64>,
    /// `--heartbeat-ms N`.
    pub heartbeat_ms: Option<u64>,
    /// `--election-timeout-ms N`.
    pub election_timeout_ms: Option<u64>,
    /// More arguments for every replica, appended last.
    pub extra_args: Vec<String>,
    /// `RUST_LOG` for the replicas. `None`: they inherit this process's `RUST_LOG` (if any).
    pub rust_log: Option<String>,
    /// Directory holding `keel-server`. `None`: see [`crate::binary_search_dirs`].
    pub bin_dir: Option<PathBuf>,
    /// How long `start` (every replica reports a leader), `restart` and `add_replica_process`
    /// (the replica answers Status) may take. Default 30 s.
    pub start_timeout: Duration,
    /// How long `leader_id()` keeps asking before it fails. Default 15 s.
    pub leader_timeout: Duration,
    /// Per-request timeout of the clients from `store_client` / `cluster_client`. Default 10 s.
    pub request_timeout: Duration,
    /// `None` (default): every replica on 127.0.0.1 with a free port. `Some(lab)`: each replica in
    /// its own network namespace of `lab`, at `10.77.0.<10+id>:7000` (the caller must be in the
    /// lab's hub namespace to reach them; see [`NetnsLab::enter_hub`]).
    pub netns: Option<Arc<NetnsLab>>,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            replicas: 3,
            root: None,
            snapshot_logs: None,
            keep_logs: None,
            history_retention: None,
            heartbeat_ms: None,
            election_timeout_ms: None,
            extra_args: Vec::new(),
            rust_log: None,
            bin_dir: None,
            start_timeout: Duration::from_secs(30),
            leader_timeout: Duration::from_secs(15),
            request_timeout: Duration::from_secs(10),
            netns: None,
        }
    }
}

impl ClusterOptions {
    /// The tuning flags every replica gets, on every start (no id, address or bootstrap flags).
    pub fn tuning_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        let flags = [
            ("--snapshot-logs", self.snapshot_logs),
            ("--keep-logs", self.keep_logs),
            ("--history-retention", self.history_retention),
            ("--heartbeat-ms", self.heartbeat_ms),
            ("--election-timeout-ms", self.election_timeout_ms),
        ];
        for (flag, value) in flags {
            if let Some(v) = value {
                args.push(flag.to_string());
                args.push(v.to_string());
            }
        }
        args.extend(self.extra_args.iter().cloned());
        args
    }

    /// The `RUST_LOG` value to set for the replicas (`None`: inherit).
    pub fn replica_rust_log(&self) -> Option<String> {
        self.rust_log.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuning_args_only_name_what_is_set() {
        assert!(ClusterOptions::default().tuning_args().is_empty());
        let opts = ClusterOptions {
            snapshot_logs: Some(100),
            election_timeout_ms: Some(300),
            extra_args: vec!["--x".into()],
            ..Default::default()
        };
        assert_eq!(
            opts.tuning_args(),
            [
                "--snapshot-logs",
                "100",
                "--election-timeout-ms",
                "300",
                "--x"
            ]
        );
    }
}
