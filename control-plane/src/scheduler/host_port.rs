//! `HostPort`: a (host IP, protocol, port) a pod claims on its node, and when two claims clash.

use k8s_openapi::api::core::v1::PodSpec;

const WILDCARD_IPS: [&str; 2] = ["0.0.0.0", "::"];

/// One host port claim; defaults applied (IP `0.0.0.0`, protocol `TCP`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostPort {
    pub ip: String,
    pub protocol: String,
    pub port: i32,
}

impl HostPort {
    pub fn new(ip: &str, protocol: &str, port: i32) -> HostPort {
        HostPort {
            ip: if ip.is_empty() { "0.0.0.0" } else { ip }.to_string(),
            protocol: if protocol.is_empty() { "TCP" } else { protocol }.to_string(),
            port,
        }
    }

    /// Same port and protocol, and the IPs overlap (equal, or either is a wildcard).
    pub fn conflicts_with(&self, other: &HostPort) -> bool {
        self.port == other.port
            && self.protocol == other.protocol
            && (self.ip == other.ip
                || WILDCARD_IPS.contains(&self.ip.as_str())
                || WILDCARD_IPS.contains(&other.ip.as_str()))
    }

    /// The host ports a pod claims: every container port with a non-zero `hostPort`, in app
    /// containers and sidecars (restartable init containers), which outlive the pod's start.
    pub fn of_pod(spec: &PodSpec) -> Vec<HostPort> {
        let sidecars = spec
            .init_containers
            .iter()
            .flatten()
            .filter(|c| c.restart_policy.as_deref() == Some("Always"));
        let mut ports: Vec<HostPort> = spec
            .containers
            .iter()
            .chain(sidecars)
            .flat_map(|c| c.ports.iter().flatten())
            .filter_map(|p| {
                let port = p.host_port.filter(|p| *p > 0)?;
                Some(HostPort::new(
                    p.host_ip.as_deref().unwrap_or(""),
                    p.protocol.as_deref().unwrap_or(""),
                    port,
                ))
            })
            .collect();
        ports.sort();
        ports.dedup();
        ports
    }
}
