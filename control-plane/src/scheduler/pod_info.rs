//! `PodInfo`: everything the scheduler reads from a pod, computed once per pod (kube's
//! PreFilter state): requests, host ports, tolerations, node selector and affinity, required
//! hostname anti-affinity, controller owner, and its equivalence class.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::core::v1::{NodeSelector, Pod, PodSpec, PreferredSchedulingTerm, Toleration};

use super::anti_affinity::AntiAffinityTerm;
use super::equivalence::ClassKey;
use super::host_port::HostPort;
use super::resources::PodRequests;

/// `namespace/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PodKey {
    pub namespace: String,
    pub name: String,
}

impl PodKey {
    pub fn new(namespace: &str, name: &str) -> PodKey {
        PodKey {
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }
}

impl fmt::Display for PodKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// The id spreading counts an owner uid by.
pub fn owner_id(uid: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    uid.hash(&mut h);
    h.finish()
}

/// A pod as the scheduler sees it. Cheap to share behind an `Arc`.
#[derive(Debug, Clone)]
pub struct PodInfo {
    pub key: PodKey,
    pub labels: BTreeMap<String, String>,
    pub requests: PodRequests,
    pub host_ports: Vec<HostPort>,
    pub tolerations: Vec<Toleration>,
    pub node_selector: BTreeMap<String, String>,
    pub required_node_affinity: Option<NodeSelector>,
    pub preferred_node_affinity: Vec<PreferredSchedulingTerm>,
    /// Required anti-affinity terms on the hostname topology key (other keys are not enforced).
    pub anti_affinity: Vec<AntiAffinityTerm>,
    /// The uid of the controller owner reference (ReplicaSet, StatefulSet, Job...), if any.
    pub owner: Option<String>,
    /// A hash of `owner`, what nodes count siblings by (a collision would only blur spreading).
    pub owner_id: Option<u64>,
    /// Pods with equal class keys get equal filter results on every node.
    pub class: ClassKey,
}

impl PodInfo {
    pub fn from_pod(pod: &Pod) -> PodInfo {
        let meta = &pod.metadata;
        let namespace = meta.namespace.as_deref().unwrap_or("default");
        let default_spec = PodSpec::default();
        let spec = pod.spec.as_ref().unwrap_or(&default_spec);
        let node_affinity = spec
            .affinity
            .as_ref()
            .and_then(|a| a.node_affinity.as_ref());
        let anti_affinity = spec
            .affinity
            .as_ref()
            .and_then(|a| a.pod_anti_affinity.as_ref())
            .and_then(|a| {
                a.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })
            .into_iter()
            .flatten()
            .filter_map(|t| AntiAffinityTerm::from_k8s(t, namespace))
            .collect();
        let owner = meta
            .owner_references
            .iter()
            .flatten()
            .find(|o| o.controller == Some(true))
            .map(|o| o.uid.clone());
        let requests = PodRequests::of(spec);
        let host_ports = HostPort::of_pod(spec);
        let labels = meta.labels.clone().unwrap_or_default();
        let key = PodKey::new(namespace, meta.name.as_deref().unwrap_or(""));
        let class = ClassKey::of(
            &key,
            spec,
            &labels,
            &requests,
            &host_ports,
            owner.as_deref(),
        );
        PodInfo {
            key,
            labels,
            requests,
            host_ports,
            tolerations: spec.tolerations.clone().unwrap_or_default(),
            node_selector: spec.node_selector.clone().unwrap_or_default(),
            required_node_affinity: node_affinity.and_then(|a| {
                a.required_during_scheduling_ignored_during_execution
                    .clone()
            }),
            preferred_node_affinity: node_affinity
                .and_then(|a| {
                    a.preferred_during_scheduling_ignored_during_execution
                        .clone()
                })
                .unwrap_or_default(),
            anti_affinity,
            owner_id: owner.as_deref().map(owner_id),
            owner,
            class,
        }
    }
}
