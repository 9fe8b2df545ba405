//! The leader's brain on a real cell with hollow agents: the scheduler binds pending pods within
//! resources and explains the ones that fit nowhere (PodScheduled=False and a FailedScheduling
//! event), retrying them when room appears; the Endpoints controller lists ready pod IPs; a node
//! whose agent dies turns Ready=Unknown, is tainted, and loses its pods; a new leader resumes
//! scheduling after the old one is killed.

use std::time::Duration;

use keel_chaos::{wait_until, ClusterOptions, LocalCluster};
use serde_json::{json, Value};

use crate::agent_support::{spawn_agent, wait_pod};
use crate::objects_support::*;
use crate::support::cell;

fn pending_pod(name: &str, cpu: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "app", "image": "keel/app:1",
            "ports": [{"name": "http", "containerPort": 8080}],
            "resources": {"requests": {"cpu": cpu}}}]}})
}

fn node_of(pod: &Value) -> String {
    pod["spec"]["nodeName"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn running(cluster: &LocalCluster, via: u64, name: &str) -> Value {
    wait_pod(cluster, via, name, "Running on a node", |p| {
        !node_of(p).is_empty() && p["status"]["phase"] == "Running"
    })
    .await
}

async fn events(cluster: &LocalCluster, reason: &str) -> Vec<Value> {
    let (items, _) = list(
        cluster,
        1,
        keel_proto::objects::ListRequest {
            resource: "events".into(),
            namespace: "default".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_or_default();
    items
        .into_iter()
        .filter(|e| e["reason"] == reason)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_are_scheduled_explained_served_and_evicted_from_a_dead_node() {
    let cluster = cell(ClusterOptions::default()).await;
    wait_bootstrapped(&cluster).await;
    let addrs = cluster.addrs();
    let _a = spawn_agent(&cluster, "node-a", &addrs, &["--cpu", "2"]);
    let b = spawn_agent(&cluster, "node-b", &addrs[1..], &["--cpu", "2"]);

    // Phase 1: two pods of 1.5 CPU land on different nodes; a third fits nowhere.
    create(&cluster, 2, &pending_pod("web-1", "1500m"))
        .await
        .expect("web-1");
    create(&cluster, 3, &pending_pod("web-2", "1500m"))
        .await
        .expect("web-2");
    let p1 = running(&cluster, 1, "web-1").await;
    let p2 = running(&cluster, 1, "web-2").await;
    assert_ne!(
        node_of(&p1),
        node_of(&p2),
        "1.5 + 1.5 CPU must not share a 2-CPU node"
    );
    create(&cluster, 1, &pending_pod("web-3", "1500m"))
        .await
        .expect("web-3");
    let p3 = wait_pod(&cluster, 2, "web-3", "explained as unschedulable", |p| {
        p["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "PodScheduled" && c["status"] == "False")
        })
    })
    .await;
    let condition = p3["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "PodScheduled")
        .unwrap()
        .clone();
    assert_eq!(condition["reason"], "Unschedulable");
    assert_eq!(
        condition["message"], "0/2 nodes are available: 2 Insufficient cpu.",
        "{condition}"
    );
    assert_eq!(node_of(&p3), "");
    wait_until(
        Duration::from_secs(10),
        "a FailedScheduling event",
        async || {
            let found = events(&cluster, "FailedScheduling").await;
            anyhow::ensure!(
                found.iter().any(|e| e["involvedObject"]["name"] == "web-3"),
                "none yet"
            );
            Ok(())
        },
    )
    .await
    .expect("event");

    // Phase 2: a Service gets Endpoints with the running pods' IPs and named target port.
    create(
        &cluster,
        1,
        &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}),
    )
    .await
    .expect("service");
    let ips: Vec<String> = [&p1, &p2]
        .iter()
        .map(|p| p["status"]["podIP"].as_str().unwrap().to_string())
        .collect();
    wait_until(Duration::from_secs(10), "endpoints of web", async || {
        let e = get(&cluster, 3, "endpoints", "default", "web").await?;
        let mut got: Vec<String> = e["subsets"][0]["addresses"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|a| a["ip"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default();
        got.sort();
        let mut want = ips.clone();
        want.sort();
        anyhow::ensure!(got == want, "addresses {got:?}, want {want:?}");
        anyhow::ensure!(
            e["subsets"][0]["ports"][0]["port"] == 8080,
            "ports {}",
            e["subsets"]
        );
        Ok(())
    })
    .await
    .expect("endpoints");

    // Phase 3: deleting web-1 makes room; web-3 is retried and runs where web-1 was.
    let freed = node_of(&p1);
    delete(&cluster, 1, "pods", "default", "web-1")
        .await
        .expect("delete web-1");
    let p3 = running(&cluster, 1, "web-3").await;
    assert_eq!(node_of(&p3), freed);

    // Phase 4: node-b's agent dies. Its node turns Ready=Unknown with the unreachable taint,
    // and its pod is evicted (marked for deletion) and leaves the Endpoints.
    drop(b);
    let on_b: Vec<String> = ["web-2", "web-3"]
        .into_iter()
        .filter(|n| {
            let p = if *n == "web-2" { &p2 } else { &p3 };
            node_of(p) == "node-b"
        })
        .map(str::to_string)
        .collect();
    assert_eq!(on_b.len(), 1, "one pod runs on node-b");
    let node = wait_until(Duration::from_secs(20), "node-b unreachable", async || {
        let n = get(&cluster, 1, "nodes", "", "node-b").await?;
        let ready = n["status"]["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == "Ready").cloned())
            .unwrap_or_default();
        anyhow::ensure!(ready["status"] == "Unknown", "Ready {ready}");
        Ok(n)
    })
    .await
    .expect("node-b unknown");
    assert!(
        node["spec"]["taints"].as_array().is_some_and(|t| t
            .iter()
            .any(|t| t["key"] == "node.kubernetes.io/unreachable" && t["effect"] == "NoExecute")),
        "{}",
        node["spec"]
    );
    let victim = on_b[0].clone();
    wait_until(
        Duration::from_secs(20),
        "the pod on node-b evicted",
        async || match get(&cluster, 2, "pods", "default", &victim).await {
            Err(s) if s.code() == tonic::Code::NotFound => Ok(()),
            Err(s) => Err(anyhow::anyhow!("{s}")),
            Ok(p) => {
                anyhow::ensure!(!p["metadata"]["deletionTimestamp"].is_null(), "not yet");
                Ok(())
            }
        },
    )
    .await
    .expect("eviction");
    assert!(
        wait_until(Duration::from_secs(10), "an eviction event", async || {
            let found = events(&cluster, "TaintManagerEviction").await;
            anyhow::ensure!(
                found
                    .iter()
                    .any(|e| e["involvedObject"]["name"] == victim.as_str()),
                "none"
            );
            Ok(())
        })
        .await
        .is_ok()
    );
    wait_until(
        Duration::from_secs(10),
        "web leaves the endpoints",
        async || {
            let e = get(&cluster, 1, "endpoints", "default", "web").await?;
            let n = e["subsets"][0]["addresses"]
                .as_array()
                .map_or(0, |a| a.len());
            anyhow::ensure!(n == 1, "{n} addresses");
            Ok(())
        },
    )
    .await
    .expect("endpoints shrink");
    cluster.teardown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_leader_resumes_scheduling_after_the_old_one_is_killed() {
    let cluster = cell(ClusterOptions::default()).await;
    wait_bootstrapped(&cluster).await;
    let _a = spawn_agent(&cluster, "node-a", &cluster.addrs(), &[]);
    create(&cluster, 1, &pending_pod("before", "100m"))
        .await
        .expect("pod");
    running(&cluster, 1, "before").await;

    let old = cluster.leader_id().await.expect("leader");
    cluster.kill(old).await.expect("kill the leader");
    let survivor = *cluster.live_ids().first().expect("a survivor");
    let created = wait_until(
        Duration::from_secs(20),
        "a pod created after the kill",
        async || Ok(create(&cluster, survivor, &pending_pod("after", "100m")).await?),
    )
    .await
    .expect("create after the kill");
    let t0 = std::time::Instant::now();
    let p = running(&cluster, survivor, "after").await;
    assert_eq!(node_of(&p), "node-a");
    let new = cluster.leader_id().await.expect("new leader");
    assert_ne!(new, old);
    eprintln!(
        "scheduling resumed: pod {} created at rv {} ran {:?} later on the new leader {new}",
        p["metadata"]["name"],
        created["metadata"]["resourceVersion"],
        t0.elapsed()
    );
    cluster.teardown();
}

fn replicaset(name: &str, replicas: u32) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"rs": name}},
            "template": {"metadata": {"labels": {"rs": name}},
                "spec": {"containers": [{"name": "app", "image": "keel/app:1",
                    "resources": {"requests": {"cpu": "100m"}}}]}}}})
}

/// The pods of ReplicaSet `name` that are not terminating, and how many of them run.
async fn rs_pods(cluster: &LocalCluster, via: u64, name: &str) -> anyhow::Result<(usize, usize)> {
    let (items, _) = list(
        cluster,
        via,
        keel_proto::objects::ListRequest {
            resource: "pods".into(),
            namespace: "default".into(),
            label_selector: format!("rs={name}"),
            ..Default::default()
        },
    )
    .await?;
    let live: Vec<&Value> = items
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .collect();
    let running = live
        .iter()
        .filter(|p| p["status"]["phase"] == "Running" && !node_of(p).is_empty())
        .count();
    Ok((live.len(), running))
}

async fn wait_rs(cluster: &LocalCluster, name: &str, want: usize) {
    wait_until(
        Duration::from_secs(30),
        format!("{want} running pods of {name}"),
        async || {
            let (live, running) = rs_pods(cluster, 2, name).await?;
            anyhow::ensure!(
                live == want && running == want,
                "{live} pods, {running} running"
            );
            let rs = get(cluster, 3, "replicasets", "default", name).await?;
            anyhow::ensure!(
                rs["status"]["readyReplicas"].as_u64().unwrap_or(0) == want as u64
                    && rs["status"]["replicas"] == want as u64,
                "status {}",
                rs["status"]
            );
            Ok(())
        },
    )
    .await
    .expect("replica set converges");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replicaset_keeps_its_pods_scales_and_takes_them_along_when_deleted() {
    let cluster = cell(ClusterOptions::default()).await;
    wait_bootstrapped(&cluster).await;
    let addrs = cluster.addrs();
    let _a = spawn_agent(&cluster, "node-a", &addrs, &[]);
    let _b = spawn_agent(&cluster, "node-b", &addrs, &[]);

    create(&cluster, 1, &replicaset("web", 3))
        .await
        .expect("rs");
    wait_rs(&cluster, "web", 3).await;

    // A pod deleted by hand is replaced.
    let (items, _) = list(
        &cluster,
        1,
        keel_proto::objects::ListRequest {
            resource: "pods".into(),
            namespace: "default".into(),
            label_selector: "rs=web".into(),
            ..Default::default()
        },
    )
    .await
    .expect("pods");
    let victim = items[0]["metadata"]["name"].as_str().unwrap().to_string();
    delete(&cluster, 1, "pods", "default", &victim)
        .await
        .expect("delete a pod");
    wait_rs(&cluster, "web", 3).await;

    for replicas in [6, 2] {
        patch(
            &cluster,
            2,
            "replicasets",
            "default",
            "web",
            keel_proto::objects::PatchType::Merge,
            &json!({"spec": {"replicas": replicas}}),
        )
        .await
        .expect("scale");
        wait_rs(&cluster, "web", replicas as usize).await;
    }

    delete(&cluster, 3, "replicasets", "default", "web")
        .await
        .expect("delete rs");
    wait_until(
        Duration::from_secs(30),
        "the pods of web collected",
        async || {
            let (items, _) = list(
                &cluster,
                1,
                keel_proto::objects::ListRequest {
                    resource: "pods".into(),
                    namespace: "default".into(),
                    label_selector: "rs=web".into(),
                    ..Default::default()
                },
            )
            .await?;
            anyhow::ensure!(items.is_empty(), "{} pods left", items.len());
            Ok(())
        },
    )
    .await
    .expect("garbage collection");
    cluster.teardown();
}
