//! Recorded histories of a chaos run: every client operation with its invocation and completion
//! times and outcome, every watcher's event log, and samples of the replicas' terms, leaders,
//! revisions and state hashes. Plain serde data (it goes into report.json); the checkers in
//! [`crate::checkers`] judge it.
//!
//! Times are nanoseconds on one monotonic clock that starts when the [`HistoryRecorder`] is made.

mod cluster_observations;
mod data_wipe;
mod final_read;
#[allow(clippy::module_inception)]
mod history;
mod history_recorder;
mod leader_sample;
mod op;
mod op_kind;
mod outcome;
mod state_sample;
mod time_format;
mod watch_log;

pub use cluster_observations::ClusterObservations;
pub use data_wipe::{incarnation, DataWipe};
pub use final_read::FinalRead;
pub use history::History;
pub use history_recorder::HistoryRecorder;
pub use leader_sample::LeaderSample;
pub use op::{Op, OpId};
pub use op_kind::{CasExpect, OpKind};
pub use outcome::{Outcome, Reply};
pub use state_sample::StateSample;
pub use time_format::format_ns;
pub use watch_log::{WatchEntry, WatchEvent, WatchLog};

pub(crate) use op_kind::show_value;
