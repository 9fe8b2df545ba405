//! Validation of `PodSpec` and containers: names, images, ports, resources (quantities parse,
//! requests ≤ limits), env, volumes and mounts, policies.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;

use super::field_error::{index, join, ErrorList};
use super::names;
use crate::objects::quantity::Quantity;

const RESTART_POLICIES: &[&str] = &["Always", "OnFailure", "Never"];
const DNS_POLICIES: &[&str] = &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"];
const PULL_POLICIES: &[&str] = &["Always", "IfNotPresent", "Never"];
const PROTOCOLS: &[&str] = &["TCP", "UDP", "SCTP"];

pub fn validate_pod_spec(spec: &core::PodSpec, path: &str, errs: &mut ErrorList) {
    let mut volumes = BTreeSet::new();
    for (i, v) in spec.volumes.iter().flatten().enumerate() {
        let p = join(&index(&join(path, "volumes"), i), "name");
        errs.invalid_each(&p, &v.name, names::dns1123_label(&v.name));
        if !volumes.insert(v.name.as_str()) {
            errs.duplicate(&p, &v.name);
        }
    }
    if spec.containers.is_empty() {
        errs.required(&join(path, "containers"), "");
    }
    let mut container_names = BTreeSet::new();
    let groups = [
        (
            "initContainers",
            spec.init_containers.as_deref().unwrap_or(&[]),
        ),
        ("containers", &spec.containers),
    ];
    for (field, containers) in groups {
        for (i, c) in containers.iter().enumerate() {
            let p = index(&join(path, field), i);
            validate_container(c, &p, &volumes, errs);
            if !c.name.is_empty() && !container_names.insert(c.name.as_str()) {
                errs.duplicate(&join(&p, "name"), &c.name);
            }
        }
    }
    let check = |errs: &mut ErrorList, field: &str, v: Option<&String>, allowed: &[&str]| {
        if let Some(v) = v.filter(|v| !allowed.contains(&v.as_str())) {
            errs.not_supported(&join(path, field), v, allowed);
        }
    };
    check(
        errs,
        "restartPolicy",
        spec.restart_policy.as_ref(),
        RESTART_POLICIES,
    );
    check(errs, "dnsPolicy", spec.dns_policy.as_ref(), DNS_POLICIES);
    if let Some(g) = spec.termination_grace_period_seconds.filter(|g| *g < 0) {
        errs.invalid(
            &join(path, "terminationGracePeriodSeconds"),
            g,
            "must be greater than or equal to 0",
        );
    }
    if let Some(a) = spec.active_deadline_seconds.filter(|a| *a <= 0) {
        errs.invalid(
            &join(path, "activeDeadlineSeconds"),
            a,
            "must be between 1 and 2147483647, inclusive",
        );
    }
    if let Some(node) = spec.node_name.as_deref().filter(|n| !n.is_empty()) {
        errs.invalid_each(
            &join(path, "nodeName"),
            node,
            names::dns1123_subdomain(node),
        );
    }
    super::meta_validation::validate_labels(
        spec.node_selector.as_ref(),
        &join(path, "nodeSelector"),
        errs,
    );
}

fn validate_container(
    c: &core::Container,
    path: &str,
    volumes: &BTreeSet<&str>,
    errs: &mut ErrorList,
) {
    let name_path = join(path, "name");
    if c.name.is_empty() {
        errs.required(&name_path, "");
    } else {
        errs.invalid_each(&name_path, &c.name, names::dns1123_label(&c.name));
    }
    match c.image.as_deref() {
        None | Some("") => errs.required(&join(path, "image"), ""),
        Some(image) if image.trim() != image => errs.invalid(
            &join(path, "image"),
            image,
            "must not have leading or trailing whitespace",
        ),
        Some(_) => {}
    }
    if let Some(p) = c
        .image_pull_policy
        .as_ref()
        .filter(|p| !PULL_POLICIES.contains(&p.as_str()))
    {
        errs.not_supported(&join(path, "imagePullPolicy"), p, PULL_POLICIES);
    }
    let mut port_names = BTreeSet::new();
    for (i, port) in c.ports.iter().flatten().enumerate() {
        let p = index(&join(path, "ports"), i);
        if !names::port_number(port.container_port).is_empty() {
            errs.invalid(
                &join(&p, "containerPort"),
                port.container_port,
                "must be between 1 and 65535, inclusive",
            );
        }
        if let Some(hp) = port
            .host_port
            .filter(|hp| *hp != 0 && !(1..=65535).contains(hp))
        {
            errs.invalid(
                &join(&p, "hostPort"),
                hp,
                "must be between 1 and 65535, inclusive",
            );
        }
        if let Some(proto) = port
            .protocol
            .as_ref()
            .filter(|pr| !PROTOCOLS.contains(&pr.as_str()))
        {
            errs.not_supported(&join(&p, "protocol"), proto, PROTOCOLS);
        }
        if let Some(n) = port.name.as_deref().filter(|n| !n.is_empty()) {
            errs.invalid_each(&join(&p, "name"), n, names::iana_svc_name(n));
            if !port_names.insert(n) {
                errs.duplicate(&join(&p, "name"), n);
            }
        }
    }
    for (i, e) in c.env.iter().flatten().enumerate() {
        let p = join(&index(&join(path, "env"), i), "name");
        errs.invalid_each(&p, &e.name, names::env_var_name(&e.name));
    }
    for (i, m) in c.volume_mounts.iter().flatten().enumerate() {
        let p = index(&join(path, "volumeMounts"), i);
        if !volumes.contains(m.name.as_str()) {
            errs.not_found(&join(&p, "name"), &m.name);
        }
        if m.mount_path.is_empty() {
            errs.required(&join(&p, "mountPath"), "");
        }
    }
    if let Some(r) = &c.resources {
        validate_resources(r, &join(path, "resources"), errs);
    }
}

/// Quantities parse and are non-negative; each request is at most its limit. Paths name the
/// resource as a field (`resources.limits.memory`).
pub fn validate_resources(r: &core::ResourceRequirements, path: &str, errs: &mut ErrorList) {
    let mut parse_all = |field: &str, map: Option<&BTreeMap<String, K8sQuantity>>| {
        let mut out = BTreeMap::new();
        for (name, q) in map.into_iter().flatten() {
            let p = join(&join(path, field), name);
            match Quantity::parse(&q.0) {
                Ok(v) if v.is_negative() => {
                    errs.invalid(&p, &q.0, "must be greater than or equal to 0")
                }
                Ok(v) => {
                    out.insert(name.clone(), (v, q.0.clone()));
                }
                Err(e) => errs.invalid(&p, &q.0, e.to_string()),
            }
        }
        out
    };
    let limits = parse_all("limits", r.limits.as_ref());
    let requests = parse_all("requests", r.requests.as_ref());
    for (name, (req, req_text)) in &requests {
        if let Some((_, limit_text)) = limits.get(name).filter(|(l, _)| req > l) {
            errs.invalid(
                &join(&join(path, "requests"), name),
                req_text,
                format!("must be less than or equal to {name} limit of {limit_text}"),
            );
        }
    }
}
