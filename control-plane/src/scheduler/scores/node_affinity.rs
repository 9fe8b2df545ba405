//! Score: preferred node affinity — the sum of the weights of the pod's
//! `preferredDuringSchedulingIgnoredDuringExecution` terms the node matches, scaled so the best
//! candidate gets 100.

use crate::scheduler::node_info::NodeInfo;
use crate::scheduler::node_selector_match::term_matches;
use crate::scheduler::plugin::{default_normalize, ScorePlugin};
use crate::scheduler::pod_info::PodInfo;

pub struct PreferredNodeAffinity;

impl ScorePlugin for PreferredNodeAffinity {
    fn name(&self) -> &'static str {
        "NodeAffinity"
    }

    fn score(&self, pod: &PodInfo, node: &NodeInfo) -> i64 {
        pod.preferred_node_affinity
            .iter()
            .filter(|t| t.weight > 0 && term_matches(&t.preference, node.name(), node.labels()))
            .map(|t| i64::from(t.weight))
            .sum()
    }

    fn normalize(&self, scores: &mut [i64]) {
        default_normalize(scores, false);
    }
}
