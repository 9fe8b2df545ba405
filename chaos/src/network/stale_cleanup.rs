//! Removing what a crashed earlier run left behind: its network namespaces (and with them their
//! veths, bridge and nftables rules).

use std::path::Path;

use super::{run_tool, NetnsNames};

/// Where `ip netns` keeps its named namespaces.
const NETNS_DIR: &str = "/run/netns";

/// Deletes every `kc<pid>-…` namespace whose run (pid) no longer exists, and returns their names.
/// Namespaces of live runs are left alone, so concurrent runs do not disturb each other.
pub fn remove_stale_namespaces() -> anyhow::Result<Vec<String>> {
    let mut removed = Vec::new();
    let entries = match std::fs::read_dir(NETNS_DIR) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(removed),
        Err(e) => return Err(e.into()),
    };
    for entry in entries {
        let name = entry?.file_name().to_string_lossy().to_string();
        let Some(pid) = NetnsNames::owner_of(&name) else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        run_tool("ip", &["netns", "del", &name], None)?;
        removed.push(name);
    }
    Ok(removed)
}
