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
                leaders.entry(s.term).or_default().entry(leader).or_insert(s);
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
        result.stat("leader_samples", history.cluster.leader_samples.len() as u64);
        result.stat("terms_with_a_leader", leaders.len() as u64);
        result
    }
}
