//! Filter: a cordoned node (`spec.unschedulable`) takes no new pods, unless the pod tolerates
//! `node.kubernetes.io/unschedulable:NoSchedule` (DaemonSet pods do).

use crate::scheduler::node_info::NodeInfo;
use crate::scheduler::plugin::{FilterPlugin, FilterResult, Unfit};
use crate::scheduler::pod_info::PodInfo;
use crate::scheduler::toleration::{tolerated, EFFECT_NO_SCHEDULE};

pub const TAINT_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
pub const REASON_UNSCHEDULABLE: &str = "node(s) were unschedulable";

pub struct NodeUnschedulable;

impl FilterPlugin for NodeUnschedulable {
    fn name(&self) -> &'static str {
        "NodeUnschedulable"
    }

    fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> FilterResult {
        if !node.unschedulable()
            || tolerated(
                &pod.tolerations,
                TAINT_UNSCHEDULABLE,
                "",
                EFFECT_NO_SCHEDULE,
            )
        {
            return Ok(());
        }
        Err(Unfit::one(REASON_UNSCHEDULABLE))
    }
}
