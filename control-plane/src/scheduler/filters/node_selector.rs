//! Filter: every `nodeSelector` label of the pod is on the node with the same value.

use crate::scheduler::node_info::NodeInfo;
use crate::scheduler::plugin::{FilterPlugin, FilterResult, Unfit};
use crate::scheduler::pod_info::PodInfo;

/// kube-scheduler's NodeAffinity wording, shared by nodeSelector and required node affinity.
pub const REASON_NODE_AFFINITY: &str = "node(s) didn't match Pod's node affinity/selector";

pub struct NodeSelectorFilter;

impl FilterPlugin for NodeSelectorFilter {
    fn name(&self) -> &'static str {
        "NodeSelector"
    }

    fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> FilterResult {
        let labels = node.labels();
        if pod
            .node_selector
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
        {
            Ok(())
        } else {
            Err(Unfit::one(REASON_NODE_AFFINITY))
        }
    }
}
