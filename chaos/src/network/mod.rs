//! Real network faults for a local cell: every replica in its own network namespace.
//!
//! # Why namespaces (and nftables), not a fault proxy
//!
//! A replica dials its peers at the one address each member has in the Raft membership, the same
//! address clients use. A proxy per link would need a different address for "A's view of B" and
//! "C's view of B", which the server cannot express; a per-replica proxy in front of each listen
//! address could cut a replica off entirely but not one link, nor one direction. So, as root, each
//! replica runs in a network namespace of its own (`kc<pid>-r<id>`) with address `10.77.0.<10+id>`
//! on a veth whose other end sits on a bridge inside a hub namespace (`kc<pid>-hub`,
//! `10.77.0.1/24`) that this run creates and that the runner itself enters
//! ([`NetnsLab::enter_hub`]) before it starts any thread. No address, route or rule is added to the
//! machine's own namespace: all test traffic stays inside namespaces the run created.
//!
//! Links are cut or made lossy with nftables in the sending replica's namespace
//! (`ip daddr <peer> drop`, `numgen random mod 100 < N drop`) — one table per namespace, rewritten
//! atomically from the desired state ([`LinkRules`]). This kernel has no `netem`, `prio` or `gact`
//! (tc can only shape, with `tbf`), so fixed link delay is not available here; a link can be slowed
//! with a `tbf` rate limit instead ([`NetnsLab::set_rate_limit`]).
//!
//! # Cleanup
//!
//! Names carry the pid of the run that made them. [`remove_stale_namespaces`] deletes every
//! `kc<pid>-…` namespace whose pid is gone (a crashed earlier run); deleting a namespace removes its
//! veth, bridge and rules with it. A lab removes its own namespaces when torn down or dropped, and
//! replicas die with their runner (`PR_SET_PDEATHSIG`), so nothing keeps a stale namespace busy.

mod link_rules;
mod netns_lab;
mod netns_names;
mod stale_cleanup;
mod tool;

pub use link_rules::{LinkRules, LinkState};
pub use netns_lab::NetnsLab;
pub use netns_names::NetnsNames;
pub use stale_cleanup::remove_stale_namespaces;
pub use tool::run_tool;
