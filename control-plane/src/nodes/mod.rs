//! The node plane's state on a replica, in memory, never in the log (a healthy idle node costs
//! no Raft entries): which replica owns which node ([`ownership`]), when each node was last
//! alive ([`NodeLiveness`]), the owner's summaries of its partition to the leader
//! ([`partition_summary`], [`summary_sender`]) and the batching of status changes into few log
//! entries ([`StatusBatcher`]).

mod liveness;
pub mod ownership;
pub mod partition_summary;
mod status_batcher;
pub mod summary_sender;

pub use liveness::{NodeLiveness, NodeState, SummaryOutcome};
pub use ownership::PartitionTable;
pub use status_batcher::StatusBatcher;
