//! `keel-bench`'s measurements: the store workload against Keel and etcd, the object API mix,
//! leader failover, scheduling on hollow nodes, the node plane at thousands of nodes, and pod
//! startup on a real node.

pub mod endpoints;
pub mod etcd_backend;
pub mod etcd_cluster;
pub mod failover;
pub mod fsync_probe;
pub mod keel_backend;
pub mod kv_backend;
pub mod latency;
pub mod nodes_bench;
pub mod objects_bench;
pub mod schedule_bench;
pub mod startup_bench;
pub mod store_bench;
pub mod store_workload;
