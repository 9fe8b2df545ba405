//! Linearizability of every key's history, as a read/write/CAS register: a bounded Wing–Gong
//! search per key (see [`super::wgl_search`]) that says "inconclusive" when the bound is hit.

use super::register_model::{RegState, RegisterHistory};
use super::revision_facts::RevisionFacts;
use super::wgl_search::{search, SearchOutcome};
use super::{CheckResult, Checker};
use crate::history::{History, OpId};

/// Checks that each key's operations are linearizable: there is one order of them, consistent
/// with real time, in which every answer is what a single register would have given. Keys are
/// independent registers that start absent. An operation without an answer may take effect at
/// any time after its invocation, or never.
#[derive(Clone, Debug)]
pub struct Linearizable {
    /// A key with more operations than this is not searched (reported inconclusive).
    pub max_ops_per_key: usize,
    /// Search steps allowed per key before giving up (reported inconclusive).
    pub step_budget_per_key: u64,
}

impl Default for Linearizable {
    fn default() -> Self {
        Linearizable {
            max_ops_per_key: 5_000,
            step_budget_per_key: 20_000_000,
        }
    }
}

impl Checker for Linearizable {
    fn name(&self) -> &'static str {
        "linearizable"
    }

    fn check(&self, history: &History) -> CheckResult {
        let mut result = CheckResult::new(self.name());
        let (mut keys, mut ops, mut unanswered, mut steps) = (0, 0, 0, 0);
        let (mut bad_keys, mut undecided_keys) = (0, 0);
        let facts = RevisionFacts::from_history(history);
        for (key, ids) in history.ops_by_key() {
            let reg = RegisterHistory::build(history, &ids, &facts);
            keys += 1;
            ops += reg.len() as u64;
            unanswered += reg.unanswered() as u64;
            for &id in &reg.malformed {
                result.violation(format!(
                    "malformed history: the answer of {} does not fit its kind",
                    describe(history, id)
                ));
            }
            if reg.len() > self.max_ops_per_key {
                undecided_keys += 1;
                result.inconclusive(format!(
                    "key {key:?}: {} operations exceed the limit of {} per key; not searched",
                    reg.len(),
                    self.max_ops_per_key
                ));
                continue;
            }
            let outcome = search(
                &reg.intervals,
                RegState::ABSENT,
                |s, i| reg.step(s, i),
                self.step_budget_per_key,
            );
            match outcome {
                SearchOutcome::Linearizable { steps: n } => steps += n,
                SearchOutcome::Inconclusive { steps: n } => {
                    steps += n;
                    undecided_keys += 1;
                    result.inconclusive(format!(
                        "key {key:?}: search budget of {} steps exhausted over {} operations \
                         ({} without answer); neither proved nor refuted",
                        self.step_budget_per_key,
                        reg.len(),
                        reg.unanswered()
                    ));
                }
                SearchOutcome::NotLinearizable { steps: n, deepest } => {
                    steps += n;
                    bad_keys += 1;
                    let last = match deepest.last_op {
                        Some(i) => format!(
                            "the last one placed being {}",
                            describe(history, reg.ids[i])
                        ),
                        None => "none placed".to_string(),
                    };
                    result.violation(format!(
                        "key {key:?} is not linearizable: no order of its {} operations fits real \
                         time and a single register. The search placed at most {} of them ({last}); \
                         there the register held {}, and {} must already have taken effect but \
                         cannot",
                        reg.len(),
                        deepest.linearized,
                        reg.describe(deepest.state),
                        describe(history, reg.ids[deepest.blocked_op]),
                    ));
                }
            }
        }
        result.stat("keys", keys);
        result.stat("ops_checked", ops);
        result.stat("ops_unanswered", unanswered);
        result.stat("keys_not_linearizable", bad_keys);
        result.stat("keys_inconclusive", undecided_keys);
        result.stat("search_steps", steps);
        result
    }
}

fn describe(history: &History, id: OpId) -> String {
    history
        .op(id)
        .map(|op| op.describe(id))
        .unwrap_or_else(|| format!("op #{}", id.0))
}
