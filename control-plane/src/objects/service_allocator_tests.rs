//! Tests for clusterIP and nodePort allocation.

use super::*;
use k8s_openapi::api::core::v1::ServicePort;

fn spec(ty: &str, cluster_ip: Option<&str>, node_ports: &[Option<i32>]) -> ServiceSpec {
    ServiceSpec {
        type_: Some(ty.into()),
        cluster_ip: cluster_ip.map(str::to_string),
        ports: Some(
            node_ports
                .iter()
                .enumerate()
                .map(|(i, np)| ServicePort {
                    port: 80 + i as i32,
                    protocol: Some("TCP".into()),
                    node_port: *np,
                    ..Default::default()
                })
                .collect(),
        ),
        ..Default::default()
    }
}

fn used(ips: &[&str], ports: &[u16]) -> UsedAddresses {
    UsedAddresses {
        cluster_ips: ips.iter().map(|s| s.parse().unwrap()).collect(),
        node_ports: ports.iter().copied().collect(),
    }
}

#[test]
fn lowest_free_cluster_ip() {
    let a = ServiceAllocator::default();
    let mut s = spec("ClusterIP", None, &[None]);
    a.allocate(&mut s, None, &used(&[], &[])).unwrap();
    assert_eq!(s.cluster_ip.as_deref(), Some("10.96.0.1"));
    assert_eq!(s.cluster_ips, Some(vec!["10.96.0.1".to_string()]));
    let mut s = spec("ClusterIP", None, &[None]);
    a.allocate(
        &mut s,
        None,
        &used(&["10.96.0.1", "10.96.0.2", "10.96.0.4"], &[]),
    )
    .unwrap();
    assert_eq!(s.cluster_ip.as_deref(), Some("10.96.0.3"));
    assert_eq!(
        s.ports.unwrap()[0].node_port,
        None,
        "ClusterIP services get no node port"
    );
}

#[test]
fn requested_cluster_ip_checked() {
    let a = ServiceAllocator::default();
    let taken = used(&["10.96.0.10"], &[]);
    let mut ok = spec("ClusterIP", Some("10.96.0.11"), &[]);
    a.allocate(&mut ok, None, &taken).unwrap();
    let cases = [
        ("10.96.0.10", "spec.clusterIP: Invalid value: \"10.96.0.10\": provided IP is already allocated"),
        ("192.168.0.1", "spec.clusterIP: Invalid value: \"192.168.0.1\": provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12"),
        ("10.96.0.0", "spec.clusterIP: Invalid value: \"10.96.0.0\": provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12"),
        ("nope", "spec.clusterIP: Invalid value: \"nope\": must be a valid IPv4 address"),
    ];
    for (ip, message) in cases {
        let mut s = spec("ClusterIP", Some(ip), &[]);
        let errs = a.allocate(&mut s, None, &taken).unwrap_err();
        assert_eq!(
            errs.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
            vec![message]
        );
    }
    let mut headless = spec("ClusterIP", Some("None"), &[]);
    a.allocate(&mut headless, None, &taken).unwrap();
    assert_eq!(headless.cluster_ip.as_deref(), Some("None"));
    let mut ext = spec("ExternalName", None, &[]);
    a.allocate(&mut ext, None, &taken).unwrap();
    assert_eq!(ext.cluster_ip, None);
}

#[test]
fn node_ports_lowest_free_and_conflicts() {
    let a = ServiceAllocator::default();
    let mut s = spec("NodePort", None, &[None, Some(30001), None]);
    a.allocate(&mut s, None, &used(&[], &[30000, 30002]))
        .unwrap();
    let ports: Vec<_> = s.ports.unwrap().iter().map(|p| p.node_port).collect();
    assert_eq!(ports, vec![Some(30003), Some(30001), Some(30004)]);

    let mut s = spec("LoadBalancer", None, &[Some(30000), Some(80)]);
    let errs = a.allocate(&mut s, None, &used(&[], &[30000])).unwrap_err();
    let text: Vec<_> = errs.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        text,
        vec![
            "spec.ports[0].nodePort: Invalid value: 30000: provided port is already allocated",
            "spec.ports[1].nodePort: Invalid value: 80: provided port is not in the valid range. \
             The range of valid ports is 30000-32767",
        ]
    );
}

#[test]
fn exhaustion_and_custom_ranges() {
    let a = ServiceAllocator::new("10.0.0.0/30", 30000..=30001).unwrap();
    let mut s = spec("NodePort", None, &[None, None, None]);
    let errs = a
        .allocate(&mut s, None, &used(&["10.0.0.1", "10.0.0.2"], &[]))
        .unwrap_err();
    let text: Vec<_> = errs.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        text[0],
        "spec.clusterIP: Invalid value: \"\": no free addresses: the range 10.0.0.0/30 is full"
    );
    assert_eq!(
        text[1],
        "spec.ports[2].nodePort: Invalid value: 0: no free node ports in the node-port range"
    );
    assert!(ServiceAllocator::new("10.0.0.0", DEFAULT_NODE_PORTS).is_err());
    assert!(ServiceAllocator::new("10.0.0.0/31", DEFAULT_NODE_PORTS).is_err());
    assert_eq!(
        Ipv4Cidr::parse("10.96.7.9/12").unwrap().to_string(),
        "10.96.0.0/12"
    );
}

#[test]
fn updates_keep_allocated_values() {
    let a = ServiceAllocator::default();
    let mut stored = spec("NodePort", None, &[None]);
    a.allocate(&mut stored, None, &used(&[], &[])).unwrap();
    let mut others = used(&[], &[]);
    others.add_service(&stored); // the store still holds the old version of this service
    let mut update = spec("NodePort", None, &[None]);
    a.allocate(&mut update, Some(&stored), &UsedAddresses::default())
        .unwrap();
    assert_eq!(update.cluster_ip, stored.cluster_ip);
    assert_eq!(update.ports.as_ref().unwrap()[0].node_port, Some(30000));
    let mut same = stored.clone();
    a.allocate(&mut same, Some(&stored), &others).unwrap();
    assert_eq!(
        same, stored,
        "re-sending the allocated values is not a conflict"
    );
}
