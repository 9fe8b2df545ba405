//! What an object counts against a namespace's ResourceQuotas, as Kubernetes' quota evaluators
//! count it: `count/<resource>[.<group>]` for every object, the classic names (`pods`, `services`,
//! `configmaps`, `secrets`, `persistentvolumeclaims`, `resourcequotas`, `services.nodeports`) and,
//! for pods that have not finished, compute requests and limits. Amounts are in nano-units.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::objects::{DynamicObject, KindId, Quantity};

/// Resource name → amount in nano-units (one object counts 1e9).
pub type Usage = BTreeMap<String, i128>;

const ONE: i128 = 1_000_000_000;

/// What `obj` uses.
pub fn usage_of(obj: &DynamicObject) -> Usage {
    let kind = obj.resource_kind();
    let mut usage = Usage::new();
    if !kind.namespaced {
        return usage;
    }
    let count_name = if kind.group.is_empty() {
        format!("count/{}", kind.plural)
    } else {
        format!("count/{}.{}", kind.plural, kind.group)
    };
    usage.insert(count_name, ONE);
    match kind.id {
        KindId::Pod => {
            let phase = obj.field("status.phase").and_then(Value::as_str);
            if matches!(phase, Some("Succeeded") | Some("Failed")) {
                return Usage::new();
            }
            usage.insert("pods".into(), ONE);
            add_pod_compute(obj, &mut usage);
        }
        KindId::Service => {
            usage.insert("services".into(), ONE);
            let ty = obj
                .field("spec.type")
                .and_then(Value::as_str)
                .unwrap_or("ClusterIP");
            if ty == "NodePort" || ty == "LoadBalancer" {
                let ports = obj
                    .field("spec.ports")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                usage.insert("services.nodeports".into(), ports as i128 * ONE);
            }
            if ty == "LoadBalancer" {
                usage.insert("services.loadbalancers".into(), ONE);
            }
        }
        KindId::ConfigMap => {
            usage.insert("configmaps".into(), ONE);
        }
        KindId::Secret => {
            usage.insert("secrets".into(), ONE);
        }
        KindId::ResourceQuota => {
            usage.insert("resourcequotas".into(), ONE);
        }
        KindId::PersistentVolumeClaim => {
            usage.insert("persistentvolumeclaims".into(), ONE);
            if let Some(q) = quantity_at(obj.field("spec.resources.requests.storage")) {
                usage.insert("requests.storage".into(), q);
            }
        }
        _ => {}
    }
    usage
}

/// Kubernetes' effective pod requests/limits: the larger of the containers' sum and any single
/// init container.
fn add_pod_compute(obj: &DynamicObject, usage: &mut Usage) {
    for (section, names) in [
        ("requests", ["requests.cpu", "requests.memory"]),
        ("limits", ["limits.cpu", "limits.memory"]),
    ] {
        for (resource, name) in ["cpu", "memory"].into_iter().zip(names) {
            let sum: i128 = containers(obj, "spec.containers")
                .filter_map(|c| quantity_at(c.get("resources")?.get(section)?.get(resource)))
                .sum();
            let init_max: i128 = containers(obj, "spec.initContainers")
                .filter_map(|c| quantity_at(c.get("resources")?.get(section)?.get(resource)))
                .max()
                .unwrap_or(0);
            let amount = sum.max(init_max);
            if amount > 0 {
                usage.insert(name.into(), amount);
                if section == "requests" {
                    usage.insert(resource.into(), amount);
                }
            }
        }
    }
}

fn containers<'a>(obj: &'a DynamicObject, path: &str) -> impl Iterator<Item = &'a Value> {
    obj.field(path)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn quantity_at(v: Option<&Value>) -> Option<i128> {
    let q: Quantity = match v? {
        Value::String(s) => s.parse().ok()?,
        Value::Number(n) => n.to_string().parse().ok()?,
        _ => return None,
    };
    Some(q.nanos())
}

/// `new - old`, dropping zero entries.
pub fn delta(old: &Usage, new: &Usage) -> Usage {
    let mut out = Usage::new();
    for (k, v) in new {
        let d = v - old.get(k).copied().unwrap_or(0);
        if d != 0 {
            out.insert(k.clone(), d);
        }
    }
    for (k, v) in old {
        if !new.contains_key(k) && *v != 0 {
            out.insert(k.clone(), -v);
        }
    }
    out
}

/// Formats nano-units as a Kubernetes quantity ("2", "500m", "1.5" never appears: milli or
/// nano precision).
pub fn format_amount(nanos: i128) -> String {
    if nanos % ONE == 0 {
        (nanos / ONE).to_string()
    } else if nanos % 1_000_000 == 0 {
        format!("{}m", nanos / 1_000_000)
    } else {
        format!("{nanos}n")
    }
}

/// Parses a quota's `spec.hard` (or `status.used`) map into nano-units; unparsable entries were
/// refused by validation and are skipped.
pub fn parse_amounts(map: Option<&Value>) -> Usage {
    map.and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), quantity_at(Some(v))?)))
        .collect()
}

/// Renders a usage map as the JSON object `status.used` holds.
pub fn to_json(usage: &Usage) -> Value {
    Value::Object(
        usage
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(format_amount(*v))))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> DynamicObject {
        DynamicObject::from_value(v).expect("object")
    }

    #[test]
    fn a_pod_counts_itself_and_its_compute() {
        let pod = obj(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "a"},
            "spec": {"containers": [
                {"name": "a", "image": "x", "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}, "limits": {"cpu": "1"}}},
                {"name": "b", "image": "x", "resources": {"requests": {"cpu": "250m"}}}],
             "initContainers": [{"name": "i", "image": "x", "resources": {"requests": {"cpu": "2"}}}]}}));
        let u = usage_of(&pod);
        assert_eq!(u["pods"], ONE);
        assert_eq!(u["count/pods"], ONE);
        assert_eq!(
            format_amount(u["requests.cpu"]),
            "2",
            "init container dominates"
        );
        assert_eq!(format_amount(u["cpu"]), "2");
        assert_eq!(u["requests.memory"], 64 * 1024 * 1024 * ONE);
        assert_eq!(format_amount(u["limits.cpu"]), "1");
    }

    #[test]
    fn a_finished_pod_counts_nothing() {
        let pod = obj(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "a"},
            "spec": {"containers": [{"name": "a", "image": "x"}]},
            "status": {"phase": "Succeeded"}}));
        assert!(usage_of(&pod).is_empty());
    }

    #[test]
    fn services_count_node_ports_and_groups_qualify_counts() {
        let svc = obj(json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "s", "namespace": "a"},
            "spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 81}]}}));
        let u = usage_of(&svc);
        assert_eq!(u["services.nodeports"], 2 * ONE);
        let deploy = obj(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "namespace": "a"}}));
        assert_eq!(usage_of(&deploy)["count/deployments.apps"], ONE);
    }

    #[test]
    fn delta_has_increases_and_decreases() {
        let old = Usage::from([("a".into(), 2 * ONE), ("b".into(), ONE)]);
        let new = Usage::from([("a".into(), 3 * ONE), ("c".into(), ONE)]);
        let d = delta(&old, &new);
        assert_eq!(d["a"], ONE);
        assert_eq!(d["b"], -ONE);
        assert_eq!(d["c"], ONE);
        assert_eq!(format_amount(1_500_000_000), "1500m");
    }
}
