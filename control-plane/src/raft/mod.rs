//! Everything openraft-specific: the type configuration, the RocksDB log store and state machine,
//! snapshot files, and the gRPC transport between replicas.

pub mod codec;
pub mod log_store;
pub mod network;
pub mod raft_service;
pub mod rocks;
pub mod snapshot_file;
pub mod state_machine;
#[cfg(test)]
mod storage_suite;
pub mod type_config;

pub use type_config::{KeelRaft, NodeId, TypeConfig};
