//! Network partitions between replicas: isolate the leader, split majority/minority, or cut the
//! leader's links in one direction only.

use futures::future::LocalBoxFuture as BoxFuture;
use serde::{Deserialize, Serialize};

use super::{Fault, FaultEnv, Target};
use crate::network::LinkState;

/// Which links a partition cuts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartitionShape {
    /// The leader can neither reach nor be reached by any other replica.
    IsolateLeader,
    /// A random minority (⌊(n−1)/2⌋ replicas, leader or not) is cut off from the majority.
    MajorityMinority,
    /// The leader's packets to every other replica are dropped; theirs still reach it.
    LeaderMute,
    /// Every other replica's packets to the leader are dropped; the leader's still reach them
    /// (it keeps sending heartbeats it never hears answered).
    LeaderDeaf,
}

impl PartitionShape {
    pub fn as_str(&self) -> &'static str {
        match self {
            PartitionShape::IsolateLeader => "isolate-leader",
            PartitionShape::MajorityMinority => "majority-minority",
            PartitionShape::LeaderMute => "leader-mute",
            PartitionShape::LeaderDeaf => "leader-deaf",
        }
    }
}

/// Cuts links (nftables drops in the senders' namespaces) and restores exactly those when healed.
#[derive(Debug)]
pub struct PartitionFault {
    pub shape: PartitionShape,
    /// The (from, to) links this fault blocked.
    blocked: Vec<(u64, u64)>,
    hit_leader: bool,
}

impl PartitionFault {
    pub fn new(shape: PartitionShape) -> Self {
        PartitionFault {
            shape,
            blocked: Vec::new(),
            hit_leader: !matches!(shape, PartitionShape::MajorityMinority),
        }
    }

    /// The directed links to cut for `shape`, given every replica, the leader and a minority.
    pub fn links(
        shape: PartitionShape,
        all: &[u64],
        leader: u64,
        minority: &[u64],
    ) -> Vec<(u64, u64)> {
        let others = || all.iter().copied().filter(move |id| *id != leader);
        match shape {
            PartitionShape::IsolateLeader => {
                others().flat_map(|o| [(leader, o), (o, leader)]).collect()
            }
            PartitionShape::LeaderMute => others().map(|o| (leader, o)).collect(),
            PartitionShape::LeaderDeaf => others().map(|o| (o, leader)).collect(),
            PartitionShape::MajorityMinority => {
                let mut links = Vec::new();
                for a in minority {
                    for b in all.iter().filter(|b| !minority.contains(b)) {
                        links.push((*a, *b));
                        links.push((*b, *a));
                    }
                }
                links
            }
        }
    }
}

impl Fault for PartitionFault {
    fn name(&self) -> String {
        format!("partition-{}", self.shape.as_str())
    }

    fn hits_leader(&self) -> bool {
        self.hit_leader
    }

    fn inject<'a>(&'a mut self, env: &'a FaultEnv) -> BoxFuture<'a, anyhow::Result<String>> {
        Box::pin(async move {
            let lab = env.lab(&self.name())?;
            let (leader, what) = Target::Leader.pick(env).await?;
            let all = env.cluster.ids();
            let mut pool = all.clone();
            let mut minority = Vec::new();
            for _ in 0..(all.len().saturating_sub(1) / 2) {
                minority.push(pool.remove(env.pick_index(pool.len())));
            }
            minority.sort_unstable();
            if self.shape == PartitionShape::MajorityMinority {
                self.hit_leader = minority.contains(&leader);
            }
            let links = Self::links(self.shape, &all, leader, &minority);
            for (from, to) in &links {
                lab.set_link(*from, *to, LinkState::Blocked)?;
                self.blocked.push((*from, *to));
            }
            Ok(match self.shape {
                PartitionShape::MajorityMinority => {
                    format!("minority {minority:?} cut off; leader was {what}")
                }
                _ => what,
            })
        })
    }

    fn heal<'a>(&'a mut self, env: &'a FaultEnv) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let lab = env.lab(&self.name())?;
            for (from, to) in std::mem::take(&mut self.blocked) {
                lab.set_link(from, to, LinkState::Open)?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_cut_the_right_links() {
        let all = [1, 2, 3];
        let mut iso = PartitionFault::links(PartitionShape::IsolateLeader, &all, 2, &[]);
        iso.sort_unstable();
        assert_eq!(iso, vec![(1, 2), (2, 1), (2, 3), (3, 2)]);
        assert_eq!(
            PartitionFault::links(PartitionShape::LeaderMute, &all, 2, &[]),
            vec![(2, 1), (2, 3)]
        );
        assert_eq!(
            PartitionFault::links(PartitionShape::LeaderDeaf, &all, 2, &[]),
            vec![(1, 2), (3, 2)]
        );
        let five = [1, 2, 3, 4, 5];
        let split = PartitionFault::links(PartitionShape::MajorityMinority, &five, 1, &[4, 5]);
        assert_eq!(split.len(), 12);
        assert!(split.contains(&(4, 1)) && split.contains(&(1, 4)));
        assert!(!split.contains(&(4, 5)) && !split.contains(&(1, 2)));
    }
}
