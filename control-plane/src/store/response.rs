//! `CommandResponse`: what applying one [`Command`](super::Command) returns to its proposer.

use serde::{Deserialize, Serialize};

use super::event::KeyValue;

/// Result of applying one command. Append-only enum: never reorder or remove variants.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum CommandResponse {
    Txn(TxnResult),
    /// The store is now compacted at `revision`.
    Compact {
        revision: u64,
    },
    Noop,
    /// The command was refused deterministically (invalid, or a compaction out of range); nothing
    /// was written.
    Rejected {
        reason: String,
    },
}

/// Outcome of a transaction.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TxnResult {
    /// Store revision after the txn (unchanged when the chosen branch wrote nothing).
    pub revision: u64,
    /// True when every compare held and `success` ran; false when `failure` ran.
    pub succeeded: bool,
    /// One result per op of the branch that ran, in op order.
    pub responses: Vec<OpResult>,
    /// One human-readable line per compare that did not hold.
    pub failed_compares: Vec<String>,
}

/// Result of one op. Append-only enum: never reorder or remove variants.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum OpResult {
    /// `prev_kv` is set only when the op asked for it and the key existed.
    Put { prev_kv: Option<KeyValue> },
    /// `prev_kvs` is filled only when the op asked for it.
    Delete {
        deleted: u64,
        prev_kvs: Vec<KeyValue>,
    },
}
