//! Reaching the agent of a pod's node for `logs` and `exec`: the pod (by name in the context's
//! namespace), its container (`-c`, else the only or the first one, as kubectl picks it), its
//! node, and the node's agent API at its InternalIP and the port in
//! `status.daemonEndpoints.kubeletEndpoint` — called directly, where Kubernetes would proxy
//! through the apiserver.

use std::time::Duration;

use keel_proto::agent::node_agent_client::NodeAgentClient;
use keel_proto::agent::PodRef;
use serde_json::Value;
use tonic::transport::{Channel, Endpoint};

use crate::objects::{KindId, RegistryTable};

use super::KubeContext;

/// A pod's container on a node, and a client for that node's agent.
pub struct PodTarget {
    pub pod: PodRef,
    pub container: String,
    pub object: Value,
    pub agent: NodeAgentClient<Channel>,
}

/// `POD` or `pod/POD` (`po/`, `pods/` too).
pub fn pod_name(arg: &str) -> anyhow::Result<&str> {
    match arg.split_once('/') {
        None => Ok(arg),
        Some((kind, name)) if matches!(kind, "pod" | "pods" | "po") && !name.is_empty() => Ok(name),
        Some(_) => anyhow::bail!("only pods are supported here: {arg:?}"),
    }
}

/// The container a command acts on: the named one (which must exist), else the only one, else
/// the first (with kubectl's notice on stderr).
pub fn pick_container(pod: &Value, wanted: Option<&str>) -> anyhow::Result<String> {
    let name = pod["metadata"]["name"].as_str().unwrap_or("");
    let names: Vec<&str> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    match wanted {
        Some(c) if names.contains(&c) => Ok(c.to_string()),
        Some(c) => anyhow::bail!(
            "container {c} is not valid for pod {name}; choose one of: [{}]",
            names.join(" ")
        ),
        None => {
            let first = names
                .first()
                .ok_or_else(|| anyhow::anyhow!("pod {name} has no containers"))?;
            if names.len() > 1 {
                eprintln!(
                    "Defaulted container \"{first}\" out of: {}",
                    names.join(", ")
                );
            }
            Ok(first.to_string())
        }
    }
}

/// The agent API address of `node`: `InternalIP:port`.
pub fn agent_address(node: &Value) -> anyhow::Result<String> {
    let name = node["metadata"]["name"].as_str().unwrap_or("");
    let port = node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]
        .as_u64()
        .filter(|p| *p > 0)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "node {name} reports no agent endpoint (is its agent running with a real runtime?)"
            )
        })?;
    let ip = node["status"]["addresses"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["type"] == "InternalIP")
        .and_then(|a| a["address"].as_str())
        .ok_or_else(|| anyhow::anyhow!("node {name} reports no InternalIP"))?;
    Ok(if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    })
}

/// Finds pod `arg`'s container and connects to its node's agent.
pub async fn target(
    ctx: &KubeContext,
    arg: &str,
    container: Option<&str>,
) -> anyhow::Result<PodTarget> {
    let api = ctx.api().await?;
    let name = pod_name(arg)?;
    let pod = api
        .get(RegistryTable::get(KindId::Pod), ctx.namespace(), name)
        .await?;
    let container = pick_container(&pod, container)?;
    let node_name = pod["spec"]["nodeName"].as_str().unwrap_or("");
    if node_name.is_empty() {
        anyhow::bail!("pod {name} is not scheduled to a node yet");
    }
    let node = api
        .get(RegistryTable::get(KindId::Node), "", node_name)
        .await?;
    let address = agent_address(&node)?;
    let channel = Endpoint::from_shared(format!("http://{address}"))?
        .connect_timeout(Duration::from_secs(3))
        .connect()
        .await
        .map_err(|e| {
            anyhow::anyhow!("cannot reach the agent of node {node_name} at {address}: {e}")
        })?;
    Ok(PodTarget {
        pod: PodRef {
            namespace: pod["metadata"]["namespace"]
                .as_str()
                .unwrap_or(ctx.namespace())
                .to_string(),
            name: name.to_string(),
            uid: pod["metadata"]["uid"].as_str().unwrap_or("").to_string(),
        },
        container,
        object: pod,
        agent: NodeAgentClient::new(channel),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pods_are_named_bare_or_with_their_kind() {
        assert_eq!(pod_name("web").unwrap(), "web");
        assert_eq!(pod_name("pod/web").unwrap(), "web");
        assert_eq!(pod_name("po/web").unwrap(), "web");
        assert!(pod_name("deploy/web").is_err());
        assert!(pod_name("pod/").is_err());
    }

    #[test]
    fn the_container_is_the_named_the_only_or_the_first() {
        let pod = json!({"metadata": {"name": "p"},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        assert_eq!(pick_container(&pod, Some("b")).unwrap(), "b");
        assert_eq!(pick_container(&pod, None).unwrap(), "a");
        let e = pick_container(&pod, Some("c")).unwrap_err().to_string();
        assert_eq!(
            e,
            "container c is not valid for pod p; choose one of: [a b]"
        );
    }

    #[test]
    fn the_agent_is_at_the_internal_ip_and_reported_port() {
        let node = json!({"metadata": {"name": "n"}, "status": {
            "addresses": [{"type": "Hostname", "address": "n"}, {"type": "InternalIP", "address": "10.0.0.5"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}});
        assert_eq!(agent_address(&node).unwrap(), "10.0.0.5:10250");
        let hollow = json!({"metadata": {"name": "h"}, "status": {
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}]}});
        assert!(agent_address(&hollow)
            .unwrap_err()
            .to_string()
            .contains("no agent endpoint"));
    }
}
