//! Bad input gets a clear error naming what was wrong, and nothing already stored is lost:
//! oversized values, NUL keys, unknown keys in compares, unknown compare targets, and data dirs
//! that are missing, foreign, another replica's or corrupt.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use keel_chaos::{find_binary, free_ports, wait_until, ClusterOptions};
use keel_proto::store as pb;

use crate::support::{cell, get, put, value_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_errors_and_lose_nothing() {
    let cluster = cell(ClusterOptions::default()).await;
    let via = crate::support::follower(&cluster).await;
    put(&cluster, via, "/b/k", "good").await.unwrap();
    let mut store = cluster.store_client(via).unwrap();

    // An oversized value.
    let big = vec![b'x'; 1536 * 1024 + 1];
    let err = store
        .put(pb::PutRequest {
            key: "/b/k".into(),
            value: big,
            prev_kv: false,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(err.message().contains("1.5 MiB"), "{}", err.message());

    // A key with a NUL byte.
    let err = store
        .put(pb::PutRequest {
            key: b"/b/\0".to_vec(),
            value: b"v".to_vec(),
            prev_kv: false,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(err.message().contains("NUL"), "{}", err.message());

    // A compare on a key that does not exist: the txn fails and says why; nothing is written.
    let txn = pb::TxnRequest {
        compare: vec![pb::Compare {
            key: "/b/missing".into(),
            target: 0,
            result: 0,
            mod_revision: 5,
            ..Default::default()
        }],
        success: vec![pb::RequestOp {
            request: Some(pb::request_op::Request::Put(pb::PutRequest {
                key: "/b/k".into(),
                value: "bad".into(),
                prev_kv: false,
            })),
        }],
        failure: vec![],
    };
    let resp = store.txn(txn).await.unwrap().into_inner();
    assert!(!resp.succeeded);
    assert!(
        resp.failed_compares[0].contains("does not exist"),
        "{:?}",
        resp.failed_compares
    );
    assert!(
        resp.failed_compares[0].contains("/b/missing"),
        "{:?}",
        resp.failed_compares
    );

    // An unknown compare target names the field.
    let txn = pb::TxnRequest {
        compare: vec![pb::Compare {
            key: "/b/k".into(),
            target: 42,
            ..Default::default()
        }],
        success: vec![],
        failure: vec![],
    };
    let err = store.txn(txn).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(
        err.message().contains("compare[0].target"),
        "{}",
        err.message()
    );

    // Nothing stored was lost or changed.
    let kv = get(&cluster, via, "/b/k", false).await.unwrap();
    assert_eq!(value_of(&kv).as_deref(), Some("good"));
    assert_eq!(kv.unwrap().version, 1);
}

/// Runs keel-server to completion (it must exit by itself) and returns (exit code, stderr).
fn run_server(args: &[&str]) -> (Option<i32>, String) {
    let bin = find_binary("keel-server").unwrap();
    let mut child = Command::new(bin)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            return (
                status.code(),
                String::from_utf8_lossy(&out.stderr).to_string(),
            );
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("keel-server {args:?} did not exit by itself");
        }
        std::thread::park_timeout(Duration::from_millis(50));
    }
}

fn dir_arg(p: &Path) -> String {
    p.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_data_dirs_and_flags_are_refused_with_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let ports = free_ports(2).unwrap();
    let (a, b) = (
        format!("127.0.0.1:{}", ports[0]),
        format!("127.0.0.1:{}", ports[1]),
    );

    // Missing data dir and no bootstrap flags.
    let missing = tmp.path().join("missing");
    let (code, err) = run_server(&[
        "--id",
        "1",
        "--data-dir",
        &dir_arg(&missing),
        "--listen",
        &a,
    ]);
    assert_ne!(code, Some(0));
    assert!(err.contains("does not exist"), "{err}");

    // A foreign (non-empty, non-Keel) directory is never touched.
    let foreign = tmp.path().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("important.txt"), "keep me").unwrap();
    let cluster_flag = format!("1={a}");
    let (code, err) = run_server(&[
        "--id",
        "1",
        "--data-dir",
        &dir_arg(&foreign),
        "--listen",
        &a,
        "--initial-cluster",
        &cluster_flag,
    ]);
    assert_ne!(code, Some(0));
    assert!(err.contains("not a Keel data dir"), "{err}");
    assert_eq!(
        std::fs::read_to_string(foreign.join("important.txt")).unwrap(),
        "keep me"
    );

    // The wrong --id for the address --initial-cluster gives it.
    let two = format!("1={a},2={b}");
    let (code, err) = run_server(&[
        "--id",
        "2",
        "--data-dir",
        &dir_arg(&tmp.path().join("x")),
        "--listen",
        &a,
        "--initial-cluster",
        &two,
    ]);
    assert_ne!(code, Some(0));
    assert!(err.contains("wrong --id"), "{err}");

    // A real replica's data dir: create one (a one-replica cell), stop it.
    let real = tmp.path().join("real");
    let bin = find_binary("keel-server").unwrap();
    let mut child = Command::new(&bin)
        .args([
            "--id",
            "1",
            "--data-dir",
            &dir_arg(&real),
            "--listen",
            &a,
            "--initial-cluster",
            &cluster_flag,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let identity = real.join("KEEL_REPLICA");
    wait_until(
        Duration::from_secs(20),
        "the replica to write its identity",
        async || {
            anyhow::ensure!(identity.exists(), "no identity file yet");
            Ok(())
        },
    )
    .await
    .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();

    // Started as another replica: refused.
    let (code, err) = run_server(&["--id", "2", "--data-dir", &dir_arg(&real), "--listen", &a]);
    assert_ne!(code, Some(0));
    assert!(err.contains("belongs to replica 1, not replica 2"), "{err}");

    // Corrupt RocksDB metadata: refused, not re-initialised (even with bootstrap flags).
    std::fs::write(real.join("db").join("CURRENT"), "MANIFEST-999999\n").unwrap();
    let (code, err) = run_server(&[
        "--id",
        "1",
        "--data-dir",
        &dir_arg(&real),
        "--listen",
        &a,
        "--initial-cluster",
        &cluster_flag,
    ]);
    assert_ne!(code, Some(0));
    assert!(err.contains("corrupt"), "{err}");
    assert_eq!(
        std::fs::read_to_string(real.join("db").join("CURRENT")).unwrap(),
        "MANIFEST-999999\n"
    );
}
