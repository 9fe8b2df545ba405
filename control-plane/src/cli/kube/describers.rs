//! The text of `keelctl describe`, per kind, shaped like kubectl's describers: a header of
//! metadata, the kind's own sections, then the object's events. Lines are tab-separated and
//! aligned by [`DESCRIBE`] (Go tabwriter blocks), indented two spaces per level.

use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

use crate::objects::{KindId, ResourceKind};

use super::base64;
use super::printers::age::{age, describe_time};
use super::printers::fields::{
    format_labels, get, int_at, list_at, map_len, selector_string, str_at,
};
use super::printers::services::port_string;
use super::printers::tabwriter::DESCRIBE;
use super::three_way::LAST_APPLIED;

/// Builds describe text: `w(level, "Key:\tvalue")`.
#[derive(Default)]
struct Out {
    text: String,
}

impl Out {
    fn w(&mut self, level: usize, line: &str) {
        self.text.extend(std::iter::repeat_n("  ", level));
        self.text.push_str(line);
        self.text.push('\n');
    }
}

fn or_none(s: &str) -> &str {
    if s.is_empty() {
        "<none>"
    } else {
        s
    }
}

/// `Labels:\ta=b` then `\tc=d` for the others (printLabelsMultiline).
fn multiline(out: &mut Out, level: usize, title: &str, entries: &[String]) {
    if entries.is_empty() {
        out.w(level, &format!("{title}:\t<none>"));
        return;
    }
    for (i, e) in entries.iter().enumerate() {
        if i == 0 {
            out.w(level, &format!("{title}:\t{e}"));
        } else {
            out.w(level, &format!("\t{e}"));
        }
    }
}

fn sorted_pairs(map: Option<&Value>, sep: &str, skip: &[&str]) -> Vec<String> {
    let Some(m) = map.and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut keys: Vec<&String> = m.keys().filter(|k| !skip.contains(&k.as_str())).collect();
    keys.sort();
    keys.into_iter()
        .map(|k| format!("{k}{sep}{}", m[k].as_str().unwrap_or("")))
        .collect()
}

fn header(out: &mut Out, obj: &Value, kind: &ResourceKind) {
    out.w(0, &format!("Name:\t{}", str_at(obj, "metadata.name")));
    if kind.namespaced {
        out.w(
            0,
            &format!("Namespace:\t{}", str_at(obj, "metadata.namespace")),
        );
    }
    if kind.id != KindId::Pod {
        out.w(
            0,
            &format!(
                "CreationTimestamp:\t{}",
                describe_time(get(obj, "metadata.creationTimestamp"))
            ),
        );
    }
    multiline(
        out,
        0,
        "Labels",
        &sorted_pairs(get(obj, "metadata.labels"), "=", &[]),
    );
    multiline(
        out,
        0,
        "Annotations",
        &sorted_pairs(get(obj, "metadata.annotations"), ": ", &[LAST_APPLIED]),
    );
}

/// Containers: the name at `name_indent`, fields one level deeper than `level` (a pod template
/// indents names by three spaces, as kubectl does).
fn container_section(out: &mut Out, level: usize, name_indent: &str, containers: &[Value]) {
    for c in containers {
        out.w(0, &format!("{name_indent}{}:", str_at(c, "name")));
        out.w(level + 1, &format!("Image:\t{}", str_at(c, "image")));
        let ports = list_at(c, "ports");
        if ports.is_empty() {
            out.w(level + 1, "Port:\t<none>");
            out.w(level + 1, "Host Port:\t<none>");
        } else {
            let fmt = |field: &str| {
                ports
                    .iter()
                    .map(|p| format!("{}/{}", int_at(p, field), or_tcp(str_at(p, "protocol"))))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            out.w(level + 1, &format!("Port:\t{}", fmt("containerPort")));
            out.w(level + 1, &format!("Host Port:\t{}", fmt("hostPort")));
        }
        for (field, title) in [("command", "Command"), ("args", "Args")] {
            let items = list_at(c, field);
            if !items.is_empty() {
                out.w(level + 1, &format!("{title}:"));
                for a in items {
                    out.w(level + 2, a.as_str().unwrap_or(""));
                }
            }
        }
        for (field, title) in [("limits", "Limits"), ("requests", "Requests")] {
            if map_len(c, &format!("resources.{field}")) > 0 {
                out.w(level + 1, &format!("{title}:"));
                for p in sorted_pairs(get(c, &format!("resources.{field}")), ":\t", &[]) {
                    out.w(level + 2, &p);
                }
            }
        }
        let env = list_at(c, "env");
        if env.is_empty() {
            out.w(level + 1, "Environment:\t<none>");
        } else {
            out.w(level + 1, "Environment:");
            for e in env {
                out.w(
                    level + 2,
                    &format!("{}:\t{}", str_at(e, "name"), str_at(e, "value")),
                );
            }
        }
        let mounts = list_at(c, "volumeMounts");
        if mounts.is_empty() {
            out.w(level + 1, "Mounts:\t<none>");
        } else {
            out.w(level + 1, "Mounts:");
            for m in mounts {
                out.w(
                    level + 2,
                    &format!("{} from {}", str_at(m, "mountPath"), str_at(m, "name")),
                );
            }
        }
    }
}

fn or_tcp(p: &str) -> &str {
    if p.is_empty() {
        "TCP"
    } else {
        p
    }
}

fn pod(out: &mut Out, o: &Value) {
    out.w(
        0,
        &format!(
            "Service Account:\t{}",
            or_none(str_at(o, "spec.serviceAccountName"))
        ),
    );
    out.w(
        0,
        &format!("Node:\t{}", or_none(str_at(o, "spec.nodeName"))),
    );
    if let Some(t) = get(o, "status.startTime") {
        out.w(0, &format!("Start Time:\t{}", describe_time(Some(t))));
    }
    out.w(0, &format!("Status:\t{}", str_at(o, "status.phase")));
    out.w(0, &format!("IP:\t{}", str_at(o, "status.podIP")));
    let ips: Vec<&str> = list_at(o, "status.podIPs")
        .iter()
        .map(|i| str_at(i, "ip"))
        .collect();
    if ips.is_empty() {
        out.w(0, "IPs:\t<none>");
    } else {
        out.w(0, "IPs:");
        for ip in ips {
            out.w(1, &format!("IP:\t{ip}"));
        }
    }
    if !list_at(o, "spec.initContainers").is_empty() {
        out.w(0, "Init Containers:");
        container_section(out, 1, "  ", list_at(o, "spec.initContainers"));
    }
    out.w(0, "Containers:");
    container_section(out, 1, "  ", list_at(o, "spec.containers"));
    let conditions = list_at(o, "status.conditions");
    if !conditions.is_empty() {
        out.w(0, "Conditions:");
        out.w(1, "Type\tStatus");
        for c in conditions {
            out.w(
                1,
                &format!("{}\t{}", str_at(c, "type"), str_at(c, "status")),
            );
        }
    }
    let volumes = list_at(o, "spec.volumes");
    if volumes.is_empty() {
        out.w(0, "Volumes:\t<none>");
    } else {
        out.w(0, "Volumes:");
        for v in volumes {
            out.w(1, &format!("{}:", str_at(v, "name")));
        }
    }
    out.w(
        0,
        &format!("QoS Class:\t{}", or_none(str_at(o, "status.qosClass"))),
    );
    out.w(
        0,
        &format!(
            "Node-Selectors:\t{}",
            format_labels(get(o, "spec.nodeSelector"))
        ),
    );
    let tolerations: Vec<String> = list_at(o, "spec.tolerations")
        .iter()
        .map(|t| {
            let mut s = str_at(t, "key").to_string();
            if !str_at(t, "value").is_empty() {
                s.push_str(&format!("={}", str_at(t, "value")));
            }
            if !str_at(t, "effect").is_empty() {
                s.push_str(&format!(":{}", str_at(t, "effect")));
            }
            if str_at(t, "operator") == "Exists" && str_at(t, "value").is_empty() {
                s.push_str(" op=Exists");
            }
            s
        })
        .collect();
    multiline(out, 0, "Tolerations", &tolerations);
}

fn deployment(out: &mut Out, o: &Value) {
    out.w(
        0,
        &format!("Selector:\t{}", selector_string(get(o, "spec.selector"))),
    );
    let desired = get(o, "spec.replicas").and_then(Value::as_i64).unwrap_or(1);
    out.w(
        0,
        &format!(
            "Replicas:\t{desired} desired | {} updated | {} total | {} available | {} unavailable",
            int_at(o, "status.updatedReplicas"),
            int_at(o, "status.replicas"),
            int_at(o, "status.availableReplicas"),
            int_at(o, "status.unavailableReplicas"),
        ),
    );
    let strategy = or_none(str_at(o, "spec.strategy.type")).to_string();
    out.w(0, &format!("StrategyType:\t{strategy}"));
    out.w(
        0,
        &format!("MinReadySeconds:\t{}", int_at(o, "spec.minReadySeconds")),
    );
    if strategy == "RollingUpdate" {
        let show = |p: &str| match get(o, p) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => "25%".to_string(),
        };
        out.w(
            0,
            &format!(
                "RollingUpdateStrategy:\t{} max unavailable, {} max surge",
                show("spec.strategy.rollingUpdate.maxUnavailable"),
                show("spec.strategy.rollingUpdate.maxSurge")
            ),
        );
    }
    pod_template(out, o);
    conditions(out, o);
}

fn pod_template(out: &mut Out, o: &Value) {
    out.w(0, "Pod Template:");
    multiline(
        out,
        1,
        "Labels",
        &sorted_pairs(get(o, "spec.template.metadata.labels"), "=", &[]),
    );
    out.w(1, "Containers:");
    container_section(out, 1, "   ", list_at(o, "spec.template.spec.containers"));
    let volumes = list_at(o, "spec.template.spec.volumes");
    if volumes.is_empty() {
        out.w(1, "Volumes:\t<none>");
    } else {
        out.w(1, "Volumes:");
        for v in volumes {
            out.w(2, &format!("{}:", str_at(v, "name")));
        }
    }
    out.w(
        1,
        &format!(
            "Node-Selectors:\t{}",
            format_labels(get(o, "spec.template.spec.nodeSelector"))
        ),
    );
    out.w(1, "Tolerations:\t<none>");
}

fn conditions(out: &mut Out, o: &Value) {
    let cs = list_at(o, "status.conditions");
    if cs.is_empty() {
        return;
    }
    out.w(0, "Conditions:");
    out.w(1, "Type\tStatus\tReason");
    out.w(1, "----\t------\t------");
    for c in cs {
        out.w(
            1,
            &format!(
                "{}\t{}\t{}",
                str_at(c, "type"),
                str_at(c, "status"),
                str_at(c, "reason")
            ),
        );
    }
}

fn replicated(out: &mut Out, o: &Value) {
    out.w(
        0,
        &format!("Selector:\t{}", selector_string(get(o, "spec.selector"))),
    );
    let desired = get(o, "spec.replicas").and_then(Value::as_i64).unwrap_or(1);
    out.w(
        0,
        &format!(
            "Replicas:\t{} current / {desired} desired",
            int_at(o, "status.replicas")
        ),
    );
    pod_template(out, o);
    conditions(out, o);
}

fn service(out: &mut Out, o: &Value) {
    out.w(
        0,
        &format!(
            "Selector:\t{}",
            or_none(&sorted_pairs(get(o, "spec.selector"), "=", &[]).join(","))
        ),
    );
    out.w(0, &format!("Type:\t{}", str_at(o, "spec.type")));
    out.w(
        0,
        &format!(
            "IP Family Policy:\t{}",
            or_none(str_at(o, "spec.ipFamilyPolicy"))
        ),
    );
    let families: Vec<&str> = list_at(o, "spec.ipFamilies")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    out.w(
        0,
        &format!("IP Families:\t{}", or_none(&families.join(","))),
    );
    out.w(0, &format!("IP:\t{}", or_none(str_at(o, "spec.clusterIP"))));
    let ips: Vec<&str> = list_at(o, "spec.clusterIPs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    out.w(0, &format!("IPs:\t{}", or_none(&ips.join(","))));
    for p in list_at(o, "spec.ports") {
        let name = or_unset(str_at(p, "name"));
        let proto = or_tcp(str_at(p, "protocol"));
        out.w(0, &format!("Port:\t{name}\t{}/{proto}", int_at(p, "port")));
        let target = match get(p, "targetPort") {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) => s.clone(),
            _ => int_at(p, "port").to_string(),
        };
        out.w(0, &format!("TargetPort:\t{target}/{proto}"));
        if int_at(p, "nodePort") != 0 {
            out.w(
                0,
                &format!("NodePort:\t{name}\t{}/{proto}", int_at(p, "nodePort")),
            );
        }
    }
    let _ = port_string;
    out.w(
        0,
        &format!(
            "Session Affinity:\t{}",
            or_none(str_at(o, "spec.sessionAffinity"))
        ),
    );
    out.w(
        0,
        &format!(
            "Internal Traffic Policy:\t{}",
            or_none(str_at(o, "spec.internalTrafficPolicy"))
        ),
    );
}

fn or_unset(s: &str) -> &str {
    if s.is_empty() {
        "<unset>"
    } else {
        s
    }
}

fn namespace(out: &mut Out, o: &Value) {
    out.w(0, &format!("Status:\t{}", str_at(o, "status.phase")));
    out.w(0, "");
    out.w(0, "No resource quota.");
    out.w(0, "");
    out.w(0, "No LimitRange resource.");
}

fn configmap(out: &mut Out, o: &Value) {
    out.w(0, "");
    out.w(0, "Data");
    out.w(0, "====");
    for (k, v) in get(o, "data")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        out.w(0, &format!("{k}:"));
        out.w(0, "----");
        out.w(0, v.as_str().unwrap_or(""));
        out.w(0, "");
    }
    out.w(0, "");
    out.w(0, "BinaryData");
    out.w(0, "====");
    for (k, v) in get(o, "binaryData")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let n = base64::decode(v.as_str().unwrap_or("")).map_or(0, |b| b.len());
        out.w(0, &format!("{k}: {n} bytes"));
    }
    out.w(0, "");
}

fn secret(out: &mut Out, o: &Value) {
    out.w(0, "");
    out.w(0, &format!("Type:\t{}", str_at(o, "type")));
    out.w(0, "");
    out.w(0, "Data");
    out.w(0, "====");
    for (k, v) in get(o, "data")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let n = base64::decode(v.as_str().unwrap_or("")).map_or(0, |b| b.len());
        out.w(0, &format!("{k}:\t{n} bytes"));
    }
}

/// `containerPort` → `Container Port` (kubectl's smartLabelFor for generic objects).
fn smart_label(key: &str) -> String {
    let mut out = String::new();
    for (i, c) in key.chars().enumerate() {
        if i == 0 {
            out.extend(c.to_uppercase());
        } else if c.is_uppercase() && !out.ends_with(' ') {
            out.push(' ');
            out.push(c);
        } else {
            out.push(c);
        }
    }
    out
}

/// Any other field, printed as kubectl prints objects it has no describer for.
fn generic_value(out: &mut Out, level: usize, key: &str, v: &Value) {
    let label = smart_label(key);
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.w(level, &format!("{label}:"));
            for (k, v) in m {
                generic_value(out, level + 1, k, v);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            out.w(level, &format!("{label}:"));
            for item in a {
                match item {
                    Value::Object(m) => {
                        for (k, v) in m {
                            generic_value(out, level + 1, k, v);
                        }
                    }
                    other => out.w(level + 1, &scalar(other)),
                }
            }
        }
        other => out.w(level, &format!("{label}:\t{}", scalar(other))),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(_) | Value::Array(_) => String::new(),
        other => other.to_string(),
    }
}

fn generic(out: &mut Out, o: &Value) {
    for (k, v) in o.as_object().into_iter().flatten() {
        if matches!(k.as_str(), "metadata") {
            continue;
        }
        generic_value(out, 0, k, v);
    }
}

fn events(out: &mut Out, events: &[Value], now: Timestamp) {
    if events.is_empty() {
        out.w(0, "Events:\t<none>");
        return;
    }
    out.w(0, "Events:");
    out.w(1, "Type\tReason\tAge\tFrom\tMessage");
    out.w(1, "----\t------\t----\t----\t-------");
    for e in events {
        let first = get(e, "firstTimestamp")
            .filter(|v| !v.is_null())
            .or_else(|| get(e, "eventTime"));
        let last = get(e, "lastTimestamp").filter(|v| !v.is_null()).or(first);
        let count = int_at(e, "count");
        let age_text = if count > 1 {
            format!("{} (x{count} over {})", age(last, now), age(first, now))
        } else {
            age(last, now)
        };
        let from = match str_at(e, "source.component") {
            "" => str_at(e, "reportingComponent"),
            c => c,
        };
        out.w(
            1,
            &format!(
                "{}\t{}\t{age_text}\t{from}\t{}",
                str_at(e, "type"),
                str_at(e, "reason"),
                str_at(e, "message").trim()
            ),
        );
    }
}

/// The describe text for `obj` and the events about it.
pub fn describe(
    kind: &ResourceKind,
    obj: &Value,
    related_events: &[Value],
    now: Timestamp,
) -> String {
    let mut out = Out::default();
    header(&mut out, obj, kind);
    match kind.id {
        KindId::Pod => pod(&mut out, obj),
        KindId::Deployment => deployment(&mut out, obj),
        KindId::ReplicaSet | KindId::StatefulSet => replicated(&mut out, obj),
        KindId::Service => service(&mut out, obj),
        KindId::Namespace => namespace(&mut out, obj),
        KindId::ConfigMap => configmap(&mut out, obj),
        KindId::Secret => secret(&mut out, obj),
        _ => generic(&mut out, obj),
    }
    // kubectl's secret describer prints no events.
    if kind.id != KindId::Secret {
        events(&mut out, related_events, now);
    }
    DESCRIBE.format(&out.text)
}

#[cfg(test)]
#[path = "describers_tests.rs"]
mod tests;
