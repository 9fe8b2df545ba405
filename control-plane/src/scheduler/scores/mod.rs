//! Score plugins, one per file. Each gives every feasible node a score in 0..=100 after
//! normalising; the registry weighs and sums them.

mod balanced_allocation;
mod least_allocated;
mod node_affinity;
mod owner_spread;

#[cfg(test)]
mod tests;

pub use balanced_allocation::BalancedAllocation;
pub use least_allocated::LeastAllocated;
pub use node_affinity::PreferredNodeAffinity;
pub use owner_spread::OwnerSpread;
