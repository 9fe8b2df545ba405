//! fsync failpoints (`keel-control-plane` feature `failpoints`, armed by the `FAILPOINTS`
//! environment variable at startup): a replica whose Raft log fsync fails stops with exit code 74
//! while the cell goes on without it; fsyncs slowed on two of three replicas slow every commit.

use std::time::{Duration, Instant};

use keel_chaos::{faults::failpoints_env, wait_until, ClusterOptions, LocalCluster};

use crate::support::{api_only_cell, follower, get, put, put_retrying, value_of};

/// Puts through the leader, retrying across a leader change; returns each acknowledged put's
/// latency.
async fn timed_puts(cluster: &LocalCluster, prefix: &str, n: u32) -> Vec<Duration> {
    let mut took = Vec::new();
    for i in 0..n {
        let leader = cluster.leader_id().await.unwrap();
        let started = Instant::now();
        put(cluster, leader, &format!("{prefix}/{i}"), "v")
            .await
            .unwrap();
        took.push(started.elapsed());
    }
    took.sort();
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_fsync_stops_the_replica_with_exit_74_and_the_cell_goes_on() {
    let cluster = api_only_cell(ClusterOptions::default()).await;
    let victim = follower(&cluster).await;
    // It may already stop before answering Status (its first append after the restart): the
    // exit status and the log below say why.
    let restarted = cluster
        .restart_with_env(victim, failpoints_env("raft-log-fsync=return"))
        .await;
    let vias: Vec<u64> = cluster
        .ids()
        .into_iter()
        .filter(|id| *id != victim)
        .collect();
    // Its next log append fails to sync: it must stop rather than acknowledge.
    let rev = put_retrying(
        &cluster,
        &vias,
        "/fsync/after",
        "v",
        Duration::from_secs(15),
    )
    .await
    .expect("the other two commit");
    let status = wait_until(
        Duration::from_secs(15),
        format!("replica {victim} to exit"),
        async || {
            cluster
                .exit_status(victim)
                .ok_or_else(|| anyhow::anyhow!("still running"))
        },
    )
    .await
    .unwrap();
    assert_eq!(status.code(), Some(74), "{status}");
    let log = std::fs::read_to_string(cluster.log_path(victim).unwrap()).unwrap();
    assert!(
        log.contains("fsync of the Raft log failed (failpoint raft-log-fsync)"),
        "{}",
        cluster.log_tail(victim, 20)
    );
    println!(
        "replica {victim} stopped with {status} (restart answered: {}), the others committed \
         revision {rev}",
        restarted.is_ok()
    );

    // Without the failpoint it comes back and catches up.
    cluster.restart_with_env(victim, Vec::new()).await.unwrap();
    wait_until(
        Duration::from_secs(20),
        "the restarted replica to serve the write",
        async || {
            let kv = get(&cluster, victim, "/fsync/after", false).await?;
            anyhow::ensure!(value_of(&kv).as_deref() == Some("v"), "not yet: {kv:?}");
            Ok(())
        },
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_fsyncs_on_a_majority_slow_every_commit() {
    let cluster = api_only_cell(ClusterOptions::default()).await;
    let fast = timed_puts(&cluster, "/fsync/fast", 10).await;
    // Two of three replicas fsync 300 ms late: every quorum includes one of them.
    let leader = cluster.leader_id().await.unwrap();
    let slowed: Vec<u64> = cluster
        .ids()
        .into_iter()
        .filter(|id| *id != leader)
        .collect();
    for id in &slowed {
        cluster
            .restart_with_env(*id, failpoints_env("raft-log-fsync=sleep(300)"))
            .await
            .unwrap();
    }
    let slow = timed_puts(&cluster, "/fsync/slow", 10).await;
    for id in &slowed {
        cluster.restart_with_env(*id, Vec::new()).await.unwrap();
    }
    let healed = timed_puts(&cluster, "/fsync/healed", 10).await;
    println!(
        "put latency min/median: before {:?}/{:?}, 2 of 3 fsyncs +300 ms {:?}/{:?}, after {:?}/{:?}",
        fast[0], fast[5], slow[0], slow[5], healed[0], healed[5]
    );
    assert!(
        slow[0] >= Duration::from_millis(290),
        "fastest slowed put {:?}",
        slow[0]
    );
    assert!(
        healed[5] < Duration::from_millis(290),
        "median after heal {:?}",
        healed[5]
    );
}
