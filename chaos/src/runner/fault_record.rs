//! What happened to one scheduled fault: when it was injected and healed, what it hit, and the
//! figures measured around it.

use serde::{Deserialize, Serialize};

/// One fault of a run, with times in ms since the history clock's start.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultRecord {
    pub name: String,
    /// What the fault hit (e.g. "replica 2 (leader, term 5)").
    pub target: String,
    pub hits_leader: bool,
    /// When the fault had taken effect (the process was dead/stopped, the rules in place).
    pub inject_ms: f64,
    /// When it was healed (`None`: injecting failed).
    pub heal_ms: Option<f64>,
    /// Fault → first write acknowledged after it (probe writes to every replica every 10 ms);
    /// measured for faults that take the leader away.
    pub failover_ms: Option<f64>,
    /// Longest stretch without an acknowledged workload write, from the fault to 5 s after heal.
    pub unavailability_ms: Option<f64>,
    /// Terms started between the fault and the next fault (or the end).
    pub elections: u64,
    /// Heal → every replica has applied the highest revision seen at the heal.
    pub catch_up_ms: Option<f64>,
    /// Why injecting, probing or healing failed, if it did.
    pub errors: Vec<String>,
}
