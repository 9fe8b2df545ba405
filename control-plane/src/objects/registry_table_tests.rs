//! Tests for the kind table and its lookups.

use super::*;
use std::collections::HashSet;

#[test]
fn one_row_per_kind_id_and_unique_names() {
    assert_eq!(KINDS.len(), 20);
    let ids: HashSet<KindId> = KINDS.iter().map(|k| k.id).collect();
    assert_eq!(ids.len(), KINDS.len());
    for k in KINDS {
        assert_eq!(RegistryTable::get(k.id).kind, k.kind);
    }
    let mut names = HashSet::new();
    for k in KINDS {
        for n in [k.plural].iter().chain(k.short_names) {
            assert!(names.insert(*n), "duplicate resource name {n}");
        }
    }
}

#[test]
fn short_names_from_the_issue_resolve() {
    let expected = [
        ("po", "Pod"),
        ("deploy", "Deployment"),
        ("svc", "Service"),
        ("ns", "Namespace"),
        ("cm", "ConfigMap"),
        ("rs", "ReplicaSet"),
        ("sts", "StatefulSet"),
        ("ds", "DaemonSet"),
        ("no", "Node"),
        ("ep", "Endpoints"),
        ("ev", "Event"),
        ("quota", "ResourceQuota"),
        ("sa", "ServiceAccount"),
        ("pv", "PersistentVolume"),
        ("pvc", "PersistentVolumeClaim"),
        ("cj", "CronJob"),
        ("hpa", "HorizontalPodAutoscaler"),
        ("ing", "Ingress"),
    ];
    for (short, kind) in expected {
        assert_eq!(
            RegistryTable::by_resource(short).unwrap().kind,
            kind,
            "{short}"
        );
    }
}

#[test]
fn resource_lookup_is_case_insensitive_and_accepts_group() {
    for name in [
        "deployments",
        "Deployment",
        "DEPLOY",
        "deployment",
        "deployments.apps",
    ] {
        assert_eq!(
            RegistryTable::by_resource(name).unwrap().id,
            KindId::Deployment
        );
    }
    assert_eq!(
        RegistryTable::by_resource("ing.networking.k8s.io")
            .unwrap()
            .kind,
        "Ingress"
    );
    assert_eq!(RegistryTable::by_resource("pods").unwrap().id, KindId::Pod);
    assert!(RegistryTable::by_resource("pods.apps").is_err());
}

#[test]
fn unknown_resource_suggests_close_names() {
    let err = RegistryTable::by_resource("deploymnts").unwrap_err();
    assert_eq!(
        err.to_string(),
        "the server doesn't have a resource type \"deploymnts\" (did you mean deployments?)"
    );
    let err = RegistryTable::by_resource("zzzzzz").unwrap_err();
    assert_eq!(
        err.to_string(),
        "the server doesn't have a resource type \"zzzzzz\""
    );
}

#[test]
fn api_version_and_kind_must_both_match() {
    let d = RegistryTable::by_api_version_kind("apps/v1", "Deployment").unwrap();
    assert_eq!(d.id, KindId::Deployment);
    let hpa = RegistryTable::by_api_version_kind("autoscaling/v2", "HorizontalPodAutoscaler");
    assert!(hpa.is_ok());
    let ing = RegistryTable::by_api_version_kind("networking.k8s.io/v1", "Ingress").unwrap();
    assert_eq!(ing.storage_group(), "networking.k8s.io");

    let err = RegistryTable::by_api_version_kind("extensions/v1beta1", "Deployment").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown kind Deployment in apiVersion extensions/v1beta1 \
         (did you mean Deployment in apiVersion apps/v1?)"
    );
    let err = RegistryTable::by_api_version_kind("v1", "Foo").unwrap_err();
    assert_eq!(err.to_string(), "unknown kind Foo in apiVersion v1");
    let err = RegistryTable::by_api_version_kind("v1", "Servise").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown kind Servise in apiVersion v1 (did you mean Service in apiVersion v1?)"
    );
    let err = RegistryTable::by_api_version_kind("apps/v1", "deployment").unwrap_err();
    assert!(err
        .to_string()
        .contains("did you mean Deployment in apiVersion apps/v1"));
}

#[test]
fn edit_distance_basics() {
    assert_eq!(edit_distance("", "abc"), 3);
    assert_eq!(edit_distance("kitten", "sitting"), 3);
    assert_eq!(edit_distance("pod", "pod"), 0);
}
