//! SIGKILL of the leader: a new leader takes over and every acknowledged write stays readable.

use std::time::Duration;

use keel_chaos::ClusterOptions;

use crate::support::{cell, get, put_retrying, value_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_leader_elects_another_and_loses_no_acknowledged_write() {
    let cluster = cell(ClusterOptions::default()).await;
    let old_leader = cluster.leader_id().await.unwrap();
    let mut vias: Vec<u64> = cluster.live_ids();

    // Phase 1: writes through every replica; the leader is SIGKILLed a third of the way in.
    let mut acked = Vec::new();
    for i in 0..60u32 {
        if i == 20 {
            cluster.kill(old_leader).await.unwrap();
            vias.retain(|id| *id != old_leader);
        }
        let key = format!("/f/{i}");
        if let Some(rev) = put_retrying(
            &cluster,
            &vias,
            &key,
            &format!("v{i}"),
            Duration::from_secs(15),
        )
        .await
        {
            acked.push((key, format!("v{i}"), rev));
        }
    }
    assert!(
        acked.len() >= 55,
        "most writes are acknowledged across one failover: {}",
        acked.len()
    );

    // Phase 2: a different replica leads.
    let new_leader = cluster
        .wait_for_leader(Duration::from_secs(10), Some(old_leader))
        .await
        .unwrap();
    assert_ne!(new_leader, old_leader);

    // Phase 3: every acknowledged write reads back linearizably from each survivor.
    for via in &vias {
        for (key, value, _) in &acked {
            let kv = get(&cluster, *via, key, false).await.unwrap();
            assert_eq!(
                value_of(&kv).as_ref(),
                Some(value),
                "{key} via replica {via}"
            );
        }
    }
    let revisions: Vec<u64> = acked.iter().map(|(_, _, r)| *r).collect();
    assert!(
        revisions.windows(2).all(|w| w[0] < w[1]),
        "acknowledged revisions increase: {revisions:?}"
    );

    // Phase 4: the killed replica comes back, catches up, and all three agree.
    cluster.restart(old_leader).await.unwrap();
    cluster
        .wait_caught_up(old_leader, Duration::from_secs(20))
        .await
        .unwrap();
    cluster
        .wait_converged(Duration::from_secs(20))
        .await
        .unwrap();
    for (key, value, _) in &acked {
        let kv = get(&cluster, old_leader, key, true).await.unwrap();
        assert_eq!(
            value_of(&kv).as_ref(),
            Some(value),
            "{key} on the restarted replica"
        );
    }
}
