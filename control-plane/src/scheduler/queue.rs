//! `SchedulingQueue`: which pending pods to try next. A pod that fits nowhere waits in the
//! unschedulable set until the cluster changes (a node added or updated, a pod deleted or
//! finished), then goes back to the active queue — kube's MoveAllToActiveOrBackoffQueue.
//! Pure bookkeeping: the caller feeds it events and pops pods.

use std::collections::{BTreeSet, HashSet, VecDeque};

use super::pod_info::PodKey;

#[derive(Debug, Default)]
pub struct SchedulingQueue {
    active: VecDeque<PodKey>,
    queued: HashSet<PodKey>,
    unschedulable: BTreeSet<PodKey>,
}

impl SchedulingQueue {
    pub fn new() -> SchedulingQueue {
        SchedulingQueue::default()
    }

    /// A new or updated pending pod: queued for an attempt (once, however often it is added).
    /// An update to an unschedulable pod may have made it fit, so it is retried too.
    pub fn add(&mut self, pod: PodKey) {
        self.unschedulable.remove(&pod);
        if self.queued.insert(pod.clone()) {
            self.active.push_back(pod);
        }
    }

    /// The next pod to try, oldest first.
    pub fn pop(&mut self) -> Option<PodKey> {
        let pod = self.active.pop_front()?;
        self.queued.remove(&pod);
        Some(pod)
    }

    /// The attempt found no node: park the pod until the cluster changes.
    pub fn mark_unschedulable(&mut self, pod: PodKey) {
        if !self.queued.contains(&pod) {
            self.unschedulable.insert(pod);
        }
    }

    /// Something that can make a pod fit happened: every parked pod is tried again.
    pub fn cluster_changed(&mut self) {
        for pod in std::mem::take(&mut self.unschedulable) {
            if self.queued.insert(pod.clone()) {
                self.active.push_back(pod);
            }
        }
    }

    /// The pod was bound or deleted: forget it.
    pub fn remove(&mut self, pod: &PodKey) {
        self.unschedulable.remove(pod);
        if self.queued.remove(pod) {
            self.active.retain(|p| p != pod);
        }
    }

    pub fn active_len(&self) -> usize {
        self.active.len()
    }

    pub fn unschedulable_len(&self) -> usize {
        self.unschedulable.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> PodKey {
        PodKey::new("default", name)
    }

    #[test]
    fn unschedulable_pods_wait_for_a_cluster_change() {
        let mut q = SchedulingQueue::new();
        q.add(key("a"));
        q.add(key("b"));
        q.add(key("a"));
        assert_eq!(q.active_len(), 2);
        let a = q.pop().expect("a");
        assert_eq!(a, key("a"));
        q.mark_unschedulable(a);
        assert_eq!(q.pop(), Some(key("b")));
        assert_eq!(q.pop(), None, "a waits until the cluster changes");
        q.cluster_changed();
        assert_eq!(q.pop(), Some(key("a")));
        assert_eq!(q.unschedulable_len(), 0);
    }

    #[test]
    fn updates_and_removals() {
        let mut q = SchedulingQueue::new();
        q.mark_unschedulable(key("a"));
        q.add(key("a")); // the pod was edited: try again now
        assert_eq!(q.unschedulable_len(), 0);
        q.add(key("b"));
        q.remove(&key("a"));
        assert_eq!(q.pop(), Some(key("b")));
        assert_eq!(q.pop(), None);
    }
}
