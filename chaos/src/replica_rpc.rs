//! The small RPC helpers LocalCluster and keel-bench share: a tonic endpoint for a replica, and
//! one bounded Status call.

use std::time::Duration;

use anyhow::Context;
use keel_proto::cluster::{cluster_client::ClusterClient, StatusRequest, StatusResponse};
use tonic::transport::Endpoint;

/// A tonic endpoint for `127.0.0.1:PORT` with a 1 s connect timeout and `timeout` per request.
pub fn endpoint(addr: &str, timeout: Duration) -> anyhow::Result<Endpoint> {
    Ok(Endpoint::from_shared(format!("http://{addr}"))?
        .connect_timeout(Duration::from_secs(1))
        .timeout(timeout))
}

/// One Status call to `addr`, all of it (connect included) within `timeout`.
pub async fn status_at(addr: &str, timeout: Duration) -> anyhow::Result<StatusResponse> {
    let call = async {
        let channel = endpoint(addr, timeout)?.connect().await?;
        let status = ClusterClient::new(channel).status(StatusRequest {}).await?;
        anyhow::Ok(status.into_inner())
    };
    tokio::time::timeout(timeout, call)
        .await
        .context("Status timed out")?
}
