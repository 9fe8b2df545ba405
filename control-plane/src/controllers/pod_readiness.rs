//! A pod's standing for workload controllers, as Kubernetes' controllers judge it: active (not
//! terminating, not Succeeded/Failed), ready (condition `Ready=True`), available (ready for more
//! than `minReadySeconds` as of a given `now`). Pure: the caller passes the clock.

use k8s_openapi::api::core::v1::{Pod, PodCondition};
use k8s_openapi::jiff::Timestamp;

const NANOS_PER_SECOND: i128 = 1_000_000_000;

/// Neither terminating (deletionTimestamp set) nor finished (phase Succeeded or Failed).
pub fn is_pod_active(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none() && !matches!(pod_phase(pod), "Succeeded" | "Failed")
}

/// `status.phase`, `""` when unset.
pub fn pod_phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

fn ready_condition(pod: &Pod) -> Option<&PodCondition> {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
}

/// The pod's `Ready` condition is `True`.
pub fn is_pod_ready(pod: &Pod) -> bool {
    ready_condition(pod).is_some_and(|c| c.status == "True")
}

/// When a ready pod became ready (its Ready condition's lastTransitionTime); `None` when the pod
/// is not ready or the time is unknown.
pub fn ready_since(pod: &Pod) -> Option<Timestamp> {
    ready_condition(pod)
        .filter(|c| c.status == "True")
        .and_then(|c| c.last_transition_time.as_ref())
        .map(|t| t.0)
}

/// Ready, and (with `min_ready_seconds` > 0) ready since strictly more than that many seconds
/// before `now` — Kubernetes' `IsPodAvailable`. A ready pod without a transition time is
/// available only when `min_ready_seconds` is 0.
pub fn is_pod_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    if !is_pod_ready(pod) {
        return false;
    }
    if min_ready_seconds <= 0 {
        return true;
    }
    ready_since(pod).is_some_and(|since| {
        since.as_nanosecond() + i128::from(min_ready_seconds) * NANOS_PER_SECOND
            < now.as_nanosecond()
    })
}

/// For a ready pod that is not yet available: whole seconds from `now` until it will be (at
/// least 1). `None` when the pod is not ready, already available, or has no transition time.
pub fn seconds_until_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> Option<u32> {
    if min_ready_seconds <= 0 || is_pod_available(pod, min_ready_seconds, now) {
        return None;
    }
    let since = ready_since(pod)?;
    let at = since.as_nanosecond() + i128::from(min_ready_seconds) * NANOS_PER_SECOND;
    let wait = at - now.as_nanosecond();
    // Available strictly after `at`: round up and add one second so the recheck lands after it.
    let secs = wait.max(0) / NANOS_PER_SECOND + 1;
    Some(u32::try_from(secs).unwrap_or(u32::MAX))
}

/// The highest restart count among the pod's containers.
pub fn max_restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|cs| cs.iter().map(|c| c.restart_count).max().unwrap_or(0))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::PodStatus;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(secs).unwrap()
    }

    fn pod(phase: &str, ready: Option<(bool, i64)>) -> Pod {
        let conditions = ready.map(|(r, since)| {
            vec![PodCondition {
                type_: "Ready".into(),
                status: if r { "True" } else { "False" }.into(),
                last_transition_time: Some(Time(at(since))),
                ..Default::default()
            }]
        });
        Pod {
            status: Some(PodStatus {
                phase: Some(phase.into()),
                conditions,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn active_excludes_finished_and_terminating() {
        assert!(is_pod_active(&pod("Running", None)));
        assert!(is_pod_active(&pod("Pending", None)));
        assert!(is_pod_active(&Pod::default()));
        assert!(!is_pod_active(&pod("Succeeded", None)));
        assert!(!is_pod_active(&pod("Failed", None)));
        let mut p = pod("Running", None);
        p.metadata.deletion_timestamp = Some(Time(at(5)));
        assert!(!is_pod_active(&p));
    }

    #[test]
    fn availability_waits_strictly_longer_than_min_ready_seconds() {
        let p = pod("Running", Some((true, 100)));
        assert!(is_pod_ready(&p));
        assert!(is_pod_available(&p, 0, at(100)));
        assert!(!is_pod_available(&p, 10, at(105)));
        assert!(!is_pod_available(&p, 10, at(110)));
        assert!(is_pod_available(&p, 10, at(111)));
        assert_eq!(seconds_until_available(&p, 10, at(105)), Some(6));
        assert_eq!(seconds_until_available(&p, 10, at(110)), Some(1));
        assert_eq!(seconds_until_available(&p, 10, at(111)), None);
        let not_ready = pod("Running", Some((false, 100)));
        assert!(!is_pod_ready(&not_ready));
        assert!(!is_pod_available(&not_ready, 0, at(200)));
        assert_eq!(seconds_until_available(&not_ready, 10, at(105)), None);
    }
}
