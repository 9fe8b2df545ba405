//! `Plugins`: the one place filters and scores are registered, in order, with score weights.

use std::sync::Arc;

use super::filters::{
    HostPorts, NodeReady, NodeSelectorFilter, NodeUnschedulable, PodAntiAffinity,
    RequiredNodeAffinity, ResourcesFit, TaintToleration,
};
use super::node_info::NodeInfo;
use super::plugin::{FilterPlugin, FilterResult, ScorePlugin};
use super::pod_info::PodInfo;
use super::scores::{BalancedAllocation, LeastAllocated, OwnerSpread, PreferredNodeAffinity};

/// A score plugin and the weight its normalised score is multiplied by.
#[derive(Clone)]
pub struct WeightedScore {
    pub plugin: Arc<dyn ScorePlugin>,
    pub weight: i64,
}

/// The filters (run in order; the first that fails gives the node's reasons) and scores.
#[derive(Clone)]
pub struct Plugins {
    pub filters: Vec<Arc<dyn FilterPlugin>>,
    pub scores: Vec<WeightedScore>,
}

impl Plugins {
    /// No plugins: every node is feasible and scores 0.
    pub fn empty() -> Plugins {
        Plugins {
            filters: Vec::new(),
            scores: Vec::new(),
        }
    }

    /// The default set: kube-scheduler's filter order, and its default weights (resources 1,
    /// balance 1, spreading 2, node affinity 2).
    pub fn default_set() -> Plugins {
        Plugins {
            filters: vec![
                Arc::new(NodeUnschedulable),
                Arc::new(NodeReady),
                Arc::new(TaintToleration),
                Arc::new(NodeSelectorFilter),
                Arc::new(RequiredNodeAffinity),
                Arc::new(HostPorts),
                Arc::new(ResourcesFit),
                Arc::new(PodAntiAffinity),
            ],
            scores: vec![
                WeightedScore {
                    plugin: Arc::new(LeastAllocated),
                    weight: 1,
                },
                WeightedScore {
                    plugin: Arc::new(BalancedAllocation),
                    weight: 1,
                },
                WeightedScore {
                    plugin: Arc::new(OwnerSpread),
                    weight: 2,
                },
                WeightedScore {
                    plugin: Arc::new(PreferredNodeAffinity),
                    weight: 2,
                },
            ],
        }
    }

    /// Runs the filters in order; the first failure is the node's answer.
    pub fn run_filters(&self, pod: &PodInfo, node: &NodeInfo) -> FilterResult {
        self.filters.iter().try_for_each(|f| f.filter(pod, node))
    }
}

impl Default for Plugins {
    fn default() -> Self {
        Plugins::default_set()
    }
}

impl std::fmt::Debug for Plugins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugins")
            .field(
                "filters",
                &self.filters.iter().map(|p| p.name()).collect::<Vec<_>>(),
            )
            .field(
                "scores",
                &self
                    .scores
                    .iter()
                    .map(|s| (s.plugin.name(), s.weight))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}
