//! `LocalCluster`'s questions about the whole cell, with deadlines: who leads (by majority
//! agreement), whether the replicas have converged, whether one has caught up.

use std::time::Duration;

use anyhow::Context;
use keel_proto::cluster::StatusResponse;

use crate::{agreed_leader, wait_until, LeaderView, LocalCluster};

impl LocalCluster {
    /// The leader right now, asked once: the replica that leads the highest term seen, confirmed
    /// by itself and a majority of the voters (see [`agreed_leader`]).
    pub async fn current_leader(&self) -> anyhow::Result<LeaderView> {
        let answers: Vec<StatusResponse> = self
            .statuses()
            .await
            .into_iter()
            .filter_map(|(_, s)| s.ok())
            .collect();
        agreed_leader(&answers, self.options().replicas).map_err(anyhow::Error::msg)
    }

    /// The leader's id, retrying up to `opts.leader_timeout`.
    pub async fn leader_id(&self) -> anyhow::Result<u64> {
        self.wait_for_leader(self.options().leader_timeout, None)
            .await
    }

    /// Waits up to `timeout` for an agreed leader other than `exclude`, and returns its id.
    pub async fn wait_for_leader(
        &self,
        timeout: Duration,
        exclude: Option<u64>,
    ) -> anyhow::Result<u64> {
        let what = match exclude {
            Some(x) => format!("a leader other than replica {x}"),
            None => "a leader".to_string(),
        };
        wait_until(timeout, what, async || {
            let view = self.current_leader().await?;
            anyhow::ensure!(
                Some(view.leader_id) != exclude,
                "replica {} still leads",
                view.leader_id
            );
            Ok(view.leader_id)
        })
        .await
    }

    /// Waits until every live replica reports the same store revision and state hash, and
    /// returns them. (Under a steady write load this may never happen: stop writing first.)
    pub async fn wait_converged(&self, timeout: Duration) -> anyhow::Result<(u64, String)> {
        wait_until(
            timeout,
            "every live replica to reach the same revision and state hash",
            async || {
                let statuses = self.statuses().await;
                anyhow::ensure!(!statuses.is_empty(), "no live replica");
                let mut seen = Vec::new();
                for (id, s) in statuses {
                    let s = s.with_context(|| format!("replica {id}"))?;
                    seen.push((id, s.revision, s.state_hash));
                }
                let (_, rev, hash) = seen[0].clone();
                if seen.iter().all(|(_, r, h)| *r == rev && *h == hash) {
                    Ok((rev, hash))
                } else {
                    let list: Vec<String> = seen
                        .iter()
                        .map(|(id, r, h)| format!("{id}: rev {r} hash {h}"))
                        .collect();
                    anyhow::bail!("replicas differ: {}", list.join("; "))
                }
            },
        )
        .await
    }

    /// Waits until replica `id` has applied at least the highest revision the other live
    /// replicas report when this is called, and returns its revision then. Works under load.
    pub async fn wait_caught_up(&self, id: u64, timeout: Duration) -> anyhow::Result<u64> {
        let started = tokio::time::Instant::now();
        let target = wait_until(timeout, "the other replicas' revision", async || {
            let mut best = None;
            for (other, s) in self.statuses().await {
                if other != id {
                    let rev = s?.revision;
                    best = Some(best.map_or(rev, |b: u64| b.max(rev)));
                }
            }
            best.context("no other live replica")
        })
        .await?;
        let left = timeout.saturating_sub(started.elapsed());
        wait_until(
            left,
            format!("replica {id} to reach revision {target}"),
            async || {
                self.check_no_crash(Some(id))?;
                let rev = self.status(id).await?.revision;
                anyhow::ensure!(rev >= target, "replica {id} is at revision {rev}");
                Ok(rev)
            },
        )
        .await
    }
}
