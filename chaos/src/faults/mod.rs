//! Faults behind one trait, one kind per file: [`KillFault`] (SIGKILL, then restart),
//! [`PauseFault`] (SIGSTOP longer than the election timeout, then SIGCONT), [`PartitionFault`]
//! (isolate the leader, majority/minority, one-way), [`LinkLossFault`] (random packet loss) and
//! [`LinkSlowFault`] (rate-limited link). Network faults need a [`crate::network::NetnsLab`].
//!
//! A fault picks its victims when injected (from the cell's state and the seeded random source in
//! [`FaultEnv`]) and undoes exactly what it did when healed.

mod fault;
mod fault_env;
mod fault_spec;
mod kill;
mod link_loss;
mod link_slow;
mod partition;
mod pause;
mod target;

pub use fault::Fault;
pub use fault_env::FaultEnv;
pub use fault_spec::FaultSpec;
pub use kill::KillFault;
pub use link_loss::LinkLossFault;
pub use link_slow::LinkSlowFault;
pub use partition::{PartitionFault, PartitionShape};
pub use pause::PauseFault;
pub use target::Target;
