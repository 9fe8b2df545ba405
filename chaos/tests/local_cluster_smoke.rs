//! Smoke test of LocalCluster against the real `keel-server`: start, write, kill the leader,
//! fail over, pause / resume, restart, converge, add a replica. Needs `keel-server` built first
//! (scripts/test.sh builds every binary before testing).

use std::time::Duration;

use keel_chaos::{wait_until, ClusterOptions, LocalCluster};
use keel_proto::store::PutRequest;

async fn put(cluster: &LocalCluster, via: u64, key: &str) -> anyhow::Result<u64> {
    let mut store = cluster.store_client(via)?;
    let req = PutRequest {
        key: key.into(),
        value: b"v".to_vec(),
        prev_kv: false,
    };
    Ok(store.put(req).await?.into_inner().revision)
}

#[tokio::test]
async fn local_cluster_lifecycle() -> anyhow::Result<()> {
    // Phase 1: a 3-replica cell forms and accepts writes through any replica.
    let cluster = LocalCluster::start(ClusterOptions::default()).await?;
    let leader = cluster.leader_id().await?;
    for id in cluster.ids() {
        put(&cluster, id, &format!("smoke/{id}")).await?;
    }
    let (rev, _) = cluster.wait_converged(Duration::from_secs(10)).await?;
    assert!(rev >= 3);

    // Phase 2: kill the leader; another one takes over and writes go on.
    let pid = cluster.pid(leader).expect("leader runs");
    cluster.kill(leader).await?;
    assert!(!cluster.is_running(leader));
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}/exe")).exists(),
        "pid reaped"
    );
    let new_leader = cluster
        .wait_for_leader(Duration::from_secs(10), Some(leader))
        .await?;
    let survivor = cluster.live_ids()[0];
    wait_until(
        Duration::from_secs(10),
        "a write after failover",
        async || put(&cluster, survivor, "smoke/after-failover").await,
    )
    .await?;

    // Phase 3: the old leader restarts from its data dir and catches up.
    cluster.restart(leader).await?;
    cluster
        .wait_caught_up(leader, Duration::from_secs(20))
        .await?;

    // Phase 4: a paused follower does not stop the cell; resumed, it converges.
    let follower = cluster
        .live_ids()
        .into_iter()
        .find(|id| *id != new_leader)
        .expect("follower");
    cluster.pause(follower)?;
    assert!(cluster.is_paused(follower));
    let other = cluster.live_ids()[0];
    put(&cluster, other, "smoke/while-paused").await?;
    cluster.resume(follower)?;
    cluster.wait_converged(Duration::from_secs(20)).await?;

    // Phase 5: a fourth replica process joins as a learner.
    let addr = cluster.add_replica_process(4).await?;
    assert!(addr.starts_with("127.0.0.1:"));
    let status = cluster.status(4).await?;
    assert_eq!(status.id, 4);

    // Phase 6: teardown leaves no process behind.
    let pids: Vec<u32> = cluster
        .ids()
        .into_iter()
        .filter_map(|id| cluster.pid(id))
        .collect();
    drop(cluster);
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}/exe")).exists(),
            "pid {pid} left behind"
        );
    }
    Ok(())
}
