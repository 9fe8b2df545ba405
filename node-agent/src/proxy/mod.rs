//! Services on the node — kube-proxy's job: every Service's virtual IPs and nodePorts
//! programmed in the kernel with nftables, balancing new connections over the ready endpoints.
//!
//! Pieces: [`service_ports`] (Services + Endpoints → what to program) and [`ruleset`] (→ one
//! nft script) are pure; [`object_mirror`] keeps Services and Endpoints from the cell,
//! [`nft`] runs the `nft` binary, [`kernel_settings`] sets the sysctls the rules need, and
//! [`proxier`] is the loop tying them together (started by the agent, stopped with it).
//!
//! **Several agents on one host** (tests run two or more "nodes" on one machine, each with its
//! own containerd and bridge): every agent with `--proxy-mode nftables` owns one table,
//! `ip keel-proxy-<node>`, and never touches another's. All agents see the same Services and
//! Endpoints, so their tables agree once they have caught up, and they coexist because of how
//! netfilter chains NAT: for a new connection the dstnat chains of all tables run in priority
//! order until one sets up a translation, and the later ones are skipped — the first table to
//! know a backend wins, identical tables pick from identical backend sets. Rejects happen in
//! filter chains, which run after every table's dstnat and only see connections nothing
//! translated, so an agent that has not yet seen a Service's endpoints never breaks a
//! neighbour that has. An agent removes its table when it stops; a SIGKILLed agent's table
//! stays (rules of a node that may come back, as kube-proxy's do) until that agent starts again
//! and replaces it. `--proxy-mode none` leaves the kernel alone (hollow nodes, or a host where
//! only one agent should program Services).
//!
//! Not yet: sessionAffinity, internal/externalTrafficPolicy `Local` (every endpoint is used),
//! IPv6, SCTP, LoadBalancer ingress IPs; UDP conntrack entries of removed endpoints are not
//! flushed.

pub mod kernel_settings;
pub mod nft;
pub mod object_mirror;
pub mod proxier;
pub mod ruleset;
pub mod service_ports;

pub use proxier::{Proxier, ProxyOptions};

pub use ruleset::{render, table_name, RulesetOptions, MASQUERADE_MARK};
pub use service_ports::{service_ports, Backend, Protocol, ServicePort};
