//! `Decision`: where a pod goes, or why it goes nowhere, with kube-scheduler's FitError message
//! (`0/5 nodes are available: 2 node(s) had untolerated taint {k: v}, 3 Insufficient cpu.`).

use std::collections::BTreeMap;

/// kube-scheduler's message when the cluster has no nodes at all.
pub const NO_NODES_AVAILABLE: &str = "no nodes available to schedule pods";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Bind to `node`, whose weighted score was `score`.
    Bind { node: String, score: i64 },
    /// No node fits: the message for the PodScheduled=False condition and the event, and the
    /// reasons of every node examined.
    Unschedulable {
        message: String,
        reasons_by_node: BTreeMap<String, Vec<String>>,
    },
}

impl Decision {
    pub fn node(&self) -> Option<&str> {
        match self {
            Decision::Bind { node, .. } => Some(node),
            Decision::Unschedulable { .. } => None,
        }
    }
}

/// kube-scheduler's `FitError.Error()`: each reason counted over the nodes, `"{count} {reason}"`
/// sorted as strings, joined by `", "`, after `"0/{all} nodes are available: "`, ending in `.`.
pub fn fit_error_message(
    num_all_nodes: usize,
    reasons_by_node: &BTreeMap<String, Vec<String>>,
) -> String {
    if num_all_nodes == 0 {
        return NO_NODES_AVAILABLE.to_string();
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for reason in reasons_by_node.values().flatten() {
        *counts.entry(reason).or_default() += 1;
    }
    let mut parts: Vec<String> = counts
        .into_iter()
        .map(|(reason, n)| format!("{n} {reason}"))
        .collect();
    parts.sort();
    let mut message = format!("0/{num_all_nodes} nodes are available:");
    if !parts.is_empty() {
        message.push_str(&format!(" {}.", parts.join(", ")));
    }
    message
}
