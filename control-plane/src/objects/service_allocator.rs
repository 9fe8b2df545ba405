//! `ServiceAllocator`: picks a Service's clusterIP from the service CIDR and its nodePorts from
//! the node-port range — the lowest free ones, deterministically — and checks requested ones.
//! The caller reads the addresses already in use from the store.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::ops::RangeInclusive;

use k8s_openapi::api::core::v1::ServiceSpec;

use super::validation::{index, join, ErrorList};

/// Kubernetes' default service CIDR and node-port range.
pub const DEFAULT_SERVICE_CIDR: &str = "10.96.0.0/12";
pub const DEFAULT_NODE_PORTS: RangeInclusive<u16> = 30000..=32767;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid service CIDR {0:?}: expected an IPv4 network such as 10.96.0.0/12 (prefix 8-30)")]
pub struct CidrError(pub String);

/// An IPv4 network (address masked to the prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Cidr {
    network: u32,
    prefix: u8,
}

impl Ipv4Cidr {
    pub fn parse(s: &str) -> Result<Ipv4Cidr, CidrError> {
        let err = || CidrError(s.to_string());
        let (addr, prefix) = s.split_once('/').ok_or_else(err)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| err())?;
        let prefix: u8 = prefix.parse().map_err(|_| err())?;
        if !(8..=30).contains(&prefix) {
            return Err(err());
        }
        let mask = u32::MAX << (32 - prefix);
        Ok(Ipv4Cidr {
            network: u32::from(addr) & mask,
            prefix,
        })
    }

    /// The network of `addr` with `prefix` (clamped to 0..=32).
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Ipv4Cidr {
        let prefix = prefix.min(32);
        let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
        Ipv4Cidr {
            network: u32::from(addr) & mask,
            prefix,
        }
    }

    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.network)
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    fn broadcast(&self) -> u32 {
        self.network | (u32::MAX >> self.prefix)
    }

    /// Whether `ip` is a usable host address (not the network or broadcast address).
    pub fn contains_host(&self, ip: Ipv4Addr) -> bool {
        let ip = u32::from(ip);
        ip > self.network && ip < self.broadcast()
    }
}

impl std::fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.network), self.prefix)
    }
}

/// Addresses held by other Services (never the one being allocated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsedAddresses {
    pub cluster_ips: BTreeSet<Ipv4Addr>,
    pub node_ports: BTreeSet<u16>,
}

impl UsedAddresses {
    /// Records what `spec` (another stored Service) holds.
    pub fn add_service(&mut self, spec: &ServiceSpec) {
        if let Some(ip) = spec.cluster_ip.as_deref().and_then(|s| s.parse().ok()) {
            self.cluster_ips.insert(ip);
        }
        for p in spec.ports.iter().flatten() {
            if let Some(np) = p.node_port.and_then(|n| u16::try_from(n).ok()) {
                self.node_ports.insert(np);
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAllocator {
    cidr: Ipv4Cidr,
    node_ports: RangeInclusive<u16>,
}

impl Default for ServiceAllocator {
    fn default() -> Self {
        ServiceAllocator {
            cidr: Ipv4Cidr {
                network: u32::from(Ipv4Addr::new(10, 96, 0, 0)),
                prefix: 12,
            },
            node_ports: DEFAULT_NODE_PORTS,
        }
    }
}

impl ServiceAllocator {
    pub fn new(cidr: &str, node_ports: RangeInclusive<u16>) -> Result<ServiceAllocator, CidrError> {
        Ok(ServiceAllocator {
            cidr: Ipv4Cidr::parse(cidr)?,
            node_ports,
        })
    }

    /// Fills `spec.clusterIP`/`clusterIPs` and, for NodePort and LoadBalancer services, every
    /// missing `nodePort`. On update (`old` given) unspecified values are carried over from the
    /// stored service. Requested values must be in range and free; errors name the field.
    pub fn allocate(
        &self,
        spec: &mut ServiceSpec,
        old: Option<&ServiceSpec>,
        used: &UsedAddresses,
    ) -> Result<(), ErrorList> {
        let mut errs = ErrorList::new();
        if let Some(old) = old {
            carry_over(spec, old);
        }
        let ty = spec.type_.clone().unwrap_or_else(|| "ClusterIP".into());
        if ty == "ExternalName" {
            return Ok(());
        }
        let requested = spec.cluster_ip.clone().unwrap_or_default();
        if requested.is_empty() {
            match self.lowest_free_ip(used) {
                Some(ip) => set_cluster_ip(spec, ip.to_string()),
                None => errs.invalid(
                    "spec.clusterIP",
                    "",
                    format!("no free addresses: the range {} is full", self.cidr),
                ),
            }
        } else if requested != "None"
            && old.and_then(|o| o.cluster_ip.as_deref()) != Some(&requested)
        {
            match requested.parse::<Ipv4Addr>() {
                Ok(ip) if !self.cidr.contains_host(ip) => errs.invalid(
                    "spec.clusterIP",
                    &requested,
                    format!(
                        "provided IP is not in the valid range. The range of valid IPs is {}",
                        self.cidr
                    ),
                ),
                Ok(ip) if used.cluster_ips.contains(&ip) => errs.invalid(
                    "spec.clusterIP",
                    &requested,
                    "provided IP is already allocated",
                ),
                Ok(_) => set_cluster_ip(spec, requested.clone()),
                Err(_) => {
                    errs.invalid("spec.clusterIP", &requested, "must be a valid IPv4 address")
                }
            }
        }
        if ty == "NodePort" || ty == "LoadBalancer" {
            self.allocate_node_ports(spec, old, used, &mut errs);
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs)
        }
    }

    fn allocate_node_ports(
        &self,
        spec: &mut ServiceSpec,
        old: Option<&ServiceSpec>,
        used: &UsedAddresses,
        errs: &mut ErrorList,
    ) {
        let old_ports: BTreeSet<i32> = old
            .into_iter()
            .flat_map(|o| o.ports.iter().flatten())
            .filter_map(|p| p.node_port)
            .collect();
        let mut taken: BTreeSet<u16> = BTreeSet::new();
        let ports = spec.ports.get_or_insert_with(Vec::new);
        // Requested ports first, so automatic ones never take a port a later entry asked for.
        for (i, p) in ports.iter().enumerate() {
            let Some(np) = p.node_port else { continue };
            let path = join(&index("spec.ports", i), "nodePort");
            match u16::try_from(np).ok().filter(|n| self.node_ports.contains(n)) {
                None => errs.invalid(
                    &path,
                    np,
                    format!(
                        "provided port is not in the valid range. The range of valid ports is {}-{}",
                        self.node_ports.start(),
                        self.node_ports.end()
                    ),
                ),
                Some(n) if used.node_ports.contains(&n) && !old_ports.contains(&np) => {
                    errs.invalid(&path, np, "provided port is already allocated")
                }
                Some(n) => {
                    taken.insert(n);
                }
            }
        }
        for (i, p) in ports.iter_mut().enumerate() {
            if p.node_port.is_some() {
                continue;
            }
            let free = self
                .node_ports
                .clone()
                .find(|n| !used.node_ports.contains(n) && !taken.contains(n));
            match free {
                Some(n) => {
                    taken.insert(n);
                    p.node_port = Some(i32::from(n));
                }
                None => errs.invalid(
                    &join(&index("spec.ports", i), "nodePort"),
                    0,
                    "no free node ports in the node-port range",
                ),
            }
        }
    }

    fn lowest_free_ip(&self, used: &UsedAddresses) -> Option<Ipv4Addr> {
        (self.cidr.network + 1..self.cidr.broadcast())
            .map(Ipv4Addr::from)
            .find(|ip| !used.cluster_ips.contains(ip))
    }
}

fn set_cluster_ip(spec: &mut ServiceSpec, ip: String) {
    spec.cluster_ips = Some(vec![ip.clone()]);
    spec.cluster_ip = Some(ip);
}

/// Kubernetes' `patchAllocatedValues`: an update that leaves clusterIP or a nodePort out keeps
/// the stored one (matched by port number and protocol).
fn carry_over(spec: &mut ServiceSpec, old: &ServiceSpec) {
    if spec.cluster_ip.as_deref().unwrap_or("").is_empty() {
        spec.cluster_ip = old.cluster_ip.clone();
        spec.cluster_ips = old.cluster_ips.clone();
    }
    let same_type = spec.type_ == old.type_;
    for p in spec.ports.iter_mut().flatten() {
        if p.node_port.is_some() || !same_type {
            continue;
        }
        p.node_port = old
            .ports
            .iter()
            .flatten()
            .find(|o| o.port == p.port && o.protocol == p.protocol)
            .and_then(|o| o.node_port);
    }
}

#[cfg(test)]
#[path = "service_allocator_tests.rs"]
mod tests;
