//! LocalCluster's failure paths, against stand-in `keel-server` scripts (no real binary needed):
//! a missing binary is named with the directories searched; a replica that exits at start makes
//! `start` fail fast, quoting its log.

use std::{os::unix::fs::PermissionsExt, path::Path, time::Duration};

use keel_chaos::{ClusterOptions, LocalCluster};

fn fake_server(dir: &Path, body: &str) {
    let path = dir.join("keel-server");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[tokio::test]
async fn missing_binary_names_where_it_looked() {
    let bin = tempfile::tempdir().unwrap();
    let opts = ClusterOptions {
        bin_dir: Some(bin.path().into()),
        ..Default::default()
    };
    let err = LocalCluster::start(opts).await.unwrap_err().to_string();
    assert!(err.contains("keel-server"), "{err}");
    assert!(err.contains(&bin.path().display().to_string()), "{err}");
}

#[tokio::test]
async fn a_replica_that_exits_fails_start_fast_with_its_log() {
    let bin = tempfile::tempdir().unwrap();
    fake_server(bin.path(), "echo \"fake server refusing: $*\" >&2; exit 3");
    let opts = ClusterOptions {
        bin_dir: Some(bin.path().into()),
        start_timeout: Duration::from_secs(20),
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let err = format!("{:#}", LocalCluster::start(opts).await.unwrap_err());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(err.contains("exited"), "{err}");
    assert!(err.contains("fake server refusing: --id 1"), "{err}");
    assert!(err.contains("--initial-cluster 1=127.0.0.1:"), "{err}");
}

#[tokio::test]
async fn a_replica_that_never_answers_times_out_and_is_stopped() {
    let bin = tempfile::tempdir().unwrap();
    // Records its pid, then sleeps without ever listening.
    fake_server(
        bin.path(),
        &format!("echo $$ >> {}/pids; exec sleep 60", bin.path().display()),
    );
    let opts = ClusterOptions {
        replicas: 2,
        bin_dir: Some(bin.path().into()),
        start_timeout: Duration::from_millis(500),
        ..Default::default()
    };
    let err = format!("{:#}", LocalCluster::start(opts).await.unwrap_err());
    assert!(err.contains("timed out"), "{err}");
    let pids = std::fs::read_to_string(bin.path().join("pids")).unwrap();
    let pids: Vec<&str> = pids.lines().collect();
    assert_eq!(pids.len(), 2);
    for pid in pids {
        assert!(
            !Path::new(&format!("/proc/{pid}/exe")).exists(),
            "pid {pid} left behind"
        );
    }
}
