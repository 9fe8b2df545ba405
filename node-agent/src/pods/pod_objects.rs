//! `PodObjects`: the ConfigMaps and Secrets a pod refers to (env, envFrom, volumes — in every
//! container and init container), looked up once per sync (answered by the agent's cache, see
//! `object_cache`) so env and volume files are built from one consistent view. Each is found
//! (its keys with their bytes), missing, or unavailable (the cell did not answer: nothing is
//! decided from it).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret};

use super::cluster_api::{ClusterApi, Lookup};

/// The two kinds of object a pod can take data from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    ConfigMap,
    Secret,
}

impl Kind {
    /// The API resource ("configmaps").
    pub fn resource(self) -> &'static str {
        match self {
            Kind::ConfigMap => "configmaps",
            Kind::Secret => "secrets",
        }
    }

    /// As the kubelet names it in messages ("configMap").
    pub fn label(self) -> &'static str {
        match self {
            Kind::ConfigMap => "configMap",
            Kind::Secret => "secret",
        }
    }

    /// As the kubelet names it in key messages ("ConfigMap").
    pub fn title(self) -> &'static str {
        match self {
            Kind::ConfigMap => "ConfigMap",
            Kind::Secret => "Secret",
        }
    }
}

/// What was fetched for one reference.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    Data(BTreeMap<String, Vec<u8>>),
    Missing,
    Unavailable(String),
}

/// The pod's referenced objects as fetched now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodObjects {
    pub namespace: String,
    objects: BTreeMap<(Kind, String), Fetched>,
}

impl PodObjects {
    pub fn new(namespace: &str) -> PodObjects {
        PodObjects {
            namespace: namespace.to_string(),
            objects: BTreeMap::new(),
        }
    }

    /// Records what was fetched for `kind/name`.
    pub fn insert(&mut self, kind: Kind, name: &str, fetched: Fetched) {
        self.objects.insert((kind, name.to_string()), fetched);
    }

    /// What is known of `kind/name` (never fetched counts as unavailable).
    pub fn get(&self, kind: Kind, name: &str) -> Fetched {
        self.objects
            .get(&(kind, name.to_string()))
            .cloned()
            .unwrap_or_else(|| {
                Fetched::Unavailable(format!("{} {name} was not fetched", kind.label()))
            })
    }

    /// The message for a missing object, like the API server's NotFound.
    pub fn not_found(kind: Kind, name: &str) -> String {
        format!("{} \"{name}\" not found", kind.resource())
    }

    /// Fetches everything `pod` refers to.
    pub async fn fetch(api: &dyn ClusterApi, pod: &Pod) -> PodObjects {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        let mut out = PodObjects::new(ns);
        for (kind, name) in referenced(pod) {
            let fetched = match api.get(kind.resource(), ns, &name).await {
                Lookup::Found(v) => match data_of(kind, v) {
                    Ok(d) => Fetched::Data(d),
                    Err(e) => Fetched::Unavailable(e),
                },
                Lookup::NotFound => Fetched::Missing,
                Lookup::Unavailable(e) => Fetched::Unavailable(e),
            };
            out.insert(kind, &name, fetched);
        }
        out
    }
}

/// The keys of a ConfigMap (`data` and `binaryData`) or Secret (`data` and `stringData`).
pub fn data_of(kind: Kind, v: serde_json::Value) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut out = BTreeMap::new();
    match kind {
        Kind::ConfigMap => {
            let cm: ConfigMap = serde_json::from_value(v).map_err(|e| e.to_string())?;
            for (k, s) in cm.data.unwrap_or_default() {
                out.insert(k, s.into_bytes());
            }
            for (k, b) in cm.binary_data.unwrap_or_default() {
                out.insert(k, b.0);
            }
        }
        Kind::Secret => {
            let s: Secret = serde_json::from_value(v).map_err(|e| e.to_string())?;
            for (k, b) in s.data.unwrap_or_default() {
                out.insert(k, b.0);
            }
            for (k, s) in s.string_data.unwrap_or_default() {
                out.insert(k, s.into_bytes());
            }
        }
    }
    Ok(out)
}

/// Every ConfigMap and Secret `pod` refers to.
pub fn referenced(pod: &Pod) -> BTreeSet<(Kind, String)> {
    let mut out = BTreeSet::new();
    let Some(spec) = pod.spec.as_ref() else {
        return out;
    };
    let containers = spec
        .init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter());
    for c in containers {
        for e in c.env.iter().flatten() {
            if let Some(from) = &e.value_from {
                if let Some(r) = &from.config_map_key_ref {
                    out.insert((Kind::ConfigMap, r.name.clone()));
                }
                if let Some(r) = &from.secret_key_ref {
                    out.insert((Kind::Secret, r.name.clone()));
                }
            }
        }
        for f in c.env_from.iter().flatten() {
            if let Some(r) = &f.config_map_ref {
                out.insert((Kind::ConfigMap, r.name.clone()));
            }
            if let Some(r) = &f.secret_ref {
                out.insert((Kind::Secret, r.name.clone()));
            }
        }
    }
    for v in spec.volumes.iter().flatten() {
        if let Some(cm) = &v.config_map {
            out.insert((Kind::ConfigMap, cm.name.clone()));
        }
        if let Some(s) = v.secret.as_ref().and_then(|s| s.secret_name.clone()) {
            out.insert((Kind::Secret, s));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_come_from_env_env_from_and_volumes() {
        let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": {
            "initContainers": [{"name": "i", "envFrom": [{"secretRef": {"name": "s1"}}]}],
            "containers": [{"name": "c", "env": [
                {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cm1", "key": "k"}}},
                {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s2", "key": "k"}}}],
                "envFrom": [{"configMapRef": {"name": "cm2"}}]}],
            "volumes": [{"name": "v", "configMap": {"name": "cm3"}},
                        {"name": "w", "secret": {"secretName": "s3"}},
                        {"name": "x", "emptyDir": {}}]}}))
        .unwrap();
        let got: Vec<(Kind, String)> = referenced(&pod).into_iter().collect();
        assert_eq!(
            got,
            [
                (Kind::ConfigMap, "cm1".to_string()),
                (Kind::ConfigMap, "cm2".into()),
                (Kind::ConfigMap, "cm3".into()),
                (Kind::Secret, "s1".into()),
                (Kind::Secret, "s2".into()),
                (Kind::Secret, "s3".into()),
            ]
        );
    }

    #[test]
    fn secret_data_is_decoded_and_string_data_merged() {
        let d = data_of(
            Kind::Secret,
            json!({"metadata": {"name": "s"}, "data": {"a": "aGk="}, "stringData": {"b": "yo"}}),
        )
        .unwrap();
        assert_eq!(d["a"], b"hi");
        assert_eq!(d["b"], b"yo");
        let c = data_of(
            Kind::ConfigMap,
            json!({"metadata": {"name": "c"}, "data": {"x": "1"}, "binaryData": {"y": "AAE="}}),
        )
        .unwrap();
        assert_eq!(c["x"], b"1");
        assert_eq!(c["y"], [0u8, 1]);
    }
}
