//! Score: prefer the node with the most room left after placing the pod — the mean over CPU
//! and memory of free/allocatable, counting requests with kube's non-zero defaults (kube's
//! NodeResourcesFit LeastAllocated strategy).

use crate::scheduler::node_info::NodeInfo;
use crate::scheduler::plugin::{ScorePlugin, MAX_NODE_SCORE};
use crate::scheduler::pod_info::PodInfo;

pub struct LeastAllocated;

fn least_requested(requested: i64, capacity: i64) -> i64 {
    if capacity <= 0 || requested > capacity {
        return 0;
    }
    match (capacity - requested).checked_mul(MAX_NODE_SCORE) {
        Some(free) => free / capacity,
        // Only for absurd capacities (past 2^63 / 100).
        None => ((i128::from(capacity - requested) * 100) / i128::from(capacity)) as i64,
    }
}

impl ScorePlugin for LeastAllocated {
    fn name(&self) -> &'static str {
        "LeastAllocated"
    }

    fn score(&self, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let requested = node.non_zero_requested().add(&pod.requests.non_zero);
        let alloc = node.allocatable();
        (least_requested(requested.cpu_millis, alloc.cpu_millis)
            + least_requested(requested.memory_bytes, alloc.memory_bytes))
            / 2
    }
}
