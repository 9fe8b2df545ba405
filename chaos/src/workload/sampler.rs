//! Samples every running replica's Status (term, leader, applied revision, state hash) into the
//! history, at a fixed interval, concurrently.

use std::{sync::Arc, time::Duration};

use tokio::time::Instant;

use super::StopFlag;
use crate::{
    history::{HistoryRecorder, LeaderSample, StateSample},
    replica_rpc::status_at,
    LocalCluster,
};

/// Samples until `stop` or `deadline`; returns the number of rounds.
pub async fn run_sampler(
    cluster: Arc<LocalCluster>,
    rec: Arc<HistoryRecorder>,
    interval: Duration,
    stop: StopFlag,
    deadline: Instant,
) -> u64 {
    let mut rounds = 0;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.is_stopped() && Instant::now() < deadline {
        ticker.tick().await;
        sample_once(&cluster, &rec, interval.max(Duration::from_millis(200))).await;
        rounds += 1;
    }
    rounds
}

/// One round: every live replica's Status within `timeout`.
pub async fn sample_once(cluster: &LocalCluster, rec: &HistoryRecorder, timeout: Duration) {
    let ids = cluster.live_ids();
    let calls = ids.iter().map(|id| async move {
        let addr = cluster.addr(*id).ok()?;
        let invoke_ns = rec.now_ns();
        let status = status_at(&addr, timeout).await.ok()?;
        Some((*id, invoke_ns, rec.now_ns(), status))
    });
    for (id, invoke_ns, complete_ns, s) in
        futures::future::join_all(calls).await.into_iter().flatten()
    {
        let leader = if s.state == "leader" {
            Some(id)
        } else {
            s.has_leader.then_some(s.leader_id)
        };
        rec.record_leader_sample(LeaderSample {
            replica: id,
            invoke_ns,
            complete_ns,
            term: s.term,
            leader,
        });
        rec.record_state_sample(StateSample {
            replica: id,
            invoke_ns,
            complete_ns,
            revision: s.revision,
            state_hash: s.state_hash,
        });
    }
}
