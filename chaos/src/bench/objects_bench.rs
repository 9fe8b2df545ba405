//! `keel-bench objects`: a create/update/get mix of Pod objects through the Objects API of a
//! 3-replica cell, paced open-loop at a target total rate (latency counted from each request's
//! scheduled start, so a stalled server is not hidden by clients waiting on it), or closed-loop
//! with `--rate 0`. Each client owns its pods, so updates never conflict; every update sends the
//! resourceVersion it last saw (optimistic concurrency on every write).

use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use keel_proto::objects::objects_client::ObjectsClient;
use keel_proto::objects::{CreateRequest, GetRequest, UpdateRequest};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::Serialize;
use serde_json::{json, Value};
use tonic::transport::{Channel, Endpoint};

use super::endpoints::parse_endpoints;
use super::latency::{new_histogram, record, round3, LatencySummary};
use crate::{ClusterOptions, LocalCluster};

/// The mutating p99 target (ms) at the target rate.
const P99_TARGET_MS: f64 = 50.0;

#[derive(clap::Args, Clone, Debug)]
pub struct ObjectsBenchArgs {
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// Total requests per second over all clients (open loop); 0 = as fast as possible.
    #[arg(long, default_value_t = 1250.0)]
    pub rate: f64,
    /// Percent of requests that create a pod, update one, and get one.
    #[arg(long, default_value = "40,40,20", value_delimiter = ',')]
    pub mix: Vec<u32>,
    #[arg(long, default_value_t = 20)]
    pub duration_secs: u64,
    #[arg(long, default_value_t = 2000)]
    pub warmup_ms: u64,
    #[arg(long, default_value_t = 5000)]
    pub request_timeout_ms: u64,
    /// A running cell (default: launch a 3-replica cell).
    #[arg(long, value_delimiter = ',')]
    pub endpoints: Vec<String>,
    #[arg(long)]
    pub data_root: Option<std::path::PathBuf>,
    #[arg(long, default_value = "warn")]
    pub server_log: String,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ObjectsBenchReport {
    pub summary: &'static str,
    pub clients: usize,
    pub target_rate: f64,
    pub achieved_ops_s: f64,
    pub mutating_ops_s: f64,
    pub mutating: LatencySummary,
    pub create: LatencySummary,
    pub update: LatencySummary,
    pub get: LatencySummary,
    pub errors: u64,
    pub first_error: Option<String>,
    pub p99_target_ms: f64,
    pub meets_target: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum OpKind {
    Create,
    Update,
    Get,
}

struct WorkerResult {
    create: Histogram<u64>,
    update: Histogram<u64>,
    get: Histogram<u64>,
    errors: u64,
    first_error: Option<String>,
}

pub async fn run_objects_bench(args: &ObjectsBenchArgs) -> anyhow::Result<ObjectsBenchReport> {
    anyhow::ensure!(args.clients > 0, "--clients must be positive");
    anyhow::ensure!(
        args.mix.len() == 3 && args.mix.iter().sum::<u32>() == 100,
        "--mix must be three percentages (create,update,get) adding up to 100"
    );
    let endpoints = parse_endpoints(&args.endpoints)?;
    let temp = tempfile::Builder::new()
        .prefix("keel-bench-objects-")
        .tempdir()?;
    let mut cluster = None;
    let endpoints = if endpoints.is_empty() {
        let opts = ClusterOptions {
            root: Some(
                args.data_root
                    .clone()
                    .unwrap_or_else(|| temp.path().to_path_buf())
                    .join("keel"),
            ),
            rust_log: Some(args.server_log.clone()),
            ..Default::default()
        };
        let c = cluster.insert(LocalCluster::start(opts).await?);
        c.endpoints()
    } else {
        endpoints
    };
    let mut channels = Vec::new();
    for ep in &endpoints {
        let ch = Endpoint::from_shared(ep.clone())?
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_millis(args.request_timeout_ms))
            .tcp_nodelay(true)
            .connect()
            .await
            .with_context(|| format!("connecting to {ep}"))?;
        channels.push(ch);
    }
    wait_for_default_namespace(&channels[0]).await?;
    eprintln!(
        "keel-bench: objects, {} clients, rate {} ops/s, {} s",
        args.clients, args.rate, args.duration_secs
    );
    let warmup = Duration::from_millis(args.warmup_ms);
    let measure = Duration::from_secs(args.duration_secs);
    let start = Instant::now() + Duration::from_millis(100);
    let interval =
        (args.rate > 0.0).then(|| Duration::from_secs_f64(args.clients as f64 / args.rate));
    let mut tasks = Vec::new();
    for w in 0..args.clients {
        let client = ObjectsClient::new(channels[w % channels.len()].clone());
        let mix = [args.mix[0], args.mix[1]];
        let seed = args.seed.wrapping_mul(1_000_003).wrapping_add(w as u64);
        // Stagger the workers' schedules across one interval.
        let offset = interval.map_or(Duration::ZERO, |i| {
            i.mul_f64(w as f64 / args.clients as f64)
        });
        tasks.push(tokio::spawn(worker(
            w,
            client,
            mix,
            seed,
            start + offset,
            interval,
            warmup,
            measure,
        )));
    }
    let mut create = new_histogram();
    let mut update = new_histogram();
    let mut get = new_histogram();
    let (mut errors, mut first_error) = (0, None);
    for t in tasks {
        let r = t.await?;
        create.add(&r.create)?;
        update.add(&r.update)?;
        get.add(&r.get)?;
        errors += r.errors;
        first_error = first_error.or(r.first_error);
    }
    let mut mutating = create.clone();
    mutating.add(&update)?;
    let secs = measure.as_secs_f64();
    let mutating_summary = LatencySummary::from_histogram(&mutating);
    let report = ObjectsBenchReport {
        summary: "objects",
        clients: args.clients,
        target_rate: args.rate,
        achieved_ops_s: round3((mutating.len() + get.len()) as f64 / secs),
        mutating_ops_s: round3(mutating.len() as f64 / secs),
        mutating: mutating_summary,
        create: LatencySummary::from_histogram(&create),
        update: LatencySummary::from_histogram(&update),
        get: LatencySummary::from_histogram(&get),
        errors,
        first_error,
        p99_target_ms: P99_TARGET_MS,
        meets_target: mutating_summary.p99_ms <= P99_TARGET_MS
            && mutating.len() as f64 / secs >= 1000.0 * 0.98
            && errors == 0,
    };
    drop(cluster);
    Ok(report)
}

async fn wait_for_default_namespace(channel: &Channel) -> anyhow::Result<()> {
    let mut c = ObjectsClient::new(channel.clone());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = c
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

fn pod(worker: usize, n: u64) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("bench-{worker}-{n}"), "namespace": "default",
            "labels": {"app": "bench", "worker": worker.to_string()}},
        "spec": {"containers": [{"name": "app", "image": "registry.local/app:1",
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}
    })
}

#[allow(clippy::too_many_arguments)]
async fn worker(
    id: usize,
    mut client: ObjectsClient<Channel>,
    mix: [u32; 2],
    seed: u64,
    start: Instant,
    interval: Option<Duration>,
    warmup: Duration,
    measure: Duration,
) -> WorkerResult {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut owned: Vec<Value> = Vec::new();
    let mut created = 0u64;
    let mut out = WorkerResult {
        create: new_histogram(),
        update: new_histogram(),
        get: new_histogram(),
        errors: 0,
        first_error: None,
    };
    let measured_from = start + warmup;
    let end = measured_from + measure;
    let mut next = start;
    loop {
        if interval.is_some() {
            let now = Instant::now();
            if next > now {
                tokio::time::sleep_until(next.into()).await;
            }
        }
        let scheduled = if interval.is_some() {
            next
        } else {
            Instant::now()
        };
        if scheduled >= end {
            break;
        }
        let roll = rng.random_range(0..100);
        let kind = if owned.is_empty() || roll < mix[0] {
            OpKind::Create
        } else if roll < mix[0] + mix[1] {
            OpKind::Update
        } else {
            OpKind::Get
        };
        let result: anyhow::Result<()> = async {
            match kind {
                OpKind::Create => {
                    let obj = pod(id, created);
                    created += 1;
                    let r = client
                        .create(CreateRequest {
                            namespace: String::new(),
                            object: obj.to_string().into_bytes(),
                            dry_run: false,
                        })
                        .await?;
                    owned.push(serde_json::from_slice(&r.into_inner().object)?);
                }
                OpKind::Update => {
                    let i = rng.random_range(0..owned.len());
                    let mut obj = owned[i].clone();
                    obj["metadata"]["labels"]["round"] = json!(rng.random::<u32>().to_string());
                    let r = client
                        .update(UpdateRequest {
                            namespace: String::new(),
                            object: obj.to_string().into_bytes(),
                            dry_run: false,
                        })
                        .await?;
                    owned[i] = serde_json::from_slice(&r.into_inner().object)?;
                }
                OpKind::Get => {
                    let i = rng.random_range(0..owned.len());
                    let name = owned[i]["metadata"]["name"]
                        .as_str()
                        .unwrap_or("")
                        .to_string();
                    client
                        .get(GetRequest {
                            resource: "pods".into(),
                            namespace: "default".into(),
                            name,
                        })
                        .await?;
                }
            }
            Ok(())
        }
        .await;
        let done = Instant::now();
        if scheduled >= measured_from {
            match result {
                Ok(()) => {
                    let hist = match kind {
                        OpKind::Create => &mut out.create,
                        OpKind::Update => &mut out.update,
                        OpKind::Get => &mut out.get,
                    };
                    record(hist, done.saturating_duration_since(scheduled));
                }
                Err(e) => {
                    out.errors += 1;
                    out.first_error.get_or_insert_with(|| format!("{e:#}"));
                }
            }
        }
        if let Some(i) = interval {
            next += i;
        }
    }
    out
}
