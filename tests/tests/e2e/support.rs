//! Small helpers shared by the end-to-end tests: starting a cell and typed store calls.

use std::time::Duration;

use keel_chaos::{wait_until, ClusterOptions, LocalCluster};
use keel_proto::store as pb;

/// Starts a 3-replica cell with fast elections.
pub async fn cell(opts: ClusterOptions) -> LocalCluster {
    LocalCluster::start(opts).await.expect("cell starts")
}

/// Starts a 3-replica cell whose leader runs no scheduler and no controllers
/// (`--controllers=`): the object API alone, as an apiserver without a controller manager, so
/// tests of its semantics see only their own writes.
pub async fn api_only_cell(mut opts: ClusterOptions) -> LocalCluster {
    opts.extra_args.push("--controllers=".into());
    cell(opts).await
}

/// A follower of the current leader (the lowest id that does not lead).
pub async fn follower(cluster: &LocalCluster) -> u64 {
    let leader = cluster.leader_id().await.expect("leader");
    cluster
        .live_ids()
        .into_iter()
        .find(|id| *id != leader)
        .expect("a follower")
}

pub async fn put(
    cluster: &LocalCluster,
    via: u64,
    key: &str,
    value: &str,
) -> Result<u64, tonic::Status> {
    let mut c = cluster.store_client(via).expect("client");
    let r = c
        .put(pb::PutRequest {
            key: key.into(),
            value: value.into(),
            prev_kv: false,
        })
        .await?;
    Ok(r.into_inner().revision)
}

/// Linearizable (default) or serializable read of one key's value.
pub async fn get(
    cluster: &LocalCluster,
    via: u64,
    key: &str,
    serializable: bool,
) -> Result<Option<pb::KeyValue>, tonic::Status> {
    let mut c = cluster.store_client(via).expect("client");
    let r = c
        .range(pb::RangeRequest {
            key: key.into(),
            serializable,
            ..Default::default()
        })
        .await?;
    Ok(r.into_inner().kvs.into_iter().next())
}

/// Puts with retries while no leader is reachable ("unavailable"), for use across failovers.
/// Returns the revision once acknowledged; None when the outcome is unknown (the write may or may
/// not have been applied) or the deadline passed.
pub async fn put_retrying(
    cluster: &LocalCluster,
    vias: &[u64],
    key: &str,
    value: &str,
    within: Duration,
) -> Option<u64> {
    let mut attempt = 0usize;
    let acked = wait_until(
        within,
        format!("an acknowledged put of {key}"),
        async || {
            let via = vias[attempt % vias.len()];
            attempt += 1;
            match put(cluster, via, key, value).await {
                Ok(rev) => Ok(Some(rev)),
                Err(s) if s.code() == tonic::Code::DeadlineExceeded => Ok(None),
                Err(s) => Err(anyhow::anyhow!("put via {via}: {s}")),
            }
        },
    )
    .await;
    acked.ok().flatten()
}

pub fn value_of(kv: &Option<pb::KeyValue>) -> Option<String> {
    kv.as_ref()
        .map(|kv| String::from_utf8_lossy(&kv.value).to_string())
}
