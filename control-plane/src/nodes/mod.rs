//! The node plane's state on a replica: which agents this replica has heard from and when
//! ([`NodeLiveness`]). Liveness lives in memory, never in the log: a healthy idle node costs no
//! Raft entries.

mod liveness;

pub use liveness::NodeLiveness;
