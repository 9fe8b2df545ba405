//! Equivalence classes (Borg): pods whose scheduling-relevant spec is equal get equal filter
//! results on a node, so one pod's results serve its whole template. `EquivalenceCache` keeps
//! them per node, keyed by the node's stamp, which changes whenever anything on the node does.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::core::v1::PodSpec;

use super::host_port::HostPort;
use super::node_info::NodeInfo;
use super::plugin::FilterResult;
use super::pod_info::PodKey;
use super::resources::PodRequests;

/// The canonical text of what filters read from a pod: namespace, labels (other pods'
/// anti-affinity selects on them), requests, host ports, tolerations, node selector, affinity
/// and controller owner. Compared whole, so two classes never collide.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClassKey(Arc<str>);

impl ClassKey {
    pub fn of(
        key: &PodKey,
        spec: &PodSpec,
        labels: &BTreeMap<String, String>,
        requests: &PodRequests,
        host_ports: &[HostPort],
        owner: Option<&str>,
    ) -> ClassKey {
        let r = &requests.requested;
        let n = &requests.non_zero;
        let ports: Vec<(&str, &str, i32)> = host_ports
            .iter()
            .map(|p| (p.ip.as_str(), p.protocol.as_str(), p.port))
            .collect();
        let text = serde_json::to_string(&(
            &key.namespace,
            labels,
            [r.cpu_millis, r.memory_bytes, n.cpu_millis, n.memory_bytes],
            ports,
            &spec.tolerations,
            &spec.node_selector,
            &spec.affinity,
            owner,
        ))
        // Serialising these types does not fail; if it ever did, the pod gets a class of its own.
        .unwrap_or_else(|_| format!("pod:{key}"));
        ClassKey(text.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Cached filter results: class → per node index, the node stamp the result was computed at.
#[derive(Debug)]
pub struct EquivalenceCache {
    classes: HashMap<ClassKey, Vec<Option<(u64, FilterResult)>>>,
    max_classes: usize,
    hits: u64,
    misses: u64,
}

/// One class's slots, borrowed for the duration of a scheduling attempt.
pub struct ClassSlots<'a> {
    slots: &'a mut Vec<Option<(u64, FilterResult)>>,
    hits: &'a mut u64,
    misses: &'a mut u64,
}

impl EquivalenceCache {
    /// A cache holding at most `max_classes` classes; past that it starts afresh.
    pub fn new(max_classes: usize) -> EquivalenceCache {
        EquivalenceCache {
            classes: HashMap::new(),
            max_classes: max_classes.max(1),
            hits: 0,
            misses: 0,
        }
    }

    pub fn class(&mut self, class: &ClassKey) -> ClassSlots<'_> {
        if !self.classes.contains_key(class) && self.classes.len() >= self.max_classes {
            self.classes.clear();
        }
        let slots = self.classes.entry(class.clone()).or_default();
        ClassSlots {
            slots,
            hits: &mut self.hits,
            misses: &mut self.misses,
        }
    }

    /// (hits, misses) since creation.
    pub fn stats(&self) -> (u64, u64) {
        (self.hits, self.misses)
    }

    pub fn len(&self) -> usize {
        self.classes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }
}

impl Default for EquivalenceCache {
    fn default() -> Self {
        EquivalenceCache::new(4096)
    }
}

impl ClassSlots<'_> {
    /// The result for the node at `index`, computed by `compute` unless cached at its stamp.
    pub fn get_or_compute(
        &mut self,
        index: usize,
        node: &NodeInfo,
        compute: impl FnOnce() -> FilterResult,
    ) -> FilterResult {
        if self.slots.len() <= index {
            self.slots.resize(index + 1, None);
        }
        if let Some((stamp, result)) = &self.slots[index] {
            if *stamp == node.stamp() {
                *self.hits += 1;
                return result.clone();
            }
        }
        *self.misses += 1;
        let result = compute();
        self.slots[index] = Some((node.stamp(), result.clone()));
        result
    }
}
