//! The leader's history compaction: keeps `--history-retention` revisions of history by
//! proposing a replicated `Compact` command now and then. Followers never compact on their own.

use std::time::Duration;

use crate::api::Proposer;
use crate::raft::KeelRaft;
use crate::store::{Command, Mvcc};

/// Runs until the process exits.
pub async fn run(raft: KeelRaft, mvcc: Mvcc, proposer: Proposer, retention: u64, every: Duration) {
    if retention == 0 {
        return;
    }
    let mut ticker = tokio::time::interval(every);
    loop {
        ticker.tick().await;
        if !raft.is_leader() {
            continue;
        }
        let (Ok(revision), Ok(compacted)) = (mvcc.revision(), mvcc.compact_revision()) else {
            continue;
        };
        // Compact in steps of at least a tenth of the retention, not on every tick.
        let target = revision.saturating_sub(retention);
        if target > compacted && target - compacted >= (retention / 10).max(1) {
            match proposer
                .propose(Command::Compact { revision: target })
                .await
            {
                Ok(r) => tracing::info!(target, ?r, "compacted history"),
                Err(e) => tracing::warn!(target, error = %e, "history compaction failed"),
            }
        }
    }
}
