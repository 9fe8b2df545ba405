//! `NodeLiveness`: when each node was last known to be alive, without writing the Raft log.
//!
//! On an owner replica, agents' reports land in the direct table ([`NodeLiveness::seen`]). The
//! owner tells the leader only transitions — a node came alive, fell silent, left the partition
//! — through one small summary a second ([`NodeLiveness::apply_summary`]); while an owner keeps
//! sending summaries, its alive nodes count as seen at its latest summary. If an owner falls
//! silent its nodes age from its last summary, and when the partition table changes (an owner
//! died, leadership moved) every node gets a fresh grace period ([`NodeLiveness::hold_off`]) so
//! that no node is declared dead merely because its owner went away while agents re-home.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use crate::raft::NodeId;

/// A node's state in an owner's summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    /// Reported within the silence threshold.
    Alive,
    /// Last reported `for` ago.
    Silent { r#for: Duration },
    /// No longer in this owner's partition (or never reported there).
    Gone,
}

/// What the leader knows of one owner's partition.
#[derive(Debug)]
struct PartitionView {
    last_summary: Instant,
    seq: u64,
    alive: HashSet<String>,
    silent: HashMap<String, Instant>,
}

#[derive(Debug, Default)]
struct Inner {
    direct: HashMap<String, Instant>,
    partitions: HashMap<NodeId, PartitionView>,
    floor: Option<Instant>,
    leader_contact: Option<Instant>,
}

/// Shared by the node service (direct reports), the summary exchange and the node lifecycle
/// controller.
#[derive(Clone, Default)]
pub struct NodeLiveness {
    inner: Arc<Mutex<Inner>>,
}

/// The outcome of a summary on the leader.
#[derive(Debug, PartialEq, Eq)]
pub enum SummaryOutcome {
    Applied,
    /// A delta arrived without the summaries before it: the owner must send everything.
    NeedFull,
}

impl NodeLiveness {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a report from `node`'s agent on this replica now.
    pub fn seen(&self, node: &str) {
        let now = Instant::now();
        let mut inner = self.lock();
        match inner.direct.get_mut(node) {
            Some(at) => *at = now,
            None => {
                inner.direct.insert(node.to_string(), now);
            }
        }
    }

    /// The nodes reporting directly here with the time of their last report.
    pub fn direct(&self) -> Vec<(String, Instant)> {
        self.lock()
            .direct
            .iter()
            .map(|(n, at)| (n.clone(), *at))
            .collect()
    }

    /// Forgets direct reports of nodes this replica no longer owns.
    pub fn retain_direct(&self, mut keep: impl FnMut(&str) -> bool) {
        self.lock().direct.retain(|n, _| keep(n));
    }

    /// Applies one owner's summary (on the leader). `full` replaces everything known of the
    /// partition; otherwise `seq` must follow the previous summary's.
    pub fn apply_summary(
        &self,
        owner: NodeId,
        seq: u64,
        full: bool,
        changes: impl IntoIterator<Item = (String, NodeState)>,
    ) -> SummaryOutcome {
        let now = Instant::now();
        let mut inner = self.lock();
        if !full {
            match inner.partitions.get(&owner) {
                Some(view) if view.seq + 1 == seq => {}
                _ => return SummaryOutcome::NeedFull,
            }
        }
        let view = inner
            .partitions
            .entry(owner)
            .or_insert_with(|| PartitionView {
                last_summary: now,
                seq,
                alive: HashSet::new(),
                silent: HashMap::new(),
            });
        if full {
            view.alive.clear();
            view.silent.clear();
        }
        view.last_summary = now;
        view.seq = seq;
        for (node, state) in changes {
            match state {
                NodeState::Alive => {
                    view.silent.remove(&node);
                    view.alive.insert(node);
                }
                NodeState::Silent { r#for } => {
                    view.alive.remove(&node);
                    let since = now.checked_sub(r#for).unwrap_or(now);
                    view.silent.insert(node, since);
                }
                NodeState::Gone => {
                    view.alive.remove(&node);
                    view.silent.remove(&node);
                }
            }
        }
        SummaryOutcome::Applied
    }

    /// The partition table changed: every node's age restarts now.
    pub fn hold_off(&self) {
        self.lock().floor = Some(Instant::now());
    }

    /// When `node` was last known alive here, if ever: its latest direct report, the latest
    /// summary of an owner that counts it alive, or the time an owner saw it fall silent —
    /// never earlier than the latest [`NodeLiveness::hold_off`] (which also counts for nodes
    /// not heard of at all).
    pub fn last_seen(&self, node: &str) -> Option<Instant> {
        let inner = self.lock();
        let mut best = inner.direct.get(node).copied();
        for view in inner.partitions.values() {
            let at = if view.alive.contains(node) {
                Some(view.last_summary)
            } else {
                view.silent.get(node).copied()
            };
            best = best.max(at);
        }
        match (best, inner.floor) {
            (Some(b), Some(f)) => Some(b.max(f)),
            (None, floor) => floor,
            (best, None) => best,
        }
    }

    /// The leader acknowledged this replica's summary just now.
    pub fn leader_contact(&self) {
        self.lock().leader_contact = Some(Instant::now());
    }

    /// Whether the leader acknowledged a summary within `within`: an owner cut off from the
    /// leader turns its agents away so that they re-home to a replica the leader can hear.
    pub fn in_contact_with_leader(&self, within: Duration) -> bool {
        self.lock()
            .leader_contact
            .is_some_and(|at| at.elapsed() < within)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_the_latest_report_per_node() {
        let l = NodeLiveness::new();
        assert!(l.last_seen("n1").is_none());
        let before = Instant::now();
        l.seen("n1");
        let first = l.last_seen("n1").unwrap();
        assert!(first >= before);
        l.seen("n1");
        assert!(l.last_seen("n1").unwrap() >= first);
        assert!(l.last_seen("n2").is_none());
    }

    #[test]
    fn an_owners_summary_keeps_its_alive_nodes_fresh_and_dates_silent_ones() {
        let l = NodeLiveness::new();
        let changes = vec![
            ("a".to_string(), NodeState::Alive),
            (
                "b".to_string(),
                NodeState::Silent {
                    r#for: Duration::from_secs(3),
                },
            ),
        ];
        assert_eq!(
            l.apply_summary(2, 1, true, changes),
            SummaryOutcome::Applied
        );
        let now = Instant::now();
        assert!(now.duration_since(l.last_seen("a").unwrap()) < Duration::from_secs(1));
        let b_age = now.duration_since(l.last_seen("b").unwrap());
        assert!(b_age >= Duration::from_secs(3), "{b_age:?}");
        // A delta: b is back, a left the partition.
        let delta = vec![
            ("b".to_string(), NodeState::Alive),
            ("a".to_string(), NodeState::Gone),
        ];
        assert_eq!(l.apply_summary(2, 2, false, delta), SummaryOutcome::Applied);
        assert!(l.last_seen("a").is_none());
        assert!(Instant::now().duration_since(l.last_seen("b").unwrap()) < Duration::from_secs(1));
    }

    #[test]
    fn a_delta_out_of_sequence_asks_for_a_full_summary() {
        let l = NodeLiveness::new();
        assert_eq!(
            l.apply_summary(3, 5, false, Vec::new()),
            SummaryOutcome::NeedFull,
            "no summary from this owner yet"
        );
        assert_eq!(
            l.apply_summary(3, 5, true, Vec::new()),
            SummaryOutcome::Applied
        );
        assert_eq!(
            l.apply_summary(3, 7, false, Vec::new()),
            SummaryOutcome::NeedFull,
            "summary 6 was lost"
        );
        assert_eq!(
            l.apply_summary(3, 6, false, Vec::new()),
            SummaryOutcome::Applied
        );
    }

    #[test]
    fn a_hold_off_restarts_every_known_nodes_age() {
        let l = NodeLiveness::new();
        let long_ago = vec![(
            "x".to_string(),
            NodeState::Silent {
                r#for: Duration::from_secs(60),
            },
        )];
        l.apply_summary(2, 1, true, long_ago);
        assert!(l.last_seen("x").unwrap().elapsed() >= Duration::from_secs(60));
        l.hold_off();
        assert!(l.last_seen("x").unwrap().elapsed() < Duration::from_secs(1));
        assert!(l.last_seen("never").unwrap().elapsed() < Duration::from_secs(1));
    }
}
