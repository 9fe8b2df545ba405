//! Tests for validation: the messages and paths kubectl users see.

use super::*;
use crate::objects::{apply_defaults, DynamicObject, FieldValidation, TypedObject};
use serde_json::{json, Value};

fn typed(v: Value) -> TypedObject {
    let obj = DynamicObject::from_value(v).unwrap();
    let mut t = TypedObject::decode(&obj, FieldValidation::Strict)
        .unwrap()
        .object;
    apply_defaults(&mut t);
    t
}

fn errors(v: Value) -> Vec<String> {
    match validate_create(&typed(v)) {
        Ok(()) => vec![],
        Err(e) => e.errors.iter().map(|e| e.to_string()).collect(),
    }
}

fn deployment(name: &str, selector: Value, labels: Value, containers: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"selector": {"matchLabels": selector},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": containers}}}})
}

#[test]
fn deployment_reports_every_error() {
    let errs = errors(deployment(
        "Web_1",
        json!({"app": "web"}),
        json!({"app": "other"}),
        json!([{"name": "web", "ports": [{"containerPort": 70000}],
            "resources": {"limits": {"memory": "12x"}}}]),
    ));
    assert_eq!(
        errs,
        vec![
            "metadata.name: Invalid value: \"Web_1\": a lowercase RFC 1123 subdomain must consist \
             of lower case alphanumeric characters, '-' or '.', and must start and end with an \
             alphanumeric character (e.g. 'example.com', regex used for validation is \
             '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            "spec.template.metadata.labels: Invalid value: {\"app\":\"other\"}: `selector` does \
             not match template `labels`",
            "spec.template.spec.containers[0].image: Required value",
            "spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be \
             between 1 and 65535, inclusive",
            "spec.template.spec.containers[0].resources.limits.memory: Invalid value: \"12x\": \
             quantities must match the regular expression \
             '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
        ]
    );
    let err = validate_create(&typed(deployment("web", json!({}), json!({}), json!([]))))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("The Deployment \"web\" is invalid: \n* "),
        "{err}"
    );
    assert!(
        err.contains("* spec.template.spec.containers: Required value"),
        "{err}"
    );
    assert!(err.contains("empty selector is invalid"), "{err}");
}

#[test]
fn pod_rules() {
    let errs = errors(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default", "labels": {"bad key": "v", "ok": "-x"}},
        "spec": {"restartPolicy": "Sometimes", "containers": [
            {"name": "a", "image": "i", "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}},
             "volumeMounts": [{"name": "data", "mountPath": "/d"}]},
            {"name": "a", "image": "i", "ports": [{"containerPort": 80, "name": "HTTP", "protocol": "ICMP"}]}]}}));
    let expected_prefixes = [
        "metadata.labels: Invalid value: \"bad key\": name part must consist of",
        "metadata.labels: Invalid value: \"-x\": a valid label must be an empty string",
        "spec.containers[0].volumeMounts[0].name: Not found: \"data\"",
        "spec.containers[0].resources.requests.cpu: Invalid value: \"2\": must be less than or equal to cpu limit of 1",
        "spec.containers[1].ports[0].protocol: Unsupported value: \"ICMP\"",
        "spec.containers[1].ports[0].name: Invalid value: \"HTTP\": must contain only alpha-numeric",
        "spec.containers[1].ports[0].name: Invalid value: \"HTTP\": must contain at least one letter",
        "spec.containers[1].name: Duplicate value: \"a\"",
        "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
    ];
    assert_eq!(errs.len(), expected_prefixes.len(), "{errs:#?}");
    for (e, p) in errs.iter().zip(expected_prefixes) {
        assert!(e.starts_with(p), "{e}\n  should start with\n{p}");
    }
}

#[test]
fn namespace_and_service_names_and_scope() {
    let errs =
        errors(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b"}}));
    assert!(
        errs[0].starts_with("metadata.name: Invalid value: \"a.b\": a lowercase RFC 1123 label")
    );
    let errs = errors(json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "ok", "namespace": "default"}}));
    assert_eq!(
        errs,
        vec!["metadata.namespace: Forbidden: not allowed on this type"]
    );
    let errs = errors(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}));
    assert_eq!(errs, vec!["metadata.namespace: Required value"]);
    let errs =
        errors(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": "d"}}));
    assert_eq!(
        errs,
        vec!["metadata.name: Required value: name or generateName is required"]
    );
    let errs = errors(json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "1svc", "namespace": "default"},
        "spec": {"ports": [{"port": 70000}, {"port": 80, "nodePort": 30080}]}}));
    assert!(
        errs[0].starts_with("metadata.name: Invalid value: \"1svc\": a DNS-1035 label"),
        "{errs:#?}"
    );
    assert!(errs.contains(&"spec.ports[0].name: Required value".to_string()));
    assert!(errs.contains(
        &"spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive"
            .to_string()
    ));
    assert!(errs.contains(
        &"spec.ports[1].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"
            .to_string()
    ));
}

#[test]
fn jobs_need_a_non_always_restart_policy() {
    let errs = errors(json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "pi", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "pi", "image": "perl"}]}}}}));
    assert_eq!(
        errs,
        vec!["spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\""]
    );
}

#[test]
fn immutable_fields_on_update() {
    let old = typed(deployment(
        "web",
        json!({"app": "web"}),
        json!({"app": "web"}),
        json!([{"name": "c", "image": "i"}]),
    ));
    let new = typed(deployment(
        "web",
        json!({"app": "web2"}),
        json!({"app": "web2"}),
        json!([{"name": "c", "image": "i"}]),
    ));
    let err = validate_update(&old, &new).unwrap_err();
    assert_eq!(
        err.to_string(),
        "The Deployment \"web\" is invalid: spec.selector: Invalid value: \
         {\"matchLabels\":{\"app\":\"web2\"}}: field is immutable"
    );
    let svc = |ip: &str| {
        typed(json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "s", "namespace": "default"},
        "spec": {"clusterIP": ip, "ports": [{"port": 80}]}}))
    };
    let err = validate_update(&svc("10.96.0.1"), &svc("10.96.0.2")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "The Service \"s\" is invalid: spec.clusterIP: Invalid value: \"10.96.0.2\": field is immutable"
    );
    assert!(validate_update(&svc("10.96.0.1"), &svc("10.96.0.1")).is_ok());
}

#[test]
fn config_and_storage_kinds() {
    let errs = errors(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "d"}, "data": {"a/b": "x", "ok.key": "y"}}));
    assert_eq!(errs.len(), 1);
    assert!(errs[0].starts_with("data: Invalid value: \"a/b\": a valid config key"));
    let errs = errors(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "c", "namespace": "d"}, "spec": {"accessModes": ["ReadWriteSometimes"]}}));
    assert_eq!(errs.len(), 2, "{errs:#?}");
    let errs = errors(json!({"apiVersion": "v1", "kind": "ResourceQuota",
        "metadata": {"name": "q", "namespace": "d"}, "spec": {"hard": {"pods": "10", "requests.memory": "1Gb"}}}));
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(errs[0].starts_with("spec.hard.requests.memory: Invalid value: \"1Gb\""));
    let errs = errors(
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "h", "namespace": "d"},
        "spec": {"minReplicas": 5, "maxReplicas": 2, "scaleTargetRef": {"kind": "Deployment", "name": "web"}}}),
    );
    assert_eq!(
        errs,
        vec!["spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`"]
    );
    let errs = errors(json!({"apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "c", "namespace": "d"},
        "spec": {"schedule": "every minute", "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "i"}]}}}}}}));
    assert_eq!(errs, vec!["spec.schedule: Invalid value: \"every minute\": unparseable schedule: Invalid pattern: Pattern must have 5 fields when seconds are disallowed."]);
    // Out of range (the old character check let this through) and an unknown time zone.
    let errs = errors(json!({"apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "c", "namespace": "d"},
        "spec": {"schedule": "61 * * * *", "timeZone": "Mars/Olympus", "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "i"}]}}}}}}));
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(
        errs[0].starts_with("spec.schedule: Invalid value: \"61 * * * *\": unparseable schedule: "),
        "{errs:?}"
    );
    assert_eq!(
        errs[1],
        "spec.timeZone: Invalid value: \"Mars/Olympus\": unknown time zone \"Mars/Olympus\""
    );
}
