//! The DaemonSet controller's decision (pure): one pod on every eligible node — the template's
//! nodeSelector and required node affinity match the node, and every NoSchedule/NoExecute taint
//! on it is tolerated (by the template or by the tolerations every daemon pod gets, as in
//! Kubernetes: not-ready, unreachable, pressure and unschedulable). Pods on nodes that stopped
//! being eligible (or are gone), extra pods on one node and failed pods are deleted. A template
//! change rolls out node by node: old pods (`pod-template-generation` label below the
//! DaemonSet's generation) are replaced while fewer than `maxUnavailable` nodes lack a ready pod.
//!
//! Daemon pods are created with `spec.nodeName` set (placed by the controller, as Kubernetes did
//! before 1.12), so the scheduler's resource fit does not apply to them.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetStatus};
use k8s_openapi::api::core::v1::{Node, Pod, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::controller_ref::{controller_ref, is_controlled_by};
use super::pod_readiness::{is_pod_active, is_pod_ready, pod_phase};
use crate::scheduler::{selector_matches, tolerated};

pub const TEMPLATE_GENERATION_LABEL: &str = "pod-template-generation";

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DaemonSetPlan {
    pub create: Vec<Pod>,
    pub delete: Vec<Pod>,
    pub status: Option<DaemonSetStatus>,
}

/// The tolerations Kubernetes adds to every daemon pod.
fn daemon_tolerations() -> Vec<Toleration> {
    let exists = |key: &str, effect: &str| Toleration {
        key: Some(key.into()),
        operator: Some("Exists".into()),
        effect: Some(effect.into()),
        ..Default::default()
    };
    vec![
        exists("node.kubernetes.io/not-ready", "NoExecute"),
        exists("node.kubernetes.io/unreachable", "NoExecute"),
        exists("node.kubernetes.io/disk-pressure", "NoSchedule"),
        exists("node.kubernetes.io/memory-pressure", "NoSchedule"),
        exists("node.kubernetes.io/pid-pressure", "NoSchedule"),
        exists("node.kubernetes.io/unschedulable", "NoSchedule"),
    ]
}

/// Whether `ds` should run a pod on `node`.
pub fn node_is_eligible(ds: &DaemonSet, node: &Node) -> bool {
    let spec = ds.spec.as_ref().and_then(|s| s.template.spec.as_ref());
    let name = node.metadata.name.as_deref().unwrap_or_default();
    let labels = node.metadata.labels.clone().unwrap_or_default();
    if let Some(selector) = spec.and_then(|s| s.node_selector.as_ref()) {
        if !selector.iter().all(|(k, v)| labels.get(k) == Some(v)) {
            return false;
        }
    }
    let required = spec
        .and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_ref()
        });
    if let Some(required) = required {
        if !selector_matches(required, name, &labels) {
            return false;
        }
    }
    let mut tolerations = spec.and_then(|s| s.tolerations.clone()).unwrap_or_default();
    tolerations.extend(daemon_tolerations());
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .into_iter()
        .flatten()
        .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
        .all(|t| {
            tolerated(
                &tolerations,
                &t.key,
                t.value.as_deref().unwrap_or_default(),
                &t.effect,
            )
        })
}

fn generation(ds: &DaemonSet) -> String {
    ds.metadata.generation.unwrap_or(1).to_string()
}

fn is_current(ds: &DaemonSet, pod: &Pod) -> bool {
    pod.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(TEMPLATE_GENERATION_LABEL))
        .is_some_and(|g| *g == generation(ds))
}

fn new_pod(ds: &DaemonSet, node: &str) -> Pod {
    let template = ds.spec.as_ref().map(|s| &s.template);
    let tmeta = template.and_then(|t| t.metadata.as_ref());
    let mut labels = tmeta.and_then(|m| m.labels.clone()).unwrap_or_default();
    labels.insert(TEMPLATE_GENERATION_LABEL.into(), generation(ds));
    let mut spec = template.and_then(|t| t.spec.clone()).unwrap_or_default();
    spec.node_name = Some(node.to_string());
    let mut tolerations = spec.tolerations.take().unwrap_or_default();
    for t in daemon_tolerations() {
        if !tolerations.contains(&t) {
            tolerations.push(t);
        }
    }
    spec.tolerations = Some(tolerations);
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!(
                "{}-",
                ds.metadata.name.as_deref().unwrap_or_default()
            )),
            namespace: ds.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: tmeta.and_then(|m| m.annotations.clone()),
            owner_references: Some(vec![controller_ref("apps/v1", "DaemonSet", &ds.metadata)]),
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    }
}

fn max_unavailable(ds: &DaemonSet, desired: usize) -> usize {
    let strategy = ds.spec.as_ref().and_then(|s| s.update_strategy.as_ref());
    if strategy.and_then(|s| s.type_.as_deref()) == Some("OnDelete") {
        return 0;
    }
    let value = strategy
        .and_then(|s| s.rolling_update.as_ref())
        .and_then(|r| r.max_unavailable.clone())
        .unwrap_or(IntOrString::Int(1));
    let n = match value {
        IntOrString::Int(n) => n.max(0) as usize,
        IntOrString::String(p) => {
            let pct: usize = p.trim_end_matches('%').parse().unwrap_or(0);
            (desired * pct).div_ceil(100)
        }
    };
    n.max(1)
}

/// Plans one reconcile of `ds` over every node and the pods of its namespace.
pub fn plan_daemonset(ds: &DaemonSet, nodes: &[Node], pods: &[Pod]) -> DaemonSetPlan {
    let uid = ds.metadata.uid.as_deref().unwrap_or_default();
    let mut plan = DaemonSetPlan::default();
    let mut by_node: BTreeMap<&str, Vec<&Pod>> = BTreeMap::new();
    for pod in pods.iter().filter(|p| is_controlled_by(&p.metadata, uid)) {
        if pod_phase(pod) == "Failed" && pod.metadata.deletion_timestamp.is_none() {
            plan.delete.push(pod.clone());
            continue;
        }
        if !is_pod_active(pod) {
            continue;
        }
        let node = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .unwrap_or_default();
        by_node.entry(node).or_default().push(pod);
    }
    let deleting = ds.metadata.deletion_timestamp.is_some();
    let eligible: Vec<&str> = nodes
        .iter()
        .filter(|n| node_is_eligible(ds, n))
        .filter_map(|n| n.metadata.name.as_deref())
        .collect();
    let mut status = DaemonSetStatus {
        desired_number_scheduled: eligible.len() as i32,
        observed_generation: ds.metadata.generation,
        ..Default::default()
    };
    let mut old_pods: Vec<&Pod> = Vec::new();
    let mut unavailable = 0usize;
    for node in &eligible {
        let mut here = by_node.remove(node).unwrap_or_default();
        here.sort_by(|a, b| {
            a.metadata
                .creation_timestamp
                .cmp(&b.metadata.creation_timestamp)
        });
        match here.first() {
            None => {
                unavailable += 1;
                if !deleting {
                    plan.create.push(new_pod(ds, node));
                }
            }
            Some(pod) => {
                status.current_number_scheduled += 1;
                if is_pod_ready(pod) {
                    status.number_ready += 1;
                } else {
                    unavailable += 1;
                }
                if is_current(ds, pod) {
                    *status.updated_number_scheduled.get_or_insert(0) += 1;
                } else {
                    old_pods.push(pod);
                }
            }
        }
        plan.delete
            .extend(here.iter().skip(1).map(|p| (*p).clone()));
    }
    // Whatever is left runs where it should not.
    for pods in by_node.values() {
        status.number_misscheduled += 1;
        plan.delete.extend(pods.iter().map(|p| (*p).clone()));
    }
    // Roll out: replace old pods (not-ready ones first) while the budget allows.
    old_pods.sort_by_key(|p| is_pod_ready(p));
    let budget = max_unavailable(ds, eligible.len());
    for pod in old_pods {
        let ready = is_pod_ready(pod);
        if ready && unavailable >= budget {
            break;
        }
        if ready {
            unavailable += 1;
        }
        plan.delete.push(pod.clone());
    }
    status.number_available = Some(status.number_ready);
    status.number_unavailable =
        Some((status.desired_number_scheduled - status.number_ready).max(0));
    let mut old = ds.status.clone().unwrap_or_default();
    old.conditions = None;
    if old != status {
        plan.status = Some(status);
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ds(generation: i64, template_extra: serde_json::Value) -> DaemonSet {
        let mut spec = json!({"containers": [{"name": "c", "image": "i"}]});
        if let Some(m) = template_extra.as_object() {
            for (k, v) in m {
                spec[k] = v.clone();
            }
        }
        serde_json::from_value(json!({
            "metadata": {"name": "agent", "namespace": "default", "uid": "ds-uid", "generation": generation},
            "spec": {"selector": {"matchLabels": {"app": "agent"}},
                "template": {"metadata": {"labels": {"app": "agent"}}, "spec": spec}}
        }))
        .unwrap()
    }

    fn node(name: &str, labels: serde_json::Value, taints: serde_json::Value) -> Node {
        serde_json::from_value(
            json!({"metadata": {"name": name, "labels": labels}, "spec": {"taints": taints}}),
        )
        .unwrap()
    }

    fn pod(name: &str, node: &str, generation: &str, ready: bool) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "default", "uid": name,
                "labels": {"app": "agent", TEMPLATE_GENERATION_LABEL: generation},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "uid": "ds-uid", "controller": true}]},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]}
        }))
        .unwrap()
    }

    fn nodes_of(pods: &[Pod]) -> Vec<String> {
        let mut v: Vec<String> = pods
            .iter()
            .map(|p| p.spec.as_ref().unwrap().node_name.clone().unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn one_pod_per_eligible_node_respecting_selectors_and_taints() {
        let d = ds(1, json!({"nodeSelector": {"disk": "ssd"}}));
        let nodes = [
            node("a", json!({"disk": "ssd"}), json!(null)),
            node("b", json!({"disk": "hdd"}), json!(null)),
            node(
                "c",
                json!({"disk": "ssd"}),
                json!([{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]),
            ),
            node(
                "d",
                json!({"disk": "ssd"}),
                json!([{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]),
            ),
        ];
        let plan = plan_daemonset(&d, &nodes, &[]);
        assert_eq!(
            nodes_of(&plan.create),
            vec!["a", "d"],
            "b does not match, c's taint is not tolerated"
        );
        assert_eq!(plan.status.unwrap().desired_number_scheduled, 2);
    }

    #[test]
    fn pods_follow_nodes_away_and_duplicates_go() {
        let d = ds(1, json!({}));
        let nodes = [node("a", json!({}), json!(null))];
        let pods = [
            pod("p1", "a", "1", true),
            pod("p2", "a", "1", true),
            pod("p3", "gone", "1", true),
        ];
        let plan = plan_daemonset(&d, &nodes, &pods);
        assert!(plan.create.is_empty());
        let mut deleted: Vec<_> = plan
            .delete
            .iter()
            .map(|p| p.metadata.name.clone().unwrap())
            .collect();
        deleted.sort();
        assert_eq!(deleted.len(), 2);
        assert!(deleted.contains(&"p3".to_string()));
        let status = plan.status.unwrap();
        assert_eq!(status.number_misscheduled, 1);
        assert_eq!(status.number_ready, 1);
    }

    #[test]
    fn a_template_change_replaces_one_node_at_a_time() {
        let d = ds(2, json!({}));
        let nodes = [
            node("a", json!({}), json!(null)),
            node("b", json!({}), json!(null)),
            node("c", json!({}), json!(null)),
        ];
        let pods = [
            pod("pa", "a", "1", true),
            pod("pb", "b", "1", true),
            pod("pc", "c", "1", true),
        ];
        let plan = plan_daemonset(&d, &nodes, &pods);
        assert_eq!(plan.delete.len(), 1, "maxUnavailable 1");
        // While a node has no ready pod, no other old pod goes.
        let pods = [
            pod("pa2", "a", "2", false),
            pod("pb", "b", "1", true),
            pod("pc", "c", "1", true),
        ];
        assert!(plan_daemonset(&d, &nodes, &pods).delete.is_empty());
        let pods = [
            pod("pa2", "a", "2", true),
            pod("pb", "b", "1", true),
            pod("pc", "c", "1", true),
        ];
        assert_eq!(plan_daemonset(&d, &nodes, &pods).delete.len(), 1);
    }
}
