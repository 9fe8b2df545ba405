//! What faults act on: the cell, its network lab (if any), where the clients are attached, and
//! the run's seeded random source.

use std::sync::{Arc, Mutex};

use rand::{rngs::StdRng, Rng, SeedableRng};

use crate::{
    history::HistoryRecorder, network::NetnsLab, workload::ClientAttachments, LocalCluster,
};

/// Shared by every fault of a run.
#[derive(Debug)]
pub struct FaultEnv {
    pub cluster: Arc<LocalCluster>,
    /// `None`: the cell runs on loopback and network faults are refused.
    pub lab: Option<Arc<NetnsLab>>,
    /// Which replica each register client talks to (for [`super::Target::AttachedTo`]).
    pub attachments: ClientAttachments,
    /// The run's history, for what faults themselves must record (e.g. data wipes).
    pub recorder: Arc<HistoryRecorder>,
    rng: Mutex<StdRng>,
}

impl FaultEnv {
    pub fn new(
        cluster: Arc<LocalCluster>,
        lab: Option<Arc<NetnsLab>>,
        attachments: ClientAttachments,
        recorder: Arc<HistoryRecorder>,
        seed: u64,
    ) -> Self {
        FaultEnv {
            cluster,
            lab,
            attachments,
            recorder,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
        }
    }

    /// The lab, or an error naming the fault that needs one.
    pub fn lab(&self, fault: &str) -> anyhow::Result<&NetnsLab> {
        self.lab.as_deref().ok_or_else(|| {
            anyhow::anyhow!("{fault} needs replicas in network namespaces (--network netns)")
        })
    }

    /// A seeded random index below `n` (`n` > 0).
    pub fn pick_index(&self, n: usize) -> usize {
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        rng.random_range(0..n.max(1))
    }
}
