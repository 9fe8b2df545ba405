//! `keel-bench schedule`: scheduling throughput and latency on hollow nodes. Starts a 3-replica
//! cell (or uses `--endpoints`), one keel-agent process running `--nodes` hollow nodes, waits
//! until they are Ready, watches pods, then creates `--pods` unbound pods in Batch calls (many
//! creates per log entry) as fast as the cell takes them. Each pod's creation is timed at its
//! Batch acknowledgement and its binding when the watch delivers the MODIFIED event that sets
//! `spec.nodeName` (the binding committed and applied on the watched replica). Reports bound
//! pods per second (first create → last binding, and the steady rate between the 10th and 90th
//! percentile bindings) and creation → binding p50/p99.
//!
//! With `--kill-leader-rounds K`, K times: create a round of pods, SIGKILL the leader at once
//! (pods pending), and time kill → the first binding made by the new leader (the first one
//! observed at a store revision above what the new leader had applied when it was first seen
//! leading, so the old leader's last bindings are not counted), then restart the victim.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use keel_proto::objects::objects_client::ObjectsClient;
use keel_proto::objects::{
    batch_write, BatchRequest, BatchWrite, CreateRequest, GetRequest, ListRequest, WatchRequest,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tonic::transport::{Channel, Endpoint};

use super::endpoints::parse_endpoints;
use super::latency::{round3, LatencySummary};
use crate::{find_binary, ChildProcess, ClusterOptions, LocalCluster};

/// The throughput target (bound pods per second), DESIGN.md §6.
pub const TARGET_PODS_S: f64 = 5000.0;
/// Largest gRPC message the bench accepts (node lists at thousands of nodes).
const MAX_MESSAGE: usize = 256 << 20;
/// Pause between reconnects of a broken watch.
const WATCH_RETRY: Duration = Duration::from_millis(50);

#[derive(clap::Args, Clone, Debug)]
pub struct ScheduleBenchArgs {
    /// Hollow nodes (one keel-agent process).
    #[arg(long, default_value_t = 100)]
    pub nodes: u32,
    /// Pods to create and wait for.
    #[arg(long, default_value_t = 2000)]
    pub pods: usize,
    /// Pod creates per Batch call (one log entry each).
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Batch calls in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Each pod's CPU request.
    #[arg(long, default_value = "10m")]
    pub pod_cpu: String,
    /// Each hollow node's allocatable CPU.
    #[arg(long, default_value = "4")]
    pub node_cpu: String,
    /// Each hollow node's max pods.
    #[arg(long, default_value_t = 110)]
    pub node_max_pods: u32,
    /// Leader kills while pods are pending (kill → first binding by the new leader).
    #[arg(long, default_value_t = 0)]
    pub kill_leader_rounds: usize,
    /// Pods created right before each leader kill.
    #[arg(long, default_value_t = 2000)]
    pub pods_per_kill_round: usize,
    /// The whole run (start to teardown) must finish within this.
    #[arg(long, default_value_t = 600)]
    pub timeout_secs: u64,
    /// `--cluster-cidr` of a launched cell: the default /16 holds only 256 node /24s.
    #[arg(long, default_value = "100.64.0.0/10")]
    pub cluster_cidr: String,
    /// A running cell (default: launch a 3-replica cell). No leader kills then.
    #[arg(long, value_delimiter = ',')]
    pub endpoints: Vec<String>,
    /// Keep the cell's data dirs and logs (and the agent's log) here.
    #[arg(long)]
    pub data_root: Option<PathBuf>,
    /// `--heartbeat-ms` for the replicas of a launched cell (their default if unset).
    #[arg(long)]
    pub heartbeat_ms: Option<u64>,
    /// `--election-timeout-ms` for the replicas of a launched cell (their default if unset).
    #[arg(long)]
    pub election_timeout_ms: Option<u64>,
    #[arg(long, default_value = "warn")]
    pub server_log: String,
    #[arg(long, default_value = "warn")]
    pub agent_log: String,
    /// Name prefix of the hollow nodes (`<prefix>-0` …).
    #[arg(long, default_value = "hollow")]
    pub node_prefix: String,
}

/// Throughput of one run, from times in seconds since the first create was sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Rates {
    /// Bindings / (last binding − first create sent).
    pub bound_pods_s: f64,
    /// Bindings between the 10th and 90th percentile binding, per second between them.
    pub steady_pods_s: f64,
    /// Pods acknowledged / (last ack − first create sent).
    pub created_pods_s: f64,
    /// First create sent → last binding seen.
    pub wall_s: f64,
}

/// Rates from creation-ack times and binding times, both in seconds since the first create was
/// sent (`bind_secs` need not be sorted).
pub fn rates(ack_secs: &[f64], bind_secs: &[f64]) -> Rates {
    let mut binds: Vec<f64> = bind_secs
        .iter()
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    binds.sort_by(f64::total_cmp);
    let per_s = |n: f64, secs: f64| if secs > 0.0 { round3(n / secs) } else { 0.0 };
    let last_ack = ack_secs.iter().copied().fold(0.0, f64::max);
    let created_pods_s = per_s(ack_secs.len() as f64, last_ack);
    let Some(&last) = binds.last() else {
        return Rates {
            created_pods_s,
            ..Default::default()
        };
    };
    let n = binds.len();
    // Ranks 10% and 90% (0-based), the bindings strictly after the first up to the second.
    let lo = ((n as f64 * 0.1).floor() as usize).min(n - 1);
    let hi = ((n as f64 * 0.9).ceil() as usize).clamp(1, n) - 1;
    let steady_pods_s = if hi > lo {
        per_s((hi - lo) as f64, binds[hi] - binds[lo])
    } else {
        0.0
    };
    Rates {
        bound_pods_s: per_s(n as f64, last),
        steady_pods_s,
        created_pods_s,
        wall_s: round3(last),
    }
}

/// Creation → binding in ms for every pod that has both times (a binding seen before its
/// creation was acknowledged counts as 0).
pub fn bind_latencies_ms(
    acks: &HashMap<String, f64>,
    binds: &HashMap<String, f64>,
) -> LatencySummary {
    let samples: Vec<f64> = binds
        .iter()
        .filter_map(|(name, b)| acks.get(name).map(|a| ((b - a) * 1000.0).max(0.0)))
        .collect();
    LatencySummary::from_samples_ms(&samples)
}

#[derive(Clone, Debug, Serialize)]
pub struct KillRound {
    pub round: usize,
    pub victim: u64,
    pub old_term: u64,
    pub new_leader: u64,
    pub new_term: u64,
    /// Kill → new leader seen (ms).
    pub elected_ms: f64,
    /// Kill → first binding by the new leader (ms), if any within the round's time.
    pub resumed_ms: Option<f64>,
    /// Pods of the round bound before the kill took effect (by the old leader).
    pub bound_by_old_leader: usize,
    pub pods: usize,
    pub error: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ScheduleBenchReport {
    pub summary: &'static str,
    pub nodes: u32,
    pub pods: usize,
    pub batch: usize,
    pub pod_cpu: String,
    pub nodes_ready_s: f64,
    /// Pods whose Batch call was acknowledged.
    pub created: usize,
    /// Pods of the run seen bound, including those of Batch calls that failed ambiguously
    /// (timed out, yet applied): `bound_unacked` of them, which have no creation time.
    pub bound: usize,
    pub bound_unacked: usize,
    pub rates: Rates,
    pub create_to_bind: LatencySummary,
    pub errors: u64,
    pub first_error: Option<String>,
    pub target_pods_s: f64,
    pub meets_target: bool,
    pub kill_rounds: Vec<KillRound>,
    pub resumed_p50_ms: Option<f64>,
    pub resumed_p99_ms: Option<f64>,
    pub data_root: Option<String>,
}

/// One binding seen on a watch.
#[derive(Clone, Copy, Debug)]
struct Seen {
    at: Instant,
    revision: u64,
}

/// Bindings seen by name (first one wins), shared with the watch tasks.
type Bindings = Arc<Mutex<HashMap<String, Seen>>>;

#[derive(Deserialize)]
struct PodLite {
    metadata: MetaLite,
    #[serde(default)]
    spec: Option<SpecLite>,
}
#[derive(Deserialize)]
struct MetaLite {
    #[serde(default)]
    name: String,
    #[serde(default, rename = "resourceVersion")]
    resource_version: String,
}
#[derive(Deserialize)]
struct SpecLite {
    #[serde(default, rename = "nodeName")]
    node_name: Option<String>,
}

pub(crate) fn channel(ep: &str, timeout: Option<Duration>) -> anyhow::Result<Channel> {
    let mut e = Endpoint::from_shared(ep.to_string())?
        .connect_timeout(Duration::from_secs(2))
        .tcp_nodelay(true);
    if let Some(t) = timeout {
        e = e.timeout(t);
    }
    Ok(e.connect_lazy())
}

pub(crate) fn objects(ch: &Channel) -> ObjectsClient<Channel> {
    ObjectsClient::new(ch.clone())
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE)
}

/// Follows pods of `namespace` from revision `from` on the endpoints in turn (next one on any
/// error, resuming after the last revision seen), recording the first binding of every pod
/// whose name starts with `prefix`, until `deadline`.
async fn watch_bindings(
    endpoints: Vec<String>,
    first: usize,
    namespace: String,
    prefix: String,
    from: u64,
    seen: Bindings,
    deadline: Instant,
) {
    let mut rv = from;
    let mut i = first;
    while Instant::now() < deadline {
        let ep = &endpoints[i % endpoints.len()];
        i += 1;
        let Ok(ch) = channel(ep, None) else {
            tokio::time::sleep(WATCH_RETRY).await;
            continue;
        };
        let req = WatchRequest {
            resource: "pods".into(),
            namespace: namespace.clone(),
            resource_version: rv.to_string(),
            ..Default::default()
        };
        let stream = tokio::time::timeout_at(deadline, objects(&ch).watch(req)).await;
        let Ok(Ok(stream)) = stream else {
            tokio::time::sleep(WATCH_RETRY).await;
            continue;
        };
        let mut stream = stream.into_inner();
        loop {
            let msg = tokio::time::timeout_at(deadline, stream.message()).await;
            let Ok(Ok(Some(ev))) = msg else {
                break;
            };
            let at = Instant::now();
            if ev.r#type == "BOOKMARK" || ev.r#type == "DELETED" {
                continue;
            }
            let Ok(pod) = serde_json::from_slice::<PodLite>(&ev.object) else {
                continue;
            };
            let revision = pod.metadata.resource_version.parse().unwrap_or(0);
            rv = rv.max(revision);
            let bound = pod
                .spec
                .and_then(|s| s.node_name)
                .is_some_and(|n| !n.is_empty());
            if bound && pod.metadata.name.starts_with(&prefix) {
                let mut m = seen.lock().unwrap_or_else(|p| p.into_inner());
                m.entry(pod.metadata.name).or_insert(Seen { at, revision });
            }
        }
        tokio::time::sleep(WATCH_RETRY).await;
    }
}

fn pod(name: &str, cpu: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "sched-bench"}},
        "spec": {"containers": [{"name": "app", "image": "registry.local/app:1",
            "resources": {"requests": {"cpu": cpu, "memory": "8Mi"}}}]}
    })
}

/// Creates `names` in Batch calls of `batch`, `concurrency` at once, spread over `clients`;
/// returns the ack time of every created pod, the failed-call count and the first error.
async fn create_pods(
    clients: &[ObjectsClient<Channel>],
    names: Vec<String>,
    cpu: &str,
    batch: usize,
    concurrency: usize,
    deadline: Instant,
) -> (HashMap<String, Instant>, u64, Option<String>) {
    let mut acks = HashMap::with_capacity(names.len());
    let (mut errors, mut first_error) = (0u64, None);
    let mut chunks = names.chunks(batch.max(1)).map(<[String]>::to_vec);
    let mut in_flight: JoinSet<(Vec<String>, anyhow::Result<()>)> = JoinSet::new();
    let mut k = 0usize;
    loop {
        while in_flight.len() < concurrency.max(1) && Instant::now() < deadline {
            let Some(chunk) = chunks.next() else {
                break;
            };
            let mut client = clients[k % clients.len()].clone();
            k += 1;
            let writes = chunk
                .iter()
                .map(|n| BatchWrite {
                    write: Some(batch_write::Write::Create(CreateRequest {
                        namespace: "default".into(),
                        object: pod(n, cpu).to_string().into_bytes(),
                        dry_run: false,
                    })),
                })
                .collect();
            in_flight.spawn(async move {
                let r = client.batch(BatchRequest { writes }).await;
                (chunk, r.map(|_| ()).map_err(anyhow::Error::from))
            });
        }
        let Some(done) = in_flight.join_next().await else {
            break;
        };
        let at = Instant::now();
        match done {
            Ok((chunk, Ok(()))) => {
                for n in chunk {
                    acks.insert(n, at);
                }
            }
            Ok((_, Err(e))) => {
                errors += 1;
                first_error.get_or_insert_with(|| format!("{e:#}"));
            }
            Err(e) => {
                errors += 1;
                first_error.get_or_insert_with(|| format!("batch task: {e}"));
            }
        }
    }
    (acks, errors, first_error)
}

pub(crate) async fn wait_for_default_namespace(
    ch: &Channel,
    deadline: Instant,
) -> anyhow::Result<()> {
    loop {
        let r = objects(ch)
            .get(GetRequest {
                resource: "namespaces".into(),
                namespace: String::new(),
                name: "default".into(),
            })
            .await;
        match r {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() > deadline => {
                anyhow::bail!("namespace default never appeared: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Ready nodes named `<prefix>-…`, and the list's revision.
pub(crate) async fn ready_nodes(ch: &Channel, prefix: &str) -> anyhow::Result<(usize, u64)> {
    let list = objects(ch)
        .list(ListRequest {
            resource: "nodes".into(),
            resource_version: "0".into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let want = format!("{prefix}-");
    let mut ready = 0;
    for item in &list.items {
        let node: Value = serde_json::from_slice(item)?;
        let name = node.pointer("/metadata/name").and_then(Value::as_str);
        if !name.is_some_and(|n| n.starts_with(&want)) {
            continue;
        }
        let is_ready = node
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            });
        ready += usize::from(is_ready);
    }
    Ok((ready, list.resource_version.parse().unwrap_or(0)))
}

fn secs_since(t0: Instant, t: Instant) -> f64 {
    t.saturating_duration_since(t0).as_secs_f64()
}

/// Runs the benchmark; `progress` gets one line per step.
pub async fn run_schedule_bench(
    args: &ScheduleBenchArgs,
    mut progress: impl FnMut(String),
) -> anyhow::Result<ScheduleBenchReport> {
    anyhow::ensure!(
        args.nodes > 0 && args.pods > 0,
        "--nodes and --pods must be positive"
    );
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    let given = parse_endpoints(&args.endpoints)?;
    anyhow::ensure!(
        given.is_empty() || args.kill_leader_rounds == 0,
        "--kill-leader-rounds needs a cell launched by the bench (no --endpoints)"
    );
    let temp = tempfile::Builder::new()
        .prefix("keel-bench-schedule-")
        .tempdir()?;
    let root = args
        .data_root
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&root)?;
    let mut cluster = None;
    let endpoints = if given.is_empty() {
        let opts = ClusterOptions {
            root: Some(root.join("keel")),
            rust_log: Some(args.server_log.clone()),
            extra_args: vec!["--cluster-cidr".into(), args.cluster_cidr.clone()],
            heartbeat_ms: args.heartbeat_ms,
            election_timeout_ms: args.election_timeout_ms,
            ..Default::default()
        };
        let c = cluster.insert(LocalCluster::start(opts).await?);
        progress(format!("cell up under {}", c.root().display()));
        c.endpoints()
    } else {
        given
    };
    let servers: Vec<String> = endpoints
        .iter()
        .map(|e| e.trim_start_matches("http://").to_string())
        .collect();
    let channels: Vec<Channel> = endpoints
        .iter()
        .map(|e| channel(e, Some(Duration::from_secs(60))))
        .collect::<anyhow::Result<_>>()?;
    wait_for_default_namespace(&channels[0], deadline).await?;

    // The hollow nodes.
    let agent_bin = find_binary("keel-agent")?;
    let agent_args: Vec<String> = [
        "--node-name",
        &args.node_prefix,
        "--runtime",
        "fake",
        "--hollow-nodes",
        &args.nodes.to_string(),
        "--servers",
        &servers.join(","),
        "--cpu",
        &args.node_cpu,
        "--max-pods",
        &args.node_max_pods.to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut agent = ChildProcess::spawn(
        "keel-agent",
        &agent_bin,
        &agent_args,
        &[("RUST_LOG".into(), args.agent_log.clone())],
        &root.join("agent.log"),
    )?;
    progress(format!(
        "keel-agent pid {} with {} hollow nodes (log {})",
        agent.pid(),
        args.nodes,
        root.join("agent.log").display()
    ));
    let t_agent = Instant::now();
    let mut last_ready = usize::MAX;
    let start_rv = loop {
        if let Some(status) = agent.try_exit_status() {
            anyhow::bail!("keel-agent exited while nodes registered: {status}");
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {last_ready} of {} nodes Ready before the timeout",
            args.nodes
        );
        match ready_nodes(&channels[0], &args.node_prefix).await {
            Ok((n, rv)) if n >= args.nodes as usize => break rv,
            Ok((n, _)) => {
                if n != last_ready {
                    progress(format!(
                        "{n}/{} nodes Ready after {:.1} s",
                        args.nodes,
                        t_agent.elapsed().as_secs_f64()
                    ));
                }
                last_ready = n;
            }
            Err(e) => progress(format!("listing nodes: {e:#}")),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let nodes_ready_s = round3(t_agent.elapsed().as_secs_f64());
    progress(format!(
        "{} nodes Ready after {nodes_ready_s} s",
        args.nodes
    ));

    // Watch from the node list's revision (no pod of this run exists before it).
    let run_id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let prefix = format!("sched-{run_id}-");
    let seen: Bindings = Arc::default();
    let watch_first = endpoints.len().saturating_sub(1);
    let watcher = tokio::spawn(watch_bindings(
        endpoints.clone(),
        watch_first,
        "default".into(),
        prefix.clone(),
        start_rv,
        seen.clone(),
        deadline,
    ));
    // Let the watch open before the first create.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let clients: Vec<_> = channels.iter().map(objects).collect();
    let names: Vec<String> = (0..args.pods).map(|i| format!("{prefix}{i}")).collect();
    let t0 = Instant::now();
    let (acks, mut errors, mut first_error) = create_pods(
        &clients,
        names.clone(),
        &args.pod_cpu,
        args.batch,
        args.concurrency,
        deadline,
    )
    .await;
    progress(format!(
        "{} pods created in {:.2} s ({errors} failed Batch calls)",
        acks.len(),
        t0.elapsed().as_secs_f64()
    ));
    // Wait for every created pod's binding.
    let mut last_count = 0;
    let mut last_change = Instant::now();
    loop {
        let n = {
            let m = seen.lock().unwrap_or_else(|p| p.into_inner());
            acks.keys().filter(|k| m.contains_key(*k)).count()
        };
        if n >= acks.len() {
            break;
        }
        if n != last_count {
            last_count = n;
            last_change = Instant::now();
        }
        if Instant::now() >= deadline {
            first_error.get_or_insert_with(|| format!("timeout: {n} of {} pods bound", acks.len()));
            errors += 1;
            break;
        }
        if last_change.elapsed() > Duration::from_secs(5) {
            progress(format!(
                "{n}/{} bound after {:.1} s",
                acks.len(),
                t0.elapsed().as_secs_f64()
            ));
            last_change = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (ack_secs, bind_secs) = {
        let m = seen.lock().unwrap_or_else(|p| p.into_inner());
        let acks_s: HashMap<String, f64> = acks
            .iter()
            .map(|(k, t)| (k.clone(), secs_since(t0, *t)))
            .collect();
        let binds_s: HashMap<String, f64> = names
            .iter()
            .filter_map(|n| m.get(n).map(|s| (n.clone(), secs_since(t0, s.at))))
            .collect();
        (acks_s, binds_s)
    };
    let ack_list: Vec<f64> = ack_secs.values().copied().collect();
    let bind_list: Vec<f64> = bind_secs.values().copied().collect();
    let r = rates(&ack_list, &bind_list);
    let lat = bind_latencies_ms(&ack_secs, &bind_secs);
    progress(format!(
        "bound {} pods: {} pods/s overall, {} pods/s steady, create→bind p50 {} ms p99 {} ms",
        bind_list.len(),
        r.bound_pods_s,
        r.steady_pods_s,
        lat.p50_ms,
        lat.p99_ms
    ));

    // Leader kills.
    let mut kill_rounds = Vec::new();
    if let Some(c) = cluster.as_ref() {
        for k in 0..args.kill_leader_rounds {
            if Instant::now() >= deadline {
                break;
            }
            let round = kill_round(c, args, &clients, &prefix, &seen, k, deadline).await;
            match round {
                Ok(kr) => {
                    progress(format!(
                        "kill {k}: leader {} (term {}) → new leader {} after {} ms → scheduling resumed after {:?} ms ({} of {} pods bound by the old leader){}",
                        kr.victim, kr.old_term, kr.new_leader, kr.elected_ms, kr.resumed_ms,
                        kr.bound_by_old_leader, kr.pods,
                        kr.error.as_deref().map(|e| format!(" error: {e}")).unwrap_or_default()
                    ));
                    kill_rounds.push(kr);
                }
                Err(e) => {
                    progress(format!("kill {k}: aborted: {e:#}"));
                    errors += 1;
                    first_error.get_or_insert_with(|| format!("kill {k}: {e:#}"));
                    break;
                }
            }
        }
    }
    let resumed: Vec<f64> = kill_rounds.iter().filter_map(|k| k.resumed_ms).collect();
    let resumed_lat = LatencySummary::from_samples_ms(&resumed);

    watcher.abort();
    let _ = agent.kill().await;
    if let Some(c) = cluster.take() {
        c.teardown();
    }
    let bound = bind_list.len();
    let bound_unacked = bind_secs
        .keys()
        .filter(|n| !ack_secs.contains_key(*n))
        .count();
    Ok(ScheduleBenchReport {
        summary: "schedule",
        nodes: args.nodes,
        pods: args.pods,
        batch: args.batch,
        pod_cpu: args.pod_cpu.clone(),
        nodes_ready_s,
        created: acks.len(),
        bound,
        bound_unacked,
        rates: r,
        create_to_bind: lat,
        errors,
        first_error,
        target_pods_s: TARGET_PODS_S,
        meets_target: r.bound_pods_s >= TARGET_PODS_S && errors == 0 && bound == args.pods,
        resumed_p50_ms: (!resumed.is_empty()).then_some(resumed_lat.p50_ms),
        resumed_p99_ms: (!resumed.is_empty()).then_some(resumed_lat.p99_ms),
        kill_rounds,
        data_root: args.data_root.as_ref().map(|p| p.display().to_string()),
    })
}

/// One leader kill with pods pending; the victim is restarted and caught up before returning.
async fn kill_round(
    cluster: &LocalCluster,
    args: &ScheduleBenchArgs,
    clients: &[ObjectsClient<Channel>],
    prefix: &str,
    seen: &Bindings,
    k: usize,
    deadline: Instant,
) -> anyhow::Result<KillRound> {
    let view = crate::wait_until(Duration::from_secs(30), "an agreed leader", async || {
        cluster.current_leader().await
    })
    .await?;
    let victim = view.leader_id;
    let ids = cluster.ids();
    let leader_client = clients[ids.iter().position(|i| *i == victim).unwrap_or(0)].clone();
    let names: Vec<String> = (0..args.pods_per_kill_round)
        .map(|i| format!("{prefix}k{k}-{i}"))
        .collect();
    // All of the round's pods in one Batch to the leader, then the kill at once.
    let (acks, errs, err) = create_pods(
        std::slice::from_ref(&leader_client),
        names.clone(),
        &args.pod_cpu,
        names.len(),
        1,
        deadline,
    )
    .await;
    anyhow::ensure!(errs == 0, "creating the round's pods: {err:?}");
    let t_kill = Instant::now();
    cluster.kill(victim).await?;
    let killed = Instant::now();
    // The new leader, and the revision it had applied when first seen leading.
    let mut elected = None;
    let round_deadline = (killed + Duration::from_secs(60)).min(deadline);
    while Instant::now() < round_deadline {
        for (id, st) in cluster.statuses().await {
            if let Ok(st) = st {
                if id != victim && st.state == "leader" && st.term > view.term {
                    elected = Some((id, st.term, st.revision, Instant::now()));
                }
            }
        }
        if elected.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let Some((new_leader, new_term, rev_new, t_elected)) = elected else {
        anyhow::bail!("no new leader within 60 s of the kill");
    };
    let resumed;
    let mut error = None;
    loop {
        let (first_new, all) = {
            let m = seen.lock().unwrap_or_else(|p| p.into_inner());
            let first_new = names
                .iter()
                .filter_map(|n| m.get(n))
                .filter(|s| s.revision > rev_new)
                .map(|s| s.at)
                .min();
            (first_new, names.iter().all(|n| m.contains_key(n)))
        };
        if all {
            resumed = first_new;
            break;
        }
        if Instant::now() >= round_deadline {
            resumed = first_new;
            error = Some("not every pod of the round was bound in time".to_string());
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let bound_by_old_leader = {
        let m = seen.lock().unwrap_or_else(|p| p.into_inner());
        names
            .iter()
            .filter_map(|n| m.get(n))
            .filter(|s| s.revision <= rev_new)
            .count()
    };
    if resumed.is_none() && error.is_none() {
        error = Some("every pod was bound by the old leader: nothing pending at the kill".into());
    }
    let _ = acks;
    cluster.restart(victim).await?;
    cluster
        .wait_caught_up(victim, Duration::from_secs(60))
        .await
        .context("restarted victim catching up")?;
    cluster
        .wait_for_leader(Duration::from_secs(30), None)
        .await?;
    let ms = |t: Instant| round3(t.saturating_duration_since(t_kill).as_secs_f64() * 1000.0);
    Ok(KillRound {
        round: k,
        victim,
        old_term: view.term,
        new_leader,
        new_term,
        elected_ms: ms(t_elected),
        resumed_ms: resumed.map(ms),
        bound_by_old_leader,
        pods: names.len(),
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_overall_steady_and_created() {
        // 100 pods acknowledged over the first second, bound one every 10 ms from 0.01 to 1.0 s.
        let acks: Vec<f64> = (1..=100).map(|i| i as f64 / 100.0).collect();
        let binds: Vec<f64> = (1..=100).rev().map(|i| i as f64 / 100.0).collect();
        let r = rates(&acks, &binds);
        assert_eq!(r.wall_s, 1.0);
        assert_eq!(r.bound_pods_s, 100.0);
        assert_eq!(r.created_pods_s, 100.0);
        // Ranks 10 and 89 (0-based): 79 bindings in 0.79 s.
        assert!((r.steady_pods_s - 100.0).abs() < 1e-6, "{r:?}");
    }

    #[test]
    fn steady_rate_ignores_a_slow_tail() {
        // 90 bindings in the first 0.9 s, then 10 more spread to 10 s.
        let mut binds: Vec<f64> = (1..=90).map(|i| i as f64 / 100.0).collect();
        binds.extend((1..=10).map(|i| i as f64));
        let r = rates(&[0.5], &binds);
        assert_eq!(r.bound_pods_s, 10.0);
        assert!(r.steady_pods_s > 99.0 && r.steady_pods_s < 101.0, "{r:?}");
        assert_eq!(r.wall_s, 10.0);
    }

    #[test]
    fn rates_of_nothing_are_zero() {
        assert_eq!(rates(&[], &[]), Rates::default());
        let one = rates(&[0.1], &[0.2]);
        assert_eq!(one.bound_pods_s, 5.0);
        assert_eq!(one.steady_pods_s, 0.0);
    }

    #[test]
    fn latencies_pair_by_name_and_clamp_at_zero() {
        let acks: HashMap<String, f64> = (0..100).map(|i| (format!("p{i}"), 1.0)).collect();
        let mut binds: HashMap<String, f64> = (0..100)
            .map(|i| (format!("p{i}"), 1.0 + (i + 1) as f64 / 1000.0))
            .collect();
        // Seen before its ack: 0 ms. And a binding of a pod never acknowledged is ignored.
        binds.insert("p0".into(), 0.5);
        binds.insert("stranger".into(), 99.0);
        let s = bind_latencies_ms(&acks, &binds);
        assert_eq!(s.count, 100);
        assert_eq!(s.p50_ms, 50.0);
        assert_eq!(s.p99_ms, 99.0);
        assert_eq!(s.max_ms, 100.0);
    }
}
