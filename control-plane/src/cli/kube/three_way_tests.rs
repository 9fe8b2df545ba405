use super::*;
use serde_json::json;

fn manifest() -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web", "tier": "fe"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1", "ports": [{"containerPort": 80}]}]}}}})
}

/// What the server stores after creating `with_last_applied(m)`: defaults added, status, rv.
fn stored(m: &Value) -> Value {
    let mut live = with_last_applied(m);
    live["metadata"]["uid"] = json!("u1");
    live["metadata"]["resourceVersion"] = json!("7");
    live["metadata"]["creationTimestamp"] = json!("2024-01-01T00:00:00Z");
    live["spec"]["strategy"] = json!({"type": "RollingUpdate"});
    let c = &mut live["spec"]["template"]["spec"]["containers"][0];
    c["imagePullPolicy"] = json!("IfNotPresent");
    c["ports"][0]["protocol"] = json!("TCP");
    live["status"] = json!({"replicas": 0});
    live
}

#[test]
fn last_applied_is_sorted_compact_json_with_empty_annotations() {
    let m = json!({"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "a"}});
    assert_eq!(
        last_applied_value(&m),
        "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"annotations\":{},\"name\":\"a\"}}\n"
    );
    let annotated = with_last_applied(&m);
    assert_eq!(
        last_applied_of(&annotated).unwrap()["metadata"]["name"],
        "a"
    );
    // Re-annotating is stable.
    assert_eq!(with_last_applied(&annotated), annotated);
}

#[test]
fn reapplying_the_same_manifest_is_unchanged_despite_server_defaults() {
    let m = manifest();
    assert_eq!(plan_apply(&stored(&m), &m), ApplyPlan::Unchanged);
}

#[test]
fn changes_are_patched_onto_the_live_object() {
    let m = manifest();
    let live = stored(&m);
    let mut m2 = m.clone();
    m2["spec"]["replicas"] = json!(5);
    let ApplyPlan::Update { object, patch } = plan_apply(&live, &m2) else {
        panic!("expected an update")
    };
    assert_eq!(patch["spec"], json!({"replicas": 5}));
    assert_eq!(object["spec"]["replicas"], 5);
    // Server-set fields survive.
    assert_eq!(object["metadata"]["uid"], "u1");
    assert_eq!(object["spec"]["strategy"]["type"], "RollingUpdate");
    assert_eq!(last_applied_of(&object).unwrap()["spec"]["replicas"], 5);
}

#[test]
fn fields_dropped_from_the_manifest_are_removed() {
    let m = manifest();
    let mut live = stored(&m);
    // Someone else added a label: it is not the manifest's to remove.
    live["metadata"]["labels"]["owner"] = json!("ops");
    let mut m2 = m.clone();
    m2["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .remove("tier");
    let ApplyPlan::Update { object, .. } = plan_apply(&live, &m2) else {
        panic!("expected an update")
    };
    assert_eq!(
        object["metadata"]["labels"],
        json!({"app": "web", "owner": "ops"})
    );
}

#[test]
fn list_changes_replace_the_list() {
    let m = manifest();
    let live = stored(&m);
    let mut m2 = m.clone();
    m2["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
    let ApplyPlan::Update { object, .. } = plan_apply(&live, &m2) else {
        panic!("expected an update")
    };
    let c = &object["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "nginx:2");
    // Replaced whole: the server defaults it again on update.
    assert!(c.get("imagePullPolicy").is_none());
}

#[test]
fn drift_in_a_list_is_put_back() {
    let m = manifest();
    let mut live = stored(&m);
    live["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:set-by-hand");
    assert!(matches!(plan_apply(&live, &m), ApplyPlan::Update { .. }));
}

#[test]
fn objects_created_without_apply_get_the_annotation() {
    let m = manifest();
    let mut live = stored(&m);
    live["metadata"]["annotations"] = json!({});
    let ApplyPlan::Update { patch, .. } = plan_apply(&live, &m) else {
        panic!("expected an update")
    };
    assert!(patch["metadata"]["annotations"][LAST_APPLIED].is_string());
}

#[test]
fn nulls_and_status_in_manifests_are_ignored() {
    let mut m = manifest();
    m["metadata"]["creationTimestamp"] = Value::Null;
    m["status"] = json!({});
    let live = stored(&manifest());
    // The annotation text differs (it records the null), nothing else does.
    let ApplyPlan::Update { patch, .. } = plan_apply(&live, &m) else {
        panic!("expected an update")
    };
    assert_eq!(
        patch.as_object().unwrap().keys().collect::<Vec<_>>(),
        vec!["metadata"]
    );
    assert_eq!(
        patch["metadata"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        vec!["annotations"]
    );
}
