//! Which replica owns which node (Borg's link shards). The leader publishes a [`PartitionTable`]
//! — the replicas that own nodes, chosen among the voters it hears from: followers first, itself
//! only when it is alone — as the ConfigMap `kube-system/keel-partitions`, so every replica reads
//! the same table from its replicated state. A node's owner is then picked by rendezvous
//! (highest random weight) hashing of the node name over the table's owners: identical on every
//! replica, balanced, and when an owner leaves only its own nodes move.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::raft::NodeId;

/// Namespace and name of the ConfigMap holding the table.
pub const PARTITIONS_NAMESPACE: &str = "kube-system";
pub const PARTITIONS_NAME: &str = "keel-partitions";

/// The replicas that own nodes, as decided by the leader of `term`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionTable {
    pub term: u64,
    pub leader: NodeId,
    /// Sorted, without duplicates, never empty.
    pub owners: Vec<NodeId>,
}

impl PartitionTable {
    /// The table a leader decides: the followers it hears from own the nodes; the leader owns
    /// them itself only when no follower is reachable.
    pub fn decide(term: u64, leader: NodeId, healthy_followers: &[NodeId]) -> PartitionTable {
        let mut owners: Vec<NodeId> = healthy_followers
            .iter()
            .copied()
            .filter(|id| *id != leader)
            .collect();
        owners.sort_unstable();
        owners.dedup();
        if owners.is_empty() {
            owners.push(leader);
        }
        PartitionTable {
            term,
            leader,
            owners,
        }
    }

    /// The replica owning `node`.
    pub fn owner_of(&self, node: &str) -> NodeId {
        self.owners
            .iter()
            .copied()
            .max_by_key(|replica| (weight(node, *replica), *replica))
            .unwrap_or(self.leader)
    }

    /// Whether the two tables give every node the same owner (the term may differ).
    pub fn same_assignment(&self, other: &PartitionTable) -> bool {
        self.owners == other.owners
    }

    /// The ConfigMap `data` carrying the table.
    pub fn to_data(&self) -> Value {
        let owners: Vec<String> = self.owners.iter().map(u64::to_string).collect();
        json!({
            "term": self.term.to_string(),
            "leader": self.leader.to_string(),
            "owners": owners.join(","),
        })
    }

    /// Reads the table back from a ConfigMap's `data`.
    pub fn from_data(data: &Value) -> Result<PartitionTable, String> {
        let field = |name: &str| {
            data.get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{PARTITIONS_NAME}: data.{name} is missing"))
        };
        let number = |name: &str, text: &str| {
            text.trim()
                .parse::<u64>()
                .map_err(|_| format!("{PARTITIONS_NAME}: data.{name}: {text:?} is not a number"))
        };
        let term = number("term", field("term")?)?;
        let leader = number("leader", field("leader")?)?;
        let mut owners = field("owners")?
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| number("owners", s))
            .collect::<Result<Vec<_>, _>>()?;
        owners.sort_unstable();
        owners.dedup();
        if owners.is_empty() {
            return Err(format!("{PARTITIONS_NAME}: data.owners is empty"));
        }
        Ok(PartitionTable {
            term,
            leader,
            owners,
        })
    }

    /// How many of `nodes` each owner has.
    pub fn counts<'a>(&self, nodes: impl IntoIterator<Item = &'a str>) -> BTreeMap<NodeId, usize> {
        let mut counts: BTreeMap<NodeId, usize> = self.owners.iter().map(|o| (*o, 0)).collect();
        for n in nodes {
            *counts.entry(self.owner_of(n)).or_default() += 1;
        }
        counts
    }
}

/// The table as this replica's replicated state holds it; `None` before a leader published one
/// (or if it is unreadable, which is logged).
pub fn load(registry: &crate::registry::Registry) -> Option<PartitionTable> {
    use crate::objects::{KindId, RegistryTable};
    let kind = RegistryTable::get(KindId::ConfigMap);
    let key = crate::registry::Registry::key(kind, PARTITIONS_NAMESPACE, PARTITIONS_NAME).ok()?;
    let stored = registry.view().get(&key).ok()??;
    match PartitionTable::from_data(stored.object.field("data")?) {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::warn!(error = %e, "unreadable partition table");
            None
        }
    }
}

/// The rendezvous weight of `node` on `replica`: FNV-1a over the name and the id, finished
/// with a 64-bit mixer so that close inputs give unrelated weights. Stable across builds and
/// platforms (every replica must compute the same owner).
fn weight(node: &str, replica: NodeId) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in node
        .as_bytes()
        .iter()
        .chain(&[0xff])
        .chain(&replica.to_le_bytes())
    {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // splitmix64's finaliser.
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn nodes(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("node-{i:04}")).collect()
    }

    #[test]
    fn followers_own_the_nodes_and_the_leader_only_when_alone() {
        assert_eq!(PartitionTable::decide(3, 1, &[3, 2, 1]).owners, vec![2, 3]);
        assert_eq!(PartitionTable::decide(3, 1, &[]).owners, vec![1]);
    }

    #[test]
    fn two_hundred_nodes_are_balanced_within_one_and_a_half_shares() {
        for owners in [vec![2, 3], vec![1, 2, 4], vec![2, 3, 4, 5]] {
            let t = PartitionTable {
                term: 1,
                leader: 1,
                owners: owners.clone(),
            };
            let all = nodes(200);
            let counts = t.counts(all.iter().map(String::as_str));
            let share = 200.0 / owners.len() as f64;
            for (owner, count) in counts {
                assert!(
                    (count as f64) <= 1.5 * share,
                    "owner {owner} has {count} of 200 (share {share})"
                );
            }
        }
    }

    #[test]
    fn when_an_owner_leaves_only_its_nodes_move() {
        let before = PartitionTable {
            term: 1,
            leader: 1,
            owners: vec![2, 3, 4],
        };
        let after = PartitionTable {
            term: 2,
            leader: 1,
            owners: vec![2, 3],
        };
        for n in nodes(300) {
            let (b, a) = (before.owner_of(&n), after.owner_of(&n));
            if b != 4 {
                assert_eq!(a, b, "{n} moved from {b} although its owner stayed");
            }
        }
    }

    #[test]
    fn the_table_round_trips_through_configmap_data() {
        let t = PartitionTable::decide(7, 2, &[1, 3]);
        assert_eq!(PartitionTable::from_data(&t.to_data()).unwrap(), t);
        let bad = json!({"term": "x", "leader": "1", "owners": "2"});
        let err = PartitionTable::from_data(&bad).unwrap_err();
        assert!(err.contains("data.term"), "{err}");
        let empty = json!({"term": "1", "leader": "1", "owners": ""});
        assert!(PartitionTable::from_data(&empty).is_err());
    }

    proptest! {
        #[test]
        fn every_node_has_exactly_one_owner_from_the_table(
            name in "[a-z0-9-]{1,30}",
            owners in proptest::collection::btree_set(1u64..10, 1..6),
        ) {
            let t = PartitionTable { term: 1, leader: 1, owners: owners.iter().copied().collect() };
            let o = t.owner_of(&name);
            prop_assert!(owners.contains(&o));
            // The same answer from a copy (as another replica would compute it).
            prop_assert_eq!(t.clone().owner_of(&name), o);
        }
    }
}
