//! The figures of a run, computed from its history and fault records: failover percentiles per
//! fault kind, write unavailability, elections per fault, success rates before / during / between
//! / after faults, convergence time, latencies and violations per checker.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{percentiles::round3, FaultRecord, Percentiles};
use crate::{
    checkers::CheckResult,
    history::{History, OpKind, Outcome},
};

/// How long after a heal the unavailability window of a fault still looks for a gap.
const AFTER_HEAL_NS: u64 = 5_000_000_000;

/// Operations answered OK out of those completed (answered or not) in one phase.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SuccessRate {
    pub ok: u64,
    pub total: u64,
    pub rate: f64,
}

impl SuccessRate {
    fn add(&mut self, ok: bool) {
        self.total += 1;
        self.ok += u64::from(ok);
        self.rate = round3(self.ok as f64 / self.total as f64);
    }
}

/// Every figure report.json carries besides the checker results.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Fault → first write acknowledged after it, per fault kind (faults that take the leader away).
    pub failover_by_kind: BTreeMap<String, Percentiles>,
    pub failover_all: Percentiles,
    /// Longest stretch without an acknowledged workload write around each fault, per kind.
    pub unavailability_by_kind: BTreeMap<String, Percentiles>,
    /// Longest stretch without an acknowledged workload write in the whole run, in ms.
    pub longest_write_gap_ms: f64,
    /// Mean terms started per fault, per kind, and in total.
    pub elections_per_fault: BTreeMap<String, f64>,
    pub elections_total: u64,
    /// By when operations were invoked: before the first fault, while one was held, between
    /// faults (healed, recovering), after the last heal.
    pub success_before: SuccessRate,
    pub success_during: SuccessRate,
    pub success_between: SuccessRate,
    pub success_after: SuccessRate,
    /// Heal → every replica caught up, per fault, percentiles.
    pub catch_up_after_heal: Percentiles,
    /// Final heal → every replica at one revision and state hash (convergence checker; includes
    /// the cool-down under load that follows the heal).
    pub converge_after_final_heal_ms: Option<u64>,
    /// Workload stopped → every replica at one revision and state hash.
    pub converge_after_load_stop_ms: Option<f64>,
    pub ops_total: u64,
    pub ops_ok: u64,
    pub ops_failed: u64,
    pub ops_unknown: u64,
    pub read_latency: Percentiles,
    pub write_latency: Percentiles,
    pub cas_latency: Percentiles,
    pub violations: BTreeMap<String, u64>,
    pub violations_total: u64,
}

/// Computes the metrics and fills each record's unavailability and elections.
pub fn compute_metrics(
    history: &History,
    records: &mut [FaultRecord],
    results: &[CheckResult],
) -> Metrics {
    let mut m = Metrics::default();
    let end_ns = history
        .ops
        .iter()
        .filter_map(|o| o.complete_ns)
        .max()
        .unwrap_or(0);
    let mut acked_writes: Vec<u64> = history
        .ops
        .iter()
        .filter(|o| o.is_acknowledged_write())
        .filter_map(|o| o.complete_ns)
        .collect();
    acked_writes.sort_unstable();
    m.longest_write_gap_ms = round3(longest_gap(&acked_writes, 0, end_ns) as f64 / 1e6);

    let starts: Vec<u64> = records.iter().map(|r| (r.inject_ms * 1e6) as u64).collect();
    for (i, r) in records.iter_mut().enumerate() {
        let inject = starts[i];
        let heal = r.heal_ms.map(|h| (h * 1e6) as u64).unwrap_or(inject);
        let window_end = (heal + AFTER_HEAL_NS).min(end_ns.max(heal));
        r.unavailability_ms = Some(round3(
            longest_gap(&acked_writes, inject, window_end) as f64 / 1e6,
        ));
        let next = starts.get(i + 1).copied().unwrap_or(u64::MAX);
        r.elections = elections_between(history, inject, next);
    }

    let mut failover: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut unavailable: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut elections: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for r in records.iter() {
        if let Some(f) = r.failover_ms {
            failover.entry(r.name.clone()).or_default().push(f);
        }
        if let Some(u) = r.unavailability_ms {
            unavailable.entry(r.name.clone()).or_default().push(u);
        }
        let e = elections.entry(r.name.clone()).or_default();
        e.0 += r.elections;
        e.1 += 1;
        m.elections_total += r.elections;
    }
    let all: Vec<f64> = failover.values().flatten().copied().collect();
    m.failover_all = Percentiles::of(&all);
    m.failover_by_kind = failover
        .iter()
        .map(|(k, v)| (k.clone(), Percentiles::of(v)))
        .collect();
    m.unavailability_by_kind = unavailable
        .iter()
        .map(|(k, v)| (k.clone(), Percentiles::of(v)))
        .collect();
    m.elections_per_fault = elections
        .into_iter()
        .map(|(k, (sum, n))| (k, round3(sum as f64 / n.max(1) as f64)))
        .collect();
    let catch_up: Vec<f64> = records.iter().filter_map(|r| r.catch_up_ms).collect();
    m.catch_up_after_heal = Percentiles::of(&catch_up);

    let windows: Vec<(u64, u64)> = records
        .iter()
        .map(|r| {
            let i = (r.inject_ms * 1e6) as u64;
            (i, r.heal_ms.map(|h| (h * 1e6) as u64).unwrap_or(i))
        })
        .collect();
    let first = windows.first().map(|w| w.0).unwrap_or(u64::MAX);
    let last = windows.last().map(|w| w.1).unwrap_or(u64::MAX);
    let (mut reads, mut writes, mut cases) = (Vec::new(), Vec::new(), Vec::new());
    for op in &history.ops {
        let Some(done) = op.complete_ns else { continue };
        m.ops_total += 1;
        let ok = matches!(op.outcome, Outcome::Ok(_));
        match op.outcome {
            Outcome::Ok(_) => m.ops_ok += 1,
            Outcome::Fail => m.ops_failed += 1,
            Outcome::Unknown => m.ops_unknown += 1,
        }
        let t = op.invoke_ns;
        let phase = if t < first {
            &mut m.success_before
        } else if t >= last {
            &mut m.success_after
        } else if windows.iter().any(|(a, b)| t >= *a && t < *b) {
            &mut m.success_during
        } else {
            &mut m.success_between
        };
        phase.add(ok);
        if ok {
            let lat = (done - op.invoke_ns) as f64 / 1e6;
            match op.kind {
                OpKind::Read => reads.push(lat),
                OpKind::Write { .. } => writes.push(lat),
                OpKind::Cas { .. } => cases.push(lat),
            }
        }
    }
    m.read_latency = Percentiles::of(&reads);
    m.write_latency = Percentiles::of(&writes);
    m.cas_latency = Percentiles::of(&cases);
    for r in results {
        m.violations.insert(r.name.clone(), r.violation_count);
        m.violations_total += r.violation_count;
        if r.name == "convergence" {
            m.converge_after_final_heal_ms = r.stats.get("converge_ms").copied();
        }
    }
    m
}

/// The longest stretch within [from, to] with no time in `sorted` (the window's edges count).
fn longest_gap(sorted: &[u64], from: u64, to: u64) -> u64 {
    if to <= from {
        return 0;
    }
    let mut prev = from;
    let mut longest = 0;
    for &t in sorted.iter().filter(|t| **t >= from && **t <= to) {
        longest = longest.max(t - prev);
        prev = t;
    }
    longest.max(to - prev)
}

/// Terms first seen in [from, until) above the highest term seen before `from`.
fn elections_between(history: &History, from: u64, until: u64) -> u64 {
    let samples = &history.cluster.leader_samples;
    let before = samples
        .iter()
        .filter(|s| s.complete_ns < from)
        .map(|s| s.term)
        .max()
        .unwrap_or(0);
    let mut terms: Vec<u64> = samples
        .iter()
        .filter(|s| s.invoke_ns >= from && s.invoke_ns < until && s.term > before)
        .map(|s| s.term)
        .collect();
    terms.sort_unstable();
    terms.dedup();
    terms.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_count_the_window_edges() {
        assert_eq!(longest_gap(&[], 10, 50), 40);
        assert_eq!(longest_gap(&[12, 20, 45], 10, 50), 25);
        assert_eq!(longest_gap(&[5, 60], 10, 50), 40);
        assert_eq!(longest_gap(&[1], 10, 10), 0);
    }
}
