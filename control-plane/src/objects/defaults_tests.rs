//! Tests for defaulting.

use super::*;
use crate::objects::{DynamicObject, FieldValidation};
use serde_json::{json, Value};

fn defaulted(v: Value) -> Value {
    let obj = DynamicObject::from_value(v).unwrap();
    let mut typed = TypedObject::decode(&obj, FieldValidation::Strict)
        .unwrap()
        .object;
    apply_defaults(&mut typed);
    typed.to_dynamic().unwrap().into_value()
}

#[test]
fn pull_policy_from_tag() {
    assert_eq!(image_pull_policy("nginx"), "Always");
    assert_eq!(image_pull_policy("nginx:latest"), "Always");
    assert_eq!(image_pull_policy("nginx:1.14.2"), "IfNotPresent");
    assert_eq!(image_pull_policy("localhost:5000/busybox"), "Always");
    assert_eq!(
        image_pull_policy("localhost:5000/busybox:1.36"),
        "IfNotPresent"
    );
    assert_eq!(image_pull_policy("busybox@sha256:abc"), "IfNotPresent");
}

#[test]
fn pod_defaults() {
    let pod = defaulted(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [
            {"name": "a", "image": "nginx", "ports": [{"containerPort": 80}]},
            {"name": "b", "image": "nginx:1.2", "imagePullPolicy": "Never"}]}}),
    );
    let spec = &pod["spec"];
    assert_eq!(spec["restartPolicy"], "Always");
    assert_eq!(spec["dnsPolicy"], "ClusterFirst");
    assert_eq!(spec["terminationGracePeriodSeconds"], 30);
    assert_eq!(spec["schedulerName"], "default-scheduler");
    assert_eq!(spec["containers"][0]["imagePullPolicy"], "Always");
    assert_eq!(
        spec["containers"][0]["terminationMessagePath"],
        "/dev/termination-log"
    );
    assert_eq!(spec["containers"][0]["terminationMessagePolicy"], "File");
    assert_eq!(spec["containers"][0]["ports"][0]["protocol"], "TCP");
    assert_eq!(
        spec["containers"][1]["imagePullPolicy"], "Never",
        "user values are kept"
    );
}

#[test]
fn deployment_defaults() {
    let d = defaulted(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "i:1"}]}}}}));
    let spec = &d["spec"];
    assert_eq!(spec["replicas"], 1);
    assert_eq!(
        spec["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
    );
    assert_eq!(spec["revisionHistoryLimit"], 10);
    assert_eq!(spec["progressDeadlineSeconds"], 600);
    assert_eq!(spec["template"]["spec"]["restartPolicy"], "Always");
    assert_eq!(
        spec["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "IfNotPresent"
    );
    let recreate = defaulted(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"strategy": {"type": "Recreate"}, "selector": {}, "template": {}}}));
    assert_eq!(recreate["spec"]["strategy"], json!({"type": "Recreate"}));
}

#[test]
fn workload_defaults() {
    let sts = defaulted(json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "db"}, "spec": {"selector": {}, "template": {}, "serviceName": "db"}}));
    assert_eq!(sts["spec"]["podManagementPolicy"], "OrderedReady");
    assert_eq!(sts["spec"]["updateStrategy"]["type"], "RollingUpdate");
    assert_eq!(sts["spec"]["replicas"], 1);
    let ds = defaulted(json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "d"}, "spec": {"selector": {}, "template": {}}}));
    assert_eq!(
        ds["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"],
        1
    );
    let rs = defaulted(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "r"}, "spec": {"selector": {}}}));
    assert_eq!(rs["spec"]["replicas"], 1);
    let job = defaulted(json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "j"}, "spec": {"template": {}}}));
    assert_eq!(
        (
            job["spec"]["completions"].clone(),
            job["spec"]["parallelism"].clone()
        ),
        (json!(1), json!(1))
    );
    assert_eq!(job["spec"]["backoffLimit"], 6);
    let par = defaulted(json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "j"}, "spec": {"parallelism": 3, "template": {}}}));
    assert_eq!(
        par["spec"].get("completions"),
        None,
        "work-queue jobs keep completions unset"
    );
    let cj = defaulted(json!({"apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "c"}, "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {}}}}}));
    assert_eq!(cj["spec"]["concurrencyPolicy"], "Allow");
    assert_eq!(cj["spec"]["jobTemplate"]["spec"]["backoffLimit"], 6);
}

#[test]
fn service_defaults() {
    let svc = defaulted(
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
        "spec": {"ports": [{"port": 80}, {"port": 443, "targetPort": "https", "protocol": "UDP"}]}}),
    );
    let spec = &svc["spec"];
    assert_eq!(spec["type"], "ClusterIP");
    assert_eq!(spec["sessionAffinity"], "None");
    assert_eq!(
        spec["ports"][0],
        json!({"port": 80, "protocol": "TCP", "targetPort": 80})
    );
    assert_eq!(spec["ports"][1]["targetPort"], "https");
    assert_eq!(spec["ports"][1]["protocol"], "UDP");
    let secret =
        defaulted(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}));
    assert_eq!(secret["type"], "Opaque");
}
