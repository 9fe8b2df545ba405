//! Table rows for the other core kinds: Namespaces, ConfigMaps, Secrets, ServiceAccounts,
//! Nodes, Events, and the generic NAME AGE row.

use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

use super::age::age;
use super::fields::{get, int_at, list_at, map_len, str_at};

pub const NAMESPACE: &[&str] = &["NAME", "STATUS", "AGE"];
pub const CONFIGMAP: &[&str] = &["NAME", "DATA", "AGE"];
pub const SECRET: &[&str] = &["NAME", "TYPE", "DATA", "AGE"];
pub const SERVICEACCOUNT: &[&str] = &["NAME", "SECRETS", "AGE"];
pub const NODE: &[&str] = &["NAME", "STATUS", "ROLES", "AGE", "VERSION"];
pub const NODE_WIDE: &[&str] = &[
    "INTERNAL-IP",
    "EXTERNAL-IP",
    "OS-IMAGE",
    "KERNEL-VERSION",
    "CONTAINER-RUNTIME",
];
pub const EVENT: &[&str] = &["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"];
pub const EVENT_WIDE: &[&str] = &[
    "LAST SEEN",
    "TYPE",
    "REASON",
    "OBJECT",
    "SUBOBJECT",
    "SOURCE",
    "MESSAGE",
    "FIRST SEEN",
    "COUNT",
    "NAME",
];
pub const GENERIC: &[&str] = &["NAME", "AGE"];

fn name(o: &Value) -> String {
    str_at(o, "metadata.name").to_string()
}

fn created(o: &Value, now: Timestamp) -> String {
    age(get(o, "metadata.creationTimestamp"), now)
}

pub fn namespace(o: &Value, _wide: bool, now: Timestamp) -> Vec<String> {
    vec![
        name(o),
        str_at(o, "status.phase").to_string(),
        created(o, now),
    ]
}

pub fn configmap(o: &Value, _wide: bool, now: Timestamp) -> Vec<String> {
    let n = map_len(o, "data") + map_len(o, "binaryData");
    vec![name(o), n.to_string(), created(o, now)]
}

pub fn secret(o: &Value, _wide: bool, now: Timestamp) -> Vec<String> {
    vec![
        name(o),
        str_at(o, "type").to_string(),
        map_len(o, "data").to_string(),
        created(o, now),
    ]
}

pub fn serviceaccount(o: &Value, _wide: bool, now: Timestamp) -> Vec<String> {
    vec![
        name(o),
        list_at(o, "secrets").len().to_string(),
        created(o, now),
    ]
}

pub fn generic(o: &Value, _wide: bool, now: Timestamp) -> Vec<String> {
    vec![name(o), created(o, now)]
}

pub fn node(o: &Value, wide: bool, now: Timestamp) -> Vec<String> {
    let mut status: Vec<String> = Vec::new();
    if let Some(ready) = list_at(o, "status.conditions")
        .iter()
        .find(|c| str_at(c, "type") == "Ready")
    {
        status.push(
            if str_at(ready, "status") == "True" {
                "Ready"
            } else {
                "NotReady"
            }
            .into(),
        );
    }
    if status.is_empty() {
        status.push("Unknown".into());
    }
    if get(o, "spec.unschedulable").and_then(Value::as_bool) == Some(true) {
        status.push("SchedulingDisabled".into());
    }
    let mut roles: Vec<String> = get(o, "metadata.labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| {
            if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
                Some(role.to_string()).filter(|r| !r.is_empty())
            } else if k == "kubernetes.io/role" {
                v.as_str().map(str::to_string).filter(|r| !r.is_empty())
            } else {
                None
            }
        })
        .collect();
    roles.sort();
    roles.dedup();
    let roles = if roles.is_empty() {
        "<none>".to_string()
    } else {
        roles.join(",")
    };
    let mut cells = vec![
        name(o),
        status.join(","),
        roles,
        created(o, now),
        str_at(o, "status.nodeInfo.kubeletVersion").to_string(),
    ];
    if wide {
        let addr = |ty: &str| {
            list_at(o, "status.addresses")
                .iter()
                .find(|a| str_at(a, "type") == ty)
                .map(|a| str_at(a, "address").to_string())
                .unwrap_or_else(|| "<none>".to_string())
        };
        let info = |f: &str| match str_at(o, &format!("status.nodeInfo.{f}")) {
            "" => "<unknown>".to_string(),
            s => s.to_string(),
        };
        cells.extend([
            addr("InternalIP"),
            addr("ExternalIP"),
            info("osImage"),
            info("kernelVersion"),
            info("containerRuntimeVersion"),
        ]);
    }
    cells
}

pub fn event(o: &Value, wide: bool, now: Timestamp) -> Vec<String> {
    let present = |p: &str| get(o, p).is_some_and(|v| !v.is_null() && v != "");
    let first = if present("firstTimestamp") {
        age(get(o, "firstTimestamp"), now)
    } else {
        age(get(o, "eventTime"), now)
    };
    let mut last = if present("lastTimestamp") {
        age(get(o, "lastTimestamp"), now)
    } else {
        first.clone()
    };
    let mut count = int_at(o, "count");
    if get(o, "series").is_some_and(Value::is_object) {
        last = age(get(o, "series.lastObservedTime"), now);
        count = int_at(o, "series.count");
    } else if count == 0 {
        count = 1;
    }
    let kind = str_at(o, "involvedObject.kind").to_ascii_lowercase();
    let target = match str_at(o, "involvedObject.name") {
        "" => kind,
        n => format!("{kind}/{n}"),
    };
    let message = str_at(o, "message").trim().to_string();
    if wide {
        let source = {
            let comp = match str_at(o, "source.component") {
                "" => str_at(o, "reportingComponent"),
                c => c,
            };
            match str_at(o, "source.host") {
                "" => comp.to_string(),
                h => format!("{comp}, {h}"),
            }
        };
        vec![
            last,
            str_at(o, "type").to_string(),
            str_at(o, "reason").to_string(),
            target,
            str_at(o, "involvedObject.fieldPath").to_string(),
            source,
            message,
            first,
            count.to_string(),
            name(o),
        ]
    } else {
        vec![
            last,
            str_at(o, "type").to_string(),
            str_at(o, "reason").to_string(),
            target,
            message,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn core_rows() {
        let now: Timestamp = "2024-01-01T00:00:05Z".parse().unwrap();
        let t = "2024-01-01T00:00:00Z";
        let ns = json!({"metadata": {"name": "default", "creationTimestamp": t}, "status": {"phase": "Active"}});
        assert_eq!(namespace(&ns, false, now), vec!["default", "Active", "5s"]);
        let cm = json!({"metadata": {"name": "c", "creationTimestamp": t}, "data": {"a": "1", "b": "2"}});
        assert_eq!(configmap(&cm, false, now), vec!["c", "2", "5s"]);
        let s = json!({"metadata": {"name": "s", "creationTimestamp": t}, "type": "Opaque", "data": {"a": "MQ=="}});
        assert_eq!(secret(&s, false, now), vec!["s", "Opaque", "1", "5s"]);
        let n = json!({"metadata": {"name": "n1", "creationTimestamp": t, "labels": {"node-role.kubernetes.io/control-plane": ""}},
            "spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "nodeInfo": {"kubeletVersion": "v1.33.0"}}});
        assert_eq!(
            node(&n, false, now),
            vec![
                "n1",
                "Ready,SchedulingDisabled",
                "control-plane",
                "5s",
                "v1.33.0"
            ]
        );
        let e = json!({"metadata": {"name": "web.1"}, "type": "Normal", "reason": "Scheduled",
            "involvedObject": {"kind": "Pod", "name": "web"}, "message": "assigned\n", "lastTimestamp": t});
        assert_eq!(
            event(&e, false, now),
            vec!["5s", "Normal", "Scheduled", "pod/web", "assigned"]
        );
    }
}
