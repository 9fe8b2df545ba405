//! A pod's status as Kubernetes reports it, computed from what the runtime says: phase,
//! conditions (PodScheduled, Initialized, ContainersReady, Ready), containerStatuses (state,
//! lastState, ready, restartCount, IDs), podIP(s), hostIP(s), startTime. Timestamps come from the
//! runtime's records, so an unchanged pod yields byte-identical status (and no store write).

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::runtime::{ContainerState, ContainerStatus, PodState};

/// RFC 3339 in whole seconds, as Kubernetes prints times.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    k8s_openapi::jiff::Timestamp::from_second(secs)
        .map(|ts| ts.to_string())
        .unwrap_or_default()
}

fn state_json(state: &ContainerState, container_id: &str) -> Value {
    match state {
        ContainerState::Waiting { reason, message } => {
            json!({"waiting": {"reason": reason, "message": message}})
        }
        ContainerState::Running { started_at } => {
            json!({"running": {"startedAt": rfc3339(*started_at)}})
        }
        ContainerState::Terminated {
            exit_code,
            reason,
            started_at,
            finished_at,
        } => json!({"terminated": {
            "exitCode": exit_code, "reason": reason, "containerID": container_id,
            "startedAt": rfc3339(*started_at), "finishedAt": rfc3339(*finished_at)}}),
    }
}

fn container_json(c: &ContainerStatus) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(c.name));
    m.insert("image".into(), json!(c.image));
    m.insert("imageID".into(), json!(c.image_id));
    m.insert("containerID".into(), json!(c.container_id));
    m.insert("ready".into(), json!(c.ready));
    m.insert("restartCount".into(), json!(c.restart_count));
    m.insert(
        "started".into(),
        json!(matches!(c.state, ContainerState::Running { .. })),
    );
    m.insert("state".into(), state_json(&c.state, &c.container_id));
    m.insert(
        "lastState".into(),
        c.last_state
            .as_ref()
            .map_or_else(|| json!({}), |s| state_json(s, &c.container_id)),
    );
    Value::Object(m)
}

/// Kubernetes' phase: Succeeded/Failed once every container terminated for good, Pending
/// while a container could not be created, else Running.
fn phase(p: &PodState) -> &'static str {
    let all_done = !p.containers.is_empty()
        && p.containers
            .iter()
            .all(|c| matches!(c.state, ContainerState::Terminated { .. }));
    if all_done {
        let ok = p
            .containers
            .iter()
            .all(|c| matches!(c.state, ContainerState::Terminated { exit_code: 0, .. }));
        return if ok { "Succeeded" } else { "Failed" };
    }
    let never_started = p.containers.iter().any(|c| {
        matches!(&c.state, ContainerState::Waiting { reason, .. } if reason != "CrashLoopBackOff")
            && c.restart_count == 0
            && c.last_state.is_none()
    });
    if never_started {
        "Pending"
    } else {
        "Running"
    }
}

/// The full PodStatus JSON for `p` on a node whose address is `host_ip`.
pub fn pod_status(p: &PodState, host_ip: &str) -> Value {
    let since = rfc3339(p.started_at);
    let ready = !p.containers.is_empty() && p.containers.iter().all(|c| c.ready);
    let cond = |ty: &str, ok: bool| {
        let mut c = json!({"type": ty, "status": if ok { "True" } else { "False" },
            "lastProbeTime": null, "lastTransitionTime": since});
        if !ok && (ty == "Ready" || ty == "ContainersReady") {
            let names: Vec<&str> = p
                .containers
                .iter()
                .filter(|c| !c.ready)
                .map(|c| c.name.as_str())
                .collect();
            c["reason"] = json!("ContainersNotReady");
            c["message"] = json!(format!(
                "containers with unready status: [{}]",
                names.join(" ")
            ));
        }
        c
    };
    let mut status = json!({
        "phase": phase(p),
        "conditions": [
            cond("PodScheduled", true),
            cond("Initialized", true),
            cond("ContainersReady", ready),
            cond("Ready", ready),
        ],
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "startTime": since,
        "containerStatuses": p.containers.iter().map(container_json).collect::<Vec<_>>(),
    });
    if let Some(ip) = p.pod_ip {
        status["podIP"] = json!(ip.to_string());
        status["podIPs"] = json!([{"ip": ip.to_string()}]);
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn state(containers: Vec<ContainerStatus>) -> PodState {
        PodState {
            uid: "u".into(),
            namespace: "default".into(),
            name: "p".into(),
            pod_ip: Some("10.244.0.2".parse().unwrap()),
            started_at: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            containers,
        }
    }

    fn container(state: ContainerState, ready: bool) -> ContainerStatus {
        ContainerStatus {
            name: "c".into(),
            image: "app:1".into(),
            container_id: "fake://u/c".into(),
            image_id: "fake://app:1".into(),
            state,
            last_state: None,
            restart_count: 0,
            ready,
        }
    }

    #[test]
    fn a_running_ready_pod_reports_like_kubernetes() {
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let s = pod_status(
            &state(vec![container(
                ContainerState::Running { started_at: t },
                true,
            )]),
            "10.0.0.1",
        );
        assert_eq!(s["phase"], "Running");
        assert_eq!(s["podIP"], "10.244.0.2");
        assert_eq!(s["hostIP"], "10.0.0.1");
        assert_eq!(s["startTime"], "2023-11-14T22:13:20Z");
        assert_eq!(
            s["conditions"][3],
            json!({"type": "Ready", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2023-11-14T22:13:20Z"})
        );
        assert_eq!(
            s["containerStatuses"][0]["state"]["running"]["startedAt"],
            "2023-11-14T22:13:20Z"
        );
    }

    #[test]
    fn phases_follow_the_containers() {
        let t = UNIX_EPOCH;
        let term = |code| ContainerState::Terminated {
            exit_code: code,
            reason: "x".into(),
            started_at: t,
            finished_at: t,
        };
        assert_eq!(
            pod_status(&state(vec![container(term(0), false)]), "h")["phase"],
            "Succeeded"
        );
        assert_eq!(
            pod_status(&state(vec![container(term(2), false)]), "h")["phase"],
            "Failed"
        );
        let waiting = ContainerState::Waiting {
            reason: "CreateContainerError".into(),
            message: "m".into(),
        };
        let s = pod_status(&state(vec![container(waiting, false)]), "h");
        assert_eq!(s["phase"], "Pending");
        assert_eq!(
            s["conditions"][3]["message"],
            "containers with unready status: [c]"
        );
    }
}
