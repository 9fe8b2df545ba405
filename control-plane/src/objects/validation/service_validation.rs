//! Validation of Service, Endpoints, Ingress and the configuration and cluster kinds
//! (ConfigMap, Secret, Namespace, Node, PersistentVolume(Claim), ResourceQuota, HPA).

use std::collections::BTreeSet;

use k8s_openapi::api::autoscaling::v2 as autoscaling;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::networking::v1 as networking;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::field_error::{index, join, ErrorList};
use super::meta_validation::validate_labels;
use super::names;
use crate::objects::quantity::Quantity;

const SERVICE_TYPES: &[&str] = &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
/// Kubernetes' limit on a ConfigMap's or Secret's data.
pub const MAX_DATA_BYTES: usize = 1024 * 1024;

pub fn validate_service(s: &core::Service, errs: &mut ErrorList) {
    let Some(spec) = &s.spec else {
        errs.required("spec", "");
        return;
    };
    let ty = spec.type_.as_deref().unwrap_or("ClusterIP");
    if !SERVICE_TYPES.contains(&ty) {
        errs.not_supported("spec.type", ty, SERVICE_TYPES);
    }
    let headless = spec.cluster_ip.as_deref() == Some("None");
    let ports = spec.ports.as_deref().unwrap_or(&[]);
    if ports.is_empty() && ty != "ExternalName" && !headless {
        errs.required("spec.ports", "");
    }
    if ty == "ExternalName" {
        let name = spec.external_name.as_deref().unwrap_or("");
        if name.is_empty() {
            errs.required("spec.externalName", "");
        } else {
            errs.invalid_each(
                "spec.externalName",
                name,
                names::dns1123_subdomain(name.trim_end_matches('.')),
            );
        }
    }
    let mut port_names = BTreeSet::new();
    let mut port_keys = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        let path = index("spec.ports", i);
        let name = p.name.as_deref().unwrap_or("");
        if ports.len() > 1 && name.is_empty() {
            errs.required(&join(&path, "name"), "");
        } else if !name.is_empty() {
            errs.invalid_each(&join(&path, "name"), name, names::dns1123_label(name));
            if !port_names.insert(name) {
                errs.duplicate(&join(&path, "name"), name);
            }
        }
        errs.invalid_each_int(&join(&path, "port"), p.port, names::port_number(p.port));
        let proto = p.protocol.as_deref().unwrap_or("TCP");
        if !["TCP", "UDP", "SCTP"].contains(&proto) {
            errs.not_supported(&join(&path, "protocol"), proto, &["TCP", "UDP", "SCTP"]);
        }
        if !port_keys.insert((p.port, proto)) {
            errs.duplicate(&path, &format!("{}/{proto}", p.port));
        }
        match &p.target_port {
            Some(IntOrString::Int(t)) => {
                errs.invalid_each_int(&join(&path, "targetPort"), *t, names::port_number(*t))
            }
            Some(IntOrString::String(t)) => {
                errs.invalid_each(&join(&path, "targetPort"), t, names::iana_svc_name(t))
            }
            None => {}
        }
        if let Some(np) = p.node_port {
            if ty == "ClusterIP" || ty == "ExternalName" {
                errs.forbidden(
                    &join(&path, "nodePort"),
                    format!("may not be used when `type` is '{ty}'"),
                );
            } else {
                errs.invalid_each_int(&join(&path, "nodePort"), np, names::port_number(np));
            }
        }
    }
    validate_labels(spec.selector.as_ref(), "spec.selector", errs);
    if let Some(a) = spec
        .session_affinity
        .as_deref()
        .filter(|a| !["ClientIP", "None"].contains(a))
    {
        errs.not_supported("spec.sessionAffinity", a, &["ClientIP", "None"]);
    }
    if let Some(ip) = spec
        .cluster_ip
        .as_deref()
        .filter(|ip| !ip.is_empty() && *ip != "None")
    {
        if ip.parse::<std::net::IpAddr>().is_err() {
            errs.invalid(
                "spec.clusterIP",
                ip,
                "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
            );
        }
    }
}

pub fn validate_endpoints(e: &core::Endpoints, errs: &mut ErrorList) {
    for (i, s) in e.subsets.iter().flatten().enumerate() {
        let path = index("subsets", i);
        for (field, addrs) in [
            ("addresses", &s.addresses),
            ("notReadyAddresses", &s.not_ready_addresses),
        ] {
            for (j, a) in addrs.iter().flatten().enumerate() {
                if a.ip.parse::<std::net::IpAddr>().is_err() {
                    errs.invalid(
                        &join(&index(&join(&path, field), j), "ip"),
                        &a.ip,
                        "must be a valid IP address",
                    );
                }
            }
        }
        for (j, p) in s.ports.iter().flatten().enumerate() {
            errs.invalid_each_int(
                &join(&index(&join(&path, "ports"), j), "port"),
                p.port,
                names::port_number(p.port),
            );
        }
    }
}

pub fn validate_ingress(ing: &networking::Ingress, errs: &mut ErrorList) {
    let Some(spec) = &ing.spec else { return };
    for (i, rule) in spec.rules.iter().flatten().enumerate() {
        let path = index("spec.rules", i);
        if let Some(host) = rule.host.as_deref().filter(|h| !h.is_empty()) {
            let bare = host.strip_prefix("*.").unwrap_or(host);
            errs.invalid_each(&join(&path, "host"), host, names::dns1123_subdomain(bare));
        }
        let paths = rule
            .http
            .as_ref()
            .map(|h| h.paths.as_slice())
            .unwrap_or(&[]);
        for (j, p) in paths.iter().enumerate() {
            let pp = index(&join(&path, "http.paths"), j);
            if !["Exact", "Prefix", "ImplementationSpecific"].contains(&p.path_type.as_str()) {
                errs.not_supported(
                    &join(&pp, "pathType"),
                    &p.path_type,
                    &["Exact", "ImplementationSpecific", "Prefix"],
                );
            }
            if let Some(path_str) = p.path.as_deref().filter(|s| !s.starts_with('/')) {
                errs.invalid(&join(&pp, "path"), path_str, "must be an absolute path");
            }
            if let Some(svc) = &p.backend.service {
                errs.invalid_each(
                    &join(&pp, "backend.service.name"),
                    &svc.name,
                    names::dns1035_label(&svc.name),
                );
            }
        }
    }
}

fn validate_data_keys<'a>(
    keys: impl Iterator<Item = &'a String>,
    path: &str,
    seen: &mut BTreeSet<String>,
    errs: &mut ErrorList,
) {
    for k in keys {
        errs.invalid_each(path, k, names::config_map_key(k));
        if !seen.insert(k.clone()) {
            errs.invalid(path, k, "duplicate of key present in another data field");
        }
    }
}

pub fn validate_config_map(c: &core::ConfigMap, errs: &mut ErrorList) {
    let mut seen = BTreeSet::new();
    validate_data_keys(
        c.data.iter().flatten().map(|(k, _)| k),
        "data",
        &mut seen,
        errs,
    );
    validate_data_keys(
        c.binary_data.iter().flatten().map(|(k, _)| k),
        "binaryData",
        &mut seen,
        errs,
    );
    let size: usize = c
        .data
        .iter()
        .flatten()
        .map(|(k, v)| k.len() + v.len())
        .sum::<usize>()
        + c.binary_data
            .iter()
            .flatten()
            .map(|(k, v)| k.len() + v.0.len())
            .sum::<usize>();
    if size > MAX_DATA_BYTES {
        errs.too_long("data", MAX_DATA_BYTES);
    }
}

pub fn validate_secret(s: &core::Secret, errs: &mut ErrorList) {
    let mut seen = BTreeSet::new();
    validate_data_keys(
        s.data.iter().flatten().map(|(k, _)| k),
        "data",
        &mut seen,
        errs,
    );
    let mut string_seen = BTreeSet::new();
    validate_data_keys(
        s.string_data.iter().flatten().map(|(k, _)| k),
        "stringData",
        &mut string_seen,
        errs,
    );
    let size: usize = s
        .data
        .iter()
        .flatten()
        .map(|(k, v)| k.len() + v.0.len())
        .sum::<usize>()
        + s.string_data
            .iter()
            .flatten()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>();
    if size > MAX_DATA_BYTES {
        errs.too_long("data", MAX_DATA_BYTES);
    }
}

fn validate_quantities<'a>(
    items: impl Iterator<
        Item = (
            &'a String,
            &'a k8s_openapi::apimachinery::pkg::api::resource::Quantity,
        ),
    >,
    path: &str,
    errs: &mut ErrorList,
) {
    for (name, q) in items {
        match Quantity::parse(&q.0) {
            Ok(v) if v.is_negative() => errs.invalid(
                &join(path, name),
                &q.0,
                "must be greater than or equal to 0",
            ),
            Ok(_) => {}
            Err(e) => errs.invalid(&join(path, name), &q.0, e.to_string()),
        }
    }
}

const ACCESS_MODES: &[&str] = &[
    "ReadWriteOnce",
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOncePod",
];

pub fn validate_pv(pv: &core::PersistentVolume, errs: &mut ErrorList) {
    let Some(spec) = &pv.spec else {
        errs.required("spec", "");
        return;
    };
    validate_access_modes(spec.access_modes.as_deref(), errs);
    match &spec.capacity {
        Some(c) if c.contains_key("storage") => {
            validate_quantities(c.iter(), "spec.capacity", errs)
        }
        _ => errs.required("spec.capacity", ""),
    }
}

pub fn validate_pvc(pvc: &core::PersistentVolumeClaim, errs: &mut ErrorList) {
    let Some(spec) = &pvc.spec else {
        errs.required("spec", "");
        return;
    };
    validate_access_modes(spec.access_modes.as_deref(), errs);
    match spec.resources.as_ref().and_then(|r| r.requests.as_ref()) {
        Some(r) if r.contains_key("storage") => {
            validate_quantities(r.iter(), "spec.resources.requests", errs)
        }
        _ => errs.required("spec.resources.requests.storage", ""),
    }
}

fn validate_access_modes(modes: Option<&[String]>, errs: &mut ErrorList) {
    let modes = modes.unwrap_or(&[]);
    if modes.is_empty() {
        errs.required("spec.accessModes", "");
    }
    for m in modes.iter().filter(|m| !ACCESS_MODES.contains(&m.as_str())) {
        errs.not_supported("spec.accessModes", m, ACCESS_MODES);
    }
}

pub fn validate_quota(q: &core::ResourceQuota, errs: &mut ErrorList) {
    if let Some(hard) = q.spec.as_ref().and_then(|s| s.hard.as_ref()) {
        validate_quantities(hard.iter(), "spec.hard", errs);
    }
}

pub fn validate_node(n: &core::Node, errs: &mut ErrorList) {
    if let Some(cidr) = n
        .spec
        .as_ref()
        .and_then(|s| s.pod_cidr.as_deref())
        .filter(|c| !c.is_empty())
    {
        let ok = cidr.split_once('/').is_some_and(|(ip, p)| {
            ip.parse::<std::net::IpAddr>().is_ok() && p.parse::<u8>().is_ok_and(|p| p <= 128)
        });
        if !ok {
            errs.invalid(
                "spec.podCIDR",
                cidr,
                "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
            );
        }
    }
}

pub fn validate_hpa(h: &autoscaling::HorizontalPodAutoscaler, errs: &mut ErrorList) {
    let Some(spec) = &h.spec else {
        errs.required("spec", "");
        return;
    };
    let min = spec.min_replicas.unwrap_or(1);
    if min < 1 {
        errs.invalid(
            "spec.minReplicas",
            min,
            "must be greater than or equal to 1",
        );
    }
    if spec.max_replicas < min {
        errs.invalid(
            "spec.maxReplicas",
            spec.max_replicas,
            "must be greater than or equal to `minReplicas`",
        );
    }
    if spec.scale_target_ref.kind.is_empty() {
        errs.required("spec.scaleTargetRef.kind", "");
    }
    if spec.scale_target_ref.name.is_empty() {
        errs.required("spec.scaleTargetRef.name", "");
    }
}

pub fn validate_event(e: &core::Event, errs: &mut ErrorList) {
    if e.involved_object.kind.as_deref().unwrap_or("").is_empty() {
        errs.required("involvedObject.kind", "");
    }
    if let Some(t) = e
        .type_
        .as_deref()
        .filter(|t| !["Normal", "Warning"].contains(t))
    {
        errs.not_supported("type", t, &["Normal", "Warning"]);
    }
}
