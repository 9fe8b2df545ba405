//! `keelctl logs` and `keelctl exec` against a pod on real containerd, as root: a cell, a local
//! registry with the demo images, and one keel-agent with its own containerd (as in
//! containerd_pods.rs). The agent reports its API port in its Node; keelctl finds the pod's node
//! and calls that agent. A pod writes known lines to stdout and stderr, one of them longer than
//! containerd's 16 KiB record limit (so the CRI log file holds partial records that must be
//! joined): `logs` prints them as the container wrote them, `--tail` keeps the last ones, `-f`
//! follows a line the container writes later (once an exec creates the file it waits for), `--previous` shows a crashed run's output; `exec` prints a
//! command's output, propagates its exit code with kubectl's message, and refuses a container
//! the pod does not have. Everything started here is stopped by pid.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use keel_chaos::{find_binary, wait_until, ChildProcess, ClusterOptions, LocalCluster};
use keel_node_agent::containerd::bridge_name;
use serde_json::json;

use crate::agent_support::Agent;
use crate::kubectl_support::Keelctl;
use crate::objects_support::*;
use crate::support::cell;

const NODE: &str = "logs-node";

pub(crate) fn run_script(script: &str, args: &[&str]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let status = Command::new("bash")
        .arg(root.join("scripts").join(script))
        .args(args)
        .status()
        .expect("bash runs");
    assert!(status.success(), "scripts/{script} {args:?}: {status}");
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// docker-registry on 127.0.0.1:`port`, storage under `dir`, with the demo images pushed.
pub(crate) async fn registry_with_images(dir: &Path, port: u16) -> ChildProcess {
    std::fs::create_dir_all(dir.join("storage")).unwrap();
    let config = dir.join("registry.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.join("storage").display()
        ),
    )
    .unwrap();
    let registry = ChildProcess::spawn(
        "docker-registry",
        Path::new("/usr/bin/docker-registry"),
        &["serve".to_string(), config.display().to_string()],
        &[],
        &dir.join("registry.log"),
    )
    .expect("docker-registry starts");
    let addr = format!("127.0.0.1:{port}");
    wait_until(
        Duration::from_secs(20),
        "the registry listens",
        async || Ok(tokio::net::TcpStream::connect(&addr).await?),
    )
    .await
    .expect("registry up");
    run_script("build-images.sh", &["push", &addr]);
    registry
}

/// keel-agent for node `node` on its own containerd under `root`, logging to
/// `<cluster>/agent-<node>.log`.
pub(crate) fn start_cri_agent(
    cluster: &LocalCluster,
    node: &str,
    root: &Path,
    registry: &str,
) -> Agent {
    let log = std::fs::File::create(cluster.root().join(format!("agent-{node}.log"))).unwrap();
    let child = Command::new(find_binary("keel-agent").expect("keel-agent is built"))
        .args(["--node-name", node, "--runtime", "cri", "--servers"])
        .arg(cluster.addrs().join(","))
        .arg("--root-dir")
        .arg(root)
        .args(["--registry", registry])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("keel-agent starts");
    Agent(child)
}

pub(crate) async fn wait_running(cluster: &LocalCluster, name: &str) {
    wait_until(
        Duration::from_secs(60),
        format!("pod {name} Running"),
        async || {
            let p = get(cluster, 1, "pods", "default", name).await?;
            anyhow::ensure!(
                p["status"]["phase"] == "Running",
                "status now: {}",
                p["status"]
            );
            Ok(())
        },
    )
    .await
    .expect("pod runs");
}

/// SIGTERM to the agent (it stops its containerd), then waits for it to exit.
pub(crate) async fn stop_agent(agent: &mut Agent) {
    // SAFETY: kill(2) on our own child, not reaped before try_wait sees it exit.
    unsafe { libc::kill(agent.0.id() as libc::pid_t, libc::SIGTERM) };
    wait_until(
        Duration::from_secs(20),
        "keel-agent exits",
        async || match agent.0.try_wait()? {
            Some(s) => Ok(s),
            None => anyhow::bail!("still running"),
        },
    )
    .await
    .expect("the agent stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keelctl_logs_and_exec_reach_the_pods_agent() {
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "containerd pods need root (CI runs as root)"
    );
    // Phase 1: packages, a cell, images in a local registry, one agent on its own containerd.
    run_script("install-node-deps.sh", &[]);
    // A pod CIDR range of its own: containerd tests may run side by side on this host.
    let cluster = cell(ClusterOptions {
        extra_args: vec!["--cluster-cidr".into(), "10.248.0.0/16".into()],
        ..Default::default()
    })
    .await;
    let port = free_port();
    let registry = format!("127.0.0.1:{port}");
    let _registry = registry_with_images(&cluster.root().join("registry"), port).await;
    wait_bootstrapped(&cluster).await;
    let root: PathBuf = cluster.root().join("agent");
    let mut agent = start_cri_agent(&cluster, NODE, &root, &registry);
    wait_until(
        Duration::from_secs(30),
        "the node registered with its agent's port",
        async || {
            let n = get(&cluster, 1, "nodes", "", NODE).await?;
            let port = &n["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"];
            anyhow::ensure!(
                n["spec"]["podCIDR"].is_string() && port.as_u64().is_some_and(|p| p > 0),
                "node now: {n}"
            );
            Ok(())
        },
    )
    .await
    .expect("the node reports its agent's port");

    // Phase 2: a pod writes known lines (one past containerd's 16 KiB record size), then sleeps.
    let long = format!("{}7", "0".repeat(19_999));
    let app = format!("{registry}/keel/app:1");
    let chatty = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "chatty"},
        "spec": {"nodeName": NODE, "terminationGracePeriodSeconds": 1, "containers": [{
            "name": "talker", "image": app, "command": ["sh", "-c",
                "echo 'to stderr' >&2; sleep 1; echo 'line 1'; echo 'line 2'; echo 'line 3'; printf '%020000d\\n' 7; while [ ! -e /tmp/more ]; do sleep 1; done; echo 'appended later'; exec sleep 3600"]}]}});
    let crashy = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "crashy"},
        "spec": {"nodeName": NODE, "terminationGracePeriodSeconds": 1, "containers": [{
            "name": "c", "image": app, "command": ["sh", "-c", "echo \"bye from $(hostname)\"; exit 1"]}]}});
    create(&cluster, 2, &chatty).await.expect("chatty created");
    create(&cluster, 2, &crashy).await.expect("crashy created");
    wait_running(&cluster, "chatty").await;
    let keelctl = Keelctl::new(&cluster.addrs().join(","));

    // Phase 3: logs — the whole log, the tail, a container the pod does not have.
    let expected = format!("to stderr\nline 1\nline 2\nline 3\n{long}\n");
    wait_until(
        Duration::from_secs(20),
        "keelctl logs chatty prints every line",
        async || {
            let r = keelctl.run(&["logs", "chatty"]);
            anyhow::ensure!(
                r.ok && r.stdout == expected,
                "{:?} {} bytes: {:.200}{}",
                r.code,
                r.stdout.len(),
                r.stdout,
                r.stderr
            );
            Ok(())
        },
    )
    .await
    .expect("logs");
    assert_eq!(
        keelctl.ok(&["logs", "pod/chatty", "-c", "talker", "--tail", "2"]),
        format!("line 3\n{long}\n")
    );
    assert_eq!(keelctl.ok(&["logs", "chatty", "--tail=0"]), "");
    assert!(
        keelctl
            .fails(&["logs", "chatty", "-c", "nope"])
            .contains("container nope is not valid for pod chatty; choose one of: [talker]"),
        "a missing container is named"
    );
    assert!(
        keelctl
            .fails(&["logs", "chatty", "--previous"])
            .contains("previous terminated container \"talker\" in pod \"chatty\" not found"),
        "no previous run yet"
    );

    // Phase 4: exec — output, the exit code passed through, a refused container.
    assert_eq!(
        keelctl.ok(&["exec", "chatty", "--", "cat", "/etc/hostname"]),
        "chatty\n"
    );
    let r = keelctl.run(&[
        "exec",
        "chatty",
        "--",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 7",
    ]);
    assert_eq!(r.code, Some(7), "{r:?}");
    assert_eq!(r.stdout, "out\n");
    assert_eq!(r.stderr, "err\ncommand terminated with exit code 7\n");
    assert!(keelctl
        .fails(&["exec", "chatty", "-c", "nope", "--", "true"])
        .contains("container nope is not valid for pod chatty"));

    // Phase 5: logs -f prints a line written after it started, then is stopped.
    let mut follow = keelctl.command(&["logs", "-f", "chatty", "--tail", "1"]);
    follow.stdout(Stdio::piped()).stderr(Stdio::null());
    let mut follower = follow.spawn().expect("keelctl logs -f starts");
    let stdout = follower.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the tail line");
    assert_eq!(first, long, "--tail 1 starts with the last line");
    keelctl.ok(&["exec", "chatty", "--", "sh", "-c", ": > /tmp/more"]);
    let next = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("a followed line");
    assert_eq!(next, "appended later");
    let _ = follower.kill();
    let _ = follower.wait();

    // Phase 6: --previous shows the crashed run's output.
    wait_until(Duration::from_secs(30), "crashy restarted", async || {
        let p = get(&cluster, 1, "pods", "default", "crashy").await?;
        let n = p["status"]["containerStatuses"][0]["restartCount"]
            .as_i64()
            .unwrap_or(0);
        anyhow::ensure!(n >= 1, "restartCount {n}");
        Ok(())
    })
    .await
    .expect("crashy restarts");
    assert_eq!(
        keelctl.ok(&["logs", "crashy", "--previous"]),
        "bye from crashy\n"
    );

    // Phase 7: the pods are deleted and gone before the agent stops (no container outlives it).
    for name in ["chatty", "crashy"] {
        delete(&cluster, 1, "pods", "default", name)
            .await
            .expect("delete");
    }
    for name in ["chatty", "crashy"] {
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
    // The node's bridge holds the gateway of a pod CIDR other cells hand out too.
    let _ = Command::new("ip")
        .args(["link", "delete", &bridge_name(NODE)])
        .status();
}
