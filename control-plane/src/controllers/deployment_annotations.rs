//! The annotations a Deployment keeps on its ReplicaSets: the revision (and the revisions a
//! template had before, when a rollback reused it), the replicas the Deployment wanted and the
//! most it allowed when it last scaled the set, and the Deployment's own annotations
//! (`kubernetes.io/change-cause` among them) copied onto its new ReplicaSet.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::ReplicaSet;

pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
pub const REVISION_HISTORY_ANNOTATION: &str = "deployment.kubernetes.io/revision-history";
pub const DESIRED_REPLICAS_ANNOTATION: &str = "deployment.kubernetes.io/desired-replicas";
pub const MAX_REPLICAS_ANNOTATION: &str = "deployment.kubernetes.io/max-replicas";
pub const CHANGE_CAUSE_ANNOTATION: &str = "kubernetes.io/change-cause";
const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";
const ROLLBACK_TO_ANNOTATION: &str = "deprecated.deployment.rollback.to";

/// Deployment annotations that are not copied onto its ReplicaSets.
fn skip_copy(key: &str) -> bool {
    matches!(
        key,
        LAST_APPLIED_ANNOTATION
            | REVISION_ANNOTATION
            | REVISION_HISTORY_ANNOTATION
            | DESIRED_REPLICAS_ANNOTATION
            | MAX_REPLICAS_ANNOTATION
            | ROLLBACK_TO_ANNOTATION
    )
}

fn annotation<'a>(rs: &'a ReplicaSet, key: &str) -> Option<&'a str> {
    rs.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
}

/// The ReplicaSet's revision (0 when missing or unreadable).
pub fn revision_of(rs: &ReplicaSet) -> i64 {
    annotation(rs, REVISION_ANNOTATION)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// An integer annotation of the ReplicaSet.
pub fn int_annotation(rs: &ReplicaSet, key: &str) -> Option<i32> {
    annotation(rs, key).and_then(|v| v.parse().ok())
}

/// Copies the Deployment's annotations (but its revision and replica bookkeeping) onto the
/// ReplicaSet; returns whether any changed.
pub fn copy_deployment_annotations(
    deployment: Option<&BTreeMap<String, String>>,
    rs: &mut ReplicaSet,
) -> bool {
    let target = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let mut changed = false;
    for (k, v) in deployment.into_iter().flatten() {
        if skip_copy(k) || target.get(k) == Some(v) {
            continue;
        }
        target.insert(k.clone(), v.clone());
        changed = true;
    }
    changed
}

/// Raises the ReplicaSet's revision to `revision` when it is lower, remembering the former one
/// in the revision history; returns whether it changed.
pub fn raise_revision(rs: &mut ReplicaSet, revision: i64) -> bool {
    let old = annotation(rs, REVISION_ANNOTATION).map(str::to_string);
    let old_value = old
        .as_deref()
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
    if old.is_some() && old_value >= revision {
        return false;
    }
    let target = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    target.insert(REVISION_ANNOTATION.to_string(), revision.to_string());
    if let Some(old) = old.filter(|o| !o.is_empty()) {
        let history = match target.get(REVISION_HISTORY_ANNOTATION) {
            Some(h) if !h.is_empty() => format!("{h},{old}"),
            _ => old,
        };
        target.insert(REVISION_HISTORY_ANNOTATION.to_string(), history);
    }
    true
}

/// Whether the replica bookkeeping annotations differ from `desired`/`max`.
pub fn replicas_annotations_need_update(rs: &ReplicaSet, desired: i32, max: i32) -> bool {
    int_annotation(rs, DESIRED_REPLICAS_ANNOTATION) != Some(desired)
        || int_annotation(rs, MAX_REPLICAS_ANNOTATION) != Some(max)
}

/// Records `desired` and `max` replicas on the ReplicaSet.
pub fn set_replicas_annotations(rs: &mut ReplicaSet, desired: i32, max: i32) {
    let target = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    target.insert(DESIRED_REPLICAS_ANNOTATION.to_string(), desired.to_string());
    target.insert(MAX_REPLICAS_ANNOTATION.to_string(), max.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::plan_test_support::{labels, replicaset};

    #[test]
    fn revisions_only_rise_and_remember_the_old_one() {
        let mut rs = replicaset("a", 1, "x");
        assert_eq!(revision_of(&rs), 0);
        assert!(raise_revision(&mut rs, 1));
        assert_eq!(revision_of(&rs), 1);
        assert_eq!(annotation(&rs, REVISION_HISTORY_ANNOTATION), None);
        assert!(!raise_revision(&mut rs, 1));
        assert!(raise_revision(&mut rs, 4));
        assert!(raise_revision(&mut rs, 6));
        assert_eq!(revision_of(&rs), 6);
        assert_eq!(annotation(&rs, REVISION_HISTORY_ANNOTATION), Some("1,4"));
    }

    #[test]
    fn deployment_annotations_are_copied_but_bookkeeping() {
        let mut rs = replicaset("a", 1, "x");
        let d = labels(&[
            (CHANGE_CAUSE_ANNOTATION, "set image"),
            (REVISION_ANNOTATION, "9"),
            (LAST_APPLIED_ANNOTATION, "{}"),
        ]);
        assert!(copy_deployment_annotations(Some(&d), &mut rs));
        assert!(!copy_deployment_annotations(Some(&d), &mut rs));
        assert_eq!(
            rs.metadata.annotations,
            Some(labels(&[(CHANGE_CAUSE_ANNOTATION, "set image")]))
        );
        assert!(replicas_annotations_need_update(&rs, 3, 4));
        set_replicas_annotations(&mut rs, 3, 4);
        assert!(!replicas_annotations_need_update(&rs, 3, 4));
        assert!(replicas_annotations_need_update(&rs, 3, 5));
    }
}
