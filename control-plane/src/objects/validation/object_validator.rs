//! `validate_create` / `validate_update`: runs the per-kind rules on a decoded object and
//! returns every error at once, formatted like kubectl.

use serde::Serialize;

use super::field_error::{ErrorList, InvalidObject, Shown};
use super::meta_validation::validate_object_meta;
use super::pod_validation::validate_pod_spec;
use super::service_validation as svc;
use super::workload_validation as wl;
use crate::objects::typed_object::TypedObject;

/// Validates an object about to be created (after metadata and defaults were applied).
pub fn validate_create(obj: &TypedObject) -> Result<(), InvalidObject> {
    collect(obj).into_result(obj.resource_kind().kind, display_name(obj))
}

/// Validates an update: the object's own rules plus the fields Kubernetes keeps immutable.
pub fn validate_update(old: &TypedObject, new: &TypedObject) -> Result<(), InvalidObject> {
    let mut errs = collect(new);
    immutable_fields(old, new, &mut errs);
    errs.into_result(new.resource_kind().kind, display_name(new))
}

fn display_name(obj: &TypedObject) -> &str {
    let meta = obj.metadata();
    match meta.name.as_deref() {
        Some(n) if !n.is_empty() => n,
        _ => meta.generate_name.as_deref().unwrap_or(""),
    }
}

fn collect(obj: &TypedObject) -> ErrorList {
    let mut errs = ErrorList::new();
    validate_object_meta(obj.resource_kind(), obj.metadata(), &mut errs);
    match obj {
        TypedObject::Pod(p) => match &p.spec {
            Some(spec) => validate_pod_spec(spec, "spec", &mut errs),
            None => errs.required("spec", ""),
        },
        TypedObject::Deployment(d) => wl::validate_deployment(d, &mut errs),
        TypedObject::ReplicaSet(r) => wl::validate_replicaset(r, &mut errs),
        TypedObject::StatefulSet(s) => wl::validate_statefulset(s, &mut errs),
        TypedObject::DaemonSet(d) => wl::validate_daemonset(d, &mut errs),
        TypedObject::Job(j) => match &j.spec {
            Some(spec) => wl::validate_job_spec(spec, &mut errs),
            None => errs.required("spec", ""),
        },
        TypedObject::CronJob(c) => wl::validate_cronjob(c, &mut errs),
        TypedObject::Service(s) => svc::validate_service(s, &mut errs),
        TypedObject::Endpoints(e) => svc::validate_endpoints(e, &mut errs),
        TypedObject::Ingress(i) => svc::validate_ingress(i, &mut errs),
        TypedObject::ConfigMap(c) => svc::validate_config_map(c, &mut errs),
        TypedObject::Secret(s) => svc::validate_secret(s, &mut errs),
        TypedObject::PersistentVolume(pv) => svc::validate_pv(pv, &mut errs),
        TypedObject::PersistentVolumeClaim(pvc) => svc::validate_pvc(pvc, &mut errs),
        TypedObject::ResourceQuota(q) => svc::validate_quota(q, &mut errs),
        TypedObject::Node(n) => svc::validate_node(n, &mut errs),
        TypedObject::HorizontalPodAutoscaler(h) => svc::validate_hpa(h, &mut errs),
        TypedObject::Event(e) => svc::validate_event(e, &mut errs),
        TypedObject::Namespace(_) | TypedObject::ServiceAccount(_) => {}
    }
    errs
}

/// Reports `path` as immutable when `old` and `new` differ.
fn same<T: PartialEq + Serialize>(errs: &mut ErrorList, path: &str, old: &T, new: &T) {
    if old != new {
        let shown = serde_json::to_value(new)
            .map(|v| Shown::from(&v))
            .unwrap_or(Shown(String::new()));
        errs.immutable(path, shown);
    }
}

fn immutable_fields(old: &TypedObject, new: &TypedObject, errs: &mut ErrorList) {
    match (old, new) {
        (TypedObject::Deployment(o), TypedObject::Deployment(n)) => {
            same(
                errs,
                "spec.selector",
                &o.spec.as_ref().map(|s| &s.selector),
                &n.spec.as_ref().map(|s| &s.selector),
            );
        }
        (TypedObject::ReplicaSet(o), TypedObject::ReplicaSet(n)) => {
            same(
                errs,
                "spec.selector",
                &o.spec.as_ref().map(|s| &s.selector),
                &n.spec.as_ref().map(|s| &s.selector),
            );
        }
        (TypedObject::DaemonSet(o), TypedObject::DaemonSet(n)) => {
            same(
                errs,
                "spec.selector",
                &o.spec.as_ref().map(|s| &s.selector),
                &n.spec.as_ref().map(|s| &s.selector),
            );
        }
        (TypedObject::StatefulSet(o), TypedObject::StatefulSet(n)) => {
            let (o, n) = (o.spec.as_ref(), n.spec.as_ref());
            same(
                errs,
                "spec.selector",
                &o.map(|s| &s.selector),
                &n.map(|s| &s.selector),
            );
            same(
                errs,
                "spec.serviceName",
                &o.and_then(|s| s.service_name.as_ref()),
                &n.and_then(|s| s.service_name.as_ref()),
            );
            same(
                errs,
                "spec.podManagementPolicy",
                &o.and_then(|s| s.pod_management_policy.as_ref()),
                &n.and_then(|s| s.pod_management_policy.as_ref()),
            );
            same(
                errs,
                "spec.volumeClaimTemplates",
                &o.and_then(|s| s.volume_claim_templates.as_ref()),
                &n.and_then(|s| s.volume_claim_templates.as_ref()),
            );
        }
        (TypedObject::Job(o), TypedObject::Job(n)) => {
            let (o, n) = (o.spec.as_ref(), n.spec.as_ref());
            same(
                errs,
                "spec.selector",
                &o.and_then(|s| s.selector.as_ref()),
                &n.and_then(|s| s.selector.as_ref()),
            );
            same(
                errs,
                "spec.template",
                &o.map(|s| &s.template),
                &n.map(|s| &s.template),
            );
            same(
                errs,
                "spec.completionMode",
                &o.and_then(|s| s.completion_mode.as_ref()),
                &n.and_then(|s| s.completion_mode.as_ref()),
            );
        }
        (TypedObject::Service(o), TypedObject::Service(n)) => {
            let ip = |s: &k8s_openapi::api::core::v1::Service| {
                s.spec
                    .as_ref()
                    .and_then(|s| s.cluster_ip.clone())
                    .unwrap_or_default()
            };
            let (oip, nip) = (ip(o), ip(n));
            if !oip.is_empty() && !nip.is_empty() && oip != nip {
                errs.immutable("spec.clusterIP", &nip);
            }
        }
        (TypedObject::ConfigMap(o), TypedObject::ConfigMap(n)) if o.immutable == Some(true) => {
            same(errs, "data", &o.data, &n.data);
            same(errs, "binaryData", &o.binary_data, &n.binary_data);
            same(errs, "immutable", &o.immutable, &n.immutable);
        }
        (TypedObject::Secret(o), TypedObject::Secret(n)) => {
            same(errs, "type", &o.type_, &n.type_);
            if o.immutable == Some(true) {
                same(errs, "data", &o.data, &n.data);
                same(errs, "immutable", &o.immutable, &n.immutable);
            }
        }
        (TypedObject::PersistentVolumeClaim(o), TypedObject::PersistentVolumeClaim(n)) => {
            let (o, n) = (o.spec.as_ref(), n.spec.as_ref());
            same(
                errs,
                "spec.accessModes",
                &o.and_then(|s| s.access_modes.as_ref()),
                &n.and_then(|s| s.access_modes.as_ref()),
            );
            same(
                errs,
                "spec.storageClassName",
                &o.and_then(|s| s.storage_class_name.as_ref()),
                &n.and_then(|s| s.storage_class_name.as_ref()),
            );
        }
        _ => {}
    }
}

#[cfg(test)]
#[path = "validation_tests.rs"]
mod tests;
