//! The watch index of Pods by `spec.nodeName`: every agent watches the pods bound to its node
//! (`fieldSelector=spec.nodeName=<node>`), so at thousands of nodes each pod write would be
//! decoded once per agent watch. With this index ([`crate::store::WatchIndex`]) a replica reads
//! a pod's node name once per write and each agent's watch skips the other nodes' pods.

use std::sync::Arc;

use serde::Deserialize;

use crate::objects::{list_prefix, FieldOp, FieldSelector, KindId, RegistryTable};
use crate::store::WatchIndex;

/// The field the index holds.
pub const INDEXED_FIELD: &str = "spec.nodeName";

#[derive(Deserialize)]
struct PodNodeName {
    spec: Option<PodSpecNodeName>,
}

#[derive(Deserialize)]
struct PodSpecNodeName {
    #[serde(rename = "nodeName")]
    node_name: Option<String>,
}

/// A stored Pod's `spec.nodeName` (unset and empty are the same: unbound).
pub fn pod_node_name(value: &[u8]) -> Option<String> {
    serde_json::from_slice::<PodNodeName>(value)
        .ok()?
        .spec?
        .node_name
        .filter(|n| !n.is_empty())
}

/// The index over every Pod key.
pub fn pod_node_index() -> WatchIndex {
    let prefix = list_prefix(RegistryTable::get(KindId::Pod), None)
        .expect("the pod prefix of every namespace is a valid key");
    WatchIndex::new(prefix, Arc::new(pod_node_name))
}

/// The node a Pod watch is limited to by an equality on `spec.nodeName`, if any: only such a
/// value can use the index. An empty value (unbound pods) cannot: the index does not hold it.
pub fn indexed_node(kind: KindId, fields: &FieldSelector) -> Option<String> {
    if kind != KindId::Pod {
        return None;
    }
    fields
        .requirements()
        .iter()
        .find(|r| r.field == INDEXED_FIELD && r.op == FieldOp::Equals && !r.value.is_empty())
        .map(|r| r.value.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Event, EventKind, KeyValue};

    fn kv(key: &[u8], value: &str) -> KeyValue {
        KeyValue {
            key: key.to_vec(),
            value: value.as_bytes().to_vec(),
            create_revision: 1,
            mod_revision: 2,
            version: 1,
        }
    }

    #[test]
    fn reads_the_node_name_and_treats_empty_as_unbound() {
        let bound = r#"{"kind":"Pod","metadata":{"name":"a"},"spec":{"containers":[],"nodeName":"n1"},"status":{"phase":"Running"}}"#;
        assert_eq!(pod_node_name(bound.as_bytes()).as_deref(), Some("n1"));
        assert_eq!(pod_node_name(br#"{"spec":{"nodeName":""}}"#), None);
        assert_eq!(pod_node_name(br#"{"spec":{}}"#), None);
        assert_eq!(pod_node_name(b"not json"), None);
    }

    #[test]
    fn a_binding_touches_its_node_and_other_kinds_are_not_indexed() {
        let index = pod_node_index();
        let pod_key = b"/registry/core/pods/default/a";
        let bind = Event {
            kind: EventKind::Put,
            kv: kv(pod_key, r#"{"spec":{"nodeName":"n2"}}"#),
            prev_kv: Some(kv(pod_key, r#"{"spec":{}}"#)),
        };
        let values = index.values_of(&bind).expect("pods are indexed");
        assert!(values.touches("n2"));
        assert!(!values.touches("n1"));
        let service = Event {
            kind: EventKind::Put,
            kv: kv(
                b"/registry/core/services/default/a",
                r#"{"spec":{"nodeName":"n2"}}"#,
            ),
            prev_kv: None,
        };
        assert_eq!(index.values_of(&service), None);
    }

    #[test]
    fn a_delete_touches_the_node_the_pod_was_on() {
        let index = pod_node_index();
        let pod_key = b"/registry/core/pods/default/a";
        let delete = Event {
            kind: EventKind::Delete,
            kv: KeyValue {
                key: pod_key.to_vec(),
                value: Vec::new(),
                create_revision: 0,
                mod_revision: 3,
                version: 0,
            },
            prev_kv: Some(kv(pod_key, r#"{"spec":{"nodeName":"n1"}}"#)),
        };
        assert!(index.values_of(&delete).unwrap().touches("n1"));
    }

    #[test]
    fn only_a_pod_equality_on_the_node_name_uses_the_index() {
        let pick = |kind, s: &str| indexed_node(kind, &FieldSelector::parse(s).unwrap());
        assert_eq!(pick(KindId::Pod, "spec.nodeName=n1").as_deref(), Some("n1"));
        assert_eq!(
            pick(KindId::Pod, "status.phase=Running,spec.nodeName==n1").as_deref(),
            Some("n1")
        );
        assert_eq!(pick(KindId::Pod, "spec.nodeName!=n1"), None);
        assert_eq!(pick(KindId::Pod, "spec.nodeName="), None);
        assert_eq!(pick(KindId::Pod, "metadata.name=a"), None);
        assert_eq!(pick(KindId::Service, "spec.nodeName=n1"), None);
    }
}
