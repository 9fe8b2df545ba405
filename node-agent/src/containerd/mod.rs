//! Supervising the node's own containerd: its generated config (own socket, root and state; the
//! CRI plugin with the sandbox image, CNI directories and the local registry), the CNI conflist
//! for the node's pod CIDR, and the process itself (started, restarted when it dies, stopped by
//! pid with the agent).

pub mod cni_config;
pub mod config_toml;
pub mod node_setup;
pub mod supervisor;

pub use cni_config::{bridge_name, cni_conflist};
pub use config_toml::{containerd_config, ContainerdLayout};
pub use supervisor::Supervisor;
