//! `keel-chaos run`: a seeded fault schedule against a live cell under a recorded workload, then
//! healing, the checkers, and the report (summary table, report.json, timeline picture).

mod chaos_run;
mod fault_record;
mod metrics;
mod percentiles;
mod report;
mod run_args;
mod scenario;
mod schedule;
mod timeline_plot;
mod workload_set;

pub use chaos_run::{run_chaos, RunOutcome};
pub use fault_record::FaultRecord;
pub use metrics::{compute_metrics, Metrics};
pub use percentiles::Percentiles;
pub use report::Report;
pub use run_args::{NetworkMode, RunArgs};
pub use scenario::{find_scenario, scenarios, CellTuning, Scenario};
pub use schedule::{FaultSchedule, ScheduledFault};
pub use timeline_plot::draw_timeline;
