//! keel-chaos: the `LocalCluster` launcher shared by the end-to-end tests, `keel-bench` and
//! `keel-chaos`. It starts real `keel-server` processes on 127.0.0.1 (or each in its own network
//! namespace, [`network`]), one data dir and one log file each, and stops every process it
//! started, by pid, when dropped. On top of it: [`faults`] behind one trait, [`workload`]s that
//! record a [`history`], [`checkers`] that judge it, and the [`runner`] behind `keel-chaos run`.
//!
//! Everything here waits with deadlines ([`wait_until`]) and picks ports from `127.0.0.1:0`.

pub mod bench;
mod binaries;
pub mod checkers;
mod child_process;
mod cluster_options;
mod cluster_waits;
pub mod cri_node;
pub mod faults;
pub mod history;
mod leader_view;
mod local_cluster;
mod log_tail;
pub mod network;
mod ports;
mod replica_process;
pub mod replica_rpc;
pub mod runner;
mod wait;
pub mod workload;

pub use binaries::{binary_search_dirs, find_binary, PROJECT_BINARIES};
pub use child_process::ChildProcess;
pub use cluster_options::ClusterOptions;
pub use leader_view::{agreed_leader, LeaderView};
pub use local_cluster::LocalCluster;
pub use ports::{free_port, free_ports};
pub use replica_process::ReplicaProcess;
pub use wait::{wait_until, WaitAbort};
