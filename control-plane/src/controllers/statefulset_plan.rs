//! The StatefulSet controller's decision (pure). Pods are named `<name>-<ordinal>` and carry a
//! stable identity: labels `statefulset.kubernetes.io/pod-name`, `apps.kubernetes.io/pod-index`
//! and `controller-revision-hash`, `hostname` = the pod's name and `subdomain` = `serviceName`.
//! A pod that is gone (or terminal, which is deleted first) is created again under its name.
//!
//! - `OrderedReady`: ordinals are created 0..N-1 one at a time, each only when every lower
//!   ordinal is Running and Ready; scale-down deletes the highest ordinal, one at a time, and only
//!   while every other pod is Running and Ready.
//! - `Parallel`: every missing ordinal is created and every condemned one deleted at once.
//! - `RollingUpdate`: once every ordinal exists and is Running and Ready, the highest ordinal
//!   `>= partition` whose revision differs from the update revision is deleted (and re-created
//!   from the current template on the next round); one at a time. `OnDelete`: pods are replaced
//!   only when someone deletes them.
//!
//! `volumeClaimTemplates`: each created pod gets, per template, a volume that refers to the
//! claim `<claim>-<name>-<ordinal>`, and that PersistentVolumeClaim object is created (once; an
//! existing one is kept). Nothing provisions or binds storage.
//!
//! Left out (said here so nobody assumes it): ControllerRevision objects and rollback. Revisions
//! are the hash of the current template, so a pod re-created below the `partition` gets the
//! current template too (Kubernetes would re-create it at the old revision); `maxUnavailable`
//! and PVC retention policies are ignored.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, Pod, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;

use super::controller_ref::{controller_ref, is_controlled_by};
use super::pod_readiness::{is_pod_available, is_pod_ready, pod_phase};
use super::pod_template_hash::pod_template_hash;

pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";
pub const REVISION_LABEL: &str = "controller-revision-hash";

#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatefulSetPlan {
    pub create: Vec<Pod>,
    pub delete: Vec<Pod>,
    pub create_claims: Vec<PersistentVolumeClaim>,
    pub status: Option<StatefulSetStatus>,
}

/// The ordinal in a pod name `<set>-<ordinal>`, if the name has that form.
pub fn ordinal_of(set: &str, pod_name: &str) -> Option<i32> {
    let rest = pod_name.strip_prefix(set)?.strip_prefix('-')?;
    if rest.is_empty() || (rest.len() > 1 && rest.starts_with('0')) {
        return None;
    }
    rest.parse().ok().filter(|o: &i32| *o >= 0)
}

/// The update revision: `<name>-<hash of the template>`.
pub fn update_revision(set: &StatefulSet) -> String {
    let name = set.metadata.name.as_deref().unwrap_or_default();
    let collisions = set.status.as_ref().and_then(|s| s.collision_count);
    let hash = set
        .spec
        .as_ref()
        .map(|s| pod_template_hash(&s.template, collisions))
        .unwrap_or_default();
    format!("{name}-{hash}")
}

fn revision_of(pod: &Pod) -> Option<&str> {
    pod.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(REVISION_LABEL))
        .map(String::as_str)
}

fn running_and_ready(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none() && pod_phase(pod) == "Running" && is_pod_ready(pod)
}

fn terminal(pod: &Pod) -> bool {
    matches!(pod_phase(pod), "Succeeded" | "Failed")
}

fn claim_name(claim: &str, set: &str, ordinal: i32) -> String {
    format!("{claim}-{set}-{ordinal}")
}

/// The pod for `ordinal`, from the set's current template.
pub fn new_pod(set: &StatefulSet, ordinal: i32, revision: &str) -> Pod {
    let name = set.metadata.name.clone().unwrap_or_default();
    let spec = set.spec.clone().unwrap_or_default();
    let tmeta = spec.template.metadata.clone().unwrap_or_default();
    let pod_name = format!("{name}-{ordinal}");
    let mut labels = tmeta.labels.unwrap_or_default();
    labels.insert(POD_NAME_LABEL.into(), pod_name.clone());
    labels.insert(POD_INDEX_LABEL.into(), ordinal.to_string());
    labels.insert(REVISION_LABEL.into(), revision.to_string());
    let mut pod_spec = spec.template.spec.unwrap_or_default();
    pod_spec.hostname = Some(pod_name.clone());
    if !spec.service_name.as_deref().unwrap_or_default().is_empty() {
        pod_spec.subdomain = spec.service_name.clone();
    }
    for claim in spec.volume_claim_templates.iter().flatten() {
        let cname = claim.metadata.name.clone().unwrap_or_default();
        let volumes = pod_spec.volumes.get_or_insert_with(Vec::new);
        volumes.retain(|v| v.name != cname);
        volumes.push(Volume {
            name: cname.clone(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim_name(&cname, &name, ordinal),
                read_only: None,
            }),
            ..Default::default()
        });
    }
    Pod {
        metadata: ObjectMeta {
            name: Some(pod_name),
            namespace: set.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: tmeta.annotations,
            owner_references: Some(vec![controller_ref(
                "apps/v1",
                "StatefulSet",
                &set.metadata,
            )]),
            ..Default::default()
        },
        spec: Some(pod_spec),
        status: None,
    }
}

fn new_claims(
    set: &StatefulSet,
    ordinal: i32,
    existing: &BTreeSet<String>,
) -> Vec<PersistentVolumeClaim> {
    let name = set.metadata.name.as_deref().unwrap_or_default();
    let templates = set
        .spec
        .as_ref()
        .and_then(|s| s.volume_claim_templates.as_ref());
    let selector_labels = set
        .spec
        .as_ref()
        .and_then(|s| s.selector.match_labels.clone());
    templates
        .into_iter()
        .flatten()
        .filter_map(|t| {
            let cname = claim_name(
                t.metadata.name.as_deref().unwrap_or_default(),
                name,
                ordinal,
            );
            if existing.contains(&cname) {
                return None;
            }
            let mut labels = t.metadata.labels.clone().unwrap_or_default();
            labels.extend(selector_labels.clone().unwrap_or_default());
            Some(PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some(cname),
                    namespace: set.metadata.namespace.clone(),
                    labels: Some(labels),
                    annotations: t.metadata.annotations.clone(),
                    ..Default::default()
                },
                spec: t.spec.clone(),
                status: None,
            })
        })
        .collect()
}

/// Plans one reconcile of `set`. `pods` are the pods of its namespace (unfiltered); `claims`
/// are the names of the PVCs that exist in it, or `None` when PVCs are not to be created.
pub fn plan_statefulset(
    set: &StatefulSet,
    pods: &[Pod],
    claims: Option<&BTreeSet<String>>,
    now: Timestamp,
) -> StatefulSetPlan {
    let mut plan = StatefulSetPlan::default();
    let uid = set.metadata.uid.as_deref().unwrap_or_default();
    let name = set.metadata.name.as_deref().unwrap_or_default();
    let spec = set.spec.clone().unwrap_or_default();
    let replicas = spec.replicas.unwrap_or(1).max(0);
    let parallel = spec.pod_management_policy.as_deref() == Some("Parallel");
    let strategy = spec.update_strategy.clone().unwrap_or_default();
    let on_delete = strategy.type_.as_deref() == Some("OnDelete");
    let partition = strategy
        .rolling_update
        .and_then(|r| r.partition)
        .unwrap_or(0)
        .max(0);
    let update_rev = update_revision(set);
    let current_rev = set
        .status
        .as_ref()
        .and_then(|s| s.current_revision.clone())
        .unwrap_or_else(|| update_rev.clone());

    // This set's pods by ordinal (a name that is not `<set>-<n>` is not one of them).
    let mut by_ordinal: BTreeMap<i32, &Pod> = BTreeMap::new();
    for pod in pods.iter().filter(|p| is_controlled_by(&p.metadata, uid)) {
        if let Some(o) = ordinal_of(name, pod.metadata.name.as_deref().unwrap_or_default()) {
            by_ordinal.insert(o, pod);
        }
    }

    // Terminal pods are deleted first; their ordinal is re-created once the name is free.
    let mut blocked = false;
    for (&o, pod) in &by_ordinal {
        if terminal(pod) && pod.metadata.deletion_timestamp.is_none() {
            plan.delete.push(Pod::clone(pod));
            if o < replicas && !parallel {
                blocked = true;
            }
        }
    }

    // Creation, lowest ordinal first.
    for o in 0..replicas {
        if blocked {
            break;
        }
        match by_ordinal.get(&o) {
            None => {
                if let Some(existing) = claims {
                    plan.create_claims.extend(new_claims(set, o, existing));
                }
                plan.create.push(new_pod(set, o, &update_rev));
                if !parallel {
                    blocked = true;
                }
            }
            Some(pod) => {
                if !parallel && !running_and_ready(pod) {
                    blocked = true;
                }
            }
        }
    }

    // Scale-down, highest ordinal first.
    let condemned: Vec<&Pod> = by_ordinal
        .range(replicas..)
        .rev()
        .map(|(_, p)| *p)
        .filter(|p| !(terminal(p) && p.metadata.deletion_timestamp.is_none()))
        .collect();
    if parallel {
        for pod in &condemned {
            if pod.metadata.deletion_timestamp.is_none() {
                plan.delete.push(Pod::clone(pod));
            }
        }
    } else if !blocked {
        let all_ready = by_ordinal.values().all(|p| running_and_ready(p));
        if let Some(pod) = condemned.first() {
            if all_ready {
                plan.delete.push(Pod::clone(pod));
            }
            blocked = true;
        }
    }

    // Rolling update: every ordinal present and Running and Ready, then the highest stale one.
    let complete = (0..replicas).all(|o| by_ordinal.get(&o).is_some_and(|p| running_and_ready(p)))
        && condemned.is_empty()
        && plan.create.is_empty()
        && plan.delete.is_empty();
    if !on_delete && !blocked && complete {
        let stale = (partition..replicas)
            .rev()
            .filter_map(|o| by_ordinal.get(&o))
            .find(|p| revision_of(p) != Some(update_rev.as_str()));
        if let Some(pod) = stale {
            plan.delete.push(Pod::clone(pod));
        }
    }

    // Status.
    let live: Vec<&Pod> = by_ordinal
        .values()
        .copied()
        .filter(|p| !terminal(p))
        .collect();
    let count = |f: &dyn Fn(&Pod) -> bool| live.iter().filter(|p| f(p)).count() as i32;
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    let updated = count(&|p| revision_of(p) == Some(update_rev.as_str()));
    let current_revision = if updated == replicas && live.len() as i32 == replicas {
        update_rev.clone()
    } else {
        current_rev
    };
    let status = StatefulSetStatus {
        observed_generation: set.metadata.generation,
        replicas: live.len() as i32,
        ready_replicas: Some(count(&|p| running_and_ready(p))),
        available_replicas: Some(count(&|p| {
            running_and_ready(p) && is_pod_available(p, min_ready, now)
        })),
        current_replicas: Some(count(&|p| {
            revision_of(p) == Some(current_revision.as_str())
        })),
        updated_replicas: Some(updated),
        current_revision: Some(current_revision),
        update_revision: Some(update_rev),
        collision_count: set.status.as_ref().and_then(|s| s.collision_count),
        conditions: set.status.as_ref().and_then(|s| s.conditions.clone()),
    };
    if set.status.as_ref() != Some(&status) {
        plan.status = Some(status);
    }
    plan
}

#[cfg(test)]
#[path = "statefulset_plan_tests.rs"]
mod tests;
