//! `keelctl top pods` and `keelctl top nodes` against pods on real containerd, as root: a cell,
//! the local registry with the demo images and one keel-agent on its own containerd (helpers of
//! logs_exec.rs). A pod spinning a shell loop shows more than 100m CPU, a sleeping one about 0m;
//! the node shows its machine's usage as a share of its allocatable. Everything started here is
//! stopped by pid.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use keel_chaos::{wait_until, ClusterOptions};
use keel_node_agent::containerd::bridge_name;
use serde_json::json;

use crate::kubectl_support::Keelctl;
use crate::logs_exec::{
    free_port, registry_with_images, run_script, start_cri_agent, stop_agent, wait_running,
};
use crate::objects_support::*;
use crate::support::cell;

const NODE: &str = "top-node";

/// Millicores from a `top` cell (`250m`).
fn millicores(cell: &str) -> anyhow::Result<u64> {
    cell.strip_suffix('m')
        .and_then(|m| m.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("not millicores: {cell:?}"))
}

/// The cells of the line of `top` output whose first cell is `name`.
fn row<'a>(table: &'a str, name: &str) -> anyhow::Result<Vec<&'a str>> {
    table
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|cells| cells.first() == Some(&name))
        .ok_or_else(|| anyhow::anyhow!("no row {name} in:\n{table}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keelctl_top_shows_a_busy_pod_busy_and_an_idle_one_idle() {
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "containerd pods need root (CI runs as root)"
    );
    let started = Instant::now();
    run_script("install-node-deps.sh", &[]);
    // A pod CIDR range of its own: containerd tests may run side by side on this host.
    let cluster = cell(ClusterOptions {
        extra_args: vec!["--cluster-cidr".into(), "10.250.0.0/16".into()],
        ..Default::default()
    })
    .await;
    let port = free_port();
    let registry = format!("127.0.0.1:{port}");
    let _registry = registry_with_images(&cluster.root().join("registry"), port).await;
    wait_bootstrapped(&cluster).await;
    let root: PathBuf = cluster.root().join("agent");
    let mut agent = start_cri_agent(&cluster, NODE, &root, &registry);

    let app = format!("{registry}/keel/app:1");
    for (name, script) in [
        ("burner", "while :; do :; done"),
        ("idler", "exec sleep 3600"),
    ] {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": NODE, "terminationGracePeriodSeconds": 1, "containers": [{
                "name": "main", "image": app, "command": ["sh", "-c", script]}]}});
        create(&cluster, 1, &pod).await.expect("pod created");
    }
    wait_running(&cluster, "burner").await;
    wait_running(&cluster, "idler").await;
    let keelctl = Keelctl::new(&cluster.addrs().join(","));

    let pods = wait_until(
        Duration::from_secs(20),
        "top pods: burner > 100m, idler ~0m",
        async || {
            let r = keelctl.run(&["top", "pods"]);
            anyhow::ensure!(r.ok, "{r:?}");
            let burner = millicores(row(&r.stdout, "burner")?[1])?;
            let idler = millicores(row(&r.stdout, "idler")?[1])?;
            anyhow::ensure!(burner > 100 && idler <= 5, "{}", r.stdout);
            Ok(r.stdout)
        },
    )
    .await
    .expect("pod usage");
    println!("keelctl top pods:\n{pods}");
    assert!(pods.starts_with("NAME "), "{pods}");
    assert!(row(&pods, "idler").expect("idler")[2].ends_with("Mi"));

    let containers = keelctl.ok(&["top", "pods", "burner", "--containers"]);
    println!("keelctl top pods burner --containers:\n{containers}");
    let cells = row(&containers, "burner").expect("burner");
    assert_eq!(cells[1], "main", "{containers}");
    assert!(millicores(cells[2]).expect("cpu") > 100, "{containers}");

    let nodes = keelctl.ok(&["top", "nodes"]);
    println!("keelctl top nodes:\n{nodes}");
    assert!(
        nodes.starts_with("NAME ") && nodes.contains("CPU(cores)") && nodes.contains("MEMORY%"),
        "{nodes}"
    );
    let cells = row(&nodes, NODE).expect("the node's row");
    // The node is this whole machine, which runs at least the burner.
    assert!(millicores(cells[1]).expect("cpu") > 100, "{nodes}");
    assert!(
        cells[2].ends_with('%') && cells[4].ends_with('%'),
        "{nodes}"
    );
    let memory_mib: u64 = cells[3]
        .strip_suffix("Mi")
        .and_then(|m| m.parse().ok())
        .expect("memory in Mi");
    assert!(memory_mib > 0, "{nodes}");

    for name in ["burner", "idler"] {
        delete(&cluster, 1, "pods", "default", name)
            .await
            .expect("delete");
    }
    for name in ["burner", "idler"] {
        wait_until(
            Duration::from_secs(30),
            format!("{name} removed by its agent"),
            async || match get(&cluster, 1, "pods", "default", name).await {
                Err(s) if reason(&s) == "NotFound" => Ok(()),
                other => anyhow::bail!("still there: {:?}", other.map(|p| p["status"].clone())),
            },
        )
        .await
        .expect("pod removed");
    }
    stop_agent(&mut agent).await;
    let _ = std::process::Command::new("ip")
        .args(["link", "delete", &bridge_name(NODE)])
        .status();
    println!("took {:.1} s", started.elapsed().as_secs_f64());
}
