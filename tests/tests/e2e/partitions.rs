//! Partitioned node ownership (Borg's link shards) on a real 3-replica cell with 200 hollow
//! agents in one keel-agent process: the followers own the nodes, balanced and identically on
//! every replica, every agent reports to its owner, idle healthy nodes add nothing to the Raft
//! log, a pod's status reaches a watcher on another replica within a second, and when an owner
//! is killed its agents re-home within 5 s without any node turning NotReady.

use std::time::{Duration, Instant};

use keel_chaos::{wait_until, ClusterOptions, LocalCluster};
use keel_proto::objects as pb;
use serde_json::Value;

use crate::agent_support::spawn_agent;
use crate::objects_support::{client, create, list, next_watch_event, wait_bootstrapped};
use crate::support::cell;

const NODES: usize = 200;

/// Every replica's (id, partition owners, nodes owned, agents reporting).
async fn partitions(cluster: &LocalCluster) -> Vec<(u64, String, u32, u32)> {
    let mut out = Vec::new();
    for id in cluster.live_ids() {
        if let Ok(s) = cluster.status(id).await {
            out.push((id, s.partition_owners, s.nodes_owned, s.agents_reporting));
        }
    }
    out
}

async fn nodes(cluster: &LocalCluster, via: u64) -> anyhow::Result<Vec<Value>> {
    let (items, _) = list(
        cluster,
        via,
        pb::ListRequest {
            resource: "nodes".into(),
            ..Default::default()
        },
    )
    .await?;
    Ok(items)
}

/// The keys (with their modify revision) written after `revision`.
async fn keys_written_since(cluster: &LocalCluster, via: u64, revision: u64) -> Vec<(String, u64)> {
    let resp = cluster
        .store_client(via)
        .expect("store client")
        .range(keel_proto::store::RangeRequest {
            key: b"/".to_vec(),
            prefix: true,
            keys_only: true,
            ..Default::default()
        })
        .await
        .expect("range")
        .into_inner();
    resp.kvs
        .iter()
        .filter(|kv| kv.mod_revision > revision)
        .map(|kv| {
            (
                String::from_utf8_lossy(&kv.key).into_owned(),
                kv.mod_revision,
            )
        })
        .collect()
}

/// One of the followers, by turns.
fn survivor_of(followers: &[u64], i: usize) -> u64 {
    followers[i % followers.len()]
}

fn ready(node: &Value) -> &str {
    node["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
        .and_then(|c| c["status"].as_str())
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_own_the_nodes_and_agents_rehome_when_an_owner_dies() {
    let cluster = cell(ClusterOptions::default()).await;
    wait_bootstrapped(&cluster).await;
    let leader = cluster.leader_id().await.expect("leader");
    let followers: Vec<u64> = cluster
        .live_ids()
        .into_iter()
        .filter(|id| *id != leader)
        .collect();
    let hollow = NODES.to_string();
    let _agents = spawn_agent(
        &cluster,
        "hollow",
        &cluster.addrs(),
        &["--hollow-nodes", &hollow, "--cpu", "4"],
    );

    // Phase 1: the followers own every node, balanced, the same table everywhere, and every
    // agent reports to its owner.
    let owners_text = followers
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    wait_until(
        Duration::from_secs(60),
        "every agent reports to its owner",
        async || {
            let p = partitions(&cluster).await;
            anyhow::ensure!(p.len() == 3, "replicas answering: {p:?}");
            for (id, owners, owned, reporting) in &p {
                anyhow::ensure!(
                    *owners == owners_text,
                    "replica {id} reads owners {owners:?}: {p:?}"
                );
                if *id == leader {
                    anyhow::ensure!(*owned == 0, "the leader owns nothing: {p:?}");
                } else {
                    anyhow::ensure!(
                        *reporting == *owned,
                        "replica {id}: {reporting} of its {owned} agents report: {p:?}"
                    );
                }
            }
            let total: u32 = p.iter().map(|r| r.2).sum();
            anyhow::ensure!(
                total as usize == NODES,
                "nodes owned in all: {total}: {p:?}"
            );
            Ok(())
        },
    )
    .await
    .expect("partitioned");
    let p = partitions(&cluster).await;
    let share = NODES as f64 / followers.len() as f64;
    for (id, _, owned, _) in &p {
        assert!(
            f64::from(*owned) <= 1.5 * share,
            "replica {id} owns {owned} nodes, more than 1.5 x {share}: {p:?}"
        );
    }
    wait_until(Duration::from_secs(20), "every node Ready", async || {
        let all = nodes(&cluster, followers[0]).await?;
        let not_ready = all.iter().filter(|n| ready(n) != "True").count();
        anyhow::ensure!(
            all.len() == NODES && not_ready == 0,
            "{} nodes, {not_ready} not Ready",
            all.len()
        );
        Ok(())
    })
    .await
    .expect("nodes ready");

    // Phase 2: idle healthy nodes cost no log entries.
    let start = cluster.status(leader).await.expect("status");
    tokio::time::sleep(Duration::from_secs(15)).await;
    let end = cluster.status(leader).await.expect("status");
    if end.last_log_index != start.last_log_index {
        let written = keys_written_since(&cluster, leader, start.revision).await;
        panic!(
            "{NODES} idle nodes reporting every second grew the log by {} entries in 15 s; \
             keys written: {written:?}",
            end.last_log_index - start.last_log_index
        );
    }

    // Phase 3: a pod's status change on an agent reaches a watcher on another replica (the
    // leader, which owns no node) quickly: create → bound pod Running seen by the watch.
    let mut latencies = Vec::new();
    for i in 0..5 {
        let name = format!("lat-{i}");
        let mut watch = client(&cluster, leader)
            .watch(pb::WatchRequest {
                resource: "pods".into(),
                namespace: "default".into(),
                field_selector: format!("metadata.name={name}"),
                ..Default::default()
            })
            .await
            .expect("watch")
            .into_inner();
        let pod = serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name},
            "spec": {"nodeName": format!("hollow-{}", i * 37),
                "containers": [{"name": "c", "image": "app:1"}]}});
        create(&cluster, survivor_of(&followers, i), &pod)
            .await
            .expect("create");
        let created = Instant::now();
        loop {
            let (_, obj) = next_watch_event(&mut watch).await.expect("watch event");
            if obj["status"]["phase"] == "Running" {
                break;
            }
        }
        latencies.push(created.elapsed());
    }
    latencies.sort();
    println!("pod created → Running seen on the leader: {latencies:?}");
    assert!(
        latencies[2] <= Duration::from_secs(1),
        "median create → Running on another replica {:?} > 1 s: {latencies:?}",
        latencies[2]
    );

    // Phase 4: kill one owner; its agents re-home to the other follower within 5 s, and no node
    // is marked NotReady because of it.
    let victim = followers[0];
    let survivor = followers[1];
    cluster.kill(victim).await.expect("kill owner");
    let killed_at = Instant::now();
    wait_until(
        Duration::from_secs(5),
        "the survivor owns and hears every node",
        async || {
            let s = cluster.status(survivor).await?;
            anyhow::ensure!(
                s.partition_owners == survivor.to_string()
                    && s.nodes_owned as usize == NODES
                    && s.agents_reporting as usize == NODES,
                "survivor: owners {:?}, owns {}, hears {}",
                s.partition_owners,
                s.nodes_owned,
                s.agents_reporting
            );
            Ok(())
        },
    )
    .await
    .expect("agents re-homed within 5 s");
    println!(
        "agents re-homed {:?} after the owner was killed",
        killed_at.elapsed()
    );
    // Past the node monitor grace (6 s) from the kill, every node is still Ready.
    let until = killed_at + Duration::from_secs(9);
    while Instant::now() < until {
        let all = nodes(&cluster, survivor).await.expect("list nodes");
        let not_ready: Vec<&str> = all
            .iter()
            .filter(|n| ready(n) != "True")
            .filter_map(|n| n["metadata"]["name"].as_str())
            .collect();
        assert!(
            not_ready.is_empty(),
            "nodes marked not Ready after their owner died: {not_ready:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
