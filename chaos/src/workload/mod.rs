//! Workloads that feed a [`crate::history::HistoryRecorder`] while faults run: register clients
//! (put / linearizable get / compare-and-swap on a small key set, one request at a time each),
//! watchers on several replicas that resume after disconnects, and a sampler of every replica's
//! term, leader, revision and state hash.

mod client_attachments;
mod register_client;
mod register_ops;
mod sampler;
mod status_outcome;
mod stop_flag;
mod watcher;

pub use client_attachments::ClientAttachments;
pub use register_client::{run_register_client, RegisterClientConfig};
pub use register_ops::{cas, read, write, StoreTarget};
pub use sampler::run_sampler;
pub use status_outcome::write_outcome_of;
pub use stop_flag::StopFlag;
pub use watcher::{run_watcher, WatcherConfig};
