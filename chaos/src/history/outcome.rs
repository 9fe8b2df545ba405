//! How an operation ended, as far as its client knows.

use serde::{Deserialize, Serialize};

/// The client's view of an operation's end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The store answered.
    Ok(Reply),
    /// The store answered with an error that guarantees the operation was not applied (e.g.
    /// rejected before being proposed).
    Fail,
    /// No answer (timeout, connection lost, or still pending when the run ended): the operation
    /// may have taken effect at any point after its invocation, or never.
    Unknown,
}

/// What the store answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    /// A read: the value (`None`: the key does not exist) and the key's mod_revision when the
    /// client recorded it (0 when absent).
    Read {
        value: Option<String>,
        mod_revision: Option<u64>,
    },
    /// A write applied at this store revision.
    Written { revision: u64 },
    /// A compare-and-swap: whether the compare held, and the revision of its write if it did.
    Cas {
        succeeded: bool,
        revision: Option<u64>,
    },
}
