//! The pod table row (kubectl's `printPod`): READY counts ready containers, STATUS is the phase
//! refined by init and container states and deletion, RESTARTS sums restart counts.

use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

use super::age::{age, human_duration, parse_timestamp};
use super::fields::{get, int_at, list_at, str_at};

pub const COLUMNS: &[&str] = &["NAME", "READY", "STATUS", "RESTARTS", "AGE"];
pub const WIDE: &[&str] = &["IP", "NODE", "NOMINATED NODE", "READINESS GATES"];

fn is_restartable_init(c: Option<&Value>) -> bool {
    c.is_some_and(|c| str_at(c, "restartPolicy") == "Always")
}

fn later(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

fn last_terminated(status: &Value) -> Option<Timestamp> {
    parse_timestamp(get(status, "lastState.terminated.finishedAt"))
}

fn terminated_reason(t: &Value, prefix: &str) -> String {
    let reason = str_at(t, "reason");
    if !reason.is_empty() {
        return format!("{prefix}{reason}");
    }
    let signal = int_at(t, "signal");
    if signal != 0 {
        format!("{prefix}Signal:{signal}")
    } else {
        format!("{prefix}ExitCode:{}", int_at(t, "exitCode"))
    }
}

fn condition_true(pod: &Value, ty: &str) -> bool {
    list_at(pod, "status.conditions")
        .iter()
        .any(|c| str_at(c, "type") == ty && str_at(c, "status") == "True")
}

/// NAME READY STATUS RESTARTS AGE [IP NODE NOMINATED NODE READINESS GATES].
pub fn row(pod: &Value, wide: bool, now: Timestamp) -> Vec<String> {
    let init_specs = list_at(pod, "spec.initContainers");
    let total = list_at(pod, "spec.containers").len()
        + init_specs
            .iter()
            .filter(|c| is_restartable_init(Some(c)))
            .count();
    let mut ready = 0;
    let mut restarts = 0i64;
    let mut sidecar_restarts = 0i64;
    let mut last_restart: Option<Timestamp> = None;
    let mut last_sidecar_restart: Option<Timestamp> = None;
    let phase = str_at(pod, "status.phase");
    let mut reason = phase.to_string();
    if !str_at(pod, "status.reason").is_empty() {
        reason = str_at(pod, "status.reason").to_string();
    }
    if list_at(pod, "status.conditions")
        .iter()
        .any(|c| str_at(c, "type") == "PodScheduled" && str_at(c, "reason") == "SchedulingGated")
    {
        reason = "SchedulingGated".to_string();
    }
    let init_spec = |name: &str| init_specs.iter().find(|c| str_at(c, "name") == name);

    let init_statuses = list_at(pod, "status.initContainerStatuses");
    let mut initializing = false;
    for (i, c) in init_statuses.iter().enumerate() {
        restarts += int_at(c, "restartCount");
        last_restart = later(last_restart, last_terminated(c));
        let restartable = is_restartable_init(init_spec(str_at(c, "name")));
        if restartable {
            sidecar_restarts += int_at(c, "restartCount");
            last_sidecar_restart = later(last_sidecar_restart, last_terminated(c));
        }
        let terminated = get(c, "state.terminated");
        let waiting_reason = str_at(c, "state.waiting.reason");
        if terminated.is_some_and(|t| int_at(t, "exitCode") == 0) {
            continue;
        }
        if restartable && get(c, "started").and_then(Value::as_bool) == Some(true) {
            if get(c, "ready").and_then(Value::as_bool) == Some(true) {
                ready += 1;
            }
            continue;
        }
        reason = if let Some(t) = terminated {
            terminated_reason(t, "Init:")
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            format!("Init:{waiting_reason}")
        } else {
            format!("Init:{i}/{}", init_specs.len())
        };
        initializing = true;
        break;
    }

    if !initializing || condition_true(pod, "Initialized") {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        for c in list_at(pod, "status.containerStatuses").iter().rev() {
            restarts += int_at(c, "restartCount");
            last_restart = later(last_restart, last_terminated(c));
            let waiting = str_at(c, "state.waiting.reason");
            let terminated = get(c, "state.terminated");
            if !waiting.is_empty() {
                reason = waiting.to_string();
            } else if let Some(t) = terminated {
                reason = terminated_reason(t, "");
            } else if get(c, "ready").and_then(Value::as_bool) == Some(true)
                && get(c, "state.running").is_some()
            {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if condition_true(pod, "Ready") {
                "Running".to_string()
            } else {
                "NotReady".to_string()
            };
        }
    }

    let deleting = get(pod, "metadata.deletionTimestamp").is_some_and(|v| !v.is_null());
    if deleting && str_at(pod, "status.reason") == "NodeLost" {
        reason = "Unknown".to_string();
    } else if deleting && phase != "Succeeded" && phase != "Failed" {
        reason = "Terminating".to_string();
    }

    let restarts_text = match last_restart {
        Some(t) if restarts != 0 => {
            format!("{restarts} ({} ago)", human_duration(now.duration_since(t)))
        }
        _ => restarts.to_string(),
    };
    let mut cells = vec![
        str_at(pod, "metadata.name").to_string(),
        format!("{ready}/{total}"),
        reason,
        restarts_text,
        age(get(pod, "metadata.creationTimestamp"), now),
    ];
    if wide {
        let ip = list_at(pod, "status.podIPs")
            .first()
            .map(|p| str_at(p, "ip"))
            .filter(|s| !s.is_empty())
            .or(Some(str_at(pod, "status.podIP")).filter(|s| !s.is_empty()))
            .unwrap_or("<none>");
        let or_none = |s: &str| {
            if s.is_empty() {
                "<none>".to_string()
            } else {
                s.to_string()
            }
        };
        let gates = list_at(pod, "spec.readinessGates");
        let gates_text = if gates.is_empty() {
            "<none>".to_string()
        } else {
            let true_count = gates
                .iter()
                .filter(|g| condition_true(pod, str_at(g, "conditionType")))
                .count();
            format!("{true_count}/{}", gates.len())
        };
        cells.extend([
            ip.to_string(),
            or_none(str_at(pod, "spec.nodeName")),
            or_none(str_at(pod, "status.nominatedNodeName")),
            gates_text,
        ]);
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Timestamp {
        "2024-01-01T00:10:00Z".parse().unwrap()
    }

    #[test]
    fn pending_pod() {
        let pod = json!({"metadata": {"name": "p", "creationTimestamp": "2024-01-01T00:09:55Z"},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}]}, "status": {"phase": "Pending"}});
        assert_eq!(
            row(&pod, false, now()),
            vec!["p", "0/2", "Pending", "0", "5s"]
        );
        assert_eq!(
            row(&pod, true, now())[5..],
            ["<none>", "<none>", "<none>", "<none>"]
        );
    }

    #[test]
    fn running_with_restarts_and_waiting_states() {
        let pod = json!({"metadata": {"name": "p", "creationTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "n1"},
            "status": {"phase": "Running", "podIP": "10.0.0.5", "containerStatuses": [
                {"name": "a", "ready": true, "restartCount": 2, "state": {"running": {}},
                 "lastState": {"terminated": {"finishedAt": "2024-01-01T00:07:00Z"}}},
                {"name": "b", "ready": false, "restartCount": 1, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        let r = row(&pod, true, now());
        assert_eq!(
            r[..5],
            ["p", "1/2", "CrashLoopBackOff", "3 (3m ago)", "10m"]
        );
        assert_eq!(r[5..7], ["10.0.0.5", "n1"]);
    }

    #[test]
    fn init_and_terminating() {
        let pod = json!({"metadata": {"name": "p", "deletionTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"initContainers": [{"name": "i"}], "containers": [{"name": "a"}]},
            "status": {"phase": "Pending", "initContainerStatuses": [{"name": "i", "state": {"running": {}}}]}});
        assert_eq!(row(&pod, false, now())[2], "Terminating");
        let mut p2 = pod.clone();
        p2["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("deletionTimestamp");
        assert_eq!(row(&p2, false, now())[2], "Init:0/1");
        p2["status"]["initContainerStatuses"][0]["state"] = json!({"terminated": {"exitCode": 2}});
        assert_eq!(row(&p2, false, now())[2], "Init:ExitCode:2");
    }
}
