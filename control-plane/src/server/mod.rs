//! keel-server's wiring: command-line configuration, start-up (data dir, Raft, gRPC), cell
//! bootstrap/join/restore, and the leader's background housekeeping.

pub mod compactor;
pub mod config;
pub mod replica;
pub mod restore;

pub use config::ServerArgs;
pub use replica::run;
