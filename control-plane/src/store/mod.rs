//! The replicated object store's state machine: the [`Command`] log payload, its deterministic
//! etcd-v3-style MVCC apply on RocksDB ([`Mvcc`]), consistent range reads at any retained
//! revision, watch history with compaction, and live watch fan-out ([`WatchHub`], [`Watcher`]).
//!
//! All state lives in the column families listed in [`STATE_MACHINE_CFS`] (layout in
//! [`encoding`]); nothing is kept only in memory, so a snapshot is exactly those CFs' contents
//! (minus the Raft layer's `raft/` keys in `sm_meta`).

mod command;
mod compaction;
pub mod encoding;
mod error;
mod event;
mod history;
mod mvcc;
mod range;
mod response;
mod txn_apply;
mod watch_hub;
mod watch_index;
mod watcher;

#[cfg(test)]
mod tests;

pub use command::{Command, Compare, CompareResult, CompareTarget, Op, Txn};
pub use encoding::{CF_EVENTS, CF_KV, CF_META, CF_REV, RAFT_META_PREFIX, STATE_MACHINE_CFS};
pub use error::StoreError;
pub use event::{Event, EventKind, KeyValue};
pub use mvcc::{open_state_machine_cfs_for_tests, Mvcc};
pub use range::{RangeQuery, RangeResult};
pub use response::{CommandResponse, OpResult, TxnResult};
pub use watch_hub::{RevisionEvents, WatchHub};
pub use watch_index::{IndexExtractor, IndexFilter, IndexedValues, WatchIndex};
pub use watcher::{WatchBatch, Watcher};
