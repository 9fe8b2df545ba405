//! `ObjectsApi`: the keel.objects.v1 `Objects` client as keelctl uses it — objects as JSON
//! values, and server errors as [`ApiError`]s that print as kubectl prints them.

use std::fmt;

use keel_proto::objects as pb;
use keel_proto::objects::objects_client::ObjectsClient;
use serde_json::Value;
use tonic::transport::Channel;

use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::cli::connect::{connect_any, connect_one};
use crate::objects::ResourceKind;

/// An error the server returned: `Error from server (NotFound): deployments.apps "x" not found`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// Kubernetes reason (`NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, ...).
    pub reason: String,
    pub message: String,
    /// What keelctl was doing, as kubectl says it (`error when creating "x.yaml"`).
    pub context: Option<String>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error from server ({})", self.reason)?;
        if let Some(c) = &self.context {
            write!(f, ": {c}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    pub fn is(&self, reason: &str) -> bool {
        self.reason == reason
    }

    pub fn with_context(mut self, context: impl Into<String>) -> ApiError {
        self.context = Some(context.into());
        self
    }

    /// A status from the server, or from the transport when no replica answered.
    pub fn from_status(s: &tonic::Status) -> ApiError {
        let reason = s
            .metadata()
            .get("keel-reason")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .unwrap_or_else(|| {
                match s.code() {
                    tonic::Code::NotFound => "NotFound",
                    tonic::Code::AlreadyExists => "AlreadyExists",
                    tonic::Code::Aborted => "Conflict",
                    tonic::Code::InvalidArgument => "BadRequest",
                    tonic::Code::OutOfRange => "Gone",
                    tonic::Code::FailedPrecondition => "Forbidden",
                    tonic::Code::DeadlineExceeded => "Timeout",
                    tonic::Code::Unavailable => "ServiceUnavailable",
                    tonic::Code::Unimplemented => "MethodNotAllowed",
                    _ => "InternalError",
                }
                .to_string()
            });
        let message = if s.code() == tonic::Code::Unimplemented && s.message().is_empty() {
            "the server does not serve the Objects API (keel.objects.v1)".to_string()
        } else {
            s.message().to_string()
        };
        ApiError {
            reason,
            message,
            context: None,
        }
    }
}

fn decode(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError {
        reason: "InternalError".into(),
        message: format!("the server sent an object that is not JSON: {e}"),
        context: None,
    })
}

fn encode(obj: &Value) -> Vec<u8> {
    // Serializing a Value cannot fail.
    serde_json::to_vec(obj).unwrap_or_default()
}

/// The namespace to send for `kind`: none for cluster-scoped kinds.
fn ns_for<'a>(kind: &ResourceKind, namespace: &'a str) -> &'a str {
    if kind.namespaced {
        namespace
    } else {
        ""
    }
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct ObjectList {
    pub items: Vec<Value>,
    pub resource_version: String,
}

/// What a delete did.
#[derive(Debug, Clone)]
pub struct Deleted {
    pub object: Value,
    /// False when the object was only marked for deletion (finalizers, grace period).
    pub gone: bool,
}

/// How long a call keeps trying other replicas while none can serve it (no leader yet, the
/// replica went away).
const RETRY_FOR: Duration = Duration::from_secs(10);

/// Whether a failed call may be sent again, to this or another replica: the replica was
/// unreachable or had no leader to forward to (the write was not proposed).
fn retryable(s: &tonic::Status) -> bool {
    let reason = s
        .metadata()
        .get("keel-reason")
        .and_then(|v| v.to_str().ok());
    s.code() == tonic::Code::Unavailable && reason.is_none_or(|r| r == "ServiceUnavailable")
}

/// A connected Objects client. Calls that find no replica able to serve them move on to the
/// next replica of the list, for up to [`RETRY_FOR`].
#[derive(Debug)]
pub struct ObjectsApi {
    servers: Vec<String>,
    /// The replica in use (index into `servers`) and its client.
    current: Mutex<(usize, ObjectsClient<Channel>)>,
}

impl ObjectsApi {
    pub async fn connect(servers: &[String]) -> anyhow::Result<ObjectsApi> {
        Ok(ObjectsApi {
            servers: servers.to_vec(),
            current: Mutex::new((0, ObjectsClient::new(connect_any(servers).await?))),
        })
    }

    /// Switches to the next replica that accepts a connection (after `failed`).
    async fn rotate(&self, failed: usize) {
        let n = self.servers.len();
        for step in 1..=n {
            let i = (failed + step) % n;
            if let Ok(ch) = connect_one(&self.servers[i]).await {
                *self.current.lock().await = (i, ObjectsClient::new(ch));
                return;
            }
        }
    }

    /// Runs `call`, retrying on another replica while the cell cannot serve it.
    async fn call<T>(
        &self,
        mut call: impl AsyncFnMut(ObjectsClient<Channel>) -> Result<T, tonic::Status>,
    ) -> Result<T, ApiError> {
        let deadline = Instant::now() + RETRY_FOR;
        let mut pause = Duration::from_millis(50);
        loop {
            let (index, client) = self.current.lock().await.clone();
            match call(client).await {
                Ok(v) => return Ok(v),
                Err(s) if retryable(&s) && Instant::now() + pause < deadline => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(500));
                    self.rotate(index).await;
                }
                Err(s) => return Err(ApiError::from_status(&s)),
            }
        }
    }

    pub async fn get(
        &self,
        kind: &ResourceKind,
        namespace: &str,
        name: &str,
    ) -> Result<Value, ApiError> {
        let req = pb::GetRequest {
            resource: kind.group_resource(),
            namespace: ns_for(kind, namespace).to_string(),
            name: name.to_string(),
        };
        let r = self.call(async |mut c| c.get(req.clone()).await).await?;
        decode(&r.into_inner().object)
    }

    /// Lists `kind` in `namespace` (`""`: every namespace).
    pub async fn list(
        &self,
        kind: &ResourceKind,
        namespace: &str,
        label_selector: &str,
        field_selector: &str,
    ) -> Result<ObjectList, ApiError> {
        let req = pb::ListRequest {
            resource: kind.group_resource(),
            namespace: ns_for(kind, namespace).to_string(),
            label_selector: label_selector.to_string(),
            field_selector: field_selector.to_string(),
            ..Default::default()
        };
        let r = self
            .call(async |mut c| c.list(req.clone()).await)
            .await?
            .into_inner();
        let items = r
            .items
            .iter()
            .map(|b| decode(b))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ObjectList {
            items,
            resource_version: r.resource_version,
        })
    }

    pub async fn create(
        &self,
        namespace: &str,
        obj: &Value,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let req = pb::CreateRequest {
            namespace: namespace.to_string(),
            object: encode(obj),
            dry_run,
        };
        let r = self.call(async |mut c| c.create(req.clone()).await).await?;
        decode(&r.into_inner().object)
    }

    /// Replaces the object (its metadata.resourceVersion, when set, must match).
    pub async fn update(
        &self,
        namespace: &str,
        obj: &Value,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let req = pb::UpdateRequest {
            namespace: namespace.to_string(),
            object: encode(obj),
            dry_run,
        };
        let r = self.call(async |mut c| c.update(req.clone()).await).await?;
        decode(&r.into_inner().object)
    }

    /// An RFC 7386 JSON merge patch.
    pub async fn merge_patch(
        &self,
        kind: &ResourceKind,
        namespace: &str,
        name: &str,
        patch: &Value,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let req = pb::PatchRequest {
            resource: kind.group_resource(),
            namespace: ns_for(kind, namespace).to_string(),
            name: name.to_string(),
            patch_type: pb::PatchType::Merge as i32,
            patch: encode(patch),
            status: false,
            dry_run,
        };
        let r = self.call(async |mut c| c.patch(req.clone()).await).await?;
        decode(&r.into_inner().object)
    }

    pub async fn delete(
        &self,
        kind: &ResourceKind,
        namespace: &str,
        name: &str,
        grace_period_seconds: Option<i64>,
        dry_run: bool,
    ) -> Result<Deleted, ApiError> {
        let req = pb::DeleteRequest {
            resource: kind.group_resource(),
            namespace: ns_for(kind, namespace).to_string(),
            name: name.to_string(),
            grace_period_seconds,
            dry_run,
            ..Default::default()
        };
        let r = self
            .call(async |mut c| c.delete(req.clone()).await)
            .await?
            .into_inner();
        Ok(Deleted {
            object: decode(&r.object)?,
            gone: r.deleted,
        })
    }

    /// Watches `kind` from `resource_version` (`""`: ADDED for every object first).
    pub async fn watch(
        &self,
        kind: &ResourceKind,
        namespace: &str,
        label_selector: &str,
        field_selector: &str,
        resource_version: &str,
    ) -> Result<tonic::Streaming<pb::WatchEvent>, ApiError> {
        let req = pb::WatchRequest {
            resource: kind.group_resource(),
            namespace: ns_for(kind, namespace).to_string(),
            label_selector: label_selector.to_string(),
            field_selector: field_selector.to_string(),
            resource_version: resource_version.to_string(),
            ..Default::default()
        };
        let r = self.call(async |mut c| c.watch(req.clone()).await).await?;
        Ok(r.into_inner())
    }

    /// Decodes a watch event's object.
    pub fn event_object(ev: &pb::WatchEvent) -> Result<Value, ApiError> {
        decode(&ev.object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unserved_calls_are_retried() {
        assert!(retryable(&tonic::Status::unavailable("transport error")));
        let mut no_leader = tonic::Status::unavailable("no leader");
        no_leader
            .metadata_mut()
            .insert("keel-reason", "ServiceUnavailable".parse().unwrap());
        assert!(retryable(&no_leader));
        assert!(!retryable(&tonic::Status::deadline_exceeded(
            "maybe applied"
        )));
        assert!(!retryable(&tonic::Status::not_found("x")));
    }

    #[test]
    fn server_errors_print_like_kubectl() {
        let mut s = tonic::Status::not_found("deployments.apps \"x\" not found");
        s.metadata_mut()
            .insert("keel-reason", "NotFound".parse().unwrap());
        let e = ApiError::from_status(&s);
        assert_eq!(
            e.to_string(),
            "Error from server (NotFound): deployments.apps \"x\" not found"
        );
        let conflict = ApiError::from_status(&tonic::Status::aborted("changed"));
        assert!(conflict.is("Conflict"));
        assert_eq!(
            ApiError::from_status(&tonic::Status::already_exists("x exists"))
                .with_context("error when creating \"a.yaml\"")
                .to_string(),
            "Error from server (AlreadyExists): error when creating \"a.yaml\": x exists"
        );
    }
}
