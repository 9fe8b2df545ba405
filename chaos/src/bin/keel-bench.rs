//! keel-bench: measures Keel against its targets.
//!
//! - `keel-bench store`: closed-loop Put (and optional linearizable Get) throughput and latency on
//!   a 3-replica Keel cell and a 3-member etcd 3.4, one JSON line per (backend, clients), then a
//!   JSON summary with the throughput ratios and one fdatasync on the data disk.
//! - `keel-bench objects`: a create/update/get mix of Pods through the Objects API, paced at a
//!   target rate, with mutating p50/p99.
//! - `keel-bench failover`: leader SIGKILL → first acknowledged write, over repeated kills.
//! - `keel-bench schedule`: pods bound per second and creation → binding p50/p99 on hollow nodes,
//!   and leader kill → scheduling resumed.
//! - `keel-bench nodes`: thousands of hollow nodes — Raft entries/s and bytes/s, leader CPU and
//!   memory at idle and under pod status churn, pod startup, dead-node detection; `--compare`
//!   repeats it without owner-side aggregation.
//! - `keel-bench startup`: pod startup on a real node (keel-agent with its own containerd, as
//!   root): creation → Running seen by a watch, p50/p99/max, at a bounded concurrency.
//!
//! Progress goes to stderr; results (JSON) to stdout.

use clap::{Parser, Subcommand};
use keel_chaos::bench::{
    failover::{run_failover, FailoverArgs},
    nodes_bench::{run_nodes_bench, NodesBenchArgs},
    objects_bench::{run_objects_bench, ObjectsBenchArgs},
    schedule_bench::{run_schedule_bench, ScheduleBenchArgs},
    startup_bench::{run_startup_bench, StartupBenchArgs},
    store_bench::{run_store_bench, StoreBenchArgs},
};

#[derive(Parser)]
#[command(
    name = "keel-bench",
    about = "Benchmarks for Keel's store and failover"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Store write (and read) throughput and latency: Keel against etcd.
    Store(StoreBenchArgs),
    /// Leader kill → first acknowledged write, repeated.
    Failover(FailoverArgs),
    /// Object API: create/update/get of Pods at a target rate.
    Objects(ObjectsBenchArgs),
    /// Scheduling on hollow nodes: bound pods/s, creation → binding, leader kill → resumed.
    Schedule(ScheduleBenchArgs),
    /// The node plane at scale: log growth, leader CPU/memory, startup, dead-node detection.
    Nodes(NodesBenchArgs),
    /// Pod startup on a real node (containerd): creation → Running p50/p99/max.
    Startup(StartupBenchArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Store(args) => {
            let summary = run_store_bench(&args, |result| {
                println!("{}", serde_json::to_string(result).unwrap_or_default());
            })
            .await?;
            println!("{}", serde_json::to_string(&summary)?);
            anyhow::ensure!(
                summary.failed.is_empty(),
                "some backends failed: {:?}",
                summary.failed
            );
        }
        Command::Objects(args) => {
            let report = run_objects_bench(&args).await?;
            println!("{}", serde_json::to_string(&report)?);
        }
        Command::Schedule(args) => {
            let report = run_schedule_bench(&args, |line| eprintln!("keel-bench: {line}")).await?;
            println!("{}", serde_json::to_string(&report)?);
        }
        Command::Nodes(args) => {
            let report = run_nodes_bench(&args, |line| eprintln!("keel-bench: {line}")).await?;
            println!("{}", serde_json::to_string(&report)?);
        }
        Command::Startup(args) => {
            let report = run_startup_bench(&args, |line| eprintln!("keel-bench: {line}")).await?;
            println!("{}", serde_json::to_string(&report)?);
        }
        Command::Failover(args) => {
            let report = run_failover(&args, |line| eprintln!("keel-bench: {line}")).await?;
            println!("{}", serde_json::to_string(&report)?);
            anyhow::ensure!(
                report.aborted.is_none(),
                "run aborted: {:?}",
                report.aborted
            );
        }
    }
    Ok(())
}
