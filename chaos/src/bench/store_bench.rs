//! `keel-bench store`: for each backend (Keel, etcd) and each client count, the closed-loop store
//! workload; launches the systems itself unless given endpoints; measures one fdatasync on the
//! data disk; ends with a summary holding the Keel / etcd throughput ratios.

use std::{path::PathBuf, time::Duration};

use serde::Serialize;

use super::{
    endpoints::parse_endpoints,
    etcd_backend::EtcdBackend,
    etcd_cluster::{ensure_etcd, EtcdCluster},
    fsync_probe::{measure_fdatasync, FsyncReport},
    keel_backend::KeelBackend,
    kv_backend::KvBackend,
    latency::round3,
    store_workload::{StoreWorkload, WorkloadResult},
};
use crate::{ClusterOptions, LocalCluster};

/// The single-client commit latency target, as a multiple of one fdatasync.
const SINGLE_CLIENT_TARGET: f64 = 1.5;

/// A system to measure.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Keel,
    Etcd,
}

/// `keel-bench store` options.
#[derive(clap::Args, Clone, Debug)]
pub struct StoreBenchArgs {
    /// Client counts to run, each a separate run.
    #[arg(long, value_delimiter = ',', default_value = "1,256")]
    pub clients: Vec<usize>,
    /// Bytes per value.
    #[arg(long, default_value_t = 1024)]
    pub value_size: usize,
    /// Measured seconds per run (after the warm-up).
    #[arg(long, default_value_t = 10)]
    pub duration_secs: u64,
    /// Warm-up per run, not measured.
    #[arg(long, default_value_t = 1000)]
    pub warmup_ms: u64,
    /// Number of distinct keys written.
    #[arg(long, default_value_t = 10_000)]
    pub keys: u64,
    /// Fraction of requests that are linearizable reads.
    #[arg(long, default_value_t = 0.0)]
    pub read_fraction: f64,
    /// Systems to measure, in order.
    #[arg(long, value_delimiter = ',', default_value = "keel,etcd")]
    pub backend: Vec<Backend>,
    /// A running Keel cell (default: launch a 3-replica cell).
    #[arg(long, value_delimiter = ',')]
    pub keel_endpoints: Vec<String>,
    /// A running etcd cluster (default: launch a 3-member etcd).
    #[arg(long, value_delimiter = ',')]
    pub etcd_endpoints: Vec<String>,
    /// HTTP/2 connections per endpoint (clients are spread over them).
    #[arg(long, default_value_t = 1)]
    pub conns_per_endpoint: usize,
    /// Time limit of one request (a timeout counts as an error).
    #[arg(long, default_value_t = 5000)]
    pub request_timeout_ms: u64,
    /// Where launched systems keep their data and the fdatasync probe writes (a fresh temporary
    /// directory is made inside; default: the system temp dir).
    #[arg(long)]
    pub data_root: Option<PathBuf>,
    /// Keep the launched systems' data dirs and logs.
    #[arg(long)]
    pub keep_data: bool,
    /// fdatasync samples.
    #[arg(long, default_value_t = 200)]
    pub fsync_samples: usize,
    /// Seed of the workers' key choices.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// `RUST_LOG` for launched Keel replicas.
    #[arg(long, default_value = "warn")]
    pub server_log: String,
}

/// Keel against etcd at one client count.
#[derive(Clone, Debug, Serialize)]
pub struct Ratio {
    pub clients: usize,
    pub keel_ops_s: f64,
    pub etcd_ops_s: f64,
    pub keel_over_etcd: f64,
}

/// Keel's single-client commit latency against one fdatasync.
#[derive(Clone, Debug, Serialize)]
pub struct SingleClient {
    pub keel_p50_ms: f64,
    pub fdatasync_median_ms: f64,
    pub keel_over_fdatasync: f64,
    /// The same against fdatasync measured with a busy CPU (see `fsync_probe`).
    pub fdatasync_busy_cpu_median_ms: f64,
    pub keel_over_fdatasync_busy_cpu: f64,
    pub target: f64,
    pub meets_target: bool,
}

/// The final summary line.
#[derive(Clone, Debug, Serialize)]
pub struct StoreBenchSummary {
    pub summary: &'static str,
    pub fdatasync: Option<FsyncReport>,
    pub results: Vec<WorkloadResult>,
    pub ratios: Vec<Ratio>,
    pub single_client: Option<SingleClient>,
    /// Backends not measured, and why (e.g. etcd not installed).
    pub skipped: Vec<String>,
    /// Backends that failed, and why.
    pub failed: Vec<String>,
    pub data_root: String,
}

/// Runs every (backend, clients) combination; `on_result` gets each result as it is measured.
pub async fn run_store_bench(
    args: &StoreBenchArgs,
    mut on_result: impl FnMut(&WorkloadResult),
) -> anyhow::Result<StoreBenchSummary> {
    anyhow::ensure!(!args.clients.is_empty(), "--clients is empty");
    anyhow::ensure!(
        args.clients.iter().all(|c| *c > 0),
        "--clients must be positive"
    );
    anyhow::ensure!(args.duration_secs > 0, "--duration-secs must be positive");
    let keel_endpoints = parse_endpoints(&args.keel_endpoints)?;
    let etcd_endpoints = parse_endpoints(&args.etcd_endpoints)?;
    let mut builder = tempfile::Builder::new();
    builder.prefix("keel-bench-");
    let temp = match &args.data_root {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            builder.tempdir_in(dir)?
        }
        None => builder.tempdir()?,
    };
    let root = temp.path().to_path_buf();
    eprintln!("keel-bench: data root {}", root.display());

    let probe_dir = root.clone();
    let samples = args.fsync_samples;
    let fdatasync =
        tokio::task::spawn_blocking(move || measure_fdatasync(&probe_dir, samples)).await??;
    eprintln!(
        "keel-bench: fdatasync median {} ms, {} ms with a busy CPU ({samples} samples)",
        fdatasync.median_ms, fdatasync.busy_cpu_median_ms
    );

    let mut summary = StoreBenchSummary {
        summary: "store",
        fdatasync: Some(fdatasync),
        results: Vec::new(),
        ratios: Vec::new(),
        single_client: None,
        skipped: Vec::new(),
        failed: Vec::new(),
        data_root: root.display().to_string(),
    };
    for backend in &args.backend {
        let outcome = match backend {
            Backend::Keel => {
                run_keel(args, &keel_endpoints, &root, &mut summary, &mut on_result).await
            }
            Backend::Etcd => {
                run_etcd(args, &etcd_endpoints, &root, &mut summary, &mut on_result).await
            }
        };
        if let Err(err) = outcome {
            eprintln!("keel-bench: {backend:?} failed: {err:#}");
            summary.failed.push(format!("{backend:?}: {err:#}"));
        }
    }
    summarize(&mut summary);
    if args.keep_data {
        let kept = temp.keep();
        eprintln!("keel-bench: kept {}", kept.display());
    }
    Ok(summary)
}

fn workload(args: &StoreBenchArgs, clients: usize) -> StoreWorkload {
    StoreWorkload {
        clients,
        value_size: args.value_size,
        keys: args.keys,
        read_fraction: args.read_fraction,
        warmup: Duration::from_millis(args.warmup_ms),
        duration: Duration::from_secs(args.duration_secs),
        request_timeout: Duration::from_millis(args.request_timeout_ms),
        seed: args.seed,
    }
}

async fn run_all_counts<B: KvBackend>(
    args: &StoreBenchArgs,
    backend: &B,
    summary: &mut StoreBenchSummary,
    on_result: &mut impl FnMut(&WorkloadResult),
) -> anyhow::Result<()> {
    for clients in &args.clients {
        eprintln!(
            "keel-bench: {} with {clients} clients for {} s",
            backend.name(),
            args.duration_secs
        );
        let result = workload(args, *clients).run(backend).await?;
        on_result(&result);
        summary.results.push(result);
    }
    Ok(())
}

async fn run_keel(
    args: &StoreBenchArgs,
    endpoints: &[String],
    root: &std::path::Path,
    summary: &mut StoreBenchSummary,
    on_result: &mut impl FnMut(&WorkloadResult),
) -> anyhow::Result<()> {
    let timeout = Duration::from_millis(args.request_timeout_ms);
    // Declared before the backend so the connections close before the cell stops.
    let mut cluster = None;
    let endpoints = if endpoints.is_empty() {
        let opts = ClusterOptions {
            root: Some(root.join("keel")),
            rust_log: Some(args.server_log.clone()),
            ..Default::default()
        };
        let c = cluster.insert(LocalCluster::start(opts).await?);
        c.endpoints()
    } else {
        endpoints.to_vec()
    };
    let backend = KeelBackend::connect(&endpoints, args.conns_per_endpoint, timeout).await?;
    run_all_counts(args, &backend, summary, on_result).await?;
    drop(backend);
    if let Some(c) = cluster {
        c.teardown();
    }
    Ok(())
}

async fn run_etcd(
    args: &StoreBenchArgs,
    endpoints: &[String],
    root: &std::path::Path,
    summary: &mut StoreBenchSummary,
    on_result: &mut impl FnMut(&WorkloadResult),
) -> anyhow::Result<()> {
    let timeout = Duration::from_millis(args.request_timeout_ms);
    let mut cluster = None;
    let endpoints = if endpoints.is_empty() {
        let etcd = match ensure_etcd().await {
            Ok(path) => path,
            Err(err) => {
                eprintln!("keel-bench: skipping etcd: {err:#}");
                summary.skipped.push(format!("etcd: {err:#}"));
                return Ok(());
            }
        };
        let c = cluster.insert(
            EtcdCluster::start(&etcd, &root.join("etcd"), 3, Duration::from_secs(60)).await?,
        );
        c.endpoints()
    } else {
        endpoints.to_vec()
    };
    let backend = EtcdBackend::connect(&endpoints, args.conns_per_endpoint, timeout).await?;
    run_all_counts(args, &backend, summary, on_result).await?;
    drop(backend);
    if let Some(mut c) = cluster {
        c.stop().await?;
    }
    Ok(())
}

/// Fills the ratios and the single-client comparison from the results.
fn summarize(summary: &mut StoreBenchSummary) {
    let find = |backend: &str, clients: usize| {
        summary
            .results
            .iter()
            .find(|r| r.backend == backend && r.clients == clients)
    };
    let mut ratios = Vec::new();
    for r in summary.results.iter().filter(|r| r.backend == "keel") {
        if let Some(e) = find("etcd", r.clients) {
            let ratio = if e.throughput_ops_s > 0.0 {
                r.throughput_ops_s / e.throughput_ops_s
            } else {
                0.0
            };
            ratios.push(Ratio {
                clients: r.clients,
                keel_ops_s: r.throughput_ops_s,
                etcd_ops_s: e.throughput_ops_s,
                keel_over_etcd: round3(ratio),
            });
        }
    }
    summary.ratios = ratios;
    if let (Some(k), Some(f)) = (find("keel", 1), &summary.fdatasync) {
        if f.median_ms > 0.0 && k.ops > 0 {
            let ratio = round3(k.p50_ms / f.median_ms);
            let busy = if f.busy_cpu_median_ms > 0.0 {
                round3(k.p50_ms / f.busy_cpu_median_ms)
            } else {
                0.0
            };
            summary.single_client = Some(SingleClient {
                keel_p50_ms: k.p50_ms,
                fdatasync_median_ms: f.median_ms,
                keel_over_fdatasync: ratio,
                fdatasync_busy_cpu_median_ms: f.busy_cpu_median_ms,
                keel_over_fdatasync_busy_cpu: busy,
                target: SINGLE_CLIENT_TARGET,
                meets_target: ratio <= SINGLE_CLIENT_TARGET,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(backend: &str, clients: usize, ops_s: f64, p50: f64) -> WorkloadResult {
        WorkloadResult {
            backend: backend.into(),
            clients,
            value_size: 1024,
            read_fraction: 0.0,
            duration_s: 1.0,
            ops: 10,
            reads: 0,
            writes: 10,
            errors: 0,
            throughput_ops_s: ops_s,
            p50_ms: p50,
            p99_ms: p50,
            p999_ms: p50,
            max_ms: p50,
        }
    }

    #[test]
    fn ratios_pair_backends_by_client_count() {
        let mut s = StoreBenchSummary {
            summary: "store",
            fdatasync: Some(FsyncReport {
                dir: "/x".into(),
                samples: 1,
                median_ms: 2.0,
                p99_ms: 2.0,
                preallocated_median_ms: 1.0,
                busy_cpu_median_ms: 0.5,
                busy_cpu_p99_ms: 0.5,
            }),
            results: vec![
                result("keel", 1, 300.0, 2.5),
                result("keel", 256, 40_000.0, 6.0),
                result("etcd", 1, 200.0, 4.0),
                result("etcd", 256, 10_000.0, 20.0),
            ],
            ratios: vec![],
            single_client: None,
            skipped: vec![],
            failed: vec![],
            data_root: "/x".into(),
        };
        summarize(&mut s);
        assert_eq!(s.ratios.len(), 2);
        assert_eq!(s.ratios[0].keel_over_etcd, 1.5);
        assert_eq!(s.ratios[1].keel_over_etcd, 4.0);
        let single = s.single_client.unwrap();
        assert_eq!(single.keel_over_fdatasync, 1.25);
        assert_eq!(single.keel_over_fdatasync_busy_cpu, 5.0);
        assert!(single.meets_target);
    }

    #[test]
    fn cli_lists_parse() {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: StoreBenchArgs,
        }
        let cli = Cli::try_parse_from(["x", "--clients", "1,16", "--backend", "etcd"]).unwrap();
        assert_eq!(cli.args.clients, [1, 16]);
        assert_eq!(cli.args.backend, [Backend::Etcd]);
        let cli = Cli::try_parse_from(["x"]).unwrap();
        assert_eq!(cli.args.clients, [1, 256]);
        assert_eq!(cli.args.backend, [Backend::Keel, Backend::Etcd]);
        assert_eq!(cli.args.value_size, 1024);
    }
}
