//! A watch opened on a follower sees every write exactly once, in revision order, across a leader
//! kill and a forced disconnect resumed from the last revision seen.

use std::time::Duration;

use keel_chaos::ClusterOptions;
use keel_proto::store as pb;

use crate::support::{cell, put, put_retrying};

/// The next non-empty batch of events, or the stream's error.
async fn next_event(
    s: &mut tonic::Streaming<pb::WatchResponse>,
) -> Result<Vec<pb::Event>, tonic::Status> {
    loop {
        match s.message().await? {
            Some(r) if !r.events.is_empty() => return Ok(r.events),
            Some(_) => continue,
            None => return Err(tonic::Status::unavailable("watch stream ended")),
        }
    }
}

async fn open(
    cluster: &keel_chaos::LocalCluster,
    via: u64,
    from: u64,
) -> tonic::Streaming<pb::WatchResponse> {
    let mut c = cluster.store_client(via).unwrap();
    c.watch(pb::WatchRequest {
        key: "/w/".into(),
        prefix: true,
        start_revision: from,
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_watch_sees_every_write_once_in_order_across_a_leader_kill_and_a_resume() {
    let cluster = cell(ClusterOptions::default()).await;
    let leader = cluster.leader_id().await.unwrap();
    let watched = crate::support::follower(&cluster).await;
    let start = put(&cluster, leader, "/other/marker", "m").await.unwrap() + 1;
    let mut stream = open(&cluster, watched, start).await;

    // Phase 1: writes through the survivors-to-be; the leader is killed after 30 of them.
    let mut vias: Vec<u64> = cluster
        .live_ids()
        .into_iter()
        .filter(|id| *id != leader)
        .collect();
    vias.sort();
    let mut acked = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..90u32 {
        if i == 30 {
            cluster.kill(leader).await.unwrap();
        }
        let key = format!("/w/{i:03}");
        match put_retrying(&cluster, &vias, &key, "v", Duration::from_secs(15)).await {
            Some(rev) => acked.push((rev, key)),
            None => unknown.push(key),
        }
    }

    // Phase 2: read events; halfway, drop the stream and resume from the next revision.
    let mut seen: Vec<(u64, String)> = Vec::new();
    let last_acked = acked.last().map(|(r, _)| *r).unwrap();
    let mut resumed = false;
    while seen.last().map(|(r, _)| *r).unwrap_or(0) < last_acked {
        let events = tokio::time::timeout(Duration::from_secs(20), next_event(&mut stream))
            .await
            .expect("watch delivers within 20 s")
            .expect("watch stream healthy");
        for e in events {
            let kv = e.kv.unwrap();
            seen.push((
                kv.mod_revision,
                String::from_utf8_lossy(&kv.key).to_string(),
            ));
        }
        if !resumed && seen.len() >= 45 {
            resumed = true;
            let next = seen.last().unwrap().0 + 1;
            drop(stream);
            stream = open(&cluster, watched, next).await;
        }
    }
    assert!(resumed);

    // Phase 3: ordered, unique, and complete for every acknowledged write.
    assert!(
        seen.windows(2).all(|w| w[0].0 < w[1].0),
        "revisions strictly increase"
    );
    let seen_keys: Vec<&String> = seen.iter().map(|(_, k)| k).collect();
    for (rev, key) in &acked {
        assert!(
            seen.contains(&(*rev, key.clone())),
            "acknowledged {key}@{rev} missing from the watch"
        );
    }
    for key in &seen_keys {
        assert!(
            acked.iter().any(|(_, k)| k == *key) || unknown.contains(key),
            "unexpected event for {key}"
        );
    }
}
