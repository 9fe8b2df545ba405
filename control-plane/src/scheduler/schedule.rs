//! `schedule`: filter the nodes (through the equivalence cache when there is one, stopping once
//! enough feasible nodes are found on big clusters), score the feasible ones, pick the best.
//! Ties go to the node whose name sorts first, so decisions are reproducible.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;

use super::cluster_view::ClusterView;
use super::config::SchedulerConfig;
use super::decision::{fit_error_message, Decision};
use super::equivalence::EquivalenceCache;
use super::plugin::MAX_NODE_SCORE;
use super::pod_info::PodInfo;
use super::sampling::num_feasible_nodes_to_find;

/// Decides where `pod` goes in `view`: pure, no cache, examining nodes from the first by name.
pub fn schedule(view: &ClusterView, pod: &Pod, config: &SchedulerConfig) -> Decision {
    schedule_pod(view, &PodInfo::from_pod(pod), config, None, 0).0
}

/// The scheduling algorithm. Nodes are examined from index `start` round-robin (kube rotates
/// the start so a sampled cluster is covered evenly); returns the decision and how many nodes
/// were examined.
pub fn schedule_pod(
    view: &ClusterView,
    pod: &PodInfo,
    config: &SchedulerConfig,
    cache: Option<&mut EquivalenceCache>,
    start: usize,
) -> (Decision, usize) {
    let nodes = view.nodes();
    let n = nodes.len();
    let want = num_feasible_nodes_to_find(n, config.percentage_of_nodes_to_score);
    let plugins = &config.plugins;
    let mut slots = cache.map(|c| c.class(&pod.class));
    let mut feasible: Vec<usize> = Vec::with_capacity(want.min(n));
    let mut reasons_by_node = BTreeMap::new();
    let mut examined = 0;
    for offset in 0..n {
        if feasible.len() >= want {
            break;
        }
        let index = (start + offset) % n;
        let node = &nodes[index];
        examined += 1;
        let result = match slots.as_mut() {
            Some(s) => s.get_or_compute(index, node, || plugins.run_filters(pod, node)),
            None => plugins.run_filters(pod, node),
        };
        match result {
            Ok(()) => feasible.push(index),
            Err(unfit) => {
                reasons_by_node.insert(node.name().to_string(), unfit.reasons().to_vec());
            }
        }
    }
    if feasible.is_empty() {
        let message = fit_error_message(n, &reasons_by_node);
        return (
            Decision::Unschedulable {
                message,
                reasons_by_node,
            },
            examined,
        );
    }
    let mut totals = vec![0i64; feasible.len()];
    for weighted in &plugins.scores {
        let mut scores: Vec<i64> = feasible
            .iter()
            .map(|&i| weighted.plugin.score(pod, &nodes[i]))
            .collect();
        weighted.plugin.normalize(&mut scores);
        for (total, score) in totals.iter_mut().zip(scores) {
            *total += weighted.weight * score.clamp(0, MAX_NODE_SCORE);
        }
    }
    let mut best = 0;
    for k in 1..feasible.len() {
        let better = totals[k] > totals[best]
            || (totals[k] == totals[best]
                && nodes[feasible[k]].name() < nodes[feasible[best]].name());
        if better {
            best = k;
        }
    }
    (
        Decision::Bind {
            node: nodes[feasible[best]].name().to_string(),
            score: totals[best],
        },
        examined,
    )
}
