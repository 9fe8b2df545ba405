//! `ObjectMirror<T>`: the agent's copy of every object of one kind in the cell (Services,
//! Endpoints), kept by Objects.List and then Objects.Watch from the list's resourceVersion.
//!
//! Resuming: the mirror remembers the resourceVersion it has seen up to (every event's object,
//! and BOOKMARKs), so when a stream breaks — its replica died, or the network did — the watch
//! starts again from there on whichever replica the caller reaches next (revisions are the
//! cell's, not a replica's), and nothing is missed or seen twice. Only when that revision has
//! been compacted (OUT_OF_RANGE, "too old resource version") is the kind listed again.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use keel_proto::objects::objects_client::ObjectsClient;
use keel_proto::objects::{ListRequest, WatchEvent, WatchRequest};
use serde::de::DeserializeOwned;
use tonic::transport::Channel;
use tonic::Streaming;

/// How often the cell sends a BOOKMARK on a quiet watch: a watch silent for much longer is
/// stuck (its replica cut off) and the caller should move on.
pub const BOOKMARK_EVERY_MS: u32 = 5_000;

/// Namespace and name.
pub type ObjectKey = (String, String);

/// Every object of one kind, by namespace and name.
pub struct ObjectMirror<T> {
    resource: &'static str,
    items: BTreeMap<ObjectKey, T>,
    /// The revision everything in `items` is complete up to; "" before the first list.
    resource_version: String,
}

impl<T> ObjectMirror<T>
where
    T: DeserializeOwned + k8s_openapi::Metadata<Ty = ObjectMeta>,
{
    /// An empty mirror of `resource` ("services", "endpoints").
    pub fn new(resource: &'static str) -> Self {
        ObjectMirror {
            resource,
            items: BTreeMap::new(),
            resource_version: String::new(),
        }
    }

    pub fn items(&self) -> &BTreeMap<ObjectKey, T> {
        &self.items
    }

    /// Whether a list has filled the mirror (and a watch can resume from its revision).
    pub fn is_listed(&self) -> bool {
        !self.resource_version.is_empty()
    }

    /// The revision the mirror is complete up to.
    pub fn resource_version(&self) -> &str {
        &self.resource_version
    }

    /// Forgets the revision, so the next [`ObjectMirror::watch`] lists first.
    pub fn needs_list(&mut self) {
        self.resource_version.clear();
    }

    /// A watch from the mirror's revision, listing (linearizably, every namespace) first when
    /// the mirror has none.
    pub async fn watch(
        &mut self,
        client: &mut ObjectsClient<Channel>,
    ) -> Result<Streaming<WatchEvent>, tonic::Status> {
        if !self.is_listed() {
            let listed = client
                .list(ListRequest {
                    resource: self.resource.into(),
                    ..Default::default()
                })
                .await?
                .into_inner();
            let mut items = BTreeMap::new();
            for raw in &listed.items {
                let object: T = serde_json::from_slice(raw).map_err(|e| {
                    tonic::Status::internal(format!("a listed {} is malformed: {e}", self.resource))
                })?;
                items.insert(key_of(object.metadata()), object);
            }
            self.items = items;
            self.resource_version = listed.resource_version;
        }
        let stream = client
            .watch(WatchRequest {
                resource: self.resource.into(),
                resource_version: self.resource_version.clone(),
                allow_bookmarks: true,
                bookmark_interval_ms: BOOKMARK_EVERY_MS,
                ..Default::default()
            })
            .await
            .inspect_err(|s| self.forget_if_compacted(s))?
            .into_inner();
        Ok(stream)
    }

    /// Applies what a watch stream delivered: `Ok(true)` when the mirror's objects changed;
    /// an error (the stream failed or ended) means the caller must watch again.
    pub fn handle(
        &mut self,
        delivered: Result<Option<WatchEvent>, tonic::Status>,
    ) -> Result<bool, tonic::Status> {
        let event = match delivered {
            Ok(Some(event)) => event,
            Ok(None) => return Err(tonic::Status::unavailable("the watch ended")),
            Err(status) => {
                self.forget_if_compacted(&status);
                return Err(status);
            }
        };
        let meta: MetaOnly = serde_json::from_slice(&event.object).map_err(|e| {
            tonic::Status::internal(format!("a watched {} is malformed: {e}", self.resource))
        })?;
        let changed = match event.r#type.as_str() {
            "BOOKMARK" => false,
            "DELETED" => self.items.remove(&key_of(&meta.metadata)).is_some(),
            _ => {
                let object: T = serde_json::from_slice(&event.object).map_err(|e| {
                    tonic::Status::internal(format!(
                        "a watched {} is malformed: {e}",
                        self.resource
                    ))
                })?;
                self.items.insert(key_of(object.metadata()), object);
                true
            }
        };
        if let Some(rv) = meta.metadata.resource_version.filter(|rv| !rv.is_empty()) {
            self.resource_version = rv;
        }
        Ok(changed)
    }

    fn forget_if_compacted(&mut self, status: &tonic::Status) {
        if status.code() == tonic::Code::OutOfRange {
            tracing::info!(resource = self.resource, error = %status.message(),
                "the watch's revision is compacted; listing again");
            self.needs_list();
        }
    }
}

/// Just the metadata of a watched object (enough for a BOOKMARK or a DELETED event).
#[derive(serde::Deserialize)]
struct MetaOnly {
    #[serde(default)]
    metadata: ObjectMeta,
}

fn key_of(meta: &ObjectMeta) -> ObjectKey {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Service;
    use serde_json::json;

    fn event(type_: &str, object: serde_json::Value) -> Result<Option<WatchEvent>, tonic::Status> {
        Ok(Some(WatchEvent {
            r#type: type_.into(),
            object: serde_json::to_vec(&object).unwrap(),
        }))
    }

    fn svc(name: &str, rv: &str) -> serde_json::Value {
        json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"namespace": "default", "name": name, "resourceVersion": rv}})
    }

    #[test]
    fn events_update_the_objects_and_the_revision_to_resume_from() {
        let mut m: ObjectMirror<Service> = ObjectMirror::new("services");
        assert!(!m.is_listed());
        assert!(m.handle(event("ADDED", svc("a", "5"))).unwrap());
        assert_eq!(m.resource_version(), "5");
        assert!(m.handle(event("MODIFIED", svc("a", "7"))).unwrap());
        let bookmark =
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"resourceVersion": "9"}});
        assert!(!m.handle(event("BOOKMARK", bookmark)).unwrap());
        assert_eq!(m.resource_version(), "9");
        assert_eq!(m.items().len(), 1);
        assert!(m.handle(event("DELETED", svc("a", "10"))).unwrap());
        assert!(m.items().is_empty());
        assert!(!m.handle(event("DELETED", svc("gone", "11"))).unwrap());
        assert_eq!(m.resource_version(), "11");
    }

    #[test]
    fn a_broken_stream_resumes_and_a_compacted_one_lists_again() {
        let mut m: ObjectMirror<Service> = ObjectMirror::new("services");
        m.handle(event("ADDED", svc("a", "5"))).unwrap();
        assert!(m
            .handle(Err(tonic::Status::unavailable("replica died")))
            .is_err());
        assert_eq!(m.resource_version(), "5", "resumes from what it saw");
        assert!(
            m.handle(Ok(None)).is_err(),
            "an ended stream is watched again"
        );
        assert!(m.is_listed());
        let too_old = tonic::Status::out_of_range("too old resource version: 5 (8)");
        assert!(m.handle(Err(too_old)).is_err());
        assert!(!m.is_listed(), "lists again");
    }
}
