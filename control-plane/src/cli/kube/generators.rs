//! The objects `keelctl create deployment|namespace|configmap|secret generic` builds, exactly as
//! kubectl's generators build them (so `--dry-run=client -o yaml` prints the same manifest).

use std::path::Path;

use anyhow::{bail, Context};
use serde_json::{json, Map, Value};

use super::base64;

/// The container name kubectl derives from an image: its last path segment without tag or
/// digest, `_` replaced by `-`.
pub fn container_name(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    let last = last.split('@').next().unwrap_or(last);
    let last = last.split(':').next().unwrap_or(last);
    last.replace('_', "-")
}

/// `kubectl create deployment NAME --image=I... [--replicas=N] [--port=P]`.
pub fn deployment(name: &str, images: &[String], replicas: i32, port: Option<i32>) -> Value {
    let mut names: Vec<String> = Vec::new();
    let containers: Vec<Value> = images
        .iter()
        .map(|image| {
            let mut n = container_name(image);
            if names.contains(&n) {
                let mut i = 1;
                while names.contains(&format!("{n}-{i}")) {
                    i += 1;
                }
                n = format!("{n}-{i}");
            }
            names.push(n.clone());
            let mut c = json!({"image": image, "name": n, "resources": {}});
            if let Some(p) = port {
                c["ports"] = json!([{"containerPort": p}]);
            }
            c
        })
        .collect();
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"creationTimestamp": null, "labels": {"app": name}, "name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {},
            "template": {
                "metadata": {"creationTimestamp": null, "labels": {"app": name}},
                "spec": {"containers": containers}
            }
        },
        "status": {}
    })
}

pub fn namespace(name: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"creationTimestamp": null, "name": name},
        "spec": {}, "status": {}
    })
}

/// `--from-literal=KEY=VALUE` entries and `--from-file=[KEY=]PATH` files, in order; a
/// directory contributes each regular file.
pub fn collect_data(
    literals: &[String],
    files: &[String],
) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let push = |k: String, v: Vec<u8>, out: &mut Vec<(String, Vec<u8>)>| -> anyhow::Result<()> {
        if out.iter().any(|(e, _)| *e == k) {
            bail!("cannot add key {k}, another key by that name already exists");
        }
        if k.is_empty()
            || !k
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
        {
            bail!("\"{k}\" is not a valid key name: a valid config key must consist of alphanumeric characters, '-', '_' or '.'");
        }
        out.push((k, v));
        Ok(())
    };
    for l in literals {
        let Some((k, v)) = l.split_once('=') else {
            bail!("invalid literal source {l}, expected key=value");
        };
        push(k.to_string(), v.as_bytes().to_vec(), &mut out)?;
    }
    for f in files {
        let (key, path) = match f.split_once('=') {
            Some((k, p)) => (Some(k.to_string()), p),
            None => (None, f.as_str()),
        };
        let p = Path::new(path);
        if p.is_dir() {
            if key.is_some() {
                bail!("cannot give a key name for a directory path ({f})");
            }
            let mut entries: Vec<_> = std::fs::read_dir(p)
                .with_context(|| format!("reading {path}"))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            entries.sort();
            for e in entries {
                let k = e
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default();
                let v = std::fs::read(&e).with_context(|| format!("reading {}", e.display()))?;
                push(k, v, &mut out)?;
            }
        } else {
            let v = std::fs::read(p).map_err(|e| anyhow::anyhow!("error reading {path}: {e}"))?;
            let k = key.unwrap_or_else(|| {
                p.file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default()
            });
            push(k, v, &mut out)?;
        }
    }
    Ok(out)
}

/// `kubectl create configmap`: UTF-8 values in `data`, others in `binaryData`.
pub fn configmap(name: &str, entries: &[(String, Vec<u8>)]) -> Value {
    let mut data = Map::new();
    let mut binary = Map::new();
    for (k, v) in entries {
        match std::str::from_utf8(v) {
            Ok(s) => data.insert(k.clone(), Value::String(s.to_string())),
            Err(_) => binary.insert(k.clone(), Value::String(base64::encode(v))),
        };
    }
    let mut cm = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"creationTimestamp": null, "name": name},
    });
    if !data.is_empty() {
        cm["data"] = Value::Object(data);
    }
    if !binary.is_empty() {
        cm["binaryData"] = Value::Object(binary);
    }
    cm
}

/// `kubectl create secret generic`: base64 values in `data`.
pub fn secret(name: &str, secret_type: &str, entries: &[(String, Vec<u8>)]) -> Value {
    let data: Map<String, Value> = entries
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(base64::encode(v))))
        .collect();
    let mut s = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"creationTimestamp": null, "name": name},
        "type": secret_type,
    });
    if !data.is_empty() {
        s["data"] = Value::Object(data);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::kube::printers::to_yaml;

    #[test]
    fn deployment_matches_kubectl_dry_run_yaml() {
        let d = deployment("web", &["nginx:1.25".into()], 1, None);
        assert_eq!(
            to_yaml(&d),
            "apiVersion: apps/v1
kind: Deployment
metadata:
  creationTimestamp: null
  labels:
    app: web
  name: web
spec:
  replicas: 1
  selector:
    matchLabels:
      app: web
  strategy: {}
  template:
    metadata:
      creationTimestamp: null
      labels:
        app: web
    spec:
      containers:
      - image: nginx:1.25
        name: nginx
        resources: {}
status: {}
"
        );
        assert_eq!(
            container_name("registry.local:5000/team/my_app:v1"),
            "my-app"
        );
        let two = deployment("x", &["busybox".into(), "busybox:1".into()], 2, Some(80));
        assert_eq!(
            two["spec"]["template"]["spec"]["containers"][1]["name"],
            "busybox-1"
        );
        assert_eq!(
            two["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"],
            80
        );
    }

    #[test]
    fn configmap_and_secret_data() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("app.conf");
        std::fs::write(&f, "x=1\n").unwrap();
        let entries = collect_data(
            &["a=1".into(), "b=two=2".into()],
            &[format!("conf={}", f.display()), f.display().to_string()],
        )
        .unwrap();
        let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, vec!["a", "b", "conf", "app.conf"]);
        let cm = configmap("c", &entries);
        assert_eq!(cm["data"]["b"], "two=2");
        let s = secret("s", "Opaque", &entries[..1]);
        assert_eq!(s["data"]["a"], "MQ==");
        assert!(collect_data(&["a=1".into(), "a=2".into()], &[]).is_err());
        assert!(collect_data(&["novalue".into()], &[]).is_err());
        assert!(collect_data(&[], &["/nonexistent/file".into()])
            .unwrap_err()
            .to_string()
            .contains("/nonexistent/file"));
    }
}
