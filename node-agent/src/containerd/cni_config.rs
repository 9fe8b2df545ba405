//! The CNI network of one agent's pods: a conflist with the `bridge` plugin (host-local IPAM over
//! the node's pod CIDR, gateway `.1`, which is also the pods' default route, so they reach
//! Service VIPs and other nodes' pods through the host; leases kept under the agent's dir) and
//! `portmap` for hostPorts (with SNAT, so a hostPort answers on 127.0.0.1 too). containerd's
//! CRI adds the `loopback` network itself. The bridge and network names are unique per node, so
//! several agents share one machine.

use serde_json::{json, Value};

/// A Linux interface name (≤ 15 bytes) unique to `node`: `keel` + 8 hex digits of a hash.
pub fn bridge_name(node: &str) -> String {
    // FNV-1a: stable across runs and Rust versions (unlike DefaultHasher).
    let mut h: u32 = 0x811c_9dc5;
    for b in node.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("keel{h:08x}")
}

/// The conflist for `node` with pod CIDR `cidr` ("10.244.3.0/24"); host-local keeps its leases
/// in `ipam_dir`.
pub fn cni_conflist(node: &str, cidr: &str, ipam_dir: &str) -> Value {
    let bridge = bridge_name(node);
    json!({
        "cniVersion": "0.4.0",
        "name": format!("keel-{bridge}"),
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge,
                "isGateway": true,
                "isDefaultGateway": true,
                "ipMasq": false,
                "hairpinMode": true,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": cidr}]],
                    "dataDir": ipam_dir
                }
            },
            {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true}
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridge_names_are_short_stable_and_distinct() {
        let a = bridge_name("node-a");
        assert_eq!(a, bridge_name("node-a"));
        assert_ne!(a, bridge_name("node-b"));
        assert!(a.len() <= 15, "{a}");
    }

    #[test]
    fn the_conflist_serves_the_pod_cidr_with_host_ports() {
        let c = cni_conflist("n1", "10.244.7.0/24", "/agent/ipam");
        assert_eq!(c["plugins"][0]["type"], "bridge");
        assert_eq!(c["plugins"][0]["bridge"], bridge_name("n1"));
        assert_eq!(c["plugins"][0]["isDefaultGateway"], true);
        assert_eq!(
            c["plugins"][0]["ipam"]["ranges"][0][0]["subnet"],
            "10.244.7.0/24"
        );
        assert_eq!(c["plugins"][0]["ipam"]["dataDir"], "/agent/ipam");
        assert_eq!(c["plugins"][1]["type"], "portmap");
        assert_eq!(c["plugins"][1]["capabilities"]["portMappings"], true);
    }
}
