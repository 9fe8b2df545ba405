//! `ClusterView`: the scheduler's snapshot of the cluster — nodes sorted by name, each with the
//! summary of its bound pods — built from k8s objects and updated in place as bindings are
//! assumed (for a batch) or cloned into a new view.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};

use super::node_info::NodeInfo;
use super::pod_info::{PodInfo, PodKey};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssumeError {
    #[error("node \"{node}\" not found")]
    UnknownNode { node: String },
    #[error("pod {pod} is already bound to node \"{node}\"")]
    AlreadyBound { pod: PodKey, node: String },
}

#[derive(Debug, Clone, Default)]
pub struct ClusterView {
    nodes: Vec<NodeInfo>,
    by_name: HashMap<String, usize>,
    placements: HashMap<PodKey, usize>,
}

impl ClusterView {
    /// A view of `nodes` with the `pods` already bound to them: pods with `spec.nodeName` set
    /// and not finished (phase Succeeded or Failed). Pods bound to nodes not in `nodes` are left
    /// out, as are duplicate node names after the first.
    pub fn build<'a>(
        nodes: impl IntoIterator<Item = &'a Node>,
        pods: impl IntoIterator<Item = &'a Pod>,
    ) -> ClusterView {
        let mut infos: Vec<NodeInfo> = nodes.into_iter().map(NodeInfo::from_node).collect();
        infos.sort_by(|a, b| a.name().cmp(b.name()));
        infos.dedup_by(|a, b| a.name() == b.name());
        let mut view = ClusterView {
            by_name: infos
                .iter()
                .enumerate()
                .map(|(i, n)| (n.name().to_string(), i))
                .collect(),
            nodes: infos,
            placements: HashMap::new(),
        };
        for pod in pods {
            let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
            if matches!(phase, Some("Succeeded") | Some("Failed")) {
                continue;
            }
            let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) else {
                continue;
            };
            // Unknown nodes and duplicate pods are skipped, as documented.
            let _ = view.assume(Arc::new(PodInfo::from_pod(pod)), node);
        }
        view
    }

    /// Nodes, sorted by name.
    pub fn nodes(&self) -> &[NodeInfo] {
        &self.nodes
    }

    pub fn node(&self, name: &str) -> Option<&NodeInfo> {
        self.by_name.get(name).map(|&i| &self.nodes[i])
    }

    /// The node a pod is bound (or assumed) to.
    pub fn placement(&self, pod: &PodKey) -> Option<&str> {
        self.placements.get(pod).map(|&i| self.nodes[i].name())
    }

    /// Records `pod` as bound to `node` without checking fit (that is the filters' and
    /// [`super::BindingBatch`]'s job).
    pub fn assume(&mut self, pod: Arc<PodInfo>, node: &str) -> Result<(), AssumeError> {
        if let Some(&i) = self.placements.get(&pod.key) {
            return Err(AssumeError::AlreadyBound {
                pod: pod.key.clone(),
                node: self.nodes[i].name().to_string(),
            });
        }
        let Some(&i) = self.by_name.get(node) else {
            return Err(AssumeError::UnknownNode {
                node: node.to_string(),
            });
        };
        self.placements.insert(pod.key.clone(), i);
        self.nodes[i].add_pod(pod);
        Ok(())
    }

    /// A new view with `pod` assumed on `node`; `self` is unchanged.
    pub fn with_assumed(&self, pod: Arc<PodInfo>, node: &str) -> Result<ClusterView, AssumeError> {
        let mut next = self.clone();
        next.assume(pod, node)?;
        Ok(next)
    }

    /// Forgets a bound pod (deleted, finished, or an assumption that did not commit).
    pub fn forget(&mut self, pod: &PodKey) -> Option<Arc<PodInfo>> {
        let i = self.placements.remove(pod)?;
        self.nodes[i].remove_pod(pod)
    }

    /// Adds a node, or replaces its spec and status keeping its bound pods.
    pub fn upsert_node(&mut self, node: &Node) {
        let info = NodeInfo::from_node(node);
        if let Some(&i) = self.by_name.get(info.name()) {
            let previous = std::mem::replace(&mut self.nodes[i], info);
            self.nodes[i].adopt_pods(previous);
            return;
        }
        let name = info.name().to_string();
        let at = self.nodes.partition_point(|n| n.name() < name.as_str());
        self.nodes.insert(at, info);
        self.reindex();
    }

    /// Removes a node and forgets the pods bound to it.
    pub fn remove_node(&mut self, name: &str) -> Option<NodeInfo> {
        let i = self.by_name.get(name).copied()?;
        let removed = self.nodes.remove(i);
        self.reindex();
        Some(removed)
    }

    fn reindex(&mut self) {
        self.by_name = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name().to_string(), i))
            .collect();
        self.placements = self
            .nodes
            .iter()
            .enumerate()
            .flat_map(|(i, n)| n.pods().map(move |p| (p.key.clone(), i)))
            .collect();
    }
}
