//! Unit tests of [`super::render`]: the rules each kind of service port gets, and the whole
//! script accepted by `nft --check`.

use super::*;
use crate::proxy::service_ports::{Backend, Protocol, ServicePort};

fn port(name: &str, backends: &[(&str, u16)], node_port: Option<u16>) -> ServicePort {
    port_on("10.96.0.10", name, backends, node_port)
}

fn port_on(vip: &str, name: &str, backends: &[(&str, u16)], node_port: Option<u16>) -> ServicePort {
    ServicePort {
        namespace: "default".into(),
        name: name.into(),
        port_name: String::new(),
        protocol: Protocol::Tcp,
        port: 80,
        virtual_ips: vec![vip.parse().unwrap()],
        node_port,
        backends: backends
            .iter()
            .map(|(ip, port)| Backend {
                ip: ip.parse().unwrap(),
                port: *port,
            })
            .collect(),
    }
}

fn opts() -> RulesetOptions {
    RulesetOptions {
        table: table_name("node-a"),
        service_cidr: Some(("10.96.0.0".parse().unwrap(), 12)),
    }
}

/// The lines of chain `name` (without the braces).
fn chain_body(script: &str, name: &str) -> Vec<String> {
    block(script, &format!("chain {name}"))
}

/// The lines of the block opened by `head` ("chain x", "set y"), without the braces.
fn block(script: &str, head: &str) -> Vec<String> {
    let open = format!("\t{head} {{");
    let mut lines = script.lines().skip_while(|l| *l != open);
    assert!(lines.next().is_some(), "no {head} in:\n{script}");
    lines
        .take_while(|l| *l != "\t}")
        .map(|l| l.trim().to_string())
        .collect()
}

#[test]
fn the_script_replaces_the_agents_own_table_in_one_transaction() {
    let s = render(&opts(), &[]);
    let lines: Vec<&str> = s.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(lines[0], "table ip keel-proxy-node-a");
    assert_eq!(lines[1], "delete table ip keel-proxy-node-a");
    assert_eq!(lines[2], "table ip keel-proxy-node-a {");
    assert_eq!(s.matches("table ip ").count(), 3, "no other table: {s}");
    assert_eq!(
        delete_script("keel-proxy-node-a"),
        "delete table ip keel-proxy-node-a\n"
    );
}

#[test]
fn a_cluster_ip_balances_over_its_ready_backends_with_numgen() {
    let p = port("web", &[("10.244.0.2", 8080), ("10.244.1.3", 8080)], None);
    let s = render(&opts(), &[p]);
    assert!(
        s.contains("elements = { 10.96.0.10 . tcp . 80 : goto svc-default/web/tcp/80 }"),
        "{s}"
    );
    let svc = chain_body(&s, "svc-default/web/tcp/80");
    assert_eq!(
        svc,
        [
            "fib saddr type local meta mark set meta mark | 0x00400000",
            "numgen random mod 2 vmap { 0 : goto ep-default/web/tcp/80/10.244.0.2/8080, \
             1 : goto ep-default/web/tcp/80/10.244.1.3/8080 }"
        ]
    );
    let ep = chain_body(&s, "ep-default/web/tcp/80/10.244.1.3/8080");
    assert_eq!(
        ep,
        [
            "ip saddr 10.244.1.3 meta mark set meta mark | 0x00400000",
            "meta l4proto tcp dnat to 10.244.1.3:8080"
        ],
        "hairpin traffic is masqueraded, the rest DNATed"
    );
    assert!(!s.contains("chain ext-"), "no nodePort, no ext chain: {s}");
    assert_eq!(
        block(&s, "set no-endpoint-services"),
        ["type ipv4_addr . inet_proto . inet_service"],
        "a served port is not rejected"
    );
}

#[test]
fn one_backend_needs_no_numgen() {
    let s = render(&opts(), &[port("one", &[("10.244.0.2", 80)], None)]);
    let svc = chain_body(&s, "svc-default/one/tcp/80");
    assert_eq!(svc[1], "goto ep-default/one/tcp/80/10.244.0.2/80");
    assert!(!s.contains("numgen"), "{s}");
}

#[test]
fn a_node_port_is_served_on_local_addresses_and_masqueraded() {
    let p = port("np", &[("10.244.0.2", 8080)], Some(30080));
    let s = render(&opts(), &[p]);
    assert!(
        s.contains("elements = { tcp . 30080 : goto ext-default/np/tcp/80 }"),
        "{s}"
    );
    assert_eq!(
        chain_body(&s, "services"),
        [
            "ip daddr . meta l4proto . th dport vmap @service-ips",
            "fib daddr type local meta l4proto . th dport vmap @service-nodeports"
        ]
    );
    assert_eq!(
        chain_body(&s, "ext-default/np/tcp/80"),
        [
            "meta mark set meta mark | 0x00400000",
            "goto svc-default/np/tcp/80"
        ]
    );
    assert_eq!(
        chain_body(&s, "nat-postrouting"),
        [
            "type nat hook postrouting priority 100; policy accept;",
            "meta mark & 0x00400000 == 0x00400000 masquerade"
        ]
    );
    assert_eq!(
        chain_body(&s, "nat-output")[0],
        "type nat hook output priority -100; policy accept;"
    );
}

#[test]
fn a_port_without_ready_endpoints_is_rejected_not_translated() {
    let p = port("empty", &[], Some(30081));
    let s = render(&opts(), &[p]);
    assert!(!s.contains("chain svc-"), "{s}");
    assert!(!s.contains("goto"), "nothing to translate to: {s}");
    assert_eq!(
        block(&s, "set no-endpoint-services")[1],
        "elements = { 10.96.0.10 . tcp . 80 }"
    );
    assert_eq!(
        block(&s, "set no-endpoint-nodeports")[1],
        "elements = { tcp . 30081 }"
    );
    assert_eq!(block(&s, "map service-ips").len(), 1, "no elements: {s}");
    assert_eq!(
        chain_body(&s, "reject-unserved"),
        [
            "ip daddr . meta l4proto . th dport @no-endpoint-services reject",
            "fib daddr type local meta l4proto . th dport @no-endpoint-nodeports reject",
            "ip daddr 10.96.0.0/12 reject"
        ]
    );
    for hook in ["input", "forward", "output"] {
        assert_eq!(
            chain_body(&s, &format!("filter-{hook}")),
            [
                format!("type filter hook {hook} priority 0; policy accept;"),
                "ct state new jump reject-unserved".to_string()
            ]
        );
    }
}

#[test]
fn without_a_service_cidr_only_ports_without_endpoints_are_rejected() {
    let o = RulesetOptions {
        service_cidr: None,
        ..opts()
    };
    let s = render(&o, &[]);
    assert_eq!(chain_body(&s, "reject-unserved").len(), 2, "{s}");
}

#[test]
fn names_that_are_not_identifiers_are_hashed() {
    assert_eq!(table_name("node-a.example"), "keel-proxy-node-a.example");
    let odd = table_name("bad name;flush ruleset");
    assert!(odd.starts_with("keel-proxy-h") && odd.len() == 28, "{odd}");
    assert_eq!(odd, table_name("bad name;flush ruleset"), "stable");
    let mut p = port("x", &[("10.244.0.2", 80)], None);
    p.name = "x y".into();
    let s = render(&opts(), &[p]);
    assert!(!s.contains("x y"), "{s}");
}

#[test]
fn a_vip_or_node_port_claimed_twice_goes_to_the_first_claim_only() {
    let ports = [
        port("a", &[("10.244.0.2", 80)], Some(30001)),
        port("b", &[("10.244.0.3", 80)], Some(30001)),
        port("c", &[], Some(30001)),
    ];
    let s = render(&opts(), &ports);
    assert_eq!(
        block(&s, "map service-ips")[1],
        "elements = { 10.96.0.10 . tcp . 80 : goto svc-default/a/tcp/80 }"
    );
    assert_eq!(
        block(&s, "map service-nodeports")[1],
        "elements = { tcp . 30001 : goto ext-default/a/tcp/80 }"
    );
    assert_eq!(block(&s, "set no-endpoint-services").len(), 1, "{s}");
    assert_eq!(block(&s, "set no-endpoint-nodeports").len(), 1, "{s}");
}

#[test]
fn the_same_input_renders_the_same_text() {
    let ports = [
        port("a", &[("10.244.0.2", 80), ("10.244.0.3", 80)], Some(30001)),
        port("b", &[], None),
    ];
    assert_eq!(render(&opts(), &ports), render(&opts(), &ports));
}

/// nft itself parses and checks the script (`--check`: nothing reaches the kernel). Needs the
/// `nft` binary (scripts/test.sh installs nftables) and root, as the agent does.
#[test]
fn nft_accepts_the_script() {
    use std::io::Write;
    let mut udp = port_on(
        "10.96.0.10",
        "dns",
        &[("10.244.0.2", 53), ("10.244.1.2", 53)],
        Some(30053),
    );
    udp.protocol = Protocol::Udp;
    udp.port = 53;
    let web = [
        ("10.244.0.2", 8080),
        ("10.244.1.3", 8080),
        ("10.244.1.4", 8080),
    ];
    let ports = [
        port_on("10.96.0.10", "web", &web, Some(30080)),
        port_on("10.96.0.11", "one", &[("10.244.0.9", 80)], None),
        port_on("10.96.0.12", "empty", &[], Some(30081)),
        // Claims web's VIP and nodePort again: skipped, not a failed transaction.
        port_on("10.96.0.10", "clash", &[("10.244.0.5", 80)], Some(30080)),
        port_on("10.96.0.10", "clash-empty", &[], Some(30080)),
        udp,
    ];
    let script = render(&opts(), &ports);
    let mut child = std::process::Command::new("nft")
        .args(["--check", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("nft runs (install nftables)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "nft --check rejects the script: {}\n{script}",
        String::from_utf8_lossy(&out.stderr)
    );
}
