//! keelctl against a real cell: cluster status (table and JSON), store put/get/del/watch,
//! snapshot save, and clear failures.

use std::process::Command;

use keel_chaos::{find_binary, ClusterOptions};

use crate::support::cell;

fn keelctl(servers: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(find_binary("keelctl").unwrap())
        .arg("--servers")
        .arg(servers)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keelctl_reports_status_and_reads_and_writes_the_store() {
    let cluster = cell(ClusterOptions::default()).await;
    let leader = cluster.leader_id().await.unwrap();
    let servers = cluster.addrs().join(",");

    // Status as JSON: three voters, the leader everyone agrees on, every replica reachable.
    let (ok, out, err) = keelctl(&servers, &["cluster", "status", "-o", "json"]);
    assert!(ok, "{err}");
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["leader"], leader);
    assert_eq!(status["members"].as_array().unwrap().len(), 3);
    for replica in status["replicas"].as_array().unwrap() {
        assert!(
            replica["status"]["term"].as_u64().unwrap() >= 1,
            "{replica}"
        );
    }
    // And as a table.
    let (ok, out, _) = keelctl(&servers, &["cluster", "status"]);
    assert!(ok);
    assert!(
        out.contains("APPLIED") && out.contains(&format!("leader: {leader}")),
        "{out}"
    );

    // Store put / get / watch / del.
    let (ok, out, err) = keelctl(&servers, &["store", "put", "/k/a", "hello"]);
    assert!(ok && out.contains("revision"), "{out}{err}");
    let (ok, out, _) = keelctl(&servers, &["store", "get", "/k/", "--prefix", "-o", "json"]);
    assert!(ok);
    let got: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(got["kvs"][0]["value"], "hello");
    let (ok, out, _) = keelctl(
        &servers,
        &[
            "store", "watch", "/k/", "--prefix", "--rev", "1", "--count", "1",
        ],
    );
    assert!(ok && out.starts_with("PUT /k/a"), "{out}");
    let (ok, out, _) = keelctl(&servers, &["store", "del", "/k/a"]);
    assert!(ok && out.trim() == "1", "{out}");

    // Snapshot save writes a file the server can restore from.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.snap");
    let (ok, out, err) = keelctl(
        &servers,
        &["cluster", "snapshot", "save", file.to_str().unwrap()],
    );
    assert!(ok, "{out}{err}");
    assert!(std::fs::metadata(&file).unwrap().len() > 0);

    // Failures are clear and exit non-zero.
    let (ok, _, err) = keelctl(&servers, &["cluster", "promote", "9"]);
    assert!(!ok && err.contains("9"), "{err}");
    let (ok, _, err) = keelctl("127.0.0.1:1", &["store", "get", "/k"]);
    assert!(!ok && err.contains("no replica reachable"), "{err}");
}
