//! keel-control-plane: the replicated store (openraft on RocksDB), its gRPC frontends, and keelctl.
//!
//! Modules: `store` (deterministic MVCC state machine), `raft` (everything openraft-specific),
//! `api` (gRPC services clients talk to), `server` (keel-server's wiring), `cli` (keelctl).

pub mod api;
pub mod cli;
pub mod controllers;
pub mod leader;
pub mod metrics;
pub mod nodes;
pub mod objects;
pub mod raft;
pub mod registry;
pub mod scheduler;
pub mod server;
pub mod store;
