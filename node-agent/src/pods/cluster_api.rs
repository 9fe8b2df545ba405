//! `ClusterApi`: what the CRI runtime asks of the cell while it runs pods — the ConfigMaps and
//! Secrets they refer to (Objects.Get) — and the Events it records about them (Objects.Create).
//! `CellObjects` is the real one over [`CellClient`]; tests use a map.

use std::time::Duration;

use futures::future::BoxFuture;
use keel_proto::objects::objects_client::ObjectsClient;
use keel_proto::objects::{CreateRequest, GetRequest};
use serde_json::{json, Value};

use crate::cell_client::CellClient;
use crate::pod_status::rfc3339;

/// The answer to a Get.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    Found(Value),
    NotFound,
    /// The cell could not answer (the caller retries later; nothing is decided from it).
    Unavailable(String),
}

/// An Event about a pod, as the kubelet records them.
#[derive(Debug, Clone, PartialEq)]
pub struct PodEvent {
    pub namespace: String,
    pub pod_name: String,
    pub pod_uid: String,
    /// `Normal` or `Warning`.
    pub type_: &'static str,
    pub reason: String,
    pub message: String,
    /// `spec.containers{name}` when the event is about one container.
    pub field_path: Option<String>,
}

/// The cell as the runtime sees it. Implementations are shared between tasks.
pub trait ClusterApi: Send + Sync + 'static {
    /// `resource` ("configmaps", "secrets") `namespace/name`.
    fn get<'a>(
        &'a self,
        resource: &'a str,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Lookup>;

    /// Records `event`; failures are logged, never returned (events are best effort).
    fn record_event(&self, event: PodEvent) -> BoxFuture<'_, ()>;
}

/// How long one call may take before the cell counts as unavailable.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// [`ClusterApi`] over the agent's connection to the cell.
pub struct CellObjects {
    cell: CellClient,
    node: String,
}

impl CellObjects {
    pub fn new(cell: CellClient, node: String) -> CellObjects {
        CellObjects { cell, node }
    }
}

impl ClusterApi for CellObjects {
    fn get<'a>(
        &'a self,
        resource: &'a str,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Lookup> {
        Box::pin(async move {
            let channel = match self.cell.channel() {
                Ok(c) => c,
                Err(e) => return Lookup::Unavailable(e.to_string()),
            };
            let mut client = ObjectsClient::new(channel);
            let call = client.get(GetRequest {
                resource: resource.to_string(),
                namespace: namespace.to_string(),
                name: name.to_string(),
            });
            match tokio::time::timeout(CALL_TIMEOUT, call).await {
                Ok(Ok(r)) => match serde_json::from_slice(&r.into_inner().object) {
                    Ok(v) => Lookup::Found(v),
                    Err(e) => Lookup::Unavailable(format!("undecodable {resource}: {e}")),
                },
                Ok(Err(s)) if s.code() == tonic::Code::NotFound => Lookup::NotFound,
                Ok(Err(s)) => Lookup::Unavailable(s.message().to_string()),
                Err(_) => Lookup::Unavailable(format!("no answer within {CALL_TIMEOUT:?}")),
            }
        })
    }

    fn record_event(&self, e: PodEvent) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let object = event_object(&e, &self.node, std::time::SystemTime::now());
            let Ok(channel) = self.cell.channel() else {
                return;
            };
            let mut client = ObjectsClient::new(channel);
            let call = client.create(CreateRequest {
                namespace: e.namespace.clone(),
                object: object.to_string().into_bytes(),
                dry_run: false,
            });
            match tokio::time::timeout(CALL_TIMEOUT, call).await {
                Ok(Ok(_)) => {}
                Ok(Err(s)) => tracing::debug!(reason = %e.reason, error = %s, "event not recorded"),
                Err(_) => tracing::debug!(reason = %e.reason, "event not recorded: timeout"),
            }
        })
    }
}

/// The core/v1 Event for `e`, from the kubelet on `node`, named like client-go's recorder.
pub fn event_object(e: &PodEvent, node: &str, now: std::time::SystemTime) -> Value {
    let nanos = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let at = rfc3339(now);
    let mut involved = json!({"apiVersion": "v1", "kind": "Pod", "namespace": e.namespace,
        "name": e.pod_name, "uid": e.pod_uid});
    if let Some(f) = &e.field_path {
        involved["fieldPath"] = json!(f);
    }
    json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": format!("{}.{:016x}", e.pod_name, nanos as u64), "namespace": e.namespace},
        "involvedObject": involved,
        "type": e.type_, "reason": e.reason, "message": e.message,
        "source": {"component": "kubelet", "host": node},
        "reportingComponent": "kubelet", "reportingInstance": node,
        "firstTimestamp": at, "lastTimestamp": at, "count": 1,
    })
}
