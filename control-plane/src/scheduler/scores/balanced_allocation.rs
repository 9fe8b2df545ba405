//! Score: prefer the node whose CPU and memory would be used in the most equal proportion after
//! placing the pod: `(1 - |cpu fraction - memory fraction| / 2) * 100` (kube's
//! NodeResourcesBalancedAllocation, on exact requests). A pod that requests neither gets the
//! same score everywhere (kube skips it).

use crate::scheduler::node_info::NodeInfo;
use crate::scheduler::plugin::{ScorePlugin, MAX_NODE_SCORE};
use crate::scheduler::pod_info::PodInfo;

pub struct BalancedAllocation;

impl ScorePlugin for BalancedAllocation {
    fn name(&self) -> &'static str {
        "BalancedAllocation"
    }

    fn score(&self, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let want = pod.requests.requested;
        if want.cpu_millis == 0 && want.memory_bytes == 0 {
            return 0;
        }
        let requested = node.requested().add(&want);
        let alloc = node.allocatable();
        let fraction = |r: i64, a: i64| (a > 0).then(|| (r as f64 / a as f64).min(1.0));
        let std = match (
            fraction(requested.cpu_millis, alloc.cpu_millis),
            fraction(requested.memory_bytes, alloc.memory_bytes),
        ) {
            (Some(a), Some(b)) => ((a - b) / 2.0).abs(),
            _ => 0.0,
        };
        ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
    }
}
