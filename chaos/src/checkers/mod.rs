//! Checkers that can fail: one guarantee per file, each judging a recorded
//! [`History`](crate::history::History) in pure code and returning a [`CheckResult`] whose
//! violations name the operations, clients, replicas and times involved.
//!
//! [`run_all`] runs every checker with its defaults; [`summary_table`] renders the results.

mod check_result;
mod checker;
mod convergence;
mod event_list;
mod linearizable;
mod monotonic;
mod no_lost_writes;
mod register_model;
mod revision_facts;
mod search_memo;
mod single_leader;
mod summary_table;
mod watch_order;
mod wgl_search;

#[cfg(test)]
mod linearizable_proptest;
#[cfg(test)]
mod linearizable_tests;
#[cfg(test)]
mod run_all_tests;
#[cfg(test)]
mod test_history;

pub use check_result::{CheckResult, Verdict, MAX_LISTED_VIOLATIONS};
pub use checker::Checker;
pub use convergence::Convergence;
pub use linearizable::Linearizable;
pub use monotonic::Monotonic;
pub use no_lost_writes::NoLostWrites;
pub use single_leader::SingleLeader;
pub use summary_table::summary_table;
pub use watch_order::WatchOrder;

use crate::history::History;

/// Every checker, with default settings, in report order.
pub fn all_checkers() -> Vec<Box<dyn Checker>> {
    vec![
        Box::new(Linearizable::default()),
        Box::new(NoLostWrites),
        Box::new(WatchOrder),
        Box::new(Monotonic),
        Box::new(SingleLeader),
        Box::new(Convergence::default()),
    ]
}

/// Runs [`all_checkers`] on `history`.
pub fn run_all(history: &History) -> Vec<CheckResult> {
    all_checkers().iter().map(|c| c.check(history)).collect()
}
