//! The agent's Node object: name and labels, capacity and allocatable, addresses, node info and
//! the Ready condition (heartbeat time refreshed on every report; the cell ignores it when
//! deciding whether anything changed).

use std::time::SystemTime;

use serde_json::{json, Map, Value};

use crate::config::AgentArgs;
use crate::pod_status::rfc3339;

/// The Node as registered.
pub fn node_object(args: &AgentArgs, started: SystemTime) -> Value {
    let labels: Map<String, Value> = [
        ("kubernetes.io/hostname".to_string(), json!(args.node_name)),
        ("kubernetes.io/os".to_string(), json!("linux")),
        (
            "kubernetes.io/arch".to_string(),
            json!(std::env::consts::ARCH),
        ),
    ]
    .into_iter()
    .chain(args.label_pairs().into_iter().map(|(k, v)| (k, json!(v))))
    .collect();
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": args.node_name, "labels": labels},
        "status": node_status(args, started, SystemTime::now()),
    })
}

/// The NodeStatus reported at `now`.
pub fn node_status(args: &AgentArgs, started: SystemTime, now: SystemTime) -> Value {
    let resources =
        json!({"cpu": args.cpu, "memory": args.memory, "pods": args.max_pods.to_string()});
    let mut status = json!({
        "capacity": resources,
        "allocatable": resources,
        "conditions": [{
            "type": "Ready", "status": "True", "reason": "KeelAgentReady",
            "message": "keel-agent is posting ready status",
            "lastHeartbeatTime": rfc3339(now), "lastTransitionTime": rfc3339(started),
        }],
        "addresses": [
            {"type": "InternalIP", "address": args.node_ip},
            {"type": "Hostname", "address": args.node_name},
        ],
        "nodeInfo": {
            "kubeletVersion": concat!("keel-agent/", env!("CARGO_PKG_VERSION")),
            "containerRuntimeVersion": format!("{:?}", args.runtime).to_lowercase(),
            "operatingSystem": "linux",
            "architecture": std::env::consts::ARCH,
            "kernelVersion": kernel_version(),
            "osImage": "", "machineID": "", "systemUUID": "", "bootID": "",
            "kubeProxyVersion": "",
        },
    });
    // Where the agent's own API (logs, exec, usage) listens, as a kubelet reports its port.
    if args.agent_port != 0 {
        status["daemonEndpoints"] = json!({"kubeletEndpoint": {"Port": args.agent_port}});
    }
    status
}

fn kernel_version() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}
