//! The leader's partitioner: decides which replicas own nodes — the voters that acknowledged a
//! heartbeat within the last second, followers first, the leader itself only when alone — and
//! publishes the [`PartitionTable`] as the ConfigMap `kube-system/keel-partitions` whenever the
//! owners change (and once per term). Every replica reads the same table from its replicated
//! state, so redirects agree everywhere. Each change restarts every node's liveness grace on the
//! leader: agents of a lost owner need a moment to re-home.

use std::time::Duration;

use serde_json::json;

use crate::controllers::{ControllerContext, Write};
use crate::nodes::ownership::{self, PARTITIONS_NAME, PARTITIONS_NAMESPACE};
use crate::nodes::PartitionTable;

/// A follower that has not acknowledged the leader for this long owns no nodes.
pub const FOLLOWER_SILENCE: Duration = Duration::from_secs(1);
/// How often the owners are re-decided.
const EVERY: Duration = Duration::from_millis(200);
/// Heartbeats need a moment to arrive at the start of a term before followers count as healthy.
const SETTLE: Duration = Duration::from_millis(500);

/// Runs until the term's token is cancelled.
pub async fn run(ctx: ControllerContext) {
    tokio::time::sleep(SETTLE).await;
    let mut ticker = tokio::time::interval(EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ctx.token.cancelled() => return,
            _ = ticker.tick() => {}
        }
        if let Err(e) = round(&ctx).await {
            tracing::warn!(error = %e, "publishing the partition table failed; will retry");
        }
    }
}

async fn round(ctx: &ControllerContext) -> Result<(), crate::controllers::ReconcileError> {
    let proposer = ctx.registry.proposer();
    let me = proposer.id();
    let healthy = proposer.healthy_followers(FOLLOWER_SILENCE);
    let wanted = PartitionTable::decide(ctx.term, me, &healthy);
    let stored = ownership::load(&ctx.registry);
    if stored
        .as_ref()
        .is_some_and(|t| t.leader == me && t.term == ctx.term && t.same_assignment(&wanted))
    {
        return Ok(());
    }
    let mut object = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": PARTITIONS_NAME, "namespace": PARTITIONS_NAMESPACE,
            "labels": {"app.kubernetes.io/managed-by": "keel-leader"}},
        "data": wanted.to_data(),
    });
    let write = match current_version(ctx) {
        Some(rv) => {
            object["metadata"]["resourceVersion"] = json!(rv);
            Write::Update(object, crate::objects::WriteTarget::Main)
        }
        None => Write::Create(object),
    };
    ctx.write(vec![write]).await?;
    ctx.liveness.hold_off();
    tracing::info!(term = ctx.term, owners = ?wanted.owners, "published the node partition table");
    Ok(())
}

fn current_version(ctx: &ControllerContext) -> Option<String> {
    use crate::objects::{KindId, RegistryTable};
    let kind = RegistryTable::get(KindId::ConfigMap);
    let key = crate::registry::Registry::key(kind, PARTITIONS_NAMESPACE, PARTITIONS_NAME).ok()?;
    let stored = ctx.registry.view().get(&key).ok()??;
    Some(stored.object.resource_version().to_string()).filter(|rv| !rv.is_empty())
}
