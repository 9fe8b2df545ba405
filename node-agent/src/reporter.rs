//! Sending the node's and every pod's full status to the cell every report interval over one
//! `Report` stream, and at once (within 200 ms) when any pod's status changed; the cell writes
//! only what changed. A broken stream is reopened on the next replica (also when an answer
//! takes more than two report intervals); a Redirect in an ack moves the agent to the replica
//! it names (the node's owner).

use std::hash::{Hash, Hasher};
use std::time::{Duration, SystemTime};

use keel_proto::node::node_plane_client::NodePlaneClient;
use keel_proto::node::{NodeReport, PodReport};
use tokio::time::Instant;

use crate::cell_client::{CellClient, Redirected};
use crate::config::AgentArgs;
use crate::node_object::node_status;
use crate::pod_status::pod_status;
use crate::retry_backoff::RetryBackoff;
use crate::runtime::ContainerRuntime;

/// Runs until the process exits.
pub async fn run<R: ContainerRuntime>(
    cell: CellClient,
    args: AgentArgs,
    runtime: R,
    started: SystemTime,
    every: Duration,
) {
    // Capped at 2 s: agents of a dead owner must re-home within a few seconds of the new table.
    let mut backoff = RetryBackoff::new(Duration::from_millis(200), Duration::from_secs(2));
    loop {
        let attempt = std::time::Instant::now();
        if let Err(e) = stream_reports(&cell, &args, &runtime, started, every).await {
            if let Some(r) = e.downcast_ref::<Redirected>() {
                tracing::info!(replica = %r.address, "the cell redirected status reports");
                // Replicas may briefly disagree on the leader: never spin.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            // A stream that served for a while was a success: start the back-off afresh.
            if attempt.elapsed() > every * 10 {
                backoff.reset();
            }
            let pause = backoff.next_pause();
            tracing::warn!(replica = %cell.current(), error = %e, ?pause, "status reports failed; moving on");
            cell.rotate();
            tokio::time::sleep(pause).await;
        }
    }
}

/// One report of everything the node runs.
pub async fn report<R: ContainerRuntime>(
    args: &AgentArgs,
    runtime: &R,
    started: SystemTime,
) -> NodeReport {
    let pods = runtime
        .list()
        .await
        .iter()
        .map(|p| PodReport {
            namespace: p.namespace.clone(),
            name: p.name.clone(),
            uid: p.uid.clone(),
            status: pod_status(p, &args.node_ip).to_string().into_bytes(),
        })
        .collect();
    NodeReport {
        node_name: args.node_name.clone(),
        node_status: node_status(args, started, SystemTime::now())
            .to_string()
            .into_bytes(),
        pods,
    }
}

async fn stream_reports<R: ContainerRuntime>(
    cell: &CellClient,
    args: &AgentArgs,
    runtime: &R,
    started: SystemTime,
    every: Duration,
) -> anyhow::Result<()> {
    let mut client = NodePlaneClient::new(cell.channel()?);
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let first = report(args, runtime, started).await;
    let mut sent_pods = pods_digest(&first);
    tx.send(first).await?;
    let mut acks = client
        .report(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await?
        .into_inner();
    let mut next_full = Instant::now() + every;
    // A replica that is paused or cut off never answers: give up on it after two intervals so
    // the agent re-homes within seconds.
    let patience = every * 2 + Duration::from_millis(500);
    loop {
        let ack = tokio::time::timeout(patience, acks.message())
            .await
            .map_err(|_| anyhow::anyhow!("no answer to a report within {patience:?}"))??
            .ok_or_else(|| anyhow::anyhow!("the report stream ended"))?;
        if let Some(r) = ack.redirect {
            cell.redirect(&r.address);
            return Err(Redirected {
                replica_id: r.replica_id,
                address: r.address,
            }
            .into());
        }
        // The next report goes at the interval, or as soon as a pod's status changed.
        let next = loop {
            let r = report(args, runtime, started).await;
            let digest = pods_digest(&r);
            if digest != sent_pods || Instant::now() >= next_full {
                sent_pods = digest;
                break r;
            }
            let wait = next_full.saturating_duration_since(Instant::now());
            tokio::time::sleep(wait.min(CHANGE_POLL)).await;
        };
        next_full = Instant::now() + every;
        tx.send(next).await?;
    }
}

/// How often the agent looks for pod status changes between full reports.
const CHANGE_POLL: Duration = Duration::from_millis(200);

/// A digest of every pod's identity and status in `report` (node heartbeats excluded).
fn pods_digest(report: &NodeReport) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for p in &report.pods {
        (&p.namespace, &p.name, &p.uid, &p.status).hash(&mut h);
    }
    h.finish()
}
