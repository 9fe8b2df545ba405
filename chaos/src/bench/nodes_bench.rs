//! `keel-bench nodes`: the node plane at scale (Borg's link shards). Starts a 3-replica cell and
//! `--nodes` hollow nodes in agent processes of `--per-process` each, then measures, on the
//! leader and the followers:
//! - Raft entries/s and bytes/s, CPU (% of one core) and resident memory over an idle window;
//! - the same while `--churn-pods` bound pods flip readiness every `--churn-flip-secs` (pod
//!   status changes/s = pods / period, counted by a watch);
//! - pod startup through the whole path (create unbound → scheduled → hollow agent runs it →
//!   Running seen by a watch on a follower), p50/p99;
//! - time to detect a dead node: a one-node agent process is SIGKILLed and a follower is polled
//!   until its Node is no longer Ready.
//!
//! With `--compare` the same run is repeated on a fresh cell started with
//! `--no-node-aggregation` (every agent report written through the log, heartbeat times
//! included: the design without owner-side aggregation), and both are reported.
//!
//! Raft figures come from each replica's `/metrics` (`--metrics-listen`, an ephemeral port read
//! from the replica's log); CPU and memory from `/proc/<pid>`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use keel_proto::objects::{
    batch_write, BatchRequest, BatchWrite, CreateRequest, GetRequest, WatchRequest,
};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use tonic::transport::Channel;

use super::latency::{round3, LatencySummary};
use super::schedule_bench::{channel, objects, ready_nodes, wait_for_default_namespace};
use crate::{find_binary, ChildProcess, ClusterOptions, LocalCluster};

/// Targets of the issue: idle entries/s, leader CPU at idle (% of one core), detection.
pub const TARGET_IDLE_ENTRIES_S: f64 = 0.0;
pub const TARGET_LEADER_IDLE_CPU_PCT: f64 = 10.0;
pub const TARGET_DETECT_MS: f64 = 5000.0;

#[derive(clap::Args, Clone, Debug)]
pub struct NodesBenchArgs {
    /// Hollow nodes in all.
    #[arg(long, default_value_t = 5000)]
    pub nodes: u32,
    /// Hollow nodes per keel-agent process.
    #[arg(long, default_value_t = 1000)]
    pub per_process: u32,
    /// Length of each measurement window (idle, churn).
    #[arg(long, default_value_t = 30)]
    pub window_secs: u64,
    /// Bound pods that flip readiness (0: no churn window).
    #[arg(long, default_value_t = 1000)]
    pub churn_pods: u32,
    /// Each churn pod's readiness flips every this many seconds.
    #[arg(long, default_value_t = 10.0)]
    pub churn_flip_secs: f64,
    /// Unbound pods created for the startup measurement (0: none).
    #[arg(long, default_value_t = 200)]
    pub startup_pods: u32,
    /// Their creation rate (pods/s).
    #[arg(long, default_value_t = 20.0)]
    pub startup_rate: f64,
    /// One-node agents killed one after another to time dead-node detection.
    #[arg(long, default_value_t = 3)]
    pub dead_nodes: u32,
    /// Also run on a cell with `--no-node-aggregation`, for comparison.
    #[arg(long)]
    pub compare: bool,
    /// `--node-monitor-grace-ms` of the replicas (their default if unset).
    #[arg(long)]
    pub node_monitor_grace_ms: Option<u64>,
    /// How long to wait for every node to be Ready; after it the run goes on with those that are
    /// (their number is reported), so a cell that cannot keep up is still measured.
    #[arg(long, default_value_t = 180)]
    pub ready_timeout_secs: u64,
    /// `--heartbeat-ms` of the replicas (their default if unset).
    #[arg(long)]
    pub heartbeat_ms: Option<u64>,
    /// `--election-timeout-ms` of the replicas (their default if unset).
    #[arg(long)]
    pub election_timeout_ms: Option<u64>,
    /// Each mode's run (start to teardown) must finish within this.
    #[arg(long, default_value_t = 900)]
    pub timeout_secs: u64,
    /// `--cluster-cidr`: the default /16 holds only 256 node /24s.
    #[arg(long, default_value = "100.64.0.0/10")]
    pub cluster_cidr: String,
    /// Keep data dirs and logs here.
    #[arg(long)]
    pub data_root: Option<PathBuf>,
    #[arg(long, default_value = "warn")]
    pub agent_log: String,
    /// `RUST_LOG` of the replicas (the bench adds what it needs to find their /metrics port).
    #[arg(long, default_value = "warn")]
    pub server_log: String,
}

/// One measurement window.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Window {
    pub secs: f64,
    /// Entries appended to the leader's log per second.
    pub entries_s: f64,
    /// Bytes appended to the leader's log per second.
    pub bytes_s: f64,
    /// CPU time of the leader process, % of one core.
    pub leader_cpu_pct: f64,
    pub leader_rss_mib: f64,
    /// The same for each follower.
    pub follower_cpu_pct: Vec<f64>,
    pub follower_rss_mib: Vec<f64>,
    /// Pod status changes seen by a watch per second.
    pub pod_changes_s: f64,
    /// Leader changes during the window (the term moved).
    pub term_changes: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ModeReport {
    /// "aggregated" or "per-report".
    pub mode: &'static str,
    pub nodes: u32,
    /// Nodes Ready when the measurements started.
    pub nodes_ready: u32,
    pub nodes_ready_s: f64,
    pub idle: Window,
    pub churn: Option<Window>,
    pub startup: Option<LatencySummary>,
    pub startup_missing: u32,
    pub dead_node_detect_ms: Vec<f64>,
    pub node_monitor_grace_ms: Option<u64>,
    pub errors: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct NodesBenchReport {
    pub summary: &'static str,
    pub modes: Vec<ModeReport>,
    pub target_idle_entries_s: f64,
    pub target_leader_idle_cpu_pct: f64,
    pub target_detect_ms: f64,
}

/// Runs the benchmark; `progress` gets one line per step.
pub async fn run_nodes_bench(
    args: &NodesBenchArgs,
    mut progress: impl FnMut(String),
) -> anyhow::Result<NodesBenchReport> {
    anyhow::ensure!(
        args.nodes > 0 && args.per_process > 0,
        "--nodes and --per-process must be positive"
    );
    let mut modes = vec![run_mode(args, true, &mut progress).await?];
    if args.compare {
        modes.push(run_mode(args, false, &mut progress).await?);
    }
    Ok(NodesBenchReport {
        summary: "nodes",
        modes,
        target_idle_entries_s: TARGET_IDLE_ENTRIES_S,
        target_leader_idle_cpu_pct: TARGET_LEADER_IDLE_CPU_PCT,
        target_detect_ms: TARGET_DETECT_MS,
    })
}

/// One replica as the bench samples it.
struct Sampled {
    id: u64,
    pid: u32,
    metrics: Option<String>,
}

/// A reading of one replica.
#[derive(Clone, Copy, Debug, Default)]
struct Reading {
    cpu_ticks: u64,
    rss_kib: u64,
    entries: f64,
    bytes: f64,
    term: f64,
}

async fn run_mode(
    args: &NodesBenchArgs,
    aggregate: bool,
    progress: &mut impl FnMut(String),
) -> anyhow::Result<ModeReport> {
    let mode = if aggregate {
        "aggregated"
    } else {
        "per-report"
    };
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    let temp = tempfile::Builder::new()
        .prefix("keel-bench-nodes-")
        .tempdir()?;
    let root = args
        .data_root
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf())
        .join(mode);
    std::fs::create_dir_all(&root)?;
    let mut extra = vec![
        "--cluster-cidr".to_string(),
        args.cluster_cidr.clone(),
        "--metrics-listen".into(),
        "127.0.0.1:0".into(),
    ];
    if !aggregate {
        extra.push("--no-node-aggregation".into());
    }
    if let Some(g) = args.node_monitor_grace_ms {
        extra.extend(["--node-monitor-grace-ms".into(), g.to_string()]);
    }
    let cluster = LocalCluster::start(ClusterOptions {
        root: Some(root.join("keel")),
        // The metrics address is read from the replica's log.
        rust_log: Some(format!(
            "{},keel_control_plane::server::replica=info",
            args.server_log
        )),
        extra_args: extra,
        heartbeat_ms: args.heartbeat_ms,
        election_timeout_ms: args.election_timeout_ms,
        ..Default::default()
    })
    .await?;
    progress(format!(
        "[{mode}] cell up under {}",
        cluster.root().display()
    ));
    let mut report = ModeReport {
        mode,
        nodes: args.nodes,
        node_monitor_grace_ms: args.node_monitor_grace_ms,
        ..Default::default()
    };
    let result = measure(args, &cluster, &root, deadline, &mut report, progress).await;
    if let Err(e) = result {
        progress(format!("[{mode}] aborted: {e:#}"));
        report.errors.push(format!("{e:#}"));
    }
    cluster.teardown();
    Ok(report)
}

async fn measure(
    args: &NodesBenchArgs,
    cluster: &LocalCluster,
    root: &Path,
    deadline: Instant,
    report: &mut ModeReport,
    progress: &mut impl FnMut(String),
) -> anyhow::Result<()> {
    let mode = report.mode;
    let endpoints = cluster.endpoints();
    let servers: Vec<String> = cluster.addrs();
    let leader = cluster.leader_id().await?;
    let follower = cluster
        .ids()
        .into_iter()
        .find(|id| *id != leader)
        .unwrap_or(leader);
    let on_follower = channel(
        &endpoints[(follower - 1) as usize],
        Some(Duration::from_secs(60)),
    )?;
    wait_for_default_namespace(&on_follower, deadline).await?;
    let mut replicas = Vec::new();
    for id in cluster.ids() {
        let pid = cluster
            .pid(id)
            .ok_or_else(|| anyhow::anyhow!("replica {id} has no pid"))?;
        let metrics = metrics_addr(&cluster.log_path(id)?);
        anyhow::ensure!(metrics.is_some(), "replica {id} logged no /metrics address");
        replicas.push(Sampled { id, pid, metrics });
    }

    // The hollow nodes.
    let agent_bin = find_binary("keel-agent")?;
    let mut agents = Vec::new();
    let processes = args.nodes.div_ceil(args.per_process);
    for p in 0..processes {
        let count = args.per_process.min(args.nodes - p * args.per_process);
        let log = root.join(format!("agent-{p}.log"));
        let agent = spawn_agent(
            &agent_bin,
            &format!("hollow-{p}"),
            count,
            &servers,
            args,
            &log,
        )?;
        agents.push(agent);
    }
    progress(format!(
        "[{mode}] {processes} keel-agent processes, {} hollow nodes",
        args.nodes
    ));
    let t_agents = Instant::now();
    let ready_deadline = t_agents + Duration::from_secs(args.ready_timeout_secs);
    let mut last = usize::MAX;
    loop {
        for a in &mut agents {
            if let Some(status) = a.try_exit_status() {
                anyhow::bail!("{} exited while nodes registered: {status}", a.name());
            }
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {last} of {} nodes Ready before the timeout",
            args.nodes
        );
        match ready_nodes(&on_follower, "hollow").await {
            Ok((n, _)) if n >= args.nodes as usize => {
                last = n;
                break;
            }
            Ok((n, _)) if Instant::now() >= ready_deadline => {
                progress(format!(
                    "[{mode}] only {n}/{} nodes Ready after {} s; measuring anyway",
                    args.nodes, args.ready_timeout_secs
                ));
                report
                    .errors
                    .push(format!("only {n} of {} nodes Ready", args.nodes));
                last = n;
                break;
            }
            Ok((n, _)) => {
                if n != last && (last == usize::MAX || n / 500 != last / 500) {
                    progress(format!(
                        "[{mode}] {n}/{} nodes Ready after {:.1} s",
                        args.nodes,
                        t_agents.elapsed().as_secs_f64()
                    ));
                }
                last = n;
            }
            Err(e) => progress(format!("[{mode}] listing nodes: {e:#}")),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    report.nodes_ready = last as u32;
    report.nodes_ready_s = round3(t_agents.elapsed().as_secs_f64());
    progress(format!(
        "[{mode}] {last} nodes Ready after {} s",
        report.nodes_ready_s
    ));
    // Let registration's writes drain before the idle window.
    tokio::time::sleep(Duration::from_secs(5)).await;

    // Pod events seen by a watch on the follower (status changes of this run's pods).
    let changes = Arc::new(Mutex::new(PodWatch::default()));
    let watch = tokio::spawn(watch_pods(on_follower.clone(), changes.clone(), deadline));

    let window = Duration::from_secs(args.window_secs);
    report.idle = sample_window(cluster, &replicas, window, &changes).await?;
    progress(format!("[{mode}] idle: {:?}", report.idle));

    if args.churn_pods > 0 {
        create_churn_pods(&on_follower, args).await?;
        // Wait until the churn pods run (their first Running status).
        let t = Instant::now();
        loop {
            let running = changes.lock().map(|w| w.running_churn()).unwrap_or(0);
            if running >= args.churn_pods as usize {
                break;
            }
            anyhow::ensure!(
                Instant::now() < deadline && t.elapsed() < Duration::from_secs(120),
                "only {running} of {} churn pods Running after {:.0} s",
                args.churn_pods,
                t.elapsed().as_secs_f64()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let churn = sample_window(cluster, &replicas, window, &changes).await?;
        progress(format!("[{mode}] churn: {churn:?}"));
        report.churn = Some(churn);
    }

    if args.startup_pods > 0 {
        let (lat, missing) = pod_startup(&on_follower, args, &changes, deadline).await?;
        progress(format!(
            "[{mode}] startup: p50 {} ms p99 {} ms max {} ms ({missing} never Running)",
            lat.p50_ms, lat.p99_ms, lat.max_ms
        ));
        report.startup = Some(lat);
        report.startup_missing = missing;
    }

    for k in 0..args.dead_nodes {
        if Instant::now() >= deadline {
            break;
        }
        match dead_node(&on_follower, &agent_bin, &servers, args, root, k).await {
            Ok(ms) => {
                progress(format!("[{mode}] dead node {k} detected after {ms:.0} ms"));
                report.dead_node_detect_ms.push(round3(ms));
            }
            Err(e) => report.errors.push(format!("dead node {k}: {e:#}")),
        }
    }
    watch.abort();
    for a in &mut agents {
        let _ = a.kill().await;
    }
    Ok(())
}

fn spawn_agent(
    bin: &Path,
    name: &str,
    count: u32,
    servers: &[String],
    args: &NodesBenchArgs,
    log: &Path,
) -> anyhow::Result<ChildProcess> {
    let argv: Vec<String> = [
        "--node-name",
        name,
        "--runtime",
        "fake",
        "--hollow-nodes",
        &count.to_string(),
        "--servers",
        &servers.join(","),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    ChildProcess::spawn(
        "keel-agent",
        bin,
        &argv,
        &[("RUST_LOG".into(), args.agent_log.clone())],
        log,
    )
}

/// The `/metrics` address a replica logged (`serving /metrics ... bound=ADDR`).
fn metrics_addr(log: &Path) -> Option<String> {
    let text = strip_ansi(&std::fs::read_to_string(log).ok()?);
    let line = text.lines().find(|l| l.contains("serving /metrics"))?;
    let rest = &line[line.find("bound=")? + "bound=".len()..];
    Some(rest.split_whitespace().next()?.to_string())
}

/// `text` without terminal colour sequences (`ESC [ ... m`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// GET /metrics over plain HTTP/1.0.
async fn scrape(addr: &str) -> anyhow::Result<String> {
    let io = async {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: bench\r\n\r\n")
            .await?;
        let mut body = String::new();
        s.read_to_string(&mut body).await?;
        anyhow::Ok(body)
    };
    tokio::time::timeout(Duration::from_secs(5), io).await?
}

/// The value of the sample named exactly `name` (no labels) in Prometheus text.
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces) start at ") ".
    let after = &stat[stat.rfind(')').unwrap_or(0) + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
    let utime: u64 = fields.get(11).unwrap_or(&"0").parse()?;
    let stime: u64 = fields.get(12).unwrap_or(&"0").parse()?;
    Ok(utime + stime)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

async fn read(r: &Sampled) -> anyhow::Result<Reading> {
    let addr = r
        .metrics
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("replica {} has no metrics address", r.id))?;
    let text = scrape(addr)
        .await
        .with_context(|| format!("scraping replica {} at {addr}", r.id))?;
    let get = |name: &str| {
        metric(&text, name)
            .ok_or_else(|| anyhow::anyhow!("replica {}: no {name} in /metrics", r.id))
    };
    Ok(Reading {
        cpu_ticks: cpu_ticks(r.pid)?,
        rss_kib: rss_kib(r.pid),
        entries: get("keel_raft_log_entries_appended_total")?,
        bytes: get("keel_raft_log_bytes_appended_total")?,
        term: get("keel_raft_term")?,
    })
}

async fn sample_window(
    cluster: &LocalCluster,
    replicas: &[Sampled],
    window: Duration,
    changes: &Arc<Mutex<PodWatch>>,
) -> anyhow::Result<Window> {
    let leader = cluster.leader_id().await?;
    let mut before = HashMap::new();
    for r in replicas {
        before.insert(r.id, read(r).await?);
    }
    let changes_before = changes.lock().map(|w| w.changes).unwrap_or(0);
    let t0 = Instant::now();
    tokio::time::sleep(window).await;
    let secs = t0.elapsed().as_secs_f64();
    let changes_after = changes.lock().map(|w| w.changes).unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let mut w = Window {
        secs: round3(secs),
        pod_changes_s: round3((changes_after - changes_before) as f64 / secs),
        ..Default::default()
    };
    for r in replicas {
        let a = before.get(&r.id).copied().unwrap_or_default();
        let b = read(r).await?;
        let cpu = round3((b.cpu_ticks.saturating_sub(a.cpu_ticks)) as f64 / hz / secs * 100.0);
        let rss = round3(b.rss_kib as f64 / 1024.0);
        if r.id == leader {
            w.entries_s = round3((b.entries - a.entries) / secs);
            w.bytes_s = round3((b.bytes - a.bytes) / secs);
            w.leader_cpu_pct = cpu;
            w.leader_rss_mib = rss;
            w.term_changes = (b.term - a.term).max(0.0) as u64;
        } else {
            w.follower_cpu_pct.push(cpu);
            w.follower_rss_mib.push(rss);
        }
    }
    Ok(w)
}

/// What the bench's pod watch has seen.
#[derive(Default)]
struct PodWatch {
    /// MODIFIED events of pods (status changes, bindings).
    changes: u64,
    /// Churn pods seen Running.
    churn_running: std::collections::HashSet<String>,
    /// First time each startup pod was seen Running.
    started: HashMap<String, Instant>,
}

impl PodWatch {
    fn running_churn(&self) -> usize {
        self.churn_running.len()
    }
}

async fn watch_pods(ch: Channel, seen: Arc<Mutex<PodWatch>>, deadline: Instant) {
    let mut rv = String::new();
    while Instant::now() < deadline {
        let req = WatchRequest {
            resource: "pods".into(),
            namespace: "default".into(),
            resource_version: rv.clone(),
            ..Default::default()
        };
        let Ok(Ok(stream)) = tokio::time::timeout_at(deadline, objects(&ch).watch(req)).await
        else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let mut stream = stream.into_inner();
        while let Ok(Ok(Some(ev))) = tokio::time::timeout_at(deadline, stream.message()).await {
            let at = Instant::now();
            let Ok(pod) = serde_json::from_slice::<Value>(&ev.object) else {
                continue;
            };
            if let Some(v) = pod
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
            {
                rv = v.to_string();
            }
            if ev.r#type != "MODIFIED" && ev.r#type != "ADDED" {
                continue;
            }
            let name = pod
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let running = pod.pointer("/status/phase").and_then(Value::as_str) == Some("Running");
            let Ok(mut w) = seen.lock() else { return };
            if ev.r#type == "MODIFIED" {
                w.changes += 1;
            }
            if running && name.starts_with("churn-") {
                w.churn_running.insert(name);
            } else if running && name.starts_with("start-") {
                w.started.entry(name).or_insert(at);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Bound pods spread over the hollow nodes, flipping readiness every `--churn-flip-secs`.
async fn create_churn_pods(ch: &Channel, args: &NodesBenchArgs) -> anyhow::Result<()> {
    let per_process = args.per_process;
    let pods: Vec<Value> = (0..args.churn_pods)
        .map(|i| {
            let n = (i as u64 * 7919 % args.nodes as u64) as u32;
            let node = format!("hollow-{}-{}", n / per_process, n % per_process);
            json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("churn-{i}"), "namespace": "default",
                    "annotations": {"fake.keel.dev/ready-flip-seconds": args.churn_flip_secs.to_string()}},
                "spec": {"nodeName": node,
                    "containers": [{"name": "app", "image": "registry.local/app:1",
                        "resources": {"requests": {"cpu": "1m", "memory": "1Mi"}}}]}
            })
        })
        .collect();
    for chunk in pods.chunks(500) {
        batch_create(ch, chunk).await?;
    }
    Ok(())
}

async fn batch_create(ch: &Channel, pods: &[Value]) -> anyhow::Result<()> {
    let writes = pods
        .iter()
        .map(|p| BatchWrite {
            write: Some(batch_write::Write::Create(CreateRequest {
                namespace: "default".into(),
                object: p.to_string().into_bytes(),
                dry_run: false,
            })),
        })
        .collect();
    objects(ch).batch(BatchRequest { writes }).await?;
    Ok(())
}

/// Creates `--startup-pods` unbound pods at `--startup-rate`; each one's creation (its
/// acknowledgement) to its first Running seen by the watch.
async fn pod_startup(
    ch: &Channel,
    args: &NodesBenchArgs,
    seen: &Arc<Mutex<PodWatch>>,
    deadline: Instant,
) -> anyhow::Result<(LatencySummary, u32)> {
    let gap = Duration::from_secs_f64(1.0 / args.startup_rate.max(0.1));
    let mut created: HashMap<String, Instant> = HashMap::new();
    let mut next = Instant::now();
    for i in 0..args.startup_pods {
        tokio::time::sleep_until(next).await;
        next += gap;
        let name = format!("start-{i}");
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "app", "image": "registry.local/app:1",
                "resources": {"requests": {"cpu": "1m", "memory": "1Mi"}}}]}
        });
        let t = Instant::now();
        objects(ch)
            .create(CreateRequest {
                namespace: "default".into(),
                object: pod.to_string().into_bytes(),
                dry_run: false,
            })
            .await?;
        created.insert(name, t);
    }
    // Wait (bounded) for the last ones to run.
    let until = (Instant::now() + Duration::from_secs(30)).min(deadline);
    loop {
        let done = seen
            .lock()
            .map(|w| {
                created
                    .keys()
                    .filter(|n| w.started.contains_key(*n))
                    .count()
            })
            .unwrap_or(0);
        if done >= created.len() || Instant::now() >= until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let w = seen
        .lock()
        .map_err(|_| anyhow::anyhow!("the pod watch panicked"))?;
    let samples: Vec<f64> = created
        .iter()
        .filter_map(|(n, t)| {
            let s = w.started.get(n)?;
            Some(s.saturating_duration_since(*t).as_secs_f64() * 1000.0)
        })
        .collect();
    let missing = (created.len() - samples.len()) as u32;
    Ok((LatencySummary::from_samples_ms(&samples), missing))
}

/// Starts a one-node agent, waits until its Node is Ready, SIGKILLs it, and returns how long the
/// follower took to show the Node not Ready.
async fn dead_node(
    ch: &Channel,
    bin: &Path,
    servers: &[String],
    args: &NodesBenchArgs,
    root: &Path,
    k: u32,
) -> anyhow::Result<f64> {
    let name = format!("doomed-{k}");
    let log = root.join(format!("{name}.log"));
    let mut agent = spawn_agent(bin, &name, 1, servers, args, &log)?;
    let t = Instant::now();
    while node_ready(ch, &name).await != Some(true) {
        anyhow::ensure!(
            t.elapsed() < Duration::from_secs(60),
            "{name} not Ready within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A few reports in, so the node's owner knows it well.
    tokio::time::sleep(Duration::from_secs(3)).await;
    agent.kill().await?;
    let killed = Instant::now();
    loop {
        if node_ready(ch, &name).await == Some(false) {
            return Ok(killed.elapsed().as_secs_f64() * 1000.0);
        }
        anyhow::ensure!(
            killed.elapsed() < Duration::from_secs(120),
            "{name} still Ready 120 s after its agent was killed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether the Node's Ready condition is True (`None`: no such node or no condition yet).
async fn node_ready(ch: &Channel, name: &str) -> Option<bool> {
    let got = objects(ch)
        .get(GetRequest {
            resource: "nodes".into(),
            namespace: String::new(),
            name: name.into(),
        })
        .await
        .ok()?
        .into_inner();
    let node: Value = serde_json::from_slice(&got.object).ok()?;
    let conditions = node.pointer("/status/conditions")?.as_array()?;
    let ready = conditions.iter().find(|c| c["type"] == "Ready")?;
    Some(ready["status"] == "True")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_reads_unlabelled_samples_only() {
        let text = "# HELP keel_raft_term x\n# TYPE keel_raft_term gauge\nkeel_raft_term 7\n\
                    keel_raft_term_other 9\nkeel_api{a=\"b\"} 3\n";
        assert_eq!(metric(text, "keel_raft_term"), Some(7.0));
        assert_eq!(metric(text, "keel_api"), None);
        assert_eq!(metric(text, "missing"), None);
    }

    #[test]
    fn the_metrics_address_is_read_from_the_log_line() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("r.log");
        std::fs::write(
            &log,
            "\u{1b}[2m2026\u{1b}[0m INFO keel_control_plane::server::replica: serving /metrics, /healthz, /readyz \u{1b}[3mbound\u{1b}[0m\u{1b}[2m=\u{1b}[0m127.0.0.1:4321\n",
        )
        .unwrap();
        assert_eq!(metrics_addr(&log).as_deref(), Some("127.0.0.1:4321"));
    }

    #[test]
    fn cpu_ticks_of_this_process_parse() {
        assert!(cpu_ticks(std::process::id()).is_ok());
        assert!(rss_kib(std::process::id()) > 0);
    }
}
