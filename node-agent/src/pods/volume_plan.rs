//! What a pod's volumes are on the node, and how its containers mount them — decided from the
//! pod spec and its fetched objects, without touching the disk. emptyDir: a directory of the
//! pod's (tmpfs for medium Memory); hostPath: the node's path with its type check; configMap
//! and secret: the files of their keys (or `items`) with modes, written by the atomic writer
//! (secrets on tmpfs, as the kubelet keeps them). Mounts: one CRI mount per volumeMount, with
//! subPath (relative, never `..`) and readOnly (always for configMap and secret volumes).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::{Container, KeyToPath, Pod, Volume};

use super::pod_objects::{Fetched, Kind, PodObjects};

/// Kubernetes' default file mode for configMap and secret volumes (0644).
pub const DEFAULT_MODE: u32 = 0o644;

/// One file of a configMap or secret volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectedFile {
    /// Relative to the volume's directory (may contain `/`).
    pub path: String,
    pub data: Vec<u8>,
    pub mode: u32,
}

/// What one volume is on the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeSetup {
    EmptyDir {
        dir: PathBuf,
        /// medium: Memory — a tmpfs, sized by `sizeLimit` when given.
        memory: bool,
        size_limit: Option<i64>,
    },
    HostPath {
        path: PathBuf,
        type_: String,
    },
    /// A configMap or secret volume: exactly these files.
    Files {
        dir: PathBuf,
        tmpfs: bool,
        files: Vec<ProjectedFile>,
    },
}

impl VolumeSetup {
    /// The host path mounted into containers.
    pub fn host_path(&self) -> &Path {
        match self {
            VolumeSetup::EmptyDir { dir, .. } | VolumeSetup::Files { dir, .. } => dir,
            VolumeSetup::HostPath { path, .. } => path,
        }
    }
}

/// One of the pod's volumes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedVolume {
    pub name: String,
    pub setup: VolumeSetup,
}

/// Why a volume cannot be set up (the kubelet's FailedMount).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VolumeError {
    /// A missing object or key, an unsupported or invalid volume: the pod waits for a fix.
    #[error("MountVolume.SetUp failed for volume \"{volume}\" : {message}")]
    Invalid { volume: String, message: String },
    /// The cell could not be asked; try again later.
    #[error("MountVolume.SetUp failed for volume \"{volume}\" : {message}")]
    Unavailable { volume: String, message: String },
}

/// The pod's volumes under `pod_dir` (the pod's own directory on the node).
pub fn plan_volumes(
    pod: &Pod,
    pod_dir: &Path,
    objects: &PodObjects,
) -> Result<Vec<PlannedVolume>, VolumeError> {
    let volumes = pod
        .spec
        .as_ref()
        .and_then(|s| s.volumes.clone())
        .unwrap_or_default();
    volumes
        .iter()
        .map(|v| {
            Ok(PlannedVolume {
                name: v.name.clone(),
                setup: plan_one(v, pod_dir, objects)?,
            })
        })
        .collect()
}

fn plan_one(v: &Volume, pod_dir: &Path, objects: &PodObjects) -> Result<VolumeSetup, VolumeError> {
    let invalid = |message: String| VolumeError::Invalid {
        volume: v.name.clone(),
        message,
    };
    if !is_plain_name(&v.name) {
        return Err(invalid(format!("invalid volume name {:?}", v.name)));
    }
    let dir = |kind: &str| pod_dir.join("volumes").join(kind).join(&v.name);
    if let Some(e) = &v.empty_dir {
        return Ok(VolumeSetup::EmptyDir {
            dir: dir("empty-dir"),
            memory: e.medium.as_deref() == Some("Memory"),
            size_limit: e
                .size_limit
                .as_ref()
                .and_then(|q| crate::runtime::cri_spec::bytes(&q.0)),
        });
    }
    if let Some(h) = &v.host_path {
        if !h.path.starts_with('/') {
            return Err(invalid(format!("hostPath {:?} is not absolute", h.path)));
        }
        return Ok(VolumeSetup::HostPath {
            path: PathBuf::from(&h.path),
            type_: h.type_.clone().unwrap_or_default(),
        });
    }
    let (kind, name, items, default_mode, optional, sub) = if let Some(c) = &v.config_map {
        (
            Kind::ConfigMap,
            c.name.clone(),
            &c.items,
            c.default_mode,
            c.optional,
            "configmap",
        )
    } else if let Some(s) = &v.secret {
        let Some(name) = s.secret_name.clone() else {
            return Err(invalid("secret volume without secretName".into()));
        };
        (
            Kind::Secret,
            name,
            &s.items,
            s.default_mode,
            s.optional,
            "secret",
        )
    } else {
        return Err(invalid(
            "unsupported volume type (keel-agent has emptyDir, hostPath, configMap and secret)"
                .into(),
        ));
    };
    let optional = optional.unwrap_or(false);
    let data = match objects.get(kind, &name) {
        Fetched::Data(d) => d,
        Fetched::Missing if optional => BTreeMap::new(),
        Fetched::Missing => {
            return Err(invalid(format!("{} \"{name}\" not found", kind_word(kind))))
        }
        Fetched::Unavailable(message) => {
            return Err(VolumeError::Unavailable {
                volume: v.name.clone(),
                message,
            })
        }
    };
    let default_mode = mode_bits(default_mode).unwrap_or(DEFAULT_MODE);
    let files = project(&data, items.as_deref(), default_mode, optional, kind).map_err(invalid)?;
    Ok(VolumeSetup::Files {
        dir: dir(sub),
        tmpfs: kind == Kind::Secret,
        files,
    })
}

fn kind_word(kind: Kind) -> &'static str {
    match kind {
        Kind::ConfigMap => "configmap",
        Kind::Secret => "secret",
    }
}

/// The files of a configMap/secret volume: every key, or just `items` (key → path, mode).
fn project(
    data: &BTreeMap<String, Vec<u8>>,
    items: Option<&[KeyToPath]>,
    default_mode: u32,
    optional: bool,
    kind: Kind,
) -> Result<Vec<ProjectedFile>, String> {
    let Some(items) = items.filter(|i| !i.is_empty()) else {
        return Ok(data
            .iter()
            .filter(|(k, _)| is_plain_name(k))
            .map(|(k, v)| ProjectedFile {
                path: k.clone(),
                data: v.clone(),
                mode: default_mode,
            })
            .collect());
    };
    let mut out = Vec::new();
    for item in items {
        if !is_relative_inside(&item.path) {
            return Err(format!("invalid path {:?} for key {}", item.path, item.key));
        }
        let Some(v) = data.get(&item.key) else {
            if optional {
                continue;
            }
            return Err(match kind {
                Kind::ConfigMap => {
                    format!("configmap references non-existent config key: {}", item.key)
                }
                Kind::Secret => format!("references non-existent secret key: {}", item.key),
            });
        };
        out.push(ProjectedFile {
            path: item.path.clone(),
            data: v.clone(),
            mode: mode_bits(item.mode).unwrap_or(default_mode),
        });
    }
    Ok(out)
}

/// A mode as given in the API (an int, e.g. 420 = 0644), kept to permission bits.
fn mode_bits(mode: Option<i32>) -> Option<u32> {
    mode.and_then(|m| u32::try_from(m).ok()).map(|m| m & 0o7777)
}

/// One path component, not `.`/`..`-like and not hidden behind the writer's `..` names.
fn is_plain_name(s: &str) -> bool {
    !s.is_empty() && !s.contains('/') && !s.starts_with("..") && s != "."
}

/// A relative path that stays inside its directory and never names the writer's `..` entries.
pub fn is_relative_inside(p: &str) -> bool {
    let path = Path::new(p);
    !p.is_empty()
        && !p.starts_with("..")
        && path.components().all(|c| matches!(c, Component::Normal(_)))
}

/// The CRI mounts of container `c`; an unknown volume or a bad subPath is the kubelet's
/// CreateContainerConfigError message.
pub fn container_mounts(
    c: &Container,
    volumes: &[PlannedVolume],
) -> Result<Vec<cri::Mount>, String> {
    let mut out = Vec::new();
    for m in c.volume_mounts.iter().flatten() {
        let Some(v) = volumes.iter().find(|v| v.name == m.name) else {
            return Err(format!(
                "cannot find volume \"{}\" to mount into container \"{}\"",
                m.name, c.name
            ));
        };
        let mut host = v.setup.host_path().to_path_buf();
        if let Some(sub) = m.sub_path.as_deref().filter(|s| !s.is_empty()) {
            if !is_relative_inside(sub) {
                return Err(format!(
                    "subPath {sub:?} of volume \"{}\" must be a relative path inside it",
                    m.name
                ));
            }
            host = host.join(sub);
        }
        let always_ro = matches!(v.setup, VolumeSetup::Files { .. });
        out.push(cri::Mount {
            container_path: m.mount_path.clone(),
            host_path: host.to_string_lossy().into_owned(),
            readonly: m.read_only.unwrap_or(false) || always_ro,
            ..Default::default()
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(spec: serde_json::Value) -> Pod {
        serde_json::from_value(
            json!({"metadata": {"name": "p", "namespace": "ns1", "uid": "u"}, "spec": spec}),
        )
        .unwrap()
    }

    fn objects() -> PodObjects {
        let mut o = PodObjects::new("ns1");
        o.insert(
            Kind::ConfigMap,
            "cfg",
            Fetched::Data(BTreeMap::from([
                ("a.conf".to_string(), b"A".to_vec()),
                ("b.conf".to_string(), b"B".to_vec()),
            ])),
        );
        o.insert(
            Kind::Secret,
            "creds",
            Fetched::Data(BTreeMap::from([("pw".to_string(), b"x".to_vec())])),
        );
        o.insert(Kind::ConfigMap, "gone", Fetched::Missing);
        o
    }

    #[test]
    fn each_kind_of_volume_becomes_its_setup() {
        let p = pod(json!({"containers": [], "volumes": [
            {"name": "scratch", "emptyDir": {}},
            {"name": "ram", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
            {"name": "host", "hostPath": {"path": "/tmp/x", "type": "DirectoryOrCreate"}},
            {"name": "cfg", "configMap": {"name": "cfg", "defaultMode": 0o600,
                "items": [{"key": "b.conf", "path": "sub/b.conf", "mode": 0o400}, {"key": "a.conf", "path": "a"}]}},
            {"name": "sec", "secret": {"secretName": "creds"}},
            {"name": "opt", "configMap": {"name": "gone", "optional": true}}]}));
        let v = plan_volumes(&p, Path::new("/r/u"), &objects()).unwrap();
        assert_eq!(
            v[0].setup,
            VolumeSetup::EmptyDir {
                dir: "/r/u/volumes/empty-dir/scratch".into(),
                memory: false,
                size_limit: None
            }
        );
        assert_eq!(
            v[1].setup,
            VolumeSetup::EmptyDir {
                dir: "/r/u/volumes/empty-dir/ram".into(),
                memory: true,
                size_limit: Some(16 << 20)
            }
        );
        assert_eq!(
            v[2].setup,
            VolumeSetup::HostPath {
                path: "/tmp/x".into(),
                type_: "DirectoryOrCreate".into()
            }
        );
        assert_eq!(
            v[3].setup,
            VolumeSetup::Files {
                dir: "/r/u/volumes/configmap/cfg".into(),
                tmpfs: false,
                files: vec![
                    ProjectedFile {
                        path: "sub/b.conf".into(),
                        data: b"B".to_vec(),
                        mode: 0o400
                    },
                    ProjectedFile {
                        path: "a".into(),
                        data: b"A".to_vec(),
                        mode: 0o600
                    },
                ]
            }
        );
        assert_eq!(
            v[4].setup,
            VolumeSetup::Files {
                dir: "/r/u/volumes/secret/sec".into(),
                tmpfs: true,
                files: vec![ProjectedFile {
                    path: "pw".into(),
                    data: b"x".to_vec(),
                    mode: DEFAULT_MODE
                }]
            }
        );
        assert!(matches!(&v[5].setup, VolumeSetup::Files { files, .. } if files.is_empty()));
    }

    #[test]
    fn missing_objects_keys_and_unknown_types_fail_with_a_clear_message() {
        let err = |vol: serde_json::Value| {
            plan_volumes(
                &pod(json!({"containers": [], "volumes": [vol]})),
                Path::new("/r"),
                &objects(),
            )
            .unwrap_err()
            .to_string()
        };
        assert_eq!(
            err(json!({"name": "v", "configMap": {"name": "gone"}})),
            "MountVolume.SetUp failed for volume \"v\" : configmap \"gone\" not found"
        );
        assert_eq!(
            err(json!({"name": "v", "configMap": {"name": "cfg", "items": [{"key": "zz", "path": "z"}]}})),
            "MountVolume.SetUp failed for volume \"v\" : configmap references non-existent config key: zz"
        );
        assert!(err(json!({"name": "v", "configMap": {"name": "cfg", "items": [{"key": "a.conf", "path": "../x"}]}}))
            .contains("invalid path"));
        assert!(
            err(json!({"name": "v", "persistentVolumeClaim": {"claimName": "c"}}))
                .contains("unsupported volume type")
        );
        assert!(err(json!({"name": "v", "hostPath": {"path": "rel"}})).contains("not absolute"));
    }

    #[test]
    fn mounts_resolve_sub_paths_and_read_only() {
        let p = pod(json!({"containers": [{"name": "c", "volumeMounts": [
                {"name": "scratch", "mountPath": "/data", "subPath": "logs"},
                {"name": "cfg", "mountPath": "/etc/app"},
                {"name": "host", "mountPath": "/host", "readOnly": true}]}],
            "volumes": [{"name": "scratch", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "cfg"}},
                        {"name": "host", "hostPath": {"path": "/tmp/x"}}]}));
        let v = plan_volumes(&p, Path::new("/r"), &objects()).unwrap();
        let c = &p.spec.as_ref().unwrap().containers[0];
        let m = container_mounts(c, &v).unwrap();
        let got: Vec<(&str, &str, bool)> = m
            .iter()
            .map(|m| (m.container_path.as_str(), m.host_path.as_str(), m.readonly))
            .collect();
        assert_eq!(
            got,
            [
                ("/data", "/r/volumes/empty-dir/scratch/logs", false),
                ("/etc/app", "/r/volumes/configmap/cfg", true),
                ("/host", "/tmp/x", true)
            ]
        );
        let bad: k8s_openapi::api::core::v1::Container = serde_json::from_value(
            json!({"name": "c", "volumeMounts": [{"name": "nope", "mountPath": "/x"}]}),
        )
        .unwrap();
        assert_eq!(
            container_mounts(&bad, &v).unwrap_err(),
            "cannot find volume \"nope\" to mount into container \"c\""
        );
        let escape: k8s_openapi::api::core::v1::Container = serde_json::from_value(
            json!({"name": "c", "volumeMounts": [{"name": "scratch", "mountPath": "/x", "subPath": "../../etc"}]}),
        )
        .unwrap();
        assert!(container_mounts(&escape, &v)
            .unwrap_err()
            .contains("relative path inside"));
    }
}
