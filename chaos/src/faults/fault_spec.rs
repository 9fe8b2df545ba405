//! A fault as data (for schedules and reports), and the [`Fault`] it builds.

use serde::{Deserialize, Serialize};

use super::{
    ClockSkewFault, Fault, KillFault, LinkLossFault, LinkSlowFault, MembershipFault,
    PartitionFault, PartitionShape, PauseFault, SlowFsyncFault, SnapshotCatchUpFault, Target,
};

/// What to inject; [`FaultSpec::build`] makes the fault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "fault")]
pub enum FaultSpec {
    Kill {
        target: Target,
    },
    Pause {
        target: Target,
    },
    Partition {
        shape: PartitionShape,
    },
    Loss {
        target: Target,
        percent: u8,
    },
    Slow {
        target: Target,
        kbit: u32,
    },
    /// Restart a replica with its wall clock `offset_secs` off (libfaketime), then without.
    ClockSkew {
        target: Target,
        offset_secs: i64,
    },
    /// Restart a replica with every Raft log fsync `delay_ms` late (failpoint), then without.
    SlowFsync {
        target: Target,
        delay_ms: u64,
    },
    /// Replace a random voter by a new replica (add learner, promote, remove), then back.
    MembershipSwap,
    /// Blackhole a follower until the leader purged its log past it; it catches up by snapshot.
    SnapshotCatchUp,
}

impl FaultSpec {
    pub fn build(&self) -> Box<dyn Fault> {
        match self {
            FaultSpec::Kill { target } => Box::new(KillFault::new(*target)),
            FaultSpec::Pause { target } => Box::new(PauseFault::new(*target)),
            FaultSpec::Partition { shape } => Box::new(PartitionFault::new(*shape)),
            FaultSpec::Loss { target, percent } => Box::new(LinkLossFault::new(*target, *percent)),
            FaultSpec::Slow { target, kbit } => Box::new(LinkSlowFault::new(*target, *kbit)),
            FaultSpec::ClockSkew {
                target,
                offset_secs,
            } => Box::new(ClockSkewFault::new(*target, *offset_secs)),
            FaultSpec::SlowFsync { target, delay_ms } => {
                Box::new(SlowFsyncFault::new(*target, *delay_ms))
            }
            FaultSpec::MembershipSwap => Box::new(MembershipFault::new()),
            FaultSpec::SnapshotCatchUp => Box::new(SnapshotCatchUpFault::new()),
        }
    }

    /// Whether the fault needs replicas in network namespaces.
    pub fn needs_network(&self) -> bool {
        matches!(
            self,
            FaultSpec::Partition { .. }
                | FaultSpec::Loss { .. }
                | FaultSpec::Slow { .. }
                | FaultSpec::SnapshotCatchUp
        )
    }

    /// The fault's name, as [`Fault::name`] gives it.
    pub fn name(&self) -> String {
        self.build().name()
    }
}
