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
    /// The replica register client `client` is attached to (sends its writes to) right now.
    AttachedTo {
        client: u32,
    },
}

/// A chosen victim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Victim {
    pub id: u64,
    /// Whether it was the agreed leader when chosen.
    pub is_leader: bool,
    /// E.g. `replica 2 (leader, term 5)`.
    pub what: String,
}

impl Target {
    pub fn as_str(&self) -> &'static str {
        match self {
            Target::Leader => "leader",
            Target::Follower => "follower",
            Target::Random => "random",
            Target::AttachedTo { .. } => "client-replica",
        }
    }

    /// Chooses the victim among the live replicas once a leader is agreed, and describes it.
    pub async fn pick(&self, env: &FaultEnv) -> anyhow::Result<(u64, String)> {
        let victim = self.pick_victim(env).await?;
        Ok((victim.id, victim.what))
    }

    /// [`pick`](Self::pick), also telling whether the victim is the leader.
    pub async fn pick_victim(&self, env: &FaultEnv) -> anyhow::Result<Victim> {
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
            Target::AttachedTo { client } => {
                let id = env
                    .attachments
                    .replica_of(*client)
                    .ok_or_else(|| anyhow::anyhow!("client {client} has not started"))?;
                anyhow::ensure!(
                    live.contains(&id),
                    "client {client}'s replica {id} is not live"
                );
                id
            }
        };
        let is_leader = id == view.leader_id;
        let role = if is_leader { "leader" } else { "follower" };
        let mut what = format!("replica {id} ({role}, term {})", view.term);
        if let Target::AttachedTo { client } = self {
            what.push_str(&format!(", client {client}'s replica"));
        }
        Ok(Victim {
            id,
            is_leader,
            what,
        })
    }
}
