//! Score: spread the pods of one controller owner (a ReplicaSet's replicas, a StatefulSet's
//! members) across nodes — the fewer of its siblings a node already runs, the higher it scores
//! (kube's SelectorSpread normalisation: `100 * (max - count) / max`).

use crate::scheduler::node_info::NodeInfo;
use crate::scheduler::plugin::{default_normalize, ScorePlugin};
use crate::scheduler::pod_info::PodInfo;

pub struct OwnerSpread;

impl ScorePlugin for OwnerSpread {
    fn name(&self) -> &'static str {
        "OwnerSpread"
    }

    fn score(&self, pod: &PodInfo, node: &NodeInfo) -> i64 {
        pod.owner_id
            .map(|o| i64::from(node.owner_count(o)))
            .unwrap_or(0)
    }

    fn normalize(&self, scores: &mut [i64]) {
        default_normalize(scores, true);
    }
}
