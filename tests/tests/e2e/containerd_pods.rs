//! keel-agent on real containerd through CRI, as root on this machine: the node's packages are
//! installed (scripts/install-node-deps.sh), the demo images built from busybox-static and pushed
//! to a local registry this test starts (scripts/build-images.sh push), then one agent with its
//! own supervised containerd runs a bound pod — busybox httpd from the local registry — to
//! Running/Ready with a pod IP from its node's CIDR; the pod serves HTTP on its pod IP and on its
//! hostPort on 127.0.0.1; a crashing container shows CrashLoopBackOff with its exit code and
//! restart count; a missing image shows ErrImagePull with the registry's reason; a container
//! growing past its memory limit is OOMKilled (137) and its pod Failed; a SIGKILLed and
//! restarted agent adopts the running pod (same container, no restart); deleting the pods removes
//! their sandboxes (checked through CRI ListPodSandbox); stopping the agent stops its containerd.
//! Everything started here is stopped by pid.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use keel_chaos::{find_binary, wait_until, ChildProcess, ClusterOptions, LocalCluster};
use keel_node_agent::containerd::bridge_name;
use keel_node_agent::runtime::cri::managed_selector;
use keel_node_agent::runtime::cri_client::CriClient;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::objects_support::*;
use crate::support::cell;

const NODE: &str = "cri-node";

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

/// The agent process; SIGKILLed if the test ends without stopping it (its containerd then gets
/// SIGTERM from the kernel: it was started with PR_SET_PDEATHSIG).
struct AgentProcess(Child);

impl AgentProcess {
    /// SIGTERM, then waits for the agent to exit.
    async fn stop(&mut self) {
        self.signal_and_wait(libc::SIGTERM).await;
    }

    /// SIGKILL (no chance to stop anything), then waits for the agent to exit.
    async fn kill(&mut self) {
        self.signal_and_wait(libc::SIGKILL).await;
    }

    async fn signal_and_wait(&mut self, signal: libc::c_int) {
        // SAFETY: kill(2) on our own child, which is not reaped until try_wait sees it exit.
        unsafe { libc::kill(self.0.id() as libc::pid_t, signal) };
        wait_until(
            Duration::from_secs(20),
            format!("keel-agent exits on signal {signal}"),
            async || match self.0.try_wait()? {
                Some(status) => Ok(status),
                None => anyhow::bail!("still running"),
            },
        )
        .await
        .expect("the agent stops");
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn start_cri_agent(cluster: &LocalCluster, root: &Path, registry: &str) -> AgentProcess {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(cluster.root().join("agent-cri.log"))
        .unwrap();
    let child = Command::new(find_binary("keel-agent").expect("keel-agent is built"))
        .args(["--node-name", NODE, "--runtime", "cri", "--servers"])
        .arg(cluster.addrs().join(","))
        .arg("--root-dir")
        .arg(root)
        .args(["--registry", registry])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("keel-agent starts");
    AgentProcess(child)
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
    Ok(body.to_string())
}

/// Whether a process named by pid runs with `arg` on its command line.
fn runs_with(pid: u32, arg: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|cmd| cmd.split(|b| *b == 0).any(|a| a == arg.as_bytes()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_run_on_the_agents_own_containerd_through_cri() {
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "containerd pods need root (CI runs as root)"
    );
    // Phase 1: packages, images, a local registry.
    run_script("install-node-deps.sh", &[]);
    // A pod CIDR range of its own: containerd tests may run side by side on this host.
    let cluster = cell(ClusterOptions {
        extra_args: vec!["--cluster-cidr".into(), "10.246.0.0/16".into()],
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

    // Phase 2: a cell and one agent with its own containerd.
    wait_bootstrapped(&cluster).await;
    let root = cluster.root().join("agent-cri");
    let mut agent = start_cri_agent(&cluster, &root, &registry);
    let node = wait_until(Duration::from_secs(30), "the node registered", async || {
        let n = get(&cluster, 1, "nodes", "", NODE).await?;
        anyhow::ensure!(n["spec"]["podCIDR"].is_string(), "no pod CIDR: {n}");
        Ok(n)
    })
    .await
    .expect("node");
    let cidr = node["spec"]["podCIDR"].as_str().unwrap().to_string();
    let socket = root.join("containerd/containerd.sock");
    let cri = CriClient::new(&socket);
    let version = cri
        .wait_ready(Duration::from_secs(30))
        .await
        .expect("the agent's containerd answers CRI");
    assert!(version.starts_with("containerd"), "{version}");
    let containerd_pid: u32 = std::fs::read_to_string(root.join("containerd/containerd.pid"))
        .expect("the agent records containerd's pid")
        .trim()
        .parse()
        .unwrap();
    let config = root.join("containerd/config.toml").display().to_string();
    assert!(
        runs_with(containerd_pid, &config),
        "containerd runs with the agent's config"
    );

    // Phase 3: a bound pod runs to Running/Ready with an IP from the node's CIDR.
    let host_port = free_port();
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web"},
        "spec": {"nodeName": NODE, "terminationGracePeriodSeconds": 2, "containers": [{
            "name": "httpd", "image": format!("{registry}/keel/app:1"),
            "command": ["sh", "-c",
                "mkdir -p /www && echo \"hello from $POD_NAME on $NODE_NAME\" > /www/index.html && exec httpd -f -p 8080 -h /www"],
            "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
            "ports": [{"containerPort": 8080, "hostPort": host_port}],
            "resources": {"limits": {"cpu": "200m", "memory": "64Mi"}}}]}});
    let created = create(&cluster, 2, &pod).await.expect("pod created");
    let uid = uid_of(&created);
    let running = wait_until(
        Duration::from_secs(60),
        "pod web Running and Ready",
        async || {
            let p = get(&cluster, 3, "pods", "default", "web").await?;
            let ready = p["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            });
            anyhow::ensure!(
                p["status"]["phase"] == "Running" && ready && p["status"]["podIP"].is_string(),
                "status now: {}",
                p["status"]
            );
            Ok(p)
        },
    )
    .await
    .expect("pod runs");
    let status = &running["status"];
    let pod_ip = status["podIP"].as_str().unwrap().to_string();
    let prefix = cidr.rsplit_once('.').unwrap().0;
    assert!(
        pod_ip.starts_with(&format!("{prefix}.")),
        "{pod_ip} in {cidr}"
    );
    let c = &status["containerStatuses"][0];
    assert!(
        c["containerID"]
            .as_str()
            .unwrap()
            .starts_with("containerd://"),
        "{c}"
    );
    assert!(c["imageID"].as_str().unwrap().contains("sha256:"), "{c}");
    assert_eq!(c["restartCount"], 0);

    // Phase 4: HTTP from the pod IP and from the hostPort on 127.0.0.1.
    let expected = format!("hello from web on {NODE}\n");
    for addr in [format!("{pod_ip}:8080"), format!("127.0.0.1:{host_port}")] {
        let body = wait_until(
            Duration::from_secs(15),
            format!("HTTP from {addr}"),
            async || http_get(&addr).await,
        )
        .await
        .expect("the pod answers");
        assert_eq!(body, expected, "from {addr}");
    }

    // Phase 5: a crashing container restarts with back-off; a missing image is ErrImagePull.
    let app = format!("{registry}/keel/app:1");
    let crash = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "crash"},
        "spec": {"nodeName": NODE, "terminationGracePeriodSeconds": 1, "containers": [{
            "name": "c", "image": app, "command": ["sh", "-c", "exit 3"]}]}});
    let missing = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "missing"},
        "spec": {"nodeName": NODE, "containers": [{
            "name": "c", "image": format!("{registry}/keel/nope:1")}]}});
    let crash_uid = uid_of(&create(&cluster, 1, &crash).await.expect("crash pod"));
    let missing_uid = uid_of(&create(&cluster, 2, &missing).await.expect("missing pod"));
    let looping = wait_until(
        Duration::from_secs(30),
        "crash in CrashLoopBackOff after a restart",
        async || {
            let p = get(&cluster, 3, "pods", "default", "crash").await?;
            let c = &p["status"]["containerStatuses"][0];
            anyhow::ensure!(
                c["restartCount"].as_i64().unwrap_or(0) >= 1
                    && c["state"]["waiting"]["reason"] == "CrashLoopBackOff"
                    && c["lastState"]["terminated"]["exitCode"] == 3,
                "status now: {}",
                p["status"]
            );
            Ok(p)
        },
    )
    .await
    .expect("crash loops");
    // A memory limit is enforced: the shell that grows past it is OOMKilled (137).
    let oom = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "oom"},
        "spec": {"nodeName": NODE, "restartPolicy": "Never", "containers": [{
            "name": "c", "image": app, "command": ["sh", "-c",
                "x=$(dd if=/dev/zero bs=1M count=64 2>/dev/null | tr '\\000' x); echo survived ${#x}"],
            "resources": {"limits": {"memory": "16Mi"}}}]}});
    let oom_uid = uid_of(&create(&cluster, 1, &oom).await.expect("oom pod"));
    wait_until(Duration::from_secs(30), "oom OOMKilled", async || {
        let p = get(&cluster, 3, "pods", "default", "oom").await?;
        let t = &p["status"]["containerStatuses"][0]["state"]["terminated"];
        anyhow::ensure!(
            t["reason"] == "OOMKilled" && t["exitCode"] == 137 && p["status"]["phase"] == "Failed",
            "status now: {}",
            p["status"]
        );
        Ok(())
    })
    .await
    .expect("the memory limit is enforced");
    let restarts_before = looping["status"]["containerStatuses"][0]["restartCount"]
        .as_i64()
        .unwrap();
    wait_until(
        Duration::from_secs(30),
        "missing reports ErrImagePull",
        async || {
            let p = get(&cluster, 3, "pods", "default", "missing").await?;
            let w = &p["status"]["containerStatuses"][0]["state"]["waiting"];
            anyhow::ensure!(
                (w["reason"] == "ErrImagePull" || w["reason"] == "ImagePullBackOff")
                    && w["message"].as_str().unwrap_or("").contains("not found")
                    && p["status"]["phase"] == "Pending",
                "status now: {}",
                p["status"]
            );
            Ok(())
        },
    )
    .await
    .expect("image pull error reported");

    // Phase 6: the agent is SIGKILLed (its containerd goes with it) and restarted: it adopts the
    // running pod without restarting it and carries on with the crashing one.
    let web_container = c["containerID"].as_str().unwrap().to_string();
    agent.kill().await;
    wait_until(
        Duration::from_secs(15),
        "the old containerd exits",
        async || {
            anyhow::ensure!(!runs_with(containerd_pid, &config), "still running");
            Ok(())
        },
    )
    .await
    .expect("containerd follows its agent");
    let mut agent = start_cri_agent(&cluster, &root, &registry);
    let new_pid = wait_until(Duration::from_secs(30), "a new containerd", async || {
        let pid: u32 = std::fs::read_to_string(root.join("containerd/containerd.pid"))?
            .trim()
            .parse()?;
        anyhow::ensure!(
            pid != containerd_pid && runs_with(pid, &config),
            "pid {pid}"
        );
        Ok(pid)
    })
    .await
    .expect("the restarted agent starts containerd");
    cri.wait_ready(Duration::from_secs(30))
        .await
        .expect("CRI again");
    wait_until(
        Duration::from_secs(30),
        "crash restarted by the new agent",
        async || {
            let p = get(&cluster, 3, "pods", "default", "crash").await?;
            let n = p["status"]["containerStatuses"][0]["restartCount"]
                .as_i64()
                .unwrap_or(0);
            anyhow::ensure!(n > restarts_before, "restartCount {n}");
            Ok(())
        },
    )
    .await
    .expect("the new agent syncs");
    let web = get(&cluster, 1, "pods", "default", "web")
        .await
        .expect("web");
    let c = &web["status"]["containerStatuses"][0];
    assert_eq!(
        c["containerID"],
        web_container.as_str(),
        "the same container runs on"
    );
    assert_eq!(c["restartCount"], 0);
    let sandbox = sandboxes_of(&cri, &uid).await;
    assert_eq!(sandbox.len(), 1, "one sandbox for web");
    let running = containers_of(&cri, &sandbox[0].id).await;
    assert_eq!(
        running
            .iter()
            .map(|c| format!("containerd://{}", c.id))
            .collect::<Vec<_>>(),
        std::slice::from_ref(&web_container),
        "web's container was neither restarted nor duplicated"
    );
    assert_eq!(
        http_get(&format!("{pod_ip}:8080")).await.expect("HTTP"),
        expected
    );

    // Phase 7: deleting the pods stops them and removes their sandboxes.
    for name in ["web", "crash", "missing", "oom"] {
        delete(&cluster, 1, "pods", "default", name)
            .await
            .expect("delete");
    }
    for name in ["web", "crash", "missing", "oom"] {
        wait_until(
            Duration::from_secs(30),
            format!("{name} removed by its agent"),
            async || match get(&cluster, 1, "pods", "default", name).await {
                Err(s) if reason(&s) == "NotFound" => Ok(()),
                other => anyhow::bail!("still there: {:?}", other.map(|p| p["metadata"].clone())),
            },
        )
        .await
        .expect("pod removed");
    }
    // A terminal pod (oom) is deleted at once, while its agent may still be removing the
    // sandbox: wait for that too.
    for u in [&uid, &crash_uid, &missing_uid, &oom_uid] {
        wait_until(
            Duration::from_secs(15),
            format!("pod {u}: the sandbox is gone"),
            async || {
                let left = sandboxes_of(&cri, u).await;
                anyhow::ensure!(left.is_empty(), "left: {left:?}");
                Ok(())
            },
        )
        .await
        .expect("sandbox removed");
    }
    assert!(
        http_get(&format!("{pod_ip}:8080")).await.is_err(),
        "nothing serves on the pod IP"
    );

    // Phase 8: stopping the agent stops its containerd; the test's bridge goes too.
    agent.stop().await;
    assert!(
        !runs_with(new_pid, &config),
        "containerd stopped with its agent"
    );
    let _ = Command::new("ip")
        .args(["link", "delete", &bridge_name(NODE)])
        .status();
    cluster.teardown();
}

fn uid_of(pod: &serde_json::Value) -> String {
    pod["metadata"]["uid"].as_str().unwrap().to_string()
}

/// The pod's sandboxes, as CRI lists them.
async fn sandboxes_of(cri: &CriClient, uid: &str) -> Vec<k8s_cri::v1::PodSandbox> {
    cri.runtime
        .clone()
        .list_pod_sandbox(k8s_cri::v1::ListPodSandboxRequest {
            filter: Some(k8s_cri::v1::PodSandboxFilter {
                label_selector: managed_selector(uid),
                ..Default::default()
            }),
        })
        .await
        .expect("ListPodSandbox")
        .into_inner()
        .items
}

/// The running containers of a sandbox.
async fn containers_of(cri: &CriClient, sandbox_id: &str) -> Vec<k8s_cri::v1::Container> {
    cri.runtime
        .clone()
        .list_containers(k8s_cri::v1::ListContainersRequest {
            filter: Some(k8s_cri::v1::ContainerFilter {
                pod_sandbox_id: sandbox_id.to_string(),
                ..Default::default()
            }),
        })
        .await
        .expect("ListContainers")
        .into_inner()
        .containers
        .into_iter()
        .filter(|c| c.state == k8s_cri::v1::ContainerState::ContainerRunning as i32)
        .collect()
}
