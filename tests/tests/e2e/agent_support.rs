//! keel-agent processes for end-to-end tests: hollow nodes (fake runtime) launched beside a
//! cell and killed by pid when dropped, and waiting for a pod to reach a state.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use keel_chaos::{find_binary, wait_until, LocalCluster};
use serde_json::Value;

use crate::objects_support::get;

/// A keel-agent process, killed when dropped.
pub struct Agent(pub Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn start_agent(cluster: &LocalCluster, name: &str, servers: &[String]) -> Agent {
    let zone = format!("zone={name}");
    let extra = ["--cpu", "2", "--memory", "4Gi", "--labels", zone.as_str()];
    spawn_agent(cluster, name, servers, &extra)
}

/// keel-agent with the fake runtime for `name`, logging to the cell's root.
pub fn spawn_agent(
    cluster: &LocalCluster,
    name: &str,
    servers: &[String],
    extra: &[&str],
) -> Agent {
    let log = std::fs::File::create(cluster.root().join(format!("agent-{name}.log"))).unwrap();
    let child = Command::new(find_binary("keel-agent").expect("keel-agent is built"))
        .args(["--node-name", name, "--runtime", "fake", "--servers"])
        .arg(servers.join(","))
        .args(extra)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("keel-agent starts");
    Agent(child)
}

/// Waits until pod `name` in `default` satisfies `ok`; returns it.
pub async fn wait_pod(
    cluster: &LocalCluster,
    via: u64,
    name: &str,
    what: &str,
    ok: impl Fn(&Value) -> bool,
) -> Value {
    wait_until(
        Duration::from_secs(20),
        format!("pod {name} {what}"),
        async || {
            let p = get(cluster, via, "pods", "default", name).await?;
            anyhow::ensure!(ok(&p), "status now: {}", p["status"]);
            Ok(p)
        },
    )
    .await
    .expect("pod reaches the state")
}
