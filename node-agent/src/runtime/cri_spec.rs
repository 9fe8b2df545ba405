//! Pure translation of a Kubernetes Pod into CRI configs, as the kubelet does it: the sandbox
//! (metadata, hostname, log directory, hostPort mappings, labels carrying the pod's identity) and
//! each container (image, command/args, its resolved env and mounts, workingDir, log path,
//! resource limits as CPU quota/shares and a memory limit). No IO.

use std::collections::HashMap;
use std::path::Path;

use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// Sandbox and container label: the pod's uid (how the agent finds and adopts its pods).
pub const LABEL_POD_UID: &str = "io.kubernetes.pod.uid";
pub const LABEL_POD_NAME: &str = "io.kubernetes.pod.name";
pub const LABEL_POD_NAMESPACE: &str = "io.kubernetes.pod.namespace";
pub const LABEL_CONTAINER_NAME: &str = "io.kubernetes.container.name";
/// Marks what keel-agent created, so it never touches other sandboxes on a shared runtime.
pub const LABEL_MANAGED_BY: &str = "keel.dev/managed-by";
pub const MANAGED_BY: &str = "keel-agent";

/// CFS period used for CPU limits (the kubelet's).
const CPU_PERIOD_US: i64 = 100_000;

/// The pod's uid, namespace and name.
pub fn pod_identity(pod: &Pod) -> (String, String, String) {
    (
        pod.metadata.uid.clone().unwrap_or_default(),
        pod.metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into()),
        pod.metadata.name.clone().unwrap_or_default(),
    )
}

/// Labels put on a pod's sandbox and containers.
pub fn pod_labels(pod: &Pod) -> HashMap<String, String> {
    let (uid, ns, name) = pod_identity(pod);
    HashMap::from([
        (LABEL_POD_UID.to_string(), uid),
        (LABEL_POD_NAME.to_string(), name),
        (LABEL_POD_NAMESPACE.to_string(), ns),
        (LABEL_MANAGED_BY.to_string(), MANAGED_BY.to_string()),
    ])
}

/// The sandbox config for `pod` (`attempt` counts re-created sandboxes); logs go under
/// `log_root/<ns>_<name>_<uid>/`.
pub fn sandbox_config(pod: &Pod, attempt: u32, log_root: &Path) -> cri::PodSandboxConfig {
    let (uid, ns, name) = pod_identity(pod);
    let spec = pod.spec.as_ref();
    let hostname = spec
        .and_then(|s| s.hostname.clone())
        .unwrap_or_else(|| name.clone());
    let port_mappings = spec
        .map(|s| s.containers.iter().flat_map(port_mappings).collect())
        .unwrap_or_default();
    cri::PodSandboxConfig {
        metadata: Some(cri::PodSandboxMetadata {
            name: name.clone(),
            uid: uid.clone(),
            namespace: ns.clone(),
            attempt,
        }),
        hostname,
        log_directory: log_root
            .join(format!("{ns}_{name}_{uid}"))
            .to_string_lossy()
            .into_owned(),
        port_mappings,
        labels: pod_labels(pod),
        linux: Some(cri::LinuxPodSandboxConfig::default()),
        ..Default::default()
    }
}

/// hostPort mappings of one container (ports without a hostPort are not published).
fn port_mappings(c: &Container) -> Vec<cri::PortMapping> {
    c.ports
        .iter()
        .flatten()
        .filter_map(|p| {
            let host_port = p.host_port.filter(|hp| *hp > 0)?;
            let protocol = match p.protocol.as_deref() {
                Some("UDP") => cri::Protocol::Udp,
                Some("SCTP") => cri::Protocol::Sctp,
                _ => cri::Protocol::Tcp,
            };
            Some(cri::PortMapping {
                protocol: protocol as i32,
                container_port: p.container_port,
                host_port,
                host_ip: p.host_ip.clone().unwrap_or_default(),
            })
        })
        .collect()
}

/// The config of container `c` of `pod`, restart number `attempt`, with its resolved
/// environment (see `pods::env`) and volume mounts (see `pods::volume_plan`).
pub fn container_config(
    pod: &Pod,
    c: &Container,
    attempt: u32,
    image: &str,
    env: Vec<(String, String)>,
    mounts: Vec<cri::Mount>,
) -> cri::ContainerConfig {
    let mut labels = pod_labels(pod);
    labels.insert(LABEL_CONTAINER_NAME.to_string(), c.name.clone());
    cri::ContainerConfig {
        metadata: Some(cri::ContainerMetadata {
            name: c.name.clone(),
            attempt,
        }),
        image: Some(cri::ImageSpec {
            image: image.to_string(),
            ..Default::default()
        }),
        command: c.command.clone().unwrap_or_default(),
        args: c.args.clone().unwrap_or_default(),
        working_dir: c.working_dir.clone().unwrap_or_default(),
        envs: env
            .into_iter()
            .map(|(key, value)| cri::KeyValue { key, value })
            .collect(),
        mounts,
        labels,
        log_path: format!("{}/{attempt}.log", c.name),
        linux: Some(cri::LinuxContainerConfig {
            resources: Some(resources(c)),
            security_context: None,
        }),
        ..Default::default()
    }
}

/// Limits → CFS quota and memory limit; requests (or limits) → CPU shares, as the kubelet maps
/// them on cgroup v1.
fn resources(c: &Container) -> cri::LinuxContainerResources {
    let res = c.resources.as_ref();
    let get = |which: Option<&std::collections::BTreeMap<String, Quantity>>, k: &str| {
        which.and_then(|m| m.get(k)).map(|q| q.0.clone())
    };
    let limits = res.and_then(|r| r.limits.as_ref());
    let requests = res.and_then(|r| r.requests.as_ref());
    let mut out = cri::LinuxContainerResources::default();
    if let Some(milli) = get(limits, "cpu").and_then(|q| millicores(&q)) {
        out.cpu_period = CPU_PERIOD_US;
        out.cpu_quota = (milli * CPU_PERIOD_US / 1000).max(1000);
    }
    let shares_from = get(requests, "cpu").or_else(|| get(limits, "cpu"));
    out.cpu_shares = shares_from
        .and_then(|q| millicores(&q))
        .map_or(2, |milli| (milli * 1024 / 1000).max(2));
    if let Some(bytes) = get(limits, "memory").and_then(|q| bytes(&q)) {
        out.memory_limit_in_bytes = bytes;
    }
    out
}

/// "250m" → 250, "2" → 2000, "0.5" → 500.
pub fn millicores(q: &str) -> Option<i64> {
    if let Some(m) = q.strip_suffix('m') {
        return m.parse().ok();
    }
    let cores: f64 = q.parse().ok()?;
    Some((cores * 1000.0).round() as i64)
}

/// "64Mi" → 67108864, "1G" → 10^9, "1000" → 1000.
pub fn bytes(q: &str) -> Option<i64> {
    const SUFFIXES: [(&str, i64); 12] = [
        ("Ki", 1 << 10),
        ("Mi", 1 << 20),
        ("Gi", 1 << 30),
        ("Ti", 1 << 40),
        ("Pi", 1 << 50),
        ("Ei", 1 << 60),
        ("k", 1_000),
        ("M", 1_000_000),
        ("G", 1_000_000_000),
        ("T", 1_000_000_000_000),
        ("P", 1_000_000_000_000_000),
        ("E", 1_000_000_000_000_000_000),
    ];
    for (suffix, mult) in SUFFIXES {
        if let Some(n) = q.strip_suffix(suffix) {
            let n: f64 = n.parse().ok()?;
            return Some((n * mult as f64) as i64);
        }
    }
    q.parse::<f64>().ok().map(|n| n as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "ns1", "uid": "u-1"},
            "spec": {"nodeName": "n1", "containers": [{
                "name": "app", "image": "keel/app:1",
                "command": ["sh", "-c"], "args": ["httpd -f"], "workingDir": "/www",
                "env": [{"name": "A", "value": "1"},
                        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                        {"name": "CM", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}],
                "ports": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81}],
                "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}, "requests": {"cpu": "250m"}}
            }]}
        }))
        .expect("pod")
    }

    #[test]
    fn the_sandbox_carries_identity_ports_and_log_directory() {
        let s = sandbox_config(&pod(), 0, Path::new("/logs"));
        let m = s.metadata.expect("metadata");
        assert_eq!(
            (m.name.as_str(), m.namespace.as_str(), m.uid.as_str()),
            ("web", "ns1", "u-1")
        );
        assert_eq!(s.hostname, "web");
        assert_eq!(s.log_directory, "/logs/ns1_web_u-1");
        assert_eq!(
            s.port_mappings.len(),
            1,
            "only ports with a hostPort are published"
        );
        assert_eq!(s.port_mappings[0].host_port, 8080);
        assert_eq!(s.port_mappings[0].container_port, 80);
        assert_eq!(s.labels[LABEL_POD_UID], "u-1");
        assert_eq!(s.labels[LABEL_MANAGED_BY], MANAGED_BY);
    }

    #[test]
    fn containers_get_command_env_mounts_and_limits() {
        let p = pod();
        let c = &p.spec.as_ref().expect("spec").containers[0];
        let env = vec![("A".to_string(), "1".to_string())];
        let mount = cri::Mount {
            container_path: "/etc/app".into(),
            host_path: "/v/cfg".into(),
            readonly: true,
            ..Default::default()
        };
        let cfg = container_config(
            &p,
            c,
            2,
            "127.0.0.1:5000/keel/app:1",
            env,
            vec![mount.clone()],
        );
        assert_eq!(cfg.metadata.as_ref().expect("metadata").attempt, 2);
        assert_eq!(cfg.command, ["sh", "-c"]);
        assert_eq!(cfg.args, ["httpd -f"]);
        assert_eq!(cfg.working_dir, "/www");
        assert_eq!(cfg.log_path, "app/2.log");
        let env: Vec<(&str, &str)> = cfg
            .envs
            .iter()
            .map(|kv| (kv.key.as_str(), kv.value.as_str()))
            .collect();
        assert_eq!(env, [("A", "1")]);
        assert_eq!(cfg.mounts, [mount]);
        let r = cfg.linux.and_then(|l| l.resources).expect("resources");
        assert_eq!(
            (r.cpu_period, r.cpu_quota, r.cpu_shares),
            (100_000, 50_000, 256)
        );
        assert_eq!(r.memory_limit_in_bytes, 64 << 20);
        assert_eq!(cfg.labels[LABEL_CONTAINER_NAME], "app");
    }

    #[test]
    fn quantities_parse_like_kubernetes() {
        assert_eq!(millicores("250m"), Some(250));
        assert_eq!(millicores("2"), Some(2000));
        assert_eq!(millicores("0.5"), Some(500));
        assert_eq!(bytes("64Mi"), Some(64 << 20));
        assert_eq!(bytes("1G"), Some(1_000_000_000));
        assert_eq!(bytes("1000"), Some(1000));
        assert_eq!(bytes("x"), None);
    }
}
