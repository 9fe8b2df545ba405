//! A fault as data (for schedules and reports), and the [`Fault`] it builds.

use serde::{Deserialize, Serialize};

use super::{
    Fault, KillFault, LinkLossFault, LinkSlowFault, PartitionFault, PartitionShape, PauseFault,
    Target,
};

/// What to inject; [`FaultSpec::build`] makes the fault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "fault")]
pub enum FaultSpec {
    Kill { target: Target },
    Pause { target: Target },
    Partition { shape: PartitionShape },
    Loss { target: Target, percent: u8 },
    Slow { target: Target, kbit: u32 },
}

impl FaultSpec {
    pub fn build(&self) -> Box<dyn Fault> {
        match self {
            FaultSpec::Kill { target } => Box::new(KillFault::new(*target)),
            FaultSpec::Pause { target } => Box::new(PauseFault::new(*target)),
            FaultSpec::Partition { shape } => Box::new(PartitionFault::new(*shape)),
            FaultSpec::Loss { target, percent } => Box::new(LinkLossFault::new(*target, *percent)),
            FaultSpec::Slow { target, kbit } => Box::new(LinkSlowFault::new(*target, *kbit)),
        }
    }

    /// Whether the fault needs replicas in network namespaces.
    pub fn needs_network(&self) -> bool {
        matches!(
            self,
            FaultSpec::Partition { .. } | FaultSpec::Loss { .. } | FaultSpec::Slow { .. }
        )
    }

    /// The fault's name, as [`Fault::name`] gives it.
    pub fn name(&self) -> String {
        self.build().name()
    }
}
