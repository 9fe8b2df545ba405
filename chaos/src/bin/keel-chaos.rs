//! keel-chaos: fault injection with checked guarantees.
//!
//! - `keel-chaos list`: the scenarios.
//! - `keel-chaos run --scenario NAME --seed S --duration D --out DIR`: a cell under a recorded
//!   workload and a seeded fault schedule; heals, runs every checker, prints the summary table,
//!   writes DIR/report.json, DIR/history.json and DIR/timeline.{svg,png}, prints the command that
//!   reproduces the run, and exits 1 on any violation.
//!
//! With `--network netns` (the default as root) the run creates its network namespaces and moves
//! its own threads into the hub namespace before the async runtime starts (see
//! `keel_chaos::network`).

use std::sync::Arc;

use clap::{Parser, Subcommand};
use keel_chaos::{
    network::NetnsLab,
    runner::{find_scenario, run_chaos, scenarios, NetworkMode, RunArgs},
};

#[derive(Parser)]
#[command(
    name = "keel-chaos",
    about = "Fault injection with checked guarantees for Keel"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Lists the scenarios.
    List,
    /// Runs a scenario.
    Run(RunArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::List => {
            for s in scenarios() {
                let net = if s.needs_network() { " [netns]" } else { "" };
                println!(
                    "{:<12} {:>4}s  {} replicas  {}{net}",
                    s.name,
                    s.default_duration.as_secs(),
                    s.replicas,
                    s.about
                );
            }
            std::process::ExitCode::SUCCESS
        }
        Command::Run(args) => match run(args) {
            Ok(true) => std::process::ExitCode::SUCCESS,
            Ok(false) => std::process::ExitCode::from(1),
            Err(e) => {
                eprintln!("keel-chaos: {e:#}");
                std::process::ExitCode::from(2)
            }
        },
    }
}

/// Sets up the network (before any thread), then runs the scenario on a fresh runtime. Returns
/// whether every checker passed.
fn run(args: RunArgs) -> anyhow::Result<bool> {
    let scenario = find_scenario(&args.scenario)?;
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let network = args.network.unwrap_or(if root {
        NetworkMode::Netns
    } else {
        NetworkMode::Loopback
    });
    let lab = match network {
        NetworkMode::Netns => {
            let lab = Arc::new(NetnsLab::create()?);
            lab.enter_hub()?;
            Some(lab)
        }
        NetworkMode::Loopback => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(run_chaos(&args, &scenario, network, lab.clone(), |line| {
        eprintln!("keel-chaos: {line}")
    }));
    drop(runtime);
    if let Some(lab) = lab {
        lab.teardown()?;
    }
    let outcome = outcome?;
    println!("{}", outcome.summary);
    println!("{}", outcome.report.headline());
    println!("report: {}", args.out.join("report.json").display());
    println!("timeline: {}", args.out.join("timeline.svg").display());
    println!("reproduce: {}", outcome.report.command);
    if !outcome.passed {
        eprintln!(
            "keel-chaos: FAILED — reproduce with: {}",
            outcome.report.command
        );
    }
    Ok(outcome.passed)
}
