//! The leader's partitioner: decides which replicas own nodes — the voters that acknowledged a
//! heartbeat within the last second (and owners stay until 2 s without one), followers first,
//! the leader itself only when alone — and
//! publishes the [`PartitionTable`] as the ConfigMap `kube-system/keel-partitions` whenever the
//! owners change (and once per term). Every replica reads the same table from its replicated
//! state, so redirects agree everywhere. Each change restarts every node's liveness grace on the
//! leader: agents of a lost owner need a moment to re-home.

use std::time::Duration;

use serde_json::json;

use crate::controllers::{ControllerContext, Write};
use crate::nodes::ownership::{self, PARTITIONS_NAME, PARTITIONS_NAMESPACE};
use crate::nodes::PartitionTable;

/// A follower becomes an owner once it has acknowledged the leader within this long.
pub const FOLLOWER_SILENCE: Duration = Duration::from_secs(1);
/// An owner stays one until it has not acknowledged the leader for this long. The gap between
/// the two keeps a busy follower (heartbeat acks late by a second under thousands of agents)
/// from flapping in and out of the table, which would move half the agents every time.
pub const OWNER_LOST: Duration = Duration::from_secs(2);
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
    let stored = ownership::load(&ctx.registry);
    let current: &[u64] = match &stored {
        Some(t) if t.leader == me && t.term == ctx.term => &t.owners,
        _ => &[],
    };
    let healthy = with_hysteresis(
        &proposer.healthy_followers(FOLLOWER_SILENCE),
        &proposer.healthy_followers(OWNER_LOST),
        current,
    );
    let wanted = PartitionTable::decide(ctx.term, me, &healthy);
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

/// The followers that own nodes: those heard from within [`FOLLOWER_SILENCE`] (`recent`), and
/// the current owners still heard from within [`OWNER_LOST`] (`alive`).
fn with_hysteresis(recent: &[u64], alive: &[u64], current: &[u64]) -> Vec<u64> {
    let mut owners: Vec<u64> = recent.to_vec();
    owners.extend(current.iter().filter(|id| alive.contains(id)));
    owners.sort_unstable();
    owners.dedup();
    owners
}

#[cfg(test)]
mod tests {
    use super::with_hysteresis;

    #[test]
    fn an_owner_stays_while_heard_within_the_longer_bound_and_joins_only_when_recent() {
        // 2 is late (not recent) but still alive: it keeps owning.
        assert_eq!(with_hysteresis(&[3], &[2, 3], &[2, 3]), [2, 3]);
        // 2 is lost: it goes.
        assert_eq!(with_hysteresis(&[3], &[3], &[2, 3]), [3]);
        // 2 is alive but was no owner and is not recent: it does not join yet.
        assert_eq!(with_hysteresis(&[3], &[2, 3], &[3]), [3]);
        // Recent followers join.
        assert_eq!(with_hysteresis(&[2, 3], &[2, 3], &[3]), [2, 3]);
        // The leader's own id in the current table (alone before) is filtered by decide().
        assert_eq!(with_hysteresis(&[], &[], &[1]), Vec::<u64>::new());
    }
}
