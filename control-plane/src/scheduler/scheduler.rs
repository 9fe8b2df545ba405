//! `Scheduler`: the stateful driver around [`schedule_pod`] — it owns the equivalence cache and
//! the rotating start index, and plans a batch: each pod is decided against the view with the
//! pods decided before it assumed, and the bindings come out as one [`BindingBatch`].

use std::sync::Arc;

use super::binding_batch::{Binding, BindingBatch};
use super::cluster_view::ClusterView;
use super::config::SchedulerConfig;
use super::decision::Decision;
use super::equivalence::EquivalenceCache;
use super::pod_info::PodInfo;
use super::schedule::schedule_pod;

#[derive(Debug)]
pub struct Scheduler {
    config: SchedulerConfig,
    cache: EquivalenceCache,
    next_start: usize,
}

/// The outcome of planning a batch: the bindings to commit, and the pods that fit nowhere with
/// their decision (for their PodScheduled=False condition).
#[derive(Debug, Default)]
pub struct Plan {
    pub batch: BindingBatch,
    pub unschedulable: Vec<(Arc<PodInfo>, Decision)>,
}

impl Scheduler {
    pub fn new(config: SchedulerConfig) -> Scheduler {
        Scheduler {
            config,
            cache: EquivalenceCache::default(),
            next_start: 0,
        }
    }

    pub fn config(&self) -> &SchedulerConfig {
        &self.config
    }

    /// Decides one pod, through the cache; advances the start index past the nodes examined.
    pub fn schedule(&mut self, view: &ClusterView, pod: &PodInfo) -> Decision {
        let (decision, examined) = schedule_pod(
            view,
            pod,
            &self.config,
            Some(&mut self.cache),
            self.next_start,
        );
        let n = view.nodes().len();
        if n > 0 {
            self.next_start = (self.next_start + examined) % n;
        }
        decision
    }

    /// Decides `pods` in order on `view`, assuming each binding on it so later pods see earlier
    /// ones (kube's assume cache). `view` is the scheduler's own working copy; the batch is to
    /// be applied to the committed view with [`BindingBatch::apply`], which re-checks fit.
    /// Pods already placed in `view` are skipped.
    pub fn plan(&mut self, view: &mut ClusterView, pods: &[Arc<PodInfo>]) -> Plan {
        let mut plan = Plan::default();
        for pod in pods {
            if view.placement(&pod.key).is_some() {
                continue;
            }
            match self.schedule(view, pod) {
                Decision::Bind { node, .. } => {
                    if view.assume(pod.clone(), &node).is_ok() {
                        plan.batch.push(Binding {
                            pod: pod.clone(),
                            node,
                        });
                    }
                }
                unschedulable => plan.unschedulable.push((pod.clone(), unschedulable)),
            }
        }
        plan
    }

    /// Equivalence cache (hits, misses).
    pub fn cache_stats(&self) -> (u64, u64) {
        self.cache.stats()
    }
}
