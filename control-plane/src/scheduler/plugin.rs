//! The plugin seams: `FilterPlugin` (may this pod run on this node, and if not, why, in
//! kube-scheduler's words) and `ScorePlugin` (how good is this node, 0..=100 after normalising).

use std::sync::Arc;

use super::node_info::NodeInfo;
use super::pod_info::PodInfo;

/// The highest score a plugin gives a node after normalising (kube's `MaxNodeScore`).
pub const MAX_NODE_SCORE: i64 = 100;

/// Why a node does not fit a pod: one or more reasons, worded as kube-scheduler words them
/// (`Insufficient cpu`, `node(s) didn't match Pod's node affinity/selector`). Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfit {
    reasons: Arc<[String]>,
}

impl Unfit {
    pub fn new(reasons: Vec<String>) -> Unfit {
        Unfit {
            reasons: reasons.into(),
        }
    }

    pub fn one(reason: impl Into<String>) -> Unfit {
        Unfit::new(vec![reason.into()])
    }

    pub fn reasons(&self) -> &[String] {
        &self.reasons
    }
}

pub type FilterResult = Result<(), Unfit>;

/// A feasibility check. Must depend only on the pod and the node itself (its labels, taints,
/// conditions and bound pods): the equivalence cache relies on that.
pub trait FilterPlugin: Send + Sync {
    fn name(&self) -> &'static str;
    fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> FilterResult;
}

/// A ranking of feasible nodes. `score` gives a raw score per node; `normalize` then maps the
/// raw scores of all candidates into 0..=MAX_NODE_SCORE (the default leaves them as they are,
/// for plugins whose raw scores are already in range).
pub trait ScorePlugin: Send + Sync {
    fn name(&self) -> &'static str;
    fn score(&self, pod: &PodInfo, node: &NodeInfo) -> i64;
    fn normalize(&self, _scores: &mut [i64]) {}
}

/// kube's `DefaultNormalizeScore`: scale so the highest raw score becomes MAX_NODE_SCORE;
/// `reverse` then flips (fewer is better). All zero stays zero (or all MAX when reversed).
pub fn default_normalize(scores: &mut [i64], reverse: bool) {
    let max = scores.iter().copied().max().unwrap_or(0);
    if max <= 0 {
        if reverse {
            scores.iter_mut().for_each(|s| *s = MAX_NODE_SCORE);
        }
        return;
    }
    for s in scores.iter_mut() {
        let scaled = MAX_NODE_SCORE * *s / max;
        *s = if reverse {
            MAX_NODE_SCORE - scaled
        } else {
            scaled
        };
    }
}
