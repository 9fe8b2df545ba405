//! Faults behind one trait, one kind per file: [`KillFault`] (SIGKILL, then restart),
//! [`PauseFault`] (SIGSTOP longer than the election timeout, then SIGCONT), [`PartitionFault`]
//! (isolate the leader, majority/minority, one-way), [`LinkLossFault`] (random packet loss) and
//! [`LinkSlowFault`] (rate-limited link), [`ClockSkewFault`] (a replica's wall clock shifted with
//! libfaketime), [`MembershipFault`] (replace a voter under load and put
//! it back), [`SlowFsyncFault`] (keel-server's fsync failpoint) and [`SnapshotCatchUpFault`] (cut a follower off until only a snapshot can catch it
//! up). Network faults need a [`crate::network::NetnsLab`].
//!
//! A fault picks its victims when injected (from the cell's state and the seeded random source in
//! [`FaultEnv`]) and undoes exactly what it did when healed.

mod clock_skew;
mod fault;
mod fault_env;
mod fault_spec;
mod kill;
mod link_loss;
mod link_slow;
mod membership;
mod partition;
mod pause;
mod slow_fsync;
mod snapshot_catch_up;
mod target;

pub use clock_skew::{libfaketime, skewed_clock_env, ClockSkewFault};
pub use fault::Fault;
pub use fault_env::FaultEnv;
pub use fault_spec::FaultSpec;
pub use kill::KillFault;
pub use link_loss::LinkLossFault;
pub use link_slow::LinkSlowFault;
pub use membership::MembershipFault;
pub use partition::{PartitionFault, PartitionShape};
pub use pause::PauseFault;
pub use slow_fsync::{failpoints_env, SlowFsyncFault};
pub use snapshot_catch_up::SnapshotCatchUpFault;
pub use target::{Target, Victim};
