//! A leader kill between two `keelctl apply` runs changes nothing a user can see: the second run
//! reports every object unchanged (after at most a brief retry while the cell elects), the
//! objects keep their uid and resourceVersion on every replica, and a real change still applies.

use std::time::Duration;

use keel_chaos::{wait_until, ClusterOptions};
use serde_json::Value;

use crate::kubectl_support::{seed, Keelctl};
use crate::objects_support::wait_bootstrapped;
use crate::support::api_only_cell;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_kill_between_applies_changes_nothing() {
    // The object API alone: no controller changes the applied objects behind the test's back.
    let cluster = api_only_cell(ClusterOptions::default()).await;
    wait_bootstrapped(&cluster).await;
    let k = Keelctl::new(&cluster.addrs().join(","));
    let deploy = seed("seed_nginx_deployment.yaml");
    let service = seed("seed_my_service.yaml");
    let files = [
        "apply",
        "-f",
        deploy.to_str().unwrap(),
        "-f",
        service.to_str().unwrap(),
    ];
    let first = k.ok(&files);
    assert_eq!(
        first,
        "deployment.apps/nginx-deployment created\nservice/my-service created\n"
    );
    let before = k.ok(&["get", "deploy,svc", "-o", "json"]);

    let leader = cluster.leader_id().await.expect("leader");
    cluster.kill(leader).await.expect("kill the leader");

    let second = wait_until(
        Duration::from_secs(20),
        "apply after the leader kill",
        async || {
            let r = k.run(&files);
            anyhow::ensure!(r.ok, "apply failed: {}", r.stderr);
            Ok(r.stdout)
        },
    )
    .await
    .expect("apply succeeds on the new leader");
    assert_eq!(
        second,
        "deployment.apps/nginx-deployment unchanged\nservice/my-service unchanged\n"
    );
    for id in cluster.live_ids() {
        let kid = Keelctl::new(&cluster.addr(id).expect("addr"));
        let after = kid.ok(&["get", "deploy,svc", "-o", "json"]);
        let (b, a): (Value, Value) = (
            serde_json::from_str(&before).unwrap(),
            serde_json::from_str(&after).unwrap(),
        );
        assert_eq!(
            a["items"], b["items"],
            "replica {id} shows the objects unchanged"
        );
    }

    // A real change still applies, once.
    let changed = std::fs::read_to_string(&deploy)
        .unwrap()
        .replace("replicas: 3", "replicas: 5");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nginx.yaml");
    std::fs::write(&path, changed).unwrap();
    let third = k.ok(&["apply", "-f", path.to_str().unwrap()]);
    assert_eq!(third, "deployment.apps/nginx-deployment configured\n");
    let now: Value =
        serde_json::from_str(&k.ok(&["get", "deploy", "nginx-deployment", "-o", "json"])).unwrap();
    assert_eq!(now["spec"]["replicas"], 5);
    assert_eq!(now["metadata"]["generation"], 2);
    cluster.teardown();
}
