//! `NodeLiveness`: when this replica last received a report from each node's agent. Agents
//! report to the leader (followers redirect them there until partitioned ownership lands), so
//! on the leader this table is the cell's liveness; a new leader starts empty and counts every
//! node as seen when its term began.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::time::Instant;

#[derive(Clone, Default)]
pub struct NodeLiveness {
    seen: Arc<Mutex<HashMap<String, Instant>>>,
}

impl NodeLiveness {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a report from `node` now.
    pub fn seen(&self, node: &str) {
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        match seen.get_mut(node) {
            Some(at) => *at = now,
            None => {
                seen.insert(node.to_string(), now);
            }
        }
    }

    /// When `node` last reported here, if ever.
    pub fn last_seen(&self, node: &str) -> Option<Instant> {
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(node)
            .copied()
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
}
