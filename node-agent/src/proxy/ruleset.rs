//! `render`: the nftables script that makes one agent's proxy table match a list of
//! [`ServicePort`]s — pure text, applied in one `nft -f` transaction by the caller.
//!
//! The table (family `ip`, one per agent, see the module doc of `proxy` for why):
//! - `nat-prerouting` (traffic from pods and other hosts) and `nat-output` (from this host), both
//!   at priority -100 (dstnat), jump to `services`: `ip daddr . l4proto . dport` looked up in the
//!   `service-ips` verdict map (clusterIPs and externalIPs), then, for a destination that is one
//!   of this host's addresses (`fib daddr type local`, so every node address and 127.0.0.1),
//!   `l4proto . dport` in the `service-nodeports` map.
//! - `svc-<ns>/<name>/<proto>/<port>` picks a backend with `numgen random mod N` and a verdict
//!   map; `ep-…/<ip>/<port>` DNATs to it. `ext-…` (a nodePort) marks the packet for masquerade
//!   first.
//! - Masquerade (`nat-postrouting`, priority 100) only for marked packets: every nodePort
//!   connection (its client may be 127.0.0.1, which a pod cannot answer — with
//!   `route_localnet` the kernel lets such a packet leave through the bridge, masquerade gives it
//!   the bridge's address), any client on this host (`fib saddr type local`: 127.0.0.1 or a
//!   node address, which a pod may have no route back to), and hairpin traffic (a pod reaching
//!   itself through its Service, which it would otherwise answer without un-DNAT).
//! - `filter-input|forward|output` (priority 0) reject new connections nothing translated: to a
//!   service port without ready endpoints (`no-endpoint-services`, `no-endpoint-nodeports`) and
//!   to anything else in the service CIDR, so VIP traffic never leaks to the default route.
//!   Filter chains run after every table's dstnat, so a reject here never undoes another
//!   table's DNAT.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;

use super::service_ports::ServicePort;

/// The packet mark bit asking `nat-postrouting` to masquerade (kube-proxy uses 0x4000; Keel's
/// own bit keeps the two apart on a host that runs both).
pub const MASQUERADE_MARK: u32 = 0x0040_0000;

/// What the script is for besides the service ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesetOptions {
    /// The table's name (`ip` family); see [`table_name`].
    pub table: String,
    /// The cluster's service CIDR: new connections to an address in it that no rule translated
    /// are rejected. `None`: only service ports without endpoints are.
    pub service_cidr: Option<(Ipv4Addr, u8)>,
}

/// The proxy table of node `node`: `keel-proxy-<node>` (node names are DNS subdomains, which
/// nft accepts as identifiers), or a hash of it when the name is not one.
pub fn table_name(node: &str) -> String {
    identifier("keel-proxy-", node)
}

/// The script replacing `opts.table` with the rules for `ports` in one transaction: create it
/// (so the delete cannot fail), delete it, define it anew.
pub fn render(opts: &RulesetOptions, ports: &[ServicePort]) -> String {
    let t = &opts.table;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# keel-agent service proxy: generated, replaced as a whole"
    );
    let _ = writeln!(s, "table ip {t}");
    let _ = writeln!(s, "delete table ip {t}");
    let _ = writeln!(s, "table ip {t} {{");

    // Map keys must be unique in one nft transaction: when two service ports claim the same
    // VIP:port or nodePort (an externalIP equal to another Service's clusterIP, say), the
    // first by id wins; a key some port serves is never in a reject set.
    let mut service_ips = Elements::default();
    let mut node_ports = Elements::default();
    let mut dead_ips = Elements::default();
    let mut dead_node_ports = Elements::default();
    for p in ports.iter().filter(|p| !p.backends.is_empty()) {
        let proto = p.protocol.nft();
        let svc = chain_name("svc-", p);
        for ip in &p.virtual_ips {
            service_ips.add(
                format!("{ip} . {proto} . {}", p.port),
                format!(" : goto {svc}"),
            );
        }
        if let Some(node_port) = p.node_port {
            let ext = chain_name("ext-", p);
            node_ports.add(format!("{proto} . {node_port}"), format!(" : goto {ext}"));
        }
    }
    for p in ports.iter().filter(|p| p.backends.is_empty()) {
        let proto = p.protocol.nft();
        for ip in &p.virtual_ips {
            let key = format!("{ip} . {proto} . {}", p.port);
            if !service_ips.has(&key) {
                dead_ips.add(key, String::new());
            }
        }
        if let Some(node_port) = p.node_port {
            let key = format!("{proto} . {node_port}");
            if !node_ports.has(&key) {
                dead_node_ports.add(key, String::new());
            }
        }
    }
    collection(
        &mut s,
        "map service-ips",
        "ipv4_addr . inet_proto . inet_service : verdict",
        &service_ips.0,
    );
    collection(
        &mut s,
        "map service-nodeports",
        "inet_proto . inet_service : verdict",
        &node_ports.0,
    );
    collection(
        &mut s,
        "set no-endpoint-services",
        "ipv4_addr . inet_proto . inet_service",
        &dead_ips.0,
    );
    collection(
        &mut s,
        "set no-endpoint-nodeports",
        "inet_proto . inet_service",
        &dead_node_ports.0,
    );

    base_chain(
        &mut s,
        "nat-prerouting",
        "nat",
        "prerouting",
        -100,
        "jump services",
    );
    base_chain(&mut s, "nat-output", "nat", "output", -100, "jump services");
    let masquerade =
        format!("meta mark & {MASQUERADE_MARK:#010x} == {MASQUERADE_MARK:#010x} masquerade");
    base_chain(
        &mut s,
        "nat-postrouting",
        "nat",
        "postrouting",
        100,
        &masquerade,
    );
    chain(
        &mut s,
        "services",
        &[
            "ip daddr . meta l4proto . th dport vmap @service-ips".to_string(),
            "fib daddr type local meta l4proto . th dport vmap @service-nodeports".to_string(),
        ],
    );
    for hook in ["input", "forward", "output"] {
        let name = format!("filter-{hook}");
        base_chain(
            &mut s,
            &name,
            "filter",
            hook,
            0,
            "ct state new jump reject-unserved",
        );
    }
    let mut unserved = vec![
        "ip daddr . meta l4proto . th dport @no-endpoint-services reject".to_string(),
        "fib daddr type local meta l4proto . th dport @no-endpoint-nodeports reject".to_string(),
    ];
    if let Some((net, prefix)) = opts.service_cidr {
        unserved.push(format!("ip daddr {net}/{prefix} reject"));
    }
    chain(&mut s, "reject-unserved", &unserved);

    for p in ports.iter().filter(|p| !p.backends.is_empty()) {
        service_chains(&mut s, p);
    }
    let _ = writeln!(s, "}}");
    s
}

/// The script removing `table` (and nothing else); it fails if the table does not exist.
pub fn delete_script(table: &str) -> String {
    format!("delete table ip {table}\n")
}

/// `svc-…` (balance), `ext-…` (nodePort: mark, then balance) and one `ep-…` per backend.
fn service_chains(s: &mut String, p: &ServicePort) {
    let mark = format!("meta mark set meta mark | {MASQUERADE_MARK:#010x}");
    let svc = chain_name("svc-", p);
    let endpoint_chains: Vec<String> = p
        .backends
        .iter()
        .map(|b| identifier("ep-", &format!("{}/{}/{}", p.id(), b.ip, b.port)))
        .collect();
    let pick = if let [only] = endpoint_chains.as_slice() {
        format!("goto {only}")
    } else {
        let arms: Vec<String> = endpoint_chains
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{i} : goto {c}"))
            .collect();
        format!(
            "numgen random mod {} vmap {{ {} }}",
            endpoint_chains.len(),
            arms.join(", ")
        )
    };
    chain(s, &svc, &[format!("fib saddr type local {mark}"), pick]);
    if p.node_port.is_some() {
        chain(
            s,
            &chain_name("ext-", p),
            &[mark.clone(), format!("goto {svc}")],
        );
    }
    for (b, name) in p.backends.iter().zip(&endpoint_chains) {
        chain(
            s,
            name,
            &[
                format!("ip saddr {} {mark}", b.ip),
                format!(
                    "meta l4proto {} dnat to {}:{}",
                    p.protocol.nft(),
                    b.ip,
                    b.port
                ),
            ],
        );
    }
}

/// Set or map elements by key (`key` + `value`, e.g. " : goto c"), the first of a key kept.
#[derive(Default)]
struct Elements(BTreeMap<String, String>);

impl Elements {
    fn add(&mut self, key: String, value: String) {
        self.0.entry(key).or_insert(value);
    }

    fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }
}

fn collection(s: &mut String, head: &str, type_: &str, elements: &BTreeMap<String, String>) {
    let _ = writeln!(s, "\t{head} {{\n\t\ttype {type_}");
    if !elements.is_empty() {
        let items: Vec<String> = elements.iter().map(|(k, v)| format!("{k}{v}")).collect();
        let _ = writeln!(s, "\t\telements = {{ {} }}", items.join(", "));
    }
    let _ = writeln!(s, "\t}}");
}

fn base_chain(s: &mut String, name: &str, type_: &str, hook: &str, priority: i32, rule: &str) {
    let _ = writeln!(
        s,
        "\tchain {name} {{\n\t\ttype {type_} hook {hook} priority {priority}; policy accept;\n\t\t{rule}\n\t}}"
    );
}

fn chain(s: &mut String, name: &str, rules: &[String]) {
    let _ = writeln!(s, "\tchain {name} {{");
    for rule in rules {
        let _ = writeln!(s, "\t\t{rule}");
    }
    let _ = writeln!(s, "\t}}");
}

fn chain_name(prefix: &str, p: &ServicePort) -> String {
    identifier(prefix, &p.id())
}

/// `prefix` + `raw` when that is a safe nft identifier (letters, digits, `-` `.` `/` `_`; the
/// prefix starts with a letter; well under nft's 256-byte limit), else `prefix` + a hash of
/// `raw`, so no object name can break or inject into the script.
fn identifier(prefix: &str, raw: &str) -> String {
    let safe = !raw.is_empty()
        && raw.len() <= 200
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'/' | b'_'));
    if safe {
        format!("{prefix}{raw}")
    } else {
        // FNV-1a 64: stable across runs and Rust versions.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in raw.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{prefix}h{h:016x}")
    }
}

#[cfg(test)]
#[path = "ruleset_tests.rs"]
mod tests;
