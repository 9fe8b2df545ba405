//! keel-agent: runs on every node and makes the pods bound to it real.
//!
//! Data flow: the agent registers its Node through the node plane (`cell_client`), then
//! `pod_sync` follows the pods bound to the node (Objects.Watch with `spec.nodeName=<node>`) and
//! drives a [`runtime::ContainerRuntime`] to match; `reporter` sends the node's and every pod's
//! status to the cell every report interval. Runtimes: `fake` (in memory, scriptable through pod
//! annotations, for hollow nodes in scale tests); containerd over CRI is the next step.

pub mod agent;
pub mod cell_client;
pub mod config;
pub mod containerd;
pub mod node_api;
pub mod node_object;
pub mod pod_status;
pub mod pod_sync;
pub mod pods;
pub mod proxy;
pub mod reporter;
pub mod retry_backoff;
pub mod runtime;
