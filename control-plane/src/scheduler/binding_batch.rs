//! `BindingBatch`: many (pod, node) bindings committed as one log entry. Applying it re-checks
//! each binding against the view as updated by the bindings before it (Nomad's plan applier):
//! a binding whose node is gone, whose pod is already bound, or that no longer passes the
//! filters — and always the resource fit, whatever the plugins — is rejected and returned for
//! a retry, never applied. So no two decisions can overcommit a node.

use std::sync::Arc;

use super::cluster_view::{AssumeError, ClusterView};
use super::filters::ResourcesFit;
use super::plugin::FilterPlugin;
use super::pod_info::PodInfo;
use super::registry::Plugins;

#[derive(Debug, Clone)]
pub struct Binding {
    pub pod: Arc<PodInfo>,
    pub node: String,
}

/// A binding that was not applied, and why.
#[derive(Debug, Clone)]
pub struct Rejection {
    pub binding: Binding,
    pub reasons: Vec<String>,
}

#[derive(Debug, Default)]
pub struct BatchOutcome {
    pub applied: Vec<Binding>,
    pub rejected: Vec<Rejection>,
}

#[derive(Debug, Clone, Default)]
pub struct BindingBatch {
    bindings: Vec<Binding>,
}

impl BindingBatch {
    pub fn new(bindings: Vec<Binding>) -> BindingBatch {
        BindingBatch { bindings }
    }

    pub fn push(&mut self, binding: Binding) {
        self.bindings.push(binding);
    }

    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    pub fn len(&self) -> usize {
        self.bindings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bindings.is_empty()
    }

    /// Applies the bindings in order to `view`, re-checking each with `plugins`' filters and the
    /// resource fit. Deterministic: the same view and batch give the same outcome.
    pub fn apply(self, view: &mut ClusterView, plugins: &Plugins) -> BatchOutcome {
        let mut outcome = BatchOutcome::default();
        for binding in self.bindings {
            match recheck(view, plugins, &binding) {
                Ok(()) => outcome.applied.push(binding),
                Err(reasons) => outcome.rejected.push(Rejection { binding, reasons }),
            }
        }
        outcome
    }
}

fn recheck(view: &mut ClusterView, plugins: &Plugins, b: &Binding) -> Result<(), Vec<String>> {
    if let Some(node) = view.placement(&b.pod.key) {
        let e = AssumeError::AlreadyBound {
            pod: b.pod.key.clone(),
            node: node.to_string(),
        };
        return Err(vec![e.to_string()]);
    }
    let Some(node) = view.node(&b.node) else {
        let e = AssumeError::UnknownNode {
            node: b.node.clone(),
        };
        return Err(vec![e.to_string()]);
    };
    plugins
        .run_filters(&b.pod, node)
        .and_then(|()| ResourcesFit.filter(&b.pod, node))
        .map_err(|unfit| unfit.reasons().to_vec())?;
    view.assume(b.pod.clone(), &b.node)
        .map_err(|e| vec![e.to_string()])
}
