//! One replica's answer to "which term is it and who leads it".

use serde::{Deserialize, Serialize};

/// A replica's term and the leader it knew for that term (itself when it leads), as seen by one
/// status request sent at `invoke_ns` and answered at `complete_ns`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderSample {
    pub replica: u64,
    pub invoke_ns: u64,
    pub complete_ns: u64,
    pub term: u64,
    /// `None`: the replica knew of no leader in `term`.
    pub leader: Option<u64>,
}
