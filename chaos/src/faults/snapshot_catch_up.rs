//! Forced snapshot transfer: cut a follower off until the leader has purged its log past it, so
//! that after the heal it can only catch up by installing a snapshot.

use std::time::Duration;

use futures::future::LocalBoxFuture as BoxFuture;
use keel_proto::cluster::TriggerSnapshotRequest;

use super::{Fault, FaultEnv, Target};
use crate::{network::LinkState, wait_until, LocalCluster};

/// How long the heal waits for the leader's purge, and then for the follower's snapshot.
/// The leader keeps the log a follower's replication stream is using until that stream fails,
/// which for a silent peer takes the HTTP/2 keep-alive (~10 s): hold the cut at least that long.
const PURGE_TIMEOUT: Duration = Duration::from_secs(20);
const INSTALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Inject: blackhole a follower (every link to and from it dropped). Heal: ask the leader for a
/// snapshot and wait until it has purged its log past the follower's last index (an error if it
/// does not: then no snapshot transfer was forced), open the links, and wait until the follower
/// has installed a snapshot beyond its old log and applied up to the leader's commit index.
/// Use with small `--snapshot-logs`/`--keep-logs`.
#[derive(Debug, Default)]
pub struct SnapshotCatchUpFault {
    /// The follower, and its last log index when it was cut off.
    cut: Option<(u64, u64)>,
    blocked: Vec<(u64, u64)>,
}

impl SnapshotCatchUpFault {
    pub fn new() -> Self {
        SnapshotCatchUpFault::default()
    }
}

/// The leader among the replicas other than `cut_off`. (While cut off, a follower campaigns at
/// ever higher terms, so a cell-wide agreed leader cannot be asked for.)
async fn leader_apart_from(cluster: &LocalCluster, cut_off: u64) -> anyhow::Result<u64> {
    cluster
        .statuses()
        .await
        .into_iter()
        .filter(|(id, _)| *id != cut_off)
        .filter_map(|(id, s)| s.ok().filter(|s| s.state == "leader").map(|s| (s.term, id)))
        .max()
        .map(|(_, id)| id)
        .ok_or_else(|| anyhow::anyhow!("no leader among the replicas apart from {cut_off}"))
}

impl Fault for SnapshotCatchUpFault {
    fn name(&self) -> String {
        "snapshot-catch-up".to_string()
    }

    fn hits_leader(&self) -> bool {
        false
    }

    fn inject<'a>(&'a mut self, env: &'a FaultEnv) -> BoxFuture<'a, anyhow::Result<String>> {
        Box::pin(async move {
            let lab = env.lab(&self.name())?;
            let (follower, what) = Target::Follower.pick(env).await?;
            let behind = env.cluster.status(follower).await?.last_log_index;
            for other in env.cluster.ids().into_iter().filter(|id| *id != follower) {
                for (from, to) in [(follower, other), (other, follower)] {
                    lab.set_link(from, to, LinkState::Blocked)?;
                    self.blocked.push((from, to));
                }
            }
            self.cut = Some((follower, behind));
            Ok(format!("{what} cut off at log index {behind}"))
        })
    }

    fn heal<'a>(&'a mut self, env: &'a FaultEnv) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let lab = env.lab(&self.name())?;
            let cluster = &env.cluster;
            let purged = match self.cut {
                Some((follower, behind)) => {
                    wait_until(
                        PURGE_TIMEOUT,
                        "the leader to purge its log past the cut-off follower",
                        async || {
                            let leader = leader_apart_from(cluster, follower).await?;
                            let mut admin = cluster.cluster_client(leader)?;
                            admin.trigger_snapshot(TriggerSnapshotRequest {}).await?;
                            let s = cluster.status(leader).await?;
                            anyhow::ensure!(
                                s.purged_index > behind,
                                "leader purged to {} (follower at {behind})",
                                s.purged_index
                            );
                            Ok(s.purged_index)
                        },
                    )
                    .await
                }
                None => Ok(0),
            };
            for (from, to) in std::mem::take(&mut self.blocked) {
                lab.set_link(from, to, LinkState::Open)?;
            }
            let purged = purged?;
            let Some((follower, behind)) = self.cut.take() else {
                return Ok(());
            };
            wait_until(
                INSTALL_TIMEOUT,
                format!("replica {follower} to install a snapshot past {purged} and catch up"),
                async || {
                    let leader = cluster.current_leader().await?.leader_id;
                    let commit = cluster.status(leader).await?.commit_index;
                    let s = cluster.status(follower).await?;
                    anyhow::ensure!(
                        s.snapshot_index > behind && s.applied_index >= commit,
                        "replica {follower}: snapshot {} applied {} (leader commit {commit})",
                        s.snapshot_index,
                        s.applied_index
                    );
                    Ok(())
                },
            )
            .await
        })
    }
}
