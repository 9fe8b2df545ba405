//! One replica's answer to "which revision have you applied, and what is your state's hash".

use serde::{Deserialize, Serialize};

/// A replica's applied store revision and the hash of its state at that revision, as seen by one
/// status request sent at `invoke_ns` and answered at `complete_ns`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateSample {
    pub replica: u64,
    pub invoke_ns: u64,
    pub complete_ns: u64,
    pub revision: u64,
    pub state_hash: String,
}
