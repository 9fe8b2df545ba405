//! The owner's side of liveness: once a second, a replica that owns nodes and does not lead
//! sends the leader its [`Summary`](super::partition_summary::Summary) — only transitions, all
//! nodes when the leader asks or after a failure. It also forgets nodes it no longer owns.

use std::time::Duration;

use keel_proto::node as pb;
use keel_proto::node::node_plane_client::NodePlaneClient;
use tokio::time::Instant;

use super::liveness::NodeState;
use super::ownership;
use super::partition_summary::SummaryBuilder;
use super::NodeLiveness;
use crate::registry::Registry;

/// How often summaries go to the leader.
pub const SUMMARY_INTERVAL: Duration = Duration::from_secs(1);

/// Runs for the life of the replica.
pub async fn run(registry: Registry, liveness: NodeLiveness) {
    let mut builder = SummaryBuilder::new();
    let mut last_leader = None;
    let mut ticker = tokio::time::interval(SUMMARY_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let proposer = registry.proposer();
        let me = proposer.id();
        let table = ownership::load(&registry);
        let owned = |node: &str| table.as_ref().is_none_or(|t| t.owner_of(node) == me);
        liveness.retain_direct(owned);
        let Some(leader) = proposer.leader() else {
            continue;
        };
        if leader == me {
            // The leader reads its own direct table; a future term elsewhere starts afresh.
            builder.resync();
            last_leader = Some(me);
            continue;
        }
        if last_leader != Some(leader) {
            builder.resync();
            last_leader = Some(leader);
        }
        let summary = builder.next(&liveness.direct(), Instant::now(), owned);
        let request = pb::PartitionSummary {
            replica_id: me,
            seq: summary.seq,
            full: summary.full,
            alive_nodes: summary.alive as u32,
            silent_nodes: summary.silent as u32,
            changes: summary
                .changes
                .into_iter()
                .map(|(node, state)| to_proto(node, state))
                .collect(),
        };
        let sent = async {
            let channel = proposer.peer_channel(leader)?;
            NodePlaneClient::new(channel).summarize(request).await
        };
        match tokio::time::timeout(SUMMARY_INTERVAL, sent).await {
            Ok(Ok(ack)) => {
                crate::metrics::global().node_summaries_sent.inc();
                liveness.leader_contact();
                if ack.get_ref().need_full {
                    builder.resync();
                }
            }
            Ok(Err(e)) => {
                tracing::debug!(leader, error = %e, "partition summary not delivered");
                builder.resync();
            }
            Err(_) => builder.resync(),
        }
    }
}

fn to_proto(node: String, state: NodeState) -> pb::NodeLivenessChange {
    use pb::node_liveness_change::State;
    let (state, silent_for_ms) = match state {
        NodeState::Alive => (State::Alive, 0),
        NodeState::Silent { r#for } => (State::Silent, r#for.as_millis() as u64),
        NodeState::Gone => (State::Gone, 0),
    };
    pb::NodeLivenessChange {
        node,
        state: state as i32,
        silent_for_ms,
    }
}

/// The leader's reading of a change sent by [`to_proto`].
pub fn from_proto(change: &pb::NodeLivenessChange) -> (String, NodeState) {
    use pb::node_liveness_change::State;
    let state = match State::try_from(change.state) {
        Ok(State::Alive) => NodeState::Alive,
        Ok(State::Silent) => NodeState::Silent {
            r#for: Duration::from_millis(change.silent_for_ms),
        },
        Ok(State::Gone) | Err(_) => NodeState::Gone,
    };
    (change.node.clone(), state)
}
