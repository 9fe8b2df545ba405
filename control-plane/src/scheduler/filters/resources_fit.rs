//! Filter: the pod's requests fit in what the node has left — allocatable minus the requests of
//! the pods already bound — for pod slots, CPU and memory (kube's NodeResourcesFit). A resource
//! the pod does not request is not checked; every shortfall is a reason of its own.

use crate::scheduler::node_info::NodeInfo;
use crate::scheduler::plugin::{FilterPlugin, FilterResult, Unfit};
use crate::scheduler::pod_info::PodInfo;

pub const REASON_TOO_MANY_PODS: &str = "Too many pods";
pub const REASON_INSUFFICIENT_CPU: &str = "Insufficient cpu";
pub const REASON_INSUFFICIENT_MEMORY: &str = "Insufficient memory";

pub struct ResourcesFit;

impl FilterPlugin for ResourcesFit {
    fn name(&self) -> &'static str {
        "NodeResourcesFit"
    }

    fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> FilterResult {
        let want = pod.requests.requested;
        let free = node.allocatable().sub(&node.requested());
        let mut reasons = Vec::new();
        if want.pods > free.pods {
            reasons.push(REASON_TOO_MANY_PODS.to_string());
        }
        if want.cpu_millis > 0 && want.cpu_millis > free.cpu_millis {
            reasons.push(REASON_INSUFFICIENT_CPU.to_string());
        }
        if want.memory_bytes > 0 && want.memory_bytes > free.memory_bytes {
            reasons.push(REASON_INSUFFICIENT_MEMORY.to_string());
        }
        if reasons.is_empty() {
            Ok(())
        } else {
            Err(Unfit::new(reasons))
        }
    }
}
