//! `RegistryTable`: the static table of served kinds and its lookups (by kind, by resource name or
//! short name, by apiVersion + kind), with "did you mean" suggestions for unknown names.

use super::resource_kind::{KindId, ResourceKind};

const POD_FIELDS: &[&str] = &["spec.nodeName", "status.phase"];
const PHASE_FIELD: &[&str] = &["status.phase"];

macro_rules! kind {
    ($id:ident, $group:expr, $version:expr, $plural:expr, $singular:expr, $namespaced:expr,
     [$($short:expr),*], $status:expr, $fields:expr) => {
        ResourceKind {
            id: KindId::$id,
            group: $group,
            version: $version,
            kind: stringify!($id),
            plural: $plural,
            singular: $singular,
            namespaced: $namespaced,
            short_names: &[$($short),*],
            has_status: $status,
            extra_field_selectors: $fields,
        }
    };
}

static KINDS: &[ResourceKind] = &[
    kind!(
        Namespace,
        "",
        "v1",
        "namespaces",
        "namespace",
        false,
        ["ns"],
        true,
        PHASE_FIELD
    ),
    kind!(Node, "", "v1", "nodes", "node", false, ["no"], true, &[]),
    kind!(Pod, "", "v1", "pods", "pod", true, ["po"], true, POD_FIELDS),
    kind!(
        Service,
        "",
        "v1",
        "services",
        "service",
        true,
        ["svc"],
        true,
        &[]
    ),
    kind!(
        Endpoints,
        "",
        "v1",
        "endpoints",
        "endpoints",
        true,
        ["ep"],
        false,
        &[]
    ),
    kind!(
        ConfigMap,
        "",
        "v1",
        "configmaps",
        "configmap",
        true,
        ["cm"],
        false,
        &[]
    ),
    kind!(Secret, "", "v1", "secrets", "secret", true, [], false, &[]),
    kind!(Event, "", "v1", "events", "event", true, ["ev"], false, &[]),
    kind!(
        ResourceQuota,
        "",
        "v1",
        "resourcequotas",
        "resourcequota",
        true,
        ["quota"],
        true,
        &[]
    ),
    kind!(
        ServiceAccount,
        "",
        "v1",
        "serviceaccounts",
        "serviceaccount",
        true,
        ["sa"],
        false,
        &[]
    ),
    kind!(
        PersistentVolume,
        "",
        "v1",
        "persistentvolumes",
        "persistentvolume",
        false,
        ["pv"],
        true,
        &[]
    ),
    kind!(
        PersistentVolumeClaim,
        "",
        "v1",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        true,
        ["pvc"],
        true,
        &[]
    ),
    kind!(
        Deployment,
        "apps",
        "v1",
        "deployments",
        "deployment",
        true,
        ["deploy"],
        true,
        &[]
    ),
    kind!(
        ReplicaSet,
        "apps",
        "v1",
        "replicasets",
        "replicaset",
        true,
        ["rs"],
        true,
        &[]
    ),
    kind!(
        StatefulSet,
        "apps",
        "v1",
        "statefulsets",
        "statefulset",
        true,
        ["sts"],
        true,
        &[]
    ),
    kind!(
        DaemonSet,
        "apps",
        "v1",
        "daemonsets",
        "daemonset",
        true,
        ["ds"],
        true,
        &[]
    ),
    kind!(Job, "batch", "v1", "jobs", "job", true, [], true, &[]),
    kind!(
        CronJob,
        "batch",
        "v1",
        "cronjobs",
        "cronjob",
        true,
        ["cj"],
        true,
        &[]
    ),
    kind!(
        HorizontalPodAutoscaler,
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        true,
        ["hpa"],
        true,
        &[]
    ),
    kind!(
        Ingress,
        "networking.k8s.io",
        "v1",
        "ingresses",
        "ingress",
        true,
        ["ing"],
        true,
        &[]
    ),
];

/// A name that matches no served kind or resource. `suggestions` holds close matches, best first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("unknown kind {kind} in apiVersion {api_version}{}", hint(suggestions))]
    UnknownKind {
        api_version: String,
        kind: String,
        suggestions: Vec<String>,
    },
    #[error(
        "the server doesn't have a resource type \"{name}\"{}",
        hint(suggestions)
    )]
    UnknownResource {
        name: String,
        suggestions: Vec<String>,
    },
}

fn hint(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", suggestions.join(", "))
    }
}

/// The table of served kinds. Stateless: every lookup reads the static rows.
#[derive(Debug, Clone, Copy, Default)]
pub struct RegistryTable;

impl RegistryTable {
    /// Every served kind, in a stable order (core kinds first, as `api-resources` lists them).
    pub fn all() -> &'static [ResourceKind] {
        KINDS
    }

    /// The row for a [`KindId`]; every id has exactly one row.
    pub fn get(id: KindId) -> &'static ResourceKind {
        // The table holds one row per KindId (checked by a test), so the fallback is unreachable.
        KINDS.iter().find(|k| k.id == id).unwrap_or(&KINDS[0])
    }

    /// Exact, case-sensitive lookup by kind (`Deployment`).
    pub fn by_kind(kind: &str) -> Result<&'static ResourceKind, LookupError> {
        KINDS
            .iter()
            .find(|k| k.kind == kind)
            .ok_or_else(|| LookupError::UnknownKind {
                api_version: "(any)".to_string(),
                kind: kind.to_string(),
                suggestions: kind_suggestions(kind),
            })
    }

    /// Lookup as a manifest names a kind: `apiVersion` and `kind` must both match a row.
    pub fn by_api_version_kind(
        api_version: &str,
        kind: &str,
    ) -> Result<&'static ResourceKind, LookupError> {
        KINDS
            .iter()
            .find(|k| k.kind == kind && k.api_version() == api_version)
            .ok_or_else(|| {
                let mut suggestions: Vec<String> = KINDS
                    .iter()
                    .filter(|k| k.kind == kind)
                    .map(|k| format!("{} in apiVersion {}", k.kind, k.api_version()))
                    .collect();
                if suggestions.is_empty() {
                    suggestions = kind_suggestions(kind)
                        .into_iter()
                        .filter_map(|s| KINDS.iter().find(|k| k.kind == s))
                        .map(|k| format!("{} in apiVersion {}", k.kind, k.api_version()))
                        .collect();
                }
                LookupError::UnknownKind {
                    api_version: api_version.to_string(),
                    kind: kind.to_string(),
                    suggestions,
                }
            })
    }

    /// Lookup as kubectl's command line names a resource: plural, singular, short name or kind,
    /// case-insensitive, optionally qualified by group (`deployments.apps`, `deploy.apps`).
    pub fn by_resource(name: &str) -> Result<&'static ResourceKind, LookupError> {
        let lower = name.to_ascii_lowercase();
        let found = KINDS
            .iter()
            .find(|k| matches_resource(k, &lower))
            .or_else(|| {
                let (resource, group) = lower.split_once('.')?;
                KINDS
                    .iter()
                    .find(|k| k.storage_group() == group && matches_resource(k, resource))
            });
        found.ok_or_else(|| LookupError::UnknownResource {
            name: name.to_string(),
            suggestions: resource_suggestions(&lower),
        })
    }
}

fn matches_resource(k: &ResourceKind, lower: &str) -> bool {
    k.plural == lower
        || k.singular == lower
        || k.short_names.contains(&lower)
        || k.kind.eq_ignore_ascii_case(lower)
}

/// Kinds within a small edit distance of `kind` (case-insensitive), best first.
fn kind_suggestions(kind: &str) -> Vec<String> {
    let lower = kind.to_ascii_lowercase();
    let mut scored: Vec<(usize, &str)> = KINDS
        .iter()
        .filter_map(|k| {
            let d = edit_distance(&lower, &k.kind.to_ascii_lowercase());
            close_enough(&lower, d).then_some((d, k.kind))
        })
        .collect();
    scored.sort();
    scored.into_iter().map(|(_, k)| k.to_string()).collect()
}

/// Plural resource names whose plural, singular, short name or kind is close to `lower`.
fn resource_suggestions(lower: &str) -> Vec<String> {
    let mut scored: Vec<(usize, &str)> = KINDS
        .iter()
        .filter_map(|k| {
            let names = [k.plural, k.singular]
                .into_iter()
                .chain(k.short_names.iter().copied());
            let d = names.map(|n| edit_distance(lower, n)).min()?;
            close_enough(lower, d).then_some((d, k.plural))
        })
        .collect();
    scored.sort();
    scored.into_iter().map(|(_, k)| k.to_string()).collect()
}

/// Short names tolerate one edit, longer ones two; a case-only difference is distance 0.
fn close_enough(name: &str, distance: usize) -> bool {
    distance <= if name.len() <= 4 { 1 } else { 2 }
}

/// Levenshtein distance over bytes (names here are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
#[path = "registry_table_tests.rs"]
mod tests;
