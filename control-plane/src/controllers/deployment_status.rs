//! A Deployment's status and conditions, as Kubernetes' deployment controller writes them
//! (`calculateStatus`, `syncRolloutStatus`, progress.go): replica counts, `Available`
//! (MinimumReplicasAvailable / MinimumReplicasUnavailable) and `Progressing` (NewReplicaSetCreated,
//! FoundNewReplicaSet, ReplicaSetUpdated, NewReplicaSetAvailable, ProgressDeadlineExceeded,
//! DeploymentPaused, DeploymentResumed), and when to look again for a stuck rollout.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::rollout_limits::deployment_replicas;

pub const AVAILABLE: &str = "Available";
pub const PROGRESSING: &str = "Progressing";
pub const MINIMUM_REPLICAS_AVAILABLE: &str = "MinimumReplicasAvailable";
pub const MINIMUM_REPLICAS_UNAVAILABLE: &str = "MinimumReplicasUnavailable";
pub const NEW_RS_CREATED: &str = "NewReplicaSetCreated";
pub const FOUND_NEW_RS: &str = "FoundNewReplicaSet";
pub const RS_UPDATED: &str = "ReplicaSetUpdated";
pub const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
pub const TIMED_OUT: &str = "ProgressDeadlineExceeded";
pub const PAUSED: &str = "DeploymentPaused";
pub const RESUMED: &str = "DeploymentResumed";

/// The replica counts of one rollout, from the pods and ReplicaSets the plan saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RolloutCounts {
    /// Active pods of every owned ReplicaSet.
    pub replicas: i32,
    /// Active pods of the new ReplicaSet.
    pub updated: i32,
    pub ready: i32,
    pub available: i32,
    /// The sum of the owned ReplicaSets' `spec.replicas` (after the plan's changes).
    pub desired_total: i32,
}

/// `spec.progressDeadlineSeconds` when set (and not "forever", i32::MAX).
pub fn progress_deadline(d: &Deployment) -> Option<i32> {
    d.spec
        .as_ref()
        .and_then(|s| s.progress_deadline_seconds)
        .filter(|s| *s != i32::MAX)
}

pub fn condition<'a>(status: &'a DeploymentStatus, type_: &str) -> Option<&'a DeploymentCondition> {
    status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == type_)
}

pub fn remove_condition(status: &mut DeploymentStatus, type_: &str) {
    if let Some(cs) = status.conditions.as_mut() {
        cs.retain(|c| c.type_ != type_);
    }
}

/// A condition stamped `now` (to the second, as the API stores times).
pub fn new_condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: String,
    now: Timestamp,
) -> DeploymentCondition {
    let now = Timestamp::from_second(now.as_second()).unwrap_or(now);
    DeploymentCondition {
        type_: type_.to_string(),
        status: status.to_string(),
        reason: Some(reason.to_string()),
        message: Some(message),
        last_update_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    }
}

/// Kubernetes' `SetDeploymentCondition`: nothing when status and reason are unchanged; the
/// transition time kept when only the reason changes; the condition moves to the end.
pub fn set_condition(status: &mut DeploymentStatus, mut cond: DeploymentCondition) {
    if let Some(current) = condition(status, &cond.type_) {
        if current.status == cond.status && current.reason == cond.reason {
            return;
        }
        if current.status == cond.status {
            cond.last_transition_time = current.last_transition_time.clone();
        }
    }
    remove_condition(status, &cond.type_);
    status.conditions.get_or_insert_with(Vec::new).push(cond);
}

/// The counts and the Available condition on top of `base` (whose conditions and collision
/// count carry over).
pub fn calculate_status(
    d: &Deployment,
    base: &DeploymentStatus,
    counts: RolloutCounts,
    max_unavailable: i32,
    now: Timestamp,
) -> DeploymentStatus {
    let mut status = DeploymentStatus {
        observed_generation: d.metadata.generation,
        replicas: Some(counts.replicas),
        updated_replicas: Some(counts.updated),
        ready_replicas: Some(counts.ready),
        available_replicas: Some(counts.available),
        unavailable_replicas: Some((counts.desired_total - counts.available).max(0)),
        collision_count: base.collision_count,
        conditions: base.conditions.clone(),
        terminating_replicas: base.terminating_replicas,
    };
    let cond = if counts.available >= deployment_replicas(d) - max_unavailable {
        new_condition(
            AVAILABLE,
            "True",
            MINIMUM_REPLICAS_AVAILABLE,
            "Deployment has minimum availability.".into(),
            now,
        )
    } else {
        new_condition(
            AVAILABLE,
            "False",
            MINIMUM_REPLICAS_UNAVAILABLE,
            "Deployment does not have minimum availability.".into(),
            now,
        )
    };
    set_condition(&mut status, cond);
    status
}

fn n(v: Option<i32>) -> i32 {
    v.unwrap_or(0)
}

/// Every replica updated and available, none old, and this generation observed.
pub fn deployment_complete(d: &Deployment, status: &DeploymentStatus) -> bool {
    let want = deployment_replicas(d);
    n(status.updated_replicas) == want
        && n(status.replicas) == want
        && n(status.available_replicas) == want
        && status.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0)
}

/// Whether `new` shows progress over `old`: more updated, ready or available pods, or fewer
/// old ones.
pub fn deployment_progressing(old: &DeploymentStatus, new: &DeploymentStatus) -> bool {
    let old_old = n(old.replicas) - n(old.updated_replicas);
    let new_old = n(new.replicas) - n(new.updated_replicas);
    n(new.updated_replicas) > n(old.updated_replicas)
        || new_old < old_old
        || n(new.ready_replicas) > n(old.ready_replicas)
        || n(new.available_replicas) > n(old.available_replicas)
}

fn seconds(t: &Time) -> i64 {
    t.0.as_second()
}

/// The Progressing condition has not moved for longer than the deadline.
pub fn deployment_timed_out(d: &Deployment, status: &DeploymentStatus, now: Timestamp) -> bool {
    let (Some(deadline), Some(cond)) = (progress_deadline(d), condition(status, PROGRESSING))
    else {
        return false;
    };
    match cond.reason.as_deref() {
        Some(NEW_RS_AVAILABLE) => false,
        Some(TIMED_OUT) => true,
        _ => cond.last_update_time.as_ref().is_some_and(|t| {
            i128::from(seconds(t) + i64::from(deadline)) * 1_000_000_000 < now.as_nanosecond()
        }),
    }
}

/// `syncRolloutStatus`'s conditions: Progressing from `previous` (the status before this
/// reconcile, with the conditions it already set) to `status`.
pub fn sync_progress(
    d: &Deployment,
    previous: &DeploymentStatus,
    status: &mut DeploymentStatus,
    new_rs_name: Option<&str>,
    now: Timestamp,
) {
    let name = d.metadata.name.as_deref().unwrap_or_default();
    let subject = match new_rs_name {
        Some(rs) => format!("ReplicaSet \"{rs}\""),
        None => format!("Deployment \"{name}\""),
    };
    if progress_deadline(d).is_none() {
        remove_condition(status, PROGRESSING);
        return;
    }
    let current = condition(previous, PROGRESSING);
    let rollout_done = n(status.replicas) == n(status.updated_replicas)
        && current.is_some_and(|c| c.reason.as_deref() == Some(NEW_RS_AVAILABLE));
    if rollout_done {
        return;
    }
    if deployment_complete(d, status) {
        let msg = format!("{subject} has successfully progressed.");
        set_condition(
            status,
            new_condition(PROGRESSING, "True", NEW_RS_AVAILABLE, msg, now),
        );
    } else if deployment_progressing(previous, status) {
        let msg = format!("{subject} is progressing.");
        let mut cond = new_condition(PROGRESSING, "True", RS_UPDATED, msg, now);
        if let Some(c) = current.filter(|c| c.status == "True") {
            cond.last_transition_time = c.last_transition_time.clone();
        }
        remove_condition(status, PROGRESSING);
        set_condition(status, cond);
    } else if deployment_timed_out(d, status, now) {
        let msg = format!("{subject} has timed out progressing.");
        set_condition(
            status,
            new_condition(PROGRESSING, "False", TIMED_OUT, msg, now),
        );
    }
}

/// When to look again at a rollout that made no progress, so its deadline is noticed:
/// a second after the deadline passes. `None` without a deadline, Progressing condition, or
/// once the rollout completed or timed out.
pub fn stuck_requeue_after(
    d: &Deployment,
    previous: &DeploymentStatus,
    status: &DeploymentStatus,
    now: Timestamp,
) -> Option<u32> {
    let deadline = progress_deadline(d)?;
    let cond = condition(previous, PROGRESSING)?;
    if deployment_complete(d, status) || cond.reason.as_deref() == Some(TIMED_OUT) {
        return None;
    }
    let from = seconds(cond.last_update_time.as_ref()?);
    let after = from + i64::from(deadline) - now.as_second();
    Some(u32::try_from(after.max(0) + 1).unwrap_or(u32::MAX))
}

/// Unset counts read as 0 and no conditions as an empty list, so an unchanged status is not
/// rewritten.
pub fn same_status(a: &DeploymentStatus, b: &DeploymentStatus) -> bool {
    let norm = |s: &DeploymentStatus| DeploymentStatus {
        available_replicas: Some(n(s.available_replicas)),
        collision_count: s.collision_count,
        conditions: s.conditions.clone().filter(|c| !c.is_empty()),
        observed_generation: s.observed_generation,
        ready_replicas: Some(n(s.ready_replicas)),
        replicas: Some(n(s.replicas)),
        terminating_replicas: s.terminating_replicas,
        unavailable_replicas: Some(n(s.unavailable_replicas)),
        updated_replicas: Some(n(s.updated_replicas)),
    };
    norm(a) == norm(b)
}

/// `checkPausedConditions`: with a progress deadline, pausing sets Progressing=Unknown
/// DeploymentPaused and resuming DeploymentResumed; a timed-out rollout keeps its condition.
pub fn check_paused_conditions(d: &Deployment, status: &mut DeploymentStatus, now: Timestamp) {
    if progress_deadline(d).is_none() {
        return;
    }
    let reason = condition(status, PROGRESSING).and_then(|c| c.reason.clone());
    if reason.as_deref() == Some(TIMED_OUT) {
        return;
    }
    let paused = d.spec.as_ref().and_then(|s| s.paused) == Some(true);
    let paused_cond = reason.as_deref() == Some(PAUSED);
    if paused && !paused_cond {
        let msg = "Deployment is paused".to_string();
        set_condition(
            status,
            new_condition(PROGRESSING, "Unknown", PAUSED, msg, now),
        );
    } else if !paused && paused_cond {
        let msg = "Deployment is resumed".to_string();
        set_condition(
            status,
            new_condition(PROGRESSING, "Unknown", RESUMED, msg, now),
        );
    }
}
