//! keel-agent processes with the fake runtime (hollow nodes) against a real cell: nodes register
//! and get distinct pod CIDRs; pods bound to them run and report Kubernetes statuses (Running,
//! Ready, pod IPs from the node's CIDR, CrashLoopBackOff with restart counts); a deleted pod is
//! stopped and removed by its agent; an agent whose replica dies carries on through another.

use std::time::Duration;

use keel_chaos::{wait_until, ClusterOptions};
use serde_json::{json, Value};

use crate::agent_support::{spawn_agent, start_agent, wait_pod};
use crate::objects_support::*;
use crate::support::cell;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_hollow_nodes_share_one_agent_process() {
    let cluster = cell(ClusterOptions::default()).await;
    wait_bootstrapped(&cluster).await;
    let _agents = spawn_agent(
        &cluster,
        "hollow",
        &cluster.addrs(),
        &["--hollow-nodes", "20"],
    );
    let nodes = wait_until(Duration::from_secs(30), "20 hollow nodes", async || {
        let (items, _) = list(
            &cluster,
            1,
            keel_proto::objects::ListRequest {
                resource: "nodes".into(),
                ..Default::default()
            },
        )
        .await?;
        anyhow::ensure!(items.len() == 20, "{} nodes", items.len());
        Ok(items)
    })
    .await
    .expect("nodes");
    let cidrs: std::collections::BTreeSet<&str> = nodes
        .iter()
        .filter_map(|n| n["spec"]["podCIDR"].as_str())
        .collect();
    assert_eq!(cidrs.len(), 20, "every node has its own pod CIDR");
    create(&cluster, 2, &bound_pod("on-7", "hollow-7", json!({})))
        .await
        .expect("pod");
    wait_pod(&cluster, 3, "on-7", "Running", |p| {
        p["status"]["phase"] == "Running"
    })
    .await;
    cluster.teardown();
}

fn bound_pod(name: &str, node: &str, annotations: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"nodeName": node, "containers": [{"name": "app", "image": "keel/app:1"}]}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hollow_agents_run_bound_pods_and_report_status() {
    let cluster = cell(ClusterOptions::default()).await;
    wait_bootstrapped(&cluster).await;
    let addrs = cluster.addrs();
    // Agent a talks to replica 1 first; b to replica 2 first.
    let _a = start_agent(&cluster, "node-a", &addrs);
    let _b = start_agent(&cluster, "node-b", &[addrs[1].clone(), addrs[2].clone()]);

    let nodes = wait_until(
        Duration::from_secs(20),
        "two nodes registered",
        async || {
            let (items, _) = list(
                &cluster,
                3,
                keel_proto::objects::ListRequest {
                    resource: "nodes".into(),
                    ..Default::default()
                },
            )
            .await?;
            anyhow::ensure!(items.len() == 2, "{} nodes", items.len());
            anyhow::ensure!(
                items.iter().all(|n| !n["status"]["allocatable"].is_null()),
                "a node has no status yet"
            );
            Ok(items)
        },
    )
    .await
    .expect("nodes");
    let cidr = |n: &Value| n["spec"]["podCIDR"].as_str().unwrap_or("").to_string();
    assert_ne!(cidr(&nodes[0]), cidr(&nodes[1]), "pod CIDRs never collide");
    assert!(cidr(&nodes[0]).starts_with("10.244."), "{}", nodes[0]);
    assert_eq!(nodes[0]["metadata"]["labels"]["zone"], "node-a");
    assert_eq!(nodes[0]["status"]["allocatable"]["cpu"], "2");
    assert_eq!(nodes[0]["status"]["conditions"][0]["type"], "Ready");

    // Pods bound to each node run and become Ready with an IP from their node's CIDR.
    create(&cluster, 2, &bound_pod("web-a", "node-a", json!({})))
        .await
        .expect("pod a");
    create(&cluster, 3, &bound_pod("web-b", "node-b", json!({})))
        .await
        .expect("pod b");
    for (pod, node) in [("web-a", &nodes[0]), ("web-b", &nodes[1])] {
        let p = wait_pod(&cluster, 1, pod, "Ready", |p| {
            p["status"]["phase"] == "Running"
                && p["status"]["conditions"].as_array().is_some_and(|c| {
                    c.iter()
                        .any(|c| c["type"] == "Ready" && c["status"] == "True")
                })
        })
        .await;
        let net = cidr(node);
        let prefix = net.rsplit_once('.').unwrap().0;
        assert!(
            p["status"]["podIP"].as_str().unwrap().starts_with(prefix),
            "{p}"
        );
        assert_eq!(p["status"]["containerStatuses"][0]["ready"], true);
        assert!(p["status"]["startTime"].is_string());
    }

    // A crashing container restarts with back-off and shows CrashLoopBackOff.
    create(
        &cluster,
        1,
        &bound_pod(
            "crash",
            "node-a",
            json!({
        "fake.keel.dev/exit-after-seconds": "0.5", "fake.keel.dev/exit-code": "1"}),
        ),
    )
    .await
    .expect("crash pod");
    let crashed = wait_pod(
        &cluster,
        2,
        "crash",
        "in CrashLoopBackOff after a restart",
        |p| {
            let c = &p["status"]["containerStatuses"][0];
            c["restartCount"].as_i64().unwrap_or(0) >= 1
                && c["state"]["waiting"]["reason"] == "CrashLoopBackOff"
        },
    )
    .await;
    assert_eq!(
        crashed["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"],
        1
    );

    // Deleting a bound pod: marked with its grace period, stopped by the agent, then gone.
    let marked = delete(&cluster, 1, "pods", "default", "web-a")
        .await
        .expect("delete");
    assert!(!marked.deleted, "a running pod terminates gracefully first");
    wait_until(
        Duration::from_secs(20),
        "web-a removed by its agent",
        async || match get(&cluster, 1, "pods", "default", "web-a").await {
            Err(s) if reason(&s) == "NotFound" => Ok(()),
            other => anyhow::bail!("still there: {:?}", other.map(|p| p["metadata"].clone())),
        },
    )
    .await
    .expect("pod removed");

    // Kill the replica agent b talks to: it moves to the other one and keeps working.
    cluster.kill(2).await.expect("kill replica 2");
    create(&cluster, 3, &bound_pod("late", "node-b", json!({})))
        .await
        .expect("late pod");
    wait_pod(
        &cluster,
        3,
        "late",
        "Running after its agent's replica died",
        |p| p["status"]["phase"] == "Running",
    )
    .await;
    cluster.teardown();
}
