//! A cell forms; any replica serves writes (forwarded to the leader) and linearizable reads;
//! transactions, pagination, reads at past revisions and replicated compaction behave as etcd's.

use std::time::Duration;

use keel_chaos::{wait_until, ClusterOptions};
use keel_proto::store as pb;

use crate::support::{cell, get, put, value_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cell_forms_and_every_replica_serves_writes_and_linearizable_reads() {
    // Phase 1: three replicas agree on one leader.
    let cluster = cell(ClusterOptions::default()).await;
    let leader = cluster.leader_id().await.unwrap();
    let followers: Vec<u64> = cluster
        .live_ids()
        .into_iter()
        .filter(|id| *id != leader)
        .collect();
    assert_eq!(followers.len(), 2);
    let status = cluster.status(leader).await.unwrap();
    assert_eq!(status.state, "leader");
    assert_eq!(
        status.members.iter().filter(|m| m.role == "voter").count(),
        3
    );

    // Phase 2: a write through a follower is forwarded to the leader and acknowledged.
    let rev = put(&cluster, followers[0], "/t/a", "1").await.unwrap();
    assert!(rev > 0);

    // Phase 3: a linearizable read on the other follower sees it at once, at that revision.
    let kv = get(&cluster, followers[1], "/t/a", false).await.unwrap();
    assert_eq!(value_of(&kv).as_deref(), Some("1"));
    let kv = kv.unwrap();
    assert_eq!(
        (kv.mod_revision, kv.create_revision, kv.version),
        (rev, rev, 1)
    );

    // Phase 4: compare-and-swap on the modify revision.
    let mut store = cluster.store_client(followers[1]).unwrap();
    let cas = |mod_revision: u64, value: &str| pb::TxnRequest {
        compare: vec![pb::Compare {
            key: "/t/a".into(),
            target: 0,
            result: 0,
            mod_revision,
            ..Default::default()
        }],
        success: vec![pb::RequestOp {
            request: Some(pb::request_op::Request::Put(pb::PutRequest {
                key: "/t/a".into(),
                value: value.into(),
                prev_kv: false,
            })),
        }],
        failure: vec![],
    };
    let won = store.txn(cas(rev, "2")).await.unwrap().into_inner();
    assert!(won.succeeded);
    let lost = store.txn(cas(rev, "3")).await.unwrap().into_inner();
    assert!(!lost.succeeded, "a stale compare must fail");
    assert_eq!(lost.failed_compares.len(), 1, "{:?}", lost.failed_compares);
    assert_eq!(
        value_of(&get(&cluster, leader, "/t/a", false).await.unwrap()).as_deref(),
        Some("2")
    );

    // Phase 5: a prefix range, paginated with a continue token, at one consistent revision.
    for i in 0..5 {
        put(&cluster, leader, &format!("/t/p/{i}"), &i.to_string())
            .await
            .unwrap();
    }
    let first = store
        .range(pb::RangeRequest {
            key: "/t/p/".into(),
            prefix: true,
            limit: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((first.kvs.len(), first.more, first.count), (2, true, 5));
    put(&cluster, leader, "/t/p/9", "late").await.unwrap();
    let mut keys: Vec<Vec<u8>> = first.kvs.iter().map(|kv| kv.key.clone()).collect();
    let mut token = first.continue_token;
    while !token.is_empty() {
        let page = store
            .range(pb::RangeRequest {
                key: "/t/p/".into(),
                prefix: true,
                limit: 2,
                continue_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        keys.extend(page.kvs.iter().map(|kv| kv.key.clone()));
        token = page.continue_token;
    }
    let expected: Vec<Vec<u8>> = (0..5).map(|i| format!("/t/p/{i}").into_bytes()).collect();
    assert_eq!(
        keys, expected,
        "pages are read at the first page's revision: the late key is not in them"
    );

    // Phase 6: a read at a past revision sees the old value.
    let old = store
        .range(pb::RangeRequest {
            key: "/t/a".into(),
            revision: rev,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(old.kvs[0].value, b"1");

    // Phase 7: serializable reads converge; every replica ends with the same state hash.
    let (revision, _) = cluster
        .wait_converged(Duration::from_secs(10))
        .await
        .unwrap();
    let local = get(&cluster, followers[0], "/t/p/9", true).await.unwrap();
    assert_eq!(value_of(&local).as_deref(), Some("late"));
    assert!(revision >= rev + 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_is_replicated_and_reads_before_it_fail_with_compacted() {
    let cluster = cell(ClusterOptions::default()).await;
    let follower = crate::support::follower(&cluster).await;
    let r1 = put(&cluster, follower, "/c/k", "v1").await.unwrap();
    let _r2 = put(&cluster, follower, "/c/k", "v2").await.unwrap();
    let r3 = put(&cluster, follower, "/c/k", "v3").await.unwrap();

    // Compact through a follower: a replicated command.
    let mut store = cluster.store_client(follower).unwrap();
    let resp = store
        .compact(pb::CompactRequest { revision: r3 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.compact_revision, r3);
    wait_until(
        Duration::from_secs(10),
        "every replica to record the compaction",
        async || {
            for (id, s) in cluster.statuses().await {
                let s = s?;
                anyhow::ensure!(
                    s.compact_revision == r3,
                    "replica {id} compact revision {}",
                    s.compact_revision
                );
            }
            Ok(())
        },
    )
    .await
    .unwrap();

    // Reading or watching from before the compaction fails clearly; at it, it works.
    let err = store
        .range(pb::RangeRequest {
            key: "/c/k".into(),
            revision: r1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::OutOfRange);
    assert!(err.message().contains("compacted"), "{}", err.message());
    let at = store
        .range(pb::RangeRequest {
            key: "/c/k".into(),
            revision: r3,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(at.kvs[0].value, b"v3");
    let mut watch = store
        .watch(pb::WatchRequest {
            key: "/c/".into(),
            prefix: true,
            start_revision: r1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let err = watch.message().await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::OutOfRange);
    assert!(err.message().contains("compacted"), "{}", err.message());

    // Compacting again below or beyond is refused without harm.
    let again = store
        .compact(pb::CompactRequest { revision: r1 })
        .await
        .unwrap_err();
    assert_eq!(
        again.code(),
        tonic::Code::FailedPrecondition,
        "{}",
        again.message()
    );
    let future = store
        .compact(pb::CompactRequest {
            revision: r3 + 1000,
        })
        .await
        .unwrap_err();
    assert_eq!(
        future.code(),
        tonic::Code::FailedPrecondition,
        "{}",
        future.message()
    );
    assert_eq!(
        value_of(&get(&cluster, follower, "/c/k", false).await.unwrap()).as_deref(),
        Some("v3")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_compacts_history_beyond_the_configured_retention() {
    let cluster = cell(ClusterOptions {
        history_retention: Some(10),
        ..Default::default()
    })
    .await;
    let follower = crate::support::follower(&cluster).await;
    let mut last = 0;
    for i in 0..40 {
        last = put(&cluster, follower, &format!("/h/{i}"), "v")
            .await
            .unwrap();
    }
    // The leader proposes a replicated Compact keeping the last 10 revisions; every replica applies it.
    wait_until(
        Duration::from_secs(20),
        "automatic compaction on every replica",
        async || {
            for (id, s) in cluster.statuses().await {
                let s = s?;
                anyhow::ensure!(
                    s.compact_revision >= last - 10 - 1,
                    "replica {id} compact revision {}",
                    s.compact_revision
                );
            }
            Ok(())
        },
    )
    .await
    .unwrap();
    // Recent history stays readable; the newest value is untouched.
    let kv = get(&cluster, follower, "/h/39", false).await.unwrap();
    assert_eq!(value_of(&kv).as_deref(), Some("v"));
    let mut store = cluster.store_client(follower).unwrap();
    let recent = store
        .range(pb::RangeRequest {
            key: "/h/39".into(),
            revision: last,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(recent.kvs.len(), 1);
}
