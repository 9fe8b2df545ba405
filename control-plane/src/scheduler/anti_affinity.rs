//! `AntiAffinityTerm`: a pod's required anti-affinity term on `kubernetes.io/hostname`, parsed
//! once: which pods (label selector, namespaces) may not share a node with its owner.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::PodAffinityTerm;

use crate::objects::LabelSelector;

/// The topology key of per-node anti-affinity, the only one this scheduler enforces.
pub const HOSTNAME_TOPOLOGY_KEY: &str = "kubernetes.io/hostname";

/// Which namespaces a term's selector looks in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NamespaceScope {
    All,
    Only(BTreeSet<String>),
}

/// One parsed term. A term without a label selector, or with one that does not parse, matches
/// no pod (Kubernetes: a nil selector selects nothing).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AntiAffinityTerm {
    selector: Option<LabelSelector>,
    namespaces: NamespaceScope,
}

impl AntiAffinityTerm {
    /// The term of a pod in `owner_namespace`, or `None` when its topology key is not the
    /// hostname. No `namespaces` and no `namespaceSelector` means the pod's own namespace; a
    /// `namespaceSelector` means all namespaces (the view has no namespace labels, and for
    /// anti-affinity matching more namespaces is the safe side).
    pub fn from_k8s(term: &PodAffinityTerm, owner_namespace: &str) -> Option<AntiAffinityTerm> {
        if term.topology_key != HOSTNAME_TOPOLOGY_KEY {
            return None;
        }
        let selector = term
            .label_selector
            .as_ref()
            .and_then(|s| LabelSelector::from_k8s(s).ok());
        let listed: BTreeSet<String> = term.namespaces.iter().flatten().cloned().collect();
        let namespaces = if term.namespace_selector.is_some() {
            NamespaceScope::All
        } else if listed.is_empty() {
            NamespaceScope::Only([owner_namespace.to_string()].into())
        } else {
            NamespaceScope::Only(listed)
        };
        Some(AntiAffinityTerm {
            selector,
            namespaces,
        })
    }

    /// Whether a pod with these labels in `namespace` is one the term keeps away.
    pub fn selects(
        &self,
        namespace: &str,
        labels: &std::collections::BTreeMap<String, String>,
    ) -> bool {
        let in_scope = match &self.namespaces {
            NamespaceScope::All => true,
            NamespaceScope::Only(set) => set.contains(namespace),
        };
        in_scope
            && self
                .selector
                .as_ref()
                .is_some_and(|s| s.matches_map(Some(labels)))
    }
}
