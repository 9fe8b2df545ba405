//! A container's environment as the kubelet builds it: `envFrom` sources first (ConfigMaps and
//! Secrets, every key under its prefix; keys that cannot be variable names are skipped), then
//! `env` (literal values, pod fieldRefs, configMapKeyRef and secretKeyRef), a later variable
//! replacing an earlier one of the same name. A missing object or key that is not `optional`
//! is an error with the kubelet's message (the container then waits in
//! CreateContainerConfigError). Pure.

use k8s_openapi::api::core::v1::{Container, Pod};

use super::pod_objects::{Fetched, Kind, PodObjects};

/// What env may refer to besides literal values and objects.
pub struct PodFields<'a> {
    pub pod_ip: &'a str,
    pub node_name: &'a str,
}

/// Why a container's environment cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    /// A referenced object or key is missing (CreateContainerConfigError).
    #[error("{0}")]
    Missing(String),
    /// The cell could not be asked; try again later.
    #[error("{0}")]
    Unavailable(String),
}

/// The environment of `c` in `pod`, in order, without duplicate names.
pub fn container_env(
    pod: &Pod,
    c: &Container,
    objects: &PodObjects,
    fields: &PodFields<'_>,
) -> Result<Vec<(String, String)>, EnvError> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut set = |k: String, v: String| match out.iter_mut().find(|(n, _)| *n == k) {
        Some(slot) => slot.1 = v,
        None => out.push((k, v)),
    };
    for from in c.env_from.iter().flatten() {
        let prefix = from.prefix.clone().unwrap_or_default();
        let sources = [
            from.config_map_ref
                .as_ref()
                .map(|r| (Kind::ConfigMap, r.name.as_str(), r.optional)),
            from.secret_ref
                .as_ref()
                .map(|r| (Kind::Secret, r.name.as_str(), r.optional)),
        ];
        for (kind, name, optional) in sources.into_iter().flatten() {
            let Some(data) = object(objects, kind, name, optional.unwrap_or(false))? else {
                continue;
            };
            for (k, v) in data {
                let key = format!("{prefix}{k}");
                if valid_env_name(&key) {
                    set(key, String::from_utf8_lossy(&v).into_owned());
                }
            }
        }
    }
    let (uid, ns, name) = (
        pod.metadata.uid.clone().unwrap_or_default(),
        pod.metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into()),
        pod.metadata.name.clone().unwrap_or_default(),
    );
    for e in c.env.iter().flatten() {
        let value = match (&e.value, &e.value_from) {
            (Some(v), _) => v.clone(),
            (None, None) => String::new(),
            (None, Some(from)) => {
                if let Some(f) = &from.field_ref {
                    match f.field_path.as_str() {
                        "metadata.name" => name.clone(),
                        "metadata.namespace" => ns.clone(),
                        "metadata.uid" => uid.clone(),
                        "spec.nodeName" => fields.node_name.to_string(),
                        "status.podIP" => fields.pod_ip.to_string(),
                        "spec.serviceAccountName" => pod
                            .spec
                            .as_ref()
                            .and_then(|s| s.service_account_name.clone())
                            .unwrap_or_default(),
                        _ => continue,
                    }
                } else if let Some(r) = &from.config_map_key_ref {
                    match key(objects, Kind::ConfigMap, &r.name, &r.key, r.optional)? {
                        Some(v) => v,
                        None => continue,
                    }
                } else if let Some(r) = &from.secret_key_ref {
                    match key(objects, Kind::Secret, &r.name, &r.key, r.optional)? {
                        Some(v) => v,
                        None => continue,
                    }
                } else {
                    continue;
                }
            }
        };
        set(e.name.clone(), value);
    }
    Ok(out)
}

/// The object's data; `None` when it is missing and optional.
fn object(
    objects: &PodObjects,
    kind: Kind,
    name: &str,
    optional: bool,
) -> Result<Option<std::collections::BTreeMap<String, Vec<u8>>>, EnvError> {
    match objects.get(kind, name) {
        Fetched::Data(d) => Ok(Some(d)),
        Fetched::Missing if optional => Ok(None),
        Fetched::Missing => Err(EnvError::Missing(format!(
            "couldn't get {} {}/{name}: {}",
            kind.label(),
            objects.namespace,
            PodObjects::not_found(kind, name)
        ))),
        Fetched::Unavailable(e) => Err(EnvError::Unavailable(format!(
            "couldn't get {} {}/{name}: {e}",
            kind.label(),
            objects.namespace
        ))),
    }
}

/// One key of an object; `None` when it (or the object) is missing and optional.
fn key(
    objects: &PodObjects,
    kind: Kind,
    name: &str,
    key: &str,
    optional: Option<bool>,
) -> Result<Option<String>, EnvError> {
    let optional = optional.unwrap_or(false);
    let Some(data) = object(objects, kind, name, optional)? else {
        return Ok(None);
    };
    match data.get(key) {
        Some(v) => Ok(Some(String::from_utf8_lossy(v).into_owned())),
        None if optional => Ok(None),
        None => Err(EnvError::Missing(format!(
            "couldn't find key {key} in {} {}/{name}",
            kind.title(),
            objects.namespace
        ))),
    }
}

/// Kubernetes accepts any printable name without `=` (since 1.30); the empty name never.
fn valid_env_name(k: &str) -> bool {
    !k.is_empty() && !k.contains('=') && k.chars().all(|c| c.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn pod(container: serde_json::Value) -> Pod {
        serde_json::from_value(
            json!({"metadata": {"name": "web", "namespace": "ns1", "uid": "u"},
            "spec": {"containers": [container]}}),
        )
        .unwrap()
    }

    fn objects() -> PodObjects {
        let mut o = PodObjects::new("ns1");
        let data = |kv: &[(&str, &str)]| {
            Fetched::Data(
                kv.iter()
                    .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                    .collect::<BTreeMap<_, _>>(),
            )
        };
        o.insert(
            Kind::ConfigMap,
            "cfg",
            data(&[("mode", "fast"), ("level", "3"), ("bad=key", "x")]),
        );
        o.insert(Kind::Secret, "creds", data(&[("password", "hunter2")]));
        o.insert(Kind::ConfigMap, "gone", Fetched::Missing);
        o.insert(Kind::Secret, "gone", Fetched::Missing);
        o.insert(
            Kind::ConfigMap,
            "down",
            Fetched::Unavailable("timeout".into()),
        );
        o
    }

    const FIELDS: PodFields<'static> = PodFields {
        pod_ip: "10.0.0.2",
        node_name: "n1",
    };

    fn env_of(c: serde_json::Value) -> Result<Vec<(String, String)>, EnvError> {
        let p = pod(c);
        let c = &p.spec.as_ref().unwrap().containers[0];
        container_env(&p, c, &objects(), &FIELDS)
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn env_from_then_env_with_refs_and_overrides() {
        let got = env_of(json!({"name": "c",
            "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"},
                        {"secretRef": {"name": "creds"}}],
            "env": [{"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "mode"}}},
                    {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
                    {"name": "CFG_level", "value": "override"},
                    {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                    {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}]}))
        .unwrap();
        assert_eq!(
            got,
            pairs(&[
                ("CFG_level", "override"),
                ("CFG_mode", "fast"),
                ("password", "hunter2"),
                ("MODE", "fast"),
                ("PW", "hunter2"),
                ("IP", "10.0.0.2"),
                ("NS", "ns1"),
            ])
        );
    }

    #[test]
    fn missing_required_refs_fail_with_the_kubelets_message() {
        let e = env_of(json!({"name": "c", "env": [
            {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "k"}}}]}));
        assert_eq!(
            e,
            Err(EnvError::Missing(
                "couldn't get configMap ns1/gone: configmaps \"gone\" not found".into()
            ))
        );
        let e = env_of(json!({"name": "c", "env": [
            {"name": "X", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "user"}}}]}));
        assert_eq!(
            e,
            Err(EnvError::Missing(
                "couldn't find key user in Secret ns1/creds".into()
            ))
        );
        let e = env_of(json!({"name": "c", "envFrom": [{"secretRef": {"name": "gone"}}]}));
        assert!(matches!(e, Err(EnvError::Missing(m)) if m.contains("secrets \"gone\" not found")));
        let e = env_of(json!({"name": "c", "envFrom": [{"configMapRef": {"name": "down"}}]}));
        assert!(matches!(e, Err(EnvError::Unavailable(_))));
    }

    #[test]
    fn optional_refs_are_left_out_when_missing() {
        let got = env_of(json!({"name": "c",
            "envFrom": [{"configMapRef": {"name": "gone", "optional": true}}],
            "env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "k", "optional": true}}},
                    {"name": "B", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "nope", "optional": true}}},
                    {"name": "C", "value": "1"}]}))
        .unwrap();
        assert_eq!(got, pairs(&[("C", "1")]));
    }
}
