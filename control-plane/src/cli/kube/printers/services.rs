//! Table rows for Services (TYPE, CLUSTER-IP, EXTERNAL-IP, PORT(S)) and Endpoints.

use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

use super::age::age;
use super::fields::{format_labels, get, int_at, list_at, str_at};

pub const SERVICE: &[&str] = &[
    "NAME",
    "TYPE",
    "CLUSTER-IP",
    "EXTERNAL-IP",
    "PORT(S)",
    "AGE",
];
pub const SERVICE_WIDE: &[&str] = &["SELECTOR"];
pub const ENDPOINTS: &[&str] = &["NAME", "ENDPOINTS", "AGE"];

fn strings(v: &[Value]) -> Vec<&str> {
    v.iter().filter_map(Value::as_str).collect()
}

/// `makePortString`: `80/TCP`, `80:30080/TCP`, comma-joined.
pub fn port_string(svc: &Value) -> String {
    list_at(svc, "spec.ports")
        .iter()
        .map(|p| {
            let proto = match str_at(p, "protocol") {
                "" => "TCP",
                other => other,
            };
            match int_at(p, "nodePort") {
                0 => format!("{}/{proto}", int_at(p, "port")),
                np => format!("{}:{np}/{proto}", int_at(p, "port")),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn load_balancer_ips(svc: &Value) -> Vec<String> {
    list_at(svc, "status.loadBalancer.ingress")
        .iter()
        .filter_map(|i| {
            let ip = str_at(i, "ip");
            let host = str_at(i, "hostname");
            if !ip.is_empty() {
                Some(ip.to_string())
            } else if !host.is_empty() {
                Some(host.to_string())
            } else {
                None
            }
        })
        .collect()
}

/// `getServiceExternalIP`.
pub fn external_ip(svc: &Value) -> String {
    let external = strings(list_at(svc, "spec.externalIPs"));
    match str_at(svc, "spec.type") {
        "ClusterIP" | "NodePort" | "" => {
            if external.is_empty() {
                "<none>".to_string()
            } else {
                external.join(",")
            }
        }
        "LoadBalancer" => {
            let lb = load_balancer_ips(svc);
            if external.is_empty() && lb.is_empty() {
                "<pending>".to_string()
            } else {
                let mut all: Vec<String> = external.iter().map(|s| s.to_string()).collect();
                all.extend(lb);
                all.join(",")
            }
        }
        "ExternalName" => str_at(svc, "spec.externalName").to_string(),
        _ => "<unknown>".to_string(),
    }
}

pub fn service(svc: &Value, wide: bool, now: Timestamp) -> Vec<String> {
    let cluster_ip = strings(list_at(svc, "spec.clusterIPs"))
        .first()
        .map(|s| s.to_string())
        .or_else(|| Some(str_at(svc, "spec.clusterIP").to_string()).filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "<none>".to_string());
    let ports = match port_string(svc) {
        p if p.is_empty() => "<none>".to_string(),
        p => p,
    };
    let mut cells = vec![
        str_at(svc, "metadata.name").to_string(),
        str_at(svc, "spec.type").to_string(),
        cluster_ip,
        external_ip(svc),
        ports,
        age(get(svc, "metadata.creationTimestamp"), now),
    ];
    if wide {
        cells.push(format_labels(get(svc, "spec.selector")));
    }
    cells
}

/// `formatEndpoints`: up to three `ip:port` entries, then `+ N more...`.
pub fn endpoints_text(ep: &Value) -> String {
    let subsets = list_at(ep, "subsets");
    if subsets.is_empty() {
        return "<none>".to_string();
    }
    const MAX: usize = 3;
    let mut list = Vec::new();
    let mut count = 0;
    for ss in subsets {
        let addresses = list_at(ss, "addresses");
        let ports = list_at(ss, "ports");
        if ports.is_empty() {
            count += addresses.len();
            list.extend(
                addresses
                    .iter()
                    .map(|a| str_at(a, "ip").to_string())
                    .take(MAX.saturating_sub(list.len())),
            );
            continue;
        }
        for p in ports {
            count += addresses.len();
            for a in addresses {
                if list.len() == MAX {
                    break;
                }
                let ip = str_at(a, "ip");
                let port = int_at(p, "port");
                if ip.contains(':') {
                    list.push(format!("[{ip}]:{port}"));
                } else {
                    list.push(format!("{ip}:{port}"));
                }
            }
        }
    }
    let joined = list.join(",");
    if count > MAX {
        format!("{joined} + {} more...", count - MAX)
    } else {
        joined
    }
}

pub fn endpoints(ep: &Value, _wide: bool, now: Timestamp) -> Vec<String> {
    vec![
        str_at(ep, "metadata.name").to_string(),
        endpoints_text(ep),
        age(get(ep, "metadata.creationTimestamp"), now),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn service_rows() {
        let now: Timestamp = "2024-01-01T00:00:05Z".parse().unwrap();
        let svc = json!({"metadata": {"name": "my-service", "creationTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                "selector": {"app": "MyApp"}, "ports": [{"protocol": "TCP", "port": 80, "targetPort": 9376}]}});
        assert_eq!(
            service(&svc, true, now),
            vec![
                "my-service",
                "ClusterIP",
                "10.96.0.10",
                "<none>",
                "80/TCP",
                "5s",
                "app=MyApp"
            ]
        );
        let lb = json!({"spec": {"type": "LoadBalancer", "ports": [{"port": 80, "nodePort": 30080, "protocol": "UDP"}]}});
        assert_eq!(external_ip(&lb), "<pending>");
        assert_eq!(port_string(&lb), "80:30080/UDP");
    }

    #[test]
    fn endpoints_are_capped_at_three() {
        let ep = json!({"subsets": [{"addresses": [{"ip": "1.1.1.1"}, {"ip": "1.1.1.2"}, {"ip": "1.1.1.3"}, {"ip": "1.1.1.4"}],
            "ports": [{"port": 80}]}]});
        assert_eq!(
            endpoints_text(&ep),
            "1.1.1.1:80,1.1.1.2:80,1.1.1.3:80 + 1 more..."
        );
        assert_eq!(endpoints_text(&json!({})), "<none>");
    }
}
