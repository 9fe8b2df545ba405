//! Filter plugins, one per file, in the order the default registry runs them (kube-scheduler's
//! order: cheap node-level checks first, then ports, resources and inter-pod rules).

mod host_ports;
mod node_affinity;
mod node_ready;
mod node_selector;
mod node_unschedulable;
mod pod_anti_affinity;
mod resources_fit;
mod taint_toleration;

#[cfg(test)]
mod tests;

pub use host_ports::{HostPorts, REASON_NODE_PORTS};
pub use node_affinity::RequiredNodeAffinity;
pub use node_ready::{NodeReady, TAINT_NOT_READY, TAINT_UNREACHABLE};
pub use node_selector::{NodeSelectorFilter, REASON_NODE_AFFINITY};
pub use node_unschedulable::{NodeUnschedulable, REASON_UNSCHEDULABLE, TAINT_UNSCHEDULABLE};
pub use pod_anti_affinity::{PodAntiAffinity, REASON_ANTI_AFFINITY, REASON_EXISTING_ANTI_AFFINITY};
pub use resources_fit::{
    ResourcesFit, REASON_INSUFFICIENT_CPU, REASON_INSUFFICIENT_MEMORY, REASON_TOO_MANY_PODS,
};
pub use taint_toleration::{untolerated_taint_reason, TaintToleration};
