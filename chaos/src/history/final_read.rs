//! The linearizable read of one key that a run makes after healing every fault.

use serde::{Deserialize, Serialize};

/// What a key held once the faults were healed and the cell was quiet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalRead {
    pub key: String,
    /// `None`: the key does not exist.
    pub value: Option<String>,
    /// The key's mod_revision when recorded (0 when absent).
    pub mod_revision: Option<u64>,
    pub at_ns: u64,
}
