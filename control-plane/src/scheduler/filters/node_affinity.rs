//! Filter: the node matches the pod's `requiredDuringSchedulingIgnoredDuringExecution` node
//! affinity (any of its terms).

use crate::scheduler::node_info::NodeInfo;
use crate::scheduler::node_selector_match::selector_matches;
use crate::scheduler::plugin::{FilterPlugin, FilterResult, Unfit};
use crate::scheduler::pod_info::PodInfo;

use super::node_selector::REASON_NODE_AFFINITY;

pub struct RequiredNodeAffinity;

impl FilterPlugin for RequiredNodeAffinity {
    fn name(&self) -> &'static str {
        "NodeAffinity"
    }

    fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> FilterResult {
        match &pod.required_node_affinity {
            Some(sel) if !selector_matches(sel, node.name(), node.labels()) => {
                Err(Unfit::one(REASON_NODE_AFFINITY))
            }
            _ => Ok(()),
        }
    }
}
