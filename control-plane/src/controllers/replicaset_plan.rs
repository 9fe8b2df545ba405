//! The ReplicaSet controller's decision, pure: given a ReplicaSet, every pod of its namespace and
//! the clock, which pods to create, which to delete and what status to write — Kubernetes'
//! `manageReplicas` + `calculateStatus`.
//!
//! Only pods *controlled* by the ReplicaSet (ownerReference `controller: true` with its uid) and
//! active (not terminating, not Succeeded/Failed) count. Left out: adopting orphans that match
//! the selector and releasing owned pods that stopped matching (the garbage collector and the
//! owner references written at creation are the only link), expectations (the caller's informer
//! must have seen its own creates/deletes before the next reconcile, or it over-creates once and
//! then deletes the surplus), and the ReplicaFailure condition (kept as found).

use std::cmp::Ordering;

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;

use super::controller_ref::{controller_ref, is_controlled_by};
use super::pod_readiness::{
    is_pod_active, is_pod_available, is_pod_ready, max_restarts, pod_phase, ready_since,
    seconds_until_available,
};

/// At most this many pods are created, or deleted, by one reconcile (Kubernetes'
/// `BurstReplicas`); the next reconcile does the rest.
pub const BURST_REPLICAS: usize = 500;

/// What one reconcile of a ReplicaSet should do.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplicaSetPlan {
    /// Full pods to create (`generateName: "<rs>-"`, template labels/annotations/spec, and a
    /// controller reference to the ReplicaSet).
    pub create: Vec<Pod>,
    /// Pods to delete, most expendable first (delete with their uid as precondition).
    pub delete: Vec<Pod>,
    /// The status to write, only when it differs from the ReplicaSet's.
    pub status: Option<ReplicaSetStatus>,
}

/// Plans one reconcile of `rs`. `pods` is every pod of its namespace (unfiltered). A ReplicaSet
/// being deleted gets only its status.
pub fn plan_replicaset(rs: &ReplicaSet, pods: &[Pod], now: Timestamp) -> ReplicaSetPlan {
    let owned = owned_active_pods(rs, pods);
    let desired = usize::try_from(desired_replicas(rs)).unwrap_or(0);
    let mut plan = ReplicaSetPlan::default();
    if rs.metadata.deletion_timestamp.is_none() {
        if owned.len() < desired {
            let n = (desired - owned.len()).min(BURST_REPLICAS);
            plan.create = (0..n).map(|_| new_pod(rs)).collect();
        } else if owned.len() > desired {
            let n = (owned.len() - desired).min(BURST_REPLICAS);
            let mut victims = owned.clone();
            victims.sort_by(|a, b| delete_first(a, b));
            plan.delete = victims.into_iter().take(n).cloned().collect();
        }
    }
    let status = replicaset_status(rs, &owned, now);
    let current = rs.status.clone().unwrap_or_default();
    if normalized(&status) != normalized(&current) {
        plan.status = Some(status);
    }
    plan
}

/// When the ReplicaSet should be reconciled again although nothing changes: the seconds until
/// its next ready pod becomes available (`minReadySeconds`). `None`: no such wait.
pub fn replicaset_requeue_after(rs: &ReplicaSet, pods: &[Pod], now: Timestamp) -> Option<u32> {
    let min_ready = min_ready_seconds(rs);
    owned_active_pods(rs, pods)
        .into_iter()
        .filter_map(|p| seconds_until_available(p, min_ready, now))
        .min()
}

/// `spec.replicas` (default 1).
pub fn desired_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1)
        .max(0)
}

fn min_ready_seconds(rs: &ReplicaSet) -> i32 {
    rs.spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0)
}

/// The active pods among `pods` that `rs` controls.
pub fn owned_active_pods<'a>(rs: &ReplicaSet, pods: &'a [Pod]) -> Vec<&'a Pod> {
    let uid = rs.metadata.uid.as_deref().unwrap_or("");
    pods.iter()
        .filter(|p| is_controlled_by(&p.metadata, uid) && is_pod_active(p))
        .collect()
}

fn new_pod(rs: &ReplicaSet) -> Pod {
    let template = rs.spec.as_ref().and_then(|s| s.template.as_ref());
    let tmeta = template.and_then(|t| t.metadata.as_ref());
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!(
                "{}-",
                rs.metadata.name.as_deref().unwrap_or_default()
            )),
            namespace: rs.metadata.namespace.clone(),
            labels: tmeta.and_then(|m| m.labels.clone()),
            annotations: tmeta.and_then(|m| m.annotations.clone()),
            finalizers: tmeta.and_then(|m| m.finalizers.clone()),
            owner_references: Some(vec![controller_ref("apps/v1", "ReplicaSet", &rs.metadata)]),
            ..Default::default()
        },
        spec: template.and_then(|t| t.spec.clone()),
        status: None,
    }
}

fn phase_rank(pod: &Pod) -> u8 {
    match pod_phase(pod) {
        "Unknown" => 1,
        "Running" => 2,
        _ => 0,
    }
}

/// `None` before any time, later times before earlier ones ("empty < newer < older").
fn empty_or_newer_first<T: Ord>(a: Option<T>, b: Option<T>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => y.cmp(&x),
    }
}

/// Kubernetes' `ActivePods` order: `Less` means `a` is deleted before `b`. Unscheduled before
/// scheduled; Pending before Unknown before Running; not ready before ready; ready more
/// recently first; more restarts first; newer (or unknown) creation first; then by name.
pub fn delete_first(a: &Pod, b: &Pod) -> Ordering {
    let assigned = |p: &Pod| {
        p.spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .is_some_and(|n| !n.is_empty())
    };
    assigned(a)
        .cmp(&assigned(b))
        .then_with(|| phase_rank(a).cmp(&phase_rank(b)))
        .then_with(|| is_pod_ready(a).cmp(&is_pod_ready(b)))
        .then_with(|| {
            if is_pod_ready(a) && is_pod_ready(b) {
                empty_or_newer_first(ready_since(a), ready_since(b))
            } else {
                Ordering::Equal
            }
        })
        .then_with(|| max_restarts(b).cmp(&max_restarts(a)))
        .then_with(|| {
            empty_or_newer_first(
                a.metadata.creation_timestamp.as_ref(),
                b.metadata.creation_timestamp.as_ref(),
            )
        })
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
        .then_with(|| a.metadata.uid.cmp(&b.metadata.uid))
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The status `owned` (the active pods `rs` controls) gives, as of `now`; conditions and
/// `terminatingReplicas` are kept as found.
pub fn replicaset_status(rs: &ReplicaSet, owned: &[&Pod], now: Timestamp) -> ReplicaSetStatus {
    let template_labels = rs
        .spec
        .as_ref()
        .and_then(|s| s.template.as_ref())
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let fully_labeled = owned
        .iter()
        .filter(|p| {
            let labels = p.metadata.labels.as_ref();
            template_labels
                .iter()
                .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
        })
        .count();
    let min_ready = min_ready_seconds(rs);
    let old = rs.status.clone().unwrap_or_default();
    ReplicaSetStatus {
        replicas: count(owned.len()),
        fully_labeled_replicas: Some(count(fully_labeled)),
        ready_replicas: Some(count(owned.iter().filter(|p| is_pod_ready(p)).count())),
        available_replicas: Some(count(
            owned
                .iter()
                .filter(|p| is_pod_available(p, min_ready, now))
                .count(),
        )),
        observed_generation: rs.metadata.generation,
        conditions: old.conditions,
        terminating_replicas: old.terminating_replicas,
    }
}

/// Unset counts read as 0 (the API omits zeros), so an unchanged status is not rewritten.
fn normalized(s: &ReplicaSetStatus) -> ReplicaSetStatus {
    let zero = |v: Option<i32>| Some(v.unwrap_or(0));
    ReplicaSetStatus {
        replicas: s.replicas,
        fully_labeled_replicas: zero(s.fully_labeled_replicas),
        ready_replicas: zero(s.ready_replicas),
        available_replicas: zero(s.available_replicas),
        observed_generation: s.observed_generation,
        conditions: s.conditions.clone().filter(|c| !c.is_empty()),
        terminating_replicas: s.terminating_replicas,
    }
}

#[cfg(test)]
#[path = "replicaset_plan_tests.rs"]
mod tests;
