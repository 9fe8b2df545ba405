//! The PodScheduled condition the scheduler writes on a pod it cannot place (status False,
//! reason `Unschedulable`, the FitError message), kept stable across retries so an unchanged
//! verdict causes no write.

use k8s_openapi::api::core::v1::{PodCondition, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

pub const POD_SCHEDULED: &str = "PodScheduled";
/// kube's `PodReasonUnschedulable`.
pub const REASON_UNSCHEDULABLE: &str = "Unschedulable";

/// `PodScheduled=False`, reason `Unschedulable`, with `message`.
pub fn unschedulable_condition(message: &str, now: Time) -> PodCondition {
    PodCondition {
        type_: POD_SCHEDULED.to_string(),
        status: "False".to_string(),
        reason: Some(REASON_UNSCHEDULABLE.to_string()),
        message: Some(message.to_string()),
        last_transition_time: Some(now.clone()),
        last_probe_time: Some(now),
        observed_generation: None,
    }
}

/// Sets PodScheduled=False with `message` on `status`; returns whether anything changed (an
/// identical condition is left alone, so a retry with the same verdict needs no write). The
/// transition time moves only when the status does.
pub fn mark_unschedulable(status: &mut PodStatus, message: &str, now: Time) -> bool {
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    let mut next = unschedulable_condition(message, now);
    match conditions.iter_mut().find(|c| c.type_ == POD_SCHEDULED) {
        Some(existing) => {
            if existing.status == next.status
                && existing.reason == next.reason
                && existing.message == next.message
            {
                return false;
            }
            if existing.status == next.status {
                next.last_transition_time = existing.last_transition_time.clone();
            }
            *existing = next;
        }
        None => conditions.push(next),
    }
    true
}
