//! `keel-bench startup`: pod startup on a real node. As root: a 3-replica cell, the demo images
//! in a local registry, and one `keel-agent --runtime cri` with its own containerd (the shared
//! launch code in [`crate::cri_node`]). A warm-up pod pulls the app image onto the node first
//! (so no measured pod waits for a pull), then `--pods` pods bound with `spec.nodeName` (the
//! scheduler is not on the path) are created with at most `--concurrency` started and not yet
//! Running at any time. Each pod is timed from just before its Create is sent to the first watch
//! event (on a replica, from the pre-create revision) that shows it Running with its container
//! running. Reports p50/p99/max, then deletes the pods (timed until none is left) and stops
//! everything it started by pid.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keel_proto::objects::objects_client::ObjectsClient;
use keel_proto::objects::{CreateRequest, DeleteRequest, GetRequest, ListRequest, WatchRequest};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::time::Instant;
use tonic::transport::{Channel, Endpoint};

use super::latency::{round3, LatencySummary};
use crate::cri_node::{
    registry_with_images, remove_bridge, run_repo_script, CriAgent, CriAgentOptions,
};
use crate::{free_port, ClusterOptions, LocalCluster};

/// Kubernetes' pod startup SLO (excluding image pulls), p99.
pub const SLO_P99_MS: f64 = 5000.0;
/// Keel's own target, p99.
pub const TARGET_P99_MS: f64 = 1000.0;

#[derive(clap::Args, Clone, Debug)]
pub struct StartupBenchArgs {
    /// Pods to create (after the warm-up pod).
    #[arg(long, default_value_t = 100)]
    pub pods: usize,
    /// At most this many pods created and not yet seen Running at once.
    #[arg(long, default_value_t = 10)]
    pub concurrency: usize,
    /// The whole run (start to teardown) must finish within this.
    #[arg(long, default_value_t = 600)]
    pub timeout_secs: u64,
    /// `--cluster-cidr` of the cell (apart from the e2e tests' and up.sh's ranges).
    #[arg(long, default_value = "10.249.0.0/16")]
    pub cluster_cidr: String,
    /// Keep the cell's data dirs, the agent's dir and every log here (default: a temp dir).
    #[arg(long)]
    pub data_root: Option<PathBuf>,
    #[arg(long, default_value = "warn")]
    pub server_log: String,
    #[arg(long, default_value = "info")]
    pub agent_log: String,
    #[arg(long, default_value = "startup-node")]
    pub node_name: String,
    /// Do not run scripts/install-node-deps.sh first (containerd, runc, CNI, registry, skopeo).
    #[arg(long)]
    pub skip_node_deps: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct StartupBenchReport {
    pub pods: usize,
    pub concurrency: usize,
    /// Creation → Running seen by the watch.
    pub startup: LatencySummary,
    /// Pods created per second over the measured part (first create → last Running).
    pub pods_per_s: f64,
    /// The warm-up pod (image pull included) creation → Running.
    pub warmup_ms: f64,
    /// All pods deleted → none left in the cell.
    pub delete_all_s: f64,
    pub target_p99_ms: f64,
    pub slo_p99_ms: f64,
    pub agent_log: String,
}

/// When each pod was first seen Running.
type SeenRunning = Arc<Mutex<HashMap<String, Instant>>>;

fn channel(ep: &str) -> anyhow::Result<Channel> {
    Ok(Endpoint::from_shared(ep.to_string())?
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(30))
        .tcp_nodelay(true)
        .connect_lazy())
}

/// A watch channel: no request timeout (the stream lives for the run).
fn watch_channel(ep: &str) -> anyhow::Result<Channel> {
    Ok(Endpoint::from_shared(ep.to_string())?
        .connect_timeout(Duration::from_secs(2))
        .tcp_nodelay(true)
        .connect_lazy())
}

fn is_running(pod: &Value) -> bool {
    pod["status"]["phase"] == "Running"
        && pod["status"]["containerStatuses"][0]["state"]["running"].is_object()
}

fn pod(name: &str, node: &str, image: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "startup-bench"}},
        "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "app", "image": image, "command": ["sleep", "3600"]}]}})
}

async fn get(
    client: &mut ObjectsClient<Channel>,
    resource: &str,
    ns: &str,
    name: &str,
) -> anyhow::Result<Value> {
    let r = client
        .get(GetRequest {
            resource: resource.into(),
            namespace: ns.into(),
            name: name.into(),
        })
        .await?;
    Ok(serde_json::from_slice(&r.into_inner().object)?)
}

/// Polls until `ok` holds or `deadline`.
async fn poll_until(
    what: &str,
    deadline: Instant,
    mut ok: impl AsyncFnMut() -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let mut last = String::new();
    while Instant::now() < deadline {
        match ok().await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) => last = format!("{e:#}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("{what}: not before the deadline ({last})")
}

/// Follows pods of `default` from revision `from` on the endpoints in turn (the next one on any
/// error, resuming after the last revision seen), recording the first time each pod whose name
/// starts with `prefix` is Running, until `deadline`.
async fn watch_running(
    endpoints: Vec<String>,
    prefix: String,
    from: u64,
    seen: SeenRunning,
    deadline: Instant,
) {
    let mut rv = from;
    let mut i = 0usize;
    while Instant::now() < deadline {
        let ep = &endpoints[i % endpoints.len()];
        i += 1;
        let Ok(ch) = watch_channel(ep) else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let req = WatchRequest {
            resource: "pods".into(),
            namespace: "default".into(),
            resource_version: rv.to_string(),
            ..Default::default()
        };
        let opened = tokio::time::timeout_at(deadline, ObjectsClient::new(ch).watch(req)).await;
        let Ok(Ok(stream)) = opened else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let mut stream = stream.into_inner();
        while let Ok(Ok(Some(ev))) = tokio::time::timeout_at(deadline, stream.message()).await {
            let at = Instant::now();
            let Ok(p) = serde_json::from_slice::<Value>(&ev.object) else {
                continue;
            };
            if let Some(r) = p["metadata"]["resourceVersion"]
                .as_str()
                .and_then(|r| r.parse().ok())
            {
                rv = rv.max(r);
            }
            let name = p["metadata"]["name"].as_str().unwrap_or_default();
            if ev.r#type != "DELETED" && name.starts_with(&prefix) && is_running(&p) {
                let mut m = seen.lock().unwrap_or_else(|e| e.into_inner());
                m.entry(name.to_string()).or_insert(at);
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs the benchmark; `progress` gets one line per step.
pub async fn run_startup_bench(
    args: &StartupBenchArgs,
    mut progress: impl FnMut(String),
) -> anyhow::Result<StartupBenchReport> {
    anyhow::ensure!(
        args.pods > 0 && args.concurrency > 0,
        "--pods and --concurrency must be positive"
    );
    // SAFETY: geteuid(2) has no preconditions.
    anyhow::ensure!(unsafe { libc::geteuid() } == 0, "containerd pods need root");
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    if !args.skip_node_deps {
        run_repo_script("install-node-deps.sh", &[])?;
    }
    let temp = tempfile::Builder::new()
        .prefix("keel-bench-startup-")
        .tempdir()?;
    let root = args
        .data_root
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&root)?;

    let cluster = LocalCluster::start(ClusterOptions {
        root: Some(root.join("keel")),
        rust_log: Some(args.server_log.clone()),
        extra_args: vec!["--cluster-cidr".into(), args.cluster_cidr.clone()],
        ..Default::default()
    })
    .await?;
    progress(format!("cell up under {}", cluster.root().display()));
    let registry_port = free_port()?;
    let registry_addr = format!("127.0.0.1:{registry_port}");
    let _registry = registry_with_images(&root.join("registry"), registry_port).await?;
    progress(format!("registry with the demo images on {registry_addr}"));
    let agent_root = root.join("agent");
    let agent_log = root.join("agent.log");
    let mut agent = CriAgent::start(&CriAgentOptions {
        node_name: args.node_name.clone(),
        servers: cluster.addrs(),
        root: agent_root.clone(),
        registry: registry_addr.clone(),
        rust_log: args.agent_log.clone(),
        extra_args: vec![],
        log: agent_log.clone(),
    })?;
    progress(format!(
        "keel-agent pid {} (log {})",
        agent.pid(),
        agent_log.display()
    ));

    let result = measure(args, &cluster, &registry_addr, deadline, &mut progress).await;

    let stopped = agent.stop(Duration::from_secs(30)).await;
    remove_bridge(&agent_root);
    drop(cluster);
    progress("agent, containerd, registry and cell stopped".into());
    let mut report = result?;
    stopped?;
    report.agent_log = agent_log.display().to_string();
    Ok(report)
}

async fn measure(
    args: &StartupBenchArgs,
    cluster: &LocalCluster,
    registry: &str,
    deadline: Instant,
    progress: &mut impl FnMut(String),
) -> anyhow::Result<StartupBenchReport> {
    let endpoints = cluster.endpoints();
    let mut client = ObjectsClient::new(channel(&endpoints[0])?);
    let node = args.node_name.clone();
    poll_until("the node is Ready", deadline, async || {
        let n = get(&mut client, "nodes", "", &node).await?;
        Ok(n["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True"))
    })
    .await?;
    progress(format!("node {node} Ready"));
    let image = format!("{registry}/keel/app:1");

    // Warm-up: the image is pulled onto the node.
    let t_warm = Instant::now();
    client
        .create(CreateRequest {
            namespace: "default".into(),
            object: pod("startup-warmup", &node, &image)
                .to_string()
                .into_bytes(),
            dry_run: false,
        })
        .await?;
    poll_until("the warm-up pod is Running", deadline, async || {
        Ok(is_running(
            &get(&mut client, "pods", "default", "startup-warmup").await?,
        ))
    })
    .await?;
    let warmup_ms = round3(t_warm.elapsed().as_secs_f64() * 1000.0);
    progress(format!(
        "warm-up pod Running after {warmup_ms} ms (image pulled)"
    ));
    delete_and_wait(&mut client, &["startup-warmup".to_string()], deadline).await?;

    // The watch starts from the revision before the first create.
    let listed = client
        .list(ListRequest {
            resource: "pods".into(),
            namespace: "default".into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let from: u64 = listed.resource_version.parse().unwrap_or(0);
    let prefix = "startup-pod-".to_string();
    let seen: SeenRunning = Arc::default();
    let watcher = tokio::spawn(watch_running(
        endpoints.clone(),
        prefix.clone(),
        from,
        seen.clone(),
        deadline,
    ));
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut created: HashMap<String, Instant> = HashMap::new();
    let names: Vec<String> = (0..args.pods).map(|i| format!("{prefix}{i:04}")).collect();
    let t0 = Instant::now();
    for name in &names {
        // At most `concurrency` pods starting at once.
        loop {
            let running = seen.lock().unwrap_or_else(|e| e.into_inner()).len();
            if created.len() - running.min(created.len()) < args.concurrency {
                break;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "pods did not start before the deadline"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        created.insert(name.clone(), Instant::now());
        client
            .create(CreateRequest {
                namespace: "default".into(),
                object: pod(name, &node, &image).to_string().into_bytes(),
                dry_run: false,
            })
            .await?;
    }
    let all = names.len();
    let waited = poll_until("every pod Running", deadline, async || {
        Ok(seen.lock().unwrap_or_else(|e| e.into_inner()).len() >= all)
    })
    .await;
    watcher.abort();
    let seen = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let samples: Vec<f64> = seen
        .iter()
        .filter_map(|(n, at)| {
            created
                .get(n)
                .map(|c| at.saturating_duration_since(*c).as_secs_f64() * 1000.0)
        })
        .collect();
    let last = seen.values().max().copied().unwrap_or(t0);
    let wall = last.saturating_duration_since(t0).as_secs_f64();
    let startup = LatencySummary::from_samples_ms(&samples);
    progress(format!(
        "{} of {all} pods Running: p50 {} ms, p99 {} ms, max {} ms",
        seen.len(),
        startup.p50_ms,
        startup.p99_ms,
        startup.max_ms
    ));

    let t_del = Instant::now();
    let deleted = delete_and_wait(&mut client, &names, deadline).await;
    let delete_all_s = round3(t_del.elapsed().as_secs_f64());
    progress(format!("{all} pods deleted in {delete_all_s} s"));
    waited?;
    deleted?;
    Ok(StartupBenchReport {
        pods: all,
        concurrency: args.concurrency,
        startup,
        pods_per_s: if wall > 0.0 {
            round3(all as f64 / wall)
        } else {
            0.0
        },
        warmup_ms,
        delete_all_s,
        target_p99_ms: TARGET_P99_MS,
        slo_p99_ms: SLO_P99_MS,
        agent_log: String::new(),
    })
}

/// Deletes `names` in `default` and waits until no bench pod is left.
async fn delete_and_wait(
    client: &mut ObjectsClient<Channel>,
    names: &[String],
    deadline: Instant,
) -> anyhow::Result<()> {
    for name in names {
        let r = client
            .delete(DeleteRequest {
                resource: "pods".into(),
                namespace: "default".into(),
                name: name.clone(),
                ..Default::default()
            })
            .await;
        if let Err(e) = r {
            anyhow::ensure!(e.code() == tonic::Code::NotFound, "deleting {name}: {e}");
        }
    }
    poll_until("the pods are gone", deadline, async || {
        let left = client
            .list(ListRequest {
                resource: "pods".into(),
                namespace: "default".into(),
                label_selector: "app=startup-bench".into(),
                ..Default::default()
            })
            .await?
            .into_inner()
            .items
            .len();
        Ok(left == 0)
    })
    .await
}
