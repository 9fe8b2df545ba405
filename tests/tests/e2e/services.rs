//! Services on real nodes: a cell, two keel-agents on this machine, each with its own
//! containerd, bridge, pod CIDR and nft table (`--proxy-mode nftables`); busybox httpd pods on
//! both nodes say which pod answered. A ClusterIP Service and a NodePort Service balance over
//! the pods of both nodes — from the host to clusterIP:port and to 127.0.0.1:nodePort, and from
//! a pod to the clusterIP; a Service without ready endpoints and an unallocated address of the
//! service CIDR refuse connections at once; a deleted pod gets no more traffic; each agent
//! removes its table when it stops. The cell uses its own service and cluster CIDRs so a
//! concurrently running containerd test (default CIDRs) never shares an address with it.
//! Traffic stays on 127.0.0.0/8, the service CIDR and the pod CIDRs of the agents' bridges.
//! Everything started here is stopped by pid.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use keel_chaos::{find_binary, wait_until, ChildProcess, ClusterOptions, LocalCluster};
use keel_node_agent::containerd::bridge_name;
use keel_node_agent::proxy::table_name;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::objects_support::*;
use crate::support::cell;

const NODES: [&str; 2] = ["svc-node-a", "svc-node-b"];
const SERVICE_CIDR: &str = "10.112.0.0/16";
const CLUSTER_CIDR: &str = "10.245.0.0/16";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives in the workspace")
        .to_path_buf()
}

fn run_script(script: &str, args: &[&str]) {
    let status = Command::new("bash")
        .arg(repo_root().join("scripts").join(script))
        .args(args)
        .status()
        .expect("bash runs");
    assert!(
        status.success(),
        "scripts/{script} {args:?} failed: {status}"
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A local docker-registry on 127.0.0.1:`port` with its storage under `dir`.
fn start_registry(dir: &Path, port: u16) -> ChildProcess {
    let config = dir.join("registry.yml");
    std::fs::create_dir_all(dir.join("storage")).unwrap();
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.join("storage").display()
        ),
    )
    .unwrap();
    ChildProcess::spawn(
        "docker-registry",
        Path::new("/usr/bin/docker-registry"),
        &["serve".to_string(), config.display().to_string()],
        &[],
        &dir.join("registry.log"),
    )
    .expect("docker-registry starts")
}

/// A keel-agent on real containerd; SIGKILLed if the test ends without stopping it.
struct NodeAgent {
    child: Child,
    node: &'static str,
    root: PathBuf,
}

impl NodeAgent {
    fn start(cluster: &LocalCluster, node: &'static str, registry: &str) -> NodeAgent {
        let root = cluster.root().join(format!("agent-{node}"));
        let log = std::fs::File::create(cluster.root().join(format!("agent-{node}.log"))).unwrap();
        let child = Command::new(find_binary("keel-agent").expect("keel-agent is built"))
            .args(["--node-name", node, "--runtime", "cri", "--servers"])
            .arg(cluster.addrs().join(","))
            .arg("--root-dir")
            .arg(&root)
            .args(["--registry", registry])
            .args(["--proxy-mode", "nftables", "--service-cidr", SERVICE_CIDR])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("keel-agent starts");
        NodeAgent { child, node, root }
    }

    /// SIGTERM, then waits for the agent to exit.
    async fn stop(&mut self) {
        // SAFETY: kill(2) on our own child, not reaped until try_wait sees it exit.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        wait_until(
            Duration::from_secs(30),
            format!("agent {} exits", self.node),
            async || match self.child.try_wait()? {
                Some(status) => Ok(status),
                None => anyhow::bail!("still running"),
            },
        )
        .await
        .expect("the agent stops");
    }
}

impl Drop for NodeAgent {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
            // A killed agent leaves its table: remove it (ours only, by name).
            let _ = Command::new("nft")
                .args(["delete", "table", "ip", &table_name(self.node)])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// The text of the agent's nft table, or None when it does not exist.
fn nft_table(node: &str) -> Option<String> {
    let out = Command::new("nft")
        .args(["list", "table", "ip", &table_name(node)])
        .stderr(Stdio::null())
        .output()
        .expect("nft runs");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).to_string())
}

/// The host's nft ruleset, routes and conntrack entries, for a failure message.
fn diagnostics() -> String {
    let run = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
            .unwrap_or_else(|e| format!("{cmd}: {e}"))
    };
    format!(
        "--- nft list ruleset\n{}\n--- ip route\n{}\n--- conntrack\n{}",
        run("nft", &["list", "ruleset"]),
        run("ip", &["route"]),
        std::fs::read_to_string("/proc/net/nf_conntrack").unwrap_or_default()
    )
}

/// GET / over HTTP/1.0 from `addr`; the body.
async fn http_get(addr: &str) -> anyhow::Result<String> {
    let mut s = tokio::time::timeout(Duration::from_secs(3), tokio::net::TcpStream::connect(addr))
        .await??;
    s.write_all(b"GET / HTTP/1.0\r\nHost: keel\r\n\r\n").await?;
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut buf)).await??;
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow::anyhow!("no HTTP response: {text:?}"))?;
    anyhow::ensure!(
        head.starts_with("HTTP/1.") && head.contains(" 200 "),
        "{head}"
    );
    Ok(body.trim().to_string())
}

/// `n` GETs to `addr`, every one answered; the set of answers.
async fn answers(addr: &str, n: usize) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for i in 0..n {
        let body = match http_get(addr).await {
            Ok(body) => body,
            Err(e) => panic!("GET #{i} to {addr}: {e:#}\n{}", diagnostics()),
        };
        seen.insert(body);
    }
    seen
}

/// Connecting to `addr` is refused at once (a reject rule, not a timeout or a leak).
async fn assert_refused(addr: &str) {
    let r =
        tokio::time::timeout(Duration::from_secs(3), tokio::net::TcpStream::connect(addr)).await;
    match r {
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
        other => panic!("{addr}: expected a refused connection, got {other:?}"),
    }
}

fn httpd_pod(name: &str, node: &str, registry: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1, "containers": [{
            "name": "httpd", "image": format!("{registry}/keel/app:1"),
            "command": ["sh", "-c",
                "mkdir -p /www && echo \"$POD_NAME on $NODE_NAME\" > /www/index.html && exec httpd -f -p 8080 -h /www"],
            "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
            "ports": [{"name": "http", "containerPort": 8080}]}]}})
}

fn is_ready(p: &Value) -> bool {
    p["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// The ready addresses of Endpoints `name`.
async fn ready_ips(cluster: &LocalCluster, name: &str) -> anyhow::Result<BTreeSet<String>> {
    // Replica 2 lives throughout (replica 1 is killed in phase 7).
    let e = get(cluster, 2, "endpoints", "default", name).await?;
    Ok(e["subsets"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["addresses"].as_array().into_iter().flatten())
        .filter_map(|a| a["ip"].as_str().map(str::to_string))
        .collect())
}

/// Waits until Endpoints `name` lists exactly `ips` and every agent's table DNATs to exactly
/// those of them on `port` (and no other pod IP of the test).
async fn wait_programmed(
    cluster: &LocalCluster,
    name: &str,
    ips: &BTreeSet<String>,
    all_ips: &BTreeSet<String>,
) {
    wait_until(
        Duration::from_secs(30),
        format!("Endpoints {name} = {ips:?} in every agent's table"),
        async || {
            let ready = ready_ips(cluster, name).await?;
            anyhow::ensure!(&ready == ips, "Endpoints {name} now: {ready:?}");
            for node in NODES {
                let table = nft_table(node).ok_or_else(|| anyhow::anyhow!("no table of {node}"))?;
                for ip in all_ips {
                    let dnat = format!("dnat to {ip}:8080");
                    anyhow::ensure!(
                        table.contains(&dnat) == ips.contains(ip),
                        "{node}'s table: {dnat} present = {}",
                        table.contains(&dnat)
                    );
                }
            }
            Ok(())
        },
    )
    .await
    .expect("endpoints programmed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_ip_and_node_port_services_balance_over_pods_on_two_agents() {
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "containerd pods and nft tables need root (CI runs as root)"
    );
    // Phase 1: packages, a cell with its own CIDRs, images in a local registry.
    run_script("install-node-deps.sh", &[]);
    let cluster = cell(ClusterOptions {
        extra_args: vec![
            "--service-cidr".into(),
            SERVICE_CIDR.into(),
            "--cluster-cidr".into(),
            CLUSTER_CIDR.into(),
        ],
        ..Default::default()
    })
    .await;
    let registry_port = free_port();
    let registry = format!("127.0.0.1:{registry_port}");
    let _registry = start_registry(&cluster.root().join("registry"), registry_port);
    wait_until(
        Duration::from_secs(20),
        "the registry listens",
        async || Ok(tokio::net::TcpStream::connect(&registry).await?),
    )
    .await
    .expect("registry up");
    run_script("build-images.sh", &["push", &registry]);
    wait_bootstrapped(&cluster).await;

    // Phase 2: two agents, each with its own containerd, bridge, pod CIDR and table.
    let mut agents: Vec<NodeAgent> = NODES
        .iter()
        .map(|n| NodeAgent::start(&cluster, n, &registry))
        .collect();
    for node in NODES {
        wait_until(
            Duration::from_secs(60),
            format!("{node} registered and its table exists"),
            async || {
                let n = get(&cluster, 1, "nodes", "", node).await?;
                anyhow::ensure!(n["spec"]["podCIDR"].is_string(), "no pod CIDR: {n}");
                anyhow::ensure!(nft_table(node).is_some(), "no table yet");
                Ok(())
            },
        )
        .await
        .expect("node up");
    }

    // Phase 3: pods on both nodes, a ClusterIP, a NodePort and an endpoint-less Service.
    let pods = [
        ("web-a", NODES[0]),
        ("web-b1", NODES[1]),
        ("web-b2", NODES[1]),
    ];
    for (name, node) in pods {
        create(&cluster, 2, &httpd_pod(name, node, &registry))
            .await
            .expect("pod created");
    }
    let svc = |name: &str, type_: &str, selector: &str| {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"type": type_, "selector": {"app": selector},
                "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
    };
    let web = create(&cluster, 1, &svc("web", "ClusterIP", "web"))
        .await
        .expect("ClusterIP service");
    let web_np = create(&cluster, 3, &svc("web-np", "NodePort", "web"))
        .await
        .expect("NodePort service");
    let empty = create(&cluster, 2, &svc("empty", "ClusterIP", "nobody"))
        .await
        .expect("endpoint-less service");
    let cluster_ip = web["spec"]["clusterIP"].as_str().unwrap().to_string();
    let node_port = web_np["spec"]["ports"][0]["nodePort"].as_i64().unwrap();
    let empty_ip = empty["spec"]["clusterIP"].as_str().unwrap().to_string();
    assert!(
        cluster_ip.starts_with("10.112."),
        "{cluster_ip} in {SERVICE_CIDR}"
    );

    let mut ip_of = std::collections::BTreeMap::new();
    for (name, node) in pods {
        let p = wait_until(
            Duration::from_secs(60),
            format!("{name} Ready"),
            async || {
                let p = get(&cluster, 3, "pods", "default", name).await?;
                anyhow::ensure!(
                    is_ready(&p) && p["status"]["podIP"].is_string(),
                    "{}",
                    p["status"]
                );
                Ok(p)
            },
        )
        .await
        .expect("pod ready");
        let ip = p["status"]["podIP"].as_str().unwrap().to_string();
        assert!(ip.starts_with("10.245."), "{name}: {ip} in {CLUSTER_CIDR}");
        ip_of.insert(name, (ip, node));
    }
    let all_ips: BTreeSet<String> = ip_of.values().map(|(ip, _)| ip.clone()).collect();
    wait_programmed(&cluster, "web", &all_ips, &all_ips).await;
    wait_programmed(&cluster, "web-np", &all_ips, &all_ips).await;

    // Phase 4: from the host, both Services reach the pods of both nodes.
    let everyone: BTreeSet<String> = pods
        .iter()
        .map(|(name, node)| format!("{name} on {node}"))
        .collect();
    let via_cluster_ip = answers(&format!("{cluster_ip}:80"), 60).await;
    assert_eq!(via_cluster_ip, everyone, "60 GETs to the clusterIP");
    let via_node_port = answers(&format!("127.0.0.1:{node_port}"), 60).await;
    assert_eq!(via_node_port, everyone, "60 GETs to 127.0.0.1:nodePort");

    // Phase 5: no endpoints, or no Service at all: refused at once, never routed out.
    assert_refused(&format!("{empty_ip}:80")).await;
    assert_refused("10.112.255.254:80").await;

    // Phase 6: a pod on node a reaches the clusterIP (pod → Service → pods on both bridges).
    let client = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client"},
        "spec": {"nodeName": NODES[0], "terminationGracePeriodSeconds": 1, "containers": [{
            "name": "wget", "image": format!("{registry}/keel/app:1"),
            "command": ["sh", "-c", format!(
                "for i in $(seq 1 40); do wget -q -O - http://{cluster_ip}/ || echo FAILED; done; echo DONE; exec sleep 3600")]}]}});
    // (busybox 1.35's `wget -T` segfaults: no timeout flag; the wait below bounds the loop.)
    let client = create(&cluster, 1, &client).await.expect("client pod");
    let client_uid = client["metadata"]["uid"].as_str().unwrap().to_string();
    let log_dir = agents[0]
        .root
        .join("pods")
        .join(format!("default_client_{client_uid}"));
    let log = wait_until(
        Duration::from_secs(90),
        "the client pod's 40 GETs",
        async || {
            let text = read_logs(&log_dir);
            anyhow::ensure!(text.contains("DONE"), "log so far: {text:?}");
            Ok(text)
        },
    )
    .await
    .expect("client done");
    assert!(
        !log.contains("FAILED"),
        "every GET from the pod succeeded:\n{log}"
    );
    let from_pod: BTreeSet<String> = everyone
        .iter()
        .filter(|w| log.contains(w.as_str()))
        .cloned()
        .collect();
    assert_eq!(
        from_pod, everyone,
        "the pod reached pods on both nodes:\n{log}"
    );
    delete(&cluster, 1, "pods", "default", "client")
        .await
        .expect("delete client");

    // Phase 7: the replica the agents watch from (the first in their list) dies; they resume
    // on another, and a deleted pod gets no more traffic.
    cluster.kill(1).await.expect("kill replica 1");
    delete(&cluster, 3, "pods", "default", "web-b2")
        .await
        .expect("delete web-b2");
    let left: BTreeSet<String> = ["web-a", "web-b1"]
        .iter()
        .map(|n| ip_of[n].0.clone())
        .collect();
    wait_programmed(&cluster, "web", &left, &all_ips).await;
    wait_programmed(&cluster, "web-np", &left, &all_ips).await;
    let remaining: BTreeSet<String> = ["web-a", "web-b1"]
        .iter()
        .map(|n| format!("{n} on {}", ip_of[n].1))
        .collect();
    assert_eq!(
        answers(&format!("{cluster_ip}:80"), 40).await,
        remaining,
        "the clusterIP after deleting web-b2"
    );
    assert_eq!(
        answers(&format!("127.0.0.1:{node_port}"), 40).await,
        remaining,
        "the nodePort after deleting web-b2"
    );

    for node in NODES {
        let log = std::fs::read_to_string(cluster.root().join(format!("agent-{node}.log")))
            .unwrap_or_default();
        let watches = log
            .matches("service proxy: watching Services and Endpoints")
            .count();
        assert!(
            watches >= 2,
            "{node}'s proxy watched again after replica 1 died ({watches} watches)"
        );
    }

    // Phase 8: an agent that stops removes its own table, and only its own.
    agents[1].stop().await;
    assert!(
        nft_table(NODES[1]).is_none(),
        "{}'s table is gone",
        NODES[1]
    );
    assert!(nft_table(NODES[0]).is_some(), "{}'s table stays", NODES[0]);
    assert_eq!(
        answers(&format!("{cluster_ip}:80"), 20).await,
        remaining,
        "node a's table alone still serves"
    );
    // Node b's agent comes back (adopting its pods, its table again), so that every pod is
    // removed by its agent before the agents stop: no container outlives the test.
    agents[1] = NodeAgent::start(&cluster, NODES[1], &registry);
    wait_until(
        Duration::from_secs(30),
        format!("{}'s table again", NODES[1]),
        async || nft_table(NODES[1]).ok_or_else(|| anyhow::anyhow!("no table yet")),
    )
    .await
    .expect("table back");
    for name in ["web-a", "web-b1", "web-b2", "client"] {
        let _ = delete(&cluster, 3, "pods", "default", name).await;
    }
    for name in ["web-a", "web-b1", "web-b2", "client"] {
        wait_until(
            Duration::from_secs(30),
            format!("{name} removed by its agent"),
            async || match get(&cluster, 2, "pods", "default", name).await {
                Err(s) if reason(&s) == "NotFound" => Ok(()),
                _ => anyhow::bail!("still there"),
            },
        )
        .await
        .expect("pod removed by its agent");
    }
    agents[1].stop().await;
    agents[0].stop().await;
    for node in NODES {
        assert!(nft_table(node).is_none(), "{node}'s table is gone");
    }
    drop(agents);
    for node in NODES {
        let _ = Command::new("ip")
            .args(["link", "delete", &bridge_name(node)])
            .status();
    }
    cluster.teardown();
}

/// Every CRI log file under `dir`, concatenated.
fn read_logs(dir: &Path) -> String {
    let mut text = String::new();
    let Ok(containers) = std::fs::read_dir(dir) else {
        return text;
    };
    for c in containers.flatten() {
        for f in std::fs::read_dir(c.path()).into_iter().flatten().flatten() {
            text.push_str(&std::fs::read_to_string(f.path()).unwrap_or_default());
        }
    }
    text
}
