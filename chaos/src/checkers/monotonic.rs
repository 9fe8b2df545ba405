//! Terms and revisions never go backwards: per replica across samples (they are durable, so not
//! even across restarts; only a replica whose data was wiped starts again, as a new incarnation),
//! and across acknowledged writes in real time.

use std::collections::{BTreeMap, HashMap};

use super::{CheckResult, Checker};
use crate::history::{format_ns, incarnation, History, OpId};

/// A value observed somewhere inside `[invoke, complete]`.
#[derive(Clone, Copy, Debug)]
struct Observation {
    invoke: u64,
    complete: u64,
    value: u64,
}

/// One incarnation of a replica: samples before and after a data wipe are judged apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct ReplicaLife {
    replica: u64,
    incarnation: usize,
}

impl std::fmt::Display for ReplicaLife {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.incarnation {
            0 => write!(f, "{}", self.replica),
            n => write!(f, "{} (incarnation {})", self.replica, n + 1),
        }
    }
}

/// Checks, for each replica (each incarnation of it), that no term or applied revision sample is lower than one taken
/// strictly before it (the earlier answer arrived before the later request was sent; samples in
/// flight together are not ordered). Restarts are no exception: terms and revisions are durable.
/// Also checks the store's revisions as clients saw them: acknowledged writes have distinct
/// revisions, and a write invoked after another completed has a higher revision.
#[derive(Clone, Copy, Debug, Default)]
pub struct Monotonic;

impl Checker for Monotonic {
    fn name(&self) -> &'static str {
        "monotonic"
    }

    fn check(&self, history: &History) -> CheckResult {
        let mut result = CheckResult::new(self.name());
        let cluster = &history.cluster;
        // Per (replica, incarnation): a replica wiped and re-added starts from zero again.
        let life = |replica: u64, invoke: u64| -> ReplicaLife {
            ReplicaLife {
                replica,
                incarnation: incarnation(&cluster.wipes, replica, invoke),
            }
        };
        let mut terms: BTreeMap<ReplicaLife, Vec<Observation>> = BTreeMap::new();
        for s in &cluster.leader_samples {
            terms
                .entry(life(s.replica, s.invoke_ns))
                .or_default()
                .push(Observation {
                    invoke: s.invoke_ns,
                    complete: s.complete_ns,
                    value: s.term,
                });
        }
        let mut revisions: BTreeMap<ReplicaLife, Vec<Observation>> = BTreeMap::new();
        for s in cluster.state_samples.iter().chain(&cluster.final_states) {
            revisions
                .entry(life(s.replica, s.invoke_ns))
                .or_default()
                .push(Observation {
                    invoke: s.invoke_ns,
                    complete: s.complete_ns,
                    value: s.revision,
                });
        }
        for (what, per_replica) in [("term", &terms), ("revision", &revisions)] {
            for (replica, samples) in per_replica {
                for (earlier, later) in backwards(samples, false) {
                    let (a, b) = (samples[earlier], samples[later]);
                    result.violation(format!(
                        "replica {replica}: {what} went backwards from {} (sampled {}–{}) to {} \
                         (sampled {}–{})",
                        a.value,
                        format_ns(a.invoke),
                        format_ns(a.complete),
                        b.value,
                        format_ns(b.invoke),
                        format_ns(b.complete),
                    ));
                }
            }
        }
        let writes = check_write_revisions(history, &mut result);
        result.stat("leader_samples", cluster.leader_samples.len() as u64);
        result.stat(
            "state_samples",
            (cluster.state_samples.len() + cluster.final_states.len()) as u64,
        );
        result.stat("acknowledged_writes_with_revision", writes);
        result
    }
}

/// Acknowledged writes: distinct revisions, increasing in real time. Returns how many were seen.
fn check_write_revisions(history: &History, result: &mut CheckResult) -> u64 {
    let writes: Vec<(OpId, u64)> = history
        .ops
        .iter()
        .enumerate()
        .filter_map(|(i, op)| op.write_revision().map(|r| (OpId(i), r)))
        .collect();
    let describe = |id: OpId| history.ops[id.0].describe(id);
    let mut by_revision: HashMap<u64, OpId> = HashMap::new();
    for &(id, rev) in &writes {
        if let Some(&other) = by_revision.get(&rev) {
            result.violation(format!(
                "two acknowledged writes share revision {rev}: {} and {}",
                describe(other),
                describe(id)
            ));
        } else {
            by_revision.insert(rev, id);
        }
    }
    let observations: Vec<Observation> = writes
        .iter()
        .map(|&(id, rev)| Observation {
            invoke: history.ops[id.0].invoke_ns,
            complete: history.ops[id.0].effective_complete_ns(),
            value: rev,
        })
        .collect();
    for (earlier, later) in backwards(&observations, true) {
        result.violation(format!(
            "store revision went backwards: {} completed before {} was invoked, with a higher \
             revision",
            describe(writes[earlier].0),
            describe(writes[later].0)
        ));
    }
    writes.len() as u64
}

/// Pairs (earlier, later) of indices into `obs` where `earlier` completed strictly before `later`
/// was invoked but `later` has a lower value (or an equal one, if `strict`). Each `later` is
/// reported once, against the highest value completed before it.
fn backwards(obs: &[Observation], strict: bool) -> Vec<(usize, usize)> {
    let mut by_invoke: Vec<usize> = (0..obs.len()).collect();
    by_invoke.sort_by_key(|&i| (obs[i].invoke, i));
    let mut by_complete: Vec<usize> = (0..obs.len()).collect();
    by_complete.sort_by_key(|&i| (obs[i].complete, i));
    let mut found = Vec::new();
    let mut done = 0;
    // The index of the highest value among observations completed so far.
    let mut highest: Option<usize> = None;
    for &later in &by_invoke {
        while done < by_complete.len() && obs[by_complete[done]].complete < obs[later].invoke {
            let i = by_complete[done];
            if highest.is_none_or(|h| obs[i].value > obs[h].value) {
                highest = Some(i);
            }
            done += 1;
        }
        if let Some(h) = highest {
            let (before, now) = (obs[h].value, obs[later].value);
            if now < before || (strict && now == before) {
                found.push((h, later));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(invoke: u64, complete: u64, value: u64) -> Observation {
        Observation {
            invoke,
            complete,
            value,
        }
    }

    #[test]
    fn only_real_time_ordered_pairs_count() {
        // Overlapping samples may come back in any order.
        assert!(backwards(&[o(0, 10, 5), o(5, 8, 4)], false).is_empty());
        assert_eq!(backwards(&[o(0, 10, 5), o(11, 12, 4)], false), vec![(0, 1)]);
        assert!(backwards(&[o(0, 10, 5), o(11, 12, 5)], false).is_empty());
        assert_eq!(backwards(&[o(0, 10, 5), o(11, 12, 5)], true), vec![(0, 1)]);
    }
}

#[cfg(test)]
mod checker_tests {
    use super::*;
    use crate::checkers::test_history::TestHistory;
    use crate::checkers::Verdict;

    #[test]
    fn passes_rising_terms_and_revisions() {
        let mut t = TestHistory::new();
        t.leader(1, (0, 1), 2, Some(1));
        t.leader(1, (2, 3), 2, Some(1));
        t.leader(1, (4, 5), 5, None);
        t.state(1, (0, 1), 10, "a");
        t.state(1, (2, 3), 12, "b");
        t.final_state(1, (4, 5), 12, "b");
        // Another replica may be behind: only one replica's own samples are compared.
        t.state(2, (2, 3), 3, "c");
        t.write(1, "k", "a", 0, 1, 11);
        t.write(2, "j", "b", 2, 3, 12);
        let r = Monotonic.check(&t.build());
        assert_eq!(r.verdict(), Verdict::Pass, "{r:?}");
    }

    #[test]
    fn flags_a_term_or_revision_going_backwards() {
        let mut t = TestHistory::new();
        t.leader(1, (0, 1), 5, Some(1));
        // After a restart, say: still not allowed.
        t.leader(1, (10, 11), 4, None);
        t.state(2, (0, 1), 12, "b");
        t.state(2, (10, 11), 9, "a");
        let r = Monotonic.check(&t.build());
        assert_eq!(r.violation_count, 2, "{r:?}");
        assert!(
            r.violations[0].starts_with("replica 1: term went backwards from 5"),
            "{r:?}"
        );
        assert!(
            r.violations[1].starts_with("replica 2: revision went backwards from 12"),
            "{r:?}"
        );
    }

    #[test]
    fn a_wiped_replica_starts_again_but_only_after_the_wipe() {
        let mut t = TestHistory::new();
        t.leader(3, (0, 1), 4, Some(3));
        t.state(3, (0, 1), 273, "a");
        t.h.cluster.wipes.push(crate::history::DataWipe {
            replica: 3,
            at_ns: 5,
        });
        // The new incarnation starts from nothing and rises again.
        t.leader(3, (6, 7), 0, None);
        t.state(3, (6, 7), 0, "empty");
        t.state(3, (8, 9), 280, "b");
        let r = Monotonic.check(&t.build());
        assert_eq!(r.verdict(), Verdict::Pass, "{r:?}");

        // Going backwards within the new incarnation is still flagged, and named.
        let mut t = TestHistory::new();
        t.state(3, (0, 1), 273, "a");
        t.h.cluster.wipes.push(crate::history::DataWipe {
            replica: 3,
            at_ns: 5,
        });
        t.state(3, (6, 7), 280, "b");
        t.state(3, (8, 9), 100, "c");
        let r = Monotonic.check(&t.build());
        assert_eq!(r.violation_count, 1, "{r:?}");
        assert!(
            r.violations[0].starts_with("replica 3 (incarnation 2): revision went backwards"),
            "{r:?}"
        );
    }

    #[test]
    fn flags_write_revisions_out_of_real_time_order_or_shared() {
        let mut t = TestHistory::new();
        t.write(1, "k", "a", 0, 1, 7);
        t.write(2, "j", "b", 2, 3, 6);
        let r = Monotonic.check(&t.build());
        assert_eq!(r.verdict(), Verdict::Fail);
        assert!(
            r.violations[0].contains("store revision went backwards"),
            "{r:?}"
        );

        let mut t = TestHistory::new();
        t.write(1, "k", "a", 0, 10, 7);
        t.write(2, "j", "b", 2, 3, 7);
        let r = Monotonic.check(&t.build());
        assert!(
            r.violations[0].starts_with("two acknowledged writes share revision 7"),
            "{r:?}"
        );
    }
}
