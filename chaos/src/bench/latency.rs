//! Latency summaries (p50 / p99 / p99.9 / max in milliseconds) from an HDR histogram of
//! microseconds or from a list of millisecond samples.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Largest latency a histogram records exactly (longer ones are clamped): 10 minutes, in µs.
const MAX_MICROS: u64 = 600_000_000;

/// Percentiles of one set of latencies, in milliseconds rounded to microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

/// An empty histogram of microseconds, 1 µs .. 10 min, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    // The bounds are constants that hdrhistogram accepts.
    Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid histogram bounds")
}

/// Records `d` in a histogram of microseconds (clamped to its range).
pub fn record(hist: &mut Histogram<u64>, d: Duration) {
    let micros = u64::try_from(d.as_micros())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_MICROS);
    hist.saturating_record(micros);
}

fn ms(micros: u64) -> f64 {
    round3(micros as f64 / 1000.0)
}

/// Rounds to three decimals (microseconds, when the unit is ms).
pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

impl LatencySummary {
    /// From a histogram of microseconds.
    pub fn from_histogram(hist: &Histogram<u64>) -> Self {
        if hist.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            count: hist.len(),
            p50_ms: ms(hist.value_at_quantile(0.5)),
            p99_ms: ms(hist.value_at_quantile(0.99)),
            p999_ms: ms(hist.value_at_quantile(0.999)),
            max_ms: ms(hist.max()),
        }
    }

    /// From millisecond samples, exactly (nearest-rank percentiles).
    pub fn from_samples_ms(samples: &[f64]) -> Self {
        let mut sorted: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
        if sorted.is_empty() {
            return LatencySummary::default();
        }
        sorted.sort_by(f64::total_cmp);
        LatencySummary {
            count: sorted.len() as u64,
            p50_ms: round3(nearest_rank(&sorted, 0.5)),
            p99_ms: round3(nearest_rank(&sorted, 0.99)),
            p999_ms: round3(nearest_rank(&sorted, 0.999)),
            max_ms: round3(sorted[sorted.len() - 1]),
        }
    }
}

/// The nearest-rank `q`-quantile of ascending, non-empty `sorted`.
pub fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_summary_in_ms() {
        let mut h = new_histogram();
        for i in 1..=1000u64 {
            record(&mut h, Duration::from_micros(i * 1000));
        }
        let s = LatencySummary::from_histogram(&h);
        assert_eq!(s.count, 1000);
        assert!((s.p50_ms - 500.0).abs() < 1.0, "{s:?}");
        assert!((s.p99_ms - 990.0).abs() < 1.0, "{s:?}");
        assert!((s.p999_ms - 999.0).abs() < 1.0, "{s:?}");
        assert!((s.max_ms - 1000.0).abs() < 1.0, "{s:?}");
    }

    #[test]
    fn empty_is_zero() {
        assert_eq!(
            LatencySummary::from_histogram(&new_histogram()),
            LatencySummary::default()
        );
        assert_eq!(
            LatencySummary::from_samples_ms(&[]),
            LatencySummary::default()
        );
    }

    #[test]
    fn huge_values_are_clamped_not_lost() {
        let mut h = new_histogram();
        record(&mut h, Duration::from_secs(100_000));
        record(&mut h, Duration::ZERO);
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn samples_use_nearest_rank() {
        let s = LatencySummary::from_samples_ms(&[5.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!(s.count, 5);
        assert_eq!(s.p50_ms, 3.0);
        assert_eq!(s.p99_ms, 5.0);
        assert_eq!(s.max_ms, 5.0);
        assert_eq!(nearest_rank(&[1.0, 2.0], 0.5), 1.0);
        assert_eq!(nearest_rank(&[7.0], 0.0), 7.0);
    }
}
