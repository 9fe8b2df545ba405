//! Events the leader's components record about objects (`keelctl describe` shows them): built
//! as core/v1 Event objects named `<object>.<16 hex digits>` like client-go's recorder, in the
//! object's namespace. Normal and Warning types, a reason in CamelCase and a human message.

use serde_json::{json, Value};

use crate::registry::create::now;

/// `Normal` or `Warning`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

/// The object an event is about.
#[derive(Debug, Clone)]
pub struct InvolvedObject<'a> {
    pub api_version: &'a str,
    pub kind: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
}

/// An Event about `about` from `component` (e.g. `default-scheduler`, `replicaset-controller`).
pub fn event(
    about: &InvolvedObject,
    kind: EventType,
    reason: &str,
    message: &str,
    component: &str,
) -> Value {
    let now = now();
    let namespace = if about.namespace.is_empty() {
        "default"
    } else {
        about.namespace
    };
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": format!("{}.{}", about.name, &uuid::Uuid::new_v4().simple().to_string()[..16]), "namespace": namespace},
        "involvedObject": {
            "apiVersion": about.api_version,
            "kind": about.kind,
            "namespace": about.namespace,
            "name": about.name,
            "uid": about.uid,
        },
        "type": match kind { EventType::Normal => "Normal", EventType::Warning => "Warning" },
        "reason": reason,
        "message": message,
        "source": {"component": component},
        "reportingComponent": component,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_names_its_object_and_lives_in_its_namespace() {
        let about = InvolvedObject {
            api_version: "v1",
            kind: "Pod",
            namespace: "shop",
            name: "web-1",
            uid: "u1",
        };
        let e = event(
            &about,
            EventType::Warning,
            "FailedScheduling",
            "0/1 nodes",
            "default-scheduler",
        );
        assert_eq!(e["metadata"]["namespace"], "shop");
        let name = e["metadata"]["name"].as_str().unwrap();
        assert!(
            name.starts_with("web-1.") && name.len() == "web-1.".len() + 16,
            "{name}"
        );
        assert_eq!(e["involvedObject"]["uid"], "u1");
        assert_eq!(e["type"], "Warning");
        assert_eq!(e["source"]["component"], "default-scheduler");
    }
}
