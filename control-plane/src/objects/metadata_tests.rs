//! Tests for server-set metadata, the spec/status split, concurrency, finalizers and deletion.

use super::*;
use crate::objects::deletion::{plan_delete, DeleteOptions, DeletePlan, PropagationPolicy};
use k8s_openapi::jiff::Timestamp;
use serde_json::json;

fn time(secs: i64) -> Time {
    Time(Timestamp::from_second(secs).unwrap())
}

fn ctx() -> CreateContext {
    CreateContext {
        uid: "uid-1".into(),
        now: time(1_700_000_000),
        name_suffix: "x7k2p".into(),
    }
}

fn obj(v: Value) -> DynamicObject {
    DynamicObject::from_value(v).unwrap()
}

fn deploy(replicas: i64) -> DynamicObject {
    obj(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": replicas}, "status": {"replicas": 7}}))
}

fn created(o: DynamicObject) -> DynamicObject {
    prepare_create(o, &ctx()).unwrap()
}

fn write(outcome: UpdateOutcome) -> DynamicObject {
    match outcome {
        UpdateOutcome::Write(o) => o,
        UpdateOutcome::Delete(_) => panic!("expected a write"),
    }
}

#[test]
fn create_sets_server_fields_and_clears_status() {
    let mut input = deploy(1);
    input.set_resource_version(9);
    let d = created(input);
    assert_eq!(d.uid(), "uid-1");
    assert_eq!(
        d.field("metadata.creationTimestamp"),
        Some(&json!("2023-11-14T22:13:20Z"))
    );
    assert_eq!(d.field("metadata.generation"), Some(&json!(1)));
    assert_eq!(d.resource_version(), "");
    assert_eq!(d.status(), None);
    let pod = created(obj(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default"}, "status": {"phase": "Running"}})));
    assert_eq!(pod.status(), Some(&json!({"phase": "Pending"})));
    let cm = created(obj(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"generateName": "cfg-", "namespace": "default"}})));
    assert_eq!(cm.name(), "cfg-x7k2p");
    let err = prepare_create(
        obj(json!({"apiVersion": "v1", "kind": "ConfigMap"})),
        &ctx(),
    );
    assert_eq!(err, Err(MetadataError::NameRequired));
}

#[test]
fn job_selector_is_generated_from_uid() {
    let job = created(obj(json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "pi", "namespace": "default"},
        "spec": {"template": {"spec": {"containers": []}}}})));
    assert_eq!(
        job.field("spec.selector"),
        Some(&json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "uid-1"}}))
    );
    let labels = job.field("spec.template.metadata.labels").unwrap();
    assert_eq!(labels["job-name"], "pi");
    assert_eq!(labels["batch.kubernetes.io/controller-uid"], "uid-1");
    let manual = created(obj(json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "m", "namespace": "default"},
        "spec": {"manualSelector": true, "template": {}}})));
    assert_eq!(manual.field("spec.selector"), None);
}

#[test]
fn generation_bumps_only_on_spec_change_and_status_is_kept() {
    let stored =
        write(prepare_update(&created(deploy(1)), created(deploy(1)), WriteTarget::Main).unwrap());
    let mut stored = stored;
    stored.set_status(Some(json!({"replicas": 1})));
    let mut relabelled = deploy(1);
    relabelled.as_map_mut()["metadata"]["labels"] = json!({"a": "b"});
    let same = write(prepare_update(&stored, relabelled, WriteTarget::Main).unwrap());
    assert_eq!(same.field("metadata.generation"), Some(&json!(1)));
    assert_eq!(
        same.status(),
        Some(&json!({"replicas": 1})),
        "spec writes keep status"
    );
    assert_eq!(same.uid(), "uid-1", "uid filled from the stored object");
    let scaled = write(prepare_update(&same, deploy(3), WriteTarget::Main).unwrap());
    assert_eq!(scaled.field("metadata.generation"), Some(&json!(2)));
    assert_eq!(scaled.field("spec.replicas"), Some(&json!(3)));
}

#[test]
fn status_writes_touch_only_status() {
    let stored = created(deploy(1));
    let mut sent = deploy(99);
    sent.set_status(Some(json!({"replicas": 1, "readyReplicas": 1})));
    let out = write(prepare_update(&stored, sent, WriteTarget::Status).unwrap());
    assert_eq!(out.field("spec.replicas"), Some(&json!(1)));
    assert_eq!(
        out.status(),
        Some(&json!({"replicas": 1, "readyReplicas": 1}))
    );
    let cm = created(obj(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "default"}})));
    assert_eq!(
        prepare_update(&cm, cm.clone(), WriteTarget::Status),
        Err(MetadataError::NoStatusSubresource { kind: "ConfigMap" })
    );
}

#[test]
fn immutable_metadata() {
    let stored = created(deploy(1));
    let mut renamed = deploy(1);
    renamed.as_map_mut()["metadata"]["name"] = json!("other");
    renamed.as_map_mut()["metadata"]["uid"] = json!("uid-2");
    let err = prepare_update(&stored, renamed, WriteTarget::Main).unwrap_err();
    assert_eq!(
        err.to_string(),
        "The Deployment \"web\" is invalid: \n* metadata.name: Invalid value: \"other\": field is \
         immutable\n* metadata.uid: Invalid value: \"uid-2\": field is immutable"
    );
    let pod = obj(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}}));
    assert!(matches!(
        prepare_update(&stored, pod, WriteTarget::Main),
        Err(MetadataError::KindChanged { .. })
    ));
}

#[test]
fn resource_version_preconditions() {
    let stored = created(deploy(1));
    assert_eq!(check_resource_version(&stored, 5, ""), Ok(()));
    assert_eq!(check_resource_version(&stored, 5, "5"), Ok(()));
    let err = check_resource_version(&stored, 5, "4").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Operation cannot be fulfilled on deployments.apps \"web\": the object has been \
         modified; please apply your changes to the latest version and try again"
    );
    assert!(matches!(
        check_resource_version(&stored, 5, "abc"),
        Err(MetadataError::BadResourceVersion(_))
    ));
}

fn delete_opts(grace: Option<i64>, propagation: Option<PropagationPolicy>) -> DeleteOptions {
    DeleteOptions {
        now: time(1_700_000_100),
        grace_period_seconds: grace,
        propagation,
    }
}

#[test]
fn finalizers_hold_deletion_until_the_last_is_removed() {
    let mut d = deploy(1);
    d.as_map_mut()["metadata"]["finalizers"] = json!(["example.com/a", "example.com/b"]);
    let stored = created(d);
    let DeletePlan::MarkTerminating(marked) =
        plan_delete(&stored, &delete_opts(None, None)).unwrap()
    else {
        panic!("expected a mark")
    };
    assert_eq!(
        marked.field("metadata.deletionTimestamp"),
        Some(&json!("2023-11-14T22:15:00Z"))
    );
    assert_eq!(
        marked.field("metadata.deletionGracePeriodSeconds"),
        Some(&json!(0))
    );
    assert_eq!(
        plan_delete(&marked, &delete_opts(None, None)),
        Ok(DeletePlan::AlreadyTerminating)
    );

    let mut one_left = marked.clone();
    one_left.as_map_mut()["metadata"]["finalizers"] = json!(["example.com/b"]);
    let kept = write(prepare_update(&marked, one_left, WriteTarget::Main).unwrap());
    assert!(
        kept.field("metadata.deletionTimestamp").is_some(),
        "clients cannot clear it"
    );

    let mut added = kept.clone();
    added.as_map_mut()["metadata"]["finalizers"] = json!(["example.com/b", "example.com/c"]);
    let err = prepare_update(&kept, added, WriteTarget::Main).unwrap_err();
    assert!(
        err.to_string().contains("no new finalizers can be added"),
        "{err}"
    );

    let mut none_left = kept.clone();
    none_left.as_map_mut()["metadata"]["finalizers"] = json!([]);
    assert!(matches!(
        prepare_update(&kept, none_left, WriteTarget::Main).unwrap(),
        UpdateOutcome::Delete(_)
    ));
}

#[test]
fn delete_without_finalizers_and_propagation_policies() {
    let stored = created(deploy(1));
    assert_eq!(
        plan_delete(&stored, &delete_opts(None, None)),
        Ok(DeletePlan::DeleteNow)
    );
    let bg = delete_opts(None, Some(PropagationPolicy::Background));
    assert_eq!(plan_delete(&stored, &bg), Ok(DeletePlan::DeleteNow));
    for (policy, finalizer) in [
        (PropagationPolicy::Foreground, "foregroundDeletion"),
        (PropagationPolicy::Orphan, "orphan"),
    ] {
        let plan = plan_delete(&stored, &delete_opts(None, Some(policy))).unwrap();
        let DeletePlan::MarkTerminating(m) = plan else {
            panic!("expected a mark")
        };
        assert_eq!(m.field("metadata.finalizers"), Some(&json!([finalizer])));
    }
}

#[test]
fn pods_get_a_grace_period_only_when_bound_and_running() {
    let pod = |node: Option<&str>, phase: &str| {
        let mut v = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "default"},
            "spec": {"containers": [], "terminationGracePeriodSeconds": 10},
            "status": {"phase": phase}});
        if let Some(n) = node {
            v["spec"]["nodeName"] = json!(n);
        }
        obj(v)
    };
    assert_eq!(
        plan_delete(&pod(None, "Pending"), &delete_opts(None, None)),
        Ok(DeletePlan::DeleteNow)
    );
    assert_eq!(
        plan_delete(&pod(Some("n1"), "Succeeded"), &delete_opts(None, None)),
        Ok(DeletePlan::DeleteNow)
    );
    let running = pod(Some("n1"), "Running");
    let DeletePlan::MarkTerminating(m) = plan_delete(&running, &delete_opts(None, None)).unwrap()
    else {
        panic!("expected a mark")
    };
    assert_eq!(
        m.field("metadata.deletionGracePeriodSeconds"),
        Some(&json!(10))
    );
    assert_eq!(
        m.field("metadata.deletionTimestamp"),
        Some(&json!("2023-11-14T22:15:10Z"))
    );
    // A shorter grace period on a terminating pod is honoured; a longer one is not.
    assert!(matches!(
        plan_delete(&m, &delete_opts(Some(0), None)),
        Ok(DeletePlan::DeleteNow)
    ));
    assert_eq!(
        plan_delete(&m, &delete_opts(Some(60), None)),
        Ok(DeletePlan::AlreadyTerminating)
    );
    assert_eq!(
        plan_delete(&running, &delete_opts(Some(0), None)),
        Ok(DeletePlan::DeleteNow)
    );
}
