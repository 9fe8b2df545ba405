//! What a workload client asked the store to do to one key.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One request on one key: a linearizable read, a blind write (Put), or a compare-and-swap (a Txn
/// whose single compare is on the key's value or mod_revision, with a Put on success).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum OpKind {
    Read,
    Write {
        value: String,
    },
    Cas {
        expected: CasExpect,
        new_value: String,
    },
}

/// The compare of a [`OpKind::Cas`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CasExpect {
    /// The key holds this value (`None`: the key does not exist).
    Value(Option<String>),
    /// The key's mod_revision is this (0: the key does not exist).
    ModRevision(u64),
}

impl OpKind {
    /// The value this operation writes if it takes effect.
    pub fn written_value(&self) -> Option<&str> {
        match self {
            OpKind::Read => None,
            OpKind::Write { value } => Some(value),
            OpKind::Cas { new_value, .. } => Some(new_value),
        }
    }
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpKind::Read => write!(f, "read"),
            OpKind::Write { value } => write!(f, "write {value:?}"),
            OpKind::Cas {
                expected: CasExpect::Value(v),
                new_value,
            } => write!(f, "cas value {} → {new_value:?}", show_value(v.as_deref())),
            OpKind::Cas {
                expected: CasExpect::ModRevision(r),
                new_value,
            } => write!(f, "cas mod_revision {r} → {new_value:?}"),
        }
    }
}

/// A register value for messages: quoted, or `absent`.
pub(crate) fn show_value(value: Option<&str>) -> String {
    match value {
        Some(v) => format!("{v:?}"),
        None => "absent".to_string(),
    }
}
