//! What the run saw of the replicas themselves, besides client answers.

use serde::{Deserialize, Serialize};

use super::{DataWipe, LeaderSample, StateSample};

/// Samples of every replica's term, leader, revision and state hash taken during the run, and the
/// final samples taken after healing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterObservations {
    /// The replicas of the cell (ids); each must show up in `final_states`.
    pub replicas: Vec<u64>,
    pub leader_samples: Vec<LeaderSample>,
    pub state_samples: Vec<StateSample>,
    /// When the last fault was healed.
    pub healed_ns: Option<u64>,
    /// One sample per replica taken at the final check after healing (the first round in which
    /// they agreed, or the last round tried).
    pub final_states: Vec<StateSample>,
    /// Replicas removed from the cell with their data (membership faults): samples taken after a
    /// wipe come from a new incarnation.
    #[serde(default)]
    pub wipes: Vec<DataWipe>,
}
