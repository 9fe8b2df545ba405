//! keel-chaos scenarios beyond the smoke, each run short: killing exactly the replica a client is
//! attached to, membership changes under load, and a follower forced to catch up by snapshot.
//! Every checker must pass and every fault must have been injected and healed without error.

use std::time::Duration;

use super::chaos_support::{assert_root, run_keel_chaos, ChaosRun};

/// Cell start, the fault phase, warm-up, cool-down and checks.
const RUN_LIMIT: Duration = Duration::from_secs(85);

/// Asserts the run passed and every fault went cleanly; returns the faults' targets.
fn assert_clean_pass(run: &ChaosRun, min_faults: usize) -> Vec<String> {
    let log = &run.log;
    assert!(run.status.success(), "keel-chaos failed\n{log}");
    assert_eq!(run.report["passed"], true, "{log}");
    assert_eq!(run.report["metrics"]["violations_total"], 0, "{log}");
    let faults = run.report["faults"].as_array().unwrap();
    assert!(
        faults.len() >= min_faults,
        "only {} faults ran\n{log}",
        faults.len()
    );
    for f in faults {
        assert!(f["errors"].as_array().unwrap().is_empty(), "{f}\n{log}");
    }
    faults
        .iter()
        .map(|f| f["target"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_replica_a_client_is_attached_to_passes_every_checker() {
    let args = [
        "--scenario",
        "client-kill",
        "--duration",
        "25s",
        "--network",
        "loopback",
    ];
    let run = run_keel_chaos(&args, RUN_LIMIT).await;
    let targets = assert_clean_pass(&run, 3);
    for t in &targets {
        assert!(t.contains("client 0's replica"), "{t}\n{}", run.log);
    }
    println!("client-kill targets: {targets:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_swaps_under_load_pass_every_checker() {
    let args = [
        "--scenario",
        "membership",
        "--duration",
        "30s",
        "--network",
        "loopback",
    ];
    let run = run_keel_chaos(&args, RUN_LIMIT).await;
    let targets = assert_clean_pass(&run, 2);
    for t in &targets {
        assert!(
            t.contains("joined as learner, promoted") && t.contains("removed"),
            "{t}\n{}",
            run.log
        );
    }
    println!("membership swaps: {targets:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blackholed_follower_catches_up_by_snapshot_and_every_checker_passes() {
    assert_root("the snapshot scenario");
    let args = [
        "--scenario",
        "snapshot",
        "--duration",
        "30s",
        "--network",
        "netns",
    ];
    let run = run_keel_chaos(&args, RUN_LIMIT).await;
    let targets = assert_clean_pass(&run, 1);
    assert_eq!(
        super::chaos_support::checker(&run.report, "convergence")["ok"],
        true
    );
    println!("snapshot catch-ups: {targets:?}");
}
