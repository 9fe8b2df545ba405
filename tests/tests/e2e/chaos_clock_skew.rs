//! The clock-skew fault really shifts a replica's wall clock: a replica restarted under
//! libfaketime (`FAKETIME=+3600`) stamps the objects it creates an hour ahead, the others and the
//! same replica restarted without it stamp the true time; and the clock-skew scenario passes
//! every checker.

use std::{process::Command, time::Duration};

use keel_chaos::{faults::skewed_clock_env, wait_until, ClusterOptions, LocalCluster};
use serde_json::json;

use super::chaos_support::run_keel_chaos;
use crate::objects_support::{create, wait_bootstrapped};
use crate::support::api_only_cell;

/// Seconds since the epoch of an RFC 3339 time (`date` parses it).
fn unix_seconds(rfc3339: &str) -> i64 {
    let out = Command::new("date")
        .args(["-u", "-d", rfc3339, "+%s"])
        .output()
        .expect("date runs");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("date cannot parse {rfc3339:?}"))
}

fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Creates ConfigMap `name` through replica `via` (retrying while it starts) and returns how far
/// its creationTimestamp is from this process's clock, in seconds.
async fn stamp_offset(cluster: &LocalCluster, via: u64, name: &str) -> i64 {
    let cm = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default"},
        "data": {"k": "v"}
    });
    let created = wait_until(
        Duration::from_secs(20),
        format!("creating {name} through replica {via}"),
        async || Ok(create(cluster, via, &cm).await?),
    )
    .await
    .unwrap();
    let stamp = created["metadata"]["creationTimestamp"]
        .as_str()
        .unwrap_or_else(|| panic!("no creationTimestamp in {created}"));
    unix_seconds(stamp) - now_seconds()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_under_libfaketime_stamps_objects_with_its_shifted_clock() {
    let skew = skewed_clock_env(3_600)
        .expect("libfaketime is installed (scripts/install-build-deps.sh faketime)");
    let cluster = api_only_cell(ClusterOptions::default()).await;
    wait_bootstrapped(&cluster).await;
    cluster.restart_with_env(2, skew).await.unwrap();

    let skewed = stamp_offset(&cluster, 2, "skewed").await;
    let true_clock = stamp_offset(&cluster, 1, "true-clock").await;
    println!("creationTimestamp offsets: replica 2 (FAKETIME=+3600) {skewed} s, replica 1 {true_clock} s");
    assert!(
        (3_540..=3_660).contains(&skewed),
        "replica 2 stamped {skewed} s off"
    );
    assert!(
        true_clock.abs() <= 60,
        "replica 1 stamped {true_clock} s off"
    );

    cluster.restart_with_env(2, Vec::new()).await.unwrap();
    let healed = stamp_offset(&cluster, 2, "healed").await;
    assert!(
        healed.abs() <= 60,
        "replica 2 after the heal stamped {healed} s off"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clock_skew_scenario_passes_every_checker() {
    let args = [
        "--scenario",
        "clock-skew",
        "--duration",
        "20s",
        "--network",
        "loopback",
    ];
    let run = run_keel_chaos(&args, Duration::from_secs(85)).await;
    let log = &run.log;
    assert!(run.status.success(), "keel-chaos failed\n{log}");
    assert_eq!(run.report["metrics"]["violations_total"], 0, "{log}");
    let faults = run.report["faults"].as_array().unwrap();
    assert!(faults.len() >= 2, "only {} faults\n{log}", faults.len());
    for f in faults {
        assert!(f["errors"].as_array().unwrap().is_empty(), "{f}\n{log}");
        assert!(
            f["target"].as_str().unwrap().contains("wall clock"),
            "{f}\n{log}"
        );
    }
}
