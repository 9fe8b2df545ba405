//! `keel-bench`'s measurements: the store workload against Keel and etcd, and leader failover.

pub mod endpoints;
pub mod etcd_backend;
pub mod etcd_cluster;
pub mod failover;
pub mod fsync_probe;
pub mod keel_backend;
pub mod kv_backend;
pub mod latency;
pub mod store_bench;
pub mod store_workload;
