//! The linearizability checker fails on real processes: `keel-chaos run --scenario stale-reads`
//! isolates the leader while clients read from every replica. With `--unsafe-local-reads` (reads
//! skip ReadIndex) the isolated replica serves stale values and the checker must report it; the
//! same run without the flag must pass.

use std::time::Duration;

use super::chaos_support::{assert_root, checker, run_keel_chaos};

/// Cell start, 20 s of faults, warm-up, cool-down and checks.
const RUN_LIMIT: Duration = Duration::from_secs(85);

const ARGS: [&str; 8] = [
    "--scenario",
    "stale-reads",
    "--network",
    "netns",
    "--seed",
    "1",
    "--keys",
    "2",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsafe_local_reads_are_caught_by_the_linearizability_checker() {
    assert_root("the stale-reads scenario");
    let mut args = ARGS.to_vec();
    args.push("--unsafe-local-reads");
    let run = run_keel_chaos(&args, RUN_LIMIT).await;
    let log = &run.log;
    assert_eq!(run.status.code(), Some(1), "keel-chaos must fail\n{log}");
    assert_eq!(run.report["passed"], false, "{log}");
    let lin = checker(&run.report, "linearizable");
    assert_eq!(lin["ok"], false, "linearizable passed: {lin}\n{log}");
    assert!(lin["violation_count"].as_u64().unwrap() >= 1, "{lin}");
    let faults = run.report["faults"].as_array().unwrap();
    assert!(!faults.is_empty(), "no fault ran\n{log}");
    for f in faults {
        assert!(f["errors"].as_array().unwrap().is_empty(), "{f}\n{log}");
    }
    println!(
        "linearizable with --unsafe-local-reads: {} violation(s), e.g. {}",
        lin["violation_count"], lin["violations"][0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_run_with_read_index_passes() {
    assert_root("the stale-reads scenario");
    let run = run_keel_chaos(&ARGS, RUN_LIMIT).await;
    let log = &run.log;
    assert!(run.status.success(), "keel-chaos failed\n{log}");
    assert_eq!(run.report["passed"], true, "{log}");
    assert_eq!(checker(&run.report, "linearizable")["ok"], true, "{log}");
    assert_eq!(run.report["metrics"]["violations_total"], 0, "{log}");
}
