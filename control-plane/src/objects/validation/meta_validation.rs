//! Validation of `ObjectMeta` (names per kind, namespace scope, labels, annotations,
//! finalizers, owner references) and of label maps and selectors anywhere in an object.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::field_error::{index, join, ErrorList};
use super::names;
use crate::objects::resource_kind::{KindId, ResourceKind};

/// Kubernetes' limit on the total size of an object's annotations.
pub const MAX_ANNOTATIONS_BYTES: usize = 256 * 1024;

/// The name rule Kubernetes applies to each kind.
pub fn name_rule(kind: KindId) -> fn(&str) -> Vec<String> {
    match kind {
        KindId::Namespace => names::dns1123_label,
        KindId::Service => names::dns1035_label,
        _ => names::dns1123_subdomain,
    }
}

pub fn validate_object_meta(kind: &ResourceKind, meta: &ObjectMeta, errs: &mut ErrorList) {
    let name = meta.name.as_deref().unwrap_or("");
    let generate = meta.generate_name.as_deref().unwrap_or("");
    let rule = name_rule(kind.id);
    if name.is_empty() && generate.is_empty() {
        errs.required("metadata.name", "name or generateName is required");
    }
    if !name.is_empty() {
        errs.invalid_each("metadata.name", name, rule(name));
    }
    if !generate.is_empty() {
        errs.invalid_each(
            "metadata.generateName",
            generate,
            names::as_prefix(generate, rule),
        );
    }
    let ns = meta.namespace.as_deref().unwrap_or("");
    match (kind.namespaced, ns.is_empty()) {
        (true, true) => errs.required("metadata.namespace", ""),
        (true, false) => errs.invalid_each("metadata.namespace", ns, names::dns1123_label(ns)),
        (false, false) => errs.forbidden("metadata.namespace", "not allowed on this type"),
        (false, true) => {}
    }
    if let Some(g) = meta.generation.filter(|g| *g < 0) {
        errs.invalid(
            "metadata.generation",
            g,
            "must be greater than or equal to 0",
        );
    }
    validate_labels(meta.labels.as_ref(), "metadata.labels", errs);
    validate_annotations(meta.annotations.as_ref(), errs);
    for (i, f) in meta.finalizers.iter().flatten().enumerate() {
        errs.invalid_each(
            &index("metadata.finalizers", i),
            f,
            names::qualified_name(f),
        );
    }
    let mut controllers = 0;
    for (i, r) in meta.owner_references.iter().flatten().enumerate() {
        let path = index("metadata.ownerReferences", i);
        for (field, value) in [
            ("apiVersion", &r.api_version),
            ("kind", &r.kind),
            ("name", &r.name),
            ("uid", &r.uid),
        ] {
            if value.is_empty() {
                errs.required(&join(&path, field), "");
            }
        }
        controllers += usize::from(r.controller == Some(true));
    }
    if controllers > 1 {
        errs.invalid(
            "metadata.ownerReferences",
            controllers as i64,
            "Only one reference can have Controller set to true",
        );
    }
}

pub fn validate_labels(
    labels: Option<&BTreeMap<String, String>>,
    path: &str,
    errs: &mut ErrorList,
) {
    for (k, v) in labels.into_iter().flatten() {
        errs.invalid_each(path, k, names::qualified_name(k));
        errs.invalid_each(path, v, names::label_value(v));
    }
}

fn validate_annotations(annotations: Option<&BTreeMap<String, String>>, errs: &mut ErrorList) {
    let mut total = 0;
    for (k, v) in annotations.into_iter().flatten() {
        errs.invalid_each(
            "metadata.annotations",
            k,
            names::qualified_name(&k.to_lowercase()),
        );
        total += k.len() + v.len();
    }
    if total > MAX_ANNOTATIONS_BYTES {
        errs.too_long("metadata.annotations", MAX_ANNOTATIONS_BYTES);
    }
}

/// A `LabelSelector`'s syntax: label keys/values and expression operators.
pub fn validate_label_selector(sel: &LabelSelector, path: &str, errs: &mut ErrorList) {
    validate_labels(sel.match_labels.as_ref(), &join(path, "matchLabels"), errs);
    for (i, e) in sel.match_expressions.iter().flatten().enumerate() {
        let p = index(&join(path, "matchExpressions"), i);
        errs.invalid_each(&join(&p, "key"), &e.key, names::qualified_name(&e.key));
        let values = e.values.as_deref().unwrap_or(&[]);
        match e.operator.as_str() {
            "In" | "NotIn" if values.is_empty() => errs.required(
                &join(&p, "values"),
                "must be specified when `operator` is 'In' or 'NotIn'",
            ),
            "Exists" | "DoesNotExist" if !values.is_empty() => errs.forbidden(
                &join(&p, "values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            ),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => errs.invalid(
                &join(&p, "operator"),
                other,
                "not a valid selector operator",
            ),
        }
    }
}
