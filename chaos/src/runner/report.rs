//! report.json: what was run (and how to run it again), every fault, every figure and every
//! checker's verdict.

use std::{path::Path, time::Duration};

use serde::Serialize;

use super::{FaultRecord, FaultSchedule, Metrics, NetworkMode, RunArgs, Scenario};
use crate::checkers::CheckResult;

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub scenario: String,
    pub seed: u64,
    pub duration_s: f64,
    pub replicas: usize,
    pub network: NetworkMode,
    pub clients: u32,
    pub keys: u32,
    pub watchers: u32,
    /// The exact command that reproduces this run.
    pub command: String,
    pub schedule: FaultSchedule,
    pub faults: Vec<FaultRecord>,
    pub metrics: Metrics,
    pub checkers: Vec<CheckResult>,
    /// What the final heal could not undo.
    pub heal_errors: Vec<String>,
    pub passed: bool,
}

impl Report {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        args: &RunArgs,
        scenario: &Scenario,
        network: NetworkMode,
        replicas: usize,
        duration: Duration,
        command: String,
        schedule: FaultSchedule,
        faults: Vec<FaultRecord>,
        metrics: Metrics,
        checkers: Vec<CheckResult>,
        heal_errors: Vec<String>,
    ) -> Self {
        let passed = checkers.iter().all(|c| c.ok) && heal_errors.is_empty();
        Report {
            scenario: scenario.name.to_string(),
            seed: args.seed,
            duration_s: duration.as_secs_f64(),
            replicas,
            network,
            clients: args.clients,
            keys: args.keys,
            watchers: args.watchers,
            command,
            schedule,
            faults,
            metrics,
            checkers,
            heal_errors,
            passed,
        }
    }

    /// Writes `<dir>/report.json`.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        let json = serde_json::to_string_pretty(self)?;
        std::fs::write(dir.join("report.json"), json)?;
        Ok(())
    }

    /// A few lines of the headline figures, for the terminal.
    pub fn headline(&self) -> String {
        let m = &self.metrics;
        let mut out = String::new();
        for (kind, p) in &m.failover_by_kind {
            out.push_str(&format!(
                "failover {kind}: n={} p50 {:.1} ms p95 {:.1} ms p99 {:.1} ms max {:.1} ms\n",
                p.count, p.p50_ms, p.p95_ms, p.p99_ms, p.max_ms
            ));
        }
        out.push_str(&format!(
            "longest write gap {:.0} ms; elections {}; catch-up after heal p50 {:.0} ms p99 {:.0} ms; converged {:.0} ms after the load stopped\n",
            m.longest_write_gap_ms,
            m.elections_total,
            m.catch_up_after_heal.p50_ms,
            m.catch_up_after_heal.p99_ms,
            m.converge_after_load_stop_ms.unwrap_or(f64::NAN)
        ));
        out.push_str(&format!(
            "success before {:.3} during {:.3} between {:.3} after {:.3}; ops {} (ok {}, failed {}, unknown {})\n",
            m.success_before.rate,
            m.success_during.rate,
            m.success_between.rate,
            m.success_after.rate,
            m.ops_total,
            m.ops_ok,
            m.ops_failed,
            m.ops_unknown
        ));
        out.push_str(&format!("violations: {}", m.violations_total));
        out
    }
}
