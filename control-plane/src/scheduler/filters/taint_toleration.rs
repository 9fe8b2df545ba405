//! Filter: every NoSchedule and NoExecute taint of the node must be tolerated by the pod
//! (PreferNoSchedule taints only matter for scoring, which this scheduler does not do).

use crate::scheduler::node_info::NodeInfo;
use crate::scheduler::plugin::{FilterPlugin, FilterResult, Unfit};
use crate::scheduler::pod_info::PodInfo;
use crate::scheduler::toleration::{tolerated, EFFECT_NO_EXECUTE, EFFECT_NO_SCHEDULE};

/// kube-scheduler's wording: `node(s) had untolerated taint {key: value}`.
pub fn untolerated_taint_reason(key: &str, value: &str) -> String {
    format!("node(s) had untolerated taint {{{key}: {value}}}")
}

pub struct TaintToleration;

impl FilterPlugin for TaintToleration {
    fn name(&self) -> &'static str {
        "TaintToleration"
    }

    fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> FilterResult {
        let untolerated = node.taints().iter().find(|t| {
            (t.effect == EFFECT_NO_SCHEDULE || t.effect == EFFECT_NO_EXECUTE)
                && !tolerated(
                    &pod.tolerations,
                    &t.key,
                    t.value.as_deref().unwrap_or(""),
                    &t.effect,
                )
        });
        match untolerated {
            None => Ok(()),
            Some(t) => Err(Unfit::one(untolerated_taint_reason(
                &t.key,
                t.value.as_deref().unwrap_or(""),
            ))),
        }
    }
}
