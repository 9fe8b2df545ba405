//! Pod CIDRs for nodes: each Node gets one `/node_prefix` block of `--cluster-cidr` when it is
//! created (unless it asks for one), held by a claim key `/registry/ranges/podcidrs/<network>`
//! that must not exist when the transaction commits — two nodes registering at once through
//! different replicas can never get the same block. Deleting the Node frees its block.
//!
//! The search for a free block starts at a position hashed from the claiming Node's key, not at
//! the lowest block: thousands of nodes registering at once would otherwise all compete for the
//! same lowest free claim key and fail each other's transactions.

use std::net::Ipv4Addr;

use crate::objects::{CidrError, Ipv4Cidr};

use super::error::RegistryError;
use super::store_view::StoreView;
use super::write_set::WriteSet;

const PREFIX: &str = "/registry/ranges/podcidrs/";

/// Hands out node pod CIDRs from the cluster CIDR.
#[derive(Debug, Clone, Copy)]
pub struct PodCidrAllocator {
    cluster: Ipv4Cidr,
    node_prefix: u8,
}

impl Default for PodCidrAllocator {
    fn default() -> Self {
        PodCidrAllocator {
            cluster: Ipv4Cidr::new(Ipv4Addr::new(10, 244, 0, 0), 16),
            node_prefix: 24,
        }
    }
}

/// Kubernetes' usual pod network.
pub const DEFAULT_CLUSTER_CIDR: &str = "10.244.0.0/16";

impl PodCidrAllocator {
    pub fn new(cluster: &str, node_prefix: u8) -> Result<Self, CidrError> {
        let parsed = Ipv4Cidr::parse(cluster)?;
        if node_prefix < parsed.prefix() || node_prefix > 30 {
            return Err(CidrError(format!(
                "{cluster}: node prefix /{node_prefix} must be between /{} and /30",
                parsed.prefix()
            )));
        }
        Ok(PodCidrAllocator {
            cluster: parsed,
            node_prefix,
        })
    }

    /// A free block, claimed for `owner` in `ws`: the first free one at or after the block
    /// `owner` hashes to (wrapping around).
    pub fn allocate(
        &self,
        view: &StoreView,
        ws: &mut WriteSet,
        owner: &[u8],
    ) -> Result<String, RegistryError> {
        let used: std::collections::BTreeSet<u32> = view
            .scan(PREFIX.as_bytes())?
            .iter()
            .filter_map(|kv| {
                std::str::from_utf8(&kv.key)
                    .ok()?
                    .strip_prefix(PREFIX)?
                    .parse::<Ipv4Addr>()
                    .ok()
            })
            .map(u32::from)
            .collect();
        let base = u32::from(self.cluster.network());
        let blocks = 1u64 << (self.node_prefix - self.cluster.prefix());
        let step = 1u64 << (32 - self.node_prefix);
        let start = start_block(owner, blocks);
        for i in 0..blocks {
            let net = base + (((start + i) % blocks) * step) as u32;
            let key = format!("{PREFIX}{}", Ipv4Addr::from(net)).into_bytes();
            if used.contains(&net) || ws.pending(&key).is_some() {
                continue;
            }
            ws.depend_on(&key, 0);
            ws.put(&key, owner.to_vec());
            return Ok(format!("{}/{}", Ipv4Addr::from(net), self.node_prefix));
        }
        Err(RegistryError::Forbidden(format!(
            "no pod CIDR left: every /{} block of {} is taken",
            self.node_prefix, self.cluster
        )))
    }

    /// Claims a block the Node asked for itself; it must be free.
    pub fn claim(ws: &mut WriteSet, cidr: &str, owner: &[u8]) {
        if let Some((net, _)) = cidr.split_once('/') {
            let key = format!("{PREFIX}{net}").into_bytes();
            ws.depend_on(&key, 0);
            ws.put(&key, owner.to_vec());
        }
    }

    /// Frees the block `cidr` (a Node's spec.podCIDR) in `ws`.
    pub fn release(ws: &mut WriteSet, cidr: &str) {
        if let Some((net, _)) = cidr.split_once('/') {
            ws.delete(format!("{PREFIX}{net}").as_bytes());
        }
    }
}

/// Where the search for `owner`'s block starts: FNV-1a of its key, stable across replicas and
/// releases.
fn start_block(owner: &[u8], blocks: u64) -> u64 {
    let hash = owner.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    hash % blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_blocks_spread_node_keys_over_the_range() {
        let blocks = 1u64 << 14;
        let starts: std::collections::BTreeSet<u64> = (0..1000)
            .map(|i| start_block(format!("/registry/minions/hollow-{i}").as_bytes(), blocks))
            .collect();
        // 1,000 keys over 16,384 blocks: a birthday count of collisions is ~30, never hundreds.
        assert!(starts.len() > 900, "{} distinct starts", starts.len());
        assert!(starts.iter().all(|s| *s < blocks));
    }

    #[test]
    fn start_block_is_stable() {
        assert_eq!(
            start_block(b"/registry/minions/a", 256),
            start_block(b"/registry/minions/a", 256)
        );
        assert_eq!(start_block(b"anything", 1), 0);
    }
}
