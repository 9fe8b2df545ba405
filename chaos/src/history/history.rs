//! The whole record of one run, as handed to the checkers and written to report.json.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ClusterObservations, FinalRead, Op, OpId, WatchLog};

/// Operations in invocation order (an [`OpId`] is an index here), watch logs, cluster samples,
/// and the final reads made after healing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    pub ops: Vec<Op>,
    pub watches: Vec<WatchLog>,
    pub cluster: ClusterObservations,
    pub final_reads: Vec<FinalRead>,
}

impl History {
    /// The operation with this id, if any.
    pub fn op(&self, id: OpId) -> Option<&Op> {
        self.ops.get(id.0)
    }

    /// Operations grouped by key (keys sorted), each group in `ops` order. Keys start absent:
    /// a run uses fresh keys, or records its setup writes as operations.
    pub fn ops_by_key(&self) -> BTreeMap<&str, Vec<OpId>> {
        let mut by_key: BTreeMap<&str, Vec<OpId>> = BTreeMap::new();
        for (i, op) in self.ops.iter().enumerate() {
            by_key.entry(op.key.as_str()).or_default().push(OpId(i));
        }
        by_key
    }

    /// Serialises the history as pretty JSON (for report.json).
    pub fn to_json(&self) -> serde_json::Result<String> {
        serde_json::to_string_pretty(self)
    }

    pub fn from_json(json: &str) -> serde_json::Result<History> {
        serde_json::from_str(json)
    }
}
