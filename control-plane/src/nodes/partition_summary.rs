//! What an owner tells the leader about its partition each second: the nodes whose liveness
//! changed since the previous summary (all of them in a full summary). Pure: the caller passes
//! the direct reports, the clock and whether a node is still owned here.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use super::liveness::NodeState;

/// A node is silent once its agent has not reported for this long.
pub const SILENCE: Duration = Duration::from_secs(2);

/// Remembers what the leader was last told, to send only differences.
#[derive(Debug, Default)]
pub struct SummaryBuilder {
    told: HashMap<String, Told>,
    seq: u64,
    need_full: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Told {
    Alive,
    Silent,
}

/// One summary to send.
#[derive(Debug, PartialEq)]
pub struct Summary {
    pub seq: u64,
    pub full: bool,
    pub changes: Vec<(String, NodeState)>,
    pub alive: usize,
    pub silent: usize,
}

impl SummaryBuilder {
    pub fn new() -> Self {
        SummaryBuilder {
            need_full: true,
            ..Default::default()
        }
    }

    /// The next summary had better be full (the leader asked, or sending failed).
    pub fn resync(&mut self) {
        self.need_full = true;
    }

    /// The next summary from the direct reports `direct` (node, last report) at `now`; nodes for
    /// which `owned` is false are reported gone once and then forgotten.
    pub fn next(
        &mut self,
        direct: &[(String, Instant)],
        now: Instant,
        owned: impl Fn(&str) -> bool,
    ) -> Summary {
        let full = std::mem::take(&mut self.need_full);
        if full {
            self.told.clear();
        }
        let mut changes = Vec::new();
        let mut current: HashMap<String, Told> = HashMap::new();
        let (mut alive, mut silent) = (0, 0);
        for (node, at) in direct {
            if !owned(node) {
                continue;
            }
            let age = now.saturating_duration_since(*at);
            let (told, state) = if age < SILENCE {
                alive += 1;
                (Told::Alive, NodeState::Alive)
            } else {
                silent += 1;
                (Told::Silent, NodeState::Silent { r#for: age })
            };
            if self.told.get(node) != Some(&told) {
                changes.push((node.clone(), state));
            }
            current.insert(node.clone(), told);
        }
        for node in self.told.keys() {
            if !current.contains_key(node) {
                changes.push((node.clone(), NodeState::Gone));
            }
        }
        changes.sort_by(|a, b| a.0.cmp(&b.0));
        self.told = current;
        self.seq += 1;
        Summary {
            seq: self.seq,
            full,
            changes,
            alive,
            silent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &Summary) -> Vec<(&str, NodeState)> {
        s.changes.iter().map(|(n, st)| (n.as_str(), *st)).collect()
    }

    #[test]
    fn only_transitions_are_sent_after_the_first_full_summary() {
        let t0 = Instant::now();
        let mut b = SummaryBuilder::new();
        let direct = vec![("a".to_string(), t0), ("b".to_string(), t0)];
        let first = b.next(&direct, t0, |_| true);
        assert!(first.full);
        assert_eq!(
            names(&first),
            [("a", NodeState::Alive), ("b", NodeState::Alive)]
        );
        // Nothing changed: an empty delta that still counts the nodes.
        let idle = b.next(&direct, t0 + Duration::from_secs(1), |_| true);
        assert!(!idle.full && idle.changes.is_empty());
        assert_eq!((idle.alive, idle.silent, idle.seq), (2, 0, 2));
        // b stops reporting; a keeps going.
        let later = t0 + Duration::from_secs(3);
        let direct = vec![("a".to_string(), later), ("b".to_string(), t0)];
        let s = b.next(&direct, later, |_| true);
        assert_eq!(
            names(&s),
            [(
                "b",
                NodeState::Silent {
                    r#for: Duration::from_secs(3)
                }
            )]
        );
        // Still silent: not repeated.
        let s = b.next(&direct, later + Duration::from_millis(500), |_| true);
        assert!(s.changes.is_empty(), "{s:?}");
    }

    #[test]
    fn nodes_that_leave_the_partition_are_reported_gone_once() {
        let t0 = Instant::now();
        let mut b = SummaryBuilder::new();
        let direct = vec![("a".to_string(), t0), ("b".to_string(), t0)];
        b.next(&direct, t0, |_| true);
        let s = b.next(&direct, t0, |n| n != "b");
        assert_eq!(names(&s), [("b", NodeState::Gone)]);
        let s = b.next(&direct, t0, |n| n != "b");
        assert!(s.changes.is_empty());
    }

    #[test]
    fn a_resync_sends_everything_again() {
        let t0 = Instant::now();
        let mut b = SummaryBuilder::new();
        let direct = vec![("a".to_string(), t0)];
        b.next(&direct, t0, |_| true);
        b.resync();
        let s = b.next(&direct, t0, |_| true);
        assert!(s.full);
        assert_eq!(names(&s), [("a", NodeState::Alive)]);
    }
}
