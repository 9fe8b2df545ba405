//! `NodeInfo`: one node in the cluster view — its labels, taints, readiness, schedulability and
//! allocatable resources, and the summary of the pods bound to it (summed requests, host ports,
//! owners, anti-affinity holders).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Taint};

use super::host_port::HostPort;
use super::pod_info::{PodInfo, PodKey};
use super::resources::Resources;

/// Stamps are unique in the process, so a stamp names one exact state of one node even across
/// cloned views; the equivalence cache keys on it.
static NEXT_STAMP: AtomicU64 = AtomicU64::new(1);

fn next_stamp() -> u64 {
    NEXT_STAMP.fetch_add(1, Ordering::Relaxed)
}

/// The node's `Ready` condition, read as the node lifecycle controller reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Readiness {
    Ready,
    /// `Ready=False`, or no Ready condition yet (a node registers not-ready).
    NotReady,
    /// `Ready=Unknown`: the node stopped reporting.
    Unknown,
}

#[derive(Debug, Clone)]
pub struct NodeInfo {
    name: String,
    labels: BTreeMap<String, String>,
    taints: Vec<Taint>,
    unschedulable: bool,
    readiness: Readiness,
    allocatable: Resources,
    requested: Resources,
    non_zero_requested: Resources,
    host_ports: Vec<HostPort>,
    pods: HashMap<PodKey, Arc<PodInfo>>,
    /// (owner id, bound pods of that owner): few per node, so a vector beats a map.
    owners: Vec<(u64, u32)>,
    stamp: u64,
}

impl NodeInfo {
    /// A node with no pods bound yet.
    pub fn from_node(node: &Node) -> NodeInfo {
        let spec = node.spec.as_ref();
        let status = node.status.as_ref();
        let readiness = status
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
            .map(|c| match c.status.as_str() {
                "True" => Readiness::Ready,
                "False" => Readiness::NotReady,
                _ => Readiness::Unknown,
            })
            .unwrap_or(Readiness::NotReady);
        let allocatable = status
            .and_then(|s| s.allocatable.as_ref().or(s.capacity.as_ref()))
            .map(|l| Resources::from_resource_list(Some(l)))
            .unwrap_or_default();
        NodeInfo {
            name: node.metadata.name.clone().unwrap_or_default(),
            labels: node.metadata.labels.clone().unwrap_or_default(),
            taints: spec.and_then(|s| s.taints.clone()).unwrap_or_default(),
            unschedulable: spec.and_then(|s| s.unschedulable).unwrap_or(false),
            readiness,
            allocatable,
            requested: Resources::default(),
            non_zero_requested: Resources::default(),
            host_ports: Vec::new(),
            pods: HashMap::new(),
            owners: Vec::new(),
            stamp: next_stamp(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.labels
    }
    pub fn taints(&self) -> &[Taint] {
        &self.taints
    }
    pub fn unschedulable(&self) -> bool {
        self.unschedulable
    }
    pub fn readiness(&self) -> Readiness {
        self.readiness
    }
    pub fn allocatable(&self) -> Resources {
        self.allocatable
    }
    /// Summed exact requests of the bound pods (`pods` = how many are bound).
    pub fn requested(&self) -> Resources {
        self.requested
    }
    /// Summed requests with kube's non-zero defaults, for scoring.
    pub fn non_zero_requested(&self) -> Resources {
        self.non_zero_requested
    }
    /// Host ports claimed by bound pods (a port claimed twice appears twice).
    pub fn host_ports(&self) -> &[HostPort] {
        &self.host_ports
    }
    pub fn pods(&self) -> impl Iterator<Item = &Arc<PodInfo>> {
        self.pods.values()
    }
    pub fn pod_count(&self) -> usize {
        self.pods.len()
    }
    pub fn has_pod(&self, key: &PodKey) -> bool {
        self.pods.contains_key(key)
    }
    /// How many bound pods have this controller owner (by [`super::pod_info::owner_id`]).
    pub fn owner_count(&self, owner_id: u64) -> u32 {
        self.owners
            .iter()
            .find(|(id, _)| *id == owner_id)
            .map_or(0, |(_, n)| *n)
    }
    /// Changes whenever the node or its pods change; unique in the process.
    pub fn stamp(&self) -> u64 {
        self.stamp
    }

    /// Records a bound pod. The caller has checked the pod is not already here.
    pub(super) fn add_pod(&mut self, pod: Arc<PodInfo>) {
        self.requested = self.requested.add(&pod.requests.requested);
        self.non_zero_requested = self.non_zero_requested.add(&pod.requests.non_zero);
        self.host_ports.extend(pod.host_ports.iter().cloned());
        if let Some(id) = pod.owner_id {
            match self.owners.iter_mut().find(|(o, _)| *o == id) {
                Some((_, n)) => *n += 1,
                None => self.owners.push((id, 1)),
            }
        }
        self.pods.insert(pod.key.clone(), pod);
        self.stamp = next_stamp();
    }

    /// Forgets a bound pod; returns it if it was here.
    pub(super) fn remove_pod(&mut self, key: &PodKey) -> Option<Arc<PodInfo>> {
        let pod = self.pods.remove(key)?;
        self.requested = self.requested.sub(&pod.requests.requested);
        self.non_zero_requested = self.non_zero_requested.sub(&pod.requests.non_zero);
        for port in &pod.host_ports {
            if let Some(i) = self.host_ports.iter().position(|p| p == port) {
                self.host_ports.swap_remove(i);
            }
        }
        if let Some(id) = pod.owner_id {
            if let Some(i) = self.owners.iter().position(|(o, _)| *o == id) {
                self.owners[i].1 = self.owners[i].1.saturating_sub(1);
                if self.owners[i].1 == 0 {
                    self.owners.swap_remove(i);
                }
            }
        }
        self.stamp = next_stamp();
        Some(pod)
    }

    /// Takes the pods of `previous` (the same node before an update of its spec or status).
    pub(super) fn adopt_pods(&mut self, previous: NodeInfo) {
        for pod in previous.pods.into_values() {
            self.add_pod(pod);
        }
    }
}
