//! Election safety: at most one leader per term, across every replica's view.

use std::collections::BTreeMap;

use super::{CheckResult, Checker};
use crate::history::{format_ns, LeaderSample};

/// Checks that no two samples name different leaders for the same term (whether the replica
/// named itself or another: a Raft replica only learns of a term's leader from that leader).
#[derive(Clone, Copy, Debug, Default)]
pub struct SingleLeader;

impl Checker for SingleLeader {
    fn name(&self) -> &'static str {
        "single-leader"
    }

    fn check(&self, history: &crate::history::History) -> CheckResult {
        let mut result = CheckResult::new(self.name());
        // term → leader → the first sample naming it.
        let mut leaders: BTreeMap<u64, BTreeMap<u64, &LeaderSample>> = BTreeMap::new();
        for s in &history.cluster.leader_samples {
            if let Some(leader) = s.leader {
                leaders
                    .entry(s.term)
                    .or_default()
                    .entry(leader)
                    .or_insert(s);
            }
        }
        for (term, named) in &leaders {
            if named.len() > 1 {
                let claims: Vec<String> = named
                    .iter()
                    .map(|(leader, s)| {
                        format!(
                            "replica {leader} (per replica {}, sampled {}–{})",
                            s.replica,
                            format_ns(s.invoke_ns),
                            format_ns(s.complete_ns)
                        )
                    })
                    .collect();
                result.violation(format!(
                    "term {term} has {} leaders: {}",
                    named.len(),
                    claims.join(" and ")
                ));
            }
        }
        result.stat(
            "leader_samples",
            history.cluster.leader_samples.len() as u64,
        );
        result.stat("terms_with_a_leader", leaders.len() as u64);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_history::TestHistory;
    use crate::checkers::Verdict;

    #[test]
    fn one_leader_per_term_passes() {
        let mut t = TestHistory::new();
        t.leader(1, (0, 1), 3, Some(1));
        t.leader(2, (0, 1), 3, Some(1));
        t.leader(3, (0, 1), 3, None);
        t.leader(2, (5, 6), 4, Some(2));
        t.leader(1, (7, 8), 4, Some(2));
        let r = SingleLeader.check(&t.build());
        assert_eq!(r.verdict(), Verdict::Pass, "{r:?}");
        assert_eq!(r.stats["terms_with_a_leader"], 2);
    }

    #[test]
    fn flags_two_leaders_in_one_term() {
        let mut t = TestHistory::new();
        t.leader(1, (0, 1), 3, Some(1));
        t.leader(2, (2, 3), 3, Some(2));
        let r = SingleLeader.check(&t.build());
        assert_eq!(r.verdict(), Verdict::Fail);
        let msg = &r.violations[0];
        assert!(
            msg.starts_with("term 3 has 2 leaders: replica 1 (per replica 1"),
            "{msg}"
        );
        assert!(
            msg.contains("replica 2 (per replica 2, sampled 2.000ms–3.000ms)"),
            "{msg}"
        );
    }
}
