//! `ServicePort`: what the proxy programs for one port of one Service — its virtual IPs
//! (clusterIPs and externalIPs), its nodePort, and the ready backends the Endpoints object of
//! the same name lists for that port. [`service_ports`] derives them from the Services and
//! Endpoints the agent watches; it is pure.
//!
//! Kubernetes' rules, as kube-proxy applies them: a Service port is matched to an Endpoints port
//! by name (both empty for a single unnamed port) and protocol; only `addresses` (ready pods)
//! are backends, never `notReadyAddresses`; ExternalName and headless Services get nothing;
//! IPv6 addresses and SCTP are skipped (the table is `ip`, TCP and UDP).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::{Endpoints, Service};

/// The transport protocols the proxy balances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    /// Kubernetes' spelling ("TCP", "UDP"; absent means TCP); `None` for SCTP or anything else.
    pub fn parse(k8s: Option<&str>) -> Option<Protocol> {
        match k8s.unwrap_or("TCP") {
            "TCP" => Some(Protocol::Tcp),
            "UDP" => Some(Protocol::Udp),
            _ => None,
        }
    }

    /// nftables' spelling.
    pub fn nft(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// One ready endpoint of a service port: a pod IP and the port it serves on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Backend {
    pub ip: Ipv4Addr,
    pub port: u16,
}

/// One port of one Service, with everything needed to program it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePort {
    pub namespace: String,
    pub name: String,
    /// The port's name ("" for a single unnamed port).
    pub port_name: String,
    pub protocol: Protocol,
    /// The port on the virtual IPs.
    pub port: u16,
    /// clusterIPs and externalIPs (IPv4), sorted, without duplicates.
    pub virtual_ips: Vec<Ipv4Addr>,
    /// The nodePort, for NodePort and LoadBalancer Services.
    pub node_port: Option<u16>,
    /// Ready endpoints, sorted, without duplicates; empty means "reject".
    pub backends: Vec<Backend>,
}

impl ServicePort {
    /// `namespace/name/protocol/port`: unique among all service ports.
    pub fn id(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.namespace,
            self.name,
            self.protocol.nft(),
            self.port
        )
    }
}

/// The service ports of `services`, backed by `endpoints` (keyed by namespace and name), sorted
/// by [`ServicePort::id`].
pub fn service_ports<'a>(
    services: impl IntoIterator<Item = &'a Service>,
    endpoints: &BTreeMap<(String, String), Endpoints>,
) -> Vec<ServicePort> {
    let mut out = Vec::new();
    for service in services {
        let Some(spec) = service.spec.as_ref() else {
            continue;
        };
        if spec.type_.as_deref() == Some("ExternalName") {
            continue;
        }
        let namespace = service.metadata.namespace.clone().unwrap_or_default();
        let name = service.metadata.name.clone().unwrap_or_default();
        let virtual_ips: BTreeSet<Ipv4Addr> = spec
            .cluster_ips
            .iter()
            .flatten()
            .chain(spec.cluster_ip.iter())
            .chain(spec.external_ips.iter().flatten())
            .filter_map(|ip| ip.parse().ok())
            .collect();
        let ep = endpoints.get(&(namespace.clone(), name.clone()));
        for port in spec.ports.iter().flatten() {
            let (Some(protocol), Ok(number)) = (
                Protocol::parse(port.protocol.as_deref()),
                u16::try_from(port.port),
            ) else {
                continue;
            };
            let node_port = port.node_port.and_then(|p| u16::try_from(p).ok());
            if virtual_ips.is_empty() && node_port.is_none() {
                continue; // headless: clients resolve the pods themselves
            }
            let port_name = port.name.clone().unwrap_or_default();
            out.push(ServicePort {
                namespace: namespace.clone(),
                name: name.clone(),
                backends: ep
                    .map(|e| backends(e, &port_name, protocol))
                    .unwrap_or_default(),
                port_name,
                protocol,
                port: number,
                virtual_ips: virtual_ips.iter().copied().collect(),
                node_port,
            });
        }
    }
    out.sort_by_key(ServicePort::id);
    out.dedup_by_key(|p| p.id());
    out
}

/// The ready addresses of `endpoints` for the port named `port_name` with `protocol`.
fn backends(endpoints: &Endpoints, port_name: &str, protocol: Protocol) -> Vec<Backend> {
    let mut found = BTreeSet::new();
    for subset in endpoints.subsets.iter().flatten() {
        let Some(port) = subset.ports.iter().flatten().find(|p| {
            p.name.as_deref().unwrap_or("") == port_name
                && Protocol::parse(p.protocol.as_deref()) == Some(protocol)
        }) else {
            continue;
        };
        let Ok(port) = u16::try_from(port.port) else {
            continue;
        };
        for address in subset.addresses.iter().flatten() {
            if let Ok(ip) = address.ip.parse() {
                found.insert(Backend { ip, port });
            }
        }
    }
    found.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service(v: serde_json::Value) -> Service {
        serde_json::from_value(v).unwrap()
    }

    fn endpoints_map(v: serde_json::Value) -> BTreeMap<(String, String), Endpoints> {
        let e: Endpoints = serde_json::from_value(v).unwrap();
        let key = (
            e.metadata.namespace.clone().unwrap(),
            e.metadata.name.clone().unwrap(),
        );
        BTreeMap::from([(key, e)])
    }

    #[test]
    fn ports_match_endpoints_by_name_and_only_ready_addresses_count() {
        let svc = service(json!({"metadata": {"namespace": "default", "name": "web"},
            "spec": {"type": "NodePort", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                "externalIPs": ["192.0.2.50", "2001:db8::1"],
                "ports": [
                    {"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30080},
                    {"name": "dns", "port": 53, "protocol": "UDP"},
                    {"name": "sctp", "port": 9, "protocol": "SCTP"}]}}));
        let eps = endpoints_map(json!({"metadata": {"namespace": "default", "name": "web"},
            "subsets": [
                {"addresses": [{"ip": "10.244.1.3"}, {"ip": "10.244.0.2"}],
                 "notReadyAddresses": [{"ip": "10.244.0.9"}],
                 "ports": [{"name": "http", "port": 8080}, {"name": "dns", "port": 5353, "protocol": "UDP"}]},
                {"addresses": [{"ip": "10.244.2.4"}],
                 "ports": [{"name": "http", "port": 8081}]}]}));
        let ports = service_ports([&svc], &eps);
        let ids: Vec<String> = ports.iter().map(ServicePort::id).collect();
        assert_eq!(ids, ["default/web/tcp/80", "default/web/udp/53"]);
        let http = &ports[0];
        assert_eq!(http.node_port, Some(30080));
        assert_eq!(
            http.virtual_ips,
            [
                "10.96.0.10".parse::<Ipv4Addr>().unwrap(),
                "192.0.2.50".parse().unwrap()
            ]
        );
        let b = |ip: &str, port| Backend {
            ip: ip.parse().unwrap(),
            port,
        };
        assert_eq!(
            http.backends,
            [
                b("10.244.0.2", 8080),
                b("10.244.1.3", 8080),
                b("10.244.2.4", 8081)
            ]
        );
        let dns = &ports[1];
        assert_eq!(dns.protocol, Protocol::Udp);
        assert_eq!(dns.node_port, None);
        assert_eq!(dns.backends, [b("10.244.0.2", 5353), b("10.244.1.3", 5353)]);
    }

    #[test]
    fn a_service_without_endpoints_has_no_backends() {
        let svc = service(json!({"metadata": {"namespace": "a", "name": "s"},
            "spec": {"clusterIP": "10.96.0.11", "ports": [{"port": 80}]}}));
        let ports = service_ports([&svc], &BTreeMap::new());
        assert_eq!(ports.len(), 1);
        assert_eq!(ports[0].protocol, Protocol::Tcp);
        assert!(ports[0].backends.is_empty());
        let only_unready = endpoints_map(json!({"metadata": {"namespace": "a", "name": "s"},
            "subsets": [{"notReadyAddresses": [{"ip": "10.244.0.2"}], "ports": [{"port": 80}]}]}));
        assert!(service_ports([&svc], &only_unready)[0].backends.is_empty());
    }

    #[test]
    fn external_name_and_headless_services_are_not_programmed() {
        let external = service(json!({"metadata": {"namespace": "a", "name": "x"},
            "spec": {"type": "ExternalName", "externalName": "example.org", "ports": [{"port": 80}]}}));
        let headless = service(json!({"metadata": {"namespace": "a", "name": "h"},
            "spec": {"clusterIP": "None", "clusterIPs": ["None"], "ports": [{"port": 80}]}}));
        assert!(service_ports([&external, &headless], &BTreeMap::new()).is_empty());
    }
}
