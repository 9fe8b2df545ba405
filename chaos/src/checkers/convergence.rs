//! Convergence after heal: every replica ends at the same revision with the same state hash,
//! soon enough.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::{CheckResult, Checker};
use crate::history::{format_ns, History};

/// Checks the final samples (taken after the last fault was healed): every replica of the cell
/// answered, all at one revision with one state hash, and (when the heal time is recorded) the
/// final round was answered within `deadline` of the heal.
#[derive(Clone, Copy, Debug)]
pub struct Convergence {
    pub deadline: Duration,
}

impl Default for Convergence {
    fn default() -> Self {
        Convergence {
            deadline: Duration::from_secs(10),
        }
    }
}

impl Checker for Convergence {
    fn name(&self) -> &'static str {
        "convergence"
    }

    fn check(&self, history: &History) -> CheckResult {
        let mut result = CheckResult::new(self.name());
        let cluster = &history.cluster;
        let finals = &cluster.final_states;
        result.stat("replicas_reporting", finals.len() as u64);
        if cluster.replicas.is_empty() && finals.is_empty() {
            result.inconclusive(
                "no final state was recorded (and no replica list): nothing to compare",
            );
            return result;
        }
        let reporting: BTreeSet<u64> = finals.iter().map(|s| s.replica).collect();
        for replica in &cluster.replicas {
            if !reporting.contains(replica) {
                result.violation(format!(
                    "replica {replica} gave no state at the final check"
                ));
            }
        }
        // (revision, hash) → replicas.
        let mut groups: BTreeMap<(u64, &str), Vec<u64>> = BTreeMap::new();
        for s in finals {
            groups
                .entry((s.revision, &s.state_hash))
                .or_default()
                .push(s.replica);
        }
        if groups.len() > 1 {
            let revisions: BTreeSet<u64> = groups.keys().map(|(r, _)| *r).collect();
            let kind = if revisions.len() < groups.len() {
                "divergent: different state hashes at the same revision"
            } else {
                "not converged: replicas at different revisions"
            };
            let listed: Vec<String> = groups
                .iter()
                .map(|((rev, hash), replicas)| {
                    format!("replicas {replicas:?} at rev {rev} hash {hash}")
                })
                .collect();
            result.violation(format!("after heal, {kind}: {}", listed.join("; ")));
        }
        if let (Some(healed), Some(last)) = (
            cluster.healed_ns,
            finals.iter().map(|s| s.complete_ns).max(),
        ) {
            let took = Duration::from_nanos(last.saturating_sub(healed));
            result.stat("converge_ms", took.as_millis() as u64);
            if took > self.deadline {
                result.violation(format!(
                    "the final check was answered at {}, {} ms after the heal at {} (deadline {} ms)",
                    format_ns(last),
                    took.as_millis(),
                    format_ns(healed),
                    self.deadline.as_millis()
                ));
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_history::TestHistory;
    use crate::checkers::Verdict;

    fn healed(t: &mut TestHistory, at_ms: u64) {
        t.h.cluster.replicas = vec![1, 2, 3];
        t.h.cluster.healed_ns = Some(at_ms * 1_000_000);
    }

    #[test]
    fn identical_final_states_pass() {
        let mut t = TestHistory::new();
        healed(&mut t, 1_000);
        for r in 1..=3 {
            t.final_state(r, (1_500, 1_600), 42, "abc");
        }
        let r = Convergence::default().check(&t.build());
        assert_eq!(r.verdict(), Verdict::Pass, "{r:?}");
        assert_eq!(r.stats["converge_ms"], 600);
    }

    #[test]
    fn flags_divergent_hashes_lagging_and_missing_replicas() {
        let mut t = TestHistory::new();
        healed(&mut t, 1_000);
        t.final_state(1, (1_500, 1_600), 42, "abc");
        t.final_state(2, (1_500, 1_600), 42, "abd");
        t.final_state(3, (1_500, 1_600), 42, "abc");
        let r = Convergence::default().check(&t.build());
        assert_eq!(r.verdict(), Verdict::Fail);
        assert!(r.violations[0].contains("divergent: different state hashes at the same revision"));
        assert!(
            r.violations[0].contains("replicas [2] at rev 42 hash abd"),
            "{r:?}"
        );

        let mut t = TestHistory::new();
        healed(&mut t, 1_000);
        t.final_state(1, (1_500, 1_600), 42, "abc");
        t.final_state(2, (1_500, 1_600), 40, "old");
        let r = Convergence::default().check(&t.build());
        assert_eq!(r.violation_count, 2, "{r:?}");
        assert!(r.violations[0].contains("replica 3 gave no state"), "{r:?}");
        assert!(r.violations[1].contains("not converged"), "{r:?}");
    }

    #[test]
    fn flags_slow_convergence_and_says_when_there_is_nothing_to_check() {
        let mut t = TestHistory::new();
        healed(&mut t, 1_000);
        for r in 1..=3 {
            t.final_state(r, (12_000, 12_001), 42, "abc");
        }
        let r = Convergence::default().check(&t.build());
        assert_eq!(r.verdict(), Verdict::Fail);
        assert!(r.violations[0].contains("11001 ms after the heal"), "{r:?}");

        let r = Convergence::default().check(&History::default());
        assert_eq!(r.verdict(), Verdict::Inconclusive);
    }
}
