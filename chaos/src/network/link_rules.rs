//! What one replica's outgoing links should do, and the nftables script that makes it so.

use std::collections::BTreeMap;

/// The name of the nftables table keel-chaos owns in each replica namespace.
pub const TABLE: &str = "keel_chaos";

/// One outgoing link's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    Open,
    /// Every packet to the peer is dropped.
    Blocked,
    /// This percentage (1..=99) of packets to the peer is dropped at random.
    Lossy(u8),
}

/// The state of every outgoing link of one replica that is not open, by peer IP address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkRules {
    pub links: BTreeMap<String, LinkState>,
}

impl LinkRules {
    /// Sets the link to `peer_ip` (an open link is forgotten).
    pub fn set(&mut self, peer_ip: &str, state: LinkState) {
        match state {
            LinkState::Open => {
                self.links.remove(peer_ip);
            }
            other => {
                self.links.insert(peer_ip.to_string(), other);
            }
        }
    }

    pub fn get(&self, peer_ip: &str) -> LinkState {
        self.links.get(peer_ip).copied().unwrap_or(LinkState::Open)
    }

    /// An `nft -f` script that atomically replaces keel-chaos's table with these rules (the
    /// `add table` first makes the `delete` valid when the table does not exist yet).
    pub fn nft_script(&self) -> String {
        let mut rules = String::new();
        for (ip, state) in &self.links {
            match state {
                LinkState::Open => {}
                LinkState::Blocked => rules.push_str(&format!("    ip daddr {ip} drop\n")),
                LinkState::Lossy(pct) => rules.push_str(&format!(
                    "    ip daddr {ip} numgen random mod 100 < {} drop\n",
                    pct.clamp(&1, &99)
                )),
            }
        }
        format!(
            "add table inet {TABLE}\ndelete table inet {TABLE}\ntable inet {TABLE} {{\n  chain out {{\n    type filter hook output priority 0; policy accept;\n{rules}  }}\n}}\n"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_blocked_and_lossy_links_and_forgets_open_ones() {
        let mut r = LinkRules::default();
        r.set("10.77.0.12", LinkState::Blocked);
        r.set("10.77.0.13", LinkState::Lossy(30));
        let script = r.nft_script();
        assert!(script.contains("ip daddr 10.77.0.12 drop"), "{script}");
        assert!(
            script.contains("ip daddr 10.77.0.13 numgen random mod 100 < 30 drop"),
            "{script}"
        );
        assert!(script.starts_with("add table inet keel_chaos\ndelete table inet keel_chaos\n"));
        r.set("10.77.0.12", LinkState::Open);
        r.set("10.77.0.13", LinkState::Open);
        assert_eq!(r, LinkRules::default());
        assert!(!r.nft_script().contains("daddr"));
        assert_eq!(r.get("10.77.0.12"), LinkState::Open);
    }
}
