//! Table rows for the apps group: Deployments, ReplicaSets, StatefulSets, DaemonSets.

use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

use super::age::age;
use super::fields::{
    container_cells, format_label_selector, format_labels, get, int_at, list_at, selector_string,
    str_at,
};

pub const DEPLOYMENT: &[&str] = &["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"];
pub const REPLICASET: &[&str] = &["NAME", "DESIRED", "CURRENT", "READY", "AGE"];
pub const STATEFULSET: &[&str] = &["NAME", "READY", "AGE"];
pub const DAEMONSET: &[&str] = &[
    "NAME",
    "DESIRED",
    "CURRENT",
    "READY",
    "UP-TO-DATE",
    "AVAILABLE",
    "NODE SELECTOR",
    "AGE",
];
pub const WIDE_WITH_SELECTOR: &[&str] = &["CONTAINERS", "IMAGES", "SELECTOR"];
pub const WIDE_CONTAINERS: &[&str] = &["CONTAINERS", "IMAGES"];

fn name(o: &Value) -> String {
    str_at(o, "metadata.name").to_string()
}

fn created(o: &Value, now: Timestamp) -> String {
    age(get(o, "metadata.creationTimestamp"), now)
}

fn template_containers(o: &Value) -> (String, String) {
    container_cells(list_at(o, "spec.template.spec.containers"))
}

/// `spec.replicas`, defaulting to 1 as the API server does.
fn desired(o: &Value) -> i64 {
    get(o, "spec.replicas").and_then(Value::as_i64).unwrap_or(1)
}

pub fn deployment(o: &Value, wide: bool, now: Timestamp) -> Vec<String> {
    let mut cells = vec![
        name(o),
        format!("{}/{}", int_at(o, "status.readyReplicas"), desired(o)),
        int_at(o, "status.updatedReplicas").to_string(),
        int_at(o, "status.availableReplicas").to_string(),
        created(o, now),
    ];
    if wide {
        let (names, images) = template_containers(o);
        cells.extend([names, images, selector_string(get(o, "spec.selector"))]);
    }
    cells
}

pub fn replicaset(o: &Value, wide: bool, now: Timestamp) -> Vec<String> {
    let mut cells = vec![
        name(o),
        desired(o).to_string(),
        int_at(o, "status.replicas").to_string(),
        int_at(o, "status.readyReplicas").to_string(),
        created(o, now),
    ];
    if wide {
        let (names, images) = template_containers(o);
        cells.extend([
            names,
            images,
            format_label_selector(get(o, "spec.selector")),
        ]);
    }
    cells
}

pub fn statefulset(o: &Value, wide: bool, now: Timestamp) -> Vec<String> {
    let mut cells = vec![
        name(o),
        format!("{}/{}", int_at(o, "status.readyReplicas"), desired(o)),
        created(o, now),
    ];
    if wide {
        let (names, images) = template_containers(o);
        cells.extend([names, images]);
    }
    cells
}

pub fn daemonset(o: &Value, wide: bool, now: Timestamp) -> Vec<String> {
    let mut cells = vec![
        name(o),
        int_at(o, "status.desiredNumberScheduled").to_string(),
        int_at(o, "status.currentNumberScheduled").to_string(),
        int_at(o, "status.numberReady").to_string(),
        int_at(o, "status.updatedNumberScheduled").to_string(),
        int_at(o, "status.numberAvailable").to_string(),
        format_labels(get(o, "spec.template.spec.nodeSelector")),
        created(o, now),
    ];
    if wide {
        let (names, images) = template_containers(o);
        cells.extend([
            names,
            images,
            format_label_selector(get(o, "spec.selector")),
        ]);
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deployment_rows() {
        let now: Timestamp = "2024-01-01T00:00:30Z".parse().unwrap();
        let d = json!({"metadata": {"name": "nginx-deployment", "creationTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "nginx"}},
                "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.14.2"}]}}},
            "status": {"readyReplicas": 1, "updatedReplicas": 2}});
        assert_eq!(
            deployment(&d, true, now),
            vec![
                "nginx-deployment",
                "1/3",
                "2",
                "0",
                "30s",
                "nginx",
                "nginx:1.14.2",
                "app=nginx"
            ]
        );
        assert_eq!(
            replicaset(&d, false, now),
            vec!["nginx-deployment", "3", "0", "1", "30s"]
        );
        assert_eq!(
            statefulset(&d, false, now),
            vec!["nginx-deployment", "1/3", "30s"]
        );
        assert_eq!(daemonset(&d, false, now)[6], "<none>");
    }
}
