//! Typed helpers for the Objects API in end-to-end tests: JSON in, JSON out, errors with their
//! Kubernetes reason.

use std::time::Duration;

use keel_chaos::{wait_until, LocalCluster};
use keel_proto::objects as pb;
use keel_proto::objects::objects_client::ObjectsClient;
use serde_json::Value;
use tonic::transport::Channel;

pub fn client(cluster: &LocalCluster, via: u64) -> ObjectsClient<Channel> {
    ObjectsClient::new(cluster.channel(via).expect("channel"))
}

/// The Kubernetes reason of a failed call (`keel-reason` metadata).
pub fn reason(status: &tonic::Status) -> String {
    status
        .metadata()
        .get("keel-reason")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

pub fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("server returns JSON")
}

pub async fn create(cluster: &LocalCluster, via: u64, obj: &Value) -> Result<Value, tonic::Status> {
    let r = client(cluster, via)
        .create(pb::CreateRequest {
            namespace: String::new(),
            object: obj.to_string().into_bytes(),
            dry_run: false,
        })
        .await?;
    Ok(json(&r.into_inner().object))
}

pub async fn update(cluster: &LocalCluster, via: u64, obj: &Value) -> Result<Value, tonic::Status> {
    let r = client(cluster, via)
        .update(pb::UpdateRequest {
            namespace: String::new(),
            object: obj.to_string().into_bytes(),
            dry_run: false,
        })
        .await?;
    Ok(json(&r.into_inner().object))
}

pub async fn update_status(
    cluster: &LocalCluster,
    via: u64,
    obj: &Value,
) -> Result<Value, tonic::Status> {
    let r = client(cluster, via)
        .update_status(pb::UpdateRequest {
            namespace: String::new(),
            object: obj.to_string().into_bytes(),
            dry_run: false,
        })
        .await?;
    Ok(json(&r.into_inner().object))
}

pub async fn get(
    cluster: &LocalCluster,
    via: u64,
    resource: &str,
    namespace: &str,
    name: &str,
) -> Result<Value, tonic::Status> {
    let r = client(cluster, via)
        .get(pb::GetRequest {
            resource: resource.into(),
            namespace: namespace.into(),
            name: name.into(),
        })
        .await?;
    Ok(json(&r.into_inner().object))
}

pub async fn patch(
    cluster: &LocalCluster,
    via: u64,
    resource: &str,
    namespace: &str,
    name: &str,
    patch_type: pb::PatchType,
    body: &Value,
) -> Result<Value, tonic::Status> {
    let r = client(cluster, via)
        .patch(pb::PatchRequest {
            resource: resource.into(),
            namespace: namespace.into(),
            name: name.into(),
            patch_type: patch_type as i32,
            patch: body.to_string().into_bytes(),
            status: false,
            dry_run: false,
        })
        .await?;
    Ok(json(&r.into_inner().object))
}

pub async fn delete(
    cluster: &LocalCluster,
    via: u64,
    resource: &str,
    namespace: &str,
    name: &str,
) -> Result<pb::DeleteResponse, tonic::Status> {
    let r = client(cluster, via)
        .delete(pb::DeleteRequest {
            resource: resource.into(),
            namespace: namespace.into(),
            name: name.into(),
            ..Default::default()
        })
        .await?;
    Ok(r.into_inner())
}

pub async fn list(
    cluster: &LocalCluster,
    via: u64,
    req: pb::ListRequest,
) -> Result<(Vec<Value>, pb::ListResponse), tonic::Status> {
    let r = client(cluster, via).list(req).await?.into_inner();
    let items = r.items.iter().map(|b| json(b)).collect();
    Ok((items, r))
}

pub fn names(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Waits until the bootstrap namespaces exist (the leader creates them after election).
pub async fn wait_bootstrapped(cluster: &LocalCluster) {
    wait_until(
        Duration::from_secs(20),
        "bootstrap namespaces",
        async || {
            let (items, _) = list(
                cluster,
                1,
                pb::ListRequest {
                    resource: "namespaces".into(),
                    ..Default::default()
                },
            )
            .await?;
            let names = names(&items);
            anyhow::ensure!(
                names.contains(&"default".to_string())
                    && names.contains(&"kube-system".to_string()),
                "namespaces so far: {names:?}"
            );
            Ok(())
        },
    )
    .await
    .expect("default and kube-system exist");
}

/// The next event of a watch stream (type, object).
pub async fn next_watch_event(
    s: &mut tonic::Streaming<pb::WatchEvent>,
) -> Result<(String, Value), tonic::Status> {
    let within = Duration::from_secs(10);
    match tokio::time::timeout(within, s.message()).await {
        Ok(Ok(Some(e))) => Ok((e.r#type, json(&e.object))),
        Ok(Ok(None)) => Err(tonic::Status::unavailable("watch ended")),
        Ok(Err(s)) => Err(s),
        Err(_) => Err(tonic::Status::deadline_exceeded(
            "no watch event within 10 s",
        )),
    }
}
