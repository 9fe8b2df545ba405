//! Membership: a fourth replica joins as a learner under load, is promoted, another is removed;
//! leadership can be handed over.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use keel_chaos::{wait_until, ClusterOptions};
use keel_proto::cluster as cpb;

use crate::support::{cell, get, put_retrying, value_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learner_joins_under_load_is_promoted_and_another_replica_is_removed() {
    let cluster = cell(ClusterOptions::default()).await;
    let leader = cluster.leader_id().await.unwrap();

    // Phase 1: a bounded writer keeps the cell busy through replicas 1 and 2 while the
    // membership changes below run beside it (same task, so no Send bounds are needed).
    let stop = AtomicBool::new(false);
    let writer = async {
        let mut acked = Vec::new();
        for i in 0..2000u32 {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let key = format!("/m/{i}");
            if put_retrying(&cluster, &[1, 2], &key, "v", Duration::from_secs(10))
                .await
                .is_some()
            {
                acked.push(key);
            }
        }
        acked
    };
    let changes = async {
        // Phase 2: replica 4 starts with --join; the cell adds it as a learner and it catches up.
        cluster.add_replica_process(4).await.unwrap();
        wait_until(
            Duration::from_secs(30),
            "replica 4 to be a learner",
            async || {
                let s = cluster.status(leader).await?;
                anyhow::ensure!(
                    s.members.iter().any(|m| m.id == 4 && m.role == "learner"),
                    "members {:?}",
                    s.members
                );
                Ok(())
            },
        )
        .await
        .unwrap();
        cluster
            .wait_caught_up(4, Duration::from_secs(30))
            .await
            .unwrap();

        // Phase 3: promote it (through any replica), then remove replica 3.
        let mut admin = cluster.cluster_client(1).unwrap();
        let promoted = admin
            .promote(cpb::PromoteRequest { id: 4 })
            .await
            .unwrap()
            .into_inner();
        assert!(
            promoted
                .members
                .iter()
                .any(|m| m.id == 4 && m.role == "voter"),
            "{:?}",
            promoted.members
        );
        let removed = admin
            .remove(cpb::RemoveRequest { id: 3 })
            .await
            .unwrap()
            .into_inner();
        assert!(
            !removed.members.iter().any(|m| m.id == 3),
            "{:?}",
            removed.members
        );
        cluster.kill(3).await.unwrap();
        stop.store(true, Ordering::Relaxed);
    };
    let (acked, ()) = tokio::join!(writer, changes);

    // Phase 4: writes still commit with voters {1, 2, 4}; nothing acknowledged is lost.
    assert!(!acked.is_empty());
    put_retrying(&cluster, &[4], "/m/final", "f", Duration::from_secs(10))
        .await
        .expect("write after removal");
    for key in acked.iter().chain(std::iter::once(&"/m/final".to_string())) {
        let kv = get(&cluster, 4, key, false).await.unwrap();
        assert!(value_of(&kv).is_some(), "{key} readable on the new voter");
    }
    let s = cluster.status(4).await.unwrap();
    let mut voters: Vec<u64> = s
        .members
        .iter()
        .filter(|m| m.role == "voter")
        .map(|m| m.id)
        .collect();
    voters.sort();
    assert_eq!(voters, vec![1, 2, 4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leadership_is_transferred_on_request() {
    let cluster = cell(ClusterOptions::default()).await;
    let leader = cluster.leader_id().await.unwrap();
    let target = crate::support::follower(&cluster).await;
    let mut admin = cluster.cluster_client(leader).unwrap();
    let resp = admin
        .transfer_leader(cpb::TransferLeaderRequest { to: target })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.leader_id, target);
    let now = cluster
        .wait_for_leader(Duration::from_secs(10), Some(leader))
        .await
        .unwrap();
    assert_eq!(now, target);
    // Transferring to a non-member is refused, naming it.
    let err = admin
        .transfer_leader(cpb::TransferLeaderRequest { to: 9 })
        .await
        .unwrap_err();
    assert!(err.message().contains('9'), "{}", err.message());
}
