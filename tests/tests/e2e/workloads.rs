//! Workload controllers on a real cell with hollow agents (fake runtime, exits scripted through
//! pod annotations): a DaemonSet follows nodes as they come and go; a Job runs its completions
//! `parallelism` at a time; a Job whose pods fail stops at its backoffLimit.

use std::time::Duration;

use keel_chaos::{wait_until, ClusterOptions, LocalCluster};
use serde_json::{json, Value};

use crate::agent_support::spawn_agent;
use crate::objects_support::*;
use crate::support::cell;

async fn pods_with(cluster: &LocalCluster, selector: &str) -> anyhow::Result<Vec<Value>> {
    pods_with_via(cluster, 1, selector).await
}

async fn pods_with_via(
    cluster: &LocalCluster,
    via: u64,
    selector: &str,
) -> anyhow::Result<Vec<Value>> {
    let (items, _) = list(
        cluster,
        via,
        keel_proto::objects::ListRequest {
            resource: "pods".into(),
            namespace: "default".into(),
            label_selector: selector.into(),
            ..Default::default()
        },
    )
    .await?;
    Ok(items)
}

fn running_nodes(pods: &[Value]) -> Vec<String> {
    let mut nodes: Vec<String> = pods
        .iter()
        .filter(|p| {
            p["metadata"]["deletionTimestamp"].is_null() && p["status"]["phase"] == "Running"
        })
        .map(|p| {
            p["spec"]["nodeName"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    nodes.sort();
    nodes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemonset_runs_one_pod_per_node_as_nodes_come_and_go() {
    let cluster = cell(ClusterOptions::default()).await;
    wait_bootstrapped(&cluster).await;
    let addrs = cluster.addrs();
    let _a = spawn_agent(&cluster, "node-a", &addrs, &[]);
    let _b = spawn_agent(&cluster, "node-b", &addrs, &[]);
    create(
        &cluster,
        1,
        &json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "logs"},
            "spec": {"selector": {"matchLabels": {"app": "logs"}},
                "template": {"metadata": {"labels": {"app": "logs"}},
                    "spec": {"containers": [{"name": "c", "image": "keel/app:1"}]}}}}),
    )
    .await
    .expect("daemonset");
    let expect = async |want: Vec<&str>| {
        wait_until(
            Duration::from_secs(30),
            format!("daemon pods on {want:?}"),
            async || {
                let pods = pods_with(&cluster, "app=logs").await?;
                let live: Vec<&Value> = pods
                    .iter()
                    .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
                    .collect();
                let nodes = running_nodes(&pods);
                anyhow::ensure!(
                    nodes == want && live.len() == want.len(),
                    "running on {nodes:?}, {} live",
                    live.len()
                );
                let ds = get(&cluster, 2, "daemonsets", "default", "logs").await?;
                anyhow::ensure!(
                    ds["status"]["numberReady"] == want.len() as u64,
                    "status {}",
                    ds["status"]
                );
                Ok(())
            },
        )
        .await
        .expect("daemon pods follow the nodes");
    };
    expect(vec!["node-a", "node-b"]).await;

    // A node joins: it gets its pod.
    let c = spawn_agent(&cluster, "node-c", &addrs, &[]);
    expect(vec!["node-a", "node-b", "node-c"]).await;

    // A node leaves (agent stopped, Node deleted): its pod goes.
    drop(c);
    delete(&cluster, 1, "nodes", "", "node-c")
        .await
        .expect("delete node-c");
    wait_until(
        Duration::from_secs(30),
        "node-c's daemon pod removed",
        async || {
            let pods = pods_with(&cluster, "app=logs").await?;
            let on_c = pods
                .iter()
                .filter(|p| {
                    p["spec"]["nodeName"] == "node-c"
                        && p["metadata"]["deletionTimestamp"].is_null()
                })
                .count();
            anyhow::ensure!(on_c == 0, "{on_c} pods on node-c");
            Ok(())
        },
    )
    .await
    .expect("misscheduled pod deleted");
    cluster.teardown();
}

fn job(name: &str, spec: Value, exit_code: &str) -> Value {
    let mut spec = spec;
    spec["template"] = json!({
        "metadata": {"annotations": {"fake.keel.dev/exit-after-seconds": "0.5", "fake.keel.dev/exit-code": exit_code}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "keel/app:1",
            "resources": {"requests": {"cpu": "100m"}}}]}});
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": spec})
}

fn condition<'a>(job: &'a Value, type_: &str) -> Option<&'a Value> {
    job["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_ && c["status"] == "True")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_run_their_completions_and_stop_at_the_backoff_limit() {
    let cluster = cell(ClusterOptions::default()).await;
    wait_bootstrapped(&cluster).await;
    let _a = spawn_agent(&cluster, "node-a", &cluster.addrs(), &[]);

    create(
        &cluster,
        1,
        &job("ok", json!({"completions": 3, "parallelism": 2}), "0"),
    )
    .await
    .expect("job ok");
    create(&cluster, 2, &job("bad", json!({"backoffLimit": 2}), "1"))
        .await
        .expect("job bad");
    // Never more than `parallelism` pods of "ok" at once, while it runs.
    let done = wait_until(Duration::from_secs(40), "job ok complete", async || {
        let pods = pods_with(&cluster, "job-name=ok").await?;
        let active = pods
            .iter()
            .filter(|p| {
                p["status"]["phase"] != "Succeeded"
                    && p["status"]["phase"] != "Failed"
                    && p["metadata"]["deletionTimestamp"].is_null()
            })
            .count();
        assert!(
            active <= 2,
            "{active} active pods of a job with parallelism 2"
        );
        let j = get(&cluster, 1, "jobs", "default", "ok").await?;
        anyhow::ensure!(
            condition(&j, "Complete").is_some(),
            "status {}",
            j["status"]
        );
        Ok(j)
    })
    .await
    .expect("job ok completes");
    assert_eq!(done["status"]["succeeded"], 3);
    assert!(!done["status"]["completionTime"].is_null());
    let succeeded = pods_with(&cluster, "job-name=ok").await.expect("pods");
    assert_eq!(succeeded.len(), 3, "exactly `completions` pods ran");

    let failed = wait_until(Duration::from_secs(40), "job bad failed", async || {
        let j = get(&cluster, 1, "jobs", "default", "bad").await?;
        anyhow::ensure!(condition(&j, "Failed").is_some(), "status {}", j["status"]);
        Ok(j)
    })
    .await
    .expect("job bad fails");
    assert_eq!(
        condition(&failed, "Failed").unwrap()["reason"],
        "BackoffLimitExceeded"
    );
    assert_eq!(
        failed["status"]["failed"], 3,
        "backoffLimit 2 allows 3 attempts"
    );
    let pods = pods_with(&cluster, "job-name=bad").await.expect("pods");
    assert_eq!(pods.len(), 3, "no pod is created after the job failed");

    // Deleting a Job takes its pods along.
    delete(&cluster, 1, "jobs", "default", "ok")
        .await
        .expect("delete job");
    wait_until(
        Duration::from_secs(20),
        "job ok's pods collected",
        async || {
            let n = pods_with(&cluster, "job-name=ok").await?.len();
            anyhow::ensure!(n == 0, "{n} pods left");
            Ok(())
        },
    )
    .await
    .expect("garbage collected");
    cluster.teardown();
}

fn deployment(image: &str, replicas: u32) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 2, "maxUnavailable": 1}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": image}]}}}})
}

/// Live (not terminating) pods of the Deployment, and how many of them are ready, by image.
async fn web_pods(cluster: &LocalCluster) -> anyhow::Result<(usize, usize, Vec<String>)> {
    web_pods_via(cluster, 1).await
}

async fn web_pods_via(
    cluster: &LocalCluster,
    via: u64,
) -> anyhow::Result<(usize, usize, Vec<String>)> {
    let pods = pods_with_via(cluster, via, "app=web").await?;
    let live: Vec<&Value> = pods
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .collect();
    let ready = live
        .iter()
        .filter(|p| {
            p["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
        })
        .count();
    let mut images: Vec<String> = live
        .iter()
        .map(|p| {
            p["spec"]["containers"][0]["image"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    images.sort();
    images.dedup();
    Ok((live.len(), ready, images))
}

async fn wait_web(cluster: &LocalCluster, replicas: usize, image: &str) {
    wait_until(
        Duration::from_secs(40),
        format!("{replicas} ready pods of web on {image}"),
        async || {
            let (live, ready, images) = web_pods(cluster).await?;
            anyhow::ensure!(
                live == replicas && ready == replicas && images == [image.to_string()],
                "{live} live, {ready} ready, images {images:?}"
            );
            let via = cluster.live_ids().first().copied().unwrap_or(2);
            let d = get(cluster, via, "deployments", "default", "web").await?;
            let s = &d["status"];
            anyhow::ensure!(
                s["readyReplicas"] == replicas as u64
                    && s["updatedReplicas"] == replicas as u64
                    && s["availableReplicas"] == replicas as u64
                    && s["observedGeneration"] == d["metadata"]["generation"],
                "status {s}"
            );
            Ok(())
        },
    )
    .await
    .expect("deployment converges");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_scales_rolls_out_within_its_bounds_and_is_deleted_with_everything() {
    let cluster = cell(ClusterOptions::default()).await;
    wait_bootstrapped(&cluster).await;
    let addrs = cluster.addrs();
    let _a = spawn_agent(&cluster, "node-a", &addrs, &[]);
    let _b = spawn_agent(&cluster, "node-b", &addrs, &[]);

    // Phase 1: 3 replicas become ready; scale to 10 and back to 3.
    create(&cluster, 1, &deployment("keel/app:1", 3))
        .await
        .expect("deployment");
    wait_web(&cluster, 3, "keel/app:1").await;
    for replicas in [10u32, 3] {
        patch(
            &cluster,
            2,
            "deployments",
            "default",
            "web",
            keel_proto::objects::PatchType::Merge,
            &json!({"spec": {"replicas": replicas}}),
        )
        .await
        .expect("scale");
        wait_web(&cluster, replicas as usize, "keel/app:1").await;
    }

    // Phase 2: a rolling update to a new image, observed throughout: never more than
    // replicas + maxSurge live pods, never fewer than replicas - maxUnavailable ready ones.
    patch(&cluster, 3, "deployments", "default", "web", keel_proto::objects::PatchType::Merge,
        &json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "keel/app:2"}]}}}}))
        .await
        .expect("new image");
    let mut observed = 0;
    wait_until(
        Duration::from_secs(60),
        "rollout to keel/app:2",
        async || {
            let (live, ready, images) = web_pods(&cluster).await?;
            observed += 1;
            assert!(live <= 3 + 2, "{live} live pods exceed replicas + maxSurge");
            assert!(
                ready + 1 >= 3,
                "only {ready} ready pods: below replicas - maxUnavailable"
            );
            anyhow::ensure!(
                live == 3 && ready == 3 && images == ["keel/app:2"],
                "{live} live, {ready} ready, {images:?}"
            );
            Ok(())
        },
    )
    .await
    .expect("rollout completes");
    assert!(observed > 1, "the rollout was observed while in progress");
    wait_web(&cluster, 3, "keel/app:2").await;
    let (rs, _) = list(
        &cluster,
        1,
        keel_proto::objects::ListRequest {
            resource: "replicasets".into(),
            namespace: "default".into(),
            ..Default::default()
        },
    )
    .await
    .expect("replicasets");
    assert_eq!(rs.len(), 2, "the old ReplicaSet stays as history");
    let revisions: Vec<&str> = rs
        .iter()
        .filter_map(|r| r["metadata"]["annotations"]["deployment.kubernetes.io/revision"].as_str())
        .collect();
    assert_eq!(revisions.len(), 2, "{rs:?}");

    // Phase 3: deleting the Deployment takes its ReplicaSets and pods along.
    delete(&cluster, 1, "deployments", "default", "web")
        .await
        .expect("delete");
    wait_until(
        Duration::from_secs(30),
        "web's ReplicaSets and pods collected",
        async || {
            let (rs, _) = list(
                &cluster,
                1,
                keel_proto::objects::ListRequest {
                    resource: "replicasets".into(),
                    namespace: "default".into(),
                    ..Default::default()
                },
            )
            .await?;
            let (live, _, _) = web_pods(&cluster).await?;
            anyhow::ensure!(
                rs.is_empty() && live == 0,
                "{} replicasets, {live} live pods",
                rs.len()
            );
            Ok(())
        },
    )
    .await
    .expect("garbage collected");
    cluster.teardown();
}

/// Every pod's node, by uid, as seen now.
async fn placements(cluster: &LocalCluster, via: u64) -> anyhow::Result<Vec<(String, String)>> {
    let (items, _) = list(
        cluster,
        via,
        keel_proto::objects::ListRequest {
            resource: "pods".into(),
            namespace: "default".into(),
            label_selector: "app=web".into(),
            ..Default::default()
        },
    )
    .await?;
    Ok(items
        .iter()
        .map(|p| {
            (
                p["metadata"]["uid"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                p["spec"]["nodeName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_update_of_50_survives_a_leader_kill_with_its_guarantees() {
    let cluster = cell(ClusterOptions::default()).await;
    wait_bootstrapped(&cluster).await;
    let addrs = cluster.addrs();
    let _a = spawn_agent(&cluster, "node-a", &addrs, &["--max-pods", "200"]);
    let _b = spawn_agent(&cluster, "node-b", &addrs, &["--max-pods", "200"]);
    let mut d = deployment("keel/app:1", 50);
    d["spec"]["strategy"]["rollingUpdate"] = json!({"maxSurge": 5, "maxUnavailable": 5});
    create(&cluster, 1, &d).await.expect("deployment");
    wait_web(&cluster, 50, "keel/app:1").await;

    let old_leader = cluster.leader_id().await.expect("leader");
    let via = cluster
        .ids()
        .into_iter()
        .find(|id| *id != old_leader)
        .expect("a follower");
    patch(&cluster, via, "deployments", "default", "web", keel_proto::objects::PatchType::Merge,
        &json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "keel/app:2"}]}}}}))
        .await
        .expect("new image");
    // Mid-rollout: some pods of the new template exist, not all.
    wait_until(
        Duration::from_secs(30),
        "the rollout under way",
        async || {
            let (_, _, images) = web_pods(&cluster).await?;
            anyhow::ensure!(images.len() == 2, "images {images:?}");
            Ok(())
        },
    )
    .await
    .expect("rollout starts");
    let mut bound: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let killed_at = std::time::Instant::now();
    cluster.kill(old_leader).await.expect("kill the leader");
    let mut observations = 0;
    wait_until(
        Duration::from_secs(90),
        "the rollout completes on the new leader",
        async || {
            // Guarantees at every observation: bounds, and no pod ever bound to a second node.
            for (uid, node) in placements(&cluster, via).await? {
                if node.is_empty() {
                    continue;
                }
                let first = bound.entry(uid.clone()).or_insert_with(|| node.clone());
                assert_eq!(*first, node, "pod {uid} bound twice");
            }
            let (live, ready, images) = web_pods_via(&cluster, via).await?;
            observations += 1;
            assert!(live <= 55, "{live} live pods exceed replicas + maxSurge");
            assert!(
                ready >= 45,
                "only {ready} ready pods: below replicas - maxUnavailable"
            );
            anyhow::ensure!(
                live == 50 && ready == 50 && images == ["keel/app:2"],
                "{live} live, {ready} ready, {images:?}"
            );
            Ok(())
        },
    )
    .await
    .expect("rollout completes after the leader kill");
    let new_leader = cluster.leader_id().await.expect("new leader");
    assert_ne!(new_leader, old_leader);
    eprintln!(
        "rolling update of 50 finished {:?} after the leader kill ({observations} observations)",
        killed_at.elapsed()
    );
    cluster.teardown();
}
