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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{CasExpect, LeaderSample, OpKind, Outcome, Reply, StateSample};

    #[test]
    fn round_trips_through_json() {
        let op = |kind, outcome| Op {
            client: 1,
            key: "k".into(),
            kind,
            invoke_ns: 1,
            complete_ns: Some(2),
            outcome,
        };
        let mut watch = WatchLog::new(3, 2, "/p/", true, 4);
        watch.push_event(5, 4, "/p/a", None);
        watch.push_progress(6, 9);
        watch.push_reconnect(7, 1, 10);
        let h = History {
            ops: vec![
                op(
                    OpKind::Read,
                    Outcome::Ok(Reply::Read {
                        value: Some("v".into()),
                        mod_revision: Some(3),
                    }),
                ),
                op(OpKind::Write { value: "w".into() }, Outcome::Fail),
                op(
                    OpKind::Cas {
                        expected: CasExpect::Value(None),
                        new_value: "x".into(),
                    },
                    Outcome::Unknown,
                ),
                op(
                    OpKind::Cas {
                        expected: CasExpect::ModRevision(3),
                        new_value: "y".into(),
                    },
                    Outcome::Ok(Reply::Cas {
                        succeeded: true,
                        revision: Some(4),
                    }),
                ),
            ],
            watches: vec![watch],
            cluster: ClusterObservations {
                replicas: vec![1, 2],
                leader_samples: vec![LeaderSample {
                    replica: 1,
                    invoke_ns: 1,
                    complete_ns: 2,
                    term: 3,
                    leader: Some(1),
                }],
                state_samples: vec![StateSample {
                    replica: 2,
                    invoke_ns: 1,
                    complete_ns: 2,
                    revision: 4,
                    state_hash: "ab".into(),
                }],
                healed_ns: Some(8),
                final_states: vec![],
                wipes: vec![crate::history::DataWipe {
                    replica: 2,
                    at_ns: 5,
                }],
            },
            final_reads: vec![FinalRead {
                key: "k".into(),
                value: Some("y".into()),
                mod_revision: Some(4),
                at_ns: 9,
            }],
        };
        let json = h.to_json().expect("serialise");
        assert!(json.contains("\"type\": \"cas\""), "{json}");
        assert_eq!(History::from_json(&json).expect("parse"), h);
        assert_eq!(h.ops_by_key()["k"].len(), 4);
    }
}
