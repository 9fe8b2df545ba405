//! Filter: none of the pod's host ports is already claimed on the node (same port and
//! protocol, overlapping host IP).

use crate::scheduler::node_info::NodeInfo;
use crate::scheduler::plugin::{FilterPlugin, FilterResult, Unfit};
use crate::scheduler::pod_info::PodInfo;

pub const REASON_NODE_PORTS: &str = "node(s) didn't have free ports for the requested pod ports";

pub struct HostPorts;

impl FilterPlugin for HostPorts {
    fn name(&self) -> &'static str {
        "NodePorts"
    }

    fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> FilterResult {
        let clash = pod.host_ports.iter().any(|want| {
            node.host_ports()
                .iter()
                .any(|used| want.conflicts_with(used))
        });
        if clash {
            Err(Unfit::one(REASON_NODE_PORTS))
        } else {
            Ok(())
        }
    }
}
