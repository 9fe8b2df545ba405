//! Filter: only Ready nodes take new pods. A node whose Ready condition is False (or missing)
//! stands for the `node.kubernetes.io/not-ready` taint, one whose condition is Unknown for
//! `node.kubernetes.io/unreachable` — the NoSchedule taints the node lifecycle controller puts
//! on such nodes — so a pod that tolerates the taint may still go there, and the reason reads as
//! kube-scheduler would print it for that taint.

use crate::scheduler::node_info::{NodeInfo, Readiness};
use crate::scheduler::plugin::{FilterPlugin, FilterResult, Unfit};
use crate::scheduler::pod_info::PodInfo;
use crate::scheduler::toleration::{tolerated, EFFECT_NO_SCHEDULE};

use super::taint_toleration::untolerated_taint_reason;

pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";

pub struct NodeReady;

impl FilterPlugin for NodeReady {
    fn name(&self) -> &'static str {
        "NodeReady"
    }

    fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> FilterResult {
        let key = match node.readiness() {
            Readiness::Ready => return Ok(()),
            Readiness::NotReady => TAINT_NOT_READY,
            Readiness::Unknown => TAINT_UNREACHABLE,
        };
        if tolerated(&pod.tolerations, key, "", EFFECT_NO_SCHEDULE) {
            return Ok(());
        }
        Err(Unfit::one(untolerated_taint_reason(key, "")))
    }
}
