//! `keel-chaos run`'s options, and the exact command line that reproduces a run.

use std::{path::PathBuf, time::Duration};

use serde::Serialize;

/// Where the replicas run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkMode {
    /// Each replica in its own network namespace (needs root and nftables): every fault.
    Netns,
    /// All replicas on 127.0.0.1: process faults only (kill, pause).
    Loopback,
}

/// `keel-chaos run` options.
#[derive(clap::Args, Clone, Debug)]
pub struct RunArgs {
    /// Scenario name (`keel-chaos list`).
    #[arg(long)]
    pub scenario: String,
    /// Seed for the schedule, the victims and the workload.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Length of the fault phase, e.g. `90s`, `10m` (default: the scenario's).
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Directory for report.json, history.json, timeline.png/.svg and (on failure) the cell's
    /// data dirs and logs.
    #[arg(long)]
    pub out: PathBuf,
    /// Where the replicas run (default: netns when root, else loopback).
    #[arg(long, value_enum)]
    pub network: Option<NetworkMode>,
    /// Register clients (each one request at a time).
    #[arg(long, default_value_t = 4)]
    pub clients: u32,
    /// Keys the clients share.
    #[arg(long, default_value_t = 8)]
    pub keys: u32,
    /// Pause of each client between two requests, in ms.
    #[arg(long, default_value_t = 15)]
    pub think_ms: u64,
    /// Watchers (spread over the replicas).
    #[arg(long, default_value_t = 3)]
    pub watchers: u32,
    /// A request without an answer after this many ms is recorded as unknown.
    #[arg(long, default_value_t = 1000)]
    pub op_timeout_ms: u64,
    /// Replicas (default: the scenario's).
    #[arg(long)]
    pub replicas: Option<usize>,
    /// Keep the cell's data dirs and logs even when the run passes.
    #[arg(long)]
    pub keep_data: bool,
    /// Start every replica with `keel-server --unsafe-local-reads` (reads skip ReadIndex): a
    /// deliberately broken cell, to show the linearizability checker failing on real processes.
    #[arg(long)]
    pub unsafe_local_reads: bool,
}

/// Parses `500ms`, `90s`, `10m`, `1h` or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 90s, 10m, 500ms"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        _ => Err(format!("{s:?}: unit must be ms, s, m or h")),
    }
}

/// A duration the way [`parse_duration`] reads it back.
pub fn format_duration(d: Duration) -> String {
    if d.subsec_millis() != 0 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}s", d.as_secs())
    }
}

impl RunArgs {
    /// The command that reproduces this run (same scenario, seed, duration, workload and network).
    pub fn reproduce_command(
        &self,
        duration: Duration,
        network: NetworkMode,
        replicas: usize,
    ) -> String {
        let net = match network {
            NetworkMode::Netns => "netns",
            NetworkMode::Loopback => "loopback",
        };
        let unsafe_reads = if self.unsafe_local_reads {
            " --unsafe-local-reads"
        } else {
            ""
        };
        format!(
            "keel-chaos run --scenario {} --seed {} --duration {} --out {} --network {net} \
             --replicas {replicas} --clients {} --keys {} --think-ms {} --watchers {} --op-timeout-ms {}{unsafe_reads}",
            self.scenario,
            self.seed,
            format_duration(duration),
            self.out.display(),
            self.clients,
            self.keys,
            self.think_ms,
            self.watchers,
            self.op_timeout_ms
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_trip() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5d").is_err());
        for d in ["45s", "1500ms"] {
            assert_eq!(format_duration(parse_duration(d).unwrap()), d);
        }
    }
}
