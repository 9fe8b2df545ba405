//! Filter: required pod anti-affinity on `kubernetes.io/hostname`, both ways — no pod already
//! on the node has a term that selects the incoming pod, and none of the incoming pod's terms
//! selects a pod already on the node.

use crate::scheduler::node_info::NodeInfo;
use crate::scheduler::plugin::{FilterPlugin, FilterResult, Unfit};
use crate::scheduler::pod_info::PodInfo;

pub const REASON_EXISTING_ANTI_AFFINITY: &str =
    "node(s) didn't satisfy existing pods anti-affinity rules";
pub const REASON_ANTI_AFFINITY: &str = "node(s) didn't match pod anti-affinity rules";

pub struct PodAntiAffinity;

impl FilterPlugin for PodAntiAffinity {
    fn name(&self) -> &'static str {
        "InterPodAffinity"
    }

    fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> FilterResult {
        let existing_refuses = node.pods().any(|p| {
            p.anti_affinity
                .iter()
                .any(|t| t.selects(&pod.key.namespace, &pod.labels))
        });
        if existing_refuses {
            return Err(Unfit::one(REASON_EXISTING_ANTI_AFFINITY));
        }
        if !pod.anti_affinity.is_empty() {
            let refuses = node.pods().any(|p| {
                pod.anti_affinity
                    .iter()
                    .any(|t| t.selects(&p.key.namespace, &p.labels))
            });
            if refuses {
                return Err(Unfit::one(REASON_ANTI_AFFINITY));
            }
        }
        Ok(())
    }
}
