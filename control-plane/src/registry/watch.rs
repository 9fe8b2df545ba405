//! `ObjectWatch`: a Kubernetes watch over one kind (one namespace or all), filtered by label and
//! field selectors, on this replica's applied stream. An object that starts matching arrives as
//! ADDED, one that stops matching as DELETED (with its last matching state at the new
//! resourceVersion), like the Kubernetes watch cache. Without a starting resourceVersion the
//! watch first sends an ADDED for every matching object. BOOKMARKs carry the revision the watch
//! has passed, so a client can resume from it; a compacted start is a "too old" Gone error.
//! A Pod watch limited to one node (`spec.nodeName=<node>`) uses the replica's pod-by-node
//! index ([`super::pod_node_index`]) to skip other nodes' pods without decoding them.

use serde_json::{json, Value};

use crate::objects::{list_prefix, FieldSelector, LabelSelector, ResourceKind};
use crate::store::{Event, EventKind, StoreError, Watcher};

use super::error::RegistryError;
use super::list::ListOptions;
use super::store_view::StoredObject;
use super::Registry;

/// One watch event as Kubernetes names it.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchEvent {
    /// ADDED, MODIFIED, DELETED or BOOKMARK.
    pub kind: &'static str,
    pub object: Value,
}

#[derive(Debug, Clone, Default)]
pub struct WatchOptions {
    pub namespace: String,
    pub label_selector: String,
    pub field_selector: String,
    pub resource_version: String,
}

/// A running watch; `next` yields batches of events in revision order.
pub struct ObjectWatch {
    kind: &'static ResourceKind,
    labels: LabelSelector,
    fields: FieldSelector,
    watcher: Watcher,
    initial: Vec<WatchEvent>,
    /// The revision everything delivered so far is complete up to.
    seen: u64,
    start: u64,
}

impl ObjectWatch {
    pub async fn start(
        registry: &Registry,
        kind: &'static ResourceKind,
        opts: &WatchOptions,
    ) -> Result<ObjectWatch, RegistryError> {
        let labels = LabelSelector::parse(&opts.label_selector)?;
        let fields = FieldSelector::parse_for(kind, &opts.field_selector)?;
        let namespace =
            (kind.namespaced && !opts.namespace.is_empty()).then_some(opts.namespace.as_str());
        let prefix = list_prefix(kind, namespace)?;
        let (initial, from) = match opts.resource_version.as_str() {
            "" | "0" => {
                let listed = registry
                    .list(
                        kind,
                        &ListOptions {
                            namespace: opts.namespace.clone(),
                            label_selector: opts.label_selector.clone(),
                            field_selector: opts.field_selector.clone(),
                            resource_version: opts.resource_version.clone(),
                            ..Default::default()
                        },
                    )
                    .await?;
                let events = listed
                    .items
                    .into_iter()
                    .map(|s| WatchEvent {
                        kind: "ADDED",
                        object: s.object.into_value(),
                    })
                    .collect();
                (events, listed.revision)
            }
            rv => {
                let from = rv.parse::<u64>().map_err(|_| {
                    RegistryError::BadRequest(format!(
                        "resourceVersion: Invalid value: {rv:?}: must be a decimal revision"
                    ))
                })?;
                (Vec::new(), from)
            }
        };
        let mut watcher = Watcher::new(
            registry.mvcc().clone(),
            registry.hub(),
            prefix,
            true,
            from + 1,
        );
        if let Some(node) = super::pod_node_index::indexed_node(kind.id, &fields) {
            watcher = watcher.only_index_value(node);
        }
        Ok(ObjectWatch {
            kind,
            labels,
            fields,
            watcher,
            initial,
            seen: from,
            start: from,
        })
    }

    /// The revision every event up to has been delivered (for bookmarks).
    pub fn seen_revision(&self) -> u64 {
        self.seen
            .max(self.watcher.next_revision().saturating_sub(1))
    }

    /// A BOOKMARK at [`Self::seen_revision`].
    pub fn bookmark(&self) -> WatchEvent {
        WatchEvent {
            kind: "BOOKMARK",
            object: json!({
                "apiVersion": self.kind.api_version(),
                "kind": self.kind.kind,
                "metadata": {"resourceVersion": self.seen_revision().to_string()},
            }),
        }
    }

    /// The initial ADDED events of a watch opened without a resourceVersion (the list), taken
    /// at once; later calls return nothing. [`Self::seen_revision`] is then the list's revision.
    pub fn take_initial(&mut self) -> Vec<WatchEvent> {
        std::mem::take(&mut self.initial)
    }

    /// The next non-empty batch of events. Cancel-safe.
    pub async fn next(&mut self) -> Result<Vec<WatchEvent>, RegistryError> {
        if !self.initial.is_empty() {
            return Ok(std::mem::take(&mut self.initial));
        }
        loop {
            let batch = self.watcher.next().await.map_err(|e| match e {
                StoreError::Compacted { compacted, .. } => too_old(self.start, compacted),
                other => other.into(),
            })?;
            let mut out = Vec::new();
            for event in &batch.events {
                if let Some(e) = self.translate(event)? {
                    out.push(e);
                }
            }
            self.seen = batch.revision;
            if !out.is_empty() {
                return Ok(out);
            }
        }
    }

    fn matches(&self, obj: &StoredObject) -> bool {
        self.labels.matches(obj.object.labels()) && self.fields.matches(&obj.object)
    }

    fn translate(&self, event: &Event) -> Result<Option<WatchEvent>, RegistryError> {
        let revision = event.revision();
        let old = event
            .prev_kv
            .as_ref()
            .map(StoredObject::from_kv)
            .transpose()?
            .filter(|o| self.matches(o));
        let out = match event.kind {
            EventKind::Put => {
                let new = StoredObject::from_kv(&event.kv)?;
                match (old.is_some(), self.matches(&new)) {
                    (false, true) => Some(("ADDED", new.object)),
                    (true, true) => Some(("MODIFIED", new.object)),
                    (true, false) => old.map(|mut o| {
                        o.object.set_resource_version(revision);
                        ("DELETED", o.object)
                    }),
                    (false, false) => None,
                }
            }
            EventKind::Delete => old.map(|mut o| {
                o.object.set_resource_version(revision);
                ("DELETED", o.object)
            }),
        };
        Ok(out.map(|(kind, object)| WatchEvent {
            kind,
            object: object.into_value(),
        }))
    }
}

fn too_old(requested: u64, compacted: u64) -> RegistryError {
    RegistryError::Gone(format!(
        "too old resource version: {requested} ({compacted})"
    ))
}
