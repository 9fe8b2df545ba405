//! Snapshots: a follower that missed purged log catches up by snapshot; an operator's saved
//! snapshot starts a new cell with the same data (disaster recovery).

use std::time::Duration;

use keel_chaos::{wait_until, ClusterOptions};
use keel_proto::cluster as cpb;

use crate::support::{api_only_cell, cell, get, put, value_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_restarted_after_the_log_was_purged_catches_up_by_snapshot() {
    let cluster = cell(ClusterOptions {
        snapshot_logs: Some(50),
        keep_logs: Some(10),
        ..Default::default()
    })
    .await;
    let leader = cluster.leader_id().await.unwrap();
    let lagging = crate::support::follower(&cluster).await;
    put(&cluster, leader, "/s/before", "x").await.unwrap();

    // Phase 1: the follower stops; the cell moves on far past it.
    let behind = cluster.status(lagging).await.unwrap().last_log_index;
    cluster.kill(lagging).await.unwrap();
    for i in 0..300 {
        put(&cluster, leader, &format!("/s/{i:04}"), &format!("v{i}"))
            .await
            .unwrap();
    }
    let mut admin = cluster.cluster_client(leader).unwrap();
    admin
        .trigger_snapshot(cpb::TriggerSnapshotRequest {})
        .await
        .unwrap();
    wait_until(
        Duration::from_secs(20),
        "the leader to purge its log past the lagging follower",
        async || {
            let s = cluster.status(leader).await?;
            anyhow::ensure!(
                s.purged_index > behind + 10,
                "purged {} (follower at {behind})",
                s.purged_index
            );
            Ok(())
        },
    )
    .await
    .unwrap();

    // Phase 2: restarted, it can only catch up by installing a snapshot.
    cluster.restart(lagging).await.unwrap();
    cluster
        .wait_caught_up(lagging, Duration::from_secs(30))
        .await
        .unwrap();
    let s = cluster.status(lagging).await.unwrap();
    assert!(
        s.snapshot_index > behind,
        "follower installed a snapshot (snapshot index {} > {behind})",
        s.snapshot_index
    );
    cluster
        .wait_converged(Duration::from_secs(20))
        .await
        .unwrap();
    let kv = get(&cluster, lagging, "/s/0299", true).await.unwrap();
    assert_eq!(value_of(&kv).as_deref(), Some("v299"));

    // Phase 3: and it keeps following new writes.
    put(&cluster, lagging, "/s/after", "y").await.unwrap();
    assert_eq!(
        value_of(&get(&cluster, lagging, "/s/after", false).await.unwrap()).as_deref(),
        Some("y")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_snapshot_restores_a_new_cell_with_the_same_data() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cell.snap");

    // Phase 1: a cell with data; an operator saves a snapshot.
    let (revision, hash) = {
        // Store-level data only: no leader brain writing objects of its own (such as the node
        // partition table) into either cell.
        let source = api_only_cell(ClusterOptions::default()).await;
        let follower = crate::support::follower(&source).await;
        // The leader creates the bootstrap namespaces soon after its election; wait for them, or
        // the restored cell (whose snapshot lacks them) writes them before its status is read.
        wait_until(
            Duration::from_secs(10),
            "the bootstrap namespaces exist",
            async || {
                for ns in ["default", "kube-system", "kube-public"] {
                    let key = format!("/registry/core/namespaces/{ns}");
                    anyhow::ensure!(get(&source, follower, &key, false).await?.is_some(), "{ns}");
                }
                Ok(())
            },
        )
        .await
        .expect("bootstrap namespaces");
        for i in 0..20 {
            put(&source, follower, &format!("/r/{i}"), &format!("v{i}"))
                .await
                .unwrap();
        }
        let converged = source
            .wait_converged(Duration::from_secs(10))
            .await
            .unwrap();
        let mut admin = source.cluster_client(follower).unwrap();
        let mut stream = admin
            .save_snapshot(cpb::SaveSnapshotRequest {})
            .await
            .unwrap()
            .into_inner();
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.message().await.unwrap() {
            bytes.extend(chunk.data);
        }
        std::fs::write(&file, &bytes).unwrap();
        converged
    };

    // Phase 2: a new cell restored from it holds the same keys, revision and state hash.
    let restored = api_only_cell(ClusterOptions {
        extra_args: vec!["--restore".into(), file.display().to_string()],
        ..Default::default()
    })
    .await;
    let leader = restored.leader_id().await.unwrap();
    let kv = get(&restored, leader, "/r/19", false).await.unwrap();
    assert_eq!(value_of(&kv).as_deref(), Some("v19"));
    let s = restored.status(leader).await.unwrap();
    assert_eq!((s.revision, s.state_hash.clone()), (revision, hash));

    // Phase 3: it accepts new writes, continuing the revision sequence.
    let next = put(&restored, leader, "/r/new", "n").await.unwrap();
    assert_eq!(next, revision + 1);
}
