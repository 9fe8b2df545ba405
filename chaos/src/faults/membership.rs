//! Membership change under load: replace a voter by a new replica, then put it back.

use std::time::Duration;

use anyhow::Context;
use futures::future::LocalBoxFuture as BoxFuture;
use keel_proto::cluster::{PromoteRequest, RemoveRequest};

use super::{Fault, FaultEnv, Target};
use crate::{wait_until, LocalCluster};

/// How long one membership step (learner caught up, promote, remove) may take, retries included.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);
/// A learner this close to the leader's last log index counts as caught up (the workload keeps
/// appending).
const CAUGHT_UP_SLACK: u64 = 50;

/// Inject: start a new replica (`--join`, so the cell adds it as a learner and catches it up),
/// promote it to voter, remove a seeded random other voter (the leader too, sometimes) and retire
/// its process and data. Heal: the removed replica joins again under its old id and address
/// with an empty data dir, is promoted, and the new replica is removed and retired — so the cell
/// ends with its original members and every client's replica exists again. Every step goes
/// through the Cluster gRPC service as `keelctl cluster add-learner/promote/remove` does.
#[derive(Debug, Default)]
pub struct MembershipFault {
    /// (the replica that joined, the voter it replaced, the replaced voter's address).
    swapped: Option<(u64, u64, String)>,
}

impl MembershipFault {
    pub fn new() -> Self {
        MembershipFault::default()
    }
}

/// Starts `id` with `--join` (at `addr` if given), waits until the cell lists it as a learner,
/// and promotes it.
async fn join_and_promote(
    cluster: &LocalCluster,
    id: u64,
    addr: Option<String>,
) -> anyhow::Result<()> {
    cluster
        .add_replica_process_at(id, addr)
        .await
        .with_context(|| format!("starting replica {id}"))?;
    wait_until(
        STEP_TIMEOUT,
        format!("replica {id} listed as a learner and caught up"),
        async || {
            let leader = cluster.current_leader().await?.leader_id;
            let status = cluster.status(leader).await?;
            let member = status.members.iter().find(|m| m.id == id);
            let matched = member
                .with_context(|| format!("replica {id} is not a member yet"))?
                .matched_index;
            anyhow::ensure!(
                matched + CAUGHT_UP_SLACK >= status.last_log_index,
                "learner {id} at {matched}, leader at {}",
                status.last_log_index
            );
            Ok(())
        },
    )
    .await?;
    wait_until(
        STEP_TIMEOUT,
        format!("promoting replica {id}"),
        async || {
            let leader = cluster.current_leader().await?.leader_id;
            let mut client = cluster.cluster_client(leader)?;
            let resp = client.promote(PromoteRequest { id }).await?.into_inner();
            let voter = resp.members.iter().any(|m| m.id == id && m.role == "voter");
            anyhow::ensure!(voter, "replica {id} is not a voter after Promote");
            Ok(())
        },
    )
    .await
}

/// Removes voter `id` from the cell (through the current leader, which may be `id` itself),
/// then retires its process and data dir (recorded as a wipe). Returns its address.
async fn remove_and_retire(env: &FaultEnv, id: u64) -> anyhow::Result<String> {
    let cluster = &env.cluster;
    wait_until(STEP_TIMEOUT, format!("removing replica {id}"), async || {
        let leader = cluster.current_leader().await?.leader_id;
        let mut client = cluster.cluster_client(leader)?;
        match client.remove(RemoveRequest { id }).await {
            Ok(resp) => {
                let gone = !resp.into_inner().members.iter().any(|m| m.id == id);
                anyhow::ensure!(gone, "replica {id} still listed after Remove");
                Ok(())
            }
            // A retry after a Remove whose answer was lost (e.g. the leader removed itself).
            Err(status) if status.code() == tonic::Code::NotFound => Ok(()),
            Err(status) => Err(status.into()),
        }
    })
    .await?;
    let addr = cluster.retire(id, true).await?;
    env.recorder.record_wipe(id);
    Ok(addr)
}

/// Replica `id`'s role right now (for the description only).
async fn role_of(cluster: &LocalCluster, id: u64) -> String {
    match cluster.status(id).await {
        Ok(s) => s.state,
        Err(_) => "unreachable".to_string(),
    }
}

impl Fault for MembershipFault {
    fn name(&self) -> String {
        "membership-swap".to_string()
    }

    fn hits_leader(&self) -> bool {
        false
    }

    fn inject<'a>(&'a mut self, env: &'a FaultEnv) -> BoxFuture<'a, anyhow::Result<String>> {
        Box::pin(async move {
            let cluster = &env.cluster;
            // The victim first (while the cell has its original members), then the newcomer.
            let (victim, _) = Target::Random.pick(env).await?;
            let newcomer = cluster.ids().into_iter().max().unwrap_or(0) + 1;
            join_and_promote(cluster, newcomer, None).await?;
            let role = role_of(cluster, victim).await;
            let addr = remove_and_retire(env, victim).await?;
            self.swapped = Some((newcomer, victim, addr));
            Ok(format!(
                "replica {newcomer} joined as learner, promoted; replica {victim} ({role}) removed"
            ))
        })
    }

    fn heal<'a>(&'a mut self, env: &'a FaultEnv) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let Some((newcomer, victim, addr)) = self.swapped.take() else {
                return Ok(());
            };
            let cluster = &env.cluster;
            join_and_promote(cluster, victim, Some(addr)).await?;
            remove_and_retire(env, newcomer).await?;
            Ok(())
        })
    }
}
