//! `KeyValue` and `Event`: the client-visible view of a key version and of one change to a key.

use serde::{Deserialize, Serialize};

/// One version of a key as clients see it (etcd `mvccpb.KeyValue`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    /// Revision at which the key was (last) created.
    pub create_revision: u64,
    /// Revision of the last write to the key.
    pub mod_revision: u64,
    /// 1 on create, +1 per put; a delete resets it (a later put starts again at 1).
    pub version: u64,
}

/// What happened to the key. Append-only enum: never reorder or remove variants.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Put,
    Delete,
}

/// One change to one key. For a delete, `kv` holds the key and the deleting revision as
/// `mod_revision` (other fields zero/empty), as etcd does; `prev_kv` is the version before the
/// change, if the key existed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    pub kv: KeyValue,
    pub prev_kv: Option<KeyValue>,
}

impl Event {
    /// The revision this event happened at.
    pub fn revision(&self) -> u64 {
        self.kv.mod_revision
    }
}
