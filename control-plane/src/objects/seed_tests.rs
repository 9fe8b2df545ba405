//! End-to-end tests of the pure create/update pipeline on the seeds' manifests: parse, server
//! metadata, defaults, allocation, validation, JSON for the store — and a re-apply that changes
//! nothing.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::json;

use super::*;

const NGINX: &str = include_str!("testdata/seed_nginx_deployment.yaml");
const MY_SERVICE: &str = include_str!("testdata/seed_my_service.yaml");

/// Decode, default and allocate: what both create and update do before metadata.
fn default_and_allocate(
    obj: &DynamicObject,
    old: Option<&DynamicObject>,
    used: &UsedAddresses,
) -> DynamicObject {
    let mut typed = TypedObject::decode(obj, FieldValidation::Strict)
        .unwrap()
        .object;
    apply_defaults(&mut typed);
    let old = old.map(|o| {
        TypedObject::decode(o, FieldValidation::Strict)
            .unwrap()
            .object
    });
    if let TypedObject::Service(svc) = &mut typed {
        let old_spec = match &old {
            Some(TypedObject::Service(o)) => o.spec.as_ref(),
            _ => None,
        };
        let spec = svc.spec.as_mut().unwrap();
        ServiceAllocator::default()
            .allocate(spec, old_spec, used)
            .unwrap();
    }
    typed.to_dynamic().unwrap()
}

/// The chain a create handler runs, in order (see the module doc).
fn create(doc: &ManifestDocument, used: &UsedAddresses) -> DynamicObject {
    let mut obj = doc.object.clone();
    if obj.resource_kind().namespaced && obj.namespace().is_empty() {
        obj.set_namespace("default");
    }
    let ctx = CreateContext {
        uid: "6f1c-uid".into(),
        now: Time(Timestamp::from_second(1_700_000_000).unwrap()),
        name_suffix: "abcde".into(),
    };
    let obj = prepare_create(default_and_allocate(&obj, None, used), &ctx).unwrap();
    let typed = TypedObject::decode(&obj, FieldValidation::Strict)
        .unwrap()
        .object;
    validation::validate_create(&typed).unwrap();
    obj
}

/// The chain an update (`apply` of the same file) runs.
fn update(stored: &DynamicObject, doc: &ManifestDocument) -> DynamicObject {
    let mut sent = doc.object.clone();
    sent.set_namespace(stored.namespace());
    let sent = default_and_allocate(&sent, Some(stored), &UsedAddresses::default());
    let UpdateOutcome::Write(obj) = prepare_update(stored, sent, WriteTarget::Main).unwrap() else {
        panic!("not a write")
    };
    let old_typed = TypedObject::decode(stored, FieldValidation::Strict)
        .unwrap()
        .object;
    let typed = TypedObject::decode(&obj, FieldValidation::Strict)
        .unwrap()
        .object;
    validation::validate_update(&old_typed, &typed).unwrap();
    obj
}

#[test]
fn nginx_deployment_creates_cleanly_and_reapplies_unchanged() {
    let docs = parse_manifest(NGINX).unwrap();
    let stored = create(&docs[0], &UsedAddresses::default());
    assert_eq!(
        stored.key().unwrap().to_string(),
        "/registry/apps/deployments/default/nginx-deployment"
    );
    assert_eq!(stored.field("metadata.generation"), Some(&json!(1)));
    assert_eq!(stored.field("spec.replicas"), Some(&json!(3)));
    assert_eq!(
        stored.field("spec.strategy.type"),
        Some(&json!("RollingUpdate"))
    );
    let container = &stored.field("spec.template.spec.containers").unwrap()[0];
    assert_eq!(container["imagePullPolicy"], "IfNotPresent");
    assert_eq!(container["ports"][0]["protocol"], "TCP");
    let selector = LabelSelector::parse("app=nginx").unwrap();
    assert!(selector.matches(stored.labels()));

    let json = stored.to_json();
    assert!(json.len() < 2048);
    let reread = DynamicObject::from_json(&json).unwrap();
    let again = update(&reread, &docs[0]);
    assert_eq!(
        again, stored,
        "re-applying the same manifest changes nothing"
    );
}

#[test]
fn my_service_gets_an_ip_and_keeps_it() {
    let docs = parse_manifest(MY_SERVICE).unwrap();
    let mut used = UsedAddresses::default();
    used.cluster_ips.insert("10.96.0.1".parse().unwrap()); // the `kubernetes` service
    let stored = create(&docs[0], &used);
    assert_eq!(stored.field("spec.clusterIP"), Some(&json!("10.96.0.2")));
    assert_eq!(stored.field("spec.type"), Some(&json!("ClusterIP")));
    assert_eq!(stored.field("spec.ports").unwrap()[0]["targetPort"], 9376);
    let again = update(&stored, &docs[0]);
    assert_eq!(again, stored);
}

#[test]
fn both_seeds_in_one_file() {
    let both = format!("{NGINX}---\n{MY_SERVICE}");
    let docs = parse_manifest(&both).unwrap();
    let names: Vec<String> = docs
        .iter()
        .map(|d| {
            format!(
                "{}/{}",
                d.object.resource_kind().kubectl_name(),
                d.object.name()
            )
        })
        .collect();
    assert_eq!(
        names,
        vec!["deployment.apps/nginx-deployment", "service/my-service"]
    );
    for d in &docs {
        create(d, &UsedAddresses::default());
    }
}
