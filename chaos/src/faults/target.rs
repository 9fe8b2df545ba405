//! Which replica a fault hits: the leader, a follower, or any replica.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::FaultEnv;
use crate::wait_until;

/// How long a fault waits for an agreed leader before choosing its victim.
const LEADER_WAIT: Duration = Duration::from_secs(15);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Leader,
    Follower,
    Random,
}

impl Target {
    pub fn as_str(&self) -> &'static str {
        match self {
            Target::Leader => "leader",
            Target::Follower => "follower",
            Target::Random => "random",
        }
    }

    /// Chooses the victim among the live replicas once a leader is agreed, and describes it.
    pub async fn pick(&self, env: &FaultEnv) -> anyhow::Result<(u64, String)> {
        let view = wait_until(
            LEADER_WAIT,
            "an agreed leader to choose a victim",
            async || env.cluster.current_leader().await,
        )
        .await?;
        let live = env.cluster.live_ids();
        let followers: Vec<u64> = live
            .iter()
            .copied()
            .filter(|id| *id != view.leader_id)
            .collect();
        let id = match self {
            Target::Leader => view.leader_id,
            Target::Follower => {
                anyhow::ensure!(!followers.is_empty(), "no live follower");
                followers[env.pick_index(followers.len())]
            }
            Target::Random => {
                anyhow::ensure!(!live.is_empty(), "no live replica");
                live[env.pick_index(live.len())]
            }
        };
        let role = if id == view.leader_id {
            "leader"
        } else {
            "follower"
        };
        Ok((id, format!("replica {id} ({role}, term {})", view.term)))
    }
}
